#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-systemd's cached Debian roots (scripts/ci/lib.sh's debootstrap
# cache, other names). Prints the root's path on stdout.
# Usage (as root):
#   tests/systemd/root.sh SUITE                  the root the guest boots
#   tests/systemd/root.sh SUITE deb SRC OUTDIR   build the .deb of the tree
#       SRC in a build root of SUITE (for a suite other than the host's),
#       and copy it to OUTDIR
# shellcheck source=scripts/ci/lib.sh
. "$(dirname "$0")/../../scripts/ci/lib.sh"
CI_SUITE=${1:-bookworm}
MODE=${2:-guest}
# libgpiod's library package is named after its soname.
case $CI_SUITE in
bookworm) LIBGPIOD=libgpiod2 ;;
*) LIBGPIOD=libgpiod3 ;;
esac
if [ "$MODE" = deb ]; then
	NAME=systemd-$CI_SUITE-build
	PKGS="build-essential debhelper fakeroot pkgconf libgpiod-dev
	libsystemd-dev libserialport-dev libinih-dev libjansson-dev check
	systemd-dev libmosquitto-dev"
else
	NAME=systemd-$CI_SUITE
	# What the guest needs: systemd as init, udev for /dev/serial/by-id
	# and the device rules, kmod for the drivers, procps, jq, socat and
	# psmisc for the scenarios, and the package's libraries (it is
	# installed with dpkg -i, offline).
	PKGS="systemd systemd-sysv udev kmod procps gpiod jq socat psmisc
	$LIBGPIOD libserialport0 libinih1 libjansson4 libmosquitto1"
fi
# shellcheck disable=SC2086 # a list of package names
ci_root_ensure "$NAME" $PKGS >&2
R=$(ci_root "$NAME")
# Packages added to the list since the root was made (cheaper than a new
# root). The mounts are undone on exit (lib.sh's trap).
trap 'ci_leave' EXIT
ci_enter "$R" >&2
# shellcheck disable=SC2086
ci_root_install "$R" $PKGS >&2
if [ "$MODE" = deb ]; then
	SRC=$3 OUT=$4
	rm -rf "$R/build/sbsd"
	mkdir -p "$R/build/sbsd"
	cp -a "$SRC" "$R/build/sbsd/src"
	ci_run "$R" 'cd /build/sbsd/src && DEB_BUILD_OPTIONS="nocheck parallel=2" \
		dpkg-buildpackage -us -uc -b -Pnocheck >../build.log 2>&1' ||
		{ tail -n 40 "$R/build/sbsd/build.log" >&2; exit 1; }
	cp "$R"/build/sbsd/smallbms_*.deb "$OUT/"
fi
echo "$R"
