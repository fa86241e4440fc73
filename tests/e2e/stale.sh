#!/bin/sh
# SPDX-License-Identifier: MIT
# A battery that stops answering turns `stale` true; when it answers again,
# data is fresh again. (What the outputs do meanwhile, comm loss, is tested
# in protection_inputs.sh.)
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all current -3
4 all silent
9 all answer
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 2s"
start_daemon

expect_status 4 '.stale == false' "fresh data before the battery goes silent"
expect_status 10 '.stale == true' "stale once the battery is silent"
ctl battery 1 --json | jq -e '.stale == true and .timeouts > 0' >/dev/null ||
	fail "battery 1 not stale or no timeouts counted"
expect_status 10 '.stale == false' "fresh again after the battery answers"
