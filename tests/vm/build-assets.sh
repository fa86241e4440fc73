#!/bin/sh
# SPDX-License-Identifier: MIT
# build-assets.sh - build, once, what the VM tests boot, and print the
# directory holding it (the only line on stdout):
#
#   vmlinux            the decompressed Debian kernel (boots fast under TCG)
#   initramfs.cpio.gz  busybox, tests/vm/init and the modules it loads
#   modules/           those modules (.ko), gpio-sim.ko built here
#   modules.list       their load order
#
# The kernel is the one linux-image-amd64 depends on today (resolved every
# time: a new Debian kernel means new assets; on trixie it is 6.12, on
# bookworm 6.1). Debian builds no gpio-sim, so it is built out of tree from
# three files of the matching linux-source-X.Y against linux-headers-$ABI
# (see ../shared/VMTEST.md).
# Assets live under $SBVM_ASSETS (default $top_builddir/tests/vm/assets),
# one directory per kernel version; never in the source tree.
#
# Usage: build-assets.sh [--force]
set -eu
. "$(dirname "$0")/host.sh"

FORCE=no
[ "${1:-}" = "--force" ] && FORCE=yes

# Modules the guest needs (9p root, overlay, configfs, the USB-serial
# adapter); their dependencies are added in load order.
# can, can_raw, vcan, kvaser_pci: the CAN output (15-can.sh) on vcan0 and
# on qemu's emulated SJA1000 pair (can0 <-> can1).
WANT_MODULES="configfs virtio_pci 9pnet_virtio 9p overlay xhci_pci ftdi_sio
can can_raw vcan kvaser_pci"

# ABI and package version of the current Debian kernel.
resolve_kernel() {
	ABI=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ {
			sub("^linux-image-", "", $2); print $2; exit }')
	if [ -z "$ABI" ]; then
		vm_as_root apt-get update -q >&2 ||
			vm_die "apt-get update failed: cannot resolve the kernel"
		ABI=$(apt-cache depends linux-image-amd64 |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-/ {
				sub("^linux-image-", "", $2); print $2; exit }')
	fi
	[ -n "$ABI" ] || vm_die "linux-image-amd64 names no kernel image"
	KVER=$(apt-cache policy "linux-image-$ABI" |
		awk '$1 == "Candidate:" { print $2 }')
	case $KVER in
	"" | "(none)") vm_die "no candidate version for linux-image-$ABI" ;;
	esac
	# The source package is named after the major.minor version.
	SRCVER=$(echo "$ABI" | sed -n 's/^\([0-9]*\.[0-9]*\)[.-].*/\1/p')
	[ -n "$SRCVER" ] || vm_die "cannot tell the kernel version from '$ABI'"
}

# fetch PKG=VERSION: apt-get download into $W/dl, unpack into $W/$2.
fetch() {
	mkdir -p "$W/dl" "$W/$2"
	# apt downloads as its _apt user where it can write.
	chown _apt "$W/dl" 2>/dev/null || true
	(cd "$W/dl" && apt-get download -q "$1" >&2) ||
		vm_die "apt-get download $1 failed"
	dpkg -x "$W/dl/$(echo "${1%%=*}" | sed 's/:.*//')"_*.deb "$W/$2"
}

# The bzImage's payload is compressed (XZ on 6.1, zstd on 6.12); TCG is
# slow at decompressing it at boot, so boot the ELF vmlinux instead (qboot
# loads it directly). The payload is the first stream with a known magic.
decompress_kernel() {
	z="$W/img/boot/vmlinuz-$ABI"
	[ -f "$z" ] || vm_die "linux-image-$ABI has no /boot/vmlinuz-$ABI"
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$z" | head -n 1 | cut -d: -f1)
	if [ -n "$off" ]; then
		tail -c +"$((off + 1))" "$z" | xz -dc --single-stream >"$W/vmlinux" ||
			vm_die "cannot decompress $z"
	else
		off=$(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$z" | head -n 1 | cut -d: -f1)
		[ -n "$off" ] || vm_die "no XZ or zstd stream in $z"
		# zstd complains about the decompressor code after the frame;
		# the ELF check below is what tells a good result.
		tail -c +"$((off + 1))" "$z" | zstd -dcq >"$W/vmlinux" 2>/dev/null || true
	fi
	[ "$(head -c 4 "$W/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] ||
		vm_die "the decompressed kernel is not an ELF file"
}

# gpio-sim.c + gpiolib.h + irq_sim.c from the kernel's own source, in one
# module. irq_to_desc() is not exported to modules: generic_handle_irq()
# does the same lookup and call.
build_gpio_sim() {
	fetch "linux-source-$SRCVER=$KVER" src
	tarball=$(ls "$W"/src/usr/src/linux-source-"$SRCVER".tar.*)
	s=linux-source-$SRCVER
	mkdir -p "$W/gs"
	tar -xf "$tarball" -C "$W/gs" --strip-components=3 \
		"$s/drivers/gpio/gpio-sim.c" "$s/drivers/gpio/gpiolib.h" ||
		vm_die "gpio-sim sources missing from $tarball"
	tar -xf "$tarball" -C "$W/gs" --strip-components=3 \
		"$s/kernel/irq/irq_sim.c" ||
		vm_die "irq_sim.c missing from $tarball"
	mv "$W/gs/gpio-sim.c" "$W/gs/gpio-sim-main.c"
	sed -i 's/handle_simple_irq(irq_to_desc(\([a-z_>.-]*\)))/generic_handle_irq(\1)/' \
		"$W/gs/irq_sim.c"
	if grep -q 'irq_to_desc' "$W/gs/irq_sim.c" ||
		! grep -q 'generic_handle_irq(' "$W/gs/irq_sim.c"; then
		vm_die "irq_sim.c changed upstream: the irq_to_desc() call was not replaced"
	fi
	printf '%s\n' 'obj-m := gpio-sim.o' \
		'gpio-sim-y := gpio-sim-main.o irq_sim.o' >"$W/gs/Kbuild"
	make -s -C "/usr/src/linux-headers-$ABI" M="$W/gs" modules >&2 ||
		vm_die "building gpio-sim.ko failed"
}

# Copy the wanted modules and their dependencies, in load order, to
# $W/modules; write the order to $W/modules.list.
collect_modules() {
	root="$W/img"
	# trixie's packages put modules under /usr/lib (merged /usr).
	[ -e "$root/lib" ] || ln -s usr/lib "$root/lib"
	# The package has no modules.dep (dpkg's postinst makes it).
	depmod -b "$root" "$ABI" || vm_die "depmod failed"
	mkdir -p "$W/modules"
	: >"$W/modules.list"
	for m in $WANT_MODULES; do
		modprobe -d "$root" -S "$ABI" --show-depends "$m" >>"$W/deps" ||
			vm_die "module $m not found in linux-image-$ABI"
	done
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue # built in
		name=$(basename "$path")
		case $name in
		*.ko.xz) xz -dc "$path" >"$W/modules/${name%.xz}" ;;
		*.ko) cp "$path" "$W/modules/" ;;
		*) vm_die "unexpected module file $path" ;;
		esac
		name=${name%.xz}
		grep -qx "$name" "$W/modules.list" || echo "$name" >>"$W/modules.list"
	done <"$W/deps"
	strip --strip-debug -o "$W/modules/gpio-sim.ko" "$W/gs/gpio-sim.ko"
	for d in $(modinfo -F depends "$W/gs/gpio-sim.ko" | tr ',' ' '); do
		grep -qx "$d.ko" "$W/modules.list" ||
			vm_die "gpio-sim.ko needs $d, which is not loaded"
	done
	echo gpio-sim.ko >>"$W/modules.list"
}

# The initramfs: busybox, /init and the modules. Cheap: rebuilt whenever
# tests/vm/init changes.
build_initramfs() {
	d="$1/initramfs"
	rm -rf "$d"
	mkdir -p "$d/bin" "$d/lib/modules" "$d/proc" "$d/sys" "$d/dev" \
		"$d/host" "$d/rw" "$d/newroot"
	cp /bin/busybox "$d/bin/busybox"
	cp "$VM_DIR/init" "$d/init"
	chmod 755 "$d/init"
	cp "$1"/modules/*.ko "$d/lib/modules/"
	cp "$1/modules.list" "$d/modules.list"
	(cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) |
		gzip -1 >"$1/initramfs.cpio.gz.tmp"
	mv "$1/initramfs.cpio.gz.tmp" "$1/initramfs.cpio.gz"
	rm -rf "$d"
	sum_init "$1" >"$1/initramfs.sum"
}

# Assets cached before a module was added to WANT_MODULES are rebuilt.
has_modules() {
	for m in $WANT_MODULES; do
		grep -qx "$(echo "$m" | tr _ -).ko" "$1/modules.list" ||
			grep -qx "$m.ko" "$1/modules.list" || return 1
	done
}

sum_init() { cat "$VM_DIR/init" "$1/modules.list" 2>/dev/null | cksum; }

main() {
	mkdir -p "$SBVM_ASSETS"
	SBVM_ASSETS=$(cd "$SBVM_ASSETS" && pwd)
	# Two builds at once (make -j) wait for each other.
	exec 9>"$SBVM_ASSETS/.lock"
	flock 9
	resolve_kernel
	A="$SBVM_ASSETS/$ABI"
	if [ "$FORCE" = no ] && [ -f "$A/version" ] &&
		[ "$(cat "$A/version")" = "$KVER" ] && has_modules "$A"; then
		[ "$(sum_init "$A")" = "$(cat "$A/initramfs.sum" 2>/dev/null)" ] ||
			build_initramfs "$A"
		echo "$A"
		return
	fi
	t0=$(vm_ms)
	vm_say "building VM assets for linux-image-$ABI $KVER in $A"
	# shellcheck disable=SC2086 # a list of package names
	vm_install $VM_HOST_PKGS "linux-headers-$ABI=$KVER" ||
		vm_die "cannot install the packages the VM needs"
	W=$(mktemp -d "$SBVM_ASSETS/build.XXXXXX")
	chmod 755 "$W"
	trap 'rm -rf "$W"' EXIT
	fetch "linux-image-$ABI=$KVER" img
	decompress_kernel
	build_gpio_sim
	collect_modules
	# Replace the assets of an older kernel: only one set is kept.
	rm -rf "$SBVM_ASSETS"/*-amd64
	mkdir -p "$A"
	mv "$W/vmlinux" "$W/modules" "$W/modules.list" "$A/"
	build_initramfs "$A"
	echo "$KVER" >"$A/version"
	vm_say "VM assets built in $(($(vm_ms) - t0)) ms"
	echo "$A"
}

main
