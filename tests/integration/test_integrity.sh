#!/bin/bash
# Data integrity: iscsi-verify writes deterministic patterns at random
# offsets and sizes (some with FUA), reads each write back and the whole
# LUN at the end; then the daemon is restarted on the same files and every
# recorded block is checked again. Three LUNs: a 64 MiB file with the
# default store, an rdwr file with an odd block count, and a 4 KiB-block
# LUN.
#   OPS=N        operations per LUN (default 3000; 1000 under sanitizers)
#   MAX_BLOCKS=N largest write in blocks (default 256)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

OPS=${OPS:-$((SANITIZED ? 1000 : 3000))}
MAX_BLOCKS=${MAX_BLOCKS:-256}
VERIFY=$(verify_tool) || { fail "cannot build iscsi-verify"; finish; }

IQN1=iqn.2026-01.org.mtgt:integrity1
IQN2=iqn.2026-01.org.mtgt:integrity2
IMG1=$TEST_TMP/default-64M.img
IMG2=$TEST_TMP/rdwr-odd.img
IMG3=$TEST_TMP/rdwr-4k.img
ODD_BLOCKS=100003	# prime, not a multiple of any write size

configure() {
	setup_target 1 "$IQN1" "$IMG1"
	setup_target 2 "$IQN2" "$IMG2" rdwr
	adm "add 4 KiB-block LUN 2 to target 2" --lld iscsi \
		--mode logicalunit --op new --tid 2 --lun 2 -b "$IMG3" \
		-E rdwr --blocksize 4096
}

# write_verify NAME URL SEED [EXTRA ARGS]
write_verify() {
	check "write-verify $1 ($OPS ops, up to $MAX_BLOCKS blocks)" \
		timeout -k 10 900 "$VERIFY" write-verify "$2" --seed "$3" --ops "$OPS" \
		--max-blocks "$MAX_BLOCKS" --state "$TEST_TMP/$1.state" "${@:4}"
	echo "# ${OUT##*$'\n'}"
}

verify_check() {	# NAME URL
	check "check $1 after restart" timeout -k 10 900 "$VERIFY" check "$2" \
		--state "$TEST_TMP/$1.state" --fresh
	echo "# ${OUT##*$'\n'}"
}

make_sparse "$IMG1" 64M
make_sparse "$IMG2" $((ODD_BLOCKS * 512))
make_sparse "$IMG3" 16M

start_daemon || finish
configure
write_verify default "$(url "$IQN1" 1)" 1 --fresh
write_verify rdwr-odd "$(url "$IQN2" 1)" 2 --fresh
write_verify rdwr-4k "$(url "$IQN2" 2)" 3 --fresh
assert_daemon_alive
stop_daemon

start_daemon || finish
configure
verify_check default "$(url "$IQN1" 1)"
verify_check rdwr-odd "$(url "$IQN2" 1)"
verify_check rdwr-4k "$(url "$IQN2" 2)"
# More writes over the old ones, then a second restart.
OPS=$((OPS / 3)) write_verify default "$(url "$IQN1" 1)" 1 --fresh --resume
stop_daemon

start_daemon || finish
configure
verify_check default "$(url "$IQN1" 1)"
finish
