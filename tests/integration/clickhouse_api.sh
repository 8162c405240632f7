#!/bin/sh
# webd.history = clickhouse answers as the SQLite history does, on the
# same data: a store with store.sink = both writes both backends (two
# real clickhouse-server shards behind the Distributed tables), one
# webd reads SQLite and another ClickHouse, and every request below
# must give the same JSON: the flows list under every filter, several
# sorts both ways followed page by page through their cursors, single
# flows (and a 404), and the dashboard summary over a window and a
# custom range (its flow aggregates; rows whose order SQL leaves open
# are compared as sets), without FINAL and, past 1024 flows with
# several versions, with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq evflow-webd
lib_init
. "$(dirname "$0")/clickhouse_lib.inc"
ch_need
ch_start 1
ch_start 2

EP="tcp://127.0.0.1:$(free_port)c"
GEN=$(date +%s)
python3 - "$GEN" >"$T/events.jsonl" <<'PY'
import json, sys
now = int(sys.argv[1])
for i in range(400):
    v6 = i % 4 == 0
    # Old (~9 min) or recent (~15 s): far from the `live` boundary.
    t = now - (550 if i % 2 else 15) + i % 10
    e = {"timestamp": "%d.%06d" % (t, i * 7919 % 1000000),
         "IP_PROTOCOL_VERSION": 6 if v6 else 4,
         "TCP_EVENT_TYPE": ["CONNECT", "ACCEPT", "CLOSE"][i % 3],
         "PROTOCOL": 17 if i % 5 == 0 else 6,
         "L4_SRC_PORT": 30000 + i, "L4_DST_PORT": 80 + i % 4,
         "NW_LATENCY_MS": "%d.%03d" % (i % 5, i % 997)}
    if i % 7:
        e["LOCAL_PROCESS"] = {"PID": 1000 + i % 40, "UID": 1000 + i % 3,
            "GID": 100, "GID_NAME": "users", "UID_NAME": "u%d" % (i % 3),
            "TID": 1000 + i % 40, "PROCESS_PATH": "/usr/bin/app%d" % (i % 6),
            "PROCESS_CMDLINE": "app%d --n=%d" % (i % 6, i % 11)}
        e["LOCAL_FATHER_PROCESS"] = {"PID": 500 + i % 9,
            "PROCESS_PATH": "/bin/sh"}
    if v6:
        e["IPV6_SRC_ADDR"] = "2001:db8::%x" % (i + 1)
        e["IPV6_DST_ADDR"] = "2001:db8:1::%x" % (i % 3)
    else:
        e["IPV4_SRC_ADDR"] = "10.1.%d.%d" % (i // 200, i % 200)
        # Distinct counts per server: the summary's top 10 has no ties.
        e["IPV4_DST_ADDR"] = "192.0.2.%d" % int((i % 100) ** 0.5)
    if i % 3 == 0:
        e["LOCAL_CONTAINER"] = {"ID": "c0ffee%06d" % i, "K8S": {
            "NAME": "web-%d" % (i % 7), "POD": "web-%d-pod" % (i % 5),
            "NS": "shop" if i % 2 else "dev"}}
    print(json.dumps(e))
PY

start_daemon store "$BIN/evflow-store" -d "$D" -N store \
    -o store.sink=both -o clickhouse_shards="$CH_SHARDS" \
    -o store.retention=0 -o store.history_interval=1s
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$EP"
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$EP"
wait_ctl col0
publish -z "$EP" --array 20 -f "$T/events.jsonl"
publish -z "$EP" --gen 500 --dialect netflow --first 5000
wait_counter "every event reached the store" store recv_flow 900
# (SQLite's count read again each time: a flush may time out when the
# machine is busy, and rows still come)
wait_true "clickhouse holds every flow" \
    'ctl store flush >/dev/null;
     [ "$(counter store clickhouse_rows_pending)" = 0 ] &&
     [ "$(chq 1 "SELECT count() FROM evflow.flows FINAL WHERE ver > 0")" = \
       "$(sql "SELECT count(*) FROM flows")" ]' 60

# Nothing changes from here on (the dashboard's SQLite parts, the
# daemons' counters, are the same data for both).
kill -TERM "$(pid_of col0)" "$(pid_of router)" "$(pid_of store)"
wait_true "pipeline stopped" '! daemon_alive store && ! daemon_alive router'
n=$(sql "SELECT count(*) FROM flows")
check_eq "clickhouse holds every flow after the stop" \
    "$(chq 1 "SELECT count() FROM evflow.flows FINAL WHERE ver > 0")" "$n"

# Stale versions, as a flow's earlier rows are before the parts merge
# (merges stopped so they stay): every third flow gets 30 older
# versions (lower ver, same day) that sort first by last_seen and by
# bytes and fail other filters (protocol, process).  Every answer must
# still be the last version's: the list's candidates fill with stale
# rows (more are asked; past the bound FINAL answers, see api_ch.c).
# Another third gets 3 older versions as the store writes them (an
# earlier last_seen: 400 s earlier, so a recent flow's old versions lie
# in the summary's custom range below while its last does not).
#
# versions COLUMNS NAME=EXPR...: the SELECT list that copies a row of
# flows_local (COLUMNS, its column names in order) into another version
# of it: each column as it is, but NAME as EXPR.
versions() {
	sel_="" cols_=$1
	shift
	for c_ in $cols_; do
		e_=$c_
		for o_ in "$@"; do
			[ "${o_%%=*}" = "$c_" ] && e_=${o_#*=}
		done
		sel_="$sel_${sel_:+, }$e_"
	done
	echo "$sel_"
}
stale=0
for s in 1 2; do
	chq $s "SYSTEM STOP MERGES" >/dev/null
	cols=$(chq $s "SELECT name FROM system.columns WHERE database =
	    'evflow' AND table = 'flows_local'" | tr '\n' ' ')
	sel=$(versions "$cols" "last_seen=last_seen + 100000" \
	    "c2s_bytes=toNullable(toInt64(1000000000000))" \
	    "protocol=if(protocol = 6, 17, 6)" \
	    "cli_process=toNullable('/stale')" "ver=ver - 1 - n")
	out=$(chq $s "INSERT INTO evflow.flows_local SELECT $sel FROM
	    evflow.flows_local FINAL ARRAY JOIN range(30) AS n WHERE ver > 0
	    AND id % 3 = 0")
	case $out in *Exception*) fail "stale versions: $out" ;; esac
	old=$(versions "$cols" "last_seen=last_seen - 400 - n" "ver=ver - 1 - n")
	out=$(chq $s "INSERT INTO evflow.flows_local SELECT $old FROM
	    evflow.flows_local FINAL ARRAY JOIN range(3) AS n WHERE ver > 0
	    AND id % 3 = 1")
	case $out in *Exception*) fail "older versions: $out" ;; esac
	stale=$((stale + $(chq $s "SELECT count() FROM evflow.flows_local") \
	    - $(chq $s "SELECT count() FROM evflow.flows_local FINAL")))
done
[ "$stale" -ge 8192 ] || fail "only $stale stale versions"

start_webd wlite
URL_LITE=$W_URL
TOK_LITE=$W_TOKEN
start_webd wch -o webd.history=clickhouse -o clickhouse_shards="$CH_SHARDS"
URL_CH=$W_URL
CID=$(sql "SELECT community_id FROM flows WHERE community_id IS NOT NULL
    ORDER BY id LIMIT 1")

PYTHONPATH=$(dirname "$0") python3 - "$URL_LITE" "$URL_CH" "$TOK_LITE" "$W_TOKEN" "$CID" "$n" "$GEN" <<'PY' || fail "the backends differ"
import json, sys, urllib.error, urllib.parse, urllib.request
from webd_summary import comparable
lite, ch, tok_lite, tok_ch, cid = sys.argv[1:6]
N_ALL = int(sys.argv[6])
GEN = int(sys.argv[7])
checks = 0
bad = 0

def get(base, path):
    tok = tok_lite if base == lite else tok_ch
    req = urllib.request.Request(base + path,
        headers={"Authorization": "Bearer " + tok})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)

def same(path, a=None, b=None):
    global checks, bad
    checks += 1
    sa, ja = get(lite, path) if a is None else a
    sb, jb = get(ch, path) if b is None else b
    if (sa, ja) != (sb, jb):
        bad += 1
        print("DIFF", path)
        if isinstance(ja, dict) and isinstance(jb, dict):
            for k in sorted(set(ja) | set(jb)):
                if ja.get(k) != jb.get(k):
                    print("  key", k)
                    print("    sqlite    ", json.dumps(ja.get(k))[:800])
                    print("    clickhouse", json.dumps(jb.get(k))[:800])
        print("  sqlite    ", sa, json.dumps(ja)[:300])
        print("  clickhouse", sb, json.dumps(jb)[:300])
    return sa, ja

# Filters (and their errors), first page of 50.
filters = ["", "proto=udp", "proto=tcp", "addr=10.1.0.0/24",
    "cli_addr=10.1.0.5", "addr=2001:db8::/64", "srv_addr=192.0.2.0/30",
    "port=81", "srv_port=82", "process=app3", "process=/usr/bin/app2",
    "pid=1005", "user=u1", "uid=1001", "container=web-3",
    "container=c0ffee00001", "pod=web-1-pod", "namespace=shop",
    "state=ESTABLISHED", "source=event", "source=netflow", "ip_version=6",
    "from=%d" % (GEN - 200), "to=%d" % (GEN - 200),
    "from=%d.5" % (GEN - 546), "attributed=yes", "attributed=no", "live=yes",
    "live=no", "vlan=0", "community_id=" + urllib.parse.quote(cid),
    "iface=" + urllib.parse.quote("nonexistent"), "proto=bogus"]
for f in filters:
    s, j = same("/api/v1/flows?limit=50&" + f)
    if f == "":
        total_first = len(j["flows"])
# Sorts both ways, every page through the cursors.
sorts = ["last_seen", "id", "first_seen", "bytes", "packets", "cli_addr",
    "srv_port", "cli_process", "cli_pid", "srv_pid", "rtt", "duration",
    "state", "source", "container", "events", "iface"]
pages = 0
for so in sorts:
    for order in ("desc", "asc"):
        path = "/api/v1/flows?limit=97&sort=%s&order=%s" % (so, order)
        seen = 0
        while True:
            s, j = same(path)
            pages += 1
            if s != 200:
                break
            seen += len(j["flows"])
            if j["next"] is None:
                break
            path = ("/api/v1/flows?limit=97&sort=%s&order=%s&cursor=%s"
                % (so, order, j["next"]))
        if seen != N_ALL:
            print("sort %s %s: %d rows, want %d" % (so, order, seen, N_ALL))
            bad += 1
# Single flows, and one that does not exist.
for i in (1, 2, 3, 50, 400, 899, 10 ** 12):
    same("/api/v1/flows/%d" % i)

# The dashboard: all but the clock; lists as sets where ties may order
# rows either way.
# The custom range holds the old flows' last versions and the recent
# flows' older versions (see above), which must not count.
def summary(base, path):
    s, j = get(base, path)
    return s, comparable(j)
for path in ("/api/v1/summary?window=86400",
        "/api/v1/summary?from=%d&to=%d" % (GEN - 600, GEN - 300)):
    s, j = summary(lite, path)
    if s == 200 and not j["totals"][0]["flows"]:
        print("%s: no flows to compare" % path)
        bad += 1
    same(path, (s, j), summary(ch, path))
print("%d checks, %d pages, %d differences" % (checks, pages, bad))
sys.exit(1 if bad else 0)
PY
# The stale versions sent some pages to more candidates, some to FINAL.
[ "$(counter wch ch_list_retries)" -gt 0 ] ||
    fail "no page asked more candidates"
[ "$(counter wch ch_list_final)" -gt 0 ] || fail "no page fell back to FINAL"
# The summaries chose among the versions themselves (api_ch.c), FINAL
# read none of them.
check_eq "summaries read without FINAL" "$(counter wch ch_summary_final)" 0
echo "pages that asked more candidates: $(counter wch ch_list_retries)," \
    "answered with FINAL: $(counter wch ch_list_final)"

# Past 1024 flows with several versions the summary reads FINAL: 2,700
# more flows (other ids, on each flow's shard), two versions each, last
# seen in the future (outside every range, so both backends must still
# answer the same).
sel=$(versions "$cols" "id=id + 2000000 * (intDiv(n, 2) + 1)" \
    "last_seen=last_seen + 1000000" "ver=ver - n % 2")
for s in 1 2; do
	out=$(chq $s "INSERT INTO evflow.flows_local SELECT $sel FROM
	    evflow.flows_local FINAL ARRAY JOIN range(6) AS n WHERE ver > 0
	    AND id < 2000000")
	case $out in *Exception*) fail "future versions: $out" ;; esac
done
PYTHONPATH=$(dirname "$0") python3 - "$URL_LITE" "$URL_CH" "$TOK_LITE" "$W_TOKEN" <<'PY' ||
import json, sys, urllib.request
from webd_summary import comparable
def get(base, tok):
    req = urllib.request.Request(base + "/api/v1/summary?window=86400",
        headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(req, timeout=20) as r:
        j = json.load(r)
    for k in ("top_processes", "top_talkers"):
        if not isinstance(j.get(k), list):
            sys.exit("the summary has no list %s" % k)
    return comparable(j)
a, b = get(sys.argv[1], sys.argv[3]), get(sys.argv[2], sys.argv[4])
if a != b or not a["totals"][0]["flows"]:
    print("sqlite    ", json.dumps(a)[:600])
    print("clickhouse", json.dumps(b)[:600])
    sys.exit(1)
PY
	fail "the summaries differ (FINAL)"
[ "$(counter wch ch_summary_final)" -gt 0 ] ||
    fail "the summary did not fall back to FINAL"
pass
