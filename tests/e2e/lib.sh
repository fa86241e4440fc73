# SPDX-License-Identifier: MIT
# Shared helpers for the end-to-end tests: start the simulator and the
# daemon unprivileged in a temporary directory, wait for readiness by
# polling with a deadline (never a fixed sleep), assert through smallbmsctl.
set -eu

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
SIM="${BMSSIM:-$top_builddir/tests/bmssim/bmssim}"
DAEMON="$top_builddir/src/smallbmsd"
CTL="$top_builddir/src/smallbmsctl"
T=$(mktemp -d "${TMPDIR:-/tmp}/smallbms-e2e.XXXXXX")
SOCK="$T/run/smallbms.sock"
PIDS=""

cleanup() {
	status=$?
	# The daemon (started after the simulator) stops first and waits:
	# with the simulator gone first, the daemon would try to reopen its
	# pty path, which another test running in parallel may own by then.
	rev=""
	for p in $PIDS; do rev="$p $rev"; done
	for p in $rev; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ "$status" -ne 0 ]; then
		echo "--- daemon log"; cat "$T/daemon.log" 2>/dev/null || true
		echo "--- simulator log"; cat "$T/sim.err" 2>/dev/null || true
	fi
	rm -rf "$T"
	exit "$status"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

# "jq -e" with no input value fails (tests/jq_strict.sh).
. "$(dirname "$0")/../jq_strict.sh"

# wait_until SECONDS COMMAND...: poll every 50 ms until COMMAND succeeds
# (tests/lib/poll.sh).
POLL_S=0.05
# shellcheck source=tests/lib/poll.sh
. "$(dirname "$0")/../lib/poll.sh"

# start_sim ARGS...: run bmssim, wait for READY, set SIM_PTY (the first
# line) and SIM_PTYS (every line). Ptys are given to the daemon through
# links in $T (bmssim --link), never as /dev/pts/N: when a test's
# simulator goes away its link goes with it, so a daemon that reopens its
# port cannot land on a pty number another test running in parallel got
# meanwhile (and read that test's battery).
start_sim() {
	link=""
	case " $* " in
	*" --tcp "* | *" --link "*) ;;
	*) link="--link $T/bms" ;;
	esac
	# The test's previous simulator is stopped and reaped first: killed
	# but still exiting, it could write its last words into the new
	# sim.out (its own file offset, past the truncation) and still hold
	# the link (trixie leg: "READY" seen, no PTY line).
	if [ -f "$T/sim.pid" ]; then
		kill "$(cat "$T/sim.pid")" 2>/dev/null || true
		wait "$(cat "$T/sim.pid")" 2>/dev/null || true
		rm -f "$T/sim.pid" "$T/sim.out"
	fi
	# shellcheck disable=SC2086
	"$SIM" --state-file "$T/sim.json" $link "$@" >"$T/sim.out" 2>"$T/sim.err" &
	PIDS="$PIDS $!"
	echo $! >"$T/sim.pid"
	wait_until 10 grep -q '^READY' "$T/sim.out" || fail "simulator not ready"
	if grep -q '^LINK ' "$T/sim.out"; then
		SIM_PTYS=$(awk '$1 == "LINK" { print $2 }' "$T/sim.out")
	else
		SIM_PTYS=$(awk '$1 == "PTY" { print $2 }
			$1 == "TCP" { print "tcp://" $2 }' "$T/sim.out")
	fi
	SIM_PTY=$(echo "$SIM_PTYS" | head -n 1)
	[ -n "$SIM_PTYS" ] || fail "simulator printed no PTY or TCP line"
}

# write_config [GENERAL-LINES]: one port per simulator pty (or TCP
# listener), protocol $PORT_PROTOCOL (default jbd), addresses
# $PORT_ADDRESSES (default: the protocol's; $PORT_ADDRESSES_N for port N
# alone), and the lines of $PORT_EXTRA (e.g. "timeout = 200ms") in each.
write_config() {
	mkdir -p "$T/run" "$T/state"
	{
		echo "[general]"
		echo "socket = $SOCK"
		echo "state_dir = $T/state"
		echo "poll_interval = 250ms"
		echo "dry_run = yes"
		for l in "$@"; do echo "$l"; done
		i=0
		for p in $SIM_PTYS; do
			i=$((i + 1))
			echo "[port b$i]"
			echo "device = $p"
			echo "protocol = ${PORT_PROTOCOL:-jbd}"
			eval "a=\${PORT_ADDRESSES_$i:-\${PORT_ADDRESSES:-}}"
			[ -z "$a" ] || echo "addresses = $a"
			[ -z "${PORT_EXTRA:-}" ] || echo "$PORT_EXTRA"
		done
	} >"$T/smallbms.conf"
}

# add_outputs: the four logical outputs and the remote input on the dry-run
# backend, mirrored as files in $GPIO (physical levels, "1"/"0"), with the
# short timings the protection tests need. Call after write_config.
GPIO="$T/gpio"
add_outputs() {
	mkdir -p "$GPIO"
	echo 1 >"$GPIO/GPIO24" # remote input: on
	cat >>"$T/smallbms.conf" <<CONF
[output load]
function = load
line = GPIO17
[output charge]
function = charge
line = GPIO27
[output prealarm]
function = prealarm
line = GPIO22
[output multiplus]
function = load-and-charge
line = GPIO23
[output inverted]
function = load
line = GPIO25
active_low = yes
[input remote]
line = GPIO24
debounce = 20ms
[protection]
prealarm_lead = 30s
restore_delay = 1s
comm_loss_charge = 2s
comm_loss_load = 4s
CONF
	sed -i "s|^\[general\]|[general]\ndry_run_dir = $GPIO\nadmin_group = $(id -gn)|" \
		"$T/smallbms.conf"
}

# line_is NAME 0|1: the physical level the daemon drives on a dry-run line.
line_is() { [ "$(cat "$GPIO/$1" 2>/dev/null)" = "$2" ]; }
expect_line() {
	wait_until "$1" line_is "$2" "$3" ||
		fail "line $2 is $(cat "$GPIO/$2" 2>/dev/null), not $3"
	note "ok: $2 = $3"
}

ctl() { "$CTL" --socket "$SOCK" "$@"; }

start_daemon() {
	"$DAEMON" -c "$T/smallbms.conf" "$@" >"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS="$PIDS $DAEMON_PID"
	wait_until 10 ctl status --json || fail "daemon did not answer"
}

# status_is JQ-EXPR: true when `smallbmsctl status --json` satisfies it.
status_is() { ctl status --json | jq -e "$1" >/dev/null; }
battery_is() { n=$1; shift; ctl battery "$n" --json | jq -e "$1" >/dev/null; }
sim_is() { jq -e "$1" "$T/sim.json" >/dev/null; }

# expect_status SECONDS JQ-EXPR [what]
expect_status() {
	wait_until "$1" status_is "$2" || {
		ctl status --json >&2 || true
		fail "${3:-status never satisfied: $2}"
	}
	note "ok: ${3:-$2}"
}

# step_done AT: bmssim has applied its scenario steps due at AT seconds
# (it logs each one to stderr as "bmssim: t=AT.000 FILE:LINE: STEP").
step_done() { grep -q "^bmssim: t=$(printf '%.3f' "$1") " "$T/sim.err"; }
# expect_step SECONDS AT: wait for them, so that a test can time what the
# daemon does from the moment the battery changed.
expect_step() {
	wait_until "$1" step_done "$2" || fail "scenario step at $2 s not applied"
	note "ok: scenario at $2 s applied"
}
