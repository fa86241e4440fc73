#!/bin/sh
# SPDX-License-Identifier: MIT
# A 16-pack Pylontech stack on one RS485 line (one pty, addresses 2..17)
# is fully read; a pack that stops answering is lost within stale_after and
# found again when it answers; the bank adds the 16 packs in parallel.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all current -4
0 all cells 3.300,3.300,3.300,3.300,3.300,3.300,3.300,3.300,3.300,3.300,3.300,3.300,3.300,3.300,3.300
8 5 silent
16 5 answer
SCN
start_sim --protocol pylontech --packs 16 --address-base 2 --cells 15 \
	--capacity 50 --temps 5 --scenario "$T/scenario"
PORT_PROTOCOL=pylontech PORT_ADDRESSES=2-17 write_config "stale_after = 3s"
start_daemon

expect_status 15 '.batteries == 16 and .stale == false and .cells == 240' \
	"16 packs, 240 cells read"
status_is '.current == -64 and .parallel == 16' ||
	fail "bank: $(ctl status --json | jq -c '{current, parallel, voltage}')"
ctl batteries --json | jq -e '[.batteries[].address] == [range(2;18)] and all(.batteries[]; .protocol == "pylontech" and .stale == false and (.cells | length) == 15)' \
	>/dev/null || fail "batteries: $(ctl batteries --json | jq -c '[.batteries[] | {address, stale}]')"
note "ok: every pack at its address"
wait_until 10 battery_is 5 '.stale == true' || fail "pack 5 not lost"
note "ok: pack 5 (address 6) lost"
status_is '.stale == true and .batteries == 16' || fail "bank not marked stale"
ctl batteries --json | jq -e '[.batteries[] | select(.stale)] | length == 1' \
	>/dev/null || fail "only pack 5 must be lost"
wait_until 15 battery_is 5 '.stale == false' || fail "pack 5 not found again"
grep -q "battery 5 (port b1 address 6): lost" "$T/daemon.log" || fail "loss not logged"
grep -q "battery 5 (port b1 address 6): found" "$T/daemon.log" || fail "return not logged"
note "ok: pack 5 found again"
grep -q "does not answer stack reads: polling pack by pack" "$T/daemon.log" ||
	fail "no fallback to pack-by-pack polling logged"
note "ok: no stack read here: polled pack by pack"
