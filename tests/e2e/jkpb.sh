#!/bin/sh
# SPDX-License-Identifier: MIT
# JK-PB (protocol = jk-pb): four simulated PB packs at DIP addresses 1-4 on
# one RS485 bus (115200 baud; each answer a 300-byte frame and the pack's
# FC16 acknowledgement, bmssim's own encoder) are found by
# "addresses = scan 1-15" with "expect = 4" and read: cells, sensors,
# device info (model, firmware, serial number). Pack 3 stops answering and
# comes back: lost, then found again, its place kept. Pack 2's cell
# under-voltage alarm bit opens ATD and leaves ATC; it comes back when the
# bit clears.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.310,3.300,3.290
0 all current -3
0 all temp 24
0 all temp 1 33
15 3 silent
21 3 answer
27 2 protect cell_undervoltage
31 2 protect none
SCN
start_sim --protocol jk-pb --packs 4 --cells 4 --temps 3 --scenario "$T/scenario"
# The port listens 2 s for another master first; then the first pass asks
# each of the 11 empty addresses twice (150 ms each): ready in ~6 s.
PORT_PROTOCOL=jk-pb PORT_ADDRESSES="scan 1-15" PORT_EXTRA="expect = 4
timeout = 150ms" write_config "stale_after = 2s"
add_outputs
start_daemon

expect_status 14 '.batteries == 4 and .stale == false and .discovering == false' \
	"four packs found on the bus"
ctl batteries --json | jq -e '[.batteries[] | [.address, .serial, .model,
	.firmware]] == [[1, "SIM00000001", "BMSSIM-4S-100AH", "1.0"],
	[2, "SIM00000002", "BMSSIM-4S-100AH", "1.0"],
	[3, "SIM00000003", "BMSSIM-4S-100AH", "1.0"],
	[4, "SIM00000004", "BMSSIM-4S-100AH", "1.0"]]' >/dev/null ||
	fail "batteries: $(ctl batteries --json | jq -c '[.batteries[] | [.address, .serial, .model, .firmware]]')"
battery_is 2 '.protocol == "jk-pb" and .cells == [3.3, 3.31, 3.3, 3.29]
	and .voltage == 13.2 and .current == -3 and .temperatures == [33, 24, 24]
	and .nominal_ah == 100 and .balancer == "idle" and .balance_current == 0
	and .charge_fet and .discharge_fet and .protection == []' ||
	fail "battery 2: $(ctl battery 2 --json)"
got=$(ctl battery 2 --json)
jq -e --argjson b "$got" '.batteries[1] | .voltage == $b.voltage and
	.cell_v == $b.cells and .temp_c == $b.temperatures and
	.soc == $b.soc and .remaining_ah == $b.remaining_ah and
	.serial == $b.serial' "$T/sim.json" >/dev/null ||
	fail "daemon and simulator differ: $got vs $(jq -c '.batteries[1]' "$T/sim.json")"
ctl ports --json | jq -e '.ports[0] | .baud == 115200 and .batteries == 4 and
	.scan.candidates == 15 and .error == null' >/dev/null ||
	fail "ports: $(ctl ports --json | jq -c '.ports[0]')"
grep -q "port b1: 4 of 15 addresses answered" "$T/daemon.log" ||
	fail "no discovery summary in the log"
note "ok: the packs' values as the simulator sent them"

# Pack 3 silent: lost (stale), not forgotten; back: found again.
expect_step 20 15
wait_until 5 battery_is 3 '.stale == true and .address == 3' ||
	fail "pack 3 not stale while silent: $(ctl battery 3 --json | jq -c '{address, stale}')"
status_is '.batteries == 4' || fail "pack 3 was dropped from the bank"
grep -q "battery 3 (port b1 address 3): lost: no valid data" "$T/daemon.log" ||
	fail "no journal line for the lost pack"
note "ok: pack 3 lost"
expect_step 20 21
wait_until 5 battery_is 3 '.stale == false and .valid == true' ||
	fail "pack 3 not found again: $(ctl battery 3 --json | jq -c '{stale, valid}')"
grep -q "battery 3 (port b1 address 3): found: answering again" "$T/daemon.log" ||
	fail "no journal line for the pack found again"
note "ok: pack 3 found again"

# Pack 2's alarm bit 11 (cell under-voltage): the load goes, charging stays.
expect_step 20 27
expect_status 3 '.allowed_to_discharge == false
	and any(.discharge_reasons[]; . == "battery_protection")
	and .allowed_to_charge' "ATD open on pack 2's cell under-voltage bit"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 1
battery_is 2 '.protection == ["cell_undervoltage"] and .protection_raw == 2048' ||
	fail "pack 2 flags: $(ctl battery 2 --json | jq -c '{protection, protection_raw}')"
expect_step 10 31
expect_status 4 '.allowed_to_discharge and .allowed_to_charge' "load back when the bit clears"
expect_line 1 GPIO17 1
