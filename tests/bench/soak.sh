#!/bin/sh
# Soak: DURATION seconds (default 600) of distinct flows at SOAK_RATE
# events/s (default 5000) through evflow-collector -> evflow-router ->
# evflow-store, with store.max_db_size = SOAK_DB (default 64M) and
# store.flow_idle = 10s (so the store's tables reach their steady state
# within the first minute).  Every SOAK_EVERY seconds (default 10) it
# samples each daemon's RSS and the sizes of the database file and its
# WAL, and prints them.  At the end: per daemon, its RSS at the end of the
# warm-up (the first fifth of the run, at least 90 s: SQLite's page cache,
# store.cache_size, fills in the first minute) and the largest
# after it, as a ratio; the largest database file and WAL against their
# bounds (store.max_db_size; the WAL's limit is a quarter of it); the
# rows stored, deleted by retention and the pages given back.
#
#   tests/bench/soak.sh BUILD    (make bench)
#   DURATION=180 tests/bench/soak.sh build    a shortened run
#
# Fails (exit 1) if the database file passes store.max_db_size, the WAL
# passes 3 times its limit (it starts over only when no reader holds it:
# a restart left for later lets it grow, counted in wal_restarts_busy),
# a daemon's RSS after the warm-up passes its RSS then by more than 20%
# and 8 MiB (a few MiB of buffers come and go), a daemon dies, or a
# counter says something was dropped.
BUILD=${1:-build}
EVFLOW_BUILD=$(cd "$BUILD" && pwd)
BIN="$EVFLOW_BUILD/bin"
DURATION=${DURATION:-600}
RATE=${SOAK_RATE:-5000}
DBMAX=${SOAK_DB:-64M}
EVERY=${SOAK_EVERY:-10}

for b in evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq; do
	[ -x "$BIN/$b" ] || { echo "soak: $BIN/$b not built, skipped"; exit 0; }
done

bytes() {
	case $1 in
	*K) echo $(( ${1%K} * 1024 )) ;;
	*M) echo $(( ${1%M} * 1048576 )) ;;
	*G) echo $(( ${1%G} * 1073741824 )) ;;
	*) echo "$1" ;;
	esac
}
DBMAX_B=$(bytes "$DBMAX")
WAL_B=$(( DBMAX_B / 4 ))

T=$(mktemp -d "${TMPDIR:-/tmp}/evflow-soak.XXXXXX") || exit 1
D="$T/data"
mkdir -p "$D"
PIDS=""
PUB=""
cleanup() {
	[ -n "$PUB" ] && kill -TERM "$PUB" 2>/dev/null
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		n=0
		while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do
			sleep 0.1; n=$((n + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ctr() {
	"$BIN/evflow-ctlq" -t 5000 -g "counters.$2" "ipc://$D/$1.ctl" stats
}

ctr_sum() {
	"$BIN/evflow-ctlq" -t 5000 -g counters "ipc://$D/$1.ctl" stats |
	    python3 -c 'import json, re, sys
c = json.load(sys.stdin); r = re.compile(sys.argv[1])
print(sum(v for k, v in c.items() if r.search(k) and isinstance(v, int)))' "$2"
}

wait_ping() {
	i=0
	until [ "$("$BIN/evflow-ctlq" -t 500 "ipc://$D/$1.ctl" ping \
	    2>/dev/null)" = pong ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && { echo "soak: $1 did not start"; \
		    cat "$T/$1.log"; exit 1; }
		sleep 0.05
	done
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

size_of() {
	stat -c %s "$1" 2>/dev/null || echo 0
}

port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ep="tcp://127.0.0.1:${port}c"
"$BIN/evflow-store" -d "$D" -N store -o "store.max_db_size=$DBMAX" \
    -o store.flow_idle=10s -o store.retention=0 >"$T/store.log" 2>&1 &
sp=$!
wait_ping store
"$BIN/evflow-router" -d "$D" -N router -i "$ep" >"$T/router.log" 2>&1 &
rp=$!
wait_ping router
"$BIN/evflow-collector" -d "$D" -N col0 -i "$ep" >"$T/col0.log" 2>&1 &
cp=$!
PIDS="$cp $rp $sp"
wait_ping col0

# The publisher: 10 s of new flows per run, msg_ids continuing, until
# the end.
(
	first=0 mid=1 chunk=$((RATE * 10))
	while :; do
		"$BIN/evflow-testpub" -q -z "$ep" --gen "$chunk" --first "$first" \
		    --msgid-start "$mid" --rate "$RATE" --hwm 100000 \
		    >"$T/testpub.out" 2>&1 || exit 1
		first=$((first + chunk)); mid=$((mid + chunk))
	done
) &
PUB=$!

echo "soak: ${DURATION}s at $RATE events/s, store.max_db_size=$DBMAX (WAL limit $((WAL_B / 1048576))M), sample every ${EVERY}s"
printf "%6s %10s %10s %10s %10s %10s %12s\n" t_s store_kb router_kb col_kb db_bytes wal_bytes rows
start=$(date +%s)
warm=$(( DURATION / 5 > 90 ? DURATION / 5 : 90 ))
[ $warm -gt $((DURATION / 2)) ] && warm=$((DURATION / 2))
: >"$T/samples"
while :; do
	sleep "$EVERY"
	t=$(( $(date +%s) - start ))
	for p in $PIDS; do
		kill -0 "$p" 2>/dev/null || { echo "soak: a daemon died (pid $p)"; \
		    tail -n 20 "$T"/*.log; exit 1; }
	done
	s=$(rss_kb $sp) r=$(rss_kb $rp) c=$(rss_kb $cp)
	db=$(size_of "$D/evflow.db") wal=$(size_of "$D/evflow.db-wal")
	rows=$(ctr store rows_inserted)
	printf "%6d %10d %10d %10d %10d %10d %12d\n" "$t" "$s" "$r" "$c" "$db" "$wal" "$rows"
	echo "$t $s $r $c $db $wal" >>"$T/samples"
	[ "$t" -ge "$DURATION" ] && break
done
kill -TERM "$PUB" 2>/dev/null
wait "$PUB" 2>/dev/null
PUB=""

rc=0
echo "soak: after ${DURATION}s:"
awk -v warm="$warm" -v dbmax="$DBMAX_B" -v walmax="$WAL_B" '
{
	if ($1 <= warm) { for (i = 2; i <= 4; i++) base[i] = $i }
	else for (i = 2; i <= 4; i++) if ($i > peak[i]) peak[i] = $i
	if ($5 > maxdb) maxdb = $5
	if ($6 > maxwal) maxwal = $6
}
END {
	split("store router collector", name, " ")
	bad = 0
	for (i = 2; i <= 4; i++) {
		ratio = base[i] ? peak[i] / base[i] : 0
		printf "  %-9s RSS %d kB at %d s, peak after %d kB (ratio %.3f)\n",
		    name[i - 1], base[i], warm, peak[i], ratio
		if (ratio > 1.20 && peak[i] - base[i] > 8192) bad = 1
	}
	printf "  database file: largest %.1f MiB of %.1f MiB (%.1f%%); WAL largest %.1f MiB, limit %.1f MiB\n",
	    maxdb / 1048576, dbmax / 1048576, 100 * maxdb / dbmax,
	    maxwal / 1048576, walmax / 1048576
	if (maxdb > dbmax) bad = 1
	if (maxwal > walmax * 3) bad = 1
	exit bad
}' "$T/samples" || rc=1
drops=$(ctr_sum store 'drop|lost|bad_|no_memory|no_iface')
rdrops=$(ctr_sum router 'drop|lost|bad_')
cdrops=$(ctr_sum col0 'drop|lost|bad_')
echo "  rows inserted $(ctr store rows_inserted), retention deleted $(ctr store retention_deleted) in $(ctr store retention_runs) passes, pages given back $(ctr store retention_vacuumed_pages); WAL restarts $(ctr store wal_restarts), left for later $(ctr store wal_restarts_busy); store CPU $(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' /proc/$sp/stat) s"
echo "  dropped or lost: store $drops, router $rdrops, collector $cdrops"
[ "$drops" -eq 0 ] && [ "$rdrops" -eq 0 ] && [ "$cdrops" -eq 0 ] || rc=1
[ $rc -eq 0 ] && echo "soak: ok" || echo "soak: FAILED"
exit $rc
