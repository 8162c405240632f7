#!/bin/sh
# Issue 13: a sender never blocks its loop while the next daemon is down.
# The store is stopped (SIGSTOP) while events flow: the router's link to
# it goes "peer down" (with since-when) in its stats frame and queues
# batches up to link_queue; the router's and the collector's control
# sockets keep answering within a second.  After SIGCONT nothing is
# lost: with a queue large enough, every event is stored; with a small
# one the router holds its input (router_hold.sh), and once the store
# has taken nothing for router.hold_max (1 s here) it reads on and drops
# what does not fit, counted (hold_expired, send_dropped), and the
# collector resends it (at-least-once delivery).  Run twice:
# link_queue = 64M (no drop) and 256k with router.hold_max = 1s (drops).
if [ -z "$QUEUE" ]; then
	for q in 64M 256k; do
		echo "== link_queue = $q"
		QUEUE=$q sh "$0" || exit $?
	done
	exit 0
fi
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

P0=$(free_port)
IF="tcp://127.0.0.1:${P0}c"
HOLD=""
[ "$QUEUE" = 64M ] || HOLD="-o router.hold_max=1s"
# shellcheck disable=SC2086
start_pipeline -o "link_queue=$QUEUE" $HOLD -- "$IF"
# A stopped store would not see the cleanup's SIGTERM.
trap 'st=$?; kill -CONT "$(pid_of store)" 2>/dev/null; (exit $st); lib_cleanup' \
    EXIT
mid=1
# send N: N more distinct events, continuing the msg_id sequence.
send() {
	publish -z "tcp://127.0.0.1:$P0" --array 20 --gen "$1" --first "$first" \
	    --msgid-start "$mid" --ifname '' >/dev/null
	mid=$(( $(last_msg_id) + 1 ))
	first=$((first + $1)); sent=$((sent + $1))
}

# Answers within a second (evflow-ctlq -t 1000), timed here too.
answers_fast() {
	t0=$(date +%s%N)
	r=$("$BIN/evflow-ctlq" -t 1000 "ipc://$D/$1.ctl" ping) ||
	    fail "$1 did not answer within 1 s"
	t1=$(date +%s%N)
	checks=$((checks + 1))
	[ "$r" = pong ] && [ $(( (t1 - t0) / 1000000 )) -lt 1000 ] ||
	    fail "$1: '$r' after $(( (t1 - t0) / 1000000 )) ms"
}

# Up once the connection to the store is made (nanomsg connects in the
# background: the first batches may find it down for a moment).
wait_true "peer up at start" '[ "$(link_out router peer)" = up ]'
# The collector resends what the store did not acknowledge once it has
# heard the store (until then it promises no replay).
wait_true "the collector heard the store's acks" \
    '[ "$(link_out col0 store_epoch)" != 0000000000000000 ]'

kill -STOP "$(pid_of store)"
sent=0
first=0
# Events until the router's kernel and nanomsg buffers are full.
end=$(( $(now_s) + WAIT_SECS ))
while [ "$(link_out router peer)" != down ]; do
	[ "$(now_s)" -ge "$end" ] && fail "the router never saw its peer down"
	send 5000
	answers_fast router
	answers_fast col0
done
echo "peer down after $sent events"
since=$(link_out router down_since_usec)
now_us=$(( $(date +%s) * 1000000 ))
checks=$((checks + 1))
[ "$since" -gt $((now_us - 120000000)) ] && [ "$since" -le $((now_us + 1000000)) ] ||
    fail "down_since_usec $since is not a recent time ($now_us)"
# The small queue: the router holds, then reads on past its bound.
if [ "$QUEUE" != 64M ]; then
	wait_true "the router's hold reached router.hold_max" \
	    '[ "$(counter router hold_expired)" -ge 1 ]'
	answers_fast router
fi
# Still answering while down, with events still coming in.
send 5000
answers_fast router
answers_fast col0
check_eq "collector's peer (the router) is up" "$(link_out col0 peer)" up
"$BIN/evflowctl" status -d "$D" >"$T/status.out" 2>&1 || true
grep -q "peer down" "$T/status.out" ||
    fail "evflowctl status does not show the peer down: $(cat "$T/status.out")"
kill -CONT "$(pid_of store)"
wait_true "the router's peer is up again" '[ "$(link_out router peer)" = up ]'
dropped=$(( $(counter router send_dropped) + $(counter col0 records_send_dropped) ))
echo "sent $sent events; dropped $dropped records (counted)"
if [ "$QUEUE" = 64M ]; then
	check_eq "a 64M queue drops nothing" "$dropped" 0
	wait_sql "every event stored after SIGCONT" \
	    "SELECT count(*) FROM flows_v WHERE iface = '$IF'" "$sent"
else
	checks=$((checks + 1))
	[ "$dropped" -gt 0 ] || fail "a $QUEUE queue dropped nothing past hold_max"
	# The router's drops are counted, and recovered: the collector
	# keeps what the store has not acknowledged and resends it when
	# the store refuses the records after the gap (docs/design.md,
	# "Delivery").
	wait_sql "every event stored after SIGCONT, the drops resent" \
	    "SELECT count(*) FROM flows_v WHERE iface = '$IF'" "$sent" 60
	check_eq "nothing lost for good" "$(counter store delivery_lost)" 0
	checks=$((checks + 1))
	[ "$(counter col0 replayed)" -gt 0 ] || fail "nothing was resent"
	# The resends reached the router again: it forwarded them (the
	# store needed them) and counted them apart, as replays.
	echo "router: $(counter router replayed) records replayed"
	checks=$((checks + 1))
	[ "$(counter router replayed)" -gt 0 ] ||
	    fail "the router counted no replay"
	"$BIN/evflowctl" status -d "$D" >"$T/status.out" 2>&1 || true
	grep -q "replayed" "$T/status.out" ||
	    fail "evflowctl status does not show replayed: $(cat "$T/status.out")"
fi
# Replays double no counter: every flow event counted once at each
# stage (the collector's, the router's and the store's flow records are
# the events sent), and the router's received = forwarded + drops.
check_eq "collector: flow records" "$(counter col0 records_flow)" "$sent"
check_eq "router: flow records (replays apart)" \
    "$(counter router rx_flow)" "$sent"
wait_counter "store: flow records applied once" store recv_flow "$sent"
router_ok() {
	r=$(counter router received) &&
	f=$(sum_matching router 'forwarded|unknown_iface|dropped_.*') &&
	echo "router: received $r = forwarded + drops $f" && [ "$r" = "$f" ]
}
wait_true "router: received = forwarded + drops, after replays" router_ok
all_alive
pass
