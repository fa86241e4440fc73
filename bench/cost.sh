#!/bin/sh
# SPDX-License-Identifier: MIT
# Cost benchmark (#18): machine instructions per battery poll, the whole
# daemon (chain, codec, bank, monitor, guard, outputs, state file), at 1,
# 20 and 50 batteries. Counted by callgrind, so the figure does not depend
# on the machine's load. Two runs of different length are differenced, so
# start-up and shutdown cancel out:
#   per poll = (Ir(long) - Ir(short)) / (polls(long) - polls(short))
# The batteries are Pylontech packs on one port (bmssim answers at once;
# a scan every 100 ms, the shortest poll_interval). Goal: at most 30 000
# instructions per battery poll at 50 batteries, and the figure flat from
# 1 to 50 within 20 %.
# What the benchmark itself does is not counted: every run starts from
# the same state (no state file: otherwise only the later runs load one),
# the control-socket requests it polls with are not counted (the
# inclusive cost of the socket's callbacks is taken off), and the
# polls are counted exactly: the simulator is stopped before the daemon's
# request counter is read, and polls = requests / requests per poll (of
# the last whole scan), not completed scans read while polling went on.
set -eu
. "$(dirname "$0")/lib.sh"
SHORT=${1:-20}
LONG=${2:-60}

command -v valgrind >/dev/null || {
	echo "bench/cost.sh: SKIP: valgrind is not installed"
	exit 0
}


# Instructions in the control socket's event callbacks (src/ctl/ctl.c):
# the benchmark's own requests. (callgrind --toggle-collect on them loses
# track and undercounts.)
socket_ir() { # CALLGRIND-OUT
	callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$1" |
		awk '/ctl\.c:(on_accept|client_io|client_timeout) / {
			gsub(",", "", $1); s += $1 } END { printf "%d", s }'
}

# One daemon under callgrind until it has completed SCANS scans; prints
# "requests requests-per-scan instructions", the requests counted with the
# simulator stopped (no poll ends after the count).
run() { # N SCANS
	rm -f "$T"/callgrind.out "$T"/s.sock "$T"/state.json "$T"/state.json.*
	valgrind --tool=callgrind --callgrind-out-file="$T/callgrind.out" \
		"$DAEMON" -c "$T/c.conf" 2>"$T/vg.log" &
	d=$!
	until s=$(scans) && [ -n "$s" ] && [ "$s" -ge "$2" ]; do
		kill -0 $d 2>/dev/null || {
			grep -v '^==' "$T/vg.log" >&2
			echo "bench/cost.sh: the daemon stopped" >&2
			exit 1
		}
		sleep 0.2
	done
	kill -STOP "$sim"
	p=$(ports | jq -r '.ports[0] | "\(.requests) \(.last_scan_requests)"')
	kill -TERM $d
	wait $d 2>/dev/null || true
	kill -CONT "$sim"
	ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$T/callgrind.out")
	echo "$p $((ir - $(socket_ir "$T/callgrind.out")))"
}

run_case() { # N
	n=$1
	bench_sim --protocol pylontech --packs "$n" --address-base 1 --cells 16 \
		--temps 5
	bench_config pylontech "addresses = 1-$n" "timeout = 5s"
	a=$(run "$n" "$SHORT")
	b=$(run "$n" "$LONG")
	kill $sim
	wait $sim 2>/dev/null || true
	echo "$n $a $b" | awk '{
		n = $1; per_poll = $6 / n; polls = ($5 - $2) / per_poll
		ir = $7 - $4
		printf "cost N=%d: %d battery polls differenced, %.0f instructions per battery poll\n", n, polls, ir / polls
	}'
}

echo "bench/cost.sh: callgrind, runs of $SHORT and $LONG scans"
for n in 1 20 50; do
	run_case "$n" | tee -a "$T/results"
done
awk '{ c[$2] = $(NF - 4) } END {
	lo = hi = c["N=1:"]
	for (k in c) { if (c[k] < lo) lo = c[k]; if (c[k] > hi) hi = c[k] }
	printf "cost: 50 / 1 batteries = %.3f, highest / lowest of 1, 20, 50 = %.3f (goal <= 1.20); at 50: %d (goal <= 30000)\n",
		c["N=50:"] / c["N=1:"], hi / lo, c["N=50:"]
}' "$T/results"
