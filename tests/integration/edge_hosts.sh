#!/bin/sh
# edge_hosts: issue 16 item 1, many hosts into one evflow.  Network
# namespaces stand in for hosts: a central one and three edges, each
# with its own data directory, started by `evflowctl start --role edge`
# and `--role central`.  Each edge has a WAN veth to the central (the
# relay's hop, ZMQ with CURVE) and a traffic veth named up0 to a peer
# namespace: the three traffic links use the same addresses and the
# same client port, so the three hosts make the same 5-tuple and only
# the per-host naming keeps them apart.
#
# Asserted:
#   - interfaces are named per host (host1:up0, host1:tcp://...), and
#     so are the edges' daemons in the central's counters (host1:relay,
#     host1:collector0, host1:capture-up0);
#   - the join per host: each host's CONNECT event (its own process
#     name) joins the packet flow of that host's up0 and no other;
#     host1 by its companion, host2 and host3 by IF_NAME up0;
#   - a companion on another host is refused;
#   - counters: every generated event of every host is a row in that
#     host's ZMQ interface (sent = stored; nothing counted dropped on
#     the way: collectors, edge relays, central relay, router, store);
#   - the hop is encrypted: a tcpdump of a WAN link holds none of the
#     process names that reach the database;
#   - it is authenticated: an edge key the central does not list and an
#     edge with another server key are refused and counted
#     (unknown_keys, handshake_failures) and nothing of them is stored.
#
# Needs root and `ip netns` (exit 77 otherwise).  Names are unique per
# run; namespaces, processes and the temp dir are removed on exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/edge_lib.inc"
JL="$(dirname "$0")/join_lib"

need_netns python3 sqlite3 ss tcpdump
need_bins evflowctl evflow-relay evflow-capture evflow-store evflow-router \
    evflow-collector evflow-testpub evflow-ctlq

lib_init
chmod 0711 "$T"
C=evhc$$
EDGE_NS=evh
EDGE_HOSTS="1 2 3"
GEN=3000			# generated events per host
WAN=10.216.$(( $$ % 250 ))	# hop k: $WAN.(4k+1) edge, .(4k+2) central
LAN=10.217.$(( $$ % 250 ))	# traffic: .1 host, .2 peer, on every host
RP=$(free_port)
ZP=$(free_port)
Z="tcp://127.0.0.1:${ZP}c"
SRV_PORT=8080 CLI_PORT=41001

trap edge_stop EXIT

ip netns add "$C" || skip "cannot create a network namespace"
NETNS_LIST="$C"
ip -n "$C" link set lo up
for k in 1 2 3; do
	H=evh$k$$ P=evp$k$$
	ip netns add "$H" || fail "netns $H"
	ip netns add "$P" || fail "netns $P"
	NETNS_LIST="$NETNS_LIST $H $P"
	for ns in "$H" "$P"; do
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
		    net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	done
	edge_wan "$k" "$H" "h$k-$$"
	ip -n "$H" link add up0 type veth peer name dn0 netns "$P" ||
		fail "lan veth $k"
	ip -n "$H" addr add "$LAN.1/30" dev up0
	ip -n "$P" addr add "$LAN.2/30" dev dn0
	ip -n "$H" link set up0 up
	ip -n "$P" link set dn0 up
done

mkdir -p "$T/bad1" "$T/bad2"
edge_confs
OTHER=$("$BIN/evflow-relay" -d "$T/bad2" -N other -k)	# not the central's

# The hop, as captured on host2's WAN link in the central.
helper tcpdump ip netns exec "$C" tcpdump -i "h2-$$" -U -w "$T/wan2.pcap" \
    "tcp port $RP"
TCPDUMP_PID=$LAST

# Roles refuse what they cannot run: another host's interface on an
# edge (its own edge feeds it), an unknown role.
out=$("$BIN/evflowctl" start --role edge -d "$T/x" -i host1:up0 2>&1) &&
	fail "an edge accepted host1:up0"
case $out in *"only with --role central"*) ;; *) fail "edge: '$out'" ;; esac
out=$("$BIN/evflowctl" start --role hub -d "$T/x" 2>&1) &&
	fail "role hub accepted"
case $out in *"all, edge or central"*) ;; *) fail "role: '$out'" ;; esac
checks=$((checks + 2))

ip netns exec "$C" "$BIN/evflowctl" start --role central -d "$T/c" \
    -f "$T/c.conf" -p 0 \
    -i "host1:$Z" -i host1:up0 -i "host2:$Z" -i host2:up0 \
    -i "host3:$Z" -i host3:up0 >"$T/start-c.log" 2>&1 ||
	{ cat "$T/start-c.log"; fail "central did not start"; }
for k in 1 2 3; do
	ip netns exec "evh$k$$" "$BIN/evflowctl" start --role edge \
	    -d "$T/h$k" -f "$T/h$k.conf" -i "$Z" -i up0 \
	    >"$T/start-h$k.log" 2>&1 ||
		{ cat "$T/start-h$k.log"; fail "edge $k did not start"; }
done
grep -q '^relay ' "$T/start-h1.log" || fail "edge: no relay started"
grep -q '^store ' "$T/start-h1.log" && fail "edge: a store started"
grep -q '^relay ' "$T/start-c.log" || fail "central: no relay started"
checks=$((checks + 3))
rctl() { "$BIN/evflow-ctlq" -t 2000 "ipc://$T/c/router.ctl" "$@"; }

# host1 joins by its companion; a companion on another host is refused.
check_eq "host1:up0 mirrored" "$(rctl iface set host1:up0 mirrored yes)" ok
case $(rctl iface set "host2:$Z" companion host1:up0 2>&1) in
*"different hosts"*) checks=$((checks + 1)) ;;
*) fail "a companion on another host was accepted" ;;
esac
check_eq "host1 companion" "$(rctl iface set "host1:$Z" companion host1:up0)" ok

wait_true "every edge connected to the central" \
    "[ \$(\"\$BIN/evflow-ctlq\" -t 2000 -g counters.handshakes ipc://\$T/c/relay.ctl stats) -ge 3 ]"

# Servers in each peer; each host's client holds a connection from the
# same port; each host's event names its own process.
SRV='
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
    c.sendall(d)'
CLI='
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.connect((sys.argv[3], int(sys.argv[4])))
for i in range(30):
    s.sendall(sys.argv[5].encode() * 10)
    s.recv(65535)
    time.sleep(0.5)'
for k in 1 2 3; do
	helper "srv$k" ip netns exec "evp$k$$" python3 -c "$SRV" "$LAN.2" \
	    "$SRV_PORT"
done
for k in 1 2 3; do
	wait_true "server $k listens" "ip netns exec evp$k$$ ss -ltn | grep -q ':$SRV_PORT '"
	helper "cli$k" ip netns exec "evh$k$$" python3 -c "$CLI" "$LAN.1" \
	    "$CLI_PORT" "$LAN.2" "$SRV_PORT" "host$k"
done
for k in 1 2 3; do
	ifn=up0
	[ "$k" = 1 ] && ifn=-		# host1: the companion does it
	python3 "$JL/ev.py" CONNECT 6 "$LAN.1" "$CLI_PORT" "$LAN.2" \
	    "$SRV_PORT" "$ifn" "$((1000 + k))" "/usr/bin/client-host$k" \
	    "client-host$k --edge" 1 /sbin/init >"$T/ev$k.jsonl"
done
sleep 2		# the connections are live (the capture saw them)
for k in 1 2 3; do
	ip netns exec "evh$k$$" "$BIN/evflow-testpub" -z "tcp://127.0.0.1:$ZP" \
	    -f "$T/ev$k.jsonl" >"$T/pub$k.log" 2>&1 || fail "publish $k"
done
# The load: three hosts at once.
GENPIDS=""
for k in 1 2 3; do
	ip netns exec "evh$k$$" "$BIN/evflow-testpub" -z "tcp://127.0.0.1:$ZP" \
	    --gen $GEN --array 10 --dialect ebpf >"$T/gen$k.log" 2>&1 &
	GENPIDS="$GENPIDS $!"
done
for p in $GENPIDS; do
	wait "$p" || fail "generator $p"
done

DB="$T/c/evflow.db"
for k in 1 2 3; do
	wait_sql "host$k's event joins host$k's up0" \
	    "SELECT count(*) FROM flows_v WHERE iface = 'host$k:up0' AND
	     source = 'joined' AND cli_process = '/usr/bin/client-host$k'
	     AND c2s_packets > 0 AND cli_port = $CLI_PORT" 1
done
# ... and nowhere else: each up0 has exactly its own host's process.
check_eq "no event crossed hosts" "$(sql "SELECT count(*) FROM flows_v
    WHERE iface LIKE 'host_:up0' AND cli_process LIKE '%client-host%'
    AND substr(iface, 1, 5) != substr(cli_cmdline, 8, 5)")" 0
check_eq "per-host interfaces" "$(sql "SELECT group_concat(name, ' ') FROM
    (SELECT name FROM interfaces WHERE name LIKE 'host%' ORDER BY name)")" \
    "host1:tcp://127.0.0.1:${ZP}c host1:up0 host2:tcp://127.0.0.1:${ZP}c host2:up0 host3:tcp://127.0.0.1:${ZP}c host3:up0"

# Counters: every event sent is stored, in its host's ZMQ interface.
for k in 1 2 3; do
	sent=$(sed -n 's/.* events=\([0-9]*\) .*/\1/p' "$T/gen$k.log")
	check_eq "host$k: generated events published" "$sent" "$GEN"
	wait_sql "host$k: sent = stored" "SELECT count(*) FROM flows_v WHERE
	    iface = 'host$k:$Z' AND cli_port != $CLI_PORT" "$sent"
done
wait_sql "edges' daemons named per host in the central's counters" \
    "SELECT count(DISTINCT daemon) FROM daemon_counters WHERE daemon IN
     ('host1:relay', 'host2:relay', 'host3:relay', 'host1:collector0',
      'host2:collector0', 'host3:collector0', 'host1:capture-up0',
      'host2:capture-up0', 'host3:capture-up0')" 9
# Nothing counted dropped on the way (the counters the central stores).
check_eq "no drops anywhere" "$(sql "SELECT count(*) FROM daemon_counters
    WHERE value > 0 AND key IN ('records_send_dropped', 'send_dropped',
    'dropped_send', 'lost', 'bad_msgs', 'names_too_long', 'no_host',
    'unknown_iface', 'dropped_bad_record', 'unknown_keys',
    'handshake_failures')")" 0
for k in 1 2 3; do
	e=$("$BIN/evflow-ctlq" -t 2000 "ipc://$T/h$k/relay.ctl" stats)
	in=$(echo "$e" | python3 -c 'import json,sys; c=json.load(sys.stdin)["counters"]; print(c["records_received"], c["records_forwarded"], c["records_send_dropped"])')
	set -- $in
	check_eq "edge $k relay: received = forwarded" "$1" "$2"
	check_eq "edge $k relay: dropped" "$3" 0
done

# The central relay goes away and comes back (its supervisor restarts
# it): host2's events sent meanwhile wait on host2 (the edge relay holds
# a batch, the collector queues) and all arrive; the edge saw the loss
# of its connection.
RP_PID=$("$BIN/evflow-ctlq" -t 2000 "ipc://$T/c/evflowctl.ctl" daemons |
    python3 -c 'import json, sys
for d in json.load(sys.stdin)["daemons"]:
    if d["name"] == "relay":
        print(d["pid"])')
[ -n "$RP_PID" ] || fail "no central relay pid"
kill -KILL "$RP_PID"
ip netns exec "evh2$$" "$BIN/evflow-testpub" -z "tcp://127.0.0.1:$ZP" \
    --gen 1000 --first 500000 --array 10 --dialect ebpf \
    >"$T/gen2b.log" 2>&1 || fail "publish while the central relay is down"
wait_sql "host2: events sent while the central relay was down arrive" \
    "SELECT count(*) FROM flows_v WHERE iface = 'host2:$Z' AND
     cli_port != $CLI_PORT" $((GEN + 1000)) 30
check_eq "host2's edge saw the connection go" "$("$BIN/evflow-ctlq" -t 2000 \
    -g counters.disconnects "ipc://$T/h2/relay.ctl" stats)" 1

# The hop is encrypted: host2's process name reached the database but
# is nowhere in the bytes of its WAN link.
kill "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null
[ -s "$T/wan2.pcap" ] || fail "no capture of the hop"
[ "$(stat -c %s "$T/wan2.pcap")" -gt 100000 ] ||
	fail "hop capture too small: $(stat -c %s "$T/wan2.pcap") bytes"
for s in client-host2 host2 203.0.113.80 firefox coredns; do
	if grep -a -q "$s" "$T/wan2.pcap"; then
		fail "'$s' in clear on the hop"
	fi
	checks=$((checks + 1))
done

# Authenticated: a key the central does not list, and an edge with
# another server key.  Each tries for a few seconds; nothing of theirs
# is stored, both are counted.
cstat() { "$BIN/evflow-ctlq" -t 2000 -g "counters.$1" "ipc://$T/c/relay.ctl" stats; }
uk0=$(cstat unknown_keys) hf0=$(cstat handshake_failures)
cat >"$T/bad1.conf" <<EOF
relay.upstream = tcp://$WAN.14:$RP
relay.server_key = $CK
EOF
cat >"$T/bad2.conf" <<EOF
relay.upstream = tcp://$WAN.14:$RP
relay.server_key = $OTHER
EOF
start_daemon bad1 ip netns exec "evh3$$" "$BIN/evflow-relay" -m edge \
    -d "$T/bad1" -N bad1 -f "$T/bad1.conf"
start_daemon bad2 ip netns exec "evh3$$" "$BIN/evflow-relay" -m edge \
    -d "$T/bad2" -N bad2 -f "$T/bad2.conf"
wait_true "an unlisted key is refused and counted" \
    "[ \$(cstat unknown_keys) -gt $uk0 ]"
wait_true "refused handshakes counted" \
    "[ \$(cstat handshake_failures) -ge \$(( $hf0 + 2 )) ]"
sleep 2
for b in bad1 bad2; do
	check_eq "$b: nothing passed" "$("$BIN/evflow-ctlq" -t 2000 \
	    -g counters.handshakes "ipc://$T/$b/$b.ctl" stats)" 0
	check_eq "$b: no stats sent" "$("$BIN/evflow-ctlq" -t 2000 \
	    -g counters.stats_sent "ipc://$T/$b/$b.ctl" stats)" 0
done
check_eq "nothing stored of the refused edges" "$(sql "SELECT count(*)
    FROM daemon_counters WHERE daemon LIKE '%bad%'")" 0
grep -q "not in relay.client" "$T/c/relay.log" || fail "no log of the key"
checks=$((checks + 1))

# Every daemon of every host stops cleanly (edges first), with no
# sanitizer report in its log (an ASan build runs this test too).
for k in 1 2 3; do
	ip netns exec "evh$k$$" "$BIN/evflowctl" stop -d "$T/h$k" >/dev/null ||
		fail "edge $k did not stop"
done
ip netns exec "$C" "$BIN/evflowctl" stop -d "$T/c" >/dev/null ||
	fail "central did not stop"
for f in "$T"/c/*.log "$T"/h?/*.log; do
	if grep -q -e 'Sanitizer' -e 'runtime error:' "$f"; then
		grep -A 30 -e 'Sanitizer' -e 'runtime error:' "$f" | head -40
		fail "sanitizer report in $f"
	fi
done
# (the central relay's one restart is the kill above)
[ "$(grep -c "restart in" "$T"/c/evflowctl.log)" = 1 ] ||
	fail "central: restarts other than the relay's"
grep -l "restart in\|did not stop" "$T"/h?/evflowctl.log >/dev/null 2>&1 && {
	grep -h "restart in\|did not stop" "$T"/h?/evflowctl.log
	fail "an edge daemon exited or was restarted"
}
checks=$((checks + 3))
pass
