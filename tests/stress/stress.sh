#!/bin/bash
# Stress test of the per-target threads (issue 3 "Proof"; entry point
# tests/integration/test_stress.sh).
#
# 8 targets x 2 file-backed LUNs, 3 concurrent sessions per target
# (stress-io: verified random writes and reads, 4 commands in flight, each
# session owning one third of every LUN, so every block read back must be
# what was last written and acknowledged), while
#   - a management loop adds and deletes LUN 3 on random targets (the
#     sessions probe it, so a delete is often refused as still active),
#     updates LU parameters (INQUIRY strings, LUN 3 online/offline),
#     binds and unbinds ACLs, reads statistics, and creates and deletes
#     extra targets 9 and 10 with sessions of their own that are then
#     deleted with --force, killed with SIGKILL, logged out, refused by ACL,
#     closed by `--op delete --mode conn`, or lose their LUN;
#   - a show loop calls `tgtadm --op show --mode target` and
#     `--mode conn --op show` as fast as it can;
#   - a churn loop logs in and out with iscsi-inq and iscsi-ls -s;
# for DURATION seconds. Checks: the daemon never dies; no tgtadm call hangs
# or is slower than MAX_LAT_MS (the slowest is reported); no data mismatch
# (also against the backing files); every refusal is one tgt would give;
# afterwards no session is left, thread and fd counts are back to their
# baseline, and the daemon exits 0 on SIGTERM.
#
#   STRESS_DURATION=N  seconds of load (default 60; 30 under sanitizers)
#   STRESS_TARGETS=N   main targets (default 8)   STRESS_SESSIONS=N (3)
#   STRESS_QD=N        commands in flight per session (default 4)
#   STRESS_MAX_BLOCKS=N  largest command in 512-byte blocks (default 256)
#   MGMT_TIMEOUT=N     a tgtadm call this slow counts as hung (10; 30 san.)
#   MAX_LAT_MS=N       slowest tgtadm call allowed (5000; 15000 sanitized)
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=common.sh
. "$ROOT/tests/stress/common.sh"

DURATION=${STRESS_DURATION:-$((SANITIZED ? 30 : 60))}
NTARGETS=${STRESS_TARGETS:-8}
SESSIONS=${STRESS_SESSIONS:-3}
QD=${STRESS_QD:-4}
# Up to 128 KiB per command: larger than FirstBurstLength, so writes also
# go through R2T and Data-Out sequences.
MAX_BLOCKS=${STRESS_MAX_BLOCKS:-256}
LUN_SIZE=${STRESS_LUN_SIZE:-16M}
MGMT_TIMEOUT=${MGMT_TIMEOUT:-$((SANITIZED ? 30 : 10))}
MAX_LAT_MS=${MAX_LAT_MS:-$((SANITIZED ? 15000 : 5000))}
HANG_TIMEOUT=${HANG_TIMEOUT:-60}
# Initiators normally run on other machines: here they share 2 cores with
# the daemon and tgtadm, so they run at a lower priority.
NICE=${STRESS_NICE:-5}
EXTRA_TIDS=(9 10)
IQN=iqn.2026-01.org.mtgt:stress
INIT=iqn.2026-01.org.mtgt:stress-init
STOP=$TEST_TMP/stop
MGMT_LOG=$TEST_TMP/mgmt.log
SHOW_LOG=$TEST_TMP/show.log
STRESS_IO=$(stress_io_tool) || { fail "cannot build stress-io"; finish; }

img() {		# TID LUN
	echo "$TEST_TMP/t$1-l$2.img"
}

# quiet_adm ARGS...: a setup call that must succeed; only failures print.
SETUP_FAILS=0
quiet_adm() {
	run "$TGTADM" -C "$CPORT" "$@"
	[ "$RC" -eq 0 ] && return 0
	SETUP_FAILS=$((SETUP_FAILS + 1))
	fail "tgtadm $*" "$OUT"
	return 1
}

# ---------------------------------------------------------------------
# Timed tgtadm calls, logged one per line:
#   MS RC VERDICT LABEL | OUTPUT
# VERDICT: ok, refused (an accepted error), UNEXPECTED, TIMEOUT. Other lines
# start with "#": "# event ..." and "# UNEXPECTED ...".

# tcall LOG ACCEPT_ERE LABEL ARGS...: sets RC, OUT.
tcall() {
	local log=$1 accept=$2 label=$3 t0 t1 verdict
	shift 3
	t0=${EPOCHREALTIME/./}
	OUT=$(timeout -k 2 "$MGMT_TIMEOUT" "$TGTADM" -C "$CPORT" "$@" 2>&1)
	RC=$?
	t1=${EPOCHREALTIME/./}
	if [ "$RC" -eq 0 ]; then
		verdict=ok
	elif [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		verdict=TIMEOUT
		dump_stacks "tgtadm $* hung"
	elif [ -n "$accept" ] && grep -qE -- "$accept" <<<"$OUT"; then
		verdict=refused
	else
		verdict=UNEXPECTED
	fi
	OUT1=${OUT//$'\n'/ }
	printf '%d %d %s %s | %s\n' $(((t1 - t0) / 1000)) "$RC" "$verdict" \
		"$label" "${OUT1:0:200}" >>"$log"
	return "$RC"
}

# dump_stacks WHY: the daemon's thread stacks, once, for a hang report.
dump_stacks() {
	local f=$TEST_TMP/hang-stacks.txt
	[ -e "$f" ] && return
	{
		echo "=== $1 ($(date))"
		timeout 60 gdb -batch -p "$DAEMON_PID" -ex 'thread apply all bt' 2>&1
	} >"$f" 2>&1
}

event() {	# LOG TEXT...
	local log=$1
	shift
	echo "# event $*" >>"$log"
}

unexpected() {	# LOG TEXT...
	local log=$1
	shift
	echo "# UNEXPECTED $*" >>"$log"
}

# ---------------------------------------------------------------------
# The show loop: as fast as it goes, until $STOP exists.
show_loop() {
	local tid
	while [ ! -e "$STOP" ]; do
		tcall "$SHOW_LOG" "" "show-target" --op show --mode target
		tid=$((RANDOM % (NTARGETS + ${#EXTRA_TIDS[@]}) + 1))
		[ "$tid" -gt "$NTARGETS" ] && tid=${EXTRA_TIDS[$((tid - NTARGETS - 1))]}
		tcall "$SHOW_LOG" "can't find the target" "show-conn" \
			--op show --mode conn --tid "$tid"
	done
}

# ---------------------------------------------------------------------
# The login churn loop: short sessions coming and going beside the long
# ones, through the main thread's login path and the migration to the
# target threads: iscsi-inq on a main target (must succeed), iscsi-ls -s
# (discovery, then a login to every target, extra ones included, which may
# vanish meanwhile: its result is not checked, only that it ends).
CHURN_LOG=$TEST_TMP/churn.log
churn_loop() {
	local t rc
	while [ ! -e "$STOP" ]; do
		t=$((RANDOM % NTARGETS + 1))
		if [ $((RANDOM % 4)) -eq 0 ]; then
			timeout -k 2 "$HANG_TIMEOUT" iscsi-ls -s \
				-i "$INIT-churn" "iscsi://127.0.0.1:$PORT" \
				>"$TEST_TMP/churn.out" 2>&1
			rc=$?
			echo "$rc iscsi-ls" >>"$CHURN_LOG"
			[ "$rc" -ne 0 ] && grep -v '^Lun:\|^Target:' \
				"$TEST_TMP/churn.out" >>"$TEST_TMP/churn-ls-errors.log"
		else
			timeout -k 2 "$HANG_TIMEOUT" iscsi-inq \
				-i "$INIT-churn" "$(url "$IQN$t" 1)" \
				>"$TEST_TMP/churn.out" 2>&1
			rc=$?
			echo "$rc iscsi-inq $t" >>"$CHURN_LOG"
			[ "$rc" -ne 0 ] && echo "# UNEXPECTED iscsi-inq on target" \
				"$t exited $rc: $(tr '\n' ' ' <"$TEST_TMP/churn.out")" \
				>>"$CHURN_LOG"
		fi
		[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] &&
			echo "# UNEXPECTED TIMEOUT login churn hung" >>"$CHURN_LOG"
	done
}

# ---------------------------------------------------------------------
# The management loop (one subshell; its state lives in these variables).
declare -A LUN3=()	# main target -> 1 while LUN 3 exists
declare -A ACLS=()	# main target -> space-separated extra ACL args
declare -A X_ON=()	# extra target -> 1 while it exists
declare -A X_BORN=()	# extra target -> creation time (s)
declare -A X_PIDS=()	# extra target -> its session processes
declare -A X_GEN=()	# extra target -> generation counter
declare -A X_LUN=()	# extra target -> 1 while its LUN 1 exists
MLOG=$MGMT_LOG

m() {	# ACCEPT_ERE LABEL ARGS...
	tcall "$MLOG" "$@"
}

toggle_lun3() {
	local t=$((RANDOM % NTARGETS + 1))
	if [ -z "${LUN3[$t]:-}" ]; then
		m "" "lun3-add" --op new --mode logicalunit --tid "$t" --lun 3 \
			-b "$(img "$t" 3)" && LUN3[$t]=1
		return
	fi
	m "this logical unit is still active" "lun3-del" \
		--op delete --mode logicalunit --tid "$t" --lun 3 && unset "LUN3[$t]"
}

# LU parameters under I/O: INQUIRY data of LUN 1 or 2 (read by the churn
# loop's iscsi-inq on the target threads), online/offline of LUN 3.
lu_update() {
	local t=$((RANDOM % NTARGETS + 1))
	if [ -n "${LUN3[$t]:-}" ] && [ $((RANDOM % 2)) -eq 0 ]; then
		m "" "lun3-online" --op update --mode logicalunit --tid "$t" \
			--lun 3 --params "online=$((RANDOM % 2))"
		return
	fi
	m "" "lu-update" --op update --mode logicalunit --tid "$t" \
		--lun $((RANDOM % 2 + 1)) \
		--params "vendor_id=STR$((RANDOM % 10000)),product_rev=$((RANDOM % 9000 + 1000))"
}

toggle_acl() {
	local t=$((RANDOM % NTARGETS + 1)) pick arr keep=() a
	read -ra arr <<<"${ACLS[$t]:-}"
	if [ "${#arr[@]}" -eq 0 ] || { [ $((RANDOM % 2)) -eq 0 ] &&
		[ "${#arr[@]}" -lt 4 ]; }; then
		if [ $((RANDOM % 2)) -eq 0 ]; then
			pick="-I=10.$t.$((RANDOM % 250)).$((RANDOM % 250 + 1))"
		else
			pick="-Q=iqn.2026-01.org.mtgt:acl-$t-$RANDOM"
		fi
		case " ${arr[*]} " in *" $pick "*) return ;; esac
		m "" "acl-bind" --op bind --mode target --tid "$t" \
			"${pick%%=*}" "${pick#*=}" && ACLS[$t]="${arr[*]} $pick"
		return
	fi
	pick=${arr[$((RANDOM % ${#arr[@]}))]}
	m "" "acl-unbind" --op unbind --mode target --tid "$t" \
		"${pick%%=*}" "${pick#*=}"
	for a in "${arr[@]}"; do
		[ "$a" != "$pick" ] && keep+=("$a")
	done
	ACLS[$t]="${keep[*]}"
}

x_url() {
	echo "iscsi://127.0.0.1:$PORT/${IQN}x$1/1"
}

# Starts the two sessions of extra target TID.
x_sessions() {
	local tid=$1 k pids=()
	for k in 0 1; do
		nice -n "$NICE" "$STRESS_IO" run "$(x_url "$tid")" --slot "$k" --slots 2 \
			--duration 100000 --qd "$QD" --max-blocks "$MAX_BLOCKS" \
			--fresh --tolerate-disconnect \
			--seed $((tid * 1000 + X_GEN[$tid] * 2 + k)) \
			--initiator "$INIT-x$tid-s$k" --hang-timeout "$HANG_TIMEOUT" \
			--backing "1=$(img "$tid" 1)" </dev/null \
			>"$TEST_TMP/x$tid-g${X_GEN[$tid]}-s$k.log" 2>&1 &
		pids+=("$!")
	done
	X_PIDS[$tid]="${pids[*]}"
}

x_create() {
	local tid=$1 acl=$((RANDOM % 6))
	X_GEN[$tid]=$((${X_GEN[$tid]:-0} + 1))
	make_sparse "$(img "$tid" 1)" "$LUN_SIZE"
	m "" "x-create" --op new --mode target --tid "$tid" -T "${IQN}x$tid" ||
		return
	X_ON[$tid]=1
	X_BORN[$tid]=$SECONDS
	m "" "x-lun-add" --op new --mode logicalunit --tid "$tid" --lun 1 \
		-b "$(img "$tid" 1)" && X_LUN[$tid]=1
	case $acl in
	0) event "$MLOG" "target $tid without ACL: logins refused" ;;
	1 | 2)
		m "" "x-acl-bind-name" --op bind --mode target --tid "$tid" \
			-Q "$INIT-x$tid-s0"
		m "" "x-acl-bind-name" --op bind --mode target --tid "$tid" \
			-Q "$INIT-x$tid-s1"
		;;
	*) m "" "x-acl-bind" --op bind --mode target --tid "$tid" -I ALL ;;
	esac
	x_sessions "$tid"
}

# x_reap TID SECONDS: waits for the sessions of TID to exit; their status
# must be 0 (a tolerated disconnect or a clean end) unless killed by us.
x_reap() {
	local tid=$1 secs=$2 pid rc
	for pid in ${X_PIDS[$tid]}; do
		if ! wait_pid_exit "$pid" "$secs"; then
			unexpected "$MLOG" "session $pid of target $tid still" \
				"running ${secs}s after its end was due"
			dump_stacks "session of target $tid did not end"
			kill -9 "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
		rc=$?
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 137 ]; then
			unexpected "$MLOG" "session $pid of target $tid exited $rc:" \
				"$(tail -n 5 "$TEST_TMP"/x"$tid"-g"${X_GEN[$tid]}"-s*.log |
					tr '\n' ' ')"
		fi
	done
	X_PIDS[$tid]=
}

x_gone() {	# TID: deleted; its thread must go too
	local tid=$1
	X_ON[$tid]=
	if ! wait_until 5 no_thread_named "$DAEMON_PID" "tgt/$tid"; then
		unexpected "$MLOG" "thread tgt/$tid still there after delete"
	fi
}

# del_retry TID LABEL SECONDS: delete without --force until the sessions
# are gone (refused as active meanwhile).
x_del_retry() {
	local tid=$1 label=$2 end=$((SECONDS + $3))
	while :; do
		m "this target is still active" "$label" --op delete \
			--mode target --tid "$tid" && { x_gone "$tid"; return; }
		if [ "$SECONDS" -ge "$end" ]; then
			unexpected "$MLOG" "target $tid: sessions not cleaned up" \
				"${3}s after $label"
			m "" "x-delete-force" --op delete --mode target --tid "$tid" \
				--force && x_gone "$tid"
			return
		fi
		sleep 0.2
	done
}

x_action() {
	local tid=${EXTRA_TIDS[$((RANDOM % ${#EXTRA_TIDS[@]}))]} r pid
	if [ -z "${X_ON[$tid]:-}" ]; then
		x_create "$tid"
		return
	fi
	# Let the sessions log in and do some I/O first.
	[ $((SECONDS - X_BORN[$tid])) -lt 2 ] && return
	r=$((RANDOM % 100))
	if [ "$r" -lt 20 ]; then
		# Plain delete: refused while a session exists.
		if m "this target is still active" "x-delete" --op delete \
			--mode target --tid "$tid"; then
			x_gone "$tid"
			x_reap "$tid" 20
		fi
	elif [ "$r" -lt 50 ]; then
		m "" "x-delete-force" --op delete --mode target --tid "$tid" \
			--force && x_gone "$tid"
		x_reap "$tid" 20
	elif [ "$r" -lt 70 ]; then
		event "$MLOG" "kill -9 sessions of target $tid"
		for pid in ${X_PIDS[$tid]}; do
			kill -9 "$pid" 2>/dev/null
		done
		x_reap "$tid" 10
		x_del_retry "$tid" "x-delete-after-kill" 15
	elif [ "$r" -lt 85 ]; then
		event "$MLOG" "SIGTERM (logout) sessions of target $tid"
		for pid in ${X_PIDS[$tid]}; do
			kill -TERM "$pid" 2>/dev/null
		done
		x_reap "$tid" 60
		x_del_retry "$tid" "x-delete-after-logout" 10
	elif [ -n "${X_LUN[$tid]:-}" ]; then
		# Delete the LUN under the sessions' I/O: often refused.
		m "this logical unit is still active" "x-lun-del" --op delete \
			--mode logicalunit --tid "$tid" --lun 1 && X_LUN[$tid]=
	fi
}

# Statistics read every target's LUs and sessions under their locks; a sid
# picked at random may not exist.
stats() {
	local t=$((RANDOM % NTARGETS + 1)) sid=$((RANDOM % 64 + 1))
	case $((RANDOM % 5)) in
	0) m "" "stat-system" --op stat --mode system ;;
	1) m "" "stat-target" --op stat --mode target --tid "$t" ;;
	2) m "" "stat-lu" --op stat --mode logicalunit --tid "$t" \
		--lun $((RANDOM % 2 + 1)) ;;
	3) m "can't find the session" "stat-session" --op stat \
		--mode session --sid "$sid" ;;
	*) m "can't find the (session|connection)" "stat-conn" --op stat --tid "$t" \
		--mode conn --sid "$sid" --cid 0 ;;
	esac
}

# tgtadm --op delete --mode conn on a session of an extra target: the main
# thread asks the target thread to close it; the initiator sees its
# connection end (a tolerated disconnect, reaped later).
x_conn_delete() {
	local tid=${EXTRA_TIDS[$((RANDOM % ${#EXTRA_TIDS[@]}))]} sids
	[ -n "${X_ON[$tid]:-}" ] || return
	m "" "x-conn-show" --op show --mode conn --tid "$tid" || return
	read -ra sids < <(sed -n 's/^Session: \([0-9]*\)$/\1/p' <<<"$OUT" |
		tr '\n' ' ')
	[ "${#sids[@]}" -gt 0 ] || return
	m "can't find the (session|connection)" "x-conn-delete" --op delete \
		--mode conn --tid "$tid" --sid "${sids[$((RANDOM % ${#sids[@]}))]}" \
		--cid 0
}

mgmt_cleanup() {
	local t tid end
	for tid in "${EXTRA_TIDS[@]}"; do
		[ -n "${X_ON[$tid]:-}" ] || continue
		m "" "x-delete-force" --op delete --mode target --tid "$tid" \
			--force && x_gone "$tid"
		x_reap "$tid" 20
	done
	for t in "${!LUN3[@]}"; do
		end=$((SECONDS + 15))
		until m "this logical unit is still active" "lun3-del" \
			--op delete --mode logicalunit --tid "$t" --lun 3; do
			if [ "$SECONDS" -ge "$end" ]; then
				unexpected "$MLOG" "LUN 3 of target $t stays active"
				break
			fi
			sleep 0.2
		done
	done
	for t in "${!ACLS[@]}"; do
		for a in ${ACLS[$t]}; do
			m "" "acl-unbind" --op unbind --mode target --tid "$t" \
				"${a%%=*}" "${a#*=}"
		done
	done
}

mgmt_loop() {
	local r
	while [ ! -e "$STOP" ]; do
		r=$((RANDOM % 100))
		if [ "$r" -lt 25 ]; then
			toggle_lun3
		elif [ "$r" -lt 35 ]; then
			lu_update
		elif [ "$r" -lt 50 ]; then
			toggle_acl
		elif [ "$r" -lt 65 ]; then
			x_action
		elif [ "$r" -lt 68 ]; then
			x_conn_delete
		elif [ "$r" -lt 75 ]; then
			stats
		elif [ "$r" -lt 80 ]; then
			m "" "show-sys" --op show --mode sys
		elif [ "$r" -lt 90 ]; then
			m "" "show-target-tid" --op show --mode target \
				--tid $((RANDOM % NTARGETS + 1))
		else
			m "" "show-conn" --op show --mode conn \
				--tid $((RANDOM % NTARGETS + 1))
		fi
	done
	mgmt_cleanup
	event "$MLOG" "management loop done"
}

# ---------------------------------------------------------------------
# Setup

for ((t = 1; t <= NTARGETS; t++)); do
	for l in 1 2 3; do
		make_sparse "$(img "$t" "$l")" "$LUN_SIZE"
	done
done
start_daemon || finish
for ((t = 1; t <= NTARGETS; t++)); do
	quiet_adm --op new --mode target --tid "$t" -T "$IQN$t" &&
		quiet_adm --op new --mode logicalunit --tid "$t" --lun 1 \
			-b "$(img "$t" 1)" &&
		quiet_adm --op new --mode logicalunit --tid "$t" --lun 2 \
			-b "$(img "$t" 2)" &&
		quiet_adm --op bind --mode target --tid "$t" -I ALL
done
[ "$SETUP_FAILS" -eq 0 ] || finish
pass "set up $NTARGETS targets x 2 LUNs of $LUN_SIZE"
sleep 0.5
THREADS0=$(thread_count "$DAEMON_PID")
FDS0=$(fd_count "$DAEMON_PID")
NAMES0=$(awk '{ print $2 }' < <(thread_names "$DAEMON_PID") | sort | uniq -c)
echo "# baseline: $THREADS0 threads, $FDS0 fds"

# ---------------------------------------------------------------------
# Load

echo "# $((NTARGETS * SESSIONS)) sessions of verified I/O (qd $QD) for" \
	"${DURATION}s, management and show loops running"
IO_PIDS=()
declare -A IO_LOG_OF=()
for ((t = 1; t <= NTARGETS; t++)); do
	for ((s = 0; s < SESSIONS; s++)); do
		log=$TEST_TMP/io-t$t-s$s.log
		timeout -k 5 $((DURATION + HANG_TIMEOUT + 120)) nice -n "$NICE" \
			"$STRESS_IO" run "$(url "$IQN$t" 1)" --luns 1,2 \
			--slot "$s" --slots "$SESSIONS" --duration "$DURATION" \
			--qd "$QD" --max-blocks "$MAX_BLOCKS" --seed $((t * 100 + s)) \
			--fresh --probe-lun 3 \
			--initiator "$INIT-t$t-s$s" --hang-timeout "$HANG_TIMEOUT" \
			--backing "1=$(img "$t" 1)" --backing "2=$(img "$t" 2)" \
			</dev/null >"$log" 2>&1 &
		IO_PIDS+=("$!")
		IO_LOG_OF[$!]=$log
		HELPER_PIDS+=("$!")
	done
done
rm -f "$STOP"
show_loop &
SHOW_PID=$!
# Their shells' own complaints (e.g. "Killed" for a session killed on
# purpose) go to a file.
mgmt_loop 2>>"$TEST_TMP/mgmt.stderr" &
MGMT_PID=$!
churn_loop 2>>"$TEST_TMP/churn.stderr" &
CHURN_PID=$!
HELPER_PIDS+=("$SHOW_PID" "$MGMT_PID" "$CHURN_PID")
START=$SECONDS

# Watch the daemon while the sessions run.
DIED=0
while :; do
	alive=0
	for pid in "${IO_PIDS[@]}"; do
		pid_running "$pid" && alive=$((alive + 1))
	done
	[ "$alive" -eq 0 ] && break
	if ! pid_running "$DAEMON_PID"; then
		DIED=1
		break
	fi
	sleep 0.5
done
echo "# sessions done after $((SECONDS - START))s"
touch "$STOP"
wait_pid_exit "$SHOW_PID" $((MGMT_TIMEOUT + 10)) || fail "show loop did not stop"
wait_pid_exit "$CHURN_PID" $((HANG_TIMEOUT + 10)) || fail "churn loop did not stop"
wait_pid_exit "$MGMT_PID" $((MGMT_TIMEOUT * 3 + 120)) ||
	fail "management loop did not stop"
wait "$SHOW_PID" "$MGMT_PID" "$CHURN_PID" 2>/dev/null
echo "# loops stopped after $((SECONDS - START))s"

if [ "$DIED" = 1 ]; then
	fail "daemon died under stress" "$(tail -n 40 "$DAEMON_LOG")"
	finish
fi
assert_daemon_alive

# ---------------------------------------------------------------------
# Results of the sessions

BAD=0
TOTALS=(0 0 0 0 0 0 0 0)
for pid in "${IO_PIDS[@]}"; do
	wait "$pid"
	rc=$?
	log=${IO_LOG_OF[$pid]}
	line=$(grep '^stress-io:' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		BAD=$((BAD + 1))
		fail "session $(basename "$log" .log) exited $rc" "$(tail -n 20 "$log")"
		continue
	fi
	read -r -a f <<<"$line"
	# stress-io: slot K/N writes W (fua F) reads R blocks-written B
	# blocks-verified V mismatches M unit-attentions U probes G/N/A ...
	TOTALS[0]=$((TOTALS[0] + f[4]))
	TOTALS[1]=$((TOTALS[1] + f[8]))
	TOTALS[2]=$((TOTALS[2] + f[10]))
	TOTALS[3]=$((TOTALS[3] + f[12]))
	TOTALS[4]=$((TOTALS[4] + f[14]))
	TOTALS[5]=$((TOTALS[5] + f[16]))
	IFS=/ read -r pg pn _ <<<"${f[18]}"
	TOTALS[6]=$((TOTALS[6] + pg))
	TOTALS[7]=$((TOTALS[7] + pn))
done
if [ "$BAD" -eq 0 ]; then
	pass "all $((NTARGETS * SESSIONS)) sessions: no mismatch, no error, no hang"
fi
echo "# sessions: ${TOTALS[0]} writes, ${TOTALS[1]} reads, ${TOTALS[2]}" \
	"blocks written, ${TOTALS[3]} blocks compared, ${TOTALS[4]} mismatches," \
	"${TOTALS[5]} unit attentions, LUN 3 probes ${TOTALS[6]} read /" \
	"${TOTALS[7]} absent"
assert_eq "mismatches over all sessions" 0 "${TOTALS[4]}"
if [ "${TOTALS[0]}" -gt 0 ]; then
	pass "sessions wrote data"
else
	fail "no write done"
fi

# ---------------------------------------------------------------------
# Management results

LOGS=("$MGMT_LOG" "$SHOW_LOG")
echo "# management calls by kind (count, refused, p50/p99/max ms):"
awk '!/^#/ {
	n[$4]++; if ($3 == "refused") r[$4]++
	lat[$4, n[$4]] = $1
} END {
	for (k in n) {
		m = n[k]
		# insertion sort of this kind (small counts)
		for (i = 1; i <= m; i++) v[i] = lat[k, i]
		for (i = 2; i <= m; i++) {
			x = v[i]; j = i - 1
			while (j > 0 && v[j] > x) { v[j + 1] = v[j]; j-- }
			v[j + 1] = x
		}
		p99 = int(m * 0.99)
		if (p99 < 1) p99 = 1
		printf "#   %-22s %6d %5d  %5d/%5d/%5d\n", k, m, r[k] + 0,
			v[int((m + 1) / 2)], v[p99], v[m]
	}
}' "${LOGS[@]}" | sort -k2
CALLS=$(grep -hvc '^#' "${LOGS[@]}" | awk '{ s += $1 } END { print s }')
MAXLAT=$(grep -hv '^#' "${LOGS[@]}" | sort -n | tail -n 1)
MAXMS=${MAXLAT%% *}
echo "# $CALLS tgtadm calls; slowest: $MAXMS ms ($(cut -d' ' -f4 <<<"$MAXLAT"))"
if [ "$CALLS" -gt 100 ]; then
	pass "management and show loops ran ($CALLS calls)"
else
	fail "only $CALLS tgtadm calls"
fi
TIMEOUTS=$(grep -h ' TIMEOUT ' "${LOGS[@]}")
assert_eq "tgtadm calls hung (> ${MGMT_TIMEOUT}s)" "" "$TIMEOUTS"
[ -e "$TEST_TMP/hang-stacks.txt" ] &&
	fail "daemon stacks at a hang" "$(head -c 6000 "$TEST_TMP/hang-stacks.txt")"
if [ "${MAXMS:-0}" -le "$MAX_LAT_MS" ]; then
	pass "slowest tgtadm call ${MAXMS} ms <= ${MAX_LAT_MS} ms"
else
	fail "slowest tgtadm call took ${MAXMS} ms (> ${MAX_LAT_MS} ms)" "$MAXLAT"
fi
echo "# login churn: $(grep -c 'iscsi-inq' "$CHURN_LOG") iscsi-inq," \
	"$(grep -c 'iscsi-ls' "$CHURN_LOG") iscsi-ls -s" \
	"($(grep -c '^[1-9][0-9]* iscsi-ls' "$CHURN_LOG") of them with errors)"
UNEXP=$(grep -h 'UNEXPECTED' "${LOGS[@]}" "$CHURN_LOG")
if [ -z "$UNEXP" ]; then
	pass "no unexpected tgtadm result or session outcome"
else
	fail "unexpected results: $(wc -l <<<"$UNEXP")" "$(head -n 30 <<<"$UNEXP")"
fi
for kind in "lun3-del refused" "x-delete refused" "x-delete-force ok" \
	"event kill -9" "event SIGTERM" "x-lun-del" "x-create ok"; do
	echo "#   $kind: $(grep -h -- "${kind%% *}" "$MGMT_LOG" |
		grep -c -- "${kind#* }")"
done
if grep -q 'management loop done' "$MGMT_LOG"; then
	pass "management loop cleaned up"
else
	fail "management loop did not finish"
fi

# ---------------------------------------------------------------------
# Nothing left behind

if wait_until 15 no_nexus; then
	pass "no session left"
else
	fail "sessions left after the run" \
		"$("$TGTADM" -C "$CPORT" --op show --mode target | grep -A3 'I_T nexus:')"
fi
CONNS=
for ((t = 1; t <= NTARGETS; t++)); do
	CONNS+=$("$TGTADM" -C "$CPORT" --op show --mode conn --tid "$t")
done
assert_eq "conn show lists no connection" "" "$CONNS"
run "$TGTADM" -C "$CPORT" --op show --mode target
assert_eq "targets left: 1..$NTARGETS" "$(seq -s ' ' 1 "$NTARGETS")" \
	"$(sed -n 's/^Target \([0-9]*\):.*/\1/p' <<<"$OUT" | tr '\n' ' ' |
		sed 's/ $//')"
assert_eq "LUNs left: 0, 1, 2 per target" "$((NTARGETS * 3))" \
	"$(grep -c '^        LUN: [012]$' <<<"$OUT")"
assert_not_contains "no LUN 3 left" "$OUT" "LUN: 3"
assert_eq "ACLs left: ALL per target" "$NTARGETS" "$(grep -cx '        ALL' <<<"$OUT")"

# shellcheck disable=SC2317 # called through wait_until
threads_back() {
	[ "$(thread_count "$DAEMON_PID")" -eq "$THREADS0" ]
}
# shellcheck disable=SC2317 # called through wait_until
fds_back() {
	[ "$(fd_count "$DAEMON_PID")" -eq "$FDS0" ]
}
if wait_until 10 threads_back; then
	pass "thread count back to baseline ($THREADS0)"
else
	fail "thread count $(thread_count "$DAEMON_PID") != baseline $THREADS0" \
		"$(awk '{ print $2 }' < <(thread_names "$DAEMON_PID") | sort | uniq -c)"
fi
assert_eq "thread names as before the run" "$NAMES0" \
	"$(awk '{ print $2 }' < <(thread_names "$DAEMON_PID") | sort | uniq -c)"
if wait_until 10 fds_back; then
	pass "fd count back to baseline ($FDS0)"
else
	fail "fd count $(fd_count "$DAEMON_PID") != baseline $FDS0" \
		"$(ls -l "/proc/$DAEMON_PID/fd")"
fi
assert_daemon_alive
finish
