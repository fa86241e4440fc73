#!/bin/sh
# SPDX-License-Identifier: MIT
# Scan benchmark: how close does a scan of N packs come to the minimum the
# line allows — the bytes on the wire at the baud rate plus the packs'
# answer delays? bmssim times its pty like a real 9600-baud line (--baud)
# and answers after --delay ms; the daemon counts its requests and bytes.
# Prints one line per case: N, baud, delay, poll interval, measured scan
# time, the minimum, and their ratio (1.00 = no overhead at all).
# The minimum counts the bytes of the scan itself (requests and answers,
# both ways, 10 bits per byte) and one answer delay per request.
# Cases: Pylontech at 9600 baud (1, 4, 16 packs, 16 with a stack read);
# one JK legacy pack and 8 JK-PB packs at their 115200 baud; 8 Seplos v3
# packs (Modbus RTU, four reads a pack) at 19200; one JBD pack (16
# cells, two requests a scan) at 9600 baud; one Daly pack
# (16 cells) at 9600 baud, whose cell answer is 16 frames of which the
# daemon needs 6 (bmssim sends an answer whole after its wire time, so
# all 16 arrive, and count, before the scan can end).
# Usage: bench/scan.sh [SECONDS-PER-CASE]   (make bench)
# BENCH_ONLY=PROTOCOL runs only that protocol's cases (e.g. daly).
set -eu
. "$(dirname "$0")/lib.sh"
SECS=${1:-20}

run_case() { # N DELAY-MS STACK(yes/no) [PROTOCOL [BAUD]]
	n=$1 delay=$2 stack=$3 proto=${4:-pylontech} BAUD=${5:-9600}
	extra="" addresses="addresses = 1-$n"
	[ "$stack" = yes ] && extra="--stack"
	case $proto in
	jk) # one pack per port, no addressing; MOSFET and two cell sensors
		layout="--cells 16 --temps 3" addresses="" ;;
	jk-pb) layout="--packs $n --address-base 1 --cells 16 --temps 5" ;;
	seplos-v3) layout="--packs $n --address-base 1 --cells 16 --temps 6" ;;
	daly) # one pack per port, no addressing
		layout="--cells 16 --temps 2" addresses="" ;;
	jbd) # one pack per port, no addressing (basic info, then cells)
		layout="--cells 16 --temps 2" addresses="" ;;
	*) layout="--packs $n --address-base 1 --cells 15 --temps 5" ;;
	esac
	# shellcheck disable=SC2086
	bench_sim --protocol "$proto" $layout --baud "$BAUD" --delay "$delay" \
		$extra
	bench_config "$proto" "$addresses" "timeout = 2s"
	bench_daemon
	# Let the identity queries (once per pack) and any stack probe pass,
	# then sample the last completed scan until SECS have passed.
	until [ "$(scans)" -ge 3 ]; do sleep 0.2; done
	: >"$T/samples"
	t0=$(date +%s)
	last=0
	while [ $(($(date +%s) - t0)) -lt "$SECS" ]; do
		p=$(ports | jq -c '.ports[0]')
		s=$(echo "$p" | jq .scans)
		[ "$s" != "$last" ] && echo "$p" >>"$T/samples"
		last=$s
		sleep 0.1
	done
	kill $d $sim
	wait $d $sim 2>/dev/null || true
	jq -rs --argjson n "$n" --argjson baud "$BAUD" --argjson delay "$delay" \
		--arg stack "$stack" --arg proto "$proto" '
		(map(.last_scan) | add / length) as $scan |
		(map(.last_scan_requests) | add / length) as $req |
		(map(.last_scan_bytes) | add / length) as $bytes |
		($bytes * 10 / $baud) as $wire |
		($wire + $req * $delay / 1000) as $min |
		"\($proto) N=\($n) stack=\($stack) baud=\($baud) delay=\($delay)ms: " +
		"\(length) scans sampled, \($req) requests and \($bytes | floor) bytes per scan; " +
		"scan \($scan * 1000 | floor) ms, minimum \($min * 1000 | floor) ms " +
		"(wire \($wire * 1000 | floor) ms + delays \($req * $delay | floor) ms), " +
		"ratio \($scan / $min * 1000 | floor / 1000)"' "$T/samples"
}

want() { [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = "$1" ]; }

echo "bench/scan.sh: ${SECS} s per case"
if want pylontech; then
	run_case 1 100 no
	run_case 4 100 no
	run_case 16 100 no
	run_case 16 100 yes
fi
want jk && run_case 1 100 no jk 115200
want jk-pb && run_case 8 100 no jk-pb 115200
want seplos-v3 && run_case 8 100 no seplos-v3 19200
want daly && run_case 1 100 no daly 9600
want jbd && run_case 1 100 no jbd 9600
exit 0
