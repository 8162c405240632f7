#!/bin/sh
# Issue 13: one 16-byte write (the SP handshake and a length of 2^62)
# to a nanomsg input once aborted the daemon inside nanomsg's allocator.
# Every socket now has a receive bound (link_max_message for record
# inputs, CTL_MAX_WIRE for control sockets): the writes go to the
# router's and the store's tcp:// inputs and (ipc framing) to every
# control socket; the daemons keep running, count the refused
# connections, and store good events sent after.  Then: a non-loopback
# tcp:// bind is refused unless link_trusted_network is set.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq
lib_init

PS=$(free_port)
PR=$(free_port)
PZ=$(free_port)
IF="tcp://127.0.0.1:${PZ}c"
start_daemon store "$BIN/evflow-store" -d "$D" -N store \
    -o "store_endpoint=tcp://127.0.0.1:$PS"
wait_ctl store
start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$IF" \
    -o "router_endpoint=tcp://127.0.0.1:$PR" \
    -o "store_endpoint=tcp://127.0.0.1:$PS"
wait_ctl router
start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$IF" \
    -o "router_endpoint=tcp://127.0.0.1:$PR"
wait_ctl col0

# hostile tcp PORT | hostile ipc PATH: the SP header of a peer of the
# right protocol (PUSH for a PULL input, REQ for a control socket), then
# a message length of 2^62 (tcp: 8 bytes; ipc: type byte, 8 bytes).
hostile() {
	python3 - "$1" "$2" <<'PY'
import socket, struct, sys, time
kind, where = sys.argv[1], sys.argv[2]
if kind == "tcp":
    s = socket.create_connection(("127.0.0.1", int(where)))
    s.sendall(b"\0SP\0" + struct.pack(">H", 80) + b"\0\0" +
              struct.pack(">Q", 1 << 62))
else:
    s = socket.socket(socket.AF_UNIX)
    s.connect(where)
    s.sendall(b"\0SP\0" + struct.pack(">H", 48) + b"\0\0" + b"\1" +
              struct.pack(">Q", 1 << 62))
time.sleep(0.2)
s.close()
PY
}

# The connections_refused of NAME's record input (its "links" entry).
refused() {
	"$BIN/evflow-ctlq" -t 2000 "ipc://$D/$1.ctl" stats | python3 -c '
import json, sys
print(sum(l.get("connections_refused", 0)
          for l in json.load(sys.stdin)["links"] if l["dir"] == "in"))'
}

hostile tcp "$PR" || fail "write to the router"
hostile tcp "$PS" || fail "write to the store"
for n in store router col0; do
	hostile ipc "$D/$n.ctl" || fail "write to $n.ctl"
done
sleep 0.3
all_alive
for n in store router col0; do
	check_eq "$n answers after the hostile writes" "$(ctl "$n" ping)" pong
done
wait_true "router counted the refused connection" '[ "$(refused router)" -ge 1 ]'
for n in store router col0; do
	wait_true "$n's control socket counted the refused connection" \
	    "[ \"\$(\"$BIN/evflow-ctlq\" -g ctl.connections_refused \
	    ipc://$D/$n.ctl stats)\" -ge 1 ]"
done
wait_true "store counted the refused connection" '[ "$(refused store)" -ge 1 ]'

publish -z "tcp://127.0.0.1:$PZ" --zlib --array 5 --gen 30 --ifname '' \
    >/dev/null
wait_sql "good events after the hostile writes stored" \
    "SELECT count(*) FROM flows_v WHERE iface = '$IF'" 30
all_alive

# A non-loopback bind: refused with the reason, unless trusted.
PX=$(free_port)
for d in router store; do
	if [ $d = router ]; then key=router_endpoint; else key=store_endpoint; fi
	rc=0
	"$BIN/evflow-$d" -d "$D" -N "${d}x" -o "$key=tcp://0.0.0.0:$PX" \
	    >"$T/${d}x.log" 2>&1 || rc=$?
	checks=$((checks + 1))
	[ $rc = 1 ] || fail "$d: a 0.0.0.0 bind was not refused (exit $rc)"
	grep -q "not a loopback address.*link_trusted_network" \
	    "$T/${d}x.log" || fail "$d: no reason: $(cat "$T/${d}x.log")"
done
"$BIN/evflow-router" -d "$D" -N routerx -o "router_endpoint=tcp://*:$PX" \
    >"$T/routerx.log" 2>&1 && fail "router: a tcp://* bind was not refused"
start_daemon routert "$BIN/evflow-router" -d "$D" -N routert \
    -o "router_endpoint=tcp://0.0.0.0:$PX" -o link_trusted_network=yes \
    -o "store_endpoint=ipc://$D/nowhere.ipc"
wait_ctl routert
check_eq "trusted: the router binds 0.0.0.0" \
    "$(ctl routert ping)" pong
grep -q "input tcp://0.0.0.0:$PX" "$T/routert.log" ||
    fail "trusted: the router did not say it binds 0.0.0.0"
all_alive
pass
