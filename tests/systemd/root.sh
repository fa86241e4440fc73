#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-systemd, step 1: the cached Debian root the guest boots with
# systemd as PID 1 (scripts/ci/lib.sh's debootstrap cache, another suite
# and name). Prints the root's path on stdout.
# Usage: tests/systemd/root.sh [SUITE]      (as root; default bookworm)
# shellcheck source=scripts/ci/lib.sh
. "$(dirname "$0")/../../scripts/ci/lib.sh"
CI_SUITE=${1:-bookworm}
# What the guest needs besides the package's own dependencies (apt-get
# installs those with the .deb): systemd as init, udev for /dev/serial/by-id
# and the device rules, kmod for the drivers, the libgpiod tools to read the
# lines back, jq for the status JSON.
PKGS="systemd systemd-sysv udev kmod procps gpiod jq socat psmisc libgpiod2
libserialport0 libinih1 libjansson4"
# shellcheck disable=SC2086 # a list of package names
ci_root_ensure "systemd-$CI_SUITE" $PKGS >&2
R=$(ci_root "systemd-$CI_SUITE")
# Packages added to the list since the root was made (cheaper than a new
# root); the mounts are undone at once.
ci_enter "$R" >&2
# shellcheck disable=SC2086
ci_root_install "$R" $PKGS >&2 || { ci_leave; exit 1; }
ci_leave
echo "$R"
