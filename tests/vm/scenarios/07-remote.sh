#!/bin/sh
# SPDX-License-Identifier: MIT
# The remote on/off input, switched from outside through the simulated
# pull (the daemon sees edge events): off turns every output off, on
# turns them back on after the restore delay. Then the common wiring, a
# switch to ground with the input active-low, the same way.
. "$(dirname "$0")/../lib.sh"

sim_pull GPIO22 pull-up # remote on (active-high input)
make_by_id_link
write_config
add_output load load GPIO17
add_output charge charge GPIO27
add_output multiplus load-and-charge GPIO24
add_remote GPIO22 debounce=20ms
short_protection 30 1 # the lead cannot be shorter (at least 30 s)
start_daemon
[ "$(gpio_line GPIO22)" = "input smallbmsd:remote" ] ||
	fail "the remote line is not requested as an input: $(gpio_line GPIO22)"

cat >"$T/scenario" <<'SCN'
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 30 '.stale == false' "battery read"
ON="GPIO17=1 GPIO27=1 GPIO24=1"
OFF="GPIO17=0 GPIO27=0 GPIO24=0"
expect_lines 15 "$ON" "remote on: all allowed"

sim_pull GPIO22 pull-down
expect_lines 5 "$OFF" "remote off: everything off"
status_is '.remote == "off" and .allowed_to_charge == false and
	.allowed_to_discharge == false' ||
	fail "status: $(ctl status --json | jq -c '{remote, allowed_to_charge, allowed_to_discharge}')"
holds 2 lines_are "$OFF" || fail "an output came back with the remote off"
sim_pull GPIO22 pull-up
expect_lines $((RESTORE + 10)) "$ON" "remote on again: all back"
sim_pull GPIO22 pull-down
expect_lines 5 "$OFF" "remote off again"
sim_pull GPIO22 pull-up
expect_lines $((RESTORE + 10)) "$ON" "and on again"
for l in GPIO17 GPIO27 GPIO24; do
	expect_levels $l "0 1 0 1 0 1"
done

# The usual wiring: a switch (or an opto-coupler) pulling the pin to
# ground, the pull-up requested by the daemon, the input active-low:
# closed = low = on, open = high = off.
stop_daemon TERM
sed -i '/^\[input remote\]/,$d' "$T/smallbms.conf"
add_remote GPIO22 active_low=yes bias=pull-up debounce=20ms
start_daemon
# gpio-sim keeps one pull per line: the daemon's bias request just set it
# up (the switch open). Close the switch after the request.
[ "$(sim_value GPIO22)" = 1 ] || fail "the daemon's pull-up bias did not reach the line"
sim_pull GPIO22 pull-down # the switch is closed: on
expect_lines $((RESTORE + 15)) "$ON" "switch closed: all allowed"
sim_pull GPIO22 pull-up # opened
expect_lines 5 "$OFF" "switch open: everything off"
sim_pull GPIO22 pull-down
expect_lines $((RESTORE + 10)) "$ON" "switch closed again: all back"
