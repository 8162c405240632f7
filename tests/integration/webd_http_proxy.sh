#!/bin/sh
# webd_http_proxy: webd behind a TLS-terminating reverse proxy.  The
# test's curl plays the proxy on 127.0.0.1.  With webd.trusted_proxies
# naming it, a browser login (Origin https://..., X-Forwarded-Proto:
# https) succeeds and its cookie is Secure, and X-Forwarded-For is the
# client: rate limits and the log see the forwarded address (the nearest
# untrusted hop, never a spoofed left-most one).  Without the setting,
# the same headers are ignored: the https Origin is refused (what made
# login impossible) and every forwarded client shares the proxy's
# bucket.  A malformed proxy list is refused at start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

[ -x "$BIN/evflow-webd" ] || { echo "skip: evflow-webd not built"; exit 77; }
for c in python3 curl; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
lib_init
LOGIN="{\"user\":\"admin\",\"password\":\"$W_PASS\"}"
login_via() {	# DESC WANT [extra curl args]: a browser's login through the proxy
	desc=$1 want=$2; shift 2
	expect "$desc" "$want" POST /api/v1/login -H 'Content-Type: application/json' \
	    -H "Host: localhost:8443" -H "Origin: https://localhost:8443" "$@" --data "$LOGIN"
}

# ---- trusted: 127.0.0.1 and a second hop 10.9.0.0/16
start_webd webd -o webd.rate=2 -o webd.burst=2 -o webd.login_rate=30 \
    -o "webd.trusted_proxies=127.0.0.1, 10.9.0.0/16" -o webd.hosts=localhost
login_via "login behind the proxy" 200 -H 'X-Forwarded-Proto: https' \
    -H 'X-Forwarded-For: 203.0.113.7'
grep -qi '^Set-Cookie: evflow_session=.*; Secure' "$T/headers" ||
	fail "cookie not Secure behind https: $(grep -i set-cookie "$T/headers")"
checks=$((checks + 1))
grep -q 'login: admin from 203.0.113.7' "$T/webd.log" ||
	fail "log does not name the forwarded client: $(tail -3 "$T/webd.log")"
checks=$((checks + 1))
login_via "https origin over plain http" 403 -H 'X-Forwarded-For: 203.0.113.7'
login_via "X-Forwarded-Proto http" 403 -H 'X-Forwarded-Proto: http'
# Rate limit per forwarded client: each gets its own bucket of 2.
codes=""
for c in 198.51.100.1 198.51.100.1 198.51.100.1 198.51.100.2 198.51.100.2; do
	codes="$codes $(req GET /api/v1/session -H "Host: localhost" -H "X-Forwarded-For: $c")"
done
check_eq "buckets per forwarded client" "$codes" " 401 401 429 401 401"
# The walk from the right skips trusted hops and ignores what the client
# wrote to the left of the first untrusted one.
codes=""
for x in "1.1.1.1, 198.51.100.9, 10.9.4.4" "2.2.2.2, 198.51.100.9" "198.51.100.9"; do
	codes="$codes $(req GET /api/v1/session -H "Host: localhost" -H "X-Forwarded-For: $x")"
done
check_eq "spoofed left-most entries share the real client's bucket" "$codes" " 401 401 429"
req GET /metrics -H "Host: localhost" -H "Authorization: Bearer $W_TOKEN" \
    -H "X-Forwarded-For: 192.0.2.99" >/dev/null
n=$(sed -n 's/^evflow_webd_proxy_forwarded{[^}]*} //p' "$T/body")
[ "$n" -ge 12 ] || fail "proxy_forwarded counted $n, want >= 12"
checks=$((checks + 1))

# ---- not trusted: the headers are ignored
start_webd webd2 -o webd.rate=2 -o webd.burst=2 -o webd.hosts=localhost
codes=""
for c in 198.51.100.1 198.51.100.2 198.51.100.3; do
	codes="$codes $(req GET /api/v1/session -H "Host: localhost" -H "X-Forwarded-For: $c")"
done
check_eq "untrusted: one bucket for everyone" "$codes" " 401 401 429"
sleep 1.1	# the bucket refills for the logins below
login_via "untrusted peer: X-Forwarded-Proto ignored" 403 \
    -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-For: 203.0.113.7'
expect "plain origin still works" 200 POST /api/v1/login -H 'Content-Type: application/json' \
    -H "Host: localhost:8443" -H "Origin: http://localhost:8443" --data "$LOGIN"
grep -qi '^Set-Cookie: .*Secure' "$T/headers" && fail "Secure cookie over plain http"

"$BIN/evflow-webd" -d "$D" -N bad -o "webd.trusted_proxies=proxy.example" -n \
    >"$T/bad.log" 2>&1 && fail "a proxy name accepted"
grep -q trusted_proxies "$T/bad.log" || fail "no reason: $(cat "$T/bad.log")"
"$BIN/evflow-webd" -d "$D" -N bad -o "webd.trusted_proxies=10.0.0.0/33" -n \
    >"$T/bad.log" 2>&1 && fail "a /33 accepted"
checks=$((checks + 2))
all_alive
stop_webd webd
stop_webd webd2
pass
