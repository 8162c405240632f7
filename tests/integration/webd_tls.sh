#!/bin/sh
# webd_tls: optional TLS (webd.tls_cert / webd.tls_key, libmicrohttpd
# with GnuTLS).  A self-signed certificate made here; the login cookie
# gets Secure, responses carry HSTS, plain HTTP on the TLS port gets no
# answer, and a missing key is refused at start.  No pipeline needed:
# the flow database does not exist, which the API reports as 503.
# TLS 1.2 minimum: `openssl s_client -tls1` and `-tls1_1` are refused,
# -tls1_2 and -tls1_3 accepted (the client's own floor lowered, and
# checked against an `openssl s_server` that does speak TLS 1.1, so the
# refusal is webd's); webd.tls_min=1.3 refuses TLS 1.2 too.
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

# ---- protocol versions
PORT=${W_URL##*:}
LOW='DEFAULT@SECLEVEL=0'	# OpenSSL 3 needs level 0 for TLS < 1.2
# A version flag makes s_client offer that version alone, so a cipher
# agreed means that version was.
handshake() {	# PORT VERSION-FLAG: prints ok, or NONE if refused
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" "$2" \
	    -cipher "$LOW" >"$T/hs" 2>&1 </dev/null
	if grep -q '^New, [^(]' "$T/hs"; then echo ok; else echo NONE; fi
}
SP=$(free_port)
# (s_server quits at the end of its stdin: a FIFO held open keeps it.)
mkfifo "$T/ssin"
openssl s_server -accept "127.0.0.1:$SP" -cert "$T/cert.pem" \
    -key "$T/key.pem" -tls1_1 -cipher "$LOW" -naccept 1 <"$T/ssin" \
    >"$T/s_server.log" 2>&1 &
SPID=$!
exec 3>"$T/ssin"
wait_true "openssl s_server" "grep -q ACCEPT $T/s_server.log" 10
client_old=$(handshake "$SP" -tls1_1)
exec 3>&-
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
if [ "$client_old" = ok ]; then
	check_eq "TLS 1.1 refused" "$(handshake "$PORT" -tls1_1)" NONE
	check_eq "TLS 1.0 refused" "$(handshake "$PORT" -tls1)" NONE
else
	echo "note: this openssl cannot speak TLS 1.1 ($client_old); old versions unchecked"
fi
check_eq "TLS 1.2 accepted" "$(handshake "$PORT" -tls1_2)" ok
check_eq "TLS 1.3 accepted" "$(handshake "$PORT" -tls1_3)" ok
start_webd webd13 -o webd.tls_cert="$T/cert.pem" -o webd.tls_key="$T/key.pem" \
    -o webd.tls_min=1.3
check_eq "tls_min 1.3: TLS 1.2 refused" "$(handshake "${W_URL##*:}" -tls1_2)" NONE
check_eq "tls_min 1.3: TLS 1.3 accepted" "$(handshake "${W_URL##*:}" -tls1_3)" ok
stop_webd webd13
"$BIN/evflow-webd" -d "$D" -N webd4 -o webd.tls_min=1.1 -n >"$T/min.log" 2>&1 &&
	fail "webd.tls_min=1.1 accepted"
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
