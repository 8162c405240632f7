#!/bin/sh
# evflowctl demo, the README's first command, as a user runs it (root):
#   - it builds its network (namespace evfdemo-<pid>, veth evfd<pid>h),
#     starts the whole system with a probe and the capture of the host
#     end, and says where the database and the web UI are;
#   - within seconds the database holds packet flows of that veth joined
#     with the real curl (client) and python3 (server) processes, over
#     TCP and UDP, and the store counts joins and attributed flows, the
#     attribution ratio near 1;
#   - the collector takes the probe's JSON with no wrong field or drop;
#   - Ctrl-C (SIGINT) stops every daemon, server and client and removes
#     the namespace and the veth;
#   - the namespace a demo killed with SIGKILL left is removed by the
#     next demo;
#   - not root, it says so and runs its servers and clients on loopback:
#     the probe (sock_diag then) reports python3 on both sides in the
#     ZMQ interface;
#   - without evflow-probe it falls back to synthetic events and says so.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector evflow-capture \
    evflow-probe evflow-testpub evflow-webd
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skip: the demo's network needs root"; exit 77; }
ip netns list >/dev/null 2>&1 || { echo "skip: ip netns unavailable"; exit 77; }
[ -r /sys/kernel/btf/vmlinux ] ||
	{ echo "skip: kernel without BTF: no eBPF probe"; exit 77; }
ctl_init
# On exit (a failure too): each demo gets SIGTERM first, so it removes
# its network itself; what a killed one left goes then.
demo_cleanup() {
	rc=$?
	for p in $(cat "$T/demos" 2>/dev/null); do
		kill -TERM "$p" 2>/dev/null
	done
	n=0
	for p in $(cat "$T/demos" 2>/dev/null); do
		while kill -0 "$p" 2>/dev/null && [ $n -lt 300 ]; do
			sleep 0.1; n=$((n + 1))
		done
		ip netns del "evfdemo-$p" 2>/dev/null
		ip link del "evfd${p}h" 2>/dev/null
	done
	(exit $rc)
	ctl_cleanup
}
trap demo_cleanup EXIT

# demo DIR OUT [BINDIR]: starts a demo in the background, its pid in $demo.
run_demo() {
	"${3:-$BIN}/evflowctl" demo -d "$1" >"$2" 2>&1 &
	demo=$!
	echo "$demo" >>"$T/pids"
	echo "$demo" >>"$T/demos"
	INSTANCES="$INSTANCES $1"
	wait_until "demo started ($2)" 60 grep -qs "^Ctrl-C stops everything" "$2"
	remember_pids "$1"
}
q() {
	sqlite3 -readonly -cmd '.timeout 5000' "$A/evflow.db" "$1" 2>/dev/null
}
gt0() {		# gt0 QUERY: the query's number is above 0
	[ "$(q "$1")" -gt 0 ] 2>/dev/null
}
# Remembers the demo's servers and clients (its children, what runs in
# its namespace) for the check that nothing survives it.
remember_helpers() {
	ip netns pids "$1" >>"$T/pids" 2>/dev/null
	for p in $(pgrep -P "$2"); do
		echo "$p" >>"$T/pids"
		pgrep -P "$p" >>"$T/pids"
	done
}
nothing_left() {
	while read -r p; do
		[ "$p" = "$1" ] && continue
		if kill -0 "$p" 2>/dev/null &&
		    ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
			fail "process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" \
			    2>/dev/null)) still runs after the demo"
		fi
	done <"$T/pids"
	checks=$((checks + 1))
}

A="$T/demo"
mkdir -p "$A"
run_demo "$A" "$T/demo.out"
NS=evfdemo-$demo VH=evfd${demo}h
check "demo prints the database" grep -qx "database: $A/evflow.db" "$T/demo.out"
check "demo prints how to look" grep -q "evflowctl status -d $A" "$T/demo.out"
check "demo prints the web UI" grep -q "^  web UI: http://127.0.0.1:[0-9]*/" \
    "$T/demo.out"
check "demo says what its network is" \
    grep -q "^demo network: namespace $NS: " "$T/demo.out"
check "its namespace exists" test -e "/run/netns/$NS"
check "its veth exists" test -e "/sys/class/net/$VH"
ZMQ=$(sed -n 's/.* the companion of \(tcp:[^ ]*\)$/\1/p' "$T/demo.out")
check "the probe's interface is named" test -n "$ZMQ"
remember_helpers "$NS" "$demo"

J="iface = '$VH' AND source = 'joined' AND c2s_packets > 0"
wait_until "curl joined into a packet flow of $VH, python3 the server" 40 \
    gt0 "SELECT count(*) FROM flows_v WHERE $J AND protocol = 6 AND
    srv_port = 8080 AND cli_process LIKE '%curl' AND
    srv_process LIKE '%python3%'"
wait_until "curl over IPv6 joined too" 40 \
    gt0 "SELECT count(*) FROM flows_v WHERE $J AND ip_version = 6 AND
    cli_process LIKE '%curl'"
wait_until "the long-lived TCP connection joined, python3 on both sides" 40 \
    gt0 "SELECT count(*) FROM flows_v WHERE $J AND protocol = 6 AND
    srv_port = 7007 AND cli_process LIKE '%python3%' AND
    srv_process LIKE '%python3%'"
wait_until "a UDP exchange joined, python3 on both sides" 40 \
    gt0 "SELECT count(*) FROM flows_v WHERE $J AND protocol = 17 AND
    cli_process LIKE '%python3%' AND srv_process LIKE '%python3%'"
HOST4=$(sed -n 's/^  host end [^ ]* (\([0-9.]*\), .*/\1/p' "$T/demo.out")
check "the demo names the host end's address" test -n "$HOST4"
check "every joined IPv4 flow's client is the host" \
    test "$(q "SELECT count(*) FROM flows_v WHERE $J AND ip_version = 4 AND
    cli_addr <> '$HOST4'")" = 0
wait_until "the store counts joins in $VH" 20 \
    gt0 "SELECT value FROM daemon_counters WHERE daemon = 'store' AND
    key = 'iface.$VH.joins'"
wait_until "the store counts attributed packet flows in $VH" 20 \
    gt0 "SELECT sum(value) FROM daemon_counters WHERE daemon = 'store' AND
    key IN ('iface.$VH.packet_flows_with_process',
    'iface.$VH.live_packet_flows_with_process')"
ratio_high() {
	[ "$(q "SELECT ratio >= 0.9 FROM iface_attribution
	    WHERE iface = '$VH'")" = 1 ]
}
wait_until "attribution of $VH near 100 %" 30 ratio_high
"$CTL" status -d "$A" --json >"$T/s.json" || fail "status during the demo"
check "the probe runs its eBPF program" \
    test "$(jget "$T/s.json" daemons.probe0.stats.counters.mode_bpf)" = 1
check "collector received the probe's events" \
    test "$(jget "$T/s.json" daemons.collector0.stats.counters.events_received)" -gt 0
for k in fields_wrong_type drop_ev_wrong_type drop_ev_missing_field \
    drop_msg_bad_json drop_msg_unknown_topic lost_msgs; do
	check "collector: $k is 0" \
	    test "$(jget "$T/s.json" daemons.collector0.stats.counters.$k)" = 0
done
check "the probe's interface is in the interface list" \
    sh -c "'$CTL' iface list -d '$A' | grep -qF '$ZMQ'"
remember_helpers "$NS" "$demo"

kill -INT "$demo"
ended() { ! kill -0 "$demo" 2>/dev/null; }
wait_until "demo exits after SIGINT" 30 ended
wait "$demo"
check "demo exit status 0" test $? -eq 0
check "demo stopped the supervisor" grep -q "^stopped (supervisor pid" "$T/demo.out"
check "pidfile removed" test ! -e "$A/evflowctl.pid"
check "namespace removed" test ! -e "/run/netns/$NS"
wait_until "veth removed" 10 test ! -e "/sys/class/net/$VH"
nothing_left "$demo"

# --- A demo that dies leaves its namespace; the next one removes it.
B="$T/crash"
mkdir -p "$B"
run_demo "$B" "$T/crash.out"
NS2=evfdemo-$demo VH2=evfd${demo}h
remember_helpers "$NS2" "$demo"
kill -KILL "$demo"
wait "$demo" 2>/dev/null
"$CTL" stop -d "$B" >/dev/null 2>&1	# its supervisor lives on
dead=$demo
# (another demo running on this machine may remove it first: then only
# the end state is checked)
left=0
[ -e "/run/netns/$NS2" ] && left=1
run_demo "$B" "$T/crash2.out"
if [ $left = 1 ]; then
	check "the next demo says it removed the dead one's namespace" \
	    grep -q "^removed [0-9]* namespaces or veths of demos that died" \
	    "$T/crash2.out"
fi
check "the dead demo's namespace is gone" test ! -e "/run/netns/$NS2"
wait_until "the dead demo's veth is gone" 10 test ! -e "/sys/class/net/$VH2"
remember_helpers "evfdemo-$demo" "$demo"
kill -TERM "$demo"
wait_until "demo exits after SIGTERM" 30 ended
check "its namespace removed too" test ! -e "/run/netns/evfdemo-$demo"
nothing_left "$dead"

# --- Not root: loopback traffic in the ZMQ interface alone.
if command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -h \
    >/dev/null 2>&1; then
	A="$T/nobody"
	mkdir -p "$A"
	chown 65534:65534 "$A"
	chmod 711 "$T"
	INSTANCES="$INSTANCES $A"
	setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$A" \
	    "$CTL" demo -d "$A" >"$T/nobody.out" 2>&1 &
	demo=$!
	echo "$demo" >>"$T/pids"
	echo "$demo" >>"$T/demos"
	wait_until "demo started as nobody" 60 \
	    grep -qs "^Ctrl-C stops everything" "$T/nobody.out"
	remember_pids "$A"
	check "not root: the demo says it uses loopback" \
	    grep -q "^no network namespace (not root): servers and clients on loopback" \
	    "$T/nobody.out"
	wait_until "python3 on both sides of a loopback flow in the ZMQ interface" 40 \
	    gt0 "SELECT count(*) FROM flows_v WHERE iface_kind = 'zmq' AND
	    cli_addr = '127.0.0.1' AND cli_process LIKE '%python3%' AND
	    srv_process LIKE '%python3%'"
	remember_helpers none "$demo"
	kill -INT "$demo"
	wait_until "demo exits after SIGINT" 30 ended
	nothing_left "$demo"
else
	echo "note: nobody cannot run $CTL: the non-root fallback is not tested"
fi

# --- Without evflow-probe: synthetic events, said so.
# (evflowctl finds the daemons next to its own binary, symlinks resolved:
# a copy of it among links to the others)
mkdir -p "$T/bin" "$T/synth"
for b in "$BIN"/*; do
	case "$(basename "$b")" in
	evflow-probe) ;;
	evflowctl) cp "$b" "$T/bin/" ;;
	*) ln -s "$b" "$T/bin/" ;;
	esac
done
A="$T/synth"
run_demo "$A" "$T/synth.out" "$T/bin"
check "without a probe the demo says so" \
    grep -q "^evflow-probe not built" "$T/synth.out"
check "and sends synthetic events" \
    grep -q "^demo traffic: evflow-testpub -z tcp://127.0.0.1:[0-9]*c --live" \
    "$T/synth.out"
wait_until "synthetic events with processes in the database" 30 \
    gt0 "SELECT count(*) FROM flows WHERE cli_process IS NOT NULL OR
    srv_process IS NOT NULL"
kill -INT "$demo"
wait_until "demo exits after SIGINT" 30 ended
remember_pids "$A"
nothing_left "$demo"
echo "ctl_demo: $checks checks passed"
