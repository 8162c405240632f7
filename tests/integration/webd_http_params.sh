#!/bin/sh
# webd_http_params: parameters and paths must be UTF-8 without NUL.
# `process=curl%00junk` is a JSON 400, never a search for "curl"; so are
# NUL in a key or the path, invalid bytes, overlong forms, surrogates and
# code points past U+10FFFF; valid UTF-8 (2, 3 and 4 bytes) is served.
# The flow database is a real one made by evflow-store, holding one flow
# of /usr/bin/curl, so a truncated value would visibly match it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

need_bins evflow-webd evflow-store
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
lib_init
start_daemon store "$BIN/evflow-store" -d "$D" -N store -o store.retention=0
wait_true "schema" "[ \"\$(sql \"SELECT count(*) FROM sqlite_master WHERE name = 'flows'\")\" = 1 ]"
kill -TERM "$(pid_of store)"
wait_true "store stopped" "! daemon_alive store"
# One flow of /usr/bin/curl (through the flows view's insert trigger).
sqlite3 "$DB" "INSERT INTO interfaces (id, name) VALUES (1, 'eth0');
    INSERT INTO flows (id, iface_id, first_seen, last_seen, protocol,
    cli_addr, cli_port, srv_addr, srv_port, cli_process, cli_pid)
    VALUES (1, 1, strftime('%s','now'), strftime('%s','now'), 6,
    '10.0.0.1', 40000, '10.0.0.2', 443, '/usr/bin/curl', 42)" ||
	fail "cannot insert a flow"
start_webd webd -o webd.rate=0
A="Authorization: Bearer $W_TOKEN"

expect "plain curl matches" 200 GET "/api/v1/flows?process=curl" -H "$A"
check_eq "curl's flow" "$(jget 'len(j["flows"])')" 1
for q in "process=curl%00junk" "process=curl%00" "pro%00cess=curl" \
    "process=%00" "process=curl%ff" "process=%c0%af" "process=%e0%80%af" \
    "process=%ed%a0%80" "process=%f4%90%80%80" "process=%c3" "process=%80" \
    "process=curl&x%00=1" "process=%f8%88%80%80%80"; do
	expect "refused: $q" 400 GET "/api/v1/flows?$q" -H "$A"
	jget 'j["error"]["message"]' | grep -q 'UTF-8 without NUL' ||
		fail "$q: not refused for its bytes: $(cat "$T/body")"
done
expect "NUL in the path" 400 GET "/api/v1/flows%00/x" -H "$A"
expect "NUL in a flow id" 400 GET "/api/v1/flows/1%00" -H "$A"
for q in "process=%c3%a9t%c3%a9" "process=%e2%82%ac" "process=%f0%9f%98%80" "process=cu%72l"; do
	expect "valid UTF-8: $q" 200 GET "/api/v1/flows?$q" -H "$A"
done
check_eq "percent-escaped ASCII still matches" "$(jget 'len(j["flows"])')" 1

req GET /metrics -H "$A" >/dev/null
n=$(sed -n 's/^evflow_webd_rejected_param{[^}]*} //p' "$T/body")
[ "$n" -ge 15 ] || fail "refusals counted: $n, want >= 15"
checks=$((checks + 1))
daemon_alive webd || fail "webd died"
stop_webd webd
pass
