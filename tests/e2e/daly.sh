#!/bin/sh
# SPDX-License-Identifier: MIT
# Daly (protocol = daly): a simulated Daly pack (A5 frames at 9600 baud
# wire timing, bmssim's own encoder, the cells in 16 frames of which the
# daemon needs 3) is read like any battery. Its 0x98 failure bits act as
# the pack's protection: cell under-voltage (level 2) opens ATD and
# leaves ATC, charge over-current (level 2) opens ATC and leaves ATD, each
# for battery_protection, and each output comes back when the bit clears.
# A sleeping Daly (the RS485 adapter echoes the request, nothing answers)
# is no data: the battery goes stale and to comm loss (nothing allowed),
# no frame is taken, and it is read again when it wakes.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.310,3.300,3.290,3.305,3.300,3.300,3.320
0 all current -2.1
0 all temp 25
0 all temp 1 31
6 all protect cell_undervoltage
10 all protect none
14 all protect charge_overcurrent
18 all protect none
22 all sleep
32 all answer
SCN
start_sim --protocol daly --cells 8 --temps 2 --baud 9600 --scenario "$T/scenario"
PORT_PROTOCOL=daly write_config "stale_after = 2s"
add_outputs
start_daemon

expect_status 6 '.allowed_to_charge and .allowed_to_discharge' "both allowed"
expect_line 2 GPIO17 1
expect_line 2 GPIO27 1
battery_is 1 '.protocol == "daly" and .address == 0
	and .cells == [3.3, 3.31, 3.3, 3.29, 3.305, 3.3, 3.3, 3.32]
	and .voltage == 26.4 and .current == -2.1 and .temperatures == [31, 25]
	and .charge_fet and .discharge_fet and .protection == []' ||
	fail "battery 1: $(ctl battery 1 --json)"
# The simulator's state says what went on the wire. Its charge counts on
# (2.1 A) between the daemon's last read and the state file's write: SoC
# and remaining capacity within what a second of that can change.
got=$(ctl battery 1 --json)
jq -e --argjson b "$got" 'def near($a; $b; $tol):
	(($a - $b) | if . < 0 then -. else . end) <= $tol;
	.batteries[0] | .voltage == $b.voltage and
	.cell_v == $b.cells and .temp_c == $b.temperatures and
	near(.soc; $b.soc; 0.1) and .current == $b.current and
	near(.remaining_ah; $b.remaining_ah; 0.002)' "$T/sim.json" >/dev/null ||
	fail "daemon and simulator differ: $got vs $(cat "$T/sim.json")"
grep -q "9600 baud, daly" "$T/daemon.log" || fail "not opened at 9600 baud"
note "ok: the pack's values as the simulator sent them"

# 0x98 byte 0 bit 3, cell under-voltage level 2: the load goes.
expect_step 10 6
expect_status 3 '.allowed_to_discharge == false
	and any(.discharge_reasons[]; . == "battery_protection")
	and .allowed_to_charge' "ATD open on the pack's cell under-voltage bit"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 1
battery_is 1 '.protection == ["cell_undervoltage"]' ||
	fail "battery 1 flags: $(ctl battery 1 --json | jq -c '{protection, protection_raw}')"
expect_step 10 10
expect_status 4 '.allowed_to_discharge' "load back when the bit clears"
expect_line 1 GPIO17 1

# 0x98 byte 2 bit 1, charge over-current level 2: charging goes.
expect_step 10 14
expect_status 3 '.allowed_to_charge == false
	and any(.charge_reasons[]; . == "battery_protection")
	and .allowed_to_discharge' "ATC open on the pack's charge over-current bit"
expect_line 1 GPIO27 0
expect_line 1 GPIO17 1
battery_is 1 '.protection == ["charge_overcurrent"]' ||
	fail "battery 1 flags: $(ctl battery 1 --json | jq -c '{protection, protection_raw}')"
expect_step 10 18
expect_status 4 '.allowed_to_charge' "charging back when the bit clears"
expect_line 1 GPIO27 1

# Asleep: the echo of every request, no answer. Stale, then comm loss.
expect_step 10 22
good=$(ctl battery 1 --json | jq '.frames_good')
expect_status 5 '.stale == true' "stale while the pack sleeps"
expect_line 6 GPIO27 0
expect_line 6 GPIO17 0
expect_status 2 '.allowed_to_charge == false and .allowed_to_discharge == false
	and any(.charge_reasons[]; . == "comm_loss")' "comm loss: nothing allowed"
battery_is 1 ".stale and .timeouts > 0 and .frames_bad == 0
	and .frames_good <= $good + 7" ||
	fail "the echo was taken for data: $(ctl battery 1 --json)"
# Every poll asks again: woken, it is read at once.
expect_step 14 32
expect_status 5 '.stale == false' "read again once it wakes"
expect_line 6 GPIO17 1
expect_line 6 GPIO27 1
note "ok: daly"
