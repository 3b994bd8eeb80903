#!/bin/bash
# APTPL saves do not stall the target (DESIGN.md rule 7): tgtd's
# reservation state directory is a FUSE file system (tests/tools/slowfs.c,
# in a private mount namespace) on which every fsync takes 1.5 s, so one
# save (the file's fsync and the directory's) takes 3 s.
#   - pr_save_checks.py: a PERSISTENT RESERVE OUT REGISTER with APTPL
#     answers GOOD only after its save; a second one, sent during that
#     save, answers after it, once its own save is done; READs of a third
#     session of the same target stay prompt all along;
#   - management meanwhile: `tgtadm --op show` answers at once, and
#     deleting the LU is refused (the save holds it) without waiting;
#   - the second GOOD is durable: tgtd is killed (SIGKILL) right after it,
#     and a new daemon finds both registrations;
#   - a daemon asked to stop (SIGTERM) during a save lets it finish, exits
#     0, and the registration is on disk.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

IQN=iqn.2026-01.org.mtgt:pr-save
FSYNC_MS=1500
BACKING=$TEST_TMP/pr-backing
STATE_FILE="$BACKING/$IQN,lun1.pr"
CHECKS=$(dirname "$0")/pr_save_checks.py

checks() {	# WHAT MODE [ARGS]: runs pr_save_checks.py
	local what=$1
	shift
	py_checks "$what" 60 "$CHECKS" 127.0.0.1 "$PORT" "$IQN" "$@"
}

# timed_adm WHAT MAX_S ARGS...: tgtadm ARGS answers within MAX_S seconds;
# its exit status is in RC.
timed_adm() {
	local what=$1 max=$2 t0 ms
	shift 2
	t0=$(date +%s%N)
	run timeout 30 "$TGTADM" -C "$CPORT" "$@"
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$ms" -lt $((max * 1000)) ]; then
		pass "$what within ${max}s (${ms} ms)"
	else
		fail "$what took ${ms} ms"
	fi
}

key_in_file() {	# KEY (16 hex digits)
	grep -q "^reg $1 " "$STATE_FILE"
}

make_sparse "$TEST_TMP/lun.img" 16M
mkdir -p "$BACKING"
touch "$BACKING/.ready"
mount_namespace || finish
TGTD_WRAPPER="nsenter -t $NS_PID -m ${TGTD_WRAPPER:-}"
# lib.sh gives the daemon --pr-state-dir $TEST_TMP/pr-state.
slowfs_mount "$TEST_TMP/pr-state" "$BACKING" "$FSYNC_MS" || finish
start_daemon || finish
setup_target 1 "$IQN" "$TEST_TMP/lun.img"

# ---- two saves in a row, READs and management meanwhile ----
python3 "$CHECKS" 127.0.0.1 "$PORT" "$IQN" save "$FSYNC_MS" "$DAEMON_PID" \
	>"$TEST_TMP/save.log" 2>&1 &
SAVE_PID=$!
HELPER_PIDS+=("$SAVE_PID")
sleep 1.5	# logins done, the first save under way
timed_adm "tgtadm show during a save" 1 --op show --mode target
timed_adm "LU delete during a save answered" 1 --mode logicalunit \
	--op delete --tid 1 --lun 1
if [ "$RC" -ne 0 ]; then
	pass "LU delete refused while the save holds the LU ($OUT)"
else
	fail "the LU was deleted under a save"
fi
if wait_pid_exit "$SAVE_PID" 40; then
	wait "$SAVE_PID"
	RC=$?
else
	RC=124
fi
if [ "$RC" -eq 0 ]; then
	pass "saves off the target thread ($(tail -n 1 "$TEST_TMP/save.log"))"
else
	fail "saves off the target thread" "$(cat "$TEST_TMP/save.log")"
fi
assert_contains "the saves went through the slow fsyncs" \
	"$(cat "$TEST_TMP/slowfs.pr-state.log")" "fsync /$IQN,lun1.pr.tmp"

# ---- durable once GOOD: killed right after the second GOOD ----
if wait_pid_exit "$DAEMON_PID" 5; then
	pass "tgtd was killed right after the GOOD"
else
	fail "tgtd still runs after SIGKILL"
	kill_hard "$DAEMON_PID"
fi
wait "$DAEMON_PID" 2>/dev/null
forget_daemon "$DAEMON_PID"
check_sanitizer_log "$DAEMON_LOG"
if key_in_file 000000000000000a && key_in_file 000000000000000c; then
	pass "the state file holds both registrations"
else
	fail "the state file lacks a registration" "$(cat "$STATE_FILE")"
fi
start_daemon || finish
setup_target 1 "$IQN" "$TEST_TMP/lun.img"
checks "a new daemon finds both registrations" keys a c

# ---- SIGTERM during a save ----
python3 "$CHECKS" 127.0.0.1 "$PORT" "$IQN" hold d \
	>"$TEST_TMP/hold.log" 2>&1 &
HOLD_PID=$!
HELPER_PIDS+=("$HOLD_PID")
for _ in $(seq 100); do
	grep -q sent "$TEST_TMP/hold.log" && break
	sleep 0.1
done
sleep 0.5	# the save is under way
stop_daemon
if key_in_file 000000000000000d; then
	pass "the save a SIGTERM found running was finished"
else
	fail "the save under SIGTERM was lost" "$(cat "$STATE_FILE")"
fi
finish
