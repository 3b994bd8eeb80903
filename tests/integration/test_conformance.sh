#!/bin/bash
# SCSI/iSCSI conformance with libiscsi's iscsi-test-cu against a
# thin-provisioned file LUN, and, for the families that need another
# kind of LUN, against variants of it (VARIANTS below: read-only,
# removable, 4096-byte blocks, 512-byte blocks on 4096-byte physical
# blocks, a slow medium). Every test named in iscsi-test-cu.passing (one FAMILY.Suite.Test
# per line, sorted; a variant's tests carry @VARIANT) must pass; a listed
# test that fails, is skipped or does not run fails this script and is
# named. Tests that pass but are not listed are reported with a hint.
#
# Each suite runs in its own iscsi-test-cu process with a timeout, so a
# hang costs one suite, not the run; every suite starts on a freshly
# deallocated medium, so no suite depends on what an earlier one wrote.
#   FAMILIES="SCSI iSCSI"  test families to run (see iscsi-test-cu -l)
#   SUITES="SCSI.Inquiry iSCSI.iSCSITMF"  run only these suites
#   VARIANTS_RUN="readonly 4k"  run only these variants ("" for none)
#   SLOW_RATE=8388608      bytes per second of the slow medium
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

# Variants: NAME|TID|SIZE|BLOCKSIZE|PARAMS|SUITES|EACH|MEDIUM. Each gets
# its own target (LUN 1 on its own sparse file, tgtadm --params PARAMS);
# its suites (or single tests) run as the main ones do, or one process
# per test when EACH is "test" (PreventAllow's reset tests leave unit
# attentions on the second session that the next test would trip over).
# A test SUITES names by itself counts from that variant in the combined
# counts: the variant is the LU it needs.
#
# MEDIUM "slow": the file is served through faultfs (tests/tools) at
# SLOW_RATE bytes per second, in a private mount namespace the daemon
# runs in. Sanitize.Reset needs a SANITIZE OVERWRITE still running after
# 3 s, five resets, a logout, 1 s and a new login: 128 MiB at 8 MiB/s take
# 16 s. The test then polls TEST UNIT READY every 60 s, so it takes a
# minute whatever the medium; such a variant runs beside the others (it
# waits, and shows that the other LUs keep serving meanwhile). It fails
# if an ABORT TASK of the SANITIZE waits for the whole overwrite, or if
# the abort stops it: the test expects it still running after the
# reconnect.
VARIANTS=(
	"readonly|2|16M||readonly=1,thin_provisioning=1|SCSI.ReadOnly|suite"
	"removable|3|16M||removable=1|SCSI.PreventAllow SCSI.StartStopUnit|test"
	"4k|4|64M|4096|thin_provisioning=1|SCSI.ReadCapacity16 SCSI.Inquiry \
SCSI.Read16 SCSI.Write16 SCSI.WriteSame16 SCSI.Unmap SCSI.GetLBAStatus \
SCSI.ExtendedCopy|suite"
	"512e|5|64M||thin_provisioning=1,lbppbe=3|\
SCSI.CompareAndWrite.InvalidDataOutSize SCSI.WriteSame10.InvalidDataOutSize \
SCSI.WriteSame10.UnmapUnaligned SCSI.WriteSame16.InvalidDataOutSize \
SCSI.WriteSame16.UnmapUnaligned|suite"
	"slow|6|128M|||SCSI.Sanitize.Reset|suite|slow"
)
VARIANTS_RUN=${VARIANTS_RUN-readonly removable 4k 512e slow}
SLOW_RATE=${SLOW_RATE:-$((8 << 20))}

variant_field() {	# VARIANT FIELD(1-8)
	local v
	for v in "${VARIANTS[@]}"; do
		[ "${v%%|*}" = "$1" ] && { cut -d'|' -f"$2" <<<"$v"; return; }
	done
}

lu_params() {	# TID PARAMS
	run "$TGTADM" -C "$CPORT" --mode logicalunit --op update --tid "$1" \
		--lun 1 --params "$2"
	[ "$RC" -eq 0 ] || echo "# note: $2 refused on tid $1 (exit $RC): $OUT"
}

is_slow() {	# VARIANT
	[ "$(variant_field "$1" 8)" = slow ]
}

# The file a variant's LU is on (a slow one's reaches image_of through
# faultfs).
lu_file() {	# VARIANT
	if is_slow "$1"; then
		echo "$TEST_TMP/$1-fs/lun.img"
	else
		image_of "$1"
	fi
}

# The variants' files, once (they outlive a daemon restart), and, for a
# slow medium, the mount namespace the daemon then runs in.
prepare_media() {
	local v
	for v in $VARIANTS_RUN; do
		make_sparse "$(image_of "$v")" "$(variant_field "$v" 3)"
		is_slow "$v" || continue
		if [ -z "${NS_PID:-}" ]; then
			mount_namespace || return 1
			TGTD_WRAPPER="nsenter -t $NS_PID -m ${TGTD_WRAPPER:-}"
		fi
		faultfs_mount "$TEST_TMP/$v-fs" "$(image_of "$v")" 0 0 \
			"$SLOW_RATE" || return 1
	done
}

configure_variant() {	# NAME
	local tid bs params extra=()
	tid=$(variant_field "$1" 2)
	bs=$(variant_field "$1" 4)
	params=$(variant_field "$1" 5)
	[ -n "$bs" ] && extra=(--blocksize "$bs")
	new_target "$tid" "$IQN-$1" &&
		adm "add LUN 1 to target $tid ($1)" --lld iscsi \
			--mode logicalunit --op new --tid "$tid" --lun 1 \
			-b "$(lu_file "$1")" "${extra[@]}" &&
		bind_all "$tid" && { [ -z "$params" ] || lu_params "$tid" "$params"; }
}

configure() {
	local v
	setup_target 1 "$IQN" "$IMG"
	lu_params 1 thin_provisioning=1
	for v in $VARIANTS_RUN; do
		configure_variant "$v"
	done
}

# The file under a run's LUN: the suite that runs next finds it
# deallocated (the daemon is idle in between, and reads holes as zeros).
image_of() {	# VARIANT ("" for the main run)
	echo "$TEST_TMP/${1:-lun}.img"
}

fresh_medium() {	# VARIANT
	local img
	img=$(image_of "$1")
	fallocate --punch-hole --offset 0 --length "$(stat -c %s "$img")" \
		"$img" 2>/dev/null || true
}

all_suites() {
	local fam
	for fam in $FAMILIES; do
		grep -E "^$fam\.[^.]+$" <<<"$TEST_LIST"
	done
}

# Turns iscsi-test-cu's verbose text output into result lines. A test
# passes when CUnit prints "passed" right after "..." or at a line start;
# a test that printed "[SKIPPED]" and passed counts as skipped. A
# variant's test names end in @VARIANT.
parse_output() {	# FAMILY FILE [SUFFIX]
	awk -v fam="$1" -v sfx="${3:-}" '
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
			print r, fam "." suite "." test sfx
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

# Tests of SUITE (or the one test) that produced no result line (hang,
# crash, budget).
missing_tests() {	# SUITE|TEST PARSED_FILE [SUFFIX]
	local t
	grep -E "^$1(\.[^.]+)?$" <<<"$TEST_LIST" | grep -E '^[^.]+\.[^.]+\.' |
		while read -r t; do
			grep -qF " $t${3:-}" "$2" || echo "NOT-RUN $t${3:-}"
		done
}

count_results() {	# FILE: "PASSED=n FAILED=n ..."
	awk '{ n[$1]++ } END { for (k in n) printf "%s=%d ", k, n[k] }' "$1"
}

run_suite() {	# SUITE|TEST [VARIANT]
	local suite=$1 variant=${2:-} fam=${1%%.*} rc t0=$SECONDS
	local iqn=$IQN${2:+-$2} sfx=${2:+@$2} out
	out=$OUTDIR/$1$sfx.txt
	fresh_medium "$variant"
	timeout -k 10 "$SUITE_TIMEOUT" iscsi-test-cu -d -S -t "$suite" \
		"$(url "$iqn")" "$(url "$iqn")" </dev/null >"$out" 2>&1
	rc=$?
	parse_output "$fam" "$out" "$sfx" >"$out.parsed"
	missing_tests "$suite" "$out.parsed" "$sfx" >"$out.missing"
	cat "$out.missing" >>"$out.parsed"
	cat "$out.parsed" >>"$RESULTS"
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] &&
		echo "# $suite$sfx: timed out after ${SUITE_TIMEOUT}s"
	printf '# %-40s %3ds  %s%s\n' "$suite$sfx" $((SECONDS - t0)) \
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

# The units one run executes: its suites, or every test of them.
units_of() {	# SUITES EACH
	local suite
	for suite in $1; do
		if [ "$2" = test ]; then
			grep -E "^$suite\.[^.]+$" <<<"$TEST_LIST"
		else
			echo "$suite"
		fi
	done
}

# Beside the other runs (BESIDE=1, in a subshell), a dead daemon is left
# to the main run's ensure_daemon.
run_units() {	# START VARIANT UNITS...
	local start=$1 variant=$2 unit
	shift 2
	for unit in "$@"; do
		if [ $((SECONDS - start)) -ge "$TIME_BUDGET" ]; then
			echo "# $unit: not run (time budget ${TIME_BUDGET}s used up)"
			missing_tests "$unit" /dev/null \
				"${variant:+@$variant}" >>"$RESULTS"
			continue
		fi
		run_suite "$unit" "$variant"
		[ "${BESIDE:-0}" = 1 ] || ensure_daemon "$unit" || return 1
	done
}

run_variant() {	# START VARIANT
	local units
	mapfile -t units < <(units_of "$(variant_field "$2" 6)" \
		"$(variant_field "$2" 7)")
	run_units "$1" "$2" "${units[@]}"
}

# The slow variants run in the background from the start; their output
# is shown when they are waited for.
run_suites() {
	local start=$SECONDS v beside=()
	for v in $VARIANTS_RUN; do
		is_slow "$v" || continue
		BESIDE=1 run_variant "$start" "$v" >"$OUTDIR/beside-$v.log" &
		beside+=("$!")
		HELPER_PIDS+=("$!")
	done
	run_units "$start" "" $SUITES || return
	for v in $VARIANTS_RUN; do
		is_slow "$v" || run_variant "$start" "$v" || return
	done
	[ "${#beside[@]}" -eq 0 ] || wait "${beside[@]}"
	for v in $VARIANTS_RUN; do
		is_slow "$v" && cat "$OUTDIR/beside-$v.log"
	done
	echo "# iscsi-test-cu: $((SECONDS - start))s"
}

# Tests a variant's SUITES names one by one, with the variant:
# "TEST@VARIANT" lines.
named_tests() {
	local v t
	for v in $VARIANTS_RUN; do
		for t in $(variant_field "$v" 6); do
			[[ $t =~ ^[^.]+\.[^.]+\.[^.]+$ ]] && echo "$t@$v"
		done
	done
}

# The 230 tests counted once each: a test a variant names takes its result
# from that variant, a test the main run skipped from a variant that ran
# it (the LU it needs).
combined_counts() {
	awk -v list="$(named_tests)" '
	     BEGIN { split(list, l, "\n"); for (i in l) named[l[i]] = 1 }
	     { name = $2; sub(/@.*/, "", name)
	       if ($2 == name) main[name] = $1
	       else if ($2 in named) own[name] = $1
	       else if ($1 != "SKIPPED") alt[name] = $1 }
	     END { for (t in main) {
			r = main[t]
			if (t in own) r = own[t]
			else if (r == "SKIPPED" && (t in alt)) r = alt[t]
			n[r]++ }
		   for (k in n) printf "%s=%d ", k, n[k] }' "$RESULTS"
}

required_tests() {
	[ -f "$PASSING" ] && grep -vE '^[[:space:]]*(#|$)' "$PASSING"
}

# What iscsi-test-cu printed for a test (NAME may end in @VARIANT).
test_output() {	# NAME
	local base=${1%@*} sfx=
	[ "$base" != "$1" ] && sfx=@${1#*@}
	cat "$OUTDIR/${base%.*}$sfx.txt" "$OUTDIR/$base$sfx.txt" 2>/dev/null |
		grep -h -A 3 -F "Test: ${base##*.} " | head -n 8
}

compare_with_list() {
	local name result bad=0 new=()
	while read -r name; do
		result=$(awk -v t="$name" '$2 == t { print $1; exit }' "$RESULTS")
		if [ "$result" != PASSED ]; then
			fail "required test $name: ${result:-not in this run}" \
				"$(test_output "$name")"
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
prepare_media || finish
start_daemon || finish
configure
run_suites
echo "# results (all runs): $(count_results "$RESULTS")"
echo "# main run: $(grep -v '@' "$RESULTS" | count_results /dev/stdin)"
echo "# combined: $(combined_counts)"
compare_with_list
[ "${UPDATE_PASSING:-0}" = 1 ] && update_list
assert_daemon_alive
finish
