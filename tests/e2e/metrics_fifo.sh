#!/bin/sh
# SPDX-License-Identifier: MIT
# [metrics]: a FIFO at PATH.tmp (someone else's, in a shared directory such
# as node-exporter's) never blocks the daemon: the writer makes a new file
# of its own there, so the loop, the status and the file go on.
. "$(dirname "$0")/lib.sh"

start_sim --cells 4
write_config
PROM="$T/prom/smallbms.prom"
mkdir -p "$T/prom"
mkfifo "$PROM.tmp"
printf '[metrics]\ntextfile = %s\ninterval = 1s\n' "$PROM" >>"$T/smallbms.conf"
# start_daemon, but a daemon blocked on the FIFO may not take SIGTERM.
"$DAEMON" -c "$T/smallbms.conf" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS="$PIDS $DAEMON_PID"
wait_until 10 ctl status --json || {
	kill -KILL "$DAEMON_PID" 2>/dev/null || true
	fail "the daemon did not answer with a FIFO at the metrics .tmp path"
}
has_writes() { status_is '.metrics.writes >= 2'; }
wait_until 6 has_writes || {
	kill -KILL "$DAEMON_PID" 2>/dev/null || true
	fail "no metrics writes: $(ctl status --json | jq -c .metrics)"
}
[ -f "$PROM" ] && [ ! -p "$PROM" ] || fail "no metrics file"
expect_status 5 '.stale == false' "batteries read"
note "ok: the FIFO replaced by the writer's own file; status and writes go on"
