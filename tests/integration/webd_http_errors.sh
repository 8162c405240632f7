#!/bin/sh
# webd_http_errors: every refusal webd makes is a JSON error
# {"error":{"code":N,"message":...}} with Content-Type: application/json
# and the security headers (CSP, nosniff, DENY, no-referrer, no-store):
# 400 (parameter, framing, NUL), 401, 404, 405, 413 (announced and
# streamed), 414, 421, 429, 431 (headers up to twice webd.header_max,
# which webd now checks itself), 503.  The one kind libmicrohttpd still
# answers itself (docs/api.md lists them) is checked to be what the
# documentation says: a header block beyond twice webd.header_max.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"
. "$(dirname "$0")/webd_http.inc"

[ -x "$BIN/evflow-webd" ] || { echo "skip: evflow-webd not built"; exit 77; }
for c in python3 curl; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
lib_init
start_webd webd -o webd.rate=0 -o webd.header_max=16k
A="Authorization: Bearer $W_TOKEN"

err() {	# DESC STATUS METHOD PATH [curl args]
	desc=$1 want=$2; shift 2
	expect "$desc" "$want" "$@"
	cat "$T/headers" "$T/body" >"$T/both"
	json_error_headers "$desc" "$T/both" "$want"
}
err "bad parameter" 400 GET "/api/v1/flows?port=x" -H "$A"
err "NUL in a parameter" 400 GET "/api/v1/flows?process=a%00b" -H "$A"
err "no auth" 401 GET /api/v1/flows
err "unknown path" 404 GET /api/v1/nosuch -H "$A"
err "method" 405 DELETE /api/v1/flows -H "$A"
err "announced body too large" 413 POST /api/v1/login -H 'Content-Type: application/json' \
    -H 'Content-Length: 99999999' --data '{}'
big=$(python3 -c 'print("{\"user\":\"" + "a" * 20000 + "\"}")')
err "streamed body too large" 413 POST /api/v1/login -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data "$big"
err "URL too long" 414 GET "/api/v1/$(python3 -c 'print("a" * 2000)')" -H "$A"
err "Host" 421 GET /api/v1/session -H "Host: rebind.example"
err "headers over webd.header_max" 431 GET /api/v1/session -H "X-Big: $(python3 -c 'print("b" * 20000)')"
err "no database" 503 GET /api/v1/flows -H "$A"
got=$(raw "POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}")
check_eq "framing" "$got" 400
json_error_headers "framing" "$T/raw" 400
start_webd webd2 -o webd.rate=1 -o webd.burst=1
req GET /api/v1/session >/dev/null
err "rate limit" 429 GET /api/v1/session
grep -qi '^Retry-After: 1' "$T/headers" || fail "429 without Retry-After"
checks=$((checks + 1))

# libmicrohttpd's own answer, beyond twice webd.header_max (documented).
got=$(req GET /api/v1/session -H "X-Big: $(python3 -c 'print("b" * 70000)')")
check_eq "headers beyond twice header_max: MHD's 431" "$got" 431
grep -q 'Request too big' "$T/body" || fail "MHD's 431 changed: update docs/api.md: $(head -c 300 "$T/body")"
checks=$((checks + 1))
all_alive
stop_webd webd
stop_webd webd2
pass
