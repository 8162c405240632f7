#!/bin/sh
# Every event of the shared sample file through real ZMQ, in every header
# layout and encoding, into one pipeline: one ZMQ interface (and one
# collector) per variant, plus the packet interfaces eth0 and cbr0
# declared in the router (lo is left undeclared on purpose: its events
# must be counted as unmatched IF_NAMEs).  Asserts the flow rows of
# every interface: addresses, ports, protocol, client/server sides,
# process, parent, user, container, IF_NAME dispatch; then the counters.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

# header version zlib array: 16 variants (version = the header's usual)
VARIANTS="40:0:0:0 40:0:1:0 40:0:0:5 40:0:1:5
24:2:0:0 24:2:1:0 24:2:0:5 24:2:1:5
28:1:0:0 28:1:1:0 28:1:0:5 28:1:1:5
36:4:0:0 36:4:1:0 36:4:0:5 36:4:1:5"
NV=16

ifaces=""
for v in $VARIANTS; do
	ifaces="$ifaces tcp://127.0.0.1:$(free_port)c"
done
start_pipeline -i eth0 -i cbr0 -- $ifaces

set -- $ifaces
for v in $VARIANTS; do
	ep=$1; shift
	IFS=: read -r hdr ver z arr <<EOF
$v
EOF
	opts="--header $hdr --version $ver"
	[ "$z" = 1 ] && opts="$opts --zlib"
	[ "$arr" != 0 ] && opts="$opts --array $arr"
	echo "publish $opts -> $ep"
	# shellcheck disable=SC2086
	publish -z "$ep" $opts --source-id 3 -f "$SAMPLES"
done

# Every ZMQ interface holds the 11 flows of the 12 events (the two DNS
# SENDs are one flow seen from both ends).
wait_sql "11 flows in each ZMQ interface" \
    "SELECT count(*) FROM (SELECT iface, count(*) AS n FROM flows_v
      WHERE iface_kind = 'zmq' GROUP BY iface HAVING n = 11)" "$NV" 30 \
    "SELECT iface, count(*) FROM flows_v GROUP BY iface"
wait_sql "8 flows in eth0 (by INTERFACE_NAME)" \
    "SELECT count(*) FROM flows_v WHERE iface = 'eth0'" 8
wait_sql "1 flow in cbr0 (by IF_NAME)" \
    "SELECT count(*) FROM flows_v WHERE iface = 'cbr0'" 1
wait_sql "no packet interface other than eth0, cbr0 got flows" \
    "SELECT count(*) FROM flows_v WHERE iface_kind <> 'zmq'
      AND iface NOT IN ('eth0', 'cbr0')" 0

# desc | 5-tuple | checks | packet iface | events per variant
while IFS='|' read -r desc tuple check pif evs; do
	[ -z "$desc" ] && continue
	wait_sql "$desc: one row per ZMQ interface" \
	    "SELECT count(DISTINCT iface) || '/' || count(*) FROM flows_v
	      WHERE iface_kind = 'zmq' AND $tuple" "$NV/$NV"
	wait_sql "$desc: fields in every ZMQ interface" \
	    "SELECT count(*) FROM flows_v WHERE iface_kind = 'zmq'
	      AND $tuple AND $check AND events = $evs" "$NV" "$WAIT_SECS" \
	    "SELECT * FROM flows_v WHERE $tuple LIMIT 1"
	if [ "$pif" != - ]; then
		wait_sql "$desc: merged once in $pif, $NV variants" \
		    "SELECT count(*) FROM flows_v WHERE iface = '$pif'
		      AND $tuple AND $check AND events = $NV * $evs" 1 \
		    "$WAIT_SECS" "SELECT * FROM flows_v WHERE $tuple AND
		      iface_kind <> 'zmq'"
	fi
done <<'EOF'
curl CONNECT (client side)|cli_addr = '192.168.1.23' AND cli_port = 54348 AND srv_addr = '203.0.113.80' AND srv_port = 80 AND protocol = 6|ip_version = 4 AND cli_process = '/usr/bin/curl' AND cli_pid = 30197 AND cli_tid = 30197 AND cli_uid = 1000 AND cli_grp = 'alice' AND cli_cmdline = 'http://203.0.113.80/' AND cli_parent_pid = 26219 AND cli_parent_process = '/usr/bin/bash' AND srv_process IS NULL AND srv_pid IS NULL AND last_event = 'CONNECT' AND abs(nw_latency_ms - 0.221) < 0.0005 AND ifname = 'eth0' AND sides_guessed = 0|eth0|1
nginx ACCEPT (server side)|cli_addr = '198.51.100.7' AND cli_port = 51544 AND srv_addr = '192.168.1.23' AND srv_port = 443 AND protocol = 6|srv_process = '/usr/sbin/nginx' AND srv_pid = 1826 AND srv_uid = 33 AND srv_grp = 'www-data' AND srv_parent_pid = 812 AND srv_parent_process = '/usr/sbin/nginx' AND cli_process IS NULL AND cli_pid IS NULL AND last_event = 'ACCEPT' AND sides_guessed = 0|eth0|1
redis-cli CLOSE on lo|cli_addr = '127.0.0.1' AND cli_port = 41234 AND srv_addr = '127.0.0.1' AND srv_port = 6379 AND protocol = 6|cli_process = '/usr/bin/redis-cli' AND cli_cmdline = 'ping' AND cli_pid = 40211 AND srv_process IS NULL AND last_event = 'CLOSE' AND ifname = 'lo'|-|1
nc CONNECT_FAILED on lo|cli_addr = '127.0.0.1' AND cli_port = 38512 AND srv_addr = '127.0.0.1' AND srv_port = 9 AND protocol = 6|cli_process = '/usr/bin/nc.openbsd' AND cli_cmdline = '-z' AND last_event = 'CONNECT_FAILED'|-|1
RETRANSMIT without process|cli_addr = '192.168.1.23' AND cli_port = 54350 AND srv_addr = '203.0.113.80' AND srv_port = 80 AND protocol = 6|cli_process IS NULL AND srv_process IS NULL AND last_event = 'RETRANSMIT'|eth0|1
firefox IPv6 CONNECT|cli_addr = '2001:db8:1::23' AND cli_port = 39012 AND srv_addr = '2001:db8:cafe::80' AND srv_port = 443 AND protocol = 6|ip_version = 6 AND cli_process = '/usr/lib/firefox-esr/firefox-esr' AND cli_pid = 5123 AND cli_tid = 5071 AND cli_parent_process = '/usr/lib/systemd/systemd' AND cli_parent_cmdline = '--user' AND abs(nw_latency_ms - 0.057) < 0.0005|eth0|1
curl in docker|cli_addr = '172.17.0.2' AND cli_port = 54872 AND srv_addr = '203.0.113.80' AND srv_port = 80 AND protocol = 6|cli_process = '/usr/bin/curl' AND cli_uid = 0 AND cli_grp = 'root' AND cli_container_kind = 'docker' AND cli_container_id = 'cbd2540ec5be7f1e9a0d4b6c3e8f2a1b5d7c9e0f4a6b8c2d1e3f5a7b' AND cli_container_name = 'sleepy_haibt' AND cli_pod IS NULL AND srv_container_kind IS NULL|eth0|1
coredns in k8s|cli_addr = '10.244.0.5' AND cli_port = 48220 AND srv_addr = '10.96.0.1' AND srv_port = 443 AND protocol = 6|cli_process = '/coredns' AND cli_cmdline = '-conf' AND cli_parent_process = '/usr/bin/containerd-shim-runc-v2' AND cli_container_kind = 'k8s' AND cli_container_id = '275d71585e03a4c9b1f0e2d3c4b5a697887766554433221100ffeeddccbbaa9' AND cli_container_name = 'coredns' AND cli_pod = 'coredns-5d78c9869d-6x2qz' AND cli_namespace = 'kube-system'|eth0|1
DNS over UDP, both ends' SEND|cli_addr = '192.168.1.23' AND cli_port = 40432 AND srv_addr = '192.168.1.1' AND srv_port = 53 AND protocol = 17|cli_process = '/usr/lib/systemd/systemd-resolved' AND cli_grp = 'systemd-resolve' AND cli_uid = 991 AND cli_parent_pid = 1 AND cli_parent_user = 'daemon' AND cli_parent_process = '/usr/lib/systemd/systemd' AND last_event = 'SEND'|eth0|2
chrony IPv6 UDP|cli_addr = '2001:db8:1::23' AND cli_port = 47873 AND srv_addr = '2001:db8::123' AND srv_port = 123 AND protocol = 17|ip_version = 6 AND cli_process = '/usr/sbin/chronyd' AND cli_uid = 100 AND cli_gid = 104 AND cli_grp = '_chrony' AND cli_cmdline = '-F' AND cli_parent_user = 'daemon'|eth0|1
kubelet (nprobe_mini, IF_NAME)|cli_addr = '10.1.1.1' AND cli_port = 58916 AND srv_addr = '10.1.1.13' AND srv_port = 10054 AND protocol = 6|cli_process = '/snap/microk8s/522/kubelet' AND cli_pid = 29730 AND cli_grp = 'root' AND cli_parent_process = '/lib/systemd/systemd' AND cli_parent_user = 'daemon' AND srv_process IS NULL AND exporter = '192.168.2.131' AND abs(nw_latency_ms - 0.177) < 0.0005 AND ifname = 'cbr0'|cbr0|1
EOF

# IF_NAME dispatch: lo is not declared, so each variant's two lo events
# are unmatched; eth0 and cbr0 matched.
wait_counter "lo events counted as unmatched" router ifname_unmatched \
    $((NV * 2))
wait_counter "eth0 and cbr0 events matched" router ifname_matched \
    $((NV * 10))

# Producers: one per variant, 12 events each, nothing lost.
wait_sql "one producer row per ZMQ interface" \
    "SELECT count(DISTINCT iface_id) FROM producers" "$NV"
wait_sql "producers: no loss, no rejects" \
    "SELECT sum(lost_msgs) || ' ' || sum(bad_msgs) FROM producers" "0 0"

# Counters: every event received was forwarded.
got=$(sum_collectors events_received)
check_eq "collectors: events received" "$got" $((NV * 12))
got=$(sum_collectors events_forwarded)
check_eq "collectors: events forwarded" "$got" $((NV * 12))
got=$(sum_collectors lost_msgs)
check_eq "collectors: msg_id loss" "$got" 0
all_alive
pass
