#!/bin/sh
# Runs every unit test binary and every integration test script, and
# prints one closing line "N passed, N failed".  Usage: tests/run.sh BUILD
# TESTS="name ..." limits the run to those tests (file names).
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export EVFLOW_BUILD="$top/$BUILD"
[ -d "$BUILD" ] && EVFLOW_BUILD=$(cd "$BUILD" && pwd)
pass=0 fail=0 skip=0 failed=""
logdir="$EVFLOW_BUILD/test-logs"
mkdir -p "$logdir"

want() {
	[ -z "$TESTS" ] && return 0
	for t in $TESTS; do [ "$t" = "$1" ] && return 0; done
	return 1
}

run_one() {
	name=$1; shift
	want "$name" || return 0
	start=$(date +%s)
	rm -f "$logdir/$name.log"
	"$@" >"$logdir/$name.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $name (${secs}s)"
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$logdir/$name.log")"
	else
		fail=$((fail + 1)); failed="$failed $name"
		echo "FAIL $name (${secs}s), last lines of $logdir/$name.log:"
		tail -n 25 "$logdir/$name.log" | sed 's/^/    /'
	fi
}

for t in "$EVFLOW_BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
for t in "$top"/tests/integration/*.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t" .sh)" sh "$t"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
