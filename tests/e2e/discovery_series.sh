#!/bin/sh
# SPDX-License-Identifier: MIT
# A pack found by a rescan that leaves a series string short
# (series_count_mismatch): the bank is not used, and since every known
# battery still answers, comm loss must count from the last complete bank
# and disconnect loads and chargers; not keep the lines as they were with
# nothing watching the cells.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all current -2
0 3 silent
3 3 answer
SCN
start_sim --protocol pylontech --packs 3 --addresses 1,2,3 --cells 4 \
	--scenario "$T/scenario"
PORT_PROTOCOL=pylontech PORT_ADDRESSES="scan 1-4" PORT_EXTRA="timeout = 400ms" \
	write_config "rescan_interval = 10s" "series = 2"
add_outputs
start_daemon

expect_status 10 '.discovering == false and .batteries == 2 and .stale == false' \
	"one string of 2 found"
expect_line 5 GPIO27 1
expect_line 5 GPIO17 1
# The third pack answers from t = 3 s and joins at the rescan (t ~ 13 s).
expect_status 25 '.batteries == 3 and (.topology | index("series_count_mismatch")) != null' \
	"3 packs do not make strings of 2: series_count_mismatch"
status_is '.stale == true' || fail "the bank is still used"
# comm_loss_charge 2 s, comm_loss_load 4 s (add_outputs), plus restore.
expect_line 6 GPIO27 0
expect_line 8 GPIO17 0
status_is '(.charge_reasons | index("comm_loss")) != null and
	(.discharge_reasons | index("comm_loss")) != null' ||
	fail "reasons: $(ctl status --json | jq -c '{charge_reasons, discharge_reasons}')"
grep -q "topology: series_count_mismatch: 3 batteries do not make strings of 2" \
	"$T/daemon.log" || fail "no journal line for the mismatch"
note "ok: an incomplete string disconnects loads and chargers"
