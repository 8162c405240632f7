#!/bin/sh
# webd_api_hosts: the endpoints behind the UI's host page, search box and
# process tree (/api/v1/hosts/<addr>, /api/v1/search,
# /api/v1/processes/tree), the dashboard's custom range and its byte and
# attribution figures, and the TCP state filter, against events sent
# through the real pipeline (evflow-testpub -> collector -> router ->
# store) and read by a real evflow-webd.  Every answer is compared with
# the same question asked to SQLite; every bad parameter is a JSON 400.
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
A="Authorization: Bearer $W_TOKEN"

# The events: host 10.9.0.5 runs curl and python3 (children of bash
# 4000; python3 in container db-client) as a client, and sshd as a
# server; one flow has byte counters, one a TCP state; an IPv6 pair.
now=$(date +%s)
ev() {	# TYPE SRC SPORT DST DPORT PID PATH PPID PPATH [EXTRA]
	printf '{"timestamp":"%s.000001","IP_PROTOCOL_VERSION":4,'"\
"'"TCP_EVENT_TYPE":"%s","IPV4_SRC_ADDR":"%s","L4_SRC_PORT":%s,'"\
"'"IPV4_DST_ADDR":"%s","L4_DST_PORT":%s,"PROTOCOL":6,'"\
"'"LOCAL_PROCESS":{"PID":%s,"UID":1000,"UID_NAME":"alice","PROCESS_PATH":"%s"},'"\
"'"LOCAL_FATHER_PROCESS":{"PID":%s,"PROCESS_PATH":"%s"}%s}\n' \
	    "$now" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "${10}"
}
{
	ev CONNECT 10.9.0.5 40001 10.9.0.80 443 4242 /usr/bin/curl 4000 /usr/bin/bash \
	    ',"IN_BYTES":1500,"OUT_BYTES":7000,"IN_PKTS":10,"OUT_PKTS":12'
	ev CONNECT 10.9.0.5 40002 10.9.0.81 5432 4343 /usr/bin/python3 4000 /usr/bin/bash \
	    ',"LOCAL_CONTAINER":{"DOCKER":{"ID":"abcdef0123456789abcdef0123456789","NAME":"db-client"}}'
	ev ACCEPT 10.9.0.7 50000 10.9.0.5 22 700 /usr/sbin/sshd 1 /usr/lib/systemd/systemd \
	    ',"TCP":{"CONN_STATE":"FIN-WAIT-1"}'
	printf '{"timestamp":"%s.000002","IP_PROTOCOL_VERSION":6,"TCP_EVENT_TYPE":"CONNECT",'"\
"'"IPV6_SRC_ADDR":"2001:db8:9::5","L4_SRC_PORT":41000,"IPV6_DST_ADDR":"2001:db8:9::80",'"\
"'"L4_DST_PORT":443,"PROTOCOL":6,"LOCAL_PROCESS":{"PID":5151,"PROCESS_PATH":"/usr/bin/wget"}}\n' "$now"
} > "$T/events.jsonl"
publish -z "tcp://127.0.0.1:$ZP" -f "$T/events.jsonl" -q
wait_sql "events stored" "SELECT count(*) FROM flows WHERE cli_addr IN
    ('10.9.0.5', '10.9.0.7', '2001:db8:9::5')" 4

# A name for 10.9.0.80, as the capture's DNS answers store it.
wait_true "host name stored" "sqlite3 -cmd '.timeout 2000' '$DB' \"INSERT OR
    REPLACE INTO host_names (addr, name, source, first_seen, last_seen)
    VALUES ('10.9.0.80', 'api.shop-example.test', 'dns', $now, $now)\" 2>/dev/null"

H="10.9.0.5"
W="(cli_addr = '$H' OR srv_addr = '$H')"

# ---- one host
expect "host" 200 GET "/api/v1/hosts/$H" -H "$A"
check_eq "host address" "$(jget 'j["host"]["addr"]')" "$H"
check_eq "host flows" "$(jget 'j["host"]["totals"][0]["flows"]')" \
    "$(sql "SELECT count(*) FROM flows WHERE $W")"
check_eq "as client" "$(jget 'j["host"]["totals"][0]["as_client"]')" \
    "$(sql "SELECT count(*) FROM flows WHERE cli_addr = '$H'")"
check_eq "as server" "$(jget 'j["host"]["totals"][0]["as_server"]')" 1
check_eq "bytes sent" "$(jget 'j["host"]["totals"][0]["bytes_sent"]')" \
    "$(sql "SELECT sum(CASE WHEN cli_addr = '$H' THEN c2s_bytes ELSE s2c_bytes END) FROM flows WHERE $W")"
check_eq "bytes received" "$(jget 'j["host"]["totals"][0]["bytes_rcvd"]')" \
    "$(sql "SELECT sum(CASE WHEN cli_addr = '$H' THEN s2c_bytes ELSE c2s_bytes END) FROM flows WHERE $W")"
check_eq "peers" "$(jget '",".join(sorted(p["addr"] for p in j["host"]["peers"]))')" \
    "10.9.0.7,10.9.0.80,10.9.0.81"
check_eq "services it answered" "$(jget '[(s["proto"], s["port"]) for s in j["host"]["services"]]')" '[[6, 22]]'
check_eq "its processes" "$(jget '",".join(sorted("%s:%s" % (p["process"], p["pid"]) for p in j["host"]["processes"]))')" \
    "/usr/bin/curl:4242,/usr/bin/python3:4343,/usr/sbin/sshd:700"
check_eq "the container of its process" \
    "$(jget '[p["container"] for p in j["host"]["processes"] if p["pid"] == 4343][0]')" db-client
check_eq "series covers every flow" "$(jget 'sum(s["flows"] for s in j["host"]["series"])')" \
    "$(sql "SELECT count(*) FROM flows WHERE $W")"
check_eq "series bytes" "$(jget 'sum(s["bytes_sent"] or 0 for s in j["host"]["series"])')" \
    "$(sql "SELECT sum(CASE WHEN cli_addr = '$H' THEN c2s_bytes ELSE s2c_bytes END) FROM flows WHERE $W")"
check_eq "no name for this host" "$(jget 'j["host"]["names"]')" "[]"
expect "a named host" 200 GET "/api/v1/hosts/10.9.0.80" -H "$A"
check_eq "its name" "$(jget '[(n["name"], n["source"]) for n in j["host"]["names"]]')" '[["api.shop-example.test", "dns"]]'
expect "search a name" 200 GET "/api/v1/search?q=SHOP-EX" -H "$A"
check_eq "name found" "$(jget '[(n["name"], n["addr"]) for n in j["names"]]')" '[["api.shop-example.test", "10.9.0.80"]]'

expect "IPv6 host" 200 GET "/api/v1/hosts/2001:db8:9::5" -H "$A"
check_eq "IPv6 host flows" "$(jget 'j["host"]["totals"][0]["flows"]')" 1
expect "IPv4-mapped host" 200 GET "/api/v1/hosts/::ffff:$H" -H "$A"
check_eq "mapped address is the IPv4 host" "$(jget 'j["host"]["addr"]')" "$H"
expect "a host without flows" 200 GET "/api/v1/hosts/192.0.2.99" -H "$A"
check_eq "no flows" "$(jget 'j["host"]["totals"][0]["flows"]')" 0
expect "host on one interface" 200 GET "/api/v1/hosts/$H?iface=lo" -H "$A"
check_eq "no flows on lo" "$(jget 'j["host"]["totals"][0]["flows"]')" 0
expect "host, custom range" 200 GET "/api/v1/hosts/$H?from=$((now - 60))&to=$((now + 60))" -H "$A"
check_eq "range flows" "$(jget 'j["host"]["totals"][0]["flows"]')" 3
check_eq "range step" "$(jget 'j["host"]["step"]')" 2
expect "host, a range before the flows" 200 GET "/api/v1/hosts/$H?from=$((now - 7200))&to=$((now - 3600))" -H "$A"
check_eq "no flows before" "$(jget 'j["host"]["totals"][0]["flows"]')" 0
expect "host: a CIDR" 400 GET "/api/v1/hosts/10.9.0.0/24" -H "$A"
expect "host: not an address" 400 GET "/api/v1/hosts/example.org" -H "$A"
expect "host: SQL" 400 GET "/api/v1/hosts/1.2.3.4'%20OR%201=1" -H "$A"
expect "host: long" 400 GET "/api/v1/hosts/$(printf '1%.0s' $(seq 300))" -H "$A"
expect "host: to before from" 400 GET "/api/v1/hosts/$H?from=$now&to=$((now - 10))" -H "$A"
expect "host: more than 31 days" 400 GET "/api/v1/hosts/$H?from=-2700000" -H "$A"
expect "host: unknown parameter" 400 GET "/api/v1/hosts/$H?limit=5" -H "$A"
expect "host: from twice" 400 GET "/api/v1/hosts/$H?from=-60&from=-70" -H "$A"
expect "host: bad from" 400 GET "/api/v1/hosts/$H?from=1e9" -H "$A"
expect "host without auth" 401 GET "/api/v1/hosts/$H"
expect "host: POST" 405 POST "/api/v1/hosts/$H" -H "$A"

# ---- search
expect "search an address prefix" 200 GET "/api/v1/search?q=10.9.0." -H "$A"
check_eq "addresses found" "$(jget '",".join(sorted(a["addr"] for a in j["addresses"]))')" \
    "10.9.0.5,10.9.0.7,10.9.0.80,10.9.0.81"
check_eq "most flows first" "$(jget 'j["addresses"][0]["addr"]')" "$H"
check_eq "its flow count" "$(jget 'j["addresses"][0]["flows"]')" 3
expect "search an address" 200 GET "/api/v1/search?q=$H" -H "$A"
check_eq "one address" "$(jget '[(a["addr"], a["flows"]) for a in j["addresses"]]')" "[[\"$H\", 3]]"
expect "search a CIDR" 200 GET "/api/v1/search?q=10.9.0.4/31" -H "$A"
check_eq "CIDR addresses" "$(jget '[a["addr"] for a in j["addresses"]]')" "[\"$H\"]"
expect "search IPv6" 200 GET "/api/v1/search?q=2001:DB8:9::" -H "$A"
check_eq "IPv6 prefix, any case" "$(jget '",".join(sorted(a["addr"] for a in j["addresses"]))')" \
    "2001:db8:9::5,2001:db8:9::80"
expect "search a process" 200 GET "/api/v1/search?q=CURL" -H "$A"
check_eq "process found" "$(jget '[p["process"] for p in j["processes"]]')" '["/usr/bin/curl"]'
check_eq "no address for a name" "$(jget 'j["addresses"]')" "[]"
expect "search a pid" 200 GET "/api/v1/search?q=4343" -H "$A"
check_eq "pid found" "$(jget '[(p["process"], p["pid"]) for p in j["processes"]]')" '[["/usr/bin/python3", 4343]]'
expect "search a container" 200 GET "/api/v1/search?q=db-cl" -H "$A"
check_eq "container found" "$(jget '[(c["name"], c["id"]) for c in j["containers"]]')" \
    '[["db-client", "abcdef0123456789abcdef0123456789"]]'
expect "search a container id" 200 GET "/api/v1/search?q=abcdef01" -H "$A"
check_eq "container by id" "$(jget '[c["name"] for c in j["containers"]]')" '["db-client"]'
expect "search: /usr" 200 GET "/api/v1/search?q=/usr/&limit=2" -H "$A"
check_eq "limit per kind" "$(jget 'len(j["processes"])')" 2
expect "search: nothing" 200 GET "/api/v1/search?q=zzzz-nothing" -H "$A"
check_eq "nothing found" "$(jget '[len(j[k]) for k in ("addresses", "processes", "containers", "names")]')" '[0, 0, 0, 0]'
expect "search: % is text" 200 GET "/api/v1/search?q=%25" -H "$A"
check_eq "% matches nothing" "$(jget 'len(j["processes"])')" 0
expect "search: no q" 400 GET "/api/v1/search" -H "$A"
expect "search: empty q" 400 GET "/api/v1/search?q=" -H "$A"
expect "search: q too long" 400 GET "/api/v1/search?q=$(printf 'a%.0s' $(seq 129))" -H "$A"
expect "search: control character" 400 GET "/api/v1/search?q=cu%09rl" -H "$A"
expect "search: limit 0" 400 GET "/api/v1/search?q=curl&limit=0" -H "$A"
expect "search: limit 51" 400 GET "/api/v1/search?q=curl&limit=51" -H "$A"
expect "search: unknown parameter" 400 GET "/api/v1/search?q=curl&sort=x" -H "$A"
expect "search: q twice" 400 GET "/api/v1/search?q=curl&q=wget" -H "$A"
expect "search without auth" 401 GET "/api/v1/search?q=curl"
expect "search: NUL" 400 GET "/api/v1/search?q=curl%00junk" -H "$A"
expect "search: not UTF-8" 400 GET "/api/v1/search?q=curl%ff" -H "$A"
expect "search: UTF-8" 200 GET "/api/v1/search?q=%c3%a9t%c3%a9" -H "$A"
expect "host: NUL" 400 GET "/api/v1/hosts/10.9.0.5%00" -H "$A"

# ---- the process tree
expect "process tree" 200 GET "/api/v1/processes/tree" -H "$A"
check_eq "curl's parent" "$(jget '[(p["parent_pid"], p["parent_process"]) for p in j["processes"] if p["pid"] == 4242]')" \
    '[[4000, "/usr/bin/bash"]]'
check_eq "bash's children" "$(jget '",".join(sorted(str(p["pid"]) for p in j["processes"] if p["parent_pid"] == 4000))')" \
    "4242,4343"
check_eq "curl's bytes" "$(jget '[p["bytes"] for p in j["processes"] if p["pid"] == 4242]')" \
    "[$(sql "SELECT sum(c2s_bytes + s2c_bytes) FROM flows WHERE cli_pid = 4242")]"
check_eq "python3's bytes unknown" "$(jget '[p["bytes"] for p in j["processes"] if p["pid"] == 4343]')" "[null]"
check_eq "every process" "$(jget 'len(j["processes"])')" \
    "$(sql "SELECT count(*) FROM (SELECT cli_pid, cli_process, cli_parent_pid, cli_parent_process FROM flows WHERE cli_pid IS NOT NULL UNION SELECT srv_pid, srv_process, srv_parent_pid, srv_parent_process FROM flows WHERE srv_pid IS NOT NULL)")"
check_eq "not truncated" "$(jget 'j["truncated"]')" False
expect "process tree, limit 1" 200 GET "/api/v1/processes/tree?limit=1" -H "$A"
check_eq "one process" "$(jget 'len(j["processes"])')" 1
check_eq "truncated" "$(jget 'j["truncated"]')" True
expect "process tree of a host" 200 GET "/api/v1/processes/tree?addr=10.9.0.7" -H "$A"
check_eq "sshd only" "$(jget '[p["process"] for p in j["processes"]]')" '["/usr/sbin/sshd"]'
expect "process tree of a user" 200 GET "/api/v1/processes/tree?user=alice" -H "$A"
check_eq "alice's processes" "$(jget '",".join(str(x) for x in sorted(p["pid"] for p in j["processes"]))')" \
    "$(sql "SELECT group_concat(pid) FROM (SELECT cli_pid AS pid FROM flows WHERE cli_user = 'alice' UNION SELECT srv_pid FROM flows WHERE srv_user = 'alice' ORDER BY 1)")"
expect "tree: bad limit" 400 GET "/api/v1/processes/tree?limit=5001" -H "$A"
expect "tree: bad addr" 400 GET "/api/v1/processes/tree?addr=10.9.0.300" -H "$A"
expect "tree: unknown parameter" 400 GET "/api/v1/processes/tree?by=pid" -H "$A"

# ---- the dashboard: custom range, bytes, attribution
expect "summary, custom range" 200 GET "/api/v1/summary?from=$((now - 600))&to=$((now + 60))" -H "$A"
check_eq "range start" "$(jget 'int(j["from"])')" "$((now - 600))"
check_eq "range flows" "$(jget 'j["totals"][0]["flows"]')" \
    "$(sql "SELECT count(*) FROM flows WHERE last_seen BETWEEN $((now - 600)) AND $((now + 60))")"
check_eq "curl ranks first by bytes" "$(jget 'j["top_processes"][0]["process"]')" /usr/bin/curl
check_eq "curl's bytes" "$(jget 'j["top_processes"][0]["bytes"]')" 8500
check_eq "events-only bytes are unknown, not 0" \
    "$(jget '[p["bytes"] for p in j["top_processes"] if p["process"] == "/usr/bin/python3"]')" "[null]"
check_eq "no packet flows: attribution has nothing to count" \
    "$(jget '[j["totals"][0]["packet_flows"], j["totals"][0]["attributed"], j["attribution"]]')" "[0, 0, []]"
expect "summary, a range before the flows" 200 GET "/api/v1/summary?from=$((now - 7200))&to=$((now - 3600))" -H "$A"
check_eq "no flows then" "$(jget 'j["totals"][0]["flows"]')" 0
expect "summary: window and from" 400 GET "/api/v1/summary?window=900&from=-900" -H "$A"
expect "summary: to without from" 400 GET "/api/v1/summary?to=-60" -H "$A"
expect "summary: range under 60 s" 400 GET "/api/v1/summary?from=-30" -H "$A"
expect "summary: range over 31 days" 400 GET "/api/v1/summary?from=-2700000" -H "$A"

# ---- TCP states: the store writes FIN-WAIT-1, the API's word is FIN_WAIT1
expect "state filter" 200 GET "/api/v1/flows?state=FIN_WAIT1" -H "$A"
check_eq "FIN_WAIT1 finds FIN-WAIT-1" "$(jget '[f["state"] for f in j["flows"]]')" '["FIN-WAIT-1"]'
expect "duration sort" 200 GET "/api/v1/flows?sort=duration" -H "$A"

daemon_alive webd || fail "webd died"
stop_webd webd
pass
