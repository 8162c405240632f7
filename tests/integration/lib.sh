# tests/integration/lib.sh: helpers for the pipeline tests (POSIX sh).
# (Run directly, it tests its own helpers: see lib_self_test at the end.)
# Source it, then call lib_init.  Everything a test starts is stopped and
# its temporary directory removed on exit (trap).  No fixed sleeps: every
# wait polls for a condition until a deadline and fails with a reason.
#
#   lib_init                  temp dir $T, data dir $D, database $DB
#   need_bins NAME...         exit 77 (skip) unless $BIN/NAME exist
#   free_port                 prints a free loopback TCP port
#   start_daemon NAME CMD...  runs CMD in the background, log $T/NAME.log
#   wait_ctl NAME             waits until ipc://$D/NAME.ctl answers ping
#   ctl NAME CMD...           one control request, reply on stdout
#   counter NAME KEY          a counter from NAME's `stats` (dotted path)
#   link_out NAME FIELD       FIELD of NAME's output link in its `stats`
#                             ("peer", "down_since_usec", ...), asked with
#                             a 1 s deadline
#   start_pipeline ROUTER_ARGS -- ZMQ_IFACE...
#                             store, router (with ROUTER_ARGS plus one -i
#                             per ZMQ iface), one collector per ZMQ iface
#                             (named col0, col1...), each waited for
#   sql QUERY                 runs QUERY read-only on $DB
#   wait_sql DESC QUERY WANT [SECONDS]
#                             polls QUERY until it prints WANT or fails
#   wait_counter DESC NAME KEY WANT [SECONDS]
#   wait_true DESC CMD [SECONDS]  polls a shell command until it succeeds
#   check_eq DESC GOT WANT    fails with a readable message
#   fail MSG                  prints MSG, the daemons' log tails, exit 1
#   publish ARGS...           evflow-testpub ARGS, failing the test if it does
#   last_msg_id               the last msg_id of the previous publish
#   daemon_alive NAME         0 if NAME's process still runs
#
# Tests across network namespaces (root):
#   helper NAME CMD...        CMD in the background, output $T/NAME.log, pid
#                             in $LAST; a server or client, not a daemon (it
#                             ends by SIGTERM, not a daemon's clean exit)
#   skip REASON               prints "skip: REASON", exit 77
#   need_netns CMD...         skips unless root, `ip netns` and each CMD
#   netns_pair NA NB VA VB A4 B4 [A6 B6]
#                             two namespaces joined by a veth pair: VA in NA
#                             with A4/30 (and A6/64), VB in NB with B4 (B6),
#                             lo up; NETNS_NO_IPV6=1 turns IPv6 off first;
#                             exit 77 if no namespace can be made
#   netns_cleanup             for the EXIT trap: stops the helpers and what
#                             runs in the namespaces, deletes them, then
#                             lib_cleanup (keeps the exit status)

: "${EVFLOW_BUILD:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
BIN="$EVFLOW_BUILD/bin"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SAMPLES="$TOP/tests/tools/samples/sample-events.jsonl"
WAIT_SECS=${WAIT_SECS:-20}	# default deadline of a wait, seconds
LIB_PIDS=""
LIB_NAMES=""
T=""
checks=0

# On exit: stops every daemon with SIGTERM (bounded wait, then SIGKILL),
# and turns a passing test into a failure if a daemon did not exit
# cleanly (status 0) or a sanitizer reported anything in its log.
lib_cleanup() {
	rc=$?
	# Background helpers (servers, clients) started with helper():
	# every test's, not only the namespace tests' (netns_cleanup).
	for p in ${HELPER_PIDS:-}; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $LIB_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	n=0
	for p in $LIB_PIDS; do
		while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do
			sleep 0.1; n=$((n + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	for name in $LIB_NAMES; do
		p=$(pid_of "$name")
		[ -n "$p" ] || continue
		wait "$p" 2>/dev/null
		st=$?
		if [ $st -ne 0 ] && [ $st -ne 127 ]; then
			echo "FAIL: $name exited with status $st"
			tail -n 20 "$T/$name.log"
			rc=1
		fi
		if grep -q -e 'Sanitizer' -e 'runtime error:' "$T/$name.log" \
		    2>/dev/null; then
			echo "FAIL: sanitizer report in $name.log:"
			grep -A 30 -e 'Sanitizer' -e 'runtime error:' \
			    "$T/$name.log" | head -60
			rc=1
		fi
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ -n "$KEEP_TMP" ]; then
			echo "kept $T"
		else
			rm -rf "$T"
		fi
	fi
	exit $rc
}

lib_init() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/evflow-test.XXXXXX") || exit 1
	D="$T/data"
	DB="$D/evflow.db"
	mkdir -p "$D"
	trap lib_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

need_bins() {
	for b in "$@"; do
		if [ ! -x "$BIN/$b" ]; then
			echo "skip: $BIN/$b not built"
			exit 77
		fi
	done
	command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
	command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
}

# The kernel may hand the same ephemeral port to two calls in a row once
# the first probe socket is closed: remember what this test was given
# ($T/ports) and never give a port twice.
free_port() {
	python3 -c 'import socket, sys
path = sys.argv[1] if len(sys.argv) > 1 else ""
try:
    seen = set(open(path).read().split()) if path else set()
except OSError:
    seen = set()
for _ in range(100):
    s = socket.socket(); s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1]); s.close()
    if port not in seen:
        break
if path:
    open(path, "a").write(port + "\n")
print(port)' ${T:+"$T/ports"}
}

log_tails() {
	for n in $LIB_NAMES; do
		[ -f "$T/$n.log" ] || continue
		echo "--- $n.log (last 15 lines)"
		tail -n 15 "$T/$n.log"
	done
}

fail() {
	echo "FAIL: $*"
	log_tails
	exit 1
}

# The pid of daemon NAME.
pid_of() {
	cat "$T/$1.pid" 2>/dev/null
}

daemon_alive() {
	p=$(pid_of "$1")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

start_daemon() {
	name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	echo $! >"$T/$name.pid"
	LIB_PIDS="$! $LIB_PIDS"
	LIB_NAMES="$LIB_NAMES $name"
}

ctl() {
	name=$1; shift
	"$BIN/evflow-ctlq" -t 2000 "ipc://$D/$name.ctl" "$@"
}

counter() {
	"$BIN/evflow-ctlq" -t 2000 -g "counters.$2" "ipc://$D/$1.ctl" stats
}

link_out() {
	"$BIN/evflow-ctlq" -t 1000 "ipc://$D/$1.ctl" stats | python3 -c '
import json, sys
l = [l for l in json.load(sys.stdin)["links"] if l["dir"] == "out"][0]
print(l[sys.argv[1]])' "$2"
}

# Deadline helper: now in whole seconds.
now_s() {
	date +%s
}

wait_ctl() {
	name=$1
	end=$(( $(now_s) + ${2:-$WAIT_SECS} ))
	while :; do
		daemon_alive "$name" || fail "$name exited at start"
		r=$("$BIN/evflow-ctlq" -t 500 "ipc://$D/$name.ctl" ping \
		    2>/dev/null)
		[ "$r" = pong ] && return 0
		[ "$(now_s)" -ge "$end" ] &&
			fail "$name: control socket did not answer ping"
		sleep 0.05
	done
}

# start_pipeline [router args...] -- zmq_iface...
# Starts store, router, collectors (in that order) in $D.
start_pipeline() {
	rargs=""
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		rargs="$rargs $1"; shift
	done
	[ "$1" = "--" ] && shift
	ZMQ_IFACES="$*"
	# No retention: the sample and hostile events carry fixed times
	# years old, and a retention pass (its first runs at start, the
	# next a minute later) would delete them in the middle of a test.
	start_daemon store "$BIN/evflow-store" -d "$D" -N store \
	    -o store.retention=0
	wait_ctl store
	iargs=""
	for i in $ZMQ_IFACES; do iargs="$iargs -i $i"; done
	# shellcheck disable=SC2086
	start_daemon router "$BIN/evflow-router" -d "$D" -N router $iargs $rargs
	wait_ctl router
	k=0
	for i in $ZMQ_IFACES; do
		start_daemon "col$k" "$BIN/evflow-collector" -d "$D" \
		    -N "col$k" -i "$i"
		k=$((k + 1))
	done
	k=0
	for i in $ZMQ_IFACES; do
		wait_ctl "col$k"
		k=$((k + 1))
	done
	COLLECTORS=$k
}

sql() {
	sqlite3 -readonly -cmd '.timeout 5000' "$DB" "$1" 2>&1
}

wait_sql() {
	desc=$1 q=$2 want=$3
	end=$(( $(now_s) + ${4:-$WAIT_SECS} ))
	checks=$((checks + 1))
	while :; do
		if [ -f "$DB" ]; then
			got=$(sql "$q")
			[ "$got" = "$want" ] && return 0
		else
			got="(no database yet)"
		fi
		if [ "$(now_s)" -ge "$end" ]; then
			echo "FAIL: $desc"
			echo "  query: $q"
			echo "  got:   $got"
			echo "  want:  $want"
			[ -n "$5" ] && { echo "  detail:"; sql "$5" | sed 's/^/    /'; }
			fail "$desc"
		fi
		sleep 0.1
	done
}

wait_counter() {
	desc=$1 name=$2 key=$3 want=$4
	end=$(( $(now_s) + ${5:-$WAIT_SECS} ))
	checks=$((checks + 1))
	while :; do
		got=$(counter "$name" "$key" 2>&1)
		[ "$got" = "$want" ] && return 0
		if [ "$(now_s)" -ge "$end" ]; then
			fail "$desc: $name counter $key is '$got', want '$want'"
		fi
		sleep 0.1
	done
}

# wait_true DESC CMD [SECONDS]: runs CMD (a shell string) until it
# succeeds; on the deadline fails with CMD's last output.
wait_true() {
	desc=$1 cmd=$2
	end=$(( $(now_s) + ${3:-$WAIT_SECS} ))
	checks=$((checks + 1))
	while :; do
		out=$(eval "$cmd" 2>&1) && return 0
		[ "$(now_s)" -ge "$end" ] && fail "$desc: $out"
		sleep 0.1
	done
}

check_eq() {
	checks=$((checks + 1))
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# The last msg_id the previous publish sent.
last_msg_id() {
	sed -n 's/.*last_msg_id=\([0-9]*\).*/\1/p' "$T/testpub.out"
}

publish() {
	"$BIN/evflow-testpub" "$@" >"$T/testpub.out" 2>&1 ||
		{ cat "$T/testpub.out"; fail "evflow-testpub $*"; }
	cat "$T/testpub.out"
}

# Sum of counter KEY over collectors col0..col(N-1).
sum_collectors() {
	key=$1 s=0 k=0
	while [ $k -lt "$COLLECTORS" ]; do
		v=$(counter "col$k" "$key") || fail "col$k: no counter $key"
		s=$((s + v)); k=$((k + 1))
	done
	echo $s
}

# The sum of every counter of NAME whose key matches the extended regex.
sum_matching() {
	"$BIN/evflow-ctlq" -t 2000 -g counters "ipc://$D/$1.ctl" stats |
	    python3 -c 'import json, re, sys
c = json.load(sys.stdin); r = re.compile(sys.argv[1])
print(sum(v for k, v in c.items() if r.fullmatch(k) and isinstance(v, int)))' "$2"
}

all_alive() {
	for n in $LIB_NAMES; do
		daemon_alive "$n" || fail "$n is no longer running"
	done
}

pass() {
	echo "PASS: $checks checks"
	exit 0
}

# Run directly (tests/run.sh runs every tests/integration/*.sh), this file
# tests its own helpers: ports, waits, and that cleanup fails a passing
# test whose daemon exited uncleanly or logged a sanitizer report.
skip() { echo "skip: $*"; exit 77; }

need_netns() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	ip netns list >/dev/null 2>&1 || skip "ip netns unavailable"
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "no $c"
	done
}

HELPER_PIDS=""
NETNS_LIST=""
helper() {
	name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	LAST=$!
	HELPER_PIDS="$HELPER_PIDS $LAST"
}

netns_pair() {
	ip netns add "$1" || skip "cannot create a network namespace"
	NETNS_LIST="$NETNS_LIST $1"
	ip netns add "$2" || fail "ip netns add $2"
	NETNS_LIST="$NETNS_LIST $2"
	if [ "${NETNS_NO_IPV6:-0}" = 1 ]; then
		for ns in "$1" "$2"; do
			ip netns exec "$ns" sysctl -q -w \
			    net.ipv6.conf.all.disable_ipv6=1 \
			    net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
		done
	fi
	ip -n "$1" link add "$3" type veth peer name "$4" netns "$2" ||
		fail "veth pair $3 $4"
	for x in "$1 $3 $5 ${7:-}" "$2 $4 $6 ${8:-}"; do
		set -- $x
		ip -n "$1" link set lo up
		ip -n "$1" addr add "$3/30" dev "$2" || fail "address $3"
		if [ -n "${4:-}" ]; then
			ip -n "$1" -6 addr add "$4/64" dev "$2" nodad ||
				fail "address $4"
		fi
		ip -n "$1" link set "$2" up
	done
}

netns_cleanup() {
	rc=$?
	for p in $HELPER_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for ns in $NETNS_LIST; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -TERM "$p" 2>/dev/null
		done
	done
	for ns in $NETNS_LIST; do
		ip netns del "$ns" 2>/dev/null
	done
	(exit $rc)
	lib_cleanup
}

lib_self_test() {
	lib_init
	p=$(free_port)
	case $p in ''|*[!0-9]*) fail "free_port gave '$p'" ;; esac
	[ "$p" -gt 1023 ] && [ "$p" -lt 65536 ] || fail "free_port gave $p"
	checks=$((checks + 1))
	start_daemon sleeper sh -c 'sleep 30 & s=$!
trap "kill \$s; exit 0" TERM; wait'
	daemon_alive sleeper || fail "daemon_alive: sleeper not seen"
	checks=$((checks + 1))
	( sleep 0.3; : >"$T/flag" ) &
	wait_true "wait_true sees a later condition" "[ -f '$T/flag' ]" 5
	for case in "exit 3" "echo 'ERROR: AddressSanitizer: x'"; do
		cat >"$T/child.sh" <<CHILD
EVFLOW_BUILD="$EVFLOW_BUILD"
. "$TOP/tests/integration/lib.sh"
lib_init
start_daemon bad sh -c "$case"
while daemon_alive bad; do sleep 0.05; done
exit 0
CHILD
		sh "$T/child.sh" >"$T/child.out" 2>&1
		check_eq "cleanup fails a test when a daemon does: $case" $? 1
	done
	pass
}

case $0 in
*/lib.sh|lib.sh) lib_self_test ;;
esac
