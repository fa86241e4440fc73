#!/bin/sh
# SPDX-License-Identifier: MIT
# Load disconnect on a low cell, only after the pre-alarm lead: a cell
# dropping to 2.75 V (below the 2.80 V cutoff and the 3.10 V pre-alarm
# level) turns the pre-alarm on at once, but the load output opens only
# when the pre-alarm has been on for the lead time; the pre-alarm then
# goes off, the combined output follows the load, charging stays
# allowed. Charging (+5 A) brings the load back, with the cell at 3.00 V
# (at or above cell_undervoltage + undervoltage_hysteresis, 2.90 V), but
# only once the current has stayed above 0.5 A for charge_detect_time
# (10 s).
. "$(dirname "$0")/../lib.sh"

make_by_id_link
write_config
add_output load load GPIO17
add_output charge charge GPIO27
add_output prealarm prealarm GPIO23
add_output multiplus load-and-charge GPIO24
short_protection 30 1 # the lead cannot be shorter (at least 30 s)
start_daemon

# A healthy battery first (the load must be on: with the load already
# off at start-up there is nothing to warn about), then cell 2 drops
# below the cutoff; the charger comes on well after the load has opened.
drop_at=10
charge_at=$((drop_at + LEAD + 12))
cat >"$T/scenario" <<SCN
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
0 all current -20
$drop_at 1 cell 2 2.75
$charge_at all current 5
$charge_at 1 cell 2 3.00 # below 3.20 V, above 2.90 V: charging recovers
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 30 '.stale == false' "battery read"
expect_lines 15 "GPIO17=1 GPIO27=1 GPIO24=1 GPIO23=0" "all allowed, no pre-alarm"

expect_lines $((drop_at + 15)) "GPIO23=1" "low cell: pre-alarm on"
expect_lines $((LEAD + 15)) "GPIO17=0 GPIO24=0" "load opened"
expect_lines 5 "GPIO23=0 GPIO27=1" "pre-alarm off when the load opens; charge still allowed"

# The lead, measured on the kernel's timestamps of the daemon's writes.
t_pre=$(first_time GPIO23 1)
t_off=$(first_time GPIO17 0 "$t_pre")
note "pre-alarm on at $t_pre s, load off at $t_off s (lead $LEAD s)"
awk -v a="$t_pre" -v b="$t_off" -v l="$LEAD" \
	'BEGIN { exit !(b - a >= l - 0.05 && b - a <= l + 3) }' ||
	fail "the load opened $(awk -v a="$t_pre" -v b="$t_off" \
		'BEGIN { print b - a }') s after the pre-alarm, not after $LEAD s"
note "ok: the load opened after the pre-alarm lead"
expect_levels GPIO17 "0 1 0" "load: allowed, then opened once"
expect_levels GPIO23 "0 1 0" "pre-alarm: on, then off"
expect_levels GPIO27 "0 1" "charge allowed throughout"

# Charging is detected: the load comes back (the cell is still below the
# 3.20 V recovery level), not before the current has been above 0.5 A for
# charge_detect_time (10 s), then after the restore delay.
sim_before "$charge_at" "the load still off before charging"
line_holds "$(sim_left $((charge_at + 9)))" GPIO17 0 "no load before charging is detected"
expect_lines $((RESTORE + 15)) "GPIO17=1 GPIO24=1" "load back on charging"
expect_levels GPIO17 "0 1 0 1"
expect_delay "load back on" "$(first_time GPIO17 1 "$t_off")" "$charge_at" \
	10 $((10 + RESTORE + 3))
status_is '.charging == true and .discharge_reasons == []' ||
	fail "status: $(ctl status --json | jq -c '{charging, discharge_reasons}')"
