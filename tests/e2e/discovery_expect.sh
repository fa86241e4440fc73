#!/bin/sh
# SPDX-License-Identifier: MIT
# "expect = 3" on a scanned port: with two of the three packs answering the
# bank is not used (nothing allowed), the packs found stay polled, and the
# missing one is looked for at once, not only every rescan_interval
# (10 minutes here, the default).
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all current -2
0 3 silent
10 3 answer
SCN
start_sim --protocol pylontech --packs 3 --addresses 1,6,8 --cells 4 \
	--scenario "$T/scenario"
PORT_PROTOCOL=pylontech PORT_ADDRESSES="scan 1-10" \
	PORT_EXTRA="timeout = 300ms
expect = 3" write_config
add_outputs
start_daemon

wait_until 15 grep -q "port b1: 2 of 10 addresses answered: too few, the bank is not used" \
	"$T/daemon.log" || fail "no line saying the port is short"
status_is '.discovering == true and .batteries == 2' ||
	fail "status: $(ctl status --json | jq -c '{discovering, batteries}')"
status_is '.allowed_to_charge == false and .allowed_to_discharge == false' ||
	fail "allowed with a pack missing"
line_is GPIO17 0 || fail "load output on with a pack missing"
# The two packs found are still read while the third is looked for.
battery_is 1 '.stale == false' || fail "battery 1 not polled while short"
scanning() { ctl ports | grep -q "2 of 10 (scanning)"; }
wait_until 5 scanning || fail "ports: $(ctl ports)"
note "ok: 2 of 3 expected: nothing allowed, the two found polled"

# Pack 3 (address 8) answers from t = 10 s: found within a round of the
# candidates, one per scan, long before the 10-minute rescan.
expect_status 20 '.discovering == false and .batteries == 3 and .stale == false' \
	"the third pack found"
expect_line 8 GPIO17 1
note "ok: allowed once the expected packs are found"
