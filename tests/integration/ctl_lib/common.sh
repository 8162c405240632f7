# Helpers for the evflowctl integration tests (tests/integration/ctl_*.sh).
# POSIX sh.  Source it, then call ctl_init.  Kept in a subdirectory so the
# test runner does not run it as a test.
#
#   ctl_init               temp dir $T; cleanup on exit stops every
#                          instance started with `start_instance`
#   need BIN...            exit 77 unless $BIN/BIN exist
#   free_port              a free loopback TCP port
#   start_instance DIR ARGS...   evflowctl start -d DIR ARGS (must succeed)
#   remember_pids DIR      notes the daemons' pids (killed at cleanup if
#                          the supervisor could not stop them)
#   wait_until DESC SECS CMD...  polls CMD until it succeeds, or fails
#   jget JSONFILE PATH     a value from JSON (dotted path, [i] for arrays)
#   daemon_pid DIR NAME    the pid of daemon NAME per the supervisor
#   publish_gen PORT N [ARG...]  evflow-testpub sends N generated events
#                          (20 a message, 20,000/s; more testpub ARGs) to
#                          tcp://127.0.0.1:PORT in the background, its
#                          output in $T/pub.out; $PUB is its pid
#   check DESC CMD...      counts a check; fails with DESC unless CMD succeeds
#   fail MSG               prints MSG and the logs' tails, exit 1

: "${EVFLOW_BUILD:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
BIN="$EVFLOW_BUILD/bin"
CTL="$BIN/evflowctl"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SAMPLES="$TOP/tests/tools/samples/sample-events.jsonl"
INSTANCES=""
checks=0
T=""

ctl_cleanup() {
	rc=$?
	for d in $INSTANCES; do
		"$CTL" stop -d "$d" >/dev/null 2>&1
	done
	if [ -n "$T" ] && [ -f "$T/pids" ]; then
		while read -r p; do
			kill -KILL "$p" 2>/dev/null
		done <"$T/pids"
	fi
	[ -n "$T" ] && [ -z "$KEEP_TMP" ] && rm -rf "$T"
	exit $rc
}

ctl_init() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/evflow-ctl.XXXXXX") || exit 1
	: >"$T/pids"
	trap ctl_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

need() {
	for b in "$@"; do
		[ -x "$BIN/$b" ] || { echo "skip: $BIN/$b not built"; exit 77; }
	done
	command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
}

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

fail() {
	echo "FAIL: $*"
	for d in $INSTANCES; do
		for f in "$d"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f (last 12 lines)"
			tail -n 12 "$f"
		done
	done
	exit 1
}

check() {
	desc=$1; shift
	"$@" || fail "$desc"
	checks=$((checks + 1))
}

start_instance() {
	d=$1; shift
	INSTANCES="$INSTANCES $d"
	"$CTL" start -d "$d" "$@" >"$T/start.out" 2>&1 ||
		{ cat "$T/start.out"; fail "evflowctl start -d $d $*"; }
	remember_pids "$d"
}

remember_pids() {
	"$CTL" status -d "$1" --json >"$T/st.json" 2>/dev/null
	python3 - "$T/st.json" >>"$T/pids" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
if j.get("supervisor"):
    print(j["supervisor"]["pid"])
for d in j.get("daemons", []):
    if d.get("pid"):
        print(d["pid"])
PY
}

wait_until() {
	desc=$1 secs=$2; shift 2
	end=$(( $(date +%s) + secs ))
	until "$@"; do
		[ "$(date +%s)" -ge "$end" ] && fail "timed out waiting: $desc"
		sleep 0.1
	done
	checks=$((checks + 1))
}

jget() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
v = json.load(open(sys.argv[1]))
for part in re.findall(r'[^.\[\]]+|\[\d+\]', sys.argv[2]):
    if part.startswith('['):
        v = v[int(part[1:-1])]
    elif isinstance(v, list):
        v = next(x for x in v if x.get("name") == part)
    else:
        v = v[part]
print(json.dumps(v) if isinstance(v, (dict, list)) else
      ("null" if v is None else str(v).lower() if isinstance(v, bool) else v))
PY
}

publish_gen() {
	pg_port=$1 pg_n=$2
	shift 2
	"$BIN/evflow-testpub" -z "tcp://127.0.0.1:$pg_port" --gen "$pg_n" \
	    --array 20 --rate 20000 --ifname '' "$@" >"$T/pub.out" 2>&1 &
	PUB=$!
	echo "$PUB" >>"$T/pids"
}

daemon_pid() {
	"$CTL" status -d "$1" --json >"$T/dp.json" 2>/dev/null
	jget "$T/dp.json" "daemons.$2.pid" 2>/dev/null
}
