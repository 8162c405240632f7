#!/bin/sh
# probe_fallback: evflow-probe without eBPF (-m diag: NETLINK_SOCK_DIAG
# polling and /proc/*/fd socket inodes) produces the same joins for
# long-lived connections as the eBPF probe.
#
# sock_diag reports the sockets of one network namespace, so one probe
# runs in each: in A for the clients, in B for the servers, both
# publishing to one ZMQ interface over an ipc:// endpoint (a file: it
# crosses namespaces), with source ids 1 and 2.  Two long-lived TCP
# connections from A to B's echo server (IPv4 as nobody, IPv6 as root)
# join the packet flows the capture of A's veth end builds, with the
# exact pid, executable and uid of both sides; the collector counts no
# wrong field, drop or loss.  Needs no BTF.
. "$(dirname "$0")/probe_lib/common.sh"
probe_need
probe_init
probe_net
probe_servers

C=$(( 20000 + $$ % 5000 * 8 ))
C_LONG4=$C C_LONG6=$((C + 1))
Z="ipc://$T/probe.ipcc"
probe_pipeline "$Z"
start_probe pa "$NA" -m diag -z "$Z" -o probe.source_id=1
start_probe pb "$NB" -m diag -z "$Z" -o probe.source_id=2
check_eq "the probe in A polls sock_diag" "$(counter pa mode_bpf)" 0
check_eq "the probe in B polls sock_diag" "$(counter pb mode_bpf)" 0
grep -q -i "diag" "$T/pa.log" || fail "the probe does not say which mode runs"
checks=$((checks + 1))

helper long4 ip netns exec "$NA" setpriv --reuid=65534 --regid=65534 \
    --clear-groups "$PYTHON" "$PL/tcp_client.py" "$CLI4" $C_LONG4 "$SRV4" \
    $ECHO_PORT
LONG4=$LAST
set -- $(proc_id $LONG4 python3)
LONG4_EXE=$1 LONG4_UID=$2
check_eq "the IPv4 client runs as nobody" "$LONG4_UID" 65534
helper long6 ip netns exec "$NA" "$PYTHON" "$PL/tcp_client.py" \
    "$CLI6" $C_LONG6 "$SRV6" $ECHO_PORT
LONG6=$LAST
set -- $(proc_id $LONG6 python3)
LONG6_EXE=$1 LONG6_UID=$2

joined "long-lived TCP over IPv4, sock_diag" 6 $C_LONG4 "$CLI4" "$SRV4" \
    $ECHO_PORT $LONG4 "$LONG4_EXE" "$LONG4_UID" $ECHO_PID 0
joined "long-lived TCP over IPv6, sock_diag" 6 $C_LONG6 "$CLI6" "$SRV6" \
    $ECHO_PORT $LONG6 "$LONG6_EXE" "$LONG6_UID" $ECHO_PID 0
check_eq "sides from the events, not guessed" "$(row "$VA" 6 $C_LONG4 \
    "sides_guessed || '/' || (last_event IS NOT NULL)")" "0/1"
check_eq "the clients still run" \
    "$(kill -0 $LONG4 && kill -0 $LONG6 && echo yes)" yes
[ "$(counter pa diag_polls)" -gt 0 ] || fail "pa: no sock_diag poll counted"
checks=$((checks + 1))
check_eq "pa: sockets beyond the limit" "$(counter pa dropped_diag_limit)" 0
check_eq "pa: send drops" "$(counter pa dropped_send)" 0
check_eq "pb: send drops" "$(counter pb dropped_send)" 0
collector_clean col0
all_alive
pass
