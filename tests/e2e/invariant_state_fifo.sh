#!/bin/sh
# SPDX-License-Identifier: MIT
# I8: a FIFO in place of the state file does not hang the start. The
# daemon answers `status` within the usual deadline, the FIFO is set
# aside as state.json.corrupt-*, and since Mode could not be read from a
# file that existed, Mode starts off (status: state_file.result
# "unusable", mode_forced_off true). Mode stays off after a restart, until
# someone sets it. The bank ends safe: every output off.
. "$(dirname "$0")/lib.sh"

start_sim --cells 4
write_config "stale_after = 2s"
add_outputs
mkfifo "$T/state/state.json"

# start_daemon, but a daemon that blocks opening the FIFO may also block
# the SIGTERM of the cleanup: stop it with SIGKILL before failing.
"$DAEMON" -c "$T/smallbms.conf" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS="$PIDS $DAEMON_PID"
if ! wait_until 10 ctl status --json; then
	kill -KILL "$DAEMON_PID" 2>/dev/null || true
	fail "the daemon did not answer within 10 s with a FIFO as state.json"
fi
note "ok: the daemon answers"

ctl status --json | jq '.state_file' >"$T/sf.json"
cat "$T/sf.json"
jq -e '.result == "unusable" and .mode_forced_off == true' "$T/sf.json" >/dev/null ||
	fail "state_file is not unusable with Mode forced off"
status_is '.mode == "off"' || fail "Mode is not off"
note "ok: Mode off, said in the status"
set -- "$T/state"/state.json.corrupt-*
[ -p "$1" ] || fail "the FIFO was not set aside as state.json.corrupt-*"
note "ok: the FIFO set aside as ${1##*/}"
grep -q 'Mode' "$T/daemon.log" || fail "the log does not say that Mode is off"

# Safe: Mode off holds every output off once the data is in.
expect_status 4 '.stale == false and .allowed_to_charge == false and .allowed_to_discharge == false and any(.discharge_reasons[]; . == "mode_off")' \
	"outputs off with Mode off"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 0

# Mode stays off through a restart: the daemon saved it.
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
mv "$T/daemon.log" "$T/daemon-1.log"
[ -f "$T/state/state.json" ] && [ ! -p "$T/state/state.json" ] ||
	fail "no regular state file was written"
start_daemon
expect_status 4 '.stale == false and .mode == "off" and .state_file.result == "loaded" and .allowed_to_discharge == false' \
	"after a restart: Mode still off"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 0
