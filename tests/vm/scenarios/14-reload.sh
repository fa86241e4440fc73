#!/bin/sh
# SPDX-License-Identifier: MIT
# Reload without touching a line, on real kernel GPIO: SIGHUP (what
# `systemctl reload smallbmsd` sends) re-reads the configuration while the
# loads and chargers run. Across a reload of the same file and of a file
# with a changed port (its timeout), smallbmsd writes nothing to any line
# (the kernel's gpio trace has no new "set" by smallbmsd) and keeps every
# line requested under its name (gpioinfo). A changed threshold is in
# effect after the reload: the only write is the charge line going to not
# allowed. A broken file is refused with file:line and changes nothing.
. "$(dirname "$0")/../lib.sh"

make_by_id_link
write_config
add_output load load GPIO17
add_output charge charge GPIO27
add_output prealarm prealarm GPIO23
short_protection 30 1
start_daemon

cat >"$T/scenario" <<'SCN'
0 all cells 3.30,3.31,3.50,3.30
0 all temp 20
0 all current -2
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 30 '.stale == false' "battery read"
expect_lines 15 "GPIO17=1 GPIO27=1 GPIO23=0" "load and charge allowed"
cp "$T/smallbms.conf" "$T/base.conf"

writes() { for l in GPIO17 GPIO27 GPIO23; do trace_sets $l smallbmsd | wc -l; done | tr '\n' ' '; }
holders() { for l in GPIO17 GPIO27 GPIO23; do gpio_line $l; done | tr '\n' ';'; }

# reload PATTERN: SIGHUP, wait for the daemon's line saying how it went.
reload() {
	n=$(grep -c "$1" "$T/daemon.log" || true)
	kill -HUP "$DAEMON_PID"
	wait_until 20 sh -c "[ \$(grep -c '$1' '$T/daemon.log') -gt $n ]" ||
		fail "no '$1' in the daemon log after SIGHUP"
}

w0=$(writes)
h0=$(holders)
reload "reloaded: ports: 1 kept running"
reload "reloaded: ports: 1 kept running"
expect_status 10 '.allowed_to_charge and .allowed_to_discharge' \
	"both allowed after two reloads"
[ "$(writes)" = "$w0" ] || fail "lines written across a reload: $w0 -> $(writes)"
[ "$(holders)" = "$h0" ] || fail "a line changed hands: $h0 -> $(holders)"
note "ok: two reloads, no line written, every line still held"

# A changed port: reopened, still no line written.
sed 's/^protocol = jbd$/protocol = jbd\ntimeout = 900ms/' "$T/base.conf" \
	>"$T/smallbms.conf"
reload "reloaded: ports: 0 kept running, 1 reopened"
expect_status 30 '.stale == false and .allowed_to_charge and .allowed_to_discharge' \
	"the reopened port answers"
[ "$(writes)" = "$w0" ] || fail "lines written across a port reopen: $w0 -> $(writes)"
note "ok: a changed port reopened, no line written"

# A lower high-cell limit: in effect, and the only write is charge -> 0.
printf 'cell_overvoltage = 3.45V\ncell_overvoltage_recover = 3.40V\n' \
	>>"$T/smallbms.conf"
cp "$T/smallbms.conf" "$T/good.conf"
reload "reloaded: ports"
expect_lines 10 "GPIO27=0 GPIO17=1" "the new cell_overvoltage opens the charge line"
expect_levels GPIO27 "0 1 0" "charge: allowed, then opened by the new limit"
expect_levels GPIO17 "0 1" "load untouched"

# A broken file: refused with file:line, nothing written.
w1=$(writes)
sed 's/^cell_overvoltage = 3.45V$/cell_overvoltage = 3.75V\nbogus = 1/' \
	"$T/good.conf" >"$T/smallbms.conf"
reload "reload refused"
grep -q "reload refused: $T/smallbms.conf:[0-9]*: unknown key 'bogus'" \
	"$T/daemon.log" || fail "the refusal does not name file and line"
holds 3 lines_are "GPIO27=0 GPIO17=1" ||
	fail "a refused file changed a line: $(lines_now "GPIO27=0 GPIO17=1")"
[ "$(writes)" = "$w1" ] || fail "a refused reload wrote a line"
note "ok: a broken file refused, nothing written"
