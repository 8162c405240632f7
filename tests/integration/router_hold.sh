#!/bin/sh
# The router holds instead of dropping (docs/design.md, "Backpressure"):
# while its link to the store is full it stops reading its input, so the
# collector waits at its own link (replay buffer) and nothing is dropped
# on the way, then resent.  Real daemons on real nanomsg/ZMQ sockets:
# evflow-testpub -> collector -> router (link_queue = 256k, smaller than
# one input message's room, so any queued batch makes it hold) -> store.
#
#   1. store stopped (SIGSTOP) while 40,000 events arrive: the router
#      holds (holds > 0, hold_ms grows), has not read them all, drops
#      nothing, and answers its control socket within a second; the
#      collector's link to it is down (the collector waits);
#   2. store slow: stopped and continued in turns (400 ms / 50 ms) while
#      60,000 more arrive as fast as the collector takes them: the router
#      holds again (for 200 ms in all at least);
#   3. after each: every event stored exactly once (stored = sent), no
#      drop anywhere (router dropped_send, send_dropped, the collector's
#      records_send_dropped), no gap the store refused or lost, nothing
#      resent by the collector, hold_expired 0, and the router's
#      received = forwarded + drops.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

P0=$(free_port)
IF="tcp://127.0.0.1:${P0}c"
# No retention (the generated events carry fixed old times).  The
# collector's ack timeout is longer than any pause here, so whatever it
# resends would be a resend after a gap, i.e. a drop on the way.
start_daemon store "$BIN/evflow-store" -d "$D" -N store -o store.retention=0
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$IF" \
    -o link_queue=256k -o router.hold_max=10m
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$IF" \
    -o link_ack_timeout=10m
wait_ctl col0
STOPPER=""
# A stopped store would not see the cleanup's SIGTERM.
trap 'st=$?; [ -n "$STOPPER" ] && kill "$STOPPER" 2>/dev/null
kill -CONT "$(pid_of store)" 2>/dev/null; (exit $st); lib_cleanup' EXIT

# NAME answers `stats` within a second (evflow-ctlq -t 1000), timed here.
answers_fast() {
	t0=$(date +%s%N)
	"$BIN/evflow-ctlq" -t 1000 "ipc://$D/$1.ctl" stats >/dev/null ||
	    fail "$1 did not answer stats within 1 s"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	checks=$((checks + 1))
	[ "$ms" -lt 1000 ] || fail "$1 answered stats after $ms ms"
}

# No record dropped by the router or the collector, nothing resent (the
# store's side, which a stopped store cannot answer: store_clean).
nothing_dropped() {
	check_eq "$1: router dropped_send" "$(counter router dropped_send)" 0
	check_eq "$1: router send_dropped" "$(counter router send_dropped)" 0
	check_eq "$1: router hold_expired" "$(counter router hold_expired)" 0
	check_eq "$1: collector records_send_dropped" \
	    "$(counter col0 records_send_dropped)" 0
	check_eq "$1: collector replayed" "$(counter col0 replayed)" 0
}
# No gap the store refused or counted lost.
store_clean() {
	check_eq "$1: store delivery_refused" \
	    "$(counter store delivery_refused)" 0
	check_eq "$1: store delivery_lost" "$(counter store delivery_lost)" 0
}

# Every event sent so far stored once, and the counters agree.
all_stored() {
	wait_sql "$1: every event stored" \
	    "SELECT count(*) FROM flows_v WHERE iface = '$IF'" "$sent" 60
	check_eq "$1: no flow stored twice" \
	    "$(sql "SELECT count(*) - count(DISTINCT cli_addr || ':' ||
	      cli_port || '>' || srv_addr || ':' || srv_port) FROM flows_v
	      WHERE iface = '$IF'")" 0
	check_eq "$1: no record applied twice" "$(sql "SELECT count(*)
	    FROM flows_v WHERE iface = '$IF' AND events <> 1")" 0
	wait_counter "$1: store applied every flow once" store recv_flow \
	    "$sent"
	check_eq "$1: router flow records" "$(counter router rx_flow)" "$sent"
	wait_true "$1: router received = forwarded + drops" router_ok
	nothing_dropped "$1"
	store_clean "$1"
}
router_ok() {
	r=$(counter router received) &&
	f=$(sum_matching router 'forwarded|unknown_iface|dropped_.*') &&
	echo "router: received $r, forwarded + drops $f" && [ "$r" = "$f" ]
}

wait_true "the router's link to the store is up" \
    '[ "$(link_out router peer)" = up ]'
wait_true "the collector heard the store's acks" \
    '[ "$(link_out col0 store_epoch)" != 0000000000000000 ]'

# 1. The store stopped.
kill -STOP "$(pid_of store)" || fail "SIGSTOP store"
sent=40000
publish -z "tcp://127.0.0.1:$P0" --array 20 --gen 40000 --ifname '' \
    >/dev/null
wait_true "the router holds" '[ "$(counter router holds)" -ge 1 ]'
wait_true "the collector waits: its link to the router is down" \
    '[ "$(link_out col0 peer)" = down ]'
h0=$(counter router hold_ms)
for _ in 1 2 3 4 5 6 7 8; do
	answers_fast router
	sleep 0.2
done
h1=$(counter router hold_ms)
echo "router held $h0 ms, then $h1 ms; received $(counter router received)"
checks=$((checks + 1))
[ "$h1" -ge $((h0 + 1000)) ] || fail "hold_ms did not grow while held"
checks=$((checks + 1))
[ "$(counter router rx_flow)" -lt "$sent" ] ||
    fail "the router read every event with its link full"
nothing_dropped "store stopped"
kill -CONT "$(pid_of store)" || fail "SIGCONT store"
all_stored "after the stop"
holds1=$(counter router holds)
ms1=$(counter router hold_ms)

# 2. The store slow: stopped 400 ms of every 450 while events arrive.
: >"$T/slow"
(
	while [ -f "$T/slow" ]; do
		kill -STOP "$(pid_of store)"
		sleep 0.4
		kill -CONT "$(pid_of store)"
		sleep 0.05
	done
) &
STOPPER=$!
publish -z "tcp://127.0.0.1:$P0" --array 20 --gen 60000 --first 40000 \
    --msgid-start "$(( $(last_msg_id) + 1 ))" --ifname '' >/dev/null
sent=100000
answers_fast router
wait_true "the router read every event while the store is slow" \
    '[ "$(counter router rx_flow)" = $sent ]' 60
answers_fast router
rm -f "$T/slow"
wait "$STOPPER"
STOPPER=""
kill -CONT "$(pid_of store)"
all_stored "after the slow store"
holds2=$(counter router holds)
ms2=$(counter router hold_ms)
echo "router: holds $holds1 after the stop, $holds2 after the slow store;" \
    "held $ms1 ms, then $ms2 ms"
checks=$((checks + 1))
# How long it held depends on when the stops fell (197 ms once in CI):
# that it held again, for some time, is what is asserted.
[ "$holds2" -gt "$holds1" ] && [ "$ms2" -gt "$ms1" ] ||
    fail "the router did not hold for the slow store"
all_alive
pass
