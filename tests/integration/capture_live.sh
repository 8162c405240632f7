#!/bin/sh
# capture_live: real traffic between two network namespaces joined by a
# veth pair (an HTTP download with curl from python3's http.server, UDP
# exchanges over IPv4 and IPv6, a refused TCP connection), captured on the client's veth
# end by the real evflow-capture and, at the same time, by tcpdump.
#
# The flows evflow reports (in the store's SQLite file when evflow-store
# and evflow-router are built, else as records received by
# evflow-capture-sink standing in for the router) must match what the
# traffic was, and agree exactly, per direction, with tshark's
# `-z conv,tcp` / `-z conv,udp` on the tcpdump file (frames = packets,
# frame bytes = on-wire bytes) and with IP bytes summed by tshark.
#
# CAPTURE_LIVE_SINK=1 forces the sink even when the store is built.
# Needs root and `ip netns`; exits 77 otherwise.  Only the veth ends it
# makes are touched; addresses are in a private /30 inside the
# namespaces; everything is removed on exit.
. "$(dirname "$0")/lib.sh"

need_netns tshark tcpdump curl python3 sqlite3 ss
[ -x "$BIN/evflow-capture" ] || skip "evflow-capture not built"

lib_init
NA=evfca$$ NB=evfcb$$ VA=evca$$ VB=evcb$$
NET=10.213.$(( $$ % 250 ))
CLI=$NET.1 SRV=$NET.2
NET6=fd00:e5f:$(printf %x $(( $$ % 65536 )))
CLI6=$NET6::1 SRV6=$NET6::2
HTTP_PORT=8080 UDP_PORT=5300 UDP_CPORT=40053 CLOSED_PORT=9
UDP6_PORT=5301 UDP6_CPORT=40054

trap netns_cleanup EXIT

netns_pair "$NA" "$NB" "$VA" "$VB" "$CLI" "$SRV" "$CLI6" "$SRV6"

# Servers in B: HTTP (a 300000-byte file), UDP echo answering twice the
# bytes it got (so the directions differ).
mkdir -p "$T/www"
head -c 300000 /dev/urandom >"$T/www/blob"
helper http ip netns exec "$NB" python3 -m http.server "$HTTP_PORT" \
    --bind "$SRV" --directory "$T/www"
ECHO='
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET,
                  socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d * 2, a)'
helper udpecho ip netns exec "$NB" python3 -c "$ECHO" "$SRV" "$UDP_PORT"
helper udpecho6 ip netns exec "$NB" python3 -c "$ECHO" "$SRV6" \
    "$UDP6_PORT"
end=$(( $(now_s) + WAIT_SECS ))
until ip netns exec "$NB" ss -ltn | grep -q ":$HTTP_PORT " &&
    ip netns exec "$NB" ss -lun | grep -q ":$UDP_PORT " &&
    ip netns exec "$NB" ss -lun | grep -q ":$UDP6_PORT "; do
	[ "$(now_s)" -ge "$end" ] && fail "servers did not start"
	sleep 0.1
done

# Receivers of the capture's records.
if [ -z "$CAPTURE_LIVE_SINK" ] && [ -x "$BIN/evflow-store" ] &&
    [ -x "$BIN/evflow-router" ]; then
	MODE=store
	start_daemon store "$BIN/evflow-store" -d "$D" -N store
	wait_ctl store
	start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$VA" \
	    -i anycap
	wait_ctl router
else
	MODE=sink
	start_daemon sink "$BIN/evflow-capture-sink" "ipc://$D/router.ipc"
fi
echo "mode: $MODE"

# Both captures on the client's veth end, and a second evflow-capture on
# the namespace's `any` device (Linux cooked frames) as interface anycap.
start_daemon tcpdump ip netns exec "$NA" tcpdump -i "$VA" -n -U -s 262144 \
    -w "$T/cap.pcap"
start_daemon cap ip netns exec "$NA" "$BIN/evflow-capture" -d "$D" -N cap \
    -i "$VA" -o capture.linger=1 -o capture.immediate=yes \
    -o capture.active_timeout=1
start_daemon capany ip netns exec "$NA" "$BIN/evflow-capture" -d "$D" \
    -N capany -i any -I anycap -p -o capture.linger=1 \
    -o capture.immediate=yes
wait_ctl cap
wait_ctl capany
end=$(( $(now_s) + WAIT_SECS ))
until grep -q "listening on" "$T/tcpdump.log"; do
	[ "$(now_s)" -ge "$end" ] && fail "tcpdump did not start"
	sleep 0.1
done

# The traffic.
ip netns exec "$NA" curl -s -o "$T/got" "http://$SRV:$HTTP_PORT/blob" ||
	fail "curl download"
check_eq "downloaded size" "$(wc -c <"$T/got")" 300000
# The IPv4 exchange pauses 0.7 s between datagrams, so it outlives the
# capture's 1 s active timeout and is reported while it lives.
UDPCLI='
import socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET,
                  socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[3])))
s.settimeout(5)
for n in (100, 200, 300):
    if n > 100:
        time.sleep(float(sys.argv[5]))
    s.sendto(b"x" * n, (sys.argv[2], int(sys.argv[4])))
    d, a = s.recvfrom(65535)
    assert len(d) == 2 * n'
ip netns exec "$NA" python3 -c "$UDPCLI" "$CLI" "$SRV" "$UDP_CPORT" \
    "$UDP_PORT" 0.7 || fail "udp exchange"
ip netns exec "$NA" python3 -c "$UDPCLI" "$CLI6" "$SRV6" "$UDP6_CPORT" \
    "$UDP6_PORT" 0 || fail "udp exchange over IPv6"
if ip netns exec "$NA" curl -s --max-time 5 "http://$SRV:$CLOSED_PORT/" \
    >/dev/null 2>&1; then
	fail "connection to a closed port succeeded"
fi

# The TCP flows end after the 1 s linger (FIN both ways, RST).
wait_counter "tcp flows ended by FIN/RST" cap flows_ended 2
wait_true "active-timeout updates sent" \
    '[ "$(counter cap flow_updates)" -ge 1 ]'
wait_counter "tcp flows ended by FIN/RST on any" capany flows_ended 2
kill -INT "$(pid_of tcpdump)"
end=$(( $(now_s) + WAIT_SECS ))
while daemon_alive tcpdump; do
	[ "$(now_s)" -ge "$end" ] && fail "tcpdump did not stop"
	sleep 0.1
done
# SIGTERM ends the captures: the UDP flows are flushed.
kill -TERM "$(pid_of cap)" "$(pid_of capany)"
end=$(( $(now_s) + WAIT_SECS ))
while daemon_alive cap || daemon_alive capany; do
	[ "$(now_s)" -ge "$end" ] && fail "evflow-capture did not stop"
	sleep 0.1
done
for n in cap capany; do
	grep -q "records sent" "$T/$n.log" || fail "no closing summary ($n)"
done
grep -q "link type LINUX_SLL" "$T/capany.log" ||
	fail "the any device was not read as Linux cooked frames"

# Our flows of interface $1 as lines "proto cli cport srv sport c2s_pkts
# c2s_bytes c2s_wire s2c_pkts s2c_bytes s2c_wire state".
flows_of() {
	if [ "$MODE" = store ]; then
		Q="SELECT f.protocol, f.cli_addr, f.cli_port, f.srv_addr,
		    f.srv_port, f.c2s_packets, f.c2s_bytes, f.c2s_wire_bytes,
		    f.s2c_packets, f.s2c_bytes, f.s2c_wire_bytes, f.tcp_state
		    FROM flows f JOIN interfaces i ON i.id = f.iface_id WHERE
		    i.name = '$1' AND f.protocol IN (6, 17) AND f.cli_addr IN
		    ('$CLI', '$SRV', '$CLI6', '$SRV6') ORDER BY f.protocol,
		    f.srv_port"
		wait_sql "four flows stored for $1" "SELECT count(*) FROM ($Q)" 4
		# Final rows: wait until the UDP rows have their last counters.
		wait_sql "udp flows final for $1" "SELECT c2s_packets || ' ' ||
		    s2c_packets FROM ($Q) WHERE protocol = 17" "3 3
3 3"
		sql "$Q" | tr '|' ' '
	else
		grep '^flow ' "$T/sink.log" | python3 -c '
import sys
for line in sys.stdin:
    kv = dict(w.split("=", 1) for w in line.split()[1:])
    if kv["proto"] not in ("6", "17") or kv["event"] != "END":
        continue
    if kv["iface"] != sys.argv[1]:
        continue
    if kv["srv"].rsplit(":", 1)[1] not in sys.argv[2:]:
        continue
    c, cp = kv["cli"].rsplit(":", 1)
    s, sp = kv["srv"].rsplit(":", 1)
    print(kv["proto"], c, cp, s, sp, kv["c2s_pkts"], kv["c2s_bytes"],
          kv["c2s_wire"], kv["s2c_pkts"], kv["s2c_bytes"], kv["s2c_wire"],
          kv["state"])' "$1" "$HTTP_PORT" "$UDP_PORT" "$UDP6_PORT" \
		    "$CLOSED_PORT" | sort -k1,1n -k5,5n
	fi
}
if [ "$MODE" = store ]; then
	# Drop counters from pcap_stats reach the store.
	wait_sql "capture drop counters stored" "SELECT count(*) FROM
	    daemon_counters WHERE daemon = 'cap' AND key IN ('kernel_drops',
	    'iface_drops', 'records_dropped')" 3
else
	kill -TERM "$(pid_of sink)"
	end=$(( $(now_s) + WAIT_SECS ))
	while daemon_alive sink; do
		[ "$(now_s)" -ge "$end" ] && fail "sink did not stop"
		sleep 0.1
	done
	grep -q "^sink .* lost=0 " "$T/sink.log" || fail "sink lost records"
fi
flows_of "$VA" >"$T/ours.txt"
# The long UDP flow was reported while it lived (EVP_EV_UPDATE) and ended.
if [ "$MODE" = store ]; then
	wait_true "udp flow updated while alive" "[ \"\$(sql \"SELECT
	    f.updates FROM flows f JOIN interfaces i ON i.id = f.iface_id
	    WHERE i.name = '$VA' AND f.srv_port = $UDP_PORT\")\" -ge 2 ]"
else
	wait_true "udp flow updated while alive" "grep '^flow ' '$T/sink.log' |
	    grep 'iface=$VA ' | grep 'event=UPDATE' |
	    grep -q 'srv=$SRV:$UDP_PORT '"
fi
flows_of anycap >"$T/any.txt"
echo "flows reported:"
cat "$T/ours.txt"

# What the traffic was.
python3 - "$T/ours.txt" "$CLI" "$SRV" "$HTTP_PORT" "$UDP_PORT" \
    "$UDP_CPORT" "$CLOSED_PORT" "$CLI6" "$SRV6" "$UDP6_PORT" "$UDP6_CPORT" \
    <<'EOF' || fail "flows differ from the traffic"
import sys
path, cli, srv, hp, up, ucp, cp, cli6, srv6, up6, ucp6 = sys.argv[1:]
rows = [l.split() for l in open(path)]
def find(proto, sport):
    m = [r for r in rows if r[0] == proto and r[4] == sport]
    if len(m) != 1:
        sys.exit("expected one flow %s port %s, got %d" % (proto, sport, len(m)))
    return m[0]
bad = []
def want(desc, got, exp):
    if str(got) != str(exp):
        bad.append("%s: got %s, want %s" % (desc, got, exp))
h = find("6", hp)
want("http client", h[1], cli); want("http server", h[3], srv)
want("http state", h[11], "CLOSE")
if int(h[9]) < 300000:
    bad.append("http s2c bytes %s < file size" % h[9])
r = find("6", cp)
want("refused client", r[1], cli); want("refused state", r[11], "RESET")
want("refused c2s packets", r[5], 1); want("refused s2c packets", r[8], 1)
u = find("17", up)
want("udp client port", u[2], ucp)
want("udp c2s packets", u[5], 3); want("udp s2c packets", u[8], 3)
want("udp c2s ip bytes", u[6], 3 * 28 + 600)
want("udp s2c ip bytes", u[9], 3 * 28 + 1200)
want("udp c2s wire bytes", u[7], 3 * 42 + 600)
want("udp s2c wire bytes", u[10], 3 * 42 + 1200)
u = find("17", up6)
want("udp6 client", u[1], cli6); want("udp6 server", u[3], srv6)
want("udp6 client port", u[2], ucp6)
want("udp6 c2s packets", u[5], 3); want("udp6 s2c packets", u[8], 3)
want("udp6 c2s ip bytes", u[6], 3 * 48 + 600)
want("udp6 s2c ip bytes", u[9], 3 * 48 + 1200)
want("udp6 c2s wire bytes", u[7], 3 * 62 + 600)
want("udp6 s2c wire bytes", u[10], 3 * 62 + 1200)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
checks=$((checks + 22))

# The same flows from the any device: same packets and IP bytes; each
# frame is 2 bytes longer (a 16-byte cooked header instead of 14).
echo "flows on any:"
cat "$T/any.txt"
python3 - "$T/ours.txt" "$T/any.txt" <<'EOF' || fail "any and the veth differ"
import sys
a = [l.split() for l in open(sys.argv[1])]
b = [l.split() for l in open(sys.argv[2])]
if len(a) != 4 or len(b) != 4:
    sys.exit("want 4 flows each, got %d and %d" % (len(a), len(b)))
bad = 0
for x, y in zip(a, b):
    ok = x[:7] + x[8:10] + x[11:] == y[:7] + y[8:10] + y[11:] and \
        int(y[7]) == int(x[7]) + 2 * int(x[5]) and \
        int(y[10]) == int(x[10]) + 2 * int(x[8])
    if not ok:
        print("veth %s\nany  %s" % (" ".join(x), " ".join(y))); bad = 1
sys.exit(bad)
EOF
checks=$((checks + 1))

# tshark on the tcpdump file: conversations and exact sums.
tshark -r "$T/cap.pcap" -q -z conv,tcp -z conv,udp >"$T/conv.txt" 2>/dev/null ||
	fail "tshark conv"
tshark -r "$T/cap.pcap" -T fields -E separator='|' -E occurrence=f \
    -e ip.proto -e ipv6.nxt -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst \
    -e tcp.srcport -e udp.srcport -e tcp.dstport -e udp.dstport \
    -e frame.len -e ip.len -e ipv6.plen >"$T/fields.txt" 2>/dev/null ||
	fail "tshark fields"
echo "tshark conversations:"
grep '<->' "$T/conv.txt"
python3 - "$T/ours.txt" "$T/conv.txt" "$T/fields.txt" <<'EOF' ||
import re, sys
ours = [l.split() for l in open(sys.argv[1])]
conv = {}
pat = re.compile(r"^(\S+?):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+([\d,]+)\s+(\S+)"
                 r"\s+(\d+)\s+([\d,]+)\s+(\S+)")
for line in open(sys.argv[2]):
    m = pat.match(line)
    if not m:
        continue
    a, ap, b, bp = m.group(1), m.group(2), m.group(3), m.group(4)
    # "<-" is B to A, "->" is A to B.
    conv[(a, ap, b, bp)] = (int(m.group(8)), m.group(9), m.group(10),
                            int(m.group(5)), m.group(6), m.group(7))
sums = {}
for line in open(sys.argv[3]):
    f = line.rstrip("\n").split("|")
    if len(f) != 13:
        continue
    p4, p6, s4, s6, d4, d6, tsp, usp, tdp, udp, flen, l4, pl6 = f
    proto, s, d = p4 or p6, s4 or s6, d4 or d6
    sp, dp = tsp or usp, tdp or udp
    if not (proto and sp and dp):
        continue
    iplen = l4 if l4 else str(int(pl6) + 40)
    k = (proto, s, sp, d, dp)
    v = sums.setdefault(k, [0, 0, 0])
    v[0] += 1; v[1] += int(flen); v[2] += int(iplen)
bad = []
n = 0
def unit_ok(got, txt, unit):
    # conv prints small counts in bytes, large ones rounded (kB, MB).
    val = int(txt.replace(",", ""))
    if unit == "bytes":
        return got == val
    scale = {"kB": 1000, "MB": 1000000}.get(unit)
    return scale is not None and abs(got / scale - val) <= 1
for r in ours:
    proto, c, cp, s, sp = r[0], r[1], r[2], r[3], r[4]
    c2s = [int(r[5]), int(r[6]), int(r[7])]
    s2c = [int(r[8]), int(r[9]), int(r[10])]
    if (c, cp, s, sp) in conv:
        ab, ba = conv[(c, cp, s, sp)][:3], conv[(c, cp, s, sp)][3:]
    elif (s, sp, c, cp) in conv:
        ba, ab = conv[(s, sp, c, cp)][:3], conv[(s, sp, c, cp)][3:]
    else:
        bad.append("no tshark conversation for %s" % " ".join(r[:5])); continue
    for d, mine, t in (("c2s", c2s, ab), ("s2c", s2c, ba)):
        n += 2
        if mine[0] != t[0]:
            bad.append("%s %s packets: ours %d, tshark conv %d" % (" ".join(r[:5]), d, mine[0], t[0]))
        if not unit_ok(mine[2], t[1], t[2]):
            bad.append("%s %s bytes: ours %d, tshark conv %s %s" % (" ".join(r[:5]), d, mine[2], t[1], t[2]))
    e1 = sums.get((proto, c, cp, s, sp), [0, 0, 0])
    e2 = sums.get((proto, s, sp, c, cp), [0, 0, 0])
    for d, mine, e in (("c2s", c2s, e1), ("s2c", s2c, e2)):
        n += 1
        if mine != [e[0], e[2], e[1]]:
            bad.append("%s %s [pkts, ip bytes, wire bytes]: ours %s, tshark %s" %
                       (" ".join(r[:5]), d, mine, [e[0], e[2], e[1]]))
for b in bad:
    print(b)
print("compared %d values with tshark" % n)
sys.exit(1 if bad or n == 0 else 0)
EOF
	fail "evflow and tshark disagree"
checks=$((checks + 1))
echo "capture_live: $checks checks passed ($MODE mode)"
