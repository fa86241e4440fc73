#!/bin/bash
# SPDX-License-Identifier: MIT
# CI leg trixie/libgpiod-v2: build and test the tree in a Debian trixie
# root (libgpiod 2.x, systemd 257, libserialport 0.1.2, gcc 14): the same
# scripts/test a developer runs (make check, warnings as errors), a check
# that configure chose the libgpiod v2 backend, make distcheck-units, then the
# VM scenarios (make check-vm) with this build: the guest boots trixie's
# kernel and runs in this root, so src/gpio/gpio_v2.c and the libgpiod 2 tools
# meet the kernel's gpio-sim. The root is made once with debootstrap and
# cached (see lib.sh); so are the VM assets, inside it.
# Usage: scripts/ci/trixie.sh      (as root)
# Commands for the root are single-quoted on purpose: they expand there.
# shellcheck disable=SC2016
# shellcheck source=scripts/ci/lib.sh
. "$(dirname "$0")/lib.sh"

ci_leg trixie/libgpiod-v2
ci_build_root
ROOT=$CI_ROOT
ci_copy_tree "$ROOT/build/smallbms"

ci_say "versions in the root"
ci_run "$ROOT" 'for m in libgpiod libsystemd libserialport inih jansson check; do
	printf "%s %s\n" $m "$(pkg-config --modversion $m)"; done
	gcc --version | head -n 1'

ci_say "scripts/test --no-install (make check, -Werror)"
ci_run "$ROOT" 'cd /build/smallbms && scripts/test --no-install'

ci_say "configure chose the libgpiod v2 backend"
ci_run "$ROOT" 'cd /build/smallbms/build &&
	grep -qx "#define SB_GPIOD_API 2" config.h &&
	ar t src/libsmallbms.a | grep -qx "libsmallbms_a-gpio_v2.o" &&
	! ar t src/libsmallbms.a | grep -q gpio_v1' ||
	ci_die "the trixie build did not use src/gpio/gpio_v2.c (see src/local.mk)"

ci_say "make distcheck-units (the tarball with its unit and simulator tests)"
ci_run "$ROOT" 'cd /build/smallbms/build && make -j"$(nproc)" distcheck-units'

# make check-vm runs qemu inside the root: the virtfs it shares with the
# guest is then this root, and the VM assets are built from trixie's own
# kernel (build-assets.sh resolves linux-image-amd64 there).
# The scenarios where the libgpiod API version matters: requests, line
# values at start-up and at run time, active-low, the Remote input's edge
# events, release on SIGTERM, --safe-state, the hard cut-off; the adapter
# and CAN on trixie's kernel. The rest (05 charge-off, 10 the serial
# number, 11 partial data, 12 the hold, 14 reload: the rules and the
# config, whichever libgpiod drives the lines) run on bookworm only: CI's
# 60 min budget (about 300 s saved).
TRIXIE_VM="01-gpio-sim-basics.sh 02-usb-serial.sh 03-outputs-startup.sh \
04-low-cell.sh 06-active-low.sh 07-remote.sh 08-sigterm.sh 09-safe-state.sh \
13-hard-cutoff.sh 15-can.sh"
ci_say "make check-vm (the v2 build on gpio-sim, trixie's kernel): $TRIXIE_VM"
CI_ENV="SBVM_ASSETS=/var/cache/smallbms-vm" ci_run "$ROOT" \
	"cd /build/smallbms/build && make check-vm VM_SCENARIOS='$TRIXIE_VM' 2>&1 | tee check-vm.log" ||
	# As in .ci/run: only a VM that cannot start at all may be skipped.
	grep -Eq '^vm: SKIP: (no VM can start|cannot start a VM)' \
		"$ROOT/build/smallbms/build/check-vm.log" ||
	ci_die "make check-vm failed with the v2 build"
