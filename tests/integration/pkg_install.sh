#!/bin/sh
# The .deb in a clean Debian 12: debootstrap --variant=minbase bookworm
# from the host's apt mirror into a temporary root (the finished root is
# kept as a tarball in the build directory for a week, so a rerun only
# unpacks it), then in a chroot there:
#   - `apt-get install ./evflow_*.deb` resolves every Depends from the
#     mirror (a missing one would leave a daemon unable to start);
#   - the postinst made the evflow system user and /var/lib/evflow;
#   - store, router, webd, one collector, a capture of lo and the probe
#     start as their installed units start them (Environment=,
#     ExecStart=, User=, the capabilities and NoNewPrivileges read from
#     the units), the collector being the config's interface #0;
#   - events sent by the host's evflow-testpub to the chroot collector's
#     loopback port are stored, and webd serves them with an API token;
#     the capture stores that connection's packet flow, the probe its own
#     connection to the collector with the processes;
#   - SIGTERM stops every daemon with status 0;
#   - `dpkg --purge evflow` removes the files and the conffile, leaving
#     the data directory and the user.
# Needs root (chroot, mount) and debootstrap; skips (77) when the mirror
# cannot be reached.  Prints how long each step took.
: "${EVFLOW_BUILD:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN="$EVFLOW_BUILD/bin"
SAMPLES="$TOP/tests/tools/samples/sample-events.jsonl"
SUITE=bookworm
skip() { echo "skip: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (chroot, mount)"
for c in debootstrap chroot dpkg-deb sqlite3 curl python3; do
	command -v "$c" >/dev/null || skip "no $c"
done
for b in evflow-router evflow-store evflow-collector evflowctl evflow-testpub; do
	[ -x "$BIN/$b" ] || skip "$b not built"
done
if objdump -p "$BIN/evflow-router" 2>/dev/null | grep -q 'NEEDED.*lib[a-z]*san'; then
	skip "a sanitizer build: the package is tested from the release build"
fi

# The host's Debian mirror: the first deb URI serving $SUITE in
# sources.list or a deb822 .sources file; EVFLOW_DEB_MIRROR overrides.
host_mirror() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$SUITE" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++
			if ($i ~ /^\[/ || $i ~ /\]$/) i++
			if ($(i + 1) == s) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$SUITE" 'BEGIN { RS = ""; FS = "\n" } {
			t = 0; ok = 0; uri = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) t = 1
				if ($i ~ /^Suites:/ && (" " $i " ") ~ ("[ \t]" s "[ \t]")) ok = 1
				if ($i ~ /^URIs:/) { split($i, w, /[ \t]+/); uri = w[2] }
			}
			if (t && ok && uri != "") { print uri; exit } }' "$f"
	done
}
MIRROR=${EVFLOW_DEB_MIRROR:-$(host_mirror | head -n 1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MIRROR=${MIRROR%/}
curl -fsS -m 15 -o /dev/null "$MIRROR/dists/$SUITE/Release" 2>/dev/null ||
	skip "the Debian mirror $MIRROR cannot be reached"

T=$(mktemp -d "${TMPDIR:-/tmp}/evflow-pkgi.XXXXXX") || exit 1
R="$T/root"
PIDS=""
NAMES=""
checks=0
cleanup() {
	rc=$?
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		n=0
		while kill -0 "$p" 2>/dev/null && [ $n -lt 50 ]; do
			sleep 0.1; n=$((n + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	for m in $(awk -v r="$R/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	if awk -v r="$R/" 'index($2, r) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
		echo "FAIL: still mounted under $R: $T left in place"
		exit 1
	fi
	[ -n "$KEEP_TMP" ] && { echo "kept $T"; exit $rc; }
	rm -rf --one-file-system "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() {
	echo "FAIL: $*"
	for n in $NAMES; do
		[ -f "$T/$n.log" ] || continue
		echo "--- $n.log"; tail -n 15 "$T/$n.log"
	done
	exit 1
}
ok() { checks=$((checks + 1)); }
now() { date +%s; }
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

t0=$(now)
deb=$("$TOP/packaging/build-deb.sh" "$EVFLOW_BUILD" "$T" 2>"$T/build.err" | tail -n 1)
[ -f "$deb" ] || { cat "$T/build.err"; fail "build-deb.sh made no package"; }
t1=$(now)

# The clean root: the cached one if it is from this mirror and recent.
cache="$EVFLOW_BUILD/pkg-root/$SUITE-minbase.tar.gz"
mkdir -p "$R"
if [ -f "$cache" ] && [ "$(cat "$cache.mirror" 2>/dev/null)" = "$MIRROR" ] &&
    [ -n "$(find "$cache" -mtime -7)" ]; then
	tar -C "$R" -xzf "$cache" || fail "unpacking $cache"
	how="unpacked $cache"
else
	debootstrap --variant=minbase "$SUITE" "$R" "$MIRROR" >"$T/debootstrap.log" 2>&1 || {
		tail -n 20 "$T/debootstrap.log"
		grep -q -e 'Failed getting release file' -e 'Failure trying to run' \
		    -e 'Couldn.t download' "$T/debootstrap.log" &&
			skip "debootstrap could not fetch from $MIRROR"
		fail "debootstrap"
	}
	mkdir -p "$(dirname "$cache")"
	rm -f "$cache" "$cache.mirror"
	tar -C "$R" -cf - . | gzip -1 >"$cache.tmp" && mv "$cache.tmp" "$cache" &&
	    echo "$MIRROR" >"$cache.mirror"
	# (`sudo make check` in a user's tree: the cache stays theirs)
	chown --reference="$EVFLOW_BUILD" "$(dirname "$cache")" "$cache" "$cache.mirror" 2>/dev/null
	how="debootstrap from $MIRROR"
fi
t2=$(now)
mount -t proc proc "$R/proc" || skip "cannot mount /proc in the chroot"
# (the probe's eBPF mode reads /sys: the CPU count, the kernel's BTF)
mount -t sysfs -o ro sysfs "$R/sys" 2>/dev/null ||
	echo "note: no /sys in the chroot: the probe will use its fallback mode"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
cp "$deb" "$R/tmp/"
in_root apt-get update -qq >"$T/apt.log" 2>&1 || { cat "$T/apt.log"; fail "apt-get update in the chroot"; }
in_root apt-get install -y -qq "/tmp/$(basename "$deb")" >>"$T/apt.log" 2>&1 ||
	{ tail -n 30 "$T/apt.log"; fail "apt-get install of the package"; }
ok
t3=$(now)
in_root dpkg-query -W -f '${Status}\n' evflow | grep -qx 'install ok installed' ||
	fail "evflow not installed"
ok

# The postinst's user and data directory.
pw=$(grep '^evflow:' "$R/etc/passwd") || fail "no evflow user"
uid=$(echo "$pw" | cut -d: -f3) gid=$(echo "$pw" | cut -d: -f4)
[ "$uid" -lt 1000 ] || fail "evflow is no system user (uid $uid)"
grep -q "^evflow:x:$gid:" "$R/etc/group" || fail "no evflow group"
echo "$pw" | grep -q ':/usr/sbin/nologin$' || fail "evflow can log in: $pw"
[ "$(stat -c '%u:%g %a' "$R/var/lib/evflow")" = "$uid:$gid 750" ] ||
	fail "/var/lib/evflow: $(stat -c '%u:%g %a' "$R/var/lib/evflow")"
ok
# Configuring again (dpkg-reconfigure's path) finds the user and passes.
in_root /var/lib/dpkg/info/evflow.postinst configure >>"$T/apt.log" 2>&1 ||
	fail "postinst configure a second time"
[ "$(grep -c '^evflow:' "$R/etc/passwd")" = 1 ] || fail "a second evflow user"
ok
for b in evflow-testpub evflow-testsub evflow-ctlq evflow-capture-sink; do
	[ ! -e "$R/usr/bin/$b" ] || fail "the package installed the test tool $b"
done
ok

# The interface and webd's port, as a user would edit the config.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
WPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
[ "$PORT" != "$WPORT" ] || fail "the same free port twice"
cat >>"$R/etc/evflow/evflow.conf" <<EOT
interface = tcp://127.0.0.1:${PORT}c
interface = lo
webd.port = $WPORT
probe.endpoint = tcp://127.0.0.1:${PORT}c
probe.netstat_interval = 2s
EOT

# unit_run NAME UNIT [INSTANCE]: starts what UNIT's ExecStart names, in
# the chroot, with its Environment=, as its User=, with exactly its
# AmbientCapabilities= and CapabilityBoundingSet= and NoNewPrivileges
# (setpriv does what systemd would); log $T/NAME.log.
U="$R/lib/systemd/system"
caps() { sed -n "s/^$1=//p" "$U/$2" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g'; }
unit_run() {
	name=$1 unit=$2 inst=${3:-}
	[ -f "$U/$unit" ] || fail "no unit $unit"
	user=$(sed -n 's/^User=//p' "$U/$unit")
	[ "$user" = evflow ] || fail "$unit: User=$user"
	envs=$(sed -n 's/^Environment=//p' "$U/$unit")
	cmd=$(sed -n 's/^ExecStart=//p' "$U/$unit" | sed "s/%I/$inst/g")
	[ -n "$cmd" ] || fail "$unit: no ExecStart"
	amb=$(caps AmbientCapabilities "$unit")
	bnd=$(caps CapabilityBoundingSet "$unit")
	set -- --reuid="$uid" --regid="$gid" --clear-groups \
	    --inh-caps="-all${amb:+,$amb}" --bounding-set="-all${bnd:+,$bnd}"
	[ -n "$amb" ] && set -- "$@" --ambient-caps="$amb"
	grep -q '^NoNewPrivileges=yes$' "$U/$unit" && set -- "$@" --no-new-privs
	um=$(sed -n 's/^UMask=//p' "$U/$unit")
	# shellcheck disable=SC2086
	(umask "${um:-0022}" && exec chroot "$R" setpriv "$@" /usr/bin/env -i \
	    PATH=/usr/sbin:/usr/bin:/sbin:/bin $envs $cmd) >"$T/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	NAMES="$NAMES $name"
	eval "pid_$name=$!"
}
# wait_for DESC SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
	wf_desc=$1 wf_secs=$2
	shift 2
	wf_n=0
	until "$@"; do
		wf_n=$((wf_n + 1))
		[ $wf_n -lt $((wf_secs * 10)) ] || fail "timed out: $wf_desc"
		sleep 0.1
	done
}
V="$R/var/lib/evflow"
unit_run store evflow-store.service
wait_for "store control socket" 20 test -S "$V/store.ctl"
unit_run router evflow-router.service
wait_for "router control socket" 20 test -S "$V/router.ctl"
unit_run collector evflow-collector@.service 0
wait_for "collector control socket" 20 test -S "$V/collector0.ctl"
if [ -f "$R/usr/bin/evflow-webd" ]; then
	unit_run webd evflow-webd.service
	wait_for "webd control socket" 20 test -S "$V/webd.ctl"
fi
if [ -f "$R/usr/bin/evflow-capture" ]; then
	unit_run capture evflow-capture@.service lo
	wait_for "capture control socket" 20 test -S "$V/capture-lo.ctl"
	# Its handle open, the capture keeps no capability (docs/security.md).
	dropped() {
		grep -q '^CapEff:[[:space:]]*0*$' "/proc/$pid_capture/status" &&
		    grep -q '^CapPrm:[[:space:]]*0*$' "/proc/$pid_capture/status" &&
		    grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$pid_capture/status"
	}
	wait_for "the capture dropped CAP_NET_RAW" 20 dropped
fi
if [ -f "$R/usr/bin/evflow-probe" ]; then
	unit_run probe evflow-probe.service
	wait_for "probe control socket" 20 test -S "$V/probe.ctl"
fi
ok
t4=$(now)

"$BIN/evflow-testpub" -q -z "tcp://127.0.0.1:${PORT}c" -f "$SAMPLES" >"$T/testpub.log" 2>&1 ||
	{ cat "$T/testpub.log"; fail "evflow-testpub to the chroot's collector"; }
stored() {
	rows=$(sqlite3 -readonly -cmd '.timeout 2000' "$V/evflow.db" \
	    "SELECT count(*) FROM flows_v WHERE iface = 'tcp://127.0.0.1:${PORT}c'" 2>/dev/null)
	[ "${rows:-0}" -gt 0 ]
}
wait_for "events stored in the chroot's database" 20 stored
ok
sql() { sqlite3 -readonly -cmd '.timeout 2000' "$V/evflow.db" "$1" 2>/dev/null; }
# The capture, with the unit's two capabilities, sees that traffic on lo.
if [ -f "$R/usr/bin/evflow-capture" ]; then
	captured() {
		[ "$(sql "SELECT count(*) FROM flows_v WHERE iface = 'lo' AND srv_port = $PORT")" -gt 0 ]
	}
	wait_for "packet flows of lo (to port $PORT) stored" 30 captured
	ok
fi
# The probe, with the unit's capabilities, reports its own connection to
# the collector (netstat records every 2 s, with the processes).
if [ -f "$R/usr/bin/evflow-probe" ]; then
	probed() {
		[ "$(sql "SELECT count(*) FROM flows_v WHERE iface = 'tcp://127.0.0.1:${PORT}c'
		    AND (cli_process LIKE '%evflow-probe' OR srv_process LIKE '%evflow-collector')")" -gt 0 ]
	}
	wait_for "the probe's events stored" 30 probed
	grep -m 1 'mode ' "$T/probe.log"
	# The fallback is fine where the kernel refuses eBPF, not because the
	# unit's capabilities fall short.
	if grep 'eBPF not available' "$T/probe.log" | grep -qi 'permi'; then
		fail "the probe lacks a capability for eBPF: $(grep 'eBPF not' "$T/probe.log")"
	fi
	ok
fi
if [ -f "$R/usr/bin/evflow-webd" ]; then
	token=$(chroot --userspec="$uid:$gid" --groups="$gid" "$R" /usr/bin/env -i \
	    PATH=/usr/bin:/bin /usr/bin/evflow-webd -f /etc/evflow/evflow.conf \
	    -d /var/lib/evflow --add-token pkgtest 2>"$T/token.err" | tail -n 1)
	[ -n "$token" ] || { cat "$T/token.err"; fail "webd --add-token"; }
	api() {
		curl -fsS -m 5 -H "Authorization: Bearer $token" \
		    "http://127.0.0.1:$WPORT/api/v1/flows?process=curl" >"$T/api.json" 2>&1 &&
		    grep -q '/usr/bin/curl' "$T/api.json"
	}
	# (tokens are reloaded every 2 s)
	wait_for "webd serves the stored flows with a token" 10 api
	ok
fi

# SIGTERM: every daemon exits with status 0.
for n in $NAMES; do
	eval "p=\$pid_$n"
	kill -TERM "$p"
	wait "$p"
	st=$?
	[ $st -eq 0 ] || fail "$n exited with status $st on SIGTERM"
	ok
done
PIDS=""
t5=$(now)

in_root dpkg --purge evflow >"$T/purge.log" 2>&1 || { cat "$T/purge.log"; fail "dpkg --purge"; }
for f in /usr/bin/evflow-router /usr/bin/evflowctl /etc/evflow/evflow.conf \
    /usr/lib/evflow/evflow-instance /lib/systemd/system/evflow-store.service; do
	[ ! -e "$R$f" ] || fail "$f left after purge"
	ok
done
[ -f "$V/evflow.db" ] || fail "purge removed the data directory (the user's data)"
grep -q '^evflow:' "$R/etc/passwd" || fail "purge removed the evflow user"
ok
t6=$(now)
echo "root: $how"
echo "times (s): build-deb $((t1 - t0)), root $((t2 - t1)), apt install $((t3 - t2)), start $((t4 - t3)), events+stop $((t5 - t4)), purge $((t6 - t5)), total $((t6 - t0))"
echo "pkg_install: $checks checks passed"
