#!/bin/sh
# evflowctl demo: starts the whole system with live test traffic on a
# free loopback port, says where the database is, events reach the
# database, and Ctrl-C (SIGINT) stops every daemon.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector evflow-testpub
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
ctl_init
A="$T/demo"
mkdir -p "$A"
INSTANCES="$A"
"$CTL" demo -d "$A" >"$T/demo.out" 2>&1 &
demo=$!
echo "$demo" >>"$T/pids"

started() { grep -qs "^Ctrl-C stops everything" "$T/demo.out"; }
wait_until "demo started" 30 started
remember_pids "$A"
check "demo prints the database" grep -qx "database: $A/evflow.db" "$T/demo.out"
check "demo prints how to look" grep -q "evflowctl status -d $A" "$T/demo.out"
check "demo traffic started" grep -q "^demo traffic: evflow-testpub -z tcp://127.0.0.1:[0-9]*c --live" "$T/demo.out"
rows() {
	[ "$(sqlite3 "$A/evflow.db" 'SELECT count(*) FROM flows WHERE
	    cli_process IS NOT NULL OR srv_process IS NOT NULL' 2>/dev/null || echo 0)" -gt 0 ]
}
wait_until "live events with processes in the database" 30 rows
"$CTL" status -d "$A" --json >"$T/s.json" || fail "status during the demo"
check "collector received live events" \
    test "$(jget "$T/s.json" daemons.collector0.stats.counters.events_received)" -gt 0

kill -INT "$demo"
ended() { ! kill -0 "$demo" 2>/dev/null; }
wait_until "demo exits after SIGINT" 30 ended
wait "$demo"
check "demo exit status 0" test $? -eq 0
check "demo stopped the supervisor" grep -q "^stopped (supervisor pid" "$T/demo.out"
check "pidfile removed" test ! -e "$A/evflowctl.pid"
while read -r p; do
	[ "$p" = "$demo" ] && continue
	if kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
		fail "process $p still runs after the demo"
	fi
done <"$T/pids"
checks=$((checks + 1))
echo "ctl_demo: $checks checks passed"
