#!/bin/sh
# capture_file: evflow-capture -r on pcap files written here (python3),
# feeding the real router and store (or evflow-capture-sink when those
# are not built): the process exits 0 by itself at the end of the file
# after its records are delivered (its last counters, stored, count
# them: records_sent); the flows land in the interface named
# by -I; a file cut mid-packet still delivers the flows read before the
# cut; a file that is not a capture is a clear error (exit 1); -n prints
# the configuration it parsed.  CAPTURE_FILE_SINK=1 forces the sink.
. "$(dirname "$0")/lib.sh"

[ -x "$BIN/evflow-capture" ] || { echo "skip: evflow-capture not built"; exit 77; }
command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
lib_init

# A TCP connection (handshake, 1000 bytes each way, FIN both ways) and a
# UDP exchange, on Ethernet; the second file is the first cut in the
# middle of its last record.
python3 - "$T/good.pcap" "$T/cut.pcap" <<'EOF'
import struct, sys
def ip4(a): return bytes(int(x) for x in a.split("."))
def frame(src, dst, proto, sp, dp, flags=0, pay=0, seq=0):
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sp, dp, seq, 0, 0x50, flags, 65535, 0, 0)
    else:
        l4 = struct.pack("!HHHH", sp, dp, 8 + pay, 0)
    l4 += bytes(pay)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto,
                     0, ip4(src), ip4(dst))
    return bytes(12) + b"\x08\x00" + ip + l4
C, S = "192.0.2.10", "198.51.100.20"
pk = [
    frame(C, S, 6, 50000, 443, 0x02, 0, 1),
    frame(S, C, 6, 443, 50000, 0x12, 0, 9),
    frame(C, S, 6, 50000, 443, 0x10, 0, 2),
    frame(C, S, 6, 50000, 443, 0x18, 1000, 2),
    frame(S, C, 6, 443, 50000, 0x18, 1000, 10),
    frame(C, S, 6, 50000, 443, 0x11, 0, 1002),
    frame(S, C, 6, 443, 50000, 0x11, 0, 1010),
    frame(C, S, 6, 50000, 443, 0x10, 0, 1003),
    frame(C, S, 17, 5353, 53, pay=30),
    frame(S, C, 17, 53, 5353, pay=90),
]
hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
recs = b""
for i, f in enumerate(pk):
    recs += struct.pack("<IIII", 1700000000, 1000 * i, len(f), len(f)) + f
open(sys.argv[1], "wb").write(hdr + recs)
open(sys.argv[2], "wb").write(hdr + recs[:-20])
EOF
printf 'not a pcap file\n' >"$T/bad.pcap"

# -n: the parsed configuration; no source is an error.
"$BIN/evflow-capture" -n -r "$T/good.pcap" -I filecap -o capture.linger=5 \
    >"$T/n.out" 2>&1 || fail "-n failed: $(cat "$T/n.out")"
check_eq "-n file" "$(grep '^capture.file = ' "$T/n.out")" \
    "capture.file = $T/good.pcap"
check_eq "-n linger" "$(grep '^capture.linger = ' "$T/n.out")" \
    "capture.linger = 5"
check_eq "-n iface name" "$(grep '^capture.iface_name = ' "$T/n.out")" \
    "capture.iface_name = filecap"
if "$BIN/evflow-capture" -n >/dev/null 2>&1; then
	fail "-n without -i or -r succeeded"
fi
if "$BIN/evflow-capture" -n -r x -o capture.snaplen=1 >/dev/null 2>&1; then
	fail "snaplen 1 accepted"
fi

# A file that is not a capture: exit 1 with the reason.
if "$BIN/evflow-capture" -d "$D" -N bad -r "$T/bad.pcap" >"$T/bad.log" 2>&1
then
	fail "a non-pcap file was accepted"
fi
grep -q "bad.pcap" "$T/bad.log" || fail "no reason given: $(cat "$T/bad.log")"
checks=$((checks + 1))

# "-" is standard input, as with libpcap's own open (no router here:
# the summary says what was read).
mkdir -p "$T/stdin"
"$BIN/evflow-capture" -d "$T/stdin" -N capstdin -r - -o capture.linger=1 \
    <"$T/good.pcap" >"$T/stdin.log" 2>&1 ||
	fail "-r - failed: $(cat "$T/stdin.log")"
grep -q -- "-: 10 packets, 2 flows" "$T/stdin.log" ||
	fail "-r - did not read the file: $(cat "$T/stdin.log")"
checks=$((checks + 1))

if [ -z "$CAPTURE_FILE_SINK" ] && [ -x "$BIN/evflow-store" ] &&
    [ -x "$BIN/evflow-router" ]; then
	MODE=store
	# No retention: the files' packets are from 2023, and a pass (ten
	# seconds after start) would delete their flows mid-test.
	start_daemon store "$BIN/evflow-store" -d "$D" -N store \
	    -o store.retention=0
	wait_ctl store
	start_daemon router "$BIN/evflow-router" -d "$D" -N router -i filecap \
	    -i cutcap -i manycap
	wait_ctl router
else
	MODE=sink
	start_daemon sink "$BIN/evflow-capture-sink" "ipc://$D/router.ipc"
fi
echo "mode: $MODE"

# The good file ends with status 0, the cut one with 3 (a read error:
# its flows so far are sent, and a supervisor must not read it again).
for f in good:filecap:0 cut:cutcap:3; do
	want=${f##*:} f=${f%:*}
	n=${f#*:} f=${f%:*}
	rc=0
	"$BIN/evflow-capture" -d "$D" -N "cap$f" -r "$T/$f.pcap" -I "$n" \
	    >"$T/cap$f.log" 2>&1 || rc=$?
	check_eq "exit status of -r $f.pcap" "$rc" "$want"
	grep -q "records sent" "$T/cap$f.log" || fail "no summary for $f"
done
grep -q "file cut" "$T/capcut.log" || fail "the cut was not reported"
grep -q "could not be read to its end" "$T/capcut.log" ||
    fail "the cut was not reported as an error at the end"
checks=$((checks + 3))

# Expected: iface proto cli cport srv sport c2s_pkts c2s_bytes c2s_wire
# s2c_pkts s2c_bytes s2c_wire state.  The cut file lost its last packet.
cat >"$T/want.txt" <<EOF
cutcap 6 192.0.2.10 50000 198.51.100.20 443 5 1200 1270 3 1120 1162 CLOSE
cutcap 17 192.0.2.10 5353 198.51.100.20 53 1 58 72 0 0 0 -
filecap 6 192.0.2.10 50000 198.51.100.20 443 5 1200 1270 3 1120 1162 CLOSE
filecap 17 192.0.2.10 5353 198.51.100.20 53 1 58 72 1 118 132 -
EOF
if [ "$MODE" = store ]; then
	Q="SELECT i.name, f.protocol, f.cli_addr, f.cli_port, f.srv_addr,
	    f.srv_port, f.c2s_packets, f.c2s_bytes, f.c2s_wire_bytes,
	    f.s2c_packets, f.s2c_bytes, f.s2c_wire_bytes,
	    coalesce(f.tcp_state, '-') FROM flows f JOIN interfaces i ON
	    i.id = f.iface_id WHERE f.source = 'packet' AND i.name IN
	    ('filecap', 'cutcap') ORDER BY i.name, f.protocol"
	wait_sql "four packet flows" "SELECT count(*) FROM ($Q)" 4
	# The capture's closing EVP_STATS reached the store.
	wait_sql "capture counters stored" "SELECT key || '=' || value FROM
	    daemon_counters WHERE daemon = 'capgood' AND key IN ('packets',
	    'flows_created', 'records_dropped', 'read_errors') ORDER BY key" \
	    "flows_created=2
packets=10
read_errors=0
records_dropped=0"
	wait_sql "cut file counters stored" "SELECT key || '=' || value FROM
	    daemon_counters WHERE daemon = 'capcut' AND key IN ('packets',
	    'read_errors') ORDER BY key" "packets=9
read_errors=1"
	# The last stats record leaves after the last flows: it counts
	# them (the two flows' end records at least; 0 before).
	wait_sql "records_sent counts the last flows" "SELECT value >= 2 FROM
	    daemon_counters WHERE daemon = 'capgood' AND key = 'records_sent'" 1
	wait_sql "records_sent of the cut file" "SELECT value >= 2 FROM
	    daemon_counters WHERE daemon = 'capcut' AND key = 'records_sent'" 1

	# A file's reading waits for the store's acknowledgements instead
	# of dropping what overflows the replay buffer: 40,000 one-packet
	# flows (~9 MB of records, ended together at the file's end) through
	# a 4M link_replay, nothing dropped, every flow stored.  The file
	# comes through a FIFO that pauses 2 s after its first packet, so
	# the capture has heard the store's acknowledgements (before the
	# first, a sender forgets its oldest unacknowledged records rather
	# than drop new ones: replay_evicted).
	mkfifo "$T/many.pcap"
	python3 - "$T/many.pcap" <<'PY' &
import struct, sys, time
out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)]
for i in range(40000):
    src = bytes((10, 9, i >> 8 & 255, i & 255))
    l4 = struct.pack("!HHIIBBHHH", 20000 + i % 40000, 80, 1, 0, 0x50, 2,
                     65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, src,
                     bytes((192, 0, 2, 80)))
    f = bytes(12) + b"\x08\x00" + ip + l4
    t = 1700000000 * 1000000 + i * 100
    out.append(struct.pack("<IIII", t // 1000000, t % 1000000, len(f),
                           len(f)) + f)
with open(sys.argv[1], "wb") as fifo:
    fifo.write(b"".join(out[:2]))
    fifo.flush()
    time.sleep(2)
    fifo.write(b"".join(out[2:]))
PY
	HELPER_PIDS="$HELPER_PIDS $!"	# (killed at exit if still there)
	"$BIN/evflow-capture" -d "$D" -N capmany -r "$T/many.pcap" \
	    -I manycap -o link_replay=4M >"$T/capmany.log" 2>&1 ||
	    fail "-r many.pcap: $(tail -3 "$T/capmany.log")"
	grep -q "replay buffer full" "$T/capmany.log" &&
	    fail "the capture dropped at its replay buffer: $(cat "$T/capmany.log")"
	wait_sql "40,000 flows of many.pcap stored" "SELECT count(*) FROM flows
	    f JOIN interfaces i ON i.id = f.iface_id WHERE i.name = 'manycap'
	    AND f.source = 'packet'" 40000
	wait_sql "many.pcap: nothing dropped" "SELECT key || '=' || value FROM
	    daemon_counters WHERE daemon = 'capmany' AND key IN ('packets',
	    'records_dropped') ORDER BY key" "packets=40000
records_dropped=0"
	# The store may still hold a newer version of a row: wait for the
	# expected text, then compare.
	end=$(( $(now_s) + WAIT_SECS ))
	while :; do
		sql "$Q" | tr '|' ' ' >"$T/got.txt"
		cmp -s "$T/got.txt" "$T/want.txt" && break
		[ "$(now_s)" -ge "$end" ] && break
		sleep 0.2
	done
else
	kill -TERM "$(pid_of sink)"
	end=$(( $(now_s) + WAIT_SECS ))
	while daemon_alive sink; do
		[ "$(now_s)" -ge "$end" ] && fail "sink did not stop"
		sleep 0.1
	done
	grep '^flow ' "$T/sink.log" | python3 -c '
import sys
for line in sys.stdin:
    kv = dict(w.split("=", 1) for w in line.split()[1:])
    c, cp = kv["cli"].rsplit(":", 1)
    s, sp = kv["srv"].rsplit(":", 1)
    st = kv["state"] if kv["proto"] == "6" else "-"
    print(kv["iface"], kv["proto"], c, cp, s, sp, kv["c2s_pkts"],
          kv["c2s_bytes"], kv["c2s_wire"], kv["s2c_pkts"], kv["s2c_bytes"],
          kv["s2c_wire"], st)' | sort -k1,1 -k2,2n >"$T/got.txt"
fi
checks=$((checks + 1))
if ! cmp -s "$T/got.txt" "$T/want.txt"; then
	echo "got:"; cat "$T/got.txt"; echo "want:"; cat "$T/want.txt"
	fail "flows from the files differ"
fi
echo "capture_file: $checks checks passed ($MODE mode)"
