#!/bin/sh
# SPDX-License-Identifier: MIT
# I1: a restrictive decision uses whatever fresh data exists. Two parallel
# JBD packs on two ports; pack 2 stops answering. While it is silent,
# pack 1's own protection (first its cell_undervoltage flag, later, in a
# second silence, its discharge FET off) opens ATD within 2 s, for that
# reason (battery_protection), not for comm loss: comm_loss_load is set
# to 300 s so that it cannot be the cause. Switching back on needs fresh
# data from both packs. The bank ends with the load off.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -4
4 2 silent
7 1 protect cell_undervoltage
11 2 answer
11 1 protect none
15 2 silent
18 1 fet discharge off
SCN
start_sim --batteries 2 --cells 4 --scenario "$T/scenario"
write_config "stale_after = 1s"
add_outputs
sed -i 's/^comm_loss_load = .*/comm_loss_load = 300s/' "$T/smallbms.conf"
start_daemon

# ATD open for pack 1's own protection, not for comm loss.
OFF_BY_PACK1='.allowed_to_discharge == false
	and any(.discharge_reasons[]; . == "battery_protection")
	and (any(.discharge_reasons[]; . == "comm_loss") | not)'

expect_status 4 '.batteries == 2 and .allowed_to_charge and .allowed_to_discharge' \
	"two packs, both allowed"
expect_line 1 GPIO17 1

# Pack 2 silent, then pack 1's protection flag.
expect_step 10 4
wait_until 3 battery_is 2 '.stale == true' || fail "pack 2 not stale while silent"
expect_step 10 7
battery_is 2 '.stale == true' || fail "pack 2 must still be silent"
expect_status 2 "$OFF_BY_PACK1" \
	"ATD open within 2 s on pack 1's cell_undervoltage flag, pack 2 silent"
expect_line 1 GPIO17 0
expect_line 1 GPIO25 1
expect_line 1 GPIO23 0
grep -q 'SMALLBMS_EVENT=output_off SMALLBMS_OUTPUT=discharge SMALLBMS_REASON=battery_protection' \
	"$T/daemon.log" || fail "no output_off event naming battery_protection"

# Both packs fresh and the flag cleared: on again (only complete data
# switches an output back on).
expect_step 10 11
expect_status 4 '.stale == false and .allowed_to_discharge' "load back with both packs fresh"
expect_line 1 GPIO17 1

# Pack 2 silent again, then pack 1 switches its discharge FET off.
expect_step 10 15
wait_until 3 battery_is 2 '.stale == true' || fail "pack 2 not stale while silent"
status_is '.allowed_to_discharge' || fail "the load went off before pack 1's FET did"
expect_step 10 18
battery_is 2 '.stale == true' || fail "pack 2 must still be silent"
expect_status 2 "$OFF_BY_PACK1" \
	"ATD open within 2 s on pack 1's discharge FET off, pack 2 silent"
expect_line 1 GPIO17 0
expect_line 1 GPIO25 1
battery_is 1 '.discharge_fet == false and .stale == false' ||
	fail "pack 1 should be fresh with its discharge FET off"
