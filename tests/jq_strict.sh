# SPDX-License-Identifier: MIT
# Sourced by tests/e2e/lib.sh and tests/vm/lib.sh (POSIX sh).
# jq 1.6 (bookworm) exits 0 from "jq -e" when it reads no value at all, so
# an assertion on the output of a smallbmsctl that failed (no daemon, no
# answer) would pass. Every "jq -e" in the tests goes through this: no
# input value is a failure.
jq() {
	case " $* " in
	*" -e "*) ;;
	*)
		command jq "$@"
		return
		;;
	esac
	for jq_last in "$@"; do :; done
	if [ -f "$jq_last" ]; then
		[ -s "$jq_last" ] || return 1
		command jq "$@"
		return
	fi
	jq_in=$(cat)
	[ -n "$jq_in" ] || return 1
	printf '%s\n' "$jq_in" | command jq "$@"
}
