#!/bin/sh
# SPDX-License-Identifier: MIT
# The unit with the [mqtt] drop-in (systemd/smallbmsd-mqtt.conf) passes
# systemd-analyze verify, and its exposure stays at or below 1.5, with the
# broker on the Pi (the drop-in as shipped) and on the LAN.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
command -v systemd-analyze >/dev/null ||
	{ echo "SKIP: systemd-analyze is not installed"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# A drop-in is read as if appended to the unit: the same file, offline.
unit() { # DIR DROPIN
	mkdir -p "$1"
	{
		sed -e "s|@sbindir@|$top_builddir/src|g" -e "s|@sysconfdir@|/etc|g" \
			"$top_srcdir/systemd/smallbmsd.service.in"
		cat "$2"
	} >"$1/smallbmsd.service"
}
check() { # DIR WHAT
	systemd-analyze verify --man=no "$1/smallbmsd.service"
	out=$(systemd-analyze security --offline=true "$1/smallbmsd.service" 2>&1) || true
	level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for smallbmsd.service: \([0-9.]*\).*/\1/p')
	[ -n "$level" ] || { printf '%s\n' "$out"; echo "FAIL: no exposure level"; exit 1; }
	echo "exposure with the drop-in, $2: $level (limit 1.5)"
	awk -v l="$level" 'BEGIN { exit !(l <= 1.5) }' ||
		{ printf '%s\n' "$out" | grep '✗'; echo "FAIL: exposure $level > 1.5"; exit 1; }
	printf '%s\n' "$out" | grep -q 'RestrictAddressFamilies=~AF_PACKET.*✓\|✓ RestrictAddressFamilies=~AF_PACKET' ||
		{ printf '%s\n' "$out" | grep AF_PACKET; echo "FAIL: more address families than MQTT needs"; exit 1; }
}

drop="$top_srcdir/systemd/smallbmsd-mqtt.conf"
grep -q '^PrivateNetwork=no$' "$drop" || { echo "FAIL: the drop-in opens no network"; exit 1; }
# Only the broker: the unit's IPAddressDeny=any stays.
! grep -Eq '^IPAddressDeny=|^IPAddressAllow=.*(any|/0)' "$drop" ||
	{ echo "FAIL: the drop-in allows more than the broker"; exit 1; }
unit "$T/local" "$drop"
check "$T/local" "broker on 127.0.0.1"
sed 's/^IPAddressAllow=.*/IPAddressAllow=192.168.1.10/' "$drop" >"$T/lan.conf"
unit "$T/lan" "$T/lan.conf"
check "$T/lan" "broker on 192.168.1.10"
