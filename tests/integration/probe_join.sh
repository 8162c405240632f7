#!/bin/sh
# probe_join: evflow-probe (eBPF) reports real processes, and their
# events join the packet flows evflow-capture builds, with the default
# settings of every daemon.
#
# Two network namespaces joined by a veth pair: python3 servers in B (web
# servers on IPv4, IPv6 and 127.0.0.1; a TCP and UDP echo), clients in A
# (curl as nobody over IPv4 and as root over IPv6, UDP exchanges, two
# long-lived TCP connections, one per family), a loopback connection
# inside B.  One probe on the host sees both namespaces; the capture of
# A's veth end is mirrored and the companion of the probe's ZMQ
# interface.  Asserted:
#   - every connection's packet flow in the veth interface carries the
#     exact pid, executable and uid (read from /proc while the process
#     ran) of the client (CONNECT) and of the server (ACCEPT), within
#     seconds, the long-lived ones while they are live; also for a curl
#     that exited before the probe (stopped meanwhile) read /proc, and
#     for UDP exchanges whose first datagram waited for ARP/ND;
#   - no event names a kernel thread as its process;
#   - the event-only rows of the ZMQ interface say the same;
#   - the loopback connection is in the ZMQ interface only;
#   - each side's CLOSE carries the kernel's byte counts, which agree
#     with the packet flow's IP bytes minus the TCP/IP headers;
#   - the collector counted no field of a wrong type, no drop, no loss;
#     the probe lost nothing in its ring buffer or on send;
#   - the store counts the joins, and every packet flow on the link has
#     a process.
# Skips only where the kernel cannot run the eBPF program (no BTF, no
# CAP_BPF).
. "$(dirname "$0")/probe_lib/common.sh"
probe_need
probe_need_bpf
probe_init
chmod 711 "$T"		# clients running as nobody reach their go files
probe_net
probe_servers

# Client ports of this run (the probe sees the whole host: other tests'
# connections are in the ZMQ interface too, queries name our addresses).
C=$(( 20000 + $$ % 5000 * 8 ))
C_CURL4=$C C_CURL6=$((C + 1)) C_UDP4=$((C + 2)) C_UDP6=$((C + 3))
C_LONG4=$((C + 4)) C_LONG6=$((C + 5)) C_LO=$((C + 6)) C_QUICK=$((C + 7))
P=$(free_port) Q=$(free_port)
Z="tcp://127.0.0.1:${P}c"
probe_pipeline "$Z"
# The probe's JSON also goes to an independent reader (each side's
# CLOSE is checked there: a row merges both sides).
helper sub "$BIN/evflow-testsub" -b "tcp://127.0.0.1:$Q" -q -p \
    -t 600000
wait_true "testsub bound" "grep -q ready '$T/sub.log'"
start_probe probe - -z "$Z,tcp://127.0.0.1:${Q}c"
if [ "$(counter probe mode_bpf)" != 1 ]; then
	grep -i -e bpf -e mode "$T/probe.log" | head
	fail "the probe does not run its eBPF program (root, kernel with BTF)"
fi
checks=$((checks + 1))

NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
# Clients in A; each one's "exe uid" is read while it runs.
# shellcheck disable=SC2086
curl_client curl4 "$NA" $C_CURL4 "http://$SRV4:$HTTP_PORT/blob" $NOBODY
CURL4=$CPID CURL4_EXE=$CEXE CURL4_UID=$CUID
check_eq "curl over IPv4 runs as nobody" "$CURL4_UID" 65534
curl_client curl6 "$NA" $C_CURL6 "http://[$SRV6]:$HTTP_PORT/blob"
CURL6=$CPID CURL6_EXE=$CEXE CURL6_UID=$CUID
# Both downloads end before the neighbour caches are flushed below (a
# flush during a handshake made it fail at once: "Couldn't connect").
for c in curl4:$CURL4 curl6:$CURL6; do
	wait "${c#*:}" || fail "${c%%:*} failed: status $?, $(cat "$T/${c%%:*}.log")"
done
# shellcheck disable=SC2086
helper udp4 ip netns exec "$NA" $NOBODY "$PYTHON" "$PL/udp_client.py" \
    "$CLI4" $C_UDP4 "$SRV4" $ECHO_PORT "$T/go.udp4"
UDP4=$LAST
set -- $(proc_id $UDP4 python3)
UDP4_EXE=$1 UDP4_UID=$2
helper udp6 ip netns exec "$NA" "$PYTHON" "$PL/udp_client.py" \
    "$CLI6" $C_UDP6 "$SRV6" $ECHO_PORT "$T/go.udp6"
UDP6=$LAST
set -- $(proc_id $UDP6 python3)
UDP6_EXE=$1 UDP6_UID=$2
# Each exchange's first datagram waits for ARP/ND and leaves from
# softirq (in the sender's call, or later in ksoftirqd): its process is
# still the sender's.
ip -n "$NA" neigh flush all
ip -n "$NB" neigh flush all
: >"$T/go.udp4"
: >"$T/go.udp6"
# shellcheck disable=SC2086
helper long4 ip netns exec "$NA" $NOBODY "$PYTHON" "$PL/tcp_client.py" \
    "$CLI4" $C_LONG4 "$SRV4" $ECHO_PORT
LONG4=$LAST
set -- $(proc_id $LONG4 python3)
LONG4_EXE=$1 LONG4_UID=$2
helper long6 ip netns exec "$NA" "$PYTHON" "$PL/tcp_client.py" \
    "$CLI6" $C_LONG6 "$SRV6" $ECHO_PORT
LONG6=$LAST
set -- $(proc_id $LONG6 python3)
LONG6_EXE=$1 LONG6_UID=$2
curl_client curllo "$NB" $C_LO "http://127.0.0.1:$HTTP_PORT/blob"
CURLLO=$CPID CURLLO_EXE=$CEXE CURLLO_UID=$CUID

# A curl gone before the probe reads its events: the probe is stopped
# (its ring buffer keeps them) while curl connects, downloads, exits and
# is reaped; the kernel's exe path stands.
KONLY=$(counter probe processes_kernel_only)
kill -STOP "$(pid_of probe)"
curl_client curlq "$NA" $C_QUICK "http://$SRV4:$HTTP_PORT/blob"
CURLQ=$CPID CURLQ_EXE=$CEXE CURLQ_UID=$CUID
wait $CURLQ
rcq=$?
kill -CONT "$(pid_of probe)"
[ $rcq = 0 ] || fail "curlq failed"
[ -d "/proc/$CURLQ" ] && fail "curl $CURLQ still in /proc"
wait $CURLLO || fail "curllo failed: status $?, $(cat "$T/curllo.log")"
for c in curl4 curl6 curllo curlq; do
	check_eq "$c downloaded the blob" "$(cat "$T/$c.log")" $BLOB
done
for c in udp4:$UDP4 udp6:$UDP6; do
	wait "${c#*:}" || fail "${c%%:*}: the UDP exchange failed"
done

# --- The joins, on the client's and the server's side.
# The long-lived connections first: they are live now.
joined "long-lived TCP over IPv4, while live" 6 $C_LONG4 "$CLI4" "$SRV4" \
    $ECHO_PORT $LONG4 "$LONG4_EXE" "$LONG4_UID" $ECHO_PID 0
joined "long-lived TCP over IPv6, while live" 6 $C_LONG6 "$CLI6" "$SRV6" \
    $ECHO_PORT $LONG6 "$LONG6_EXE" "$LONG6_UID" $ECHO_PID 0
check_eq "the long-lived clients still run" \
    "$(kill -0 $LONG4 && kill -0 $LONG6 && echo yes)" yes
joined "curl over IPv4" 6 $C_CURL4 "$CLI4" "$SRV4" $HTTP_PORT $CURL4 \
    "$CURL4_EXE" "$CURL4_UID" $HTTP4_PID 0
joined "curl over IPv6" 6 $C_CURL6 "$CLI6" "$SRV6" $HTTP_PORT $CURL6 \
    "$CURL6_EXE" "$CURL6_UID" $HTTP6_PID 0
joined "curl gone before the probe read /proc: the kernel's exe path" 6 \
    $C_QUICK "$CLI4" "$SRV4" $HTTP_PORT $CURLQ "$CURLQ_EXE" "$CURLQ_UID" \
    $HTTP4_PID 0
[ "$(counter probe processes_kernel_only)" -gt "$KONLY" ] ||
	fail "probe: processes_kernel_only did not grow"
checks=$((checks + 1))
joined "UDP exchange over IPv4" 17 $C_UDP4 "$CLI4" "$SRV4" $ECHO_PORT $UDP4 \
    "$UDP4_EXE" "$UDP4_UID" $ECHO_PID 0
joined "UDP exchange over IPv6" 17 $C_UDP6 "$CLI6" "$SRV6" $ECHO_PORT $UDP6 \
    "$UDP6_EXE" "$UDP6_UID" $ECHO_PID 0
check_eq "curl's side is the client, python's the server" \
    "$(sql "SELECT cli_process = '$CURL4_EXE' AND srv_process = '$PY' AND
    sides_guessed = 0 FROM flows_v WHERE iface = '$VA' AND protocol = 6 AND
    cli_port = $C_CURL4 AND c2s_packets > 0")" 1
OURS="('$CLI4', '$SRV4', '$CLI6', '$SRV6')"
check_eq "every event names both ports" "$(sql "SELECT count(*) FROM flows_v
    WHERE iface = '$Z' AND (cli_addr IN $OURS OR srv_addr IN $OURS) AND
    (cli_port = 0 OR srv_port = 0)")" 0

# --- The ZMQ interface has the same processes, without packets.
wait_sql "curl over IPv4 in the ZMQ interface: both sides, no counters" \
    "SELECT source, cli_pid, cli_uid, srv_pid, ifnull(c2s_packets, 'NULL')
    FROM flows_v WHERE iface = '$Z' AND protocol = 6 AND
    cli_addr = '$CLI4' AND cli_port = $C_CURL4 AND srv_port = $HTTP_PORT" \
    "event|$CURL4|65534|$HTTP4_PID|NULL"

# --- Loopback stays out of the companion.
wait_sql "loopback connection in the ZMQ interface, both sides" \
    "SELECT cli_addr, srv_addr, cli_pid, cli_process, cli_uid, srv_pid
    FROM flows_v WHERE iface = '$Z' AND protocol = 6 AND cli_port = $C_LO
    AND srv_port = $HTTP_PORT AND cli_addr = '127.0.0.1'" \
    "127.0.0.1|127.0.0.1|$CURLLO|$CURLLO_EXE|$CURLLO_UID|$HTTPLO_PID"
"$BIN/evflow-ctlq" -t 2000 "ipc://$D/store.ctl" flush >/dev/null
check_eq "no loopback flow in $VA" "$(sql "SELECT count(*) FROM flows_v
    WHERE iface = '$VA' AND (cli_addr LIKE '127.%' OR cli_addr = '::1'
    OR srv_addr LIKE '127.%' OR srv_addr = '::1')")" 0
[ "$(counter router companion_skipped_loopback)" -ge 2 ] ||
	fail "router: companion_skipped_loopback is" \
	    "$(counter router companion_skipped_loopback)"
checks=$((checks + 1))

# --- Each side's CLOSE against the packet flow, once the flow ended.
for c in "$C_CURL4 $CURL4 $HTTP4_PID" "$C_CURL6 $CURL6 $HTTP6_PID"; do
	set -- $c
	wait_true "CLOSE byte counts of client port $1 agree with its packets" \
	    "python3 '$PL/close_bytes.py' '$T/sub.log' '$DB' '$VA' $1 $2 $3"
done

# --- No event names a kernel thread (ksoftirqd sending a datagram
# that waited for ARP is not its owner).
python3 "$PL/no_kthread.py" "$T/sub.log" || fail "an event names a kernel thread"
checks=$((checks + 1))

# --- Nothing lost or refused on the way.
collector_clean col0
check_eq "probe: ring buffer drops" "$(counter probe dropped_ringbuf)" 0
check_eq "probe: send drops" "$(counter probe dropped_send)" 0
# --- Attribution: every packet flow on the link is one of ours.
[ "$(sif "$VA" joins)" -ge 12 ] || fail "store: $VA joins $(sif "$VA" joins)"
checks=$((checks + 1))
check_eq "every packet flow of $VA has a process (iface_attribution)" \
    "$(sql "SELECT packet_flows >= 6, packet_flows = with_process FROM
    iface_attribution WHERE iface = '$VA'")" "1|1"
all_alive
pass
