#!/bin/sh
# SPDX-License-Identifier: MIT
# Reload (SIGHUP, what `systemctl reload` sends) applies the configuration
# without touching a line: across a reload of an unchanged file and of a
# file with a changed port, no output line is written at all (the dry-run
# backend replaces a line's file on every write: its inode stays the
# same only if nothing was written). A changed threshold is in effect
# after the reload; a broken file is refused whole, with file:line in the
# log, and the running configuration keeps working; RELOADING=1 and
# READY=1 go to systemd around it.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.500,3.300
0 all current -5
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 3s"
add_outputs
cp "$T/smallbms.conf" "$T/base.conf"

NOTIFY=""
if command -v socat >/dev/null; then
	socat -u "UNIX-RECV:$T/notify" "OPEN:$T/notify.log,creat,append" &
	PIDS="$PIDS $!"
	wait_until 5 test -S "$T/notify" || fail "notify socket not created"
	NOTIFY="$T/notify"
fi
NOTIFY_SOCKET=$NOTIFY start_daemon
expect_status 10 '.allowed_to_charge and .allowed_to_discharge' "both allowed"
expect_line 2 GPIO17 1
expect_line 2 GPIO27 1

inodes() {
	for l in GPIO17 GPIO27 GPIO22 GPIO23 GPIO25; do
		printf '%s=%s ' "$l" "$(stat -c %i "$GPIO/$l")"
	done
}

# reload_and_wait PATTERN: SIGHUP, then wait for the log line.
reload_and_wait() {
	n=$(grep -c "$1" "$T/daemon.log" || true)
	kill -HUP "$DAEMON_PID"
	wait_until 5 sh -c "[ \$(grep -c '$1' '$T/daemon.log') -gt $n ]" ||
		fail "no '$1' in the log after SIGHUP"
}

# 1. The same file: every port kept, not a line written.
before=$(inodes)
reload_and_wait "reloaded: ports: 1 kept running, 0 reopened"
expect_status 5 '.allowed_to_charge and .allowed_to_discharge' \
	"both still allowed after a reload"
[ "$(inodes)" = "$before" ] ||
	fail "a line was written across the reload: $before -> $(inodes)"
note "ok: no line written across a reload of the same file"
if [ -n "$NOTIFY" ]; then
	wait_until 5 grep -q 'RELOADING=1' "$T/notify.log" ||
		fail "no RELOADING=1"
	n=$(grep -o 'READY=1' "$T/notify.log" | wc -l)
	[ "$n" -ge 2 ] || fail "no READY=1 after the reload ($n)"
	note "ok: RELOADING=1, then READY=1"
fi

# 2. A changed port (its timeout): reopened, and still not a line written.
sed 's/^protocol = jbd$/protocol = jbd\ntimeout = 600ms/' "$T/base.conf" \
	>"$T/smallbms.conf"
reload_and_wait "reloaded: ports: 0 kept running, 1 reopened"
expect_status 5 '.stale == false and .allowed_to_charge and .allowed_to_discharge' \
	"the reopened port answers, both allowed"
[ "$(inodes)" = "$before" ] ||
	fail "a line was written across a reload with a changed port"
note "ok: a changed port reopened, no line written"

# 3. A threshold: cell_overvoltage 3.45 V with a cell at 3.50 V.
printf 'cell_overvoltage = 3.45V\ncell_overvoltage_recover = 3.40V\n' \
	>>"$T/smallbms.conf"
reload_and_wait "reloaded: ports"
expect_status 3 '.allowed_to_charge == false and .charge_reasons == ["cell_overvoltage"] and .allowed_to_discharge' \
	"the new cell_overvoltage is in effect"
expect_line 2 GPIO27 0
expect_line 1 GPIO17 1

# 4. A broken file: refused whole (file:line in the log); the running
# configuration stays (the lowered limit still holds the charger off).
cp "$T/smallbms.conf" "$T/good.conf"
sed 's/^cell_overvoltage = 3.45V$/cell_overvoltage = 3.75V\nbogus = 1/' \
	"$T/good.conf" >"$T/smallbms.conf"
bad_line=$(grep -n '^bogus' "$T/smallbms.conf" | cut -d: -f1)
reload_and_wait "reload refused"
grep -q "reload refused: $T/smallbms.conf:$bad_line: unknown key 'bogus'" \
	"$T/daemon.log" || fail "the refusal does not name file and line"
sleep 1 # nothing may change: the running configuration stays
status_is '.allowed_to_charge == false and .charge_reasons == ["cell_overvoltage"]' ||
	fail "a refused file was partly applied"
status_is '.allowed_to_discharge' || fail "the load changed on a refused reload"
note "ok: a broken file refused, the running configuration kept"

# 5. A file that breaks a rule with the run-time settings: refused too.
ctl set prealarm_cell 3.00 >/dev/null || fail "set prealarm_cell 3.00"
sed 's/^\[protection\]$/[protection]\ncell_undervoltage = 2.95V/' \
	"$T/good.conf" >"$T/smallbms.conf"
reload_and_wait "reload refused: \[protection\] with the run-time settings"
note "ok: a [protection] that breaks a rule with prealarm_cell is refused"

# 6. A port added: its battery has never answered, but it has been
# missing only since the reload: no comm loss before it could answer
# (comm_loss_charge is 2 s here), and the bank is complete again once it
# does. The link to a second simulator's pty stands in for the adapter.
cp "$T/good.conf" "$T/smallbms.conf"
"$SIM" --cells 4 --link "$T/bms2" >"$T/sim2.out" 2>"$T/sim2.err" &
PIDS="$PIDS $!"
wait_until 10 grep -q '^READY' "$T/sim2.out" || fail "second simulator not ready"
printf '[port added]\ndevice = %s\nprotocol = jbd\n' "$T/bms2" >>"$T/smallbms.conf"
reload_and_wait "reloaded: ports: 1 kept running, 0 reopened, 1 added"
expect_status 5 '.batteries == 2 and .stale == false' "the added port's battery answers"
! grep -q 'SMALLBMS_REASON=comm_loss' "$T/daemon.log" ||
	fail "comm loss for a battery that was added by the reload a moment ago"
cp "$T/good.conf" "$T/smallbms.conf"

# 7. Outputs cannot change live: the rest applies, the journal says so.
sed 's/^line = GPIO22$/line = GPIO5/' "$T/good.conf" >"$T/smallbms.conf"
reload_and_wait "the \[output\] sections changed: not applied"
grep -q "reloaded: ports" "$T/daemon.log" || fail "the rest was not applied"
[ ! -e "$GPIO/GPIO5" ] || fail "an output changed live"
note "ok: output changes wait for a restart, said in the log"
