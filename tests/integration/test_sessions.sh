#!/bin/bash
# Sessions and connections, with tests/integration/session_checks.py as a
# raw initiator: MC/S (a connection joins, CmdSN order across connections,
# limits, connection reinstatement), every logout reason, session
# reinstatement, NOP-In keepalive dropping a silent initiator, a slow
# login dropped after login_timeout, connection limits per initiator
# address and per portal, the logout request (Async Message) before a
# forced target delete, and the limit on sessions per target.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../stress/common.sh
. "$ROOT/tests/stress/common.sh"

IQN=iqn.2026-01.org.mtgt:sessions
CHECKS=$(dirname "$0")/session_checks.py
export TGTADM

raw_checks() {	# LABEL ARGS...
	local label=$1
	shift
	run timeout 120 env CPORT="$CPORT" python3 "$CHECKS" "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$label ($(tail -n 1 <<<"$OUT"))"
	else
		fail "$label" "$OUT"
	fi
}

for i in 1 2 3 4; do
	make_sparse "$TEST_TMP/lun$i.img" 16M
done

# --- MC/S, logout, reinstatement, NOP-In ---------------------------------
start_daemon || finish
setup_target 1 "${IQN}-mcs" "$TEST_TMP/lun1.img"
setup_target 2 "${IQN}-plain" "$TEST_TMP/lun2.img"
setup_target 3 "${IQN}-nop" "$TEST_TMP/lun3.img"
adm "MaxConnections 2 on target 1" --op update --mode target --tid 1 \
	--name MaxConnections --value 2
adm "nop_interval 1 on target 3" --op update --mode target --tid 3 \
	--name nop_interval --value 1
adm "nop_count 2 on target 3" --op update --mode target --tid 3 \
	--name nop_count --value 2
run "$TGTADM" -C "$CPORT" --op show --mode target --tid 1
assert_line "target 1 shows MaxConnections=2" "$OUT" "MaxConnections=2"
raw_checks "MC/S, logout, reinstatement and keepalive checks" main \
	127.0.0.1 "$PORT" "${IQN}-mcs" "${IQN}-plain" "${IQN}-nop"
run "$TGTADM" -C "$CPORT" --op show --mode target
assert_not_contains "no session left behind" "$OUT" "I_T nexus:"
if grep -q "starts once .* aborted commands" "$DAEMON_LOG"; then
	echo "# a reinstated session waited for the old one's command in the store"
else
	echo "# note: the old session's SYNCHRONIZE CACHE ended before the" \
		"reinstatement (no wait exercised)"
fi

# --- logout request before a forced delete --------------------------------
# delete_with_session TID ANSWER: a raw session on TID; the delete must
# return at once while the initiator gets up to 2 s to log out.
delete_with_session() {
	local tid=$1 answer=$2 log=$TEST_TMP/async$1.log pid t0 ms
	CPORT=$CPORT python3 "$CHECKS" async 127.0.0.1 "$PORT" "${IQN}-$tid" \
		"$answer" >"$log" 2>&1 &
	pid=$!
	HELPER_PIDS+=("$pid")
	wait_until 10 grep -q "logged in" "$log" ||
		fail "async session on target $tid did not log in" "$(cat "$log")"
	t0=$(date +%s%N)
	adm "delete target $tid with --force while its session is logged in" \
		--op delete --mode target --tid "$tid" --force
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$ms" -lt 1000 ]; then
		pass "the forced delete returned at once (${ms} ms)"
	else
		fail "the forced delete took ${ms} ms"
	fi
	run "$TGTADM" -C "$CPORT" --op show --mode target --tid "$tid"
	assert_eq "target $tid is gone for tgtadm at once" 22 "$RC"
	if wait_pid_exit "$pid" 15 && wait "$pid"; then
		pass "logout request (answer=$answer): $(tail -n 1 "$log")"
	else
		fail "logout request (answer=$answer)" "$(cat "$log")"
	fi
}
setup_target 4 "${IQN}-4" "$TEST_TMP/lun4.img"
delete_with_session 4 yes
setup_target 5 "${IQN}-5" "$TEST_TMP/lun4.img"
delete_with_session 5 no
wait_until 5 bash -c "! grep -q '^tgt/[45]$' /proc/$DAEMON_PID/task/*/comm" &&
	pass "the deleted targets' threads are gone" ||
	fail "threads of deleted targets left" \
		"$(cat /proc/"$DAEMON_PID"/task/*/comm)"
setup_target 4 "${IQN}-4" "$TEST_TMP/lun4.img"
check "a target with the same tid and name can be created again" \
	timeout 20 iscsi-inq "$(url "${IQN}-4" 1)"
stop_daemon

# --- login time limit, connection limits, --iscsi NOP defaults ------------
start_daemon --iscsi login_timeout=2,max_conns_per_initiator=3 \
	--iscsi max_conns_per_portal=5,nop_interval=7,nop_count=3 || finish
setup_target 1 "$IQN" "$TEST_TMP/lun1.img"
run "$TGTADM" -C "$CPORT" --op show --mode target
assert_contains "--iscsi nop_interval is the default of new targets" \
	"$OUT" "Nop interval: 7"
run "$TGTADM" -C "$CPORT" --op show --mode target --tid 1
assert_line "--iscsi nop_count too" "$OUT" "nop_count=3"
raw_checks "login time limit and connection limits" limits 127.0.0.1 \
	"$PORT" "$IQN"
assert_contains "the slow login is logged" "$(cat "$DAEMON_LOG")" \
	"did not finish in time"
assert_daemon_alive
stop_daemon
# Out of range or unknown --iscsi settings stop tgtd at start-up (on the
# control port just freed; a tgtd that started anyway ends by timeout).
for bad in max_sessions_per_target=65536 login_timeout=0 nop_count=-1 \
	max_conns_per_portal=x no_such_option=1; do
	check_rc 1 "tgtd refuses --iscsi $bad" timeout 10 "$TGTD" -f \
		-C "$CPORT" --iscsi "portal=127.0.0.1:$PORT,$bad"
done

# --- sessions per target ---------------------------------------------------
start_daemon --iscsi max_sessions_per_target=2 || finish
setup_target 1 "${IQN}-limited" "$TEST_TMP/lun1.img"
setup_target 2 "${IQN}-other" "$TEST_TMP/lun2.img"
adm "MaxConnections 2 on target 1" --op update --mode target --tid 1 \
	--name MaxConnections --value 2
run "$TGTADM" -C "$CPORT" --op show --mode target
assert_contains "show lists the daemon-wide session limit" "$OUT" \
	"Max sessions: 2"
for bad in -1 abc 65536 2x ""; do
	check_rc 22 "max_sessions '$bad' is an invalid request" "$TGTADM" \
		-C "$CPORT" --op update --mode target --tid 2 \
		--name max_sessions --value "$bad"
done
run "$TGTADM" -C "$CPORT" --op show --mode target
assert_eq "and changes nothing" 2 "$(grep -c "Max sessions: 2" <<<"$OUT")"
raw_checks "sessions per target" sessions 127.0.0.1 "$PORT" \
	"${IQN}-limited" "${IQN}-other"
run "$TGTADM" -C "$CPORT" --op show --mode target
assert_not_contains "no session left behind" "$OUT" "I_T nexus:"
assert_not_contains "max_sessions 0 is not shown (as tgt)" \
	"$(sed -n '/Target 2:/,$p' <<<"$OUT")" "Max sessions"
assert_daemon_alive
finish
