#!/bin/sh
# The supervisor restarts a daemon that dies: the router killed with
# SIGKILL comes back under a new pid, the restart is counted and logged,
# a second quick crash doubles the backoff, and records published after
# the restart still flow collector -> router -> store.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector evflow-testpub
ctl_init
A="$T/a"
P=$(free_port)
start_instance "$A" -p 0 -i "tcp://127.0.0.1:${P}c"

old=$(daemon_pid "$A" router)
check "router pid known" test "${old:-0}" -gt 1
kill -KILL "$old" || fail "kill router"

router_back() {
	p=$(daemon_pid "$A" router)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$old" ] &&
	    "$CTL" ping -d "$A" >/dev/null 2>&1
}
wait_until "router restarted and every daemon answers" 20 router_back
remember_pids "$A"
new=$(daemon_pid "$A" router)
"$CTL" status -d "$A" --json >"$T/s.json"
check "restart counted for the router" \
    test "$(jget "$T/s.json" daemons.router.restarts)" -eq 1
check "restart counted by the supervisor" \
    test "$(jget "$T/s.json" supervisor.counters.restarts)" -eq 1
check "other daemons not restarted" \
    test "$(jget "$T/s.json" daemons.store.restarts)" -eq 0
check "the death is logged with its signal" \
    grep -q "router (pid $old) killed by signal 9; restart in 500 ms" "$A/evflowctl.log"

# A crash right after a restart doubles the delay.
kill -KILL "$new" || fail "kill router again"
backoff_logged() {
	grep -q "router (pid $new) killed by signal 9; restart in 1000 ms" \
	    "$A/evflowctl.log"
}
wait_until "second crash logged with a doubled backoff" 10 backoff_logged
old=$new
wait_until "router back again" 20 router_back
remember_pids "$A"

# A third crash (2 s), then a fourth: 4 s until the restart.  Meanwhile
# status says the router does not run (the supervisor's list), without
# asking its socket, and names it as the blocked stage.
new=$(daemon_pid "$A" router)
kill -KILL "$new" || fail "kill router a third time"
old=$new
wait_until "router back a third time" 20 router_back
new=$(daemon_pid "$A" router)
kill -KILL "$new" || fail "kill router a fourth time"
fourth_logged() {
	grep -q "router (pid $new) killed by signal 9; restart in 4000 ms" \
	    "$A/evflowctl.log"
}
wait_until "fourth crash logged with 4000 ms" 10 fourth_logged
"$CTL" status -d "$A" --json >"$T/down.json"
"$CTL" status -d "$A" >"$T/down.txt"
check "status: the router is not running" \
    sh -c "grep -q 'not running (exited: the supervisor restarts it)' '$T/down.json'"
check "status: blocked router, not running" \
    test "$(jget "$T/down.json" blocked.router.running)" = false
check "text status: BLOCKED router, not running" \
    grep -q "^BLOCKED: router (router), not running" "$T/down.txt"
old=$new
wait_until "router back a fourth time" 20 router_back
remember_pids "$A"

# The pipeline works through the restarted router.
"$BIN/evflow-testpub" -q -z "tcp://127.0.0.1:${P}c" -f "$SAMPLES" ||
	fail "testpub"
n=$(grep -c . "$SAMPLES")
flows_through() {
	"$CTL" status -d "$A" --json >"$T/s.json" 2>/dev/null &&
	    [ "$(jget "$T/s.json" daemons.router.stats.counters.rx_flow)" -eq "$n" ] &&
	    [ "$(jget "$T/s.json" daemons.store.stats.counters.recv_flow)" -ge "$n" ]
}
wait_until "all $n events through the restarted router to the store" 20 flows_through
check "restarted router dropped nothing" \
    test "$(jget "$T/s.json" pipeline.router.dropped)" -eq 0

# A collector killed comes back and binds its port again.
col=$(daemon_pid "$A" collector0)
kill -KILL "$col" || fail "kill collector"
collector_back() {
	p=$(daemon_pid "$A" collector0)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$col" ] &&
	    "$CTL" ping -d "$A" >/dev/null 2>&1
}
wait_until "collector restarted" 20 collector_back
remember_pids "$A"
"$BIN/evflow-testpub" -q -z "tcp://127.0.0.1:${P}c" -f "$SAMPLES" ||
	fail "testpub after collector restart"
more_flows() {
	"$CTL" status -d "$A" --json >"$T/s.json" 2>/dev/null &&
	    [ "$(jget "$T/s.json" daemons.router.stats.counters.rx_flow)" -eq $((2 * n)) ]
}
wait_until "events through the restarted collector" 20 more_flows

# The supervisor itself killed: its daemons live on; the next start
# adopts them (same pids) instead of restarting them.
sup=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["supervisor"]["pid"])' "$T/s.json")
old_store=$(daemon_pid "$A" store)
kill -KILL "$sup" || fail "kill supervisor"
sup_gone() { ! "$CTL" ping -d "$A" 2>/dev/null | grep -q '^evflowctl '; }
wait_until "supervisor gone" 10 sup_gone
check "its store lives on" kill -0 "$old_store"
start_instance "$A" -p 0 -i "tcp://127.0.0.1:${P}c"
check "the new start adopted the store" grep -q "adopted store (pid $old_store)" "$A/evflowctl.log"
check "the same store runs" test "$(daemon_pid "$A" store)" = "$old_store"
"$CTL" status -d "$A" --json >"$T/s.json"
check "status says it is adopted" test "$(jget "$T/s.json" daemons.store.adopted)" = true
"$CTL" ping -d "$A" >/dev/null || fail "new instance does not answer"

# Killed again, then `stop` finds the orphans.
"$CTL" status -d "$A" --json >"$T/s.json"
sup=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["supervisor"]["pid"])' "$T/s.json")
old_store=$(daemon_pid "$A" store)
kill -KILL "$sup"
wait_until "supervisor gone again" 10 sup_gone
"$CTL" stop -d "$A" >"$T/stop.out" || fail "stop without a supervisor"
check "stop stopped the orphans" grep -q "stopped daemons a killed supervisor left" "$T/stop.out"
old_gone() { ! kill -0 "$old_store" 2>/dev/null || grep -q '^State:.*Z' "/proc/$old_store/status"; }
wait_until "orphaned store gone after stop" 10 old_gone

start_instance "$A" -p 0 -i "tcp://127.0.0.1:${P}c"
"$CTL" stop -d "$A" >/dev/null || fail "stop"
check "no restart during stop" sh -c "! sed -n '/stopping\$/,\$p' '$A/evflowctl.log' | grep -q restarting"
echo "ctl_restart: $checks checks passed"
