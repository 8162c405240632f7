#!/bin/sh
# Issue 12 item 5: the supervisor's own failures.
#  - kill -9 of evflowctl while events flow: its daemons live on and lose
#    nothing; the next `start` adopts them (same pids), watches them
#    (pidfd: an adopted router killed is restarted) and stops them in
#    order later.
#  - a daemon that restarts keeps its port: webd with -p 0 comes back on
#    the port evflowctl printed, adopted or not.
#  - takeover with another plan: what runs as planned is adopted, the
#    rest stopped; `stop` without a supervisor goes stage by stage.
#  - a failed start (a store refusing its config or database, a taken
#    port) exits 1, says why, and leaves nothing running.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-webd
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
ctl_init
A="$T/a"
P=$(free_port)

sup_pid() {
	"$CTL" status -d "$1" --json >"$T/sp.json" 2>/dev/null
	jget "$T/sp.json" supervisor.pid
}
sup_gone() { ! "$CTL" ping -d "$1" 2>/dev/null | grep -q '^evflowctl '; }
kill_sup() {
	s=$(sup_pid "$1")
	kill -KILL "$s" || fail "kill -9 supervisor $s"
	wait_until "supervisor $s gone" 10 sup_gone "$1"
}
# The processes whose command line holds "-d DIR": what runs for DIR.
running_in() {
	python3 - "$1" <<'PY'
import os, sys
want = b"-d\0" + sys.argv[1].encode() + b"\0"
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        cmd = open("/proc/%s/cmdline" % p, "rb").read()
        st = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[0]
    except OSError:
        continue
    if want in cmd + b"\0" and st != "Z":
        print(p, cmd.split(b"\0")[0].decode())
PY
}
stored() { sqlite3 "$A/evflow.db" 'SELECT count(*) FROM flows' 2>/dev/null || echo 0; }

start_instance "$A" -p 0 -i "tcp://127.0.0.1:${P}c"
url=$(sed -n 's/^web: *//p' "$T/start.out")
port=$(cat "$A/webd.port")
check "start printed the web URL" test "$url" = "http://127.0.0.1:$port/"
pids0=$(running_in "$A" | sort)

# --- kill -9 of evflowctl while events flow: nothing lost
N=30000
"$BIN/evflow-testpub" -z "tcp://127.0.0.1:$P" --gen $N --array 10 \
    --rate 6000 --ifname '' >"$T/pub.out" 2>&1 &
PUB=$!
echo "$PUB" >>"$T/pids"
sleep 1
kill_sup "$A"
check "the daemons live on without their supervisor" \
    test "$(running_in "$A" | grep -vc evflowctl)" -eq 4
sleep 1
start_instance "$A" -p 0 -i "tcp://127.0.0.1:${P}c"
for n in store router collector0 webd; do
	check "$n adopted" grep -q "adopted $n (pid " "$A/evflowctl.log"
done
check "the start says 4 adopted" grep -q "supervising 4 daemons in $A (4 adopted)" "$A/evflowctl.log"
check "the same daemons run" test "$(running_in "$A" | grep -v evflowctl | sort)" = \
    "$(echo "$pids0" | grep -v evflowctl)"
check "the URL is the same" grep -qx "web: *$url" "$T/start.out"
wait "$PUB" || fail "testpub"
all_stored() {
	"$CTL" status -d "$A" --json >"$T/s.json" 2>/dev/null &&
	    [ "$(jget "$T/s.json" daemons.store.stats.counters.recv_flow)" -eq $N ]
}
wait_until "all $N events reach the store across the supervisor's death" 30 all_stored
check "none dropped" test "$(jget "$T/s.json" pipeline.router.dropped)" -eq 0

# --- an adopted daemon that dies is restarted by the new supervisor
router=$(daemon_pid "$A" router)
kill -KILL "$router"
router_back() {
	p=$(daemon_pid "$A" router)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$router" ] &&
	    "$CTL" ping -d "$A" >/dev/null 2>&1
}
wait_until "the adopted router, killed, is restarted" 20 router_back
check "its death is logged" grep -q "router (pid $router, adopted) exited; restart in 500 ms" "$A/evflowctl.log"
remember_pids "$A"
"$BIN/evflow-testpub" -q -z "tcp://127.0.0.1:$P" --gen 1000 --first $N \
    --array 10 --ifname '' || fail "testpub after the router's restart"
more_stored() {
	"$CTL" status -d "$A" --json >"$T/s.json" 2>/dev/null &&
	    [ "$(jget "$T/s.json" daemons.store.stats.counters.recv_flow)" -ge $((N + 1000)) ]
}
wait_until "events flow through the restarted router" 20 more_stored

# --- webd restarted keeps the port it had (adopted, then our child)
for round in adopted child; do
	w=$(daemon_pid "$A" webd)
	kill -KILL "$w"
	webd_back() {
		p=$(daemon_pid "$A" webd)
		[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$w" ] &&
		    curl -s -o /dev/null "$url"
	}
	wait_until "webd ($round) restarted and answering on $url" 20 webd_back
	check "webd ($round) kept port $port" test "$(cat "$A/webd.port")" = "$port"
done
remember_pids "$A"

# --- takeover with another plan: a second interface changes the router
kill_sup "$A"
store=$(jget "$T/sp.json" daemons.store.pid)
router=$(jget "$T/sp.json" daemons.router.pid)
P2=$(free_port)
start_instance "$A" -p 0 -i "tcp://127.0.0.1:${P}c" -i "tcp://127.0.0.1:${P2}c"
check "store adopted" test "$(daemon_pid "$A" store)" = "$store"
check "the router with other interfaces was stopped" \
    grep -q "router (pid $router) outlived its supervisor and is not what this start runs: stopping it" "$A/evflowctl.log"
check "a new router runs" test "$(daemon_pid "$A" router)" != "$router"
check "collector1 started" test "$(daemon_pid "$A" collector1)" -gt 1
check "webd kept its port through the takeover" test "$(cat "$A/webd.port")" = "$port"
remember_pids "$A"

# --- stop without a supervisor: stage by stage, upstream first
kill_sup "$A"
"$CTL" stop -d "$A" >"$T/stop.out" 2>&1 || fail "stop without a supervisor"
order=$(sed -n 's/.*evflowctl: stopping \([^ ]*\) (pid.*/\1/p' "$T/stop.out" | tr '\n' ' ')
case "$order" in
"webd collector0 collector1 router store "|"webd collector1 collector0 router store ")
	checks=$((checks + 1)) ;;
*)	cat "$T/stop.out"; fail "stop order: '$order'" ;;
esac
check "stop drains the stages" grep -q "store drained in" "$T/stop.out"
check "nothing runs in $A after stop" test -z "$(running_in "$A")"

# --- stop while events flow: every event the collector took in is stored
D="$T/d"
PD=$(free_port)
start_instance "$D" -p 0 -i "tcp://127.0.0.1:${PD}c"
"$BIN/evflow-testpub" -z "tcp://127.0.0.1:$PD" --gen 40000 --array 10 \
    --rate 8000 --ifname '' >"$T/pubd.out" 2>&1 &
PUB=$!
echo "$PUB" >>"$T/pids"
sleep 2
"$CTL" stop -d "$D" >/dev/null || fail "stop D"
wait "$PUB"
fwd=$(sed -n 's/.*exiting: [0-9]* messages, \([0-9]*\) events forwarded.*/\1/p' "$D/collector0.log" | tail -n 1)
rows=$(sqlite3 "$D/evflow.db" 'SELECT count(*) FROM flows')
echo "stop under traffic: collector forwarded $fwd, stored $rows"
check "the collector forwarded events before the stop" test "${fwd:-0}" -gt 0
check "every event the collector forwarded is stored ($fwd = $rows)" \
    test "$rows" -eq "$fwd"

# --- a failed start leaves nothing running
fails() {	# DIR DESC PATTERN ARGS...: start must fail, say PATTERN
	d=$1 desc=$2 pat=$3; shift 3
	INSTANCES="$INSTANCES $d"
	if "$CTL" start -d "$d" -p 0 "$@" >"$T/f.out" 2>&1; then
		cat "$T/f.out"; fail "start with $desc succeeded"
	fi
	grep -q "$pat" "$T/f.out" || { cat "$T/f.out"; fail "start with $desc: no '$pat'"; }
	checks=$((checks + 1))
	check "no supervisor pidfile after the start with $desc" test ! -e "$d/evflowctl.pid"
	# (the supervisor itself may take a moment to exit after saying why)
	nothing_in() { test -z "$(running_in "$1")"; }
	wait_until "nothing runs after the start with $desc" 10 nothing_in "$d"
	check "a failed start stops the other daemons it started ($desc)" \
	    grep -q "start failed: .*stopping everything" "$d/evflowctl.log"
}
C="$T/c"
mkdir -p "$C"
printf 'store.flush_interval = banana\n' >"$T/bad.conf"
fails "$C" "a bad store config" "store exited with status 1 while starting" \
    -f "$T/bad.conf" -i "tcp://127.0.0.1:$(free_port)c"
rm -f "$C/evflow.db"
sqlite3 "$C/evflow.db" 'CREATE TABLE notes(x); INSERT INTO notes VALUES (1)'
fails "$C" "another application's database" "store exited with status 1 while starting" \
    -i "tcp://127.0.0.1:$(free_port)c"
check "the foreign database is untouched" test "$(sqlite3 "$C/evflow.db" 'SELECT x FROM notes')" = 1
rm -f "$C/evflow.db"
head -c 8192 /dev/urandom >"$C/evflow.db"
fails "$C" "a damaged database" "store exited with status 1 while starting" \
    -i "tcp://127.0.0.1:$(free_port)c"
rm -f "$C/evflow.db"*
# a port another process holds
python3 -c 'import socket, time, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(60)' >"$T/taken" &
HOLD=$!
echo "$HOLD" >>"$T/pids"
wait_until "a port held" 5 test -s "$T/taken"
taken=$(cat "$T/taken")
fails "$C" "a taken port" "collector0 exited with status 1 while starting" \
    -i "tcp://127.0.0.1:${taken}c"
kill "$HOLD"
# ... and once the cause is gone, the same start works
start_instance "$C" -p 0 -i "tcp://127.0.0.1:${taken}c"
"$CTL" stop -d "$C" >/dev/null || fail "stop C"
echo "ctl_supervise: $checks checks passed"
