#!/bin/sh
# SPDX-License-Identifier: MIT
# systemd integration without systemd: the daemon speaks sd_notify to a
# datagram socket of ours. READY=1 comes once the socket listens, STATUS=
# carries the readout, and WATCHDOG=1 keep-alives come while scans progress.
# The watchdog interval follows comm_loss_charge (half of it, at most the
# unit's WatchdogSec=: WATCHDOG_USEC= to systemd), also after a reload.
# (socat writes the datagrams back to back, without newlines.)
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }

socat -u "UNIX-RECV:$T/notify" "OPEN:$T/notify.log,creat,append" &
PIDS="$PIDS $!"
wait_until 5 test -S "$T/notify" || fail "notify socket not created"

start_sim --cells 4
write_config "[protection]" "comm_loss_charge = 2s"
NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=30000000 start_daemon

count() { grep -o "$1" "$T/notify.log" | wc -l; }
wait_until 5 grep -q 'READY=1' "$T/notify.log" || fail "no READY=1"
note "ok: READY=1"
# SoC, voltage, current, consumed Ah, time remaining, temperature.
wait_until 5 grep -q 'STATUS=SoC [0-9.]*% · [0-9.]* V · [-0-9.]* A · [-0-9.]* Ah · [^·]* to floor · [0-9]* °C' "$T/notify.log" ||
	fail "no STATUS= readout: $(cat "$T/notify.log")"
note "ok: STATUS= readout"
three_keepalives() { [ "$(count WATCHDOG=1)" -ge 3 ]; }
wait_until 5 three_keepalives ||
	fail "fewer than 3 WATCHDOG=1 in 5 s with a 1 s watchdog"
note "ok: watchdog keep-alives while scans progress"
# WatchdogSec=30s, comm_loss_charge = 2s: a 1 s watchdog.
grep -q 'WATCHDOG_USEC=1000000' "$T/notify.log" ||
	fail "no WATCHDOG_USEC=1000000 (half of comm_loss_charge = 2s):" \
		"$(cat "$T/notify.log")"
note "ok: WATCHDOG_USEC= half of comm_loss_charge"
sed -i 's/^comm_loss_charge = 2s$/comm_loss_charge = 4s/' "$T/smallbms.conf"
kill -HUP "$DAEMON_PID"
wait_until 5 grep -q 'WATCHDOG_USEC=2000000' "$T/notify.log" ||
	fail "no WATCHDOG_USEC=2000000 after a reload to comm_loss_charge = 4s"
note "ok: derived again after a reload"
kill "$DAEMON_PID"
wait_until 5 grep -q 'STOPPING=1' "$T/notify.log" || fail "no STOPPING=1"
note "ok: STOPPING=1 on SIGTERM"
