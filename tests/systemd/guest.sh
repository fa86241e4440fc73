#!/bin/sh
# SPDX-License-Identifier: MIT
# make check-systemd, inside the VM: run by sbsd-test.service once the
# Debian root has booted with systemd as PID 1 and the smallbms package
# installed (disabled: the first scenario enables it). Scenarios do what a
# user does - systemctl, smallbmsctl, journalctl - against the real
# sandboxed unit, with a gpio-sim chip whose lines carry the Pi's names and
# the battery (bmssim) behind the emulated FTDI adapter. Each prints its
# transcript and one "scenario NAME: PASS|FAIL (N ms)" line; the last line
# is "systemd: N scenarios, N passed, N failed", and the count of failures
# goes out as in tests/vm (console line and the isa-debug-exit port).
set -u
S=/sbsd
U=smallbmsd
BY_ID=/dev/serial/by-id/usb-QEMU_QEMU_USB_SERIAL_SMALLBMS001-if00-port0
PASSED=0 FAILED=0 N=0

say() { echo "sbsd: $*"; }
ms() { echo $(($(date +%s%N) / 1000000)); }
report() {
	echo "SBVM-RESULT $1"
	sync
	printf "\\$(printf %03o "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
	sleep 60
}
# wait_until SECONDS COMMAND...: poll every 100 ms (tests/lib/poll.sh,
# copied next to this file by check-systemd.sh).
POLL_S=0.1
# shellcheck source=tests/lib/poll.sh
. $S/poll.sh
bad() { echo "FAIL: $*"; return 1; }

# --- the Pi's header on gpio-sim (as tests/vm/guest.sh) ----------------
make_chip() {
	g=/sys/kernel/config/gpio-sim/pi
	mkdir "$g" "$g/bank0" || return 1
	echo 28 >"$g/bank0/num_lines"
	i=0
	while [ $i -lt 28 ]; do
		mkdir "$g/bank0/line$i"
		echo "GPIO$i" >"$g/bank0/line$i/name"
		i=$((i + 1))
	done
	echo 1 >"$g/live"
	read -r dev <"$g/dev_name"
	read -r chip <"$g/bank0/chip_name"
	SYSFS=/sys/devices/platform/$dev/$chip
	CHIP=/dev/$chip
	udevadm settle -t 10
}
# value GPIO17: the level the daemon drives (the pull when released).
value() { cat "$SYSFS/sim_gpio${1#GPIO}/value"; }
line_is() { [ "$(value "$1")" = "$2" ]; }
lines_on() { line_is GPIO17 1 && line_is GPIO27 1; }
lines_off() { line_is GPIO17 0 && line_is GPIO27 0; }
status_text() { systemctl show -p StatusText --value $U; }
main_pid() { systemctl show -p MainPID --value $U; }
nrestarts() { systemctl show -p NRestarts --value $U; }

start_battery() {
	"$S/bmssim" --cells 4 --state-file /run/sim.json >/run/sim.out 2>/run/sim.err &
	wait_until 10 grep -q '^READY' /run/sim.out || return 1
	pty=$(awk '$1 == "PTY" { print $2; exit }' /run/sim.out)
	socat "FILE:/dev/ttyS1,rawer,b9600" "FILE:$pty,rawer" 2>/run/socat.log &
	sleep 0.5
}

write_config() {
	cat >/etc/smallbms/smallbms.conf <<CONF
[general]
poll_interval = 250ms
[port usb]
device = $BY_ID
protocol = jbd
[output load]
function = load
line = GPIO17
[output charge]
function = charge
line = GPIO27
[protection]
restore_delay = 1s
CONF
}

# scenario NAME FUNCTION: run it, time it, count it.
scenario() {
	N=$((N + 1))
	echo "=== scenario $1"
	t=$(ms)
	if "$2"; then
		PASSED=$((PASSED + 1))
		echo "scenario $1: PASS ($(($(ms) - t)) ms)"
	else
		FAILED=$((FAILED + 1))
		echo "scenario $1: FAIL ($(($(ms) - t)) ms)"
		systemctl status $U --no-pager -n 30 || true
	fi
}

# --- scenarios ------------------------------------------------------------
s_enable_now() {
	systemctl enable --now $U || bad "systemctl enable --now failed" || return 1
	wait_until 20 lines_on || bad "lines not allowed within 20 s" || return 1
	wait_until 5 sh -c "systemctl show -p StatusText --value $U | grep -q '^SoC [0-9.]*% · [0-9.]* V'" ||
		bad "no STATUS= readout: $(status_text)" || return 1
	systemctl status $U --no-pager -n 0 | sed -n '1,8p'
	pid=$(main_pid)
	[ "$(ps -o user= -p "$pid")" = smallbms ] || bad "not running as smallbms" || return 1
	grep -q '^CapEff:[[:space:]]*0*$' /proc/"$pid"/status || bad "capabilities: $(grep CapEff /proc/"$pid"/status)" || return 1
	echo "ok: active, STATUS=$(status_text); user smallbms, no capabilities; GPIO17=1 GPIO27=1"
}

s_gpio_permissions() {
	p=$(stat -c '%U:%G %a' "$CHIP")
	echo "$CHIP: $p"
	[ "$p" = "root:gpio 660" ] || bad "$CHIP is $p, not root:gpio 660 (60-smallbms-gpio.rules)"
}

s_smallbmsctl() {
	smallbmsctl status >/run/ctl.out || bad "smallbmsctl status as root" || return 1
	head -n 4 /run/ctl.out
	useradd -M -G smallbms alice 2>/dev/null
	useradd -M bob 2>/dev/null
	runuser -u alice -- smallbmsctl status >/dev/null || bad "alice (group smallbms) cannot read" || return 1
	rc=0
	runuser -u bob -- smallbmsctl status >/dev/null 2>&1 || rc=$?
	[ $rc -eq 4 ] || bad "bob (no group) got exit $rc, not 4" || return 1
	echo "ok: root and the smallbms group read; others exit 4"
}

s_catalog() {
	journalctl -b -u $U -x --no-pager >/run/journal.txt
	grep -q 'every battery has sent a complete reading' /run/journal.txt ||
		bad "no catalog text for the end of 'starting'" || return 1
	grep -B2 -A3 'every battery has sent a complete reading' /run/journal.txt | head -n 8
	echo "ok: journalctl -x explains the end of starting"
}

s_watchdog() {
	pid=$(main_pid)
	n0=$(nrestarts)
	kill -STOP "$pid"
	t0=$(ms)
	off="" back="" new=""
	while [ $(($(ms) - t0)) -lt 40000 ]; do
		now=$(($(ms) - t0))
		[ -n "$off" ] || lines_on || off=$now
		p=$(main_pid)
		[ -n "$new" ] || { [ "$p" != "$pid" ] && [ "$p" != 0 ] && new=$now; }
		[ -z "$new" ] || ! lines_on || { back=$now; break; }
		sleep 0.1
	done
	echo "SIGSTOP at 0 ms: lines not allowed at ${off:-never} ms, new MainPID at ${new:-never} ms, allowed again at ${back:-never} ms; NRestarts $n0 -> $(nrestarts)"
	journalctl -b -u $U --no-pager -o cat | grep -i -m 3 'watchdog' || true
	[ -n "$off" ] && [ "$off" -le 10000 ] || bad "lines not off within comm_loss_charge (10 s)" || return 1
	[ -n "$back" ] || bad "not restarted and allowed again within 40 s"
}

# DevicePolicy=closed: a process in the service's cgroup may open the
# adapter and the GPIO chip, and no other device (the kernel log and
# /dev/port here: major 1, not allowed).
s_device_policy() {
	cg=/sys/fs/cgroup/system.slice/$U.service
	[ -d "$cg" ] || bad "no cgroup $cg" || return 1
	# One shell in the service's cgroup tries each device; the error is
	# the shell's own message ("Operation not permitted" from the BPF).
	sh -c "echo \$\$ >$cg/cgroup.procs
		for d in $CHIP /dev/ttyUSB0 /dev/kmsg /dev/port; do
			if timeout 3 sh -c \": <\$d\" 2>/run/open.err; then echo \$d: open
			else echo \$d: \$(cat /run/open.err); fi
		done" >/run/policy.out 2>&1
	cat /run/policy.out
	grep -qx "$CHIP: open" /run/policy.out && grep -qx "/dev/ttyUSB0: open" /run/policy.out ||
		bad "the adapter or the chip cannot be opened in the unit's cgroup" || return 1
	[ "$(grep -c '^/dev/\(kmsg\|port\): .*Operation not permitted' /run/policy.out)" = 2 ] ||
		bad "another device could be opened in the unit's cgroup"
}

s_reload_restart_stop() {
	pid=$(main_pid)
	systemctl reload $U || bad "reload failed" || return 1
	t0=$(ms)
	while [ $(($(ms) - t0)) -lt 3000 ]; do
		lines_on || bad "a line dropped during reload" || return 1
		sleep 0.1
	done
	[ "$(main_pid)" = "$pid" ] || bad "reload changed MainPID" || return 1
	echo "ok: reload: same MainPID, lines held for 3 s"
	t0=$(ms)
	systemctl restart $U || bad "restart failed" || return 1
	wait_until 20 lines_on || bad "not allowed again within 20 s of restart" || return 1
	echo "ok: restart: allowed again after $(($(ms) - t0)) ms"
	systemctl stop $U || bad "stop failed" || return 1
	lines_off || bad "lines not off after stop: GPIO17=$(value GPIO17) GPIO27=$(value GPIO27)" || return 1
	echo "ok: stop: GPIO17=0 GPIO27=0"
}

# The adapter's driver registers after the service started (#19).
unload_ftdi() {
	rmmod ftdi_sio usbserial || return 1
	! grep -q ttyUSB /proc/devices
}
load_ftdi() {
	insmod "$S/modules/usbserial.ko" && insmod "$S/modules/ftdi_sio.ko"
}
s_boot_race_by_name() {
	# The old unit's rule, by a drop-in: the class by name.
	mkdir -p /run/systemd/system/$U.service.d
	printf '[Service]\nDeviceAllow=\nDeviceAllow=char-ttyUSB rw\nDeviceAllow=char-gpiochip rw\n' \
		>/run/systemd/system/$U.service.d/byname.conf
	systemctl daemon-reload
	unload_ftdi || bad "cannot unload ftdi_sio" || return 1
	systemctl start $U || bad "start failed" || return 1
	load_ftdi || bad "cannot load ftdi_sio" || return 1
	wait_until 20 sh -c "systemctl show -p StatusText --value $U | grep -q 'Operation not permitted'" ||
		bad "no EPERM in STATUS=: $(status_text)" || return 1
	echo "by name (the old unit): STATUS=$(status_text)"
	lines_off || bad "lines allowed without data" || return 1
	systemctl stop $U
	rm -r /run/systemd/system/$U.service.d
	systemctl daemon-reload
	echo "ok: the old rule reproduces the race, and STATUS= says EPERM"
}
s_boot_race() {
	unload_ftdi || bad "cannot unload ftdi_sio" || return 1
	systemctl start $U || bad "start failed" || return 1
	sleep 2
	echo "adapter driver not loaded: STATUS=$(status_text)"
	t0=$(ms)
	load_ftdi || bad "cannot load ftdi_sio" || return 1
	wait_until 40 lines_on || bad "not allowed within 40 s of the driver: $(status_text)" || return 1
	echo "ok: driver loaded after the start: allowed $(($(ms) - t0)) ms later, NRestarts $(nrestarts)"
}

say "systemd $(systemctl --version | head -n 1 | cut -d' ' -f2), kernel $(uname -r), up $(cut -d' ' -f1 /proc/uptime) s"
make_chip || { say "gpio-sim failed"; report 126; }
wait_until 20 test -e "$BY_ID" || { say "no $BY_ID"; report 126; }
start_battery || { say "bmssim failed: $(cat /run/sim.err)"; report 126; }
write_config
scenario enable-now s_enable_now
scenario gpio-permissions s_gpio_permissions
scenario smallbmsctl s_smallbmsctl
scenario catalog s_catalog
scenario device-policy s_device_policy
scenario watchdog s_watchdog
scenario reload-restart-stop s_reload_restart_stop
scenario boot-race-by-name s_boot_race_by_name
scenario boot-race s_boot_race
echo "systemd: $N scenarios, $PASSED passed, $FAILED failed"
report "$FAILED"
