#!/bin/sh
# SPDX-License-Identifier: MIT
# I1 with a low cell: two parallel JBD packs, pack 2 silent. Pack 1's cell
# at 2.70 V (below the 2.80 V cutoff, above the 2.50 V hard one) starts
# the pre-alarm at once (within 2 s), though pack 2 says nothing, and
# opens ATD after the 30 s pre-alarm lead for cell_undervoltage, not for
# comm loss (comm_loss_load is 300 s here). The bank ends with the load
# off and the pre-alarm off.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -4
4 2 silent
7 1 cell 1 2.700
SCN
start_sim --batteries 2 --cells 4 --scenario "$T/scenario"
write_config "stale_after = 1s"
add_outputs
sed -i 's/^comm_loss_load = .*/comm_loss_load = 300s/' "$T/smallbms.conf"
start_daemon

expect_status 4 '.batteries == 2 and .allowed_to_charge and .allowed_to_discharge' \
	"two packs, both allowed"
expect_step 10 4
wait_until 3 battery_is 2 '.stale == true' || fail "pack 2 not stale while silent"
expect_step 10 7
battery_is 2 '.stale == true' || fail "pack 2 must still be silent"
expect_status 2 '.prealarm == true and .warnings == ["low_cell"] and .allowed_to_discharge' \
	"pre-alarm at once on pack 1's 2.70 V cell, pack 2 silent"
expect_line 1 GPIO22 1
expect_line 1 GPIO17 1
# The lead is 30 s from the pre-alarm (at most 2 s after the step, above).
expect_status 32 '.allowed_to_discharge == false and any(.discharge_reasons[]; . == "cell_undervoltage") and (any(.discharge_reasons[]; . == "comm_loss") | not)' \
	"ATD open after the lead for cell_undervoltage, not comm loss"
battery_is 2 '.stale == true' || fail "pack 2 must still be silent"
lead=$(sed -n 's/.*SMALLBMS_EVENT=output_off.*SMALLBMS_DURATION=\([0-9]*\).*/\1/p' \
	"$T/daemon.log" | head -n 1)
[ -n "$lead" ] && [ "$lead" -ge 30 ] && [ "$lead" -le 32 ] ||
	fail "the load opened after a pre-alarm of '${lead}' s, not 30 s"
note "ok: the pre-alarm had been on for $lead s"
grep -q 'SMALLBMS_EVENT=output_off SMALLBMS_OUTPUT=discharge SMALLBMS_REASON=cell_undervoltage ' \
	"$T/daemon.log" || fail "no output_off event naming cell_undervoltage"
expect_line 1 GPIO17 0
expect_line 1 GPIO25 1
expect_line 1 GPIO22 0 # the pre-alarm ends when ATD opens
