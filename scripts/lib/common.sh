# SPDX-License-Identifier: MIT
# Shared by scripts/demo and scripts/test: install what is missing, then
# bootstrap, configure and build in ./build (out of tree; idempotent).
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}

# Debian / Raspberry Pi OS packages needed to build and test (procps:
# /bin/kill, which the unit's ExecReload= runs; systemd-analyze verify
# checks that it exists; strace: tests/e2e/outputs_first.sh; mosquitto,
# mosquitto-clients, openssl: the MQTT tests' broker, mosquitto_sub and
# test CA; python3: mqtt_silent.sh's and mqtt_stuck.sh's misbehaving peers).
PACKAGES="build-essential autoconf automake pkg-config \
libgpiod-dev libsystemd-dev libserialport-dev libinih-dev libjansson-dev \
check jq socat mandoc clang-format systemd procps strace libmodbus-dev \
libmosquitto-dev mosquitto mosquitto-clients openssl python3"

# tests/e2e/metrics.sh checks the metrics file with promtool, which only
# Debian's prometheus package has: the whole Prometheus server (96 MB,
# its service enabled and listening on every interface at install). So
# the tests take promtool out of that package (apt-get download, no
# install) into this cache; an installed promtool is used as it is.
PROMTOOL_DIR=${SMALLBMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smallbms}/promtool

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "need root to run: $*  (install sudo or run as root)" >&2
		exit 1
	fi
}

install_deps() {
	missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -z "$missing" ]; then
		say "all build dependencies are installed"
		return
	fi
	say "installing:$missing"
	as_root apt-get update -q
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
}

# promtool from Debian's prometheus package, unpacked, not installed.
fetch_promtool() {
	command -v promtool >/dev/null && return 0
	[ -x "$PROMTOOL_DIR/promtool" ] && return 0
	say "fetching promtool (Debian package prometheus, not installed) into $PROMTOOL_DIR"
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1) ||
		{ as_root apt-get update -q >/dev/null &&
			(cd "$tmp" && apt-get download -q prometheus); } ||
		{ rm -rf "$tmp"; echo "cannot download the prometheus package" >&2; exit 1; }
	dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
	mkdir -p "$PROMTOOL_DIR"
	cp "$tmp/x/usr/bin/promtool" "$PROMTOOL_DIR/promtool.new"
	mv "$PROMTOOL_DIR/promtool.new" "$PROMTOOL_DIR/promtool"
	rm -rf "$tmp"
}

# build [CONFIGURE-ARGS...]: bootstrap and configure once, then make.
build() {
	cd "$TOP"
	if [ ! -x configure ] || [ configure.ac -nt configure ]; then
		say "bootstrapping autotools"
		autoreconf -fi
	fi
	mkdir -p "$BUILD"
	cd "$BUILD"
	if [ ! -f Makefile ] || [ "$TOP/configure" -nt Makefile ]; then
		say "configuring in $BUILD"
		"$TOP/configure" "$@"
	fi
	say "building"
	make -j"$(nproc)"
}
