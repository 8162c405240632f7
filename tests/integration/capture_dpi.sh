#!/bin/sh
# capture_dpi: application protocols (nDPI) and names seen on the wire,
# checked against tshark's dissection of the same packets.
#
#  1. A generated pcap (capture-bench -a: TLS ClientHellos with SNI,
#     HTTP requests with Host, DNS queries and answers) read with -r;
#     then the same file into the real router and store: SQLite's
#     application columns and host_names hold exactly what the sink got.
#  2. Live traffic between two network namespaces joined by a veth pair,
#     captured on the client's end by evflow-capture and by tcpdump at
#     the same time: curl over TLS to openssl s_server with a
#     certificate made here, curl to python3's http.server with a Host
#     header, a DNS query to a small DNS responder in python3.
#
# The records reach evflow-capture-sink (standing in for the router).
# For every flow tshark sees a TLS client hello, an HTTP request or a DNS
# query in, our record must carry the same SNI (and JA3, and the
# server's JA3S when tshark sees its hello), HTTP Host or
# DNS query name and the matching protocol (TLS, HTTP, DNS); every DNS
# answer (name, A/AAAA) tshark sees must come out as a host-name record
# (source dns), and the server of a TLS/HTTP flow as one with source
# sni/http.  Event-free flows without a payload carry no application
# block.  Needs root and `ip netns` for part 2 (skipped otherwise).
. "$(dirname "$0")/lib.sh"

[ -x "$BIN/evflow-capture" ] || skip "evflow-capture not built"
[ -x "$BIN/evflow-capture-sink" ] || skip "evflow-capture-sink not built"
BENCH="$EVFLOW_BUILD/bench/capture-bench"
[ -x "$BENCH" ] || skip "capture-bench not built"
command -v tshark >/dev/null || skip "no tshark"
command -v python3 >/dev/null || skip "no python3"
lib_init

# compare SINKLOG PCAP LABEL: our records against tshark's dissection.
compare() {
	tshark -r "$2" -o tcp.desegment_tcp_streams:TRUE -T fields \
	    -E separator='|' -e ip.src -e ipv6.src -e tcp.srcport \
	    -e udp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e udp.dstport \
	    -e tls.handshake.extensions_server_name -e tls.handshake.ja3 \
	    -e http.host -e dns.qry.name -e dns.flags.response -e dns.a \
	    -e dns.aaaa -e tls.handshake.ja3s -Y "tls.handshake.type == 1 or \
	    tls.handshake.type == 2 or http.request or dns" \
	    >"$T/tshark.txt" 2>"$T/tshark.err" || fail "tshark on $2"
	python3 - "$1" "$T/tshark.txt" "$3" <<'EOF' || fail "$3: differs from tshark"
import sys
ours, names = {}, set()
for line in open(sys.argv[1]):
    w = line.split()
    if not w:
        continue
    if w[0] == "app":
        kv = dict(x.split("=", 1) for x in w[1:])
        if kv["event"] == "END":
            ours[(kv["cli"], kv["srv"])] = kv
    elif w[0] == "hostname":
        kv = dict(x.split("=", 1) for x in w[1:])
        names.add((kv["addr"], kv["name"], kv["source"]))
bad = []
want = {}
dns_pairs = set()
def ep(a, p):
    return ("[%s]:%s" % (a, p)) if ":" in a else ("%s:%s" % (a, p))
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("|")
    src, dst = f[0] or f[1], f[4] or f[5]
    sp, dp = f[2] or f[3], f[6] or f[7]
    sni, ja3, host, qname, resp = f[8], f[9], f[10], f[11], f[12]
    if resp in ("1", "True"):
        for a in (f[13] + "," + f[14]).split(","):
            if a and qname:
                dns_pairs.add((a, qname.split(",")[0].lower()))
        continue
    if f[15]:
        # A ServerHello: its flow's client is the destination.
        want.setdefault((ep(dst, dp), ep(src, sp)), {})["ja3s"] = f[15]
        continue
    key = (ep(src, sp), ep(dst, dp))
    e = want.setdefault(key, {})
    if sni:
        e["sni"] = sni.lower(); e["ja3"] = ja3
    if host:
        e["http_host"] = host.lower()
    if qname:
        e["dns_query"] = qname.split(",")[0].lower()
def sink_ep(s):
    a, p = s.rsplit(":", 1)
    return ep(a, p)
ours = {(sink_ep(c), sink_ep(s)): v for (c, s), v in ours.items()}
checked = 0
for key, e in sorted(want.items()):
    o = ours.get(key)
    if o is None:
        bad.append("%s: no application block (tshark: %s)" % (key, e))
        continue
    for k, v in e.items():
        checked += 1
        if o.get(k) != v:
            bad.append("%s: %s ours %r tshark %r" % (key, k, o.get(k), v))
    proto = "TLS" if "sni" in e else "HTTP" if "http_host" in e else "DNS"
    if proto not in o["app"].split("."):
        bad.append("%s: protocol %s, tshark saw %s" % (key, o["app"], proto))
    if "sni" in e or "http_host" in e:
        src = "sni" if "sni" in e else "http"
        name = e.get("sni") or e.get("http_host")
        srv = key[1].rsplit(":", 1)[0].strip("[]")
        if (srv, name, src) not in names:
            bad.append("%s: no host-name record %s %s" % (key, name, src))
for a, q in sorted(dns_pairs):
    checked += 1
    if (a, q, "dns") not in names:
        bad.append("dns answer %s -> %s: no host-name record" % (q, a))
if not want:
    bad.append("tshark saw no TLS, HTTP or DNS")
print("%s: %d flows, %d fields and answers checked against tshark, %d "
      "host-name records" % (sys.argv[3], len(want), checked, len(names)))
for b in bad[:20]:
    print("  " + b)
sys.exit(1 if bad else 0)
EOF
	checks=$((checks + 1))
}

# ---- 1. a generated file ----
"$BENCH" -a -S 50 -n 2400 -w "$T/app.pcap" >/dev/null || fail "write pcap"
start_daemon sink "$BIN/evflow-capture-sink" "ipc://$D/router.ipc"
"$BIN/evflow-capture" -d "$D" -N capfile -r "$T/app.pcap" \
    >"$T/capfile.log" 2>&1 || fail "evflow-capture -r: $(cat "$T/capfile.log")"
# No payload, no application block: the bench file's bare handshakes of
# sessions cut by its end have none.
kill -TERM "$(pid_of sink)"
end=$(( $(now_s) + WAIT_SECS ))
while daemon_alive sink; do
	[ "$(now_s)" -ge "$end" ] && fail "sink did not stop"
	sleep 0.1
done
grep -q "^sink .* lost=0 " "$T/sink.log" || fail "sink lost records"
compare "$T/sink.log" "$T/app.pcap" "generated file"
stats=$(grep '^stats ' "$T/sink.log" | tail -1)
for k in dpi_flows dpi_detected names_learned hostname_records \
    dns_responses; do
	v=$(echo "$stats" | tr ' ' '\n' | sed -n "s/^$k=//p")
	[ "${v:-0}" -gt 0 ] || fail "counter $k is ${v:-missing}"
done
check_eq "no unknown protocol" "$(echo "$stats" | tr ' ' '\n' |
    sed -n 's/^dpi_unknown=//p')" 0
# capture.dpi=no: no application block at all, names still learned.
start_daemon sink2 "$BIN/evflow-capture-sink" "ipc://$D/router.ipc"
"$BIN/evflow-capture" -d "$D" -N capoff -r "$T/app.pcap" -o capture.dpi=no \
    >"$T/capoff.log" 2>&1 || fail "evflow-capture -o capture.dpi=no"
kill -TERM "$(pid_of sink2)"
end=$(( $(now_s) + WAIT_SECS ))
while daemon_alive sink2; do
	[ "$(now_s)" -ge "$end" ] && fail "sink did not stop"
	sleep 0.1
done
check_eq "dpi off: no application block" "$(grep -c '^app ' "$T/sink2.log")" 0
[ "$(grep -c '^hostname .*source=dns' "$T/sink2.log")" -gt 0 ] ||
	fail "dpi off: DNS names not learned"
checks=$((checks + 1))

# ---- 1b. the same file into the real router and store ----
# What the sink got (checked against tshark above) is what SQLite holds:
# the application columns of every packet flow, and host_names.
if [ -x "$BIN/evflow-store" ] && [ -x "$BIN/evflow-router" ] &&
    command -v sqlite3 >/dev/null; then
	start_daemon store "$BIN/evflow-store" -d "$D" -N store
	wait_ctl store
	start_daemon router "$BIN/evflow-router" -d "$D" -N router -i filecap
	wait_ctl router
	"$BIN/evflow-capture" -d "$D" -N capstore -r "$T/app.pcap" -I filecap \
	    >"$T/capstore.log" 2>&1 || fail "evflow-capture -r into the store"
	python3 - "$T/sink.log" "$T/want_rows.txt" "$T/want_names.txt" <<'EOF2'
import sys
rows, names = set(), {}
for line in open(sys.argv[1]):
    w = line.split()
    if w and w[0] == "app":
        kv = dict(x.split("=", 1) for x in w[1:])
        if kv["event"] != "END":
            continue
        c, cp = kv["cli"].rsplit(":", 1)
        s, sp = kv["srv"].rsplit(":", 1)
        rows.add("|".join([c, cp, s, sp] + [kv[k] if kv[k] != "-" else ""
                 for k in ("app", "category", "sni", "ja3", "ja3s",
                           "http_host", "dns_query")]))
    elif w and w[0] == "hostname":
        kv = dict(x.split("=", 1) for x in w[1:])
        names[(kv["addr"], kv["name"])] = kv["source"]
open(sys.argv[2], "w").write("".join(r + "\n" for r in sorted(rows)))
open(sys.argv[3], "w").write("".join("%s|%s|%s\n" % (a, n, s)
                             for (a, n), s in sorted(names.items())))
EOF2
	Q="SELECT cli_addr, cli_port, srv_addr, srv_port, app_proto,
	    coalesce(app_category, ''), coalesce(tls_sni, ''), coalesce(ja3, ''),
	    coalesce(ja3s, ''), coalesce(http_host, ''), coalesce(dns_query, '')
	    FROM flows_v WHERE iface = 'filecap' AND app_proto IS NOT NULL"
	wait_sql "every application block in SQLite" "SELECT count(*) FROM ($Q)" \
	    "$(wc -l <"$T/want_rows.txt" | tr -d ' ')"
	sql "$Q" | LC_ALL=C sort >"$T/got_rows.txt"
	LC_ALL=C sort "$T/want_rows.txt" >"$T/want_rows.sorted"
	cmp -s "$T/got_rows.txt" "$T/want_rows.sorted" ||
		fail "SQLite's application columns differ: $(diff "$T/want_rows.sorted" "$T/got_rows.txt" | head -5)"
	check_eq "flows without a payload have no application" "$(sql "SELECT
	    count(*) FROM flows_v WHERE iface = 'filecap' AND app_proto IS NULL
	    AND (tls_sni IS NOT NULL OR dns_query IS NOT NULL)")" 0
	wait_sql "host_names has every name" "SELECT count(*) FROM host_names" \
	    "$(wc -l <"$T/want_names.txt" | tr -d ' ')"
	sql "SELECT addr, name, source FROM host_names" | LC_ALL=C sort \
	    >"$T/got_names.txt"
	LC_ALL=C sort "$T/want_names.txt" >"$T/want_names.sorted"
	cmp -s "$T/got_names.txt" "$T/want_names.sorted" ||
		fail "host_names differs: $(diff "$T/want_names.sorted" "$T/got_names.txt" | head -5)"
	checks=$((checks + 2))
	kill -TERM "$(pid_of router)" "$(pid_of store)"
	end=$(( $(now_s) + WAIT_SECS ))
	while daemon_alive router || daemon_alive store; do
		[ "$(now_s)" -ge "$end" ] && fail "router or store did not stop"
		sleep 0.1
	done
else
	echo "capture_dpi: store part skipped (no evflow-store, router or sqlite3)"
fi

# ---- 2. live traffic between two namespaces ----
if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "capture_dpi: live part skipped (needs root and ip netns)"
	echo "capture_dpi: $checks checks passed"
	exit 0
fi
for c in tcpdump curl openssl ss; do
	command -v "$c" >/dev/null || skip "no $c"
done
NA=evfda$$ NB=evfdb$$ VA=evda$$ VB=evdb$$
NET=10.214.$(( $$ % 250 ))
CLI=$NET.1 SRV=$NET.2
TLS_PORT=4433 HTTP_PORT=8080
trap netns_cleanup EXIT
netns_pair "$NA" "$NB" "$VA" "$VB" "$CLI" "$SRV"

# A certificate for tls.evflow.test, made here.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj \
    "/CN=tls.evflow.test" -addext "subjectAltName=DNS:tls.evflow.test" \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 ||
	fail "openssl req"
helper tls ip netns exec "$NB" openssl s_server -accept "$SRV:$TLS_PORT" \
    -cert "$T/cert.pem" -key "$T/key.pem" -www -quiet
mkdir -p "$T/www"
echo hello >"$T/www/index.html"
helper http ip netns exec "$NB" python3 -m http.server "$HTTP_PORT" \
    --bind "$SRV" --directory "$T/www"
# A DNS responder: A for any name, the server's address, TTL 60.
DNSD='
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
ip = socket.inet_aton(sys.argv[1])
while True:
    q, a = s.recvfrom(512)
    end = 12
    while q[end] != 0:
        end += q[end] + 1
    question = q[12:end + 5]
    r = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + question
    r += struct.pack("!HHHIH", 0xc00c, 1, 1, 60, 4) + ip
    s.sendto(r, a)'
helper dnsd ip netns exec "$NB" python3 -c "$DNSD" "$SRV"
end=$(( $(now_s) + WAIT_SECS ))
until ip netns exec "$NB" ss -ltn | grep -q ":$TLS_PORT " &&
    ip netns exec "$NB" ss -ltn | grep -q ":$HTTP_PORT " &&
    ip netns exec "$NB" ss -lun | grep -q ":53 "; do
	[ "$(now_s)" -ge "$end" ] && fail "servers did not start"
	sleep 0.1
done

start_daemon sink3 "$BIN/evflow-capture-sink" "ipc://$D/router.ipc"
start_daemon tcpdump ip netns exec "$NA" tcpdump -i "$VA" -n -U -s 262144 \
    -w "$T/live.pcap"
start_daemon cap ip netns exec "$NA" "$BIN/evflow-capture" -d "$D" -N cap \
    -i "$VA" -o capture.linger=1 -o capture.immediate=yes
wait_ctl cap
end=$(( $(now_s) + WAIT_SECS ))
until grep -q "listening on" "$T/tcpdump.log"; do
	[ "$(now_s)" -ge "$end" ] && fail "tcpdump did not start"
	sleep 0.1
done

DNSQ='
import random, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
q = struct.pack("!HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
for l in sys.argv[2].split("."):
    q += bytes([len(l)]) + l.encode()
q += b"\0" + struct.pack("!HH", 1, 1)
s.sendto(q, (sys.argv[1], 53))
r = s.recv(512)
assert r[-4:] == socket.inet_aton(sys.argv[1]), r'
ip netns exec "$NA" python3 -c "$DNSQ" "$SRV" tls.evflow.test ||
	fail "dns query"
ip netns exec "$NA" curl -s -o /dev/null --max-time 10 \
    --cacert "$T/cert.pem" --resolve "tls.evflow.test:$TLS_PORT:$SRV" \
    "https://tls.evflow.test:$TLS_PORT/" || fail "curl over TLS"
ip netns exec "$NA" curl -s -o /dev/null --max-time 10 \
    -H "Host: web.evflow.test" "http://$SRV:$HTTP_PORT/" || fail "curl http"

wait_counter "tcp flows ended" cap flows_ended 2
kill -INT "$(pid_of tcpdump)"
kill -TERM "$(pid_of cap)"
end=$(( $(now_s) + WAIT_SECS ))
while daemon_alive tcpdump || daemon_alive cap; do
	[ "$(now_s)" -ge "$end" ] && fail "tcpdump or capture did not stop"
	sleep 0.1
done
kill -TERM "$(pid_of sink3)"
end=$(( $(now_s) + WAIT_SECS ))
while daemon_alive sink3; do
	[ "$(now_s)" -ge "$end" ] && fail "sink did not stop"
	sleep 0.1
done
compare "$T/sink3.log" "$T/live.pcap" "live traffic"
# The three names of the server, in the order seen: the DNS answer, then
# the SNI, then the HTTP Host (each a change of its one cached name).
grep '^hostname ' "$T/sink3.log" | awk '{print $2, $3, $4}' \
    >"$T/names.txt"
cat >"$T/names.want" <<EOF
addr=$SRV name=tls.evflow.test source=dns
addr=$SRV name=tls.evflow.test source=sni
addr=$SRV name=web.evflow.test source=http
EOF
cmp -s "$T/names.txt" "$T/names.want" ||
	fail "host-name records: $(cat "$T/names.txt")"
checks=$((checks + 1))
grep '^app .*srv='"$SRV:$TLS_PORT" "$T/sink3.log" | grep -q ' event=END' ||
	fail "no application block for the TLS flow"
echo "capture_dpi: $checks checks passed"
