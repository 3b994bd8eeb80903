#!/bin/bash
# Task management: tests/integration/tmf_checks.py drives every TMF
# function with a raw initiator (aborts of commands waiting for Data-Out
# and inside the backing store, RefCmdSN rules, unit attentions on the
# other I_T nexuses, cold reset ending every session), and libiscsi's
# iSCSI.iSCSITMF suite runs repeatedly, since an abort answered while the
# aborted write still sent its status crashed its client only now and then.
. "$(dirname "$0")/lib.sh"

IQN=iqn.2026-01.org.mtgt:tmf
make_sparse "$TEST_TMP/lun1.img" 64M
make_sparse "$TEST_TMP/lun2.img" 16M
start_daemon || finish
setup_target 1 "$IQN" "$TEST_TMP/lun1.img"
new_lun 1 2 "$TEST_TMP/lun2.img"

run timeout 120 python3 "$(dirname "$0")/tmf_checks.py" 127.0.0.1 "$PORT" \
	"$IQN"
if [ "$RC" -eq 0 ]; then
	pass "raw TMF checks ($(tail -n 1 <<<"$OUT"))"
else
	fail "raw TMF checks" "$OUT"
fi
run "$TGTADM" -C "$CPORT" --op show --mode target
assert_not_contains "no session left after the cold reset and logouts" \
	"$OUT" "I_T nexus:"

if command -v iscsi-test-cu >/dev/null; then
	bad=0
	for i in $(seq 10); do
		run timeout 60 iscsi-test-cu -d -S -t iSCSI.iSCSITMF \
			"$(url "$IQN")" "$(url "$IQN")"
		if [ "$RC" -ne 0 ] || ! grep -q "tests.*2.*2.*2.*0" <<<"$OUT"; then
			bad=1
			break
		fi
	done
	if [ "$bad" = 0 ]; then
		pass "iscsi-test-cu iSCSI.iSCSITMF passes 10 times in a row"
	else
		fail "iscsi-test-cu iSCSI.iSCSITMF (run $i)" "$OUT"
	fi
else
	skip "iscsi-test-cu not installed"
fi
assert_daemon_alive
finish
