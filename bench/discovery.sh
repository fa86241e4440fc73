#!/bin/sh
# SPDX-License-Identifier: MIT
# Discovery benchmark: how long the first pass of "addresses = scan" takes
# before the bank may be used. bmssim plays 4 Pylontech packs at addresses
# 2-5 on a line timed like 9600 baud with 100 ms answer delays; the daemon
# scans 2-17 at the protocol's 1 s timeout. The first pass asks every
# candidate and retries like a poll, so its floor is 12 absent candidates
# x 2 tries x 1 s = 24 s, plus the reads of the 4 packs.
# Prints the time from start until status says discovering false.
# Usage: bench/discovery.sh   (make bench)
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
SIM="$top_builddir/tests/bmssim/bmssim"
DAEMON="$top_builddir/src/smallbmsd"
CTL="$top_builddir/src/smallbmsctl"
# "jq -e" with no input value fails (no daemon yet is not "done").
. "$(dirname "$0")/../tests/jq_strict.sh"
T=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$T"' EXIT

"$SIM" --protocol pylontech --packs 4 --address-base 2 --cells 15 \
	--baud 9600 --delay 100 >"$T/sim.out" 2>/dev/null &
pids="$pids $!"
# wait_for SECONDS WHAT COMMAND...: poll until COMMAND succeeds, or give up.
wait_for() {
	end=$(($(date +%s) + $1))
	what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || {
			echo "bench/discovery.sh: $what" >&2
			exit 1
		}
		sleep 0.05
	done
}
wait_for 10 "bmssim not ready" grep -q READY "$T/sim.out"
cat >"$T/c.conf" <<CONF
[general]
socket = $T/s.sock
state_dir = $T
dry_run = yes
[port bench]
device = $(awk '$1 == "PTY" { print $2 }' "$T/sim.out")
protocol = pylontech
addresses = scan 2-17
CONF
t0=$(date +%s%N)
"$DAEMON" -c "$T/c.conf" 2>"$T/d.log" &
pids="$pids $!"
done_discovering() {
	"$CTL" --socket "$T/s.sock" status --json 2>/dev/null |
		jq -e '.discovering == false'
}
wait_for 120 "the first pass did not end in 120 s" done_discovering
t1=$(date +%s%N)
p=$("$CTL" --socket "$T/s.sock" ports --json | jq -c '.ports[0]')
echo "discovery: 16 candidates, 4 packs, timeout 1 s, baud 9600, delay 100ms:" \
	"first pass $(((t1 - t0) / 1000000)) ms;" \
	"$(echo "$p" | jq -r '"\(.batteries) found, \(.requests) requests, \(.tx_bytes + .rx_bytes) bytes"');" \
	"floor 24000 ms + the packs' reads"
