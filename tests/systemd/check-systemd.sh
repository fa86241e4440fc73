#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-systemd: the Debian package under a real systemd. A cached
# bookworm root (root.sh: debootstrap, scripts/ci/lib.sh's cache), the
# project's .deb built here (dpkg-buildpackage, nocheck) and installed in
# a throw-away copy of it with dpkg -i, booted under qemu with systemd as
# PID 1 on tests/vm's kernel and modules (gpio-sim, the emulated FTDI
# adapter); guest.sh runs the scenarios there. Prints each scenario's
# transcript and ends with "systemd: N scenarios, N passed, N failed".
# Usage (as root, from the build directory): tests/systemd/check-systemd.sh
#   SBSD_SUITE   the root's Debian suite (default bookworm)
#   SBSD_TIMEOUT seconds for the VM (default 420)
#   SBSD_DEB     a .deb built for that suite already (not rebuilt here)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
: "${top_builddir:=$(pwd)}"
[ -f "$top_builddir/config.status" ] || { echo "run from the build directory" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "systemd: SKIP: needs root (debootstrap, chroot)"; exit 77; }
SUITE=${SBSD_SUITE:-bookworm}
W=$top_builddir/tests/systemd/work/$SUITE
mkdir -p "$W"
t0=$(date +%s%N)
step() { echo "systemd: [$(( ($(date +%s%N) - t0) / 1000000 )) ms] $*"; }

step "root ($SUITE)"
ROOT=$("$HERE/root.sh" "$SUITE" | tail -n 1)

step "VM assets (tests/vm)"
ASSETS=$(cd "$top_builddir" && top_builddir=$top_builddir sh "$SRC/tests/vm/build-assets.sh")

# The package, rebuilt when a source file changed (the files git does not
# ignore, as scripts/ci/lib.sh's ci_copy_tree: their checksums).
files() { (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done); }
# (tests/systemd itself is not in the package: not counted.)
sum=$(cd "$SRC" && files | grep -zv '^tests/systemd/' | xargs -0 cksum | cksum | cut -d' ' -f1)
if [ -n "${SBSD_DEB:-}" ]; then
	# A package built already (CI's deb leg, in a trixie root).
	[ -f "$SBSD_DEB" ] || { echo "systemd: FAIL: SBSD_DEB=$SBSD_DEB: no such file"; exit 1; }
	step "using $SBSD_DEB"
elif [ "$(cat "$W/deb.sum" 2>/dev/null)" != "$sum" ] || ! ls "$W"/deb/smallbms_*.deb >/dev/null 2>&1; then
	step "building the .deb (dpkg-buildpackage, nocheck)"
	command -v dh >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debhelper >/dev/null
	rm -rf "$W/deb"
	mkdir -p "$W/deb/src"
	(cd "$SRC" && files | tar --null -T - -cf -) | tar -xf - -C "$W/deb/src"
	# shellcheck disable=SC1091
	if [ "$SUITE" = "$(. /etc/os-release && echo "$VERSION_CODENAME")" ]; then
		(cd "$W/deb/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
			dpkg-buildpackage -us -uc -b -Pnocheck >../build.log 2>&1) ||
			{ tail -n 40 "$W/deb/build.log"; exit 1; }
	else
		# Another suite's libraries (libgpiod3 on trixie): built there.
		"$HERE/root.sh" "$SUITE" deb "$W/deb/src" "$W/deb" >/dev/null
	fi
	echo "$sum" >"$W/deb.sum"
fi
DEB=${SBSD_DEB:-$(ls "$W"/deb/smallbms_*.deb | head -n 1)}

step "the guest's root: a copy with $(basename "$DEB") installed"
R=$W/root
rm -rf "$R"
cp -a "$ROOT" "$R"
mkdir -p "$R/sbsd/modules"
cp "$DEB" "$R/tmp/"
cp "$ASSETS/modules/usbserial.ko" "$ASSETS/modules/ftdi_sio.ko" "$R/sbsd/modules/"
cp "$top_builddir/tests/bmssim/bmssim" "$HERE/guest.sh" "$SRC/tests/lib/poll.sh" "$R/sbsd/"
mount -t proc proc "$R/proc"
trap 'umount "$R/proc" 2>/dev/null || true' EXIT
chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	sh -c "dpkg -i /tmp/$(basename "$DEB") >/tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
	systemctl disable smallbmsd.service >/dev/null 2>&1
	systemctl mask serial-getty@ttyS0.service getty@tty1.service >/dev/null 2>&1
	for p in socat psmisc; do dpkg -s \$p >/dev/null 2>&1 || echo missing \$p; done"
umount "$R/proc"
trap - EXIT
cat >"$R/etc/systemd/system/sbsd-test.service" <<'UNIT'
[Unit]
Description=make check-systemd scenarios
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh /sbsd/guest.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
UNIT
ln -sf ../sbsd-test.service "$R/etc/systemd/system/multi-user.target.wants/sbsd-test.service"
echo sbsd >"$R/etc/hostname"

step "initramfs"
I=$W/initramfs
rm -rf "$I"
mkdir -p "$I/bin" "$I/lib/modules"
cp /bin/busybox "$I/bin/"
cp "$HERE/init" "$I/init"
cp "$ASSETS"/modules/*.ko "$I/lib/modules/"
cp "$ASSETS/modules.list" "$I/modules.list"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) >"$W/initramfs.cpio.gz"

step "booting (qemu, systemd as PID 1)"
LOG=$W/console.log
S=$W/serial.sock
rm -f "$S"
qs=0
b0=$(date +%s%N)
timeout -k 10 "${SBSD_TIMEOUT:-420}" qemu-system-x86_64 \
	-accel tcg -m 1024 -smp 1 -nodefaults -display none -no-reboot \
	-bios /usr/share/qemu/qboot.rom -kernel "$ASSETS/vmlinux" \
	-initrd "$W/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 systemd.show_status=0" \
	-chardev file,id=con,path="$LOG" -serial chardev:con \
	-chardev socket,id=u,path="$S",server=on,wait=off \
	-chardev socket,id=t,path="$S" -serial chardev:t \
	-device qemu-xhci,id=xhci \
	-device usb-serial,bus=xhci.0,chardev=u,serial=SMALLBMS001 \
	-virtfs local,path="$R",mount_tag=sbsdroot,security_model=none,readonly=on,multidevs=remap \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	</dev/null >"$W/qemu.out" 2>&1 || qs=$?
boot_ms=$((($(date +%s%N) - b0) / 1000000))
# The guest's transcript (trixie's systemd writes terminal codes first).
tr -d '\r' <"$LOG" | sed -n '/sbsd: systemd/,$p' | grep -v '^SBVM-RESULT' || true
res=$(tr -d '\r' <"$LOG" | sed -n 's/^SBVM-RESULT \([0-9][0-9]*\)$/\1/p' | tail -n 1)
step "VM ran $boot_ms ms"
if [ -z "$res" ] || [ "$qs" -ne $(((2 * res + 1) & 255)) ]; then
	echo "systemd: FAIL: no result from the guest (qemu exit $qs); console:"
	tr -d '\r' <"$LOG" | tail -n 60
	exit 1
fi
[ "$res" -ne 126 ] || { echo "systemd: FAIL: the guest could not set up"; tr -d '\r' <"$LOG" | tail -n 40; exit 1; }
[ "$res" -eq 0 ]
