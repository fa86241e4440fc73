# shellcheck shell=sh disable=SC2034 # (the sourcing scripts use what they need)
# SPDX-License-Identifier: MIT
# Shared by the benchmarks (sourced): the programs, a scratch directory
# removed at exit with every process started, and the simulator / daemon
# start-up they all do the same way.
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
SIM="$top_builddir/tests/bmssim/bmssim"
DAEMON="$top_builddir/src/smallbmsd"
CTL="$top_builddir/src/smallbmsctl"
STRESS="$top_builddir/tests/tools/ctlstress"
WATCH="$top_builddir/tests/tools/linewatch"
T=$(mktemp -d)
pids=""
BENCH_CLEAN="" # more to remove at exit (a directory outside $T)
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$T" $BENCH_CLEAN' EXIT

ports() { "$CTL" --socket "$T/s.sock" ports --json; }
scans() { ports 2>/dev/null | jq '.ports[0].scans'; }

# bench_sim BMSSIM-ARGS...: start the simulator; sets sim (its pid) and pty.
bench_sim() {
	rm -f "$T/sim.out"
	"$SIM" "$@" >"$T/sim.out" 2>/dev/null &
	sim=$!
	pids="$pids $sim"
	until grep -q READY "$T/sim.out" 2>/dev/null; do sleep 0.02; done
	pty=$(awk '$1 == "PTY" { print $2 }' "$T/sim.out")
}

# bench_config PROTOCOL [PORT-LINE...]: $T/c.conf for one port on $pty,
# polled as fast as allowed, outputs in dry run; BENCH_GENERAL replaces
# the stale_after line of [general] (more [general] keys).
bench_config() {
	proto=$1
	shift
	cat >"$T/c.conf" <<CONF
[general]
socket = $T/s.sock
state_dir = $T
poll_interval = 100ms
dry_run = yes
${BENCH_GENERAL:-stale_after = 1h}
[port bench]
device = $pty
protocol = $proto
CONF
	for l in "$@"; do echo "$l" >>"$T/c.conf"; done
}

# bench_daemon: start smallbmsd on $T/c.conf; sets d. Waits for its socket.
bench_daemon() {
	rm -f "$T/s.sock"
	"$DAEMON" -c "$T/c.conf" 2>"$T/daemon.log" &
	d=$!
	pids="$pids $d"
	until ports >/dev/null 2>&1; do sleep 0.05; done
}
