#!/bin/sh
# install_chromium.sh - make sure Debian's `chromium` is installed (for the Chromium interop harness).
# Idempotent and quiet when Chromium is already there. Uses sudo when not root.
# The harness drives Chromium over the DevTools protocol, so chromium-driver is not needed.
# Env: CHROMIUM_NO_RECOMMENDS=1 adds --no-install-recommends.
set -eu

have_chromium() {
    dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" &&
        [ -x /usr/lib/chromium/chromium ]
}

if have_chromium; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium.sh: apt-get not found; install Chromium yourself (or set CHROMIUM=/path/to/chrome)" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_chromium.sh: not root and no sudo; cannot install chromium" >&2
        exit 1
    fi
fi

OPTS="-y -q"
if [ "${CHROMIUM_NO_RECOMMENDS:-0}" = "1" ]; then
    OPTS="$OPTS --no-install-recommends"
fi

echo "install_chromium.sh: installing chromium via apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# Try without refreshing the package lists first; refresh only if that fails.
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install $OPTS chromium >/dev/null 2>&1; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install $OPTS chromium >/dev/null
fi

if have_chromium; then
    echo "install_chromium.sh: $(/usr/lib/chromium/chromium --version 2>/dev/null || echo chromium) installed" >&2
else
    echo "install_chromium.sh: chromium still missing after apt-get install" >&2
    exit 1
fi
