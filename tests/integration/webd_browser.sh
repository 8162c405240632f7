#!/bin/sh
# webd_browser: the UI in Debian's chromium (tests/browser/webd.mjs via
# playwright-core) against the real pipeline fed by a live event stream
# (evflow-testpub --live): log in, live flows, filter, sort, permalink,
# a flow's page, every page, Mirrored Traffic and Companion Interface
# applied from the Interfaces page and the next events landing in the
# companion.  Screenshots of each page: $EVFLOW_BUILD/screenshots/.
# Skips (77) without /usr/bin/chromium, node or tests/browser/node_modules
# (tests/browser/setup.sh installs them).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq evflow-webd
[ -x /usr/bin/chromium ] || { echo "skip: no /usr/bin/chromium (tests/browser/setup.sh)"; exit 77; }
command -v node >/dev/null || { echo "skip: no node"; exit 77; }
[ -d "$TOP/tests/browser/node_modules/playwright-core" ] ||
	{ echo "skip: no tests/browser/node_modules (tests/browser/setup.sh)"; exit 77; }

lib_init
ZP=$(free_port)
ZI="tcp://127.0.0.1:${ZP}c"
# "lo" is the companion to be; "loopcap" is the loopback device captured
# for real (root only), so the dashboard has packet throughput to draw.
webd_pipeline "$ZI" lo loopcap
start_webd webd -o webd.rate=0
MAIN_URL=$W_URL
CAPTURE=0 TLS_NAME=shop.example.test TLS_PORT=0
if [ "$(id -u)" = 0 ] && [ -x "$BIN/evflow-capture" ]; then
	# A local TLS server with a certificate for $TLS_NAME: curl's
	# requests to it are captured too, so nDPI names them (TLS, the
	# SNI) for the application and server name filters.
	TLS_PORT=$(free_port)
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$TLS_NAME" \
	    -addext "subjectAltName=DNS:$TLS_NAME" -keyout "$T/tls.key" \
	    -out "$T/tls.crt" >/dev/null 2>&1 || fail "openssl req"
	helper tls openssl s_server -quiet -www -accept "127.0.0.1:$TLS_PORT" \
	    -cert "$T/tls.crt" -key "$T/tls.key"
	start_daemon capture-loopcap "$BIN/evflow-capture" -d "$D" \
	    -N capture-loopcap -i lo -I loopcap \
	    -F "tcp port ${W_URL##*:} or tcp port $TLS_PORT"
	wait_ctl capture-loopcap
	CAPTURE=1
	wait_true "TLS server up" "curl -s --max-time 2 --cacert '$T/tls.crt' \
	    --resolve '$TLS_NAME:$TLS_PORT:127.0.0.1' -o /dev/null \
	    'https://$TLS_NAME:$TLS_PORT/'"
	for i in 1 2 3; do
		curl -s --max-time 5 --cacert "$T/tls.crt" -o /dev/null \
		    --resolve "$TLS_NAME:$TLS_PORT:127.0.0.1" \
		    "https://$TLS_NAME:$TLS_PORT/" || fail "curl over TLS"
	done
fi
start_daemon testpub "$BIN/evflow-testpub" -z "tcp://127.0.0.1:$ZP" --live --rate 20
wait_sql "live flows stored" "SELECT count(*) > 5 FROM flows" 1
# A name for the live stream's server, as the capture's DNS answers
# would store it (host_names), for the search box and the host page.
NAME_ADDR=203.0.113.80 NAME=www.shop-example.test
# The store writes all the time: try until it lets the row in.
wait_true "host name stored" "sqlite3 -cmd '.timeout 2000' '$DB' \"INSERT OR
    REPLACE INTO host_names (addr, name, source, first_seen, last_seen)
    VALUES ('$NAME_ADDR', '$NAME', 'dns', strftime('%s','now'),
    strftime('%s','now'))\" 2>/dev/null"
# A second webd whose database does not exist yet: the page must try
# again until it does (the browser test copies the database there).
mkdir -p "$T/late"
LATE_DB="$T/late/evflow.db"
start_webd webd-late -o webd.rate=0 -o database="$LATE_DB"
LATE_URL=$W_URL
W_URL=$MAIN_URL

SHOTS="$EVFLOW_BUILD/screenshots"
rm -rf "$SHOTS"
WEBD_URL=$W_URL WEBD_USER=admin WEBD_PASS=$W_PASS ZMQ_IFACE=$ZI \
    PACKET_IFACE=lo CAPTURE=$CAPTURE SHOTS=$SHOTS DB=$DB \
    NAME=$NAME NAME_ADDR=$NAME_ADDR LATE_URL=$LATE_URL LATE_DB=$LATE_DB \
    TLS_NAME=$TLS_NAME TLS_PORT=$TLS_PORT \
    node "$TOP/tests/browser/webd.mjs" || fail "browser test"
checks=$((checks + 1))
wait_sql "companion stored" "SELECT companion FROM interfaces WHERE name = '$ZI'" lo
all_alive
stop_webd webd
stop_webd webd-late
pass
