#!/bin/sh
# The generator's dialects through the pipeline, one ZMQ interface each:
# libebpfflow events, nprobe_mini events (LOCAL/REMOTE keys, IF_NAME,
# exporter, VM_SIZE), nprobe netstat updates (a "TCP" object, no event
# type: sides by port), and softflowd-style NetFlow JSON (numeric keys,
# byte/packet counters).  400 distinct flows per dialect, 10 per message.
# The values asserted are the ones evflow-testpub documents for its
# first template (flows 0, 4, 8, ...: curl, uid 1000, port 443).
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

ifaces=""
for d in ebpf nprobe netstat netflow; do
	ifaces="$ifaces tcp://127.0.0.1:$(free_port)c"
done
start_pipeline -- $ifaces
set -- $ifaces
for d in ebpf nprobe netstat netflow; do
	publish -z "$1" --gen 400 --array 10 --dialect "$d" --zlib >/dev/null
	eval "EP_$d=\$1"
	shift
done

# Flow 0 of every dialect: client 10.100.100.100:10000, server
# 203.0.113.80:443 (template 0).
T0="cli_addr = '10.100.100.100' AND cli_port = 10000 AND
    srv_addr = '203.0.113.80' AND srv_port = 443 AND protocol = 6"
for d in ebpf nprobe netstat netflow; do
	eval "ep=\$EP_$d"
	wait_sql "$d: 400 distinct flows" \
	    "SELECT count(*) || ' ' || count(DISTINCT cli_addr || cli_port)
	      FROM flows_v WHERE iface = '$ep'" "400 400"
done
wait_sql "ebpf: event, process, parent on the client side" \
    "SELECT source || ' ' || last_event || ' ' || cli_process || ' ' ||
      cli_uid || ' ' || cli_parent_process || ' ' || sides_guessed
      FROM flows_v WHERE iface = '$EP_ebpf' AND $T0" \
    "event CONNECT /usr/bin/curl 1000 /usr/bin/bash 0"
wait_sql "ebpf: the docker template carries its container" \
    "SELECT count(*) FROM flows_v WHERE iface = '$EP_ebpf'
      AND cli_container_kind = 'docker' AND srv_port = 5432" 100
wait_sql "ebpf: the k8s template carries its pod" \
    "SELECT count(*) FROM flows_v WHERE iface = '$EP_ebpf'
      AND cli_pod = 'coredns-5d78c9869d-6x2qz' AND protocol = 6" 100
wait_sql "nprobe: LOCAL is the client of a CONNECT; exporter, VM_SIZE" \
    "SELECT source || ' ' || last_event || ' ' || cli_process || ' ' ||
      cli_vm_size || ' ' || cli_vm_peak || ' ' || exporter || ' ' ||
      ifname || ' ' || (abs(nw_latency_ms - 0.177) < 0.0005)
      FROM flows_v WHERE iface = '$EP_nprobe' AND $T0" \
    "event CONNECT /usr/bin/curl 22528 24576 192.168.2.131 eth0 1"
wait_sql "netstat: TCP info, sides from the ports" \
    "SELECT source || ' ' || tcp_state || ' ' || segs_in || ' ' ||
      segs_out || ' ' || unack_segs || ' ' || lost_packets || ' ' ||
      rtt_ms || ' ' || rtt_var_ms || ' ' || bytes_rcvd || ' ' ||
      bytes_acked || ' ' || cli_process
      FROM flows_v WHERE iface = '$EP_netstat' AND $T0" \
    "netstat ESTABLISHED 12 14 0 0 0.25 0.125 4312 1250 /usr/bin/curl"
wait_sql "netflow: counters per direction, no process" \
    "SELECT source || ' ' || c2s_bytes || ' ' || c2s_packets || ' ' ||
      s2c_bytes || ' ' || s2c_packets || ' ' || coalesce(cli_process, '-')
      FROM flows_v WHERE iface = '$EP_netflow' AND $T0" \
    "netflow 1397 16 54197 42 -"
wait_sql "netflow: UDP template (protocol 17 to port 53)" \
    "SELECT count(*) FROM flows_v WHERE iface = '$EP_netflow'
      AND protocol = 17 AND srv_port = 53" 100
k=0
while [ $k -lt 4 ]; do
	check_eq "col$k: every event forwarded" \
	    "$(counter "col$k" events_forwarded)" 400
	k=$((k + 1))
done
all_alive
pass
