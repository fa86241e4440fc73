#!/bin/sh
# SPDX-License-Identifier: MIT
# Four JBD batteries, each on its own port, as two series strings of two:
# all four are read, the bank adds up as the topology says, and a string
# whose batteries' currents disagree raises a topology warning (status and
# journal/stderr) that ends when they agree again.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -10
8 4 current -3
SCN
start_sim --batteries 4 --cells 4 --capacity 100 --scenario "$T/scenario"
write_config "series = 2"
start_daemon

expect_status 6 '.batteries == 4 and .series == 2 and .parallel == 2 and .stale == false' \
	"four batteries read as 2 strings of 2"
expect_status 4 '.topology == []' "no topology warning while currents agree"
# strings: 2 x 13.2 V in series = 26.4 V; two strings of -10 A = -20 A
status_is '.voltage == 26.4 and .current == -20' ||
	fail "bank voltage/current: $(ctl status --json | jq -c '{voltage,current}')"
ctl batteries --json | jq -e '[.batteries[].stale] == [false,false,false,false]' \
	>/dev/null || fail "not all four batteries fresh"
ctl ports --json | jq -e '(.ports | length) == 4 and all(.ports[]; .open and .scans > 0)' \
	>/dev/null || fail "ports: $(ctl ports --json)"

expect_status 12 '.topology == ["string_current_mismatch"] and .topology_string == 2' \
	"string 2's currents disagree: warning"
grep -q "string_current_mismatch" "$T/daemon.log" || fail "warning not logged"
