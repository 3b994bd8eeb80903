# shellcheck shell=bash
# Helpers shared by tests/integration/test_threads.sh and
# tests/stress/stress.sh. Source after tests/integration/lib.sh.

STRESS_DIR=$ROOT/tests/stress

# For a ThreadSanitizer build (make tsan-test sets the same): report every
# race of the run, with both stacks of a lock-order inversion.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0 second_deadlock_stack=1}

# stress_io_tool: path of the stress-io client (tests/stress/stress-io.c),
# built into TEST_TMP: it is a libiscsi client, never sanitized.
stress_io_tool() {
	local bin=$TEST_TMP/stress-io
	[ -x "$bin" ] || gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 \
		-g -o "$bin" "$STRESS_DIR/stress-io.c" -liscsi >&2 || return 1
	echo "$bin"
}

# thread_names PID: one "TASKID NAME" line per thread of PID.
thread_names() {
	local f task
	for f in /proc/"$1"/task/*/comm; do
		task=${f%/comm}
		task=${task##*/}
		printf '%s %s\n' "$task" "$(cat "$f" 2>/dev/null)"
	done
}

# threads_named PID NAME: task ids of PID's threads called NAME.
threads_named() {
	thread_names "$1" | awk -v n="$2" '$2 == n { print $1 }'
}

# thread_count PID
thread_count() {
	find /proc/"$1"/task -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# fd_count PID
fd_count() {
	find /proc/"$1"/fd -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# task_ticks PID TASK: utime + stime of one thread, in clock ticks (the
# fields after the parenthesised name, which may hold spaces).
task_ticks() {
	local stat
	stat=$(cat "/proc/$1/task/$2/stat" 2>/dev/null) || {
		echo 0
		return
	}
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $stat
	# utime and stime are fields 14 and 15 of stat, 12 and 13 here.
	echo $((${12} + ${13}))
}

# named_ticks PID NAME: summed CPU ticks of every thread called NAME.
named_ticks() {
	local sum=0 t
	for t in $(threads_named "$1" "$2"); do
		sum=$((sum + $(task_ticks "$1" "$t")))
	done
	echo "$sum"
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s; 0 once it succeeds.
wait_until() {
	local limit=$(($1 * 10)) i
	shift
	for ((i = 0; i < limit; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# no_thread_named PID NAME
no_thread_named() {
	[ -z "$(threads_named "$1" "$2")" ]
}

has_thread_named() {
	[ -n "$(threads_named "$1" "$2")" ]
}

# no_nexus: no target of the current daemon lists an I_T nexus.
no_nexus() {
	! "$TGTADM" -C "$CPORT" --op show --mode target 2>/dev/null |
		grep -q 'I_T nexus: '
}
