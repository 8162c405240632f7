#!/bin/sh
# webd_sql_utf8: text from the database leaves webd as valid UTF-8 JSON.
# The flows view is replaced by three rows holding what a hostile or
# broken producer could have stored: bytes that are not UTF-8 (a lone
# 0xff, an encoded surrogate, a cut sequence) and a U+202E (right-to-left
# override) between a process name and the rest.  Every answer that
# shows them (the flow list, a flow's page, the processes aggregate)
# must decode as strict UTF-8, carry U+FFFD for each bad byte, the
# bidi control as the escape \u202e (never the raw bytes), and the
# replacements are counted (bad_utf8).  With Debian's chromium and
# tests/browser/node_modules (tests/browser/setup.sh), the UI is checked
# too (tests/browser/webd_bidi.mjs): the override is shown as <U+202E>,
# never applied, so the PID beside it stays in order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"
. "$(dirname "$0")/webd_sql_lib.inc"

need_bins evflow-store evflow-ctlq evflow-webd
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }

lib_init
sql_schema
sql_flows_view '{"id": "r.i", "iface_id": "1", "first_seen": "r.i",
    "last_seen": "strftime('"'%s'"', '"'now'"')", "protocol": "6",
    "ip_version": "4", "cli_addr": "'"'10.0.0.1'"'", "srv_addr":
    "'"'10.0.0.2'"'", "cli_pid": "4242", "cli_process": "r.p",
    "cli_user": "r.u", "srv_port": "443"}' \
    "SELECT @COLS@ FROM (
     SELECT 1 AS i, CAST(x'2f7573722f62696e2fff6576696c' AS TEXT) AS p,
        'root' AS u
     UNION ALL SELECT 2, CAST(x'2f7573722f62696e2f6576696ce280ae6c7275' AS TEXT),
        CAST(x'616eeda080' AS TEXT)
     UNION ALL SELECT 3, CAST(x'2f62696e2f6375e282' AS TEXT), 'ok') r"

start_webd webd -o webd.rate=0
A="Authorization: Bearer $W_TOKEN"

# strict_json: the body decodes as strict UTF-8 and parses as JSON, and
# holds neither raw bidi controls nor raw line separators.
strict_json() {
	python3 -c 'import json, sys
raw = open(sys.argv[1], "rb").read()
text = raw.decode("utf-8")          # strict: raises on a bad byte
json.loads(text)
for cp in [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067,
           0x2068, 0x2069, 0x200e, 0x200f, 0x061c, 0x2028, 0x2029]:
    assert chr(cp) not in text, "raw U+%04X in the body" % cp' "$T/body" ||
		fail "$1: not strict UTF-8 JSON without raw bidi controls"
	checks=$((checks + 1))
}

expect "flow list" 200 GET "/api/v1/flows?sort=id&order=asc" -H "$A"
strict_json "flow list"
check_eq "rows" "$(jget 'len(j["flows"])')" 3
check_eq "a lone 0xff" "$(jget 'ascii(j["flows"][0]["cli_process"])')" \
    "'/usr/bin/\\ufffdevil'"
check_eq "U+202E kept, escaped" "$(jget 'ascii(j["flows"][1]["cli_process"])')" \
    "'/usr/bin/evil\\u202elru'"
grep -q 'evil\\u202elru' "$T/body" || fail "the override is not written as \\u202e"
checks=$((checks + 1))
check_eq "an encoded surrogate" "$(jget 'ascii(j["flows"][1]["cli_user"])')" \
    "'an\\ufffd\\ufffd\\ufffd'"
check_eq "a cut sequence" "$(jget 'ascii(j["flows"][2]["cli_process"])')" \
    "'/bin/cu\\ufffd\\ufffd'"
check_eq "the pid next to it" "$(jget 'j["flows"][1]["cli_pid"]')" 4242

expect "a flow's page" 200 GET /api/v1/flows/2 -H "$A"
strict_json "a flow's page"
check_eq "detail: process" "$(jget 'ascii(j["flow"]["client"]["process"])')" \
    "'/usr/bin/evil\\u202elru'"
expect "a flow's page (bad bytes)" 200 GET /api/v1/flows/1 -H "$A"
strict_json "a flow's page (bad bytes)"
check_eq "detail: bad byte" "$(jget 'ascii(j["flow"]["client"]["process"])')" \
    "'/usr/bin/\\ufffdevil'"

expect "processes" 200 GET "/api/v1/processes?limit=10" -H "$A"
strict_json "processes"
check_eq "processes: names" \
    "$(jget 'ascii(sorted(p["process"] for p in j["processes"]))')" \
    "['/bin/cu\\ufffd\\ufffd', '/usr/bin/evil\\u202elru', '/usr/bin/\\ufffdevil']"

# ---- the UI, when a browser is at hand
if [ -x /usr/bin/chromium ] && command -v node >/dev/null &&
    [ -d "$TOP/tests/browser/node_modules/playwright-core" ]; then
	WEBD_URL=$W_URL WEBD_USER=admin WEBD_PASS=$W_PASS \
	    SHOTS="$EVFLOW_BUILD/screenshots" \
	    node "$TOP/tests/browser/webd_bidi.mjs" || fail "browser check"
	checks=$((checks + 1))
else
	echo "note: no chromium/node/playwright-core: the UI part is skipped"
fi

# Every bad byte counted: 1 + 3 + 2 per rendering, several renderings.
# /metrics first: it must not depend on a stats request having come.
wait_true "bad_utf8 in /metrics" "[ \"\$(req GET /metrics -H '$A')\" = 200 ] &&
    grep -Eq '^evflow_webd_bad_utf8\{.*\} ([6-9]|[1-9][0-9]+)\$' $T/body"
wait_true "bad_utf8 counted" "[ \"\$(counter webd bad_utf8)\" -ge 6 ]"
daemon_alive webd || fail "webd died"
stop_webd webd
pass
