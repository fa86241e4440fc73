# SPDX-License-Identifier: MIT
# Host-side helpers shared by build-assets.sh, run.sh and check-vm.sh
# (sourced, POSIX sh). Messages go to stderr: stdout carries results.

VM_DIR=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$VM_DIR/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# Everything built for the VM is cached here, never in the source tree.
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

vm_have_pkg() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
		grep -q "install ok installed"
}

# vm_install PKG...: install the Debian packages not installed yet
# (apt-get update only when the first attempt fails: stale lists).
vm_install() {
	missing=""
	for p in "$@"; do
		vm_have_pkg "${p%%=*}" || missing="$missing $p"
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
# firmware) and those the guest borrows from the host root.
VM_QEMU=qemu-system-x86_64
VM_QBOOT=/usr/share/qemu/qboot.rom
# shellcheck disable=SC2034 # used by build-assets.sh
VM_HOST_PKGS="qemu-system-x86 busybox-static xz-utils cpio gcc make kmod \
util-linux gpiod jq"

# vm_can_boot: true when qemu and its firmware are there.
vm_can_boot() {
	command -v "$VM_QEMU" >/dev/null && [ -r "$VM_QBOOT" ]
}

# Milliseconds since the epoch, for measurements.
vm_ms() { echo $(($(date +%s%N) / 1000000)); }
