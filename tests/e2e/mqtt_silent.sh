#!/bin/sh
# SPDX-License-Identifier: MIT
# A "broker" that accepts the connection and never answers (socat): over
# mqtts:// the TLS handshake, over mqtt:// the CONNACK, wait forever; and
# one whose listen queue is full (python3: it never accepts), where the
# SYN goes unanswered as with a broker that is switched off behind a
# switch: the TCP connect itself waits. The loop must not: the battery is
# read at the same scan rate as without [mqtt], and smallbmsctl answers at
# once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }

# rate NAME: RATE = scans per second over 1.5 s, from the daemon's own
# scan lines (not in a command substitution: the clock runs on).
rate() {
	scan_clock "$T/scans.$1"
	sleep 0.3
	a=$(now_ms); sleep 1.5; b=$(now_ms); sleep 0.2
	RATE=$(scan_rate "$T/scans.$1" "$a" "$b" | cut -d' ' -f1)
}

start_sim --cells 4
write_config
sed -i 's/^poll_interval = .*/poll_interval = 100ms/' "$T/smallbms.conf"
cp "$T/smallbms.conf" "$T/quiet.conf"
start_daemon -c "$T/quiet.conf"
expect_status 5 '.stale == false' "battery read"
rate quiet
quiet=$RATE
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true

MQTT_PORT=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
socat "TCP-LISTEN:$MQTT_PORT,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"sleep 60" 2>"$T/socat.err" &
PIDS="$PIDS $!"
wait_until 5 sh -c "grep -q ':$(printf %04X "$MQTT_PORT") ' /proc/net/tcp" || fail "listener not up"
# The full listen queue: backlog 0, two connections queued by us; then
# the kernel drops further SYNs (the client retransmits for minutes).
BLACKHOLE=""
if command -v python3 >/dev/null; then
	python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
held = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    held.append(c)
time.sleep(0.3)
print(port, flush=True)
time.sleep(60)
' >"$T/blackhole.port" &
	PIDS="$PIDS $!"
	wait_until 5 test -s "$T/blackhole.port" || fail "no full listener"
	BLACKHOLE=$(cat "$T/blackhole.port")
fi
for scheme in mqtts mqtt blackhole; do
	cp "$T/quiet.conf" "$T/smallbms.conf"
	if [ "$scheme" = blackhole ]; then
		[ -n "$BLACKHOLE" ] || { note "no python3: the full listen queue is not tried"; break; }
		MQTT_PORT=$BLACKHOLE
	fi
	mqtt_section
	[ "$scheme" = blackhole ] ||
		sed -i "s|^broker = mqtt://|broker = $scheme://|" "$T/smallbms.conf"
	start_daemon
	expect_status 5 '.stale == false and .mqtt.connected == false' "$scheme: battery read, not connected"
	rate "$scheme"
	r=$RATE
	t0=$(now_ms); ctl status --json >/dev/null; t1=$(now_ms)
	note "$scheme to a silent peer: scan rate $r/s (without [mqtt] $quiet/s), status answered in $((t1 - t0)) ms"
	within5 "$quiet" "$r" ||
		fail "$scheme: scan rate moved more than 5 %: $quiet/s -> $r/s"
	kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
done
