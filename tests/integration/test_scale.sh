#!/bin/bash
# Load and limits (issue 8), with tests/integration/scale_sessions.py (an
# asyncio raw initiator):
#  1. SCALE_SESSIONS (1000) concurrent sessions over SCALE_TARGETS (10)
#     targets: login, TEST UNIT READY, READ of one block, then held with a
#     TEST UNIT READY every 2 s for SCALE_HOLD (10) seconds; every target
#     lists its share of I_T nexuses; fds and RSS per session are printed;
#     after the logouts, no session is left and fds/threads are back;
#  2. a login storm: SCALE_STORM (5000) logins+logouts, 32 at a time, the
#     rate printed; every one must succeed;
#  3. fd exhaustion: a daemon whose fd limit is 64 (prlimit) gets 200
#     connections at once, all held open: each one logs in, or is closed
#     at once when no fd is left; none hangs, the daemon does not spin on
#     its listening socket, and once they are gone a new session works.
# Only correctness is asserted, never rates or sizes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../stress/common.sh
. "$ROOT/tests/stress/common.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
IQN=iqn.2026-01.org.mtgt:scale
NTARGETS=${SCALE_TARGETS:-10}
NSESSIONS=${SCALE_SESSIONS:-$((SANITIZED ? 300 : 1000))}
HOLD=${SCALE_HOLD:-10}
NSTORM=${SCALE_STORM:-$((SANITIZED ? 1000 : 5000))}
SCALE=$HERE/scale_sessions.py

# Sockets only: a target's loop also holds an io_uring and its eventfd
# while its LUNs are busy, which are not per connection.
socket_count() {
	find /proc/"$1"/fd -mindepth 1 -maxdepth 1 -lname 'socket:*' \
		2>/dev/null | wc -l
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# nexus_count: I_T nexuses listed by `show` over all targets.
nexus_count() {
	tgtadm_c --op show --mode target | grep -c 'I_T nexus: '
}

# Every session here comes from 127.0.0.1: lift the per-initiator limit
# (256 by default; test_sessions.sh checks it).
start_daemon --iscsi max_conns_per_initiator=0 || finish
for ((t = 1; t <= NTARGETS; t++)); do
	make_sparse "$TEST_TMP/t$t.img" 1M
	run "$TGTADM" -C "$CPORT" --lld iscsi --mode target --op new --tid "$t" \
		-T "$IQN$t"
	run "$TGTADM" -C "$CPORT" --lld iscsi --mode logicalunit --op new \
		--tid "$t" --lun 1 -b "$TEST_TMP/t$t.img"
	run "$TGTADM" -C "$CPORT" --lld iscsi --mode target --op bind \
		--tid "$t" -I ALL
done
run tgtadm_c --op show --mode target
assert_eq "$NTARGETS targets set up" "$NTARGETS" \
	"$(grep -c '^Target ' <<<"$OUT")"
check "a first session" timeout 30 iscsi-inq "$(url "${IQN}1" 1)"
wait_until 10 no_nexus
BASE_FDS=$(fd_count "$DAEMON_PID")
BASE_SOCKETS=$(socket_count "$DAEMON_PID")
BASE_THREADS=$(thread_count "$DAEMON_PID")
BASE_RSS=$(rss_kb "$DAEMON_PID")
echo "# baseline: $BASE_FDS fds, $BASE_THREADS threads, RSS $BASE_RSS kB"

# ---------------------------------------------------------------------
echo "# 1. $NSESSIONS sessions over $NTARGETS targets, held ${HOLD}s"
LOG=$TEST_TMP/hold.log
timeout 300 python3 "$SCALE" hold 127.0.0.1 "$PORT" "$IQN" "$NTARGETS" \
	"$NSESSIONS" "$HOLD" >"$LOG" 2>&1 &
HOLD_PID=$!
HELPER_PIDS+=("$HOLD_PID")
held() { grep -q '^HELD' "$LOG" || ! pid_running "$HOLD_PID"; }
wait_until 240 held
sed 's/^/# /' "$LOG"
if grep -q "^HELD $NSESSIONS (0 failed)" "$LOG"; then
	pass "$NSESSIONS sessions logged in and did I/O"
	fds=$(fd_count "$DAEMON_PID")
	rss=$(rss_kb "$DAEMON_PID")
	assert_eq "every session listed by show" "$NSESSIONS" "$(nexus_count)"
	echo "# held: $fds fds ($(((fds - BASE_FDS) * 100 / NSESSIONS))/100" \
		"per session), RSS $rss kB ($(((rss - BASE_RSS) / NSESSIONS)) kB" \
		"per session), $(thread_count "$DAEMON_PID") threads"
	assert_eq "one socket per connection" "$NSESSIONS" \
		"$(($(socket_count "$DAEMON_PID") - BASE_SOCKETS))"
else
	fail "not every session logged in" "$(cat "$LOG")"
fi
wait "$HOLD_PID"
RC=$?
sed -n '/^HELD/,$p' "$LOG" | tail -n +2 | sed 's/^/# /'
[ "$RC" -eq 0 ] && pass "held sessions did I/O and logged out" ||
	fail "held sessions (status $RC)" "$(tail -n 12 "$LOG")"
assert_daemon_alive

baseline_again() {	# WHAT
	if wait_until 30 no_nexus; then
		pass "$1: no session left"
	else
		fail "$1: sessions left" "$(tgtadm_c --op show --mode target)"
	fi
	wait_until 30 eval '[ "$(fd_count "$DAEMON_PID")" -le "$BASE_FDS" ]'
	assert_eq "$1: fds back to baseline" "$BASE_FDS" "$(fd_count "$DAEMON_PID")"
	wait_until 30 eval \
		'[ "$(thread_count "$DAEMON_PID")" -le "$BASE_THREADS" ]'
	assert_eq "$1: threads back to baseline" "$BASE_THREADS" \
		"$(thread_count "$DAEMON_PID")"
	echo "# $1: RSS $BASE_RSS kB -> $(rss_kb "$DAEMON_PID") kB"
}
baseline_again "after $NSESSIONS sessions"

# ---------------------------------------------------------------------
echo "# 2. login storm: $NSTORM logins+logouts"
run timeout 300 python3 "$SCALE" storm 127.0.0.1 "$PORT" "${IQN}1" \
	"$NSTORM" 32
printf '%s\n' "$OUT" | sed 's/^/# /'
[ "$RC" -eq 0 ] && pass "login storm: every login and logout served" ||
	fail "login storm" "$OUT"
assert_daemon_alive
baseline_again "after the login storm"
stop_daemon

# ---------------------------------------------------------------------
echo "# 3. fd exhaustion: 200 connections to a daemon limited to 64 fds"
TGTD_WRAPPER="prlimit --nofile=64:64" start_daemon || finish
make_sparse "$TEST_TMP/small.img" 1M
setup_target 1 "${IQN}1" "$TEST_TMP/small.img"
assert_eq "the daemon runs with 64 fds at most" 64 \
	"$(awk '/^Max open files/ { print $4 }' "/proc/$DAEMON_PID/limits")"
ticks0=$(named_ticks "$DAEMON_PID" tgtd)
run timeout 120 python3 "$SCALE" refused 127.0.0.1 "$PORT" "${IQN}1" 200
echo "# $OUT"
[ "$RC" -eq 0 ] && pass "no connection hung at fd exhaustion" ||
	fail "connections hung at fd exhaustion" "$OUT"
assert_match "some connections logged in" "$OUT" "logged in [0-9]+"
assert_match "the connections without an fd were closed, not left waiting" \
	"$OUT" "closed [0-9]+"
assert_daemon_alive
ticks=$(($(named_ticks "$DAEMON_PID" tgtd) - ticks0))
echo "# main thread CPU over the burst: $ticks ticks"
# A loop spinning on accept() burns the CPU and floods the log with one
# line per failed accept; the refusal is logged once per episode.
run grep -c 'out of file descriptors\|accept' "$DAEMON_LOG"
[ "$OUT" -le 10 ] && pass "fd exhaustion logged $OUT time(s), no flood" ||
	fail "fd exhaustion logged $OUT times"
check "a new session works afterwards" timeout 30 iscsi-inq \
	"$(url "${IQN}1" 1)"
finish
