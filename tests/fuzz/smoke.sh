#!/bin/sh
# Runs every built libFuzzer target for a few seconds from its seed corpus.
# Usage: tests/fuzz/smoke.sh BUILD SECONDS.  Fails if any target crashes.
BUILD=${1:-build-fuzz}
SECS=${2:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0 n=0
for t in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	work=$(mktemp -d)
	seeds="$top/tests/fuzz/corpus/$name"
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
	if "$t" -max_total_time="$SECS" -max_len=65536 -rss_limit_mb=2048 \
	    -artifact_prefix="$BUILD/fuzz/$name-" \
	    -print_final_stats=0 "$work" >"$work.log" 2>&1; then
		echo "fuzz $name: ok ($SECS s, $(ls "$work" | wc -l) corpus entries)"
	else
		echo "fuzz $name: FAILED"; tail -n 40 "$work.log"; rc=1
	fi
	n=$((n + 1))
	rm -rf "$work" "$work.log"
done
[ $n -gt 0 ] || { echo "no fuzz targets in $BUILD/fuzz"; exit 1; }
exit $rc
