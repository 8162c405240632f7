#!/bin/sh
# join_pcap: the join rules on a generated pcap file (no root needed, so
# it runs wherever `make check` does).  evflow-capture reads the file as
# `eth0` (-r FILE -I eth0); the router's configuration (not the control
# socket) marks eth0 mirrored and makes it the companion of the ZMQ
# interface; evflow-testpub publishes events for the file's flows.
#
#   flow A  TCP, no VLAN: CONNECT (client) and ACCEPT (server, another
#           exporter, a dual-stack socket: IPv4-mapped addresses)
#           published BEFORE the file is read: they wait, then join one
#           packet flow with both sides.
#   flow B  TCP on VLAN 20: a CONNECT without a VLAN does not join it
#           (same 5-tuple, other VLAN: it stays an event-only flow with
#           no packet counters and is a miss when its window ends); the
#           same CONNECT with SRC_VLAN 20 joins it.
#   flow W  UDP from a low client port (1000) to a high server port
#           (40001): the client's SEND, published BEFORE the packets, has
#           its sides guessed the wrong way by ports; the packets turn
#           the flow around and the process ends on the client side.
#   flow U  UDP: a RECV from the server (packet order server -> client)
#           published AFTER the capture ended the flow joins on the server
#           side.
#   a loopback event in IPv4-mapped form stays out of the companion.
# Then the counters: joins, misses, packet flows with/without process,
# attribution ratio, against the rows.
. "$(dirname "$0")/lib.sh"
JL="$(dirname "$0")/join_lib"
need_bins evflow-capture evflow-store evflow-router evflow-collector \
    evflow-testpub evflow-ctlq
lib_init
# store.join_window, seconds.  Flow U's RECV must arrive within it of
# the store receiving the flow's end: the capture's exit, three queries
# and two evflow-testpub runs (about 1 s each) lie between (3 s was
# reached once the capture sent its last flows as soon as the router
# took them instead of at its exit).
WINDOW=5
C=10.9.0.1 S=10.9.0.2
P=$(free_port)
Z="tcp://127.0.0.1:${P}c"

python3 "$JL/pcap.py" "$T/f.pcap" <<EOF || fail "pcap.py"
0 6 $C 50001 $S 443 S 0
0 6 $S 443 $C 50001 SA 0
0 6 $C 50001 $S 443 A 0
0 6 $C 50001 $S 443 PA 100
0 6 $S 443 $C 50001 PA 1000
20 6 $C 50002 $S 443 S 0
20 6 $S 443 $C 50002 SA 0
20 6 $C 50002 $S 443 A 0
0 17 $C 40000 $S 53 - 30
0 17 $S 53 $C 40000 - 90
0 17 $C 1000 $S 40001 - 20
0 17 $S 40001 $C 1000 - 40
EOF

start_daemon store "$BIN/evflow-store" -d "$D" -N store \
    -o store.join_window=$WINDOW
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$Z" -i eth0 \
    -o mirrored=eth0 -o "companion=$Z eth0"
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$Z"
wait_ctl col0

sif() {	# sif IFACE KEY: a per-interface value of the store's stats
	"$BIN/evflow-ctlq" -t 2000 "ipc://$D/store.ctl" stats |
	    python3 -c 'import json, sys
s = json.load(sys.stdin)
for i in s["interfaces"]:
    if i["name"] == sys.argv[1]:
        v = i.get(sys.argv[2], i.get("counters", {}).get(sys.argv[2]))
        print("null" if v is None else v)' "$1" "$2"
}
ev() {
	python3 "$JL/ev.py" "$@" >>"$T/ev.jsonl" || fail "ev.py $*"
}
pub() {
	publish -q -z "$Z" "$@" -f "$T/ev.jsonl" >/dev/null
	: >"$T/ev.jsonl"
}
row() {	# row VLAN CPORT COLUMNS: that flow's row in eth0
	sql "SELECT $3 FROM flows_v WHERE iface = 'eth0' AND vlan = $1 AND
	    cli_port = $2"
}
: >"$T/ev.jsonl"

# Before the packets.
ev CONNECT 6 $C 50001 $S 443 - 100 /usr/bin/client "" 1 /bin/sh
pub
# The server's socket is dual-stack: IPv4-mapped IPv6 addresses.
ev ACCEPT 6 ::ffff:$C 50001 ::ffff:$S 443 - 200 /usr/sbin/server "" 1 \
    /sbin/init
pub --source-id 2
ev SEND 17 $C 1000 $S 40001 - 600 /usr/bin/lowport "" 1 /bin/sh
pub
wait_true "flow A's and W's events wait in eth0" \
    '[ "$(sif eth0 pending)" = 2 ]'

start_daemon cap "$BIN/evflow-capture" -d "$D" -N cap -r "$T/f.pcap" -I eth0
wait "$(pid_of cap)" || fail "evflow-capture -r failed"
wait_sql "flow A joined with both sides" "$(echo "SELECT source, cli_pid,
    srv_pid, c2s_packets, s2c_packets, c2s_bytes, s2c_bytes, events FROM
    flows_v WHERE iface = 'eth0' AND cli_port = 50001")" \
    "joined|100|200|3|2|220|1080|2"
wait_sql "four packet flows in eth0" "SELECT count(*) FROM flows_v WHERE
    iface = 'eth0' AND c2s_packets IS NOT NULL" 4
wait_sql "flow W turned around by the packets: process on the client" \
    "$(echo "SELECT source, cli_addr, cli_port, cli_pid, ifnull(srv_pid,
    '-'), sides_guessed, c2s_bytes, s2c_bytes FROM flows_v WHERE
    iface = 'eth0' AND protocol = 17 AND srv_port = 40001")" \
    "joined|$C|1000|600|-|0|48|68"

# After the packets (the capture ended every flow at the end of the file).
ev CONNECT 6 $C 50002 $S 443 - 300 /usr/bin/novlan "" 1 /bin/sh
EV_VLAN=20 ev CONNECT 6 $C 50002 $S 443 - 301 /usr/bin/vlan20 "" 1 /bin/sh
pub
ev RECV 17 $S 53 $C 40000 - 400 /usr/sbin/dnsd "" 1 /sbin/init
ev CONNECT 6 ::ffff:127.0.0.1 50003 ::ffff:127.0.0.1 443 - 500 \
    /usr/bin/mapped-lo "" 1 /sbin/init
pub --source-id 2
wait_sql "flow B on VLAN 20 joined the SRC_VLAN 20 event only" \
    "$(echo "SELECT source, cli_pid, c2s_packets, s2c_packets FROM flows_v
    WHERE iface = 'eth0' AND vlan = 20")" "joined|301|2|1"
wait_sql "the event without VLAN stayed event-only, no counters" \
    "$(echo "SELECT source, cli_pid, ifnull(c2s_packets, 'NULL'),
    ifnull(s2c_bytes, 'NULL') FROM flows_v WHERE iface = 'eth0' AND
    vlan = 0 AND cli_port = 50002")" "event|300|NULL|NULL"
wait_sql "flow U: the server's RECV on the server side" "$(echo "SELECT
    source, ifnull(cli_pid, '-'), srv_pid, srv_port, c2s_bytes, s2c_bytes
    FROM flows_v WHERE iface = 'eth0' AND protocol = 17 AND
    srv_port = 53")" "joined|-|400|53|58|118"

# Counters once every entry of eth0 left the table.
wait_true "every eth0 entry left the table" \
    '[ "$(sif eth0 live_flows)" = 0 ]' $((WINDOW + WAIT_SECS))
check_eq "joins" "$(sif eth0 joins)" 5
check_eq "misses" "$(sif eth0 misses)" 1
check_eq "packet flows" "$(sif eth0 packet_flows)" 4
check_eq "with process" "$(sif eth0 packet_flows_with_process)" 4
check_eq "attribution ratio" "$(sif eth0 attribution_ratio)" 1.0
check_eq "rows: iface_attribution" "$(sql "SELECT packet_flows,
    with_process FROM iface_attribution WHERE iface = 'eth0'")" "4|4"
check_eq "rows: events in joined flows = joins" "$(sql "SELECT sum(events)
    FROM flows_v WHERE iface = 'eth0' AND source = 'joined'")" 5
check_eq "the ZMQ interface has every event's flow, no counters" \
    "$(sql "SELECT count(*), count(c2s_packets) FROM flows_v WHERE
    iface = '$Z'")" "6|0"
check_eq "the mapped loopback flow only in the ZMQ interface" \
    "$(sql "SELECT group_concat(iface), group_concat(cli_addr) FROM
    flows_v WHERE cli_port = 50003")" "$Z|127.0.0.1"
check_eq "router: companion deliveries" "$(counter router \
    companion_delivered)" 6
check_eq "router: loopback skipped" "$(counter router \
    companion_skipped_loopback)" 1
pass
