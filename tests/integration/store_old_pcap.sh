#!/bin/sh
# A pcap of old traffic (issue 12): flows last seen longer ago than
# store.retention (7 days by default) are stored as read, and the next
# retention pass deletes them; the store counts each such flow in
# rows_older_than_retention (its stats, `evflowctl status`, /metrics),
# and logs why.  A flow of the same file within the retention age is
# not counted.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-capture
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
ctl_init
A="$T/a"
# Two TCP handshakes on Ethernet: 10.0.0.1:40000 -> 10.0.0.2:80 in
# November 2023, 10.0.0.3:40001 -> 10.0.0.4:443 a minute ago.
python3 - "$T/old.pcap" <<'PY'
import struct, sys, time
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
def handshake(a, b, sp, dp):
    return [pkt(a, b, sp, dp, 0x02, 1, 0), pkt(b, a, dp, sp, 0x12, 9, 2),
            pkt(a, b, sp, dp, 0x10, 2, 10)]
recs = [(1700000000, p) for p in handshake([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80)]
now = int(time.time()) - 60
recs += [(now, p) for p in handshake([10, 0, 0, 3], [10, 0, 0, 4], 40001, 443)]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, (t, p) in enumerate(recs):
        f.write(struct.pack("<IIII", t, i * 1000, len(p), len(p)) + p)
PY
start_instance "$A" -p 0 -r "$T/old.pcap"
rows() {
	[ "$(sqlite3 "$A/evflow.db" "SELECT count(*) FROM flows f JOIN interfaces i
	    ON i.id = f.iface_id WHERE i.name = '$T/old.pcap'" 2>/dev/null ||
	    echo 0)" -ge 2 ]
}
wait_until "both flows of the file stored" 30 rows
counted() {
	"$CTL" status -d "$A" --json >"$T/s.json" 2>/dev/null &&
	[ "$(jget "$T/s.json" daemons.store.stats.counters.rows_older_than_retention)" = 1 ]
}
wait_until "the old flow counted in the store's stats, the recent one not" 20 counted
"$CTL" status -d "$A" >"$T/st.txt" 2>&1
check "evflowctl status shows it" grep -q "rows_older_than_retention[ :=]*1\b" "$T/st.txt"
check "the store logs why" grep -rq "rows_older_than_retention" "$A"/*.log
stored_count() {
	[ "$(sqlite3 "$A/evflow.db" "SELECT value FROM daemon_counters WHERE
	    daemon = 'store' AND key = 'rows_older_than_retention'" 2>/dev/null)" = 1 ]
}
wait_until "daemon_counters (/metrics when the store is down) has it" 20 stored_count
"$CTL" stop -d "$A" >/dev/null || fail "stop"
echo "store_old_pcap: $checks checks passed"
