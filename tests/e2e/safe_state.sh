#!/bin/sh
# SPDX-License-Identifier: MIT
# After a crash (SIGKILL) the last values may stay on the lines; the
# unit's ExecStopPost= runs smallbmsd --safe-state, which sets every
# configured output to not allowed (an active-low line goes high).
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config
add_outputs
start_daemon
expect_status 8 '.allowed_to_charge and .allowed_to_discharge' "both allowed"
expect_line 2 GPIO17 1
expect_line 2 GPIO25 0
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
line_is GPIO17 1 || fail "the dry-run line should keep its last value here"
"$DAEMON" --safe-state -c "$T/smallbms.conf" 2>"$T/safe.log" ||
	fail "--safe-state failed: $(cat "$T/safe.log")"
cat "$T/safe.log"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 0
expect_line 1 GPIO23 0
expect_line 1 GPIO25 1 # active-low: not allowed = high
