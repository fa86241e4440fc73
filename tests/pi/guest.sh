#!/bin/sh
# SPDX-License-Identifier: MIT
# guest.sh - make check-pi's scenarios, inside the emulated Raspberry Pi 3 B
# (busybox sh; run by tests/pi/init, all in one boot). The arm64 smallbmsd
# drives the Pi's own GPIO driver (pinctrl-bcm2835, /dev/gpiochip0, lines
# named GPIO17, GPIO27, ... from the device tree) and reads the battery
# through /dev/ttyUSB0: an emulated FTDI adapter on the dwc2 USB host whose
# far end is a bmssim on the host.
#
# Every line state asserted is read back from the kernel:
#   pin_state GPIO17   "FUNCTION LEVEL" from the pinctrl pin dump
#                      (/sys/kernel/debug/pinctrl/*/pins: gpio_in/gpio_out
#                      and the level the controller reads, hi/lo)
#   line_user GPIO17   the consumer gpiolib has (/sys/kernel/debug/gpio)
#   levels GPIO17      what smallbmsd wrote, in order (gpio_value trace)
#
# The battery: "sim NAME TAG" prints "SBPI-SIM NAME" on the console; the
# host (check-pi.sh) restarts bmssim with that scenario, whose cell 4 reads
# TAG volts (the guest waits for it: no answer channel is needed). Per scenario the guest prints
# "SBPI-PASS NAME MS" or "SBPI-FAIL NAME: why"; its exit status is the
# number of failed scenarios.
set -u
export LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu
DAEMON=/usr/sbin/smallbmsd
CTL=/usr/bin/smallbmsctl
T=/tmp/sbpi
SOCK=$T/smallbms.sock
FAILED=0

ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
note() { echo "# $*"; }

# --- the kernel's view of the lines -----------------------------------

PINS=""
for f in /sys/kernel/debug/pinctrl/*bcm2835*/pins; do
	[ -e "$f" ] && PINS=$f && break
done
GPIO_BASE=$(sed -n 's/^gpiochip[0-9]*: GPIOs \([0-9]*\)-.*pinctrl-bcm2835.*/\1/p' \
	/sys/kernel/debug/gpio | head -n 1)

# pin_state GPIO17: "gpio_out hi" (function, level read by the controller).
pin_state() {
	n=${1#GPIO}
	sed -n "s/^pin $n (.*function \([a-z_0-9]*\) in \([a-z]*\);.*/\1 \2/p" "$PINS"
}
# pin_is GPIO17 1|0: an output driven at that level.
pin_is() {
	case $2 in 1) want="gpio_out hi" ;; 0) want="gpio_out lo" ;; esac
	[ "$(pin_state "$1")" = "$want" ]
}
pins_are() {
	for kv in $1; do pin_is "${kv%=*}" "${kv#*=}" || return 1; done
}
pins_now() {
	for kv in $1; do printf '%s=[%s] ' "${kv%=*}" "$(pin_state "${kv%=*}")"; done
}
# line_user GPIO17: the consumer gpiolib records ("-" when free).
line_user() {
	u=$(grep "($1 *|" /sys/kernel/debug/gpio | sed 's/.*|\([^)]*\)).*/\1/; s/ *$//')
	echo "${u:--}"
}

# levels GPIO17: the levels smallbmsd wrote (gpio_value trace), repeats
# folded ("0 1 0": requested low, driven high, low again).
levels() {
	g=$((GPIO_BASE + ${1#GPIO}))
	awk -v g="$g" '$0 ~ /gpio_value: / && $(NF - 2) == g && $(NF - 1) == "set" &&
		index($1, "smallbmsd-") == 1 { if ($NF != last) { printf "%s%s", sep, $NF; sep = " " }
		last = $NF } END { print "" }' /sys/kernel/tracing/trace
}
# directions GPIO17: the directions smallbmsd set (gpio_direction trace).
directions() {
	g=$((GPIO_BASE + ${1#GPIO}))
	awk -v g="$g" '$0 ~ /gpio_direction: / && $(NF - 2) == g &&
		index($1, "smallbmsd-") == 1 { printf "%s%s", sep, $(NF - 1); sep = " " }
		END { print "" }' /sys/kernel/tracing/trace
}
# latch_is "GPIO17=0 ..." WHAT: released pins (gpio_in) read these levels.
# QEMU's bcm2835 model returns the output latch (the last level written)
# for an input too: it has no pulls and no outside world. A real Pi reads
# the pin (the pull and the wiring) there.
latch_is() {
	for kv in $1; do
		[ "$(pin_state "${kv%=*}")" = "gpio_in $(echo "${kv#*=}" | sed 's/1/hi/; s/0/lo/')" ] ||
			fail "$2: want $1, have $(pins_now "$1")"
	done
	note "ok: latched $1 ($2)"
}
last_level() { levels "$1" | awk '{ print $NF }'; }

# --- deadlines and failures -------------------------------------------

# wait_until SECONDS COMMAND..., holds SECONDS COMMAND...: polled every
# 50 ms (tests/lib/poll.sh, put next to this file in the initramfs by
# build-assets.sh).
POLL_S=0.05
# shellcheck source=tests/lib/poll.sh
. /poll.sh
# A failed check ends the scenario (a subshell): exit 1.
fail() {
	echo "FAIL: $*"
	[ ! -f $T/daemon.log ] || { echo "--- daemon.log"; tail -n 30 $T/daemon.log; }
	echo "--- pins"
	grep -E '^pin (17|22|23|24|25|27) ' "$PINS"
	exit 1
}
expect_pins() {
	wait_until "$1" pins_are "$2" || fail "${3:-pins}: want $2, have $(pins_now "$2")"
	note "ok: $(pins_now "$2")${3:+($3)}"
}
expect_levels() {
	have=$(levels "$1")
	[ "$have" = "$2" ] || fail "${3:-$1}: smallbmsd wrote '$have' to $1, want '$2'"
	note "ok: smallbmsd wrote $1: $2${3:+ ($3)}"
}
# released GPIO17...: no consumer, and the pin back to gpio_in.
released() {
	for l in "$@"; do
		[ "$(line_user "$l")" = - ] || return 1
		[ "$(pin_state "$l" | cut -d' ' -f1)" = gpio_in ] || return 1
	done
}
expect_released() {
	wait_until 5 released "$@" ||
		fail "not released: $(for l in "$@"; do printf '%s=[%s %s] ' "$l" "$(line_user "$l")" "$(pin_state "$l")"; done)"
	note "ok: released, pins back to gpio_in: $*"
}

# --- the battery and the daemon ---------------------------------------

# sim NAME TAG: ask the host for the battery NAME; its cell 4 reads TAG
# volts at first (a different tag per battery), so battery_is TAG proves
# that the daemon reads this battery, not the previous one.
sim() {
	echo "SBPI-SIM $1"
	TAG=$2
}
battery_is_tag() { $CTL --socket $SOCK battery 1 --json | tr -d ' \n' | grep -q ",$TAG\]"; }
battery_read() {
	$CTL --socket $SOCK status --json | grep -q '"stale": *false' && battery_is_tag
}

# config "NAME FUNCTION LINE [active_low]"...: one [output] per argument.
config() {
	{
		printf '[general]\nsocket = %s\nstate_dir = %s/state\npoll_interval = 250ms\n' "$SOCK" "$T"
		printf '[port usb]\ndevice = /dev/ttyUSB0\nprotocol = jbd\n'
		for o in "$@"; do
			echo "$o" | {
				read -r name fn line al
				printf '[output %s]\nfunction = %s\nline = %s\n' "$name" "$fn" "$line"
				[ -z "$al" ] || echo "active_low = yes"
			}
		done
	} >$T/smallbms.conf
}
# The five outputs of startup, sigterm and lowcell.
config5() {
	config "load load GPIO17" "charge charge GPIO27" "prealarm prealarm GPIO23" \
		"multiplus load-and-charge GPIO24" "inverter load GPIO25 active_low"
}

# start_daemon: smallbmsd in the background, under a wrapper that keeps its
# exit status in $T/daemon.status (a later scenario, another subshell,
# stops it).
start_daemon() {
	$DAEMON -t -c $T/smallbms.conf >$T/check.out 2>&1 ||
		fail "config refused: $(cat $T/check.out)"
	rm -f $T/daemon.pid $T/daemon.status
	# A new daemon: levels reads what this one (and --safe-state) wrote.
	: >/sys/kernel/tracing/trace
	(
		$DAEMON -c $T/smallbms.conf >>$T/daemon.log 2>&1 &
		echo $! >$T/daemon.pid
		wait $!
		echo $? >$T/daemon.status
	) &
	wait_until 5 test -s $T/daemon.pid || fail "no daemon pid"
	wait_until 20 $CTL --socket $SOCK status --json || fail "daemon did not answer"
}
daemon_running() { [ -s $T/daemon.pid ] && [ ! -e $T/daemon.status ]; }
stop_daemon() {
	daemon_running || fail "no daemon running"
	kill -s "$1" "$(cat $T/daemon.pid)"
	wait_until 10 test -s $T/daemon.status || fail "smallbmsd did not exit on SIG$1"
	DSTATUS=$(cat $T/daemon.status)
	note "daemon exited with status $DSTATUS after SIG$1"
}

# run NAME: one scenario, in a subshell (a failure ends it, not the boot).
run() {
	t0=$(ms)
	echo "SBPI-BEGIN $1"
	("sc_$1")
	if [ $? -eq 0 ]; then
		echo "SBPI-PASS $1 $(($(ms) - t0)) ms"
	else
		FAILED=$((FAILED + 1))
		echo "SBPI-FAIL $1 $(($(ms) - t0)) ms"
	fi
}

# --- the scenarios ----------------------------------------------------

# Outputs at start-up: every output requested not allowed before any
# battery data (the active-low one high), held so, then driven once read.
# The pins are at their allowed level before the daemon starts.
sc_startup() {
	# First every latch at the ALLOWED level (QEMU's model keeps the last
	# level written; at power-on it is 0, which is "not allowed" for an
	# active-high output): then only the daemon's own request can make a
	# pin read not allowed. --safe-state with the polarities inverted
	# writes exactly that.
	config "load load GPIO17 active_low" "charge charge GPIO27 active_low" \
		"prealarm prealarm GPIO23 active_low" \
		"multiplus load-and-charge GPIO24 active_low" "inverter load GPIO25"
	$DAEMON --safe-state -c $T/smallbms.conf >$T/safe.log 2>&1 ||
		fail "presetting the latches failed: $(cat $T/safe.log)"
	latch_is "GPIO17=1 GPIO27=1 GPIO23=1 GPIO24=1 GPIO25=0" "before the daemon: every pin at allowed"
	config5
	start_daemon
	SAFE="GPIO17=0 GPIO27=0 GPIO23=0 GPIO24=0 GPIO25=1"
	expect_pins 5 "$SAFE" "no battery data: not allowed"
	holds 3 pins_are "$SAFE" || fail "left the safe state without data: $(pins_now "$SAFE")"
	note "ok: held 3 s without battery data"
	for lo in GPIO17=load GPIO27=charge GPIO23=prealarm GPIO24=multiplus GPIO25=inverter; do
		[ "$(line_user "${lo%=*}")" = "smallbmsd:${lo#*=}" ] ||
			fail "${lo%=*}: consumer '$(line_user "${lo%=*}")', want smallbmsd:${lo#*=}"
	done
	note "ok: consumers smallbmsd:load, :charge, :prealarm, :multiplus, :inverter"
	sim healthy 3.301
	wait_until 30 battery_read || fail "battery never read"
	expect_pins 15 "GPIO17=1 GPIO27=1 GPIO23=0 GPIO24=1 GPIO25=0" "allowed once read"
	# A line requested at level 0 leaves no gpio_value event on this
	# kernel (one requested at 1 does): the pin dump above showed the
	# requested levels. Then one write each, to allowed.
	expect_levels GPIO17 "1"
	expect_levels GPIO27 "1"
	expect_levels GPIO24 "1"
	expect_levels GPIO23 ""
	expect_levels GPIO25 "1 0" "active-low: high when not allowed, low when allowed"
}

# SIGTERM (continues from startup's daemon): every line written not
# allowed, exit 0, released (the bcm2835 driver returns a freed pin to
# gpio_in: the last level is read from the trace).
sc_sigterm() {
	daemon_running || fail "no daemon from the startup scenario"
	pins_are "GPIO17=1 GPIO27=1 GPIO24=1 GPIO25=0" || fail "not all allowed before SIGTERM: $(pins_now "GPIO17=1 GPIO25=0")"
	stop_daemon TERM
	[ "$DSTATUS" -eq 0 ] || fail "exit status $DSTATUS on SIGTERM"
	expect_levels GPIO17 "1 0"
	expect_levels GPIO27 "1 0"
	expect_levels GPIO24 "1 0"
	expect_levels GPIO25 "1 0 1" "active-low"
	expect_released GPIO17 GPIO27 GPIO23 GPIO24 GPIO25
	# QEMU's model reads an input as the last level written (no pulls).
	latch_is "GPIO17=0 GPIO27=0 GPIO24=0 GPIO25=1" "after SIGTERM"
}

# Low cell: 2.75 V turns the pre-alarm on at once while the load stays
# (the lead is 30 s); 2.40 V (below cell_undervoltage_hard) opens the load
# within 2 s.
sc_lowcell() {
	config5
	sim lowcell 3.302
	start_daemon
	wait_until 30 battery_read || fail "battery never read"
	expect_pins 10 "GPIO17=1 GPIO27=1 GPIO23=0 GPIO25=0" "healthy"
	expect_pins 15 "GPIO23=1" "2.75 V cell: pre-alarm on"
	pins_are "GPIO17=1 GPIO25=0" || fail "load opened before the lead: $(pins_now "GPIO17=1 GPIO25=0")"
	note "ok: load still allowed (pre-alarm lead)"
	t=$(ms)
	expect_pins 15 "GPIO17=0 GPIO25=1" "2.40 V cell: load opened"
	note "load opened $(($(ms) - t)) ms after the pre-alarm was seen (the 2.40 V step is 6 s after the 2.75 V one)"
	pin_is GPIO27 1 || fail "charge went off on a low cell"
	$CTL --socket $SOCK status --json | grep -q cell_undervoltage_hard ||
		fail "no cell_undervoltage_hard reason: $($CTL --socket $SOCK status --json)"
	note "ok: reason cell_undervoltage_hard (not the 30 s pre-alarm lead)"
	expect_levels GPIO17 "1 0"
	expect_levels GPIO23 "1 0" "pre-alarm on, off once the load is disconnected"
	expect_levels GPIO25 "1 0 1" "active-low load"
	stop_daemon TERM
}

# Charge off on a high cell: charge and load-and-charge not allowed, the
# active-low charge output high; the load untouched.
sc_chargeoff() {
	config "load load GPIO17" "charge charge GPIO27" \
		"multiplus load-and-charge GPIO24" "charger charge GPIO22 active_low"
	sim highcell 3.303
	start_daemon
	wait_until 30 battery_read || fail "battery never read"
	expect_pins 10 "GPIO17=1 GPIO27=1 GPIO24=1 GPIO22=0" "all allowed"
	expect_pins 15 "GPIO27=0 GPIO24=0 GPIO22=1" "3.80 V cell: charge off"
	pin_is GPIO17 1 || fail "the load opened on a high cell"
	expect_levels GPIO27 "1 0"
	expect_levels GPIO24 "1 0"
	expect_levels GPIO22 "1 0 1" "active-low charge"
	expect_levels GPIO17 "1" "load untouched"
}

# Safe state (continues from chargeoff's daemon, the load allowed): after
# SIGKILL nothing is written (the kernel frees the lines, the level stays
# latched in QEMU's model); then smallbmsd --safe-state requests every
# line as an output at not allowed (a request's level is no gpio_value
# event: its gpio_direction events and the latched levels after it show
# it) and releases them.
sc_safestate() {
	daemon_running || fail "no daemon from the chargeoff scenario"
	pin_is GPIO17 1 || fail "load not allowed before SIGKILL: [$(pin_state GPIO17)]"
	stop_daemon KILL
	[ "$(last_level GPIO17)" = 1 ] || fail "GPIO17: last written $(last_level GPIO17) before the kill"
	expect_released GPIO17 GPIO27 GPIO24 GPIO22
	latch_is "GPIO17=1 GPIO22=1" "killed: the load left allowed, nobody wrote since"
	: >/sys/kernel/tracing/trace
	$DAEMON --safe-state -c $T/smallbms.conf >$T/safe.log 2>&1 ||
		fail "smallbmsd --safe-state failed: $(cat $T/safe.log)"
	cat $T/safe.log
	for l in GPIO17 GPIO27 GPIO24 GPIO22; do
		[ "$(directions "$l")" = out ] ||
			fail "$l: --safe-state set direction '$(directions "$l")', want out"
	done
	note "ok: --safe-state requested GPIO17 GPIO27 GPIO24 GPIO22 as outputs"
	latch_is "GPIO17=0 GPIO27=0 GPIO24=0 GPIO22=1" "after --safe-state"
	expect_released GPIO17 GPIO27 GPIO24 GPIO22
}

# --- setup ------------------------------------------------------------

echo "SBPI-BOOTED $(ms) ms"
[ -n "$PINS" ] || { echo "SBPI-FAIL setup: no pinctrl-bcm2835 pin dump"; exit 125; }
[ -n "$GPIO_BASE" ] || { echo "SBPI-FAIL setup: no pinctrl-bcm2835 gpio chip"; exit 125; }
head -n 1 /sys/kernel/debug/gpio
grep -q '"GPIO17"\|GPIO17' /sys/kernel/debug/gpio 2>/dev/null ||
	note "gpio debugfs lists only requested lines"
echo 1 >/sys/kernel/tracing/events/gpio/gpio_value/enable
echo 1 >/sys/kernel/tracing/events/gpio/gpio_direction/enable
mkdir -p $T/state
i=0
while [ ! -e /dev/ttyUSB0 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -e /dev/ttyUSB0 ] || { echo "SBPI-FAIL setup: no /dev/ttyUSB0"; dmesg | tail -n 20; exit 125; }
echo "SBPI-READY $(ms) ms (/dev/ttyUSB0 there)"
head -c 16 /dev/urandom >/dev/null

for s in $(echo "${sbpi_scenarios:-startup,sigterm,lowcell,chargeoff,safestate}" | tr , " "); do
	run "$s"
	# startup's and chargeoff's daemon is the next scenario's; any other
	# left running (a failure) is killed: the next starts clean.
	case $s in
	startup | chargeoff) ;;
	*) ! daemon_running || kill -KILL "$(cat $T/daemon.pid)" ;;
	esac
done
exit "$FAILED"
