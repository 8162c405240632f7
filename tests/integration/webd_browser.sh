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
CAPTURE=0
if [ "$(id -u)" = 0 ] && [ -x "$BIN/evflow-capture" ]; then
	start_daemon capture-loopcap "$BIN/evflow-capture" -d "$D" \
	    -N capture-loopcap -i lo -I loopcap -F "tcp port ${W_URL##*:}"
	wait_ctl capture-loopcap
	CAPTURE=1
fi
start_daemon testpub "$BIN/evflow-testpub" -z "tcp://127.0.0.1:$ZP" --live --rate 20
wait_sql "live flows stored" "SELECT count(*) > 5 FROM flows" 1

SHOTS="$EVFLOW_BUILD/screenshots"
rm -rf "$SHOTS"
WEBD_URL=$W_URL WEBD_USER=admin WEBD_PASS=$W_PASS ZMQ_IFACE=$ZI \
    PACKET_IFACE=lo CAPTURE=$CAPTURE SHOTS=$SHOTS \
    node "$TOP/tests/browser/webd.mjs" || fail "browser test"
checks=$((checks + 1))
wait_sql "companion stored" "SELECT companion FROM interfaces WHERE name = '$ZI'" lo
all_alive
stop_webd webd
pass
