#!/bin/sh
# webd_http_host: the Host allowlist against DNS rebinding.  By default
# webd answers for localhost, 127.0.0.1, [::1] and its listen address,
# with or without a port; any other Host (a rebinding name, a look-alike
# suffix) gets a JSON 421 with the security headers, the login page and
# the login itself included; HTTP/1.1 without Host is a 400.
# webd.hosts replaces the list (an entry with a port allows that port
# only), "*" turns the check off, a wildcard listen address accepts IP
# literals, and a malformed list is refused at start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"
. "$(dirname "$0")/webd_http.inc"

[ -x "$BIN/evflow-webd" ] || { echo "skip: evflow-webd not built"; exit 77; }
for c in python3 curl; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
lib_init
start_webd webd -o webd.rate=0
P=${W_URL##*:}
A="Authorization: Bearer $W_TOKEN"

host() {	# DESC WANT HOST [PATH]
	got=$(req GET "${4:-/api/v1/session}" -H "$A" -H "Host: $3")
	check_eq "$1 (Host: $3)" "$got" "$2"
	if [ "$2" = 421 ]; then
		cat "$T/headers" "$T/body" >"$T/both"
		json_error_headers "$1" "$T/both" 421
	fi
}
for h in localhost "localhost:$P" LOCALHOST 127.0.0.1 "127.0.0.1:$P" "[::1]" "[::1]:$P"; do
	host "default list" 200 "$h"
done
for h in evil.example "evil.example:$P" localhost.evil.example \
    127.0.0.1.nip.io "localhost:$P:1" "localhost:abc" "[::1" "[::2]:$P" \
    "127.0.0.2"; do
	host "not in the list" 421 "$h"
done
host "the login page" 421 rebind.example /
got=$(req POST /api/v1/login -H "Host: rebind.example" -H 'Content-Type: application/json' \
    --data "{\"user\":\"admin\",\"password\":\"$W_PASS\"}")
check_eq "login through a rebinding name" "$got" 421
grep -qi '^Set-Cookie' "$T/headers" && fail "a refused login set a cookie"
got=$(raw 'GET /api/v1/session HTTP/1.1\r\nConnection: close\r\n\r\n')
check_eq "HTTP/1.1 without Host" "$got" 400
json_error_headers "HTTP/1.1 without Host" "$T/raw" 400
got=$(raw 'GET /api/v1/session HTTP/1.0\r\n\r\n')
check_eq "HTTP/1.0 without Host (not a browser)" "$got" 401

req GET /metrics -H "$A" >/dev/null
n=$(sed -n 's/^evflow_webd_rejected_host{[^}]*} //p' "$T/body")
check_eq "refusals counted" "$n" 12

# webd.hosts: the names users type; a port pins the port.
start_webd webd2 -o webd.rate=0 -o "webd.hosts=evflow.example, flows.example:8443"
A="Authorization: Bearer $W_TOKEN"
host "listed" 200 evflow.example
host "listed, any port" 200 "evflow.example:$P"
host "listed with its port" 200 "flows.example:8443"
host "listed, other port" 421 "flows.example:8444"
host "listed with a port, none given" 421 flows.example
host "loopback no longer default" 421 localhost
start_webd webd3 -o webd.rate=0 -o "webd.hosts=*"
A="Authorization: Bearer $W_TOKEN"
host "any" 200 whatever.example
start_webd webd4 -o webd.rate=0 -o webd.listen=0.0.0.0
A="Authorization: Bearer $W_TOKEN"
host "wildcard listen: an IP literal" 200 "192.0.2.7:$P"
host "wildcard listen: an IPv6 literal" 200 "[2001:db8::1]"
host "wildcard listen: a name" 421 rebind.example

"$BIN/evflow-webd" -d "$D" -N bad -o "webd.hosts=$(python3 -c 'print(",".join(["h%d" % i for i in range(40)]))')" \
    -n >"$T/bad.log" 2>&1 && fail "40 hosts accepted"
grep -q 'webd.hosts' "$T/bad.log" || fail "no reason: $(cat "$T/bad.log")"
checks=$((checks + 1))
all_alive
for n in webd webd2 webd3 webd4; do stop_webd $n; done
pass
