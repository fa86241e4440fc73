#!/bin/sh
# SPDX-License-Identifier: MIT
# The real adapter path: the simulated battery on the guest's second UART,
# the daemon reading it through the emulated FTDI adapter (/dev/ttyUSB0,
# kernel ftdi_sio driver) with libserialport, found by the
# /dev/serial/by-id/ name udev would give it. smallbmsctl must report
# exactly what the simulator put on the wire.
. "$(dirname "$0")/../lib.sh"

# The adapter is the one qemu was told to emulate.
usbdev=$(readlink -f /sys/class/tty/ttyUSB0/device/../..)
read -r vid <"$usbdev/idVendor"
read -r pid <"$usbdev/idProduct"
read -r serial <"$usbdev/serial"
[ "$vid:$pid" = "0403:6001" ] || fail "ttyUSB0 is $vid:$pid, not an FT232 (0403:6001)"
[ "$serial" = "$SBVM_USB_SERIAL" ] ||
	fail "ttyUSB0's USB serial is '$serial', not '$SBVM_USB_SERIAL'"
[ "$(basename "$(readlink -f /sys/class/tty/ttyUSB0/device/driver)")" = ftdi_sio ] ||
	fail "ttyUSB0 is not driven by ftdi_sio"
note "ok: /dev/ttyUSB0 is an FT232 (ftdi_sio), USB serial $serial"

cat >"$T/scenario" <<'SCN'
0 all cells 3.301,3.322,3.287,3.310
0 all current -12.5
0 all temp 21.5
SCN
start_sim --cells 4 --capacity 100 --soc 80 --scenario "$T/scenario"
make_by_id_link
write_config "dry_run = yes"
start_daemon

expect_status 30 '.stale == false and .batteries == 1' "battery read, not stale"
wait_until 10 sim_is '.batteries[0].requests > 2' || fail "simulator saw no requests"

# The daemon opened the adapter itself, through libserialport.
grep -q "usb: /dev/ttyUSB0 open (serialport" "$T/daemon.log" ||
	fail "the daemon did not open /dev/ttyUSB0 with libserialport"
held=no
for fd in /proc/"$DAEMON_PID"/fd/*; do
	[ "$(readlink "$fd")" != /dev/ttyUSB0 ] || held=yes
done
[ $held = yes ] || fail "the daemon does not hold /dev/ttyUSB0 open"
note "ok: the daemon reads $BY_ID -> /dev/ttyUSB0 through libserialport"

sim=$(cat "$T/sim.json")
st=$(ctl status --json)
bat=$(ctl battery 1 --json)
note "status: $st"
echo "$st" | jq -e '.min_cell_voltage == 3.287 and .max_cell_voltage == 3.322' \
	>/dev/null || fail "min/max cell"
echo "$st" | jq -e '.current == -12.5' >/dev/null || fail "current"
echo "$st" | jq -e '.min_temperature == 21.5 and .max_temperature == 21.5' \
	>/dev/null || fail "temperature"
v=$(echo "$sim" | jq '.batteries[0].voltage')
echo "$st" | jq -e --argjson v "$v" '.voltage == $v' >/dev/null ||
	fail "voltage $(echo "$st" | jq .voltage) != simulator $v"
echo "$bat" | jq -e '.cells == [3.301,3.322,3.287,3.31]' >/dev/null ||
	fail "cells: $(echo "$bat" | jq -c .cells)"
echo "$bat" | jq -e '.device | test("ttyUSB0|by-id")' >/dev/null ||
	fail "battery device: $(echo "$bat" | jq -c .device)"
note "ok: status matches the simulator, read through the USB adapter"
