#!/bin/sh
# The Debian package: packaging/build-deb.sh builds it from the built
# tree into a temporary directory (never installed here), `dpkg-deb -c`
# lists the binaries, units, config and docs, the control data is right,
# the sample config documents every key each built daemon knows and every
# daemon accepts it, the systemd units parse, and evflow-instance maps a
# template instance to the right interface.
: "${EVFLOW_BUILD:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN="$EVFLOW_BUILD/bin"
command -v dpkg-deb >/dev/null || { echo "skip: no dpkg-deb"; exit 77; }
for b in evflow-router evflowctl; do
	[ -x "$BIN/$b" ] || { echo "skip: $b not built"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/evflow-pkg.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
checks=0
fail() { echo "FAIL: $*"; exit 1; }
ok() { checks=$((checks + 1)); }

deb=$("$TOP/packaging/build-deb.sh" "$EVFLOW_BUILD" "$T" 2>"$T/build.err" | tail -n 1)
[ -f "$deb" ] || { cat "$T/build.err"; fail "build-deb.sh made no package"; }
case $(basename "$deb") in
evflow_*_*.deb) ok ;;
*) fail "package name $(basename "$deb")" ;;
esac
dpkg-deb -c "$deb" | awk '{ print $NF }' >"$T/list"

want="./usr/bin/evflow-router ./usr/bin/evflowctl ./etc/evflow/evflow.conf
./lib/systemd/system/evflow.target
./lib/systemd/system/evflow-store.service
./lib/systemd/system/evflow-router.service
./lib/systemd/system/evflow-collector@.service
./lib/systemd/system/evflow-capture@.service
./lib/systemd/system/evflow-webd.service
./usr/lib/evflow/evflow-instance ./usr/share/doc/evflow/copyright
./usr/share/doc/evflow/design.md"
for b in evflow-collector evflow-capture evflow-store evflow-webd evflow-testpub; do
	[ -x "$BIN/$b" ] && want="$want ./usr/bin/$b"
done
for f in $want; do
	grep -qx "$f" "$T/list" || fail "package lacks $f"
	ok
done
# Nothing of the build tree or tests leaks in.
if grep -E 'evflow-ctlq|evflow-testsub|\.o$|/tests/' "$T/list"; then
	fail "package carries test or build files"
fi
ok
dpkg-deb -c "$deb" | grep ' ./usr/bin/evflow-router$' | grep -q '^-rwxr-xr-x root/root' ||
	fail "evflow-router not root-owned 0755"
ok

[ "$(dpkg-deb -f "$deb" Package)" = evflow ] || fail "Package field"
ok
[ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] ||
	fail "Architecture field"
ok
dpkg-deb -f "$deb" Depends | grep -q libnanomsg5 || fail "Depends lacks libnanomsg5"
ok
mkdir "$T/ctrl"
dpkg-deb -e "$deb" "$T/ctrl"
grep -qx /etc/evflow/evflow.conf "$T/ctrl/conffiles" || fail "conffiles"
ok
grep -q 'adduser --system' "$T/ctrl/postinst" || fail "postinst makes no user"
ok
for s in postinst prerm postrm; do
	sh -n "$T/ctrl/$s" || fail "$s: syntax"
	ok
done

# The sample configuration documents every key of every built daemon,
# and each accepts it as is.
conf="$TOP/packaging/evflow.conf"
for b in evflow-collector evflow-capture evflow-router evflow-store evflow-webd; do
	[ -x "$BIN/$b" ] || continue
	"$BIN/$b" -h 2>&1 | sed -n 's/^  \([a-z_][a-z_.]*\)  .*/\1/p' >"$T/keys"
	[ -s "$T/keys" ] || fail "$b -h lists no keys"
	while read -r k; do
		grep -Eq "^#?$k =" "$conf" || fail "evflow.conf does not document $k ($b)"
		ok
	done <"$T/keys"
	case $b in
	evflow-collector) extra="-i tcp://127.0.0.1:1c" ;;
	evflow-capture) extra="-i lo" ;;
	*) extra="" ;;
	esac
	# shellcheck disable=SC2086
	"$BIN/$b" -n -f "$conf" -d "$T" $extra >"$T/n.out" 2>&1 ||
		{ cat "$T/n.out"; fail "$b rejects packaging/evflow.conf"; }
	ok
done

# The units parse (executables are not installed here: those complaints
# are expected and filtered).
if command -v systemd-analyze >/dev/null; then
	mkdir "$T/units"
	cp "$TOP"/packaging/systemd/* "$T/units/"
	systemd-analyze verify --man=no "$T"/units/*.service "$T"/units/*.target \
	    >"$T/verify" 2>&1
	if grep -v -e 'is not executable' -e 'sysinit.target' "$T/verify" | grep .; then
		fail "systemd-analyze verify complained"
	fi
	ok
fi
grep -q '^AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN$' \
    "$TOP/packaging/systemd/evflow-capture@.service" || fail "capture caps"
ok
for u in "$TOP"/packaging/systemd/*.service; do
	case $u in *capture@*) continue ;; esac
	grep -q '^CapabilityBoundingSet=$' "$u" || fail "$u keeps capabilities"
	grep -q '^User=evflow$' "$u" || fail "$u runs as root"
	grep -q '^StateDirectory=evflow$' "$u" || fail "$u: no StateDirectory"
	ok
done

# evflow-instance: an index picks the interface line; a name is used as is.
if [ -x "$BIN/evflow-collector" ]; then
	cat >"$T/i.conf" <<EOT
interface = eth9
interface = "tcp://*:4711c"
EOT
	out=$(EVFLOW_CONF="$T/i.conf" EVFLOW_DATADIR="$T" EVFLOW_BINDIR="$BIN" \
	    sh "$TOP/packaging/evflow-instance" collector 1 -n) ||
		fail "evflow-instance collector 1 -n failed: $out"
	echo "$out" | grep -qx 'interface = tcp://\*:4711c' ||
		fail "index 1 did not resolve: $out"
	echo "$out" | grep -qx 'name = collector1' || fail "instance name: $out"
	ok
	if EVFLOW_CONF="$T/i.conf" EVFLOW_BINDIR="$BIN" \
	    sh "$TOP/packaging/evflow-instance" collector 5 -n 2>/dev/null; then
		fail "a missing index was accepted"
	fi
	ok
fi
if [ -x "$BIN/evflow-capture" ]; then
	out=$(EVFLOW_CONF="$T/i.conf" EVFLOW_DATADIR="$T" EVFLOW_BINDIR="$BIN" \
	    sh "$TOP/packaging/evflow-instance" capture eth0 -n) ||
		fail "evflow-instance capture eth0 -n failed: $out"
	echo "$out" | grep -qx 'capture.device = eth0' || fail "capture device: $out"
	echo "$out" | grep -qx 'name = capture-eth0' || fail "capture name: $out"
	ok
fi
echo "ctl_package: $checks checks passed"
