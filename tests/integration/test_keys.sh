#!/bin/bash
# Every text key of RFC 7143 (and the obsoleted and iSER keys) through
# tests/integration/key_checks.py, a raw initiator: legal and illegal
# values, duplicates, keys in the wrong stage, phase or connection,
# unknown and extension keys, the answer constants offered as values, a
# flood of distinct keys. Meanwhile a libiscsi session reads from the
# same daemon: it must run through, and the daemon must stay up.
. "$(dirname "$0")/lib.sh"

IQN=iqn.2026-01.org.mtgt:keys
TUNED=iqn.2026-01.org.mtgt:keys-tuned

make_sparse "$TEST_TMP/lun1.img" 16M
make_sparse "$TEST_TMP/lun2.img" 16M
start_daemon || finish
setup_target 1 "$IQN" "$TEST_TMP/lun1.img"
setup_target 2 "$TUNED" "$TEST_TMP/lun2.img"
for kv in MaxConnections=4 InitialR2T=No ImmediateData=No \
	DataPDUInOrder=No DataSequenceInOrder=No MaxBurstLength=131072 \
	HeaderDigest=CRC32C; do
	adm "target 2: $kv" --op update --mode target --tid 2 \
		--name "${kv%%=*}" --value "${kv#*=}"
done

# A bystander session reading for the whole test.
PERF_LOG=$TEST_TMP/perf.log
timeout 60 iscsi-perf -m 8 -b 8 -r -t 15 "$(url "$IQN" 1)" >"$PERF_LOG" 2>&1 &
PERF_PID=$!
sleep 1

run timeout 120 python3 "$(dirname "$0")/key_checks.py" 127.0.0.1 "$PORT" \
	"$IQN" "$TUNED"
if [ "$RC" -eq 0 ]; then
	pass "every key answered as RFC 7143 asks ($(tail -n 1 <<<"$OUT"))"
else
	fail "key checks" "$(grep -v "^ok" <<<"$OUT")"
fi
assert_daemon_alive

wait "$PERF_PID"
PERF_RC=$?
if [ "$PERF_RC" -eq 0 ] && grep -q "iops average" "$PERF_LOG"; then
	pass "bystander session ran through the key flood"
else
	fail "bystander session failed (rc $PERF_RC)" "$(tail -c 600 "$PERF_LOG")"
fi
check "a new libiscsi session still works" timeout 30 iscsi-inq \
	"$(url "$IQN" 1)"
check "libiscsi discovery still works" timeout 30 iscsi-ls \
	"iscsi://127.0.0.1:$PORT"
finish
