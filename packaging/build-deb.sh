#!/bin/sh
# Builds the Debian package from the tree, without installing it:
#   packaging/build-deb.sh [BUILD [OUTDIR]]
#       ->  OUTDIR/evflow_<version>_<arch>.deb (OUTDIR defaults to BUILD)
# BUILD defaults to build.  The package's files are exactly
# `make install-strip DESTDIR=... PREFIX=/usr UNITDIR=/lib/systemd/system`
# (which builds the daemons if needed; test tools are never installed),
# staged in OUTDIR/deb/debian/evflow.  Depends is what dpkg-shlibdeps
# (dpkg-dev) finds the binaries need, or, without it, the packages that
# own each binary's NEEDED libraries; plus adduser for the postinst.
# Prints the path of the package on its last line.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
OUTDIR=${2:-$BUILD}
case $OUTDIR in /*) ;; *) OUTDIR="$(pwd)/$OUTDIR" ;; esac
version=$(cat "$top/packaging/VERSION")
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
work="$OUTDIR/deb"
stage="$work/debian/evflow"
out="$OUTDIR/evflow_${version}_$arch.deb"

# The build directory as the Makefile names it (relative when inside the
# tree, so the dependency files' target names match).
mkbuild=${BUILD#"$top"/}
rm -rf "$work"
mkdir -p "$stage/DEBIAN"
make -C "$top" --no-print-directory BUILD="$mkbuild" DESTDIR="$stage" \
    PREFIX=/usr UNITDIR=/lib/systemd/system install-strip >&2
[ -x "$stage/usr/bin/evflow-router" ] && [ -f "$stage/etc/evflow/evflow.conf" ] ||
	{ echo "build-deb: make install staged no router or config" >&2; exit 1; }

# (ldconfig is in /sbin, outside a user's PATH)
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)
# shlib_pkgs BINARY...: the packages owning the libraries the binaries
# link directly (objdump's NEEDED, resolved with ldconfig's cache), as a
# Depends list without versions.
shlib_pkgs() {
	sos=$(for b in "$@"; do
		objdump -p "$b" | awk '$1 == "NEEDED" { print $2 }'
	done | sort -u)
	pkgs=""
	for so in $sos; do
		path=$("$LDCONFIG" -p | awk -v so="$so" '$1 == so { print $NF; exit }')
		[ -n "$path" ] || { echo "build-deb: $so not found" >&2; return 1; }
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null ||
		    dpkg -S "$path" 2>/dev/null) ||
			{ echo "build-deb: no package owns $path" >&2; return 1; }
		pkg=$(echo "$pkg" | head -n 1)
		pkgs="$pkgs ${pkg%%:*}"
	done
	# shellcheck disable=SC2086
	printf '%s\n' $pkgs | sort -u | paste -sd, - | sed 's/,/, /g'
}

bins=$(find "$stage/usr/bin" -type f -perm -u+x | sort)
if command -v dpkg-shlibdeps >/dev/null; then
	printf 'Source: evflow\n\nPackage: evflow\nArchitecture: any\n' \
	    >"$work/debian/control"
	# shellcheck disable=SC2046
	shdeps=$(cd "$work" && dpkg-shlibdeps -O \
	    $(for b in $bins; do printf ' -edebian/evflow%s' "${b#"$stage"}"; done) |
	    sed -n 's/^shlibs:Depends=//p')
else
	echo "build-deb: no dpkg-shlibdeps (dpkg-dev): Depends without versions" >&2
	# shellcheck disable=SC2086
	shdeps=$(shlib_pkgs $bins) || exit 1
fi
[ -n "$shdeps" ] || { echo "build-deb: no shared library dependencies found" >&2; exit 1; }

cat >"$stage/usr/share/doc/evflow/copyright" <<EOT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: evflow
Files: *
Copyright: the evflow authors
License: see the source repository
EOT
size=$(du -sk "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOT
Package: evflow
Version: $version
Architecture: $arch
Maintainer: evflow developers <evflow@localhost>
Installed-Size: $size
Depends: $shdeps, adduser
Recommends: sqlite3
Section: net
Priority: optional
Description: network visibility: process-aware flows from eBPF events and packets
 evflow collects eBPF/Netlink process events published over ZMQ in
 ntopng's format (its own evflow-probe, libebpfflow's ebpflowexport,
 nprobe_mini), builds flows from packets with libpcap, and joins the two
 so packet flows carry the process, user and container behind them.
 Flows are kept in SQLite and served by a REST API and a web UI.
EOT
(cd "$stage" && find etc -type f | sed 's|^|/|') >"$stage/DEBIAN/conffiles"
install -m 0755 "$top/packaging/debian/postinst" "$top/packaging/debian/prerm" \
    "$top/packaging/debian/postrm" "$stage/DEBIAN/"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
