#!/bin/sh
# webd_api: the REST API against a database filled by the real pipeline
# (evflow-testpub -> collector -> router -> store), read through a real
# evflow-webd: authentication, every flow filter against the same
# question asked to SQLite, keyset pages that cover every row once,
# flow details, aggregates, /metrics, interface settings relayed to the
# router (and the next events landing in the companion), and every
# refusal: missing auth, read-only tokens, CSRF, content type, sizes,
# methods, path traversal, bad parameters, rate limits, no user.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq evflow-webd
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }

lib_init
ZP=$(free_port)
ZI="tcp://127.0.0.1:${ZP}c"
webd_pipeline "$ZI" lo
start_webd webd -o webd.rate=0

# Data: the sample events (eBPF, netstat, listening ports, counters) and
# 300 generated flows.
publish -z "tcp://127.0.0.1:$ZP" -f "$SAMPLES" -q
publish -z "tcp://127.0.0.1:$ZP" --gen 300 -q
wait_sql "generated flows stored" "SELECT count(*) >= 300 FROM flows" 1

# ---- authentication
expect "flows without auth" 401 GET /api/v1/flows
expect "metrics without auth" 401 GET /metrics
expect "bad token" 401 GET /api/v1/flows -H "Authorization: Bearer $(printf '%064d' 0)"
expect "short token" 401 GET /api/v1/flows -H "Authorization: Bearer abc"
expect "forged cookie" 401 GET /api/v1/flows -b "evflow_session=$(printf '%064d' 1)"
A="Authorization: Bearer $W_TOKEN"
expect "session with a token" 200 GET /api/v1/session -H "$A"
check_eq "token kind" "$(jget 'j["kind"]')" token

# ---- flows: the API agrees with SQLite
n=$(sql "SELECT count(*) FROM flows")
wait_true "flow count via API" "[ \$(req GET '/api/v1/flows?limit=1000' -H '$A') = 200 ] &&
    [ \$(jget 'len(j[\"flows\"])') = \$(sql 'SELECT count(*) FROM flows') ]"
cmp_count() {	# DESC QUERYSTRING SQL-WHERE
	got=$(req GET "/api/v1/flows?limit=1000&$2" -H "$A")
	[ "$got" = 200 ] || fail "$1: status $got: $(cat "$T/body")"
	api=$(jget 'len(j["flows"])')
	db=$(sql "SELECT count(*) FROM flows_v WHERE $3")
	check_eq "$1 ($2)" "$api" "$db"
	[ "$db" -gt 0 ] || [ -n "$4" ] || fail "$1: the data has no such flow"
}
cmp_count "tcp" "proto=tcp" "protocol = 6"
cmp_count "udp" "proto=17" "protocol = 17"
cmp_count "port" "port=443" "cli_port = 443 OR srv_port = 443"
a=$(sql "SELECT srv_addr FROM flows WHERE srv_addr LIKE '%.%' LIMIT 1")
cmp_count "address" "addr=$a" "cli_addr = '$a' OR srv_addr = '$a'"
net=$(echo "$a" | cut -d. -f1-2).0.0/16
pfx=$(echo "$a" | cut -d. -f1-2).
cmp_count "CIDR" "addr=$net" "cli_addr LIKE '$pfx%' OR srv_addr LIKE '$pfx%'"
cmp_count "mapped address" "addr=::ffff:$a" "cli_addr = '$a' OR srv_addr = '$a'"
cmp_count "IPv6 CIDR" "addr=::/0" "cli_addr LIKE '%:%' OR srv_addr LIKE '%:%'" maybe
p=$(sql "SELECT cli_process FROM flows WHERE cli_process LIKE '/%' LIMIT 1")
if [ -n "$p" ]; then
	b=$(basename "$p")
	cmp_count "process path" "process=$p" "cli_process = '$p' OR srv_process = '$p'"
	cmp_count "process name" "process=$b" "cli_process LIKE '%/$b' OR srv_process LIKE '%/$b' OR cli_process = '$b' OR srv_process = '$b'"
fi
pid=$(sql "SELECT cli_pid FROM flows WHERE cli_pid IS NOT NULL LIMIT 1")
[ -n "$pid" ] && cmp_count "pid" "pid=$pid" "cli_pid = $pid OR srv_pid = $pid"
cmp_count "attributed" "attributed=yes" "cli_pid IS NOT NULL OR srv_pid IS NOT NULL OR cli_process IS NOT NULL OR srv_process IS NOT NULL"
cmp_count "not attributed" "attributed=no" "cli_pid IS NULL AND srv_pid IS NULL AND cli_process IS NULL AND srv_process IS NULL"
cmp_count "interface" "iface=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$ZI")" "iface = '$ZI'"
cmp_count "combined" "proto=tcp&port=443&attributed=yes" "protocol = 6 AND (cli_port = 443 OR srv_port = 443) AND (cli_pid IS NOT NULL OR srv_pid IS NOT NULL OR cli_process IS NOT NULL OR srv_process IS NOT NULL)" maybe
cmp_count "time range" "from=-3600" "last_seen >= strftime('%s','now') - 3600"
cmp_count "future" "from=4000000000" "last_seen >= 4000000000" empty

# ---- keyset pages: every row exactly once, in order, for several sorts
for s in last_seen bytes cli_process; do
	for o in desc asc; do
		all=""
		q="sort=$s&order=$o&limit=37"
		pages=0
		while :; do
			got=$(req GET "/api/v1/flows?$q" -H "$A")
			[ "$got" = 200 ] || fail "page $s $o: $got $(cat "$T/body")"
			all="$all $(jget '" ".join(str(f["id"]) for f in j["flows"])')"
			nx=$(jget 'j["next"] or ""')
			pages=$((pages + 1))
			[ -z "$nx" ] && break
			[ $pages -gt 100 ] && fail "pages do not end"
			q="sort=$s&order=$o&limit=37&cursor=$nx"
		done
		echo $all | tr ' ' '\n' | sort >"$T/seen"
		sql 'SELECT id FROM flows' | sort >"$T/want"
		check_eq "pages by $s $o: repeated rows" \
		    "$(uniq -d "$T/seen" | wc -l)" 0
		check_eq "pages by $s $o: rows never shown" \
		    "$(sort -u "$T/seen" | comm -13 - "$T/want" | wc -l)" 0
	done
done
# A cursor from one sort is refused by another.
req GET "/api/v1/flows?sort=bytes&limit=5" -H "$A" >/dev/null
nx=$(jget 'j["next"]')
expect "cursor of another sort" 400 GET "/api/v1/flows?sort=last_seen&cursor=$nx" -H "$A"

# ---- one flow
id=$(sql "SELECT id FROM flows WHERE cli_pid IS NOT NULL OR srv_pid IS NOT NULL LIMIT 1")
expect "flow detail" 200 GET "/api/v1/flows/$id" -H "$A"
check_eq "flow id" "$(jget 'j["flow"]["id"]')" "$id"
check_eq "client address" "$(jget 'j["flow"]["client"]["addr"]')" \
    "$(sql "SELECT cli_addr FROM flows WHERE id = $id")"
check_eq "server pid" "$(jget 'j["flow"]["server"]["pid"]')" \
    "$(sql "SELECT coalesce(srv_pid, 'None') FROM flows WHERE id = $id")"
expect "no such flow" 404 GET /api/v1/flows/999999999 -H "$A"
expect "bad flow id" 400 GET "/api/v1/flows/1%20OR%201=1" -H "$A"
expect "bad flow id 2" 400 GET "/api/v1/flows/-1" -H "$A"

# ---- aggregates and the rest of the API
for e in interfaces processes "processes?by=pid" containers "containers?by=pod" \
    listening "listening?current=no" producers ifcounters daemons summary \
    "summary?window=3600"; do
	expect "GET $e" 200 GET "/api/v1/$e" -H "$A"
done
req GET /api/v1/processes -H "$A" >/dev/null
check_eq "processes" "$(jget 'len(j["processes"]) > 0')" True
req GET /api/v1/listening -H "$A" >/dev/null
check_eq "listening sockets" "$(jget 'len(j["listening"])')" \
    "$(sql "SELECT count(*) FROM listening WHERE last_seen >= strftime('%s','now') - 120")"
req GET /api/v1/producers -H "$A" >/dev/null
check_eq "producers" "$(jget 'len(j["producers"])')" "$(sql 'SELECT count(*) FROM producers')"
req GET /api/v1/interfaces -H "$A" >/dev/null
check_eq "interfaces" "$(jget '",".join(i["name"] for i in j["interfaces"])')" "$ZI,lo"
check_eq "interface kinds" "$(jget '",".join(i["kind"] for i in j["interfaces"])')" "zmq,packet"
wait_true "the router's live table" "[ \$(req GET /api/v1/interfaces -H '$A') = 200 ] &&
    [ \"\$(jget '\",\".join(i[\"name\"] for i in (j[\"router\"] or []))')\" = '$ZI,lo' ]"
req GET /api/v1/daemons -H "$A" >/dev/null
check_eq "live daemons" "$(jget '",".join(sorted(d["name"] for d in j["live"] if d["up"]))')" "col0,router,store"

# ---- /metrics: Prometheus text, every daemon
wait_true "metrics from every daemon" "[ \$(req GET /metrics -H '$A') = 200 ] &&
    grep -q '^evflow_daemon_up{daemon=\"router\",role=\"router\"} 1\$' $T/body &&
    grep -q 'daemon=\"col0\"' $T/body && grep -q 'daemon=\"store\"' $T/body"
grep -q '^Content-Type: text/plain; version=0.0.4' "$T/headers" || fail "metrics content type"
bad=$(grep -v -E '^(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* untyped|[a-zA-Z_:][a-zA-Z0-9_:]*\{([a-z_]+="([^"\\]|\\.)*",?)*\} -?[0-9.e+]+)$' "$T/body" | head -3)
[ -z "$bad" ] || fail "metrics lines not in the text format: $bad"
checks=$((checks + 1))
check_eq "one TYPE line per metric" \
    "$(grep -c '^# TYPE' "$T/body")" "$(grep -v '^#' "$T/body" | sed 's/{.*//' | sort -u | wc -l)"

# ---- security headers
req GET / >/dev/null
for hd in "Content-Security-Policy: .*script-src 'self'" "frame-ancestors 'none'" \
    "X-Content-Type-Options: nosniff" "X-Frame-Options: DENY" "Referrer-Policy: no-referrer"; do
	grep -qi "$hd" "$T/headers" || fail "missing header: $hd"
	checks=$((checks + 1))
done
grep -qi '<script src="/app.js"' "$T/body" || fail "index page"
grep -q "<script>" "$T/body" && fail "inline script in the page"

# ---- login, session, CSRF
expect "wrong password" 401 POST /api/v1/login -H 'Content-Type: application/json' \
    --data '{"user":"admin","password":"wrong-password"}'
expect "unknown user" 401 POST /api/v1/login -H 'Content-Type: application/json' \
    --data '{"user":"nobody","password":"wrong-password"}'
expect "login body not JSON" 400 POST /api/v1/login -H 'Content-Type: application/json' --data 'user=admin'
expect "login from another origin" 403 POST /api/v1/login -H 'Content-Type: application/json' \
    -H 'Origin: http://evil.example' --data "{\"user\":\"admin\",\"password\":\"$W_PASS\"}"
expect "login without JSON type" 415 POST /api/v1/login --data '{"user":"admin"}'
login
grep -i '^Set-Cookie:' "$T/jar" >/dev/null 2>&1 || true
c=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
    --data "{\"user\":\"admin\",\"password\":\"$W_PASS\"}" "$W_URL/api/v1/login" | grep -i '^set-cookie:')
case "$c" in *HttpOnly*SameSite=Strict*) ;; *) fail "cookie flags: $c" ;; esac
checks=$((checks + 1))
expect "session" 200 GET /api/v1/session -b "$T/jar"
check_eq "session csrf" "$(jget 'j["csrf"]')" "$W_CSRF"
expect "flows with a session" 200 GET "/api/v1/flows?limit=1" -b "$T/jar"
SET='{"name":"lo","mirrored":true}'
expect "write without CSRF" 403 POST /api/v1/interfaces/settings -b "$T/jar" \
    -H 'Content-Type: application/json' --data "$SET"
expect "write with a wrong CSRF" 403 POST /api/v1/interfaces/settings -b "$T/jar" \
    -H 'Content-Type: application/json' -H "X-CSRF-Token: $(printf '%064d' 7)" --data "$SET"
expect "write from another origin" 403 POST /api/v1/interfaces/settings -b "$T/jar" \
    -H 'Content-Type: application/json' -H "X-CSRF-Token: $W_CSRF" \
    -H 'Origin: http://127.0.0.1.evil.example' --data "$SET"
expect "write with a token" 403 POST /api/v1/interfaces/settings -H "$A" \
    -H 'Content-Type: application/json' -H "X-CSRF-Token: $W_CSRF" --data "$SET"
expect "write without auth" 401 POST /api/v1/interfaces/settings \
    -H 'Content-Type: application/json' --data "$SET"
W() { expect "$1" "$2" POST /api/v1/interfaces/settings -b "$T/jar" \
    -H 'Content-Type: application/json' -H "X-CSRF-Token: $W_CSRF" --data "$3"; }
expect "settings: form content type" 415 POST /api/v1/interfaces/settings -b "$T/jar" \
    -H 'Content-Type: application/x-www-form-urlencoded' -H "X-CSRF-Token: $W_CSRF" --data "$SET"
W "settings: no name" 400 '{"mirrored":true}'
W "settings: nothing to set" 400 '{"name":"lo"}'
W "settings: mirrored not a bool" 400 '{"name":"lo","mirrored":"yes"}'
W "settings: name with a space" 400 '{"name":"lo mirrored no","mirrored":true}'
W "settings: not an object" 400 '[1,2]'
W "settings: unknown interface" 409 '{"name":"nosuch0","mirrored":true}'
msg=$(jget 'j["error"]["message"]')
[ -n "$msg" ] || fail "router refusal has no message"
W "companion not mirrored" 409 "{\"name\":\"$ZI\",\"companion\":\"lo\"}"

# ---- mirrored + companion: the next events land in lo as well
W "mark lo mirrored" 200 "$SET"
wait_sql "lo mirrored in the store" "SELECT mirrored FROM interfaces WHERE name = 'lo'" 1
W "companion lo" 200 "{\"name\":\"$ZI\",\"companion\":\"lo\"}"
wait_sql "companion in the store" "SELECT companion FROM interfaces WHERE name = '$ZI'" lo
before=$(sql "SELECT count(*) FROM flows_v WHERE iface = 'lo'")
publish -z "tcp://127.0.0.1:$ZP" --gen 20 --first 5000 -q
wait_true "events reach the companion" "[ \$(sql \"SELECT count(*) FROM flows_v WHERE iface = 'lo'\") -gt $before ]"
wait_true "the API shows them" "[ \$(req GET '/api/v1/flows?iface=lo&limit=1000' -H '$A') = 200 ] &&
    [ \$(jget 'len(j[\"flows\"])') -gt $before ]"
W "companion none" 200 "{\"name\":\"$ZI\",\"companion\":null}"
wait_sql "companion cleared" "SELECT coalesce(companion, 'none') FROM interfaces WHERE name = '$ZI'" none

# ---- bad parameters: 400 with a JSON error, never a 500
for q in "port=70000" "port=abc" "proto=foo" "addr=1.2.3.4/40" "addr=not-an-ip" \
    "sort=secret" "order=sideways" "limit=0" "limit=100000" "cursor=%00" \
    "cursor=AAAA" "nosuch=1" "port=1&port=2" "from=yesterday" "attributed=perhaps" \
    "state=DANCING" "process=%ff%00" "iface=$(printf 'x%.0s' $(seq 300))" \
    "pid=-5" "addr=%27%20OR%201=1--"; do
	expect "bad parameter $q" 400 GET "/api/v1/flows?$q" -H "$A"
done
expect "parameter on a no-parameter endpoint" 400 GET "/api/v1/interfaces?x=1" -H "$A"
expect "bad grouping" 400 GET "/api/v1/processes?by=pod" -H "$A"
# SQL in a text value is only ever a bound value.
expect "SQL in a value" 200 GET "/api/v1/flows?user=a%27%3BDROP%20TABLE%20flows%3B--" -H "$A"
check_eq "SQL in a value matches nothing" "$(jget 'len(j["flows"])')" 0
check_eq "flows table intact" "$(sql 'SELECT count(*) > 0 FROM flows')" 1

# ---- hostile HTTP
expect "unknown path" 404 GET /api/v1/nosuch -H "$A"
expect "traversal" 404 GET "/../../../../etc/passwd" --path-as-is
expect "encoded traversal" 404 GET "/%2e%2e/%2e%2e/etc/passwd" --path-as-is
expect "traversal in assets" 404 GET "/app.js/../../etc/passwd" --path-as-is
grep -q root: "$T/body" && fail "served a file outside the UI"
for m in DELETE PUT PATCH TRACE OPTIONS; do
	expect "method $m" 405 "$m" /api/v1/flows -H "$A"
done
expect "POST to a GET route" 405 POST /api/v1/flows -H "$A" -H 'Content-Type: application/json' --data '{}'
big=$(python3 -c 'print("{\"user\":\"" + "a" * 20000 + "\",\"password\":\"x\"}")')
expect "oversized body" 413 POST /api/v1/login -H 'Content-Type: application/json' --data "$big"
expect "oversized announced body" 413 POST /api/v1/login -H 'Content-Type: application/json' \
    -H 'Content-Length: 99999999' --data '{}' 
long=$(python3 -c 'print("a" * 2000)')
expect "URL too long" 414 GET "/api/v1/$long" -H "$A"
expect "query value too long" 400 GET "/api/v1/flows?user=$long" -H "$A"
hdr=$(python3 -c 'print("X-Big: " + "b" * 40000)')
got=$(req GET /api/v1/flows -H "$A" -H "$hdr")
case "$got" in 413|431) ;; *) fail "huge header: status $got" ;; esac
checks=$((checks + 1))
daemon_alive webd || fail "webd died"

# ---- logout ends the session
expect "logout" 200 POST /api/v1/logout -b "$T/jar" -H 'Content-Type: application/json' \
    -H "X-CSRF-Token: $W_CSRF" --data '{}'
expect "session after logout" 401 GET /api/v1/flows -b "$T/jar"

# ---- rate limits (a second webd with small limits)
start_webd webd2 -o webd.rate=2 -o webd.burst=3 -o webd.login_rate=2
codes=""
for i in 1 2 3 4 5 6 7 8; do codes="$codes $(req GET /api/v1/session -H "$A")"; done
case "$codes" in *429*) ;; *) fail "no 429 from the rate limit: $codes" ;; esac
checks=$((checks + 1))

# ---- no user: logins are refused with the way to create one
rm -f "$T/webd3.port"
start_daemon webd3 "$BIN/evflow-webd" -d "$D" -N webd3 -o webd.port=0 \
    -o webd.port_file="$T/webd3.port" -o webd.credentials="$T/empty.db"
wait_true "webd3 listening" "test -s $T/webd3.port"
W_URL="http://127.0.0.1:$(cat "$T/webd3.port")"
expect "login with no user" 503 POST /api/v1/login -H 'Content-Type: application/json' \
    --data '{"user":"admin","password":"whatever-it-is"}'
jget 'j["error"]["message"]' | grep -q -- --set-password || fail "no hint to set a password"
grep -q -- "--set-password" "$T/webd3.log" || fail "no log line on how to set a password"
checks=$((checks + 2))

all_alive
stop_webd webd
stop_webd webd2
stop_webd webd3
pass
