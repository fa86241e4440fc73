#!/bin/bash
# SPDX-License-Identifier: MIT
# CI leg cross/ARCH: cross-build the tree for a Raspberry Pi userland
# (arm64 = 64-bit Pi OS, armhf = Debian's ARMv7 32-bit, the closest to
# 32-bit Pi OS reachable here) in the cached trixie root with Debian's
# multiarch -dev packages and crossbuild toolchain, and run every unit
# test program under qemu-user. Also:
#   -Wcast-align=strict on the whole build (ARM traps or slows down on
#   misaligned access; -Werror makes a new cast a failure);
#   the codec tests built and run twice, with -funsigned-char (what ARM's
#   ABI has by default) and -fsigned-char (x86's), so a decoder that
#   depends on the signedness of plain char fails on one of them;
#   a -Wsign-conversion count for the codec sources (informational).
# The end-to-end shell tests are skipped here: they run the simulator and
# the daemon on pseudo-terminals, which the native legs do.
# Usage: scripts/ci/cross.sh arm64|armhf      (as root)
# Commands for the root are single-quoted on purpose: they expand there.
# shellcheck disable=SC2016
# shellcheck source=scripts/ci/lib.sh
. "$(dirname "$0")/lib.sh"

ARCH=${1:-}
case $ARCH in
arm64) TRIPLET=aarch64-linux-gnu QEMU=qemu-aarch64 MACHINE=AArch64 ;;
armhf) TRIPLET=arm-linux-gnueabihf QEMU=qemu-arm MACHINE=ARM ;;
*)
	echo "usage: $0 arm64|armhf" >&2
	exit 2
	;;
esac
# The codec test programs (byte-level decoding); those that exist are run.
CODEC_TESTS_RE='tests/(unit/test_(jbd|pylon|tilde)|bmssim/test_sim_(jbd|tilde|pylon))$'

ci_leg "cross/$ARCH"
ci_build_root
ROOT=$CI_ROOT
ci_root_add_arch "$ROOT" "$ARCH"
# shellcheck disable=SC2046 # a list of package names
ci_root_install "$ROOT" $(ci_cross_packages "$ARCH")
W=/build/cross-$ARCH
rm -rf "${ROOT:?}$W" # build directories too: objects of an older tree
ci_copy_tree "$ROOT$W/src" # may look newer than this tree's sources

# In the root: configure a build directory for ARCH (CFLAGS extra).
configure_for() {
	local dir=$1 extra=$2
	ci_run "$ROOT" "mkdir -p $W/$dir && cd $W/$dir &&
		../src/configure -q --build=x86_64-linux-gnu --host=$TRIPLET \
			--enable-werror CFLAGS='-O2 -g -Wcast-align=strict $extra'"
}

# The test programs of a build directory (TESTS without the scripts).
tests_of() {
	ci_run "$ROOT" "cd $W/$1 &&
		printf 'print-tests:\n\t@echo \$(TESTS)\n' |
		make -s -f Makefile -f - print-tests" | tr ' ' '\n' |
		grep -v '\.sh$' | grep . || true
}

# Build and run test programs under qemu-user through the automake
# harness (LOG_COMPILER runs each one; logs and summary as usual).
# check-TESTS, unlike check, builds only the programs it runs.
# SMALLBMS_QEMU_USER tells the tests that switch credentials around a
# connect() (test_ctl's supplementary groups) that qemu-user does not
# carry those into SO_PEERGROUPS; they run on every native leg and the VM.
run_tests() {
	local dir=$1
	shift
	ci_run "$ROOT" "cd $W/$dir && make -j\$(nproc) $* &&
		SMALLBMS_QEMU_USER=1 make -j\$(nproc) check-TESTS TESTS='$*' LOG_COMPILER=$QEMU" || {
		ci_run "$ROOT" "cd $W/$dir && tail -n 60 test-suite.log" || true
		return 1
	}
}

ci_say "bootstrapping"
ci_run "$ROOT" "cd $W/src && autoreconf -fi >/dev/null 2>&1"

ci_say "building for $ARCH ($TRIPLET), -Wcast-align=strict -Werror"
configure_for build ""
ci_run "$ROOT" "cd $W/build && make -j\$(nproc) &&
	readelf -h src/smallbmsd | grep -qE 'Machine: +$MACHINE\$'" ||
	ci_die "the $ARCH build failed"

ALL=$(tests_of build | xargs)
[ -n "$ALL" ] || ci_die "no test programs found in the Makefile"
ci_say "unit tests under $QEMU: $(echo "$ALL" | wc -w) programs"
run_tests build "$ALL"

CODEC=$(echo "$ALL" | tr ' ' '\n' | grep -E "$CODEC_TESTS_RE" | xargs || true)
[ -n "$CODEC" ] || ci_die "no codec test programs found (expected test_jbd)"
for sign in unsigned signed; do
	ci_say "codec tests with -f$sign-char: $CODEC"
	configure_for "char-$sign" \
		"-f$sign-char -Wsign-conversion -Wno-error=sign-conversion"
	ci_run "$ROOT" "cd $W/char-$sign && make -j\$(nproc) $CODEC 2>build.err ||
		{ cat build.err; exit 1; }"
	run_tests "char-$sign" "$CODEC"
done

# Informational: implicit sign conversions (a negative value turned into a
# large unsigned one, or the reverse, is what differs between char types).
ci_say "-Wsign-conversion warnings in the library and codec tests" \
	"(informational)"
ci_run "$ROOT" "cd $W/char-signed &&
	grep -h 'Wsign-conversion' build.err | grep -oE '^[^:]+\.c' |
	sed 's|^\.\./src/||' | sort | uniq -c || echo '      0 (none)'"
echo "cross/$ARCH: end-to-end shell tests (tests/e2e/*.sh) skipped under" \
	"cross: they run natively in the bookworm and trixie legs"
