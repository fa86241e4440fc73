#!/bin/sh
# SPDX-License-Identifier: MIT
# A broker that accepts the connection, says CONNACK and then reads nothing
# more (python3, a small receive buffer): the socket fills, libmosquitto
# stops writing, and the daemon's queue holds at most max_queued messages,
# the oldest dropped and counted; the batteries are read at the same scan
# rate as before and smallbmsctl answers at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.recv(4096)                               # CONNECT
c.sendall(bytes([0x20, 3, 0, 0, 0]))       # CONNACK (MQTT 5): accepted
time.sleep(60)                             # and never read again
' >"$T/stuck.port" &
PIDS="$PIDS $!"
wait_until 5 test -s "$T/stuck.port" || fail "no stuck broker"
MQTT_PORT=$(cat "$T/stuck.port")

start_sim --protocol jk-pb --packs 4 --cells 16 --temps 3
PORT_PROTOCOL=jk-pb PORT_ADDRESSES="1,2,3,4" write_config
sed -i 's/^poll_interval = .*/poll_interval = 100ms/' "$T/smallbms.conf"
mqtt_section "min_interval = 100ms" "heartbeat = 1s" "max_queued = 10" "cells = yes"
start_daemon
wait_until 5 mq_is 'connected == true' || fail "not connected: $(ctl status --json | jq -c .mqtt)"
wait_until 10 mq_is "dropped > 0" || fail "nothing dropped: $(ctl status --json | jq -c .mqtt)"
st=$(ctl status --json | jq -c .mqtt)
note "stuck broker: $st"
echo "$st" | jq -e '.queued <= 10 and .connected == true' >/dev/null || fail "queue over its bound: $st"
# The drops go on while the broker stays stuck: counted, not stored.
d1=$(echo "$st" | jq .dropped)
wait_until 5 mq_is "dropped > $d1" || fail "drops not counted"
echo "$(ctl status --json | jq -c .mqtt)" | jq -e '.queued <= 10' >/dev/null || fail "queue grew"
t0=$(( $(date +%s%N) / 1000000 )); ctl status --json >/dev/null; t1=$(( $(date +%s%N) / 1000000 ))
expect_status 2 '.stale == false' "battery read while the broker is stuck (status in $((t1 - t0)) ms)"
