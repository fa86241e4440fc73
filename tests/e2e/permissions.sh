#!/bin/sh
# SPDX-License-Identifier: MIT
# The control socket's permission matrix with real unprivileged uids
# (issue 6). As root, the test creates
#   smallbms-tsvc  the service's group: the socket's group
#   smallbms-tadm  the admin group (admin_group in the configuration)
#   smallbms-t1    a user in smallbms-tsvc only: may read, not change
#   smallbms-t2    a user in smallbms-tsvc and, as a supplementary group,
#                  smallbms-tadm: may change state
# and removes them at exit. The daemon runs with smallbms-tsvc as its group
# (as under systemd's Group=) and creates the socket directory itself.
# smallbmsctl runs as each user through setpriv (real and effective uid and
# gid, the groups from /etc/group), so the daemon sees them through
# SO_PEERCRED and SO_PEERGROUPS exactly as it would in production.
# Not root, or no useradd/setpriv: SKIP (exit 77).
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: creating test users needs root"
	exit 77
fi
for t in useradd userdel groupadd groupdel setpriv getent stat; do
	command -v "$t" >/dev/null || {
		echo "SKIP: $t is not available"
		exit 77
	}
done
# A directory every test user can traverse (the build's own TMPDIR may not
# be).
TMPDIR=/tmp
export TMPDIR
. "$(dirname "$0")/lib.sh"

SVC=smallbms-tsvc
ADM=smallbms-tadm
T1=smallbms-t1
T2=smallbms-t2
MARK="smallbms permissions test"
CREATED=""

# Remove what this test created (and leftovers of an interrupted run, which
# carry the same marker in the GECOS field or are empty test groups).
remove_ids() {
	for u in $T1 $T2; do
		if getent passwd "$u" | grep -q "$MARK"; then
			userdel "$u" >/dev/null 2>&1 || true
		fi
	done
	for g in $SVC $ADM; do
		case " $CREATED " in
		*" $g "*) groupdel "$g" >/dev/null 2>&1 || true ;;
		esac
	done
}
perm_cleanup() {
	s=$?
	set +e # a failed step here must not skip lib.sh's cleanup
	remove_ids
	(exit "$s") # cleanup reads the test's status from $?
	cleanup
}
trap perm_cleanup EXIT INT TERM

# The four names are reserved for this test: leftovers of an interrupted
# run are removed first.
for g in $SVC $ADM; do
	if getent group "$g" >/dev/null; then
		CREATED="$CREATED $g"
	fi
done
remove_ids
CREATED=""
for g in $SVC $ADM; do
	groupadd -r "$g" 2>"$T/useradd.err" || {
		echo "SKIP: cannot create group $g: $(cat "$T/useradd.err")"
		exit 77
	}
	CREATED="$CREATED $g"
done
for u in $T1 $T2; do
	getent passwd "$u" >/dev/null && fail "user $u exists and is not ours"
done
useradd -r -M -N -g nogroup -s /usr/sbin/nologin -c "$MARK" -G "$SVC" "$T1" \
	2>"$T/useradd.err" && useradd -r -M -N -g nogroup -s /usr/sbin/nologin \
	-c "$MARK" -G "$SVC,$ADM" "$T2" 2>>"$T/useradd.err" || {
	echo "SKIP: cannot create users: $(cat "$T/useradd.err")"
	exit 77
}
getent passwd nobody >/dev/null || fail "no user nobody"
note "users: $(id $T1); $(id $T2)"

# The programs where the test users can run them (the build directory may
# be private), and a temporary directory they can traverse, not list.
mkdir -p "$T/bin"
cp "$CTL" "$T/bin/smallbmsctl"
chmod 0755 "$T/bin" "$T/bin/smallbmsctl"
chmod 0711 "$T"

# The socket in a directory the daemon creates itself. Umask 0: the modes
# checked below are the daemon's own choice (the unit's UMask=0007 would
# turn a careless 0755 into 0750 and hide it).
SOCKDIR="$T/sockdir"
SOCK="$SOCKDIR/smallbms.sock"
start_sim --cells 4 --capacity 100 --soc 80
write_config "admin_group = $ADM"
(umask 0000 && exec setpriv --regid="$SVC" --clear-groups "$DAEMON" \
	-c "$T/smallbms.conf") >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS="$PIDS $DAEMON_PID"
wait_until 10 ctl status --json || fail "daemon did not answer"
expect_status 10 '.stale == false and .batteries == 1' "battery read"

# --- what the daemon created -------------------------------------------
[ "$(stat -c '%a %G' "$SOCKDIR")" = "750 $SVC" ] ||
	fail "socket directory: $(stat -c '%a %U:%G' "$SOCKDIR"), not 750 $SVC"
[ "$(stat -c '%a %G %F' "$SOCK")" = "660 $SVC socket" ] ||
	fail "socket: $(stat -c '%a %U:%G %F' "$SOCK"), not 660 $SVC socket"
note "ok: socket directory 0750, socket 0660, group $SVC"

# as WHO ARGS...: smallbmsctl --json ARGS as WHO (a user name, or
# "primary-adm": smallbms-t1 with the admin group as its effective primary
# group, as after newgrp); sets OUT and RC.
as() {
	who=$1
	shift
	case $who in
	root) set -- "$T/bin/smallbmsctl" --socket "$SOCK" --json "$@" ;;
	primary-adm)
		set -- setpriv --reuid="$T1" --regid="$ADM" --groups="$SVC" \
			"$T/bin/smallbmsctl" --socket "$SOCK" --json "$@"
		;;
	many-groups)
		# smallbms-t2's groups and 300 more: more than a small buffer
		# for SO_PEERGROUPS holds
		set -- setpriv --reuid="$T2" --regid=nogroup \
			--groups="$(getent group $SVC | cut -d: -f3),$(seq -s, 200000 200299),$(getent group $ADM | cut -d: -f3)" \
			"$T/bin/smallbmsctl" --socket "$SOCK" --json "$@"
		;;
	*)
		set -- setpriv --reuid="$who" --regid="$(id -g "$who")" \
			--init-groups "$T/bin/smallbmsctl" --socket "$SOCK" \
			--json "$@"
		;;
	esac
	RC=0
	OUT=$("$@" 2>"$T/ctl.err") || RC=$?
}

# may WHO TYPE ARGS...: exit 0 and an answer of TYPE.
may() {
	who=$1 type=$2
	shift 2
	as "$who" "$@"
	[ "$RC" -eq 0 ] ||
		fail "$who: '$*': exit $RC: $(cat "$T/ctl.err") $OUT"
	echo "$OUT" | jq -e --arg t "$type" '.type == $t' >/dev/null ||
		fail "$who: '$*': $OUT"
	note "ok: $who may $*"
}

# denied WHO ARGS...: exit 4 and a permission-denied answer.
denied() {
	who=$1
	shift
	as "$who" "$@"
	[ "$RC" -eq 4 ] || fail "$who: '$*': exit $RC, not 4: $OUT"
	echo "$OUT" | jq -e '.type == "error" and .error == "permission-denied"' \
		>/dev/null || fail "$who: '$*': $OUT"
	note "ok: $who may not $*"
}

# soc_is N, setting_is NAME N, mode_is on|off: the daemon's state now.
soc_is() {
	ctl status --json | jq -e --argjson v "$1" '.soc == $v' >/dev/null ||
		fail "soc is $(ctl status --json | jq .soc), not $1"
}
setting_is() {
	ctl settings --json | jq -e --arg n "$1" --argjson v "$2" \
		'.settings[] | select(.name == $n) | .value == $v' >/dev/null ||
		fail "setting $1 is not $2"
}
mode_is() {
	ctl status --json | jq -e --arg m "$1" '.mode == $m' >/dev/null ||
		fail "mode is not $1"
}
last_full() { ctl history --json | jq -r .last_full_charge; }

# A known state to see changes against: full, a non-default setting.
may root status sync
may root settings set low_soc_warning 30
[ "$(last_full)" != null ] || fail "sync set no last full charge"

# --- smallbms-t1: reads, may not change anything -----------------------
may $T1 status status
may $T1 settings settings
may $T1 history history
may $T1 batteries batteries
may $T1 ports ports
may $T1 mode mode
denied $T1 mode off
denied $T1 set low_soc_warning 25
denied $T1 soc 50
denied $T1 sync
denied $T1 reset-defaults
denied $T1 history --reset
mode_is on
setting_is low_soc_warning 30
soc_is 100
[ "$(last_full)" != null ] || fail "smallbms-t1 reset the history"
note "ok: nothing changed"

# --- smallbms-t2 (admin through a supplementary group) -----------------
may $T2 mode mode off
mode_is off
may $T2 mode mode on
may $T2 settings set low_soc_warning 25
setting_is low_soc_warning 25
may $T2 settings reset-defaults
setting_is low_soc_warning 20
may $T2 status soc 50
soc_is 50
may $T2 status sync
soc_is 100
may $T2 history history --reset
[ "$(last_full)" = null ] || fail "the history was not reset"

# --- root ----------------------------------------------------------------
may root mode mode off
mode_is off
may root mode mode on
may root settings set low_soc_warning 35
may root settings reset-defaults
setting_is low_soc_warning 20
may root status soc 60
soc_is 60
may root status sync
[ "$(last_full)" != null ] || fail "sync set no last full charge"
may root history history --reset
[ "$(last_full)" = null ] || fail "the history was not reset"

# --- the admin group as the effective primary group ----------------------
may primary-adm status soc 70
soc_is 70

# --- an admin with more groups than a small buffer holds ----------------
may many-groups status soc 75
soc_is 75

# --- not in the socket's group: cannot even connect ----------------------
as nobody status
[ "$RC" -eq 4 ] || fail "nobody: status: exit $RC, not 4: $OUT"
grep -q 'permission denied' "$T/ctl.err" || fail "nobody: $(cat "$T/ctl.err")"
note "ok: nobody cannot connect: $(cat "$T/ctl.err")"
as nobody soc 10
[ "$RC" -eq 4 ] || fail "nobody: soc: exit $RC, not 4"
soc_is 75
note "ok: the permission matrix holds"
