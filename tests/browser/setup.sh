#!/bin/sh
# Installs what the browser tests need: Debian's chromium and the npm
# packages pinned in package-lock.json (playwright-core only: it drives
# the system chromium and downloads no browser).  CI runs this as root
# before the tests; the tests skip (exit 77) when either is missing.
set -e
cd "$(dirname "$0")"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ ! -x /usr/bin/chromium ]; then
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends chromium
fi
command -v npm >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends npm
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
