#!/bin/sh
# The store's ClickHouse sink (make bench): bench_store's `events` mode
# (records dispatched in process into committed rows, the writer thread
# started, as the daemon runs) with store.sink = sqlite, both and
# clickhouse, alternating in one run against two real clickhouse-server
# shards started here (Debian's package).  With a ClickHouse sink the
# clock stops when ClickHouse has every row too.  Prints the medians,
# the rows/s ClickHouse took, and each sink's records/s as a ratio of
# SQLite's in the same run.  Env: BENCH_CH_RUNS (default 3),
# BENCH_STORE_N (records per run, default 200000).
BUILD=${1:-build}
EVFLOW_BUILD=$(cd "$BUILD" && pwd)
export EVFLOW_BUILD
. "$(dirname "$0")/../integration/lib.sh"
lib_init
skip() { echo "clickhouse: skipped: $*"; exit 0; }
. "$(dirname "$0")/../integration/clickhouse_lib.inc"
ch_need
ch_start 1
ch_start 2
runs=${BENCH_CH_RUNS:-3}
export BENCH_STORE_N=${BENCH_STORE_N:-200000}
export BENCH_STORE_MODES=events BENCH_STORE_RUNS=1 BENCH_STORE_CH="$CH_SHARDS"
i=0
while [ $i -lt "$runs" ]; do
	for sink in sqlite both clickhouse; do
		chq 1 "DROP TABLE IF EXISTS evflow_bench.flows_local" >/dev/null
		chq 2 "DROP TABLE IF EXISTS evflow_bench.flows_local" >/dev/null
		out=$(BENCH_STORE_SINK=$sink "$EVFLOW_BUILD/bench/bench_store" \
		    2>&1) || { echo "$out"; fail "bench_store ($sink)"; }
		# "events one thread R records/s R rows/s; writer thread R
		# records/s R rows/s; ..."
		echo "$out" | sed -n 's/.*writer thread *\([0-9]*\) records\/s *\([0-9]*\) rows\/s.*/'"$sink"' \1 \2/p' \
		    >>"$T/rates"
	done
	i=$((i + 1))
done
python3 - "$T/rates" "$BENCH_STORE_N" "$runs" <<'PY'
import statistics, sys
r = {}
for line in open(sys.argv[1]):
    s, rec, rows = line.split()
    r.setdefault(s, []).append((float(rec), float(rows)))
med = {s: (statistics.median(x[0] for x in v),
           statistics.median(x[1] for x in v)) for s, v in r.items()}
print("clickhouse: %s records per run, medians of %s runs alternating, "
      "2 shards on this machine" % (sys.argv[2], sys.argv[3]))
base = med["sqlite"][0]
for s in ("sqlite", "both", "clickhouse"):
    rec, rows = med[s]
    what = ("SQLite rows/s" if s == "sqlite" else
            "rows/s into ClickHouse (flows, processes, counters)")
    print("  store.sink = %-10s %8.0f records/s (x%.2f of sqlite), "
          "%8.0f %s" % (s, rec, rec / base, rows, what))
PY
