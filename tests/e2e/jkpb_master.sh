#!/bin/sh
# SPDX-License-Identifier: MIT
# JK-PB with a pack at DIP address 0: that pack is the bus master, polls
# the others itself and sends its own status unrequested. The daemon
# listens before it talks, hears the master, and refuses the port: it
# sends nothing, the error (ports, journal) says why and what to set, and
# nothing is allowed. When the master goes quiet (switched off) the daemon
# polls the packs at 1 and 2; when it comes back, the port is refused
# again. Address 0 itself is refused by the configuration.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.300,3.300,3.300,3.300
0 all current -2
12 1 silent
22 1 answer
SCN
# Battery 1 is the pack at address 0: the master.
start_sim --protocol jk-pb --addresses 0,1,2 --cells 4 --temps 3 \
	--scenario "$T/scenario"
PORT_PROTOCOL=jk-pb PORT_ADDRESSES="1,2" PORT_EXTRA="timeout = 150ms" \
	write_config "stale_after = 2s"
add_outputs
start_daemon

port_error_is() {
	ctl ports --json | jq -e ".ports[0] | $1" >/dev/null
}
wait_until 6 port_error_is '.error != null and
	(.error | test("another master polls this bus")) and
	(.error | test("address 0")) and (.error | test("DIP"))' ||
	fail "no refusal: $(ctl ports --json | jq -c '.ports[0]')"
port_error_is '.requests == 0 and .open == true' ||
	fail "the daemon talked on the master's bus: $(ctl ports --json | jq -c '.ports[0]')"
note "ok: refused, why and what to set: $(ctl ports --json | jq -r '.ports[0].error')"
[ "$(grep -c "port b1: another master polls this bus" "$T/daemon.log")" -eq 1 ] ||
	fail "the refusal should be logged once: $(grep 'another master' "$T/daemon.log")"
status_is '.allowed_to_charge == false and .allowed_to_discharge == false' ||
	fail "allowed while the port is refused"
line_is GPIO17 0 || fail "load output on while the port is refused"
battery_is 1 '.valid == false' || fail "battery 1 read on a refused port"
# Still refused a while later, and still silent.
sleep 2
port_error_is '.requests == 0 and .error != null' ||
	fail "refusal did not hold: $(ctl ports --json | jq -c '.ports[0]')"

# The master switched off: polled after 2 s of quiet.
expect_step 20 12
expect_status 8 '.batteries == 2 and .stale == false' "the packs read once the master is gone"
port_error_is '.error == null and .requests > 0' ||
	fail "error not cleared: $(ctl ports --json | jq -c '.ports[0]')"
grep -q "port b1: no other master heard for 2000 ms: polling again" "$T/daemon.log" ||
	fail "no log line for polling again"
expect_line 3 GPIO17 1

# The master back: refused again, the packs go stale, the load goes.
expect_step 20 22
wait_until 4 port_error_is '.error != null' ||
	fail "master back, not refused: $(ctl ports --json | jq -c '.ports[0]')"
requests=$(ctl ports --json | jq '.ports[0].requests')
expect_status 6 '.allowed_to_discharge == false and .stale == true' \
	"nothing allowed while the master polls"
port_error_is ".requests == $requests" ||
	fail "requests sent while refused: $(ctl ports --json | jq -c '.ports[0].requests')"

# Address 0 is not a pack a host can read.
cat >"$T/zero.conf" <<CONF
[port bus]
device = /dev/ttyUSB0
protocol = jk-pb
addresses = 0-3
CONF
if "$DAEMON" -c "$T/zero.conf" -t >"$T/out" 2>&1; then
	fail "address 0 accepted for jk-pb"
fi
grep -q "zero.conf:4: addresses: 0 is not an address of protocol 'jk-pb' (1-15: .*bus master)" \
	"$T/out" || fail "address 0 refused without saying why: $(cat "$T/out")"
note "ok: address 0 refused by the configuration"
