#!/bin/bash
# Runs every libFuzzer harness of a fuzz build: first each saved input of
# tests/fuzz/regressions/<harness>/ once (crashes found earlier, kept as
# regression tests), then fuzzing for SECONDS from the seed corpus
# tests/fuzz/corpus/<harness>/ (copied to BUILD/corpus/, which keeps what
# the run finds). A crash, leak, sanitizer report or hang fails the run;
# the input is left in BUILD/artifacts/<harness>/: copy it to
# tests/fuzz/regressions/<harness>/ with the fix.
#   usage: tests/fuzz/run.sh BUILD SECONDS
set -u
BUILD=$(cd "${1:?build directory}" && pwd)
SECONDS_EACH=${2:?seconds per harness}
HERE=$(cd "$(dirname "$0")" && pwd)
MAX_LEN=65536
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=0
for bin in "$BUILD"/fuzz/fuzz_*; do
	name=${bin##*/fuzz_}
	corpus=$BUILD/corpus/$name
	artifacts=$BUILD/artifacts/$name
	log=$BUILD/fuzz-$name.log
	mkdir -p "$corpus" "$artifacts"
	[ -d "$HERE/corpus/$name" ] && cp -n "$HERE/corpus/$name"/* "$corpus"/
	opts=(-max_len=$MAX_LEN -timeout=20 -rss_limit_mb=4096
		-artifact_prefix="$artifacts/")
	ok=1
	regressions=("$HERE/regressions/$name"/*)
	if [ -e "${regressions[0]}" ]; then
		"$bin" "${opts[@]}" "${regressions[@]}" >"$log" 2>&1 || ok=0
	fi
	if [ $ok = 1 ]; then
		"$bin" "${opts[@]}" -max_total_time="$SECONDS_EACH" \
			-print_final_stats=1 "$corpus" >>"$log" 2>&1 || ok=0
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $ok = 1 ]; then
		echo "PASS fuzz_$name (${runs:-0} inputs in ${SECONDS_EACH}s," \
			"corpus $(find "$corpus" -type f | wc -l))"
	else
		failed=$((failed + 1))
		echo "FAIL fuzz_$name: log $log, inputs in $artifacts"
		grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ 0x' "$log" | head -40
	fi
done
[ $failed = 0 ]
