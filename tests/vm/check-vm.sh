#!/bin/sh
# SPDX-License-Identifier: MIT
# check-vm.sh [NN-name.sh...] - run the VM scenarios (tests/vm/scenarios/
# NN-name.sh, in order; all of them by default), one VM boot each, and
# print "vm: N passed, N failed, N skipped" (of N scenarios, listed above).
#
# Exit status: 0 when none failed; 1 when any failed; 77 (with one line
# saying why) only when no VM can start at all on this machine.
#
# `make check-vm` runs it with the installed layout of the build tree in
# SBVM_ROOT (make install DESTDIR=...). Console logs are kept in
# $top_builddir/tests/vm/logs/NN-name.log.
set -eu
. "$(dirname "$0")/host.sh"

if ! vm_can_boot; then
	vm_install qemu-system-x86 >/dev/null 2>&1 || true
	vm_can_boot || {
		echo "vm: SKIP: no VM can start here: $VM_QEMU/$VM_QBOOT missing and cannot be installed"
		exit 77
	}
fi

t0=$(vm_ms)
# shellcheck disable=SC2086 # a list of package names
vm_install $VM_GUEST_PKGS || vm_die "cannot install:$VM_GUEST_PKGS"
SBVM_KERNEL_DIR=$(sh "$VM_DIR/build-assets.sh") || {
	echo "vm: building the VM assets failed" >&2
	exit 1
}
export SBVM_KERNEL_DIR top_srcdir top_builddir
echo "vm: assets ready in $(($(vm_ms) - t0)) ms: $SBVM_KERNEL_DIR"

if [ $# -gt 0 ]; then
	scenarios=""
	for s in "$@"; do
		case $s in
		*/*) scenarios="$scenarios $s" ;;
		*) scenarios="$scenarios $VM_DIR/scenarios/$s" ;;
		esac
	done
else
	scenarios=$(ls "$VM_DIR"/scenarios/[0-9][0-9]-*.sh)
fi

LOGS="$top_builddir/tests/vm/logs"
mkdir -p "$LOGS"
n=0 pass=0 failed=0 skipped=0 failures=""
for s in $scenarios; do
	name=$(basename "$s" .sh)
	n=$((n + 1))
	echo "vm: === $name"
	st=0
	SBVM_LOG="$LOGS/$name.log" sh "$VM_DIR/run.sh" "$s" || st=$?
	case $st in
	0) pass=$((pass + 1)) && echo "vm: PASS: $name" ;;
	77) skipped=$((skipped + 1)) && echo "vm: SKIP: $name" ;;
	*) failed=$((failed + 1)) failures="$failures $name" &&
		echo "vm: FAIL: $name (exit status $st; console: $LOGS/$name.log)" ;;
	esac
done

echo "vm: whole run $(($(vm_ms) - t0)) ms"
[ -z "$failures" ] || echo "vm: failed:$failures"
echo "vm: $n scenarios run"
echo "vm: $pass passed, $failed failed, $skipped skipped"
[ "$n" -gt 0 ] || { echo "vm: no scenario found" >&2; exit 1; }
[ "$failed" -eq 0 ]
