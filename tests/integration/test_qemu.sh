#!/bin/bash
# QEMU's iSCSI block driver (libiscsi inside qemu-img): image info, and a
# round trip of a pattern file through the LUN with qemu-img convert.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

IQN=iqn.2026-01.org.mtgt:qemu
IMG=$TEST_TMP/lun.img
SRC=$TEST_TMP/source.raw
BACK=$TEST_TMP/back.raw
MIB=32

if ! command -v qemu-img >/dev/null; then
	fail "qemu-img not installed (Debian: qemu-utils qemu-block-extra)"
	finish
fi

# 8 MiB random, 8 MiB zeros, 8 MiB random, 8 MiB of a text pattern. The
# LUN starts out as 0xff bytes, so a zero range qemu-img fails to write
# shows up in the comparison.
make_source() {
	{
		head -c 8M /dev/urandom
		head -c 8M /dev/zero
		head -c 8M /dev/urandom
		yes "mtgt qemu-img round trip pattern 0123456789" | head -c 8M
	} >"$SRC"
	head -c "${MIB}M" /dev/zero | tr '\0' '\377' >"$IMG"
}

make_source
start_daemon || finish
setup_target 1 "$IQN" "$IMG"
LUN_URL=$(url "$IQN" 1)

check "qemu-img info" timeout -k 10 60 qemu-img info "$LUN_URL"
assert_match "qemu-img info shows the virtual size" "$OUT" \
	"^virtual size: .*\($((MIB * 1024 * 1024)) bytes\)"

check "qemu-img convert file -> LUN" timeout -k 10 300 \
	qemu-img convert -n -f raw -O raw "$SRC" "$LUN_URL"
check "qemu-img convert LUN -> file" timeout -k 10 300 \
	qemu-img convert -f raw -O raw "$LUN_URL" "$BACK"
check "read-back file equals the source" cmp "$SRC" "$BACK"
check "backing file equals the source" cmp "$SRC" "$IMG"
check "qemu-img compare source with the LUN" timeout -k 10 300 \
	qemu-img compare -f raw -F raw "$SRC" "$LUN_URL"
assert_daemon_alive
finish
