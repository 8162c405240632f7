#!/bin/sh
# The store refuses a database it cannot or must not write, with a clear
# message and exit status 1, before it says it is ready: a read-only
# file, a read-only directory (each a read-only bind mount: root passes
# permission bits), another application's SQLite file (its
# application_id, or tables without ours), a newer schema.  A good
# database next to them is still taken.  And `evflowctl start` on such a
# database exits 1, says why, and leaves nothing running.
. "$(dirname "$0")/ctl_lib/common.sh"
need evflowctl evflow-store evflow-router evflow-collector
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (read-only bind mounts)"; exit 77; }
ctl_init
MOUNTS=""
cleanup_mounts() {
	rc=$?
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null
	done
	set_rc() { return "$1"; }
	set_rc $rc
	ctl_cleanup
}
trap cleanup_mounts EXIT

# ro_mount PATH: PATH (a file or directory) read-only from now on.
ro_mount() {
	mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" ||
		fail "read-only bind mount of $1"
	MOUNTS="$1 $MOUNTS"
}

# refused DIR WHAT PATTERN: evflow-store on DIR exits 1 within 10 s and
# says PATTERN; its database is left as it was.
refused() {
	dir=$1 what=$2 pat=$3
	before=$(sqlite3 "$dir/evflow.db" 'SELECT count(*) FROM sqlite_master' 2>/dev/null)
	timeout 10 "$BIN/evflow-store" -d "$dir" >"$T/store.out" 2>&1
	rc=$?
	cat "$T/store.out"
	check "$what: the store exits 1 (got $rc)" test "$rc" -eq 1
	check "$what: the message says why" grep -q "$pat" "$T/store.out"
	check "$what: it never says ready" sh -c "! grep -qi 'ready\\|input ipc' '$T/store.out'"
	after=$(sqlite3 "$dir/evflow.db" 'SELECT count(*) FROM sqlite_master' 2>/dev/null)
	check "$what: the database is untouched ($before -> $after objects)" \
	    test "$before" = "$after"
}

# A good database made by the store, to copy into the cases.
G="$T/good"
mkdir -p "$G"
timeout 10 "$BIN/evflow-store" -d "$G" -o store.flush_interval=1s >"$T/good.out" 2>&1 &
gp=$!
wait_until "the store makes its database" 10 test -s "$G/evflow.db"
sleep 0.5
kill -TERM $gp; wait $gp
check "the store made a database with our application_id" \
    test "$(sqlite3 "$G/evflow.db" 'PRAGMA application_id')" -eq 1165379191

# Another application's file (its application_id).
F="$T/foreign"; mkdir -p "$F"
sqlite3 "$F/evflow.db" 'PRAGMA application_id = 1234; CREATE TABLE t (a); INSERT INTO t VALUES (1)'
refused "$F" "another application's database" "belongs to another application"

# Someone's SQLite file without an application_id.
F2="$T/foreign2"; mkdir -p "$F2"
sqlite3 "$F2/evflow.db" 'CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)'
refused "$F2" "a file with another schema" "not an evflow database"

# A newer schema.
N="$T/newer"; mkdir -p "$N"
cp "$G/evflow.db" "$N/evflow.db"
sqlite3 "$N/evflow.db" 'UPDATE schema_version SET version = 99'
refused "$N" "a newer schema" "newer than this evflow-store supports"

# A read-only database file (the directory is writable).
R="$T/rofile"; mkdir -p "$R"
cp "$G/evflow.db" "$R/evflow.db"
ro_mount "$R/evflow.db"
refused "$R" "a read-only file" "read-only file system"

# A read-only directory.
RD="$T/rodir"; mkdir -p "$RD"
cp "$G/evflow.db" "$RD/evflow.db"
ro_mount "$RD"
refused "$RD" "a read-only directory" "read-only file system"

# The good one is still taken (and keeps its rows).
timeout 10 "$BIN/evflow-store" -d "$G" >"$T/good2.out" 2>&1 &
gp=$!
wait_until "the store takes a good database" 10 grep -q "input ipc" "$T/good2.out"
kill -TERM $gp
wait $gp
check "the store on a good database exits 0 on SIGTERM" test $? -eq 0

# evflowctl start on a refused database: exits 1 with the store's
# reason, and nothing of the instance is left running.
for case in "$F" "$R" "$N"; do
	P=$(free_port)
	INSTANCES="$INSTANCES $case"
	timeout 60 "$CTL" start -d "$case" -p 0 -i "tcp://127.0.0.1:${P}c" \
	    >"$T/start.out" 2>&1
	rc=$?
	cat "$T/start.out"
	check "evflowctl start on $case exits 1 (got $rc)" test "$rc" -eq 1
	check "evflowctl start on $case says the store's reason" \
	    grep -q -e "another application" -e "read-only" -e "newer" "$T/start.out"
	wait_until "nothing of $case left running" 10 sh -c \
	    "! ps -eo args= | grep -F '$case' | grep -v grep | grep -q evflow"
done

echo "store_refuse: $checks checks passed"
