#!/bin/sh
# Interface settings through evflowctl and the router's control socket:
# refusals with their reasons (at config check time and at runtime),
# companion dispatch taking effect on the next events, the changes saved
# by the store and restored by a restarted router, and by a whole new
# start of the instance.
#
# Interfaces: 0 the ZMQ interface, 1 mirror0, 2 cbr0 (names with no NIC
# here, so no capture runs; cbr0 is the IF_NAME of one sample event).
# The 12 sample events: 9 name eth0, 2 are loopback and name lo, 1 names
# cbr0.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector evflow-testpub
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
ctl_init
A="$T/a"
P=$(free_port)
Z="tcp://127.0.0.1:${P}c"
n=$(grep -c . "$SAMPLES")
[ "$n" -eq 12 ] || { echo "skip: expected the 12 sample events"; exit 77; }

# Config check: a companion that is not mirrored is refused by -n.
if "$BIN/evflow-router" -n -d "$T" -i "$Z" -i mirror0 \
    -o "companion=$Z mirror0" >"$T/n.out" 2>&1; then
	fail "-n accepted a companion that is not mirrored"
fi
check "-n says why" grep -q "'mirror0' is not mirrored" "$T/n.out"
if "$BIN/evflow-router" -n -d "$T" -i "$Z" -i mirror0 \
    -o "mirrored=$Z" >"$T/n.out" 2>&1; then
	fail "-n accepted a mirrored ZMQ interface"
fi
check "-n refuses a mirrored ZMQ interface" grep -q "only a packet interface" "$T/n.out"
"$BIN/evflow-router" -n -d "$T" -i "$Z" -i mirror0 -o mirrored=mirror0 \
    -o "companion=$Z mirror0" >"$T/n.out" 2>&1 || fail "-n refused a valid companion"
check "-n prints the table" grep -qx "# iface 0 $Z zmq companion=mirror0" "$T/n.out"

start_instance "$A" -p 0 -i "$Z" -i mirror0 -i cbr0

refused() {	# refused WHY ARGS...: evflowctl iface set ARGS fails saying WHY
	why=$1; shift
	if "$CTL" iface -d "$A" set "$@" >"$T/set.out" 2>&1; then
		fail "iface set $* was accepted"
	fi
	check "iface set $*: $why" grep -q "error: .*$why" "$T/set.out"
}
refused "is not mirrored" "$Z" companion mirror0
refused "only a packet interface" "$Z" mirrored yes
refused "only a ZMQ interface has a companion" mirror0 companion cbr0
refused "a companion must be a mirrored packet interface" "$Z" companion "$Z"
refused "no interface named 'nosuch'" nosuch mirrored yes
refused "not yes or no" mirror0 mirrored maybe
refused "unknown setting" mirror0 colour blue
check "refusals counted" test "$("$BIN/evflow-ctlq" -g counters.iface_refused \
    "ipc://$A/router.ctl" stats)" -eq 7

check "mirror0 mirrored yes" "$CTL" iface -d "$A" set mirror0 mirrored yes
check "companion mirror0" "$CTL" iface -d "$A" set "$Z" companion mirror0
refused "is the companion of" mirror0 mirrored no
"$CTL" iface -d "$A" --json list >"$T/l.json" || fail "iface list"
check "list: companion" test "$(jget "$T/l.json" "[0].companion")" = mirror0
check "list: mirrored" test "$(jget "$T/l.json" "[1].mirrored")" = true
"$CTL" iface -d "$A" list >"$T/l.txt" || fail "iface list (table)"
check "list table" grep -Eq "^0 +zmq +no +tcp://127.0.0.1:${P}c +mirror0 " "$T/l.txt"

# Dispatch with the companion: 10 non-loopback events reach mirror0, the
# 2 loopback ones stay out; the cbr0 event also lands in cbr0.
"$BIN/evflow-testpub" -q -z "$Z" -f "$SAMPLES" || fail "testpub"
rc() {
	"$BIN/evflow-ctlq" -t 2000 "ipc://$A/router.ctl" stats >"$T/rs.json" &&
	    jget "$T/rs.json" "$1"
}
routed() { [ "$(rc counters.rx_flow)" -eq "$1" ]; }
wait_until "router dispatched the samples" 20 routed $n
check "companion_delivered" test "$(rc counters.companion_delivered)" -eq 10
check "companion_skipped_loopback" test "$(rc counters.companion_skipped_loopback)" -eq 2
check "ifname_matched (cbr0)" test "$(rc counters.ifname_matched)" -eq 1
check "ifname_unmatched (eth0, lo)" test "$(rc counters.ifname_unmatched)" -eq 11
check "mirror0 delivered" test "$(rc interfaces.mirror0.counters.companion_delivered)" -eq 10
check "cbr0 delivered" test "$(rc interfaces.cbr0.counters.ifname_delivered)" -eq 1
# The router's per-interface counters reach the store as iface<id>.<key>.
stats_stored() {
	[ "$(sqlite3 "$A/evflow.db" "SELECT value FROM daemon_counters WHERE
	    daemon = 'router' AND key = 'iface1.companion_delivered'" 2>/dev/null)" = 10 ] &&
	[ "$(sqlite3 "$A/evflow.db" "SELECT value FROM daemon_counters WHERE
	    daemon = 'router' AND key = 'companion_skipped_loopback'" 2>/dev/null)" = 2 ]
}
wait_until "router counters in daemon_counters" 20 stats_stored

# Saved by the router in its own state file; recorded by the store
# from the table the router sends (one way: router -> store).
state_has() {	# state_has NAME yes|no COMPANION|-
	printf 'iface\t%s\t%s\t%s\n' "$1" "$2" "$3" >"$T/want.line"
	grep -qxF -f "$T/want.line" "$A/router.state"
}
store_has() {	# store_has NAME MIRRORED COMPANION ('' for none)
	[ "$(sqlite3 "$A/evflow.db" "SELECT mirrored || '|' ||
	    ifnull(companion, '') FROM interfaces WHERE name = '$1'" \
	    2>/dev/null)" = "$2|$3" ]
}
saved() {
	state_has mirror0 yes - && state_has "$Z" no mirror0 &&
	    store_has mirror0 1 "" && store_has "$Z" 0 mirror0
}
wait_until "settings saved in router.state, recorded by the store" 20 saved
check "state file is versioned" test "$(head -n 1 "$A/router.state")" = \
    "evflow-router-state 1"
check "no temporary file left" test ! -e "$A/router.state.tmp"

# A router restart (killed; the supervisor starts it again) restores them.
old=$(daemon_pid "$A" router)
kill -TERM "$old"
restored() {
	p=$(daemon_pid "$A" router)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$old" ] &&
	    "$CTL" iface -d "$A" --json list >"$T/l.json" 2>/dev/null &&
	    [ "$(jget "$T/l.json" "[0].companion")" = mirror0 ] &&
	    [ "$(jget "$T/l.json" "[1].mirrored")" = true ]
}
wait_until "restarted router restored the companion" 20 restored
remember_pids "$A"
check "router log says it applied saved settings" \
    grep -q "saved interface settings applied" "$A/router.log"

# The change takes effect on the next events without a restart.
check "companion none" "$CTL" iface -d "$A" set "$Z" companion none
check "mirror0 mirrored no" "$CTL" iface -d "$A" set mirror0 mirrored no
"$BIN/evflow-testpub" -q -z "$Z" -f "$SAMPLES" || fail "testpub 2"
wait_until "router dispatched the second round" 20 routed $n
check "no companion deliveries after 'none'" \
    test "$(rc counters.companion_delivered)" -eq 0
check "ifname still matched" test "$(rc counters.ifname_matched)" -eq 1

# A whole new start (config without settings) restores the saved 'none'
# and 'mirrored no' rather than anything else.
cleared() {
	state_has mirror0 no - && state_has "$Z" no - &&
	    store_has mirror0 0 "" && store_has "$Z" 0 ""
}
wait_until "cleared settings saved" 20 cleared
check "set mirrored again" "$CTL" iface -d "$A" set mirror0 mirrored yes
mirrored_saved() { state_has mirror0 yes -; }
wait_until "mirrored saved" 20 mirrored_saved
"$CTL" stop -d "$A" >/dev/null || fail "stop"
start_instance "$A" -p 0 -i "$Z" -i mirror0 -i cbr0
"$CTL" iface -d "$A" --json list >"$T/l.json" || fail "iface list after start"
check "after a new start: mirrored restored" test "$(jget "$T/l.json" "[1].mirrored")" = true
check "after a new start: no companion" test "$(jget "$T/l.json" "[0].companion")" = null
"$CTL" stop -d "$A" >/dev/null || fail "stop"

# A damaged state file is logged, counted, kept aside and ignored: the
# configuration's values apply and the router runs.
printf 'evflow-router-state 1\niface\tmirror0\tyes' >"$A/router.state"
start_instance "$A" -p 0 -i "$Z" -i mirror0 -i cbr0
"$CTL" iface -d "$A" --json list >"$T/l.json" || fail "iface list after damage"
check "damaged state: configuration applies" test "$(jget "$T/l.json" "[1].mirrored")" = false
check "damaged state: kept as .bad" test -f "$A/router.state.bad"
check "damaged state: logged" grep -q "router.state ignored" "$A/router.log"
"$BIN/evflow-ctlq" -t 2000 "ipc://$A/router.ctl" stats >"$T/rs.json" || fail "stats"
check "damaged state: counted" test "$(jget "$T/rs.json" counters.state_damaged)" -eq 1
"$CTL" stop -d "$A" >/dev/null || fail "stop"
echo "ctl_iface: $checks checks passed"
