#!/bin/sh
# probe: evflow-probe under a storm of short TCP connections over
# loopback (tests/bench/bench_probe_storm.c, one client thread as fast as
# it goes).  Each run:
#   1. the storm without the probe (connect() median: the baseline);
#   2. the storm with the probe's hooks attached but its process stopped
#      (SIGSTOP; the ring buffer holds the events), so the connect()
#      median shows what the kernel hooks add, not the CPU the probe's
#      user space takes from the storm on a 2-core machine; then SIGCONT
#      and every event must come out;
#   3. the storm with the probe running: events emitted per second,
#      ring-buffer and send loss (must be 0), probe CPU per event, RSS;
#   4. a bulk TCP transfer over loopback (PROBE_BULK_MB MiB in send() and
#      recv() calls of PROBE_CHUNK bytes: the send/recv hooks run once per
#      call) with the probe running, against the same transfer without it
#      before and after: ns per send() call (median of 5 transfers each)
#      and the ratio.
# kernel.bpf_stats gives each program's ns per call and calls per
# connection (the storm) or per send() call (the transfer).
# Medians over PROBE_RUNS runs (5) of PROBE_CONNS connections (30000;
# the stopped-probe storm is at most 12000 connections: 48000 events fit
# the 8 MiB ring).
# Needs root and a kernel that loads the probe; else says so and passes.
BUILD=${1:-build}
BIN="$BUILD/bin"
RUNS=${PROBE_RUNS:-5}
CONNS=${PROBE_CONNS:-30000}
SMALL=$CONNS
[ "$SMALL" -gt 12000 ] && SMALL=12000
BULK_MB=${PROBE_BULK_MB:-128}
CHUNK=${PROBE_CHUNK:-4096}
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
# The eBPF programs named probe_* and their run time: "id ns count name".
progs() {
	bpftool -j prog show 2>/dev/null | python3 -c 'import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("probe_"):
        print(p["id"], p.get("run_time_ns", 0), p.get("run_cnt", 0), p["name"])'
}
# Per program of ids (file $1) between snapshots $2 and $3, per unit of
# work ($4 units, tagged $5): "tag name ns_per_call calls_per_unit".
prog_rows() {
	awk -v n="$4" -v tag="$5" 'FILENAME == ARGV[1] { mine[$1] = 1; next }
	    FILENAME == ARGV[2] { if ($1 in mine) { t0[$4] += $2; c0[$4] += $3 }; next }
	    { if ($1 in mine) { t1[$4] += $2; c1[$4] += $3 } }
	    END { for (p in t1) { c = c1[p] - c0[p];
		printf "%s %s %.0f %.2f\n", tag, p, c ? (t1[p] - t0[p]) / c : 0, c / n } }' \
	    "$1" "$2" "$3"
}
# ns the programs of ids (file $1) ran between snapshots $2 and $3.
hook_ns() {
	awk 'FILENAME == ARGV[1] { mine[$1] = 1; next }
	    FILENAME == ARGV[2] { if ($1 in mine) t0 += $2; next }
	    { if ($1 in mine) t1 += $2 } END { print t1 - t0 }' "$1" "$2" "$3"
}
# Waits until the probe received N more events than at the last call
# (or 10 s); GOT is how many it received.
E0=0
wait_events() {
	n=0
	while [ "$(ctr received)" -lt $((E0 + $1)) ] && [ $n -lt 100 ]; do
		sleep 0.1; n=$((n + 1))
	done
	e=$(ctr received)
	GOT=$((e - E0))
	E0=$e
}
median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
# ns per send() call of the bulk transfer: the median of 5 transfers
# (one transfer's time moves by a third on a shared machine)
bulk_ns() {
	for i in 1 2 3 4 5; do
		field ns_per_send "$("$STORM" -b "$BULK_MB" "$CHUNK")"
	done | median
}

hz=$(getconf CLK_TCK)
: >"$T/rows"
: >"$T/progrows"
: >"$T/bulkrows"
run=1
while [ $run -le "$RUNS" ]; do
	base=$("$STORM" "$CONNS") || { echo "storm failed: $base"; exit 1; }
	bbase=$(bulk_ns)
	Z=$(port)
	"$BIN/evflow-testsub" -b "tcp://127.0.0.1:$Z" -q -t 600000 \
	    >"$T/sub.out" 2>&1 &
	SP=$!
	progs | awk '{ print $1 }' >"$T/ids.before"
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
	E0=$(ctr received)
	# the programs this probe attached (other probes may run too)
	progs | awk 'FILENAME == ARGV[1] { old[$1] = 1; next } !($1 in old) { print $1 }' \
	    "$T/ids.before" - >"$T/ids.mine"
	# 2: hooks attached, user space stopped: connect() timed, then a
	# second storm with kernel.bpf_stats on times the programs
	kill -STOP $PP
	hooked=$("$STORM" "$SMALL") || { kill -CONT $PP; echo "storm failed: $hooked"; exit 1; }
	kill -CONT $PP
	wait_events $((4 * SMALL))
	hgot=$GOT
	stats0=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
	sysctl -q -w kernel.bpf_stats_enabled=1 2>/dev/null
	progs >"$T/p0"
	kill -STOP $PP
	"$STORM" "$SMALL" >/dev/null || { kill -CONT $PP; echo "storm failed"; exit 1; }
	kill -CONT $PP
	progs >"$T/p1"
	sysctl -q -w kernel.bpf_stats_enabled="$stats0" 2>/dev/null
	hookns=$(( $(hook_ns "$T/ids.mine" "$T/p0" "$T/p1") / SMALL ))
	prog_rows "$T/ids.mine" "$T/p0" "$T/p1" "$SMALL" storm >>"$T/progrows"
	wait_events $((4 * SMALL))
	# 4: the bulk transfer, the probe running: timed, then once more
	# with kernel.bpf_stats on for the programs' share
	bwith=$(bulk_ns)
	sysctl -q -w kernel.bpf_stats_enabled=1 2>/dev/null
	progs >"$T/p0"
	bstat=$("$STORM" -b "$BULK_MB" "$CHUNK") || { echo "bulk failed: $bstat"; exit 1; }
	progs >"$T/p1"
	sysctl -q -w kernel.bpf_stats_enabled="$stats0" 2>/dev/null
	prog_rows "$T/ids.mine" "$T/p0" "$T/p1" "$(field send_calls "$bstat")" \
	    bulk >>"$T/progrows"
	wait_events 6
	# 3: the probe running
	c0=$(cpu_ticks $PP)
	with=$("$STORM" "$CONNS") || { echo "storm failed: $with"; exit 1; }
	# every connection gives CONNECT, ACCEPT and two CLOSE events
	wait_events $((4 * CONNS))
	got=$GOT
	c1=$(cpu_ticks $PP)
	drops=$(ctr dropped_ringbuf)
	sdrops=$(ctr dropped_send); emitted=$(ctr emitted)
	rss=$(awk '/VmHWM/ { print $2 }' /proc/$PP/status)
	bound=$(ctr memory_bound_bytes)
	kill $PP; wait $PP 2>/dev/null; PP=""
	kill $SP 2>/dev/null; wait $SP 2>/dev/null; SP=""
	base2=$("$STORM" "$SMALL") || { echo "storm failed: $base2"; exit 1; }
	bbase2=$(bulk_ns)
	bb=$(echo "$bbase $bbase2" | awk '{ printf "%.0f", ($1 + $2) / 2 }')
	bw=$bwith
	echo "$bb $bw" | awk '{ printf "%d %d %.3f %d\n", $1, $2, $2 / $1, $2 - $1 }' \
	    >>"$T/bulkrows"
	secs=$(field secs "$with")
	# the baseline: the mean of the storms before and after the probe
	bm=$(( ($(field connect_median_ns "$base") + $(field connect_median_ns "$base2")) / 2 ))
	wm=$(field connect_median_ns "$hooked")
	echo "$got $CONNS $secs $drops $sdrops $c0 $c1 $rss $bm $wm $emitted $bound $hookns" |
	    awk -v hz="$hz" '{
		printf "%.0f %d %d %.0f %d %d %d %.2f %d %d %d\n",
		    $1 / $3, $1, $4, ($7 - $6) / hz * 1e9 / ($1 ? $1 : 1),
		    $8, $9, $10, $10 / $9, $5, $13, $10 - $9 }' >>"$T/rows"
	printf "  run %d: storm %s conn/s without the probe, %s with it; %s events (%d expected, %d of %d with the probe stopped); ring-buffer drops %s, send drops %s; connect() median %s ns without, %s ns hooked; hooks ran %s ns per connection\n" \
	    $run "$(field rate "$base")" "$(field rate "$with")" "$got" \
	    $((4 * CONNS)) "$hgot" $((4 * SMALL)) "$drops" "$sdrops" "$bm" "$wm" "$hookns"
	printf "  run %d: bulk transfer of %d MiB in %d-byte calls: %s ns per send() without the probe, %s with it\n" \
	    $run "$BULK_MB" "$CHUNK" "$bb" "$bw"
	run=$((run + 1))
done
col() { awk -v c="$1" '{ print $c }' "$T/rows" | median; }
evs=$(col 1) cpu=$(col 4) rss=$(col 5) bm=$(col 6) wm=$(col 7) ratio=$(col 8)
hook=$(col 10) added=$(col 11)
maxdrop=$(awk '{ if ($3 > m) m = $3; if ($9 > m) m = $9 } END { print m + 0 }' "$T/rows")
others=$(progs | wc -l)
echo "probe: $evs events/s emitted (median of $RUNS runs, $CONNS connections each, 4 events per connection)"
echo "probe: ring-buffer and send drops: $maxdrop (max over runs; floor 0)"
echo "probe: CPU per event $cpu ns; RSS $rss kB; memory bound $bound bytes"
echo "probe: connect() median $bm ns without, $wm ns with the hooks attached (ratio $ratio; added $added ns per connection, median of the runs' differences; floor < 2000 ns)"
echo "probe: the probe's eBPF programs ran $hook ns per connection in all (kernel.bpf_stats, which adds its own clock reads: the 4 events and every hook call, in connect(), close() and softirq)"
bcol() { awk -v c="$1" '{ print $c }' "$T/bulkrows" | median; }
echo "probe: bulk TCP transfer ($BULK_MB MiB, $CHUNK-byte send/recv calls): $(bcol 1) ns per send() without, $(bcol 2) ns with the probe (ratio $(bcol 3); added $(bcol 4) ns per send() call, median of the runs' differences)"
echo "probe: per program (kernel.bpf_stats, medians over runs): ns per call, calls per connection (storm) or per send() call (bulk)"
awk '{ print $1, $2 }' "$T/progrows" | sort -u | while read -r tag name; do
	ns=$(awk -v t="$tag" -v p="$name" '$1 == t && $2 == p { print $3 }' "$T/progrows" | median)
	calls=$(awk -v t="$tag" -v p="$name" '$1 == t && $2 == p { print $4 }' "$T/progrows" | median)
	echo "probe:   $tag $name: $ns ns per call, $calls calls per unit"
done
[ "$others" -gt 0 ] && echo "probe: note: $others probe_* programs of other probe processes are attached on this machine; the connect() ratio includes them"
rc=0
[ "$maxdrop" -eq 0 ] || { echo "probe: FAIL: events dropped"; rc=1; }
[ "$added" -lt 2000 ] || { echo "probe: FAIL: connect() slowed by $added ns"; rc=1; }
exit $rc
