#!/bin/bash
# Aborting a SANITIZE (issue 5): LUN 1 is 1 MiB served by faultfs
# (tests/tools) at 128 KiB/s in a private mount namespace, so that an
# OVERWRITE takes ~8 s. tests/integration/sanitize_abort.py checks that
# an ABORT TASK of a SANITIZE without IMMED is answered at once, the
# command never answers and the operation runs to its end; that one
# aborted while still waiting for a write never starts. Then what goes
# away under a running sanitize, which a sanitizer build watches for use
# after free: its connection dropped (the session goes at once, a new
# one sees the operation go on), the LU (refused until the operation
# ends), the target (a forced delete fences the LU: the operation stops at
# its next write, and the file is not written after the delete answered).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../stress/common.sh
. "$ROOT/tests/stress/common.sh"

IQN=iqn.2026-01.org.mtgt:sanitize-abort
RATE=$((128 << 10))
CHECKS=$(dirname "$0")/sanitize_abort.py

checks() {	# WHAT MODE [ARGS]: runs sanitize_abort.py
	local what=$1
	shift
	py_checks "$what" 120 "$CHECKS" 127.0.0.1 "$PORT" "$IQN" "$@"
}

lu_delete_refused() {	# WHAT
	run "$TGTADM" -C "$CPORT" --mode logicalunit --op delete --tid 1 \
		--lun 1
	if [ "$RC" -ne 0 ]; then
		pass "$1 ($OUT)"
	else
		fail "$1: the LU was deleted"
	fi
}

make_sparse "$TEST_TMP/lun.img" 1M
mount_namespace || finish
TGTD_WRAPPER="nsenter -t $NS_PID -m ${TGTD_WRAPPER:-}"
faultfs_mount "$TEST_TMP/fs" "$TEST_TMP/lun.img" 0 0 "$RATE" || finish
start_daemon || finish
setup_target 1 "$IQN" "$TEST_TMP/fs/lun.img"
# One PDU carries a 64 KiB write, which the medium holds for 0.5 s.
adm "MaxRecvDataSegmentLength 65536" --mode target --op update --tid 1 \
	--name MaxRecvDataSegmentLength --value 65536

checks "ABORT TASK of a running and of a waiting SANITIZE" abort

checks "a connection dropped under a running SANITIZE" drop
if wait_until 3 no_nexus; then
	pass "the dropped session is gone while the operation goes on"
else
	fail "a session is left" "$(tgtadm_c --op show --mode target)"
fi
lu_delete_refused "LU delete refused while the operation runs"
checks "the operation of the dropped connection ends" finish 0x3c

python3 "$CHECKS" 127.0.0.1 "$PORT" "$IQN" hold \
	>"$TEST_TMP/hold.log" 2>&1 &
HOLD_PID=$!
HELPER_PIDS+=("$HOLD_PID")
wait_until 10 grep -q holding "$TEST_TMP/hold.log"
adm "forced delete of the target under a running SANITIZE" --mode target \
	--op delete --tid 1 --force
# The delete answered: the target's LU is fenced and drained, so the
# operation stopped at its next write and the file stays as it is.
before=$(md5sum <"$TEST_TMP/lun.img")
if wait_pid_exit "$HOLD_PID" 10; then
	pass "its session ends after the logout grace period"
else
	fail "the session under the SANITIZE was not ended"
fi
assert_contains "the held session saw the overwrite under way" \
	"$(cat "$TEST_TMP/hold.log")" "ok   the overwrite with 0x69 is under way"
if wait_until 10 no_thread_named "$DAEMON_PID" tgt/1; then
	pass "the target's thread ends at once: the operation stopped"
else
	fail "the thread of target 1 is still there"
fi
assert_eq "nothing was written to the file after the delete answered" \
	"$before" "$(md5sum <"$TEST_TMP/lun.img")"
assert_contains "the stopped operation is logged" "$(cat "$DAEMON_LOG")" \
	"SANITIZE failed"

assert_daemon_alive
finish
