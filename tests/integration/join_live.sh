#!/bin/sh
# join_live: issue 11, the join of live flows with DEFAULT settings (no
# timeout shortened: capture.active_timeout and capture.idle_timeout
# 60 s, store.join_window 30 s).  Two network namespaces joined by a
# veth pair, as in join_companion; evflow-capture on the client's end,
# marked mirrored and the companion of a ZMQ interface.
#
#   TCP  a python3 client holds a connection to a python3 server open
#        (a ping every second, then quiet); the server's ACCEPT, sent by
#        evflow-testpub 1 s after the connection was made with the real
#        5-tuple and pid, joins the packet flow while it is live and the
#        joined row is in SQLite within seconds: long before the
#        capture's active timeout, which used to be the first report.
#        After several updates of the capture the row's packet counters
#        are the client socket's own segment counts (ss: segs_out,
#        segs_in), not a sum of updates; one row for the flow.
#   UDP  a one-shot request/response (DNS style); the client's SEND 1 s
#        after it joins within seconds (it used to wait for the 60 s idle
#        timeout and expire from the 30 s window), exact counters.
#   Counters: joins 1 then 2, misses 0, nothing evicted, attribution
#   100 % while the flows are live (it counts live packet flows too); the
#   same numbers in `evflowctl status` (text) and in webd's /metrics
#   while the store runs (evflow_iface_joins{daemon="store",iface=...}).
#
# Needs root and `ip netns` (exit 77 otherwise).  Names are unique per
# run; namespaces, processes and the temp dir are removed on exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"
JL="$(dirname "$0")/join_lib"

need_netns curl python3 sqlite3 ss
need_bins evflow-capture evflow-store evflow-router evflow-collector \
    evflow-testpub evflow-ctlq evflow-webd evflowctl

lib_init
NA=evjla$$ NB=evjlb$$ VA=evla$$ VB=evlb$$
NET=10.215.$(( $$ % 250 ))
CLI=$NET.1 SRV=$NET.2
TCP_PORT=8081 TCP_CPORT=41101 UDP_PORT=5301 UDP_CPORT=40153
SOON=6		# seconds: "within seconds" (the active timeout is 60)
P=$(free_port)
Z="tcp://127.0.0.1:${P}c"
SH=$(readlink -f /proc/$$/exe)

trap netns_cleanup EXIT

NETNS_NO_IPV6=1 netns_pair "$NA" "$NB" "$VA" "$VB" "$CLI" "$SRV"

# Servers in B: a TCP echo (one connection) and a UDP echo answering
# twice the bytes it got.
TCPSRV='
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
c, a = s.accept()
while True:
    d = c.recv(65535)
    if not d:
        break
    c.sendall(d)
c.close()'
UDPSRV='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d * 2, a)'
helper tcpsrv ip netns exec "$NB" python3 -c "$TCPSRV" "$SRV" "$TCP_PORT"
TCPSRV_PID=$LAST
helper udpsrv ip netns exec "$NB" python3 -c "$UDPSRV" "$SRV" "$UDP_PORT"
end=$(( $(now_s) + WAIT_SECS ))
until ip netns exec "$NB" ss -ltn | grep -q ":$TCP_PORT " &&
    ip netns exec "$NB" ss -lun | grep -q ":$UDP_PORT "; do
	[ "$(now_s)" -ge "$end" ] && fail "servers did not start"
	sleep 0.1
done
PY=$(readlink -f "/proc/$TCPSRV_PID/exe")
case "$PY" in *python*) ;; *) fail "tcp server pid $TCPSRV_PID is '$PY'" ;; esac

# The pipeline, every timeout at its default.  The router's
# configuration marks the veth end mirrored, the companion of $Z.
start_daemon store "$BIN/evflow-store" -d "$D" -N store
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$Z" -i "$VA" \
    -o mirrored="$VA" -o "companion=$Z $VA"
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$Z"
wait_ctl col0
start_daemon cap ip netns exec "$NA" "$BIN/evflow-capture" -d "$D" -N cap \
    -i "$VA" -F "tcp or udp"
wait_ctl cap
start_webd webd

sif() {	# sif IFACE KEY: a per-interface number of the store's stats
	"$BIN/evflow-ctlq" -t 2000 "ipc://$D/store.ctl" stats |
	    python3 -c 'import json, sys
s = json.load(sys.stdin)
for i in s["interfaces"]:
    if i["name"] == sys.argv[1]:
        v = i.get(sys.argv[2])
        print("null" if v is None else v)' "$1" "$2"
}
ev() {	# ev ARGS (join_lib/ev.py): publishes one event now
	python3 "$JL/ev.py" "$@" >"$T/ev.jsonl" || fail "ev.py $*"
	publish -q -z "$Z" -f "$T/ev.jsonl" >/dev/null
}
row() {	# row CPORT COLUMNS: the packet flow's row in $VA
	sql "SELECT $2 FROM flows_v WHERE iface = '$VA' AND cli_port = $1"
}
seen_within() {	# seen_within DESC START: took at most $SOON s from START
	took=$(( $(now_s) - $2 ))
	echo "$1: $took s"
	check_eq "$1 within $SOON s" "$([ "$took" -le $SOON ] && echo yes)" yes
}

# --- TCP: a connection that stays open; a ping a second until
# $T/quiet exists, then silence until $T/close exists.
TCPCLI='
import os, socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[3])))
s.connect((sys.argv[2], int(sys.argv[4])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t = sys.argv[5]
def ping():
    s.sendall(b"p" * 100)
    got = 0
    while got < 100:
        got += len(s.recv(100 - got))
ping()
open(t + "/up", "w").close()
end = time.time() + 50
while not os.path.exists(t + "/quiet") and time.time() < end:
    time.sleep(1)
    ping()
while not os.path.exists(t + "/close") and time.time() < end:
    time.sleep(0.1)
s.close()'
helper tcpcli ip netns exec "$NA" python3 -c "$TCPCLI" "$CLI" "$SRV" \
    "$TCP_CPORT" "$TCP_PORT" "$T"
TCPCLI_PID=$LAST
wait_true "the TCP connection is up" "test -f $T/up"
sleep 1
t0=$(now_s)
ev ACCEPT 6 "$CLI" $TCP_CPORT "$SRV" $TCP_PORT eth0 "$TCPSRV_PID" "$PY" \
    "-c tcpsrv" $$ "$SH"
wait_sql "TCP: the ACCEPT joined the live flow, row in SQLite" "SELECT
    source, srv_pid, srv_process, ifnull(cli_pid, '-'), c2s_packets > 0
    FROM flows_v WHERE iface = '$VA' AND cli_port = $TCP_CPORT" \
    "joined|$TCPSRV_PID|$PY|-|1" $SOON
seen_within "TCP joined and written" "$t0"
check_eq "TCP: the connection is still open" \
    "$(kill -0 "$TCPCLI_PID" 2>/dev/null && echo open)" open
check_eq "$VA joins (TCP)" "$(sif "$VA" joins)" 1
check_eq "$VA misses (TCP)" "$(sif "$VA" misses)" 0
check_eq "capture: the flow's first report (1 s after its first packet)" \
    "$(counter cap flow_first_reports)" 1

# --- UDP: one request, one answer; the client's SEND 1 s later.
UDPCLI='
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[3])))
s.settimeout(5)
s.sendto(b"q" * 100, (sys.argv[2], int(sys.argv[4])))
d, a = s.recvfrom(65535)
assert len(d) == 200
open(sys.argv[5] + "/udp", "w").close()
time.sleep(5)'
helper udpcli ip netns exec "$NA" python3 -c "$UDPCLI" "$CLI" "$SRV" \
    "$UDP_CPORT" "$UDP_PORT" "$T"
UDPCLI_PID=$LAST
wait_true "the UDP exchange is done" "test -f $T/udp"
sleep 1
t0=$(now_s)
ev SEND 17 "$CLI" $UDP_CPORT "$SRV" $UDP_PORT eth0 "$UDPCLI_PID" "$PY" \
    "-c udpcli" $$ "$SH"
wait_sql "UDP: the SEND joined the exchange, exact counters" "SELECT
    source, cli_pid, cli_process, ifnull(srv_pid, '-'), c2s_packets,
    c2s_bytes, s2c_packets, s2c_bytes FROM flows_v WHERE iface = '$VA' AND
    cli_port = $UDP_CPORT" "joined|$UDPCLI_PID|$PY|-|1|128|1|228" $SOON
seen_within "UDP joined and written" "$t0"
check_eq "$VA joins (TCP, UDP)" "$(sif "$VA" joins)" 2
check_eq "$VA misses" "$(sif "$VA" misses)" 0
check_eq "$VA pending" "$(sif "$VA" pending)" 0

# --- The TCP flow after several updates: its counters are the socket's.
sleep 6		# pings go on: the capture sends updates
touch "$T/quiet"
sleep 2		# the last ping answered and acknowledged
ss_segs() {
	ip netns exec "$NA" ss -tinH state established \
	    "( sport = :$TCP_CPORT )" | tr ' ' '\n' | sed -n "s/^$1://p"
}
SO=$(ss_segs segs_out) SI=$(ss_segs segs_in)
[ -n "$SO" ] && [ -n "$SI" ] || fail "ss has no segment counts"
echo "client socket: segs_out $SO, segs_in $SI"
wait_sql "TCP: packet counters are the socket's segments, not summed" \
    "SELECT c2s_packets, s2c_packets, updates >= 3 FROM flows_v WHERE
    iface = '$VA' AND cli_port = $TCP_CPORT" "$SO|$SI|1" 10
check_eq "capture: updates sent for the live flows" \
    "$([ "$(counter cap flow_updates)" -ge 3 ] && echo yes)" yes

# --- Observability while the store runs: status text and /metrics.
"$BIN/evflowctl" status -d "$D" >"$T/status.txt" 2>&1
grep -E "^ +iface [0-9]+ $VA \(packet\) " "$T/status.txt" >"$T/status.va" ||
	{ cat "$T/status.txt"; fail "status: no line for $VA"; }
sed 's/^/status: /' "$T/status.va"
for kv in joins=2 misses=0 pending_evicted=0 packet_flows=0 \
    live_packet_flows=2 live_packet_flows_with_process=2 \
    attribution=100.0%; do
	grep -q " $kv" "$T/status.va" ||
	    { cat "$T/status.va"; fail "status: $VA line lacks $kv"; }
	checks=$((checks + 1))
done
A="Authorization: Bearer $W_TOKEN"
wait_true "/metrics" "[ \$(req GET /metrics -H '$A') = 200 ]"
for m in "joins 2" "misses 0" "pending_evicted 0" "packet_flows 0" \
    "packet_flows_with_process 0" "live_flows 2" "live_packet_flows 2" \
    "attribution_ratio 1"; do
	grep -q "^evflow_iface_${m% *}{daemon=\"store\",iface=\"$VA\"} ${m#* }\$" \
	    "$T/body" || { grep "iface=\"$VA\"" "$T/body"; \
	    fail "/metrics: evflow_iface_${m% *} of $VA is not ${m#* }"; }
	checks=$((checks + 1))
done

# --- The end: one row per flow, the join kept.
touch "$T/close"
wait "$TCPCLI_PID" || fail "tcp client"
wait_sql "TCP: ended (FIN both ways), still one joined row" "SELECT
    count(*), min(source), min(tcp_state), min(c2s_packets) >= $SO FROM
    flows_v WHERE iface = '$VA' AND cli_port = $TCP_CPORT" "1|joined|CLOSE|1"
check_eq "UDP: one row" "$(row $UDP_CPORT 'count(*)')" 1
check_eq "$VA joins at the end" "$(sif "$VA" joins)" 2
check_eq "$VA misses at the end" "$(sif "$VA" misses)" 0
all_alive
pass
