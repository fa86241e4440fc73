#!/bin/sh
# SPDX-License-Identifier: MIT
# Daly current sign (current_sign = inverted): the daemon turns the pack's
# current, and says in the journal when the sign contradicts the pack's
# own charging / discharging word (0x93) - once per change, not at every
# poll - and once when they agree again. The simulator's pack counts the
# documented way, so inverted makes them disagree while current flows.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all current -2.1
6 all current 5
10 all current 0
SCN
start_sim --protocol daly --cells 4 --temps 1 --scenario "$T/scenario"
PORT_PROTOCOL=daly PORT_EXTRA="current_sign = inverted" write_config
start_daemon

wait_until 6 battery_is 1 '.current == 2.1' ||
	fail "current not turned: $(ctl battery 1 --json | jq -c .current)"
note "ok: -2.1 A sent, +2.1 A reported (inverted)"
expect_step 10 6
wait_until 4 battery_is 1 '.current == -5' ||
	fail "current not turned: $(ctl battery 1 --json | jq -c .current)"
note "ok: +5 A sent, -5 A reported"
expect_step 10 10
wait_until 4 battery_is 1 '.current == 0' || fail "current not 0"
# A few more polls: the messages must not repeat.
scans() { ctl ports --json | jq '.ports[0].scans'; }
more_scans() { [ "$(scans)" -ge "$1" ]; }
wait_until 5 more_scans $(($(scans) + 3)) || fail "no more polls"
warn=$(grep -c "the pack says it is" "$T/daemon.log" || true)
agree=$(grep -c "agree again" "$T/daemon.log" || true)
[ "$warn" -eq 1 ] || fail "$warn sign warnings, want 1 (once per change)"
[ "$agree" -eq 1 ] || fail "$agree 'agree again' notices, want 1"
grep -q "says it is discharging but its current is +2.1 A" "$T/daemon.log" ||
	fail "the warning does not say what disagrees"
note "ok: one warning while they disagreed, one notice when they agreed"
