#!/bin/sh
# Disk full under load: the store's database on a small tmpfs that a
# filler file fills while distinct flows stream in.  Commits fail; the
# store shows the error state (write_error_state, write_state "failing"
# in its stats frame, evflowctl status and /metrics read the same
# counters) and keeps the rows (its own samples and producer rows too);
# when the filler goes, they are written: the rows in the database
# equal the flows sent, nothing dropped.  Then,
# with store.write_retry_max at its minimum and flows leaving their
# tables while the disk is full, what passes the bound is dropped and
# counted in rows: rows written + write_rows_dropped = flows sent.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub evflow-ctlq
command -v sqlite3 >/dev/null || skip "no sqlite3"
[ "$(id -u)" -eq 0 ] || skip "needs root (mount -t tmpfs)"
lib_init
M="$T/disk"
mkdir -p "$M"
mount -t tmpfs -o size=16m evflow-test "$M" || skip "cannot mount a tmpfs"
umount_disk() {
	rc=$?
	set_rc() { return "$1"; }
	# Lazily: the daemons lib_cleanup stops still hold files there.
	umount -l "$M" 2>/dev/null
	set_rc $rc
	lib_cleanup
}
trap umount_disk EXIT
DB="$M/evflow.db"
N=6000		# flows in the first phase
N2=3000		# in the second

# start_store LOGNAME ARGS...: the store (control socket "store") on
# $DB, waited for.
start_store() {
	n=$1; shift
	start_daemon "$n" "$BIN/evflow-store" -d "$D" -N store \
	    -o "database=$DB" "$@"
	wait_true "$n answers" "daemon_alive $n &&
	    [ \"\$(ctl store ping)\" = pong ]"
}

# fill_disk: the tmpfs full (a filler file takes every free block).
fill_disk() {
	dd if=/dev/zero of="$M/filler" bs=4k >/dev/null 2>&1
	check_eq "the tmpfs is full" "$(df --output=avail "$M" | tail -n 1 | tr -d ' ')" 0
}

c() {
	counter store "$1"
}

# A counter of this run of the store alone.
since_start() {
	"$BIN/evflow-ctlq" -t 2000 -g "counters_since_start.$1" \
	    "ipc://$D/store.ctl" stats
}

start_store store
P=$(free_port)
IF="tcp://127.0.0.1:${P}c"
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$IF"
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$IF"
wait_ctl col0
wait_true "the database exists" "test -s '$DB-wal' || test -s '$DB'"

# Phase 1: the disk fills under load, then room comes back.
fill_disk
publish -z "$IF" --gen "$N" --rate 4000
wait_counter "commits fail on the full disk" store write_error_state 1
check_eq "the stats frame says writes fail" \
    "$("$BIN/evflow-ctlq" -t 2000 -g write_state "ipc://$D/store.ctl" stats)" failing
"$BIN/evflowctl" status -d "$D" >"$T/status.out" 2>&1
grep "WRITES FAILING" "$T/status.out" ||
    fail "evflowctl status does not show the failing writes: $(cat "$T/status.out")"
checks=$((checks + 1))
wait_true "the store received every flow" "[ \$(since_start recv_flow) -ge $N ]" 30
daemon_alive store || fail "the store died on a full disk"
rows_full=$(sql 'SELECT count(*) FROM flow_rows')
echo "rows committed while full: $rows_full of $N; retry rows $(c write_retry_rows), commit failures $(c commit_failures)"
[ "$rows_full" -lt "$N" ] || fail "every row was committed: the disk was not full"
rm -f "$M/filler"
wait_counter "commits work again" store write_error_state 0 30
ctl store flush >/dev/null
wait_sql "every flow sent is a row once the disk has room" \
    'SELECT count(*) FROM flow_rows' "$N" 30
check_eq "nothing dropped" "$(c write_rows_dropped)" 0
check_eq "none of the loop's rows (samples, producers) dropped either" \
    "$(c write_other_rows_dropped)" 0
[ "$(c write_retries)" -ge 1 ] || fail "no retry counted"
[ "$(c commit_failures)" -ge 1 ] || fail "no failed commit counted"
check_eq "no duplicate rows" "$(sql 'SELECT count(*) FROM (SELECT DISTINCT cli_addr, cli_port, srv_addr, srv_port FROM flow_rows)')" "$N"

# Phase 2: the bound.  A store with room for ~126 rows while commits
# fail, and flows that leave their tables after 1 s: most are dropped.
kill -TERM "$(pid_of store)"
wait_true "the store stops" "! kill -0 $(pid_of store) 2>/dev/null"
start_store store2 -o store.write_retry_max=64K -o store.flow_idle=1s
fill_disk
publish -z "$IF" --gen "$N2" --first "$N" --rate 4000
wait_counter "commits fail again" store write_error_state 1
wait_true "the store received every flow" "[ \$(since_start recv_flow) -ge $N2 ]" 30
wait_counter "every flow left its table" store live_flows 0 30
dropped=$(c write_rows_dropped)
echo "held $(c write_retry_rows) rows, dropped $dropped"
[ "$dropped" -gt 0 ] || fail "nothing dropped past store.write_retry_max=64K"
rm -f "$M/filler"
wait_counter "commits work again" store write_error_state 0 30
ctl store flush >/dev/null
rows=$(sql 'SELECT count(*) FROM flow_rows')
dropped=$(c write_rows_dropped)
echo "phase 2: $((rows - N)) rows written, $dropped dropped, of $N2 sent"
check_eq "rows written + rows dropped = flows sent" $((rows - N + dropped)) "$N2"
check_eq "integrity" "$(sql 'PRAGMA integrity_check')" ok
echo "store_disk_full: $checks checks passed"
