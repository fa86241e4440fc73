#!/bin/sh
# SPDX-License-Identifier: MIT
# An active-low output (an inverting driver stage, or a device whose
# remote input is "low = on"): not allowed is the HIGH level from the
# request on, allowed is low, and a disconnect drives it high again.
. "$(dirname "$0")/../lib.sh"

sim_pull GPIO25 pull-down # undriven would read "allowed"
make_by_id_link
write_config
add_output charger charge GPIO25 active_low=yes
short_protection 30 1 # the lead cannot be shorter (at least 30 s)
start_daemon
expect_lines 5 "GPIO25=1" "requested not allowed (high)"

P=$((RESTORE + 12))
cat >"$T/scenario" <<SCN
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
$P 1 cell 2 3.80
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 30 '.stale == false' "battery read"
expect_lines 15 "GPIO25=0" "charge allowed: driven low"
expect_lines $((P + 15)) "GPIO25=1" "high cell: charge not allowed, high"
expect_levels GPIO25 "1 0 1"
