#!/bin/sh
# The test producer itself, against an independent decoder
# (evflow-testsub): every header layout and version, zlib, arrays,
# msg_id order and gaps, source ids, the generator's dialects and
# distinct 5-tuples, and that each hostile kind arrives as sent.
. "$(dirname "$0")/lib.sh"
need_bins evflow-testpub evflow-testsub
lib_init

# header:version:zlib:array -> expected fields of each message line
n=0
for v in 40:0:0:0 24:2:0:0 28:1:0:0 36:4:0:0 40:0:1:0 24:2:1:3 28:1:1:0 \
    36:4:1:5 28:2:0:0 24:1:0:0; do
	IFS=: read -r hdr ver z arr <<EOF
$v
EOF
	per=1; [ "$arr" != 0 ] && per=$arr
	msgs=$(( (12 + per - 1) / per ))
	n=$((n + 1))
	EP="tcp://127.0.0.1:$(free_port)"
	SUBOUT="$T/sub.$n.out"
	"$BIN/evflow-testsub" -b "$EP" -t 3000 -n "$msgs" >"$SUBOUT" 2>&1 &
	sp=$!
	LIB_PIDS="$sp $LIB_PIDS"
	opts="--header $hdr --version $ver --source-id 7 --msgid-start 100"
	[ "$z" = 1 ] && opts="$opts --zlib"
	[ "$arr" != 0 ] && opts="$opts --array $arr"
	# shellcheck disable=SC2086
	publish -z "${EP}c" $opts -f "$SAMPLES" >/dev/null
	wait $sp
	check_eq "$v: totals" "$(grep '^total' "$SUBOUT")" \
	    "total messages=$msgs events=12 bad=0"
	check_eq "$v: every message has header $hdr, version $ver" \
	    "$(grep -c "^frames=2 hdr=$hdr topic=flow version=$ver " "$SUBOUT")" \
	    "$msgs"
	check_eq "$v: zlib flag" "$(grep -c " zlib=$z " "$SUBOUT")" "$msgs"
	if [ "$hdr" != 40 ]; then
		# msg_id 100, 101, ... in order (host order for version 1).
		ids=$(sed -n 's/.* msg_id=\([0-9]*\) .*/\1/p' "$SUBOUT" |
		    tr '\n' ' ')
		want=$(seq 100 $((99 + msgs)) | tr '\n' ' ')
		check_eq "$v: msg_ids" "$ids" "$want"
	fi
	if [ "$hdr" = 28 ] || [ "$hdr" = 36 ] || [ "$hdr" = 24 ]; then
		check_eq "$v: source_id" \
		    "$(grep -c ' source_id=7 ' "$SUBOUT")" "$msgs"
	fi
done

# A gap of 5 msg_ids after the second message, then a restart.
EP="tcp://127.0.0.1:$(free_port)"
"$BIN/evflow-testsub" -b "$EP" -t 3000 -n 12 >"$T/gap.out" 2>&1 &
sp=$!
LIB_PIDS="$sp $LIB_PIDS"
publish -z "$EP" --skip-msgid 5 --skip-at 2 --restart-at 8 -f "$SAMPLES" \
    >/dev/null
wait $sp
ids=$(sed -n 's/.* msg_id=\([0-9]*\) .*/\1/p' "$T/gap.out" | tr '\n' ' ')
check_eq "gap after 2 messages, restart after 8" "$ids" \
    "1 2 8 9 10 11 12 13 1 2 3 4 "

# Generator: N distinct 5-tuples per dialect, each a valid object.
for d in ebpf nprobe netstat netflow; do
	EP="tcp://127.0.0.1:$(free_port)"
	"$BIN/evflow-testsub" -b "$EP" -t 3000 -n 100 -q >"$T/gen.$d.out" 2>&1 &
	sp=$!
	LIB_PIDS="$sp $LIB_PIDS"
	publish -z "$EP" --gen 1000 --first 49990 --array 10 --dialect "$d" \
	    >/dev/null
	wait $sp
	check_eq "gen $d: totals" "$(grep '^total' "$T/gen.$d.out")" \
	    "total messages=100 events=1000 bad=0"
done
# Distinct 5-tuples: 120000 generated events (across the 50000-port
# wrap), decoded from what went on the wire.
EP="tcp://127.0.0.1:$(free_port)"
"$BIN/evflow-testsub" -b "$EP" -t 3000 -n 1200 -q -p >"$T/tuples.out" 2>&1 &
sp=$!
LIB_PIDS="$sp $LIB_PIDS"
publish -z "$EP" --gen 120000 --array 100 --zlib >/dev/null
wait $sp
got=$(grep '^\[' "$T/tuples.out" | python3 -c 'import json, sys
t = set(); n = 0
for line in sys.stdin:
    for e in json.loads(line):
        n += 1
        t.add((e["IPV4_SRC_ADDR"], e["L4_SRC_PORT"], e["IPV4_DST_ADDR"],
               e["L4_DST_PORT"], e["PROTOCOL"]))
print(n, len(t))')
check_eq "generator: distinct 5-tuples" "$got" "120000 120000"

# Hostile kinds: each arrives as built (frames, header length).
EP="tcp://127.0.0.1:$(free_port)"
"$BIN/evflow-testsub" -b "$EP" -t 3000 >"$T/bad.out" 2>&1 &
sp=$!
LIB_PIDS="$sp $LIB_PIDS"
publish -z "$EP" --malformed all >/dev/null
wait $sp
check_eq "hostile: messages" "$(grep -c '^frames=' "$T/bad.out")" 22
check_eq "hostile: 12-byte header" "$(grep -c '^frames=2 hdr=12 ' "$T/bad.out")" 1
check_eq "hostile: 48-byte header" "$(grep -c '^frames=2 hdr=48 ' "$T/bad.out")" 1
check_eq "hostile: one frame" "$(grep -c '^frames=1 ' "$T/bad.out")" 1
check_eq "hostile: three frames" "$(grep -c '^frames=3 ' "$T/bad.out")" 1
check_eq "hostile: ebpf topic" "$(grep -c 'hdr=40 topic=ebpf ' "$T/bad.out")" 1
check_eq "hostile: version 9" "$(grep -c ' version=9 ' "$T/bad.out")" 1
check_eq "hostile: huge" "$(grep -c ' payload=33554432 ' "$T/bad.out")" 1
check_eq "hostile: payloads that are valid JSON" \
    "$(grep -c 'events=[1-9]' "$T/bad.out")" 8
# Messages with a usable header take msg_ids 1..17 in order, the others
# (bad length, version 9, lone header frame, ebpf v0) none.
ids=$(grep -v -e 'version=9' -e '^frames=1 ' -e 'hdr=12 ' -e 'hdr=48 ' \
    -e 'topic=ebpf' "$T/bad.out" | sed -n 's/.* msg_id=\([0-9]*\) .*/\1/p' |
    tr '\n' ' ')
check_eq "hostile: msg_ids" "$ids" "$(seq 1 17 | tr '\n' ' ')"
pass
