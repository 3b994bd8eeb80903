# shellcheck shell=bash disable=SC2034 # variables are read by the tests
# Helpers sourced by the integration tests (tests/integration/test_*.sh).
#
# Environment:
#   BUILD     build directory (default: build), relative to the repository
#   TGTD      daemon under test   (default: $BUILD/tgtd)
#   TGTADM    management CLI      (default: $BUILD/tgtadm)
#   LEGACY_TGTD=1  the daemon ignores SIGTERM (Debian's tgt); detected
#             automatically for /usr/sbin/tgtd. Stopping then falls back to
#             deleting the targets, `--op delete --mode system` and kill -9.
#   KEEP_TMP=1     keep the per-test temporary directory.
#   TGTD_WRAPPER   command words put before "$TGTD" (e.g. nsenter into a
#             mount namespace); it must exec the daemon so that the PID
#             stays the daemon's.
#   TGTD_CHECKER   like TGTD_WRAPPER, after it, but only for mtgt's daemon,
#             not for Debian's tgtd run beside it for comparison (valgrind
#             and its options: tgt's own leaks are not ours to fail on).
#
# Every test starts its own daemon(s) on free ports, talks only to them and
# stops them by PID. A test ends with `finish`, which prints
# "N passed, N failed" and exits non-zero if anything failed.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) BUILD_DIR=$BUILD ;;
*) BUILD_DIR=$ROOT/$BUILD ;;
esac
TGTD=${TGTD:-$BUILD_DIR/tgtd}
TGTADM=${TGTADM:-$BUILD_DIR/tgtadm}
TEST_NAME=$(basename "$0" .sh)

if [ -z "${LEGACY_TGTD:-}" ]; then
	LEGACY_TGTD=0
	[ "$(readlink -f "$TGTD" 2>/dev/null)" = /usr/sbin/tgtd ] && LEGACY_TGTD=1
fi

# Sanitizer builds run slower: tests use these to scale timeouts and load.
SANITIZED=0
case $BUILD in *asan* | *san*) SANITIZED=1 ;; esac
case ${TGTD_CHECKER:-} in *valgrind*) SANITIZED=1 ;; esac
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
START_TIMEOUT=${START_TIMEOUT:-$((SANITIZED ? 30 : 10))}
STOP_TIMEOUT=${STOP_TIMEOUT:-10}

# Set by the helpers for the tests: DAEMON_PID, DAEMON_LOG, PORT, CPORT
# (start_daemon), DAEMON_RC (wait_daemon_exit), OUT and RC (run, check).
PASSED=0
FAILED=0
FINISHED=0
DAEMON_PIDS=()		# started and not yet stopped
DAEMON_LOGS=()		# every log ever written, checked at the end
declare -A DAEMON_CPORT_OF=()
declare -A DAEMON_LOG_OF=()

TEST_TMP=$(mktemp -d "/tmp/mtgt-$TEST_NAME.XXXXXX")

# ---------------------------------------------------------------------
# Assertions. Each records one passed or failed check.

pass() {
	PASSED=$((PASSED + 1))
	echo "ok   - $*"
}

# fail MESSAGE [DETAILS]: DETAILS (e.g. command output) is indented.
fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL - $1"
	if [ -n "${2:-}" ]; then
		printf '%s\n' "$2" | tail -n 40 | sed 's/^/       | /'
	fi
}

skip() {
	echo "skip - $*"
}

# run CMD...: runs CMD, stdout+stderr in $OUT, exit status in $RC.
run() {
	OUT=$("$@" 2>&1)
	RC=$?
}

# check MESSAGE CMD...: CMD must exit 0.
check() {
	local msg=$1
	shift
	run "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$msg"
		return 0
	fi
	fail "$msg (exit $RC: $*)" "$OUT"
	return 1
}

# py_checks WHAT SECONDS SCRIPT ARGS...: runs a python checks script
# (iscsi_raw.Checks: one line per check, "N passed, N failed" last) for
# at most SECONDS; one check named WHAT, with the script's summary.
py_checks() {
	local what=$1 secs=$2
	shift 2
	run timeout "$secs" python3 "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$what ($(tail -n 1 <<<"$OUT"))"
	else
		fail "$what" "$OUT"
	fi
}

# check_rc EXPECTED MESSAGE CMD...: CMD must exit with status EXPECTED.
check_rc() {
	local want=$1 msg=$2
	shift 2
	run "$@"
	if [ "$RC" -eq "$want" ]; then
		pass "$msg"
		return 0
	fi
	fail "$msg (exit $RC, expected $want: $*)" "$OUT"
	return 1
}

assert_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
		return 0
	fi
	fail "$1 (expected '$2', got '$3')"
	return 1
}

# assert_contains MESSAGE TEXT NEEDLE: fixed-string search, line or part.
assert_contains() {
	if grep -qF -- "$3" <<<"$2"; then
		pass "$1"
		return 0
	fi
	fail "$1 (missing: '$3')" "$2"
	return 1
}

assert_not_contains() {
	if ! grep -qF -- "$3" <<<"$2"; then
		pass "$1"
		return 0
	fi
	fail "$1 (unexpected: '$3')" "$2"
	return 1
}

# assert_match MESSAGE TEXT ERE: some line of TEXT matches the regex.
assert_match() {
	if grep -qE -- "$3" <<<"$2"; then
		pass "$1"
		return 0
	fi
	fail "$1 (no line matching /$3/)" "$2"
	return 1
}

# assert_line MESSAGE TEXT LINE: LINE must be a whole line of TEXT.
assert_line() {
	if grep -qxF -- "$3" <<<"$2"; then
		pass "$1"
		return 0
	fi
	fail "$1 (no line: '$3')" "$2"
	return 1
}

# ---------------------------------------------------------------------
# Processes and ports

# pid_running PID: alive and not a zombie.
pid_running() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$state" != Z ] && [ -n "$state" ]
}

# wait_pid_exit PID SECONDS: 0 once PID has exited, 1 on timeout.
wait_pid_exit() {
	local pid=$1 limit=$(($2 * 10)) i=0
	while pid_running "$pid"; do
		i=$((i + 1))
		[ "$i" -ge "$limit" ] && return 1
		sleep 0.1
	done
	return 0
}

tcp_port_free() {
	! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# A control port is free when no process holds the lock of its socket
# (tgtd takes a POSIX record lock, visible in /proc/locks) and nothing
# listens on the socket.
control_port_free() {
	local sock=/var/run/tgtd/socket.$1 ino
	if [ -e "$sock.lock" ]; then
		ino=$(stat -c %i "$sock.lock") || return 1
		grep -qE ":$ino " /proc/locks && return 1
	fi
	! ss -Hlx 2>/dev/null | grep -qF "$sock "
}

pick_ports() {
	local i
	for i in $(seq 100); do
		PORT=$((20000 + RANDOM % 30000))
		CPORT=$((1000 + RANDOM % 30000))
		tcp_port_free "$PORT" && control_port_free "$CPORT" && return 0
	done
	echo "cannot find free ports" >&2
	return 1
}

# Stop-gap for a daemon that has not come up: never leave it behind.
kill_hard() {
	kill -9 "$1" 2>/dev/null
	wait_pid_exit "$1" 5
	wait "$1" 2>/dev/null
}

# wait_daemon_ready PID: tgtadm answers and the portal listens.
wait_daemon_ready() {
	local pid=$1 limit=$((START_TIMEOUT * 10)) i
	for ((i = 0; i < limit; i++)); do
		pid_running "$pid" || return 1
		if "$TGTADM" -C "$CPORT" --op show --mode sys >/dev/null 2>&1 &&
			! tcp_port_free "$PORT"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# start_daemon [EXTRA TGTD ARGS...]: starts "$TGTD" -f -C $CPORT
# --iscsi portal=127.0.0.1:$PORT on fresh ports. Sets DAEMON_PID, PORT,
# CPORT, DAEMON_LOG. Returns non-zero (after recording a failure) if the
# daemon does not come up.
start_daemon() {
	local pid log _ own=() checker=${TGTD_CHECKER:-}
	# APTPL reservation state stays in the test's directory (mtgt only).
	[ "$LEGACY_TGTD" = 1 ] || own=(--pr-state-dir "$TEST_TMP/pr-state")
	[ "$LEGACY_TGTD" = 1 ] && checker=
	for _ in 1 2 3; do
		pick_ports || break
		log=$TEST_TMP/tgtd.$CPORT.log
		# shellcheck disable=SC2086 # the wrapper is a word list
		${TGTD_WRAPPER:-} $checker "$TGTD" -f -C "$CPORT" \
			--iscsi "portal=127.0.0.1:$PORT" "${own[@]}" "$@" \
			</dev/null >>"$log" 2>&1 &
		pid=$!
		DAEMON_LOGS+=("$log")
		if wait_daemon_ready "$pid"; then
			DAEMON_PID=$pid
			DAEMON_LOG=$log
			DAEMON_PIDS+=("$pid")
			DAEMON_CPORT_OF[$pid]=$CPORT
			DAEMON_LOG_OF[$pid]=$log
			echo "# started $TGTD (pid $pid, portal 127.0.0.1:$PORT," \
				"control port $CPORT)"
			return 0
		fi
		kill_hard "$pid"
		control_port_free "$CPORT" &&
			rm -f "/var/run/tgtd/socket.$CPORT" "/var/run/tgtd/socket.$CPORT.lock"
		# A port taken meanwhile is worth another try; anything else not.
		grep -qiE 'in use|another tgtd' "$log" || break
	done
	fail "daemon $TGTD did not start (log $log)" "$(cat "$log" 2>/dev/null)"
	return 1
}

# forget_daemon PID: after it exited. tgtd leaves its socket and lock
# file behind; remove ours once the lock is free.
forget_daemon() {
	local pid=$1 p keep=() cport=${DAEMON_CPORT_OF[$1]:-}
	for p in "${DAEMON_PIDS[@]}"; do
		[ "$p" != "$pid" ] && keep+=("$p")
	done
	DAEMON_PIDS=("${keep[@]}")
	if [ -n "$cport" ] && ! pid_running "$pid" &&
		control_port_free "$cport"; then
		rm -f "/var/run/tgtd/socket.$cport" "/var/run/tgtd/socket.$cport.lock"
	fi
}

# Stops Debian's tgtd, which ignores SIGTERM: delete every target, then
# the system; kill -9 if that does not work either.
stop_legacy() {
	local pid=$1 cport=${DAEMON_CPORT_OF[$1]} tid
	for tid in $("$TGTADM" -C "$cport" --op show --mode target 2>/dev/null |
		sed -n 's/^Target \([0-9]*\): .*/\1/p'); do
		"$TGTADM" -C "$cport" --op delete --mode target --force \
			--tid "$tid" >/dev/null 2>&1
	done
	timeout -k 10 10 "$TGTADM" -C "$cport" --op delete --mode system \
		>/dev/null 2>&1
	wait_pid_exit "$pid" 5 || kill -9 "$pid" 2>/dev/null
	wait_pid_exit "$pid" 5
}

# stop_daemon [PID]: SIGTERM; the daemon must exit with status 0 within
# STOP_TIMEOUT seconds (else kill -9 and a failure). Legacy daemons get a
# second to react, then stop_legacy. Records one check.
stop_daemon() {
	local pid=${1:-$DAEMON_PID} rc
	kill -TERM "$pid" 2>/dev/null
	if [ "$LEGACY_TGTD" = 1 ]; then
		wait_pid_exit "$pid" 1 || stop_legacy "$pid"
		wait "$pid" 2>/dev/null
		forget_daemon "$pid"
		check_sanitizer_log "${DAEMON_LOG_OF[$pid]}"
		pass "legacy daemon $pid stopped"
		return 0
	fi
	if ! wait_pid_exit "$pid" "$STOP_TIMEOUT"; then
		kill_hard "$pid"
		forget_daemon "$pid"
		fail "daemon $pid did not exit within ${STOP_TIMEOUT}s of SIGTERM"
		return 1
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	forget_daemon "$pid"
	check_sanitizer_log "${DAEMON_LOG_OF[$pid]}"
	if [ "$rc" -ne 0 ]; then
		fail "daemon $pid exited with status $rc after SIGTERM" \
			"$(tail -n 20 "${DAEMON_LOG_OF[$pid]}")"
		return 1
	fi
	pass "daemon $pid exited 0 on SIGTERM"
}

# wait_daemon_exit PID SECONDS: for a daemon asked to stop some other way
# (e.g. --op delete --mode system). Sets DAEMON_RC; 1 on timeout.
wait_daemon_exit() {
	local pid=$1
	DAEMON_RC=
	wait_pid_exit "$pid" "$2" || return 1
	wait "$pid" 2>/dev/null
	DAEMON_RC=$?
	forget_daemon "$pid"
	check_sanitizer_log "${DAEMON_LOG_OF[$pid]}"
	return 0
}

# assert_daemon_alive [PID]
assert_daemon_alive() {
	local pid=${1:-$DAEMON_PID}
	if pid_running "$pid"; then
		pass "daemon $pid still running"
		return 0
	fi
	fail "daemon $pid died" "$(tail -n 40 "${DAEMON_LOG_OF[$pid]}")"
	return 1
}

# Sanitizer findings in a daemon log fail the test (each log once).
declare -A SAN_CHECKED=()
SAN_PATTERN='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ThreadSanitizer|ERROR SUMMARY: [1-9]'
check_sanitizer_log() {
	local log=$1
	[ -n "$log" ] && [ -f "$log" ] || return 0
	[ -n "${SAN_CHECKED[$log]:-}" ] && return 0
	SAN_CHECKED[$log]=1
	grep -qE "$SAN_PATTERN" "$log" || return 0
	fail "sanitizer report in $log" \
		"$(grep -A 30 -E "$SAN_PATTERN" "$log" | head -n 40)"
	return 1
}

# ---------------------------------------------------------------------
# Management helpers (use the control port of the last started daemon
# unless CPORT is set otherwise by the caller)

tgtadm_c() {
	"$TGTADM" -C "$CPORT" "$@"
}

# make_sparse FILE SIZE (truncate syntax: 64M, 1G, bytes)
make_sparse() {
	rm -f "$1"
	truncate -s "$2" "$1"
}

# adm MESSAGE ARGS...: a tgtadm call that must succeed (recorded).
adm() {
	local msg=$1
	shift
	check "$msg" "$TGTADM" -C "$CPORT" "$@"
}

new_target() {	# TID IQN
	adm "create target $1 ($2)" --lld iscsi --mode target --op new \
		--tid "$1" -T "$2"
}

new_lun() {	# TID LUN FILE [BSTYPE]
	local extra=()
	[ -n "${4:-}" ] && extra=(-E "$4")
	adm "add LUN $2 to target $1 (${4:-default} on $3)" --lld iscsi \
		--mode logicalunit --op new --tid "$1" --lun "$2" -b "$3" \
		"${extra[@]}"
}

bind_all() {	# TID
	adm "bind target $1 to ALL" --lld iscsi --mode target --op bind \
		--tid "$1" -I ALL
}

# setup_target TID IQN FILE [BSTYPE]: target + LUN 1 + ACL ALL.
setup_target() {
	new_target "$1" "$2" && new_lun "$1" 1 "$3" "${4:-}" && bind_all "$1"
}

# url IQN [LUN]: iSCSI URL of the last started daemon.
url() {
	echo "iscsi://127.0.0.1:$PORT/$1/${2:-1}"
}

# verify_tool: path of iscsi-verify; built into TEST_TMP if the build
# directory has none.
verify_tool() {
	local bin=$BUILD_DIR/tests/iscsi-verify
	if [ -x "$bin" ]; then
		echo "$bin"
		return 0
	fi
	bin=$TEST_TMP/iscsi-verify
	[ -x "$bin" ] || gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 \
		-g -o "$bin" "$ROOT/tests/tools/iscsi-verify.c" -liscsi >&2 ||
		return 1
	echo "$bin"
}

# ---------------------------------------------------------------------
# File systems only the test's daemon sees (tmpfs, FUSE), in a private
# mount namespace: nothing is mounted on the host, and the mounts vanish
# with the namespace's last process.

# mount_namespace: a process holding one (NS_PID, killed at the end).
# Commands run in it with in_ns, the daemon with
# TGTD_WRAPPER="nsenter -t $NS_PID -m".
mount_namespace() {
	local i
	unshare -m --propagation private sleep 3600 </dev/null &
	NS_PID=$!
	HELPER_PIDS+=("$NS_PID")
	for ((i = 0; i < 50; i++)); do
		[ "$(readlink "/proc/$NS_PID/ns/mnt")" != \
			"$(readlink /proc/self/ns/mnt)" ] && return 0
		sleep 0.1
	done
	fail "no private mount namespace (unshare -m)"
	return 1
}

in_ns() {
	nsenter -t "$NS_PID" -m "$@"
}

# fuse_start NAME MOUNTPOINT WHAT ARGS...: builds tests/tools/NAME.c (a
# FUSE file system, libfuse3) into TEST_TMP once, runs it with ARGS in the
# namespace (output in TEST_TMP/NAME.<mountpoint>.log) and waits until
# MOUNTPOINT/WHAT exists.
fuse_start() {
	local name=$1 mnt=$2 what=$3 bin=$TEST_TMP/$1 log i
	shift 3
	if [ ! -x "$bin" ]; then
		# shellcheck disable=SC2046 # pkg-config prints a word list
		check "$name builds (libfuse3)" gcc -std=c11 -D_GNU_SOURCE \
			-Wall -Wextra -Werror -O2 -o "$bin" \
			"$ROOT/tests/tools/$name.c" \
			$(pkg-config --cflags --libs fuse3) || return 1
	fi
	log=$TEST_TMP/$name.$(basename "$mnt").log
	mkdir -p "$mnt"
	in_ns "$bin" "$@" </dev/null >"$log" 2>&1 &
	HELPER_PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do
		in_ns test -e "$mnt/$what" && return 0
		sleep 0.1
	done
	fail "$name did not mount $mnt" "$(cat "$log")"
	return 1
}

# faultfs_mount MOUNTPOINT BACKING BAD_START BAD_END [RATE]: the FUSE file
# system of tests/tools/faultfs.c in the namespace, serving BACKING as
# MOUNTPOINT/lun.img with EIO over [BAD_START, BAD_END), at most RATE
# bytes per second.
faultfs_mount() {
	local rate=()
	[ -n "${5:-}" ] && rate=(--rate "$5")
	fuse_start faultfs "$1" lun.img "${rate[@]}" "$2" "$3" "$4" "$1"
}

# slowfs_mount MOUNTPOINT BACKING_DIR FSYNC_DELAY_MS: BACKING_DIR passed
# through as MOUNTPOINT in the namespace (tests/tools/slowfs.c), every
# fsync taking FSYNC_DELAY_MS; the log (one line per fsync) is
# TEST_TMP/slowfs.<mountpoint>.log. BACKING_DIR must hold a file named
# .ready, by which the mount is recognized.
slowfs_mount() {
	fuse_start slowfs "$1" .ready "$3" "$2" "$1"
}

# ---------------------------------------------------------------------
# Initiator processes kept running in the background (killed at the end)

HELPER_PIDS=()

# hold_session URL LOGFILE: an iscsi-perf with one slow request in flight
# keeps a session logged in. Sets SESSION_PID.
hold_session() {
	iscsi-perf -m 1 -b 1 -t 3600 "$1" </dev/null >"$2" 2>&1 &
	SESSION_PID=$!
	HELPER_PIDS+=("$SESSION_PID")
}

# wait_nexus TID SECONDS: the target lists an I_T nexus.
wait_nexus() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		"$TGTADM" -C "$CPORT" --op show --mode target 2>/dev/null |
			awk -v t="Target $1:" 'index($0, t) == 1 { on = 1; next }
				/^Target / { on = 0 }
				on && /I_T nexus: / { found = 1 }
				END { exit !found }' && return 0
		sleep 0.1
	done
	return 1
}

# stop_helper PID: kill an initiator process we started, and its direct
# children (the command under a `timeout`). iscsi-perf only finishes its
# requests in flight on SIGTERM, so a hung one needs SIGKILL.
stop_helper() {
	local pid=$1 kids k
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null)
	# shellcheck disable=SC2086
	kill -TERM "$pid" $kids 2>/dev/null
	wait_pid_exit "$pid" 5 || kill -9 "$pid" 2>/dev/null
	for k in $kids; do
		wait_pid_exit "$k" 5 || kill -9 "$k" 2>/dev/null
	done
	wait "$pid" 2>/dev/null
}

stop_all_helpers() {
	local pid
	for pid in "${HELPER_PIDS[@]}"; do
		pid_running "$pid" && stop_helper "$pid"
	done
	HELPER_PIDS=()
}

# ---------------------------------------------------------------------
# End of test

stop_all_daemons() {
	local pid
	for pid in "${DAEMON_PIDS[@]}"; do
		stop_daemon "$pid"
	done
}

check_all_logs() {
	local log
	for log in "${DAEMON_LOGS[@]}"; do
		check_sanitizer_log "$log"
	done
}

summary() {
	echo "$PASSED passed, $FAILED failed"
	if [ "$FAILED" -eq 0 ] && [ "${KEEP_TMP:-0}" != 1 ]; then
		rm -rf "$TEST_TMP"
	else
		echo "# logs and files kept in $TEST_TMP"
	fi
}

finish() {
	stop_all_helpers
	stop_all_daemons
	check_all_logs
	FINISHED=1
	summary
	[ "$FAILED" -eq 0 ]
	exit
}

on_exit() {
	[ "$FINISHED" = 1 ] && return
	FINISHED=1
	local pid
	stop_all_helpers
	for pid in "${DAEMON_PIDS[@]}"; do
		if [ "$LEGACY_TGTD" = 1 ]; then
			stop_legacy "$pid"
		else
			kill -TERM "$pid" 2>/dev/null
			wait_pid_exit "$pid" "$STOP_TIMEOUT" || kill_hard "$pid"
		fi
		forget_daemon "$pid"
	done
	check_all_logs
	fail "$TEST_NAME aborted before finishing"
	summary
	exit 1
}

trap on_exit EXIT
trap 'exit 130' INT TERM

if [ ! -x "$TGTD" ] || [ ! -x "$TGTADM" ]; then
	fail "missing $TGTD or $TGTADM (build first, or set TGTD/TGTADM)"
	finish
fi
echo "# $TEST_NAME: TGTD=$TGTD TGTADM=$TGTADM$([ "$LEGACY_TGTD" = 1 ] &&
	echo ' (legacy: ignores SIGTERM)')"
