#!/bin/sh
# SPDX-License-Identifier: MIT
# I8: the state file is loaded key by key. A file with Mode off, SoC 42 %,
# low_soc_warning 25 %, one bad value (prealarm_cell 3.5 V, above its
# 3.40 V maximum) and one unknown key: the bad and the unknown key are
# dropped with a warning naming each, the rest is kept (Mode stays off,
# SoC 42 %, not the pack's 80 %; prealarm_cell its default), status says
# "partial", and the file is set aside. What was kept survives a power
# cut (SIGKILL, restart). The bank ends safe: Mode off, every output off.
. "$(dirname "$0")/lib.sh"

start_sim --cells 4 --soc 80
write_config "stale_after = 2s"
add_outputs
cat >"$T/state/state.json" <<'JSON'
{"version": 1,
 "settings": {"mode": "off", "low_soc_warning": 25.0, "prealarm_cell": 3.5,
              "frobnicate": 1},
 "monitor": {"soc": 42.0, "synchronised": true}}
JSON
start_daemon

expect_status 4 '.stale == false and .battery_soc == 80' "the pack's data in"
status_is '.mode == "off"' || fail "Mode is not off: $(ctl status --json | jq -c .mode)"
status_is '.soc == 42' || fail "SoC is $(ctl status --json | jq -c .soc), not the saved 42 %"
note "ok: Mode off and SoC 42 % kept"
ctl status --json | jq '.state_file' >"$T/sf.json"
cat "$T/sf.json"
jq -e '.result == "partial" and .mode_forced_off == false' "$T/sf.json" >/dev/null ||
	fail "state_file is not partial with Mode read"
jq -e 'any(.problems[]; test("prealarm_cell"))' "$T/sf.json" >/dev/null ||
	fail "the problems do not name prealarm_cell"
jq -e 'any(.problems[]; test("frobnicate"))' "$T/sf.json" >/dev/null ||
	fail "the problems do not name frobnicate"
jq -e '.nproblems == 2' "$T/sf.json" >/dev/null ||
	fail "more problems than the two keys"
note "ok: partial, both keys named"
ctl settings --json >"$T/settings.json"
jq -e 'any(.settings[]; .name == "low_soc_warning" and .value == 25)' "$T/settings.json" >/dev/null ||
	fail "low_soc_warning 25 % not kept"
jq -e 'any(.settings[]; .name == "prealarm_cell" and .value == 3.1)' "$T/settings.json" >/dev/null ||
	fail "prealarm_cell is not its default 3.10 V"
note "ok: the good keys kept, the bad one at its default"
grep 'state file' "$T/daemon.log" | grep -q 'prealarm_cell' ||
	fail "no warning names prealarm_cell"
grep 'state file' "$T/daemon.log" | grep -q 'frobnicate' ||
	fail "no warning names frobnicate"
ls "$T/state"/state.json.corrupt-* >/dev/null 2>&1 || fail "the file was not set aside"

# Safe: Mode off holds every output off.
status_is '.allowed_to_charge == false and .allowed_to_discharge == false and any(.discharge_reasons[]; . == "mode_off")' ||
	fail "outputs allowed with Mode off"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 0

# A power cut: what was kept is in the new state file.
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
mv "$T/daemon.log" "$T/daemon-1.log"
start_daemon
expect_status 4 '.stale == false and .mode == "off" and .soc == 42 and .state_file.result == "loaded"' \
	"after a restart: Mode off, SoC 42 %, the file loaded whole"
ctl settings --json | jq -e 'any(.settings[]; .name == "low_soc_warning" and .value == 25)' >/dev/null ||
	fail "low_soc_warning 25 % lost in the restart"
expect_line 1 GPIO17 0
expect_line 1 GPIO27 0
