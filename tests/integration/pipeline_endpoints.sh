#!/bin/sh
# Endpoint forms of a ZMQ interface (wire.md "Sockets and endpoints"):
# without the trailing `c` the collector connects to a producer that
# binds (evflow-testpub -b); `ipc://` endpoints; several comma-separated
# endpoints making one interface, each with its own producer.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

PA=$(free_port)
PC=$(free_port)
PD=$(free_port)
IA="tcp://127.0.0.1:$PA"
IB="ipc://$T/zmq-b.ipcc"
IC="tcp://127.0.0.1:${PC}c,tcp://127.0.0.1:${PD}c"
start_pipeline -- "$IA" "$IB" "$IC"

# The collector of IA connects; the producer binds and waits for it.
publish -b "$IA" --gen 30 --first 0 --header 36 --zlib
publish -z "$IB" --gen 30 --first 100 --array 4
publish -z "tcp://127.0.0.1:${PC}c" --gen 30 --first 200 --source-id 1
publish -z "tcp://127.0.0.1:${PD}c" --gen 30 --first 300 --header 28 \
    --source-id 2

wait_sql "connect mode: the producer's flows" \
    "SELECT count(*) FROM flows_v WHERE iface = '$IA'" 30
wait_sql "ipc: the producer's flows" \
    "SELECT count(*) FROM flows_v WHERE iface = '$IB'" 30
wait_sql "two endpoints, one interface: both producers' flows" \
    "SELECT count(*) FROM flows_v WHERE iface = '$IC'" 60
wait_sql "two endpoints: two producers of that interface" \
    "SELECT group_concat(source_id || ':' || msgs, ' ') FROM (SELECT
      p.* FROM producers p JOIN interfaces i ON i.id = p.iface_id
      WHERE i.name = '$IC' ORDER BY source_id)" "1:30 2:30"
all_alive
pass
