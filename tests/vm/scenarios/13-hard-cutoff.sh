#!/bin/sh
# SPDX-License-Identifier: MIT
# The hard cutoff (I7): a cell dropping to 2.40 V (below
# cell_undervoltage_hard, 2.50 V) opens the load line within 2 s of the
# battery reporting it -- measured on the kernel's timestamps of the
# daemon's write against the simulator's step -- with no pre-alarm lead:
# the pre-alarm line is never switched on, the reason is
# cell_undervoltage_hard, and charging stays allowed.
. "$(dirname "$0")/../lib.sh"

make_by_id_link
write_config
add_output load load GPIO17
add_output charge charge GPIO27
add_output prealarm prealarm GPIO23
short_protection 30 1 # the lead cannot be shorter (at least 30 s)
start_daemon

H=12 # cell 2 drops to 2.40 V under a 20 A load
cat >"$T/scenario" <<SCN
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
0 all current -20
$H 1 cell 2 2.40
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 20 '.stale == false' "battery read"
expect_lines "$(sim_left $((H - 1)))" "GPIO17=1 GPIO27=1 GPIO23=0" \
	"load and charge on, no pre-alarm, before t=$H s"
sim_before $H "the healthy battery"

expect_lines "$(sim_left $((H + 4)))" "GPIO17=0" "2.40 V cell: load opened"
expect_delay "load opened" "$(first_time GPIO17 0 "$(first_time GPIO17 1)")" $H 0 2
status_is '(.discharge_reasons | index("cell_undervoltage_hard")) != null and
	.prealarm == false and .allowed_to_charge == true' ||
	fail "status: $(ctl status --json |
		jq -c '{discharge_reasons, prealarm, allowed_to_charge}')"
note "ok: reasons $(ctl status --json | jq -c .discharge_reasons)"
line_holds 2 GPIO23 0 "no pre-alarm after the cutoff"
expect_levels GPIO17 "0 1 0" "load: opened once"
expect_levels GPIO23 "0" "pre-alarm never on: no lead"
expect_levels GPIO27 "0 1" "charge allowed throughout"
