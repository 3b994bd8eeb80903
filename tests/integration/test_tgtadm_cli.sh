#!/bin/bash
# tgtadm command-line compatibility: one script of tgtadm commands (every
# mode and op, the client-side checks and their messages, server errors,
# show outputs) is run twice, each time against a freshly started Debian
# tgtd: first with Debian's /usr/sbin/tgtadm, then with ours. Stdout,
# stderr and exit status of every command must be identical, except for
# the differences allowed (with a reason) in ALLOWED below.
#
# Environment:
#   TGTADM      tgtadm under test (default: $BUILD/tgtadm)
#   REF_TGTADM  reference tgtadm  (default: /usr/sbin/tgtadm)
#   REF_TGTD    daemon both run against (default: /usr/sbin/tgtd)
# The test is skipped when the reference programs are not installed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) UNDER_TEST=${TGTADM:-$BUILD/tgtadm} ;;
*) UNDER_TEST=${TGTADM:-$HERE/../../$BUILD/tgtadm} ;;
esac
REF_TGTADM=${REF_TGTADM:-/usr/sbin/tgtadm}
REF_TGTD=${REF_TGTD:-/usr/sbin/tgtd}

if [ ! -x "$REF_TGTD" ] || [ ! -x "$REF_TGTADM" ]; then
	echo "skip - reference tgt ($REF_TGTD, $REF_TGTADM) not installed"
	echo "0 passed, 0 failed"
	exit 0
fi

# lib.sh starts and stops the daemon with the reference tools, so that a
# broken tgtadm under test cannot leave a daemon behind.
# shellcheck disable=SC2034 # read by lib.sh
TGTD=$REF_TGTD
TGTADM=$REF_TGTADM
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

if [ ! -x "$UNDER_TEST" ]; then
	fail "missing tgtadm under test: $UNDER_TEST (build first or set TGTADM)"
	finish
fi
echo "# comparing $UNDER_TEST with $REF_TGTADM"

# Differences that are intended. Key: <case>.<out|err|rc>.
declare -A ALLOWED=(
	[version.out]="-V prints 1.0.85-mtgt so that the two programs can be told apart"
	[help.out]="the usage text is our own wording (no tool parses it, spec §3.2)"
	[debug.err]="the -d trace line names our function, not tgt's source line"
	[bare_force.err]="we accept -F without an argument (tgt: 'option requires an argument'), so the mode check answers instead"
	[bus_no_comma.err]="tgt sends host number -EINVAL for a --bus without a comma; we refuse it with 'can't find bus'"
)

IMG1=$TEST_TMP/lun1.img
IMG4=$TEST_TMP/lun4.img
IQN=iqn.2024-01.test.mtgt:cli
make_sparse "$IMG1" 8M
make_sparse "$IMG4" 4M

# Set per run: which tgtadm, where its results go, the daemon's ports.
BIN=
RESULTS=
EXTRA_PORT=
DEAD_CPORT=
declare -A SEEN_CASE=()

# t NAME ARGS...: runs the tgtadm of this run as "tgtadm" (getopt puts
# argv[0] into its messages) against the daemon, keeping its output.
t() {
	local name=$1
	shift
	if [ -n "${SEEN_CASE[$RESULTS/$name]:-}" ]; then
		echo "duplicate case name $name" >&2
		exit 1
	fi
	SEEN_CASE[$RESULTS/$name]=1
	echo "$name" >>"$RESULTS/order"
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 20 bash -c 'exec -a tgtadm "$0" "$@"' "$BIN" -C "$CPORT" "$@" \
		</dev/null >"$RESULTS/$name.out" 2>"$RESULTS/$name.err"
	echo $? >"$RESULTS/$name.rc"
}

command_script() {
	# general syntax, answered without the daemon
	t version -V
	t help -h
	t no_op --mode system
	t no_mode --op show
	t unknown_mode --mode foo --op show
	t unknown_op --mode target --op foo
	t stray_argument --mode system --op show extra
	t unknown_long_option --foo --mode system --op show
	t unknown_short_option -Z --mode system --op show
	t ambiguous_prefix --t 1 --mode target --op show
	t missing_argument --mode target --op show --tid
	t flag_with_argument --mode target --op delete --tid 1 --force=1
	t tid_invalid --mode target --op show --tid abc
	t tid_negative --mode target --op show --tid -1
	t tid_out_of_range --mode target --op show --tid 2147483648
	t sid_invalid --mode session --op stat --sid ' '
	t cid_out_of_range --mode connection --op stat --cid 4294967296
	t lun_all_ones --mode logicalunit --op stat --tid 1 --lun 18446744073709551615
	t control_port_out_of_range -C 32768 --mode system --op show
	t host_negative --mode target --op bind --tid 1 --host -1
	t device_type_unknown --mode logicalunit --op new --tid 1 --lun 1 -Y floppy
	t bus_unknown --mode target --op bind --tid 1 --bus nosuchbus,dev0
	t bus_no_comma --mode target --op bind --tid 99 --bus nosuchbus
	t not_running -C "$DEAD_CPORT" --mode system --op show

	# system and lld
	t sys_show --mode system --op show
	t sys_show_short -m sys -o show
	t debug -d --mode sys --op stat
	t sys_stat --mode system --op stat
	t sys_new --mode system --op new
	t sys_update_no_value --mode system --op update --name debug
	t sys_update_bad_option --mode system --op update -t 1 -n debug -v on
	t sys_update_state --mode system --op update --name State --value offline
	t sys_show_offline --mode system --op show
	t sys_update_ready --mode sys --op update -n State -v ready
	t sys_update_unknown --mode sys --op update -n NoSuchKey -v 1
	t lld_show --mode lld --op show
	t lld_new --mode lld --op new
	t lld_bad_option --mode lld --op show --tid 1
	t lld_start_unknown --lld nosuchlld --mode lld --op start
	t lld_start_iser --lld iser --mode lld --op start
	t lld_unknown_driver --lld nosuchlld --mode target --op show

	# targets
	t target_new_no_tid --mode target --op new -T "$IQN"
	t target_new_tid0 --mode target --op new --tid 0 -T "$IQN"
	t target_new_no_name --mode target --op new --tid 1
	t target_new_bad_option --mode target --op new --tid 1 -T "$IQN" --lun 3
	t target_new --lld iscsi --mode target --op new --tid 1 -T "$IQN"
	t target_new_tid_exists --mode target --op new --tid 1 -T "$IQN.other"
	t target_new_name_exists --mode target --op new --tid 2 -T "$IQN"
	t target_new_bad_char --mode target --op new --tid 3 -T "$IQN.bad_name"
	t target_new_hex_tid --mode tgt --op new --tid 0x10 \
		--targetname "$IQN.hex"
	t target_show_unknown --mode target --op show --tid 9
	t target_delete_unknown --mode target --op delete --tid 9
	t target_start --mode target --op start --tid 1
	t target_no_tid --mode target --op stat
	t target_update --mode target --op update --tid 1 \
		--name MaxRecvDataSegmentLength --value 65536
	t target_update_unknown_param --mode target --op update --tid 1 \
		-n NoSuchParam -v 1
	t target_update_no_value --mode target --op update --tid 1 -n Foo
	t target_update_params --mode target --op update --tid 1 -n a -v b \
		-P x=y
	t target_show_tid --mode target --op show --tid 1
	t target_stat --mode target --op stat --tid 1
	t target_bind_nothing --mode target --op bind --tid 1
	t target_bind_host0 --mode target --op bind --tid 1 --host 0
	t target_bind_bad_option --mode target --op bind --tid 1 -I ALL -T x
	t target_bind_all --mode target --op bind --tid 1 -I ALL
	t target_bind_all_again --mode target --op bind --tid 1 \
		--initiator-address ALL
	t target_bind_name --mode target --op bind --tid 1 \
		-Q iqn.1994-05.com.example:host1
	t target_bind_both --mode target --op bind --tid 16 -I 10.0.0.1 \
		-Q iqn.1994-05.com.example:host2
	t target_unbind_name --mode target --op unbind --tid 1 \
		--initiator-name iqn.1994-05.com.example:host1
	t target_unbind_missing --mode target --op unbind --tid 1 \
		-I 192.168.99.99
	t target_update_offline --mode target --op update --tid 16 \
		-n state -v offline

	# logical units
	t lu_no_tid --mode logicalunit --op new --lun 1 -b "$IMG1"
	t lu_tid0 --mode logicalunit --op new --tid 0 --lun 1 -b "$IMG1"
	t lu_no_lun --mode logicalunit --op new --tid 1 -b "$IMG1"
	t lu_new_file --mode logicalunit --op new --tid 1 --lun 1 \
		--backing-store "$IMG1"
	t lu_new_exists --mode lu --op new --tid 1 --lun 1 -b "$IMG1"
	t lu_new_null --mode lu --op new --tid 1 --lun 2 -E null \
		-b "$TEST_TMP/null0"
	t lu_new_cd_no_medium --mode lu --op new --tid 1 --lun 3 -Y cd
	t lu_new_options --mode lu --op new --tid 1 --lun 4 -b "$IMG4" \
		--bstype rdwr --bsoflags sync --blocksize 4096
	t lu_new_missing_file --mode lu --op new --tid 1 --lun 5 \
		-b "$TEST_TMP/does-not-exist"
	t lu_new_unknown_bstype --mode lu --op new --tid 1 --lun 5 \
		-b "$IMG4" -E nosuchbs
	t lu_new_bad_oflags --mode lu --op new --tid 1 --lun 5 -b "$IMG4" \
		-f nosuchflag
	t lu_new_changer_no_store --mode lu --op new --tid 1 --lun 5 \
		-Y changer
	t lu_new_bad_option --mode lu --op new --tid 1 --lun 5 -b "$IMG4" \
		-P x=y
	t lu_new_no_target --mode lu --op new --tid 7 --lun 1 -b "$IMG1"
	t lu_update --mode logicalunit --op update --tid 1 --lun 1 \
		--params vendor_id=VEND,product_id=PROD,scsi_sn=SN0001
	t lu_update_prefix --mode lu --op update --tid 1 --lun 1 \
		--param product_rev=0002
	t lu_update_unknown_key --mode lu --op update --tid 1 --lun 1 \
		-P nosuchkey=1
	t lu_update_bad_option --mode lu --op update --tid 1 --lun 1 -b x
	t lu_update_no_lun --mode lu --op update --tid 1 --lun 9 -P online=1
	t lu_show --mode lu --op show --tid 1 --lun 1
	t lu_stat --mode lu --op stat --tid 1 --lun 1
	t lu_delete_unknown --mode lu --op delete --tid 1 --lun 9
	t lu_delete_force --mode lu --op delete --tid 1 --lun 4 -F 1
	t lu_delete --mode lu --op delete --tid 1 --lun 4
	t target_show_all --mode target --op show

	# accounts
	t account_new_no_password --mode account --op new --user alice
	t account_new_bad_option --mode account --op new -u alice -p pw --tid 1
	t account_new --mode account --op new --user alice --password secret1
	t account_new_exists --mode account --op new -u alice -p secret2
	t account_new_bob --mode account --op new -u bob -p secret3
	t account_show --mode account --op show
	t account_show_bad_option --mode account --op show -u alice
	t account_bind_no_user --mode account --op bind --tid 1
	t account_bind --mode account --op bind --tid 1 --user alice
	t account_bind_again --mode account --op bind --tid 1 --user alice
	t account_bind_outgoing --mode account --op bind --tid 1 --user bob \
		--outgoing
	t account_bind_outgoing_again --mode account --op bind --tid 1 \
		-u alice -O 1
	t account_bind_discovery --mode account --op bind --user alice
	t account_bind_unknown_user --mode account --op bind --tid 1 -u carol
	t account_bind_unknown_target --mode account --op bind --tid 7 -u bob
	t target_show_accounts --mode target --op show
	t account_unbind --mode account --op unbind --tid 1 --user alice
	t account_unbind_again --mode account --op unbind --tid 1 -u alice
	t account_unbind_outgoing --mode account --op unbind --tid 1 -u bob -O 1
	t account_delete --mode account --op delete --user alice
	t account_delete_unknown --mode account --op delete --user alice
	t account_delete_bad_option --mode account --op delete -u bob -p x
	t account_update --mode account --op update -u bob
	t account_show_after --mode account --op show

	# portals
	t portal_show --mode portal --op show
	t portal_new --mode portal --op new --param "portal=127.0.0.1:$EXTRA_PORT"
	t portal_new_again --mode portal --op new -P "portal=127.0.0.1:$EXTRA_PORT"
	t portal_new_no_param --mode portal --op new
	t portal_params_before_mode -P "portal=127.0.0.1:$EXTRA_PORT" \
		--mode portal --op new
	t portal_new_bad_option --mode portal --op new -P portal=x --tid 1
	t portal_show_bad_option --mode portal --op show --tid 1
	t portal_show_two --mode pt --op show
	t portal_delete --mode portal --op delete -P "portal=127.0.0.1:$EXTRA_PORT"
	t portal_delete_unknown --mode portal --op delete \
		-P "portal=127.0.0.1:$EXTRA_PORT"
	t portal_bind --mode portal --op bind -P x

	# sessions and connections
	t session_show --mode session --op show
	t session_stat_unknown --mode sess --op stat --sid 1
	t connection_show --mode connection --op show --tid 1
	t connection_show_no_target --mode conn --op show
	t connection_delete_unknown --mode conn --op delete --tid 1 --sid 1 \
		--cid 0

	# teardown, ending with the daemon
	t lld_stop_busy --lld iscsi --mode lld --op stop
	t sys_delete_busy --mode system --op delete
	t bare_force --mode target --op show -F
	t target_delete_forced --mode target --op delete --tid 16 --force
	t target_delete --mode target --op delete --tid 1
	t target_show_none --mode target --op show
	t sys_delete --mode system --op delete
}

# one_run LABEL TGTADM: fresh daemon, the whole script, the daemon must be
# gone after `--op delete --mode system`.
one_run() {
	local label=$1
	BIN=$2
	RESULTS=$TEST_TMP/$label
	mkdir -p "$RESULTS"
	start_daemon || return 1
	pick_extra_ports
	echo "$PORT $EXTRA_PORT" >"$RESULTS/ports"
	command_script
	if wait_daemon_exit "$DAEMON_PID" 10; then
		pass "$label: daemon exited after --op delete --mode system"
	else
		fail "$label: daemon still running after --op delete --mode system"
		stop_daemon "$DAEMON_PID"
	fi
}

pick_extra_ports() {
	local _
	for _ in $(seq 100); do
		EXTRA_PORT=$((20000 + RANDOM % 30000))
		[ "$EXTRA_PORT" != "$PORT" ] && tcp_port_free "$EXTRA_PORT" &&
			break
	done
	for _ in $(seq 100); do
		DEAD_CPORT=$((1000 + RANDOM % 30000))
		[ "$DEAD_CPORT" != "$CPORT" ] && control_port_free "$DEAD_CPORT" &&
			break
	done
}

# The TCP ports differ between the runs: hide them.
normalized() {	# RUN CASE STREAM
	local port extra
	read -r port extra <"$TEST_TMP/$1/ports"
	sed -e "s/127\.0\.0\.1:$port,/127.0.0.1:@PORT@,/g" \
		-e "s/127\.0\.0\.1:$extra,/127.0.0.1:@EXTRA_PORT@,/g" \
		"$TEST_TMP/$1/$2.$3"
}

compare_case() {	# CASE
	local name=$1 stream diffs="" d
	for stream in out err rc; do
		d=$(diff -u --label "tgt $name.$stream" --label "ours $name.$stream" \
			<(normalized ref "$name" "$stream") \
			<(normalized ours "$name" "$stream"))
		[ -z "$d" ] && continue
		if [ -n "${ALLOWED[$name.$stream]:-}" ]; then
			echo "#    $name.$stream differs as allowed: ${ALLOWED[$name.$stream]}"
			continue
		fi
		diffs+=$d$'\n'
	done
	if [ -z "$diffs" ]; then
		pass "$name: $(tr -d '\n' <"$TEST_TMP/ref/$name.rc" | sed 's/^/exit /')"
	else
		fail "$name differs" "$diffs"
	fi
}

one_run ref "$REF_TGTADM"
one_run ours "$UNDER_TEST"
if [ ! -s "$TEST_TMP/ref/order" ] || [ ! -s "$TEST_TMP/ours/order" ]; then
	fail "a run did not take place (see above)"
	finish
fi

if ! cmp -s "$TEST_TMP/ref/order" "$TEST_TMP/ours/order"; then
	fail "the two runs did not execute the same cases" \
		"$(diff "$TEST_TMP/ref/order" "$TEST_TMP/ours/order")"
fi
while read -r name; do
	compare_case "$name"
done <"$TEST_TMP/ref/order"

finish
