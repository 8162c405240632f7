#!/bin/sh
# Issue 13: one ~8 KB zlib message that inflates to `[{},{},...]` (2.79 M
# empty events, 8.37 MB: under collector.max_payload) must cost the
# collector neither seconds of CPU nor hundreds of MB.  col0 runs the
# defaults: the inflate ratio stops it while inflating.  col1 runs with
# collector.max_inflate_ratio = 0 (no ratio): the message inflates, and
# the scan before parsing refuses it for its event count.  Both count
# it, keep a bounded peak RSS (VmHWM), and store the good events sent
# after it.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

HWM_MAX_KB=65536	# peak RSS bound of a collector, kB (233 MB before)

P0=$(free_port)
P1=$(free_port)
start_pipeline -i "tcp://127.0.0.1:${P1}c" -- "tcp://127.0.0.1:${P0}c"
start_daemon col1 "$BIN/evflow-collector" -d "$D" -N col1 \
    -i "tcp://127.0.0.1:${P1}c" -o collector.max_inflate_ratio=0
wait_ctl col1

hwm_kb() {
	sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' \
	    "/proc/$(pid_of "$1")/status"
}

k=0
for ep in "tcp://127.0.0.1:$P0" "tcp://127.0.0.1:$P1"; do
	publish -z "$ep" --header 36 --malformed amplify >/dev/null
	bytes=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' "$T/testpub.out")
	checks=$((checks + 1))
	[ "$bytes" -lt 16384 ] || fail "the amplification is $bytes bytes"
	wait_counter "col$k received it" "col$k" msgs_received 1
	wait_counter "col$k refused it as too large" "col$k" \
	    drop_msg_too_large 1
	check_eq "col$k: no event made of it" \
	    "$(counter "col$k" events_received)" 0
	publish -z "$ep" --header 36 --zlib --array 10 --gen 40 \
	    --first $((k * 1000)) --ifname '' >/dev/null
	wait_sql "col$k: good events after it stored" \
	    "SELECT count(*) FROM flows_v WHERE iface = '$ep' || 'c'" 40
	hwm=$(hwm_kb "col$k")
	checks=$((checks + 1))
	[ -n "$hwm" ] && [ "$hwm" -lt $HWM_MAX_KB ] ||
	    fail "col$k: peak RSS ${hwm} kB, bound $HWM_MAX_KB kB"
	echo "col$k: peak RSS $hwm kB, amplification $bytes bytes"
	k=$((k + 1))
done
check_eq "col0: stopped by the inflate ratio" \
    "$(counter col0 msgs_over_inflate_ratio)" 1
check_eq "col0: not by the event bound" "$(counter col0 msgs_over_events)" 0
check_eq "col1: no ratio bound" "$(counter col1 msgs_over_inflate_ratio)" 0
check_eq "col1: stopped by the event bound" \
    "$(counter col1 msgs_over_events)" 1
all_alive
pass
