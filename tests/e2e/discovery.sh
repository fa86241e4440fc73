#!/bin/sh
# SPDX-License-Identifier: MIT
# "addresses = scan": the daemon finds the packs on a port by probing the
# candidate addresses, at start and again every rescan_interval.
#
# Port b1 has packs at addresses 2, 3, 5 and 9 (9 silent until t = 12 s);
# it is scanned over 1-10. Port b2 has one pack at address 2, configured.
# Until b1's first pass is over the bank is not all there: nothing may be
# allowed on b2's data alone. Then 3 packs are found on b1, and the silent
# one at the first rescan after it answers; batteries are numbered port by
# port, on a port by address, so b2's pack moves from 4 to 5.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all current -2
0 4 silent
12 4 answer
SCN
start_sim --protocol pylontech --batteries 5 --packs 4 --addresses 2,3,5,9 \
	--cells 4 --scenario "$T/scenario"
[ "$(echo "$SIM_PTYS" | wc -l)" -eq 2 ] || fail "want two simulator lines"
# 2 x 400 ms per absent address (the first pass retries): it takes ~6 s.
PORT_PROTOCOL=pylontech PORT_ADDRESSES_1="scan 1-10" PORT_ADDRESSES_2=2 \
	PORT_EXTRA="timeout = 400ms" write_config "rescan_interval = 10s"
add_outputs
start_daemon

# b2's pack is read within a scan; b1 is still probing.
expect_status 2 '.batteries >= 1 and .discovering == true' \
	"first pass running, b2's pack read"
status_is '.allowed_to_charge == false and .allowed_to_discharge == false' ||
	fail "allowed on a part of the bank: $(ctl status --json | jq -c .)"
line_is GPIO17 0 || fail "load output enabled while batteries are being found"
ctl status | grep -q "FINDING BATTERIES" ||
	fail "smallbmsctl status does not say batteries are being found"

expect_status 15 '.discovering == false and .batteries == 4 and .stale == false' \
	"first pass over: 3 packs on b1 and b2's"
ctl batteries --json |
	jq -e '[.batteries[] | [.port, .address]] == [["b1",2],["b1",3],["b1",5],["b2",2]]' \
		>/dev/null || fail "batteries: $(ctl batteries --json | jq -c '[.batteries[] | [.port, .address]]')"
grep -q "port b1: 3 of 10 addresses answered" "$T/daemon.log" ||
	fail "no discovery summary in the log"
ctl ports --json | jq -e '.ports[0].scan.candidates == 10 and
	.ports[0].scan.passes == 1 and .ports[0].batteries == 3 and
	.ports[1].scan == null' >/dev/null ||
	fail "ports: $(ctl ports --json | jq -c '[.ports[] | {batteries, scan}]')"
ctl ports | grep -q "3 of 10" || fail "smallbmsctl ports: $(ctl ports)"
expect_line 5 GPIO17 1
note "ok: allowed once every port's batteries are known"

# Address 9 answers from t = 12 s; the rescan 10 s after the first pass
# probes one address per scan and finds it.
expect_status 30 '.batteries == 5 and .stale == false' "address 9 found at a rescan"
battery_is 4 '.port == "b1" and .address == 9 and .valid == true' ||
	fail "battery 4: $(ctl battery 4 --json | jq -c '{port, address, valid}')"
battery_is 5 '.port == "b2" and .address == 2' ||
	fail "battery 5: $(ctl battery 5 --json | jq -c '{port, address}')"
grep -q "port b1: battery found at address 9: battery 4 of 5" "$T/daemon.log" ||
	fail "no log line for the battery found"
ctl ports --json | jq -e '.ports[0].batteries == 4 and .ports[0].scan.probes > 7' \
	>/dev/null || fail "ports after the rescan: $(ctl ports --json | jq -c '.ports[0]')"
# It joined with a complete reading: the bank never lost its data.
if grep -q "Lost communication blocks" "$T/daemon.log"; then
	tail -n +"$(grep -n "battery found at address 9" "$T/daemon.log" | cut -d: -f1)" \
		"$T/daemon.log" | grep -q "Lost communication blocks" &&
		fail "finding a battery cost the bank its data"
fi
note "ok: a pack found at a rescan; numbering port by port, address by address"
