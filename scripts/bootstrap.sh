#!/usr/bin/env bash
# Sourced by scripts/demo and scripts/test. Installs what a fresh Debian/Ubuntu machine with Swift
# lacks, idempotently and quietly when already done:
#   1. apt packages (sudo when not root),
#   2. libsrtp2 built on OpenSSL from Debian's source package into .deps/prefix (git-ignored),
#      falling back to the system (NSS-backed) libsrtp2 with a loud warning,
#   3. PKG_CONFIG_PATH pointing the Swift build at the local libsrtp2.
# The system's apt configuration is never modified: deb-src entries are derived at run time from the
# machine's own sources into a project-local apt configuration under .deps/apt.
set -euo pipefail

VP_ROOT="${VP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
VP_DEPS="$VP_ROOT/.deps"
VP_PREFIX="$VP_DEPS/prefix"
VP_LOG="$VP_DEPS/logs"
mkdir -p "$VP_LOG"

vp_say() { printf '[setup] %s\n' "$*" >&2; }
vp_sudo() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

VP_APT_UPDATED=0
vp_apt_update_once() {
  if [ "$VP_APT_UPDATED" = 0 ]; then
    vp_say "apt-get update"
    vp_sudo apt-get update -qq >"$VP_LOG/apt-update.log" 2>&1 || vp_say "apt-get update reported errors (see $VP_LOG/apt-update.log)"
    VP_APT_UPDATED=1
  fi
}

# vp_apt_ensure PKG... : install the packages that are not installed yet.
vp_apt_ensure() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  vp_apt_update_once
  vp_say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive vp_sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$VP_LOG/apt-install.log" 2>&1 || { cat "$VP_LOG/apt-install.log" >&2; return 1; }
}

# Writes a project-local apt configuration whose sources are the machine's own "deb" entries turned
# into "deb-src" entries (one-line and deb822 formats).
vp_local_apt_config() {
  local d="$VP_DEPS/apt"
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/sources.list.d"
  : >"$d/sources.list"
  if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list >>"$d/sources.list"
  fi
  local f
  for f in /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$d/sources.list"
  done
  rm -f "$d/sources.list.d/"*.sources
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" >"$d/sources.list.d/$(basename "$f")"
  done
  cat >"$d/apt.conf" <<CONF
Dir::Etc::SourceList "$d/sources.list";
Dir::Etc::SourceParts "$d/sources.list.d";
Dir::State::Lists "$d/lists";
Dir::Cache "$d/cache";
CONF
  echo "$d/apt.conf"
}

VP_SRTP_STAMP="$VP_PREFIX/.libsrtp2-openssl-v3"
vp_build_libsrtp_openssl() {
  # The stamp records the prefix: a moved checkout rebuilds (the .pc file holds absolute paths).
  [ -f "$VP_PREFIX/lib/libvertophone-srtp2.a" ] && [ "$(cat "$VP_SRTP_STAMP" 2>/dev/null)" = "$VP_PREFIX" ] && return 0
  vp_say "building libsrtp2 on OpenSSL from Debian's source package (once; log: $VP_LOG/libsrtp2-build.log)"
  local conf src
  conf="$(vp_local_apt_config)"
  src="$VP_DEPS/src"
  rm -rf "$src" && mkdir -p "$src"
  (
    set -e
    export APT_CONFIG="$conf"
    apt-get update -qq
    cd "$src"
    apt-get source --download-only -qq libsrtp2
    orig=$(ls libsrtp2_*.orig.tar.* | head -n1)
    mkdir tree && tar -xf "$orig" -C tree --strip-components=1
    cd tree
    ./configure --prefix="$VP_PREFIX" --enable-openssl --disable-pcap CFLAGS="-O2 -fPIC"
    make -j"$(nproc)" libsrtp2.a
    make install
    rm -f "$VP_PREFIX"/lib/libsrtp2.so*
    # Give the archive a name of its own: -lsrtp2 would pick Debian's NSS-backed libsrtp2 (.so or
    # .a) whenever libsrtp2-dev is installed and a system -L comes first on the link line.
    mv "$VP_PREFIX/lib/libsrtp2.a" "$VP_PREFIX/lib/libvertophone-srtp2.a"
    sed -i 's|^Libs:.*|Libs: -L${libdir} -lvertophone-srtp2 -lcrypto|' "$VP_PREFIX/lib/pkgconfig/libsrtp2.pc"
  ) >"$VP_LOG/libsrtp2-build.log" 2>&1 || return 1
  echo "$VP_PREFIX" >"$VP_SRTP_STAMP"
}

vp_setup() {
  vp_apt_ensure build-essential pkg-config libssl-dev libopus-dev libspeexdsp-dev libpulse-dev libwebrtc-audio-processing-dev
  if vp_build_libsrtp_openssl; then
    export PKG_CONFIG_PATH="$VP_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export VERTOPHONE_SRTP_BUILD="openssl"
  else
    vp_say "WARNING: could not build libsrtp2 on OpenSSL (see $VP_LOG/libsrtp2-build.log)."
    vp_say "WARNING: falling back to Debian's libsrtp2 built on NSS: ~5x slower per packet, 0.63 ms per srtp_create."
    vp_apt_ensure libsrtp2-dev
    export VERTOPHONE_SRTP_BUILD="system"
  fi
}

# The servers the tests start themselves: coturn (TURN/STUN, run by scripts/coturn on loopback),
# openssl (its certificate), iproute2 (network namespaces for the reachability tests), PulseAudio
# with pactl (null sinks instead of a sound card, run by scripts/pulseaudio).
vp_setup_network_peers() {
  vp_apt_ensure coturn openssl iproute2 pulseaudio pulseaudio-utils
}

# The Python venv with the interop peers (aiortc, websockets). Idempotent: reinstalls only when
# tools/interop/requirements.txt changes.
vp_setup_python() {
  local venv="$VP_ROOT/.venv" req="$VP_ROOT/tools/interop/requirements.txt" stamp="$VP_ROOT/.venv/.requirements"
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then vp_apt_ensure python3-venv; fi
  if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then
    export VERTOPHONE_PYTHON="$venv/bin/python"
    return 0
  fi
  vp_say "creating the Python venv with the interop peers (log: $VP_LOG/pip.log)"
  python3 -m venv "$venv" >"$VP_LOG/pip.log" 2>&1
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >>"$VP_LOG/pip.log" 2>&1 \
    || { tail -30 "$VP_LOG/pip.log" >&2; return 1; }
  cp "$req" "$stamp"
  export VERTOPHONE_PYTHON="$venv/bin/python"
}

# Chromium (Debian's package) for the browser interop tests.
vp_setup_chromium() {
  sh "$VP_ROOT/tools/interop/chromium/install_chromium.sh" >"$VP_LOG/chromium.log" 2>&1 \
    || { cat "$VP_LOG/chromium.log" >&2; return 1; }
}

# Builds the package and its tests (debug), quietly; prints errors and warnings, fails loudly.
vp_build_tests() {
  cd "$VP_ROOT"
  swift build --build-tests 2>&1 | tee "$VP_LOG/build-tests.log" | grep -E "error|warning:|Compiling|Build complete" | grep -v "^\[" || true
  grep -q "Build complete" "$VP_LOG/build-tests.log" || { echo "build failed: see $VP_LOG/build-tests.log" >&2; tail -50 "$VP_LOG/build-tests.log" >&2; return 1; }
  # Warnings in the project's own files are errors (CI builds a clean clone, so every file is
  # compiled and every warning shows); the manifest leaves them warnings for packages that depend
  # on this one.
  if grep -E "^$VP_ROOT/(Sources|Tests|Benchmarks)/[^:]+:[0-9]+:[0-9]+: warning:" "$VP_LOG/build-tests.log" >&2; then
    echo "the compiler warned about the project's own code (above): warnings are errors here" >&2
    return 1
  fi
}
