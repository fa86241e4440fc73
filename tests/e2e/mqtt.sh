#!/bin/sh
# SPDX-License-Identifier: MIT
# [mqtt] against a real mosquitto on loopback, two simulated batteries:
# the states and Home Assistant discovery arrive (every discovery payload
# uses only the keys HA documents, tests/data/ha_discovery_keys.json); the
# broker killed and started again: the daemon reconnects and sends the
# discovery again, and the scan rate does not move (within 5 % of the
# quiet rate); a battery removed by a reload loses its entities.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"

# The checker first: it must refuse what HA does not document.
base='"availability":[{"topic":"a"}],"device":{"identifiers":["x"]},"state_topic":"s","unique_id":"u","expire_after":6'
cat >"$T/samples" <<EOS
{"c":"sensor","t":"good","p":{$base,"device_class":"voltage","unit_of_measurement":"V","state_class":"measurement"}}
{"c":"sensor","t":"unknown_key","p":{$base,"bogus":1}}
{"c":"sensor","t":"wrong_unit","p":{$base,"device_class":"voltage","unit_of_measurement":"A"}}
{"c":"sensor","t":"energy_measurement","p":{$base,"device_class":"energy","unit_of_measurement":"kWh","state_class":"measurement"}}
{"c":"binary_sensor","t":"binary_unit","p":{$base,"unit_of_measurement":"V"}}
{"c":"sensor","t":"device_key","p":{$base,"device":{"identifiers":["x"],"colour":"red"}}}
{"c":"switch","t":"component","p":{$base}}
EOS
[ "$(ha_invalid "$T/samples" | tr '\n' ' ')" = "unknown_key wrong_unit energy_measurement binary_unit device_key component " ] ||
	fail "the discovery checker accepts what it must refuse: $(ha_invalid "$T/samples" | tr '\n' ' ')"

start_broker
start_sim --protocol jk-pb --packs 2 --cells 4 --temps 3
PORT_PROTOCOL=jk-pb PORT_ADDRESSES="1,2" write_config
sed -i 's/^poll_interval = .*/poll_interval = 100ms/' "$T/smallbms.conf"
mqtt_section "heartbeat = 2s" "min_interval = 200ms" "cells = yes" "venus = yes"
# The limit engine without a CAN link: its output on the bank topic, as HA
# sensors and in the Venus feed's Info.
printf '[limits]\ncharge_current = 50A\ndischarge_current = 80A\nramp_time = 0s\n' \
	>>"$T/smallbms.conf"
subscribe all 'smallbms/#' 'homeassistant/#'
start_daemon

wait_until 5 mq_is 'connected == true' || fail "not connected: $(ctl status --json | jq -c .mqtt)"
expect_status 5 '.batteries == 2 and .stale == false' "both packs read"

# --- states ---------------------------------------------------------------
wait_until 5 grep -q '^smallbms/status online$' "$T/all.sub" || fail "no online status"
wait_until 5 got all smallbms/bank '.batteries == 2 and (.voltage | type) == "number"' ||
	fail "bank state: $(cat "$T/got.json")"
for k in voltage current power soc consumed_ah time_remaining min_cell_voltage \
	max_cell_voltage min_cell_at max_cell_at min_temperature max_temperature \
	allowed_to_charge allowed_to_discharge prealarm charge_reasons \
	discharge_reasons mode; do
	jq -e --arg k "$k" 'has($k)' "$T/got.json" >/dev/null || fail "bank: no $k"
done
# Diagnostics whose counters change every second stay out of the bank
# topic (else "publish on change" would send it every second).
for k in mqtt can metrics; do
	jq -e --arg k "$k" 'has($k) | not' "$T/got.json" >/dev/null || fail "bank carries .$k"
done
# The same numbers as smallbmsctl (one builder, status.c).
v=$(ctl status --json | jq .voltage)
jq -e --argjson v "$v" '.voltage == $v' "$T/got.json" >/dev/null ||
	fail "bank voltage $(jq .voltage "$T/got.json") != status $v"
for i in 1 2; do
	wait_until 5 got all "smallbms/battery/$i" \
		".index == $i and (.cells | length) == 4 and has(\"age\") == false" ||
		fail "battery $i: $(cat "$T/got.json")"
done
wait_until 5 got all smallbms/history 'has("charged_energy_kwh")' || fail "history"
wait_until 5 got all smallbms/venus \
	'(.Dc.Voltage | type) == "number" and (.Soc | type) == "number" and (.Io | has("AllowToCharge"))' ||
	fail "venus: $(cat "$T/got.json")"
# The limits: CVL for 4 cells in series (two packs in parallel) at 3.45 V,
# the currents as rated.
wait_until 5 got all smallbms/venus \
	'.Info.MaxChargeVoltage == 13.8 and .Info.MaxChargeCurrent == 50 and .Info.MaxDischargeCurrent == 80' ||
	fail "venus Info: $(jq -c .Info "$T/got.json")"
wait_until 5 got all smallbms/bank '.limits.ccl == 50 and .limits.dcl == 80' ||
	fail "bank limits: $(jq -c .limits "$T/got.json")"
note "ok: bank, batteries, history, venus"

# --- discovery --------------------------------------------------------------
count_configs() { grep -c "^homeassistant/.*/$1/.*/config {" "$T/$2.sub" || true; }
wait_until 5 sh -c "[ \$(grep -c '^homeassistant/.*/config {' '$T/all.sub') -ge 40 ]" ||
	fail "discovery: $(grep -c '^homeassistant/' "$T/all.sub") configs"
# Every payload against the documented keys, in one jq run: the invalid
# ones are printed.
grep '^homeassistant/.*/config {' "$T/all.sub" |
	sed -E 's|^homeassistant/([a-z_]+)/([^ ]*) (.*)$|{"c":"\1","t":"\2","p":\3}|' >"$T/configs"
ha_invalid "$T/configs" >"$T/invalid" || fail "cannot check the configs"
[ ! -s "$T/invalid" ] || fail "invalid discovery configs: $(cat "$T/invalid")"
for node in smallbms_bank smallbms_SIM00000001 smallbms_SIM00000002; do
	[ "$(count_configs "$node" all)" -ge 6 ] || fail "no entities for $node"
done
grep '^homeassistant/sensor/smallbms_SIM00000002/voltage/config ' "$T/all.sub" | tail -n 1 |
	sed 's/^[^ ]* //' | jq -e '.device.serial_number == "SIM00000002" and .device.model != null and
		.device.sw_version != null and .device.manufacturer == "jk-pb" and
		.device_class == "voltage" and .unit_of_measurement == "V" and
		.state_class == "measurement" and .state_topic == "smallbms/battery/2" and
		.availability[0].topic == "smallbms/status" and .expire_after == 6' >/dev/null ||
	fail "battery 2 voltage config"
grep '^homeassistant/sensor/smallbms_bank/charged_energy/config ' "$T/all.sub" | tail -n 1 |
	sed 's/^[^ ]* //' | jq -e '.state_class == "total_increasing" and .device_class == "energy"' >/dev/null ||
	fail "energy counter is not total_increasing"
grep -q '^homeassistant/binary_sensor/smallbms_bank/allowed_to_charge/config {' "$T/all.sub" ||
	fail "no allowed_to_charge binary sensor"
note "ok: discovery ($(grep -c '^homeassistant/.*/config {' "$T/all.sub") configs, all valid)"

# --- the broker dies and comes back: protection timing unaffected -----------
WIN=${MQTT_WINDOW_MS:-2500}
scan_clock "$T/scans.ms"
t0=$(now_ms)
sleep "$(echo "$WIN" | awk '{ print $1 / 1000 }')"
t1=$(now_ms)
stop_broker
wait_until 5 mq_is 'connected == false' || fail "broker death not noticed"
start_broker
subscribe again 'homeassistant/#'
wait_until 5 mq_is 'connections == 2' || fail "no reconnection: $(ctl status --json | jq -c .mqtt)"
left=$(( WIN - ($(now_ms) - t1) ))
[ "$left" -le 0 ] || sleep "$(echo "$left" | awk '{ print $1 / 1000 }')"
t2=$(now_ms)
sleep 0.2 # the window's last scan line
read -r q nq dq <<EOT
$(scan_rate "$T/scans.ms" "$t0" "$t1")
EOT
read -r d nd dd <<EOT
$(scan_rate "$T/scans.ms" "$t1" "$t2")
EOT
note "scan rate: quiet $q/s ($nq in $dq ms), broker killed and restarted $d/s ($nd in $dd ms)"
within5 "$q" "$d" || fail "scan rate moved more than 5 %: $q/s -> $d/s"
grep -q 'disconnected from broker' "$T/daemon.log" || fail "no disconnection in the log"
[ "$(grep -c 'connected to broker' "$T/daemon.log")" -ge 2 ] || fail "no reconnection in the log"
# The restarted broker kept nothing (persistence false): what arrives is
# the daemon's discovery, sent again.
wait_until 5 sh -c "[ \$(grep -c '^homeassistant/.*/config {' '$T/again.sub') -ge 40 ]" ||
	fail "discovery not sent again: $(grep -c '^homeassistant/' "$T/again.sub") configs"
note "ok: reconnected, discovery sent again"

# --- a battery removed by a reload loses its entities ------------------------
sed -i 's/^addresses = 1,2$/addresses = 1/' "$T/smallbms.conf"
kill -HUP "$DAEMON_PID"
expect_status 5 '.batteries == 1' "battery 2 removed by the reload"
# An empty payload: mosquitto_sub -v prints "(null)".
wait_until 5 grep -Eq '^homeassistant/sensor/smallbms_SIM00000002/voltage/config ?(\(null\))?$' "$T/again.sub" ||
	fail "battery 2's entities not removed"
grep -Eq '^homeassistant/sensor/smallbms_SIM00000001/voltage/config ?(\(null\))?$' "$T/again.sub" &&
	fail "battery 1's entities removed"
note "ok: battery 2's entities removed (empty retained configs)"
