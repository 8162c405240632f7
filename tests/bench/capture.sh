#!/bin/sh
# capture benchmark (make bench): packets/s per core reading a generated
# pcap file (2 M packets, ~68 B average, ~260 k TCP/UDP flows) with full
# flow building, and the same file through tshark and softflowd in the
# same run, with the ratios.
#
#   1. capture-bench: libpcap -> dissect -> flow table -> a record built
#      per flow end, in-process, no sockets; median of 5 runs.
# Rates are per core: packets per CPU second (user + system), so that
# other work on a shared machine does not skew the ratios; wall times
# are printed too.
#   2. nDPI's cost: a second file of the same sessions with application
#      payloads (capture-bench -a), in-process without nDPI, with it on
#      the packet path, and with it on its worker thread with the name
#      cache (runs interleaved, medians of 5, the ratios); the floor
#      holds for the packet path's thread with nDPI on its worker (a
#      verdict, PASS or FAIL).  Beside it: the worker thread's CPU in
#      the same window, counted apart, both threads per packet, and the
#      process's CPU (set-up included).
#   3. evflow-capture -r, the whole daemon, records sent over nanomsg to
#      evflow-capture-sink (output discarded); median of 3 runs, with
#      capture.dpi=no on the first file and with nDPI on the second.
#   4. tshark -r FILE -q -z conv,tcp (TSHARK_RUNS runs, default 1: it
#      takes ~15 s) and softflowd -r FILE -n 127.0.0.1:9995 (median of 3).
#
# Fails if the in-process rate is below the floor (4 M packets/s), with
# nDPI off or (the packet path) on, or a flow slot takes more than 256
# bytes (capture-bench's exit status).
# Usage: tests/bench/capture.sh BUILD
BUILD=${1:-build}
BIN="$BUILD/bench/capture-bench"
[ -x "$BIN" ] || { echo "capture: $BIN not built"; exit 1; }
NPKTS=${CAPTURE_BENCH_PACKETS:-2000000}
TSHARK_RUNS=${TSHARK_RUNS:-1}
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
T=$(mktemp -d "$base/evflow-capbench.XXXXXX") || exit 1
SINK_PID=""
cleanup() {
	[ -n "$SINK_PID" ] && kill -TERM "$SINK_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
F="$T/bench.pcap"

"$BIN" -w "$F" -n "$NPKTS" || exit 1

# "CPU-seconds wall-seconds" of one run of the command (CPU = user +
# system of the child and its threads: the per-core cost, which a busy
# shared machine does not inflate the way it inflates wall time).
secs() {
	python3 - "$@" <<'EOF'
import resource, subprocess, sys, time
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t = time.monotonic()
try:
    r = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=300)
except subprocess.TimeoutExpired:
    sys.exit("%s did not finish in 300 s" % sys.argv[1])
if r.returncode != 0:
    sys.exit("%s exited %d" % (sys.argv[1], r.returncode))
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print("%.4f %.4f" % (cpu, time.monotonic() - t))
EOF
}

# Median (by CPU time) of N runs of the command: "cpu wall".
median() {
	n=$1; shift
	i=0 all=""
	while [ $i -lt "$n" ]; do
		s=$(secs "$@") || return 1
		all="$all
$s"
		i=$((i + 1))
	done
	echo "$all" | sed '/^$/d' | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}

# (Its status, not tee's: sh has no pipefail.)
rc=0
"$BIN" -r "$F" -k 5 >"$T/bench.out" || rc=$?
cat "$T/bench.out"
[ $rc -eq 0 ] || echo "capture: below a floor (exit $rc)"
ours=$(sed -n 's/^RESULT capture_pps=//p' "$T/bench.out")
[ -n "$ours" ] || exit 1

# nDPI's cost (capture.dpi): the same sessions with real application
# payloads (TLS hellos with SNI, HTTP requests, DNS answers), in-process
# runs without and with nDPI and the name cache interleaved, the ratio.
FA="$T/app.pcap"
"$BIN" -a -w "$FA" -n "$NPKTS" >/dev/null || exit 1
rcd=0
"$BIN" -r "$FA" -k 5 -D >"$T/dpi.out" || rcd=$?
grep -v '^  nDPI run' "$T/dpi.out"
grep '^  nDPI run' "$T/dpi.out" | head -n 2
# The floor holds with nDPI on too: the packet path's thread, nDPI on
# its worker (the daemon's default), per CPU second of that thread.
if grep -q '^RESULT capture_dpi_pps=' "$T/dpi.out"; then
	if [ $rcd -eq 0 ]; then
		echo "capture with nDPI: PASS (packet path >= 4 M packets/s)"
	else
		echo "capture with nDPI: FAIL (packet path below 4 M packets/s)"
		[ $rc -eq 0 ] && rc=$rcd
	fi
else
	echo "capture with nDPI: no result"; rc=1
fi

daemon="" daemon_dpi=""
if [ -x "$BUILD/bin/evflow-capture" ] && [ -x "$BUILD/bin/evflow-capture-sink" ]; then
	mkdir -p "$T/d"
	"$BUILD/bin/evflow-capture-sink" "ipc://$T/d/router.ipc" >/dev/null 2>&1 &
	SINK_PID=$!
	daemon=$(median 3 "$BUILD/bin/evflow-capture" -d "$T/d" -r "$F" \
	    -o capture.dpi=no) || { echo "evflow-capture -r failed"; exit 1; }
	daemon_dpi=$(median 3 "$BUILD/bin/evflow-capture" -d "$T/d" -r "$FA") ||
		{ echo "evflow-capture -r (nDPI) failed"; exit 1; }
fi
tshark=""
command -v tshark >/dev/null 2>&1 &&
	tshark=$(median "$TSHARK_RUNS" tshark -r "$F" -q -z conv,tcp)
softflowd=""
# softflowd 1.1.0 blocks in accept() on its control socket when given
# a longer -c path: run it in $T with short relative paths.
command -v softflowd >/dev/null 2>&1 &&
	softflowd=$(cd "$T" && median 3 softflowd -r "$F" -n 127.0.0.1:9995 \
	    -d -p sfd.pid -c sfd.ctl -m 262144)

python3 - "$NPKTS" "$ours" "$daemon" "$tshark" "$softflowd" "$daemon_dpi" <<'EOF'
import sys
n = int(sys.argv[1]); ours = float(sys.argv[2])
print("packets/s per core (packets / CPU seconds), same file, same run:")
def show(name, s):
    if not s:
        print("  %-46s not available" % name); return
    cpu, wall = (float(x) for x in s.split())
    pps = n / cpu
    print("  %-46s %6.2f M/s  (%.2f CPU s, %.2f s wall)  evflow is %.1fx" %
          (name, pps / 1e6, cpu, wall, ours / pps))
print("  %-46s %6.2f M/s" % ("evflow capture, in-process (median of 5)", ours / 1e6))
show("evflow-capture -r, daemon + nanomsg (median 3)", sys.argv[3])
show("same, nDPI on, application payloads (median 3)", sys.argv[6])
show("tshark -r -q -z conv,tcp", sys.argv[4])
show("softflowd -r (median of 3)", sys.argv[5])
EOF
exit $rc
