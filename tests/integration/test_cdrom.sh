#!/bin/bash
# CD/DVD drives (`-Y cd`, MMC-6): an image of 2048-byte blocks exported
# read-only and an empty drive.
#  - tgtadm: a drive with and without -b; a missing image is refused;
#    `show` says what Debian's tgtd says for the same commands (cd/dvd,
#    removable, store mmc, block size 1, Readonly: No: the disc refuses
#    writes by its format, its image is opened read-only);
#  - libiscsi and QEMU read it: iscsi-inq sees type 5, qemu-img reads the
#    disc back byte for byte;
#  - cdrom_checks.py: TOC, configuration, events, disc and track
#    information, capabilities page, refused writes, eject and load
#    under PREVENT, the empty drive;
#  - the image is never written; tgt-admin --dump gives `device-type
#    cd` and the dump loads back to the same `show`.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

IQN=iqn.2024-01.test.mtgt:cdrom
ISO=$TEST_TMP/disc.iso
TGT_ADMIN=${TGT_ADMIN:-$BUILD_DIR/tgt-admin}
REF_TGTD=${REF_TGTD:-/usr/sbin/tgtd}
REF_TGTADM=${REF_TGTADM:-/usr/sbin/tgtadm}

# A disc of 1000 blocks of 2048 bytes that all differ.
head -c $((1000 * 2048)) /dev/urandom >"$ISO"
SUM=$(md5sum <"$ISO")

# cd_setup: the target with LUN 1 a drive holding the disc, LUN 2 an
# empty drive, open to every initiator (tgtadm of $TGTADM).
cd_setup() {
	new_target 1 "$IQN" &&
		adm "LUN 1: a drive with a disc" --lld iscsi --mode logicalunit \
			--op new --tid 1 --lun 1 -Y cd -b "$ISO" &&
		adm "LUN 2: an empty drive" --lld iscsi --mode logicalunit \
			--op new --tid 1 --lun 2 -Y cd &&
		bind_all 1
}

# The LUN part of `show` (the image's path is the same in both runs).
show_luns() {
	"$TGTADM" -C "$CPORT" --op show --mode target |
		sed -n '/LUN information:/,/Account information:/p'
}

echo "# the drive under Debian's tgtd (reference)"
REF_SHOW=
if [ -x "$REF_TGTD" ] && [ -x "$REF_TGTADM" ]; then
	OUR_TGTD=$TGTD OUR_TGTADM=$TGTADM
	TGTD=$REF_TGTD TGTADM=$REF_TGTADM LEGACY_TGTD=1
	if start_daemon && cd_setup; then
		REF_SHOW=$(show_luns)
	fi
	[ -n "${DAEMON_PID:-}" ] && stop_daemon "$DAEMON_PID"
	TGTD=$OUR_TGTD TGTADM=$OUR_TGTADM LEGACY_TGTD=0
	DAEMON_PID=
else
	skip "Debian's tgt not installed: no show comparison"
fi

echo "# the drive under our tgtd"
start_daemon || finish
cd_setup || finish
run "$TGTADM" -C "$CPORT" --op show --mode target
assert_contains "show: type cd/dvd" "$OUT" "Type: cd/dvd"
assert_contains "show: tgt's block size of a drive" "$OUT" \
	"Size: 2 MB, Block size: 1"
assert_contains "show: removable" "$OUT" "Removable media: Yes"
assert_contains "show: tgt's store name of a drive" "$OUT" \
	"Backing store type: mmc"
if [ -n "$REF_SHOW" ]; then
	OUR_SHOW=$(show_luns)
	if [ "$OUR_SHOW" = "$REF_SHOW" ]; then
		pass "show of the drives is tgt's"
	else
		fail "show of the drives differs from tgt's" \
			"$(diff <(echo "$REF_SHOW") <(echo "$OUR_SHOW"))"
	fi
fi
check_rc 22 "a missing image is refused" "$TGTADM" -C "$CPORT" \
	--lld iscsi --mode logicalunit --op new --tid 1 --lun 3 -Y cd \
	-b "$TEST_TMP/no-such.iso"
assert_contains "... with tgt's message" "$OUT" "tgtadm: invalid request"
check_rc 22 "a tape is still refused" "$TGTADM" -C "$CPORT" \
	--lld iscsi --mode logicalunit --op new --tid 1 --lun 3 -Y tape \
	-b "$ISO"

echo "# libiscsi and QEMU"
check "iscsi-inq" timeout 20 iscsi-inq "$(url "$IQN" 1)"
assert_line "iscsi-inq: peripheral device type 5 (MMC)" "$OUT" \
	"Peripheral Device Type:MMC"
assert_line "iscsi-inq: removable" "$OUT" "Removable:1"
run timeout 30 qemu-img convert -f raw -O raw "$(url "$IQN" 1)" \
	"$TEST_TMP/copy.iso"
if [ "$RC" -eq 0 ] && cmp -s "$ISO" "$TEST_TMP/copy.iso"; then
	pass "qemu-img reads the disc back byte for byte"
else
	fail "qemu-img copy of the disc (exit $RC)" "$OUT"
fi

echo "# MMC commands"
py_checks "cdrom_checks.py" 60 "$HERE/cdrom_checks.py" 127.0.0.1 "$PORT" \
	"$IQN" "$ISO"
assert_eq "the image was never written" "$SUM" "$(md5sum <"$ISO")"

echo "# a disc into the empty drive"
adm "update path= of the empty drive" --lld iscsi --mode logicalunit \
	--op update --tid 1 --lun 2 --params "path=$ISO"
run "$TGTADM" -C "$CPORT" --op show --mode target
assert_contains "LUN 2 holds the disc" "$(sed -n '/LUN: 2/,$p' <<<"$OUT")" \
	"Backing store path: $ISO"
check "LUN 2 reads like LUN 1" timeout 30 qemu-img compare -f raw -F raw \
	"$(url "$IQN" 1)" "$(url "$IQN" 2)"

echo "# tgt-admin --dump round trip"
if [ -x "$TGT_ADMIN" ]; then
	# targets.conf has no empty drive (a backing-store is a path).
	adm "delete the empty drive" --lld iscsi --mode logicalunit \
		--op delete --tid 1 --lun 2
	run "$TGT_ADMIN" -C "$CPORT" --dump
	DUMP=$OUT
	assert_contains "dump: device-type cd" "$DUMP" "device-type cd"
	BEFORE=$(show_luns)
	stop_daemon "$DAEMON_PID"
	start_daemon || finish
	printf '%s\n' "$DUMP" >"$TEST_TMP/dump.conf"
	check "the dump loads" "$TGT_ADMIN" -C "$CPORT" -e \
		-c "$TEST_TMP/dump.conf"
	AFTER=$(show_luns)
	assert_eq "the same drives after the round trip" "$BEFORE" "$AFTER"
fi
assert_daemon_alive
finish
