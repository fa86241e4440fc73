#!/bin/sh
# SPDX-License-Identifier: MIT
# An RS485-to-TCP gateway: the simulator listens on loopback, the port is
# tcp://127.0.0.1:PORT; same codecs, same scheduler. When the gateway goes
# away the battery goes stale and the port is retried with back-off.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.310,3.320,3.330,3.340
0 all current 7.5
SCN
start_sim --tcp 127.0.0.1:0 --cells 4 --scenario "$T/scenario"
case $SIM_PTYS in tcp://127.0.0.1:*) ;; *) fail "no TCP listener: $SIM_PTYS" ;; esac
write_config "stale_after = 2s"
start_daemon

expect_status 8 '.stale == false and .current == 7.5 and .max_cell_voltage == 3.34' \
	"battery read through the TCP gateway"
ctl ports --json | jq -e '.ports[0].transport == "tcp" and .ports[0].open' \
	>/dev/null || fail "ports: $(ctl ports --json)"
kill "$(cat "$T/sim.pid")"
expect_status 8 '.stale == true' "gateway gone: stale"
retried() { ctl ports --json | jq -e '.ports[0].open == false and .ports[0].opens > 1' >/dev/null; }
wait_until 5 retried ||
	fail "port not retried: $(ctl ports --json)"
note "ok: port closed and retried: $(ctl ports --json | jq -c '.ports[0] | {opens, error}')"
