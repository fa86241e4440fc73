#!/bin/bash
# SPDX-License-Identifier: MIT
# check-pi.sh - make check-pi: the arm64 smallbmsd on an emulated
# Raspberry Pi 3 B (qemu-system-aarch64 -M raspi3b, Debian's arm64 kernel,
# the upstream bcm2837-rpi-3-b.dtb), driving the Pi's own GPIO driver
# (pinctrl-bcm2835) and reading a host-side bmssim through an emulated
# FTDI adapter on the Pi's dwc2 USB host (/dev/ttyUSB0 in the guest). All
# scenarios run in one boot (tests/pi/guest.sh); each line state they
# assert is read back from the kernel. See "check-pi" in tests/vm/README.md.
#
# Exit status: 0 when every scenario passed; 1 otherwise; 77 (one line
# why) only when qemu-system-aarch64 is missing and cannot be installed.
#
# Environment:
#   SBPI_ROOT      the root with the arm64 libraries (default: the cross
#                  leg's, ${SMALLBMS_CACHE:-/var/cache/smallbms-ci}/build)
#   SBPI_DAEMON    the arm64 smallbmsd (default: the cross leg's build,
#                  $SBPI_ROOT/build/cross-arm64/build/src/smallbmsd)
#   SBPI_CROSS_SRC a source tree to cross-build for arm64 instead (make
#                  check-pi passes its own): in $SBPI_ROOT/build/pi-arm64,
#                  incrementally, with the root's toolchain and libraries
#   SBPI_CTL       the arm64 smallbmsctl (default: beside SBPI_DAEMON)
#   SBPI_SIM       the host's bmssim (default: $top_builddir/tests/bmssim/bmssim)
#   SBPI_ASSETS    the asset cache (default: $SMALLBMS_CACHE/pi)
#   SBPI_SCENARIOS scenarios to run (default: all, in order)
#   SBPI_TIMEOUT   seconds for the whole boot (default 300)
#   SBPI_LOG       where to keep the console log (default: temporary)
set -euo pipefail

PI_DIR=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$(pwd)}"
CACHE=${SMALLBMS_CACHE:-/var/cache/smallbms-ci}
ROOT=${SBPI_ROOT:-$CACHE/build}
DAEMON=${SBPI_DAEMON:-$ROOT/build/cross-arm64/build/src/smallbmsd}
CTL=${SBPI_CTL:-$(dirname "$DAEMON")/smallbmsctl}
SIM=${SBPI_SIM:-$top_builddir/tests/bmssim/bmssim}
ASSETS=${SBPI_ASSETS:-$CACHE/pi}
TIMEOUT=${SBPI_TIMEOUT:-300}
ALL="startup sigterm lowcell chargeoff safestate"
SCENARIOS=${SBPI_SCENARIOS:-$ALL}
QEMU=qemu-system-aarch64

ms() { echo $(($(date +%s%N) / 1000000)); }
say() { echo "pi: $*"; }
die() {
	echo "pi: $*" >&2
	exit 1
}
T0=$(ms)

if ! command -v $QEMU >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-system-arm >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-system-arm >/dev/null 2>&1; } || true
	command -v $QEMU >/dev/null 2>&1 || {
		echo "pi: SKIP: $QEMU is missing and qemu-system-arm cannot be installed"
		exit 77
	}
fi
for t in socat:socat cpio:cpio file:file readelf:binutils depmod:kmod xz:xz-utils; do
	command -v "${t%%:*}" >/dev/null 2>&1 ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${t#*:}" >/dev/null ||
		die "cannot install ${t#*:}"
done
# cross_build SRC: SRC's smallbmsd and smallbmsctl for arm64 in the root
# (chroot, no mounts: other legs may be using it). Files are copied with
# their times, so make rebuilds only what changed since the last run.
cross_build() {
	local w=/build/pi-arm64 t
	t=$(ms)
	[ -x "$ROOT/usr/bin/aarch64-linux-gnu-gcc" ] ||
		die "$ROOT has no arm64 toolchain (run scripts/ci/cross.sh arm64 once)"
	mkdir -p "$ROOT$w/src"
	(cd "$1" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$ROOT$w/src"
	chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		bash -euc "cd $w/src && { [ -x configure ] || autoreconf -fi >/dev/null 2>&1; } &&
			mkdir -p ../b && cd ../b &&
			{ [ -f Makefile ] || ../src/configure -q --build=x86_64-linux-gnu \
				--host=aarch64-linux-gnu --enable-werror; } &&
			make -s -j\$(nproc) src/smallbmsd src/smallbmsctl" >"$T/cross.log" 2>&1 ||
		{ tail -n 30 "$T/cross.log"; die "the arm64 build of $1 failed"; }
	DAEMON=$ROOT$w/b/src/smallbmsd CTL=$ROOT$w/b/src/smallbmsctl
	say "arm64 build of $1 in $ROOT$w: $(($(ms) - t)) ms"
}
T=$(mktemp -d "${TMPDIR:-/tmp}/sbpi.XXXXXX")
trap 'rm -rf "$T"' EXIT
[ -z "${SBPI_CROSS_SRC:-}" ] || cross_build "$(cd "$SBPI_CROSS_SRC" && pwd)"
[ -x "$SIM" ] || die "$SIM: no bmssim (make tests/bmssim/bmssim in a native build)"
[ -x "$DAEMON" ] || die "$DAEMON: no arm64 smallbmsd (scripts/ci/cross.sh arm64 builds it)"

A=$(bash "$PI_DIR/build-assets.sh" "$ROOT" "$DAEMON" "$CTL" "$ASSETS") ||
	die "building the assets failed"
say "assets ready in $(($(ms) - T0)) ms: $A"

LOG=${SBPI_LOG:-$T/console.log}
: >"$LOG"
QPID="" SIMPID="" SOCATPID=""
cleanup() {
	for p in $SOCATPID $SIMPID $QPID; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

# The batteries the guest asks for (bmssim scenarios, 4 cells).
cat >"$T/healthy.scn" <<'EOF'
0 all cells 3.30,3.31,3.29,3.301 # 3.301: the tag guest.sh waits for
0 all temp 20
0 all current -2
EOF
cat >"$T/lowcell.scn" <<'EOF'
0 all cells 3.30,3.31,3.29,3.302
0 all temp 20
0 all current -20
8 1 cell 2 2.75
14 1 cell 2 2.40
EOF
cat >"$T/highcell.scn" <<'EOF'
0 all cells 3.30,3.31,3.29,3.303
0 all temp 20
0 all current 2
8 1 cell 3 3.80
EOF

stop_sim() {
	for p in $SOCATPID $SIMPID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	SOCATPID="" SIMPID=""
}

# start_sim NAME: bmssim with NAME.scn, its pty joined to the adapter.
start_sim() {
	stop_sim
	[ "$1" != none ] || return 0
	[ -f "$T/$1.scn" ] || die "the guest asked for an unknown battery '$1'"
	"$SIM" --cells 4 --scenario "$T/$1.scn" --state-file "$T/sim.json" \
		>"$T/sim.out" 2>>"$T/sim.err" &
	SIMPID=$!
	for _ in $(seq 100); do
		grep -qx READY "$T/sim.out" && break
		sleep 0.05
	done
	pty=$(awk '$1 == "PTY" { print $2; exit }' "$T/sim.out")
	[ -n "$pty" ] || die "bmssim did not start: $(cat "$T/sim.err")"
	socat "UNIX-CONNECT:$T/usb" "FILE:$pty,rawer" 2>>"$T/socat.err" &
	SOCATPID=$!
}

# qemu waits (wait=on) until the console's socket has its reader.
qs=0
t_boot=$(ms)
timeout -k 10 "$TIMEOUT" $QEMU -M raspi3b -display none -no-reboot \
	-kernel "$A/Image" -dtb "$A/dtb" -initrd "$A/initramfs.cpio.gz" \
	-append "console=ttyAMA0 panic=-1 quiet loglevel=4 rdinit=/init sbpi_scenarios=$(echo $SCENARIOS | tr " " ,)" \
	-chardev socket,id=con,path="$T/con",server=on,wait=on \
	-serial chardev:con \
	-chardev socket,id=u,path="$T/usb",server=on,wait=off \
	-device usb-serial,bus=usb-bus.0,chardev=u,serial=SMALLBMS001,always-plugged=on \
	</dev/null >"$T/qemu.out" 2>&1 &
QPID=$!
for _ in $(seq 100); do
	[ -S "$T/con" ] && break
	sleep 0.05
done
coproc CON { socat "UNIX-CONNECT:$T/con" STDIO 2>/dev/null; }

result="" booted="" ready=""
declare -A state=()
deadline=$((SECONDS + TIMEOUT))
while [ $SECONDS -lt $deadline ]; do
	line=""
	IFS= read -r -t 5 -u "${CON[0]}" line || { kill -0 "$QPID" 2>/dev/null || break; continue; }
	line=${line%$'\r'}
	printf '%s\n' "$line" >>"$LOG"
	case $line in
	"SBPI-SIM "*)
		start_sim "${line#SBPI-SIM }"
		;;
	"SBPI-BOOTED "*) booted=$(($(ms) - t_boot)) && echo "$line" ;;
	"SBPI-READY "*) ready=$(($(ms) - t_boot)) && echo "$line" ;;
	"SBPI-BEGIN "*) echo "pi: === ${line#SBPI-BEGIN }" ;;
	"SBPI-PASS "* | "SBPI-FAIL "*)
		set -- ${line#SBPI-}
		state[$2]=$1
		echo "pi: $1: $2 (${3:-?} ms)"
		;;
	"SBPI-RESULT "*)
		result=${line#SBPI-RESULT }
		break
		;;
	"# "* | "FAIL: "* | "--- "* | pin\ * | gpiochip*) echo "$line" ;;
	esac
done
kill "$QPID" 2>/dev/null || true
wait "$QPID" 2>/dev/null || qs=$?
total=$(($(ms) - t_boot))

n=0 pass=0 failed=0
for s in $SCENARIOS; do
	n=$((n + 1))
	case ${state[$s]:-} in
	PASS) pass=$((pass + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
why=""
if [ -z "$result" ]; then
	why="the guest reported no result (qemu status $qs; timeout ${TIMEOUT} s)"
elif [ "$result" != "$failed" ]; then
	why="the guest's result ($result) does not match its scenario lines ($failed failed)"
fi
if [ -n "$why" ] || [ "$failed" -ne 0 ]; then
	[ -z "$why" ] || say "FAIL: $why"
	echo "--- qemu"
	cat "$T/qemu.out"
	echo "--- console (last 120 lines)"
	tail -n 120 "$LOG"
	[ ! -s "$T/sim.err" ] || { echo "--- bmssim"; tail -n 20 "$T/sim.err"; }
fi
say "boot: guest.sh started ${booted:-?} ms, /dev/ttyUSB0 ready ${ready:-?} ms after qemu started; the VM ran $total ms"
say "whole run $(($(ms) - T0)) ms"
say "$n scenarios, $pass passed, $failed failed"
[ -z "$why" ] && [ "$failed" -eq 0 ]
