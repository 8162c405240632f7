#!/bin/sh
# Other daemons' counters are totals since the database began
# (docs/schema.md, daemon_counters): a collector killed -9 under
# traffic, then stopped cleanly, runs three times; the store folds each
# run's last values into the rows' base when the next run's first stats
# arrive, so its stored events_received and events_forwarded never go
# back and equal the sum over the runs, while value - base is the
# running collector's own count.  /metrics shows the live collector's
# counters as the same totals.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq evflow-webd
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
lib_init

P=$(free_port)
EP="tcp://127.0.0.1:${P}c"
RATE=2000
start_pipeline -- "$EP"

stored_total() {
	sql "SELECT value FROM daemon_counters WHERE daemon = 'col0'
	    AND key = '$1'"
}
stored_base() {
	sql "SELECT base FROM daemon_counters WHERE daemon = 'col0'
	    AND key = '$1'"
}
# Once the traffic is over: the stored total is BASE + the live count.
settled() {
	live=$(counter col0 "$1") st=$(stored_total "$1")
	echo "$1: stored $st, base $2 + live $live"
	[ -n "$live" ] && [ "$st" = $(($2 + live)) ] &&
	    [ "$(stored_base "$1")" = "$2" ]
}

# Run 1: killed -9 while events flow.
"$BIN/evflow-testpub" -z "$EP" --gen $((RATE * 6)) --rate "$RATE" \
    >"$T/testpub.out" 2>&1 &
TP=$!
wait_true "run 1 counted" '[ "$(stored_total events_received)" -gt 0 ]'
sleep 1.5
p=$(pid_of col0)
kill -KILL "$p" || fail "kill -9 col0"
wait "$p" 2>/dev/null
sleep 2		# its last stats are committed
R1=$(stored_total events_received) F1=$(stored_total events_forwarded)
echo "run 1 (kill -9): received $R1, forwarded $F1"
[ "$R1" -gt 0 ] && [ "$F1" -gt 0 ] || fail "run 1 counted nothing"

# Run 2, under the same traffic, then stopped cleanly.
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$EP"
wait_ctl col0
wait_true "run 2 folded run 1 into the base" \
    '[ "$(stored_base events_received)" = "$R1" ]'
check_eq "forwarded: run 1 in the base" "$(stored_base events_forwarded)" \
    "$F1"
wait "$TP" || { cat "$T/testpub.out"; fail "testpub"; }
wait_true "run 2 received settled" "settled events_received $R1"
wait_true "run 2 forwarded settled" "settled events_forwarded $F1"
L2=$(counter col0 events_received) G2=$(counter col0 events_forwarded)
[ "$L2" -gt 0 ] || fail "run 2 received nothing"
R2=$(stored_total events_received) F2=$(stored_total events_forwarded)
echo "run 2 (clean stop): received $L2 -> total $R2, forwarded $G2 -> $F2"
p=$(pid_of col0)
kill -TERM "$p"
wait "$p" 2>/dev/null

# Run 3: more traffic; the totals are the sum over the three runs.
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$EP"
wait_ctl col0
wait_true "run 3 folded runs 1 and 2" \
    '[ "$(stored_base events_received)" = "$R2" ]'
"$BIN/evflow-testpub" -z "$EP" --gen 2000 --rate "$RATE" \
    >"$T/testpub.out" 2>&1 || { cat "$T/testpub.out"; fail "testpub"; }
wait_true "run 3 received settled" "settled events_received $R2"
wait_true "run 3 forwarded settled" "settled events_forwarded $F2"
L3=$(counter col0 events_received) G3=$(counter col0 events_forwarded)
[ "$L3" -gt 0 ] || fail "run 3 received nothing"
check_eq "received = sum over the runs" \
    "$(stored_total events_received)" $((R1 + L2 + L3))
check_eq "forwarded = sum over the runs" \
    "$(stored_total events_forwarded)" $((F1 + G2 + G3))
check_eq "the store saw two restarts" "$(counter store daemon_restarts)" 2
check_eq "gauges are this run's: no base" \
    "$(sql "SELECT count(*) FROM daemon_counters WHERE daemon = 'col0'
      AND key IN ('producers_active', 'run_start_usec') AND base <> 0")" 0
check_eq "no history sample went back" \
    "$(sql "SELECT count(*) FROM (SELECT value, lag(value) OVER
      (ORDER BY ts) AS prev FROM counter_history WHERE daemon = 'col0'
      AND key = 'events_received') WHERE value < prev")" 0

# /metrics: the live collector's counters plus the earlier runs.
start_webd webd -o webd.rate=0
metric() {
	req GET /metrics -H "Authorization: Bearer $W_TOKEN" >/dev/null
	grep "^evflow_$1{" "$T/body" | grep -F 'daemon="col0"' | sed 's/.*} //'
}
wait_true "/metrics: received since the database began" \
    '[ "$(metric events_received)" = $((R1 + L2 + L3)) ]'
check_eq "/metrics: forwarded since the database began" \
    "$(metric events_forwarded)" $((F1 + G2 + G3))
check_eq "/metrics: a gauge is this run's" "$(metric producers_active)" \
    "$(counter col0 producers_active)"
all_alive
pass
