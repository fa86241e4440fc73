#!/bin/sh
# SPDX-License-Identifier: MIT
# smallbms.conf(5) and the parser's key table (smallbmsd --list-keys) must
# not drift: every key of every section is documented under its section,
# and the page documents no key the parser does not know.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
man="$top_srcdir/man/smallbms.conf.5"
keys=$("$top_builddir/src/smallbmsd" --list-keys | cut -f1,2)

# "section key" pairs as the page documents them: .It Cm KEY lines under
# ".Sh SECTION [NAME" headers.
# Only items of the section's own list count, not nested lists (the
# protocol names under `protocol`, say).
documented=$(awk '
	/^\.Sh SECTION \[/ { s = $3; sub(/^\[/, "", s); sub(/\].*$/, "", s); d = 0; next }
	/^\.Sh / { s = "" }
	/^\.Bl / { d++ }
	/^\.El/ { d-- }
	s != "" && d == 1 && /^\.It Cm / { print s "\t" $3 }' "$man")

rc=0
printf '%s\n' "$keys" | while IFS="$(printf '\t')" read -r sect key; do
	printf '%s\n' "$documented" | grep -qx "$sect	$key" ||
		{ echo "FAIL: [$sect] $key is not documented in smallbms.conf(5)"; exit 1; }
done || rc=1
printf '%s\n' "$documented" | while IFS="$(printf '\t')" read -r sect key; do
	printf '%s\n' "$keys" | grep -qx "$sect	$key" ||
		{ echo "FAIL: smallbms.conf(5) documents [$sect] $key, which the parser does not know"; exit 1; }
done || rc=1
[ $rc -eq 0 ] && echo "ok: $(printf '%s\n' "$keys" | wc -l) keys documented"

# The same for the run-time settings and smallbmsctl(1)'s SETTINGS section.
settings=$("$top_builddir/src/smallbmsd" --list-settings | cut -f1)
documented=$(awk '/^\.Sh SETTINGS/ { s = 1; d = 0; next } /^\.Sh / { s = 0 }
	/^\.Bl / { d++ } /^\.El/ { d-- }
	s && d == 1 && /^\.It Cm / { print $3 }' "$top_srcdir/man/smallbmsctl.1")
for k in $settings; do
	printf '%s\n' "$documented" | grep -qx "$k" ||
		{ echo "FAIL: setting $k is not documented in smallbmsctl(1)"; rc=1; }
done
for k in $documented; do
	printf '%s\n' "$settings" | grep -qx "$k" ||
		{ echo "FAIL: smallbmsctl(1) documents setting $k, which does not exist"; rc=1; }
done
[ $rc -eq 0 ] && echo "ok: $(printf '%s\n' "$settings" | wc -l) settings documented"
exit $rc
