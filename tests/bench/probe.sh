#!/bin/sh
# probe: evflow-probe under a storm of short TCP connections over
# loopback (tests/bench/bench_probe_storm.c, one client thread as fast as
# it goes).  Each run measures the storm without the probe, then with
# it attached (the ratio is within one run), and reports: events the
# probe emitted per second, ring-buffer loss (must be 0), probe CPU per
# event, probe RSS, and the median connect() time with and without.
# Medians over PROBE_RUNS runs (5) of PROBE_CONNS connections (30000).
# Needs root and a kernel that loads the probe; else says so and passes.
BUILD=${1:-build}
BIN="$BUILD/bin"
RUNS=${PROBE_RUNS:-5}
CONNS=${PROBE_CONNS:-30000}
STORM="$BUILD/bench/probe_storm"
for b in "$BIN/evflow-probe" "$BIN/evflow-testsub" "$BIN/evflow-ctlq" "$STORM"; do
	[ -x "$b" ] || { echo "probe bench: $b not built; skipped"; exit 0; }
done
[ "$(id -u)" -eq 0 ] || { echo "probe bench: needs root; skipped"; exit 0; }
T=$(mktemp -d "${TMPDIR:-/tmp}/evflow-probe-bench.XXXXXX") || exit 1
PP="" SP=""
cleanup() {
	[ -n "$PP" ] && kill "$PP" 2>/dev/null
	[ -n "$SP" ] && kill "$SP" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
field() {	# field NAME LINE
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
ctr() {
	"$BIN/evflow-ctlq" -t 2000 -g "counters.$1" "ipc://$T/probe.ctl" stats
}
cpu_ticks() {	# utime + stime of pid $1
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

hz=$(getconf CLK_TCK)
: >"$T/rows"
run=1
while [ $run -le "$RUNS" ]; do
	base=$("$STORM" "$CONNS") || { echo "storm failed: $base"; exit 1; }
	Z=$(port)
	"$BIN/evflow-testsub" -b "tcp://127.0.0.1:$Z" -q -t 600000 \
	    >"$T/sub.out" 2>&1 &
	SP=$!
	"$BIN/evflow-probe" -d "$T" -N probe -m bpf \
	    -z "tcp://127.0.0.1:${Z}c" -o probe.events_per_msg=64 \
	    -o probe.netstat_interval=0 -o probe.listen_interval=0 \
	    -o probe.counter_interval=0 >"$T/probe.log" 2>&1 &
	PP=$!
	n=0
	until "$BIN/evflow-ctlq" -t 300 "ipc://$T/probe.ctl" ping \
	    >/dev/null 2>&1; do
		if ! kill -0 $PP 2>/dev/null; then
			echo "probe bench: the probe does not start here; skipped:"
			tail -n 3 "$T/probe.log"
			exit 0
		fi
		n=$((n + 1)); [ $n -gt 100 ] && { echo "probe not ready"; exit 1; }
		sleep 0.1
	done
	e0=$(ctr received); c0=$(cpu_ticks $PP)
	with=$("$STORM" "$CONNS") || { echo "storm failed: $with"; exit 1; }
	# every connection gives CONNECT, ACCEPT and two CLOSE events
	want=$((e0 + 4 * CONNS)) n=0
	while [ "$(ctr received)" -lt $want ] && [ $n -lt 50 ]; do
		sleep 0.1; n=$((n + 1))
	done
	c1=$(cpu_ticks $PP)
	got=$(( $(ctr received) - e0 )); drops=$(ctr dropped_ringbuf)
	sdrops=$(ctr dropped_send); emitted=$(ctr emitted)
	rss=$(awk '/VmHWM/ { print $2 }' /proc/$PP/status)
	bound=$(ctr memory_bound_bytes)
	kill $PP; wait $PP 2>/dev/null; PP=""
	kill $SP 2>/dev/null; wait $SP 2>/dev/null; SP=""
	secs=$(field secs "$with")
	bm=$(field connect_median_ns "$base"); wm=$(field connect_median_ns "$with")
	echo "$got $CONNS $secs $drops $sdrops $c0 $c1 $rss $bm $wm $emitted $bound" |
	    awk -v hz="$hz" '{
		printf "%.0f %d %d %.0f %d %d %d %.2f %d\n",
		    $1 / $3, $1, $4, ($7 - $6) / hz * 1e9 / ($1 ? $1 : 1),
		    $8, $9, $10, $10 / $9, $5 }' >>"$T/rows"
	printf "  run %d: storm %s conn/s without, %s with; %s events (%d expected), ring-buffer drops %s, send drops %s\n" \
	    $run "$(field rate "$base")" "$(field rate "$with")" "$got" \
	    $((4 * CONNS)) "$drops" "$sdrops"
	run=$((run + 1))
done
col() { awk -v c="$1" '{ print $c }' "$T/rows" | median; }
evs=$(col 1) cpu=$(col 4) rss=$(col 5) bm=$(col 6) wm=$(col 7) ratio=$(col 8)
maxdrop=$(awk '{ if ($3 > m) m = $3; if ($9 > m) m = $9 } END { print m + 0 }' "$T/rows")
added=$((wm - bm))
echo "probe: $evs events/s emitted (median of $RUNS runs, $CONNS connections each, 4 events per connection)"
echo "probe: ring-buffer and send drops: $maxdrop (max over runs; floor 0)"
echo "probe: CPU per event $cpu ns; RSS $rss kB; memory bound $bound bytes"
echo "probe: connect() median $bm ns without, $wm ns with the probe (ratio $ratio, $added ns added; floor < 2000 ns)"
rc=0
[ "$maxdrop" -eq 0 ] || { echo "probe: FAIL: events dropped"; rc=1; }
[ "$added" -lt 2000 ] || { echo "probe: FAIL: connect() slowed by $added ns"; rc=1; }
exit $rc
