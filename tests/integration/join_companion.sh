#!/bin/sh
# join_companion: the demonstration of issue 4.  Real traffic between two
# network namespaces joined by a veth pair (curl downloads from python3's
# http.server, a UDP exchange, a loopback connection inside the server's
# namespace) is captured by evflow-capture on the client's veth end,
# which the router marks mirrored and makes the companion of a ZMQ
# interface, both at runtime over its control socket.  evflow-testpub
# publishes libebpfflow-style events for those same connections (their
# 5-tuples are known: every client port is fixed) carrying the real
# processes (pids of the curl, python3 server and client processes).
#
# Asserted in the store's SQLite file and counters:
#   - packet flows carry the processes on the right sides (CONNECT ->
#     cli_, ACCEPT -> srv_, one flow with both), source 'joined', packet
#     counters from the capture (exact for the UDP exchange);
#   - an event published before the first packet joins (it waits, the
#     store's pending gauge shows it), so do events published after the
#     capture ended the flow;
#   - loopback events stay out of the companion (only in the ZMQ
#     interface; the router counts companion_skipped_loopback);
#   - IF_NAME dispatch: with no companion, an event naming the capture
#     interface still lands there and joins; one naming nothing does not;
#   - companion none, then back: the next events follow, no restart;
#     an event naming the companion by IF_NAME lands there once;
#   - a restarted router restores the saved settings and joins go on;
#   - the UDP server's SEND (packet order server -> client, sides
#     guessed) lands on the server side of the packet flow;
#   - an event with no packets stays event-only (no invented counters)
#     and is counted a miss when its window ends;
#   - joins, misses, packet flows with/without a process and the
#     attribution ratio agree between the store's stats, daemon_counters
#     and the rows (iface_attribution), and the settings are saved.
#
# Needs root and `ip netns` (exit 77 otherwise).  Names are unique per
# run; namespaces, processes and the temp dir are removed on exit.
. "$(dirname "$0")/lib.sh"
JL="$(dirname "$0")/join_lib"

need_netns curl python3 sqlite3 ss
need_bins evflow-capture evflow-store evflow-router evflow-collector \
    evflow-testpub evflow-ctlq

lib_init
NA=evjca$$ NB=evjcb$$ VA=evja$$ VB=evjb$$
NET=10.214.$(( $$ % 250 ))
CLI=$NET.1 SRV=$NET.2
HTTP_PORT=8080 UDP_PORT=5300 UDP_CPORT=40053
CP1=41001 CP2=41002 CP3=41003 CP4=41004 CP5=41005 CP6=41006 CPX=41009
LP=42001
SIZE=200000
WINDOW=12	# store.join_window, seconds: covers each wait below
P=$(free_port)
Z="tcp://127.0.0.1:${P}c"
URL="http://$SRV:$HTTP_PORT/blob"
SH=$(readlink -f /proc/$$/exe)
CURL=$(readlink -f "$(command -v curl)")

trap netns_cleanup EXIT

# The namespaces, IPv4 only (no IPv6 chatter on the link: every packet
# flow on it is one of ours).
NETNS_NO_IPV6=1 netns_pair "$NA" "$NB" "$VA" "$VB" "$CLI" "$SRV"

# Servers in B: HTTP on every address (the veth and loopback), a UDP echo
# answering twice the bytes it got.
mkdir -p "$T/www"
head -c $SIZE /dev/urandom >"$T/www/blob"
helper http ip netns exec "$NB" python3 -m http.server "$HTTP_PORT" \
    --bind 0.0.0.0 --directory "$T/www"
HTTP_PID=$LAST
ECHO='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d * 2, a)'
helper udpecho ip netns exec "$NB" python3 -c "$ECHO" "$SRV" "$UDP_PORT"
ECHO_PID=$LAST
end=$(( $(now_s) + WAIT_SECS ))
until ip netns exec "$NB" ss -ltn | grep -q ":$HTTP_PORT " &&
    ip netns exec "$NB" ss -lun | grep -q ":$UDP_PORT "; do
	[ "$(now_s)" -ge "$end" ] && fail "servers did not start"
	sleep 0.1
done
PY=$(readlink -f "/proc/$HTTP_PID/exe")
case "$PY" in *python*) ;; *) fail "http server pid $HTTP_PID is '$PY'" ;; esac

# The pipeline: store, router (ZMQ interface 0, the veth end 1), one
# collector, the capture in A.  Short TCP flows end 1 s after their FIN
# (linger) and reach the store as one END record, so their rows appear
# when they ended; the UDP exchange is reported 1 s after its first
# packet (a live flow) and ends 2 s after its last.
start_daemon store "$BIN/evflow-store" -d "$D" -N store \
    -o store.join_window=$WINDOW
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$Z" -i "$VA"
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$Z"
wait_ctl col0
# The capture drops to nobody once its handle is open (docs/security.md):
# the router restarted below must let that user connect (a traversable
# $T, the new router's socket made under umask 0).
chmod 0711 "$T"
start_daemon cap ip netns exec "$NA" "$BIN/evflow-capture" -d "$D" -N cap \
    -i "$VA" -F "tcp or udp" -o capture.linger=1 -o capture.idle_timeout=2 \
    -o capture.immediate=yes -o capture.user=nobody
wait_ctl cap
ROUTER_PID=$(pid_of router) COL_PID=$(pid_of col0) STORE_PID=$(pid_of store)

# Runtime settings over the router's control socket.
check_eq "refused: companion not mirrored yet" \
    "$(ctl router iface set "$Z" companion "$VA" 2>&1 | cut -c1-7)" "error: "
check_eq "mirrored" "$(ctl router iface set "$VA" mirrored yes)" "ok"
check_eq "companion" "$(ctl router iface set "$Z" companion "$VA")" "ok"

# --- helpers --------------------------------------------------------
# Store stats of interface $1: key $2 (a counter, pending, live_flows,
# attribution_ratio).
sif() {
	"$BIN/evflow-ctlq" -t 2000 "ipc://$D/store.ctl" stats |
	    python3 -c 'import json, sys
s = json.load(sys.stdin)
for i in s["interfaces"]:
    if i["name"] == sys.argv[1]:
        v = i.get(sys.argv[2], i.get("counters", {}).get(sys.argv[2]))
        print("null" if v is None else v)' "$1" "$2"
}
rctr() {	# router counter
	counter router "$1"
}
# ev ARGS: appends events (join_lib/ev.py arguments) to $T/ev.jsonl.
ev() {
	python3 "$JL/ev.py" "$@" >>"$T/ev.jsonl" || fail "ev.py $*"
}
# pub [ARGS]: publishes $T/ev.jsonl (evflow-testpub ARGS) and empties it.
pub() {
	publish -q -z "$Z" "$@" -f "$T/ev.jsonl" >/dev/null
	: >"$T/ev.jsonl"
}
: >"$T/ev.jsonl"
# The row of a TCP/UDP flow in interface $1 with client port $2: columns $3.
frow() {
	sql "SELECT $3 FROM flows_v WHERE iface = '$1' AND cli_port = $2"
}
wait_row() {	# wait_row DESC IFACE CPORT
	wait_sql "$1" "SELECT count(*) FROM flows_v WHERE iface = '$2' AND
	    cli_port = $3" 1
}
# curl_at CPORT OUT [NS ADDR]: one download from client port CPORT, in the
# background; its pid in $CURL_PID (ip netns exec and sh exec into curl).
curl_at() {
	ns=${3:-$NA} url=$URL
	[ -n "$4" ] && url="http://$4:$HTTP_PORT/blob"
	mkfifo "$T/go.$1"
	ip netns exec "$ns" sh -c 'read x <"$1"; exec curl -s -o "$2" \
	    --local-port "$3" "$4"' sh "$T/go.$1" "$2" "$1" "$url" &
	CURL_PID=$!
}
curl_go() {	# curl_go CPORT PID OUT: release and wait for a curl_at
	echo go >"$T/go.$1"
	wait "$2" || fail "curl from port $1"
	check_eq "downloaded size (port $1)" "$(wc -c <"$3")" $SIZE
}

# --- 1. An event before the first packet (CONNECT of curl 1), then its
# server's ACCEPT after the capture ended the flow: both sides.
curl_at $CP1 "$T/got1"; P1=$CURL_PID
ev CONNECT 6 "$CLI" $CP1 "$SRV" $HTTP_PORT eth0 "$P1" "$CURL" "$URL" $$ "$SH"
pub
wait_true "the CONNECT waits in $VA (pending 1)" \
    '[ "$(sif "$VA" pending)" = 1 ]'
wait_sql "it is an event-only row in $VA, no packet counters" "SELECT
    source, ifnull(c2s_packets, 'NULL') FROM flows_v WHERE iface = '$VA'
    AND cli_port = $CP1" "event|NULL"
curl_go $CP1 "$P1" "$T/got1"
wait_sql "curl 1 joined in $VA on its packets" "SELECT source FROM flows_v
    WHERE iface = '$VA' AND cli_port = $CP1 AND c2s_packets > 0" joined
# (from the server host: another exporter, source id 2)
ev ACCEPT 6 "$CLI" $CP1 "$SRV" $HTTP_PORT eth0 "$HTTP_PID" "$PY" \
    "-m http.server" $$ "$SH"
pub --source-id 2
wait_sql "curl 1: server process joined after the flow ended" \
    "SELECT ifnull(srv_pid, '-') FROM flows_v WHERE iface = '$VA' AND
    cli_port = $CP1" "$HTTP_PID"

# --- 2. Events after the flows ended: curl 2 (client side only), the
# UDP exchange (SEND from the client), and a loopback connection in B
# (CONNECT and ACCEPT, addresses 127.0.0.1), plus an event for a
# connection that never happened (a miss).
curl_at $CP2 "$T/got2"; P2=$CURL_PID
curl_go $CP2 "$P2" "$T/got2"
UDPCLI='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[3])))
s.settimeout(5)
for n in (100, 200, 300):
    s.sendto(b"x" * n, (sys.argv[2], int(sys.argv[4])))
    d, a = s.recvfrom(65535)
    assert len(d) == 2 * n'
ip netns exec "$NA" python3 -c "$UDPCLI" "$CLI" "$SRV" "$UDP_CPORT" \
    "$UDP_PORT" &
UP=$!
wait $UP || fail "udp exchange"
curl_at $LP "$T/gotlo" "$NB" 127.0.0.1; PL=$CURL_PID
curl_go $LP "$PL" "$T/gotlo"
wait_row "curl 2 ended in $VA" "$VA" $CP2
wait_row "udp exchange reported in $VA" "$VA" $UDP_CPORT
wait_true "udp exchange ended (idle)" '[ "$(counter cap flows_expired)" = 1 ]'
sleep 0.5	# its END record on the way to the store
ev CONNECT 6 "$CLI" $CP2 "$SRV" $HTTP_PORT eth0 "$P2" "$CURL" "$URL" $$ "$SH"
ev SEND 17 "$CLI" $UDP_CPORT "$SRV" $UDP_PORT eth0 "$UP" "$PY" \
    "-c udpcli" $$ "$SH"
ev CONNECT 6 127.0.0.1 $LP 127.0.0.1 $HTTP_PORT lo "$PL" "$CURL" \
    "http://127.0.0.1:$HTTP_PORT/blob" $$ "$SH"
ev ACCEPT 6 127.0.0.1 $LP 127.0.0.1 $HTTP_PORT lo "$HTTP_PID" "$PY" \
    "-m http.server" $$ "$SH"
ev CONNECT 6 "$CLI" $CPX "$SRV" $HTTP_PORT eth0 4242 "$CURL" "$URL" $$ "$SH"
pub
# The UDP server's SEND from the server host: packet order server ->
# client, sides guessed by ports; it must land on the server side.
ev SEND 17 "$SRV" $UDP_PORT "$CLI" $UDP_CPORT eth0 "$ECHO_PID" "$PY" \
    "-c udpecho" $$ "$SH"
pub --source-id 2
wait_sql "curl 2 joined after it ended" "SELECT source, cli_pid,
    ifnull(srv_pid, '-') FROM flows_v WHERE iface = '$VA' AND
    cli_port = $CP2" "joined|$P2|-"
wait_sql "udp joined after it ended, both sides" "SELECT source, cli_pid,
    ifnull(srv_pid, '-') FROM flows_v WHERE iface = '$VA' AND
    cli_port = $UDP_CPORT" "joined|$UP|$ECHO_PID"
wait_sql "loopback flow in the ZMQ interface, both sides" "SELECT source,
    cli_pid, srv_pid FROM flows_v WHERE iface = '$Z' AND cli_port = $LP AND
    cli_addr = '127.0.0.1'" "event|$PL|$HTTP_PID"
wait_sql "the never-seen connection waits in $VA" "SELECT source,
    ifnull(c2s_packets, 'NULL') FROM flows_v WHERE iface = '$VA' AND
    cli_port = $CPX" "event|NULL"
check_eq "loopback events skipped by the companion" \
    "$(rctr companion_skipped_loopback)" 2
check_eq "no loopback flow in $VA" "$(sql "SELECT count(*) FROM flows_v
    WHERE iface = '$VA' AND (cli_addr LIKE '127.%' OR srv_addr LIKE
    '127.%')")" 0
check_eq "companion deliveries so far" "$(rctr companion_delivered)" 6

# --- 3. Companion none: an event naming $VA (IF_NAME dispatch) still
# lands there and joins; an event naming nothing here does not.
check_eq "companion none" "$(ctl router iface set "$Z" companion none)" ok
curl_at $CP3 "$T/got3"; P3=$CURL_PID
curl_go $CP3 "$P3" "$T/got3"
curl_at $CP4 "$T/got4"; P4=$CURL_PID
curl_go $CP4 "$P4" "$T/got4"
wait_row "curl 3 ended in $VA" "$VA" $CP3
wait_row "curl 4 ended in $VA" "$VA" $CP4
ev CONNECT 6 "$CLI" $CP3 "$SRV" $HTTP_PORT "$VA" "$P3" "$CURL" "$URL" $$ "$SH"
ev CONNECT 6 "$CLI" $CP4 "$SRV" $HTTP_PORT eth0 "$P4" "$CURL" "$URL" $$ "$SH"
pub
wait_sql "IF_NAME dispatch joined curl 3" "SELECT source, cli_pid FROM
    flows_v WHERE iface = '$VA' AND cli_port = $CP3" "joined|$P3"
wait_sql "curl 4's event reached the ZMQ interface" "SELECT cli_pid FROM
    flows_v WHERE iface = '$Z' AND cli_port = $CP4" "$P4"
check_eq "router: IF_NAME matched once" "$(rctr ifname_matched)" 1
check_eq "router: no companion delivery while none" \
    "$(rctr companion_delivered)" 6
"$BIN/evflow-ctlq" -t 2000 "ipc://$D/store.ctl" flush >/dev/null
check_eq "curl 4 stays a packet flow without process in $VA" \
    "$(frow "$VA" $CP4 "source || ifnull(cli_pid, '-')")" "packet-"

# --- 4. The companion back: the next event joins again.
check_eq "companion back" "$(ctl router iface set "$Z" companion "$VA")" ok
curl_at $CP5 "$T/got5"; P5=$CURL_PID
curl_go $CP5 "$P5" "$T/got5"
wait_row "curl 5 ended in $VA" "$VA" $CP5
# It names $VA too: IF_NAME and the companion, delivered once.
ev CONNECT 6 "$CLI" $CP5 "$SRV" $HTTP_PORT "$VA" "$P5" "$CURL" "$URL" $$ "$SH"
pub
wait_sql "companion back: curl 5 joined, one event merged" "SELECT source,
    cli_pid, events FROM flows_v WHERE iface = '$VA' AND cli_port = $CP5" \
    "joined|$P5|1"
check_eq "router: IF_NAME matched again" "$(rctr ifname_matched)" 2
check_eq "router: the companion skipped the duplicate" \
    "$(rctr companion_skipped_duplicate)" 1
check_eq "router: companion deliveries" "$(rctr companion_delivered)" 6
check_eq "no daemon restarted" \
    "$(pid_of router) $(pid_of col0) $(pid_of store)" \
    "$ROUTER_PID $COL_PID $STORE_PID"
all_alive

# --- 5. A restarted router restores the settings the store saved, and
# the capture and the collector feed it again.
kill -TERM "$ROUTER_PID"
wait "$ROUTER_PID" || fail "the router's exit status was $? on SIGTERM"
(umask 0 && exec "$BIN/evflow-router" -d "$D" -N router -i "$Z" -i "$VA") \
    >"$T/router2.log" 2>&1 &
echo $! >"$T/router2.pid"
LIB_PIDS="$! $LIB_PIDS" LIB_NAMES="$LIB_NAMES router2"
cp "$T/router2.pid" "$T/router.pid"
wait_ctl router
check_eq "restored: companion of $Z, $VA mirrored" "$(ctl router stats |
    python3 -c 'import json, sys
s = {i["name"]: i for i in json.load(sys.stdin)["interfaces"]}
print(s[sys.argv[1]]["companion"], s[sys.argv[2]]["mirrored"])' "$Z" "$VA")" \
    "$VA True"
curl_at $CP6 "$T/got6"; P6=$CURL_PID
curl_go $CP6 "$P6" "$T/got6"
wait_row "curl 6 ended in $VA (through the new router)" "$VA" $CP6
ev CONNECT 6 "$CLI" $CP6 "$SRV" $HTTP_PORT eth0 "$P6" "$CURL" "$URL" $$ "$SH"
pub
wait_sql "after the router's restart: curl 6 joined" "SELECT source,
    cli_pid FROM flows_v WHERE iface = '$VA' AND cli_port = $CP6" "joined|$P6"
check_eq "new router: companion deliveries" "$(rctr companion_delivered)" 1

# --- The rows in detail.
check_eq "curl 1 in $VA: both sides, packets, parent" "$(frow "$VA" $CP1 \
    "source, cli_addr, srv_addr, srv_port, cli_pid, cli_process, cli_user,
    cli_parent_pid, cli_parent_process, srv_pid, srv_process, last_event,
    tcp_state, events, c2s_packets > 0, s2c_bytes >= $SIZE,
    c2s_wire_bytes > c2s_bytes, sides_guessed")" \
    "joined|$CLI|$SRV|$HTTP_PORT|$P1|$CURL|root|$$|$SH|$HTTP_PID|$PY|ACCEPT|CLOSE|2|1|1|1|0"
check_eq "curl 1 in $Z: event-only, both sides, no counters" "$(frow "$Z" \
    $CP1 "source, cli_pid, srv_pid, ifnull(c2s_packets, 'NULL'),
    ifnull(s2c_bytes, 'NULL')")" "event|$P1|$HTTP_PID|NULL|NULL"
check_eq "curl 2 in $VA: the client only" "$(frow "$VA" $CP2 \
    "cli_process, ifnull(srv_process, '-'), s2c_bytes >= $SIZE")" \
    "$CURL|-|1"
check_eq "udp in $VA: both processes, exact packet counters" \
    "$(frow "$VA" $UDP_CPORT "protocol, cli_addr, srv_port, cli_process,
    srv_pid, sides_guessed, c2s_packets, c2s_bytes, s2c_packets, s2c_bytes,
    c2s_wire_bytes, s2c_wire_bytes")" \
    "17|$CLI|$UDP_PORT|$PY|$ECHO_PID|0|3|684|3|1284|726|1326"
check_eq "loopback flow only in $Z" "$(sql "SELECT group_concat(iface)
    FROM flows_v WHERE cli_port = $LP")" "$Z"
check_eq "every event reached the ZMQ interface" "$(sql "SELECT
    count(*) FROM flows_v WHERE iface = '$Z'")" 9

# --- Counters once every packet flow left the table (the join window
# after its end) and the lone event expired: stats, daemon_counters and
# the rows agree.
kill -TERM "$(pid_of cap)"
wait_true "every $VA flow left the table" \
    '[ "$(sif "$VA" live_flows)" = 0 ]' $((WINDOW + WAIT_SECS))
check_eq "$VA joins" "$(sif "$VA" joins)" 8
check_eq "$VA misses (the lone event)" "$(sif "$VA" misses)" 1
check_eq "$VA packet flows" "$(sif "$VA" packet_flows)" 7
check_eq "$VA with process" "$(sif "$VA" packet_flows_with_process)" 6
check_eq "$VA without process" "$(sif "$VA" packet_flows_no_process)" 1
check_eq "$VA attribution ratio" "$(sif "$VA" attribution_ratio)" 0.8571
check_eq "$Z has no join counters" "$(sif "$Z" joins)" 0
check_eq "rows: iface_attribution" "$(sql "SELECT packet_flows,
    with_process FROM iface_attribution WHERE iface = '$VA'")" "7|6"
check_eq "rows: joined flows" "$(sql "SELECT count(*) FROM flows_v
    WHERE iface = '$VA' AND source = 'joined'")" 6
check_eq "rows: events merged into joined flows = joins" "$(sql "SELECT
    sum(events) FROM flows_v WHERE iface = '$VA' AND source = 'joined'")" 8
for k in joins:8 misses:1 packet_flows:7 packet_flows_with_process:6 \
    packet_flows_no_process:1; do
	wait_sql "daemon_counters iface.$VA.${k%%:*}" "SELECT value FROM
	    daemon_counters WHERE daemon = 'store' AND
	    key = 'iface.$VA.${k%%:*}'" "${k#*:}"
done

# --- The settings were saved by the router, and the store recorded the
# table it was sent.
printf 'iface\t%s\tyes\t-\n' "$VA" >"$T/want.line"
grep -qxF -f "$T/want.line" "$D/router.state" ||
	fail "router.state lacks $VA mirrored: $(cat "$D/router.state")"
checks=$((checks + 1))
wait_sql "interfaces" "SELECT name, kind, mirrored, ifnull(companion, '-')
    FROM interfaces WHERE name IN ('$Z', '$VA') ORDER BY name" \
    "$VA|packet|1|-
$Z|zmq|0|$VA"
pass
