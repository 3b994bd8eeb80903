#!/bin/bash
# Write data paths under negotiated transfer limits: unsolicited Data-Out
# (InitialR2T=No), no immediate data, small FirstBurstLength and
# MaxBurstLength (many R2Ts per command) and a small MaxRecvDataSegmentLength
# (many Data-Out PDUs per burst). Each variant runs verified random I/O
# with libiscsi through build/tests/iscsi-verify.
. "$(dirname "$0")/lib.sh"

OPS=${OPS:-$((SANITIZED ? 300 : 1000))}
VERIFY=$(verify_tool) || { fail "cannot build iscsi-verify"; finish; }

start_daemon || finish

# variant TID NAME PARAM=VALUE...: a target with those iSCSI parameters.
variant() {
	local tid=$1 name=$2 iqn="iqn.2026-01.org.mtgt:xfer-$2" kv
	shift 2
	make_sparse "$TEST_TMP/$name.img" 32M
	setup_target "$tid" "$iqn" "$TEST_TMP/$name.img"
	for kv in "$@"; do
		adm "target $tid: $kv" --lld iscsi --mode target --op update \
			--tid "$tid" --name "${kv%%=*}" --value "${kv#*=}"
	done
	check "verified I/O with $*" timeout -k 10 600 "$VERIFY" write-verify \
		"$(url "$iqn" 1)" --seed "$tid" --ops "$OPS" \
		--max-blocks "${MAX_BLOCKS:-128}" \
		--state "$TEST_TMP/$name.state" --fresh
	echo "# ${OUT##*$'\n'}"
}

variant 1 unsolicited InitialR2T=No FirstBurstLength=4096 \
	MaxBurstLength=8192 MaxRecvDataSegmentLength=1024
variant 2 r2t-only ImmediateData=No MaxBurstLength=4096 \
	MaxRecvDataSegmentLength=512
variant 3 unsolicited-no-immediate InitialR2T=No ImmediateData=No \
	FirstBurstLength=2048 MaxBurstLength=16384
# Transfers up to 1 MiB, so that Data-Out and immediate data segments
# are larger than 64 KiB (the limit of login and text PDUs).
MAX_BLOCKS=2048 variant 4 big-segments MaxRecvDataSegmentLength=262144 \
	FirstBurstLength=262144 MaxBurstLength=1048576

# The negotiated values must show in the target's parameters.
run "$TGTADM" -C "$CPORT" --lld iscsi --mode target --op show --tid 1
assert_line "InitialR2T updated" "$OUT" "InitialR2T=No"
assert_line "FirstBurstLength updated" "$OUT" "FirstBurstLength=4096"
assert_daemon_alive
finish
