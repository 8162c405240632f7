#!/bin/sh
# evflowctl supervises a probe like any other daemon:
#   - `-i probe:ENDPOINT` runs a collector binding ENDPOINT and a probe
#     (probe0, role probe) publishing to it, with -m passed on;
#   - the interface is named by its endpoint (no "probe:" anywhere the
#     router or the store see), so `iface set ENDPOINT companion lo`
#     works, and the probe's events reach the store;
#   - a probe killed with SIGKILL is restarted, counted, and publishes
#     again; `stop` ends it with the rest;
#   - an endpoint a local probe cannot connect to is refused with a
#     reason.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector evflow-probe \
    evflow-capture
[ "$(id -u)" = 0 ] || { echo "skip: capturing lo needs root"; exit 77; }
ctl_init
A="$T/a"
P=$(free_port)
EP="tcp://127.0.0.1:${P}c"

# Refused: without the trailing c the collector would connect, and so
# would the probe.
if "$CTL" start -d "$T/bad" -i "probe:tcp://127.0.0.1:$P" >"$T/bad.out" 2>&1
then
	INSTANCES="$T/bad"
	fail "start accepted probe:tcp://127.0.0.1:$P"
fi
check "a probe endpoint without 'c' is refused with a reason" \
    grep -q "a probe needs one endpoint its collector binds" "$T/bad.out"

# -m diag: the probe polls sock_diag and sees the loopback connections
# of this host (its own to the collector among them).
start_instance "$A" -i "probe:$EP" -i lo -m diag
"$CTL" status -d "$A" --json >"$T/s.json" || fail "status"
check "probe0 runs with role probe" \
    test "$(jget "$T/s.json" daemons.probe0.role)" = probe
pid=$(daemon_pid "$A" probe0)
tr '\0' ' ' <"/proc/$pid/cmdline" >"$T/cmd"
check "probe0 publishes to the endpoint, mode passed" \
    grep -q -- "-z $EP -m diag" "$T/cmd"
check "probe0 runs in the mode asked" \
    test "$(jget "$T/s.json" daemons.probe0.stats.counters.mode_bpf)" = 0
"$CTL" iface list -d "$A" >"$T/ifaces" || fail "iface list"
check "the interface is named by its endpoint" grep -qF "$EP" "$T/ifaces"
check "no interface named probe:..." sh -c "! grep -q 'probe:' '$T/ifaces'"
check "lo mirrored" "$CTL" iface -d "$A" set lo mirrored yes
check "lo the companion of the probe's interface" \
    "$CTL" iface -d "$A" set "$EP" companion lo

events() {
	"$CTL" status -d "$A" --json >"$T/s.json" 2>/dev/null &&
	    [ "$(jget "$T/s.json" daemons.collector0.stats.counters.events_received)" -gt "$1" ]
}
wait_until "the probe's events reach the collector" 30 events 0
check "no field of a wrong type" \
    test "$(jget "$T/s.json" daemons.collector0.stats.counters.fields_wrong_type)" = 0
stored() {
	[ "$(sqlite3 -readonly -cmd '.timeout 5000' "$A/evflow.db" "SELECT
	    count(*) FROM flows_v WHERE iface = '$EP' AND (cli_pid IS NOT NULL
	    OR srv_pid IS NOT NULL)" 2>/dev/null)" -gt 0 ]
}
command -v sqlite3 >/dev/null && wait_until "events with processes stored" 30 stored

# A crash: restarted under a new pid, counted, publishing again.
kill -KILL "$pid" || fail "kill probe0"
probe_back() {
	p=$(daemon_pid "$A" probe0)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$pid" ] &&
	    "$CTL" ping -d "$A" >/dev/null 2>&1
}
wait_until "probe0 restarted" 20 probe_back
remember_pids "$A"
"$CTL" status -d "$A" --json >"$T/s.json"
check "the restart counted" \
    test "$(jget "$T/s.json" daemons.probe0.restarts)" -eq 1
n=$(jget "$T/s.json" daemons.collector0.stats.counters.events_received)
wait_until "the restarted probe publishes" 30 events "$n"

"$CTL" stop -d "$A" >"$T/stop.out" || fail "stop"
while read -r p; do
	if kill -0 "$p" 2>/dev/null &&
	    ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
		fail "process $p still runs after stop"
	fi
done <"$T/pids"
checks=$((checks + 1))
echo "probe_ctl: $checks checks passed"
