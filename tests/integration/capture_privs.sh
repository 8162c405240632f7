#!/bin/sh
# capture_privs: a live evflow-capture gives up its privileges once its
# pcap handle, data directory and sockets are open, and still captures.
#
# Two network namespaces joined by a veth pair (like capture_live.sh).
#   1. Started as root: /proc/<pid>/status must show the drop user
#      (capture.user, here nobody) in every Uid and Gid field, only its
#      group, CapEff, CapPrm, CapInh, CapAmb and CapBnd all zero and
#      NoNewPrivs 1, for every thread; then UDP exchanges made after the
#      drop must reach evflow-capture-sink as flow records with the
#      right packet counts, and the control socket still answers.
#   2. Started as nobody with CAP_NET_RAW and CAP_NET_ADMIN as ambient
#      capabilities (what the systemd unit does): the same status, and
#      flows after the drop.
#   3. A router started again by root after the drop, whose socket the
#      dropped capture may not open: the capture exits with the reason
#      (its supervisor starts it again) instead of queueing forever.
#   4. capture.user naming a missing user: the capture refuses to run
#      (a failed drop is fatal).
# Needs root, `ip netns` and setpriv; exits 77 otherwise.
. "$(dirname "$0")/lib.sh"

need_netns python3 setpriv
need_bins evflow-capture evflow-capture-sink
id nobody >/dev/null 2>&1 || skip "no user nobody"
NOBODY_UID=$(id -u nobody) NOBODY_GID=$(id -g nobody)

lib_init
NA=evfpa$$ NB=evfpb$$ VA=evpa$$ VB=evpb$$
NET=10.214.$(( $$ % 250 ))
CLI=$NET.1 SRV=$NET.2
UDP_PORT=5300

D2=""
privs_cleanup() {
	rc=$?
	[ -n "$D2" ] && rm -rf "$D2"
	(exit $rc)
	netns_cleanup
}
trap privs_cleanup EXIT

netns_pair "$NA" "$NB" "$VA" "$VB" "$CLI" "$SRV"

ECHO='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)'
helper echo ip netns exec "$NB" python3 -c "$ECHO" "$SRV" "$UDP_PORT"

# udp CPORT N: N request/answer pairs from CLI:CPORT to the echo.
udp() {
	ip netns exec "$NA" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[3])))
s.settimeout(5)
for i in range(int(sys.argv[5])):
    s.sendto(b"p" * 50, (sys.argv[2], int(sys.argv[4])))
    s.recvfrom(65535)' "$CLI" "$SRV" "$1" "$UDP_PORT" "$2" ||
		fail "udp exchange from port $1"
}

# check_status NAME UID GID CAPBND: every thread of NAME's process.
check_status() {
	pid=$(pid_of "$1")
	for st in /proc/"$pid"/task/*/status; do
		f() { awk -v k="$1:" '$1 == k { $1 = ""; print substr($0, 2) }' "$st"; }
		# (fields as "a b c d", single spaces)
		check_eq "$1 $(basename "$(dirname "$st")") Uid" "$(f Uid)" \
		    "$2 $2 $2 $2"
		check_eq "$1 Gid" "$(f Gid)" "$3 $3 $3 $3"
		check_eq "$1 Groups" "$(f Groups | tr -d ' ')" "$4"
		for k in CapInh CapPrm CapEff CapAmb; do
			check_eq "$1 $k" "$(f $k)" 0000000000000000
		done
		[ -n "$5" ] && check_eq "$1 CapBnd" "$(f CapBnd)" "$5"
		checks=$((checks + 7))
	done
	# The main thread made the prctl; the kernel shows it there.
	check_eq "$1 NoNewPrivs" "$(awk '$1 == "NoNewPrivs:" { print $2 }' \
	    /proc/"$pid"/status)" 1
	checks=$((checks + 1))
}

# flows_after NAME SINKLOG CPORT: a 4-exchange UDP flow made now is
# reported (END at the capture's exit, or an update) with 4+4 packets.
flows_after() {
	udp "$3" 4
	wait_true "$1: flow from port $3 reported after the drop" \
	    "grep '^flow ' '$2' | grep 'cli=$CLI:$3 ' |
	    grep -q 'c2s_pkts=4 .*s2c_pkts=4 '"
	checks=$((checks + 1))
}

# 1. Root start, drop to nobody.
start_daemon sink "$BIN/evflow-capture-sink" "ipc://$D/router.ipc"
start_daemon cap ip netns exec "$NA" "$BIN/evflow-capture" -d "$D" -N cap \
    -i "$VA" -o capture.user=nobody -o capture.immediate=yes \
    -o capture.update_interval=1 -o capture.idle_timeout=1
wait_ctl cap
wait_true "cap logged its drop" "grep -q 'running as nobody' '$T/cap.log'"
check_status cap "$NOBODY_UID" "$NOBODY_GID" "$NOBODY_GID" 0000000000000000
flows_after cap "$T/sink.log" 40100
ctl cap ping >/dev/null || fail "control socket silent after the drop"
wait_true "cap counted packets" '[ "$(counter cap packets)" -ge 8 ]'
checks=$((checks + 2))

# 2. Started as nobody with ambient capabilities (the systemd unit).
# (outside $T, which only root may enter)
D2=$(mktemp -d) || fail "mktemp"
chown nobody:"$NOBODY_GID" "$D2" && chmod 0750 "$D2" || fail "chown $D2"
start_daemon sink2 setpriv --reuid=nobody --regid="$NOBODY_GID" \
    --clear-groups "$BIN/evflow-capture-sink" "ipc://$D2/router.ipc"
start_daemon cap2 ip netns exec "$NA" setpriv --reuid=nobody \
    --regid="$NOBODY_GID" --clear-groups --inh-caps=+net_raw,+net_admin \
    --ambient-caps=+net_raw,+net_admin "$BIN/evflow-capture" -d "$D2" \
    -N cap2 -i "$VA" -o capture.immediate=yes -o capture.update_interval=1 \
    -o capture.idle_timeout=1
end=$(( $(now_s) + WAIT_SECS ))
until grep -q 'no capabilities' "$T/cap2.log"; do
	daemon_alive cap2 || fail "cap2 died"
	[ "$(now_s)" -ge "$end" ] && fail "cap2 did not drop"
	sleep 0.1
done
# (CapBnd is what setpriv left: a non-root process cannot shrink it.)
check_status cap2 "$NOBODY_UID" "$NOBODY_GID" ""
flows_after cap2 "$T/sink2.log" 40200
# Stopped here, while $D2 still exists: both must exit 0.
for n in cap2 sink2; do
	kill -TERM "$(pid_of $n)"
	wait_true "$n stopped" "! daemon_alive $n"
done

# 3. A router (here the sink) started again by root, in root's directory,
# refuses the dropped capture: it exits (status 1) with the reason, for
# its supervisor to start it again, instead of queueing forever.
mkdir -p "$T/d4"
start_daemon sink4 "$BIN/evflow-capture-sink" "ipc://$T/d4/router.ipc"
helper cap4 ip netns exec "$NA" "$BIN/evflow-capture" -d "$T/d4" -N cap4 \
    -i "$VA" -o capture.user=nobody
CAP4=$LAST
wait_true "cap4 dropped" "grep -q 'running as nobody' '$T/cap4.log'"
kill -TERM "$(pid_of sink4)"
wait_true "sink4 stopped" '! daemon_alive sink4'
start_daemon sink5 "$BIN/evflow-capture-sink" "ipc://$T/d4/router.ipc"
wait_true "cap4 exited" '! kill -0 $CAP4 2>/dev/null'
wait "$CAP4"
check_eq "cap4 exit status" "$?" 1
grep -q "the router's socket refuses this user since it restarted" \
    "$T/cap4.log" || fail "no reason for the exit: $(tail -3 "$T/cap4.log")"
checks=$((checks + 1))

# 4. A missing user is fatal, before any packet is read.
if ip netns exec "$NA" "$BIN/evflow-capture" -d "$D" -N cap3 -i "$VA" \
    -o capture.user=evflow-no-such-user >"$T/cap3.log" 2>&1; then
	fail "capture ran with a drop user that does not exist"
fi
grep -q "privilege drop: user 'evflow-no-such-user': no such user" \
    "$T/cap3.log" || fail "no reason for the refused drop: $(cat "$T/cap3.log")"
checks=$((checks + 2))
pass
