#!/bin/sh
# SPDX-License-Identifier: MIT
# The daemon's Modbus codec against an independent implementation: a
# libmodbus RTU server (tests/tools/mbserver, built only when configure
# found libmodbus) serves a Seplos v3 pack's register map at address 1 on
# one end of a pty pair (socat); the daemon reads the other end with
# protocol = seplos-v3. Every value is the captured pack's
# (tests/data/seplosv3-sg16s200a-addr1.expect), the identity the master
# capture's; libmodbus packs the coils itself, so the FETs and the cell
# under-voltage protection coil check the bit order. Skipped (77) without
# libmodbus or socat.
. "$(dirname "$0")/lib.sh"

MBSERVER="$top_builddir/tests/tools/mbserver"
[ -x "$MBSERVER" ] || { echo "SKIP: no libmodbus (tests/tools/mbserver not built)"; exit 77; }
command -v socat >/dev/null 2>&1 || { echo "SKIP: no socat"; exit 77; }

socat -d -d "pty,raw,echo=0,link=$T/server" "pty,raw,echo=0,link=$T/bms" \
	2>"$T/socat.err" &
PIDS="$PIDS $!"
wait_until 5 test -e "$T/server" -a -e "$T/bms" || fail "socat made no pty pair"
"$MBSERVER" "$T/server" 1 >"$T/mb.out" 2>"$T/mb.err" &
PIDS="$PIDS $!"
wait_until 5 grep -q READY "$T/mb.out" || fail "mbserver not ready: $(cat "$T/mb.err")"

SIM_PTYS="$T/bms" PORT_PROTOCOL=seplos-v3 PORT_ADDRESSES=1 write_config
start_daemon
wait_until 15 battery_is 1 '.valid == true' ||
	fail "battery never read: $(ctl battery 1 --json); $(cat "$T/mb.err")"
got=$(ctl battery 1 --json)
echo "$got" | jq -e '.voltage == 53.24 and .current == -1.37
	and .remaining_ah == 274.56 and .full_ah == 330 and .soc == 83.2
	and .cycles == 10
	and .cells == [3.327, 3.327, 3.327, 3.328, 3.328, 3.328, 3.327, 3.328,
		3.327, 3.328, 3.328, 3.328, 3.327, 3.328, 3.327, 3.328]
	and ([.temperatures, [21.45, 21.15, 21.35, 20.95, 22.45, 21.15]]
		| (.[0] | length) == 6
		and (transpose | all(((.[0] - .[1]) | fabs) <= 0.051)))
	and .model == "SG16S200A-SP57B-A" and .firmware == "1.5"
	and .serial == "SP57B-A2506120022"
	and .charge_fet and .discharge_fet
	and .protection == ["cell_undervoltage"]' >/dev/null ||
	fail "values: $got"
ctl ports --json | jq -e '.ports[0] | .baud == 19200 and .error == null' \
	>/dev/null || fail "ports: $(ctl ports --json | jq -c '.ports[0]')"
echo "$got" | jq -e '.frames_bad == 0' >/dev/null ||
	fail "malformed frames from libmodbus: $(echo "$got" | jq -c '{frames_bad, timeouts}')"
note "ok: a libmodbus server's answers read exactly (values, identity, coils)"
