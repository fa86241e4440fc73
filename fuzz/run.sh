#!/bin/sh
# SPDX-License-Identifier: MIT
# make fuzz / make fuzz-ci (fuzz/README.md): build every libFuzzer target
# with clang (fuzz/fuzz.mk), then run each for FUZZ_SECONDS, FUZZ_JOBS at
# a time, from its seed corpus in the tree (fuzz/corpus/NAME, read only)
# and a working corpus in FUZZ_OUT/corpus/NAME (kept between runs). One
# summary line per target. A crash, leak, timeout or contract violation
# fails: the sanitizer's report, the input as a hex dump and the command
# that reproduces it are printed, the input is kept in FUZZ_OUT/crashes/.
#
# Environment (make passes it): top_srcdir, FUZZ_OUT, FUZZ_CC,
# FUZZ_SECONDS, FUZZ_TARGETS, FUZZ_JOBS, FUZZ_REQUIRE (yes: no clang is an
# error, not a skip), MAKE and what fuzz/fuzz.mk needs.
set -eu

: "${top_srcdir:?}" "${FUZZ_OUT:?}"
FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_TARGETS=${FUZZ_TARGETS:-fuzz_jbd fuzz_pylon fuzz_jk fuzz_jkpb fuzz_modbus fuzz_seplos3 fuzz_daly fuzz_cfg fuzz_store fuzz_ctl}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
MAKE=${MAKE:-make}
t0=$(date +%s)

skip() {
	if [ "${FUZZ_REQUIRE:-no}" = yes ]; then
		echo "fuzz: ERROR: $*" >&2
		exit 1
	fi
	echo "fuzz: SKIP: $*"
	exit 0
}

# clang with libFuzzer and the sanitizers, or a clear skip.
command -v "$FUZZ_CC" >/dev/null 2>&1 ||
	skip "$FUZZ_CC not found (on Debian: apt-get install clang)"
mkdir -p "$FUZZ_OUT"
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ return 0; }\n' \
	>"$FUZZ_OUT/probe.c"
"$FUZZ_CC" -fsanitize=fuzzer,address,undefined "$FUZZ_OUT/probe.c" \
	-o "$FUZZ_OUT/probe" >"$FUZZ_OUT/probe.log" 2>&1 || {
	cat "$FUZZ_OUT/probe.log"
	skip "$FUZZ_CC cannot link libFuzzer with ASan/UBSan (on Debian: apt-get install clang libclang-rt-dev)"
}
rm -f "$FUZZ_OUT/probe" "$FUZZ_OUT/probe.c" "$FUZZ_OUT/probe.log"

export FUZZ_OUT FUZZ_CC FUZZ_TARGETS
$MAKE -s -f "$top_srcdir/fuzz/fuzz.mk" srcdir="$top_srcdir" all
tb=$(date +%s)
echo "fuzz: built $(echo "$FUZZ_TARGETS" | wc -w) targets in $((tb - t0)) s;" \
	"running each for $FUZZ_SECONDS s, $FUZZ_JOBS at a time"

# Per-target options: the longest input worth trying, and the time one
# input may take before it counts as a hang.
options() {
	case $1 in
	fuzz_jbd) echo "-max_len=600 -timeout=10" ;;
	fuzz_pylon) echo "-max_len=2048 -timeout=10" ;;
	fuzz_jk) echo "-max_len=1100 -timeout=10" ;;
	fuzz_jkpb) echo "-max_len=1400 -timeout=10" ;;
	fuzz_modbus) echo "-max_len=600 -timeout=10" ;;
	fuzz_seplos3) echo "-max_len=600 -timeout=10" ;;
	fuzz_daly) echo "-max_len=600 -timeout=10" ;;
	fuzz_cfg) echo "-max_len=8192 -timeout=10" ;;
	fuzz_store) echo "-max_len=16384 -timeout=10" ;;
	fuzz_ctl) echo "-max_len=16384 -timeout=20" ;;
	*) echo "-timeout=10" ;;
	esac
}

# fuzz_cfg: seeds in fuzz/corpus/cfg, dictionary fuzz/dict/cfg.dict.
run_one() {
	name=$1
	short=${name#fuzz_}
	dict=""
	[ -f "$top_srcdir/fuzz/dict/$short.dict" ] &&
		dict="-dict=$top_srcdir/fuzz/dict/$short.dict"
	seeds=""
	[ -d "$top_srcdir/fuzz/corpus/$short" ] &&
		seeds="$top_srcdir/fuzz/corpus/$short"
	mkdir -p "$FUZZ_OUT/corpus/$name" "$FUZZ_OUT/crashes"
	rm -f "$FUZZ_OUT/crashes/$name-"* "$FUZZ_OUT/$name.rc"
	rc=0
	# shellcheck disable=SC2046,SC2086
	(cd "$FUZZ_OUT" && "./$name" $(options "$name") $dict \
		-max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-artifact_prefix="$FUZZ_OUT/crashes/$name-" \
		"corpus/$name" $seeds) \
		>"$FUZZ_OUT/$name.log" 2>&1 || rc=$?
	echo $rc >"$FUZZ_OUT/$name.rc"
}

# Batches of FUZZ_JOBS targets in parallel.
# shellcheck disable=SC2086
set -- $FUZZ_TARGETS
while [ $# -gt 0 ]; do
	pids=""
	n=0
	while [ $# -gt 0 ] && [ $n -lt "$FUZZ_JOBS" ]; do
		run_one "$1" &
		pids="$pids $!"
		n=$((n + 1))
		shift
	done
	for p in $pids; do wait "$p" || true; done
done

# stat::number_of_executed_units etc. from -print_final_stats=1; the last
# status line has cov (edges) and ft (features).
stat() { sed -n "s/^stat::$2: *//p" "$FUZZ_OUT/$1.log" | tail -n 1; }
failed=0
for name in $FUZZ_TARGETS; do
	log=$FUZZ_OUT/$name.log
	rc=$(cat "$FUZZ_OUT/$name.rc" 2>/dev/null || echo "unknown: no exit status")
	runs=$(stat "$name" number_of_executed_units)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" |
		tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
	# libFuzzer exits 0 when it cannot even start (a missing corpus).
	[ "$rc" != 0 ] || [ -n "$runs" ] || rc="0, but it never ran"
	if [ "$rc" = 0 ]; then
		echo "fuzz: $name: ${runs:-?} runs in ${secs:-?} s, cov ${cov:-?}," \
			"ft ${ft:-?}, corpus ${corp:-?}: ok"
		continue
	fi
	failed=$((failed + 1))
	echo "fuzz: $name: FAILED (exit $rc) after ${runs:-?} runs; its log:"
	tail -n 80 "$log"
	for a in "$FUZZ_OUT/crashes/$name-"*; do
		[ -f "$a" ] || continue
		echo "fuzz: $name: the input ($(wc -c <"$a") bytes), kept as $a:"
		od -A x -t x1z -v "$a" | head -n 64
		echo "fuzz: reproduce with: $FUZZ_OUT/$name $a"
	done
done
echo "fuzz: $(echo "$FUZZ_TARGETS" | wc -w) targets, $failed failed, in" \
	"$(($(date +%s) - t0)) s"
[ "$failed" -eq 0 ]
