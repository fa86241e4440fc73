#!/bin/sh
# SPDX-License-Identifier: MIT
# Power cuts while the state file is being written: change a setting (which
# is saved at once) and kill the daemon with SIGKILL a random fraction of a
# millisecond to a few milliseconds later, hundreds of times. After each
# cut the daemon must start with either the old or the new value — never a
# default because of a torn write, never a corrupt file.
. "$(dirname "$0")/lib.sh"

MAX_ITER=${POWERCUT_ITERATIONS:-300}
MAX_SECONDS=${POWERCUT_SECONDS:-75}

start_sim --cells 4
write_config "admin_group = $(id -gn)"
start_daemon

# The value as a whole number whatever jq prints (30 or 30.0).
setting() {
	ctl settings --json |
		jq --arg n "$1" '.settings[] | select(.name == $n) | .value | floor'
}
rand_delay() { # 0 to 4.5 ms
	n=$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')
	printf '0.%04d' $((n * 45 / 255 * 1))
}

# A setting without rules between it and others (charge_efficiency,
# 50..100 %): every value the loop writes is valid.
ctl set charge_efficiency 51 >/dev/null || fail "first set"
prev=51
i=0 kept_old=0 kept_new=0
t0=$(date +%s)
while [ $i -lt "$MAX_ITER" ] && [ $(($(date +%s) - t0)) -lt "$MAX_SECONDS" ]; do
	i=$((i + 1))
	v=$((i % 45 + 52))
	[ "$v" != "$prev" ] || v=$((v + 1))
	ctl set charge_efficiency "$v" >/dev/null 2>&1 &
	setter=$!
	sleep "$(rand_delay)"
	kill -9 "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	wait "$setter" 2>/dev/null || true
	start_daemon
	got=$(setting charge_efficiency)
	if [ "$got" = "$v" ]; then
		kept_new=$((kept_new + 1))
		prev=$v
	elif [ "$got" = "$prev" ]; then
		kept_old=$((kept_old + 1))
	else
		fail "iteration $i: charge_efficiency is $got, expected $prev or $v"
	fi
	if ls "$T/state"/*.corrupt* >/dev/null 2>&1; then
		fail "iteration $i: a corrupt state file was set aside"
	fi
done
grep -qi "corrupt" "$T/daemon.log" && fail "the daemon found a corrupt file"
min=$((MAX_ITER < 100 ? MAX_ITER : 100))
[ $i -ge $min ] || fail "only $i iterations in ${MAX_SECONDS}s"
note "ok: $i power cuts in $(($(date +%s) - t0)) s: new value kept $kept_new times, old value $kept_old times, nothing else"
