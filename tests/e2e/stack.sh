#!/bin/sh
# SPDX-License-Identifier: MIT
# A Pylontech master that answers stack reads (0x42 with INFO FF): the
# daemon finds out at the first scan and reads the analog values of all
# 16 packs with one request; the other steps stay per pack.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all current -2
0 3 cell 7 3.150
SCN
start_sim --protocol pylontech --packs 16 --address-base 2 --cells 15 \
	--capacity 50 --temps 5 --stack --scenario "$T/scenario"
PORT_PROTOCOL=pylontech PORT_ADDRESSES=2-17 write_config
start_daemon

expect_status 10 '.batteries == 16 and .stale == false and .cells == 240' \
	"16 packs read"
grep -q "the master answers stack reads (16 packs)" "$T/daemon.log" ||
	fail "stack read not used: $(grep -i stack "$T/daemon.log")"
battery_is 3 '.cells[6] == 3.15' ||
	fail "pack 3 (address 4): $(ctl battery 3 --json | jq -c .cells)"
status_is '.min_cell_voltage == 3.15 and .min_cell_at.battery == 3 and .min_cell_at.cell == 7' ||
	fail "min cell: $(ctl status --json | jq -c '{min_cell_voltage, min_cell_at}')"
note "ok: stack read: every pack's values at its battery"
