#!/bin/sh
# SPDX-License-Identifier: MIT
# guest.sh ENVFILE - the second stage inside the VM, run by tests/vm/init
# in the chroot of the host's root (read-only 9p under a tmpfs overlay).
# Creates the gpio-sim chip that stands in for the Raspberry Pi header,
# waits for the emulated USB-serial adapter, then runs the scenario
# script. Its exit status is the scenario's.
set -eu
. "$1"

say() { echo "sbvm: $*"; }

# A Raspberry Pi's header lines, named as the Pi's gpiochip0 names them
# (GPIO0..GPIO27), so the daemon finds them by name as it does on a Pi.
make_chip() {
	g=/sys/kernel/config/gpio-sim/pi
	mkdir "$g" "$g/bank0"
	echo 28 >"$g/bank0/num_lines"
	[ ! -e "$g/bank0/label" ] || echo pinctrl-bcm2711 >"$g/bank0/label"
	# One mkdir for all lines: every program started costs ~0.1 s here.
	dirs="" i=0
	while [ $i -lt 28 ]; do
		dirs="$dirs $g/bank0/line$i"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086 # a list of paths without blanks
	mkdir $dirs
	i=0
	while [ $i -lt 28 ]; do
		echo "GPIO$i" >"$g/bank0/line$i/name"
		i=$((i + 1))
	done
	echo 1 >"$g/live"
	read -r dev <"$g/dev_name"
	read -r chip <"$g/bank0/chip_name"
	[ -d "/sys/devices/platform/$dev/$chip" ] ||
		{ say "gpio-sim: /sys/devices/platform/$dev/$chip missing"; exit 1; }
	mkdir -p /run/sbvm
	# Name -> offset, as configured (read back), for lib.sh's sim_offset.
	for d in "$g"/bank0/line*; do
		read -r name <"$d/name"
		echo "$name ${d##*/line}"
	done >/run/sbvm/lines
	# The global GPIO number of line 0, for the kernel's gpio trace events
	# ("gpiochip0: GPIOs 996-1023, parent: platform/gpio-sim.0, ...").
	base=""
	while read -r c _ range _; do
		[ "$c" != "$chip:" ] || base=${range%%-*}
	done </sys/kernel/debug/gpio
	[ -n "$base" ] || { say "gpio-sim: no base for $chip in debugfs"; exit 1; }
	{
		echo "SBVM_SIM_BASE=$base"
		echo "SBVM_SIM_CONFIG=$g"
		echo "SBVM_SIM_DEV=$dev"
		echo "SBVM_SIM_CHIP=$chip"
		echo "SBVM_SIM_SYSFS=/sys/devices/platform/$dev/$chip"
	} >/run/sbvm/gpio-sim.env
	say "gpio-sim: $chip ($dev), 28 lines GPIO0..GPIO27"
}

# USB enumeration is asynchronous: the adapter appears a moment after
# the modules are loaded.
wait_adapter() {
	read -r t0 _ </proc/uptime
	t0=${t0%.*}
	while [ ! -c /dev/ttyUSB0 ]; do
		read -r now _ </proc/uptime
		[ $((${now%.*} - t0)) -lt 15 ] ||
			{ say "no /dev/ttyUSB0 after 15 s"; exit 1; }
		sleep 0.05
	done
	read -r now _ </proc/uptime
	say "USB-serial adapter: /dev/ttyUSB0 (uptime ${now} s)"
}

# Every value a program writes to a line is recorded by the kernel's gpio
# trace events, with a timestamp and the writer: scenarios read what the
# daemon did, even where gpio-sim forgets it (a released line falls back
# to its pull).
start_trace() {
	mount -t debugfs nodev /sys/kernel/debug
	mount -t tracefs nodev /sys/kernel/tracing
	tr=/sys/kernel/tracing
	echo 4096 >"$tr/buffer_size_kb"
	echo 1 >"$tr/events/gpio/gpio_value/enable"
	echo 1 >"$tr/events/gpio/gpio_direction/enable"
	: >"$tr/trace"
}

# The kernel's random pool is not initialised this early in a VM without
# a hardware RNG: the first read of /dev/urandom then runs the jitter
# entropy generator, a second or more under TCG. Programs that read it
# once at start (jansson's hash seed: smallbmsd, bmssim -- the latter
# between starting its clock and printing READY) would pay it in the
# middle of a scenario's timing. Pay it here, once.
init_random() {
	read -r t0 _ </proc/uptime
	head -c 1 /dev/urandom >/dev/null
	read -r t1 _ </proc/uptime
	say "random pool ready (first /dev/urandom read: uptime $t0 -> $t1 s)"
}

start_trace
init_random
make_chip
wait_adapter
export SBVM_ROOT SBVM_SBINDIR SBVM_BINDIR SBVM_USB_SERIAL top_srcdir top_builddir
cd /tmp
say "running $SBVM_SCRIPT"
echo "SBVM-SCRIPT-BEGIN"
# A scenario that hangs is stopped here, with its logs, before the outer
# timeout kills the whole VM.
status=0
timeout -k 5 "$SBVM_SCRIPT_TIMEOUT" sh "$SBVM_SCRIPT" || status=$?
echo "SBVM-SCRIPT-END $status"
[ $status -ne 124 ] || say "the scenario timed out after ${SBVM_SCRIPT_TIMEOUT}s"
exit $status
