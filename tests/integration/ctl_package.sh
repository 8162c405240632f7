#!/bin/sh
# `make install` and the Debian package.  make install with PREFIX and
# DESTDIR puts the daemons, evflow-instance, the units (naming the
# installed paths), the config and the docs in their FHS places, never a
# test tool, and uninstall removes them but the config.
# packaging/build-deb.sh builds the package from the built tree into a
# temporary directory (never installed here: pkg_install.sh does that in
# a chroot): `dpkg-deb -c` lists the same files, Depends names the package
# of every library each binary links, the control data is right, the
# sample config documents every key each built daemon knows and every
# daemon accepts it, `systemd-analyze verify` passes for every unit of
# both installs with the binaries present, and evflow-instance maps a
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

# make install into a staging root, the default PREFIX (/usr/local).
PROGS="evflow-collector evflow-capture evflow-router evflow-store evflow-webd \
evflowctl evflow-probe"
TESTTOOLS="evflow-testpub evflow-testsub evflow-ctlq evflow-capture-sink"
mkbuild=${EVFLOW_BUILD#"$TOP"/}
make -C "$TOP" --no-print-directory BUILD="$mkbuild" DESTDIR="$T/local" \
    install >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "make install"; }
L="$T/local/usr/local"
for b in $PROGS; do
	if [ -x "$BIN/$b" ]; then
		[ -x "$L/bin/$b" ] || fail "make install: no $L/bin/$b"
	else
		[ ! -e "$L/bin/$b" ] || fail "make install: $b installed but not built"
	fi
	ok
done
for b in $TESTTOOLS; do
	[ ! -e "$L/bin/$b" ] || fail "make install installed the test tool $b"
	ok
done
for f in lib/evflow/evflow-instance etc/evflow/evflow.conf \
    lib/systemd/system/evflow.target lib/systemd/system/evflow-store.service \
    lib/systemd/system/evflow-router.service lib/systemd/system/evflow-webd.service \
    lib/systemd/system/evflow-collector@.service \
    lib/systemd/system/evflow-capture@.service \
    share/doc/evflow/README.md share/doc/evflow/design.md \
    share/doc/evflow/schema.md share/doc/evflow/api.md; do
	[ -f "$L/$f" ] || fail "make install: no $L/$f"
	ok
done
if [ -x "$BIN/evflow-probe" ]; then
	[ -f "$L/lib/systemd/system/evflow-probe.service" ] || fail "no probe unit"
else
	[ ! -e "$L/lib/systemd/system/evflow-probe.service" ] ||
		fail "probe unit installed without the probe"
fi
ok
# The units name the installed paths, no template is left.
grep -q '^ExecStart=/usr/local/bin/evflow-router -f /usr/local/etc/evflow/evflow.conf ' \
    "$L/lib/systemd/system/evflow-router.service" || fail "router unit paths"
grep -q '^ExecStart=/usr/local/lib/evflow/evflow-instance collector %I$' \
    "$L/lib/systemd/system/evflow-collector@.service" || fail "collector unit paths"
grep -q '^Environment=EVFLOW_CONF=/usr/local/etc/evflow/evflow.conf EVFLOW_BINDIR=/usr/local/bin ' \
    "$L/lib/systemd/system/evflow-capture@.service" || fail "capture unit environment"
if grep -n '@[A-Z]*@' "$L"/lib/systemd/system/*; then
	fail "a unit keeps a template placeholder"
fi
ok
# An edited config survives a reinstall; uninstall leaves only it.
echo "# edited" >>"$L/etc/evflow/evflow.conf"
make -C "$TOP" --no-print-directory BUILD="$mkbuild" DESTDIR="$T/local" \
    install >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "make install again"; }
tail -n 1 "$L/etc/evflow/evflow.conf" | grep -qx '# edited' || fail "config overwritten"
ok
make -C "$TOP" --no-print-directory BUILD="$mkbuild" DESTDIR="$T/local" \
    uninstall >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "make uninstall"; }
left=$(cd "$L" && find . -type f)
[ "$left" = ./etc/evflow/evflow.conf ] || fail "uninstall left: $left"
ok

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
./usr/share/doc/evflow/design.md ./usr/share/doc/evflow/schema.md"
for b in $PROGS; do
	[ -x "$BIN/$b" ] && want="$want ./usr/bin/$b"
done
[ -x "$BIN/evflow-probe" ] && want="$want ./lib/systemd/system/evflow-probe.service"
for f in $want; do
	grep -qx "$f" "$T/list" || fail "package lacks $f"
	ok
done
# Nothing of the build tree or tests leaks in.
if grep -E 'evflow-ctlq|evflow-testsub|evflow-testpub|evflow-capture-sink|\.o$|/tests/' "$T/list"; then
	fail "package carries test or build files"
fi
ok
dpkg-deb -c "$deb" | grep ' ./usr/bin/evflow-router$' | grep -q '^-rwxr-xr-x root/root' ||
	fail "evflow-router not root-owned 0755"
ok
# The package's files are exactly make install's with PREFIX=/usr.
make -C "$TOP" --no-print-directory BUILD="$mkbuild" DESTDIR="$T/usr" PREFIX=/usr \
    UNITDIR=/lib/systemd/system install >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; fail "make install PREFIX=/usr"; }
(cd "$T/usr" && find . -type f | sort) >"$T/files.install"
grep -v -e '/$' -e '^\./usr/share/doc/evflow/copyright$' "$T/list" | sort >"$T/files.deb"
# (dpkg-deb -c lists directories with a trailing slash)
diff "$T/files.install" "$T/files.deb" || fail "package files differ from make install"
ok
grep -q '^ExecStart=/usr/bin/evflow-router -f /etc/evflow/evflow.conf -d /var/lib/evflow$' \
    "$T/usr/lib/systemd/system/evflow-router.service" || fail "deb router unit paths"
ok

# Depends: the package of every library any packaged binary links.
# (ldconfig is in /sbin, outside a user's PATH)
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)
mkdir "$T/x"
dpkg-deb -x "$deb" "$T/x"
depends=$(dpkg-deb -f "$deb" Depends)
for b in "$T"/x/usr/bin/*; do
	for so in $(objdump -p "$b" | awk '$1 == "NEEDED" { print $2 }'); do
		path=$("$LDCONFIG" -p | awk -v so="$so" '$1 == so { print $NF; exit }')
		# (dpkg knows a file by the path its package ships it at:
		# /lib or /usr/lib, and the link or its target)
		pkg=$( (dpkg -S "$(readlink -f "$path")" || dpkg -S "$path") 2>/dev/null |
		    head -n 1)
		pkg=${pkg%%:*}
		[ -n "$pkg" ] || fail "$(basename "$b"): no package owns $so"
		echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$pkg" ||
			fail "Depends lacks $pkg ($so, $(basename "$b")): $depends"
		ok
	done
done
echo "$depends" | grep -q 'adduser' || fail "Depends lacks adduser"
ok
[ -x "$BIN/evflow-webd" ] && { echo "$depends" | grep -q 'libsodium23' || fail "no libsodium23"; }
ok

[ "$(dpkg-deb -f "$deb" Package)" = evflow ] || fail "Package field"
ok
[ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] ||
	fail "Architecture field"
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
for b in evflow-collector evflow-capture evflow-router evflow-relay evflow-store \
    evflow-webd; do
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
	evflow-relay) extra="-m central -o relay.listen=tcp://127.0.0.1:1" ;;
	*) extra="" ;;
	esac
	# shellcheck disable=SC2086
	"$BIN/$b" -n -f "$conf" -d "$T" $extra >"$T/n.out" 2>&1 ||
		{ cat "$T/n.out"; fail "$b rejects packaging/evflow.conf"; }
	ok
done

# systemd-analyze verify, for the package's units and /usr/local's, each
# in a root holding the installed tree (so the binaries the units name
# exist) and the host's own units (sysinit.target and the like).  Any
# output is a complaint: verify exits 0 on a bad setting.
if command -v systemd-analyze >/dev/null && [ -d /usr/lib/systemd/system ]; then
	# (the /usr/local install again: uninstall removed it above)
	make -C "$TOP" --no-print-directory BUILD="$mkbuild" DESTDIR="$T/local" \
	    install >"$T/install.log" 2>&1 || fail "make install (verify)"
	for r in x local; do
		mkdir -p "$T/$r/usr/lib/systemd"
		cp -a /usr/lib/systemd/system "$T/$r/usr/lib/systemd/"
		case $r in x) ud=/lib/systemd/system ;; *) ud=/usr/local/lib/systemd/system ;; esac
		units=$(cd "$T/$r$ud" && ls evflow*)
		# shellcheck disable=SC2046
		(cd "$T/$r$ud" && systemd-analyze verify --man=no --root="$T/$r" \
		    $(for u in $units; do printf ' %s/%s' "$ud" "$u"; done)) \
		    >"$T/verify" 2>&1 || { cat "$T/verify"; fail "systemd-analyze verify ($r)"; }
		if [ -s "$T/verify" ]; then
			cat "$T/verify"
			fail "systemd-analyze verify complained ($r)"
		fi
		ok
	done
else
	echo "note: no systemd-analyze: units not verified"
fi
U="$T/x/lib/systemd/system"
# The capture opens its packet socket with CAP_NET_RAW alone, then drops
# it (docs/security.md).
grep -q '^AmbientCapabilities=CAP_NET_RAW$' \
    "$U/evflow-capture@.service" || fail "capture caps"
grep -q '^CapabilityBoundingSet=CAP_NET_RAW$' \
    "$U/evflow-capture@.service" || fail "capture bounding set"
ok
for u in "$U"/*.service; do
	for k in NoNewPrivileges=yes ProtectSystem=strict 'MemoryMax=[0-9]'; do
		grep -q "^$k" "$u" || fail "$u: no $k"
	done
	ok
done
for u in "$U"/*.service; do
	grep -q '^User=evflow$' "$u" || fail "$u runs as root"
	grep -q '^StateDirectory=evflow$' "$u" || fail "$u: no StateDirectory"
	case $u in *capture@*|*probe*) continue ;; esac
	grep -q '^CapabilityBoundingSet=$' "$u" || fail "$u keeps capabilities"
	ok
done
if [ -f "$U/evflow-probe.service" ]; then
	grep -q '^AmbientCapabilities=CAP_BPF CAP_PERFMON ' "$U/evflow-probe.service" ||
		fail "probe caps"
	ok
fi

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
