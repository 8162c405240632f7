#!/bin/sh
# Issue 12 item 6: status stays answerable while a stage is stalled.
# Events flow at a steady rate; the store is stopped (SIGSTOP).  Every
# `evflowctl status` returns within a second (the daemons are asked at
# once, each with a deadline), shows the store as not answering and
# names it as the blocked stage, with the router's link to it down since
# a time; the collector and router still answer with their counters.
# After SIGCONT the block clears and everything flows again: every event
# sent is stored or counted as dropped.  Then the router is stopped and
# named.  As root, a
# capture of lo (the test's own traffic) and a local probe (sock_diag)
# run too, and must answer throughout.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector evflow-testpub
ctl_init
A="$T/a"
P=$(free_port)
EXTRA=""
if [ "$(id -u)" = 0 ] && [ -x "$BIN/evflow-capture" ] && [ -x "$BIN/evflow-probe" ]; then
	EXTRA="-i lo -i probe:tcp://127.0.0.1:$(free_port)c -m diag"
fi
# shellcheck disable=SC2086
start_instance "$A" -p 0 -i "tcp://127.0.0.1:${P}c" $EXTRA
# All but $1 answered with their stats.
others_answer() {
	python3 - "$T/st.json" "$1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
bad = [d["name"] for d in j["daemons"] if d["name"] != sys.argv[2] and
       not d.get("finished") and "stats" not in d]
print("not answering:", bad or "none", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}
store=$(daemon_pid "$A" store)
check "store pid known" test "${store:-0}" -gt 1
trap 'st=$?; kill -CONT "$store" 2>/dev/null; (exit $st); ctl_cleanup' EXIT

# How long a status may take: 1 s, the issue's bound, in a release
# build.  Status waits up to 250 ms for the supervisor and 500 ms for
# the daemons (a stopped one never answers), so 250 ms are left for
# starting evflowctl and writing its answer; a sanitizer build starts
# and runs 2-3x slower on a machine busy with its own daemons (1155 ms
# once in CI), so it gets 2 s: what this test shows there is that a
# stopped daemon does not hold status up, not how fast status is.
STATUS_MS=1000
ldd "$CTL" 2>/dev/null | grep -q -e libasan -e libtsan && STATUS_MS=2000

# Runs status (text and JSON), fails unless each answered in STATUS_MS.
timed_status() {
	# JSON first: the waits test it, the text (later) shows the same
	# stall or a later state of it
	t0=$(date +%s%N)
	"$CTL" status -d "$A" --json >"$T/st.json" 2>/dev/null
	t1=$(date +%s%N)
	"$CTL" status -d "$A" >"$T/st.txt" 2>&1
	t2=$(date +%s%N)
	ms2=$(( (t1 - t0) / 1000000 )) ms1=$(( (t2 - t1) / 1000000 ))
	[ "$ms1" -lt "$STATUS_MS" ] && [ "$ms2" -lt "$STATUS_MS" ] ||
	    fail "status took $ms1 ms (text), $ms2 ms (json)"
	echo "$ms1 $ms2" >>"$T/times"
	checks=$((checks + 1))
}

timed_status
check "nothing blocked before the traffic" \
    test "$(jget "$T/st.json" blocked)" = "[]"
check "text status says nothing is blocked" grep -qx "blocked: none" "$T/st.txt"

N=160000
publish_gen "$P" $N
stored_some() {
	timed_status
	[ "$(jget "$T/st.json" pipeline.store.received)" -gt 0 ]
}
wait_until "events reach the store" 20 stored_some
# (Under a sanitizer on a busy machine the store may fall behind 20,000
# events/s for a moment: then it is rightly named; so no check here that
# nothing is blocked while events flow, only before and after.)

before=$(jget "$T/st.json" daemons.store.stats.counters.recv_flow)
kill -STOP "$store" || fail "SIGSTOP store"
store_blocked() {
	timed_status
	[ "$(jget "$T/st.json" blocked.store.answering)" = false ] &&
	    [ "$(jget "$T/st.json" blocked.store.senders)" = '["router"]' ]
}
wait_until "status names the stopped store as blocked" 15 store_blocked
age=$(python3 -c 'import json, sys, time
b = [b for b in json.load(open(sys.argv[1]))["blocked"] if b["name"] == "store"][0]
print(int(time.time() * 1e6 - float(b["since_usec"])))' "$T/st.json")
check "blocked since a time in the last 15 s" \
    test "$age" -ge 0 -a "$age" -lt 15000000
# FIELD of daemon NAME's output link in $T/st.json
link_out() {
	python3 -c 'import json, sys
d = [d for d in json.load(open(sys.argv[1]))["daemons"] if d["name"] == sys.argv[2]][0]
print([l for l in d["stats"]["links"] if l["dir"] == "out"][0][sys.argv[3]])' "$T/st.json" "$1" "$2"
}
check "the router's link to the store is down" test "$(link_out router peer)" = down
store_silent() { jget "$T/st.json" daemons.store.error | grep -q 'no reply within 500 ms'; }
check "the store's entry says it does not answer" store_silent
for n in router collector0; do
	check "$n answers with counters while the store is stopped" \
	    test "$(jget "$T/st.json" "daemons.$n.stats.name")" = "$n"
done
check "every other daemon answers while the store is stopped" others_answer store
[ -n "$EXTRA" ] && check "the capture of lo answers" \
    test "$(jget "$T/st.json" "daemons.capture-lo.stats.name")" = capture-lo
check "text status names the blocked stage" \
    grep -Eq "^BLOCKED: store \(store\), not answering its control socket, link sending to it since [0-9-]+ [0-9:]+ \([0-9]+s\) from router \(peer down\)" "$T/st.txt"
check "the pipeline has no numbers for the silent store, not zeros" \
    grep -Eq "^  store +- +- +-$" "$T/st.txt"
check "JSON: the store stage is silent" \
    test "$(jget "$T/st.json" pipeline.store.silent)" = 1
check "text status shows the router's link down" \
    grep -q "link -> ipc://$A/store.ipc: peer down since " "$T/st.txt"
# Held a while longer: status keeps answering in time.
for i in 1 2 3 4 5; do timed_status; sleep 0.3; done

kill -CONT "$store" || fail "SIGCONT store"
# The stall is over when the stopped daemon answers again and the links
# to it are up.  (Whether the senders' replay buffers have drained, so
# that nothing at all is named any more, depends on how fast the store
# catches up: slow under a sanitizer.)
stall_over() {	# NAME SENDER
	timed_status
	python3 - "$T/st.json" "$1" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
d = {x["name"]: x for x in j["daemons"]}
links = [l for l in d[sys.argv[3]].get("stats", {}).get("links", [])
         if l["dir"] == "out"]
ok = "stats" in d[sys.argv[2]] and links and links[0]["peer"] == "up" and \
    all(b["name"] != sys.argv[2] or not b["senders"] for b in j["blocked"])
sys.exit(0 if ok else 1)
PY
}
wait_until "the store answers and the router's link is up after SIGCONT" 60 \
    stall_over store router
wait "$PUB" || fail "testpub"
sent=$(sed -n 's/.*events=\([0-9]*\).*/\1/p' "$T/pub.out")
check "testpub sent all $N" test "$sent" -eq $N
# Flowing again: the store receives what the router queued and what
# came after, and every event is stored or counted as dropped (links
# count every record they drop, the stats records too: at least).
accounted() {
	timed_status
	python3 - "$T/st.json" "$sent" "$before" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); sent = int(sys.argv[2])
d = {x["name"]: x.get("stats", {}) for x in j["daemons"]}
col, rt, st = (d[n].get("counters", {}) for n in ("collector0", "router", "store"))
dropped = sum(l.get("dropped", 0) for n in ("collector0", "router")
              for l in d[n].get("links", []) if l.get("dir") == "out")
ok = col.get("events_received") == sent and \
     st.get("recv_flow", 0) > int(sys.argv[3]) and \
     st.get("recv_flow", 0) + dropped >= sent
print("received", col.get("events_received"), "store", st.get("recv_flow"),
      "dropped", dropped, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
wait_until "every event stored or counted as dropped" 30 accounted
# The router stopped instead: the collector's link to it goes down and
# the router is the blocked stage.
router=$(daemon_pid "$A" router)
trap 'st=$?; kill -CONT "$store" "$router" 2>/dev/null; (exit $st); ctl_cleanup' EXIT
publish_gen "$P" 100000 --first $N
sleep 0.5
kill -STOP "$router" || fail "SIGSTOP router"
# (The collector's link to it goes down only if the collector still
# sends: once its replay buffer is full of records the store has not
# acknowledged yet, it drops, counted, before the link.)
router_blocked() {
	timed_status
	[ "$(jget "$T/st.json" blocked.router.answering)" = false ]
}
wait_until "status names the stopped router as blocked" 15 router_blocked
check "text status names the router" \
    grep -Eq "^BLOCKED: router \(router\), not answering its control socket" "$T/st.txt"
check "every other daemon answers while the router is stopped" others_answer router
kill -CONT "$router" || fail "SIGCONT router"
wait_until "the router answers and the collector's link is up after SIGCONT" \
    60 stall_over router collector0
wait "$PUB" || fail "testpub 2"

max=$(sort -n -k1 "$T/times" | tail -n 1)
echo "status times (ms, text json), slowest: $max; $(wc -l <"$T/times") runs"
echo "ctl_status_stall: $checks checks passed"
