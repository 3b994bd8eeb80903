#!/bin/bash
# Durability: every write the daemon acknowledged as durable survives
# `kill -9` of the daemon. For each store with storage (aio, the default;
# rdwr; aio with bsoflags direct), one LUN gets writes with FUA and
# nothing else, another gets plain writes followed by one SYNCHRONIZE
# CACHE (iscsi-verify, a libiscsi client, records what was acknowledged).
# The daemon is killed with SIGKILL right after the last acknowledgement,
# restarted on the same files, and every recorded block is read back.
#
# What this proves, honestly: a host that does not lose power keeps its
# page cache when a process dies, so kill -9 shows that acknowledged
# writes had left the daemon (no acknowledgement before submission, no
# data held in the daemon) and reached the kernel. It cannot show that
# they reached the disk. What FUA and SYNCHRONIZE CACHE add beyond that
# (RWF_DSYNC, fdatasync) is checked through the page cache instead: just
# after the kill, no page of those LUNs' files may be dirty or under
# writeback (cachestat(2), Linux 6.5; these checks are skipped without
# it), while a control LUN that got plain writes only still has dirty
# pages, which shows that the check can see them.
#   OPS=N  writes per LUN (default 400; 150 under sanitizers)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

OPS=${OPS:-$((SANITIZED ? 150 : 400))}
VERIFY=$(verify_tool) || { fail "cannot build iscsi-verify"; finish; }
IQN=iqn.2026-01.org.mtgt:durability

# LUN number, name, bs-type, bsoflags, iscsi-verify write options.
LUNS=(
	"1 aio-fua aio - --fua always --no-sync"
	"2 aio-sync aio - --fua never"
	"3 rdwr-fua rdwr - --fua always --no-sync"
	"4 rdwr-sync rdwr - --fua never"
	"5 direct-fua aio direct --fua always --no-sync"
	"6 direct-sync aio direct --fua never"
	"7 control aio - --fua never --no-sync"
)

img() { echo "$TEST_TMP/$1.img"; }

configure() {
	local lun name type flags extra
	adm "create target" --lld iscsi --mode target --op new --tid 1 -T "$IQN"
	for spec in "${LUNS[@]}"; do
		read -r lun name type flags _ <<<"$spec"
		extra=()
		[ "$flags" != - ] && extra=(--bsoflags "$flags")
		adm "LUN $lun: $name" --lld iscsi --mode logicalunit --op new \
			--tid 1 --lun "$lun" -b "$(img "$name")" -E "$type" \
			"${extra[@]}"
	done
	bind_all 1
}

# dirty_pages FILE: pages of FILE dirty or under writeback, or "none"
# when the kernel has no cachestat(2).
dirty_pages() {
	python3 - "$1" <<'PY'
import ctypes, os, sys

class Range(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]

class Stat(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in
                ("cache", "dirty", "writeback", "evicted", "recent")]

libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
whole, st = Range(0, 0), Stat()
NR_CACHESTAT = 451  # the same number on every architecture
if libc.syscall(ctypes.c_long(NR_CACHESTAT), fd, ctypes.byref(whole),
                ctypes.byref(st), 0) < 0:
    print("none")
else:
    print(st.dirty + st.writeback)
PY
}

check_page_cache() {
	local control lun name n
	control=$(dirty_pages "$(img control)")
	if [ "$control" = none ]; then
		skip "dirty-page checks: no cachestat(2) on this kernel"
		return
	fi
	if [ "$control" -eq 0 ]; then
		skip "dirty-page checks: the control LUN's plain writes" \
			"were already written back"
		return
	fi
	pass "control LUN (plain writes) has $control dirty pages"
	for spec in "${LUNS[@]}"; do
		read -r lun name _ <<<"$spec"
		[ "$name" = control ] && continue
		n=$(dirty_pages "$(img "$name")")
		assert_eq "LUN $lun ($name): nothing dirty after the acks" 0 "$n"
	done
}

for spec in "${LUNS[@]}"; do
	read -r _ name _ <<<"$spec"
	make_sparse "$(img "$name")" 32M
done

start_daemon || finish
configure
for spec in "${LUNS[@]}"; do
	read -r lun name _ _ opts <<<"$spec"
	# shellcheck disable=SC2086 # opts are several words
	check "write $name ($OPS writes, no read-back)" timeout -k 10 120 \
		"$VERIFY" write-verify "$(url "$IQN" "$lun")" --seed "$lun" \
		--ops "$OPS" --max-blocks 128 --state "$TEST_TMP/$name.state" \
		--fresh --no-readback $opts
	echo "# ${OUT##*$'\n'}"
done
# Right after the last acknowledgement: no flush, no shutdown.
kill -9 "$DAEMON_PID"
wait_pid_exit "$DAEMON_PID" 10
wait "$DAEMON_PID" 2>/dev/null
forget_daemon "$DAEMON_PID"
pass "daemon killed with SIGKILL"
check_page_cache

start_daemon || finish
configure
for spec in "${LUNS[@]}"; do
	read -r lun name _ <<<"$spec"
	check "every acknowledged block of $name after kill -9" \
		timeout -k 10 120 "$VERIFY" check "$(url "$IQN" "$lun")" \
		--state "$TEST_TMP/$name.state" --fresh
	echo "# ${OUT##*$'\n'}"
done
stop_daemon
finish
