#!/bin/bash
# Malformed and hostile PDUs (tests/integration/hostile_pdus.py) against a
# live daemon while a well-behaved libiscsi session does I/O on the same
# target: every bad request gets its own clear answer, the daemon and the
# other session keep running, and a rejected write changes nothing.
. "$(dirname "$0")/lib.sh"

IQN=iqn.2026-01.org.mtgt:hostile
IMG=$TEST_TMP/lun.img
BLOCKS=65536

make_sparse "$IMG" $((BLOCKS * 512))
make_sparse "$TEST_TMP/lun2.img" 1M
start_daemon || finish
setup_target 1 "$IQN" "$IMG"
# A second target that asks for CHAP.
setup_target 2 "$IQN-chap" "$TEST_TMP/lun2.img"
adm "account for target 2" --lld iscsi --mode account --op new \
	--user hostile --password hostile-secret
adm "bind the account to target 2" --lld iscsi --mode account --op bind \
	--tid 2 --user hostile

# A bystander session reading for the whole test.
PERF_LOG=$TEST_TMP/perf.log
timeout -k 10 60 iscsi-perf -m 16 -b 8 -r -t 20 "$(url "$IQN" 1)" >"$PERF_LOG" 2>&1 &
PERF_PID=$!
sleep 1

run timeout 120 python3 "$(dirname "$0")/hostile_pdus.py" 127.0.0.1 "$PORT" \
	"$IQN" "$IMG" "$BLOCKS" "$IQN-chap"
if [ "$RC" -eq 0 ]; then
	pass "hostile PDUs answered correctly ($(tail -n 1 <<<"$OUT"))"
else
	fail "hostile PDU checks" "$OUT"
fi
assert_daemon_alive

wait "$PERF_PID"
PERF_RC=$?
if [ "$PERF_RC" -eq 0 ] && grep -q "iops average" "$PERF_LOG"; then
	pass "bystander session ran through without errors"
else
	fail "bystander session failed (rc $PERF_RC)" "$(tail -c 600 "$PERF_LOG")"
fi
check "a new session still works" timeout 30 iscsi-inq "$(url "$IQN" 1)"
finish
