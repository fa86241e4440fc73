#!/bin/sh
# SPDX-License-Identifier: MIT
# The daemon finds its adapter by USB serial number (the iSerial qemu was
# given, $SBVM_USB_SERIAL), through libserialport's port list, with no
# device path in the configuration -- and reads the battery through it.
. "$(dirname "$0")/../lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.301,3.322,3.287,3.310
0 all temp 21.5
SCN
start_sim --cells 4 --scenario "$T/scenario"
mkdir -p "$T/run" "$T/state"
cat >"$T/smallbms.conf" <<CONF
[general]
socket = $SOCK
state_dir = $T/state
poll_interval = 250ms
dry_run = yes
[port usb]
usb_serial = $SBVM_USB_SERIAL
protocol = jbd
CONF
start_daemon
expect_status 30 '.stale == false and .batteries == 1' "battery read"
grep -q "/dev/ttyUSB0 open (serialport" "$T/daemon.log" ||
	fail "the daemon did not open /dev/ttyUSB0 with libserialport"
status_is '.min_cell_voltage == 3.287 and .max_cell_voltage == 3.322' ||
	fail "cells not as simulated"
note "ok: adapter $SBVM_USB_SERIAL found by its USB serial number"
