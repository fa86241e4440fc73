#!/bin/sh
# SPDX-License-Identifier: MIT
# A port that cannot be opened (under systemd: a sandbox that denies the
# adapter, EPERM; here: a device that is not there yet) is said where a
# user looks first - STATUS= (systemctl status), smallbmsctl status, the
# journal - and retried until it opens, without a restart (#19: at boot
# the FTDI driver registered after the service had started, and the
# service sat in "Starting: reading the batteries" with no word why).
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }

socat -u "UNIX-RECV:$T/notify" "OPEN:$T/notify.log,creat,append" &
PIDS="$PIDS $!"
wait_until 5 test -S "$T/notify" || fail "notify socket not created"

start_sim --cells 4
# shellcheck disable=SC2034 # read by write_config (lib.sh)
SIM_PTYS="$T/adapter" # not there yet
write_config
# A 2 s watchdog: the readout is refreshed at every keep-alive (1 s).
NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=2000000 start_daemon

wait_until 5 grep -q "STATUS=.*· port b1: $T/adapter: [^·]* (retrying)" \
	"$T/notify.log" || fail "no port error in STATUS=: $(cat "$T/notify.log")"
note "ok: STATUS= names the port and its error"
wait_until 5 status_is '.port_errors | length == 1 and
	(.[0] | startswith("port b1: '"$T"'/adapter: "))' ||
	fail "no port_errors in status: $(ctl status --json | jq -c .port_errors)"
ctl status | grep -q "^Port errors.*port b1: $T/adapter" ||
	fail "smallbmsctl status shows no port error: $(ctl status)"
note "ok: smallbmsctl status shows it"
grep -q "port b1: $T/adapter" "$T/daemon.log" || fail "not in the log"
note "ok: the log says it"

# The device appears (the driver registered): read without a restart.
ln -s "$T/bms" "$T/adapter"
wait_until 10 status_is '.port_errors == [] and .voltage != null' ||
	fail "the port did not recover: $(ctl status --json | jq -c .)"
kill -0 "$DAEMON_PID" || fail "the daemon is gone"
note "ok: opened by itself once the device is there"
