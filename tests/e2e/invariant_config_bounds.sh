#!/bin/sh
# SPDX-License-Identifier: MIT
# I6 and I3: protection settings that could defeat the protection are
# configuration errors. `smallbmsd -t -c FILE` refuses each one with
# FILE:LINE: key: 'value' is out of range (..) and exits non-zero:
# prealarm_lead below 30 s, cell_overvoltage above 3.80 V, cell_undervoltage
# above 3.00 V, charge_temp_low below 0 C, charge_temp_high above 60 C,
# comm_loss_charge above 60 s, comm_loss_load above 300 s, restore_delay
# below 1 s. prealarm_cell in
# [protection] is refused too: it is a run-time setting, one owner per
# parameter. The limits themselves are accepted. A refused file never
# starts a daemon with those values. And no other setting stretches the
# bounded comm-loss timeouts: with stale_after = 30s, a pack that goes
# silent still opens ATC after comm_loss_charge (2 s) and ATD after
# comm_loss_load (4 s), counted from its last good reading.
. "$(dirname "$0")/lib.sh"

# conf NAME LINES...: a configuration whose [protection] section holds
# LINES, the first of them on line 7.
conf() {
	f="$T/$1.conf"
	shift
	{
		echo "[general]"
		echo "socket = $T/run/smallbms.sock"
		echo "[port a]"
		echo "device = /dev/ttyUSB0"
		echo "protocol = jbd"
		echo "[protection]"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

# refused KEY VALUE: alone on line 7, the value is out of range there.
refused() {
	conf "$1" "$1 = $2"
	if "$DAEMON" -t -c "$T/$1.conf" >"$T/out" 2>&1; then
		fail "$1 = $2 was accepted"
	fi
	grep -qF "$T/$1.conf:7: $1: '$2' is out of range (" "$T/out" ||
		fail "$1 = $2: not reported as FILE:7: out of range: $(cat "$T/out")"
	note "ok: $(grep -F "$1.conf:7:" "$T/out" | sed "s|$T/||")"
}

refused prealarm_lead 0s
refused prealarm_lead 29s
refused cell_overvoltage 4.00V
refused cell_undervoltage 3.10V
refused charge_temp_low -40C
refused charge_temp_high 70C
refused comm_loss_charge 1h
refused comm_loss_load 10m
refused restore_delay 0s

conf prealarm_cell "prealarm_cell = 3.50V"
if "$DAEMON" -t -c "$T/prealarm_cell.conf" >"$T/out" 2>&1; then
	fail "[protection] prealarm_cell was accepted"
fi
grep -qF "$T/prealarm_cell.conf:7: prealarm_cell is a run-time setting" "$T/out" ||
	fail "[protection] prealarm_cell not refused as a run-time setting: $(cat "$T/out")"
note "ok: $(grep -F "prealarm_cell.conf:7:" "$T/out" | sed "s|$T/||")"

# Every limit itself is valid, all at once.
conf limits "prealarm_lead = 30s" "cell_overvoltage = 3.80V" \
	"cell_undervoltage = 3.00V" \
	"charge_temp_low = 0C" "charge_temp_high = 60C" \
	"comm_loss_charge = 60s" "comm_loss_load = 300s" "restore_delay = 1s"
"$DAEMON" -t -c "$T/limits.conf" >"$T/out" 2>&1 ||
	fail "the limits themselves were refused: $(cat "$T/out")"
note "ok: the limits themselves are accepted"

# stale_after does not lengthen comm loss.
cat >"$T/scenario" <<'SCN'
0 all current -2
3 all silent
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 30s"
add_outputs
start_daemon
expect_status 4 '.allowed_to_charge and .allowed_to_discharge' "both allowed"
expect_step 10 3
expect_status 3 '.allowed_to_charge == false and .charge_reasons == ["comm_loss"]' \
	"ATC open 2 s after the last good reading, stale_after 30 s notwithstanding"
expect_status 3 '.allowed_to_discharge == false and .discharge_reasons == ["comm_loss"]' \
	"ATD open 4 s after the last good reading"
expect_line 1 GPIO27 0
expect_line 1 GPIO17 0
