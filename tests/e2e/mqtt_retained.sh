#!/bin/sh
# SPDX-License-Identifier: MIT
# [mqtt] allow_commands: a command the broker holds as a retained message
# (a dashboard switch published with retain) is handed to every new
# connection. It is not a command anyone is giving now: it is ignored and
# said in the log, so it can neither undo a local Mode change nor sync the
# SoC again at every reconnect. A live command still acts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"

start_broker
start_sim --cells 4
write_config
mqtt_section "allow_commands = yes"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -r -t smallbms/set/mode -m off
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -r -t smallbms/set/sync -m 1
start_daemon

wait_until 5 mq_is 'connected == true' || fail "not connected"
wait_until 5 grep -q 'smallbms/set/mode is a retained message: ignored' "$T/daemon.log" ||
	fail "the retained Mode is not said to be ignored"
grep -q 'smallbms/set/sync is a retained message: ignored' "$T/daemon.log" ||
	fail "the retained sync is not said to be ignored"
status_is '.mode == "on"' || fail "a retained Mode off was applied: $(ctl status --json | jq -c .mode)"
! grep -q '(by MQTT client' "$T/daemon.log" || fail "a retained command ran: $(grep 'by MQTT' "$T/daemon.log")"
note "ok: retained set/mode and set/sync ignored, Mode on"

# The same command, live: it acts.
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t smallbms/set/mode -m off
expect_status 5 '.mode == "off"' "a live Mode off acts"
