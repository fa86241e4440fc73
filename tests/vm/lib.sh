# SPDX-License-Identifier: MIT
# Helpers for the VM scenarios (tests/vm/scenarios/NN-name.sh), sourced
# inside the guest (run.sh boots it; guest.sh made the gpio-sim chip and
# waited for /dev/ttyUSB0). Like tests/e2e/lib.sh: start the simulator and
# the daemon in a temporary directory, wait with deadlines (never a fixed
# sleep), assert through smallbmsctl and jq -- and here also on the
# kernel's side of each GPIO line, read from gpio-sim.
set -eu

: "${SBVM_ROOT:?run this inside the VM: tests/vm/run.sh SCRIPT}"
DAEMON="$SBVM_ROOT$SBVM_SBINDIR/smallbmsd"
CTL="$SBVM_ROOT$SBVM_BINDIR/smallbmsctl"
SIM="$top_builddir/tests/bmssim/bmssim"
. /run/sbvm/gpio-sim.env
# The name udev would give the adapter (there is no udev in the guest).
BY_ID="/dev/serial/by-id/usb-QEMU_QEMU_USB_SERIAL_${SBVM_USB_SERIAL}-if00-port0"
T=$(mktemp -d /tmp/sbvm-scenario.XXXXXX)
SOCK="$T/run/smallbms.sock"
PIDS=""
DAEMON_PID=""
FAIL_WHY=""

cleanup() {
	status=$?
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
		for f in "$T"/*.log "$T"/sim.err; do
			[ -s "$f" ] || continue
			echo "--- $(basename "$f")"
			tail -n 60 "$f"
		done
		[ ! -f "$T/smallbms.conf" ] || { echo "--- smallbms.conf"; cat "$T/smallbms.conf"; }
		echo "--- gpio trace (line N = GPIO$SBVM_SIM_BASE + N; last 40)"
		grep -v '^#' /sys/kernel/tracing/trace | grep ' set ' | tail -n 40
		# Again last: CI shows only the tail of a failed scenario.
		[ -z "$FAIL_WHY" ] || echo "FAIL (repeated after the logs): $FAIL_WHY"
	fi
	rm -rf "$T"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# uptime: the guest's seconds since boot, to place a line in the console log.
uptime_s() { cut -d ' ' -f 1 /proc/uptime; }
fail() {
	FAIL_WHY="$* (uptime $(uptime_s) s)"
	echo "FAIL: $FAIL_WHY" >&2
	exit 1
}
note() { echo "# [$(uptime_s) s] $*"; }
skip() {
	echo "SKIP: $*"
	exit 77
}

for f in "$DAEMON" "$CTL"; do
	[ -x "$f" ] || fail "$f is not installed (make install DESTDIR=$SBVM_ROOT)"
done
command -v jq >/dev/null || fail "jq is not installed on the host"

# "jq -e" with no input value fails (tests/jq_strict.sh).
. "$top_srcdir/tests/jq_strict.sh"

# ms: milliseconds of the wall clock, for deadlines tied to the
# simulator's clock (sim_left, sim_before: file times are wall clock).
ms() { echo $(($(date +%s%N) / 1000000)); }

# to_ms SECONDS: "2", "0.3" -> milliseconds.
to_ms() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'; }

# wait_until SECONDS COMMAND...: poll every 20 ms until COMMAND succeeds;
# false when the deadline passes first. holds SECONDS COMMAND...: COMMAND
# keeps succeeding for SECONDS (polled every 20 ms); false at the first
# time it does not. (tests/lib/poll.sh, read over 9p like this file.)
POLL_S=0.02
# shellcheck source=tests/lib/poll.sh
. "$top_srcdir/tests/lib/poll.sh"

# --- the simulated Raspberry Pi header (gpio-sim) ---------------------

# Shell builtins only here: every program started in the guest costs
# about 0.1 s under TCG, and these run in polling loops.

# sim_offset GPIO17: the line's offset on the chip, looked up by name
# (guest.sh wrote the names to /run/sbvm/lines).
sim_offset() {
	while read -r n o; do
		[ "$n" != "$1" ] || { echo "$o"; return 0; }
	done </run/sbvm/lines
	fail "no gpio-sim line named $1"
}

# sim_value GPIO17: the level the line's user drives (0 or 1), as the
# kernel sees it. With no user, gpio-sim shows the pull.
sim_value() {
	read -r v <"$SBVM_SIM_SYSFS/sim_gpio$(sim_offset "$1")/value"
	echo "$v"
}

# sim_pull GPIO22 pull-up|pull-down: drive an input line from outside.
sim_pull() {
	case $2 in
	pull-up | pull-down) ;;
	*) fail "sim_pull: '$2' is not pull-up or pull-down" ;;
	esac
	echo "$2" >"$SBVM_SIM_SYSFS/sim_gpio$(sim_offset "$1")/pull"
}

line_is() { [ "$(sim_value "$1")" = "$2" ]; }

# --- the libgpiod tools, version 1 (bookworm) or 2 (trixie) -----------

# The tools' command lines changed in libgpiod 2.0 (gpiofind is gone,
# chips are named with -c, gpioset holds the line by default, gpioget
# prints names unless --numeric, gpiomon reports a falling edge as 2).
# Scenarios go through these helpers, which speak both.
GPIOD_TOOLS=$(gpioinfo --version 2>/dev/null | sed -n '1s/.* v\([0-9]\).*/\1/p')
case $GPIOD_TOOLS in
1) EDGE_FALLING=0 ;;
2) EDGE_FALLING=2 ;;
*) fail "cannot tell the libgpiod tools' version from 'gpioinfo --version'" ;;
esac
# shellcheck disable=SC2034 # for the scenarios: what gpio_mon prints
EDGE_RISING=1

# gpio_find GPIO17: "CHIP OFFSET" of the line with that name.
gpio_find() {
	if [ "$GPIOD_TOOLS" = 1 ]; then
		gpiofind "$1"
	else
		gpioinfo --unquoted "$1" | awk '{ print $1, $2 }'
	fi
}

# gpio_chip_info: gpioinfo's listing of the simulated chip.
gpio_chip_info() {
	if [ "$GPIOD_TOOLS" = 1 ]; then
		gpioinfo "$SBVM_SIM_CHIP"
	else
		gpioinfo -c "$SBVM_SIM_CHIP"
	fi
}

# gpio_line GPIO17: the line's state as the kernel reports it, one line:
# "DIRECTION CONSUMER" ("input -" when nobody holds it).
gpio_line() {
	if [ "$GPIOD_TOOLS" = 1 ]; then
		# line  17:  "GPIO17"  "smallbmsd"|unused  output  active-high ...
		gpioinfo "$SBVM_SIM_CHIP" | grep "line *$(sim_offset "$1"):" |
			sed -n 's/.*"'"$1"'"[[:space:]]*\(unused\|"[^"]*"\)[[:space:]]*\([a-z]*\).*/\2 \1/p' |
			sed 's/ unused$/ -/; s/"//g'
	else
		# gpiochip0 17  GPIO17  output active-low consumer=smallbmsd
		gpioinfo --unquoted -c "$SBVM_SIM_CHIP" "$(sim_offset "$1")" |
			awk '{ c = "-"; for (i = 5; i <= NF; i++)
				if ($i ~ /^consumer=/) c = substr($i, 10)
				print $4, c }'
	fi
}

# gpio_dir GPIO17: input or output. gpio_user GPIO17: its consumer, or -.
gpio_dir() { gpio_line "$1" | awk '{ print $1 }'; }
gpio_user() { gpio_line "$1" | awk '{ print $2 }'; }

# gpio_get GPIO22 [--active-low] [--bias=pull-up|pull-down]: 0 or 1.
gpio_get() {
	o=$(sim_offset "$1")
	shift
	if [ "$GPIOD_TOOLS" = 1 ]; then
		gpioget "$@" "$SBVM_SIM_CHIP" "$o"
	else
		gpioget --numeric "$@" -c "$SBVM_SIM_CHIP" "$o"
	fi
}

# gpio_set GPIO17 VALUE [--active-low]: drive the line until killed (run
# it in the background: it execs the tool, so $! is the tool's pid).
gpio_set() {
	o=$(sim_offset "$1")
	v=$2
	shift 2
	if [ "$GPIOD_TOOLS" = 1 ]; then
		exec gpioset "$@" --mode=signal "$SBVM_SIM_CHIP" "$o=$v"
	else
		exec gpioset "$@" -c "$SBVM_SIM_CHIP" "$o=$v"
	fi
}

# gpio_mon GPIO24 N rising|both [--active-low]: wait for N edges and print
# one line per edge, $EDGE_RISING or $EDGE_FALLING, as each arrives (in
# the background, like gpio_set).
gpio_mon() {
	o=$(sim_offset "$1")
	n=$2 edges=$3
	shift 3
	if [ "$GPIOD_TOOLS" = 1 ]; then
		[ "$edges" = both ] || set -- "$@" --rising-edge
		exec gpiomon "$@" --num-events="$n" --format='%e' --line-buffered \
			"$SBVM_SIM_CHIP" "$o"
	else
		exec gpiomon "$@" -e "$edges" -n "$n" -F '%e' -c "$SBVM_SIM_CHIP" "$o"
	fi
}

# line_free GPIO17: no process holds the line.
line_free() { [ "$(gpio_user "$1")" = - ]; }

# expect_line SECONDS GPIO17 0|1 [what]: the line reaches the level.
expect_line() {
	wait_until "$1" line_is "$2" "$3" ||
		fail "${4:-$2 is not $3}: $2 = $(sim_value "$2") after $1 s"
	note "ok: $2 = $3${4:+ ($4)}"
}

# expect_lines SECONDS "GPIO17=1 GPIO27=0 ..." [what]
lines_are() {
	for kv in $1; do line_is "${kv%=*}" "${kv#*=}" || return 1; done
}
lines_now() {
	for kv in $1; do printf '%s=%s ' "${kv%=*}" "$(sim_value "${kv%=*}")"; done
}
expect_lines() {
	wait_until "$1" lines_are "$2" ||
		fail "${3:-lines}: want $2, have $(lines_now "$2")"
	note "ok: $2${3:+ ($3)}"
}

# line_holds SECONDS GPIO17 0|1 [what]: the line stays at the level.
line_holds() {
	holds "$1" line_is "$2" "$3" ||
		fail "${4:-$2 left $3} within $1 s"
	note "ok: $2 stayed $3 for $1 s${4:+ ($4)}"
}

# --- what programs wrote to the lines (kernel gpio trace events) -------

# trace_mark TEXT: a marker in the kernel's trace, on the clock of the gpio
# events (a shell builtin writes it: no program start in between).
trace_mark() { echo "sbvm $1" >/sys/kernel/tracing/trace_marker; }

# mark_time TEXT: the trace time (s) of the marker trace_mark TEXT wrote.
mark_time() {
	awk -v m="sbvm $1" '
		{
			i = index($0, "tracing_mark_write: ")
			if (i == 0 || substr($0, i + 20) != m)
				next
			for (k = 1; k <= NF; k++)
				if ($k == "tracing_mark_write:")
					ts = $(k - 1)
			sub(":$", "", ts)
			print ts
			exit
		}' /sys/kernel/tracing/trace
}

# trace_sets GPIO17 [TASK]: one "SECONDS VALUE" line per value written to
# the line (physical level, after any active-low inversion), oldest
# first; only by processes named TASK (e.g. smallbmsd) if given.
trace_sets() {
	gpio=$((SBVM_SIM_BASE + $(sim_offset "$1")))
	awk -v g="$gpio" -v task="${2:-}" '
		$0 ~ /gpio_value: / && $(NF - 2) == g && $(NF - 1) == "set" {
			if (task != "" && index($1, task "-") != 1)
				next
			for (i = 1; i <= NF; i++)
				if ($i == "gpio_value:")
					ts = $(i - 1)
			sub(":$", "", ts)
			print ts, $NF
		}' /sys/kernel/tracing/trace
}

# trace_levels GPIO17 [TASK]: the levels written, repeats folded:
# "0 1 0" = requested low, driven high, then low again.
trace_levels() {
	trace_sets "$@" | awk 'NR == 1 || $2 != last { printf "%s%s", sep, $2; sep = " " }
		{ last = $2 } END { print "" }'
}

# expect_levels GPIO17 "0 1 0" [what]: exactly those levels, in order,
# were written by smallbmsd.
expect_levels() {
	have=$(trace_levels "$1" smallbmsd)
	[ "$have" = "$2" ] ||
		fail "${3:-$1 levels}: smallbmsd wrote '$have' to $1, want '$2'"
	note "ok: smallbmsd wrote $1: $2${3:+ ($3)}"
}

# last_level GPIO17: the last level smallbmsd wrote ("" if none).
last_level() { trace_sets "$1" smallbmsd | awk 'END { print $2 }'; }

# first_time GPIO17 LEVEL [AFTER]: the trace time (s) at which smallbmsd
# first wrote LEVEL to the line, after AFTER seconds if given.
first_time() {
	trace_sets "$1" smallbmsd |
		awk -v v="$2" -v t="${3:-0}" '$2 == v && $1 > t { print $1; exit }'
}

# --- the daemon's GPIO configuration -------------------------------------

# add_output NAME FUNCTION LINE [KEY=VALUE...]: an [output NAME] section.
add_output() {
	{
		echo "[output $1]"
		echo "function = $2"
		echo "line = $3"
		shift 3
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
	} >>"$T/smallbms.conf"
}

# add_remote LINE [KEY=VALUE...]: the [input remote] section.
add_remote() {
	{
		echo "[input remote]"
		echo "line = $1"
		shift
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
	} >>"$T/smallbms.conf"
}

# The protection delays the scenarios shorten (defaults: smallbmsd(8)).
LEAD=30   # s the pre-alarm runs before a low cell opens the load output
RESTORE=5 # s every reason must be clear before an output comes back on
PROTECTION=""

# short_protection LEAD RESTORE: ask for shorter delays (prealarm_lead
# cannot go below its default, 30 s). check_config keeps each of the two
# keys this tree accepts and drops, saying why, any it refuses (unknown,
# or out of its range): the scenario then runs with the default above for
# that one. Deadlines follow LEAD and RESTORE either way.
short_protection() {
	PROTECTION="prealarm_lead = ${1}s
restore_delay = ${2}s"
	WANT_LEAD=$1
	WANT_RESTORE=$2
}

# --- the simulator, on the guest's second UART -------------------------

# sim_ready: bmssim has printed READY (builtins: polled).
sim_ready() {
	while read -r l; do [ "$l" != READY ] || return 0; done <"$T/sim.out"
	return 1
}

# start_sim ARGS...: bmssim (on a pty), joined by socat to /dev/ttyS1, the
# far end of the emulated FTDI adapter; the daemon then reads the battery
# (line 1) through /dev/ttyUSB0. Sets SIM_PTY (line 1's pty), SIM_PTYS
# (every line's, in order: with JBD --batteries N the others are for the
# daemon to open directly, add_port) and SIM_READY_MS (the wall-clock ms
# of READY: the simulated clock, scenario time 0, starts there).
#
# Where READY lies on the kernel trace's clock (sim_step_time): READY on
# the wall clock from file times (sim_ready_at), and the offset between
# the two clocks from a marker and a file stamped back to back (shell
# builtins), to a clock tick. The markers sim-start and sim-ready bracket
# READY as a check.
start_sim() {
	[ -x "$SIM" ] || fail "$SIM is not built (make tests/bmssim/bmssim)"
	trace_mark sim-start
	"$SIM" --state-file "$T/sim.json" "$@" >"$T/sim.out" 2>"$T/sim.err" &
	PIDS="$PIDS $!"
	wait_until 10 sim_ready || fail "simulator not ready"
	trace_mark sim-ready
	trace_mark clock
	: >"$T/clock.stamp"
	trace_mark clock-end
	# The state file's first write, in READY's own start-up, is slow
	# under TCG (code run for the first time): the one at t=1 s is not.
	wait_until 5 sim_is '.time >= 0.9' || fail "no state file from the simulator"
	r=$(sim_ready_at)
	f=${r#*.}
	SIM_READY_MS=${r%.*}${f%???}
	SIM_PTYS=$(awk '$1 == "PTY" { print $2 }' "$T/sim.out")
	SIM_PTY=$(echo "$SIM_PTYS" | head -n 1)
	[ -n "$SIM_PTY" ] || fail "simulator printed no PTY"
	# socat opens (and so flushes) ttyS1 before the daemon sends anything.
	socat -d "FILE:/dev/ttyS1,rawer,b9600" "FILE:$SIM_PTY,rawer" \
		2>"$T/socat.log" &
	PIDS="$PIDS $!"
	wait_until 5 fuser -s /dev/ttyS1 || fail "socat did not open /dev/ttyS1"
}

# sim_left T: seconds (3 decimals) from now until the simulated clock
# reaches scenario time T; 0 once it has. For deadlines tied to a step.
sim_left() {
	l=$((SIM_READY_MS + $(to_ms "$1") - $(ms)))
	[ "$l" -gt 0 ] || l=0
	echo "$((l / 1000)).$(printf %03d $((l % 1000)))"
}

# sim_before T WHAT: fail unless the simulated clock is still before
# scenario time T (a precondition checked after the step it precedes
# would prove nothing: the guest was too slow for the scenario's timing).
sim_before() {
	[ "$(($(ms) - SIM_READY_MS))" -lt "$(to_ms "$1")" ] ||
		fail "too slow: the simulator reached t=$1 s before $2 was checked"
}

# sim_ready_at: READY on the wall clock (s): the earlier of two upper
# bounds of the instant bmssim started its clock: sim.out's mtime (bmssim
# writes its stdout once, READY last) and, from one state-file snapshot
# read through one open file, its mtime minus the simulated time it
# holds.
sim_ready_at() {
	{
		stat -L -c %.9Y /proc/self/fd/0
		jq .time
	} <"$T/sim.json" | awk -v out="$(stat -c %.9Y "$T/sim.out")" '
		NR == 1 { m = $1 } NR == 2 { t = $1 }
		END {
			r = out
			if (m != "" && t != "" && m - t < r)
				r = m - t
			printf "%.6f\n", r
		}'
}

# sim_step_time T: "LO HI", the trace times (s) between which the step at
# scenario time T happened: READY (sim_ready_at) + T moved onto the
# trace's clock with the offset start_sim measured (a marker and a file
# stamped back to back), 50 ms before (bmssim's work between waking up and
# writing the state file) to 10 ms after (file times' clock tick). Fails
# unless READY lies between the sim-start and sim-ready markers.
sim_step_time() {
	awk -v a="$(mark_time sim-start)" -v b="$(mark_time sim-ready)" \
		-v c="$(mark_time clock)" -v c2="$(mark_time clock-end)" \
		-v ready="$(sim_ready_at)" \
		-v stamp="$(stat -c %.9Y "$T/clock.stamp")" -v t="$1" 'BEGIN {
			if (a == "" || b == "" || c == "" || c2 == "")
				exit 1
			r = ready - stamp + (c + c2) / 2
			if (r < a - 0.01 || r > b + 0.01)
				exit 1
			printf "%.6f %.6f\n", r - 0.05 + t, r + 0.01 + t
		}'
}

# expect_delay WHAT TIME T MIN MAX: smallbmsd's write at trace time TIME
# (first_time) came MIN..MAX s after the simulator's step at scenario time
# T. The step lies in sim_step_time's bracket (60 ms wide); both checks
# measure from its start, so MAX is proven (the bracket counts against
# the daemon) and MIN is checked to within the bracket's width. Prints
# the delay's range over the bracket.
expect_delay() {
	# shellcheck disable=SC2046 # "LO HI": two words
	set -- "$1" "$2" "$3" "$4" "$5" $(sim_step_time "$3")
	[ -n "$2" ] || fail "$1: smallbmsd wrote no such level"
	[ $# -eq 7 ] || fail "$1: READY not found on the trace's clock" \
		"(sim_step_time: markers $(mark_time sim-start)..$(mark_time sim-ready))"
	d=$(awk -v x="$2" -v lo="$6" -v hi="$7" \
		'BEGIN { printf "%.3f..%.3f", x - hi, x - lo }')
	awk -v x="$2" -v lo="$6" -v a="$4" -v b="$5" \
		'BEGIN { exit !(x - lo >= a && x - lo <= b) }' ||
		fail "$1: $d s after the step at t=$3 s, want $4..$5 s" \
			"(written at $2 s; the step between $6 and $7 s)"
	note "ok: $1 $d s after the step at t=$3 s (want $4..$5 s)"
}

# make_by_id_link: the /dev/serial/by-id link udev would make.
make_by_id_link() {
	mkdir -p /dev/serial/by-id
	ln -sf ../../ttyUSB0 "$BY_ID"
}

# write_config [GENERAL-LINES...]: one JBD port on the adapter, by its
# by-id name. Scenarios append [output]/[input] sections.
write_config() {
	mkdir -p "$T/run" "$T/state"
	[ -e "$BY_ID" ] || make_by_id_link
	{
		echo "[general]"
		echo "socket = $SOCK"
		echo "state_dir = $T/state"
		echo "poll_interval = 250ms"
		for l in "$@"; do echo "$l"; done
		echo "[port usb]"
		echo "device = $BY_ID"
		echo "protocol = jbd"
	} >"$T/smallbms.conf"
}

# add_port NAME DEVICE [KEY=VALUE...]: a further JBD [port NAME] (e.g. a
# pty of SIM_PTYS, opened by the daemon directly). Batteries are numbered
# in port order: the adapter's (write_config's [port usb]) is battery 1.
add_port() {
	{
		echo "[port $1]"
		echo "device = $2"
		echo "protocol = jbd"
		shift 2
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
	} >>"$T/smallbms.conf"
}

# try_protection LINES: the configuration with [protection] LINES passes
# smallbmsd -t (its verdict in $T/check.out).
try_protection() {
	cp "$T/base.conf" "$T/smallbms.conf"
	printf '[protection]\n%s\n' "$1" >>"$T/smallbms.conf"
	"$DAEMON" -t -c "$T/smallbms.conf" >"$T/check.out" 2>&1 </dev/null
}

# check_config: the daemon accepts the configuration. A key or section
# this tree does not know yet skips the scenario (saying which); any other
# error fails it. The shorter protection delays are optional (see
# short_protection).
check_config() {
	if [ -n "$PROTECTION" ]; then
		cp "$T/smallbms.conf" "$T/base.conf"
		kept=$PROTECTION
		if ! try_protection "$PROTECTION"; then
			# One key at a time: keep those this tree accepts.
			kept=""
			while IFS= read -r kv; do
				if try_protection "$kv"; then
					kept="$kept${kept:+
}$kv"
				else
					note "refused, default kept: $kv ($(sed -n \
						's/^[^ ]*:[0-9]*: //p' "$T/check.out" | head -n 1))"
				fi
			done <<-EOF
				$PROTECTION
			EOF
		fi
		cp "$T/base.conf" "$T/smallbms.conf"
		[ -z "$kept" ] || printf '[protection]\n%s\n' "$kept" >>"$T/smallbms.conf"
		case $kept in *prealarm_lead*) LEAD=$WANT_LEAD ;; esac
		case $kept in *restore_delay*) RESTORE=$WANT_RESTORE ;; esac
		note "protection delays: pre-alarm lead ${LEAD} s, restore ${RESTORE} s"
	fi
	if "$DAEMON" -t -c "$T/smallbms.conf" >"$T/check.out" 2>&1; then
		return 0
	fi
	if grep -q 'unknown \(key\|section\)' "$T/check.out"; then
		skip "waiting on configuration this tree does not have yet: $(
			grep 'unknown \(key\|section\)' "$T/check.out" | tr '\n' ' ')"
	fi
	cat "$T/check.out" >&2
	fail "the configuration was refused"
}

ctl() { "$CTL" --socket "$SOCK" "$@"; }

# start_daemon [ARGS...]: check the configuration, run smallbmsd, wait
# until it answers on its socket.
start_daemon() {
	check_config
	"$DAEMON" -c "$T/smallbms.conf" "$@" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS="$PIDS $DAEMON_PID"
	wait_until 20 ctl status --json || fail "daemon did not answer"
}

# stop_daemon SIGNAL: signal the daemon and wait for it to exit; sets
# DAEMON_STATUS.
stop_daemon() {
	kill -s "$1" "$DAEMON_PID"
	DAEMON_STATUS=0
	wait "$DAEMON_PID" || DAEMON_STATUS=$?
	PIDS=$(echo "$PIDS" | sed "s/ $DAEMON_PID\b//")
	note "daemon exited with status $DAEMON_STATUS after SIG$1"
}

status_is() { ctl status --json | jq -e "$1" >/dev/null; }
sim_is() { jq -e "$1" "$T/sim.json" >/dev/null; }
# battery_is N JQ-EXPR: on smallbmsctl battery N --json.
battery_is() { ctl battery "$1" --json | jq -e "$2" >/dev/null; }

# expect_status SECONDS JQ-EXPR [what]
expect_status() {
	wait_until "$1" status_is "$2" || {
		ctl status --json >&2 || true
		fail "${3:-status never satisfied: $2}"
	}
	note "ok: ${3:-$2}"
}
