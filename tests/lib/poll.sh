# SPDX-License-Identifier: MIT
# Polling with a deadline, sourced by tests/e2e/lib.sh, tests/vm/lib.sh,
# tests/systemd/guest.sh and tests/pi/guest.sh (the guests get a copy:
# check-systemd.sh puts it in /sbsd, tests/pi/build-assets.sh in the
# initramfs). POSIX sh: bash, dash, busybox ash.
#
#   wait_until SECONDS COMMAND...  poll until COMMAND succeeds; false when
#                                  the deadline passes first
#   holds SECONDS COMMAND...       COMMAND keeps succeeding for SECONDS;
#                                  false at the first time it does not
#
# SECONDS may have a fraction ("0.3", "1.250"). COMMAND's output is
# discarded. The poll interval is POLL_S (seconds, for sleep), read at
# each call: set it before sourcing or before a call (default 0.05).
#
# The clock is /proc/uptime (ms since boot, 10 ms steps), read by the
# shell itself: no program is started for it. In the VM guests every
# program costs about 0.1 s under TCG, and these run in loops. Where
# /proc/uptime is missing: date +%s%N.

# poll_to_ms SECONDS: poll_ms = SECONDS ("2", "0.3") in milliseconds.
poll_to_ms() {
	case $1 in
	*.*) poll_i=${1%%.*} poll_f=${1#*.}000 ;;
	*) poll_i=$1 poll_f=000 ;;
	esac
	# Leading zeros would read as octal.
	poll_i=${poll_i#"${poll_i%%[!0]*}"}
	poll_f=${poll_f%"${poll_f#???}"}
	poll_ms=$((${poll_i:-0} * 1000 + 1$poll_f - 1000))
}

# poll_clock: poll_now = milliseconds on a monotonic clock.
if [ -r /proc/uptime ]; then
	poll_clock() {
		read -r poll_up _ </proc/uptime
		poll_to_ms "$poll_up"
		poll_now=$poll_ms
	}
else
	poll_clock() { poll_now=$(($(date +%s%N) / 1000000)); }
fi

# poll_deadline SECONDS: poll_end = now + SECONDS (ms).
poll_deadline() {
	poll_clock
	poll_to_ms "$1"
	poll_end=$((poll_now + poll_ms))
}

# poll_left: true while the deadline has not passed.
poll_left() {
	poll_clock
	[ "$poll_now" -lt "$poll_end" ]
}

wait_until() {
	poll_deadline "$1"
	shift
	while ! "$@" >/dev/null 2>&1; do
		poll_left || return 1
		sleep "${POLL_S:-0.05}"
	done
}

holds() {
	poll_deadline "$1"
	shift
	while poll_left; do
		"$@" >/dev/null 2>&1 || return 1
		sleep "${POLL_S:-0.05}"
	done
}
