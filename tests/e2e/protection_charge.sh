#!/bin/sh
# SPDX-License-Identifier: MIT
# Charge disconnect: a cell at the high limit opens ATC (and the combined
# output) while discharge stays allowed; it recovers below 3.55 V after the
# restore delay. Then a cold battery opens ATC until it warms up.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.400,3.400,3.400,3.400
0 all current 15
0 all temp 20
6 all cell 2 3.800
10 all cell 2 3.450
15 all temp 2
20 all temp 10
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 3s"
add_outputs
start_daemon

expect_status 4 '.allowed_to_charge and .allowed_to_discharge' "both allowed"
expect_line 2 GPIO27 1
expect_status 5 '.allowed_to_charge == false and .charge_reasons == ["cell_overvoltage"]' \
	"charge disconnect on a high cell"
expect_line 2 GPIO27 0
expect_line 2 GPIO23 0
status_is '.allowed_to_discharge == true' || fail "discharge must stay allowed"
expect_status 6 '.allowed_to_charge == true' "charge allowed again below 3.55 V"
expect_line 2 GPIO27 1
expect_line 2 GPIO23 1
expect_status 8 '.allowed_to_charge == false and .charge_reasons == ["low_temperature"]' \
	"no charging below 5 °C"
expect_line 2 GPIO27 0
grep -q 'SMALLBMS_REASON=low_temperature' "$T/daemon.log" || fail "no journal entry"
expect_status 8 '.allowed_to_charge == true' "charging again at 10 °C"
