#!/bin/sh
# SPDX-License-Identifier: MIT
# The simulated Raspberry Pi header works as the scenarios assume, checked
# with the libgpiod tools before any of our code is involved: lines found
# by their Pi names, outputs seen on the simulated side, active-low both
# ways, bias, inputs driven by the simulated pull, edge events (rising-only
# filtering, and active-low inverting the edge). With either generation of
# the tools (lib.sh's gpio_* helpers): bookworm's 1.6 or trixie's 2.x.
. "$(dirname "$0")/../lib.sh"

# The lines the daemon's outputs and remote input use in the scenarios.
for n in GPIO5 GPIO6 GPIO17 GPIO22 GPIO23 GPIO24 GPIO25 GPIO27; do
	found=$(gpio_find "$n") || fail "no line named $n found"
	[ "$found" = "$SBVM_SIM_CHIP $(sim_offset "$n")" ] ||
		fail "$n found as '$found'"
done
[ "$(gpio_chip_info | grep -c '"GPIO[0-9]*"')" -eq 28 ] ||
	fail "the chip does not name 28 lines GPIO0..GPIO27"
note "ok: GPIO0..GPIO27 found by name on $SBVM_SIM_CHIP (libgpiod tools v$GPIOD_TOOLS)"

# used GPIO17 CONSUMER: the line is requested by CONSUMER.
used() { [ "$(gpio_user "$1")" = "$2" ]; }

# hold GPIO17 VALUE [--active-low]: gpioset drives the line until
# release. A signalled gpioset exits non-zero: that is expected.
hold() {
	gpio_set "$@" &
	HOLD_PID=$!
	PIDS="$PIDS $HOLD_PID"
	wait_until 5 used "$1" gpioset || fail "gpioset did not request $1"
	[ "$(gpio_dir "$1")" = output ] || fail "gpioset: $1 is not an output"
}
release() {
	kill "$HOLD_PID"
	wait "$HOLD_PID" || true
	wait_until 5 line_free "$1" || fail "$1 still requested after gpioset"
}

# Outputs, seen on the simulated side.
hold GPIO17 1
expect_line 2 GPIO17 1 "output driven high"
release GPIO17
hold GPIO17 0
expect_line 2 GPIO17 0 "output driven low"
release GPIO17

# Active-low output: logical 1 is the low level, logical 0 the high one.
hold GPIO27 1 --active-low
expect_line 2 GPIO27 0 "active-low output, logical 1"
release GPIO27
hold GPIO27 0 --active-low
expect_line 2 GPIO27 1 "active-low output, logical 0"
release GPIO27

# An input driven from outside by the simulated pull, active-high and
# active-low.
sim_pull GPIO22 pull-up
[ "$(gpio_get GPIO22)" = 1 ] || fail "pull-up does not read 1"
[ "$(gpio_get GPIO22 --active-low)" = 0 ] ||
	fail "pull-up does not read 0 active-low"
sim_pull GPIO22 pull-down
[ "$(gpio_get GPIO22)" = 0 ] || fail "pull-down does not read 0"
[ "$(gpio_get GPIO22 --active-low)" = 1 ] ||
	fail "pull-down does not read 1 active-low"
note "ok: GPIO22 read as the simulated pull drives it (and inverted active-low)"

# Bias requested by the line's user sets the simulated pull.
[ "$(gpio_get GPIO23 --bias=pull-up)" = 1 ] || fail "bias pull-up does not read 1"
[ "$(gpio_get GPIO23 --bias=pull-down)" = 0 ] ||
	fail "bias pull-down does not read 0"
note "ok: bias pull-up / pull-down on GPIO23"

# Edge events. Rising-only: a falling edge first must not be reported.
sim_pull GPIO24 pull-up
gpio_mon GPIO24 1 rising >"$T/mon24" &
p=$!
PIDS="$PIDS $p"
wait_until 5 used GPIO24 gpiomon || fail "gpiomon did not request GPIO24"
sim_pull GPIO24 pull-down
# The falling edge is not reported: gpiomon is still waiting.
holds 0.3 kill -0 "$p" || fail "gpiomon exited on a falling edge"
sim_pull GPIO24 pull-up
wait "$p" || fail "gpiomon failed"
[ "$(cat "$T/mon24")" = "$EDGE_RISING" ] || fail "rising edge: '$(cat "$T/mon24")'"
note "ok: rising-edge filter on GPIO24"

# Active-low inverts the edge: the level rising is a logical falling edge.
sim_pull GPIO25 pull-down
gpio_mon GPIO25 1 both --active-low >"$T/mon25" &
p=$!
PIDS="$PIDS $p"
wait_until 5 used GPIO25 gpiomon || fail "gpiomon did not request GPIO25"
sim_pull GPIO25 pull-up
wait "$p" || fail "gpiomon failed"
[ "$(cat "$T/mon25")" = "$EDGE_FALLING" ] ||
	fail "active-low edge: '$(cat "$T/mon25")'"
note "ok: active-low edge on GPIO25 reported as falling"

# Both edges, one after the other (waiting for each event: two edges
# written back to back may merge into one).
sim_pull GPIO5 pull-down
gpio_mon GPIO5 2 both >"$T/mon5" &
p=$!
PIDS="$PIDS $p"
wait_until 5 used GPIO5 gpiomon || fail "gpiomon did not request GPIO5"
sim_pull GPIO5 pull-up
wait_until 5 grep -q "$EDGE_RISING" "$T/mon5" || fail "no rising edge on GPIO5"
sim_pull GPIO5 pull-down
wait "$p" || fail "gpiomon failed"
[ "$(tr '\n' ' ' <"$T/mon5")" = "$EDGE_RISING $EDGE_FALLING " ] ||
	fail "both edges: '$(cat "$T/mon5")'"
note "ok: rising then falling edge on GPIO5"
