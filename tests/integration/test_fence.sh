#!/bin/bash
# The fence of a forced delete (issue 8): once `tgtadm --op delete --force`
# has answered success, for a target or for one LUN, no command of what it
# deleted touches the backing file again, and the daemon holds no fd on it
# any more; the admin may reuse the file at once.
#
# The LUN's file lives on tests/tools/faultfs.c in a private mount
# namespace, slowed to FENCE_RATE bytes/s, so that a stress-io session
# writing FENCE_QD commands deep (up to 128 KiB each) keeps megabytes of
# writes queued in the store when the delete comes; beside it
# deaf_writer.py, an initiator that ignores the target's request to log
# out, keeps writing during the logout grace period, and accepts only
# GOOD or LOGICAL UNIT NOT SUPPORTED as answers. Right after tgtadm
# answers, the test overwrites the whole backing file (outside the FUSE
# mount) with a pattern no initiator writes, waits until the deleted
# target's thread has ended (or the sessions have gone), and compares: a
# single late write of the old target shows up as a difference.
#  1. target rounds: target + LUN 1 (aio and rdwr in turn), load,
#     `--op delete --mode target --force`;
#  2. LUN rounds: LUN 1 of a standing target, load, a forced LUN delete
#     (`--op delete --mode logicalunit` with the request's force flag,
#     which only the wire protocol sends);
#  3. the bound: on a daemon with `--iscsi delete_timeout=2` and a file
#     slowed so much that the queued writes need far longer, a forced LUN
#     delete answers LUN_ACTIVE after about 2 s (the LUN stays listed),
#     then the forced target delete answers "still active" (exit 22)
#     after about 2 s, other management is answered meanwhile, and once
#     the I/O has ended (the slow file system goes away) the target ends
#     by itself.
# Rounds go on for FENCE_SECONDS (default 12; 16 under sanitizers) each
# part, at least 3.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../stress/common.sh
. "$ROOT/tests/stress/common.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
IQN=iqn.2026-01.org.mtgt:fence
RATE=${FENCE_RATE:-$((8 * 1024 * 1024))}
QD=${FENCE_QD:-32}
SECS=${FENCE_SECONDS:-$((SANITIZED ? 16 : 12))}
SIZE=16M
STRESS_IO=$(stress_io_tool) || { fail "cannot build stress-io"; finish; }

mount_namespace || finish
BACKING=$TEST_TMP/backing.img
SLOW=$TEST_TMP/slow-fs
LUN_FILE=$SLOW/lun.img
PATTERN=$TEST_TMP/pattern.img
make_sparse "$BACKING" "$SIZE"
# No initiator writes this: stress-io blocks carry a header and seeded
# data, the deaf writer writes "W"s.
head -c "$SIZE" /dev/zero | tr '\0' 'Z' >"$PATTERN"
faultfs_mount "$SLOW" "$BACKING" 0 0 "$RATE" || finish
TGTD_WRAPPER="nsenter -t $NS_PID -m" start_daemon || finish

# fds_on FILE: how many fds the daemon holds on FILE.
fds_on() {
	find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' \
		2>/dev/null | grep -cxF "$1"
}

no_thread() { [ -z "$(threads_named "$DAEMON_PID" "$1")" ]; }

# nexuses TID: how many I_T nexuses target TID lists.
nexuses() {
	"$TGTADM" -C "$CPORT" --op show --mode target 2>/dev/null |
		awk -v t="Target $1:" 'index($0, t) == 1 { on = 1; next }
			/^Target / { on = 0 }
			on && /I_T nexus: / { n++ }
			END { print n + 0 }'
}
both_logged_in() { [ "$(nexuses "$1")" -ge 2 ]; }

# load TID LUN SEED: stress-io (LOAD_PID) and the deaf writer (DEAF_PID)
# in the background; both may lose their target or LUN.
load() {
	"$STRESS_IO" run "$(url "$IQN-$1" "$2")" --duration 60 --qd "$QD" \
		--max-blocks 256 --tolerate-disconnect --seed "$3" \
		>"$TEST_TMP/load.out" 2>&1 &
	LOAD_PID=$!
	HELPER_PIDS+=("$LOAD_PID")
	python3 "$HERE/deaf_writer.py" 127.0.0.1 "$PORT" "$IQN-$1" "$2" \
		$((16 * 1024 * 2)) 16 60 >"$TEST_TMP/deaf.out" 2>&1 &
	DEAF_PID=$!
	HELPER_PIDS+=("$DEAF_PID")
}

# ended PID WHAT: waits for a load process; true if it exited 0.
ended() {
	wait_pid_exit "$1" 30 || {
		broken "$2 did not end"
		kill -9 "$1" 2>/dev/null
	}
	wait "$1" 2>/dev/null
}

# FAILS counts broken rounds; each is described in FENCE_LOG.
FAILS=0
FENCE_LOG=$TEST_TMP/fence.log
broken() {
	FAILS=$((FAILS + 1))
	echo "round $ROUND: $*" >>"$FENCE_LOG"
}

# mgmt WHAT ARGS...: a tgtadm call that must succeed.
mgmt() {
	local what=$1
	shift
	run timeout 60 "$TGTADM" -C "$CPORT" "$@"
	[ "$RC" -eq 0 ] && return 0
	broken "$what failed ($RC): $OUT"
	return 1
}

# tgtadm sends no --force for a LUN (as tgt's); the wire protocol does.
# Arguments: control port, tid, LUN; prints the answer's error code.
FORCED_LUN_DELETE='
import os, socket, struct, sys
port, tid, lun = (int(a) for a in sys.argv[1:4])
base = os.environ.get("TGT_IPC_SOCKET", "/var/run/tgtd/socket")
MODE_DEVICE, OP_DELETE = 2, 1
req = struct.pack("=ii64sIiQQIIIIII", MODE_DEVICE, OP_DELETE, b"iscsi",
                  120, tid, 0, lun, 0, 0, 0, 0, 0, 1)
s = socket.socket(socket.AF_UNIX)
s.connect("%s.%d" % (base, port))
s.sendall(req)
err, _ = struct.unpack("=II", s.recv(8, socket.MSG_WAITALL))
print("error %d" % err)
sys.exit(1 if err else 0)
'

# after_delete WHAT GONE_CMD...: right after a forced delete answered:
# nothing open on the file, overwrite it, wait for GONE_CMD (what could
# still write is gone) and for the load, then compare.
after_delete() {
	local what=$1
	shift
	dd if="$PATTERN" of="$BACKING" bs=1M conv=notrunc status=none
	[ "$(fds_on "$LUN_FILE")" -eq 0 ] ||
		broken "$what: the daemon still has $LUN_FILE open"
	wait_until 20 "$@" || broken "$what: did not end ($*)"
	ended "$LOAD_PID" "$what: stress-io"
	ended "$DEAF_PID" "$what: the deaf writer" ||
		broken "$what: $(tail -n 1 "$TEST_TMP/deaf.out")"
	DEAF_LAST=$(tail -n 1 "$TEST_TMP/deaf.out")
	cmp -s "$PATTERN" "$BACKING" ||
		broken "$what: the deleted LUN wrote after the answer:" \
			"$(cmp "$PATTERN" "$BACKING" | head -n 1)"
}

# rounds PART FUNCTION: FUNCTION ROUND for SECS seconds, at least 3 times.
rounds() {
	local start=$SECONDS
	FAILS=0
	: >"$FENCE_LOG"
	for ((ROUND = 1; ROUND <= 3 || SECONDS - start < SECS; ROUND++)); do
		"$2" "$ROUND"
		pid_running "$DAEMON_PID" || break
	done
	echo "# $1: $((ROUND - 1)) rounds in $((SECONDS - start)) s; last $DEAF_LAST"
	assert_eq "$1: every round clean" "0" "$FAILS"
	[ "$FAILS" -eq 0 ] || fail "$1 rounds" "$(head -n 20 "$FENCE_LOG")"
}

store_of() { [ $(($1 % 2)) -eq 0 ] && echo rdwr || echo aio; }

# ---------------------------------------------------------------------
echo "# 1. forced target deletes under load ($((RATE / 1024)) KiB/s store, qd $QD)"
target_round() {
	local r=$1
	mgmt "new target" --lld iscsi --mode target --op new --tid 2 \
		-T "$IQN-2" || return
	mgmt "new LUN" --lld iscsi --mode logicalunit --op new --tid 2 \
		--lun 1 -b "$LUN_FILE" -E "$(store_of "$r")" &&
		mgmt "bind" --lld iscsi --mode target --op bind --tid 2 -I ALL &&
		load 2 1 "$r"
	wait_until 10 both_logged_in 2 || broken "no sessions"
	sleep 0.5
	mgmt "forced target delete" --lld iscsi --mode target --op delete \
		--force --tid 2
	after_delete "target ($(store_of "$r"))" no_thread tgt/2
}
rounds "target deletes" target_round

# ---------------------------------------------------------------------
echo "# 2. forced LUN deletes under load"
new_target 3 "$IQN-3" && bind_all 3
lun_round() {
	local r=$1
	mgmt "new LUN" --lld iscsi --mode logicalunit --op new --tid 3 \
		--lun 1 -b "$LUN_FILE" -E "$(store_of "$r")" || return
	load 3 1 "$r"
	wait_until 10 both_logged_in 3 || broken "no sessions"
	sleep 0.5
	run timeout 60 python3 - "$CPORT" 3 1 <<<"$FORCED_LUN_DELETE"
	[ "$RC" -eq 0 ] || broken "forced LUN delete failed: $OUT"
	after_delete "LUN ($(store_of "$r"))" true
}
rounds "LUN deletes" lun_round
run tgtadm_c --op show --mode target --tid 3
assert_not_contains "LUN 1 is gone from target 3" "$OUT" "LUN: 1"
adm "target 3 deleted" --op delete --mode target --tid 3
assert_daemon_alive
stop_daemon

# ---------------------------------------------------------------------
echo "# 3. the bound: I/O that does not drain in delete_timeout"
# about_2s WHAT MS: a delete gave up after delete_timeout, not later.
about_2s() {
	if [ "$2" -ge 1500 ] && [ "$2" -lt 5000 ]; then
		pass "$1 gave up after delete_timeout (2 s)"
	else
		fail "$1 answered after $2 ms, not about 2 s"
	fi
}
CRAWL=$TEST_TMP/crawl-fs
faultfs_mount "$CRAWL" "$BACKING" 0 0 $((128 * 1024)) || finish
CRAWL_PID=${HELPER_PIDS[-1]}
LUN_FILE=$CRAWL/lun.img
TGTD_WRAPPER="nsenter -t $NS_PID -m" start_daemon --iscsi delete_timeout=2 ||
	finish
setup_target 4 "$IQN-4" "$LUN_FILE"
load 4 1 1
wait_until 10 both_logged_in 4 || fail "no sessions on target 4"
sleep 2
# A LUN first: its forced delete gives up after 2 s; the LUN stays,
# fenced, and the target's I/O is still stuck.
start=$(date +%s%N)
python3 - "$CPORT" 4 1 <<<"$FORCED_LUN_DELETE" >"$TEST_TMP/delete.out" 2>&1 &
DELETE_PID=$!
sleep 0.5
# The target's lock is not held up by its slow store either.
stat_start=$(date +%s%N)
run timeout 5 "$TGTADM" -C "$CPORT" --op stat --mode target --tid 4
stat_ms=$((($(date +%s%N) - stat_start) / 1000000))
echo "# stat of target 4 took $stat_ms ms"
if [ "$RC" -eq 0 ] && [ "$stat_ms" -lt 1000 ]; then
	pass "target 4 answers management while its store is slow"
else
	fail "stat of target 4: status $RC after $stat_ms ms"
fi
wait "$DELETE_PID"
elapsed=$((($(date +%s%N) - start) / 1000000))
echo "# the LUN delete answered after $elapsed ms: $(cat "$TEST_TMP/delete.out")"
assert_eq "the forced LUN delete fails: LUN_ACTIVE (20)" "error 20" \
	"$(cat "$TEST_TMP/delete.out")"
about_2s "the LUN delete" "$elapsed"
run tgtadm_c --op show --mode target
assert_contains "the LUN is still listed" "$OUT" "LUN: 1"
# Then the target.
start=$(date +%s%N)
"$TGTADM" -C "$CPORT" --op delete --mode target --force --tid 4 \
	>"$TEST_TMP/delete.out" 2>&1 &
DELETE_PID=$!
sleep 0.5
run timeout 5 "$TGTADM" -C "$CPORT" --op show --mode sys
assert_eq "management answers while a delete waits" 0 "$RC"
wait "$DELETE_PID"
DELETE_RC=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
echo "# the delete answered after $elapsed ms: $(cat "$TEST_TMP/delete.out")"
assert_eq "the delete fails (exit 22)" 22 "$DELETE_RC"
assert_contains "... saying the target is still active" \
	"$(cat "$TEST_TMP/delete.out")" "this target is still active"
about_2s "the target delete" "$elapsed"
run tgtadm_c --op show --mode target
assert_not_contains "target 4 is off the list" "$OUT" "Target 4:"
if no_thread tgt/4; then
	fail "target 4 ended before its I/O could have drained"
else
	pass "target 4 still drains its I/O"
fi
# The slow file system goes away: its requests fail and the target ends.
stop_helper "$CRAWL_PID"
if wait_until 20 no_thread tgt/4; then
	pass "target 4 ended once its I/O ended"
else
	fail "target 4 still runs after its store failed"
fi
new_target 4 "$IQN-4"
assert_daemon_alive
finish
