#!/bin/sh
# SPDX-License-Identifier: MIT
# Does the model-based test (tests/unit/test_guard_model.c) catch each of
# the eight protection defects of the invariants issue? For every patch in
# tests/model/reverts/ (one defect's fix reverted): a scratch copy of src/
# and the test, the patch applied, the test built with the modules it
# needs and run at the same seed and step count as `make check`. Each run
# must FAIL; the table says at which step and on which invariant.
#
# Usage: tests/model/revert-fixes.sh [STEPS]   (default 100000)
# Exit status: 0 when every reverted fix is caught, 1 otherwise.
#
# The patches are against the tree they were written for: when the code
# they touch moves, a patch stops applying and the table says so (write
# it again against the new code).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
steps=${1:-100000}
seed=${GUARD_MODEL_SEED:-20261202}
work=$(mktemp -d "${TMPDIR:-/tmp}/revert-fixes.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# The modules the model test links (a subset of libsmallbms): every module
# of the pure parts (a new protocol or rule is in by construction: a fixed
# list went stale when drivers were added), and the few others it needs.
WHOLE_PARTS="common protocols rules"
SOURCES="daemon/cfg daemon/store gpio/gpio can/can_frames"
FLAGS="$(pkg-config --cflags --libs jansson inih libsystemd) -lm"

build() { # DIR
	srcs="" incs=""
	for p in $WHOLE_PARTS; do srcs="$srcs $(echo "$1"/src/"$p"/*.c)"; done
	for m in $SOURCES; do srcs="$srcs $1/src/$m.c"; done
	# Every part's headers (cfg.c includes those of the outputs it
	# configures: can, mqtt, ...).
	for p in "$1"/src/*/; do incs="$incs -I$p"; done
	# shellcheck disable=SC2086
	gcc -std=c11 -D_GNU_SOURCE $incs $srcs \
		"$1/tests/unit/test_guard_model.c" $FLAGS -o "$1/model" \
		>"$1/build.log" 2>&1
}

copy() { # DIR
	mkdir -p "$1/tests/unit"
	cp -r "$top/src" "$1/"
	cp "$top/tests/unit/test_guard_model.c" "$1/tests/unit/"
}

# The fixed tree first: it must pass, or the table would mean nothing.
copy "$work/fixed"
build "$work/fixed" || { cat "$work/fixed/build.log"; exit 1; }
GUARD_MODEL_STEPS=$steps GUARD_MODEL_SEED=$seed "$work/fixed/model" \
	>/dev/null 2>&1 || { echo "the fixed tree fails the model test"; exit 1; }

printf '%-30s %-8s %s\n' "reverted fix" "result" "first violation"
caught=0 total=0
for p in "$top"/tests/model/reverts/*.patch; do
	name=$(basename "$p" .patch)
	d="$work/$name"
	total=$((total + 1))
	copy "$d"
	if ! (cd "$d" && patch -s -p1 <"$p" >/dev/null 2>&1); then
		printf '%-30s %-8s %s\n' "$name" "STALE" "the patch no longer applies"
		continue
	fi
	if ! build "$d"; then
		printf '%-30s %-8s %s\n' "$name" "STALE" "does not build"
		continue
	fi
	if GUARD_MODEL_STEPS=$steps GUARD_MODEL_SEED=$seed "$d/model" \
		>"$d/out" 2>&1; then
		printf '%-30s %-8s %s\n' "$name" "MISSED" "every invariant held"
		continue
	fi
	caught=$((caught + 1))
	printf '%-30s %-8s %s\n' "$name" "caught" \
		"$(sed -n 's/^test_guard_model: \(I[0-9]* violated at step [0-9]*\).*/\1/p' \
			"$d/out" | head -n 1): $(sed -n '2s/^  //p' "$d/out")"
done
echo "revert-fixes: $caught of $total reverted fixes caught ($steps steps, seed $seed)"
[ "$caught" -eq "$total" ]
