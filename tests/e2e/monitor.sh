#!/bin/sh
# SPDX-License-Identifier: MIT
# The battery monitor through smallbmsctl: settings (show, set, validation,
# reset-defaults), SoC by hand and sync, history and its reset, Mode, the
# readout without arguments — and all of it survives a restart.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -10
SCN
start_sim --cells 4 --capacity 100 --soc 80 --scenario "$T/scenario"
write_config "admin_group = $(id -gn)"
start_daemon

# setting_is NAME VALUE: compared as numbers inside jq (jq 1.6 prints 30.0
# as 30, jq 1.7 as 30.0).
setting_is() {
	ctl settings --json |
		jq -e --arg n "$1" --argjson v "$2" '.settings[] | select(.name == $n) | .value == $v' >/dev/null
}

expect_status 5 '.synchronised == false and .soc == 80 and .soc_source == "batteries"' \
	"SoC starts from the batteries, unsynchronised, and says so"
ctl | grep -q "^State of charge: .*the batteries' own, not yet synchronised" ||
	fail "the readout does not say where the SoC comes from: $(ctl)"
ctl | grep -q '^Consumed: ' && ctl | grep -q '^Time remaining: ' ||
	fail "the readout lacks consumed Ah or time remaining: $(ctl)"
# The floor must stay below the low-SoC warning (20 % by default): a
# refused set names the rule and changes nothing.
set +e
ctl set discharge_floor 30 2>"$T/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "must be below low_soc_warning" "$T/err" ||
	fail "floor above the warning accepted ($rc): $(cat "$T/err")"
setting_is discharge_floor 10 || fail "a refused set changed the floor"
ctl set low_soc_warning 40 >/dev/null || fail "set low_soc_warning"
ctl set discharge_floor 30 >/dev/null || fail "set discharge_floor"
setting_is discharge_floor 30 || fail "discharge_floor not 30"
ctl set charge_efficiency 90 >/dev/null || fail "set charge_efficiency"
set +e
ctl set discharge_floor 120 2>"$T/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "out of range" "$T/err" || fail "no range error ($rc)"
note "ok: settings validated: $(cat "$T/err")"
ctl reset-defaults >/dev/null || fail "reset-defaults"
! setting_is discharge_floor 30 || fail "reset-defaults kept the floor"
setting_is charge_efficiency 90 ||
	fail "reset-defaults touched charge_efficiency"
note "ok: reset-defaults restores only its five settings"

# soc parses its number like set: no hex, no exponent, no -0.0 (blanks
# never reach the daemon: the protocol splits words on them).
for bad in 0x10 1e1 +50 50.55 101 nan; do
	if ctl soc "$bad" >/dev/null 2>&1; then fail "soc '$bad' accepted"; fi
done
ctl soc -- -0 >/dev/null || fail "soc -0"
expect_status 2 '.soc == 0 and ((.soc | tostring) | startswith("-") | not)' \
	"soc -0 is 0, not -0.0"
ctl soc 55.5 >/dev/null || fail "soc"
expect_status 2 '.soc == 55.5 and .synchronised == true and .soc_source == "user"' \
	"SoC set by hand"
# Consumed Ah is counted charge (it started from the batteries' 80 %:
# about -20 Ah of 100), not a view of the SoC: setting 55.5 % by hand
# must not make it -44.5 Ah, nor the deepest discharge.
status_is '.consumed_ah > -30 and .consumed_ah < -15' ||
	fail "consumed Ah followed the SoC set by hand: $(ctl status --json | jq -c .consumed_ah)"
ctl history --json | jq -e '.deepest_discharge_ah > -30' >/dev/null ||
	fail "the deepest discharge followed the SoC set by hand"
ctl sync >/dev/null || fail "sync"
expect_status 2 '.soc >= 99.9 and .consumed_ah > -0.1 and .consumed_ah <= 0' "synchronised to 100 %"
expect_status 5 '.time_remaining != null and .consumed_ah < 0' \
	"discharging at 10 A: time remaining and consumed Ah"
ctl history --json | jq -e '.type == "history" and .last_full_charge != null' \
	>/dev/null || fail "history: $(ctl history --json)"
ctl history >"$T/history" && grep -q "Last full charge" "$T/history" ||
	fail "human history view"
ctl mode off >/dev/null || fail "mode off"

# A clean restart keeps settings, SoC and history.
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
start_daemon
setting_is charge_efficiency 90 || fail "setting lost in restart"
expect_status 3 '.mode == "off" and .synchronised == true and .soc > 99' \
	"mode, SoC and synchronisation survive a restart"
ctl history --json | jq -e '.last_full_charge != null' >/dev/null ||
	fail "history lost in restart"
ctl history --reset --json | jq -e '.last_full_charge == null' >/dev/null ||
	fail "history --reset"
ctl mode on >/dev/null

# The readout without a command.
ctl >"$T/readout" || fail "smallbmsctl without a command"
grep -q "State of charge" "$T/readout" || fail "readout: $(cat "$T/readout")"
note "ok: readout"
