#!/bin/bash
# PDU streams a raw initiator (tests/integration/stream_checks.py) may
# send and the target must keep in bounds: a flood of immediate SCSI
# commands, Data-Out sequences cut short by the F bit.
. "$(dirname "$0")/lib.sh"

IQN=iqn.2026-01.org.mtgt:streams

make_sparse "$TEST_TMP/lun.img" 64M
start_daemon || finish
setup_target 1 "$IQN" "$TEST_TMP/lun.img"
# Unsolicited data when the initiator asks for it (InitialR2T is an OR).
adm "InitialR2T=No on target 1" --op update --mode target --tid 1 \
	--name InitialR2T --value No
run timeout 120 python3 "$(dirname "$0")/stream_checks.py" 127.0.0.1 \
	"$PORT" "$IQN" "$DAEMON_PID"
if [ "$RC" -eq 0 ]; then
	pass "PDU stream checks ($(tail -n 1 <<<"$OUT"))"
else
	fail "PDU stream checks" "$OUT"
fi
assert_daemon_alive
check "a new session still works" timeout 30 iscsi-inq "$(url "$IQN" 1)"
finish
