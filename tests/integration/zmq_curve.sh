#!/bin/sh
# zmq_curve: the supported way across machines, ZMQ with CURVE, between
# two network namespaces joined by a veth pair (nothing on loopback).
#
# The collector runs in namespace B with collector.curve = yes, bound to
# B's veth address; evflow-testpub publishes the sample events from
# namespace A.  (store and router run outside, reached over ipc:// in
# the data directory, as on the collector's machine.)
#   - the collector made its secret key file, mode 0600, and shows the
#     same public key in its stats and in `evflow-collector -n`;
#   - a producer without a key, then one with a wrong server key: no
#     message is received, nothing stored, and each refused handshake
#     is counted (curve.handshake_failures) and logged;
#   - a producer with the collector's public key: all 12 events are
#     received and the 11 flows stored.
# Needs root and `ip netns`; exits 77 otherwise.
. "$(dirname "$0")/lib.sh"

need_netns
need_bins evflow-collector evflow-router evflow-store evflow-testpub \
    evflow-ctlq

lib_init
NA=evfza$$ NB=evfzb$$ VA=evza$$ VB=evzb$$
NET=10.215.$(( $$ % 250 ))
PUBA=$NET.1 COLB=$NET.2
PORT=$(free_port)
EP="tcp://$COLB:$PORT"

# netns_cleanup stops what runs in the namespaces (the collector too: it
# exits 0 on that SIGTERM, checked by lib_cleanup) and deletes them.
trap netns_cleanup EXIT
netns_pair "$NA" "$NB" "$VA" "$VB" "$PUBA" "$COLB"

start_daemon store "$BIN/evflow-store" -d "$D" -N store
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "${EP}c" \
    -i eth0 -i cbr0
wait_ctl router
start_daemon col0 ip netns exec "$NB" "$BIN/evflow-collector" -d "$D" \
    -N col0 -i "${EP}c" -o collector.curve=yes
wait_ctl col0
COUNTERS=1

# The key: made at first start, 0600, the same in the stats and in -n.
check_eq "key file mode" "$(stat -c %a "$D/col0.key")" 600
KEY=$("$BIN/evflow-ctlq" -t 2000 -g curve.public_key "ipc://$D/col0.ctl" \
    stats) || fail "no curve.public_key in the stats"
check_eq "public key length" "${#KEY}" 40
check_eq "-n shows the key" "$("$BIN/evflow-collector" -n -d "$D" -N col0 \
    -i "${EP}c" -o collector.curve=yes | sed -n 's/^curve_public_key = //p')" \
    "$KEY"
grep -qF "CURVE server public key: $KEY" "$T/col0.log" ||
	fail "the public key is not in the log"
checks=$((checks + 1))

# pub NAME ARGS...: testpub from namespace A; refused producers see no
# subscriber and send into the void (no linger).
pub() {
	name=$1; shift
	ip netns exec "$NA" "$BIN/evflow-testpub" -z "${EP}c" --wait-ms 2000 \
	    --linger-ms 0 -f "$SAMPLES" "$@" >"$T/$name.out" 2>&1
}
pub nokey
wait_true "handshake without CURVE refused and counted" \
    '[ "$("$BIN/evflow-ctlq" -t 2000 -g curve.handshake_failures \
    "ipc://$D/col0.ctl" stats)" -ge 1 ]'
# A wrong server key: the first z85 character changed (a or b keeps the
# 5-character group under 2^32).
case $KEY in a*) BAD=b${KEY#?} ;; *) BAD=a${KEY#?} ;; esac
pub badkey --curve-server-key "$BAD"
wait_true "handshake with a wrong server key refused and counted" \
    '[ "$("$BIN/evflow-ctlq" -t 2000 -g curve.handshake_failures \
    "ipc://$D/col0.ctl" stats)" -ge 2 ]'
grep -q "CURVE handshake refused" "$T/col0.log" ||
	fail "refused handshakes are not logged"
check_eq "messages from refused producers" "$(counter col0 msgs_received)" 0
check_eq "successful handshakes so far" "$("$BIN/evflow-ctlq" -t 2000 \
    -g curve.handshakes "ipc://$D/col0.ctl" stats)" 0

# The right key: everything arrives.
pub good --curve-server-key "$KEY" --wait-ms 5000 --linger-ms 10000 ||
	fail "testpub with the key: $(cat "$T/good.out")"
grep -q "messages=12 events=12" "$T/good.out" ||
	fail "testpub: $(cat "$T/good.out")"
wait_counter "12 messages over CURVE" col0 msgs_received 12
wait_sql "11 flows stored from the CURVE producer" \
    "SELECT count(*) FROM flows_v WHERE iface_kind = 'zmq'" 11 30 \
    "SELECT iface, count(*) FROM flows_v GROUP BY iface"
check_eq "one successful handshake" "$("$BIN/evflow-ctlq" -t 2000 \
    -g curve.handshakes "ipc://$D/col0.ctl" stats)" 1
check_eq "no message decode error" "$(counter col0 msgs_received)" 12

# evflow-probe as a CURVE client (probe.curve_server_key), from A: its
# own connection to the collector arrives with its process.
if [ -x "$BIN/evflow-probe" ]; then
	start_daemon probe ip netns exec "$NA" "$BIN/evflow-probe" -d "$D" \
	    -N probe -z "${EP}c" -m diag -o probe.curve_server_key="$KEY" \
	    -o probe.netstat_interval=1s
	wait_ctl probe
	wait_sql "the probe's events stored over CURVE" \
	    "SELECT count(*) > 0 FROM flows_v WHERE iface_kind = 'zmq' AND
	    cli_process LIKE '%evflow-probe' AND srv_port = $PORT" 1 30 \
	    "SELECT cli_process, srv_port FROM flows_v"
	check_eq "two successful handshakes" "$("$BIN/evflow-ctlq" -t 2000 \
	    -g curve.handshakes "ipc://$D/col0.ctl" stats)" 2
fi
pass
