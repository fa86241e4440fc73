#!/bin/bash
# SPDX-License-Identifier: MIT
# CI stage pi: the arm64 build on an emulated Raspberry Pi 3 B
# (tests/pi/check-pi.sh; "check-pi" in tests/vm/README.md). Run it after
# scripts/ci/cross.sh arm64, which leaves the arm64 smallbmsd and
# smallbmsctl in the cached build root; the battery simulator runs on
# the host, so this builds the tree's bmssim natively first (in a scratch
# directory: no build tree is needed). Exit status as check-pi.sh's:
# 0 pass, 1 fail, 77 when qemu-system-aarch64 cannot be installed.
# Usage: scripts/ci/pi.sh      (as root)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=${SMALLBMS_PI_BUILD:-/tmp/smallbms-pi-host}
t0=$(date +%s)
if [ ! -x "$B/tests/bmssim/bmssim" ] || [ -n "$(find "$TOP/tests/bmssim" -newer "$B/tests/bmssim/bmssim" -name '*.[ch]' | head -n 1)" ]; then
	echo "pi: building bmssim for the host in $B"
	[ -x "$TOP/configure" ] || (cd "$TOP" && autoreconf -fi >/dev/null 2>&1)
	mkdir -p "$B"
	(cd "$B" && { [ -f Makefile ] || "$TOP/configure" -q; } &&
		make -s -j"$(nproc)" tests/bmssim/bmssim) >"$B.log" 2>&1 ||
		{
			tail -n 30 "$B.log" >&2
			exit 1
		}
fi
echo "pi: bmssim ready after $(($(date +%s) - t0)) s"
rc=0
top_builddir=$B SBPI_SIM=$B/tests/bmssim/bmssim bash "$TOP/tests/pi/check-pi.sh" || rc=$?
echo "leg pi/raspi3b-arm64: $([ $rc -eq 0 ] && echo PASS || { [ $rc -eq 77 ] && echo SKIP || echo FAIL; }) ($(($(date +%s) - t0)) s)"
exit $rc
