#!/bin/sh
# SPDX-License-Identifier: MIT
# JK legacy (protocol = jk): a simulated JK pack (4E 57 "read all" at the
# protocol's 115200 baud, bmssim's own encoder) is read like any battery:
# cells, the MOSFET temperature first, the current's sign, model and
# firmware, the balancer. Its warning bits act like JBD's protection
# flags: cell under-voltage (bit 11) opens ATD and leaves ATC, charge
# over-current (bit 5) opens ATC and leaves ATD, each for
# battery_protection; battery over-temperature (bit 4, which does not say
# charge or discharge) opens both. Each output comes back when the bit
# clears.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.310,3.300,3.290
0 all current 5
0 all temp 25
0 all temp 1 31
6 all protect cell_undervoltage
10 all protect none
14 all protect charge_overcurrent
18 all protect none
22 all protect charge_overtemperature
26 all protect none
SCN
start_sim --protocol jk --cells 4 --temps 3 --scenario "$T/scenario"
PORT_PROTOCOL=jk write_config "stale_after = 3s"
add_outputs
start_daemon

expect_status 4 '.allowed_to_charge and .allowed_to_discharge' "both allowed"
expect_line 2 GPIO17 1
expect_line 2 GPIO27 1
battery_is 1 '.protocol == "jk" and .address == 0
	and .cells == [3.3, 3.31, 3.3, 3.29] and .voltage == 13.2
	and .current == 5 and .temperatures == [31, 25, 25]
	and .model == "BMSSIM-4S-100AH" and .firmware == "1.0" and .serial == null
	and .balancer == "idle" and .balance_current == null
	and .charge_fet and .discharge_fet and .protection == []' ||
	fail "battery 1: $(ctl battery 1 --json)"
# The simulator's state says what went on the wire.
got=$(ctl battery 1 --json)
jq -e --argjson b "$got" '.batteries[0] | .voltage == $b.voltage and
	.cell_v == $b.cells and .temp_c == $b.temperatures and
	.soc == $b.soc and .nominal_ah == $b.nominal_ah' "$T/sim.json" >/dev/null ||
	fail "daemon and simulator differ: $got vs $(cat "$T/sim.json")"
grep -q "115200 baud, jk" "$T/daemon.log" || fail "not opened at 115200 baud"
note "ok: the pack's values as the simulator sent them"

# Bit 11, cell under-voltage: the load goes, charging stays.
expect_step 10 6
expect_status 2 '.allowed_to_discharge == false
	and any(.discharge_reasons[]; . == "battery_protection")
	and .allowed_to_charge' "ATD open on the pack's cell under-voltage bit"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 1
battery_is 1 '.protection == ["cell_undervoltage"] and .protection_raw == 2048' ||
	fail "battery 1 flags: $(ctl battery 1 --json | jq -c '{protection, protection_raw}')"
expect_step 10 10
expect_status 4 '.allowed_to_discharge' "load back when the bit clears"
expect_line 1 GPIO17 1

# Bit 5, charge over-current: charging goes, the load stays.
expect_step 10 14
expect_status 2 '.allowed_to_charge == false
	and any(.charge_reasons[]; . == "battery_protection")
	and .allowed_to_discharge' "ATC open on the pack's charge over-current bit"
expect_line 1 GPIO27 0
expect_line 1 GPIO17 1
battery_is 1 '.protection == ["charge_overcurrent"] and .protection_raw == 32' ||
	fail "battery 1 flags: $(ctl battery 1 --json | jq -c '{protection, protection_raw}')"
expect_step 10 18
expect_status 4 '.allowed_to_charge' "charging back when the bit clears"
expect_line 1 GPIO27 1

# Bit 4, battery over-temperature: both directions.
expect_step 10 22
expect_status 2 '.allowed_to_charge == false and .allowed_to_discharge == false' \
	"ATC and ATD open on the pack's over-temperature bit"
expect_line 1 GPIO27 0
expect_line 1 GPIO17 0
battery_is 1 '.protection == ["charge_overtemperature", "discharge_overtemperature"]
	and .protection_raw == 16' ||
	fail "battery 1 flags: $(ctl battery 1 --json | jq -c '{protection, protection_raw}')"
expect_step 10 26
expect_status 4 '.allowed_to_charge and .allowed_to_discharge' "both back"
grep -q 'SMALLBMS_REASON=battery_protection' "$T/daemon.log" ||
	fail "no journal entry naming battery_protection"
