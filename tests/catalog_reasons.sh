#!/bin/sh
# SPDX-License-Identifier: MIT
# The journal catalog reads right for every reason: each reason token of
# src/rules/guard.c has its own line in the "output switched off" entry
# (what to do) and in the "no longer blocks" entry (what ended it), so
# journalctl -x never explains a reason with another one's words (#19:
# the end of "starting" was told as "the reading is back inside its
# recovery level").
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
cat="$top_srcdir/systemd/smallbms.catalog"
reasons=$(sed -n '/^static const char \*const reason_names/,/^};/p' \
	"$top_srcdir/src/rules/guard.c" | sed -n 's/^[[:space:]]*"\([a-z_]*\)",$/\1/p')
[ "$(echo "$reasons" | wc -l)" -ge 13 ] ||
	{ echo "FAIL: reason tokens not found in guard.c: $reasons"; exit 1; }
# entry ID: the text of one catalog entry (up to the next "-- ").
entry() { awk -v id="-- $1" '$0 == id { on = 1; next } /^-- / { on = 0 } on' "$cat"; }
off=$(entry 58feaa459d2042ba891fb3585bc346b8)
end=$(entry 30a9aa6e60b54883a2188f2fe98cb54f)
rc=0
for r in $reasons; do
	# A line that starts with the token (two-space indent), or lists it
	# among others ("  a, b, c" / "  d, e").
	echo "$off" | grep -Eq "^  ($r |$r\$|([a-z_]+, )*$r(,|\$))" ||
		{ echo "FAIL: $r has no line in the output_off entry"; rc=1; }
	echo "$end" | grep -Eq "^  ($r |$r\$|([a-z_]+, )*$r(,|\$))" ||
		{ echo "FAIL: $r has no line in the reason_end entry"; rc=1; }
done
[ $rc -ne 0 ] || echo "ok: $(echo "$reasons" | wc -l) reasons in both entries"
exit $rc
