#!/bin/sh
# SPDX-License-Identifier: MIT
# The CAN output on the kernel's CAN stack (#15): smallbmsd on vcan0 with
# candump on it: the frames at 1 Hz +- 10 %, 0x351 carrying the status's
# limits; the inverter's keep-alive (0x305, sent with cansend) seen. Then,
# after a reload to can0 (qemu's emulated SJA1000, kvaser_pci) at 500
# kbit/s, candump on can1, the other controller on the same emulated bus,
# receives the frames.
. "$(dirname "$0")/../lib.sh"

command -v candump >/dev/null && command -v cansend >/dev/null ||
	skip "can-utils is not installed on the host"
ip link add vcan0 type vcan && ip link set vcan0 up ||
	fail "cannot create vcan0"
candump -L vcan0 >"$T/vcan0.log" 2>&1 &
PIDS="$PIDS $!"

make_by_id_link
write_config
cat >>"$T/smallbms.conf" <<'CONF'
[can]
interface = vcan0
profile = pylontech
[limits]
charge_current = 50A
discharge_current = 80A
ramp_time = 2s
CONF
short_protection 30 1
start_daemon
cat >"$T/scenario" <<'SCN'
0 all cells 3.30,3.31,3.29,3.30
0 all temp 20
0 all current 2
SCN
start_sim --cells 4 --scenario "$T/scenario"
expect_status 30 '.stale == false' "battery read"
expect_status 20 '.limits.ccl == 50 and .limits.dcl == 80 and .can.state == "active" and .can.backend == "socketcan"' \
	"limits at their maximum, the socket active"

# count IFACE ID: frames of that id candump has logged
count() { grep -c " $1 $2#" "$T/$1.log" || true; }
# period IFACE N: mean interval (ms) of the last N 0x351 frames, and the
# shortest and longest, from candump's kernel timestamps
period() {
	grep " $1 351#" "$T/$1.log" | tail -n "$2" |
		sed 's/^(\([0-9.]*\)).*/\1/' | awk '
		NR > 1 { d = ($1 - p) * 1000; s += d; if (d < lo || NR == 2) lo = d; if (d > hi) hi = d }
		{ p = $1 } END { printf "%d %d %d\n", s / (NR - 1), lo, hi }'
}
n0=$(count vcan0 351)
wait_until 20 sh -c "[ \$(grep -c ' vcan0 351#' '$T/vcan0.log') -ge $((n0 + 11)) ]" ||
	fail "fewer than 11 frames 0x351 in 20 s: $(($(count vcan0 351) - n0))"
set -- $(period vcan0 11)
note "vcan0: 10 intervals of 0x351: mean $1 ms, min $2 ms, max $3 ms"
[ "$1" -ge 900 ] && [ "$1" -le 1100 ] || fail "0x351 not at 1 Hz +- 10 %: mean $1 ms"
for id in 355 356 359 35C 35E; do
	[ "$(count vcan0 $id)" -ge 10 ] || fail "only $(count vcan0 $id) frames $id"
done
last=$(grep ' vcan0 351#' "$T/vcan0.log" | tail -n 1 | sed 's/.*#//')
# 4 cells: CVL 13.8 V = 0x008A, CCL 50 A = 500 = 0x01F4, DCL 80 A = 800 =
# 0x0320, DVL 11.6 V = 0x0074
[ "$last" = "8A00F40120037400" ] || fail "0x351 is $last"
note "ok: 0x351 $last (CVL 13.8 V, CCL 50 A, DCL 80 A, DVL 11.6 V)"

cansend vcan0 305#0000000000000000
expect_status 5 '.can.keepalive.seen == true and .can.keepalive.count == 1' \
	"the inverter's keep-alive seen"

# The emulated bus: can0 <-> can1 at 500 kbit/s.
if ! ip link set can0 type can bitrate 500000 restart-ms 100 ||
	! ip link set can1 type can bitrate 500000; then
	fail "no can0/can1 (kvaser_pci)"
fi
ip link set can0 up && ip link set can1 up || fail "cannot bring can0/can1 up"
candump -L can1 >"$T/can1.log" 2>&1 &
PIDS="$PIDS $!"
sed -i 's/^interface = vcan0/interface = can0/' "$T/smallbms.conf"
kill -HUP "$DAEMON_PID"
expect_status 10 '.can.interface == "can0" and .can.state == "active"' "reloaded onto can0"
wait_until 20 sh -c "[ \$(grep -c ' can1 351#' '$T/can1.log') -ge 11 ]" ||
	fail "candump on can1 got fewer than 11 frames 0x351 in 20 s: $(count can1 351)"
set -- $(period can1 11)
note "can0 -> can1: 10 intervals of 0x351: mean $1 ms, min $2 ms, max $3 ms"
[ "$1" -ge 900 ] && [ "$1" -le 1100 ] || fail "can1: not at 1 Hz +- 10 %: mean $1 ms"
S=$(ctl status --json)
note "can0 link: $(echo "$S" | jq -c '.can | {state, frames_sent, dropped, write_errors, bus_off, error_passive}')"

# The controller stopped (can0 down): reported, and recovered when it is
# up again, without a restart of the daemon.
ip link set can0 down
expect_status 5 '.can.state == "down" and .can.write_errors > 0' "can0 down: reported"
ip link set can0 type can bitrate 500000 restart-ms 100 && ip link set can0 up
n1=$(count can1 351)
expect_status 5 '.can.state == "active"' "can0 up again: active"
wait_until 5 sh -c "[ \$(grep -c ' can1 351#' '$T/can1.log') -gt $n1 ]" ||
	fail "no frame on can1 after can0 came back"
grep -q 'CAN can0: down' "$T/daemon.log" || fail "no journal line for down"
grep -q 'CAN can0: active' "$T/daemon.log" || fail "no journal line for active again"
note "ok: frames on can1 again"
# No other node on the bus (can1 down): what the emulated controller says.
ip link set can1 down
n0=$(ctl status --json | jq '.can.frames_sent')
wait_until 6 sh -c "[ \$('$CTL' --socket '$SOCK' status --json | jq '.can.frames_sent') -ge $((n0 + 20)) ]" || true
note "can1 down (no other node): $(ctl status --json | jq -c '.can | {state, frames_sent, dropped, write_errors, bus_off, error_passive, bus_errors}') (qemu's SJA1000 does not emulate a missing ACK: no error frames)"
