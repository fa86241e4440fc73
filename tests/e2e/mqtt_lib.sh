# SPDX-License-Identifier: MIT
# Helpers for the MQTT end-to-end tests (after lib.sh): a real mosquitto
# broker on loopback, on a free port, with the test's own configuration;
# a subscriber that records everything it sees in a file.
for p in mosquitto mosquitto_sub mosquitto_pub; do
	command -v "$p" >/dev/null ||
		[ -x "/usr/sbin/$p" ] || { echo "SKIP: $p is not installed"; exit 77; }
done
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
HA_KEYS="$top_srcdir/tests/data/ha_discovery_keys.json"

# start_broker [CONFIG LINES...]: mosquitto on 127.0.0.1:$MQTT_PORT (a
# free port is picked once; a restart reuses it). The log is $T/broker.log.
start_broker() {
	if [ $# -gt 0 ]; then printf "%s\n" "$@" >"$T/broker.extra"
	elif [ ! -f "$T/broker.extra" ]; then echo "allow_anonymous true" >"$T/broker.extra"; fi
	touch "$T/broker.extra"
	for try in 1 2 3 4 5 6 7 8; do
		if [ -z "${MQTT_PORT:-}" ] || [ "${MQTT_PORT_FIXED:-}" != 1 ]; then
			MQTT_PORT=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
		fi
		{
			echo "listener $MQTT_PORT 127.0.0.1"
			echo "persistence false"
			echo "log_type all"
			# As root, mosquitto would become "mosquitto", who cannot
			# read the test's files.
			echo "user $(id -un)"
			cat "$T/broker.extra"
		} >"$T/broker.conf"
		"$MOSQUITTO" -c "$T/broker.conf" >>"$T/broker.log" 2>&1 &
		BROKER_PID=$!
		PIDS="$PIDS $BROKER_PID"
		if wait_until 5 grep -q "Opening ipv4 listen socket on port $MQTT_PORT" "$T/broker.log" &&
			sleep 0.1 && kill -0 "$BROKER_PID" 2>/dev/null; then
			MQTT_PORT_FIXED=1
			return 0
		fi
		[ "${MQTT_PORT_FIXED:-}" != 1 ] || fail "broker did not start again on $MQTT_PORT"
		grep -q 'Address already in use' "$T/broker.log" ||
			fail "broker did not start: $(cat "$T/broker.log")"
	done
	fail "no broker could start"
}

stop_broker() {
	kill "$BROKER_PID" 2>/dev/null || true
	wait "$BROKER_PID" 2>/dev/null || true
}

# subscribe NAME TOPIC... [-- OPTIONS]: record "TOPIC PAYLOAD" lines in
# $T/NAME.sub until the test ends.
subscribe() {
	name=$1; shift
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -v ${SUB_OPTS:-} \
		$(for t in "$@"; do printf -- '-t %s ' "$t"; done) \
		>"$T/$name.sub" 2>"$T/$name.suberr" &
	PIDS="$PIDS $!"
}

# got NAME TOPIC [JQ]: the subscriber saw TOPIC (with a payload passing JQ).
got() {
	grep "^$2 " "$T/$1.sub" | sed 's/^[^ ]* //' | tail -n 1 >"$T/got.json" || return 1
	[ -s "$T/got.json" ] || return 1
	[ -z "${3:-}" ] || jq -e "$3" "$T/got.json" >/dev/null
}

# ha_invalid FILE: of FILE's {"c": COMPONENT, "t": TOPIC, "p": CONFIG}
# objects, print the topics whose config is not what HA documents (keys
# per component, device and availability keys, device classes, units,
# state classes).
ha_invalid() {
	jq -r -n --slurpfile K "$HA_KEYS" '
		$K[0] as $k |
		def valid($c):
			((keys - $k[$c]) == []) and
			(((.device // {}) | keys) - $k.device == []) and
			(.device.identifiers | type == "array") and
			all(.availability[]; (keys - $k.availability) == []) and
			((.unique_id | type) == "string") and
			((.state_topic | type) == "string") and
			(.expire_after > 0) and
			(if has("device_class")
			 then (.device_class | IN($k[$c + "_device_class"][])) else true end) and
			(if has("state_class")
			 then (.state_class | IN($k.state_class[])) else true end) and
			(if $c == "sensor" and has("device_class")
			 then (.device_class as $dc |
			       .unit_of_measurement | IN($k.unit_for_device_class[$dc][]))
			 else true end) and
			(if .device_class == "energy"
			 then (.state_class | IN($k.energy_state_class[])) else true end);
		inputs | . as $o |
		select(($o.c | IN("sensor", "binary_sensor") | not) or
		       ($o.p | valid($o.c) | not)) | $o.t
	' "$1"
}

# mqtt_section [EXTRA LINES...]: append [mqtt] for the test broker.
mqtt_section() {
	{
		echo "[mqtt]"
		echo "broker = mqtt://127.0.0.1:$MQTT_PORT"
		for l in "$@"; do echo "$l"; done
	} >>"$T/smallbms.conf"
}

# scan_clock FILE: the time (ms) of every completed scan, as the daemon
# pushes it to smallbmsctl watch (one line per scan, flushed): no polling,
# so a window's rate is not off by a sampling interval.
scan_clock() {
	"$CTL" --socket "$SOCK" watch 2>/dev/null |
		while read -r _line; do date +%s%3N; done >"$1" &
	PIDS="$PIDS $!"
}
now_ms() { date +%s%3N; }
# mq_is JQ: the status' mqtt object says so (.mqtt.JQ).
mq_is() { status_is ".mqtt.$1"; }
# scan_rate FILE FROM_MS TO_MS: scans per second between the first and the
# last scan of the window.
scan_rate() {
	awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b { if (!n++) f = $1; l = $1 }
		END { if (n < 3 || l == f) exit 1; printf "%.3f %d %d", (n - 1) * 1000 / (l - f), n - 1, l - f }' "$1"
}
# within5 A B: B is within 5 % of A.
within5() { echo "$1 $2" | awk '{ r = $2 / $1; exit !(r >= 0.95 && r <= 1.05) }'; }
