#!/bin/bash
# Regenerates the seed corpora in tests/fuzz/corpus/ from real traffic:
#   pdu   initiator byte streams of libiscsi sessions (discovery, login,
#         INQUIRY/VPD, capacity, and a selection of iscsi-test-cu tests),
#         recorded by record.py between the client and build/tgtd
#   cdb   the SCSI Command PDUs of those streams (seeds.py cdb)
#   mgmt  the requests tgtadm sends for the commands of
#         tests/fuzz/mgmt-commands.txt (seeds.py mgmt)
#   conf  Debian's targets.conf examples and the files test_tgt_admin.sh
#         writes (the original description's, a rich one, broken ones)
# A developer tool: run it after protocol changes and commit the result.
# With build-fuzz built (make fuzz-smoke), seeds are minimized by coverage.
# The targets must match fuzz_pdu.c's: FUZZ_TARGET (digests allowed) and
# FUZZ_CHAP_TARGET (CHAP accounts), each with LUN 1 on null.
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

FUZZ_DIR=$ROOT/tests/fuzz
CORPUS=$FUZZ_DIR/corpus
IQN=iqn.2026-01.org.mtgt:fuzz
CHAP_IQN=iqn.2026-01.org.mtgt:fuzz-chap
STREAMS=$TEST_TMP/streams
TESTS="SCSI.TestUnitReady SCSI.Inquiry.Standard SCSI.Inquiry.SupportedVPD
SCSI.Read10.Simple SCSI.Write10.Simple SCSI.Read16.Simple SCSI.Write16.Simple
SCSI.ReadCapacity10.Simple SCSI.ReadCapacity16.Simple SCSI.ModeSense6.AllPages
SCSI.ReportSupportedOpcodes.Simple SCSI.Verify10.Simple SCSI.SynchronizeCache10.Simple
SCSI.PreventAllow.Simple SCSI.StartStopUnit.Simple iSCSI.iSCSIcmdsn.iSCSICmdSnTooHigh
iSCSI.iSCSIcmdsn.iSCSICmdSnTooLow iSCSI.iSCSITMF.AbortTaskSimpleAsync
iSCSI.iSCSIResiduals.Read10Invalid iSCSI.iSCSIResiduals.Write10Residuals
SCSI.ReportLUNs.Simple SCSI.Unmap.Simple SCSI.WriteSame10.Simple
SCSI.CompareAndWrite.Simple SCSI.PersistentReserveIn.ReadKeys"

record_pdu_streams() {
	local pport i
	start_daemon || return 1
	for tid in 1 2; do
		adm "target $tid" --op new --mode target --tid $tid \
			-T "$([ $tid = 1 ] && echo "$IQN" || echo "$CHAP_IQN")"
		adm "lun" --op new --mode logicalunit --tid $tid --lun 1 \
			-E null -b none
		adm "acl" --op bind --mode target --tid $tid -I ALL
	done
	adm "header digests" --op update --mode target --tid 1 \
		--name HeaderDigest --value CRC32C
	adm "data digests" --op update --mode target --tid 1 \
		--name DataDigest --value CRC32C
	adm "account" --op new --mode account --user fuzzuser \
		--password fuzz-secret-12
	adm "target account" --op new --mode account --user fuzztarget \
		--password fuzz-target-12
	adm "bind" --op bind --mode account --tid 2 --user fuzzuser
	adm "bind outgoing" --op bind --mode account --tid 2 \
		--user fuzztarget --outgoing
	pport=$((PORT + 1))
	tcp_port_free "$pport" || pport=$((PORT + 2))
	python3 "$FUZZ_DIR/record.py" "$pport" "$PORT" "$STREAMS" &
	local rec=$!
	sleep 0.5
	local url=iscsi://127.0.0.1:$pport
	timeout -k 5 20 iscsi-ls -s "$url" >/dev/null
	timeout -k 5 20 iscsi-inq "$url/$IQN/1" >/dev/null
	for page in 0x00 0x80 0x83 0xb0 0xb1 0xb2; do
		timeout -k 5 20 iscsi-inq -e 1 -c "$page" "$url/$IQN/1" >/dev/null
	done
	timeout -k 5 20 iscsi-readcapacity16 "$url/$IQN/1" >/dev/null
	timeout -k 5 20 iscsi-inq "$url/$IQN/1?header_digest=crc32c" >/dev/null
	timeout -k 5 20 iscsi-inq \
		"iscsi://fuzzuser%fuzz-secret-12@127.0.0.1:$pport/$CHAP_IQN/1" \
		>/dev/null
	timeout -k 5 20 iscsi-readcapacity16 \
		"iscsi://fuzzuser%fuzz-secret-12@127.0.0.1:$pport/$CHAP_IQN/1?target_user=fuzztarget&target_password=fuzz-target-12" \
		>/dev/null
	for i in $TESTS; do
		timeout -k 5 60 iscsi-test-cu -d -t "$i" "$url/$IQN/1" \
			>/dev/null 2>&1
	done
	sleep 1
	kill "$rec"
	wait "$rec" 2>/dev/null
	stop_daemon
}

record_mgmt_requests() {
	local sock=$TEST_TMP/mgmt.sock line srv
	python3 "$FUZZ_DIR/seeds.py" mgmt "$sock.0" "$CORPUS/mgmt" &
	srv=$!
	sleep 0.5
	while read -r line; do
		[ -z "$line" ] || [ "${line:0:1}" = "#" ] && continue
		# shellcheck disable=SC2086 # the line is a tgtadm argument list
		TGT_IPC_SOCKET=$sock timeout -k 5 5 "$TGTADM" -C 0 $line \
			>/dev/null 2>&1
	done <"$FUZZ_DIR/mgmt-commands.txt"
	kill "$srv"
	wait "$srv" 2>/dev/null
}

collect_confs() {
	local tmp f
	KEEP_TMP=1 "$ROOT/tests/integration/test_tgt_admin.sh" >"$TEST_TMP/ta.log" 2>&1
	tmp=$(sed -n 's/^# logs and files kept in \(.*\)$/\1/p' "$TEST_TMP/ta.log" | tail -1)
	for f in /usr/share/doc/tgt/examples/targets.conf.* \
		$(find "${tmp:-/nonexistent}" -name '*.conf' 2>/dev/null); do
		cp "$f" "$CORPUS/conf/$(sha1sum "$f" | cut -c1-40)"
	done
	[ -n "$tmp" ] && rm -rf "$tmp"
}

rm -rf "$CORPUS"
mkdir -p "$CORPUS/pdu" "$CORPUS/cdb" "$CORPUS/mgmt" "$CORPUS/conf"
record_pdu_streams
for f in "$STREAMS"/*.bin; do
	cp "$f" "$CORPUS/pdu/$(sha1sum "$f" | cut -c1-40)"
done
python3 "$FUZZ_DIR/seeds.py" cdb "$STREAMS" "$CORPUS/cdb"
record_mgmt_requests
collect_confs
# Keep only seeds that add coverage (needs `make fuzzers` in build-fuzz).
for d in pdu cdb mgmt conf; do
	bin=$ROOT/build-fuzz/fuzz/fuzz_$d
	[ -x "$bin" ] || continue
	mkdir -p "$TEST_TMP/min-$d"
	"$bin" -merge=1 -max_len=65536 "$TEST_TMP/min-$d" "$CORPUS/$d" \
		>"$TEST_TMP/merge-$d.log" 2>&1 &&
		rm -rf "${CORPUS:?}/$d" && mv "$TEST_TMP/min-$d" "$CORPUS/$d"
done
for d in pdu cdb mgmt conf; do
	echo "# $d: $(find "$CORPUS/$d" -type f | wc -l) seeds"
done
finish
