#!/bin/bash
# SCSI/iSCSI conformance with libiscsi's iscsi-test-cu against a
# thin-provisioned file LUN. Every test named in iscsi-test-cu.passing
# (one FAMILY.Suite.Test per line, sorted) must pass; a listed test that
# fails, is skipped or does not run fails this script and is named. Tests
# that pass but are not listed are reported with a hint.
#
# Each suite runs in its own iscsi-test-cu process with a timeout, so a
# hang costs one suite, not the run.
#   FAMILIES="SCSI iSCSI"  test families to run (see iscsi-test-cu -l)
#   SUITES="SCSI.Inquiry iSCSI.iSCSITMF"  run only these suites
#   SUITE_TIMEOUT=120      seconds per suite
#   TIME_BUDGET=1200       seconds for all suites; the rest is not run
#   UPDATE_PASSING=1       rewrite the list as old list + tests passing now
#                          (never removes a name)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

FAMILIES=${FAMILIES:-SCSI iSCSI}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-$((SANITIZED ? 240 : 120))}
TIME_BUDGET=${TIME_BUDGET:-$((SANITIZED ? 2400 : 1200))}
PASSING=${PASSING:-$ROOT/tests/integration/iscsi-test-cu.passing}
IQN=iqn.2026-01.org.mtgt:conformance
IMG=$TEST_TMP/lun.img
OUTDIR=$TEST_TMP/iscsi-test-cu
RESULTS=$TEST_TMP/results	# "PASSED|FAILED|SKIPPED|NOT-RUN NAME"

configure() {
	setup_target 1 "$IQN" "$IMG"
	run "$TGTADM" -C "$CPORT" --mode logicalunit --op update --tid 1 \
		--lun 1 --params thin_provisioning=1
	[ "$RC" -eq 0 ] ||
		echo "# note: thin_provisioning=1 refused (exit $RC): $OUT"
}

all_suites() {
	local fam
	for fam in $FAMILIES; do
		grep -E "^$fam\.[^.]+$" <<<"$TEST_LIST"
	done
}

# Turns iscsi-test-cu's verbose text output into result lines. A test
# passes when CUnit prints "passed" right after "..." or at a line start;
# a test that printed "[SKIPPED]" and passed counts as skipped.
parse_output() {	# FAMILY FILE
	awk -v fam="$1" '
	function outcome(s) {
		if (s ~ /^passed/)
			return skipped ? "SKIPPED" : "PASSED"
		if (s ~ /^FAILED/)
			return "FAILED"
		if (s ~ /\[SKIPPED\]/)
			skipped = 1
		return ""
	}
	function step(s,   r) {
		r = outcome(s)
		if (r != "") {
			print r, fam "." suite "." test
			test = ""
		}
	}
	/^Suite: / { suite = $2; test = ""; next }
	/^  Test: / {
		line = substr($0, 9)
		i = index(line, " ...")
		test = substr(line, 1, i - 1)
		skipped = 0
		step(substr(line, i + 4))
		next
	}
	test != "" { step($0) }
	' "$2"
}

# Tests of SUITE that produced no result line (hang, crash, budget).
missing_tests() {	# SUITE PARSED_FILE
	local t
	grep -E "^$1\.[^.]+$" <<<"$TEST_LIST" | while read -r t; do
		grep -qE "^[A-Z-]+ $t\$" "$2" || echo "NOT-RUN $t"
	done
}

count_results() {	# FILE: "PASSED=n FAILED=n ..."
	awk '{ n[$1]++ } END { for (k in n) printf "%s=%d ", k, n[k] }' "$1"
}

run_suite() {	# SUITE
	local suite=$1 fam=${1%%.*} out=$OUTDIR/$1.txt rc t0=$SECONDS
	timeout -k 10 "$SUITE_TIMEOUT" iscsi-test-cu -d -S -t "$suite" \
		"$(url "$IQN")" "$(url "$IQN")" </dev/null >"$out" 2>&1
	rc=$?
	parse_output "$fam" "$out" >"$out.parsed"
	missing_tests "$suite" "$out.parsed" >"$out.missing"
	cat "$out.missing" >>"$out.parsed"
	cat "$out.parsed" >>"$RESULTS"
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] &&
		echo "# $suite: timed out after ${SUITE_TIMEOUT}s"
	printf '# %-32s %3ds  %s%s\n' "$suite" $((SECONDS - t0)) \
		"$(count_results "$out.parsed")" \
		"$([ "$rc" -ne 0 ] && echo "(iscsi-test-cu exit $rc)")"
}

# A dead daemon is a failure; restart it so later suites still run.
ensure_daemon() {	# SUITE
	pid_running "$DAEMON_PID" && return 0
	fail "daemon died during $1" "$(tail -n 30 "$DAEMON_LOG")"
	wait "$DAEMON_PID" 2>/dev/null
	forget_daemon "$DAEMON_PID"
	check_sanitizer_log "$DAEMON_LOG"
	start_daemon && configure
}

run_suites() {
	local suite start=$SECONDS
	for suite in $SUITES; do
		if [ $((SECONDS - start)) -ge "$TIME_BUDGET" ]; then
			echo "# $suite: not run (time budget ${TIME_BUDGET}s used up)"
			missing_tests "$suite" /dev/null >>"$RESULTS"
			continue
		fi
		run_suite "$suite"
		ensure_daemon "$suite" || break
	done
	echo "# iscsi-test-cu: $((SECONDS - start))s for $(wc -w <<<"$SUITES") suites"
}

required_tests() {
	[ -f "$PASSING" ] && grep -vE '^[[:space:]]*(#|$)' "$PASSING"
}

compare_with_list() {
	local name result bad=0 new=()
	while read -r name; do
		result=$(awk -v t="$name" '$2 == t { print $1; exit }' "$RESULTS")
		if [ "$result" != PASSED ]; then
			fail "required test $name: ${result:-not in this run}" \
				"$(grep -h -A 3 -F "Test: ${name##*.} " \
					"$OUTDIR/${name%.*}.txt" 2>/dev/null | head -n 8)"
			bad=$((bad + 1))
		fi
	done < <(required_tests)
	[ "$bad" -eq 0 ] && pass "all $(required_tests | wc -l) tests" \
		"listed in $(basename "$PASSING") pass"
	mapfile -t new < <(awk '$1 == "PASSED" { print $2 }' "$RESULTS" |
		LC_ALL=C sort | LC_ALL=C comm -23 - <(required_tests | LC_ALL=C sort))
	if [ "${#new[@]}" -gt 0 ]; then
		echo "# ${#new[@]} tests pass that are not in $(basename "$PASSING");"
		echo "# add them (or run with UPDATE_PASSING=1):"
		printf '#   %s\n' "${new[@]}"
	fi
}

update_list() {
	{
		required_tests
		awk '$1 == "PASSED" { print $2 }' "$RESULTS"
	} | LC_ALL=C sort -u >"$PASSING.new" && mv "$PASSING.new" "$PASSING"
	echo "# $(basename "$PASSING") now lists $(wc -l <"$PASSING") tests"
}

if ! command -v iscsi-test-cu >/dev/null; then
	fail "iscsi-test-cu not installed (Debian: libiscsi-bin)"
	finish
fi
TEST_LIST=$(iscsi-test-cu -l)
SUITES=${SUITES:-$(all_suites)}
mkdir -p "$OUTDIR"
: >"$RESULTS"

make_sparse "$IMG" 128M
start_daemon || finish
configure
run_suites
echo "# results: $(count_results "$RESULTS")"
compare_with_list
[ "${UPDATE_PASSING:-0}" = 1 ] && update_list
assert_daemon_alive
finish
