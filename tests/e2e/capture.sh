#!/bin/sh
# SPDX-License-Identifier: MIT
# smallbmsctl capture: the raw traffic of a port (two JK-PB packs),
# recorded for a bounded time in the capture format, replays through
# bmssim --replay and the daemon to the same values, identity included
# (a capture asks the batteries who they are again). Only an admin may
# capture; the bounds are checked.
. "$(dirname "$0")/lib.sh"

start_sim --protocol jk-pb --packs 2 --cells 4 --temps 3
PORT_PROTOCOL=jk-pb PORT_ADDRESSES="1,2" write_config
add_outputs
start_daemon
expect_status 10 '.batteries == 2 and .stale == false' "both packs read"

ctl capture b1 2 >"$T/my.cap" 2>"$T/capture.err" ||
	fail "capture failed: $(cat "$T/capture.err")"
grep -q "recording port b1 for 2 s" "$T/capture.err" ||
	fail "no progress line: $(cat "$T/capture.err")"
head -n 1 "$T/my.cap" | grep -q "^# smallbms capture of port b1: .*protocol jk-pb, 115200 baud" ||
	fail "header: $(head -n 1 "$T/my.cap")"
grep -q '^>>> 01 10 16 20 00 01 02 00 00 D6 F1  # +' "$T/my.cap" ||
	fail "no status request to pack 1 in the capture"
grep -q '^>>> 02 10 16 1C 00 01 02 00 00' "$T/my.cap" ||
	fail "no device-info request to pack 2 (identity asked again)"
grep -q '^<<< 55 AA EB 90 ' "$T/my.cap" || fail "no answer in the capture"
grep -q '^# ended: the time asked for is over' "$T/my.cap" ||
	fail "capture not ended by its time: $(tail -n 1 "$T/my.cap")"
ctl capture --json | jq -e '.state == "done" and .port == "b1" and
	.bytes > 0 and (.text | startswith("# smallbms capture"))' >/dev/null ||
	fail "capture state: $(ctl capture --json | jq -c 'del(.text)')"
note "ok: $(grep -c '^>>>' "$T/my.cap") requests captured"

# What the daemon showed while the capture ran.
for i in 1 2; do
	ctl battery $i --json | jq -c '{cells, voltage, current, soc,
		temperatures, serial, model, firmware, charge_fet, protection}' \
		>"$T/live$i"
done

# Bounds and permissions.
ctl capture b9 2 >/dev/null 2>"$T/err" && fail "a capture of no port"
grep -q "no port 'b9'" "$T/err" || fail "bad port: $(cat "$T/err")"
ctl capture b1 601 >/dev/null 2>"$T/err" && fail "601 s accepted"
ctl capture b1 5 70000 >/dev/null 2>"$T/err" && fail "70000 bytes accepted"

# The capture played back: the same values.
kill "$DAEMON_PID" "$(cat "$T/sim.pid")" 2>/dev/null || true
wait "$DAEMON_PID" 2>/dev/null || true
rm -f "$SOCK"
start_sim --replay "$T/my.cap"
PORT_PROTOCOL=jk-pb PORT_ADDRESSES="1,2" write_config
start_daemon
wait_until 10 battery_is 2 '.valid == true and .serial != null' ||
	fail "replay not read: $(ctl battery 2 --json)"
for i in 1 2; do
	ctl battery $i --json | jq -c '{cells, voltage, current, soc,
		temperatures, serial, model, firmware, charge_fet, protection}' \
		>"$T/replay$i"
	cmp -s "$T/live$i" "$T/replay$i" ||
		fail "battery $i: live $(cat "$T/live$i"), replayed $(cat "$T/replay$i")"
done
note "ok: the capture replays to the same values: $(cat "$T/replay1")"
