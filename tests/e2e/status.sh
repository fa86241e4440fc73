#!/bin/sh
# SPDX-License-Identifier: MIT
# The daemon reads a simulated JBD battery; smallbmsctl status --json must
# report the cells, voltage and current the simulator was told to have.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.301,3.322,3.287,3.310
0 all current -12.5
0 all temp 21.5
SCN
start_sim --cells 4 --capacity 100 --soc 80 --scenario "$T/scenario"
write_config
start_daemon

expect_status 10 '.stale == false and .batteries == 1' "battery read, not stale"
wait_until 5 sim_is '.batteries[0].requests > 2' || fail "simulator saw no requests"

# What the simulator says it has on the wire, and what the daemon reports.
sim=$(cat "$T/sim.json")
st=$(ctl status --json)
bat=$(ctl battery 1 --json)
note "simulator: $sim"
note "status:    $st"
echo "$st" | jq -e '.type == "status"' >/dev/null || fail "type is not status"
echo "$st" | jq -e '.min_cell_voltage == 3.287 and .max_cell_voltage == 3.322' \
	>/dev/null || fail "min/max cell"
echo "$st" | jq -e '.min_cell_at.cell == 3 and .max_cell_at.cell == 2' \
	>/dev/null || fail "min/max cell location"
echo "$st" | jq -e '.current == -12.5' >/dev/null || fail "current"
echo "$st" | jq -e '.min_temperature == 21.5 and .max_temperature == 21.5' \
	>/dev/null || fail "temperature"
# Pack voltage and SoC: exactly what the simulator put on the wire.
v=$(echo "$sim" | jq '.batteries[0].voltage')
soc=$(echo "$sim" | jq '.batteries[0].soc')
echo "$st" | jq -e --argjson v "$v" '.voltage == $v' >/dev/null ||
	fail "voltage $(echo "$st" | jq .voltage) != simulator $v"
echo "$bat" | jq -e --argjson s "$soc" '.soc == $s' >/dev/null ||
	fail "soc $(echo "$bat" | jq .soc) != simulator $soc"
echo "$bat" | jq -e '.cells == [3.301,3.322,3.287,3.31]' >/dev/null ||
	fail "cells: $(echo "$bat" | jq -c .cells)"
# Allowed once the first complete reading is in and the restore delay (the
# minimum off time, 5 s) has passed.
expect_status 10 '.allowed_to_charge == true and .allowed_to_discharge == true and .charge_reasons == [] and .discharge_reasons == []' \
	"allowed to charge and discharge"
for k in voltage current power soc batteries min_cell_voltage max_cell_voltage \
	min_temperature max_temperature allowed_to_charge allowed_to_discharge stale; do
	echo "$st" | jq -e --arg k "$k" 'has($k)' >/dev/null || fail "key $k missing"
done
note "ok: status matches the simulator"

# The human view names the values with units.
ctl status >"$T/human"
grep -q 'V' "$T/human" || fail "human status has no voltage"
ctl >/dev/null || fail "smallbmsctl without a command"

# watch: the daemon pushes a status after every scan (a subscription, not
# polling); not on a terminal, one line per update.
timeout 3 "$CTL" --socket "$SOCK" watch >"$T/watch" 2>&1 || true
[ "$(grep -c 'SoC .* V .* A' "$T/watch")" -ge 3 ] ||
	fail "watch: fewer than 3 updates in 3 s: $(cat "$T/watch")"
timeout 2 "$CTL" --socket "$SOCK" watch --json >"$T/watch.json" 2>&1 || true
head -n 1 "$T/watch.json" | jq -e '.type == "status" and .voltage != null' \
	>/dev/null || fail "watch --json: $(head -n 2 "$T/watch.json")"
note "ok: watch follows the status"
