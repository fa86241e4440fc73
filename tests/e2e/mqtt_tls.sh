#!/bin/sh
# SPDX-License-Identifier: MIT
# [mqtt] over TLS (mqtts://) to a mosquitto whose certificate a CA made
# here signed (openssl; the certificate names 127.0.0.1): the daemon
# connects with ca_file and its states arrive; with another CA it does
# not connect and says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }

make_ca() { # DIR
	mkdir -p "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=smallbms test CA $(basename "$1")" \
		-keyout "$1/ca.key" -out "$1/ca.crt" 2>/dev/null
}
make_ca "$T/ca"
make_ca "$T/other"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$T/ca/server.key" -out "$T/ca/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/ca/ext"
openssl x509 -req -in "$T/ca/server.csr" -CA "$T/ca/ca.crt" -CAkey "$T/ca/ca.key" \
	-CAcreateserial -days 2 -extfile "$T/ca/ext" -out "$T/ca/server.crt" 2>/dev/null

start_broker "allow_anonymous true" "cafile $T/ca/ca.crt" \
	"certfile $T/ca/server.crt" "keyfile $T/ca/server.key"
start_sim --cells 4
write_config
mqtt_section
sed -i "s|^broker = mqtt://|broker = mqtts://|" "$T/smallbms.conf"
echo "ca_file = $T/other/ca.crt" >>"$T/smallbms.conf"
start_daemon

# The wrong CA: no connection, the reason in the log.
wait_until 5 mq_is 'failures >= 1' || fail "no failure with the wrong CA"
mq_is 'connected == false' || fail "connected with the wrong CA"
grep -q "mqtt: broker mqtts://127.0.0.1:$MQTT_PORT: " "$T/daemon.log" || fail "no error in the log"
note "ok: the wrong CA is refused: $(grep 'mqtt: broker' "$T/daemon.log" | head -n 1)"

kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
sed -i "s|^ca_file = .*|ca_file = $T/ca/ca.crt|" "$T/smallbms.conf"
SUB_OPTS="--cafile $T/ca/ca.crt" subscribe tls 'smallbms/#'
start_daemon
wait_until 5 mq_is 'connected == true' || fail "not connected over TLS: $(ctl status --json | jq -c .mqtt)"
wait_until 5 got tls smallbms/bank '.batteries == 1' || fail "no bank state over TLS"
note "ok: connected over TLS, state received"
