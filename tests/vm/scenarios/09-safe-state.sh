#!/bin/sh
# SPDX-License-Identifier: MIT
# After a crash (SIGKILL: no cleanup; the lines keep whatever the kernel
# does with them), `smallbmsd --safe-state` -- the unit's ExecStopPost= --
# requests every configured output NOT ALLOWED and releases it, and exits 0.
. "$(dirname "$0")/../lib.sh"

"$DAEMON" --help 2>&1 | grep -q -- --safe-state ||
	skip "waiting on smallbmsd --safe-state (not in this tree yet)"

make_by_id_link
write_config
add_output load load GPIO17
add_output charge charge GPIO27
add_output multiplus load-and-charge GPIO24
add_output inverter load GPIO25 active_low=yes
start_daemon
cat >"$T/scenario" <<'SCN'
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 30 '.stale == false' "battery read"
expect_lines 15 "GPIO17=1 GPIO27=1 GPIO24=1 GPIO25=0" "all allowed"

stop_daemon KILL
for l in GPIO17 GPIO27 GPIO24; do
	[ "$(last_level $l)" = 1 ] || fail "$l: SIGKILL, yet the last level written is $(last_level $l)"
done
note "ok: killed with the lines allowed (no cleanup)"

"$DAEMON" --safe-state -c "$T/smallbms.conf" >"$T/safe.log" 2>&1 ||
	fail "smallbmsd --safe-state failed: $(cat "$T/safe.log")"
cat "$T/safe.log"
for l in GPIO17 GPIO27 GPIO24; do
	[ "$(last_level $l)" = 0 ] || fail "$l: after --safe-state last written $(last_level $l), want 0"
done
[ "$(last_level GPIO25)" = 1 ] ||
	fail "GPIO25 (active-low): after --safe-state last written $(last_level GPIO25), want 1"
expect_levels GPIO17 "0 1 0" "safe after the crash"
expect_levels GPIO25 "1 0 1" "active-low safe after the crash"
for l in GPIO17 GPIO27 GPIO24 GPIO25; do
	line_free $l || fail "$l: lines still requested after --safe-state"
done
for o in load charge multiplus inverter; do
	grep -q "$o" "$T/safe.log" || fail "--safe-state did not report output $o"
done
note "ok: --safe-state put every line not allowed"
