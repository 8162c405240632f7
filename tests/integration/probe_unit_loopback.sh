#!/bin/sh
# probe_unit_loopback: evflow-probe publishes to a collector's
# tcp://127.0.0.1:PORTc interface (the probe connects, as ebpflowexport
# -z does); real TCP connections (IPv4 and IPv6) and a UDP exchange
# between two python3 processes on loopback land in the store with the exact pids and
# executables on the right sides, in both modes (eBPF, then sock_diag);
# the collector counts no wrong field, no drop and no lost message, the
# probe no ring-buffer or send drop.  Skips (77) only if eBPF cannot load.
. "$(dirname "$0")/lib.sh"
need_bins evflow-probe evflow-collector evflow-router evflow-store \
    evflow-ctlq
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (eBPF, /proc of others)"; exit 77; }
lib_init
PY=$(command -v python3)

cat >"$T/server.py" <<'PYEOF'
import signal, socket, sys, threading
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", int(sys.argv[1]))); tcp.listen(16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", int(sys.argv[2])))
tcp6 = socket.socket(socket.AF_INET6)
tcp6.bind(("::1", int(sys.argv[1]))); tcp6.listen(16)
def serve6():
    while True:
        c, _ = tcp6.accept()
        c.sendall(c.recv(100))
        c.recv(100)
        c.close()
threading.Thread(target=serve6, daemon=True).start()
open(sys.argv[3], "w").write("ready")
while True:
    c, _ = tcp.accept()
    c.sendall(c.recv(100))
    d, peer = udp.recvfrom(100)
    udp.sendto(d, peer)
    c.recv(100)
    c.close()
PYEOF
cat >"$T/client.py" <<'PYEOF'
import os, socket, sys, time
port, uport, cport = (int(a) for a in sys.argv[1:4]); hold = float(sys.argv[4])
c = socket.socket(); c.bind(("127.0.0.1", cport))
c.connect(("127.0.0.1", port)); c.sendall(b"ping"); c.recv(100)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", cport))
u.sendto(b"dns?", ("127.0.0.1", uport)); u.recvfrom(100)
c6 = socket.socket(socket.AF_INET6); c6.bind(("::1", cport))
c6.connect(("::1", port)); c6.sendall(b"ping"); c6.recv(100)
print(os.getpid(), os.readlink("/proc/self/exe"), flush=True)
time.sleep(hold)
c.close()
c6.close()
PYEOF

# run_mode MODE HOLD: one connection and one UDP exchange, checked.
run_mode() {
	mode=$1 hold=$2
	P=$(free_port) U=$(free_port) CP=$(free_port) Z=$(free_port)
	rm -rf "$D"; mkdir -p "$D"
	start_pipeline -- "tcp://127.0.0.1:${Z}c"
	start_daemon "probe_$mode" "$BIN/evflow-probe" -d "$D" -N probe \
	    -m "$mode" -z "tcp://127.0.0.1:${Z}c" -o probe.counter_interval=1s \
	    -o probe.health_interval=1s
	end=$(( $(now_s) + WAIT_SECS ))
	until "$BIN/evflow-ctlq" -t 300 "ipc://$D/probe.ctl" ping \
	    >/dev/null 2>&1; do
		if ! daemon_alive "probe_$mode"; then
			if [ "$mode" = bpf ] && grep -q "fatal: eBPF" \
			    "$T/probe_$mode.log"; then
				echo "skip: eBPF cannot load here:" \
				    "$(grep 'fatal: eBPF' "$T/probe_$mode.log")"
				exit 77
			fi
			fail "probe ($mode) exited at start"
		fi
		[ "$(now_s)" -ge "$end" ] && fail "probe ($mode) not ready"
		sleep 0.1
	done
	grep -q "mode $mode" "$T/probe_$mode.log" ||
		fail "the probe does not say it runs in mode $mode"
	start_daemon "server_$mode" "$PY" "$T/server.py" "$P" "$U" \
	    "$T/ready_$mode"
	wait_true "server up" "test -f '$T/ready_$mode'"
	SPID=$(pid_of "server_$mode")
	set -- $("$PY" "$T/client.py" "$P" "$U" "$CP" "$hold") ||
		fail "client failed"
	CPID=$1 EXE=$2
	q="SELECT cli_pid || ' ' || srv_pid || ' ' || cli_process || ' ' ||
	    srv_process FROM flows WHERE protocol = 6 AND ip_version = 4 AND
	    cli_port = $CP AND srv_port = $P AND cli_pid IS NOT NULL AND
	    srv_pid IS NOT NULL"
	wait_sql "$mode: TCP connection with both processes" "$q" \
	    "$CPID $SPID $EXE $EXE"
	wait_sql "$mode: the same over IPv6" "SELECT count(*) > 0 FROM flows
	    WHERE protocol = 6 AND ip_version = 6 AND cli_port = $CP AND
	    srv_port = $P AND cli_pid = $CPID AND srv_pid = $SPID" 1
	if [ "$mode" = bpf ]; then
		wait_sql "$mode: the close event carries the kernel's counters" \
		    "SELECT count(*) > 0 FROM flows WHERE protocol = 6 AND
		    cli_port = $CP AND bytes_acked > 0 AND segs_out > 0" 1
		wait_sql "$mode: first UDP datagram with the client's pid" \
		    "SELECT count(*) > 0 FROM flows WHERE protocol = 17 AND
		    (cli_pid = $CPID OR srv_pid = $CPID)" 1
		check_eq "$mode: nothing lost in the ring buffer" \
		    "$(counter probe dropped_ringbuf)" 0
		check_eq "$mode: connect latency measured" \
		    "$(sql "SELECT max(nw_latency_ms > 0) FROM flows WHERE
		    protocol = 6 AND cli_port = $CP")" 1
	fi
	wait_true "$mode: interface counters from /proc/net/dev" \
	    "[ \$(counter col0 records_ifcounter) -gt 0 ]"
	wait_true "$mode: a listening-ports snapshot" \
	    "[ \$(counter col0 records_listen) -gt 0 ]"
	wait_true "$mode: the probe's health on topic event" \
	    "[ \$(counter col0 producer_events) -gt 0 ]"
	check_eq "$mode: mode gauge" "$(counter probe mode_bpf)" \
	    "$([ "$mode" = bpf ] && echo 1 || echo 0)"
	check_eq "$mode: probe send drops" "$(counter probe dropped_send)" 0
	check_eq "$mode: collector fields_wrong_type" \
	    "$(counter col0 fields_wrong_type)" 0
	check_eq "$mode: collector dropped events" \
	    "$(sum_matching col0 'drop_.*')" 0
	check_eq "$mode: collector lost messages" \
	    "$(counter col0 lost_msgs)" 0
	[ "$(counter probe emitted)" -gt 0 ] || fail "$mode: nothing emitted"
	for n in "probe_$mode" "server_$mode" col0 router store; do
		kill -TERM "$(pid_of "$n")" 2>/dev/null
	done
	for n in "probe_$mode" "server_$mode" col0 router store; do
		p=$(pid_of "$n")
		while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
	done
	grep -q "exiting:" "$T/probe_$mode.log" ||
		fail "$mode: no clean exit on SIGTERM"
	checks=$((checks + 1))
}

# the client lives 0.5 s: long enough for /proc to be read, whatever the load
run_mode bpf 0.5
# sock_diag sees what lives across a poll (probe.poll_interval 1s)
run_mode diag 3
pass
