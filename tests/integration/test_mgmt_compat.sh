#!/bin/bash
# Management compatibility of the daemon: one script of tgtadm commands
# (every mode and op: system, lld, target and its parameters, redirection,
# logical-unit parameters, accounts, portals, sessions, connections and
# statistics, with their error cases), with an iSCSI session logged in
# for the second half that sends a fixed sequence of commands
# (stat_traffic.py) so that the statistics can be compared too, is run
# three times, each against a fresh daemon:
#   ref    Debian's tgtadm against Debian's tgtd (the reference)
#   ours   build/tgtadm against build/tgtd
#   mixed  Debian's tgtadm against build/tgtd
# Stdout, stderr and exit status of every command must be identical in
# ours and mixed to ref, after the normalisations below (each with its
# reason); a few cases may differ as listed in ALLOWED.
#
# Environment:
#   TGTD, TGTADM          under test (default: $BUILD/tgtd, $BUILD/tgtadm)
#   REF_TGTD, REF_TGTADM  reference (default: /usr/sbin/tgtd, /usr/sbin/tgtadm)
# Skipped when the reference programs are not installed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REF_TGTADM=${REF_TGTADM:-/usr/sbin/tgtadm}
REF_TGTD=${REF_TGTD:-/usr/sbin/tgtd}

if [ ! -x "$REF_TGTD" ] || [ ! -x "$REF_TGTADM" ]; then
	echo "skip - reference tgt ($REF_TGTD, $REF_TGTADM) not installed"
	echo "0 passed, 0 failed"
	exit 0
fi

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
OUR_TGTD=$TGTD
OUR_TGTADM=$TGTADM

# Intended differences are cases run with `deviate` (below): the
# reference run records what we answer instead of asking tgt, and the
# reason is given where the case is. There is no other allowed difference
# than the normalisations that follow.

# Parts of an output that may differ, rewritten in every output of every
# run before comparing. Each is a sed expression and its reason.
NORMALISE=(
	# The TCP ports of the runs differ.
	's/127\.0\.0\.1:@PORT@,/127.0.0.1:PORT,/g'
	's/127\.0\.0\.1:@EXTRA_PORT@,/127.0.0.1:EXTRA_PORT,/g'
	# sys show: the backing stores and device types each daemon is
	# built with (tgt: sheepdog, bsg, sg, ... and seven device types;
	# ours: the stores of backing/ and disk, controller). Only the lines
	# between "Backing stores:" and the next block are dropped.
	'/^Backing stores:$/,/^(iSNS:|    Account information:)$/{/^(Backing stores:|iSNS:|    Account information:)$/!d}'
	# A LUN created without a bs-type: tgt's default store is rdwr, ours
	# is io_uring, shown under tgt's name for it, aio (DESIGN.md). The
	# script never asks for a type, so no other aio line is hidden.
	's/^( +Backing store type: )aio$/\1rdwr/'
	# txdata_octets of a connection: both count every byte sent since
	# the connection was accepted (check_octets holds each to what the
	# initiator received), but what is sent differs by design: our
	# login response declares MaxRecvDataSegmentLength, which tgt leaves
	# out, our INQUIRY data are longer, and tgt sends a failed read's
	# data with its CHECK CONDITION. Only that column is hidden, and
	# only in connection lines (8 numbers).
	's/^( *[0-9]+ +[0-9]+ +[0-9]+ +)[0-9]+( +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+)$/\1TXDATA\2/'
)

IQN=iqn.2024-01.test.mtgt:compat
IMG1=$TEST_TMP/lun1.img
IMG2=$TEST_TMP/lun2.img
IMG3=$TEST_TMP/lun3.img
IMG4=$TEST_TMP/lun4.img
make_sparse "$IMG1" 8M
make_sparse "$IMG2" 4M
make_sparse "$IMG3" 4M
make_sparse "$IMG4" 16M
IMG3b=$TEST_TMP/lun3b.img
make_sparse "$IMG3b" 4M

# iscsi-prevent URL: logs in, sets PREVENT ALLOW MEDIUM REMOVAL on the
# LUN, prints "prevented" and holds the session until stdin closes; then
# allows removal again and logs out. No libiscsi tool sends that command.
PREVENT=$TEST_TMP/iscsi-prevent
cat >"$PREVENT.c" <<'C'
#include <stdio.h>
#include <unistd.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

static int prevent(struct iscsi_context *iscsi, int lun, int on)
{
	for (int i = 0; i < 5; i++) { /* the first answers may be UAs */
		struct scsi_task *task = iscsi_preventallow_sync(iscsi, lun, on);
		int good = task && task->status == SCSI_STATUS_GOOD;

		if (task)
			scsi_free_scsi_task(task);
		if (good)
			return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct iscsi_context *iscsi;
	struct iscsi_url *url;
	char buf[64];

	iscsi = iscsi_create_context("iqn.2024-01.test.mtgt:prevent");
	url = argc == 2 && iscsi ? iscsi_parse_full_url(iscsi, argv[1]) : NULL;
	if (!url)
		return 2;
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) ||
	    prevent(iscsi, url->lun, 1)) {
		fprintf(stderr, "%s\n", iscsi_get_error(iscsi));
		return 1;
	}
	printf("prevented\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	prevent(iscsi, url->lun, 0);
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return 0;
}
C
if ! gcc -std=c11 -Wall -Wextra -Werror -O2 -o "$PREVENT" "$PREVENT.c" \
	-liscsi 2>"$PREVENT.log"; then
	fail "cannot build the iscsi-prevent helper" "$(cat "$PREVENT.log")"
	finish
fi

# Set per run: which tgtadm, where its results go, the daemon's ports.
BIN=
RESULTS=
EXTRA_PORT=
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

# deviate NAME RC STDOUT STDERR -- ARGS...: a case where tgt's answer
# cannot be the reference. In the reference run the answer expected from
# us (exit RC, STDOUT, STDERR; each line ends with a newline) is written
# down instead of asking tgt, so ours and mixed are still compared with
# something. The reason is given where it is used.
deviate() {
	local name=$1 rc=$2 out=$3 err=$4
	shift 5
	if [ "$RUN" != ref ]; then
		t "$name" "$@"
		return
	fi
	echo "$name" >>"$RESULTS/order"
	: >"$RESULTS/$name.out"
	: >"$RESULTS/$name.err"
	[ -n "$out" ] && printf '%s\n' "$out" >"$RESULTS/$name.out"
	[ -n "$err" ] && printf '%s\n' "$err" >"$RESULTS/$name.err"
	echo "$rc" >"$RESULTS/$name.rc"
}

# wait_for DESCRIPTION SECONDS AWK-CONDITION: polls `target show` until
# the condition (an awk program that exits 0) holds; records a failure
# otherwise, since the comparison would then fail for no good reason.
wait_for() {
	local what=$1 secs=$2 prog=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		"$BIN" -C "$CPORT" --op show --mode target 2>/dev/null |
			awk "$prog" && return 0
		sleep 0.1
	done
	fail "$RUN: timed out waiting for $what"
	return 1
}

nexus_is() {	# SID: the only I_T nexus of target 1 is SID
	wait_for "I_T nexus $1" 30 "/^Target 1:/ { on = 1; next }
		/^Target / { on = 0 }
		on && /I_T nexus: / { n++; id = \$3 }
		END { exit !(n == 1 && id == $1) }"
}

no_nexus() {
	wait_for "no I_T nexus" 30 '/I_T nexus: / { n++ } END { exit n != 0 }'
}

script_system() {
	t sys_show --mode system --op show
	t sys_stat_empty --mode system --op stat
	t debug_on --mode system --op update --name debug --value on
	t sys_show_debug --mode sys --op show
	t debug_off --mode system --op update -n debug -v off
	t debug_bad --mode system --op update -n debug -v maybe
	t debug_prefix --mode system --op update -n debugx -v on
	t state_offline --mode system --op update -n State -v offline
	t sys_show_offline --mode system --op show
	t state_lowercase_key --mode system --op update -n state -v ready
	t state_bad --mode system --op update -n State -v Ready
	t state_ready --mode system --op update -n State -v ready
	t isns_ip --mode system --op update -n iSNSServerIP -v 127.0.0.1
	t isns_ip_empty --mode system --op update -n iSNSServerIP -v ''
	t isns_port --mode system --op update -n iSNSServerPort -v 0x10
	t isns_port_negative --mode system --op update -n iSNSServerPort -v -5
	t isns_port_bad --mode system --op update -n iSNSServerPort -v 12abc
	t isns_port_int --mode system --op update -n iSNSServerPort \
		-v 99999999999
	t isns_ac_on --mode system --op update -n iSNSAccessControl -v On
	t sys_show_isns --mode system --op show
	t isns_ac_other --mode system --op update -n iSNSAccessControl -v yes
	t isns_bad --mode system --op update -n iSNS -v on
	# Deviation: iSNS is not implemented, so we refuse to turn it on
	# rather than show iSNS=On (tgt-admin would believe it). (tgt itself
	# then starts iSNS, and crashed later in this script.)
	deviate isns_on 22 "" "tgtadm: invalid request" -- \
		--mode system --op update -n iSNS -v On
	t isns_off --mode system --op update -n iSNS -v Off
	t isns_list --mode system --op update -n State \
		-v ready,iSNSServerPort=3205
	# tgt keeps the items before a bad one, we keep none: the good
	# item here changes nothing, so that the states stay the same.
	t isns_list_bad --mode system --op update -n iSNSServerPort \
		-v 3205,NoSuchKey=2
	t sys_update_unknown --mode system --op update -n NoSuchKey -v 1
	t sys_show_after --mode system --op show
}

# After the targets are gone: `lld stop` needs none.
script_lld() {
	t lld_show --mode lld --op show
	t lld_stop --lld iscsi --mode lld --op stop
	t lld_show_stopped --mode lld --op show
	t sys_show_stopped --mode system --op show
	t portal_show_stopped --mode portal --op show
	t lld_named_stopped --lld iscsi --mode target --op show
	t lld_empty_stopped --mode target --op show
	t lld_stop_again --lld iscsi --mode lld --op stop
	t lld_iser_show --lld iser --mode lld --op show
	t lld_iser_start --lld iser --mode lld --op start
	t lld_iser_stop --lld iser --mode lld --op stop
	t lld_iser_target --lld iser --mode target --op show
	t lld_unknown --lld nosuchlld --mode lld --op show
	# tgt 1.0.85 answers `lld start` after `lld stop` with success and
	# listens again, then segfaults within a second (in its timer list;
	# seen in dmesg). So what follows is our answer written down, which
	# is what tgt answers before it dies.
	deviate lld_start 0 "" "" -- --lld iscsi --mode lld --op start
	deviate lld_start_again 0 "" "" -- --lld iscsi --mode lld --op start
	deviate portal_show_started 0 "Portal: 127.0.0.1:$PORT,1" "" -- \
		--mode portal --op show
	deviate lld_show_started 0 "LLDs:
    iscsi: ready
    iser: error" "" -- --mode lld --op show
}

script_targets() {
	t target_new1 --lld iscsi --mode target --op new --tid 1 -T "$IQN:t1"
	t target_new2 --mode target --op new --tid 2 -T "$IQN:t2"
	t lu_new11 --mode logicalunit --op new --tid 1 --lun 1 -b "$IMG1"
	t lu_new12 --mode logicalunit --op new --tid 1 --lun 2 -b "$IMG2"
	t lu_new21 --mode logicalunit --op new --tid 2 --lun 1 -b "$IMG3"
	t bind_all1 --mode target --op bind --tid 1 -I ALL
	t bind_all2 --mode target --op bind --tid 2 -I ALL
	t bind_name --mode target --op bind --tid 2 -Q iqn.1994-05.x:host
	t unbind_missing --mode target --op unbind --tid 2 -I 10.9.9.9
	t host_bind --mode target --op bind --tid 2 --host 3
	t host_bind_again --mode target --op bind --tid 1 --host 3
	t host_unbind --mode target --op unbind --tid 2 --host 3
	t host_unbind_again --mode target --op unbind --tid 2 --host 3
	t lld_stop_busy --lld iscsi --mode lld --op stop
	t sys_delete_busy --mode system --op delete
	t lld_show_targets --mode lld --op show
	t target_stat_none --mode target --op stat --tid 1
	t target_stat_unknown --mode target --op stat --tid 9
}

# tp NAME NAME VALUE: target update of target 1.
tp() {
	local case=$1
	shift
	t "$case" --mode target --op update --tid 1 -n "$1" -v "$2"
}

script_target_params() {
	tp nop_interval nop_interval 5
	tp nop_count nop_count 3
	t show_nop --mode target --op show
	tp nop_upper NOP_INTERVAL 7
	tp nop_count_mixed Nop_Count 4
	tp nop_suffix nop_intervalx3 9
	tp nop_suffix_short nop_countx 11
	tp nop_negative nop_count -2
	t show_nop_odd --mode target --op show
	t params_nop --mode target --op show --tid 1
	tp nop_text nop_interval abc
	# No NOP-In from here on: the session below must see the same
	# traffic in every run, whenever its stat is taken.
	tp nop_off nop_interval 0
	t show_nop_off --mode target --op show --tid 1
	tp key_lower maxburstlength 4096
	tp key_upper_hex MAXBURSTLENGTH 0x2000
	tp key_too_small MaxBurstLength 100
	tp bool_lower ImmediateData yes
	tp bool_no ImmediateData No
	tp digest_list HeaderDigest CRC32C,None
	tp digest_short HeaderDigest Non
	tp digest_lower DataDigest crc32c
	tp first_burst_max FirstBurstLength 16777216
	tp erl_3 ErrorRecoveryLevel 3
	tp t2w_3601 DefaultTime2Wait 3601
	tp maxconn_0 MaxConnections 0
	tp maxconn_max MaxConnections 65535
	tp unexpected_1 MaxOutstandingUnexpectedPDUs 1
	tp unexpected_2 MaxOutstandingUnexpectedPDUs 2
	tp queue_600 MaxQueueCmd 600
	tp queue_64 MaxQueueCmd 64
	tp mrdsl MaxRecvDataSegmentLength 65536
	tp unknown_key NoSuchParam 1
	tp state_offline_t state offline
	tp state_upper State offline
	tp state_bad_t state gone
	t show_offline --mode target --op show
	tp state_ready_t state ready
	tp digest_none HeaderDigest None
	t params_changed --mode target --op show --tid 1
	t update_no_target --mode target --op update --tid 9 \
		-n MaxBurstLength -v 4096
	t state_no_target --mode target --op update --tid 9 -n state -v ready
}

# rd NAME NAME VALUE: target update of target 2 (redirection).
rd() {
	local case=$1
	shift
	t "$case" --mode target --op update --tid 2 -n "$1" -v "$2"
}

script_redirect() {
	rd redir_port RedirectPort 3261
	t redir_show_port --mode target --op show --tid 2
	rd redir_port_lower redirectport 3262
	rd redir_reason_short RedirectReason Temp
	rd redir_reason_lower RedirectReason temporary
	rd redir_reason_prefix RedirectReasonX Permanentxx
	rd redir_addr RedirectAddress 10.1.1.1
	t redir_show_addr --mode target --op show --tid 2
	rd redir_reason_temp RedirectReason Temporary
	t redir_show_temp --mode target --op show --tid 2
	rd redir_callback RedirectCallback /bin/true
	t redir_show_callback --mode target --op show --tid 2
	rd redir_callback_empty RedirectCallback ''
	t redir_show_empty --mode target --op show --tid 2
}

# lp CASE PARAMS [LUN]: logical unit update of target 1 (LUN 2 unless
# given; LUN 1 carries the session's I/O).
lp() {
	t "$1" --mode logicalunit --op update --tid 1 --lun "${3:-2}" \
		--params "$2"
}

script_lu_params() {
	lp lu_partial_fail "readonly=0,foo=bar"
	lp lu_strings vendor_id=ABCDEFGHIJKL,product_id=0123456789abcdefXYZ,product_rev=123456
	lp lu_scsi_id "scsi_id=$(printf 'i%.0s' {1..50})"
	lp lu_scsi_sn "scsi_sn=$(printf 's%.0s' {1..50})"
	lp lu_empty_value vendor_id=
	lp lu_no_value vendor_id
	lp lu_removable_text removable=yes
	lp lu_readonly_2 readonly=2
	lp lu_thin thin_provisioning=1
	lp lu_numbers sense_format=1,lbppbe=3,la_lba=7,optimal_xfer_gran=8,optimal_xfer_len=16
	lp lu_rotation rotation_rate=7200
	lp lu_la_lba_text la_lba=abc
	lp lu_online_upper Online=No
	lp lu_bsopts bsopts=x
	lp lu_bsoflags bsoflags=sync
	t lu_blocksize --mode lu --op update --tid 1 --lun 2 --blocksize 4096
	t lu_oflags --mode lu --op update --tid 1 --lun 2 -f sync
	lp lu_path_online "path=$IMG4"
	lp lu_offline online=0
	t show_lu_offline --mode target --op show
	lp lu_path "path=$IMG4"
	t show_lu_path --mode target --op show
	lp lu_path_missing "path=$TEST_TMP/does-not-exist"
	lp lu_sequence "online=0,path=$IMG2,online=0"
	t show_lu_sequence --mode target --op show
	lp lu_online online=1
	lp lu_online_then_path "online=1,path=$IMG4"
	lp lu_mode_page_wce mode_page=8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0
	lp lu_mode_page_short mode_page=8:0:18:0x14:0:0xff
	lp lu_mode_page_long mode_page=8:0:2:1:2:3
	lp lu_mode_page_no_len mode_page=8
	lp lu_mode_page_empty mode_page=
	lp lu_empty_items ",,vendor_id=Z,,"
	lp lu_targetops_twice targetOpsvendor_id=Q
	lp lu_lun0 vendor_id=X,rotation_rate=1 0
	lp lu_no_lun vendor_id=X 9
	t lu_update_no_target --mode lu --op update --tid 9 --lun 1 -P online=1
	# (With an unknown tid instead, tgt 1.0.85 crashes.)
	t lu_delete_lun0 --mode lu --op delete --tid 1 --lun 0
	t lu_delete_missing --mode lu --op delete --tid 1 --lun 9
	t show_lu_done --mode target --op show
}

# ac CASE ARGS...: account mode.
ac() {
	local case=$1
	shift
	t "$case" --mode account "$@"
}

script_accounts() {
	ac acc_show_empty --op show
	ac acc_new_alice --op new --user alice --password 'pw,with,comma'
	ac acc_new_bob --op new --user bob --password x
	ac acc_new_comma --op new --user 'c,d' --password yy
	ac acc_new_empty_pw --op new --user e --password ''
	ac acc_new_exists --op new --user alice --password other
	ac acc_show --op show
	ac acc_bind_alice --op bind --tid 1 --user alice
	ac acc_bind_bob --op bind --tid 1 --user bob
	ac acc_bind_c --op bind --tid 1 --user c
	ac acc_bind_again --op bind --tid 1 --user alice
	ac acc_bind_out --op bind --tid 1 --user e --outgoing
	ac acc_bind_out_again --op bind --tid 1 --user bob --outgoing
	ac acc_bind_no_target --op bind --tid 9 --user bob
	ac acc_bind_no_user --op bind --tid 1 --user zed
	ac acc_bind_disc --op bind --user alice
	ac acc_bind_disc_out --op bind --user bob --outgoing
	ac acc_bind_disc_out_again --op bind --user e --outgoing
	t acc_sys_show --mode system --op show
	t acc_target_show --mode target --op show
	ac acc_unbind_disc_wrong --op unbind --user e --outgoing
	ac acc_unbind_disc_out --op unbind --user bob --outgoing
	ac acc_unbind_c --op unbind --tid 1 --user c
	ac acc_unbind_again --op unbind --tid 1 --user c
	ac acc_unbind_bob --op unbind --tid 1 --user bob
	ac acc_rebind_c --op bind --tid 1 --user c
	ac acc_unbind_disc --op unbind --user alice
	t acc_target_show_slots --mode target --op show
	# The session later logs in without CHAP: no incoming account may
	# stay bound to target 1. (tgt crashes when it shows a target whose
	# first slots are free, so the last slot goes first.)
	ac acc_unbind_c_last --op unbind --tid 1 --user c
	ac acc_unbind_alice --op unbind --tid 1 --user alice
	t acc_sys_show_none --mode system --op show
	ac acc_delete_e --op delete --user e
	ac acc_delete_unknown --op delete --user alic
	ac acc_delete_bob --op delete --user bob
	ac acc_show_after --op show
	t acc_iser --lld iser --mode account --op show
}

script_portals() {
	t portal_new --mode portal --op new -P "portal=127.0.0.1:$EXTRA_PORT"
	t portal_new_again --mode portal --op new -P "portal=127.0.0.1:$EXTRA_PORT"
	t portal_show_two --mode portal --op show
	t portal_delete --mode portal --op delete -P "portal=127.0.0.1:$EXTRA_PORT"
	t portal_delete_again --mode portal --op delete \
		-P "portal=127.0.0.1:$EXTRA_PORT"
}

# A session of stat_traffic.py, driven line by line: `traffic REQUEST`
# sends the request and waits for its answer (recorded as a failure if it
# does not come or is not "ok"). Its answer is left in TRAFFIC_ANSWER.
TRAFFIC_ANSWER=
traffic_start() {
	local fifo=$RESULTS/traffic.fifo
	mkfifo "$fifo"
	: >"$RESULTS/traffic.log"
	python3 "$HERE/stat_traffic.py" 127.0.0.1 "$PORT" "$IQN:t1" \
		iqn.2024-01.test.mtgt:stat <"$fifo" >"$RESULTS/traffic.log" \
		2>&1 &
	HELPER_PIDS+=("$!")
	exec 8>"$fifo"
}

traffic() {
	local n i
	n=$(wc -l <"$RESULTS/traffic.log")
	echo "$1" >&8
	for ((i = 0; i < 300; i++)); do
		[ "$(wc -l <"$RESULTS/traffic.log")" -gt "$n" ] && break
		sleep 0.1
	done
	TRAFFIC_ANSWER=$(sed -n "$((n + 1))p" "$RESULTS/traffic.log")
	case $TRAFFIC_ANSWER in
	"ok $1" | "$1 "*) return 0 ;;
	esac
	fail "$RUN: traffic $1: ${TRAFFIC_ANSWER:-no answer}" \
		"$(cat "$RESULTS/traffic.log")"
	return 1
}

# The connection's rxdata_octets and txdata_octets must be the bytes the
# initiator sent and received (login included): checked in every run,
# tgt's too. (Ours and tgt's txdata_octets differ, see NORMALISE.)
check_octets() {	# SID
	local sent received line
	traffic bytes || return
	read -r _ sent received <<<"$TRAFFIC_ANSWER"
	line=$("$BIN" -C "$CPORT" --mode connection --op stat --sid "$1" \
		--cid 0 | sed -n 2p)
	assert_eq "$RUN: session $1 octets are the initiator's (rx tx)" \
		"$sent $received" "$(awk '{ print $3, $4 }' <<<"$line")"
}

# The session sends a fixed sequence of commands and stops before the
# stat cases, so the counters are the same in every run; they restart
# with the second session.
script_sessions() {
	traffic_start
	traffic login
	nexus_is 1
	traffic io
	check_octets 1
	t sess_target_show --mode target --op show
	t sess_conn_show --mode connection --op show --tid 1
	t sess_conn_show_t2 --mode connection --op show --tid 2
	t sess_conn_show_no_tid --mode connection --op show
	t sess_sys_stat --mode system --op stat
	t sess_target_stat --mode target --op stat --tid 1
	t sess_target_stat_t2 --mode target --op stat --tid 2
	t sess_lu_stat --mode logicalunit --op stat --tid 1 --lun 1
	t sess_lu_stat_lun0 --mode logicalunit --op stat --tid 1 --lun 0
	t sess_lu_stat_lun2 --mode logicalunit --op stat --tid 1 --lun 2
	t sess_lu_stat_no_lun --mode logicalunit --op stat --tid 1 --lun 9
	t sess_lu_stat_no_target --mode logicalunit --op stat --tid 9 --lun 1
	t sess_stat --mode session --op stat --sid 1
	t sess_stat_tid --mode session --op stat --tid 1 --sid 1
	t sess_stat_other_tid --mode session --op stat --tid 7 --sid 1
	t sess_stat_unknown --mode session --op stat --tid 1 --sid 2
	t conn_stat --mode connection --op stat --tid 1 --sid 1 --cid 0
	t conn_stat_no_tid --mode connection --op stat --sid 1 --cid 0
	t conn_stat_no_cid --mode connection --op stat --sid 1 --cid 1
	t conn_stat_no_sid --mode connection --op stat --sid 2 --cid 0
	# A LU added while the session lives: its line comes first in the
	# session's stat, and starts at zero.
	t sess_lu_new --mode logicalunit --op new --tid 1 --lun 3 -b "$IMG3b"
	t sess_stat_lu_added --mode session --op stat --sid 1
	t sess_lu_delete --mode logicalunit --op delete --tid 1 --lun 3
	t sess_stat_lu_gone --mode session --op stat --sid 1
	t sess_show --mode session --op show --tid 1 --sid 1
	t sess_delete --mode session --op delete --tid 1 --sid 1
	t conn_update --mode connection --op update --tid 1 --sid 1
	t sess_target_busy --mode target --op delete --tid 1
	t sess_lld_stop --lld iscsi --mode lld --op stop
	t conn_delete_no_target --mode connection --op delete --tid 9 --sid 1 \
		--cid 0
	t conn_delete_no_tid --mode connection --op delete --sid 1 --cid 0
	t conn_delete_no_session --mode connection --op delete --tid 1 \
		--sid 2 --cid 0
	t conn_delete_no_conn --mode connection --op delete --tid 1 --sid 1 \
		--cid 3
	t conn_delete --mode connection --op delete --tid 1 --sid 1 --cid 0
	traffic closed
	traffic login
	nexus_is 2
	t sess_relogin_stat_zero --mode session --op stat --sid 2
	traffic io
	check_octets 2
	t sess_relogin_show --mode target --op show
	t sess_relogin_conn_show --mode connection --op show --tid 1
	t sess_relogin_stat --mode session --op stat --sid 2
	t sess_relogin_sys_stat --mode system --op stat
	t sess_old_stat --mode session --op stat --sid 1
	# End of input: the session logs out.
	exec 8>&-
	no_nexus
	stop_all_helpers
	t sess_gone_stat --mode target --op stat --tid 1
	script_prevent
}

# A session that prevents medium removal on LUN 2 of target 1: the LU
# must not go offline or change its medium meanwhile.
script_prevent() {
	local fifo=$RESULTS/prevent.fifo i
	mkfifo "$fifo"
	: >"$RESULTS/prevent.log"
	"$PREVENT" "iscsi://127.0.0.1:$PORT/$IQN:t1/2" <"$fifo" \
		>"$RESULTS/prevent.log" 2>&1 &
	HELPER_PIDS+=("$!")
	exec 7>"$fifo"
	for ((i = 0; i < 300; i++)); do
		grep -q prevented "$RESULTS/prevent.log" && break
		sleep 0.1
	done
	grep -q prevented "$RESULTS/prevent.log" ||
		fail "$RUN: PREVENT ALLOW MEDIUM REMOVAL did not succeed" \
			"$(cat "$RESULTS/prevent.log")"
	t prevent_show --mode target --op show
	lp prevent_offline online=0
	lp prevent_offline_later vendor_id=P,online=0
	lp prevent_online online=1
	# Close the helper's stdin: it allows removal and logs out.
	exec 7>&-
	no_nexus
	t prevent_show_after --mode target --op show
	lp prevent_offline_after online=0
	lp prevent_online_after online=1
	stop_all_helpers
}

script_teardown() {
	t target_delete2 --mode target --op delete --tid 2
	t target_delete1 --mode target --op delete --tid 1
	t target_show_none --mode target --op show
	t sys_stat_final --mode system --op stat
	script_lld
	t sys_delete --mode system --op delete
}

command_script() {
	script_system
	script_targets
	script_target_params
	script_redirect
	script_lu_params
	script_accounts
	script_portals
	script_sessions
	script_teardown
}

pick_extra_port() {
	local _
	for _ in $(seq 100); do
		EXTRA_PORT=$((20000 + RANDOM % 30000))
		[ "$EXTRA_PORT" != "$PORT" ] && tcp_port_free "$EXTRA_PORT" &&
			return 0
	done
}

# one_run LABEL TGTD TGTADM: a fresh daemon, the whole script; the daemon
# must be gone after `--op delete --mode system`.
one_run() {
	RUN=$1
	TGTD=$2
	BIN=$3
	# lib.sh starts, polls and (on failure) stops the daemon with the
	# tgtadm of the run.
	TGTADM=$3
	LEGACY_TGTD=0
	[ "$(readlink -f "$TGTD")" = /usr/sbin/tgtd ] && LEGACY_TGTD=1
	RESULTS=$TEST_TMP/$RUN
	mkdir -p "$RESULTS"
	# shellcheck disable=SC2119 # no extra tgtd arguments
	start_daemon || return 1
	pick_extra_port
	echo "$PORT $EXTRA_PORT" >"$RESULTS/ports"
	command_script
	stop_all_helpers
	if wait_daemon_exit "$DAEMON_PID" 10; then
		pass "$RUN: daemon exited after --op delete --mode system"
	else
		fail "$RUN: daemon still running after --op delete --mode system"
		stop_daemon "$DAEMON_PID"
	fi
}

normalized() {	# RUN CASE STREAM
	local port extra args=() e
	read -r port extra <"$TEST_TMP/$1/ports"
	for e in "${NORMALISE[@]}"; do
		args+=(-e "$e")
	done
	sed -e "s/127\.0\.0\.1:$port,/127.0.0.1:@PORT@,/g" \
		-e "s/127\.0\.0\.1:$extra,/127.0.0.1:@EXTRA_PORT@,/g" \
		"$TEST_TMP/$1/$2.$3" | sed -E "${args[@]}"
}

compare_case() {	# RUN CASE
	local run=$1 name=$2 stream diffs="" d
	for stream in out err rc; do
		d=$(diff -u --label "tgt $name.$stream" \
			--label "$run $name.$stream" \
			<(normalized ref "$name" "$stream") \
			<(normalized "$run" "$name" "$stream"))
		[ -z "$d" ] && continue
		diffs+=$d$'\n'
	done
	if [ -z "$diffs" ]; then
		pass "$run: $name ($(tr -d '\n' <"$TEST_TMP/ref/$name.rc" |
			sed 's/^/exit /'))"
	else
		fail "$run: $name differs" "$diffs"
	fi
}

compare_run() {	# RUN
	local name
	if ! cmp -s "$TEST_TMP/ref/order" "$TEST_TMP/$1/order"; then
		fail "$1 did not execute the same cases as ref" \
			"$(diff "$TEST_TMP/ref/order" "$TEST_TMP/$1/order")"
		return
	fi
	while read -r name; do
		compare_case "$1" "$name"
	done <"$TEST_TMP/ref/order"
}

one_run ref "$REF_TGTD" "$REF_TGTADM"
one_run ours "$OUR_TGTD" "$OUR_TGTADM"
one_run mixed "$OUR_TGTD" "$REF_TGTADM"
for run in ref ours mixed; do
	if [ ! -s "$TEST_TMP/$run/order" ]; then
		fail "run $run did not take place (see above)"
		finish
	fi
done
compare_run ours
compare_run mixed
finish
