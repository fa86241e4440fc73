#!/bin/sh
# SPDX-License-Identifier: MIT
# Every man page must pass mandoc -Tlint (warnings are failures).
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
command -v mandoc >/dev/null || { echo "SKIP: mandoc not installed"; exit 77; }
rc=0
for m in "$top_srcdir"/man/*.[1-8]; do
	if out=$(mandoc -Tlint -W warning "$m" 2>&1) && [ -z "$out" ]; then
		echo "ok: $(basename "$m")"
	else
		echo "$out"; echo "FAIL: $(basename "$m")"; rc=1
	fi
done
exit $rc
