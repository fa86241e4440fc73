#!/bin/bash
# SPDX-License-Identifier: MIT
# build-assets.sh ROOT DAEMON CTL ASSETS - the emulated Raspberry Pi 3 B's
# boot files for make check-pi (tests/pi/README in tests/vm/README.md):
#   ASSETS/$ABI/Image   Debian's arm64 kernel (linux-image-arm64 of ROOT's
#                       suite; an uncompressed Image, qemu boots it as is)
#   ASSETS/$ABI/dtb     the upstream bcm2837-rpi-3-b.dtb of that package
#   ASSETS/$ABI/initramfs.cpio.gz  busybox-static (arm64), tests/pi/init,
#                       tests/pi/guest.sh, tests/lib/poll.sh, the modules
#                       for the dwc2 USB host and ftdi_sio, DAEMON and CTL
#                       with the arm64 shared libraries they need (from
#                       ROOT, the cross leg's multiarch root)
# The kernel and busybox are fetched with ROOT's apt (arm64 is one of its
# architectures: scripts/ci/cross.sh arm64 added it) and cached by kernel
# version; the initramfs is rebuilt when any file in it changed (cheap).
# Prints the asset directory.
set -euo pipefail

ROOT=$1 DAEMON=$2 CTL=$3 ASSETS=$4
PI_DIR=$(cd "$(dirname "$0")" && pwd)
MULTI=usr/lib/aarch64-linux-gnu

die() {
	echo "pi: $*" >&2
	exit 1
}
say() { echo "pi: $*" >&2; }

[ -x "$ROOT/usr/bin/apt-get" ] || die "$ROOT is not a Debian root"
[ -e "$ROOT/$MULTI/libc.so.6" ] ||
	die "$ROOT has no arm64 libraries (run scripts/ci/cross.sh arm64 first)"
for f in "$DAEMON" "$CTL"; do
	[ -x "$f" ] || die "$f: no such program (the arm64 build)"
	file -L "$f" | grep -q 'ARM aarch64' || die "$f is not an arm64 program"
done

mkdir -p "$ASSETS"
ASSETS=$(cd "$ASSETS" && pwd)
exec 9>"$ASSETS/.lock"
flock 9

# apt in ROOT without entering it (no mounts: other CI legs may be using it).
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

ABI=$(in_root apt-cache depends linux-image-arm64:arm64 |
	sed -n 's/.*Depends: linux-image-\([^:]*-arm64\).*/\1/p' | head -n 1)
[ -n "$ABI" ] || die "cannot resolve linux-image-arm64 in $ROOT"
A=$ASSETS/$ABI

fetch_kernel() {
	local dl=/tmp/smallbms-pi-dl.$$ w
	w=$(mktemp -d "$ASSETS/build.XXXXXX")
	rm -rf "${ROOT:?}$dl"
	mkdir -p "$ROOT$dl"
	chmod 777 "$ROOT$dl"
	in_root sh -c "cd $dl && apt-get download -q linux-image-$ABI:arm64 busybox-static:arm64" >&2 ||
		die "apt-get download in $ROOT failed"
	dpkg -x "$ROOT$dl"/linux-image-*.deb "$w/img"
	dpkg -x "$ROOT$dl"/busybox-static_*.deb "$w/bb"
	rm -rf "${ROOT:?}$dl"
	mkdir -p "$w/out/modules"
	file "$w/img/boot/vmlinuz-$ABI" | grep -q 'ARM64 boot executable Image' ||
		die "vmlinuz-$ABI is not an uncompressed arm64 Image"
	cp "$w/img/boot/vmlinuz-$ABI" "$w/out/Image"
	find "$w/img" -name bcm2837-rpi-3-b.dtb -exec cp {} "$w/out/dtb" \;
	[ -s "$w/out/dtb" ] || die "no bcm2837-rpi-3-b.dtb in linux-image-$ABI"
	cp "$w/bb/usr/bin/busybox" "$w/out/busybox"
	# Modules in load order: the USB host (dwc2 and its PHY) and the FTDI
	# driver. The package has no modules.dep (its postinst makes it).
	[ -e "$w/img/lib" ] || ln -s usr/lib "$w/img/lib"
	depmod -b "$w/img" "$ABI"
	: >"$w/out/modules.list"
	for m in phy_generic dwc2 usbserial ftdi_sio; do
		modprobe -d "$w/img" -S "$ABI" --show-depends "$m" ||
			die "module $m not in linux-image-$ABI"
	done | while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		n=$(basename "$path" .xz)
		grep -qx "$n" "$w/out/modules.list" && continue
		xz -dc "$path" >"$w/out/modules/$n"
		echo "$n" >>"$w/out/modules.list"
	done
	rm -rf "$A"
	mv "$w/out" "$A"
	echo "$ABI" >"$A/version"
	rm -rf "$w"
}

# needed_libs FILE...: the arm64 libraries (names) FILE needs, recursively.
needed_libs() {
	local todo="$*" seen="" f n
	while [ -n "$todo" ]; do
		set -- $todo
		f=$1
		shift
		todo="$*"
		for n in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case " $seen " in *" $n "*) continue ;; esac
			[ -e "$ROOT/$MULTI/$n" ] || die "$n (needed by $f) not in $ROOT/$MULTI"
			seen="$seen $n"
			todo="$todo $ROOT/$MULTI/$n"
		done
	done
	echo "$seen"
}

build_initramfs() {
	local d=$A/initramfs n
	rm -rf "$d"
	mkdir -p "$d/bin" "$d/lib/modules" "$d/$MULTI" "$d/proc" "$d/sys" \
		"$d/dev" "$d/tmp" "$d/run" "$d/usr/sbin" "$d/usr/bin"
	cp "$A/busybox" "$d/bin/busybox"
	cp "$PI_DIR/init" "$d/init"
	cp "$PI_DIR/guest.sh" "$d/guest.sh"
	cp "$PI_DIR/../lib/poll.sh" "$d/poll.sh"
	chmod 755 "$d/init"
	cp "$A"/modules/*.ko "$d/lib/modules/"
	cp "$A/modules.list" "$d/modules.list"
	cp "$DAEMON" "$d/usr/sbin/smallbmsd"
	cp "$CTL" "$d/usr/bin/smallbmsctl"
	for n in ld-linux-aarch64.so.1 $(needed_libs "$DAEMON" "$CTL"); do
		cp -L "$ROOT/$MULTI/$n" "$d/$MULTI/$n"
	done
	ln -s "/$MULTI/ld-linux-aarch64.so.1" "$d/lib/ld-linux-aarch64.so.1"
	aarch64-linux-gnu-strip --strip-unneeded "$d/usr/sbin/smallbmsd" \
		"$d/usr/bin/smallbmsctl" 2>/dev/null || true
	(cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) |
		gzip -1 >"$A/initramfs.cpio.gz.tmp"
	mv "$A/initramfs.cpio.gz.tmp" "$A/initramfs.cpio.gz"
	rm -rf "$d"
}

sum_inputs() {
	cat "$0" "$PI_DIR/init" "$PI_DIR/guest.sh" "$PI_DIR/../lib/poll.sh" "$DAEMON" "$CTL" "$A/modules.list" | cksum
}

if [ ! -f "$A/version" ] || [ ! -s "$A/Image" ]; then
	t0=$(date +%s%N)
	say "fetching linux-image-$ABI and busybox-static (arm64) into $A"
	fetch_kernel
	say "kernel assets in $((($(date +%s%N) - t0) / 1000000)) ms"
fi
if [ "$(sum_inputs)" != "$(cat "$A/initramfs.sum" 2>/dev/null)" ]; then
	build_initramfs
	sum_inputs >"$A/initramfs.sum"
fi
echo "$A"
