# SPDX-License-Identifier: MIT
# Host-side helpers shared by build-assets.sh, run.sh and check-vm.sh
# (sourced, POSIX sh). Messages go to stderr: stdout carries results.

VM_DIR=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$VM_DIR/../.." && pwd)}"
# Everything built for the VM is cached in the build tree (make check-vm
# sets top_builddir); by hand, run from the build directory.
if [ -z "${top_builddir:-}" ]; then
	[ -f config.status ] || {
		echo "vm: error: run from the build directory, or set top_builddir" >&2
		exit 1
	}
	top_builddir=$(pwd)
fi
: "${SBVM_ASSETS:=$top_builddir/tests/vm/assets}"

vm_say() { echo "vm: $*" >&2; }
vm_die() {
	echo "vm: error: $*" >&2
	exit 1
}

vm_as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 1
	fi
}

# vm_have_pkg PKG[=VERSION]: installed (at exactly that version).
vm_have_pkg() {
	st=$(dpkg-query -W -f='${Status} ${Version}' "${1%%=*}" 2>/dev/null) ||
		return 1
	case $1 in
	*=*) [ "$st" = "install ok installed ${1#*=}" ] ;;
	*) [ "${st% *}" = "install ok installed" ] ;;
	esac
}

# vm_install PKG...: install the Debian packages not installed yet
# (apt-get update only when the first attempt fails: stale lists).
vm_install() {
	missing=""
	for p in "$@"; do
		vm_have_pkg "$p" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	vm_say "installing:$missing"
	# shellcheck disable=SC2086
	vm_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing >&2 && return 0
	vm_as_root apt-get update -q >&2 || return 1
	# shellcheck disable=SC2086
	vm_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing >&2
}

# The host tools the VM needs to start at all (qemu with its qboot
# firmware), to build the assets, and those the guest borrows from the
# host root (the scenarios run the host's programs).
VM_GUEST_PKGS="gpiod jq socat psmisc can-utils iproute2"
# shellcheck disable=SC2034 # used by build-assets.sh
VM_HOST_PKGS="qemu-system-x86 busybox-static xz-utils zstd cpio gcc make kmod \
util-linux $VM_GUEST_PKGS"
VM_QEMU=qemu-system-x86_64
VM_QBOOT=/usr/share/qemu/qboot.rom

# vm_can_boot: true when qemu and its firmware are there.
vm_can_boot() {
	command -v "$VM_QEMU" >/dev/null && [ -r "$VM_QBOOT" ]
}

# Milliseconds since the epoch, for measurements.
vm_ms() { echo $(($(date +%s%N) / 1000000)); }
