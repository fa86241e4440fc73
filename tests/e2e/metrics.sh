#!/bin/sh
# SPDX-License-Identifier: MIT
# [metrics] textfile: the daemon writes the Prometheus text file every
# interval; it passes `promtool check metrics`, and its values are those of
# `smallbmsctl status --json` and `battery 1 --json` (read while the
# simulated battery holds still). Unknown values are absent, never 0 or
# NaN; the guard's reasons are labelled 1-gauges. A write that fails is
# counted in the status and said once, the outputs stay as they were, and
# the writes resume; a reload moves the file; a stop removes it.
. "$(dirname "$0")/lib.sh"

# promtool: installed, or unpacked from Debian's prometheus package by
# scripts/test (scripts/lib/common.sh, fetch_promtool).
PATH=$PATH:${SMALLBMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smallbms}/promtool
command -v promtool >/dev/null || {
	echo "SKIP: no promtool (scripts/test unpacks it from Debian's prometheus package)"
	exit 77
}

# Current 0: SoC and consumed Ah hold still between the two reads.
cat >"$T/scenario" <<'SCN'
0 all cells 3.301,3.322,3.287,3.310
0 all current 0
0 all temp 21.5
SCN
start_sim --cells 4 --capacity 100 --soc 80 --scenario "$T/scenario"
write_config
add_outputs
PROM="$T/prom/smallbms.prom"
mkdir -p "$T/prom"
printf '[metrics]\ntextfile = %s\ninterval = 1s\n' "$PROM" >>"$T/smallbms.conf"
start_daemon

expect_status 10 '.allowed_to_charge and .allowed_to_discharge' "both allowed"
# The file written after that (the writes count is in each file).
n=$(ctl status --json | jq '.metrics.writes')
wait_until 5 grep -q "^smallbms_metrics_writes_total $((n + 1))\$" "$PROM" ||
	fail "no metrics write after the bank was allowed: $(cat "$PROM")"
cp "$PROM" "$T/m"
st=$(ctl status --json)
bat=$(ctl battery 1 --json)
note "metrics file: $(wc -l <"$T/m") lines, $(wc -c <"$T/m") bytes"

promtool check metrics <"$T/m" >"$T/promtool.out" 2>&1 ||
	fail "promtool check metrics: $(cat "$T/promtool.out")"
note "ok: promtool check metrics"
! grep -qi 'nan' "$T/m" || fail "NaN in the file: $(grep -i nan "$T/m")"
[ ! -e "$PROM.tmp" ] || fail "$PROM.tmp left behind"

# val SERIES: the value of the sample whose name{labels} is SERIES.
val() { awk -v s="$1" '$1 == s { print $2; f = 1 } END { exit !f }' "$T/m"; }
# same SERIES JQ-PATH JSON: the sample equals the JSON value (true = 1).
same() {
	v=$(val "$1") || fail "series $1 missing"
	echo "$3" | jq -e --argjson v "$v" \
		"($2 | if type == \"boolean\" then (if . then 1 else 0 end) else . end) == \$v" \
		>/dev/null || fail "$1 = $v, status $2 = $(echo "$3" | jq -c "$2")"
}
for k in voltage:bank_voltage_volts current:bank_current_amperes \
	power:bank_power_watts soc:bank_soc_percent \
	battery_soc:bank_battery_soc_percent \
	remaining_ah:bank_remaining_amphours consumed_ah:bank_consumed_amphours \
	min_cell_voltage:bank_min_cell_voltage_volts \
	max_cell_voltage:bank_max_cell_voltage_volts \
	min_temperature:bank_min_temperature_celsius \
	max_temperature:bank_max_temperature_celsius \
	allowed_to_charge:bank_allowed_to_charge \
	allowed_to_discharge:bank_allowed_to_discharge \
	prealarm:bank_prealarm batteries:bank_batteries stale:bank_stale \
	min_cell_at.cell:bank_min_cell_number; do
	same "smallbms_${k#*:}" ".${k%%:*}" "$st"
done
same smallbms_mode_on '.mode == "on"' "$st"
for k in voltage:voltage_volts current:current_amperes soc:soc_percent \
	charge_fet:charge_fet_on discharge_fet:discharge_fet_on stale:stale; do
	same "smallbms_battery_${k#*:}{battery=\"1\"}" ".${k%%:*}" "$bat"
done
for c in 1 2 3 4; do
	same "smallbms_cell_voltage_volts{battery=\"1\",cell=\"$c\"}" \
		".cells[$((c - 1))]" "$bat"
done
same 'smallbms_battery_temperature_celsius{battery="1",sensor="1"}' \
	'.temperatures[0]' "$bat"
grep -q '^smallbms_battery_info{battery="1",address="[0-9]*",port="b1",protocol="jbd"' \
	"$T/m" || fail "no battery info: $(grep battery_info "$T/m")"
for s in smallbms_port_scans_total smallbms_battery_frames_good_total \
	smallbms_battery_timeouts_total; do
	grep -q "^$s{" "$T/m" || fail "no $s"
done
grep -q '^smallbms_output_active{output="load",function="load",line="GPIO17"} 1$' \
	"$T/m" || fail "load output: $(grep output_active "$T/m")"
note "ok: the file's values are the status'"

# Unknown is left out: the time to go is null at 0 A.
echo "$st" | jq -e '.time_remaining == null' >/dev/null ||
	fail "time_remaining is known at 0 A: $(echo "$st" | jq .time_remaining)"
! grep -q '^smallbms_bank_time_remaining_seconds' "$T/m" ||
	fail "an unknown time to go is in the file"
note "ok: unknown values are absent"

# Mode off: each reason of each output is a 1 in the file, nothing else.
ctl mode off >/dev/null
expect_status 5 '.allowed_to_charge == false and .charge_reasons != []' \
	"mode off: not allowed"
n=$(ctl status --json | jq '.metrics.writes')
wait_until 5 grep -q "^smallbms_metrics_writes_total $((n + 1))\$" "$PROM" ||
	fail "no metrics write after mode off"
cp "$PROM" "$T/m"
st=$(ctl status --json)
for o in charge discharge; do
	want=$(echo "$st" | jq -r ".${o}_reasons[]" | sort | tr '\n' ' ')
	got=$(sed -n "s/^smallbms_guard_reason{output=\"$o\",reason=\"\([a-z_]*\)\"} 1\$/\1/p" \
		"$T/m" | sort | tr '\n' ' ')
	[ -n "$want" ] && [ "$want" = "$got" ] ||
		fail "$o reasons: status '$want', file '$got'"
done
same smallbms_mode_on '.mode == "on"' "$st"
note "ok: the guard's reasons are in the file"
ctl mode on >/dev/null

# A failing write: the path is a directory (rename fails with EISDIR, also
# for root). Counted, said once, the lines untouched, and it recovers.
wait_until 5 sh -c "rm -f '$PROM' && mkdir '$PROM'" ||
	fail "could not put a directory at $PROM"
expect_status 10 '.metrics.write_errors >= 2 and .metrics.last_error != null' \
	"two failed writes counted"
[ "$(grep -c 'metrics: cannot write' "$T/daemon.log")" -eq 1 ] ||
	fail "the failure not said exactly once: $(grep 'metrics:' "$T/daemon.log")"
expect_status 10 '.allowed_to_charge and .allowed_to_discharge' \
	"both allowed while the metrics file fails"
rmdir "$PROM"
wait_until 5 test -f "$PROM" || fail "writes did not resume"
wait_until 5 grep -q "metrics: $PROM written again" "$T/daemon.log" ||
	fail "no word that the writes resumed"
note "ok: a failing write is counted, said once, and recovers"

# Reload with another file: the new one is written, the old one removed.
sed -i "s|^textfile = .*|textfile = $T/prom/other.prom|" "$T/smallbms.conf"
kill -HUP "$DAEMON_PID"
wait_until 5 test -f "$T/prom/other.prom" || fail "reload: no new file"
wait_until 5 test ! -e "$PROM" || fail "reload: the old file is still there"
note "ok: a reload moves the file"

# A stopped daemon leaves no values that look current.
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
[ ! -e "$T/prom/other.prom" ] || fail "the file outlived the daemon"
note "ok: the file goes with the daemon"
