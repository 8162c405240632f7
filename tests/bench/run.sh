#!/bin/sh
# make bench: runs every benchmark program ($BUILD/bench/bench_*) and
# every benchmark script (tests/bench/*.sh, given BUILD), in that order.
# Each prints its own numbers (medians of several runs, ratios taken in
# the same run).  A failing benchmark fails `make bench`.
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
export EVFLOW_BUILD
EVFLOW_BUILD=$(cd "$BUILD" && pwd)
rc=0
for b in "$EVFLOW_BUILD"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" || rc=1
done
for s in "$top"/tests/bench/*.sh; do
	[ "$(basename "$s")" = run.sh ] && continue
	[ -f "$s" ] || continue
	echo "== $(basename "$s" .sh)"
	sh "$s" "$EVFLOW_BUILD" || rc=1
done
exit $rc
