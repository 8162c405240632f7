#!/bin/sh
# evflowctl start -r FILE: a pcap file is a packet interface read once by
# a capture; when the capture reaches the end of the file it is not
# restarted (which would count every packet twice), status says it
# finished, and its flows are in the database under the file's name.
# A file cut short ends the capture with an error that status shows.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-capture
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
ctl_init
A="$T/a"
# A pcap file of three TCP packets 10.0.0.1:40000 -> 10.0.0.2:80 (SYN,
# SYN-ACK, ACK) on Ethernet.
python3 - "$T/trace.pcap" <<'PY'
import struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def pkt(src, dst, sp, dp, flags, seq, ack):
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + tcp
a, b = [10, 0, 0, 1], [10, 0, 0, 2]
pkts = [pkt(a, b, 40000, 80, 0x02, 1, 0), pkt(b, a, 80, 40000, 0x12, 9, 2),
        pkt(a, b, 40000, 80, 0x10, 2, 10)]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, p in enumerate(pkts):
        f.write(struct.pack("<IIII", 1700000000, i * 1000, len(p), len(p)) + p)
PY
start_instance "$A" -p 0 -r "$T/trace.pcap"
# The capture's name has a dot (capture-trace.pcap): look it up by role.
finished() {
	"$CTL" status -d "$A" --json >"$T/s.json" 2>/dev/null &&
	python3 - "$T/s.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
d = [x for x in j["daemons"] if x["role"] == "capture"]
sys.exit(0 if d and d[0].get("finished") and d[0]["restarts"] == 0 else 1)
PY
}
wait_until "capture finished the file, not restarted" 30 finished
check "the end is logged" grep -q "capture-trace.pcap (pid [0-9]*) finished" "$A/evflowctl.log"
check "status is fine with a finished capture" sh -c "'$CTL' status -d '$A' >'$T/st.txt'"
check "status says finished" grep -q "^capture-trace.pcap (capture): finished" "$T/st.txt"
check "ping skips it" sh -c "'$CTL' ping -d '$A' >/dev/null"
rows() {
	[ "$(sqlite3 "$A/evflow.db" "SELECT count(*) FROM flows f JOIN interfaces i
	    ON i.id = f.iface_id WHERE i.name = '$T/trace.pcap' AND f.srv_port = 80" \
	    2>/dev/null || echo 0)" -ge 1 ]
}
wait_until "the file's flow in the database under its name" 20 rows
"$CTL" status -d "$A" --json >"$T/s.json"
check "still no restart" test "$(jget "$T/s.json" supervisor.counters.restarts)" -eq 0
"$CTL" stop -d "$A" >/dev/null || fail "stop"

# The same file cut in its last record (issue 12 item 9): the capture
# sends what it read, ends with an error, is not restarted, and status
# shows the error rather than "finished".
B="$T/b"
head -c $(( $(wc -c <"$T/trace.pcap") - 10 )) "$T/trace.pcap" >"$T/cut.pcap"
start_instance "$B" -p 0 -r "$T/cut.pcap"
failed() {
	"$CTL" status -d "$B" --json >"$T/s.json" 2>/dev/null &&
	python3 - "$T/s.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
d = [x for x in j["daemons"] if x["role"] == "capture"]
sys.exit(0 if d and d[0].get("finished") and d[0].get("error") and
         d[0]["restarts"] == 0 else 1)
PY
}
wait_until "the cut file's capture ended with an error, not restarted" 30 failed
check "the error is logged" grep -q "capture-cut.pcap (pid [0-9]*) finished with an error" "$B/evflowctl.log"
"$CTL" status -d "$B" >"$T/st.txt" 2>&1
check "status shows the error" grep -q "^capture-cut.pcap (capture): ERROR: file read error" "$T/st.txt"
check "status does not say finished" sh -c "! grep -q '^capture-cut.pcap (capture): finished' '$T/st.txt'"
cut_rows() {
	[ "$(sqlite3 "$B/evflow.db" "SELECT count(*) FROM flows f JOIN interfaces i
	    ON i.id = f.iface_id WHERE i.name = '$T/cut.pcap' AND f.srv_port = 80" \
	    2>/dev/null || echo 0)" -ge 1 ]
}
wait_until "the flow read before the cut is stored" 20 cut_rows
cut_errors() {
	[ "$(sqlite3 "$B/evflow.db" "SELECT value FROM daemon_counters WHERE
	    daemon = 'capture-cut.pcap' AND key = 'read_errors'" 2>/dev/null)" = 1 ]
}
wait_until "the capture's stored counters show the read error" 20 cut_errors
"$CTL" stop -d "$B" >/dev/null || fail "stop"
echo "ctl_pcap: $checks checks passed"
