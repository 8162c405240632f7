# Helpers for the evflow-probe tests (tests/integration/probe_*.sh), on
# top of lib.sh (POSIX sh).  Kept in a subdirectory so the test runner
# does not run it as a test.
#
#   probe_need            skip unless root, ip netns, the tools, binaries
#   probe_need_bpf        skip unless the kernel can run the eBPF program
#   probe_init            lib_init, and a cleanup that also stops the
#                         servers and clients and removes the namespaces
#   probe_net             namespaces $NA (clients) and $NB (servers), a
#                         veth pair $VA/$VB: $CLI4/$SRV4 (/30), $CLI6/$SRV6
#                         (/64, no DAD)
#   probe_servers         in $NB: web servers on $SRV4, $SRV6 and
#                         127.0.0.1 port $HTTP_PORT serving $BLOB bytes
#                         (pids HTTP4_PID HTTP6_PID HTTPLO_PID), a TCP and
#                         UDP echo on $SRV4 and $SRV6 port $ECHO_PORT
#                         (ECHO_PID); $PY is their executable
#   probe_pipeline Z      store, router (Z and $VA), a collector for Z, the
#                         capture of $VA in $NA (TCP and UDP only: the link
#                         also carries IPv6 neighbour discovery); $VA
#                         mirrored, the companion of Z
#   start_probe NAME NS ARGS...  evflow-probe -N NAME ARGS in namespace NS
#                         (- for this one), waited for
#   $PYTHON               the python3 that servers and clients run
#   helper NAME CMD...    (lib.sh) runs CMD in the background (a server or client:
#                         not a daemon), its pid in $LAST
#   proc_id PID PROG      waits until PID runs PROG, prints "exe uid" read
#                         from /proc
#   curl_client NAME NS CPORT URL [WRAPPER...]
#                         curl from client port CPORT in namespace NS (run
#                         through WRAPPER, e.g. setpriv): it waits for its
#                         URL on a FIFO while the test reads /proc, then
#                         downloads at full speed; sets
#                         CPID, CEXE, CUID; the size it got in $T/NAME.log
#   row IFACE PROTO CPORT COLS   the columns of the flow from that client
#                         port of A in interface IFACE (flows_v)
#   joined DESC PROTO CPORT CLI SRV SPORT CPID CEXE CUID SPID SUID
#                         waits until the packet flow of client port CPORT
#                         in $VA is joined with the client CPID (exe CEXE,
#                         uid CUID) and the server SPID ($PY, uid SUID)
#   sif IFACE KEY         the store's stats of interface IFACE: KEY (a
#                         counter, pending, live_flows, attribution_ratio)
#   collector_clean NAME  fails unless collector NAME counted no wrong
#                         field, no drop and no loss

. "$(dirname "$0")/lib.sh"
PL="$(cd "$(dirname "$0")/probe_lib" && pwd)"
HTTP_PORT=8080
ECHO_PORT=7007
BLOB=200000		# bytes curl downloads
# The system's python3: one under /root (pyenv) is out of nobody's reach.
PYTHON=$(command -v /usr/bin/python3 || command -v python3)

probe_need() {
	need_netns curl python3 sqlite3 ss setpriv
	need_bins evflow-probe evflow-capture evflow-store evflow-router \
	    evflow-collector evflow-ctlq evflow-testsub
}

# The effective capabilities allow loading eBPF (CAP_BPF or
# CAP_SYS_ADMIN).
have_bpf_caps() {
	c=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	[ -n "$c" ] && [ $(( (0x$c >> 39 & 1) | (0x$c >> 21 & 1) )) = 1 ]
}

probe_need_bpf() {
	[ -r /sys/kernel/btf/vmlinux ] ||
		skip "kernel without BTF (/sys/kernel/btf/vmlinux): no eBPF probe"
	have_bpf_caps || skip "no CAP_BPF: the eBPF program cannot load"
}

probe_init() {
	lib_init
	trap netns_cleanup EXIT
}

probe_net() {
	NA=evpa$$ NB=evpb$$ VA=evpva$$ VB=evpvb$$
	n4=10.215.$(( $$ % 250 ))
	n6=fd65:7666:7465:$(printf %x $(( $$ % 65536 )))
	CLI4=$n4.1 SRV4=$n4.2 CLI6=$n6::1 SRV6=$n6::2
	netns_pair "$NA" "$NB" "$VA" "$VB" "$CLI4" "$SRV4" "$CLI6" "$SRV6"
}

# listening NS PROTO PORT COUNT: COUNT sockets listen on PORT in NS.
listening() {
	[ "$(ip netns exec "$1" ss -Hln"$2" "sport = :$3" | wc -l)" -ge "$4" ]
}

probe_servers() {
	mkdir -p "$T/www"
	head -c $BLOB /dev/urandom >"$T/www/blob"
	for a in 4:$SRV4 6:$SRV6 lo:127.0.0.1; do
		helper "http${a%%:*}" ip netns exec "$NB" "$PYTHON" -m http.server \
		    $HTTP_PORT --bind "${a#*:}" --directory "$T/www"
		eval "HTTP${a%%:*}_PID=\$LAST"
	done
	HTTPLO_PID=$HTTPlo_PID
	helper echo ip netns exec "$NB" "$PYTHON" "$PL/echo.py" "$SRV4" "$SRV6" \
	    $ECHO_PORT
	ECHO_PID=$LAST
	wait_true "servers listen" "listening $NB t $HTTP_PORT 3 &&
	    listening $NB t $ECHO_PORT 2 && listening $NB u $ECHO_PORT 2"
	PY=$(readlink -f "/proc/$ECHO_PID/exe")
	case "$PY" in *python*) ;; *) fail "echo server $ECHO_PID is '$PY'" ;; esac
	check_eq "web servers run python too" \
	    "$(readlink -f "/proc/$HTTP4_PID/exe")" "$PY"
}

probe_pipeline() {
	Z=$1
	start_daemon store "$BIN/evflow-store" -d "$D" -N store
	wait_ctl store
	start_daemon router "$BIN/evflow-router" -d "$D" -N router -i "$Z" \
	    -i "$VA"
	wait_ctl router
	start_daemon col0 "$BIN/evflow-collector" -d "$D" -N col0 -i "$Z"
	wait_ctl col0
	start_daemon cap ip netns exec "$NA" "$BIN/evflow-capture" -d "$D" \
	    -N cap -i "$VA" -F "tcp or udp" -o capture.immediate=yes
	wait_ctl cap
	check_eq "$VA mirrored" "$(ctl router iface set "$VA" mirrored yes)" ok
	check_eq "$VA companion of $Z" \
	    "$(ctl router iface set "$Z" companion "$VA")" ok
}

start_probe() {
	name=$1 ns=$2; shift 2
	if [ "$ns" = - ]; then
		start_daemon "$name" "$BIN/evflow-probe" -d "$D" -N "$name" "$@"
	else
		start_daemon "$name" ip netns exec "$ns" "$BIN/evflow-probe" \
		    -d "$D" -N "$name" "$@"
	fi
	wait_ctl "$name"
}

proc_id() {
	end=$(( $(now_s) + WAIT_SECS ))
	while :; do
		exe=$(readlink "/proc/$1/exe" 2>/dev/null)
		case "$exe" in
		*/"$2"|*/"$2".[0-9]*) break ;;
		esac
		[ "$(now_s)" -ge "$end" ] &&
			fail "process $1 does not run $2 (exe '$exe')"
		sleep 0.02
	done
	uid=$(awk '/^Uid:/ {print $2}' "/proc/$1/status") ||
		fail "process $1 ended before its uid was read"
	echo "$exe $uid"
}

curl_client() {
	cname=$1 cns=$2 cport=$3 curl=$4
	shift 4
	mkfifo -m 666 "$T/$cname.cfg" || fail "mkfifo"
	# (Full speed: it may exit before the probe reads /proc; the
	# kernel's exe path stands then.)
	helper "$cname" ip netns exec "$cns" "$@" curl -sS -g -o /dev/null \
	    -w '%{size_download}' --local-port "$cport" -K "$T/$cname.cfg"
	CPID=$LAST
	set -- $(proc_id $CPID curl)
	CEXE=$1 CUID=$2
	echo "url = \"$curl\"" >"$T/$cname.cfg"
}

row() {
	sql "SELECT $4 FROM flows_v WHERE iface = '$1' AND protocol = $2 AND
	    cli_port = $3 AND cli_addr IN ('$CLI4', '$CLI6')"
}

collector_clean() {
	checks=$((checks + 1))
	bad=$(sum_matching "$1" \
	    'drop_.*|fields_wrong_type|lost_msgs|records_send_dropped|strings_bad_utf8')
	[ "$bad" = 0 ] && return 0
	"$BIN/evflow-ctlq" -t 2000 -g counters "ipc://$D/$1.ctl" stats
	fail "$1 counted wrong fields, drops or losses: $bad"
}

JCOLS="source, cli_addr, srv_addr, srv_port, cli_pid, cli_process, cli_uid,
    srv_pid, srv_process, srv_uid"
joined() {
	wait_sql "$1" "SELECT $JCOLS FROM flows_v WHERE iface = '$VA' AND
	    protocol = $2 AND cli_port = $3 AND c2s_packets > 0" \
	    "joined|$4|$5|$6|$7|$8|$9|${10}|$PY|${11}" 20 \
	    "SELECT iface, $JCOLS, c2s_packets FROM flows_v WHERE cli_port = $3"
}

sif() {
	"$BIN/evflow-ctlq" -t 2000 "ipc://$D/store.ctl" stats |
	    python3 -c 'import json, sys
s = json.load(sys.stdin)
for i in s["interfaces"]:
    if i["name"] == sys.argv[1]:
        v = i.get(sys.argv[2], i.get("counters", {}).get(sys.argv[2]))
        print("null" if v is None else v)' "$1" "$2"
}
