#!/bin/sh
# Issue 13: a producer that restarts with the same source id while the
# collector is busy was reported as having lost ~230,000 messages with
# ~700 restarts.  The first process floods the collector and exits; its
# messages are still queued in the collector (read by libzmq's I/O
# thread, its connection closed) when the second process, same peer and
# source id, starts again from msg_id 1 on a new connection that gets the
# old one's fd number.  Nothing was lost: lost_msgs stays 0, one restart.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

ep="tcp://127.0.0.1:$(free_port)c"
start_pipeline -- "$ep"
N=${N:-60000}

# Small messages (topic `event`: one health object each) so that the
# collector's queue, not the store, is what is busy.
printf '{"bytes":1,"drops":0}\n' >"$T/ev.jsonl"
publish -z "$ep" --header 36 --topic event --source-id 9 -f "$T/ev.jsonl" \
    --repeat $N >/dev/null
echo "after the first: $(counter col0 msgs_decoded) decoded"
publish -z "$ep" --header 36 --topic event --source-id 9 -f "$T/ev.jsonl" \
    --repeat $N >/dev/null
echo "after the second: $(counter col0 msgs_decoded) decoded"
wait_counter "every message decoded" col0 msgs_decoded $((2 * N)) 60
check_eq "lost_msgs counter" "$(counter col0 lost_msgs)" 0
check_eq "producer_restarts counter" "$(counter col0 producer_restarts)" 1
wait_sql "producer: $((2 * N)) msgs, none lost, one restart" \
    "SELECT msgs || ' ' || lost_msgs || ' ' || restarts FROM producers p
      JOIN interfaces i ON i.id = p.iface_id
      WHERE i.name = '$ep' AND source_id = 9" "$((2 * N)) 0 1" \
    "$WAIT_SECS" "SELECT * FROM producers"
all_alive
pass
