#!/bin/sh
# The store's ClickHouse sink (make bench), against two real
# clickhouse-server shards started here (Debian's package), in one run:
#
# 1. The pipeline (collector -> router -> store, the daemons as they
#    run) with store.sink = sqlite, both and clickhouse alternating:
#    BENCH_CH_EVENTS distinct flows published as fast as it takes them.
#    The store's rate is the clock from the first publish to the last
#    row committed in SQLite (with store.sink = clickhouse: to the last
#    row handed to the sink); ClickHouse's is the clock to the moment
#    the sink has sent every row (nothing pending, nothing dropped).
#    Prints medians, the ratio of each to store.sink = sqlite, and the
#    store's CPU seconds: the sink must not slow the store (it encodes
#    in the writer thread and sends from a thread per shard).
# 2. bench_store's `events` mode (records dispatched in process into
#    committed rows, the writer thread started) with the same sinks; the
#    clock stops when ClickHouse has every row too.
#
# Env: BENCH_CH_RUNS (default 3), BENCH_CH_EVENTS (default 300000),
# BENCH_STORE_N (records per bench_store run, default 200000),
# BENCH_CH_CONFIGS, the pipeline's configurations (default "sqlite both
# clickhouse"): a sink, then optionally +SIZE (store.clickhouse_batch)
# and @base (the evflow-store of the build in BENCH_CH_BASE, another
# version measured in the same run), e.g. "sqlite both both+16M
# both@base"; BENCH_CH_PIPE_ONLY=1 skips part 2; BENCH_CH_NICE=N runs
# the servers at nice level N (the store first: as if ClickHouse ran on
# other hosts, where it belongs).
BUILD=${1:-build}
EVFLOW_BUILD=$(cd "$BUILD" && pwd)
export EVFLOW_BUILD
. "$(dirname "$0")/../integration/lib.sh"
lib_init
skip() { echo "clickhouse: skipped: $*"; exit 0; }
. "$(dirname "$0")/../integration/clickhouse_lib.inc"
ch_need
CH_NICE=${BENCH_CH_NICE:-}
ch_start 1
ch_start 2
runs=${BENCH_CH_RUNS:-3}
NEV=${BENCH_CH_EVENTS:-300000}
BIN="$EVFLOW_BUILD/bin"
CONFIGS=${BENCH_CH_CONFIGS:-sqlite both clickhouse}

cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' \
	    "/proc/$1/stat" 2>/dev/null || echo 0
}
now_f() {
	date +%s.%N
}

# One pipeline run of configuration $1 (run $2): appends "config
# store_rate clickhouse_rate store_cpu_s" to $T/pipe.
pipe_run() {
	cfg=$1
	sink=${cfg%%[+@]*}
	batchopt="" store_bin="$BIN/evflow-store"
	case $cfg in *+*)
		b=${cfg#*+}
		batchopt="-o store.clickhouse_batch=${b%%@*}" ;;
	esac
	case $cfg in *@base)
		[ -x "$BENCH_CH_BASE/bin/evflow-store" ] ||
			fail "$cfg: no BENCH_CH_BASE/bin/evflow-store"
		store_bin="$BENCH_CH_BASE/bin/evflow-store" ;;
	esac
	D="$T/pipe$2.$(echo "$cfg" | tr -c 'a-z0-9\n' _)/data"
	DB="$D/evflow.db"
	mkdir -p "$D"
	for s in 1 2; do
		chq $s "DROP DATABASE IF EXISTS evflow_pipe" >/dev/null
	done
	ep="tcp://127.0.0.1:$(free_port)c"
	# shellcheck disable=SC2086
	start_daemon store "$store_bin" -d "$D" -N store \
	    -o store.max_flows=4000000 -o store.sink="$sink" \
	    -o clickhouse_shards="$CH_SHARDS" -o clickhouse_database=evflow_pipe \
	    -o store.clickhouse_max_memory=1G -o store.retention=0 $batchopt
	wait_ctl store
	start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$ep"
	wait_ctl router
	start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$ep"
	wait_ctl col0
	sp=$(pid_of store)
	s0=$(cpu_of "$sp")
	t0=$(now_f)
	"$BIN/evflow-testpub" -z "$ep" --gen "$NEV" --hwm 100000 \
	    >"$T/testpub.out" 2>&1 &
	pp=$!
	end=$(( $(now_s) + NEV / 5000 + 120 ))
	key=rows_inserted
	[ "$sink" = clickhouse ] && key=clickhouse_rows
	until [ "$(counter store $key)" -ge "$NEV" ]; do
		[ "$(now_s)" -lt "$end" ] || fail "$sink: the store took" \
		    "$(counter store $key) of $NEV rows"
		sleep 0.02
	done
	if [ "$sink" != clickhouse ]; then
		until [ "$(sqlite3 -readonly -cmd '.timeout 5000' "$DB" \
		    'SELECT count(*) FROM flows')" -ge "$NEV" ]; do
			[ "$(now_s)" -lt "$end" ] || fail "$sink: not committed"
			sleep 0.02
		done
	fi
	t1=$(now_f)
	s1=$(cpu_of "$sp")
	t2=$t1
	if [ "$sink" != sqlite ]; then
		until [ "$(counter store clickhouse_rows_pending)" = 0 ]; do
			[ "$(now_s)" -lt "$end" ] || fail "$sink: clickhouse" \
			    "still has $(counter store clickhouse_rows_pending)"
			sleep 0.02
		done
		t2=$(now_f)
		[ "$(counter store clickhouse_rows_dropped)" = 0 ] ||
			fail "$sink: $(counter store clickhouse_rows_dropped)" \
			    "rows dropped"
		n=$(chq 1 "SELECT count() FROM evflow_pipe.flows")
		[ "$n" -ge "$NEV" ] || fail "$sink: $n flow rows in clickhouse"
	fi
	wait "$pp"
	for name in col0 router store; do
		p=$(pid_of $name)
		kill -TERM "$p"
		wait "$p" || fail "$name ($sink) exited with status $?"
	done
	awk -v s="$cfg" -v n="$NEV" -v a="$t0" -v b="$t1" -v c="$t2" \
	    -v cpu="$(awk -v x="$s1" -v y="$s0" 'BEGIN { print x - y }')" \
	    'BEGIN { printf "%s %.0f %.0f %.2f\n", s, n / (b - a),
	    (b == c ? 0 : n / (c - a)), cpu }' >>"$T/pipe"
	D="$T/data"
	DB="$D/evflow.db"
}

i=0
while [ $i -lt "$runs" ]; do
	for cfg in $CONFIGS; do
		pipe_run "$cfg" $i
	done
	i=$((i + 1))
done
CH_NICE=$CH_NICE python3 - "$T/pipe" "$NEV" "$runs" $CONFIGS <<'PY'
import os, statistics, sys
r = {}
for line in open(sys.argv[1]):
    s, st, ch, cpu = line.split()
    r.setdefault(s, []).append((float(st), float(ch), float(cpu)))
med = {s: [statistics.median(x[k] for x in v) for k in range(3)]
       for s, v in r.items()}
print("clickhouse: the pipeline, %s events per run, medians of %s runs "
      "alternating, 2 shards on this machine%s" % (sys.argv[2], sys.argv[3],
      " (nice %s)" % os.environ["CH_NICE"] if os.environ.get("CH_NICE")
      else ""))
base = med.get("sqlite") or med[sys.argv[4]]
for s in sys.argv[4:]:
    st, ch, cpu = med[s]
    print("  %-16s store %7.0f events/s (x%.2f of sqlite), "
          "store CPU %5.2f s (x%.2f)%s" % (s, st, st / base[0], cpu,
          cpu / base[2], "" if ch == 0 else
          "; every row in ClickHouse at %.0f rows/s (x%.2f of the "
          "store's sqlite rate)" % (ch, ch / base[0])))
PY
[ $? -eq 0 ] || fail "pipeline numbers"
[ -n "$BENCH_CH_PIPE_ONLY" ] && pass

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
