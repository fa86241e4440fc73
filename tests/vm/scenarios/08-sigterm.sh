#!/bin/sh
# SPDX-License-Identifier: MIT
# SIGTERM: the daemon sets every output NOT ALLOWED before it releases the
# lines and exits 0. gpio-sim returns a released line to its pull, so the
# proof is the kernel's record of the daemon's writes: the last level it
# wrote to every line is the inactive one (high for the active-low one).
. "$(dirname "$0")/../lib.sh"

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

stop_daemon TERM
[ "$DAEMON_STATUS" -eq 0 ] || fail "smallbmsd exited $DAEMON_STATUS on SIGTERM"
for l in GPIO17 GPIO27 GPIO24; do
	[ "$(last_level $l)" = 0 ] || fail "$l: last written $(last_level $l), want 0"
done
[ "$(last_level GPIO25)" = 1 ] || fail "GPIO25 (active-low): last written $(last_level GPIO25), want 1"
expect_levels GPIO17 "0 1 0"
expect_levels GPIO25 "1 0 1" "active-low"
for l in GPIO17 GPIO27 GPIO24 GPIO25; do
	line_free $l || fail "$l: lines still requested after exit"
done
note "ok: every line written not allowed, then released"
