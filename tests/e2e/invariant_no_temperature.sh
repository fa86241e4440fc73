#!/bin/sh
# SPDX-License-Identifier: MIT
# I4: a battery that reports no temperature (a JBD pack without sensors,
# bmssim --temps 0) never allows charging: ATC stays off with the reason
# no_temperature while discharging is allowed. Only its port's
# charge_without_temperature = yes lets it charge, and then the status
# lists the port and the daemon warns at start. Without the opt-out the
# bank ends with the chargers off.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -2
SCN
start_sim --cells 4 --temps 0 --scenario "$T/scenario"
write_config "stale_after = 2s"
add_outputs
start_daemon

expect_status 4 '.stale == false and .allowed_to_discharge and .allowed_to_charge == false and .charge_reasons == ["no_temperature"]' \
	"no sensor: charging not allowed (no_temperature), discharging allowed"
battery_is 1 '.temperatures == []' || fail "the pack should report no temperature"
status_is '.charge_without_temperature == [] and .min_temperature == null' ||
	fail "no port opts out, and there is no temperature"
expect_line 1 GPIO27 0
expect_line 1 GPIO23 0 # load-and-charge needs both
expect_line 1 GPIO17 1
grep -q 'SMALLBMS_REASON=no_temperature' "$T/daemon.log" ||
	fail "no journal entry names no_temperature"

# The same pack on a port that opts out.
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
mv "$T/daemon.log" "$T/daemon-1.log"
PORT_EXTRA="charge_without_temperature = yes"
write_config "stale_after = 2s"
add_outputs
start_daemon
expect_status 4 '.stale == false and .allowed_to_charge and .allowed_to_discharge and .charge_without_temperature == ["b1"]' \
	"charge_without_temperature = yes: charging allowed, the port listed"
expect_line 1 GPIO27 1
expect_line 1 GPIO23 1
grep -q 'port b1: charge_without_temperature = yes' "$T/daemon.log" ||
	fail "no warning at start about the opt-out"
note "ok: the daemon warned about the opt-out"
