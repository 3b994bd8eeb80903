#!/bin/bash
# CRC32C header and data digests, negotiated per connection: libiscsi
# and QEMU move data with header digests, tests/integration/
# digest_checks.py writes and reads back with both digests and injects
# corrupted ones (connection closed on a bad header digest, Reject and no
# write on a bad data digest).
. "$(dirname "$0")/lib.sh"

IQN1=iqn.2026-01.org.mtgt:digest1
IQN2=iqn.2026-01.org.mtgt:digest2
IMG1=$TEST_TMP/1.img
make_sparse "$IMG1" 32M
make_sparse "$TEST_TMP/2.img" 16M
start_daemon || finish
setup_target 1 "$IQN1" "$IMG1"
setup_target 2 "$IQN2" "$TEST_TMP/2.img"
for key in HeaderDigest DataDigest; do
	adm "target 1: $key CRC32C" --lld iscsi --mode target --op update \
		--tid 1 --name "$key" --value CRC32C
done
run "$TGTADM" -C "$CPORT" --lld iscsi --mode target --op show --tid 1
assert_line "HeaderDigest shown as CRC32C" "$OUT" "HeaderDigest=CRC32C"
assert_line "DataDigest shown as CRC32C" "$OUT" "DataDigest=CRC32C"

# QEMU's iscsi driver offering HeaderDigest=CRC32C alone, on a LUN 2 of
# its own size.
make_sparse "$TEST_TMP/qemu.img" 4M
new_lun 1 2 "$TEST_TMP/qemu.img"
QEMU_JSON="json:{\"file.driver\":\"iscsi\",\"file.transport\":\"tcp\",\
\"file.portal\":\"127.0.0.1:$PORT\",\"file.target\":\"$IQN1\",\
\"file.lun\":2,\"file.header-digest\":\"crc32c\"}"
dd if=/dev/urandom of="$TEST_TMP/src.img" bs=1M count=4 status=none
check "qemu-img writes 4 MiB with header digests" timeout 60 qemu-img \
	convert -n -f raw -O raw "$TEST_TMP/src.img" "$QEMU_JSON"
check "qemu-img reads them back equal" timeout 60 qemu-img compare \
	-f raw -F raw "$TEST_TMP/src.img" "$QEMU_JSON"

# libiscsi's tools offer HeaderDigest=None,CRC32C (DataDigest=None), and
# the target picks CRC32C when it is enabled (digest_checks.py checks that
# answer).
check "libiscsi inquiry with header digests" timeout 20 iscsi-inq \
	"$(url "$IQN1" 1)"
VERIFY=$(verify_tool) || { fail "cannot build iscsi-verify"; finish; }
check "verified random I/O with header digests (libiscsi)" timeout -k 10 120 \
	"$VERIFY" write-verify "$(url "$IQN1" 1)" --seed 6 \
	--ops $((SANITIZED ? 200 : 600)) --max-blocks 256 \
	--state "$TEST_TMP/verify.state" --fresh
echo "# ${OUT##*$'\n'}"

run timeout 120 python3 "$(dirname "$0")/digest_checks.py" 127.0.0.1 \
	"$PORT" "$IQN1" "$IQN2" "$IMG1"
if [ "$RC" -eq 0 ]; then
	pass "raw digest checks ($(tail -n 1 <<<"$OUT"))"
else
	fail "raw digest checks" "$OUT"
fi
assert_contains "header digest error logged" "$(cat "$DAEMON_LOG")" \
	"header digest error"
assert_daemon_alive
finish
