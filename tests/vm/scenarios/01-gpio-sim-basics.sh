#!/bin/sh
# SPDX-License-Identifier: MIT
# The simulated Raspberry Pi header works as the scenarios assume, checked
# with the libgpiod tools before any of our code is involved: lines found
# by their Pi names, outputs seen on the simulated side, active-low both
# ways, bias, inputs driven by the simulated pull, edge events (rising-only
# filtering, and active-low inverting the edge).
. "$(dirname "$0")/../lib.sh"

# The lines the daemon's outputs and remote input use in the scenarios.
for n in GPIO5 GPIO6 GPIO17 GPIO22 GPIO23 GPIO24 GPIO25 GPIO27; do
	found=$(gpiofind "$n") || fail "gpiofind $n found nothing"
	[ "$found" = "$SBVM_SIM_CHIP $(sim_offset "$n")" ] ||
		fail "gpiofind $n: '$found'"
done
[ "$(gpioinfo "$SBVM_SIM_CHIP" | grep -c '"GPIO[0-9]*"')" -eq 28 ] ||
	fail "the chip does not name 28 lines GPIO0..GPIO27"
note "ok: GPIO0..GPIO27 found by name on $SBVM_SIM_CHIP"

# used GPIO17 CONSUMER: the line is requested by CONSUMER.
used() {
	gpioinfo "$SBVM_SIM_CHIP" |
		grep -q "line *$(sim_offset "$1"):.*\"$1\" *\"$2\""
}

# hold GPIO17 VALUE [GPIOSET-OPTION...]: gpioset drives the line until
# release. A signalled gpioset exits non-zero: that is expected.
hold() {
	name=$1 value=$2
	shift 2
	gpioset "$@" --mode=signal "$SBVM_SIM_CHIP" "$(sim_offset "$name")=$value" &
	HOLD_PID=$!
	PIDS="$PIDS $HOLD_PID"
	wait_until 5 used "$name" gpioset || fail "gpioset did not request $name"
}
release() {
	kill "$HOLD_PID"
	wait "$HOLD_PID" || true
}

# Outputs, seen on the simulated side.
hold GPIO17 1
expect_line 2 GPIO17 1 "output driven high"
release
hold GPIO17 0
expect_line 2 GPIO17 0 "output driven low"
release

# Active-low output: logical 1 is the low level, logical 0 the high one.
hold GPIO27 1 --active-low
expect_line 2 GPIO27 0 "active-low output, logical 1"
release
hold GPIO27 0 --active-low
expect_line 2 GPIO27 1 "active-low output, logical 0"
release

# An input driven from outside by the simulated pull, active-high and
# active-low.
o=$(sim_offset GPIO22)
sim_pull GPIO22 pull-up
[ "$(gpioget "$SBVM_SIM_CHIP" "$o")" = 1 ] || fail "pull-up does not read 1"
[ "$(gpioget --active-low "$SBVM_SIM_CHIP" "$o")" = 0 ] ||
	fail "pull-up does not read 0 active-low"
sim_pull GPIO22 pull-down
[ "$(gpioget "$SBVM_SIM_CHIP" "$o")" = 0 ] || fail "pull-down does not read 0"
[ "$(gpioget --active-low "$SBVM_SIM_CHIP" "$o")" = 1 ] ||
	fail "pull-down does not read 1 active-low"
note "ok: GPIO22 read as the simulated pull drives it (and inverted active-low)"

# Bias requested by the line's user sets the simulated pull.
o=$(sim_offset GPIO23)
[ "$(gpioget --bias=pull-up "$SBVM_SIM_CHIP" "$o")" = 1 ] ||
	fail "bias pull-up does not read 1"
[ "$(gpioget --bias=pull-down "$SBVM_SIM_CHIP" "$o")" = 0 ] ||
	fail "bias pull-down does not read 0"
note "ok: bias pull-up / pull-down on GPIO23"

# Edge events. Rising-only: a falling edge first must not be reported.
o=$(sim_offset GPIO24)
sim_pull GPIO24 pull-up
gpiomon --rising-edge --num-events=1 --format='%e' "$SBVM_SIM_CHIP" "$o" \
	>"$T/mon24" &
p=$!
PIDS="$PIDS $p"
wait_until 5 used GPIO24 gpiomon || fail "gpiomon did not request GPIO24"
sim_pull GPIO24 pull-down
# The falling edge is not reported: gpiomon is still waiting.
holds 0.3 kill -0 "$p" || fail "gpiomon exited on a falling edge"
sim_pull GPIO24 pull-up
wait "$p" || fail "gpiomon failed"
[ "$(cat "$T/mon24")" = 1 ] || fail "rising edge: '$(cat "$T/mon24")'"
note "ok: rising-edge filter on GPIO24"

# Active-low inverts the edge: the level rising is a logical falling edge.
o=$(sim_offset GPIO25)
sim_pull GPIO25 pull-down
gpiomon --active-low --num-events=1 --format='%e' "$SBVM_SIM_CHIP" "$o" \
	>"$T/mon25" &
p=$!
PIDS="$PIDS $p"
wait_until 5 used GPIO25 gpiomon || fail "gpiomon did not request GPIO25"
sim_pull GPIO25 pull-up
wait "$p" || fail "gpiomon failed"
[ "$(cat "$T/mon25")" = 0 ] || fail "active-low edge: '$(cat "$T/mon25")'"
note "ok: active-low edge on GPIO25 reported as falling"

# Both edges, one after the other (waiting for each event: two edges
# written back to back may merge into one).
o=$(sim_offset GPIO5)
sim_pull GPIO5 pull-down
gpiomon --num-events=2 --format='%e' --line-buffered "$SBVM_SIM_CHIP" "$o" \
	>"$T/mon5" &
p=$!
PIDS="$PIDS $p"
wait_until 5 used GPIO5 gpiomon || fail "gpiomon did not request GPIO5"
sim_pull GPIO5 pull-up
wait_until 5 grep -q 1 "$T/mon5" || fail "no rising edge on GPIO5"
sim_pull GPIO5 pull-down
wait "$p" || fail "gpiomon failed"
[ "$(tr '\n' ' ' <"$T/mon5")" = "1 0 " ] ||
	fail "both edges: '$(cat "$T/mon5")'"
note "ok: rising then falling edge on GPIO5"
