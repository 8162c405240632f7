#!/bin/sh
# edge_delivery_kill: at-least-once delivery across the edge/central
# hop (docs/scale-out.md, "What the hop guarantees").  Network
# namespaces stand in for hosts: a central and two edges, started by
# `evflowctl start --role central|edge` (its supervisor restarts what
# dies), each edge with one collector fed by evflow-testpub with
# distinct flows at a steady rate.  While both edges send, kill -9 the
# central store, then the central relay, then host2's edge relay.
#
# Asserted:
#   - the central store's acknowledgements reach the edges' collectors
#     (their link hears a store epoch, as with a local store), and the
#     edge senders promise replay;
#   - each kill is survived by itself: the edges' collectors see the new
#     store (store_restarts) and resend (the router counts replays), the
#     edges reconnect to the new central relay, host2's new edge relay
#     reconnects and its collector finds its acks again;
#   - sent = stored + counted, per host and in all, with nothing counted
#     (what the store or relay lost was resent from the edges) and no
#     flow stored twice, no record applied twice;
#   - an edge hears only its own acks: every entry published on host1's
#     ack.ipc (read by a SUB of its own) names host1's collector, with
#     the store's epoch;
#   - the relays' ack counters move, nothing is counted malformed, and
#     they reach the central store as host1:relay's counters, and its
#     webd's /metrics.
#
# Needs root and `ip netns` (exit 77 otherwise).  Names are unique per
# run; namespaces, processes and the temp dir are removed on exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/edge_lib.inc"

need_netns python3 sqlite3 curl
need_bins evflowctl evflow-relay evflow-store evflow-router \
    evflow-collector evflow-testpub evflow-ctlq evflow-webd
python3 -c 'import ctypes.util, sys
sys.exit(ctypes.util.find_library("nanomsg") is None)' ||
	skip "no libnanomsg for the ack reader"

lib_init
chmod 0711 "$T"
C=evdc$$
EDGE_NS=evd
EDGE_HOSTS="1 2"
RATE=${EDGE_RATE:-1500}		# events/s per edge
N=$((RATE * 16))		# ~16 s of traffic per edge
WAN=10.218.$(( $$ % 250 ))	# edge k: $WAN.(4k+1), central .(4k+2)
RP=$(free_port)
ZP=$(free_port)
Z="tcp://127.0.0.1:${ZP}c"

trap edge_stop EXIT

ip netns add "$C" || skip "cannot create a network namespace"
NETNS_LIST="$C"
ip -n "$C" link set lo up
for k in 1 2; do
	H=evd$k$$
	ip netns add "$H" || fail "netns $H"
	NETNS_LIST="$NETNS_LIST $H"
	ip -n "$H" link set lo up
	edge_wan "$k" "$H" "d$k-$$"
done

edge_confs
echo "store.retention = 0" >>"$T/c.conf"

ip netns exec "$C" "$BIN/evflowctl" start --role central -d "$T/c" \
    -f "$T/c.conf" -p 0 -i "host1:$Z" -i "host2:$Z" \
    >"$T/start-c.log" 2>&1 ||
	{ cat "$T/start-c.log"; fail "central did not start"; }
for k in 1 2; do
	ip netns exec "evd$k$$" "$BIN/evflowctl" start --role edge \
	    -d "$T/h$k" -f "$T/h$k.conf" -i "$Z" >"$T/start-h$k.log" 2>&1 ||
		{ cat "$T/start-h$k.log"; fail "edge $k did not start"; }
done

q() { "$BIN/evflow-ctlq" -t 2000 "$@"; }
# NAME's counter KEY, NAME's control socket in data directory DIR.
cnt() { q -g "counters.$3" "ipc://$T/$1/$2.ctl" stats; }
# A field of the first output link of NAME in DIR (common/nnlink.h).
link_field() {
	q "ipc://$T/$1/$2.ctl" stats | python3 -c 'import json, sys
print(json.load(sys.stdin)["links"][0][sys.argv[1]])' "$3"
}
# The pid of daemon NAME in data directory DIR, from its supervisor.
sup_pid() {
	q "ipc://$T/$1/evflowctl.ctl" daemons | python3 -c 'import json, sys
for d in json.load(sys.stdin)["daemons"]:
    if d["name"] == sys.argv[1] and d.get("pid"):
        print(d["pid"])' "$2"
}
# kill_back DIR WHAT COND: kill -9 the relay of data directory DIR and
# wait until its supervisor runs a new one and COND (shell) holds.
kill_back() {
	pid=$(sup_pid "$1" relay)
	[ -n "$pid" ] || fail "no pid for $2"
	kill -KILL "$pid" || fail "kill -9 $2"
	wait_true "$2 is back" \
	    "p=\$(sup_pid $1 relay) && [ -n \"\$p\" ] && [ \"\$p\" != $pid ] &&
	     $3" 30
}
DB="$T/c/evflow.db"
stored() { sql "SELECT count(*) FROM flows_v WHERE iface = 'host$1:$Z'"; }
# Counted loss: what the central store found missing for good of the
# origins that keep a replay (the edges' collectors: the relays' own
# stats records are not replayed, a lost one is superseded by the next
# and counted in that relay's origin), what host K's collector dropped
# at its replay bound, and the msg_id gaps it saw.
replay_lost() {
	q "ipc://$T/c/store.ctl" stats | python3 -c 'import json, sys
print(sum(o["lost"] for o in json.load(sys.stdin)["delivery"]["origins"]
    if o["replay"]))'
}
counted_edge() {
	echo $(( $(cnt "h$1" collector0 lost_msgs) + \
	    $(cnt "h$1" collector0 records_send_dropped) ))
}
counted() {
	echo $(( $(replay_lost) + $(counted_edge 1) + $(counted_edge 2) ))
}

wait_true "both edges connected" "[ \$(cnt c relay handshakes) -ge 2 ]"
# Acks cross the hop: each edge's collector hears the central store.
for k in 1 2; do
	wait_true "host$k's collector hears the central store's acks" \
	    "[ \"\$(link_field h$k collector0 store_epoch)\" != 0000000000000000 ]"
done
EPOCH0=$(link_field h1 collector0 store_epoch)

for k in 1 2; do
	ip netns exec "evd$k$$" "$BIN/evflow-testpub" -z "tcp://127.0.0.1:$ZP" \
	    --gen "$N" --first $(( k * 10000000 )) --rate "$RATE" \
	    >"$T/gen$k.log" 2>&1 &
	eval "TP$k=\$!"
done

# host1's ack.ipc, read by a SUB of this test's own for a few seconds:
# every entry there must be host1's collector's.
ACKREAD='
import ctypes, ctypes.util, struct, sys, time
nn = ctypes.CDLL(ctypes.util.find_library("nanomsg"))
AF_SP, NN_SUB, NN_SUB_SUBSCRIBE, NN_SOL_SOCKET, NN_RCVTIMEO = 1, 33, 1, 0, 5
s = nn.nn_socket(AF_SP, NN_SUB)
assert s >= 0
nn.nn_setsockopt(s, NN_SUB, NN_SUB_SUBSCRIBE, b"", 0)
tmo = ctypes.c_int(200)
nn.nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, ctypes.byref(tmo), 4)
assert nn.nn_connect(s, sys.argv[1].encode()) >= 0
buf = ctypes.create_string_buffer(16 + 256 * 32)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    n = nn.nn_recv(s, buf, len(buf), 0)
    if n < 16:
        continue
    magic, ver, count, epoch = struct.unpack_from("<IHHQ", buf.raw, 0)
    print("msg %08x %016x %d %d" % (magic, epoch, count, n))
    for i in range(count):
        snd, com, want, fl, pad = struct.unpack_from("<QQQII", buf.raw,
            16 + 32 * i)
        print("entry %016x %d" % (snd, com))
'
python3 -c "$ACKREAD" "ipc://$T/h1/ack.ipc" 3 >"$T/acks1.txt" 2>&1 ||
	{ cat "$T/acks1.txt"; fail "ack reader"; }

# kill -9 the central store: its supervisor restarts it; the edges'
# collectors hear a new epoch and resend what it had not committed.
SP=$(sup_pid c store)
[ -n "$SP" ] || fail "no central store pid"
kill -KILL "$SP" || fail "kill -9 store"
for k in 1 2; do
	wait_true "host$k's collector heard of the new store" \
	    "[ \$(link_field h$k collector0 store_restarts) -ge 1 ]" 30
done
wait_true "the central router forwarded the edges' resends (replayed)" \
    "[ \$(cnt c router replayed) -gt 0 ]" 30
check_eq "the store's kill: nothing counted lost so far" "$(replay_lost)" 0
sleep 2
# kill -9 the central relay: what it held and what was on the hop is
# lost with it; the edges reconnect to the new one and resend.
kill_back c "the central relay" "[ \$(cnt c relay handshakes) -ge 2 ]"
sleep 2
# kill -9 host2's edge relay: the batches it held are lost; its
# collector's acks stop until the new one binds ack.ipc again.
kill_back h2 "host2's edge relay" "[ \$(cnt h2 relay handshakes) -ge 1 ] &&
     [ \$(cnt h2 relay acks_forwarded) -ge 1 ]"

for k in 1 2; do
	eval "p=\$TP$k"
	wait "$p" || { cat "$T/gen$k.log"; fail "testpub $k"; }
	eval "SENT$k=\$(sed -n 's/.* events=\\([0-9]*\\) .*/\\1/p' \"\$T/gen$k.log\")"
	eval "check_eq \"host$k: testpub sent every event\" \"\$SENT$k\" $N"
done

detail() {
	echo "host1 stored $(stored 1), host2 stored $(stored 2), sent" \
	    "$SENT1 + $SENT2; lost of replay origins $(replay_lost)," \
	    "delivery_lost $(cnt c store delivery_lost)," \
	    "delivery_duplicates $(cnt c store delivery_duplicates)," \
	    "delivery_refused $(cnt c store delivery_refused); host1" \
	    "lost_msgs $(cnt h1 collector0 lost_msgs) records_send_dropped" \
	    "$(cnt h1 collector0 records_send_dropped) replay_buffered" \
	    "$(link_field h1 collector0 replay_buffered); host2 lost_msgs" \
	    "$(cnt h2 collector0 lost_msgs) records_send_dropped" \
	    "$(cnt h2 collector0 records_send_dropped) replay_buffered" \
	    "$(link_field h2 collector0 replay_buffered)"
}
# The pipeline settles by itself (the edges resend what the store
# refuses or does not acknowledge).
end=$(( $(now_s) + 60 ))
until [ $(( $(stored 1) + $(stored 2) + $(counted) )) -eq \
    $((SENT1 + SENT2)) ]; do
	[ "$(now_s)" -ge "$end" ] &&
	    fail "every event stored or counted: $(detail)"
	sleep 0.2
done
checks=$((checks + 1))
echo "sent $SENT1 + $SENT2, stored $(stored 1) + $(stored 2)," \
    "counted $(counted): $(detail)"
check_eq "host1: sent = stored + counted" \
    $(( $(stored 1) + $(counted_edge 1) )) "$SENT1"
check_eq "host2: sent = stored + counted" \
    $(( $(stored 2) + $(counted_edge 2) )) "$SENT2"
check_eq "store and relay kills: nothing counted lost" "$(counted)" 0
for k in 1 2; do
	check_eq "host$k: no flow stored twice" \
	    "$(sql "SELECT count(*) - count(DISTINCT cli_addr || ':' ||
	      cli_port || '>' || srv_addr || ':' || srv_port) FROM flows_v
	      WHERE iface = 'host$k:$Z'")" 0
	check_eq "host$k: no record applied twice" \
	    "$(sql "SELECT count(*) FROM flows_v WHERE iface = 'host$k:$Z'
	      AND events <> 1")" 0
	# The edge's sender resent across the hop and heard everything
	# acknowledged in the end.
	wait_true "host$k's collector: everything acknowledged" \
	    "[ \$(link_field h$k collector0 replay_buffered) -eq 0 ]" 30
	r=$(link_field "h$k" collector0 replayed)
	[ "$r" -gt 0 ] || fail "host$k's collector resent nothing"
	checks=$((checks + 1))
done
check_eq "integrity_check" "$(sql 'PRAGMA integrity_check')" ok

# host1 heard its own acks only, with the store's epoch (the first).
SND1=$(sed -n 's/^sender \([0-9a-f]*\) .*/\1/p' "$T/h1/collector0.producers")
[ -n "$SND1" ] || fail "host1's collector sender id"
python3 - "$T/acks1.txt" "$SND1" "$EPOCH0" <<'EOF' || fail "host1's acks"
import sys
lines = open(sys.argv[1]).read().split("\n")
msgs = [l.split() for l in lines if l.startswith("msg ")]
ents = [l.split() for l in lines if l.startswith("entry ")]
assert len(msgs) >= 2, "only %d ack messages in 3 s" % len(msgs)
assert all(m[1] == "4b434145" for m in msgs), "bad magic"
assert all(m[2] == sys.argv[3] for m in msgs), "epochs %s" % \
    sorted(set(m[2] for m in msgs))
assert ents, "no entries"
others = [e[1] for e in ents if e[1] != sys.argv[2]]
assert not others, "entries of other senders: %s" % sorted(set(others))
print("host1: %d ack messages, %d entries, all its collector's" %
      (len(msgs), len(ents)))
EOF
checks=$((checks + 1))

# The relays' ack counters: forwarded, none malformed; an edge relays
# one entry per message at most (its one collector).  Both counters
# from one answer: acks keep coming, and two questions apart an ack
# message counted in between showed as 22 entries in 21 messages.
check_eq "central: no malformed acks" "$(cnt c relay bad_acks)" 0
for k in 1 2; do
	read -r f e <<EOF2
$(q "ipc://$T/h$k/relay.ctl" stats | python3 -c 'import json, sys
c = json.load(sys.stdin)["counters"]
print(c["acks_forwarded"], c["ack_entries_forwarded"])')
EOF2
	[ "${f:-0}" -gt 0 ] && [ "${e:-0}" -gt 0 ] && [ "$e" -le "$f" ] ||
		fail "host$k relay: acks_forwarded $f, entries $e"
	check_eq "host$k relay: no malformed acks" "$(cnt "h$k" relay bad_acks)" 0
	checks=$((checks + 1))
done
[ "$(cnt c relay acks_forwarded)" -gt 0 ] || fail "central forwarded no acks"
wait_sql "the edges' ack counters reach the central store" \
    "SELECT count(*) FROM daemon_counters WHERE daemon IN ('host1:relay',
     'host2:relay') AND key = 'acks_forwarded' AND value > 0" 2
# ... and the central webd's /metrics, with a read-only token.
TOK=$("$BIN/evflow-webd" -d "$T/c" -f "$T/c.conf" --add-token "t$$" \
    2>/dev/null) || fail "webd --add-token"
# (webd takes a token added while it runs within a moment)
wait_true "GET /metrics" "ip netns exec $C curl -s -f -o $T/metrics \
    -H 'Authorization: Bearer $TOK' \
    http://127.0.0.1:\$(cat $T/c/webd.port)/metrics"
for k in 1 2; do
	v=$(sed -n "s/^evflow_acks_forwarded{daemon=\"host$k:relay\",.*} //p" \
	    "$T/metrics")
	[ -n "$v" ] && [ "$v" -gt 0 ] ||
		fail "/metrics: host$k:relay acks_forwarded '$v'"
	checks=$((checks + 1))
done
grep -q '^evflow_ack_unknown_origin{daemon="relay",' "$T/metrics" ||
	fail "/metrics: no ack_unknown_origin of the central relay"
checks=$((checks + 1))

# Everything stops cleanly, edges first; the central's supervisor
# restarted the store and the relay once each, nothing else.
for k in 1 2; do
	ip netns exec "evd$k$$" "$BIN/evflowctl" stop -d "$T/h$k" >/dev/null ||
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
check_eq "central: two restarts (store, relay)" \
    "$(grep -c "restart in" "$T"/c/evflowctl.log)" 2
check_eq "host2: one restart (relay)" \
    "$(grep -c "relay .*restart in" "$T"/h2/evflowctl.log)" 1
check_eq "host1: no restart" "$(grep -c "restart in" "$T"/h1/evflowctl.log)" 0
pass
