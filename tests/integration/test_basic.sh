#!/bin/bash
# Basic behaviour seen from libiscsi's tools and from tgtadm: discovery,
# INQUIRY and VPD pages, capacity, the show listing, management errors,
# shutdown by `--op delete --mode system` and by SIGTERM with a session
# logged in, and two daemons side by side.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

IQN1=iqn.2026-01.org.mtgt:basic1
IQN2=iqn.2026-01.org.mtgt:basic2
IQNB=iqn.2026-01.org.mtgt:side-b
IMG1=$TEST_TMP/lun1.img
IMG2=$TEST_TMP/lun2.img
IMGB=$TEST_TMP/side-b.img
SIZE1=20971520		# 20 MiB; tgt shows it as "21 MB"

# tgtadm_err MESSAGE EXPECTED_STDERR ARGS...: must fail with 22 and print
# exactly EXPECTED_STDERR.
tgtadm_err() {
	local msg=$1 want=$2
	shift 2
	check_rc 22 "$msg: exit 22" "$TGTADM" -C "$CPORT" "$@" &&
		assert_line "$msg: message" "$OUT" "$want"
}

test_discovery() {
	local portal=iscsi://127.0.0.1:$PORT
	check "iscsi-ls discovery" timeout -k 10 30 iscsi-ls "$portal"
	assert_line "discovery lists target 1" "$OUT" \
		"Target:$IQN1 Portal:127.0.0.1:$PORT,1"
	check "iscsi-ls -s" timeout -k 10 30 iscsi-ls -s "$portal"
	assert_match "iscsi-ls -s shows LUN 1 as a disk" "$OUT" \
		'^Lun:1 +Type:DIRECT_ACCESS \(Size:'
	assert_match "iscsi-ls -s shows the null LUN 2" "$OUT" \
		'^Lun:2 +Type:DIRECT_ACCESS'
}

test_inquiry() {
	local show=$1 sn id
	check "standard INQUIRY" timeout -k 10 30 iscsi-inq "$(url "$IQN1")"
	assert_line "INQUIRY: direct access device" "$OUT" \
		"Peripheral Device Type:DIRECT_ACCESS"
	assert_match "INQUIRY: vendor IET" "$OUT" '^Vendor:IET *$'
	assert_match "INQUIRY: product VIRTUAL-DISK" "$OUT" \
		'^Product:VIRTUAL-DISK *$'
	# iscsi-inq parses -c as a decimal integer: 128 = 0x80, 131 = 0x83.
	sn=$(sed -n '/^        LUN: 1$/,/^        LUN: /s/^ *SCSI SN: //p' <<<"$show")
	id=$(sed -n '/^        LUN: 1$/,/^        LUN: /s/^ *SCSI ID: //p' <<<"$show")
	check "VPD 0x80 (unit serial number)" timeout -k 10 30 \
		iscsi-inq -e 1 -c 128 "$(url "$IQN1")"
	assert_match "VPD 0x80 holds the SCSI SN '$sn' of the show output" \
		"$OUT" "^Unit Serial Number:\[ *$sn\]$"
	check "VPD 0x83 (device identification)" timeout -k 10 30 \
		iscsi-inq -e 1 -c 131 "$(url "$IQN1")"
	assert_line "VPD 0x83 holds the SCSI ID '$id' of the show output" \
		"$OUT" "Designator:[$id]"
	check "supported VPD pages" timeout -k 10 30 \
		iscsi-inq -e 1 -c 0 "$(url "$IQN1")"
	assert_line "VPD 0x00 lists page 0x83" "$OUT" \
		"Page:0x83 DEVICE_IDENTIFICATION"
}

test_capacity() {
	check "READ CAPACITY(16) LUN 1" timeout -k 10 30 \
		iscsi-readcapacity16 "$(url "$IQN1" 1)"
	assert_line "capacity equals the file size" "$OUT" \
		"Total size:$(stat -c %s "$IMG1")"
	assert_line "block length 512" "$OUT" "LOGICAL BLOCK LENGTH IN BYTES:512"
	check "READ CAPACITY(16) of the null LUN 2" timeout -k 10 30 \
		iscsi-readcapacity16 "$(url "$IQN1" 2)"
	check "INQUIRY of the null LUN 2" timeout -k 10 30 iscsi-inq "$(url "$IQN1" 2)"
}

test_show() {
	local show=$1
	assert_line "show: target line" "$show" "Target 1: $IQN1"
	assert_line "show: driver" "$show" "        Driver: iscsi"
	assert_line "show: state" "$show" "        State: ready"
	assert_line "show: LUN 0 controller" "$show" "            Type: controller"
	assert_line "show: LUN 1" "$show" "        LUN: 1"
	assert_line "show: LUN 1 SCSI ID" "$show" \
		"            SCSI ID: IET     00010001"
	assert_line "show: LUN 1 SCSI SN" "$show" "            SCSI SN: beaf11"
	assert_line "show: LUN 1 size" "$show" \
		"            Size: 21 MB, Block size: 512"
	assert_line "show: backing store path" "$show" \
		"            Backing store path: $IMG1"
	# No -E: the default store, io_uring under tgt's name aio.
	assert_line "show: default backing store type aio" "$show" \
		"            Backing store type: aio"
	assert_line "show: null LUN 2 type" "$show" \
		"            Backing store type: null"
	assert_line "show: empty flags keep the trailing space" "$show" \
		"            Backing store flags: "
	assert_line "show: ACL header" "$show" "    ACL information:"
	assert_line "show: ACL ALL" "$show" "        ALL"
}

test_second_target() {
	local portal=iscsi://127.0.0.1:$PORT
	make_sparse "$IMG2" 8M
	setup_target 2 "$IQN2" "$IMG2" rdwr
	run "$TGTADM" -C "$CPORT" --op show --mode target
	assert_line "show: -E rdwr gives the rdwr store" "$OUT" \
		"            Backing store type: rdwr"
	check "iscsi-ls with two targets" timeout -k 10 30 iscsi-ls "$portal"
	assert_contains "discovery lists target 2" "$OUT" "Target:$IQN2 "
	assert_contains "discovery still lists target 1" "$OUT" "Target:$IQN1 "
	check "READ CAPACITY(16) on target 2" timeout -k 10 30 \
		iscsi-readcapacity16 "$(url "$IQN2")"
	assert_line "target 2 capacity" "$OUT" "Total size:8388608"
	adm "delete target 2" --lld iscsi --mode target --op delete --tid 2
	check "iscsi-ls after deleting target 2" timeout -k 10 30 iscsi-ls "$portal"
	assert_not_contains "target 2 gone from discovery" "$OUT" "$IQN2"
	run "$TGTADM" -C "$CPORT" --op show --mode target
	assert_not_contains "target 2 gone from show" "$OUT" "Target 2:"
}

test_mgmt_errors() {
	local na="tgtadm: can't find the target"
	tgtadm_err "existing tid" "tgtadm: this target already exists" \
		--lld iscsi --mode target --op new --tid 1 -T iqn.2026-01.org.mtgt:x
	tgtadm_err "existing name" "tgtadm: this target already exists" \
		--lld iscsi --mode target --op new --tid 5 -T "$IQN1"
	tgtadm_err "bad target name" "tgtadm: invalid request" \
		--lld iscsi --mode target --op new --tid 6 -T iqn.bad_name
	tgtadm_err "delete unknown tid" "$na" \
		--lld iscsi --mode target --op delete --tid 99
	tgtadm_err "show unknown tid" "$na" \
		--lld iscsi --mode target --op show --tid 99
	tgtadm_err "LUN on unknown tid" "$na" \
		--lld iscsi --mode logicalunit --op new --tid 99 --lun 1 -b "$IMG1"
	tgtadm_err "existing LUN" \
		"tgtadm: this logical unit number already exists" \
		--lld iscsi --mode logicalunit --op new --tid 1 --lun 1 -b "$IMG1"
	tgtadm_err "missing backing file" "tgtadm: invalid request" \
		--lld iscsi --mode logicalunit --op new --tid 1 --lun 7 \
		-b "$TEST_TMP/does-not-exist.img"
	tgtadm_err "system delete with targets" "tgtadm: invalid request" \
		--op delete --mode system
	# Disks and CD/DVD drives (test_cdrom.sh) are emulated: other
	# device types are refused, never turned into a disk behind the
	# administrator's back.
	tgtadm_err "tape LUN refused" "tgtadm: invalid request" \
		--lld iscsi --mode logicalunit --op new --tid 1 --lun 7 \
		-b "$IMG1" -Y tape
	run "$TGTADM" -C "$CPORT" --op show --mode target
	assert_not_contains "no LUN 7 after the refusal" "$OUT" "LUN: 7"
	assert_contains "the refusal is logged" "$(cat "$DAEMON_LOG")" \
		"device type 0x01 is not supported"
	adm "CD/DVD LUN accepted" --lld iscsi --mode logicalunit --op new \
		--tid 1 --lun 7 -b "$IMG1" -Y cd
	run "$TGTADM" -C "$CPORT" --op show --mode target
	assert_contains "LUN 7 is a CD/DVD drive" "$OUT" "Type: cd/dvd"
	adm "delete the CD/DVD LUN" --lld iscsi --mode logicalunit \
		--op delete --tid 1 --lun 7
	assert_daemon_alive
}

# Daemon B on its own ports must not see or disturb daemon A.
test_side_by_side() {
	local pa=$PORT ca=$CPORT pida=$DAEMON_PID pb cb
	start_daemon || return
	pb=$PORT cb=$CPORT
	make_sparse "$IMGB" 4M
	setup_target 1 "$IQNB" "$IMGB"
	check "iscsi-ls on daemon B" timeout -k 10 30 iscsi-ls "iscsi://127.0.0.1:$pb"
	assert_contains "B lists its target" "$OUT" "Target:$IQNB "
	assert_not_contains "B does not list A's target" "$OUT" "$IQN1"
	check "iscsi-ls on daemon A" timeout -k 10 30 iscsi-ls "iscsi://127.0.0.1:$pa"
	assert_not_contains "A does not list B's target" "$OUT" "$IQNB"
	run "$TGTADM" -C "$ca" --op show --mode target
	assert_line "A's tgtadm shows A's target 1" "$OUT" "Target 1: $IQN1"
	run "$TGTADM" -C "$cb" --op show --mode target
	assert_line "B's tgtadm shows B's target 1" "$OUT" "Target 1: $IQNB"
	check "READ CAPACITY(16) on B" timeout -k 10 30 \
		iscsi-readcapacity16 "$(url "$IQNB")"
	stop_daemon "$DAEMON_PID"
	assert_daemon_alive "$pida"
	PORT=$pa CPORT=$ca DAEMON_PID=$pida
}

test_system_delete() {
	local pid=$DAEMON_PID
	adm "delete target 1" --lld iscsi --mode target --op delete --tid 1
	check "system delete without targets" timeout -k 10 20 \
		"$TGTADM" -C "$CPORT" --op delete --mode system
	if wait_daemon_exit "$pid" 10; then
		assert_eq "daemon exit status after system delete" 0 "$DAEMON_RC"
	else
		fail "daemon still running 10s after system delete"
		stop_daemon "$pid"
	fi
}

# SIGTERM must stop the daemon (status 0) even with a session logged in.
test_sigterm_with_session() {
	local pid
	start_daemon || return
	pid=$DAEMON_PID
	make_sparse "$IMG1" 20M
	setup_target 1 "$IQN1" "$IMG1"
	hold_session "$(url "$IQN1")" "$TEST_TMP/session.log"
	if ! wait_nexus 1 15; then
		fail "no I_T nexus listed for the held session" \
			"$(cat "$TEST_TMP/session.log")"
		return
	fi
	pass "session logged in (I_T nexus listed)"
	tgtadm_err "delete target with a session" \
		"tgtadm: this target is still active" \
		--lld iscsi --mode target --op delete --tid 1
	if [ "$LEGACY_TGTD" = 1 ]; then
		skip "SIGTERM with a session: legacy tgtd ignores SIGTERM"
		stop_daemon "$pid"
	else
		stop_daemon "$pid"
	fi
	stop_helper "$SESSION_PID"
}

start_daemon || finish
make_sparse "$IMG1" "$SIZE1"
setup_target 1 "$IQN1" "$IMG1"
new_lun 1 2 /dev/null null
run "$TGTADM" -C "$CPORT" --lld iscsi --op show --mode target
SHOW=$OUT
test_show "$SHOW"
test_discovery
test_inquiry "$SHOW"
test_capacity
test_second_target
test_mgmt_errors
test_side_by_side
test_system_delete
test_sigterm_with_session
finish
