#!/bin/sh
# SPDX-License-Identifier: MIT
# Partial data (I1): two JBD batteries, one silent long enough to be stale
# (the bank incomplete, comm_loss_load still far off), the other
# answering. What the answering battery says acts at once, not at comm
# loss:
#   - its own protection flag (cell_undervoltage) opens the load line
#     within 2 s;
#   - so does its discharge FET reported off;
#   - its 2.70 V cell turns the pre-alarm line on within 2 s, and the load
#     opens after the pre-alarm lead (30 s), with cell_undervoltage as the
#     only reason -- comm_loss_load (120 s) is still 90 s away.
# Before each of them the load line is still on with the silent battery
# stale: missing data alone opens nothing before comm loss. Between them
# the silent battery answers again and the load comes back.
#
# The wiring: one bmssim with two JBD lines (--batteries 2, one clock for
# both). Battery 1 answers through the real USB-serial path (its pty
# joined to /dev/ttyS1, read by the daemon as /dev/ttyUSB0, ftdi_sio); the
# VM has one emulated adapter, so battery 2 -- the silent one -- is its
# pty, opened by the daemon directly (port "direct"). stale_after is 3 s
# so that the silent battery drops out of the bank quickly.
. "$(dirname "$0")/../lib.sh"

# Scenario times (s). Each silence lasts until the step after it.
S1=10 P1=17 R1=21 # silent, protection flag, both back
S2=26 P2=33 R2=37 # silent, discharge FET off, both back
S3=42 P3=49       # silent, a 2.70 V cell (load off at P3 + 30)
cat >"$T/scenario" <<SCN
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
0 all current -10
$S1 2 silent
$P1 1 protect cell_undervoltage
$R1 2 answer
$R1 1 protect none
$S2 2 silent
$P2 1 fet discharge off
$R2 2 answer
$R2 1 fet discharge on
$S3 2 silent
$P3 1 cell 2 2.70
SCN
start_sim --batteries 2 --cells 4 --scenario "$T/scenario"
PTY2=$(echo "$SIM_PTYS" | sed -n 2p)
[ -n "$PTY2" ] || fail "bmssim opened no second pty: $SIM_PTYS"

make_by_id_link
write_config "stale_after = 3s"
add_port direct "$PTY2"
add_output load load GPIO17
add_output prealarm prealarm GPIO23
short_protection 30 1 # the lead cannot be shorter (at least 30 s)
start_daemon

expect_status 20 '.stale == false and .batteries == 2' "both batteries read"
status_is '(.protection | length) == 0' || fail "a protection flag at start"
expect_lines "$(sim_left $((S1 - 1)))" "GPIO17=1 GPIO23=0" \
	"load on, no pre-alarm, before t=$S1 s"
battery_is 1 '.device | test("ttyUSB0|by-id")' ||
	fail "battery 1 is not read through the adapter"
battery_is 2 ".device == \"$PTY2\"" || fail "battery 2 is not read on $PTY2"

# silent STEP WHAT: battery 2 is stale (the bank incomplete) and the load
# still on, before the step that acts on battery 1's data.
silent() {
	wait_until "$(sim_left $(($1 - 1)))" battery_is 2 '.stale == true' ||
		fail "battery 2 is not stale before t=$1 s"
	status_is '.stale == true and .allowed_to_discharge == true and
		.discharge_reasons == []' ||
		fail "partial data: $(ctl status --json |
			jq -c '{stale, allowed_to_discharge, discharge_reasons}')"
	line_is GPIO17 1 || fail "the load opened on missing data alone"
	sim_before "$1" "$2"
	note "ok: battery 2 stale, bank incomplete, load still on (before $2)"
}

# back STEP: both batteries read again, the load back on.
back() {
	wait_until "$(sim_left $(($1 + 10)))" status_is '.stale == false' ||
		fail "battery 2 not back after t=$1 s"
	expect_lines $((RESTORE + 10)) "GPIO17=1" "both read again: load back"
}

# 1. Battery 1's own protection flag.
silent $P1 "the protection flag"
expect_lines "$(sim_left $((P1 + 4)))" "GPIO17=0" "protection flag: load opened"
t1=$(first_time GPIO17 0 "$(first_time GPIO17 1)")
expect_delay "load opened on the flag" "$t1" $P1 0 2
status_is '.discharge_reasons == ["battery_protection"] and .stale == true' ||
	fail "status: $(ctl status --json | jq -c '{stale, discharge_reasons}')"
note "ok: the reason is battery_protection, with battery 2 still stale"
back $R1

# 2. Battery 1's discharge FET off.
silent $P2 "the FET"
expect_lines "$(sim_left $((P2 + 4)))" "GPIO17=0" "discharge FET off: load opened"
t2=$(first_time GPIO17 0 "$t1")
expect_delay "load opened on the FET" "$t2" $P2 0 2
status_is '.discharge_reasons == ["battery_protection"] and .stale == true' ||
	fail "status: $(ctl status --json | jq -c '{stale, discharge_reasons}')"
back $R2

# 3. A low cell on battery 1: pre-alarm at once, the load after the lead.
silent $P3 "the low cell"
expect_lines "$(sim_left $((P3 + 4)))" "GPIO23=1" "low cell: pre-alarm on"
t_on=$(first_time GPIO17 1 "$t2")
t_pre=$(first_time GPIO23 1 "$t_on")
expect_delay "pre-alarm on" "$t_pre" $P3 0 2
line_holds "$(sim_left $((P3 + LEAD - 2)))" GPIO17 1 "the load waits for the lead"
expect_lines "$(sim_left $((P3 + LEAD + 5)))" "GPIO17=0 GPIO23=0" \
	"load opened, pre-alarm off"
t_off=$(first_time GPIO17 0 "$t_pre")
awk -v a="$t_pre" -v b="$t_off" -v l="$LEAD" \
	'BEGIN { exit !(b - a >= l - 0.05 && b - a <= l + 3) }' ||
	fail "the load opened $(awk -v a="$t_pre" -v b="$t_off" \
		'BEGIN { print b - a }') s after the pre-alarm, not after $LEAD s"
note "ok: the load opened $(awk -v a="$t_pre" -v b="$t_off" \
	'BEGIN { printf "%.3f", b - a }') s after the pre-alarm (lead $LEAD s)"
status_is '.discharge_reasons == ["cell_undervoltage"] and .stale == true' ||
	fail "status: $(ctl status --json | jq -c '{stale, discharge_reasons}')"
note "ok: the reason is cell_undervoltage, not comm_loss (battery 2 silent" \
	"for $((P3 + LEAD - S3)) s of 120)"

expect_levels GPIO17 "0 1 0 1 0 1 0" "load: three openings, none at comm loss"
expect_levels GPIO23 "0 1 0" "pre-alarm: once, for the low cell"
