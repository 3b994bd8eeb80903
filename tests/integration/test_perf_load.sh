#!/bin/bash
# Load: iscsi-perf with 128 random 16 KiB READs in flight for DURATION
# seconds against a file LUN, while tgtadm keeps querying the daemon
# (management must not stall behind a busy target). Fails if iscsi-perf
# reports an error, a tgtadm call fails or hangs, or the daemon dies.
#   DURATION=N   seconds of load (default 30; 15 under sanitizers)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-$((SANITIZED ? 15 : 30))}
MGMT_TIMEOUT=${MGMT_TIMEOUT:-10}
IQN=iqn.2026-01.org.mtgt:perf
IMG=$TEST_TMP/lun.img
PERF_LOG=$TEST_TMP/iscsi-perf.log

# Polls `tgtadm --op show --mode target` once a second while PID runs;
# prints "CALLS FAILURES SLOWEST_MS".
poll_management() {
	local pid=$1 calls=0 failures=0 slowest=0 t0 ms
	while pid_running "$pid"; do
		t0=$(date +%s%N)
		timeout -k 10 "$MGMT_TIMEOUT" "$TGTADM" -C "$CPORT" --op show \
			--mode target >/dev/null 2>&1 || failures=$((failures + 1))
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -gt "$slowest" ] && slowest=$ms
		calls=$((calls + 1))
		sleep 1
	done
	echo "$calls $failures $slowest"
}

make_sparse "$IMG" 256M
start_daemon || finish
setup_target 1 "$IQN" "$IMG"

echo "# iscsi-perf -m 128 -b 32 -r -t $DURATION (16 KiB random reads)"
timeout -k 10 $((DURATION + 60)) iscsi-perf -m 128 -b 32 -r -t "$DURATION" \
	"$(url "$IQN")" </dev/null >"$PERF_LOG" 2>&1 &
PERF_PID=$!
HELPER_PIDS+=("$PERF_PID")
read -r CALLS MFAIL SLOWEST < <(poll_management "$PERF_PID")
wait "$PERF_PID"
RC=$?
PERF_OUT=$(tr '\r' '\n' <"$PERF_LOG")

if [ "$RC" -eq 0 ]; then
	pass "iscsi-perf exited 0"
else
	fail "iscsi-perf exited $RC" "$PERF_OUT"
fi
assert_contains "iscsi-perf connected" "$PERF_OUT" "connected to"
assert_not_contains "iscsi-perf reported no error" "$PERF_OUT" "failed"
assert_contains "iscsi-perf finished its run" "$PERF_OUT" "finished."
echo "# $(grep 'iops average' <<<"$PERF_OUT" | tail -n 1 | sed 's/  */ /g')"
assert_eq "tgtadm calls failing or slower than ${MGMT_TIMEOUT}s under load" \
	0 "$MFAIL"
echo "# management: $CALLS calls during the load, slowest ${SLOWEST} ms"
assert_daemon_alive
finish
