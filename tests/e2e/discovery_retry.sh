#!/bin/sh
# SPDX-License-Identifier: MIT
# The first discovery pass must not lose a pack to one bad answer: the
# candidate is asked again, as in any poll (a pack missed there would stay
# unwatched until the next rescan). And a port lost while a candidate is
# being asked asks that candidate again once it is back.
. "$(dirname "$0")/lib.sh"

LINK="$T/bms"
cat >"$T/scenario" <<'SCN'
0 all current -2
0 2 corrupt 1
0 2 delay 300
SCN
sim() {
	"$SIM" --protocol pylontech --packs 2 --addresses 1,6 --cells 4 -v \
		--link "$LINK" --scenario "$T/scenario" >"$T/sim$1.out" \
		2>"$T/sim$1.err" &
	SIMPID=$!
	PIDS="$PIDS $SIMPID"
	wait_until 10 grep -q '^READY' "$T/sim$1.out" || fail "simulator not ready"
}
sim 1
SIM_PTYS=$LINK
PORT_PROTOCOL=pylontech PORT_ADDRESSES="scan 1-10" PORT_EXTRA="timeout = 400ms" \
	write_config
add_outputs
start_daemon

# Address 6's first answer is corrupt; the retry gets a good one. While
# its second request is out, the adapter goes away (the simulator exits)
# and comes back: address 6 is asked again, not skipped.
wait_until 10 sh -c "grep -c 'rx: 7E 32 30 30 36 34 36 34 32' '$T/sim1.err' |
	grep -qx 2" || fail "address 6 was not asked twice"
kill "$SIMPID"
wait "$SIMPID" 2>/dev/null || true
sim 2
expect_status 20 '.discovering == false' "first pass over"
status_is '.batteries == 2' ||
	fail "found $(ctl batteries --json | jq -c '[.batteries[].address]') of [1,6]"
ctl batteries --json | jq -e '[.batteries[].address] == [1,6]' >/dev/null ||
	fail "addresses: $(ctl batteries --json | jq -c '[.batteries[].address]')"
grep -q "port b1: 2 of 10 addresses answered" "$T/daemon.log" ||
	fail "no summary of the pass"
expect_line 8 GPIO27 1
note "ok: a corrupt answer and a lost port do not hide a pack"
