#!/bin/sh
# capture_icmp: the Community ID of the capture's ICMP and ICMPv6 flows.
# evflow-capture -r reads a file written here (python3) into the real
# router and store; each ICMP flow's record carries its client's first
# message type and code, and the store hashes them: the flows' IDs must
# be the Community ID spec's published values for the same addresses and
# messages (an echo exchange, a one-way time exceeded, an ICMPv6 echo
# exchange), and a TCP flow in the same file keeps its own.
. "$(dirname "$0")/lib.sh"

for b in evflow-capture evflow-router evflow-store; do
	[ -x "$BIN/$b" ] || { echo "skip: $b not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
lib_init

python3 - "$T/icmp.pcap" <<'EOF'
import socket, struct, sys
def ip4(a): return socket.inet_pton(socket.AF_INET, a)
def ip6(a): return socket.inet_pton(socket.AF_INET6, a)
def v4(src, dst, proto, l4):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto,
                     0, ip4(src), ip4(dst))
    return bytes(12) + b"\x08\x00" + ip + l4
def v6(src, dst, proto, l4):
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, ip6(src),
                     ip6(dst))
    return bytes(12) + b"\x86\xdd" + ip + l4
def icmp(t, c): return struct.pack("!BBHI", t, c, 0, 1) + bytes(8)
def tcp(sp, dp, flags):
    return struct.pack("!HHIIBBHHH", sp, dp, 1, 0, 0x50, flags, 65535, 0, 0)
A6, B6 = "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2"
pk = [
    v4("192.168.0.89", "192.168.0.1", 1, icmp(8, 0)),   # echo request
    v4("192.168.0.1", "192.168.0.89", 1, icmp(0, 0)),   # and its reply
    v4("10.0.0.1", "10.0.0.2", 1, icmp(11, 0)),         # time exceeded
    v6(A6, B6, 58, icmp(128, 0)),                        # echo request
    v6(B6, A6, 58, icmp(129, 0)),                        # and its reply
    v4("128.232.110.120", "66.35.250.204", 6, tcp(34855, 80, 0x02)),
]
hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
recs = b""
for i, f in enumerate(pk):
    recs += struct.pack("<IIII", 1700000000, 1000 * i, len(f), len(f)) + f
open(sys.argv[1], "wb").write(hdr + recs)
EOF

start_daemon store "$BIN/evflow-store" -d "$D" -N store
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i icmpcap
wait_ctl router
"$BIN/evflow-capture" -d "$D" -N capicmp -r "$T/icmp.pcap" -I icmpcap \
    >"$T/capicmp.log" 2>&1 || fail "capture -r: $(cat "$T/capicmp.log")"

# The spec's values (its test vectors, seed 0), by client address.
Q="SELECT protocol || ' ' || cli_addr || ' ' || coalesce(community_id, '-')
    || ' ' || coalesce(extra, '-') FROM flows WHERE source = 'packet'
    ORDER BY protocol, cli_addr"
wait_sql "the flows' Community IDs" "$Q" \
"1 10.0.0.1 1:YHxtAirCG//0OzkcVAukqKQN9xM= {\"ICMP_TYPE\":11,\"ICMP_CODE\":0}
1 192.168.0.89 1:X0snYXpgwiv9TZtqg64sgzUn6Dk= {\"ICMP_TYPE\":8,\"ICMP_CODE\":0}
6 128.232.110.120 1:LQU9qZlK+B5F3KDmev6m5PMibrg= -
58 3ffe:507:0:1:200:86ff:fe05:80da 1:+TW+HtLHvV1xnGhV1lv7XoJrqQg= {\"ICMP_TYPE\":128,\"ICMP_CODE\":0}"
echo "capture_icmp: $checks checks passed"
