#!/bin/sh
# SPDX-License-Identifier: MIT
# Lines are safe at startup: every output is requested NOT ALLOWED from the
# first instant (the first level the daemon writes is the inactive one,
# also for an active-low output, whatever the line's pull was) and stays
# so until a complete valid reading of the battery; then load, charge and
# load-and-charge are driven, the active-low one low.
. "$(dirname "$0")/../lib.sh"

# Before the daemon: every pull at the ALLOWED level, so only the
# daemon's own request can make a line read "not allowed".
sim_pull GPIO17 pull-up
sim_pull GPIO27 pull-up
sim_pull GPIO23 pull-up
sim_pull GPIO24 pull-up
sim_pull GPIO25 pull-down

make_by_id_link
write_config
add_output load load GPIO17
add_output charge charge GPIO27
add_output prealarm prealarm GPIO23
add_output multiplus load-and-charge GPIO24
add_output inverter load GPIO25 active_low=yes
start_daemon

# No battery data yet (the simulator is not running): all not allowed.
SAFE="GPIO17=0 GPIO27=0 GPIO23=0 GPIO24=0 GPIO25=1"
expect_lines 5 "$SAFE" "requested not allowed"
holds 3 lines_are "$SAFE" ||
	fail "a line left the safe state without battery data: $(lines_now "$SAFE")"
note "ok: still safe after 3 s without battery data"
status_is '.allowed_to_charge == false and .allowed_to_discharge == false' ||
	fail "status allows charge/discharge without data"
for l in GPIO17 GPIO27 GPIO23 GPIO24; do
	[ "$(trace_levels $l smallbmsd)" = 0 ] ||
		fail "$l: smallbmsd wrote '$(trace_levels $l smallbmsd)' before any data"
done
[ "$(trace_levels GPIO25 smallbmsd)" = 1 ] ||
	fail "GPIO25 (active-low): smallbmsd wrote '$(trace_levels GPIO25 smallbmsd)'"
# Each line is held under the output's name, as gpioinfo shows it.
for lo in GPIO17=load GPIO27=charge GPIO23=prealarm GPIO24=multiplus \
	GPIO25=inverter; do
	l=${lo%=*}
	[ "$(gpio_line "$l")" = "output smallbmsd:${lo#*=}" ] ||
		fail "$l: want output smallbmsd:${lo#*=}, gpioinfo says $(gpio_line "$l")"
done

# A healthy battery: load and charge allowed (active-low: driven low),
# no pre-alarm.
cat >"$T/scenario" <<'SCN'
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
0 all current -2
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 30 '.stale == false' "battery read"
expect_lines 15 "GPIO17=1 GPIO27=1 GPIO23=0 GPIO24=1 GPIO25=0" "allowed once read"
expect_levels GPIO17 "0 1"
expect_levels GPIO27 "0 1"
expect_levels GPIO24 "0 1"
expect_levels GPIO25 "1 0" "active-low"
expect_levels GPIO23 "0"
