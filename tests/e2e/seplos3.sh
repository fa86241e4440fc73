#!/bin/sh
# SPDX-License-Identifier: MIT
# Seplos v3 (protocol = seplos-v3): three simulated packs at DIP addresses
# 1-3 and the DIP-0 bus master on one RS485 bus (Modbus RTU, bmssim's own
# encoder) are found by "addresses = scan 1-15" with "expect = 3" and read:
# cells, sensors, identity (0x1700). The master is not a pack: address 0 is
# refused by the configuration, naming the master, and never asked. Pack 3
# (sim battery 4) stops answering and comes back: lost, then found again. Pack 2's cell
# under-voltage protection coil opens ATD and leaves ATC; it comes back
# when the coil clears. Corrupt answers (a wrong CRC) and noise from pack 1
# are counted and dropped, never taken.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.310,3.300,3.290
0 all current -3
0 all temp 24.85
0 all temp 5 26.85
15 4 silent
21 4 answer
27 3 protect cell_undervoltage
31 3 protect none
35 2 corrupt 3
36 2 garbage 3
SCN
start_sim --protocol seplos-v3 --addresses 0,1,2,3 --cells 4 --temps 6 \
	--scenario "$T/scenario"

# Address 0 is the master: a configuration error that says so.
PORT_PROTOCOL=seplos-v3 PORT_ADDRESSES="scan 0-15" write_config
if "$DAEMON" -c "$T/smallbms.conf" -t >"$T/out" 2>&1; then
	fail "addresses = scan 0-15 accepted"
fi
grep -q "addresses: 0 is not an address of protocol 'seplos-v3' (1-15: .*master" \
	"$T/out" || fail "no error naming the master: $(cat "$T/out")"
note "ok: address 0 refused: $(cat "$T/out")"

PORT_PROTOCOL=seplos-v3 PORT_ADDRESSES="scan 1-15" PORT_EXTRA="expect = 3
timeout = 150ms" write_config "stale_after = 2s"
add_outputs
start_daemon

expect_status 14 '.batteries == 3 and .stale == false and .discovering == false' \
	"three packs found on the bus, the master not among them"
ctl batteries --json | jq -e '[.batteries[] | [.address, .serial, .firmware]]
	== [[1, "SIMSP00000002", "1.0"], [2, "SIMSP00000003", "1.0"],
	[3, "SIMSP00000004", "1.0"]]' >/dev/null ||
	fail "batteries: $(ctl batteries --json | jq -c '[.batteries[] | [.address, .serial, .model, .firmware]]')"
battery_is 2 '.protocol == "seplos-v3" and .cells == [3.3, 3.31, 3.3, 3.29]
	and .voltage == 13.2 and .current == -3 and (.temperatures | length) == 6
	and .charge_fet and .discharge_fet and .protection == []' ||
	fail "battery 2: $(ctl battery 2 --json)"
got=$(ctl battery 2 --json)
jq -e --argjson b "$got" '.batteries[2] | .voltage == $b.voltage and
	.cell_v == $b.cells and (.temp_c | length) == ($b.temperatures | length)
	and ([.temp_c, $b.temperatures] | transpose
		| all(((.[0] - .[1]) | fabs) < 0.051)) and
	.soc == $b.soc and .remaining_ah == $b.remaining_ah and
	.serial == $b.serial' "$T/sim.json" >/dev/null ||
	fail "daemon and simulator differ: $got vs $(jq -c '.batteries[2]' "$T/sim.json")"
ctl ports --json | jq -e '.ports[0] | .baud == 19200 and .batteries == 3 and
	.scan.candidates == 15 and .error == null' >/dev/null ||
	fail "ports: $(ctl ports --json | jq -c '.ports[0]')"
sim_is '.batteries[0].address == 0 and .batteries[0].requests == 0' ||
	fail "the master was asked: $(jq -c '.batteries[0]' "$T/sim.json")"
note "ok: the packs' values as the simulator sent them; the master never asked"

# (the status shows 0.1 C: 26.85 C, sent as 3000 x 0.1 K, is 26.9 there;
# sensor 5 is the environment, listed after T1-T4)
battery_is 2 '.temperatures == [24.9, 24.9, 24.9, 24.9, 26.9, 24.9]' ||
	fail "temperatures: $(ctl battery 2 --json | jq -c .temperatures)"

# Pack 3 (sim battery 4) silent: lost (stale), not forgotten; back: found.
expect_step 20 15
wait_until 5 battery_is 3 '.stale == true and .address == 3' ||
	fail "pack 3 not stale while silent: $(ctl battery 3 --json | jq -c '{address, stale}')"
status_is '.batteries == 3' || fail "pack 3 was dropped from the bank"
grep -q "battery 3 (port b1 address 3): lost: no valid data" "$T/daemon.log" ||
	fail "no journal line for the lost pack"
note "ok: pack 3 lost"
expect_step 20 21
wait_until 5 battery_is 3 '.stale == false and .valid == true' ||
	fail "pack 3 not found again: $(ctl battery 3 --json | jq -c '{stale, valid}')"
grep -q "battery 3 (port b1 address 3): found: answering again" "$T/daemon.log" ||
	fail "no journal line for the pack found again"
note "ok: pack 3 found again"

# Pack 2's cell under-voltage protection coil: the load goes, charging stays.
expect_step 20 27
expect_status 3 '.allowed_to_discharge == false
	and any(.discharge_reasons[]; . == "battery_protection")
	and .allowed_to_charge' "ATD open on pack 2's cell under-voltage coil"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 1
battery_is 2 '.protection == ["cell_undervoltage"]' ||
	fail "pack 2 flags: $(ctl battery 2 --json | jq -c '{protection, protection_raw}')"
expect_step 10 31
expect_status 4 '.allowed_to_discharge and .allowed_to_charge' "load back when the coil clears"
expect_line 1 GPIO17 1

# Pack 1 (sim battery 2): three answers with a wrong CRC, then three of
# noise: counted as malformed, never data; the pack stays in the bank.
expect_step 10 36
sim_done() { sim_is '.batteries[1].corrupt_sent == 3 and .batteries[1].garbage_sent == 3'; }
wait_until 10 sim_done || fail "simulator: $(jq -c '.batteries[1]' "$T/sim.json")"
battery_is 1 '.frames_bad >= 3 and .valid == true' ||
	fail "pack 1: $(ctl battery 1 --json | jq -c '{frames_bad, timeouts, valid, stale}')"
wait_until 5 battery_is 1 '.stale == false' || fail "pack 1 stale after the noise"
battery_is 1 '.cells == [3.3, 3.31, 3.3, 3.29] and .protection == []' ||
	fail "pack 1 took bad data: $(ctl battery 1 --json)"
note "ok: corrupt answers and noise dropped: $(ctl battery 1 --json | jq -c '{frames_bad, timeouts}')"
