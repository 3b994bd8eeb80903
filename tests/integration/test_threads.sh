#!/bin/bash
# Per-target threads (DESIGN.md "Threads and ownership"): every target has
# an event-loop thread named tgt/<tid> beside the main thread tgtd; after
# login a connection is served by its target's thread, so I/O on target 2
# costs CPU time in tgt/2 and not in tgt/1, tgt/3 or the main thread
# (per-thread utime+stime from /proc/PID/task/TID/stat, compared relative
# to each other: the machine may be busy). Deleting a target stops its
# thread: refused while a session exists, done at once with --force, and
# the other targets keep their threads and sessions. SIGTERM while every
# target is busy ends all sessions and exits 0. A login whose target is
# deleted between its first and last Login PDU (tests/stress/
# login_vs_delete.py) must fail without taking the daemon down.
#   LOAD_SECONDS=N  seconds of iscsi-perf on target 2 (default 5)
# shellcheck disable=SC2015 # "cond && pass || fail": pass always succeeds
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../stress/common.sh
. "$ROOT/tests/stress/common.sh"

LOAD_SECONDS=${LOAD_SECONDS:-5}
# An idle thread may pick up a tick or two (a login, a NOP); the loaded one
# must have at least MIN_TICKS and RATIO times as much as each idle one.
MIN_TICKS=${MIN_TICKS:-10}
RATIO=${RATIO:-5}
IQN=iqn.2026-01.org.mtgt:threads
STRESS_IO=$(stress_io_tool) || { fail "cannot build stress-io"; finish; }

declare -A HOLD_PID=()
declare -A BUSY=()

# hold TID: an idle session on target TID (stress-io hold).
hold() {
	"$STRESS_IO" hold "$(url "$IQN$1" 1)" \
		--initiator "iqn.2026-01.org.mtgt:threads-init$1" \
		</dev/null >"$TEST_TMP/hold$1.log" 2>&1 &
	HOLD_PID[$1]=$!
	HELPER_PIDS+=("$!")
}

target_has_nexus() {	# TID
	"$TGTADM" -C "$CPORT" --op show --mode target 2>/dev/null |
		awk -v t="Target $1:" 'index($0, t) == 1 { on = 1; next }
			/^Target / { on = 0 }
			on && /I_T nexus: / { found = 1 }
			END { exit !found }'
}

for tid in 1 2 3; do
	make_sparse "$TEST_TMP/lun$tid.img" 64M
done
start_daemon || finish
for tid in 1 2 3; do
	setup_target "$tid" "$IQN$tid" "$TEST_TMP/lun$tid.img"
done

# --- names -------------------------------------------------------------
NAMES=$(thread_names "$DAEMON_PID")
echo "# threads: $(awk '{ print $2 }' <<<"$NAMES" | sort | uniq -c |
	awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')"
assert_eq "main thread (task $DAEMON_PID) is named tgtd" tgtd \
	"$(cat "/proc/$DAEMON_PID/task/$DAEMON_PID/comm")"
for tid in 1 2 3; do
	assert_eq "one thread named tgt/$tid" 1 \
		"$(threads_named "$DAEMON_PID" "tgt/$tid" | wc -l)"
done
assert_eq "no other tgt/ thread" 3 \
	"$(awk '$2 ~ /^tgt\// ' <<<"$NAMES" | wc -l)"

# --- sessions ------------------------------------------------------------
for tid in 1 2 3; do
	hold "$tid"
done
for tid in 1 2 3; do
	if wait_until 15 target_has_nexus "$tid"; then
		pass "session on target $tid logged in"
	else
		fail "no session on target $tid" "$(cat "$TEST_TMP/hold$tid.log")"
	fi
	run "$TGTADM" -C "$CPORT" --op show --mode conn --tid "$tid"
	assert_contains "conn show of target $tid lists its initiator" \
		"$OUT" "threads-init$tid"
done

# --- CPU time per thread under load on target 2 only ---------------------
MAIN=$DAEMON_PID
T1=$(threads_named "$DAEMON_PID" tgt/1)
T2=$(threads_named "$DAEMON_PID" tgt/2)
T3=$(threads_named "$DAEMON_PID" tgt/3)
snapshot() {
	echo "$(task_ticks "$DAEMON_PID" "$MAIN") $(task_ticks "$DAEMON_PID" "$T1")" \
		"$(task_ticks "$DAEMON_PID" "$T2") $(task_ticks "$DAEMON_PID" "$T3")" \
		"$(named_ticks "$DAEMON_PID" bs/1:1) $(named_ticks "$DAEMON_PID" bs/2:1)" \
		"$(named_ticks "$DAEMON_PID" bs/3:1)"
}
read -r M0 A0 B0 C0 W10 W20 W30 < <(snapshot)
echo "# iscsi-perf -m 32 -b 8 -r -t $LOAD_SECONDS on target 2"
timeout -k 5 $((LOAD_SECONDS + 30)) iscsi-perf -m 32 -b 8 -r -t "$LOAD_SECONDS" \
	"$(url "${IQN}2" 1)" </dev/null >"$TEST_TMP/perf.log" 2>&1 &
PERF=$!
HELPER_PIDS+=("$PERF")
# The load's own session is served by tgt/2 too.
wait_until 10 bash -c "'$TGTADM' -C $CPORT --op show --mode conn --tid 2 |
	grep -c Connection: | grep -qx 2" &&
	pass "load session joined target 2 (2 connections)" ||
	fail "load session not listed on target 2" \
		"$("$TGTADM" -C "$CPORT" --op show --mode conn --tid 2)"
wait "$PERF"
RC=$?
read -r M1 A1 B1 C1 W11 W21 W31 < <(snapshot)
PERF_OUT=$(tr '\r' '\n' <"$TEST_TMP/perf.log")
if [ "$RC" -eq 0 ] && grep -q finished <<<"$PERF_OUT"; then
	pass "iscsi-perf on target 2 ran its ${LOAD_SECONDS}s"
else
	fail "iscsi-perf on target 2 exited $RC" "$PERF_OUT"
fi
echo "# $(grep 'iops average' <<<"$PERF_OUT" | tail -n 1 | sed 's/  */ /g')"
DM=$((M1 - M0)) D1=$((A1 - A0)) D2=$((B1 - B0)) D3=$((C1 - C0))
echo "# CPU ticks during the load: tgtd(main) $DM, tgt/1 $D1, tgt/2 $D2," \
	"tgt/3 $D3; bs/1:1 $((W11 - W10)), bs/2:1 $((W21 - W20))," \
	"bs/3:1 $((W31 - W30))"
if [ "$D2" -ge "$MIN_TICKS" ]; then
	pass "tgt/2 worked during the load ($D2 ticks >= $MIN_TICKS)"
else
	fail "tgt/2 got only $D2 ticks during the load on target 2"
fi
for pair in "tgtd(main):$DM" "tgt/1:$D1" "tgt/3:$D3" \
	"bs/1:1:$((W11 - W10))" "bs/3:1:$((W31 - W30))"; do
	name=${pair%:*} d=${pair##*:}
	if [ $((d * RATIO)) -le "$D2" ]; then
		pass "$name stayed idle while target 2 was loaded ($d ticks vs $D2)"
	else
		fail "$name used $d ticks while only target 2 was loaded (tgt/2: $D2)"
	fi
done

# --- delete a target: its thread goes, the others stay -------------------
check_rc 22 "delete target 3 with a session and no --force is refused" \
	"$TGTADM" -C "$CPORT" --op delete --mode target --tid 3
assert_contains "error text is tgt's" "$OUT" "this target is still active"
has_thread_named "$DAEMON_PID" tgt/3 && pass "tgt/3 still runs after the refusal" ||
	fail "tgt/3 vanished after a refused delete"
adm "delete target 3 with --force while its session is logged in" \
	--op delete --mode target --tid 3 --force
if wait_until 5 no_thread_named "$DAEMON_PID" tgt/3; then
	pass "thread tgt/3 is gone"
else
	fail "thread tgt/3 still there after delete --force" \
		"$(thread_names "$DAEMON_PID")"
fi
wait_until 5 no_thread_named "$DAEMON_PID" bs/3:1 &&
	pass "backing-store workers of target 3 are gone" ||
	fail "bs/3:1 threads left" "$(thread_names "$DAEMON_PID")"
if wait_pid_exit "${HOLD_PID[3]}" 10; then
	wait "${HOLD_PID[3]}"
	assert_eq "session on target 3 saw its connection end (status 4)" 4 "$?"
else
	fail "session on target 3 still running after delete --force" \
		"$(cat "$TEST_TMP/hold3.log")"
fi
for tid in 1 2; do
	has_thread_named "$DAEMON_PID" "tgt/$tid" && pass "tgt/$tid still runs" ||
		fail "tgt/$tid vanished with target 3"
	target_has_nexus "$tid" && pass "session on target $tid still logged in" ||
		fail "session on target $tid lost when target 3 was deleted"
	pid_running "${HOLD_PID[$tid]}" && pass "initiator of target $tid alive" ||
		fail "initiator of target $tid exited" "$(cat "$TEST_TMP/hold$tid.log")"
done

# A new target 3 gets a new thread; without sessions it deletes plainly.
new_target 3 "${IQN}3"
has_thread_named "$DAEMON_PID" tgt/3 && pass "re-created target 3 has tgt/3" ||
	fail "re-created target 3 has no thread" "$(thread_names "$DAEMON_PID")"
adm "delete idle target 3 without --force" --op delete --mode target --tid 3
wait_until 5 no_thread_named "$DAEMON_PID" tgt/3 &&
	pass "tgt/3 gone again" || fail "tgt/3 left after plain delete"

# Log out cleanly, then the targets delete without --force.
for tid in 1 2; do
	stop_helper "${HOLD_PID[$tid]}"
	assert_contains "session on target $tid logged out" \
		"$(cat "$TEST_TMP/hold$tid.log")" "logged out"
done
wait_until 10 no_nexus && pass "no I_T nexus left after logout" ||
	fail "sessions left after logout" \
		"$("$TGTADM" -C "$CPORT" --op show --mode target)"
for tid in 1 2; do
	adm "delete target $tid after logout" --op delete --mode target \
		--tid "$tid"
done
if wait_until 5 bash -c "! grep -qE '^(tgt|bs)/' /proc/$DAEMON_PID/task/*/comm"; then
	pass "no tgt/ or bs/ thread left"
else
	fail "threads left after deleting every target" \
		"$(thread_names "$DAEMON_PID")"
fi
assert_daemon_alive

# --- SIGTERM while every target is busy ----------------------------------
# The daemon ends the sessions, joins every target thread and exits 0;
# every write it acknowledged is in the backing file.
for tid in 1 2 3; do
	setup_target "$tid" "$IQN$tid" "$TEST_TMP/lun$tid.img"
	"$STRESS_IO" run "$(url "$IQN$tid" 1)" --duration 600 --qd 8 \
		--max-blocks 256 --tolerate-disconnect \
		--backing "1=$TEST_TMP/lun$tid.img" \
		--initiator "iqn.2026-01.org.mtgt:busy$tid" \
		</dev/null >"$TEST_TMP/busy$tid.log" 2>&1 &
	BUSY[tid]=$!
	HELPER_PIDS+=("$!")
done
for tid in 1 2 3; do
	wait_until 15 target_has_nexus "$tid" ||
		fail "busy session on target $tid did not log in" \
			"$(cat "$TEST_TMP/busy$tid.log")"
done
sleep 1
stop_daemon
for tid in 1 2 3; do
	if wait_pid_exit "${BUSY[tid]}" 15; then
		wait "${BUSY[tid]}"
		assert_eq "busy session on target $tid ended with the daemon, data intact" \
			0 "$?"
	else
		fail "busy session on target $tid still running after SIGTERM"
	fi
done

# --- a login that spans the deletion of its target -----------------------
# The login's first stage names the target; the target is deleted before
# the last stage. The login must fail (or the connection close) and the
# daemon must stay up (DESIGN.md rule 5: nothing may keep a pointer to a
# deleted target).
start_daemon || finish
make_sparse "$TEST_TMP/lun4.img" 16M
for mode in delete recreate; do
	setup_target 4 "${IQN}4" "$TEST_TMP/lun4.img"
	check "login spanning the deletion of its target ($mode)" \
		timeout -k 5 60 python3 "$ROOT/tests/stress/login_vs_delete.py" \
		127.0.0.1 "$PORT" "${IQN}4" "$TGTADM" "$CPORT" 4 "$mode" \
		"$TEST_TMP/lun4.img"
	assert_daemon_alive || break
	tgtadm_c --op delete --mode target --tid 4 --force >/dev/null 2>&1
done
finish
