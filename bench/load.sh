#!/bin/sh
# SPDX-License-Identifier: MIT
# Load benchmark (#18): what readers of the control socket cost the
# polling, and what the daemon costs the machine.
# - Scan time of 50 Pylontech packs on a line timed like a 115200-baud
#   RS485 bus (bmssim --baud; no answer delay, so the daemon's turnaround
#   counts as much as it can on a real line) quiet, then under 1,000
#   requests/s of each read command from one client (tests/tools/ctlstress
#   rate): the slowdown is the mean scan time under load / the mean of the
#   quiet windows just before and after it (goal: at most 1.02 for
#   "batteries"), and the daemon's share of one core.
#   (Without line timing the figure measures the machine's wake-up
#   latency instead: a busier daemon wakes faster, and a loaded scan came
#   out 2.4 times faster than the quiet one.)
# - CPU per battery poll (the daemon's user+system time from
#   /proc/PID/stat over the quiet window / the battery polls in it).
# - RSS and PSS (/proc/PID/smaps_rollup) at 50 batteries once they are all
#   read, and again after POLLS battery polls (default 100000).
# 30 s per case: with 10 s (7-8 scans) one run said 1.050 for
# "batteries" and the next two, with 30 s, 0.962 and 0.989; the quiet
# scan alone moved 3.4 % between runs, hence a quiet window on either
# side of each loaded one.
# Usage: bench/load.sh [SECONDS-PER-CASE [POLLS]]   (make bench)
set -eu
. "$(dirname "$0")/lib.sh"
SECS=${1:-30}
POLLS=${2:-100000}
N=50
BAUD=115200

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
mem() { awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { printf "RSS %d kB, PSS %d kB", r, p }' "/proc/$1/smaps_rollup"; }

# Mean scan time (ms) over SECS seconds: every completed scan's duration,
# sampled from the ports answer.
scan_mean() {
	: >"$T/samples"
	last=$(scans)
	end=$(($(date +%s) + SECS))
	while [ "$(date +%s)" -lt "$end" ]; do
		p=$(ports | jq -c '.ports[0] | {scans, last_scan}')
		s=$(echo "$p" | jq .scans)
		[ "$s" != "$last" ] && echo "$p" >>"$T/samples"
		last=$s
		sleep 0.05
	done
	jq -s 'map(.last_scan) | add / length * 1000' "$T/samples"
}

# Start a simulator (more bmssim options in $1) and a daemon reading it.
start() {
	# shellcheck disable=SC2086
	bench_sim --protocol pylontech --packs $N --address-base 1 --cells 16 \
		--temps 5 $1
	bench_config pylontech "addresses = 1-$N" "timeout = 5s"
	bench_daemon
	until [ "$(scans)" -ge 3 ]; do sleep 0.2; done
}

stop() {
	kill $d $sim
	wait $d $sim 2>/dev/null || true
	rm -f "$T/s.sock"
}

echo "bench/load.sh: $N Pylontech packs, $BAUD baud, $SECS s per case"
hz=$(getconf CLK_TCK)
start "--baud $BAUD"
# A quiet window before every loaded one and one after the last: each
# loaded window is compared with the mean of the quiet windows on either
# side of it, so a drift of the machine over the run (3.4 % between two
# runs' single quiet windows) does not count as the load's.
quiet=$(scan_mean)
echo "$quiet" | awk '{ printf "load: quiet: scan %.1f ms\n", $1 }'
for req in status batteries ports "battery 1" history settings; do
	"$STRESS" "$T/s.sock" rate $((SECS + 2)) 1000 "$req" >"$T/rate.out" &
	st=$!
	sleep 1
	c0=$(cpu_ticks $d)
	t0=$(date +%s%N)
	busy=$(scan_mean)
	c1=$(cpu_ticks $d)
	t1=$(date +%s%N)
	wait $st || { cat "$T/rate.out"; echo "bench/load.sh: ctlstress failed"; exit 1; }
	after=$(scan_mean)
	goal=""
	[ "$req" = batteries ] && goal=" (goal <= 1.02)"
	echo "$busy $quiet $after $c0 $c1 $t0 $t1 $hz" | awk -v req="$req" \
		-v rate="$(cat "$T/rate.out")" -v goal="$goal" '{
		q = ($2 + $3) / 2
		printf "load: under 1000 \"%s\"/s (%s): scan %.1f ms, quiet around it %.1f and %.1f ms, slowdown %.3f%s; daemon %.0f %% of a core\n",
			req, rate, $1, $2, $3, $1 / q, goal, ($5 - $4) / $8 / (($7 - $6) / 1e9) * 100 }'
	quiet=$after
done
stop

# CPU and memory: the simulator answers at once, so POLLS polls take a
# minute, not an hour.
start ""
echo "load: memory at $N batteries, all read: $(mem $d)"
s0=$(scans)
c0=$(cpu_ticks $d)
want=$((s0 + POLLS / N))
until [ "$(scans)" -ge $want ]; do sleep 1; done
c1=$(cpu_ticks $d)
s1=$(scans)
echo "load: memory after $(((s1 - s0) * N)) more battery polls: $(mem $d)"
echo "$c0 $c1 $s0 $s1 $hz $N" | awk '{
	printf "load: CPU per battery poll %.1f us (user+system over %d polls, answers at once)\n",
		($2 - $1) / $5 / (($4 - $3) * $6) * 1e6, ($4 - $3) * $6 }'
stop
