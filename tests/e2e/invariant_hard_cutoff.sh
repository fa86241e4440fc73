#!/bin/sh
# SPDX-License-Identifier: MIT
# I7: a cell below cell_undervoltage_hard (2.50 V by default) opens ATD at
# once: within 2 s of a 2.40 V cell, with the reason
# cell_undervoltage_hard, without the 30 s pre-alarm lead (the pre-alarm
# never comes on: there is no load left to warn about). The bank ends
# with the load off; charging stays allowed.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -20
3 all cell 1 2.400
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 2s"
add_outputs
start_daemon

expect_status 4 '.allowed_to_charge and .allowed_to_discharge' "both allowed"
expect_line 1 GPIO17 1
expect_step 10 3
expect_status 2 '.allowed_to_discharge == false' "ATD open within 2 s of a 2.40 V cell"
status_is 'any(.discharge_reasons[]; . == "cell_undervoltage_hard")' ||
	fail "the reason is not cell_undervoltage_hard: $(ctl status --json | jq -c .discharge_reasons)"
note "ok: reason cell_undervoltage_hard"
expect_line 1 GPIO17 0
expect_line 1 GPIO25 1
expect_line 1 GPIO23 0
grep -q 'SMALLBMS_EVENT=output_off SMALLBMS_OUTPUT=discharge SMALLBMS_REASON=cell_undervoltage_hard' \
	"$T/daemon.log" || fail "the output_off event does not name cell_undervoltage_hard"
! grep -q 'SMALLBMS_EVENT=prealarm_on' "$T/daemon.log" ||
	fail "a pre-alarm came first: the hard cutoff has no lead"
line_is GPIO22 0 || fail "the pre-alarm line is on"
status_is '.allowed_to_charge == true and .prealarm == false' ||
	fail "charging must stay allowed, the pre-alarm off"
note "ok: no pre-alarm, charging still allowed"
