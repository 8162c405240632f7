#!/bin/sh
# Issue 13, a real producer: Debian's softflowd reads a pcap and exports
# NetFlow v5; evflow-nf5conv turns each datagram into the ntopng JSON
# softflowd's own ntopng export sends (arrays ending `},\n]`, times as
# uptime milliseconds, ICMP type/code in the destination port).
# Checked in the store: every flow kept (the trailing comma used to drop
# the whole array), times real (not 1970: retention deleted those), the
# TCP duration kept, and one ICMP echo exchange is one flow.  Then again
# with the export's reference time (field 160): times are the packets'.
. "$(dirname "$0")/lib.sh"
need_bins evflow-store evflow-router evflow-collector evflow-nf5conv \
    evflow-ctlq
command -v softflowd >/dev/null ||
	{ echo "skip: softflowd not installed (packaging/deps.sh --test)"; exit 77; }
lib_init

ep1="tcp://127.0.0.1:$(free_port)c"
ep2="tcp://127.0.0.1:$(free_port)c"
start_pipeline -- "$ep1" "$ep2"
python3 "$TOP/tests/tools/mkpcap_softflowd.py" "$T/t.pcap" ||
    fail "writing the pcap"

# export EP [nf5conv options]: softflowd -> nf5conv -> EP.
export_pcap() {
	ep=$1; shift
	uport=$(free_port)
	"$BIN/evflow-nf5conv" -u "$uport" -z "$ep" --flows 6 --idle-ms 5000 \
	    --wait-ms 10000 "$@" >"$T/conv.out" 2>&1 &
	cpid=$!
	# nf5conv binds its UDP port before it waits for the collector.
	wait_true "nf5conv listens" "grep -q ':$(printf %04X "$uport") ' \
	    /proc/net/udp"
	softflowd -d -r "$T/t.pcap" -n "127.0.0.1:$uport" -v 5 \
	    >"$T/softflowd.log" 2>&1 || { cat "$T/softflowd.log"; fail softflowd; }
	wait $cpid || { cat "$T/conv.out"; fail nf5conv; }
	cat "$T/conv.out"
	grep -q 'flows=6 messages=1' "$T/conv.out" ||
	    fail "softflowd exported $(cat "$T/conv.out")"
}

now=$(now_s)
export_pcap "$ep1"
wait_sql "all 6 records stored as 3 flows (ICMP, TCP, UDP)" \
    "SELECT group_concat(protocol, ' ') FROM (SELECT protocol FROM flows_v
      WHERE iface = '$ep1' ORDER BY protocol)" "1 6 17"
check_eq "col0: json_trailing_commas" "$(counter col0 json_trailing_commas)" 1
check_eq "col0: times_corrected" "$(counter col0 times_corrected)" 6
check_eq "col0: events_forwarded" "$(counter col0 events_forwarded)" 6
wait_sql "no 1970: every time is the receive time's neighbourhood" \
    "SELECT count(*) FROM flows_v WHERE iface = '$ep1' AND
      first_seen > $now - 120 AND last_seen < $now + 120 AND
      last_seen >= first_seen" 3
wait_sql "the TCP connection lasts its 2.5 s" \
    "SELECT round(last_seen - first_seen, 1) FROM flows_v
      WHERE iface = '$ep1' AND protocol = 6" "2.5"
wait_sql "one ICMP echo flow: 2 requests, 2 replies, ports 0" \
    "SELECT cli_addr || ' ' || srv_addr || ' ' || cli_port || ' ' ||
      srv_port || ' ' || c2s_packets || ' ' || s2c_packets FROM flows_v
      WHERE iface = '$ep1' AND protocol = 1" \
    "10.1.0.1 10.1.0.2 0 0 2 2"

# With the reference (unix time of uptime zero): the packets' own times,
# 20 s before now.
export_pcap "$ep2" --ref
wait_sql "with field 160: 3 flows" \
    "SELECT count(*) FROM flows_v WHERE iface = '$ep2'" 3
wait_sql "with field 160: times are the pcap's (20 s ago)" \
    "SELECT count(*) FROM flows_v WHERE iface = '$ep2' AND
      first_seen > $now - 60 AND first_seen < $now - 5" 3
check_eq "col1: times_corrected" "$(counter col1 times_corrected)" 6
all_alive
pass
