#!/bin/sh
# store.max_memory bounds the store's memory in bytes: a store limited to
# 8M is sent, through a collector and the router, far more distinct
# flows than fit, each with its own long process and parent paths,
# command line and a ~700-byte extra (unknown keys).  Its peak RSS
# (VmHWM) stays within the bound plus its RSS at start plus a margin;
# its counters say what was evicted (per interface, by reason); every
# event reached the store and is either a flow row or counted as
# refused; evicted flows were written before they went.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

N=${STORE_MEMORY_FLOWS:-40000}
MAXMEM=8M
MAXMEM_KB=8192
# Beyond the bound and the RSS at start: SQLite's page cache (1M here),
# the nanomsg receive buffers of a burst and malloc's slack.
MARGIN_KB=8192

# One JSON event per line, every string distinct and long; times now
# (retention deletes rows older than store.retention).
awk -v n="$N" -v now="$(date +%s)" 'BEGIN {
	pad = sprintf("%0650d", 0); gsub(/0/, "x", pad)
	for (i = 0; i < n; i++) {
		p = sprintf("/opt/vendor-with-a-long-name/release-2026/bin/" \
		    "worker-process-%08d-with-a-long-suffix-for-tests", i)
		printf "{ \"timestamp\": \"%d.%06d\", " \
		    "\"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": " \
		    "\"CONNECT\", \"IPV4_SRC_ADDR\": \"10.%d.%d.%d\", " \
		    "\"IPV4_DST_ADDR\": \"192.0.2.80\", \"PROTOCOL\": 6, " \
		    "\"L4_SRC_PORT\": %d, \"L4_DST_PORT\": 443, " \
		    "\"VENDOR_NOTE\": \"%08d%s\", \"LOCAL_PROCESS\": " \
		    "{ \"PID\": %d, \"UID\": 1000, \"GID\": 1000, " \
		    "\"GID_NAME\": \"user%d\", \"TID\": %d, " \
		    "\"PROCESS_PATH\": \"%s\", \"PROCESS_CMDLINE\": " \
		    "\"%s --id=%d\" }, \"LOCAL_FATHER_PROCESS\": { " \
		    "\"PID\": %d, \"PROCESS_PATH\": \"%s-parent\" } }\n",
		    now, i % 1000000, int(i / 65536) % 256, int(i / 256) % 256,
		    i % 256, 1024 + i % 60000, i, pad, 1000 + i, i, 1000 + i,
		    p, p, i, 500 + i, p
	}
}' >"$T/events.jsonl"
check_eq "events generated" "$(wc -l <"$T/events.jsonl")" "$N"

EP="tcp://127.0.0.1:$(free_port)c"
start_daemon store "$BIN/evflow-store" -d "$D" -N store \
    -o store.max_memory=$MAXMEM -o store.cache_size=1M \
    -o store.flow_idle=3600s
wait_ctl store
SPID=$(pid_of store)
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$EP"
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$EP"
wait_ctl col0
# The interface is known (its row exists) before the flood.
wait_sql "interface row" "SELECT count(*) FROM interfaces WHERE name = '$EP'" 1
base_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SPID/status")

# Paced so that nothing upstream drops (a sanitizer build is slower).
rate=10000
ldd "$BIN/evflow-collector" 2>/dev/null | grep -q libasan && rate=4000
publish -z "$EP" --array 50 --rate "${STORE_MEMORY_RATE:-$rate}" \
    -f "$T/events.jsonl"

wait_counter "every event reached the store" store recv_flow "$N" 60
ctl store flush >/dev/null
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SPID/status")
ctl store stats >"$T/stats.json"

python3 - "$T/stats.json" "$EP" "$N" >"$T/check.out" 2>&1 <<'EOF'
import json, sys
st = json.load(open(sys.argv[1]))
c = st["counters"]
ep, n = sys.argv[2], int(sys.argv[3])
ifc = [i for i in st["interfaces"] if i["name"] == ep][0]
fc = ifc.get("counters", ifc)
print("mem_bytes", c["mem_bytes"], "mem_max", c["mem_max"],
      "mem_evicted", c["mem_evicted"], "mem_refused", c["mem_refused"],
      "no_memory", c["no_memory"], "stored", c["stored"],
      "mem_alloc_refused", c["mem_alloc_refused"],
      "received", c["received"], "live_flows", c["live_flows"],
      "iface_mem_evicted_idle", fc["mem_evicted_idle"],
      "iface_created", fc["created"])
ok = True
def want(desc, cond):
    global ok
    if not cond:
        print("FAIL:", desc)
        ok = False
want("mem_max is the bound", c["mem_max"] == 8 << 20)
want("accounted bytes within the bound", 0 < c["mem_bytes"] <= c["mem_max"])
want("identity", c["received"] == c["stored"] + c["bad_records"] +
     c["no_iface"] + c["no_memory"] + c["write_drops"])
want("every flow record stored or refused for memory",
     c["recv_flow"] == n and c["no_memory"] == c["mem_refused"])
want("evicted for memory (most flows)", c["mem_evicted"] > n // 2)
want("per interface, by reason", fc["mem_evicted_idle"] == c["mem_evicted"]
     and fc["mem_evicted_pending"] == 0)
want("fewer live flows than sent", c["live_flows"] < n // 2)
want("one flow per stored event", fc["created"] == n - c["mem_refused"])
sys.exit(0 if ok else 1)
EOF
rc=$?
cat "$T/check.out"
[ $rc -eq 0 ] || fail "store counters (see above)"
refused=$(sed -n 's/.* mem_refused \([0-9]*\) .*/\1/p' "$T/check.out")
# Evicted flows were written first: a row per stored event.
wait_sql "a row for every stored event" \
    "SELECT count(*) FROM flows_v WHERE iface = '$EP'" $((N - refused))
wait_sql "every process path distinct and whole" \
    "SELECT count(DISTINCT cli_process) FROM flows_v WHERE iface = '$EP'
      AND length(cli_process) > 90" $((N - refused))
limit_kb=$((base_kb + MAXMEM_KB + MARGIN_KB))
echo "store VmHWM ${hwm_kb} kB: at start ${base_kb} kB + bound" \
    "${MAXMEM_KB} kB + margin ${MARGIN_KB} kB = ${limit_kb} kB"
if ldd "$BIN/evflow-store" 2>/dev/null | grep -q -e libasan -e libtsan; then
	# The sanitizer keeps freed memory in quarantine: RSS says nothing.
	echo "note: sanitizer build, peak RSS not checked"
else
	checks=$((checks + 1))
	[ "$hwm_kb" -le "$limit_kb" ] ||
		fail "store peak RSS ${hwm_kb} kB over ${limit_kb} kB"
fi
pass
