#!/bin/sh
# SPDX-License-Identifier: MIT
# I5: a reading with an impossible value is rejected, never published. A
# JBD 0x04 answer with a valid checksum and every cell 0xFFFF (65.535 V;
# the 0x03 pack voltage their sum, so only the cells are impossible): the
# daemon counts the rejection (readings_rejected, last_rejection naming
# 65.535 V), warns in the journal (reading_rejected), and no 65 V value
# ever reaches the status or the battery's view. The pack then has no
# good reading: comm loss opens ATC and ATD, so the bank ends safe.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -2
3 all cells 65.535,65.535,65.535,65.535
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 1s"
add_outputs
start_daemon

expect_status 4 '.allowed_to_charge and .allowed_to_discharge and .max_cell_voltage == 3.3' \
	"both allowed on good readings"
expect_step 10 3
wait_until 2 sim_is '.batteries[0].cell_v == [65.535, 65.535, 65.535, 65.535] and .batteries[0].answered > 0' ||
	fail "the simulator does not send 65.535 V cells"

# Until four answers were rejected (the daemon polls every 250 ms), no
# view may show a cell of 5 V or more. (null is fine: no data.)
deadline=$(( $(date +%s) + 4 ))
until battery_is 1 '.readings_rejected >= 4'; do
	[ "$(date +%s)" -le "$deadline" ] ||
		fail "no rejection counted: $(ctl battery 1 --json | jq -c '{readings_rejected, last_rejection, cells}')"
	status_is '[.min_cell_voltage, .max_cell_voltage] | all(. == null or . < 5)' ||
		fail "a 65 V cell reached the status: $(ctl status --json | jq -c '{min_cell_voltage, max_cell_voltage}')"
	battery_is 1 '.cells | all(. == null or . < 5)' ||
		fail "a 65 V cell reached the battery view: $(ctl battery 1 --json | jq -c .cells)"
	sleep 0.1
done
ctl battery 1 --json >"$T/b1.json"
jq -c '{readings_rejected, last_rejection, frames_bad, cells}' "$T/b1.json"
jq -e '.last_rejection | test("65\\.535")' "$T/b1.json" >/dev/null ||
	fail "last_rejection does not name 65.535 V"
jq -e '.frames_bad == 0' "$T/b1.json" >/dev/null ||
	fail "frames counted bad: the checksums were valid, only the values impossible"
note "ok: rejected and counted, 65.535 V named"
grep -q 'SMALLBMS_EVENT=reading_rejected' "$T/daemon.log" ||
	fail "no reading_rejected warning in the journal"
[ "$(grep -c 'SMALLBMS_EVENT=reading_rejected' "$T/daemon.log")" -eq 1 ] ||
	fail "the reading_rejected warning is not rate-limited"
note "ok: one journal warning for $(jq .readings_rejected "$T/b1.json") rejections"

# No good reading any more: comm loss (2 s charge, 4 s load from the last
# good one) opens both.
expect_status 6 '.allowed_to_charge == false and .allowed_to_discharge == false and any(.discharge_reasons[]; . == "comm_loss")' \
	"comm loss: both off"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 0
status_is '[.min_cell_voltage, .max_cell_voltage] | all(. == null or . < 5)' ||
	fail "a 65 V cell reached the status"
