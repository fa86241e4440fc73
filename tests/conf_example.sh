#!/bin/sh
# SPDX-License-Identifier: MIT
# The example configuration is valid, and mentions every key the parser
# knows (so it stays a complete, commented reference).
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
conf="$top_srcdir/conf/smallbms.conf"
"$top_builddir/src/smallbmsd" -t -c "$conf"
rc=0
for key in $("$top_builddir/src/smallbmsd" --list-keys | cut -f2 | sort -u); do
	grep -Eq "^#?$key = " "$conf" ||
		{ echo "FAIL: conf/smallbms.conf does not mention '$key'"; rc=1; }
done
[ $rc -eq 0 ] && echo "ok: every key appears in the example"
exit $rc
