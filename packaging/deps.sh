#!/bin/sh
# Installs what evflow needs to build, run and test on Debian 12.
# Usage: packaging/deps.sh [--test]   (--test adds the test-only tools)
# Run it as root, or as a user with sudo: it then re-runs itself through
# sudo, and sets the browser tests up (npm packages in the tree) as that
# user again so the tree stays theirs.
set -e
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		echo "deps.sh: installing packages needs root: running through sudo" >&2
		exec sudo "$here/deps.sh" "$@"
	fi
	echo "deps.sh: installing packages needs root: run it as root (no sudo here)" >&2
	exit 1
fi
# clang, llvm, bpftool, libbpf-dev, libelf-dev: evflow-probe's eBPF object
# (clang -target bpf, bpftool btf dump and gen skeleton, libbpf 1.1).
# curl, python3: the demo's clients and servers (evflowctl demo).
# libndpi-dev: evflow-capture's application protocols (nDPI 4.x; the .deb
# then depends on libndpi4.x through dpkg-shlibdeps); test_collector_tlv
# also checks TLV against its serializer.
# (--test) tshark, tcpdump, openssl, curl: capture_dpi checks nDPI's
# names against tshark on live TLS (openssl s_server), HTTP and DNS.
# (--test) clickhouse-server (Debian 12: 18.16): the ClickHouse sink's tests
# start their own servers; the system service the package sets up is stopped.
RUNTIME="build-essential pkg-config libzmq3-dev libnanomsg-dev libcjson-dev \
  libsqlite3-dev libmicrohttpd-dev libpcap-dev zlib1g-dev sqlite3 iproute2 libsodium-dev \
  clang llvm bpftool libbpf-dev libelf-dev curl python3 libndpi-dev"
TEST="libclang-rt-14-dev tshark softflowd tcpdump curl netcat-openbsd \
  python3 wrk procps psmisc openssl dpkg-dev debootstrap systemd clickhouse-server"
PKGS=$RUNTIME
[ "${1:-}" = "--test" ] && PKGS="$RUNTIME $TEST"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $PKGS
if [ "${1:-}" = "--test" ] && command -v systemctl >/dev/null; then
	systemctl disable --now clickhouse-server >/dev/null 2>&1 || true
fi
# The browser tests: Debian's chromium and playwright-core from npm.
if [ "${1:-}" = "--test" ]; then
	if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
		# (setup.sh's root steps here, so it runs as the user)
		[ -x /usr/bin/chromium ] ||
			apt-get install -y -qq --no-install-recommends chromium
		command -v npm >/dev/null ||
			apt-get install -y -qq --no-install-recommends npm
		sudo -u "$SUDO_USER" -H "$here/../tests/browser/setup.sh"
	else
		"$here/../tests/browser/setup.sh"
	fi
fi
