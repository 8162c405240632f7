#!/bin/sh
# Builds the Debian package from a built tree, without installing it:
#   packaging/build-deb.sh [BUILD [OUTDIR]]
#       ->  OUTDIR/evflow_<version>_<arch>.deb (OUTDIR defaults to BUILD)
# BUILD defaults to build (run `make` first).  Binaries that are not
# built are left out with a warning; the router and evflowctl are
# required.  Prints the path of the package on its last line.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
OUTDIR=${2:-$BUILD}
version=$(cat "$top/packaging/VERSION")
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
stage="$OUTDIR/deb/evflow_${version}_$arch"
out="$OUTDIR/evflow_${version}_$arch.deb"
BINS="evflow-collector evflow-capture evflow-router evflow-store evflow-webd \
evflowctl evflow-testpub"
REQUIRED="evflow-router evflowctl"

for b in $REQUIRED; do
	[ -x "$BUILD/bin/$b" ] || { echo "build-deb: $BUILD/bin/$b missing (make first)" >&2; exit 1; }
done
rm -rf "$stage"
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/evflow" \
    "$stage/etc/evflow" "$stage/lib/systemd/system" \
    "$stage/usr/share/doc/evflow"
for b in $BINS; do
	if [ -x "$BUILD/bin/$b" ]; then
		install -m 0755 -s "$BUILD/bin/$b" "$stage/usr/bin/$b"
	else
		echo "build-deb: warning: $b not built, left out" >&2
	fi
done
install -m 0755 "$top/packaging/evflow-instance" "$stage/usr/lib/evflow/"
install -m 0644 "$top/packaging/evflow.conf" "$stage/etc/evflow/"
for u in "$top"/packaging/systemd/*; do
	install -m 0644 "$u" "$stage/lib/systemd/system/"
done
for d in README.md docs/design.md docs/schema.md; do
	[ -f "$top/$d" ] && install -m 0644 "$top/$d" "$stage/usr/share/doc/evflow/"
done
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
Depends: libc6 (>= 2.34), libzmq5, libnanomsg5, libcjson1, libsqlite3-0, libmicrohttpd12, libpcap0.8, zlib1g, adduser
Recommends: sqlite3
Section: net
Priority: optional
Description: network visibility: process-aware flows from eBPF events and packets
 evflow collects eBPF/Netlink process events published over ZMQ in
 ntopng's format (libebpfflow's ebpflowexport, nprobe_mini), builds flows
 from packets with libpcap, and joins the two so packet flows carry the
 process, user and container behind them.  Flows are kept in SQLite.
EOT
echo /etc/evflow/evflow.conf >"$stage/DEBIAN/conffiles"
install -m 0755 "$top/packaging/debian/postinst" "$top/packaging/debian/prerm" \
    "$top/packaging/debian/postrm" "$stage/DEBIAN/"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
