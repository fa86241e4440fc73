#!/bin/sh
# SPDX-License-Identifier: MIT
# Discharge to the cutoff: a low cell turns the pre-alarm on; the load
# output opens only after the pre-alarm lead (30 s, its minimum); the
# pre-alarm then turns off; charging onto a cell still below the cutoff
# does not bring the load back; charging with every cell above the cutoff
# and its hysteresis does.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -20
3 all cell 1 3.050
6 all cell 1 2.750
40 all current 10
55 all cell 1 2.950
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 3s"
add_outputs
start_daemon

expect_status 5 '.allowed_to_discharge and .allowed_to_charge and .prealarm == false' \
	"both allowed at start"
expect_line 2 GPIO17 1
expect_line 2 GPIO25 0 # the active-low load output: allowed = low
expect_status 5 '.prealarm == true and .warnings == ["low_cell"] and .allowed_to_discharge' \
	"pre-alarm on at 3.05 V, load still allowed"
expect_line 2 GPIO22 1
# The cutoff is reached at 6 s; the pre-alarm came on at 3 s: the load
# opens 30 s after that, not before (the event says how long it was on).
expect_status 40 '.allowed_to_discharge == false and (.discharge_reasons | index("cell_undervoltage")) != null' \
	"load disconnect on the low cell"
lead=$(sed -n 's/.*SMALLBMS_EVENT=output_off.*SMALLBMS_DURATION=\([0-9]*\).*/\1/p' \
	"$T/daemon.log" | head -n 1)
[ -n "$lead" ] && [ "$lead" -ge 30 ] && [ "$lead" -le 32 ] ||
	fail "the load opened after a pre-alarm of '${lead}' s, not 30 s"
note "ok: the pre-alarm had been on for $lead s"
expect_line 2 GPIO17 0
expect_line 2 GPIO25 1
expect_line 2 GPIO23 0 # load-and-charge follows
status_is '.prealarm == false' || fail "pre-alarm must turn off when ATD opens"
expect_line 2 GPIO22 0
status_is '.allowed_to_charge == true' || fail "charging must stay allowed"
grep -q 'SMALLBMS_EVENT=output_off' "$T/daemon.log" ||
	fail "no output_off event logged"
grep -q 'SMALLBMS_REASON=cell_undervoltage' "$T/daemon.log" ||
	fail "journal fields missing: $(grep -i 'disconnect' "$T/daemon.log" | head -3)"
# Charging from 40 s, the cell still at 2.75 V: the load stays off.
expect_status 20 '.charging == true' "charging detected"
status_is '.allowed_to_discharge == false' ||
	fail "the load came back onto a cell below the cutoff"
# At 55 s the cell is at 2.95 V (above 2.80 + 0.10 V) while charging:
# the load comes back after the restore delay.
expect_status 20 '.allowed_to_discharge == true' "load back on when charging"
expect_line 2 GPIO17 1
