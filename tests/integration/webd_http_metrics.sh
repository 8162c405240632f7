#!/bin/sh
# webd_http_metrics: /metrics with daemon names and keys too long for a
# sample's labels.  The stored daemon_counters (a database made by
# evflow-store, the store then stopped) hold a 600-byte daemon name
# with quotes, backslashes and multi-byte characters, next to ordinary
# daemons; every line must stay in the text format, every value exact
# (a label written past its buffer used to overwrite the value), the cut
# label valid UTF-8, and the cuts counted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

need_bins evflow-webd evflow-store
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
lib_init
start_daemon store "$BIN/evflow-store" -d "$D" -N store -o store.retention=0
wait_true "schema" "[ \"\$(sql \"SELECT count(*) FROM sqlite_master WHERE name = 'daemon_counters'\")\" = 1 ]"
kill -TERM "$(pid_of store)"
wait_true "store stopped" "! daemon_alive store"
long=$(python3 -c 'print(("é\"\\x" * 150)[:600])')
sqlite3 "$DB" "DELETE FROM daemon_counters;
    INSERT INTO daemon_counters (daemon, role, key, value, updated) VALUES
    ('$(echo "$long" | sed "s/'/''/g")', 'router', 'received', 12345, 0),
    ('$(echo "$long" | sed "s/'/''/g")', 'store', 'iface.$(printf 'i%.0s' $(seq 200)).merged', 4242, 0),
    ('col0', 'collector', 'received', 987654321, 0),
    ('store', 'store', 'iface.eth0.joins', 77, 0)" || fail "cannot insert counters"
start_webd webd -o webd.rate=0
A="Authorization: Bearer $W_TOKEN"
expect "metrics" 200 GET /metrics -H "$A"
bad=$(grep -v -E '^(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* untyped|[a-zA-Z_:][a-zA-Z0-9_:]*\{([a-z_]+="([^"\\]|\\.)*",?)*\} -?[0-9.e+]+)$' "$T/body" | head -3)
[ -z "$bad" ] || fail "lines not in the text format: $bad"
python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$T/body" ||
	fail "metrics not UTF-8"
checks=$((checks + 2))
val() { grep "^$1{" "$T/body" | grep -F "$2" | sed 's/.*} //'; }
check_eq "long daemon's value" "$(val evflow_received 'role="router"')" 12345
check_eq "long daemon's iface value" "$(val evflow_iface_merged 'daemon="é')" 4242
check_eq "ordinary daemon's value" "$(val evflow_received 'daemon="col0"')" 987654321
check_eq "ordinary iface value" "$(val evflow_iface_joins 'iface="eth0"')" 77
grep '^evflow_received{' "$T/body" | grep -F 'role="router"' | grep -q 'daemon="é\\"\\\\x' ||
	fail "the long name is not escaped: $(grep '^evflow_received{' "$T/body" | head -c 200)"
checks=$((checks + 1))
req GET /metrics -H "$A" >/dev/null
n=$(sed -n 's/^evflow_webd_metrics_labels_cut{[^}]*} //p' "$T/body")
[ "$n" -ge 2 ] || fail "cuts counted: $n"
checks=$((checks + 1))
daemon_alive webd || fail "webd died"
stop_webd webd
pass
