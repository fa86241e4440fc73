#!/bin/sh
# SPDX-License-Identifier: MIT
# The remote input (an edge on its line) and Mode switch everything off and
# back on; a battery that is unplugged opens ATC after the charge timeout
# and ATD after the load timeout. Outputs stay off until data is complete.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -2
0 all silent
3 all answer
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 1s"
add_outputs
start_daemon
# Before a complete reading of every battery, every line is in the safe
# state and the reason says so.
status_is '(.charge_reasons | index("starting")) != null and .allowed_to_discharge == false' ||
	fail "outputs must wait for the first complete reading"
line_is GPIO17 0 || fail "load line driven before any data"
line_is GPIO27 0 || fail "charge line driven before any data"
note "ok: safe state until the first complete reading"
expect_status 5 '.allowed_to_charge and .allowed_to_discharge' "both allowed"
expect_line 2 GPIO17 1

echo 0 >"$GPIO/GPIO24.tmp" && mv "$GPIO/GPIO24.tmp" "$GPIO/GPIO24"
expect_status 3 '.remote == "off" and .allowed_to_charge == false and .allowed_to_discharge == false and (.charge_reasons | index("remote_off")) != null' \
	"remote off: everything off"
expect_line 2 GPIO17 0
expect_line 2 GPIO27 0
echo 1 >"$GPIO/GPIO24.tmp" && mv "$GPIO/GPIO24.tmp" "$GPIO/GPIO24"
expect_status 4 '.remote == "on" and .allowed_to_charge and .allowed_to_discharge' \
	"remote on: back on after the restore delay"

ctl mode off >/dev/null || fail "smallbmsctl mode off"
expect_status 2 '.mode == "off" and (.discharge_reasons | index("mode_off")) != null' \
	"mode off: everything off"
expect_line 2 GPIO17 0
ctl mode on >/dev/null || fail "smallbmsctl mode on"
expect_status 4 '.mode == "on" and .allowed_to_discharge' "mode on again"

kill "$(cat "$T/sim.pid")"
expect_status 5 '.allowed_to_charge == false and .allowed_to_discharge == true and .charge_reasons == ["comm_loss"]' \
	"battery unplugged: charge off after the charge timeout"
expect_status 5 '.allowed_to_discharge == false and (.discharge_reasons | index("comm_loss")) != null' \
	"... and load off after the load timeout"
expect_line 2 GPIO17 0

kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
expect_line 2 GPIO27 0 # not allowed after SIGTERM
