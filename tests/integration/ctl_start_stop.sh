#!/bin/sh
# evflowctl start/status/ping/stop with the real daemons in temporary
# data directories, and two instances side by side: each has its own
# database, sockets, logs and pidfile, events published to one land only
# in its database, and stopping one leaves the other running.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector evflow-testpub
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
ctl_init
A="$T/a" B="$T/b"
PA=$(free_port) PB=$(free_port)
[ "$PA" != "$PB" ] || PB=$(free_port)

start_instance "$A" -p 0 -i "tcp://127.0.0.1:${PA}c"
check "start prints the database" grep -qx "database: $A/evflow.db" "$T/start.out"
check "start prints the router's control endpoint" \
    grep -q "ipc://$A/router.ctl" "$T/start.out"
for n in store router collector0; do
	check "start reports $n ready" grep -q "^$n .* ready$" "$T/start.out"
done
if [ -x "$BIN/evflow-webd" ]; then
	check "start prints the web URL (webd on a free port)" \
	    grep -Eq '^web: +http://127.0.0.1:[0-9]+/$' "$T/start.out"
fi
check "pidfile" test -s "$A/evflowctl.pid"
check "supervisor log" grep -q "started router" "$A/evflowctl.log"
for n in store router collector0; do
	check "$n log file" test -f "$A/$n.log"
done

# A second start in the same data directory is refused.
if "$CTL" start -d "$A" -i "tcp://127.0.0.1:${PA}c" >"$T/again.out" 2>&1; then
	fail "second start in $A succeeded"
fi
check "second start says why" grep -q "already runs" "$T/again.out"

start_instance "$B" -p 0 -i "tcp://127.0.0.1:${PB}c"
check "instance B has its own database path" \
    grep -qx "database: $B/evflow.db" "$T/start.out"

"$CTL" ping -d "$A" >"$T/ping.out" || { cat "$T/ping.out"; fail "ping A"; }
ndaemons=3
[ -x "$BIN/evflow-webd" ] && ndaemons=4
check "ping: supervisor and every daemon answer" \
    test "$(grep -c ' pong$' "$T/ping.out")" -eq $((ndaemons + 1))

"$BIN/evflow-testpub" -q -z "tcp://127.0.0.1:${PA}c" -f "$SAMPLES" ||
	fail "testpub to A"
nsamples=$(grep -c . "$SAMPLES")

stored_a() {
	"$CTL" status -d "$A" --json >"$T/a.json" 2>/dev/null &&
	    [ "$(jget "$T/a.json" daemons.collector0.stats.counters.events_received)" -ge "$nsamples" ] &&
	    [ "$(jget "$T/a.json" pipeline.router.received)" -ge "$nsamples" ] &&
	    [ "$(sqlite3 "$A/evflow.db" 'SELECT count(*) FROM flows' 2>/dev/null)" -gt 0 ]
}
wait_until "events stored in A" 20 stored_a
check "status --json: supervisor lists every daemon" \
    test "$(jget "$T/a.json" supervisor.counters.daemons)" -eq $ndaemons
check "status --json: database path" \
    test "$(jget "$T/a.json" database)" = "$A/evflow.db"
check "status --json: router has counters" \
    test "$(jget "$T/a.json" daemons.router.stats.counters.unknown_iface)" -eq 0

"$CTL" status -d "$A" >"$T/status.txt" || { cat "$T/status.txt"; fail "status A"; }
for n in store router collector0; do
	check "status names $n" grep -q "^$n (" "$T/status.txt"
done
check "status prints the pipeline" grep -q "^  router " "$T/status.txt"
check "status prints the supervisor" grep -q "^supervisor: pid" "$T/status.txt"

# B saw nothing of A's events.
"$CTL" status -d "$B" --json >"$T/b.json" || fail "status B"
check "B's router received no flows" \
    test "$(jget "$T/b.json" daemons.router.stats.counters.rx_flow)" -eq 0
check "B's database has no flows" \
    test "$(sqlite3 "$B/evflow.db" 'SELECT count(*) FROM flows' 2>/dev/null || echo 0)" -eq 0

# Stop A: every daemon of A gone, B untouched.
pids_a=$(python3 -c 'import json,sys
j=json.load(open(sys.argv[1]))
print(" ".join(str(d["pid"]) for d in j["daemons"]), j["supervisor"]["pid"])' "$T/a.json")
"$CTL" stop -d "$A" >"$T/stop.out" || { cat "$T/stop.out"; fail "stop A"; }
for p in $pids_a; do
	if kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
		fail "process $p of A still runs after stop"
	fi
done
checks=$((checks + 1))
check "A's pidfile removed" test ! -e "$A/evflowctl.pid"
check "A's supervisor stopped in order" sh -c "grep -n 'stopping ' '$A/evflowctl.log' |
    awk -F'stopping ' '{print \$2}' | awk '{print \$1}' | tr '\n' ' ' |
    grep -Eq '^(collector0 webd|webd collector0|collector0) router store'"
if "$CTL" ping -d "$A" >/dev/null 2>&1; then
	fail "A still answers ping"
fi
"$CTL" ping -d "$B" >"$T/pingb.out" || { cat "$T/pingb.out"; fail "B died with A"; }
checks=$((checks + 1))
"$CTL" stop -d "$B" >/dev/null || fail "stop B"
check "stop without an instance is fine" "$CTL" stop -d "$B"
echo "ctl_start_stop: $checks checks passed"
