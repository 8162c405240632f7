#!/bin/sh
# Hostile input into a running pipeline: each kind of malformed message
# (evflow-testpub --malformed KIND), each followed by good events.  For
# every kind: every daemon is still up, the rejection is counted by its
# reason in the collector's stats (exact deltas), and the good events
# sent after it are all stored.  Two ZMQ interfaces: 24-byte headers
# (zlib with the 0x00 prefix) and 36-byte v4 headers (zlib flag).  Each
# testpub run continues the previous run's msg_id, so the producers
# table must show no loss and no restart: rejected messages are bad,
# not lost.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

P0=$(free_port)
P1=$(free_port)
start_pipeline -- "tcp://127.0.0.1:${P0}c" "tcp://127.0.0.1:${P1}c"

# Collector counters as one JSON object, into file $2.
snap() {
	"$BIN/evflow-ctlq" -t 2000 -g counters "ipc://$D/$1.ctl" stats >"$2" ||
	    fail "$1: stats"
}

# Compares counter deltas between two snapshots with a spec
# "key=N key=N ..." (keys not listed must not have moved if they are
# drop_* counters).  Prints the differences; status 1 if any.
deltas() {
	python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
want = dict(kv.split("=") for kv in sys.argv[3].split())
bad = []
# drop_ev_sum: the sum of every drop_ev_* delta (the reasons of the
# wrong-typed objects may be split between wrong_type and missing_field;
# those keys are marked "*": any delta).
if "drop_ev_sum" in want:
    d = sum(b.get(k, 0) - a.get(k, 0) for k in b if k.startswith("drop_ev_"))
    w = want.pop("drop_ev_sum")
    if d != int(w):
        bad.append("drop_ev_* moved by %d in all, want %s" % (d, w))
for k in sorted(set(a) | set(b) | set(want)):
    d = b.get(k, 0) - a.get(k, 0)
    if want.get(k) == "*":
        continue
    if k in want:
        if d != int(want[k]):
            bad.append("%s moved by %d, want %s" % (k, d, want[k]))
    elif k.startswith("drop_") and d != 0:
        bad.append("%s moved by %d, want 0" % (k, d))
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
EOF
}

rows=0	# good flows stored so far per interface
round=0
mid0=1 mid1=1	# next msg_id per interface

# kind | expected collector counter deltas for the hostile messages
while IFS='|' read -r kind spec; do
	[ -z "$kind" ] && continue
	k=0
	for ep in "tcp://127.0.0.1:$P0" "tcp://127.0.0.1:$P1"; do
		if [ $k = 0 ]; then
			hdr="--header 24" mid=$mid0
		else
			hdr="--header 36" mid=$mid1
		fi
		snap "col$k" "$T/before"
		# shellcheck disable=SC2086
		publish -z "$ep" $hdr --msgid-start "$mid" \
		    --malformed "$kind" >/dev/null
		mid=$(( $(last_msg_id) + 1 ))
		sent=$(sed -n 's/.*messages=\([0-9]*\).*/\1/p' "$T/testpub.out")
		m0=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["msgs_received"])' "$T/before")
		wait_counter "$kind: the collector received all $sent message(s)" \
		    "col$k" msgs_received $((m0 + sent))
		# Good events after it, distinct flows each round; zlib too.
		# shellcheck disable=SC2086
		publish -z "$ep" $hdr --msgid-start "$mid" --zlib --array 7 \
		    --gen 50 --first $((round * 1000)) --ifname '' >/dev/null
		mid=$(( $(last_msg_id) + 1 ))
		if [ $k = 0 ]; then mid0=$mid; else mid1=$mid; fi
		want=50
		[ "$kind" = utf8 ] && want=51
		wait_sql "$kind: good events after it stored (col$k)" \
		    "SELECT count(*) FROM flows_v WHERE iface = '$ep' || 'c'" \
		    $((rows + want))
		all_alive
		snap "col$k" "$T/after"
		d=$(deltas "$T/before" "$T/after" \
		    "${spec% fwd=*} events_forwarded=$(( ${spec##*fwd=} + 50 ))") ||
		    fail "$kind (col$k): $d"
		checks=$((checks + 1))
		k=$((k + 1))
	done
	rows=$((rows + 50))
	[ "$kind" = utf8 ] && rows=$((rows + 1))
	round=$((round + 1))
done <<'EOF'
hdr-short|drop_msg_bad_header=1 fwd=0
hdr-long|drop_msg_bad_header=1 fwd=0
hdr-version|drop_msg_unsupported_version=1 fwd=0
one-frame|drop_msg_one_frame=1 fwd=0
three-frames|drop_msg_too_many_frames=1 fwd=0
zlib-truncated|drop_msg_bad_zlib=1 fwd=0
zlib-garbage|drop_msg_bad_zlib=1 fwd=0
zlib-oversized|drop_msg_too_large=1 fwd=0
zlib-bomb|drop_msg_too_large=1 fwd=0
utf8|drop_msg_bad_json=1 strings_bad_utf8=2 fwd=1
nested|drop_msg_too_large=2 msgs_over_json_depth=2 fwd=0
types|drop_ev_not_object=5 drop_ev_bad_address=* drop_ev_wrong_type=* drop_ev_missing_field=* drop_ev_sum=9 events_received=59 fwd=0
huge|drop_msg_too_large=1 fwd=0
ebpf|drop_msg_ebpf_topic=1 fwd=0
garbage|drop_msg_bad_json=3 fwd=0
tlv|drop_msg_bad_tlv=1 fwd=0
EOF

# The utf8 event was kept, its bad bytes replaced.
wait_sql "utf8: the event is stored with its strings made valid" \
    "SELECT count(*) FROM flows WHERE cli_port = 50002 AND
      cli_process LIKE '/bin/%' AND cli_process NOT GLOB '*[^ -~]*'" 2 5 \
    "SELECT cli_process, hex(cli_process), cli_cmdline FROM flows
      WHERE cli_port = 50002"

# Rejected messages are bad, not lost: no gaps, no restarts.
for k in 0 1; do
	check_eq "col$k: lost_msgs" "$(counter "col$k" lost_msgs)" 0
	check_eq "col$k: restarts" "$(counter "col$k" producer_restarts)" 0
	check_eq "col$k: duplicates" "$(counter "col$k" duplicate_msgs)" 0
done
wait_sql "producers: bad messages counted, none lost" \
    "SELECT sum(lost_msgs) || ' ' || sum(restarts) || ' ' ||
      (sum(bad_msgs) > 0) FROM producers" "0 0 1"

# Every message is accounted for once.
for k in 0 1; do
	got=$(sum_matching "col$k" 'msgs_decoded|msgs_ignored|drop_msg_.*')
	check_eq "col$k: msgs_received = decoded + ignored + drops" \
	    "$(counter "col$k" msgs_received)" "$got"
	got=$(sum_matching "col$k" 'events_forwarded|drop_ev_.*')
	check_eq "col$k: events_received = forwarded + drops" \
	    "$(counter "col$k" events_received)" "$got"
done
all_alive
pass
