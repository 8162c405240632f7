#!/bin/sh
# webd_tls: optional TLS (webd.tls_cert / webd.tls_key, libmicrohttpd
# with GnuTLS).  A self-signed certificate made here; the login cookie
# gets Secure, responses carry HSTS, plain HTTP on the TLS port gets no
# answer, and a missing key is refused at start.  No pipeline needed:
# the flow database does not exist, which the API reports as 503.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

[ -x "$BIN/evflow-webd" ] || { echo "skip: evflow-webd not built"; exit 77; }
for c in openssl curl python3; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
lib_init
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
    -out "$T/cert.pem" -days 2 -subj /CN=localhost >/dev/null 2>&1 ||
	fail "openssl could not make a certificate"
start_webd webd -o webd.tls_cert="$T/cert.pem" -o webd.tls_key="$T/key.pem"
W_URL=$(echo "$W_URL" | sed 's/^http:/https:/')
checks=$((checks + 1))

got=$(curl -sk -D "$T/headers" -o "$T/body" -w '%{http_code}' \
    -H 'Content-Type: application/json' \
    --data "{\"user\":\"admin\",\"password\":\"$W_PASS\"}" "$W_URL/api/v1/login")
check_eq "login over TLS" "$got" 200
grep -qi '^Set-Cookie: evflow_session=.*HttpOnly.*SameSite=Strict.*Secure' "$T/headers" ||
	fail "cookie without Secure: $(grep -i set-cookie "$T/headers")"
grep -qi '^Strict-Transport-Security:' "$T/headers" || fail "no HSTS header"
checks=$((checks + 2))
expect "no database yet" 503 GET /api/v1/flows -k -H "Authorization: Bearer $W_TOKEN"
got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    "http://127.0.0.1:${W_URL##*:}/api/v1/session")
[ "$got" = 200 ] && fail "plain HTTP answered on the TLS port"
checks=$((checks + 1))

# Half a TLS configuration is a configuration error.
"$BIN/evflow-webd" -d "$D" -N webd2 -o webd.port=0 \
    -o webd.tls_cert="$T/cert.pem" >"$T/half.log" 2>&1 &&
	fail "started with a certificate and no key"
grep -q "go together" "$T/half.log" || fail "no reason given: $(cat "$T/half.log")"
checks=$((checks + 1))
daemon_alive webd || fail "webd died"
stop_webd webd
pass
