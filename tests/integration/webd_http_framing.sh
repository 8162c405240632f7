#!/bin/sh
# webd_http_framing: strict request framing (request smuggling behind a
# proxy).  Raw requests with two Content-Length headers, Content-Length
# with Transfer-Encoding: chunked, a Transfer-Encoding other than chunked,
# two Transfer-Encoding headers and a header name with a space before its
# colon are refused with a JSON 400 and the connection is closed, so the
# bytes after them are never answered as a second request; well-framed
# requests (one Content-Length, chunked alone) still work.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"
. "$(dirname "$0")/webd_http.inc"

[ -x "$BIN/evflow-webd" ] || { echo "skip: evflow-webd not built"; exit 77; }
command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
lib_init
start_webd webd -o webd.rate=0

H='Host: localhost\r\nContent-Type: application/json\r\n'
# The smuggled request would be answered (a 404 for /smuggled) if webd
# read the body with the other length.
SM='GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n'
refused() {
	desc=$1 req=$2
	got=$(raw "$req")
	check_eq "$desc: status" "$got" 400
	check_eq "$desc: answers" "$(raw_count)" 1
	grep -qa 'framing' "$T/raw" || fail "$desc: not the framing refusal: $(cat "$T/raw")"
	tr -d '\r' <"$T/raw" | grep -qi '^Connection: close' ||
		fail "$desc: connection kept open"
	json_error_headers "$desc" "$T/raw" 400
}
refused "two Content-Length" "POST /api/v1/login HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 41\r\n\r\n{}$SM"
refused "same Content-Length twice" "POST /api/v1/login HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}$SM"
refused "Content-Length and chunked" "POST /api/v1/login HTTP/1.1\r\n${H}Content-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
refused "chunked and Content-Length" "POST /api/v1/login HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n$SM"
refused "Transfer-Encoding gzip" "POST /api/v1/login HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n$SM"
refused "two Transfer-Encoding" "POST /api/v1/login HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
refused "space before the colon" "POST /api/v1/login HTTP/1.1\r\n${H}Content-Length : 41\r\n\r\n$SM"
refused "GET with two lengths" "GET /api/v1/session HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: 41\r\n\r\n$SM"

# Well-framed: one Content-Length, or chunked alone, reach the handler
# (a wrong password is a 401, not a framing refusal), and keep-alive
# serves the next request on the same connection.
body='{"user":"admin","password":"wrong-password"}'
got=$(raw "POST /api/v1/login HTTP/1.1\r\n${H}Content-Length: ${#body}\r\n\r\n$body$SM")
check_eq "one Content-Length" "$got" 401
check_eq "one Content-Length: next request on the connection" "$(raw_count)" 2
grep -qa '"code":404' "$T/raw" || fail "keep-alive: the second request was not answered"
checks=$((checks + 1))
hex=$(printf '%x' ${#body})
got=$(raw "POST /api/v1/login HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n$hex\r\n$body\r\n0\r\n\r\n")
check_eq "chunked alone" "$got" 401
got=$(req POST /api/v1/login -H 'Content-Type: application/json' --data "$body")
check_eq "curl login" "$got" 401

req GET /metrics -H "Authorization: Bearer $W_TOKEN" >/dev/null
n=$(sed -n 's/^evflow_webd_rejected_framing{[^}]*} //p' "$T/body")
check_eq "framing refusals counted" "$n" 8
daemon_alive webd || fail "webd died"
stop_webd webd
pass
