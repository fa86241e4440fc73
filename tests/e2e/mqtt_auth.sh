#!/bin/sh
# SPDX-License-Identifier: MIT
# [mqtt] with a broker that wants a password: a wrong one is a clear error
# in the log (the broker and the reason) and the daemon keeps retrying
# (back-off) while it protects as before; the right one from a systemd
# credential ($CREDENTIALS_DIRECTORY/mqtt-password) connects; with
# allow_commands, Mode set over MQTT is logged with the client's identity.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"
command -v mosquitto_passwd >/dev/null || { echo "SKIP: no mosquitto_passwd"; exit 77; }

mosquitto_passwd -b -c "$T/passwd" bms right-secret 2>/dev/null
chmod 0600 "$T/passwd" 2>/dev/null || true
start_broker "allow_anonymous false" "password_file $T/passwd"
start_sim --cells 4
write_config
echo wrong-secret >"$T/pw"
mqtt_section "username = bms" "password_file = $T/pw"
start_daemon

# mosquitto 2 answers a wrong password with "Not authorized" (MQTT v5
# reason 0x87), others with "Bad user name or password" (0x86).
wait_until 5 grep -Eq 'connection refused: (Bad user name or password|Not authorized)' "$T/daemon.log" ||
	fail "no clear error: $(ctl status --json | jq -c .mqtt)"
grep 'connection refused' "$T/daemon.log" | head -n 1 |
	grep -q "broker mqtt://127.0.0.1:$MQTT_PORT: .*check username and the password file" ||
	fail "the error does not name the broker and what to check"
# Retried (1 s, then 2 s), said once in the log.
wait_until 5 mq_is 'failures >= 2' || fail "no retry: $(ctl status --json | jq -c .mqtt)"
[ "$(grep -c 'connection refused' "$T/daemon.log")" -eq 1 ] ||
	fail "the same refusal logged more than once"
expect_status 5 '.stale == false and .mqtt.connected == false' "battery read while the broker refuses"
grep -q 'wrong-secret' "$T/daemon.log" && fail "the password is in the log"
note "ok: wrong password: clear error, retried"

# The right password from a systemd credential (no password_file).
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
sed -i '/^password_file = /d' "$T/smallbms.conf"
echo "allow_commands = yes" >>"$T/smallbms.conf"
mkdir -p "$T/cred"
echo right-secret >"$T/cred/mqtt-password"
CREDENTIALS_DIRECTORY="$T/cred" start_daemon
wait_until 5 mq_is 'connected == true' || fail "credential not used: $(ctl status --json | jq -c .mqtt)"
note "ok: password from the systemd credential"

# Mode over MQTT, with the sender's identity (an MQTT v5 user property).
expect_status 5 '.mode == "on"' "Mode on"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -u bms -P right-secret -V mqttv5 \
	-D publish user-property client dashboard-7 -t smallbms/set/mode -m off
expect_status 5 '.mode == "off"' "Mode off over MQTT"
grep -q 'mode off (by MQTT client dashboard-7)' "$T/daemon.log" || fail "not logged with the client"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -u bms -P right-secret -t smallbms/set/soc -m 10
wait_until 5 grep -q "command 'soc' from client unidentified ignored" "$T/daemon.log" ||
	fail "another command was not refused"
note "ok: mode over MQTT logged with the client; other commands ignored"
