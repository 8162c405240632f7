#!/bin/sh
# Scale-out benchmark (issue 16): the central store's rate with three
# edges sending at once, as a ratio to the single-instance end-to-end
# rate measured in the same run.
#
#   single   evflow-testpub -> collector -> router -> store (as e2e.sh)
#   edges    three edges (collector + evflow-relay -m edge, each its own
#            data directory and ZMQ port), each fed by its own
#            evflow-testpub at once, over ZMQ with CURVE to evflow-relay
#            -m central -> router (interfaces host1:..host3:) -> store
#
# Both publish EDGES_EVENTS distinct flows in all (10 per message, as
# fast as the pipeline takes them); the clock runs from the first
# publish until the store has committed the last row.  The runs
# alternate (single, edges, single, ...) so that both see the same
# machine; medians of EDGES_RUNS runs each, then the ratio.  Everything
# runs on this machine's loopback (the edges' hop is real TCP with
# CURVE; the "hosts" share the 2 cores with the central).
#
#   tests/bench/edges.sh BUILD    (make bench)
#   EDGES_EVENTS=N  EDGES_RUNS=R
#   EDGES_ROUTER_OPTS="-o key=value ..."   given to the router in both
#                                 configurations (e.g. its link_queue)
#
# Fails (exit 1) if a run loses an event without counting it (a loaded
# machine makes the store slow and the router drop, counted: that is
# reported with the rate).  Each run also says how often and how long
# the router held its input while its link to the store was full
# (router counters holds, hold_ms; "-" for a router without them).
BUILD=${1:-build}
EVFLOW_BUILD=$(cd "$BUILD" && pwd)
BIN="$EVFLOW_BUILD/bin"
N=${EDGES_EVENTS:-600000}
RUNS=${EDGES_RUNS:-3}
PER=$((N / 3))
N=$((PER * 3))

for b in evflow-store evflow-router evflow-collector evflow-relay \
    evflow-testpub evflow-ctlq; do
	[ -x "$BIN/$b" ] || { echo "edges: $BIN/$b not built, skipped"; exit 0; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/evflow-edges.XXXXXX") || exit 1
PIDS=""
stop_all() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		n=0
		while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do
			sleep 0.1; n=$((n + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	PIDS=""
}
trap 'stop_all; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

now() { date +%s.%N; }
port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ctr() {
	"$BIN/evflow-ctlq" -t 5000 -g "counters.$3" "ipc://$1/$2.ctl" stats
}
# Sum of the counters of daemon $2 in $1 whose names match the regex $3.
ctr_sum() {
	"$BIN/evflow-ctlq" -t 5000 -g counters "ipc://$1/$2.ctl" stats |
	    python3 -c 'import json, re, sys
c = json.load(sys.stdin); r = re.compile(sys.argv[1])
print(sum(v for k, v in c.items() if r.fullmatch(k) and isinstance(v, int)))' "$3"
}
# Records dropped and counted on the way, in the daemons of dir $1
# named $2...: every drop counter of a collector, relay, router, store
# (records of any type: a dropped stats record counts too, so rows +
# drops may pass the events sent; less would be a loss without count).
# Each counter that is not 0 goes to $R/drops as "dir/name.counter=N".
# Since acknowledgements cross the hop (and on one host before), a
# record dropped on a link is resent by its collector (see resent).
DROP_KEYS='records_send_dropped|send_dropped|dropped_.*|drop_ev_.*|unknown_iface|bad_records|no_iface|no_memory|write_drops|names_too_long|no_host'
drops() {
	d=$1; shift
	t=0
	for n in "$@"; do
		v=$(ctr_sum "$d" "$n" "$DROP_KEYS")
		t=$((t + v))
		"$BIN/evflow-ctlq" -t 5000 -g counters "ipc://$d/$n.ctl" stats |
		    python3 -c 'import json, re, sys
c = json.load(sys.stdin); r = re.compile(sys.argv[1])
for k, v in sorted(c.items()):
    if r.fullmatch(k) and isinstance(v, int) and v:
        print("%s.%s=%d" % (sys.argv[2], k, v))' "$DROP_KEYS" \
		    "${d#"$R"/}/$n" >>"$R/drops"
	done
	echo "$t"
}
# Records the collectors in dirs $@ sent again (replayed: after a gap
# the store found, or an ack timeout), and the stores' refusals past a
# gap (delivery_refused) in $R/resent.
resent() {
	t=0
	for d in "$@"; do
		t=$((t + $(ctr_sum "$d" col0 'replayed')))
	done
	echo "$t"
}
wait_ping() {
	i=0
	until [ "$("$BIN/evflow-ctlq" -t 500 "ipc://$1/$2.ctl" ping \
	    2>/dev/null)" = pong ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && { echo "edges: $2 did not start"; \
		    cat "$1/$2.log"; exit 1; }
		sleep 0.05
	done
}
# start DIR NAME CMD...: a daemon, its log in DIR/NAME.log.
start() {
	d=$1 n=$2; shift 2
	"$@" >"$d/$n.log" 2>&1 &
	PIDS="$! $PIDS"
	case $d in
	*/h[0-9]*) echo "$! edge_$n" ;;
	*) echo "$! $n" ;;
	esac >>"$T/daemons"
	wait_ping "$d" "$n"
}

# The CPU seconds (user + system) of the daemons started since the last
# call, summed per name (store, router, relay, col0; edge_relay and
# edge_col0 for the three edges' together), as "name s, ...".
cpu_of() {
	while read -r p n; do
		echo "$n $(cut -d')' -f2 "/proc/$p/stat" 2>/dev/null |
		    awk '{ print $12 + $13 }')"
	done <"$T/daemons" | awk -v hz="$(getconf CLK_TCK)" '
	    $2 != "" { c[$1] += $2 } END {
	    for (n in c) { printf "%s%s %.1f", sep, n, c[n] / hz; sep = ", " }
	    }'
	: >"$T/daemons"
}

# The router in $1 held its input: "N times, S s" (docs/design.md).
held() {
	if ! h=$(ctr "$1" router holds 2>/dev/null) ||
	    ! ms=$(ctr "$1" router hold_ms 2>/dev/null) ||
	    [ -z "$h" ] || [ -z "$ms" ]; then
		echo "-"
		return
	fi
	awk -v h="$h" -v ms="$ms" 'BEGIN { printf "%d times, %.1f s", h, ms / 1000 }'
}

# Waits until the store in $1 committed $2 rows; prints the end time:
# then, or when the last row came if rows stopped short (records were
# dropped on the way: counted, see drops).
wait_rows() {
	deadline=$(( $(date +%s) + $2 / 5000 + 120 )) last=-1 still=0
	tl=$(now)
	while :; do
		rows=$(ctr "$1" store rows_inserted 2>/dev/null || echo 0)
		[ "${rows:-0}" -ge "$2" ] && break
		if [ "$rows" != "$last" ]; then
			last=$rows still=0 tl=$(now)
		else
			still=$((still + 1))
			[ $still -ge 100 ] && { echo "$tl"; return; }
		fi
		[ "$(date +%s)" -gt "$deadline" ] && { echo "$tl"; return; }
		sleep 0.05
	done
	until [ "$(sqlite3 -readonly -cmd '.timeout 5000' "$1/evflow.db" \
	    'SELECT count(*) FROM flows')" -ge "$rows" ]; do
		sleep 0.02
	done
	now
}

rate_of() {
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%d", n / (b - a) }'
}

single() {
	R="$T/single.$1"
	mkdir -p "$R"
	ep="tcp://127.0.0.1:$(port)c"
	start "$R" store "$BIN/evflow-store" -d "$R" -N store \
	    -o store.max_flows=4000000
	# shellcheck disable=SC2086
	start "$R" router "$BIN/evflow-router" -d "$R" -N router -i "$ep" \
	    $EDGES_ROUTER_OPTS
	start "$R" col0 "$BIN/evflow-collector" -d "$R" -N col0 -i "$ep"
	t0=$(now)
	"$BIN/evflow-testpub" -z "${ep%c}" --gen "$N" --array 10 --hwm 100000 \
	    >"$R/testpub.out" 2>&1
	t1=$(wait_rows "$R" "$N")
	rows=$(sqlite3 -readonly "$R/evflow.db" 'SELECT count(*) FROM flows')
	sleep 1.5	# the last stats
	: >"$R/drops"
	dr=$(drops "$R" col0 router store)
	rs=$(resent "$R")
	ref=$(ctr_sum "$R" store 'delivery_refused')
	hd=$(held "$R")
	cpu=$(cpu_of)
	stop_all
	rate=$(rate_of "$rows" "$t0" "$t1")
	echo "$rate" >>"$T/rates.single"
	printf "  single run %d: %7d events/s, %d of %d rows, %d dropped and counted, %d resent (store refused %d past gaps)%s\n" \
	    "$1" "$rate" "$rows" "$N" "$dr" "$rs" "$ref" \
	    "$(tr '\n' ' ' <"$R/drops" | sed 's/^\(..*\) $/: \1/')"
	echo "    CPU s: $cpu; router held its input: $hd"
	[ $((rows + dr)) -ge "$N" ] || { FAILED=1; keep "$R"; }
	rm -rf "$R"
}

edges() {
	R="$T/edges.$1"
	C="$R/c"
	mkdir -p "$C"
	rp=$(port)
	ck=$("$BIN/evflow-relay" -d "$C" -N relay -k)
	: >"$C/relay.conf"
	echo "relay.listen = tcp://127.0.0.1:$rp" >>"$C/relay.conf"
	ifs=""
	for k in 1 2 3; do
		mkdir -p "$R/h$k"
		eval "zp$k=\$(port)"
		eval "z=\$zp$k"
		ifs="$ifs -i host$k:tcp://127.0.0.1:${z}c"
		echo "relay.client = host$k $("$BIN/evflow-relay" -d "$R/h$k" \
		    -N relay -k)" >>"$C/relay.conf"
		printf 'relay.upstream = tcp://127.0.0.1:%s\nrelay.server_key = %s\n' \
		    "$rp" "$ck" >"$R/h$k/relay.conf"
	done
	start "$C" store "$BIN/evflow-store" -d "$C" -N store \
	    -o store.max_flows=4000000
	# shellcheck disable=SC2086
	start "$C" router "$BIN/evflow-router" -d "$C" -N router $ifs \
	    $EDGES_ROUTER_OPTS
	start "$C" relay "$BIN/evflow-relay" -m central -d "$C" -N relay \
	    -f "$C/relay.conf"
	for k in 1 2 3; do
		eval "z=\$zp$k"
		start "$R/h$k" relay "$BIN/evflow-relay" -m edge -d "$R/h$k" \
		    -N relay -f "$R/h$k/relay.conf"
		start "$R/h$k" col0 "$BIN/evflow-collector" -d "$R/h$k" \
		    -N col0 -i "tcp://127.0.0.1:${z}c"
	done
	t0=$(now)
	pubs=""
	for k in 1 2 3; do
		eval "z=\$zp$k"
		"$BIN/evflow-testpub" -z "tcp://127.0.0.1:$z" --gen "$PER" \
		    --array 10 --hwm 100000 >"$R/testpub$k.out" 2>&1 &
		pubs="$pubs $!"
	done
	for p in $pubs; do wait "$p"; done
	t1=$(wait_rows "$C" "$N")
	rows=$(sqlite3 -readonly "$C/evflow.db" 'SELECT count(*) FROM flows')
	per_host=$(sqlite3 -readonly "$C/evflow.db" "SELECT group_concat(n, ' ')
	    FROM (SELECT count(*) AS n FROM flows_v GROUP BY iface
	    ORDER BY iface)")
	hs=$(ctr "$C" relay handshakes) uk=$(ctr "$C" relay unknown_keys)
	sleep 1.5	# the last stats
	: >"$R/drops"
	dr=$(drops "$C" relay router store)
	for k in 1 2 3; do
		dr=$((dr + $(drops "$R/h$k" col0 relay)))
	done
	rs=$(resent "$R/h1" "$R/h2" "$R/h3")
	ref=$(ctr_sum "$C" store 'delivery_refused')
	hd=$(held "$C")
	cpu=$(cpu_of)
	stop_all
	rate=$(rate_of "$rows" "$t0" "$t1")
	echo "$rate" >>"$T/rates.edges"
	printf "  edges  run %d: %7d events/s, %d of %d rows, %d dropped and counted, %d resent (store refused %d past gaps)%s (per host %s;" \
	    "$1" "$rate" "$rows" "$N" "$dr" "$rs" "$ref" \
	    "$(tr '\n' ' ' <"$R/drops" | sed 's/^\(..*\) $/: \1/')" "$per_host"
	printf " CURVE handshakes %s, refused %s)\n" "$hs" "$uk"
	echo "    CPU s: $cpu; router held its input: $hd"
	[ $((rows + dr)) -ge "$N" ] || { FAILED=1; keep "$R"; }
	rm -rf "$R"
}

# A failed run's logs and counters, kept for a look.
keep() {
	k=$(mktemp -d "${TMPDIR:-/tmp}/evflow-edges-failed.XXXXXX")
	find "$1" -name '*.log' -o -name '*.out' | while read -r f; do
		cp "$f" "$k/$(echo "${f#"$1"/}" | tr / _)"
	done
	echo "  (logs kept in $k)"
}

median() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

FAILED=0
echo "edges: $N distinct flows per run ($PER per edge), $RUNS runs each;" \
    "load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc)" \
    "cores${EDGES_ROUTER_OPTS:+; router $EDGES_ROUTER_OPTS}"
: >"$T/rates.single"
: >"$T/rates.edges"
: >"$T/daemons"
r=1
while [ $r -le "$RUNS" ]; do
	single $r
	edges $r
	r=$((r + 1))
done
ms=$(median "$T/rates.single")
me=$(median "$T/rates.edges")
echo "edges: single instance median $ms events/s; three edges at once" \
    "median $me events/s into the central store; ratio" \
    "$(awk -v a="$me" -v b="$ms" 'BEGIN { printf "%.2f", a / b }')"
[ $FAILED = 0 ] || { echo "edges: rows missing without a count"; exit 1; }
exit 0
