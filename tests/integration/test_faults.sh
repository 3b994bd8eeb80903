#!/bin/bash
# Fault injection (issue 8): the daemon survives, and keeps serving others,
#  1. abrupt disconnects: FAULT_CONNS (200) connections dropping at random
#     points (tests/integration/disconnects.py: mid-login, after login,
#     mid-command, reads in flight, R2T outstanding, mid-Data-Out, after a
#     Logout request; FIN or RST) beside a verified stress-io session on
#     the same target, which must not notice; afterwards no session is
#     left, fds and threads are back to their baseline, RSS near it;
#  2. forced deletion under load, FAULT_DELETE_ROUNDS (100) times: a
#     target and LUN created, a verified session writing to it, then
#     `--op delete --mode target --force`; same checks at the end;
#  3. backing store failures, in a private mount namespace (nothing is
#     mounted on the host): LUN 1's file on a 16 MiB tmpfs but 64 MiB
#     long (ENOSPC -> DATA PROTECT 27h/07h, reads still fine), LUN 3's
#     file on a FUSE file system with a bad range (tests/tools/faultfs.c:
#     EIO -> MEDIUM ERROR 11h/00h read, 0Ch/00h write), LUN 2 on another
#     file system serving verified I/O all along.
# The numbers (fds, threads, RSS before/after) are printed; only
# correctness is asserted, never timings.
#   FAULT_CONNS=N FAULT_DELETE_ROUNDS=N  (sanitized builds: 60 and 25)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../stress/common.sh
. "$ROOT/tests/stress/common.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
IQN=iqn.2026-01.org.mtgt:faults
NCONN=${FAULT_CONNS:-$((SANITIZED ? 60 : 200))}
ROUNDS=${FAULT_DELETE_ROUNDS:-$((SANITIZED ? 25 : 100))}
# RSS may stay above its baseline by what the allocator keeps cached
# (per-thread arenas, freed buffers); a leak per connection would exceed it.
RSS_SLACK_KB=${RSS_SLACK_KB:-16384}
STRESS_IO=$(stress_io_tool) || { fail "cannot build stress-io"; finish; }

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# baseline: records the daemon's fds, threads and RSS.
baseline() {
	BASE_FDS=$(fd_count "$DAEMON_PID")
	BASE_THREADS=$(thread_count "$DAEMON_PID")
	BASE_RSS=$(rss_kb "$DAEMON_PID")
	echo "# baseline: $BASE_FDS fds, $BASE_THREADS threads, RSS $BASE_RSS kB"
}

fds_back() { [ "$(fd_count "$DAEMON_PID")" -le "$BASE_FDS" ]; }
threads_back() { [ "$(thread_count "$DAEMON_PID")" -le "$BASE_THREADS" ]; }

# back_to_baseline WHAT: no session left, fds and threads back, RSS near.
back_to_baseline() {
	local what=$1 rss
	if wait_until 30 no_nexus; then
		pass "$what: no session left"
	else
		fail "$what: sessions left" "$(tgtadm_c --op show --mode target)"
	fi
	wait_until 30 fds_back
	assert_eq "$what: fd count back to baseline" "$BASE_FDS" \
		"$(fd_count "$DAEMON_PID")"
	wait_until 30 threads_back
	assert_eq "$what: thread count back to baseline" "$BASE_THREADS" \
		"$(thread_count "$DAEMON_PID")"
	rss=$(rss_kb "$DAEMON_PID")
	echo "# $what: RSS $BASE_RSS kB -> $rss kB ($((rss - BASE_RSS)) kB)"
	if [ "$SANITIZED" = 1 ]; then
		skip "$what: RSS (ASan's quarantine keeps freed memory)"
	elif [ "$rss" -le $((BASE_RSS + RSS_SLACK_KB)) ]; then
		pass "$what: RSS within ${RSS_SLACK_KB} kB of its baseline"
	else
		fail "$what: RSS grew by $((rss - BASE_RSS)) kB"
	fi
}

# verified_io LOG URL LUN FILE SECONDS [more stress-io options]: a
# stress-io session in the background (VERIFY_PID) on a fresh LUN.
verified_io() {
	local log=$1 url=$2 lun=$3 file=$4 secs=$5
	shift 5
	"$STRESS_IO" run "$url" --luns "$lun" --duration "$secs" --qd 4 \
		--max-blocks 128 --fresh --backing "$lun=$file" "$@" \
		>"$log" 2>&1 &
	VERIFY_PID=$!
	HELPER_PIDS+=("$VERIFY_PID")
}

# verified_io_ok LOG WHAT: the stress-io session ended with status 0.
verified_io_ok() {
	local rc
	wait "$VERIFY_PID"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$2: verified session unaffected ($(tail -n 1 "$1"))"
	else
		fail "$2: verified session failed (status $rc)" "$(tail -n 20 "$1")"
	fi
}

# ---------------------------------------------------------------------
echo "# 1. $NCONN abrupt disconnects beside a verified session"
start_daemon || finish
make_sparse "$TEST_TMP/verified.img" 32M
make_sparse "$TEST_TMP/scratch.img" 8M
setup_target 1 "$IQN" "$TEST_TMP/verified.img"
new_lun 1 2 "$TEST_TMP/scratch.img"
# One session first, so that whatever is set up lazily exists.
check "a first session" timeout 30 iscsi-inq "$(url "$IQN" 1)"
wait_until 10 no_nexus
baseline

verified_io "$TEST_TMP/verify1.log" "$(url "$IQN" 1)" 1 \
	"$TEST_TMP/verified.img" $((SANITIZED ? 30 : 15))
run timeout 300 python3 "$HERE/disconnects.py" 127.0.0.1 "$PORT" "$IQN" 2 \
	"$NCONN" "$RANDOM"
printf '%s\n' "$OUT" | sed 's/^/# /'
if [ "$RC" -eq 0 ]; then
	pass "$(tail -n 1 <<<"$OUT")"
else
	fail "disconnecting connections did not reach their drop points" "$OUT"
fi
assert_daemon_alive
verified_io_ok "$TEST_TMP/verify1.log" "disconnects"
back_to_baseline "after $NCONN disconnects"

# ---------------------------------------------------------------------
echo "# 2. $ROUNDS forced deletions of a target in use"
DEL_FAILS=0
DEL_LOG=$TEST_TMP/deletes.log
quiet() {	# WHAT ARGS...: a tgtadm call that must work; failures logged
	local what=$1
	shift
	run timeout 30 "$TGTADM" -C "$CPORT" "$@"
	[ "$RC" -eq 0 ] && return 0
	DEL_FAILS=$((DEL_FAILS + 1))
	echo "round $r: $what failed ($RC): $OUT" >>"$DEL_LOG"
	return 1
}
make_sparse "$TEST_TMP/doomed.img" 8M
start=$SECONDS
for ((r = 1; r <= ROUNDS; r++)); do
	quiet "new target" --lld iscsi --mode target --op new --tid 2 \
		-T "$IQN-doomed" || break
	quiet "new LUN" --lld iscsi --mode logicalunit --op new --tid 2 \
		--lun 1 -b "$TEST_TMP/doomed.img"
	quiet "bind" --lld iscsi --mode target --op bind --tid 2 -I ALL
	"$STRESS_IO" run "$(url "$IQN-doomed" 1)" --duration 60 --qd 8 \
		--max-blocks 256 --tolerate-disconnect --seed "$r" \
		--backing "1=$TEST_TMP/doomed.img" >"$TEST_TMP/doomed.out" 2>&1 &
	io=$!
	# Delete at a random moment of the session: during login, or later
	# with commands in flight.
	[ $((r % 4)) -ne 0 ] && wait_nexus 2 10
	sleep "0.$((RANDOM % 3))"
	quiet "forced delete" --lld iscsi --mode target --op delete --force \
		--tid 2
	if ! wait_pid_exit "$io" 30; then
		DEL_FAILS=$((DEL_FAILS + 1))
		echo "round $r: the session did not end after the delete" >>"$DEL_LOG"
		kill -9 "$io" 2>/dev/null
	fi
	wait "$io"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		DEL_FAILS=$((DEL_FAILS + 1))
		{ echo "round $r: stress-io status $rc"; tail -n 5 "$TEST_TMP/doomed.out"; } \
			>>"$DEL_LOG"
	fi
	pid_running "$DAEMON_PID" || break
done
echo "# $((r - 1)) rounds in $((SECONDS - start)) s"
assert_eq "every round: create, load, forced delete, data intact" \
	"$ROUNDS 0" "$((r - 1)) $DEL_FAILS"
[ "$DEL_FAILS" -eq 0 ] || fail "forced delete rounds" "$(cat "$DEL_LOG")"
assert_daemon_alive
run tgtadm_c --op show --mode target
assert_not_contains "target 2 is gone" "$OUT" "Target 2:"
back_to_baseline "after $ROUNDS forced deletes"
stop_daemon

# ---------------------------------------------------------------------
echo "# 3. backing store failures (private mount namespace)"
mount_namespace || finish
SMALL=$TEST_TMP/small-fs
BAD=$TEST_TMP/bad-fs
mkdir -p "$SMALL"
BAD_START=$((1024 * 1024))
BAD_END=$((BAD_START + 64 * 1024))
if ! check "a 16 MiB tmpfs in the namespace" \
	in_ns mount -t tmpfs -o size=16M mtgt-faults "$SMALL"; then
	finish
fi
in_ns truncate -s 64M "$SMALL/lun.img"
make_sparse "$TEST_TMP/bad-backing.img" 8M
faultfs_mount "$BAD" "$TEST_TMP/bad-backing.img" "$BAD_START" "$BAD_END" ||
	finish
run grep -F " $SMALL " /proc/mounts
assert_eq "nothing mounted on the host" "" "$OUT"

TGTD_WRAPPER="nsenter -t $NS_PID -m" start_daemon || finish
make_sparse "$TEST_TMP/healthy.img" 32M
setup_target 1 "$IQN" "$SMALL/lun.img"
new_lun 1 2 "$TEST_TMP/healthy.img"
new_lun 1 3 "$BAD/lun.img"
verified_io "$TEST_TMP/verify3.log" "$(url "$IQN" 2)" 2 \
	"$TEST_TMP/healthy.img" $((SANITIZED ? 20 : 10))
run timeout 300 python3 "$HERE/store_faults.py" 127.0.0.1 "$PORT" "$IQN" 1 \
	enospc $((64 * 1024 * 1024))
printf '%s\n' "$OUT" | sed 's/^/# /'
[ "$RC" -eq 0 ] && pass "ENOSPC: $(tail -n 1 <<<"$OUT")" ||
	fail "ENOSPC checks" "$OUT"
run timeout 120 python3 "$HERE/store_faults.py" 127.0.0.1 "$PORT" "$IQN" 3 \
	eio "$BAD_START" "$BAD_END"
printf '%s\n' "$OUT" | sed 's/^/# /'
[ "$RC" -eq 0 ] && pass "EIO: $(tail -n 1 <<<"$OUT")" ||
	fail "EIO checks" "$OUT"
assert_daemon_alive
verified_io_ok "$TEST_TMP/verify3.log" "store failures on other LUNs"
check "a new session still reads the full LUN 1" \
	timeout 60 iscsi-inq "$(url "$IQN" 1)"
finish
