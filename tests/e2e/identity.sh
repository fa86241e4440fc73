#!/bin/sh
# SPDX-License-Identifier: MIT
# The same adapter, the same battery. A port that vanished and is opened
# again under the same name may lead to other batteries: the daemon asks
# every battery who it is after a reopen (and after it was lost), and a
# battery that says another serial number is the old one lost and a new
# one found, said in the journal, never a silent continuation: the old
# reading is dropped and the new pack's values come with its own serial
# number.
#
# 1. Two Pylontech packs at addresses 2 and 3. The adapter is unplugged
#    (the simulator exits, its link goes away) and plugged in again with
#    another pack at address 3 (serial number and cells of its own).
# 2. Without a reopen: the pack at address 2 goes silent until it is
#    lost, and answers again as another pack.
. "$(dirname "$0")/lib.sh"

start_sim --protocol pylontech --packs 2 --address-base 2 --cells 4
PORT_PROTOCOL=pylontech PORT_ADDRESSES=2-3 PORT_EXTRA="timeout = 300ms" \
	write_config "stale_after = 2s"
start_daemon

expect_status 10 '.batteries == 2 and .stale == false' "two packs read"
battery_is 1 '.serial == "BMSSIM0000000001" and .address == 2' ||
	fail "battery 1: $(ctl battery 1 --json | jq -c '{address, serial}')"
battery_is 2 '.serial == "BMSSIM0000000002" and .address == 3' ||
	fail "battery 2: $(ctl battery 2 --json | jq -c '{address, serial}')"

# 1. Unplugged, and plugged in with another pack at address 3.
kill "$(cat "$T/sim.pid")"
wait_until 10 grep -q "port b1: .*will retry" "$T/daemon.log" ||
	fail "the daemon did not see the port go away"
cat >"$T/scenario" <<'SCN'
0 2 serial NEWPACK000000003
0 2 cells 3.111,3.111,3.111,3.111
SCN
start_sim --protocol pylontech --packs 2 --address-base 2 --cells 4 \
	--scenario "$T/scenario"
wait_until 20 grep -q "battery 2 (port b1 address 3): lost: another battery answers at its address (serial number NEWPACK000000003, was serial number BMSSIM0000000002)" \
	"$T/daemon.log" || fail "no journal line for the battery lost"
[ "$(grep -c "port b1: .* open (" "$T/daemon.log")" -eq 2 ] ||
	fail "the port was not opened again (once)"
expect_status 10 '.batteries == 2 and .stale == false' "read again after the replug"
battery_is 2 '.serial == "NEWPACK000000003" and .cells == [3.111,3.111,3.111,3.111]' ||
	fail "battery 2: $(ctl battery 2 --json | jq -c '{serial, cells}')"
grep -q "battery 2 (port b1 address 3): found: serial number NEWPACK000000003" \
	"$T/daemon.log" || fail "no journal line for the battery found"
if grep -q "address 2): lost: another battery" "$T/daemon.log"; then
	fail "the pack at address 2 (the same) taken for another"
fi
battery_is 1 '.serial == "BMSSIM0000000001" and .valid and .stale == false' ||
	fail "battery 1: $(ctl battery 1 --json | jq -c '{serial, valid, stale}')"
note "ok: another pack after a replug is a new battery; the same one goes on"

# 2. The pack at address 2 is lost, and another one answers there.
n=$(grep -c "lost: another battery" "$T/daemon.log")
kill "$(cat "$T/sim.pid")"
wait_until 10 sh -c "[ \$(grep -c 'will retry' '$T/daemon.log') -ge 2 ]" ||
	fail "the daemon did not see the port go away again"
cat >"$T/scenario2" <<'SCN'
0 2 serial NEWPACK000000003
0 2 cells 3.111,3.111,3.111,3.111
1 1 silent
1 1 serial SWAPPED000000002
1 1 cells 3.222,3.222,3.222,3.222
6 1 answer
SCN
start_sim --protocol pylontech --packs 2 --address-base 2 --cells 4 \
	--scenario "$T/scenario2"
expect_step 10 6
expect_status 10 '.batteries == 2 and .stale == false' "both read again"
battery_is 1 '.serial == "SWAPPED000000002" and .cells == [3.222,3.222,3.222,3.222]' ||
	fail "battery 1: $(ctl battery 1 --json | jq -c '{serial, cells}')"
grep -q "battery 1 (port b1 address 2): lost: no valid data" "$T/daemon.log" ||
	fail "the silent pack was not lost"
grep -q "battery 1 (port b1 address 2): lost: another battery answers at its address (serial number SWAPPED000000002, was serial number BMSSIM0000000001)" \
	"$T/daemon.log" || fail "no journal line for the pack swapped"
[ "$(grep -c "lost: another battery" "$T/daemon.log")" -eq $((n + 1)) ] ||
	fail "address 3 (the same pack since the replug) taken for another"
note "ok: a pack lost and another one at its address is a new battery"
