#!/bin/sh
# At-least-once delivery (docs/design.md, "Delivery"), with real faults:
# while a producer sends distinct flows at a steady rate, kill -9 the
# store, then the router, then the collector, each restarted as a
# supervisor would.  Every event sent is stored or counted, exactly
# (sent = stored + counted); the store's and the router's kills count
# nothing (the collector resends what the store had not committed, the
# store skips what it had); no flow is stored twice, no record applied
# twice; the database is sound; the collector's kill is counted from
# the msg_id state it keeps in its data directory.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

P=$(free_port)
EP="tcp://127.0.0.1:${P}c"
RATE=${DELIVERY_RATE:-4000}	# events/s
N=$((RATE * 13))		# ~13 s of traffic
start_pipeline -- "$EP"

"$BIN/evflow-testpub" -z "$EP" --gen "$N" --rate "$RATE" \
    >"$T/testpub.out" 2>&1 &
TP=$!

# kill -9 NAME, then start it again with the same command line (what
# evflowctl's supervisor does) and wait for its control socket.
crash() {
	name=$1; shift
	p=$(pid_of "$name")
	kill -KILL "$p" || fail "kill -9 $name"
	wait "$p" 2>/dev/null
	sleep "${DOWN:-0.5}"	# traffic keeps coming while it is down
	start_daemon "$name" "$@"
	wait_ctl "$name"
}

stored() {
	sql "SELECT count(*) FROM flows_v WHERE iface = '$EP'"
}

# Counted loss: what the store found missing for good, what senders
# dropped at their replay bound, and the msg_id gaps the collector saw.
counted() {
	echo $(( $(counter store delivery_lost) + \
	    $(counter col0 lost_msgs) + \
	    $(counter col0 records_send_dropped) ))
}

# A field of NAME's first record link (common/nnlink.h) in its stats.
link_field() {
	ctl "$1" stats | python3 -c 'import json, sys
print(json.load(sys.stdin)["links"][0][sys.argv[1]])' "$2"
}

wait_true "the collector heard the store's acks" \
    '[ "$(link_field col0 store_epoch)" != 0000000000000000 ]'
sleep 2
crash store "$BIN/evflow-store" -d "$D" -N store
wait_true "the collector heard of the new store" \
    '[ "$(link_field col0 store_restarts)" -ge 1 ]'
# It resent what the new store had not committed: the router forwarded
# those again, counted apart (`replayed`), not in received.
wait_true "the router counted the resends as replays" \
    '[ "$(counter router replayed)" -gt 0 ]'
sleep 2
crash router "$BIN/evflow-router" -d "$D" -N router -i "$EP"
sleep 2
# Before the collector's kill: nothing lost so far, nothing counted.
check_eq "store and router kills: nothing counted lost" "$(counted)" 0
crash col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$EP"

wait "$TP" || { cat "$T/testpub.out"; fail "testpub"; }
sent=$(sed -n 's/.* events=\([0-9]*\) .*/\1/p' "$T/testpub.out")
check_eq "testpub sent every event" "$sent" "$N"

# The pipeline settles by itself: stored + counted reaches sent.
settled() {
	s=$(stored) c=$(counted)
	[ $((s + c)) -eq "$sent" ]
}
# Which count, if it fails: one run in ~20 under ASan ended with stored
# + counted one over sent (and one, in an earlier session, 91 over).
detail() {
	echo "stored $(stored) + counted $(counted) <> sent $sent (lost_msgs" \
	    "$(counter col0 lost_msgs), delivery_lost" \
	    "$(counter store delivery_lost), records_send_dropped" \
	    "$(counter col0 records_send_dropped), delivery_duplicates" \
	    "$(counter store delivery_duplicates), distinct 5-tuples" \
	    "$(sql "SELECT count(DISTINCT cli_addr || ':' || cli_port || '>' ||
	    srv_addr || ':' || srv_port) FROM flows_v WHERE iface = '$EP'"))"
}
end=$(( $(now_s) + 30 ))
until settled; do
	[ "$(now_s)" -ge "$end" ] &&
	    fail "every event stored or counted: $(detail)"
	sleep 0.1
done
checks=$((checks + 1))
s=$(stored) c=$(counted)
echo "sent $sent, stored $s, counted $c"
check_eq "sent = stored + counted" $((s + c)) "$sent"
# The collector's kill: messages it had not let out are msg_id gaps,
# records it had let out and the store never got are a sequence gap.
echo "collector kill: lost_msgs $(counter col0 lost_msgs)," \
    "delivery_lost $(counter store delivery_lost)"
check_eq "no flow stored twice" \
    "$(sql "SELECT count(*) - count(DISTINCT cli_addr || ':' || cli_port ||
      '>' || srv_addr || ':' || srv_port) FROM flows_v
      WHERE iface = '$EP'")" 0
check_eq "no record applied twice (one event per flow)" \
    "$(sql "SELECT count(*) FROM flows_v WHERE iface = '$EP'
      AND events <> 1")" 0
check_eq "replays were skipped, not applied" \
    "$(sql "SELECT sum(duplicates) >= 0 FROM delivery")" 1
check_eq "integrity_check" "$(sql 'PRAGMA integrity_check')" ok
all_alive
pass
