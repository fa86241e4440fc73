#!/bin/sh
# SPDX-License-Identifier: MIT
# A cell held at 2.70 V keeps the load off however the current changes
# (I2): the low-cell cutoff applies while charging (the load opens after
# the pre-alarm lead with charging detected), and once open the load stays
# off through charging detected (more than charge_detect_time, 10 s, above
# 0.5 A), discharging, charging again, and a cell at 2.85 V while charging
# (above the 2.80 V cutoff, below the 2.90 V = cutoff + hysteresis that
# recovery by charging needs), and a cell at 2.95 V while discharging
# (below the 3.20 V that needs no charging). It comes back only with the
# cell at 2.95 V and charging detected again: 10 s after the charge
# current starts, plus the restore delay.
. "$(dirname "$0")/../lib.sh"

make_by_id_link
write_config
add_output load load GPIO17
add_output prealarm prealarm GPIO23
short_protection 30 1 # the lead cannot be shorter (at least 30 s)
start_daemon

D=10           # cell 2 drops to 2.70 V, the bank charging at +5 A
C1=$((D + 34)) # discharging (-3 A), the cell still at 2.70 V
C2=$((C1 + 5)) # charging again (+5 A): detected at C2 + 10
C3=$((C2 + 13)) # cell 2 at 2.85 V, still charging
C4=$((C3 + 6))  # cell 2 at 2.95 V, discharging (-3 A)
C5=$((C4 + 5))  # charging (+5 A): the load comes back at C5 + 10 + restore
cat >"$T/scenario" <<SCN
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
0 all current 5
$D 1 cell 2 2.70
$C1 all current -3
$C2 all current 5
$C3 1 cell 2 2.85
$C4 1 cell 2 2.95
$C4 all current -3
$C5 all current 5
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 20 '.stale == false' "battery read"
expect_lines "$(sim_left $((D - 1)))" "GPIO17=1 GPIO23=0" \
	"load on, no pre-alarm, before t=$D s"
sim_before $D "the healthy battery"

# The cutoff while charging: pre-alarm at once, the load after the lead,
# charging detected all along.
expect_lines "$(sim_left $((D + 4)))" "GPIO23=1" "low cell: pre-alarm on"
expect_status "$(sim_left $((D + 20)))" '.charging == true' \
	"charging detected (+5 A for 10 s) with the cell at 2.70 V"
expect_lines "$(sim_left $((D + LEAD + 5)))" "GPIO17=0 GPIO23=0" \
	"load opened while charging"
t_pre=$(first_time GPIO23 1)
t_off=$(first_time GPIO17 0 "$t_pre")
awk -v a="$t_pre" -v b="$t_off" -v l="$LEAD" \
	'BEGIN { exit !(b - a >= l - 0.05 && b - a <= l + 3) }' ||
	fail "the load opened $(awk -v a="$t_pre" -v b="$t_off" \
		'BEGIN { print b - a }') s after the pre-alarm, not after $LEAD s"
status_is '.charging == true and .discharge_reasons == ["cell_undervoltage"]' ||
	fail "status: $(ctl status --json | jq -c '{charging, discharge_reasons}')"
note "ok: cutoff after the lead while charging (cell_undervoltage)"

# held: WHAT JQ UNTIL: the load stays off, with the status saying JQ,
# until scenario time UNTIL.
held() {
	expect_status "$(sim_left "$3")" "$2 and .discharge_reasons == [\"cell_undervoltage\"]" \
		"$1: $2"
	line_holds "$(sim_left "$3")" GPIO17 0 "$1"
}
held "charging, cell 2.70 V" '.charging == true' "$C1"
held "discharging, cell 2.70 V" '.charging == false and .current < 0' "$C2"
held "charging again, cell 2.70 V" '.charging == true' "$C3"
held "charging, cell 2.85 V" '.charging == true and .min_cell_voltage == 2.85' "$C4"
held "discharging, cell 2.95 V" '.charging == false and .min_cell_voltage == 2.95' "$C5"
held "charge current for less than 10 s, cell 2.95 V" \
	'.charging == false and .current > 0.5' $((C5 + 9))

# Charging detected with every cell at or above 2.90 V: the load is back.
expect_lines $((RESTORE + 8)) "GPIO17=1" "load back: cell 2.95 V, charging detected"
expect_delay "load back on" "$(first_time GPIO17 1 "$t_off")" "$C5" \
	10 $((10 + RESTORE + 3))
status_is '.charging == true and .discharge_reasons == []' ||
	fail "status: $(ctl status --json | jq -c '{charging, discharge_reasons}')"
expect_levels GPIO17 "0 1 0 1" "load: opened once, back once"
