#!/bin/bash
# Soak test (issue 8; `make soak`, not part of `make test`): SOAK_MINUTES
# (default 30) of cycles of SOAK_CYCLE seconds (default 60). Each cycle
# starts the daemon and sets up the same three targets, then runs at once
#   - verified I/O: two stress-io sessions on target 2 (slices of two LUNs,
#     every acknowledged write checked, also in the backing files), and
#     iscsi-verify on target 1 (writes, FUA, flush, full read-back; its
#     state file records every acknowledged block across cycles);
#   - abrupt disconnects: every 10 s, 20 connections of
#     tests/integration/disconnects.py dropping at random points (target 3);
#   - management changes: LUN 2 of target 3 added and removed, an ACL
#     bound and unbound, target parameters updated, an extra target with a
#     session created and deleted with --force, `show` listings;
# and ends the daemon with kill -9 (odd cycles) or SIGTERM (even ones).
# After a kill -9 the daemon is restarted on the same files and
# `iscsi-verify check` re-reads every block target 1 acknowledged. Any data
# mismatch, failed session, daemon death, unexpected management error,
# sanitizer report, or fd growth across cycles fails the soak.
# A summary goes to SOAK_SUMMARY (default $BUILD/soak-summary.txt).
#   SOAK_MINUTES=N SOAK_CYCLE=N
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=../stress/common.sh
. "$ROOT/tests/stress/common.sh"

MINUTES=${SOAK_MINUTES:-30}
CYCLE=${SOAK_CYCLE:-60}
SUMMARY=${SOAK_SUMMARY:-$BUILD_DIR/soak-summary.txt}
IQN=iqn.2026-01.org.mtgt:soak
DISCONNECTS=$ROOT/tests/integration/disconnects.py
STRESS_IO=$(stress_io_tool) || { fail "cannot build stress-io"; finish; }
VERIFY=$(verify_tool) || { fail "cannot build iscsi-verify"; finish; }
STATE=$TEST_TMP/verify.state
for f in durable t2-l1 t2-l2 t3 extra; do
	make_sparse "$TEST_TMP/$f.img" 32M
done
make_sparse "$TEST_TMP/scratch.img" 8M

# Counters for the summary.
CYCLES=0 KILLS=0 TERMS=0 IO_SESSIONS=0 IO_FAILS=0 DROPS=0 DROP_FAILS=0
MGMT_OPS=0 MGMT_FAILS=0 VERIFY_CHECKS=0 FD_LINES=() FDS=()

setup() {	# the same "configuration" at every start
	local ok=0
	setup_target 1 "${IQN}1" "$TEST_TMP/durable.img" >/dev/null || ok=1
	setup_target 2 "${IQN}2" "$TEST_TMP/t2-l1.img" >/dev/null || ok=1
	new_lun 2 2 "$TEST_TMP/t2-l2.img" >/dev/null || ok=1
	setup_target 3 "${IQN}3" "$TEST_TMP/t3.img" >/dev/null || ok=1
	new_lun 3 2 "$TEST_TMP/scratch.img" >/dev/null || ok=1
	return $ok
}

# mgmt ACCEPT_ERE ARGS...: one management change; an error not matching
# ACCEPT_ERE counts as a failure.
mgmt() {
	local accept=$1
	shift
	MGMT_OPS=$((MGMT_OPS + 1))
	OUT=$(timeout 30 "$TGTADM" -C "$CPORT" "$@" 2>&1) && return 0
	[ -n "$accept" ] && grep -qE "$accept" <<<"$OUT" && return 0
	MGMT_FAILS=$((MGMT_FAILS + 1))
	echo "# management: tgtadm $* -> $OUT" | tee -a "$TEST_TMP/mgmt-errors.log"
	return 1
}

mgmt_round() {	# N: one management change, by turns
	case $(($1 % 5)) in
	0) mgmt "still active|already exists" --mode logicalunit --op new \
		--tid 3 --lun 3 -b "$TEST_TMP/extra.img" ;;
	1) mgmt "still active|can't find" --mode logicalunit --op delete \
		--tid 3 --lun 3 ;;
	2) mgmt "" --mode target --op bind --tid 3 -I 10.255.255.1
	   mgmt "" --mode target --op unbind --tid 3 -I 10.255.255.1 ;;
	3) mgmt "" --mode target --op update --tid 3 \
		--name MaxRecvDataSegmentLength --value $((8192 << ($1 % 4))) ;;
	4) mgmt "" --mode target --op new --tid 9 -T "${IQN}x" &&
	   mgmt "" --mode logicalunit --op new --tid 9 --lun 1 \
		-b "$TEST_TMP/extra.img" &&
	   mgmt "" --mode target --op bind --tid 9 -I ALL &&
	   { "$STRESS_IO" hold "$(url "${IQN}x" 1)" >/dev/null 2>&1 &
	     local h=$!; wait_nexus 9 10; mgmt "" --mode target --op delete \
		--force --tid 9; wait_pid_exit "$h" 20 || kill -9 "$h"; wait "$h"; } ;;
	esac
	mgmt "" --op show --mode target >/dev/null
}

# run_cycle N: one daemon lifetime.
run_cycle() {
	local n=$1 end pids=() p rc k=0 secs=$((CYCLE - 10)) fds
	start_daemon || return 1
	setup || fail "cycle $n: setup"
	if [ -s "$STATE" ]; then
		VERIFY_CHECKS=$((VERIFY_CHECKS + 1))
		check "cycle $n: every block acknowledged before reads back" \
			timeout 300 "$VERIFY" check "$(url "${IQN}1" 1)" \
			--state "$STATE" --fresh
	fi
	for k in 0 1; do
		"$STRESS_IO" run "$(url "${IQN}2" 1)" --luns 1,2 --slot "$k" \
			--slots 2 --duration "$secs" --qd 4 --max-blocks 256 \
			--seed $((n * 2 + k)) --tolerate-disconnect \
			--backing "1=$TEST_TMP/t2-l1.img" \
			--backing "2=$TEST_TMP/t2-l2.img" \
			>"$TEST_TMP/io-$n-$k.log" 2>&1 &
		pids+=($!)
	done
	timeout $((secs + 120)) "$VERIFY" write-verify "$(url "${IQN}1" 1)" \
		--seed "$n" --ops 2000 --max-blocks 128 --state "$STATE" \
		--fresh $([ -s "$STATE" ] && echo --resume) \
		>"$TEST_TMP/verify-$n.log" 2>&1 &
	pids+=($!)
	end=$((SECONDS + secs))
	k=0
	while [ "$SECONDS" -lt "$end" ]; do
		if [ $((k % 10)) -eq 0 ]; then
			timeout 120 python3 "$DISCONNECTS" 127.0.0.1 "$PORT" \
				"${IQN}3" 2 20 "$RANDOM" >"$TEST_TMP/drops.log" 2>&1 ||
				{ DROP_FAILS=$((DROP_FAILS + 1)); cat "$TEST_TMP/drops.log"; }
			DROPS=$((DROPS + 20))
		fi
		mgmt_round "$k"
		k=$((k + 1))
		sleep 1
	done
	for p in "${pids[@]}"; do
		wait "$p"
		rc=$?
		IO_SESSIONS=$((IO_SESSIONS + 1))
		[ "$rc" -eq 0 ] && continue
		IO_FAILS=$((IO_FAILS + 1))
		fail "cycle $n: verified I/O process exited $rc" \
			"$(tail -n 5 "$TEST_TMP"/io-"$n"-*.log "$TEST_TMP/verify-$n.log")"
	done
	assert_daemon_alive >/dev/null || fail "cycle $n: daemon died"
	fds=$(fd_count "$DAEMON_PID")
	FDS+=("$fds")
	FD_LINES+=("cycle $n: $fds fds, $(thread_count "$DAEMON_PID") threads, RSS $(
		awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status") kB")
	if [ $((n % 2)) -eq 1 ]; then
		KILLS=$((KILLS + 1))
		# With a write load in flight: a fresh stress-io burst.
		"$STRESS_IO" run "$(url "${IQN}2" 1)" --luns 1 --duration 30 \
			--qd 8 --tolerate-disconnect --seed $((n + 1000)) \
			--backing "1=$TEST_TMP/t2-l1.img" >"$TEST_TMP/kill-$n.log" 2>&1 &
		p=$!
		sleep 2
		kill -9 "$DAEMON_PID"
		wait_daemon_exit "$DAEMON_PID" 10
		wait "$p" || fail "cycle $n: I/O at kill -9 lost acknowledged data" \
			"$(tail -n 5 "$TEST_TMP/kill-$n.log")"
	else
		TERMS=$((TERMS + 1))
		stop_daemon >/dev/null || fail "cycle $n: SIGTERM stop"
	fi
	CYCLES=$((CYCLES + 1))
	echo "# cycle $n done: ${FD_LINES[-1]}"
}

START=$SECONDS
n=1
while [ $((SECONDS - START)) -lt $((MINUTES * 60)) ]; do
	run_cycle "$n" || break
	n=$((n + 1))
done
# A last start: the durable data survives the last stop too.
start_daemon && setup && check "final: every block acknowledged reads back" \
	timeout 300 "$VERIFY" check "$(url "${IQN}1" 1)" --state "$STATE" --fresh
VERIFY_CHECKS=$((VERIFY_CHECKS + 1))
# Every cycle ends idle with the same setup: its fd count must not creep
# up (a few fds of slack for stores that keep or release rings lazily).
for fds in "${FDS[@]}"; do
	[ "$fds" -le $((FDS[0] + 4)) ] && continue
	fail "fd count grew across cycles" "$(printf '%s\n' "${FD_LINES[@]}")"
	break
done

{
	echo "mtgt soak: $(date -u +%FT%TZ), $(((SECONDS - START) / 60)) min," \
		"TGTD=$TGTD"
	echo "cycles: $CYCLES (kill -9: $KILLS, SIGTERM: $TERMS)"
	echo "verified I/O processes: $IO_SESSIONS, failed: $IO_FAILS"
	echo "durability checks after restart: $VERIFY_CHECKS"
	echo "abrupt disconnects: $DROPS, runs failed: $DROP_FAILS"
	echo "management calls: $MGMT_OPS, unexpected errors: $MGMT_FAILS"
	printf '%s\n' "${FD_LINES[@]}"
	echo "checks: $PASSED passed, $FAILED failed"
} | tee "$SUMMARY"
finish
