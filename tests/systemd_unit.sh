#!/bin/sh
# SPDX-License-Identifier: MIT
# The unit file is valid (systemd-analyze verify) and locked down: its
# exposure (systemd-analyze security --offline) must stay at or below 0.5.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
command -v systemd-analyze >/dev/null ||
	{ echo "SKIP: systemd-analyze is not installed"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# The unit as installed, but pointing at the binary built here (verify
# checks that ExecStart= exists).
sed -e "s|@sbindir@|$top_builddir/src|g" -e "s|@sysconfdir@|/etc|g" \
	"$top_srcdir/systemd/smallbmsd.service.in" >"$T/smallbmsd.service"
# --man=no: the man pages are not installed in a build tree.
systemd-analyze verify --man=no "$T/smallbmsd.service"
echo "ok: systemd-analyze verify"
# A serial class allowed by name is resolved once, when the unit starts: a
# driver module loaded later (ftdi_sio at boot) stays denied (#19).
bad=$(grep -E '^DeviceAllow=char-tty' "$T/smallbmsd.service" || true)
[ -z "$bad" ] || { echo "FAIL: serial devices allowed by name: $bad"; exit 1; }
grep -qx 'DeviceAllow=char-188 rw' "$T/smallbmsd.service" ||
	{ echo "FAIL: ttyUSB (major 188) not allowed"; exit 1; }
echo "ok: serial devices allowed by major"
out=$(systemd-analyze security --offline=true "$T/smallbmsd.service" 2>&1) || true
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for smallbmsd.service: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || { printf '%s\n' "$out"; echo "FAIL: no exposure level"; exit 1; }
echo "exposure level: $level (limit 0.5)"
awk -v l="$level" 'BEGIN { exit !(l <= 0.5) }' ||
	{ printf '%s\n' "$out" | grep '✗'; echo "FAIL: exposure $level > 0.5"; exit 1; }
