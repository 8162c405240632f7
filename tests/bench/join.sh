#!/bin/sh
# Join benchmark (issue 4): can the join keep up with the pipeline's
# floor of 150,000 events/s when every event has a packet flow?
#
# A generated pcap file holds N distinct TCP flows (one SYN each, from
# 10.x.y.z:port to 192.0.2.80:80).  evflow-capture reads it as `eth0`
# (-r FILE -I eth0), a mirrored packet interface that is the companion
# of a ZMQ interface, and the store holds the N ended packet flows
# (store.join_window = 300 s, so none expires during a run).  Then
# evflow-testpub publishes N libebpfflow CONNECT events with the same
# 5-tuples into the ZMQ interface (--array K).  The clock runs from the
# first event sent (testpub's first_send; it reads its file before) to
# the moment the store counted the N-th join in eth0 (in memory), and
# to the moment every row was written and committed (dirty_flows and
# uncommitted_rows 0).  Each event also makes an event-only flow in the
# ZMQ interface: per event one row inserted (ZMQ interface) and one
# rewritten (the joined packet flow).
#
# The runs of a round (JOIN_MODES):
#   join    the events as fast as the pipeline takes them, packets first
#   base    the same with the companion set to none (no join): joined/
#           base is the cost of the join in the same conditions
#   live    the capture reads the file while the events are published
#   paced   the events at the floor (150,000/s); the store's counters
#           are sampled while they come: the rate it wrote joined
#           events at (rows/s / 2, the first second left out) and the
#           backlog it left; "keeps up" if it wrote at the floor
#           (within 2%, the sampling's precision)
# Per run: rates, join ratio (joins / events that reached eth0, must be
# 1), misses, the store's memory and RSS, CPU seconds of the producer,
# collector, router and store (and of each store thread), loss upstream,
# and the store's CPU per written row (inserted or rewritten, committed:
# its counter flows_written).  Medians of 3 rounds; then issue 14's
# verdict: the store at most 3 us of CPU per written row with the join
# on (join) and off (base), PASS or FAIL, with its ratio to this
# machine's cJSON cost per event measured in the same run (bench_json).
#
# Then the cap: the same N events published BEFORE any packet into a
# store with store.max_pending = CAP: the pending gauge stays at CAP,
# the other N - CAP event-only entries are evicted and counted
# (iface.eth0.pending_evicted), the RSS stays bounded; the packets read
# afterwards join the CAP events that waited.
#
#   tests/bench/join.sh BUILD     (make bench)
#   JOIN_EVENTS=N  JOIN_RUNS=R  JOIN_ARRAY=K  JOIN_CAP=C (0: no cap run)
#   JOIN_MODES="join base live paced"   the runs of each round
#   JOIN_PACE=R   events/s of the paced run (default the floor): above
#                 it, how much headroom the pipeline has
#   JOIN_STORE_OPTS="-o key=value ..."  more store settings
#   JOIN_PERF=1   profile the store during the first round with perf (if
#                 installed): its top symbols
#
# Fails (exit 1) if a run does not join every event, or the cap is not
# held, or the store's CPU per written row is above issue 14's bound
# (FAIL); the 150k events/s floor is reported, not enforced (a shared
# machine).
#
# Measured 2026-11-27 (2 vCPU; N = 600000, K = 10, medians of 3), with
# schema 4 (processes in rows of their own), the WAL restarted past
# store.wal_limit, and this script's watcher and cleanup fixed: join
# 256k events/s in memory (runs 205-264k), 144k/s joined and written
# (134-162k, as a burst: the writer catches up after it); live 286k/s
# and 138k/s; base 290k/s and 223k/s written.  Paced at 150k/s: the
# store wrote 152.8-153.2k joined events/s while they came (101% of the
# pace), a backlog of 77k events at the end (the 75k of the settle
# time), all committed 0.57-0.68 s after the last event; JOIN_PACE=170000:
# 169-172k/s, it keeps up.  CPU per joined event while paced: producer
# 1.1 us, collector 2.2, router 0.4, store loop 1.8-2.1, writer thread
# 3.3-3.5 (two rows), checkpointer 0.15-0.3.  With schema 3 (82-column
# rows) the writer took 5-5.3 us and paced runs wrote 126-144k/s.  The
# store alone, fed in process, writes 296k joined events/s (bench_store
# companion).
# shellcheck disable=SC2154	# PID_<name> are set by start() with eval
BUILD=${1:-build}
EVFLOW_BUILD=$(cd "$BUILD" && pwd)
BIN="$EVFLOW_BUILD/bin"
N=${JOIN_EVENTS:-600000}
RUNS=${JOIN_RUNS:-3}
MODES=${JOIN_MODES:-join base live paced}
ARRAY=${JOIN_ARRAY:-10}
CAP=${JOIN_CAP:-10000}
FLOOR=150000
ROW_BOUND=3.0	# us of the store's CPU per written row (issue 14)
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SAMPLES=tests/tools/samples/sample-events.jsonl	# bench_json's events
PACE=${JOIN_PACE:-$FLOOR}	# events/s of the paced run
WAIT=120	# seconds any one wait may take

for b in evflow-store evflow-router evflow-collector evflow-capture \
    evflow-testpub evflow-ctlq; do
	[ -x "$BIN/$b" ] || { echo "join: $BIN/$b not built, skipped"; exit 0; }
done
command -v python3 >/dev/null || { echo "join: no python3, skipped"; exit 0; }

T=$(mktemp -d "${TMPDIR:-/tmp}/evflow-join.XXXXXX") || exit 1
PIDS=""
cleanup() {
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

die() {
	echo "join: FAIL: $*"
	for f in "$D"/*.log; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 10 "$f"; }
	done
	exit 1
}

now() {
	date +%s.%N
}

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The store's stats for interface $1, keys $2...: values on one line.
sif() {
	"$BIN/evflow-ctlq" -t 5000 "ipc://$D/store.ctl" stats |
	    python3 -c 'import json, sys
s = json.load(sys.stdin)
for i in s["interfaces"]:
    if i["name"] == sys.argv[1]:
        print(" ".join(str(i.get(k, i.get("counters", {}).get(k)))
                       for k in sys.argv[2:]))' "$@"
}

sctr() {	# a store counter
	"$BIN/evflow-ctlq" -t 5000 -g "counters.$1" "ipc://$D/store.ctl" stats
}

rss_kb() {
	awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# wait_for DESC CMD: polls the shell command CMD until it succeeds.
wait_for() {
	end=$(( $(date +%s) + WAIT ))
	until eval "$2" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge $end ] && die "$1"
		sleep 0.02
	done
}

start() {	# start NAME CMD...: a daemon, its log in $D/NAME.log
	name=$1; shift
	"$@" >"$D/$name.log" 2>&1 &
	eval "PID_$name=$!"
	PIDS="$! $PIDS"
}

wait_ping() {
	wait_for "$1 did not answer ping" \
	    "[ \"\$(\"$BIN/evflow-ctlq\" -t 500 ipc://$D/$1.ctl ping)\" = pong ]"
}

stop_all() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=""
}

# The workload, made once: the pcap file and the events, same 5-tuples.
python3 - "$N" "$T/flows.pcap" "$T/events.jsonl" <<'EOF' || exit 1
import struct, sys, time
n, pcap, jsonl = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
srv = bytes([192, 0, 2, 80])
eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
t0 = int(time.time())
with open(pcap, "wb") as f, open(jsonl, "w") as j:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        cli = bytes([10, 1 + i // 60000 // 256, (i // 60000) % 256, 1])
        port = 1024 + i % 60000
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xffff, 0, 64, 6,
                         0, cli, srv)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        tcp = struct.pack("!HHIIBBHHH", port, 80, i, 0, 0x50, 0x02, 64240,
                          0, 0)
        frame = eth + ip + tcp
        us = i * 5          # 200k packets per second of trace time
        f.write(struct.pack("<IIII", t0 + us // 1000000, us % 1000000,
                            len(frame), len(frame)))
        f.write(frame)
        j.write('{ "timestamp": "%d.000000", "INTERFACE_NAME": "eth9", '
                '"IP_PROTOCOL_VERSION": 4, "TCP_EVENT_TYPE": "CONNECT", '
                '"IPV4_SRC_ADDR": "%d.%d.%d.%d", "IPV4_DST_ADDR": '
                '"192.0.2.80", "PROTOCOL": 6, "L4_SRC_PORT": %d, '
                '"L4_DST_PORT": 80, "NW_LATENCY_MS": "0.221", '
                '"LOCAL_PROCESS": { "PID": %d, "UID": 1000, "GID": 1000, '
                '"GID_NAME": "bench", "TID": %d, "PROCESS_PATH": '
                '"\\/usr\\/bin\\/curl", "PROCESS_CMDLINE": "" }, '
                '"LOCAL_FATHER_PROCESS": { "PID": 1, "UID": 0, "GID": 0, '
                '"GID_NAME": "root", "TID": 0, "PROCESS_PATH": '
                '"\\/bin\\/sh", "PROCESS_CMDLINE": "" } }\n'
                % ((t0 + us // 1000000,) + tuple(cli) + (port, 1000 + i % 30000,
                   1000 + i % 30000)))
EOF

# pipeline DIR STORE_OPTS...: store, router (ZMQ interface with the
# mirrored eth0 as its companion, none if MODE=base), collector.
pipeline() {
	D=$1; shift
	mkdir -p "$D"
	P=$(free_port)
	Z="tcp://127.0.0.1:${P}c"
	start store "$BIN/evflow-store" -d "$D" -N store \
	    -o store.join_window=300 -o store.max_flows=$((N + 1024)) \
	    $JOIN_STORE_OPTS "$@"
	wait_ping store
	comp="companion=$Z eth0"
	[ "$MODE" = base ] && comp="companion=$Z none"
	start router "$BIN/evflow-router" -d "$D" -N router -i "$Z" -i eth0 \
	    -o mirrored=eth0 -o "$comp"
	wait_ping router
	start col "$BIN/evflow-collector" -d "$D" -N col -i "$Z"
	wait_ping col
}

# Reads the pcap file into eth0 and waits until the store holds every
# packet flow ($1: how many entries eth0 must then have) and has
# written them.
start_capture() {
	start cap "$BIN/evflow-capture" -d "$D" -N cap -r "$T/flows.pcap" \
	    -I eth0 -o capture.max_flows=$((N + 1024))
}
read_packets() {
	start_capture
	wait "$PID_cap" || die "evflow-capture -r exited with an error"
	wait_for "packet flows in the store" "[ \"\$(sif eth0 live_flows)\" = $1 ]"
	# ... and written: the clock then measures the events alone.
	wait_for "packet flows written" "[ \"\$(sctr dirty_flows)\" = 0 ] &&
	    [ \"\$(sctr uncommitted_rows)\" = 0 ]"
}

# CPU seconds of this shell's reaped children so far: the `times`
# builtin's second line (run in this shell, not a subshell).
child_cpu() {
	times >"$T/times"
	awk 'NR == 2 { u = $1; s = $2; gsub(/s/, "", u); gsub(/s/, "", s)
	    split(u, a, "m"); split(s, b, "m")
	    printf "%.2f", a[1] * 60 + a[2] + b[1] * 60 + b[2] }' "$T/times"
}

# Publishes the events; PUB_CPU: the producer's CPU seconds (it shares
# the machine's two cores with the pipeline; in production producers
# run on other hosts); PUB_T0: the time it sent its first message (it
# reads the whole file first).
publish() {
	child_cpu >"$T/cpu0"
	# shellcheck disable=SC2086	# RATE_OPT: empty or two words
	"$BIN/evflow-testpub" -z "$Z" --array "$ARRAY" $RATE_OPT \
	    -f "$T/events.jsonl" >"$T/pub.out" || die "evflow-testpub"
	PUB_T1=$(now)
	child_cpu >"$T/cpu1"
	PUB_CPU=$(awk -v a="$(cat "$T/cpu0")" -v b="$(cat "$T/cpu1")" \
	    'BEGIN { printf "%.2f", b - a }')
	PUB_T0=$(sed -n 's/.*first_send=\([0-9.]*\).*/\1/p' "$T/pub.out")
}

# sample: while the producer sends (paced runs), the store's counters
# every 0.2 s until $T/stop exists: "T received dirty written" lines.
sample() {
	python3 - "$BIN/evflow-ctlq" "$D" "$T/stop" <<'PY'
import json, os, subprocess, sys, time
ctlq, d, stop = sys.argv[1:4]
while not os.path.exists(stop):
    out = subprocess.run([ctlq, "-t", "5000", "ipc://%s/store.ctl" % d,
                          "stats"], capture_output=True, text=True).stdout
    c = json.loads(out)["counters"]
    print("%.3f %d %d %d" % (time.time(), c["recv_flow"], c["dirty_flows"],
          c["flows_written"]), flush=True)
    time.sleep(0.2)
PY
}

# watch: polls the collector's and the store's counters until every
# event is accounted for (received by the collector; sent or dropped by
# it; the store's merged counts steady for 1 s; every flow written),
# then prints "T joins misses pending live merged col_dropped zmq_merged
# TW" (eth0's counters but col_dropped and zmq_merged): T is the wall
# time of the last change, TW when the store had then written every
# flow (dirty_flows 0: rows inserted/updated, committed within 1 s).
watch() {
	python3 - "$BIN/evflow-ctlq" "$D" "$N" "$WAIT" <<'PY'
import json, subprocess, sys, time
ctlq, d, n, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
def stats(name):
    out = subprocess.run([ctlq, "-t", "5000", "ipc://%s/%s.ctl" % (d, name),
                          "stats"], capture_output=True, text=True).stdout
    return json.loads(out)
end = time.time() + limit
last, t_last, t_written = None, time.time(), None
while time.time() < end:
    now = time.time()
    c = stats("col")["counters"]
    if c["events_received"] < n:
        # Still sending: poll only the collector, 20 times a second
        # (each poll is a process and a stats request; polling both
        # daemons 100 times a second took a tenth of the two cores the
        # pipeline under test needs).
        time.sleep(0.05)
        continue
    st = stats("store")
    eth = [i for i in st["interfaces"] if i["name"] == "eth0"][0]
    zmq = [i for i in st["interfaces"] if i["kind"] == "zmq"][0]
    key = (eth["joins"], eth["merged"], zmq["merged"])
    if key != last:
        last, t_last, t_written = key, now, None
    if t_written is None and st["counters"]["dirty_flows"] == 0 and \
            st["counters"].get("uncommitted_rows", 0) == 0:
        t_written = now
    done = c["events_received"] >= n and c["records_queued"] == \
        c["records_sent"] + c["records_send_dropped"]
    if done and now - t_last >= 1.0 and t_written is not None:
        print("%.6f %d %d %d %d %d %d %d %.6f" % (t_last, eth["joins"],
              eth["misses"], eth["pending"], eth["live_flows"], eth["merged"],
              c["records_send_dropped"], zmq["merged"], t_written))
        sys.exit(0)
    time.sleep(0.02)
sys.exit("events not accounted for after %d s" % limit)
PY
}

# CPU seconds (user + system) of a process so far.
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' \
	    "/proc/$1/stat" 2>/dev/null || echo 0
}
# CPU seconds per thread of a process so far: "name s name s ...".
thread_cpus() {
	for t in /proc/"$1"/task/*; do
		printf '%s %s ' "$(cat "$t/comm")" "$(awk -v hz="$(getconf \
		    CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "$t/stat")"
	done 2>/dev/null
}
cpus() {
	echo "$(cpu_of "$PID_col") $(cpu_of "$PID_router") $(cpu_of "$PID_store")"
}
median() {
	echo "$@" | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 }
	    END { print a[int((NR + 1) / 2)] }'
}

echo "join: $N flows, one SYN each in a pcap read as eth0; $N matching" \
    "CONNECT events, $ARRAY per message, into a ZMQ interface whose" \
    "companion is eth0 (join, live) or none (base: the same events, no" \
    "join); join and base read the packets first, live at the same time"
rates="" brates="" wrates="" bwrates="" lrates="" lwrates="" jrow="" brow=""
pwrates="" plags="" pbacks=""
bad=0
r=1
while [ $r -le "$RUNS" ]; do
    for MODE in $MODES; do
	RATE_OPT=""
	# testpub's pacing runs about 2% slow: ask a little more.
	[ $MODE = paced ] && RATE_OPT="--rate $((PACE * 102 / 100))"
	if [ $MODE = live ]; then
		# Events may run ahead of the packets: let them all wait.
		pipeline "$T/run$r.$MODE" -o store.max_pending="$N"
	else
		pipeline "$T/run$r.$MODE"
		read_packets "$N"
	fi
	perfp=""
	if [ $r = 1 ] && [ -n "$JOIN_PERF" ] && command -v perf >/dev/null; then
		perf record -F 999 -g -o "$T/perf.$MODE" -p "$PID_store" \
		    >/dev/null 2>&1 &
		perfp=$!
	fi
	c0=$(cpus)
	fw0=$(sctr flows_written)
	tc0=$(thread_cpus "$PID_store")
	[ $MODE = live ] && start_capture
	if [ $MODE = paced ]; then
		rm -f "$T/stop"
		sample >"$T/samples" &
		spid=$!
	fi
	publish
	if [ $MODE = paced ]; then
		touch "$T/stop"
		wait "$spid"
	fi
	# The clock starts with the first event sent (in live, the capture
	# started while the producer read its file).
	t0=$PUB_T0
	if [ $MODE = live ]; then
		wait "$PID_cap" || die "evflow-capture -r exited with an error"
	fi
	w=$(watch) || die "run $r $MODE: $w"
	c1=$(cpus)
	fw1=$(sctr flows_written)
	# The store's CPU per written row (inserted or rewritten, all
	# committed): issue 14's bound, join on (join) and off (base).
	rowus=$(echo "$c0 $c1" | awk -v n=$((fw1 - fw0)) \
	    '{ printf "%.2f", (n > 0 ? ($6 - $3) * 1e6 / n : 0) }')
	tcpu=$(echo "$tc0 / $(thread_cpus "$PID_store")" | awk '{
	    for (i = 1; $i != "/"; i += 2) { n[i] = $i; v[i] = $(i + 1); m = i }
	    for (i = 1; i <= m; i += 2)
		printf "%s%s %.2f", (i > 1 ? ", " : ""), n[i], $(m + 3 + i) - v[i] }')
	if [ -n "$perfp" ]; then
		kill -INT "$perfp"; wait "$perfp"
	fi
	set -- $w
	t1=$1 joins=$2 misses=$3 pending=$4 live=$5 merged=$6 cdrop=$7 zm=$8
	tw=$9
	# Events that reached the store: each is merged once into the ZMQ
	# interface (no packet record goes there).  (Not eth0's merged
	# less N: the capture sends a flow's first report 1 s after its
	# first packet, file time, and its end: ~1.66 records per flow of
	# this file, which its replay window now paces instead of dropping.)
	delivered=$zm
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	cpu="$(echo "$c0 $c1" | awk '{ printf "collector %.2f, router %.2f," \
	    " store %.2f", $4 - $1, $5 - $2, $6 - $3 }'), producer $PUB_CPU"
	wsecs=$(awk -v a="$t0" -v b="$tw" 'BEGIN { printf "%.2f", b - a }')
	if [ $MODE != base ]; then
		rate=$(awk -v n="$joins" -v a="$t0" -v b="$t1" \
		    'BEGIN { printf "%d", n / (b - a) }')
		wrate=$(awk -v n="$joins" -v a="$t0" -v b="$tw" \
		    'BEGIN { printf "%d", n / (b - a) }')
		ratio=$(awk -v j="$joins" -v n="$delivered" \
		    'BEGIN { printf "%.4f", n ? j / n : 0 }')
		echo "run $r $MODE: $rate events/s joined ($joins in $secs s)," \
		    "$wrate/s joined and written ($wsecs s)," \
		    "join ratio $ratio of the $delivered events that reached" \
		    "eth0, misses $misses, pending $pending; flows: eth0 $live," \
		    "ZMQ interface $(sif "$Z" live_flows); store mem_bytes" \
		    "$(sctr mem_bytes), RSS $(rss_kb "$PID_store") kB; CPU s:" \
		    "$cpu; lost upstream: collector send drops $cdrop, store" \
		    "no_memory $(sctr no_memory); store threads, CPU s: $tcpu;" \
		    "store $rowus us CPU per written row ($((fw1 - fw0)) rows)"
		[ "$joins" = "$delivered" ] && [ "$misses" = 0 ] ||
			die "run $r: an event that reached eth0 did not join"
		if [ $MODE = join ]; then
			rates="$rates $rate" wrates="$wrates $wrate"
			jrow="$jrow $rowus"
		elif [ $MODE = live ]; then
			lrates="$lrates $rate" lwrates="$lwrates $wrate"
		else
			offered=$(awk -v n="$N" -v a="$t0" -v b="$PUB_T1" \
			    'BEGIN { printf "%d", n / (b - a) }')
			lag=$(awk -v a="$PUB_T1" -v b="$tw" \
			    'BEGIN { printf "%.2f", b - a }')
			# While the producer sent (its first second left out):
			# rows written per second, halved (two rows per
			# event), and the backlog it left (changes not yet
			# written, in events).
			# shellcheck disable=SC2046	# two numbers
			set -- $(awk -v t0="$t0" -v t1="$PUB_T1" '
			    $1 >= t0 + 1 && $1 <= t1 { if (!n++) { a = $1; w = $4 }
				b = $1; x = $4; d = $3 }
			    END { if (n < 2) print -1, -1
				  else printf "%d %d\n", (x - w) / (b - a) / 2, d / 2 }' \
			    "$T/samples")
			sw=$1 backlog=$2
			[ "$sw" -ge 0 ] || echo "run $r paced: WARNING: too" \
			    "short to sample (JOIN_EVENTS=$N; use 300000 or more)"
			echo "run $r paced: the producer offered $offered" \
			    "events/s; while it sent, the store wrote $sw" \
			    "joined events/s and left a backlog of $backlog" \
			    "events; every event joined and written $lag s after" \
			    "the last was sent"
			pwrates="$pwrates $sw" plags="$plags $lag"
			pbacks="$pbacks $backlog"
		fi
	else
		rate=$(awk -v n="$zm" -v a="$t0" -v b="$t1" \
		    'BEGIN { printf "%d", n / (b - a) }')
		wrate=$(awk -v n="$zm" -v a="$t0" -v b="$tw" \
		    'BEGIN { printf "%d", n / (b - a) }')
		echo "run $r base: $rate events/s merged ($zm in $secs s)," \
		    "$wrate/s merged and written ($wsecs s), eth0" \
		    "untouched (joins $joins), RSS $(rss_kb "$PID_store") kB;" \
		    "CPU s: $cpu; collector send drops $cdrop; store $rowus us" \
		    "CPU per written row ($((fw1 - fw0)) rows)"
		brow="$brow $rowus"
		[ "$joins" = 0 ] || die "run $r base: joins without a companion"
		brates="$brates $rate" bwrates="$bwrates $wrate"
	fi
	if [ -n "$perfp" ]; then
		echo "  perf: top symbols of evflow-store ($MODE)"
		perf report -i "$T/perf.$MODE" --no-children --sort dso,symbol \
		    --stdio -g none 2>/dev/null | grep '%' | head -12 |
		    sed 's/  *-  *-  *$//; s/^/    /'
	fi
	[ "$cdrop" = 0 ] || { bad=1; echo "run $r $MODE: WARNING: $cdrop" \
	    "events dropped by the collector (its sends to the router" \
	    "timed out)"; }
	[ -n "$JOIN_DEBUG" ] && "$BIN/evflow-ctlq" -t 5000 "ipc://$D/store.ctl" stats >"/tmp/join-$MODE.json"
	stop_all
	# Its database goes now: left for the kernel to write back, a
	# run's few hundred MB of dirty pages landed in the next runs.
	rm -rf "$D"
    done
	r=$((r + 1))
done
med=$(median $rates)
bmed=$(median $brates)
wmed=$(median $wrates)
bwmed=$(median $bwrates)
if [ -n "$rates" ]; then
	verdict="BELOW"
	[ "$med" -ge $FLOOR ] && verdict="above"
	echo "join: median $med events/s joined in memory (runs:$rates)," \
	    "$verdict the floor of $FLOOR; $wmed/s joined and written (runs:" \
	    "$wrates; as fast as the producer goes, the writer catches up" \
	    "after the burst); every event that reached eth0 joined"
fi
[ -n "$lrates" ] && echo "join: live (packets read while the events are" \
    "published, all into an empty store) median $(median $lrates)" \
    "events/s joined in memory (runs:$lrates), $(median $lwrates)/s" \
    "joined and written (runs:$lwrates)"
if [ -n "$plags" ]; then
	psw=$(median $pwrates)
	# Keeping up: writing at the floor while the events come (2% for
	# the sampling); below it the backlog grows.
	pct=$(awk -v a="$psw" -v b="$PACE" 'BEGIN { printf "%d", 100 * a / b }')
	if [ "$pct" -ge 98 ]; then
		verdict="keeps up ($pct% of the pace)"
	else
		verdict="BELOW the pace: $pct% of it; the backlog grows"
	fi
	[ "$PACE" -lt $FLOOR ] && verdict="$verdict (paced below the floor)"
	echo "join: paced (the producer at $PACE events/s; floor $FLOOR):" \
	    "while the events came the store wrote a median $psw joined" \
	    "events/s (runs:$pwrates), backlog at the end (events):" \
	    "$pbacks; every event joined and written a median" \
	    "$(median $plags) s after the last was sent (runs:$plags): $verdict"
fi
[ -n "$rates" ] && [ -n "$brates" ] && echo "join: base (no companion)" \
    "median $bmed events/s in memory (runs:$brates), $bwmed/s written" \
    "(runs:$bwrates); joined/base $(awk -v a="$med" -v b="$bmed" \
    'BEGIN { printf "%.2f", a / b }') in memory, $(awk -v a="$wmed" \
    -v b="$bwmed" 'BEGIN { printf "%.2f", a / b }') written"
# Issue 14: the store at most ROW_BOUND us of CPU per written row, join
# on and off; and as a ratio to this machine's cJSON cost per event
# (bench_json, measured now), so it reads the same on a slower machine.
cj="" verdict_rc=0
[ -x "$EVFLOW_BUILD/bench/bench_json" ] && [ -f "$TOP/$SAMPLES" ] &&
	cj=$("$EVFLOW_BUILD/bench/bench_json" -q "$TOP/$SAMPLES" 2>/dev/null)
for what in "on join $jrow" "off base $brow"; do
	# shellcheck disable=SC2086	# the words of $what
	set -- $what
	onoff=$1 m=$2; shift 2
	[ $# -gt 0 ] || continue
	us=$(median "$@")
	ratio=""
	[ -n "$cj" ] && ratio=$(awk -v a="$us" -v b="$cj" 'BEGIN {
	    printf ", %.2fx the cJSON baseline'"'"'s %.2f us per event", a / b, b }')
	v=$(awk -v a="$us" -v b="$ROW_BOUND" 'BEGIN { print (a <= b ? "PASS" : "FAIL") }')
	echo "join: $v: store CPU per written row, join $onoff ($m runs):" \
	    "median $us us (runs: $*)$ratio; bound $ROW_BOUND us"
	[ "$v" = PASS ] || verdict_rc=1
done
[ $bad = 0 ] || echo "join: WARNING: events were lost before the store" \
    "in some runs (see above)"

# The cap: events first, no packets yet (JOIN_CAP=0: left out).
[ "$CAP" = 0 ] && exit $verdict_rc
MODE="join"
pipeline "$T/cap" -o store.max_pending="$CAP"
rss0=$(rss_kb "$PID_store")
publish
w=$(watch) || die "cap: $w"
set -- $w
delivered=$6
# shellcheck disable=SC2046
set -- $(sif eth0 pending pending_evicted live_flows)
pend=$1 evicted=$2 live=$3
rss1=$(rss_kb "$PID_store")
echo "cap: store.max_pending=$CAP, $delivered events reached eth0 before" \
    "any packet: eth0 pending $pend, pending_evicted $evicted, eth0 flows" \
    "$live; store RSS $rss0 kB -> $rss1 kB (the ZMQ interface holds" \
    "$(sif "$Z" live_flows) flows)"
[ "$pend" = "$CAP" ] || die "pending $pend, want the cap $CAP"
[ "$evicted" = $((delivered - CAP)) ] ||
	die "evicted $evicted, want $((delivered - CAP))"
read_packets "$N"
# shellcheck disable=SC2046
set -- $(sif eth0 joins pending)
echo "cap: the packets then joined the $1 events that waited (pending $2)"
[ "$1" = "$CAP" ] || die "joins $1 after the cap, want $CAP"
stop_all
exit $verdict_rc
