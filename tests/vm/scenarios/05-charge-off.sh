#!/bin/sh
# SPDX-License-Identifier: MIT
# Charge disconnect: a cell at 3.80 V (limit 3.75 V) opens the charge
# output and the combined output, not the load; back to normal cells
# brings them back after the restore delay. Then a cold battery (2 C,
# below the 5 C charge limit) does the same, and warming up undoes it.
. "$(dirname "$0")/../lib.sh"

make_by_id_link
write_config
add_output load load GPIO17
add_output charge charge GPIO27
add_output multiplus load-and-charge GPIO24
short_protection 30 1 # the lead cannot be shorter (at least 30 s)
start_daemon

# Each phase lasts long enough for the restore delay and slow polling.
P=$((RESTORE + 12))
cat >"$T/scenario" <<SCN
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
0 all current 2
$P 1 cell 3 3.80
$((2 * P)) all cells 3.30,3.31,3.29,3.30
$((3 * P)) all temp 2
$((4 * P)) all temp 20
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 30 '.stale == false' "battery read"
expect_lines 15 "GPIO17=1 GPIO27=1 GPIO24=1" "all allowed"
expect_lines $((P + 15)) "GPIO27=0 GPIO24=0" "high cell: charge off"
line_is GPIO17 1 || fail "the load opened on a high cell"
expect_lines $((P + RESTORE + 15)) "GPIO27=1 GPIO24=1" "normal cells: charge back"
expect_lines $((P + 15)) "GPIO27=0 GPIO24=0" "cold battery: charge off"
line_is GPIO17 1 || fail "the load opened on a cold battery"
expect_lines $((P + RESTORE + 15)) "GPIO27=1 GPIO24=1" "warm again: charge back"

expect_levels GPIO27 "0 1 0 1 0 1" "charge: off twice"
expect_levels GPIO24 "0 1 0 1 0 1" "load-and-charge follows charge"
expect_levels GPIO17 "0 1" "the load never opened"
