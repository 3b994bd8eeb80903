#!/bin/bash
# Runs every tests/integration/test_*.sh in order (or only the scripts
# named on the command line), each with its own daemon, and prints one
# result line per script and a final "N passed, N failed" line.
# BUILD, TGTD, TGTADM and the scripts' own variables pass through.
#   usage: [BUILD=build-asan] tests/integration/run-all.sh [test_x.sh ...]
DIR=$(cd "$(dirname "$0")" && pwd)
export BUILD=${BUILD:-build}

scripts=()
if [ $# -gt 0 ]; then
	for name in "$@"; do
		scripts+=("$DIR/$(basename "$name")")
	done
else
	for s in "$DIR"/test_*.sh; do
		scripts+=("$s")
	done
fi

passed=0
failed=0
results=()
for s in "${scripts[@]}"; do
	name=$(basename "$s")
	echo "=== $name (BUILD=$BUILD)"
	start=$SECONDS
	if [ ! -x "$s" ]; then
		rc=127
		echo "$s: not found or not executable"
	else
		"$s"
		rc=$?
	fi
	secs=$((SECONDS - start))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		results+=("PASS $name (${secs}s)")
	else
		failed=$((failed + 1))
		results+=("FAIL $name (exit $rc, ${secs}s)")
	fi
	echo "=== ${results[-1]}"
	echo
done

echo "=== integration results (BUILD=$BUILD)"
printf '%s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
