#!/bin/sh
# Installs what evflow needs to build, run and test on Debian 12.
# Usage: packaging/deps.sh [--test]   (--test adds the test-only tools)
set -e
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
RUNTIME="build-essential pkg-config libzmq3-dev libnanomsg-dev libcjson-dev \
  libsqlite3-dev libmicrohttpd-dev libpcap-dev zlib1g-dev sqlite3 iproute2 libsodium-dev"
TEST="clang libclang-rt-14-dev tshark softflowd tcpdump curl netcat-openbsd \
  python3 wrk procps psmisc openssl"
PKGS=$RUNTIME
[ "${1:-}" = "--test" ] && PKGS="$RUNTIME $TEST"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	$SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $PKGS
# The browser tests: Debian's chromium and playwright-core from npm.
if [ "${1:-}" = "--test" ]; then
	"$(dirname "$0")/../tests/browser/setup.sh"
fi
