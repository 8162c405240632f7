#!/bin/sh
# The other topics: `counter` lands in ifcounters (rates from the delta of
# two samples), `listening-ports` in listening (one row per socket, seen
# again only moves last_seen), `event` in the producer's health
# (producers.info, probe_drops).  Uses tests/tools/samples/*.jsonl.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init
S="$TOP/tests/tools/samples"

EP="tcp://127.0.0.1:$(free_port)c"
start_pipeline -- "$EP"

publish -z "$EP" --topic counter -f "$S/counter.jsonl"
publish -z "$EP" --topic listening-ports --zlib -f "$S/listening-ports.jsonl"
publish -z "$EP" --topic event -f "$S/event.jsonl"

wait_sql "ifcounters: 3 samples" "SELECT count(*) FROM ifcounters" 3
wait_sql "ifcounters: eth0's first sample" \
    "SELECT device || ' ' || if_index || ' ' || if_speed || ' ' ||
      in_octets || ' ' || in_packets || ' ' || in_errors || ' ' ||
      out_octets || ' ' || out_packets || ' ' || out_errors || ' ' ||
      admin_status || ' ' || oper_status || ' ' || promisc
      FROM ifcounters WHERE if_name = 'eth0' ORDER BY ts, rowid LIMIT 1" \
    "192.168.1.23 2 1000000000 123456789 234567 3 98765432 123456 1 1 1 0"
wait_sql "ifcounters: no rate for a first sample" \
    "SELECT count(*) FROM ifcounters WHERE if_name = 'lo'
      AND in_bps IS NULL" 1
wait_sql "ifcounters: lands in the ZMQ interface" \
    "SELECT count(*) FROM ifcounters c JOIN interfaces i
      ON i.id = c.iface_id WHERE i.name = '$EP'" 3

wait_sql "listening: 5 sockets of host1" \
    "SELECT count(*) FROM listening WHERE host = 'host1'" 5
wait_sql "listening: sshd on tcp4 22" \
    "SELECT protocol || ' ' || ip_version || ' ' || process || ' ' || pkg
      FROM listening WHERE port = 22 AND ip_version = 4" \
    "6 4 sshd openssh-server"
wait_sql "listening: sshd on tcp6 22" \
    "SELECT protocol || ' ' || process FROM listening
      WHERE port = 22 AND ip_version = 6" "6 sshd"
wait_sql "listening: resolved on udp4 53, chronyd on udp6 123" \
    "SELECT group_concat(port || '/' || protocol || '/' || ip_version ||
      '/' || process, ' ') FROM (SELECT * FROM listening
      WHERE protocol = 17 ORDER BY port)" \
    "53/17/4/systemd-resolved 123/17/6/chronyd"

# Seen again: same rows, last_seen moves.
first=$(sql "SELECT max(last_seen) FROM listening")
publish -z "$EP" --topic listening-ports \
    -f "$S/listening-ports.jsonl"
wait_sql "listening: a socket seen again is not a new row" \
    "SELECT count(*) || ' ' || (max(last_seen) > $first) FROM listening" \
    "5 1"

wait_sql "event topic: the producer's health is kept" \
    "SELECT count(*) FROM producers WHERE info LIKE '%nprobe_mini%'" 1
check_eq "collector: topic objects counted" \
    "$(counter col0 producer_events)" 1
check_eq "collector: nothing dropped" \
    "$(sum_matching col0 'drop_.*')" 0
all_alive
pass
