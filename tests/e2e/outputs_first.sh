#!/bin/sh
# SPDX-License-Identifier: MIT
# Outputs first, words after (#18): when a 2.40 V cell opens the load
# disconnect, the daemon writes the line (the dry-run backend renames the
# line's file) before it writes the event to its log. Checked on the
# daemon's own system calls (strace), not on timing.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || { echo "SKIP: strace is not installed"; exit 77; }
strace -f -qq -o /dev/null true 2>/dev/null ||
	{ echo "SKIP: strace cannot trace here (ptrace not permitted)"; exit 77; }

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -20
3 all cell 1 2.400
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 2s"
add_outputs
# start_daemon, under strace: every rename and every write, with enough
# of each string to see the event's fields. LeakSanitizer cannot run under
# ptrace (it stops with a fatal error at exit), so under the sanitizers
# (.ci/run) leak checks are off for this one traced daemon; every other
# test keeps them.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -s 1000 -e trace=rename,renameat,renameat2,write \
	-o "$T/trace" "$DAEMON" -c "$T/smallbms.conf" >"$T/daemon.log" 2>&1 &
STRACE_PID=$!
PIDS="$PIDS $STRACE_PID"
wait_until 20 ctl status --json || fail "daemon did not answer"
# The daemon is strace's child: stopped first by cleanup (strace, killed
# first, would only detach from it and leave it running).
DAEMON_PID=$(pgrep -P "$STRACE_PID" | head -n 1)
[ -n "$DAEMON_PID" ] || fail "no daemon under strace"
PIDS="$PIDS $DAEMON_PID"

expect_line 4 GPIO17 1
expect_step 10 3
expect_line 4 GPIO17 0
wait_until 4 grep -q 'SMALLBMS_EVENT=output_off SMALLBMS_OUTPUT=discharge' \
	"$T/daemon.log" || fail "no output_off event for the load"

# The line number in the trace of the last rename onto GPIO17 (the load
# going off) and of the first write of the output_off event.
off=$(grep -n 'rename.*/GPIO17"' "$T/trace" | tail -n 1 | cut -d: -f1)
ev=$(grep -n 'write(2, .*SMALLBMS_EVENT=output_off SMALLBMS_OUTPUT=discharge' \
	"$T/trace" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || fail "no rename of the GPIO17 file in the trace"
[ -n "$ev" ] || fail "no write of the output_off event in the trace"
[ "$off" -lt "$ev" ] ||
	fail "the event was written (trace line $ev) before the line (trace line $off)"
note "ok: the line was written (trace line $off) before the event (line $ev)"
