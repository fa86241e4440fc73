#!/bin/sh
# SPDX-License-Identifier: MIT
# Seplos v3 through an RS485-to-TCP gateway in transparent mode (Modbus RTU
# over TCP, not Modbus TCP): the simulator listens on loopback with two
# packs at addresses 1 and 2; the port is tcp://127.0.0.1:PORT and the
# Modbus codec runs on the same transport and event loop as any protocol.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.310,3.320,3.330,3.340
0 all current 7.5
SCN
start_sim --tcp 127.0.0.1:0 --protocol seplos-v3 --packs 2 --address-base 1 \
	--cells 4 --temps 6 --scenario "$T/scenario"
case $SIM_PTYS in tcp://127.0.0.1:*) ;; *) fail "no TCP listener: $SIM_PTYS" ;; esac
PORT_PROTOCOL=seplos-v3 PORT_ADDRESSES=1-2 write_config "stale_after = 2s"
start_daemon

expect_status 8 '.batteries == 2 and .stale == false and .current == 15
	and .max_cell_voltage == 3.34' "two packs read through the TCP gateway"
ctl ports --json | jq -e '.ports[0].transport == "tcp" and .ports[0].open' \
	>/dev/null || fail "ports: $(ctl ports --json)"
battery_is 2 '.address == 2 and .serial == "SIMSP00000002"' ||
	fail "battery 2: $(ctl battery 2 --json | jq -c '{address, serial}')"
