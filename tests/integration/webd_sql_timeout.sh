#!/bin/sh
# webd_sql_timeout: a request's SQL has a time limit (webd.sql_timeout).
# The flows view is replaced by an endless one (a recursive CTE of 10^12
# rows: sorting it would run for days), so every flows request is an
# aggregate that never ends by itself.  With webd.sql_timeout=1000 and
# two HTTP threads, four such requests at once each end with a 503 JSON
# error within the limit (plus the wait for a thread), are counted as
# db_timeouts, and requests that do not touch the flows are still
# answered meanwhile and afterwards; the connections go back to the
# pool in a usable state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"
. "$(dirname "$0")/webd_sql_lib.inc"

need_bins evflow-store evflow-ctlq evflow-webd
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }

lib_init
sql_schema
sql_flows_view '{"id": "n.i", "iface_id": "1", "first_seen": "n.i",
    "last_seen": "n.i", "protocol": "6", "ip_version": "4",
    "c2s_bytes": "n.i % 977", "s2c_bytes": "0"}' \
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
     WHERE i < 1000000000000) SELECT @COLS@ FROM n"

LIMIT_MS=1000
start_webd webd -o webd.rate=0 -o webd.threads=2 -o webd.sql_timeout=$LIMIT_MS
A="Authorization: Bearer $W_TOKEN"

# Four expensive requests at once (two threads: two wait for a thread).
for i in 1 2 3 4; do
	curl -s -o "$T/slow$i.body" -w '%{http_code} %{time_total}\n' \
	    --max-time 60 -H "$A" "$W_URL/api/v1/flows?sort=bytes&limit=10" \
	    >"$T/slow$i.out" 2>/dev/null &
	echo $! >>"$T/slow.pids"
done
# Meanwhile a request that needs no flows is answered (it may wait for a
# thread, never for the end of the aggregates).
got=$(req GET /api/v1/producers -H "$A")
check_eq "a cheap request during the expensive ones" "$got" 200
check_eq "its answer" "$(jget 'j["producers"]')" "[]"
for p in $(cat "$T/slow.pids"); do
	wait "$p"
done
for i in 1 2 3 4; do
	read -r code secs <"$T/slow$i.out"
	check_eq "expensive request $i: status" "$code" 503
	# A request may wait for the others on its thread (libmicrohttpd
	# assigns connections to threads; up to all four on one): four
	# limits at most, plus slack for a loaded machine.  Without the limit
	# these never end.
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 4 * float(sys.argv[2]) / 1000 + 3 else 1)' \
	    "$secs" "$LIMIT_MS" || fail "expensive request $i took ${secs}s"
	cp "$T/slow$i.body" "$T/body"
	check_eq "request $i: a JSON error" "$(jget 'j["error"]["code"]')" 503
	jget 'j["error"]["message"]' | grep -q sql_timeout ||
		fail "request $i: the message does not name webd.sql_timeout"
	checks=$((checks + 1))
done
wait_true "db_timeouts counted" "[ \"\$(counter webd db_timeouts)\" -ge 4 ]"
check_eq "no database errors besides" "$(counter webd db_errors)" 0
grep -q "webd.sql_timeout" "$T/webd.log" || fail "no log line for the timeout"
checks=$((checks + 1))

# Every connection of the pool still works: more cheap requests than
# connections, one after the other, and another expensive one.
for i in 1 2 3 4 5 6; do
	expect "cheap request $i after the timeouts" 200 GET /api/v1/producers -H "$A"
done
expect "the flow list again" 503 GET "/api/v1/flows?limit=5" -H "$A"
req GET /metrics -H "$A" >/dev/null
grep -q '^evflow_webd_db_timeouts{.*} 5$' "$T/body" ||
	fail "metrics: $(grep db_timeouts "$T/body")"
checks=$((checks + 1))
daemon_alive webd || fail "webd died"
stop_webd webd
pass
