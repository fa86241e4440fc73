#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh SCRIPT - boot the test VM and run SCRIPT (a shell script on the
# host's file system) inside it, as root, in a chroot of the host's root.
#
# The VM: a Debian kernel under qemu (TCG: no KVM here), booted from the
# decompressed vmlinux with qboot; the host's / shared read-only over 9p
# under a tmpfs overlay (host binaries run unchanged, nothing written
# reaches the host); a gpio-sim chip whose lines carry Raspberry Pi names
# (GPIO0..GPIO27); an emulated FTDI USB-serial adapter (/dev/ttyUSB0,
# USB serial number $SBVM_USB_SERIAL) wired to the guest's second UART
# (/dev/ttyS1). tests/vm/lib.sh has the helpers for SCRIPT.
#
# Exit status: SCRIPT's (0 pass, 77 skipped, anything else a failure).
# A guest that crashed, hung or never reported is a failure: the status
# counts only when qemu's isa-debug-exit status and the console agree.
#
# Environment:
#   SBVM_ROOT          DESTDIR of `make install` (the installed layout)
#   SBVM_SBINDIR       sbindir in it (default /usr/local/sbin)
#   SBVM_BINDIR        bindir in it (default /usr/local/bin)
#   SBVM_USB_SERIAL    USB serial number of the adapter (SMALLBMS001)
#   SBVM_TIMEOUT       seconds for the whole VM (default 300)
#   SBVM_LOG           where to keep the console log (default: temporary)
#   SBVM_ASSETS        asset cache (default $top_builddir/tests/vm/assets)
#   SBVM_KERNEL_DIR    assets already built (build-assets.sh's output)
#   SBVM_QUIET         yes: print the scenario's output only on failure
set -eu
. "$(dirname "$0")/host.sh"

[ $# -eq 1 ] || { echo "usage: run.sh SCRIPT" >&2; exit 2; }
SCRIPT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -r "$SCRIPT" ] || vm_die "$1: no such script"
: "${SBVM_ROOT:=$top_builddir/tests/vm/root}"
: "${SBVM_SBINDIR:=/usr/local/sbin}"
: "${SBVM_BINDIR:=/usr/local/bin}"
: "${SBVM_USB_SERIAL:=SMALLBMS001}"
: "${SBVM_TIMEOUT:=300}"
: "${SBVM_QUIET:=no}"

# Paths travel on the kernel command line and in a sourced file: keep
# them to characters that need no quoting.
for p in "$SCRIPT" "$SBVM_ROOT" "$SBVM_SBINDIR" "$SBVM_BINDIR" \
	"$SBVM_USB_SERIAL" "$top_srcdir" "$top_builddir" "$VM_DIR"; do
	case $p in
	*[!A-Za-z0-9/._+-]*) vm_die "'$p': only A-Z a-z 0-9 / . _ + - are allowed in VM paths" ;;
	esac
done

vm_can_boot || vm_install qemu-system-x86 >/dev/null 2>&1 || true
vm_can_boot || { echo "vm: SKIP: cannot start a VM: $VM_QEMU or $VM_QBOOT missing and not installable"; exit 77; }
# check-vm.sh builds the assets once and passes SBVM_KERNEL_DIR.
ASSETS=${SBVM_KERNEL_DIR:-$(sh "$VM_DIR/build-assets.sh")}
[ -r "$ASSETS/vmlinux" ] || vm_die "no VM assets in '$ASSETS'"

# The guest stops a hung scenario itself first, so its logs are printed.
script_timeout=$((SBVM_TIMEOUT - 30))
[ "$script_timeout" -ge $((SBVM_TIMEOUT / 2)) ] || script_timeout=$((SBVM_TIMEOUT / 2))

T=$(mktemp -d "${TMPDIR:-/tmp}/sbvm.XXXXXX")
trap 'rm -rf "$T"' EXIT
LOG=${SBVM_LOG:-$T/console.log}
: >"$LOG"
cat >"$T/env" <<EOF
SBVM_GUEST=$VM_DIR/guest.sh
SBVM_SCRIPT=$SCRIPT
SBVM_SCRIPT_TIMEOUT=$script_timeout
SBVM_ROOT=$SBVM_ROOT
SBVM_SBINDIR=$SBVM_SBINDIR
SBVM_BINDIR=$SBVM_BINDIR
SBVM_USB_SERIAL=$SBVM_USB_SERIAL
top_srcdir=$top_srcdir
top_builddir=$top_builddir
EOF

# The adapter (chardev u, a unix-socket server) and the second UART
# (chardev t, its client) are two ends of one private socket.
t0=$(vm_ms)
qs=0
timeout -k 10 "$SBVM_TIMEOUT" "$VM_QEMU" \
	-accel tcg -m 768 -smp 1 -nodefaults -display none -no-reboot \
	-bios "$VM_QBOOT" -kernel "$ASSETS/vmlinux" \
	-initrd "$ASSETS/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 sbvm_env=$T/env" \
	-chardev file,id=con,path="$LOG" -serial chardev:con \
	-chardev socket,id=u,path="$T/s",server=on,wait=off \
	-chardev socket,id=t,path="$T/s" -serial chardev:t \
	-device qemu-xhci,id=xhci \
	-device usb-serial,bus=xhci.0,chardev=u,serial="$SBVM_USB_SERIAL" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-object can-bus,id=canbus0 \
	-device kvaser_pci,canbus=canbus0 -device kvaser_pci,canbus=canbus0 \
	</dev/null >"$T/qemu.out" 2>&1 || qs=$?
elapsed=$(($(vm_ms) - t0))

res=$(tr -d '\r' <"$LOG" | sed -n 's/^SBVM-RESULT \([0-9][0-9]*\)$/\1/p' | tail -n 1)
why=""
if [ "$qs" -eq 124 ] || [ "$qs" -eq 137 ]; then
	why="timeout: the VM ran longer than ${SBVM_TIMEOUT}s"
elif [ -z "$res" ]; then
	why="the guest reported no result (qemu exit status $qs)"
elif [ "$qs" -ne $(((2 * res + 1) & 255)) ]; then
	why="qemu exit status $qs does not match the guest's result $res"
elif [ "$res" -eq 126 ]; then
	why="the guest could not set up (see the console log)"
fi

show_script() {
	tr -d '\r' <"$LOG" | sed -n '/^SBVM-SCRIPT-BEGIN$/,/^SBVM-SCRIPT-END /p' |
		sed '1d;$d'
}
if [ -n "$why" ]; then
	echo "vm: FAIL: $why ($elapsed ms)"
	echo "--- qemu"
	cat "$T/qemu.out"
	echo "--- console (last 150 lines)"
	tr -d '\r' <"$LOG" | tail -n 150
	exit 1
fi
if [ "$SBVM_QUIET" != yes ] || [ "$res" -ne 0 ]; then
	show_script
fi
echo "vm: $(basename "$SCRIPT"): exit status $res, VM ran $elapsed ms"
exit "$res"
