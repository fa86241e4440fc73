#!/bin/sh
# SPDX-License-Identifier: MIT
# I3: a run-time change that breaks a rule between parameters is refused
# whole. `smallbmsctl set prealarm_cell 2.50` (below cell_undervoltage
# 2.80 V + 0.10 V: the low-cell cutoff would wait for a pre-alarm that
# never comes) exits 1 naming the rule, and nothing changes: not the
# settings, not the protection (a cell at 3.00 V still starts the
# pre-alarm at the 3.10 V in force), so the bank ends warned in time.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -5
4 all cell 1 3.000
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 2s"
add_outputs
start_daemon

expect_status 4 '.allowed_to_charge and .allowed_to_discharge and .prealarm == false' \
	"both allowed, no pre-alarm"
ctl settings --json | jq -S '.settings' >"$T/before.json"
jq -e 'any(.[]; .name == "prealarm_cell" and .value == 3.1)' "$T/before.json" >/dev/null ||
	fail "prealarm_cell is not 3.10 V at start"

set +e
ctl set prealarm_cell 2.50 >"$T/set.out" 2>"$T/set.err"
rc=$?
set -e
cat "$T/set.err"
[ "$rc" -eq 1 ] || fail "set prealarm_cell 2.50 exited $rc, not 1 (refused)"
grep -qF 'prealarm_cell (2.50 V) must be at least cell_undervoltage (2.80 V) + 0.10 V' \
	"$T/set.err" || fail "the refusal does not name the rule"
note "ok: refused with the rule named"

ctl settings --json | jq -S '.settings' >"$T/after.json"
cmp -s "$T/before.json" "$T/after.json" ||
	fail "the settings changed: $(diff "$T/before.json" "$T/after.json" | head -5)"
note "ok: settings unchanged"

# The refused value is not in force either: the pre-alarm starts at 3.00 V
# (below 3.10 V), where 2.50 V would have kept it off until the cutoff.
expect_step 10 4
expect_status 2 '.prealarm == true and .warnings == ["low_cell"] and .allowed_to_discharge' \
	"pre-alarm at 3.00 V: the old prealarm_cell still holds"
expect_line 1 GPIO22 1
