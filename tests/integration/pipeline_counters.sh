#!/bin/sh
# Counter consistency after a mixed run (generated flows in two dialects,
# the samples, every hostile kind, the other topics) through two ZMQ
# interfaces: at every stage, received = stored/forwarded + counted drops,
# nothing is lost between stages, the record counts agree from one stage
# to the next, and what the store keeps in daemon_counters matches what
# each daemon reports on its control socket.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init
S="$TOP/tests/tools/samples"

E0="tcp://127.0.0.1:$(free_port)c"
E1="tcp://127.0.0.1:$(free_port)c"
start_pipeline -i eth0 -- "$E0" "$E1"

publish -z "$E0" --gen 3000 --array 10 --dialect ebpf
publish -z "$E1" --gen 3000 --first 3000 --array 10 --zlib --header 36 \
    --dialect nprobe --msgid-start 1
publish -z "$E1" --gen 1000 --first 6000 --dialect netstat --msgid-start 301
publish -z "$E0" -f "$SAMPLES" --msgid-start 301
publish -z "$E0" --malformed all --msgid-start 313
publish -z "$E1" --topic counter -f "$S/counter.jsonl" --msgid-start 1301
publish -z "$E1" --topic listening-ports -f "$S/listening-ports.jsonl" \
    --msgid-start 1304

# Everything sent is in: 3000 + 3000 + 1000 generated flows, the 11
# flows of the samples, the one event of the hostile `utf8` kind that is
# kept.
wait_sql "all flows stored" \
    "SELECT count(*) FROM flows_v WHERE iface_kind = 'zmq'" 7012 60

# Per-stage identities, once the stages are quiet.
col_ok() {
	m=$(counter "$1" msgs_received) &&
	md=$(sum_matching "$1" 'msgs_decoded|msgs_ignored|drop_msg_.*') &&
	e=$(counter "$1" events_received) &&
	ef=$(sum_matching "$1" 'events_forwarded|drop_ev_.*') &&
	q=$(counter "$1" records_queued) &&
	qs=$(sum_matching "$1" 'records_sent|records_send_dropped') &&
	echo "$1: msgs $m = $md, events $e = $ef, records $q = $qs" &&
	[ "$m" = "$md" ] && [ "$e" = "$ef" ] && [ "$q" = "$qs" ]
}
for c in col0 col1; do
	wait_true "$c: received = decoded/forwarded + drops" "col_ok $c"
done
router_ok() {
	r=$(counter router received) &&
	f=$(sum_matching router 'forwarded|unknown_iface|dropped_.*') &&
	echo "router: received $r = forwarded + drops $f" && [ "$r" = "$f" ]
}
wait_true "router: received = forwarded + drops" router_ok
store_ok() {
	r=$(counter store received) &&
	f=$(sum_matching store 'stored|bad_records|no_iface|no_memory|write_drops') &&
	echo "store: received $r = stored + drops $f" && [ "$r" = "$f" ]
}
wait_true "store: received = stored + drops" store_ok

# Nothing lost or refused anywhere (the hostile input is dropped at the
# collector, by reason, and never reaches the router).
check_eq "collectors: send drops" \
    "$(sum_collectors records_send_dropped)" 0
check_eq "collectors: events refused by the link" \
    "$(sum_collectors drop_ev_send)" 0
check_eq "router: lost" "$(counter router lost)" 0
check_eq "router: drops" "$(sum_matching router 'unknown_iface|dropped_.*|send_dropped')" 0
check_eq "store: lost" "$(counter store lost)" 0
check_eq "store: drops" \
    "$(sum_matching store 'bad_records|no_iface|no_memory|write_drops|write_errors')" 0

# From stage to stage: the flow, counter and listening records.
flows_ok() {
	c=$(sum_collectors records_flow) && r=$(counter router rx_flow) &&
	s=$(counter store recv_flow) &&
	echo "flow records: collectors $c, router $r, store $s" &&
	[ "$c" = 7013 ] && [ "$r" = "$c" ] && [ "$s" = "$c" ]
}
wait_true "flow records agree between stages" flows_ok
others_ok() {
	c=$(sum_collectors records_ifcounter) &&
	s=$(counter store recv_ifcounter) &&
	l=$(sum_collectors records_listen) && sl=$(counter store recv_listen) &&
	echo "ifcounter $c/$s listen $l/$sl" &&
	[ "$c" = 3 ] && [ "$s" = 3 ] && [ "$l" = 5 ] && [ "$sl" = 5 ]
}
wait_true "counter and listening records agree" others_ok
# Merged once per destination: 7013 records in the ZMQ interfaces, plus
# the generated events naming eth0 (all 7000) and the 9 samples naming
# eth0.
wait_true "store: merged per destination" \
    '[ "$(counter store merged)" = $((7013 + 7000 + 9)) ] ||
     { echo "merged $(counter store merged)"; false; }'

# The store's copy of everyone's counters (sent once a second) catches up.
# Compared on counters that stop moving when publishing stops: the router's
# `received` keeps growing with the collectors' own stats records.
for d in col0 col1 router; do
	key=events_received
	[ "$d" = router ] && key=rx_flow
	v=$(counter "$d" "$key")
	wait_sql "daemon_counters: $d $key" \
	    "SELECT value FROM daemon_counters WHERE daemon = '$d'
	      AND key = '$key'" "$v"
done
all_alive
pass
