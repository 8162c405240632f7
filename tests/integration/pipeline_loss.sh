#!/bin/sh
# Loss accounting per producer: msg_id gaps are counted as lost messages
# and a msg_id that goes backwards as a restart, in every header layout
# that carries a msg_id (24-byte v2 and 28-byte v1 with host-order ids,
# 36-byte v4), per (peer, source_id); the 40-byte v0 header has no msg_id
# and must count nothing.  Asserted in the producers table and in the
# collectors' counters, with every event that was sent stored.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

ifaces=""
for h in 24 28 36 40; do
	ifaces="$ifaces tcp://127.0.0.1:$(free_port)c"
done
# lo declared: the samples' two lo events land there too (pipeline_samples
# leaves lo undeclared to count unmatched names).
start_pipeline -i lo -- $ifaces

# 12 messages: ids 1 2 3, a gap of 5, 9..14, then a restart at 1 2 3.
k=0
for ep in $ifaces; do
	case $k in
	0) hdr="--header 24" ;;
	1) hdr="--header 28 --version 1" ;;
	2) hdr="--header 36 --zlib" ;;
	3) hdr="--header 40" ;;
	esac
	# shellcheck disable=SC2086
	publish -z "$ep" $hdr --source-id 5 --skip-msgid 5 --skip-at 3 \
	    --restart-at 9 -f "$SAMPLES"
	# A second source on the same connection's peer: its own sequence.
	# shellcheck disable=SC2086
	publish -z "$ep" $hdr --source-id 6 --array 4 -f "$SAMPLES"
	k=$((k + 1))
done

set -- $ifaces
for k in 0 1 2 3; do
	ep=$1; shift
	wait_sql "col$k: every event stored (11 flows)" \
	    "SELECT count(*) FROM flows_v WHERE iface = '$ep'" 11
	if [ $k = 3 ]; then
		# No msg_id, no source_id in a 40-byte header: one producer
		# (source 0) for both runs, nothing countable as lost.
		lost=0 rs=0
		wait_sql "col3: v0: one producer, 15 msgs, nothing lost" \
		    "SELECT source_id || ' ' || msgs || ' ' || events || ' ' ||
		      lost_msgs || ' ' || restarts FROM producers p
		      JOIN interfaces i ON i.id = p.iface_id
		      WHERE i.name = '$ep'" "0 15 24 0 0" \
		    "$WAIT_SECS" "SELECT * FROM producers"
	else
		lost=5 rs=1
		wait_sql "col$k: source 5: 12 msgs, 12 events, 5 lost, 1 restart" \
		    "SELECT msgs || ' ' || events || ' ' || lost_msgs || ' ' ||
		      restarts || ' ' || bad_msgs FROM producers p
		      JOIN interfaces i ON i.id = p.iface_id
		      WHERE i.name = '$ep' AND source_id = 5" "12 12 5 1 0" \
		    "$WAIT_SECS" "SELECT * FROM producers"
		wait_sql "col$k: source 6: 3 msgs, 12 events, nothing lost" \
		    "SELECT msgs || ' ' || events || ' ' || lost_msgs || ' ' ||
		      restarts FROM producers p
		      JOIN interfaces i ON i.id = p.iface_id
		      WHERE i.name = '$ep' AND source_id = 6" "3 12 0 0"
	fi
	check_eq "col$k: lost_msgs counter" "$(counter "col$k" lost_msgs)" \
	    "$lost"
	check_eq "col$k: producer_restarts counter" \
	    "$(counter "col$k" producer_restarts)" "$rs"
done

# In lo: the two loopback flows, merged from every interface and run
# (4 interfaces x 2 runs), and nothing else.
wait_sql "lo: the two loopback flows, 8 events each" \
    "SELECT group_concat(cli_port || '>' || srv_port || ':' || events ||
      ':' || cli_process, ' ') FROM (SELECT * FROM flows_v
      WHERE iface = 'lo' ORDER BY srv_port)" \
    "38512>9:8:/usr/bin/nc.openbsd 41234>6379:8:/usr/bin/redis-cli"
wait_counter "router: lo events matched, others unmatched" router \
    ifname_matched 16

# A producer process that restarts (a new testpub from msg_id 1 on the
# same peer and source id) is a restart, not a loss.
ep=$(echo $ifaces | cut -d' ' -f1)
publish -z "$ep" --header 24 --source-id 5 --gen 10 >/dev/null
wait_sql "col0: the new process is counted as a restart" \
    "SELECT lost_msgs || ' ' || restarts FROM producers p
      JOIN interfaces i ON i.id = p.iface_id
      WHERE i.name = '$ep' AND source_id = 5" "5 2"
all_alive
pass
