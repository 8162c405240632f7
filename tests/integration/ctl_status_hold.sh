#!/bin/sh
# While the router holds its input (its link to a stopped store is
# full, router/hold.c), `evflowctl status` names the store, not the
# router: the collector's link to the router is down then, and the
# router's gauge `holding` says why.  The store's entry lists the
# collector under held_back ("collector0 via router"), the text says
# "holding back"; no entry names the router.  After SIGCONT the router
# reads on (holding 0) and every event is stored.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector evflow-testpub
ctl_init
A="$T/a"
P=$(free_port)
# A small queue, so the router holds within a moment of the stop.
printf 'link_queue = 1M\n' >"$T/evflow.conf"
start_instance "$A" -f "$T/evflow.conf" -p 0 -i "tcp://127.0.0.1:${P}c"
store=$(daemon_pid "$A" store)
check "store pid known" test "${store:-0}" -gt 1
trap 'st=$?; kill -CONT "$store" 2>/dev/null; (exit $st); ctl_cleanup' EXIT

status() {
	"$CTL" status -d "$A" --json >"$T/st.json" 2>/dev/null
	"$CTL" status -d "$A" >"$T/st.txt" 2>&1
	checks=$((checks + 1))
}
N=120000
publish_gen "$P" $N
stored_some() {
	status
	[ "$(jget "$T/st.json" pipeline.store.received)" -gt 0 ]
}
wait_until "events reach the store" 20 stored_some
kill -STOP "$store" || fail "SIGSTOP store"

# The router holds and the collector's link to it is down.
held() {
	status
	python3 - "$T/st.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
d = {x["name"]: x for x in j["daemons"]}
r = d["router"].get("stats", {})
c = d["collector0"].get("stats", {})
down = [l for l in c.get("links", []) if l["dir"] == "out" and
        l["peer"] == "down"]
sys.exit(0 if r.get("counters", {}).get("holding") == 1 and down else 1)
PY
}
wait_until "the router holds and the collector's link to it is down" 30 held
check "no blocked entry names the router" python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(1 if [b for b in j["blocked"] if b["name"] == "router"] else 0)' \
    "$T/st.json"
check "the store is named, not answering" \
    test "$(jget "$T/st.json" blocked.store.answering)" = false
check "the collector is held back behind the store, via the router" \
    test "$(jget "$T/st.json" blocked.store.held_back)" = \
    '["collector0 via router"]'
check "the router's own link is the store's direct sender" \
    test "$(jget "$T/st.json" blocked.store.senders)" = '["router"]'
check "text status says what the router holds back" \
    grep -Eq "^BLOCKED: store \(store\), not answering its control socket.*, holding back collector0 via router \(the router holds its input while its link is full\)" "$T/st.txt"
check "text status has no BLOCKED line for the router" \
    sh -c "! grep -q '^BLOCKED: router' '$T/st.txt'"

kill -CONT "$store" || fail "SIGCONT store"
all_stored() {
	status
	python3 - "$T/st.json" "$N" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
d = {x["name"]: x for x in j["daemons"]}
r = d["router"].get("stats", {}).get("counters", {})
s = d["store"].get("stats", {}).get("counters", {})
sys.exit(0 if r.get("holding") == 0 and
         s.get("recv_flow", 0) >= int(sys.argv[2]) else 1)
PY
}
wait_until "the router reads on and the store has every event" 60 all_stored
wait "$PUB" || fail "evflow-testpub"
check "the router dropped nothing" \
    test "$(jget "$T/st.json" daemons.router.stats.counters.dropped_send)" = 0
check "the router lost nothing on send" \
    test "$(jget "$T/st.json" daemons.router.stats.counters.send_dropped)" = 0
check "the router held at least once" \
    test "$(jget "$T/st.json" daemons.router.stats.counters.holds)" -ge 1
echo "ctl_status_hold: $checks checks passed"
