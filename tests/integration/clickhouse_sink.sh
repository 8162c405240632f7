#!/bin/sh
# The store's ClickHouse sink against two real clickhouse-server shards
# (Debian's package, started here on free loopback ports):
#  1. store.sink = both: every flow row ClickHouse holds (the Distributed
#     table, FINAL) equals SQLite's `flows` view, column by column, for
#     the same traffic (processes, parents, containers, pods included),
#     and rows were spread over both shards (id % 2).
#  2. shard 2 is killed with -9 during a load and started again: nothing
#     is lost (dropped 0, the rows were retried), ClickHouse again
#     equals SQLite, and rows = sent + dropped + pending.
#  3. shard 2 is killed for good with a small queue bound and a short
#     retry time: what cannot be sent is counted, never silently lost
#     (SQLite rows - ClickHouse rows <= clickhouse_rows_dropped).
#  4. store.sink = clickhouse on a new data directory: refused while a
#     shard is down (its ids would start again at 1); with both up, its
#     flow ids continue after ClickHouse's highest, and the flows go to
#     ClickHouse only (SQLite's flow table stays empty).
#  5. retention without TTL (18.16): rows of a day older than
#     store.retention, on both shards, in flows and counters: the store
#     drops those day partitions (ALTER TABLE ... DROP PARTITION),
#     counts them, and keeps today's rows.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init
. "$(dirname "$0")/clickhouse_lib.inc"
ch_need
ch_start 1
ch_start 2

EP="tcp://127.0.0.1:$(free_port)c"
# Events with processes, parents and containers on both sides.
python3 - "$(date +%s)" >"$T/events.jsonl" <<'PY'
import json, sys
now = int(sys.argv[1])
for i in range(300):
    v6 = i % 4 == 0
    e = {"timestamp": "%d.%06d" % (now - 60 + i % 50, i * 37 % 1000000),
         "IP_PROTOCOL_VERSION": 6 if v6 else 4,
         "TCP_EVENT_TYPE": "CONNECT" if i % 2 else "ACCEPT",
         "PROTOCOL": 17 if i % 5 == 0 else 6,
         "L4_SRC_PORT": 20000 + i, "L4_DST_PORT": 80 + i % 3,
         "NW_LATENCY_MS": "%d.%03d" % (i % 4, i % 1000),
         "LOCAL_PROCESS": {"PID": 1000 + i % 40, "UID": 1000 + i % 3,
             "GID": 100, "GID_NAME": "users", "UID_NAME": "u%d" % (i % 3),
             "TID": 1000 + i % 40, "PROCESS_PATH": "/usr/bin/app%d" % (i % 6),
             "PROCESS_CMDLINE": 'app%d --x="q" \\ tab\there' % (i % 6)},
         "LOCAL_FATHER_PROCESS": {"PID": 500 + i % 9,
             "PROCESS_PATH": "/bin/sh"}}
    if v6:
        e["IPV6_SRC_ADDR"] = "2001:db8::%x" % (i + 1)
        e["IPV6_DST_ADDR"] = "2001:db8::80"
    else:
        e["IPV4_SRC_ADDR"] = "10.1.%d.%d" % (i // 250, i % 250)
        e["IPV4_DST_ADDR"] = "192.0.2.80"
    if i % 3 == 0:
        e["LOCAL_CONTAINER"] = {"ID": "c0ffee%06d" % i, "K8S": {
            "NAME": "web-%d" % (i % 7), "POD": "web-%d-pod" % (i % 5),
            "NS": "shop"}}
    print(json.dumps(e))
PY

# Compares ClickHouse's flows (FINAL, through the Distributed table)
# with SQLite's `flows` view, every column of the view.  Prints
# "same N" or the first differences.
compare() {
	python3 - "$DB" "$CH_HTTP_1" <<'PY'
import json, sqlite3, sys, urllib.request
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
cur = db.execute("SELECT * FROM flows ORDER BY id")
cols = [d[0] for d in cur.description]
lite = cur.fetchall()
q = ("SELECT %s FROM evflow.flows FINAL WHERE ver > 0 ORDER BY id"
     " FORMAT JSONCompact"
     % ", ".join(cols))
req = urllib.request.Request("http://127.0.0.1:%s/" % sys.argv[2],
    data=q.encode())
ch = json.load(urllib.request.urlopen(req, timeout=30))["data"]
def norm(v):
    if isinstance(v, float):
        return round(v, 6)
    return v
bad = 0
if len(lite) != len(ch):
    print("rows: sqlite %d, clickhouse %d" % (len(lite), len(ch)))
    bad += 1
for a, b in zip(lite, ch):
    for c, x, y in zip(cols, a, b):
        if norm(x) != norm(y):
            bad += 1
            if bad < 10:
                print("id %s %s: sqlite %r clickhouse %r" % (a[0], c, x, y))
if bad == 0:
    print("same %d" % len(lite))
PY
}

# 1. store.sink = both, same rows.
start_daemon store "$BIN/evflow-store" -d "$D" -N store \
    -o store.sink=both -o clickhouse_shards="$CH_SHARDS" -o store.retention=0 \
    -o store.clickhouse_flush=1s
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$EP"
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$EP"
wait_ctl col0
publish -z "$EP" --array 20 -f "$T/events.jsonl"
publish -z "$EP" --array 20 -f "$SAMPLES"
wait_counter "every event reached the store" store recv_flow 312
ctl store flush >/dev/null
wait_true "rows sent to clickhouse" \
    '[ "$(counter store clickhouse_rows_pending)" = 0 ] &&
     [ "$(counter store clickhouse_rows_sent)" -gt 0 ]'
wait_true "clickhouse equals sqlite" \
    'r=$(compare); echo "$r"; case $r in same*) true;; *) false;; esac' 30
n1=$(sql "SELECT count(*) FROM flows")
echo "step 1: $(compare)"
s1=$(chq 1 "SELECT count() FROM evflow.flows_local FINAL")
s2=$(chq 2 "SELECT count() FROM evflow.flows_local FINAL")
echo "shard 1: $s1 flows, shard 2: $s2"
check_eq "shards hold every flow once" "$((s1 + s2))" "$n1"
checks=$((checks + 1))
[ "$s1" -gt 0 ] && [ "$s2" -gt 0 ] || fail "one shard holds nothing"
check_eq "flows on shard 2 have odd ids" \
    "$(chq 2 "SELECT count() FROM evflow.flows_local WHERE id % 2 = 0")" 0
check_eq "process rows reached clickhouse" \
    "$(chq 1 "SELECT count() > 0 FROM evflow.processes")" 1
check_eq "container rows reached clickhouse" \
    "$(chq 1 "SELECT count() > 0 FROM evflow.containers")" 1
wait_true "counter samples reached clickhouse" \
    '[ "$(chq 1 "SELECT count() > 0 FROM evflow.counters WHERE
      daemon = '"'store'"' AND key = '"'recv_flow'"'")" = 1 ]'
check_eq "nothing dropped" "$(counter store clickhouse_rows_dropped)" 0

# 2. A shard killed under load comes back: every row retried.
publish -z "$EP" --gen 60000 --rate 12000 --first 1000 >/dev/null &
PUBPID=$!
sleep 1.5
ch_kill 2
wait_true "the store saw the shard go" \
    '[ "$(counter store clickhouse_insert_errors)" -gt 0 ]'
sleep 2
ch_start 2
wait "$PUBPID" || fail "testpub under load"
wait_counter "every event reached the store" store recv_flow 60312 60
ctl store flush >/dev/null
wait_true "clickhouse caught up" \
    '[ "$(counter store clickhouse_rows_pending)" = 0 ]' 60
ctl store stats >"$T/stats2.json"
python3 - "$T/stats2.json" <<'PY' || fail "step 2 counters"
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
k = {x: c["clickhouse_" + x] for x in ("rows", "rows_sent",
     "rows_dropped", "rows_pending", "insert_errors", "inserts")}
print("step 2:", k)
assert k["insert_errors"] > 0, "no failed insert: the kill came too late"
assert k["rows_dropped"] == 0, "rows lost"
assert k["rows"] == k["rows_sent"] + k["rows_dropped"] + \
    k["rows_pending"], "identity"
PY
checks=$((checks + 1))
wait_true "clickhouse equals sqlite after the kill" \
    'r=$(compare); echo "$r"; case $r in same*) true;; *) false;; esac' 60
echo "step 2: $(compare)"

# 3. A shard gone for good, a small queue: losses are counted.
kill -TERM "$(pid_of col0)" "$(pid_of router)"
ctl store flush >/dev/null
kill -TERM "$(pid_of store)"
wait_true "store stopped" '! daemon_alive store'
ch_kill 2
before=$(sql "SELECT count(*) FROM flows")
before1=$(chq 1 "SELECT count() FROM evflow.flows_local FINAL")
start_daemon store3 "$BIN/evflow-store" -d "$D" -N store3 \
    -o store.sink=both -o clickhouse_shards="$CH_SHARDS" -o store.retention=0 \
    -o store.clickhouse_max_memory=1M -o store.clickhouse_retry_time=2s \
    -o store.clickhouse_timeout=2s -o store_endpoint="ipc://$D/store.ipc"
wait_ctl store3
start_daemon router3 "$BIN/evflow-router" -d "$D" -N router3 -i "$EP"
wait_ctl router3
start_daemon col3 "$BIN/evflow-collector" -d "$D" -N col3 -i "$EP"
wait_ctl col3
publish -z "$EP" --gen 30000 --rate 15000 --first 200000 >/dev/null
wait_counter "every event reached the store" store3 recv_flow 30000 60
ctl store3 flush >/dev/null
wait_true "nothing pending (sent or dropped)" \
    '[ "$(counter store3 clickhouse_rows_pending)" = 0 ]' 60
ctl store3 stats >"$T/stats3.json"
lite=$(sql "SELECT count(*) FROM flows")
chn=$(chq 1 "SELECT count() FROM evflow.flows_local FINAL")
python3 - "$T/stats3.json" "$((lite - before))" "$((chn - before1))" \
    <<'PY' || fail "step 3"
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
lite, chn = int(sys.argv[2]), int(sys.argv[3])
k = {x: c["clickhouse_" + x] for x in ("rows", "rows_sent",
     "rows_dropped", "rows_over_memory", "rows_pending",
     "shards_down")}
print("step 3:", k, "new sqlite flows", lite, "new shard 1 flows", chn)
assert k["rows_dropped"] > 0, "a dead shard lost nothing?"
assert k["rows"] == k["rows_sent"] + k["rows_dropped"] + \
    k["rows_pending"], "identity"
assert k["shards_down"] == 1, "shards_down"
# Shard 2's flows are missing from ClickHouse: each was counted.
assert lite - chn <= k["rows_dropped"], "uncounted loss"
PY
checks=$((checks + 1))

# 4. ClickHouse alone.
for n in col3 router3 store3; do kill -TERM "$(pid_of $n)"; done
wait_true "step 3 stopped" '! daemon_alive store3 && ! daemon_alive router3'
D4="$T/data4"
mkdir -p "$D4"
if "$BIN/evflow-store" -d "$D4" -N store4 -o store.sink=clickhouse \
    -o clickhouse_shards="$CH_SHARDS" -o store.clickhouse_timeout=2s \
    >"$T/store4-refused.log" 2>&1; then
	fail "store.sink = clickhouse started with a shard down"
fi
checks=$((checks + 1))
grep -q "highest flow id" "$T/store4-refused.log" ||
	fail "no reason given: $(cat "$T/store4-refused.log")"
ch_start 2
max=$(chq 1 "SELECT max(id) FROM evflow.flows WHERE ver > 0")
before=$(chq 1 "SELECT count() FROM evflow.flows FINAL WHERE ver > 0")
D=$D4 DB="$D4/evflow.db"
start_daemon store4 "$BIN/evflow-store" -d "$D" -N store4 \
    -o store.sink=clickhouse -o clickhouse_shards="$CH_SHARDS" \
    -o store.retention=0
wait_ctl store4
start_daemon router4 "$BIN/evflow-router" -d "$D" -N router4 -i "$EP"
wait_ctl router4
start_daemon col4 "$BIN/evflow-collector" -d "$D" -N col4 -i "$EP"
wait_ctl col4
publish -z "$EP" --array 20 -f "$T/events.jsonl" >/dev/null
wait_counter "every event reached store4" store4 recv_flow 300
ctl store4 flush >/dev/null
wait_true "store4's flows in clickhouse" \
    '[ "$(chq 1 "SELECT count() FROM evflow.flows FINAL WHERE ver > 0")" \
      = $((before + 300)) ]' 30
check_eq "the 300 new flows have ids after clickhouse's highest" \
    "$(chq 1 "SELECT count() FROM evflow.flows FINAL WHERE ver > 0 AND id > $max")" 300
check_eq "no flow rows in SQLite" "$(sql "SELECT count(*) FROM flow_rows")" 0
check_eq "store4 dropped nothing" "$(counter store4 clickhouse_rows_dropped)" 0

# 5. Retention: a day 10 days back on each shard, in flows and counters.
for n in col4 router4 store4; do kill -TERM "$(pid_of $n)"; done
wait_true "step 4 stopped" '! daemon_alive store4 && ! daemon_alive router4'
for s in 1 2; do
	out=$(chq $s "INSERT INTO evflow.flows_local (id, first_seen, day, ver)
	    SELECT 900000000 + number * 2 + $s - 1, toFloat64(toUInt32(now())
	    - 864000), today() - 10, 1 FROM system.numbers LIMIT 50")
	out="$out$(chq $s "INSERT INTO evflow.counters_local SELECT
	    toFloat64(toUInt32(now()) - 864000), 'old', 'store', 'k', 1,
	    today() - 10")"
	case $out in *Exception*) fail "old rows: $out" ;; esac
done
today=$(chq 1 "SELECT count() FROM evflow.flows FINAL WHERE ver > 0 AND
    day >= today() - 1")
# (the generated flows of step 3 may have old days too: all go)
[ "$(chq 1 "SELECT count() FROM evflow.flows WHERE day < today() - 1")" \
    -ge 100 ] || fail "old flow rows not written"
parts=0
for s in 1 2; do
	parts=$((parts + $(chq $s "SELECT uniqExact(table, partition_id) FROM
	    system.parts WHERE active AND database = 'evflow' AND
	    max_date < today() - 1")))
done
start_daemon store5 "$BIN/evflow-store" -d "$D" -N store5 \
    -o store.sink=clickhouse -o clickhouse_shards="$CH_SHARDS" \
    -o store.retention=1d
wait_ctl store5
wait_true "old partitions dropped ($parts)" \
    '[ "$(counter store5 clickhouse_retention_partitions)" -ge $parts ]' 30
check_eq "old flows gone" "$(chq 1 "SELECT count() FROM evflow.flows
    WHERE day < today() - 1")" 0
check_eq "old counters gone" "$(chq 1 "SELECT count() FROM evflow.counters
    WHERE day < today() - 1")" 0
check_eq "today's flows kept" "$(chq 1 "SELECT count() FROM evflow.flows
    FINAL WHERE ver > 0 AND day >= today() - 1")" "$today"
check_eq "those partitions only" \
    "$(counter store5 clickhouse_retention_partitions)" "$parts"
pass
