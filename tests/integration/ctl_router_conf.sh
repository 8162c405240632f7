#!/bin/sh
# evflow-router -n: a configuration file with every router key is parsed
# and printed (keys in table order, then the interface table) exactly as
# the golden text below; -i replaces the file's interfaces; bad files
# fail with the reason and exit 1.
: "${EVFLOW_BUILD:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
R="$EVFLOW_BUILD/bin/evflow-router"
[ -x "$R" ] || { echo "skip: evflow-router not built"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/evflow-rconf.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
checks=0
fail() { echo "FAIL: $*"; exit 1; }

cat >"$T/evflow.conf" <<'EOT'
# a shared file: other daemons' keys are skipped by the router
datadir = /srv/evflow
interface = tcp://*:1234c
interface = "ipc:///run/a.ipc,tcp://10.0.0.1:5556"
interface = eth0
interface = /data/trace.pcap
mirrored = eth0
companion = tcp://*:1234c eth0
router.iface_resend = 2m
store.flush_interval = 1s
collector.rcvhwm = 1000
log_level = 2
EOT
cat >"$T/want" <<'EOT'
datadir = /srv/evflow
name = r1
router_endpoint = 
store_endpoint = 
log_level = 2
router.iface_resend = 120
router.hold_max = 60
interface = tcp://*:1234c
interface = ipc:///run/a.ipc,tcp://10.0.0.1:5556
interface = eth0
interface = /data/trace.pcap
mirrored = eth0
companion = tcp://*:1234c eth0
link_max_message = 1048576
link_queue = 67108864
link_trusted_network = no
link_replay = 134217728
link_ack_timeout = 10
link_ack_endpoint = 
# interface table: id name kind [mirrored] [companion=NAME]
# iface 0 tcp://*:1234c zmq companion=eth0
# iface 1 ipc:///run/a.ipc,tcp://10.0.0.1:5556 zmq
# iface 2 eth0 packet mirrored
# iface 3 /data/trace.pcap packet
EOT
"$R" -n -f "$T/evflow.conf" -N r1 >"$T/got" 2>"$T/err" || { cat "$T/err"; fail "-n failed"; }
diff -u "$T/want" "$T/got" || fail "-n output differs from the golden text"
checks=$((checks + 1))

# -i replaces the file's interface list (its mirrored line then names an
# undeclared interface).
if "$R" -n -f "$T/evflow.conf" -i lo >"$T/got" 2>"$T/err"; then
	fail "-i lo kept the file's interfaces"
fi
grep -q "no interface named 'eth0'" "$T/err" || fail "reason: $(cat "$T/err")"
checks=$((checks + 1))
"$R" -n -i lo -i 'tcp://*:9c' -d "$T" -o router.iface_resend=7 >"$T/got" ||
	fail "-i without a file"
grep -qx '# iface 1 tcp://\*:9c zmq' "$T/got" || fail "ids follow -i order"
grep -qx 'router.iface_resend = 7' "$T/got" || fail "-o applied"
"$R" -n -i lo -d "$T" -o router.hold_max=2m >"$T/got" || fail "hold_max"
grep -qx 'router.hold_max = 120' "$T/got" || fail "router.hold_max in minutes"
checks=$((checks + 1))

bad() {	# bad REASON LINE: a file with LINE fails -n saying REASON
	printf 'interface = tcp://*:1c\ninterface = eth0\n%s\n' "$2" >"$T/bad.conf"
	if "$R" -n -f "$T/bad.conf" >"$T/got" 2>"$T/err"; then
		fail "accepted: $2"
	fi
	grep -q "$1" "$T/err" || fail "'$2': expected '$1', got: $(cat "$T/err")"
	checks=$((checks + 1))
}
bad "declared twice" "interface = eth0"
bad "only a packet interface" "mirrored = tcp://*:1c"
bad "not mirrored" "companion = tcp://*:1c eth0"
bad "only a ZMQ interface has a companion" "companion = eth0 eth0"
bad "expected 'ZMQIFACE PACKETIFACE'" "companion = tcp://*:1c"
bad "unknown key 'bogus'" "bogus = 1"
bad "out of range" "router.iface_resend = 0"
bad "out of range" "router.hold_max = 0"
bad "out of range" "router.hold_max = 2d"
bad "bad.conf:3:" "interface"
echo "ctl_router_conf: $checks checks passed"
