#!/bin/sh
# Issue 13, what nprobe_mini / nProbe Agent style producers send, stored
# right: LOCAL_CONTAINER's ID at the container object's own level (783 of
# 783 agent events had lost it), an interface status "Up" (stored as 0,
# "down"), IPv4 listening sockets (given `::`), and a 390-byte stats
# object in producers.info (cut at 215 bytes).
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

ep="tcp://127.0.0.1:$(free_port)c"
start_pipeline -- "$ep"

cat >"$T/flow.jsonl" <<'JSON'
{ "timestamp": "1557135868.956831", "TCP_EVENT_TYPE": "CONNECT", "IF_NAME": "cbr0", "IP_PROTOCOL_VERSION": 4, "PROTOCOL": 6, "L4_LOCAL_PORT": 58916, "L4_REMOTE_PORT": 10054, "IPV4_LOCAL_ADDR": "10.1.1.1", "IPV4_REMOTE_ADDR": "10.1.1.13", "LOCAL_PROCESS": { "PID": 29730, "PROCESS_PATH": "\/usr\/bin\/coredns" }, "LOCAL_CONTAINER": { "ID": "275d71585e03a4c9", "K8S": { "NAME": "coredns", "POD": "coredns-5d78c9869d-6x2qz", "NS": "kube-system" } } }
JSON
printf '%s\n' '{"deviceIP":"192.168.1.1","ifIndex":3,"ifName":"eth0","ifAdminStatus":"Up","ifOperStatus":"Up","ifInOctets":1000}' \
    >"$T/counter.jsonl"
printf '%s\n' '{"listening-ports":{"tcp4":[{"port":22,"proc":"sshd","pkg":""}],"udp4":[],"tcp6":[{"port":80,"proc":"nginx","pkg":""}],"udp6":[]},"ip-addresses":["10.0.0.5"],"instance-name":"host1"}' \
    >"$T/listen.jsonl"
python3 -c 'import json
o = {"probe": "nprobe-agent v9.6 host1"}
for i in range(18):
    o["counter_%02d" % i] = 1000000 + i
print(json.dumps(o, separators=(",", ":")))' >"$T/event.jsonl"
info=$(cat "$T/event.jsonl")
[ ${#info} -gt 380 ] || fail "the stats object is only ${#info} bytes"

publish -z "$ep" --header 36 -f "$T/flow.jsonl" >/dev/null
publish -z "$ep" --header 36 --topic counter -f "$T/counter.jsonl" >/dev/null
publish -z "$ep" --header 36 --topic listening-ports -f "$T/listen.jsonl" \
    >/dev/null
publish -z "$ep" --header 36 --topic event -f "$T/event.jsonl" >/dev/null

wait_sql "agent container: id, name, pod and namespace kept" \
    "SELECT cli_container_kind || ' ' || cli_container_id || ' ' ||
      cli_container_name || ' ' || cli_pod || ' ' || cli_namespace
      FROM flows_v WHERE iface = '$ep'" \
    "k8s 275d71585e03a4c9 coredns coredns-5d78c9869d-6x2qz kube-system" \
    "$WAIT_SECS" "SELECT * FROM flows_v"
wait_sql "interface status Up is up (1)" \
    "SELECT admin_status || ' ' || oper_status FROM ifcounters" "1 1"
wait_sql "listening sockets: 0.0.0.0 for tcp4, :: for tcp6" \
    "SELECT group_concat(ip_version || ' ' || addr || ' ' || port, ', ')
      FROM (SELECT * FROM listening ORDER BY port)" "4 0.0.0.0 22, 6 :: 80"
wait_sql "producers.info holds the whole stats object" \
    "SELECT length(info) || ' ' || (info = json('$info'))
      FROM producers p JOIN interfaces i ON i.id = p.iface_id
      WHERE i.name = '$ep'" "${#info} 1" 30 "SELECT * FROM producers"
all_alive
pass
