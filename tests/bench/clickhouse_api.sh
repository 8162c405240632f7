#!/bin/sh
# The flows API's latency (make bench): webd with webd.history =
# clickhouse over BENCH_CH_ROWS (default 10 M) flow rows in two real
# clickhouse-server shards, versus webd on SQLite over BENCH_LITE_ROWS
# (default 1 M), the same requests in one run, alternating: p50 and p99
# per request kind, and their ratios.  The rows are made by each
# database itself (INSERT ... SELECT), shaped as the store writes them.
# BENCH_API_BASE=DIR adds DIR/bin/evflow-webd (another build, say the
# one before a change) on the same ClickHouse rows to the same run:
# its p50/p99 too, and this build's p99 over its.  BENCH_SPAN=S spreads
# each database's rows over the last S seconds (default: 1000 flows a
# second, so ClickHouse's 10 M span ~2.8 h and SQLite's 1 M ~17 min);
# "summary 7 d" (the longest window the API takes) then reads them all.
BUILD=${1:-build}
EVFLOW_BUILD=$(cd "$BUILD" && pwd)
export EVFLOW_BUILD
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/webd_lib.inc"
lib_init
skip() { echo "clickhouse_api: skipped: $*"; exit 0; }
. "$(dirname "$0")/../integration/clickhouse_lib.inc"
ch_need
ch_start 1
ch_start 2
CHN=${BENCH_CH_ROWS:-10000000}
LITEN=${BENCH_LITE_ROWS:-1000000}
REQS=${BENCH_API_REQS:-10}
CHSPAN=${BENCH_SPAN:-$((CHN / 1000))}
LITESPAN=${BENCH_SPAN:-$((LITEN / 1000))}

# The schema of both (a store that saw one event), then the rows.
EP="tcp://127.0.0.1:$(free_port)c"
start_daemon store "$BIN/evflow-store" -d "$D" -N store -o store.sink=both \
    -o clickhouse_shards="$CH_SHARDS" -o store.retention=0
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$EP"
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$EP"
wait_ctl col0
publish -z "$EP" -f "$SAMPLES" >/dev/null
wait_counter "sample events stored" store recv_flow 12
ctl store flush >/dev/null
wait_true "clickhouse schema" \
    '[ "$(counter store clickhouse_rows_pending)" = 0 ]'
kill -TERM "$(pid_of col0)" "$(pid_of router)" "$(pid_of store)"
wait_true "pipeline stopped" '! daemon_alive store'
IFID=$(sql "SELECT id FROM interfaces LIMIT 1")
NOW=$(date +%s)

# Columns the list shows, values spread like traffic: 1000 clients, 50
# servers, 3 protocols, 200 processes, 1000 flows a second, the newest
# now (ids from 100,000,000: the ClickHouse rows span CHN / 1000 s,
# SQLite's LITEN / 1000 s).
COLS="id, iface_id, first_seen, last_seen, ip_version, protocol, vlan,
 cli_addr, cli_port, srv_addr, srv_port, source, last_event, events,
 updates, sides_guessed, c2s_packets, c2s_bytes, s2c_packets, s2c_bytes"
ch_rows() {	# shard, first id, count
	out=$(chq "$1" "INSERT INTO evflow.flows_local ($COLS, cli_pid, cli_process,
	  cli_ip, srv_ip, day, ver) SELECT id, $IFID,
	  toFloat64($NOW - intDiv((100000000 + $CHN - id) * $CHSPAN, $CHN)) AS t,
	  t + id % 60, 4,
	  [6, 17, 1][id % 3 + 1], 0,
	  concat('10.0.', toString(intDiv(id % 1000, 250)), '.',
	  toString(id % 250)), 1024 + id % 60000,
	  concat('192.0.2.', toString(id % 50)), [443, 53, 80][id % 3 + 1],
	  'event', 'CONNECT', 1, 1, 0, id % 97, id % 9973, id % 89, id % 99991,
	  1000 + id % 200, concat('/usr/bin/app', toString(id % 200)),
	  IPv6StringToNum(concat('::ffff:10.0.', toString(intDiv(id % 1000,
	  250)), '.', toString(id % 250))),
	  IPv6StringToNum(concat('::ffff:192.0.2.', toString(id % 50))),
	  toDate(toDateTime(toUInt32(t))), 1
	  FROM (SELECT $2 + number * 2 AS id FROM system.numbers
	  LIMIT $3)") || fail "clickhouse rows"
	case $out in *Exception*) fail "clickhouse rows: $out" ;; esac
}
t0=$(date +%s)
ch_rows 1 100000000 $((CHN / 2))
ch_rows 2 100000001 $((CHN / 2))
echo "clickhouse_api: $CHN rows in ClickHouse in $(( $(date +%s) - t0 )) s"
t0=$(date +%s)
sqlite3 "$DB" "PRAGMA journal_mode=WAL; WITH RECURSIVE n(i) AS (SELECT 1
  UNION ALL SELECT i + 1 FROM n WHERE i < $LITEN)
  INSERT INTO flow_rows ($COLS, cli_proc_id) SELECT 100000000 + i, $IFID,
  $NOW - ($LITEN - i) * $LITESPAN / $LITEN,
  $NOW - ($LITEN - i) * $LITESPAN / $LITEN + i % 60, 4,
  CASE i % 3 WHEN 0 THEN 6 WHEN 1 THEN 17 ELSE 1 END, 0,
  '10.0.' || ((i % 1000) / 250) || '.' || (i % 250), 1024 + i % 60000,
  '192.0.2.' || (i % 50), 443, 'event', 'CONNECT', 1, 1, 0, i % 97,
  i % 9973, i % 89, i % 99991, NULL FROM n;" >/dev/null ||
	fail "sqlite rows"
echo "clickhouse_api: $LITEN rows in SQLite in $(( $(date +%s) - t0 )) s"

start_webd wlite -o webd.sql_timeout=60000
URL_LITE=$W_URL TOK_LITE=$W_TOKEN
start_webd wch -o webd.history=clickhouse -o clickhouse_shards="$CH_SHARDS" \
    -o webd.clickhouse_timeout=60s -o webd.request_timeout=60s
URL_CH=$W_URL TOK_CH=$W_TOKEN
URL_BASE="" TOK_BASE=""
if [ -n "$BENCH_API_BASE" ]; then
	[ -x "$BENCH_API_BASE/bin/evflow-webd" ] ||
		fail "BENCH_API_BASE: no $BENCH_API_BASE/bin/evflow-webd"
	BIN_THIS=$BIN BIN=$(cd "$BENCH_API_BASE/bin" && pwd)
	start_webd wbase -o webd.history=clickhouse \
	    -o clickhouse_shards="$CH_SHARDS" -o webd.clickhouse_timeout=60s \
	    -o webd.request_timeout=60s
	BIN=$BIN_THIS
	URL_BASE=$W_URL TOK_BASE=$W_TOKEN
fi
python3 - "$URL_LITE" "$TOK_LITE" "$URL_CH" "$TOK_CH" "$REQS" "$CHN" \
    "$LITEN" "$URL_BASE" "$TOK_BASE" "$CHSPAN" "$LITESPAN" <<'PY'
import statistics, sys, time, urllib.error, urllib.request
lite, tl, ch, tc, reqs, chn, liten, base, tb, chspan, litespan = sys.argv[1:12]
import json
backends = [("sqlite", lite, tl), ("clickhouse", ch, tc)]
if base:
    backends.append(("base", base, tb))
# The UI's requests: the list's first page (by last_seen, its default),
# filtered, sorted otherwise, the next page through its cursor (each
# backend's own cursor), and the dashboard.
kinds = {
    "first page": "/api/v1/flows?limit=100",
    "filter proto=udp": "/api/v1/flows?limit=100&proto=udp",
    "filter addr CIDR": "/api/v1/flows?limit=100&addr=10.0.1.0/24",
    "filter port+proto": "/api/v1/flows?limit=100&srv_port=443&proto=tcp",
    "sort bytes": "/api/v1/flows?limit=100&sort=bytes",
    "sort srv_port asc": "/api/v1/flows?limit=100&sort=srv_port&order=asc",
    "cursor page 2": "@/api/v1/flows?limit=100",
    "cursor bytes p2": "@/api/v1/flows?limit=100&sort=bytes",
    "summary 1 h": "/api/v1/summary?window=3600",
    "summary 7 d": "/api/v1/summary?window=604800",
}
t = {(b, k): [] for b, _, _ in backends for k in kinds}
def get(base, tok, path, body=False):
    req = urllib.request.Request(base + path,
        headers={"Authorization": "Bearer " + tok})
    s = time.monotonic()
    out = None
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            out = r.read()
    except urllib.error.HTTPError as e:
        # (a 503: the query ran out of time) counted, its time kept
        failed[base] = failed.get(base, 0) + 1
        print("  %s %s: HTTP %d" % (base, path, e.code))
    ms = (time.monotonic() - s) * 1000
    return (ms, out) if body else ms
failed = {}
# A cursor kind: the second page, through the cursor each backend gave.
paths = {}
for k, p in kinds.items():
    for b, url, tok in backends:
        if p.startswith("@"):
            ms, out = get(url, tok, p[1:], True)
            nxt = json.loads(out)["next"] if out else None
            if nxt is None:
                sys.exit("clickhouse_api: %s: no cursor from %s" % (k, b))
            paths[(b, k)] = p[1:] + "&cursor=" + nxt
        else:
            paths[(b, k)] = p
for i in range(int(reqs)):
    for k in kinds:
        for b, url, tok in backends:
            t[(b, k)].append(get(url, tok, paths[(b, k)]))
def p99(v):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]
print("clickhouse_api: latency in ms over %s requests each, alternating; "
      "ClickHouse %s rows (2 shards) over %s s, SQLite %s rows over %s s"
      % (reqs, chn, chspan, liten, litespan))
for k in kinds:
    a, b = t[("sqlite", k)], t[("clickhouse", k)]
    print("  %-18s sqlite p50 %7.1f p99 %7.1f | clickhouse p50 %7.1f "
          "p99 %7.1f | p99 ratio x%.2f" % (k, statistics.median(a), p99(a),
          statistics.median(b), p99(b), p99(b) / p99(a)))
if base:
    print("clickhouse_api: this build against BENCH_API_BASE's webd on the "
          "same ClickHouse rows, alternating in the same run")
    for k in kinds:
        a, b = t[("base", k)], t[("clickhouse", k)]
        print("  %-18s base p50 %7.1f p99 %7.1f | this p50 %7.1f p99 %7.1f"
              " | p99 this/base x%.2f" % (k, statistics.median(a), p99(a),
              statistics.median(b), p99(b), p99(b) / p99(a)))
print("  failed requests: %s" % ", ".join("%s %d" % (b, failed.get(url, 0))
      for b, url, _ in backends))
PY
[ $? -eq 0 ] || fail "requests"
pass
