#!/bin/sh
# SPDX-License-Identifier: MIT
# The CAN-bus BMS output on the dry-run backend (#15): the frames of every
# second in DIR/can-NAME.log (candump -l format), their values those of
# `status`, and the charge limit 0 A (flag and current) as soon as a high
# cell stops charging, while discharge stays allowed; both 0 A on a
# communication loss and with the remote input off.
. "$(dirname "$0")/lib.sh"

cat >"$T/scenario" <<'SCN'
0 all cells 3.400,3.400,3.400,3.400
0 all current 15
0 all temp 20
5 all cell 2 3.800
SCN
start_sim --cells 4 --scenario "$T/scenario"
write_config "stale_after = 3s"
add_outputs
cat >>"$T/smallbms.conf" <<'CONF'
[can]
interface = vcan9
profile = victron
[limits]
charge_current = 100A
discharge_current = 150A
ramp_time = 2s
CONF
start_daemon
LOG="$GPIO/can-vcan9.log"

# last ID: the payload of the last frame with that id in the log
last() { grep " vcan9 $1#" "$LOG" | tail -n 1 | sed 's/.*#//'; }
# le16 HEX OFFSET: the little-endian 16-bit field at byte OFFSET
le16() { echo $((0x$(echo "$1" | cut -c$(($2 * 2 + 3))-$(($2 * 2 + 4)))$(echo "$1" | cut -c$(($2 * 2 + 1))-$(($2 * 2 + 2))))); }

expect_status 5 '.limits.ccl == 100 and .limits.dcl == 150 and .allowed_to_charge' \
	"limits at their maximum after the ramp"
expect_status 3 '.can.state == "active" and .can.backend == "dry-run" and .can.frames_sent >= 32' \
	"two cycles logged"
# Every line is a candump -l line.
bad=$(grep -cvE '^\([0-9]+\.[0-9]{6}\) vcan9 [0-9A-F]{3}#([0-9A-F]{2})*$' "$LOG" || true)
[ "$bad" = 0 ] || fail "$bad lines of $LOG are not candump -l lines"
# A whole victron cycle: 16 ids, in order.
ids=$(tail -n 16 "$LOG" | sed 's/.* vcan9 \(...\)#.*/\1/' | tr '\n' ' ')
[ "$ids" = "351 355 356 359 35C 35E 35A 35F 370 371 372 373 374 375 376 377 " ] ||
	fail "one cycle is not the victron frames: $ids"
note "ok: a cycle has the 16 victron frames"

# The values of status, as the frames carry them (4 cells: CVL 13.8 V).
# (the status is ahead of the log by up to one cycle)
is351() { [ "$(last 351)" = "$1" ]; }
wait_until 2 is351 8A00E803DC057400 ||
	fail "0x351 is $(last 351), not CVL 13.8 V, CCL 100 A, DCL 150 A, DVL 11.6 V"
S=$(ctl status --json)
f351=$(last 351)
[ "$(le16 "$f351" 0)" = "$(echo "$S" | jq '.limits.cvl * 10 | round')" ] || fail "CVL differs from status"
[ "$(last 35C)" = "C000" ] || fail "0x35C is $(last 35C), not charge + discharge enabled"
f356=$(last 356)
v=$(le16 "$f356" 0)
[ "$v" = "$(echo "$S" | jq '.voltage * 100 | round')" ] || fail "0x356 voltage $v differs from status $(echo "$S" | jq .voltage)"
[ "$(le16 "$f356" 2)" = "150" ] || fail "0x356 current is not 15.0 A"
[ "$(le16 "$f356" 4)" = "200" ] || fail "0x356 temperature is not 20.0 C"
note "ok: 0x351 0x356 0x35C carry the status values"

# A high cell: the guard stops charging, the frames say 0 A at once.
expect_status 8 '.allowed_to_charge == false and .limits.ccl == 0 and (.limits.ccl_reasons | index("not_allowed"))' \
	"CCL 0 A when charging is not allowed"
wait_until 3 sh -c "grep ' vcan9 351#' '$LOG' | tail -n 1 | grep -q '#....0000'" ||
	fail "0x351 CCL is not 0: $(last 351)"
[ "$(le16 "$(last 351)" 4)" = "1500" ] || fail "DCL changed: $(last 351)"
[ "$(last 35C)" = "4000" ] || fail "0x35C is $(last 35C), not discharge only"
# 0x359: cell over-voltage protection (byte 0 bit 1)
case "$(last 359)" in 02*) ;; *) fail "0x359 is $(last 359): no over-voltage bit" ;; esac
status_is '.allowed_to_discharge == true' || fail "discharge must stay allowed"
note "ok: 0x351 CCL 0, 0x35C discharge only, 0x359 over-voltage"
# ... and smallbmsctl says why.
ctl status >"$T/status.txt"
grep -Eq '^Charge current limit: +0\.0 A of 100\.0 \(not_allowed, .*high_cell' "$T/status.txt" ||
	{ cat "$T/status.txt" >&2; fail "status does not show CCL 0 and why"; }
grep -Eq '^CAN: +vcan9 victron \(dry run\), active, [0-9]+ frames' "$T/status.txt" ||
	{ cat "$T/status.txt" >&2; fail "status does not show the CAN link"; }
note "ok: smallbmsctl status shows the limits and the link"

# A communication loss (the simulator stopped): after comm_loss_load (4 s
# here, lib.sh) the loads are cut, and the frames say DCL 0 A.
kill -STOP "$(cat "$T/sim.pid")"
expect_status 8 '.allowed_to_discharge == false and .limits.dcl == 0 and (.discharge_reasons | index("comm_loss"))' \
	"DCL 0 A on a communication loss"
dcl0() { [ "$(le16 "$(last 351)" 4)" = 0 ]; }
wait_until 3 dcl0 || fail "0x351 DCL is not 0 on a communication loss: $(last 351)"
[ "$(le16 "$(last 351)" 2)" = 0 ] || fail "0x351 CCL is not 0 on a communication loss: $(last 351)"
kill -CONT "$(cat "$T/sim.pid")"
expect_status 10 '.allowed_to_discharge == true and .limits.dcl == 150' \
	"DCL back to 150 A once the battery answers again"
note "ok: comm loss: 0x351 CCL and DCL 0, back after it"

# The remote input off: nothing allowed, DCL 0 A too, no request flag.
echo 0 >"$GPIO/GPIO24"
expect_status 3 '.allowed_to_discharge == false and .limits.dcl == 0 and (.limits.dcl_reasons | index("not_allowed"))' \
	"DCL 0 A when discharging is not allowed"
wait_until 3 sh -c "grep ' vcan9 35C#' '$LOG' | tail -n 1 | grep -q '#0000'" ||
	fail "0x35C is $(last 35C), not nothing enabled"
[ "$(le16 "$(last 351)" 4)" = "0" ] || fail "0x351 DCL is not 0: $(last 351)"
note "ok: remote off: 0x351 DCL 0, 0x35C nothing enabled"

# About one cycle a second: cycles (the immediate ones at a limit's drop
# included) against the seconds since the first.
first=$(head -n 1 "$LOG" | sed 's/^(\([0-9]*\)\..*/\1/')
lastt=$(tail -n 1 "$LOG" | sed 's/^(\([0-9]*\)\..*/\1/')
n=$(grep -c ' vcan9 351#' "$LOG")
secs=$((lastt - first))
[ "$n" -ge "$secs" ] && [ "$n" -le $((secs + 4)) ] ||
	fail "$n cycles of 0x351 in $secs s"
note "ok: $n cycles in $secs s"

# Frame by frame, the whole log (every state above, the immediate frames
# at a limit's drop included): CCL and DCL never above their maximum, CVL
# never above 4 x 3.45 V; a cycle whose 0x35C does not enable charging
# (discharging) carries CCL (DCL) 0 A in its 0x351; a current limit never
# rises faster than its ramp (100 A and 150 A over ramp_time = 2 s).
awk '
function hex(h,   v, i) { v = 0; for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1; return v }
function le16(h, o) { return hex(substr(h, o * 2 + 3, 2) substr(h, o * 2 + 1, 2)) }
function bit(v, b) { return int(v / b) % 2 }
{
	t = substr($1, 2, length($1) - 2) + 0
	split($3, f, "#"); id = f[1]; d = f[2]
	if (id == "351") {
		n++
		cvl = le16(d, 0); ccl = le16(d, 1 * 2); dcl = le16(d, 2 * 2)
		if (ccl > 1000 || dcl > 1500 || cvl > 138)
			{ print "frame " NR ": over a maximum: " $0; bad++ }
		if (seen && ccl > pccl + 500 * (t - pt) * 1.1 + 10)
			{ print "frame " NR ": CCL rose " (ccl - pccl) / 10 " A in " t - pt " s"; bad++ }
		if (seen && dcl > pdcl + 750 * (t - pt) * 1.1 + 10)
			{ print "frame " NR ": DCL rose " (dcl - pdcl) / 10 " A in " t - pt " s"; bad++ }
		pccl = ccl; pdcl = dcl; pt = t; seen = 1
	}
	if (id == "35C" && seen) {
		fl = hex(substr(d, 1, 2))
		if (!bit(fl, 128) && pccl != 0) { print "frame " NR ": charge off, CCL " pccl / 10; bad++ }
		if (!bit(fl, 64) && pdcl != 0) { print "frame " NR ": discharge off, DCL " pdcl / 10; bad++ }
		if (!bit(fl, 128)) offc++
		if (!bit(fl, 64)) offd++
	}
}
END {
	if (!offc || !offd) { print "the log never has charge and discharge off"; bad++ }
	printf "%d cycles checked, charge off in %d, discharge off in %d\n", n, offc, offd
	exit bad > 0
}' "$LOG" >"$T/frames.out" 2>&1 || { cat "$T/frames.out" >&2; fail "frame-by-frame check of $LOG"; }
note "ok: frame by frame: $(tail -n 1 "$T/frames.out")"
