#!/bin/sh
# SPDX-License-Identifier: MIT
# Every configuration error is reported as FILE:LINE: message, all of them,
# and the daemon exits non-zero without starting.
. "$(dirname "$0")/lib.sh"

cat >"$T/bad.conf" <<'CONF'
[general]
poll_interval = 5x
frobnicate = yes

[port a]
device = /dev/ttyUSB0
protocol = nosuchprotocol
baud = 12
CONF
if "$DAEMON" -c "$T/bad.conf" -t >"$T/out" 2>&1; then
	fail "a bad configuration was accepted"
fi
cat "$T/out"
grep -q "bad.conf:2: .*poll_interval" "$T/out" || fail "line 2 not reported"
grep -q "bad.conf:3: .*frobnicate" "$T/out" || fail "line 3 not reported"
grep -q "bad.conf:7: .*nosuchprotocol" "$T/out" || fail "line 7 not reported"
grep -q "bad.conf:8: .*baud" "$T/out" || fail "line 8 not reported"

if "$DAEMON" -c "$T/missing.conf" >"$T/out" 2>&1; then
	fail "a missing configuration was accepted"
fi
grep -q "missing.conf" "$T/out" || fail "missing file not named"

cat >"$T/good.conf" <<'CONF'
[general]
poll_interval = 500ms
[port house]
device = /dev/ttyUSB0
protocol = jbd
CONF
"$DAEMON" -c "$T/good.conf" -t || fail "a good configuration was refused"

# smallbmsctl: no daemon on the socket is exit code 3, with the path named.
set +e
"$CTL" --socket "$T/nothing.sock" status 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "smallbmsctl without a daemon exited $rc, not 3"
grep -q "nothing.sock" "$T/err" || fail "socket path not named"
note "ok: configuration errors name file and line"
