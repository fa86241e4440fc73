#!/bin/bash
# SPDX-License-Identifier: MIT
# CI leg trixie/libgpiod-v2: build and test the tree in a Debian trixie
# root (libgpiod 2.x, systemd 257, libserialport 0.1.2, gcc 14): the same
# scripts/test a developer runs (make check, warnings as errors), a check
# that configure chose the libgpiod v2 backend, then make distcheck.
# The root is made once with debootstrap and cached (see lib.sh).
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
	ci_die "the trixie build did not use src/gpio_v2.c (see src/local.mk)"

ci_say "make distcheck"
ci_run "$ROOT" 'cd /build/smallbms/build && make -j"$(nproc)" distcheck'
