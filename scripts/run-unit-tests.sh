#!/bin/sh
# Runs every cmocka unit test binary of a build directory.
BUILD=${1:-build}
fail=0
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "== $t"
	timeout 300 "$t" || fail=1
done
exit $fail
