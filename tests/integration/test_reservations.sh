#!/bin/bash
# Reservations between two real initiators (iscsi-pr, a libiscsi client
# that keeps two sessions with chosen initiator names and ISIDs), and
# persistent reservations with APTPL across a daemon restart.
#   - SPC-2 RESERVE(6): the other initiator conflicts, its RELEASE changes
#     nothing, the reservation ends with the holder's logout;
#   - PERSISTENT RESERVE: Write Exclusive lets the other initiator read
#     but not write, PREEMPT takes the reservation over and the preempted
#     initiator gets REGISTRATIONS PREEMPTED, READ FULL STATUS names both
#     initiator ports;
#   - COMPARE AND WRITE: match, MISCOMPARE, and the data-out size check of
#     libiscsi's CompareAndWrite.InvalidDataOutSize (which needs a LUN
#     with several logical blocks per physical block);
#   - APTPL: registrations and the reservation come back when tgtd is
#     restarted and the same LUN of the same target is created again,
#     and are gone from disk once APTPL is turned off.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

IQN=iqn.2026-01.org.mtgt:reservations
IMG=$TEST_TMP/lun.img
IMG2=$TEST_TMP/lun2.img
STATE_DIR=$TEST_TMP/pr-state	# lib.sh passes it as --pr-state-dir
STATE_FILE="$STATE_DIR/$IQN,lun1.pr"
A=(-n iqn.2026-01.org.mtgt:node-a -s 00023d000001)
B=(-N iqn.2026-01.org.mtgt:node-b -S 00023d000002)
PR=$BUILD_DIR/tests/iscsi-pr

configure() {
	setup_target 1 "$IQN" "$IMG"
	new_lun 1 2 "$IMG2"
	adm "LUN 2: 8 logical blocks per physical block, thin" --lld iscsi \
		--mode logicalunit --op update --tid 1 --lun 2 \
		--params lbppbe=3,thin_provisioning=1
}

# pr NAME ARGS...: runs iscsi-pr on LUN $LUN (default 1) with initiator
# A and B; the output (one line per command) is in $OUT.
pr() {
	local msg=$1
	shift
	check "$msg" timeout -k 5 30 "$PR" "${A[@]}" "${B[@]}" \
		"$(url "$IQN" "${LUN:-1}")" "$@"
}

# expect MESSAGE LINE-NUMBER TEXT: line N of $OUT is TEXT.
expect() {
	assert_eq "$1" "$3" "$(sed -n "${2}p" <<<"$OUT")"
}

if [ ! -x "$PR" ]; then
	fail "iscsi-pr not built ($PR): run make"
	finish
fi
make_sparse "$IMG" 64M
make_sparse "$IMG2" 64M
start_daemon || finish
configure

# ---- SPC-2 RESERVE / RELEASE ----
pr "SPC-2 reservation between two initiators" \
	reserve6 + 2:write 0 1 + 2:release6 + 2:read 0 + 2:reserve6 + read 0
expect "A reserves" 1 GOOD
expect "B cannot write" 2 RESERVATION_CONFLICT
expect "B's RELEASE is GOOD but changes nothing" 3 GOOD
expect "B still cannot read" 4 RESERVATION_CONFLICT
expect "B cannot reserve" 5 RESERVATION_CONFLICT
expect "A can read" 6 "GOOD data=00"
pr "A's logout ended its reservation" 2:reserve6 + 2:release6
expect "B reserves after A logged out" 1 GOOD

# ---- PERSISTENT RESERVE OUT / IN ----
pr "Write Exclusive, then PREEMPT" \
	register-ignore 0xa + 2:register-ignore 0xb + reserve 0xa 1 + \
	2:read 0 + 2:write 0 2 + write 0 3 + \
	2:preempt 0xb 0xa 5 + tur + write 0 4 + read 0 + 2:write 0 5 + \
	2:read-reservation + 2:full-status
expect "A registers" 1 GOOD
expect "B registers" 2 GOOD
expect "A reserves Write Exclusive" 3 GOOD
expect "B reads under Write Exclusive" 4 "GOOD data=00"
expect "B cannot write under Write Exclusive" 5 RESERVATION_CONFLICT
expect "the holder writes" 6 GOOD
expect "B preempts A (WERO)" 7 GOOD
expect "A learns: REGISTRATIONS PREEMPTED" 8 "CHECK 6/2a05"
expect "A, unregistered, cannot write" 9 RESERVATION_CONFLICT
expect "A still reads under WERO" 10 "GOOD data=03"
expect "B, the holder, writes" 11 GOOD
expect "READ RESERVATION: B's key, WERO" 12 "GOOD gen=3 key=0xb type=5"
assert_line "READ FULL STATUS: B holds it, TransportID format 01b" "$OUT" \
	"  key=0xb holder=1 atp=0 type=5 rtpi=1 fmt=1 tid=iqn.2026-01.org.mtgt:node-b,i,0x00023d000002"

# ---- COMPARE AND WRITE ----
pr "COMPARE AND WRITE" 2:caw 0 5 6 + 2:caw 0 5 7 + 2:read 0 + caw 0 6 7
expect "CAW with matching data writes" 1 GOOD
expect "CAW with other data: MISCOMPARE" 2 "CHECK e/1d00"
expect "the miscompare wrote nothing" 3 "GOOD data=06"
expect "A, unregistered under WERO, conflicts" 4 RESERVATION_CONFLICT
# What libiscsi's MultipathIO.CompareAndWrite does (it needs WRITE SAME
# to start from zeros; LUN 2 is fresh): each path in turn swaps the
# block, and the same swap again must miscompare.
LUN=2 pr "COMPARE AND WRITE from two initiators" caw 7 0 1 + caw 7 0 1 + \
	2:caw 7 1 2 + 2:caw 7 1 2 + caw 7 2 3 + 2:read 7
expect "A swaps 0->1" 1 GOOD
expect "A again: MISCOMPARE" 2 "CHECK e/1d00"
expect "B swaps 1->2" 3 GOOD
expect "B again: MISCOMPARE" 4 "CHECK e/1d00"
expect "A swaps 2->3" 5 GOOD
expect "B sees 3" 6 "GOOD data=03"
if command -v iscsi-test-cu >/dev/null; then
	check "iscsi-test-cu CompareAndWrite.InvalidDataOutSize (LUN 2)" \
		timeout -k 5 60 iscsi-test-cu -d \
		-t SCSI.CompareAndWrite.InvalidDataOutSize "$(url "$IQN" 2)"
	assert_not_contains "InvalidDataOutSize was not skipped" "$OUT" \
		SKIPPED
	assert_not_contains "InvalidDataOutSize passed" "$OUT" FAILED
fi

# ---- APTPL across a restart ----
pr "B activates APTPL" 2:register 0xb 0xb aptpl + 2:caps
expect "REGISTER with APTPL" 1 GOOD
expect "PTPL_C and PTPL_A" 2 "GOOD caps=1d91ea01"
check "the state file exists" test -s "$STATE_FILE"
assert_contains "it names B as holder" "$(cat "$STATE_FILE")" \
	"H 00023d000002 iqn.2026-01.org.mtgt:node-b"
stop_daemon
start_daemon || finish
configure
pr "after the restart" read-reservation + read-keys + write 0 8 + \
	2:write 0 9 + 2:read 0
expect "the reservation is back" 1 "GOOD gen=4 key=0xb type=5"
expect "so is the registration" 2 "GOOD gen=4 key=0xb"
expect "A still conflicts" 3 RESERVATION_CONFLICT
expect "B writes" 4 GOOD
expect "B reads its write" 5 "GOOD data=09"
adm "delete LUN 1" --lld iscsi --mode logicalunit --op delete --tid 1 --lun 1
new_lun 1 1 "$IMG"
pr "after the LUN was recreated" read-reservation
expect "the reservation is still there" 1 "GOOD gen=4 key=0xb type=5"
pr "B turns APTPL off" 2:register 0xb 0xb + 2:caps
expect "PTPL_A is clear" 2 "GOOD caps=1d90ea01"
check_rc 1 "the state file is gone" test -e "$STATE_FILE"
stop_daemon
start_daemon || finish
configure
pr "without APTPL a restart forgets" read-reservation + read-keys
expect "no reservation" 1 "GOOD gen=0 none"
expect "no registration" 2 "GOOD gen=0"

assert_daemon_alive
finish
