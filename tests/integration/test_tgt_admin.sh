#!/bin/bash
# build/tgt-admin against build/tgtd, with Debian's tgt-admin as the
# reference where it helps:
#  - the configuration of the original description (seed) loads as
#    written; with real files, an unknown bs-type is refused by tgtd and
#    nothing is left behind; with bs-type null it loads;
#  - a rich targets.conf (blocks, LUN numbers, bs-type, flags, block size,
#    SCSI ids, accounts, ACLs, iSCSI parameters, state, include) gives the
#    same tgtd state whether Debian's tgt-admin or ours loads it;
#  - --dump round trip: dump, restart the daemon, load the dump: the same
#    `tgtadm --op show` (targets, parameters, accounts);
#  - -e twice changes nothing; -p sends nothing;
#  - --offline/--ready, --update (one target, ALL; in use, -f), --delete
#    (tid=, name, ALL; in use, -f);
#  - errors: file:line and directive named, exit status, nothing changed
#    by a bad file, a request tgtd refuses undoes the whole run (unless
#    ignore-errors), no daemon: exit 107.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

TGT_ADMIN=${TGT_ADMIN:-$BUILD_DIR/tgt-admin}
REF_TGT_ADMIN=${REF_TGT_ADMIN:-/usr/sbin/tgt-admin}
if [ ! -x "$TGT_ADMIN" ]; then
	fail "missing $TGT_ADMIN"
	finish
fi
have_ref=0
[ -x "$REF_TGT_ADMIN" ] && [ -x /usr/sbin/tgtadm ] && have_ref=1

IQN=iqn.2024-01.test.mtgt:admin
IMG=$TEST_TMP/img
mkdir -p "$IMG" "$TEST_TMP/conf.d"
for i in 1 2 3 4 5 6 7 8; do
	make_sparse "$IMG/d$i.img" 4M
done

# Sanitizer reports of tgt-admin itself (sanitized builds) go to files
# checked at the end.
SAN_LOG=$TEST_TMP/san-tgt-admin
tgt_admin() {
	ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$SAN_LOG" \
		UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$SAN_LOG" "$TGT_ADMIN" "$@"
}

ta() {	# our tgt-admin on the current daemon
	tgt_admin -C "$CPORT" "$@"
}

# The daemon's state as text: every target, each target's parameters,
# the accounts (sorted: their order is creation order) and the discovery
# accounts of sys show.
state_of() {
	local tid
	tgtadm_c --op show --mode target
	for tid in $(tgtadm_c --op show --mode target |
		sed -n 's/^Target \([0-9]*\): .*/\1/p'); do
		echo "== params of $tid"
		tgtadm_c --op show --mode target --tid "$tid"
	done
	echo "== accounts"
	tgtadm_c --op show --mode account | sort
	echo "== discovery"
	tgtadm_c --op show --mode sys | sed -n '/Account information/,/^iSNS/p'
}

assert_same_text() {	# MESSAGE EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "$(diff <(echo "$2") <(echo "$3"))"
	fi
}

targets_of() {
	tgtadm_c --op show --mode target | sed -n 's/^Target \([0-9]*\): \(.*\)/\1 \2/p'
}

# ---------------------------------------------------------------------
echo "# seed example (original description), as written"
cat >"$TEST_TMP/seed.conf" <<'EOF'
 <target iqn.2019-04.com.example:curve.img01>
    backing-store cbd:pool//iscsi_test_
    bs-type curve
</target>

<target iqn.2019-04.com.example:local.img01>
    backing-store /dev/sde
</target>

<target iqn.2019-04.com.example:local.img02>
    backing-store /dev/sdc
</target>
EOF
[ -e /dev/sde ] || [ -e /dev/sdc ] &&
	skip "this host has /dev/sde or /dev/sdc: seed paths would be used"
start_daemon || finish
run ta -e -c "$TEST_TMP/seed.conf"
assert_eq "seed.conf loads (exit 0)" 0 "$RC"
assert_contains "a missing device is skipped with file:line" "$OUT" \
	"seed.conf:7: Skipping device: /dev/sde"
assert_eq "seed: three targets, tids 1-3 in name order" \
	"1 iqn.2019-04.com.example:curve.img01
2 iqn.2019-04.com.example:local.img01
3 iqn.2019-04.com.example:local.img02" "$(targets_of)"
seed_ours=$(state_of)
if [ "$have_ref" = 1 ]; then
	check "our tgt-admin deletes ALL" ta --delete ALL
	run "$REF_TGT_ADMIN" -C "$CPORT" -e -c "$TEST_TMP/seed.conf"
	assert_eq "Debian's tgt-admin loads seed.conf too" 0 "$RC"
	assert_same_text "same state from Debian's tgt-admin (seed)" \
		"$seed_ours" "$(state_of)"
fi
check "delete ALL" ta --delete ALL

# The seed with real files: tgtd knows no "curve" store.
sed -e "s|cbd:pool//iscsi_test_|$IMG/d1.img|" -e "s|/dev/sde|$IMG/d2.img|" \
	-e "s|/dev/sdc|$IMG/d3.img|" "$TEST_TMP/seed.conf" >"$TEST_TMP/seed-files.conf"
run ta -e -c "$TEST_TMP/seed-files.conf"
assert_eq "bs-type curve refused by tgtd: exit 22" 22 "$RC"
assert_contains "the refusal names the store's line" "$OUT" \
	"seed-files.conf:2: directive 'backing-store': tgtd refused the request: invalid request"
assert_contains "the failed request is shown" "$OUT" "--bstype curve"
assert_eq "nothing left after the refusal" "" "$(targets_of)"
sed -i 's/bs-type curve/bs-type null/' "$TEST_TMP/seed-files.conf"
check "seed with bs-type null loads" ta -e -c "$TEST_TMP/seed-files.conf"
show=$(tgtadm_c --op show --mode target)
assert_eq "three targets with LUN 1 each" 3 "$(grep -c '^        LUN: 1$' <<<"$show")"
assert_contains "bs-type null used" "$show" "Backing store type: null"
check "delete ALL" ta --delete ALL
stop_daemon

# ---------------------------------------------------------------------
echo "# a rich configuration: ours and Debian's tgt-admin agree"
cat >"$TEST_TMP/rich.conf" <<EOF
# everything a target can say, in the syntax Debian's tgt-admin reads
default-driver iscsi
incomingdiscoveryuser disc discpassword12
include $TEST_TMP/conf.d/*.conf

<target $IQN.a>
    controller_tid 5
    <backing-store $IMG/d1.img>
        lun 3
        scsi_sn SERIAL-A3
        bs-type rdwr
        bsoflags sync
        block-size 4096
    </backing-store>
    <backing-store $IMG/d2.img>
        scsi_id MY-ID-A
        readonly 1
        removable 1
        params thin_provisioning=1
    </backing-store>
    incominguser alice alicepassword1
    incominguser bob bobpassword12
    outgoinguser carol carolpassword1
    initiator-address 127.0.0.1
    initiator-address 192.168.0.0/16
    initiator-name iqn.2024-01.test:initiator
    MaxRecvDataSegmentLength 65536
    HeaderDigest CRC32C
    MaxConnections 4
    write-cache off
    vendor_id MTGTTEST
</target>

<target $IQN.b>
    backing-store $IMG/d4.img
    backing-store $IMG/d3.img
    bs-type null
    state offline
    ImmediateData No
</target>
EOF
cat >"$TEST_TMP/conf.d/c.conf" <<EOF
<target $IQN.c>
    <backing-store $IMG/d5.img>
        lun 2
        online 0
    </backing-store>
    initiator-name iqn.2024-01.test:only-name
</target>
EOF
# Our extensions (tgtd accepts them, Debian's tgt-admin ignores them).
cat >"$TEST_TMP/ext.conf" <<EOF
include $TEST_TMP/rich.conf
<target $IQN.e>
    backing-store $IMG/d6.img
    nop_interval 5
    nop_count 3
    MaxQueueCmd 64
    max_sessions 4
</target>
EOF

start_daemon || finish
check "our tgt-admin loads rich.conf" ta -e -c "$TEST_TMP/rich.conf"
rich_ours=$(state_of)
assert_eq "tids: controller_tid 5, then 6 and 7" \
	"5 $IQN.a
6 $IQN.b
7 $IQN.c" "$(targets_of)"
assert_contains "LUN numbers as tgt-admin gives them" \
	"$(tgtadm_c --op show --mode target)" "Backing store path: $IMG/d2.img"
run ta -e -c "$TEST_TMP/rich.conf" -v
assert_contains "-e again: already there" "$OUT" "# Target $IQN.a already exists!"
assert_same_text "-e again changes nothing" "$rich_ours" "$(state_of)"
run ta -e -c "$TEST_TMP/ext.conf"
assert_eq "ext.conf adds one target" 0 "$RC"
assert_contains "nop_interval reaches tgtd" \
	"$(tgtadm_c --op show --mode target --tid 8)" "nop_interval=5"
assert_contains "max_sessions reaches tgtd" \
	"$(tgtadm_c --op show --mode target)" "Max sessions: 4"
full=$(state_of)
ta --dump >"$TEST_TMP/dump.conf"
assert_contains "dump keeps LUN numbers" "$(cat "$TEST_TMP/dump.conf")" "lun 3"
assert_contains "dump keeps the session limit" "$(cat "$TEST_TMP/dump.conf")" \
	"max_sessions 4"
if [ "$have_ref" = 1 ]; then
	run "$REF_TGT_ADMIN" -C "$CPORT" --dump
	assert_contains "Debian's tgt-admin --dump reads our daemon" "$OUT" \
		"<target $IQN.a>"
fi
stop_daemon

if [ "$have_ref" = 1 ]; then
	start_daemon || finish
	run "$REF_TGT_ADMIN" -C "$CPORT" -e -c "$TEST_TMP/rich.conf"
	assert_eq "Debian's tgt-admin loads rich.conf" 0 "$RC"
	assert_same_text "same state from Debian's tgt-admin and ours" \
		"$rich_ours" "$(state_of)"
	run ta -e -c "$TEST_TMP/rich.conf"
	assert_same_text "ours -e on Debian's result changes nothing" \
		"$rich_ours" "$(state_of)"
	stop_daemon
fi

# Our tgt-admin drives Debian's tgtd as Debian's tgt-admin does.
if [ "$have_ref" = 1 ] && [ -x /usr/sbin/tgtd ]; then
	echo "# Debian's tgtd: ours and Debian's tgt-admin agree"
	OUR_TGTD=$TGTD
	TGTD=/usr/sbin/tgtd
	LEGACY_TGTD=1
	if start_daemon; then
		check "our tgt-admin loads rich.conf into Debian's tgtd" \
			ta -e -c "$TEST_TMP/rich.conf"
		by_ours=$(state_of)
		check "and deletes it" ta --delete ALL
		for user in $(tgtadm_c --op show --mode account | tail -n +2); do
			tgtadm_c --mode account --op delete --user "$user"
		done
		run "$REF_TGT_ADMIN" -C "$CPORT" -e -c "$TEST_TMP/rich.conf"
		assert_eq "Debian's tgt-admin loads it into Debian's tgtd" 0 "$RC"
		assert_same_text "same state in Debian's tgtd" "$by_ours" \
			"$(state_of)"
		stop_daemon
	fi
	TGTD=$OUR_TGTD
	LEGACY_TGTD=0
fi

echo "# --dump round trip"
start_daemon || finish
check "the dump loads into a new daemon" ta -e -c "$TEST_TMP/dump.conf"
assert_same_text "same state after the round trip" "$full" "$(state_of)"

# ---------------------------------------------------------------------
echo "# --offline, --ready"
check "--offline tid=5" ta --offline tid=5
assert_match "target 5 offline" "$(tgtadm_c --op show --mode target | sed -n '/^Target 5:/,/State/p')" "State: offline"
check "--ready by name" ta --ready "$IQN.a"
assert_match "target 5 ready" "$(tgtadm_c --op show --mode target | sed -n '/^Target 5:/,/State/p')" "State: ready"
check "--offline ALL" ta --offline ALL
assert_eq "every target offline" 4 "$(tgtadm_c --op show --mode target | grep -c 'State: offline')"
check "--ready ALL" ta --ready ALL
run ta --offline "$IQN.nosuch"
assert_eq "--offline of an unknown name: exit 1" 1 "$RC"
assert_contains "and says so" "$OUT" "There is no target with name \"$IQN.nosuch\", can't offline it!"

# ---------------------------------------------------------------------
echo "# --update"
sed -e 's/SERIAL-A3/SERIAL-NEW/' -e "/<target $IQN.b>/,/<\/target>/d" \
	"$TEST_TMP/rich.conf" >"$TEST_TMP/rich2.conf"
cat >>"$TEST_TMP/rich2.conf" <<EOF
<target $IQN.s>
    backing-store $IMG/d7.img
</target>
EOF
before=$(tgtadm_c --op show --mode target | sed -n "/^Target 6:/,/^Target 7:/p")
check "--update one target" ta --update "$IQN.a" -c "$TEST_TMP/rich2.conf"
show=$(tgtadm_c --op show --mode target)
assert_contains "re-created with its new serial" "$show" "SCSI SN: SERIAL-NEW"
assert_contains "with the same tid" "$show" "Target 5: $IQN.a"
assert_same_text "other targets untouched" "$before" \
	"$(sed -n "/^Target 6:/,/^Target 7:/p" <<<"$show")"
check "--update ALL" ta --update ALL -c "$TEST_TMP/rich2.conf"
assert_eq "targets after --update ALL" \
	"5 $IQN.a
7 $IQN.c
9 $IQN.s" "$(targets_of)"

echo "# targets in use"
hold_session "$(url "$IQN.s" 1)" "$TEST_TMP/session.log"
if wait_nexus 9 10; then
	pass "an initiator is logged in to $IQN.s"
else
	fail "no session on $IQN.s" "$(cat "$TEST_TMP/session.log")"
fi
run ta --update "$IQN.s" -c "$TEST_TMP/rich2.conf"
assert_contains "--update leaves a target in use alone" "$OUT" \
	"Target with tid 9 ($IQN.s) is in use, it won't be updated."
run ta --delete "$IQN.s"
assert_contains "--delete leaves it too" "$OUT" "it won't be deleted."
assert_contains "it is still there" "$(targets_of)" "9 $IQN.s"
check "--delete -f deletes it" ta --delete "$IQN.s" -f
assert_not_contains "gone" "$(targets_of)" "$IQN.s"
stop_all_helpers

echo "# --delete"
check "--delete tid=7" ta --delete tid=7
assert_eq "target 7 gone" "5 $IQN.a" "$(targets_of)"
echo "default-driver iscsi" >"$TEST_TMP/empty.conf"
check "-e with a file without targets" ta -e -c "$TEST_TMP/empty.conf"
assert_eq "deletes nothing" "5 $IQN.a" "$(targets_of)"
# what service scripts run to stop: every target goes
check "--update ALL -c /dev/null -f" ta --update ALL -c /dev/null -f
assert_eq "no target left" "" "$(targets_of)"

# ---------------------------------------------------------------------
echo "# errors"
check "load rich.conf again" ta -e -c "$TEST_TMP/rich.conf"
good=$(state_of)
bad_conf() {	# NAME LAST-LINES...: rich.conf plus lines that break it
	local f=$TEST_TMP/$1
	shift
	{ cat "$TEST_TMP/rich.conf"; printf '%s\n' "$@"; } >"$f"
	echo "$f"
}
nlines=$(wc -l <"$TEST_TMP/rich.conf")
expect_parse_error() {	# FILE MESSAGE
	run ta -e -c "$1"
	assert_eq "exit 1 for $(basename "$1")" 1 "$RC"
	assert_contains "message: $2" "$OUT" "$2"
	assert_contains "nothing changed is said" "$OUT" "nothing was changed"
	assert_same_text "and true ($(basename "$1"))" "$good" "$(state_of)"
}
f=$(bad_conf bad1.conf "<target $IQN.x>" "    backing_store $IMG/d8.img" "</target>")
expect_parse_error "$f" "bad1.conf:$((nlines + 2)): directive 'backing_store': unknown directive in a target"
f=$(bad_conf bad2.conf "<target $IQN.x>" "    backing-store $IMG/d8.img")
expect_parse_error "$f" "bad2.conf:$((nlines + 1)): <target> is not closed before the end of the file"
f=$(bad_conf bad3.conf "<target $IQN.x>" "  <backing-store $IMG/d8.img>" "    lun many" "  </backing-store>" "</target>")
expect_parse_error "$f" "bad3.conf:$((nlines + 3)): directive 'lun': 'many' is not a number"
f=$(bad_conf bad4.conf "include $TEST_TMP/nosuch.conf")
expect_parse_error "$f" "bad4.conf:$((nlines + 1)): directive 'include': cannot read $TEST_TMP/nosuch.conf"
f=$(bad_conf bad5.conf "<target $IQN.x>" "    controller_tid 6" "</target>")
run ta -e -c "$f"
assert_eq "a controller_tid tgtd gives another target: exit 1" 1 "$RC"
assert_contains "found before anything is sent" "$OUT" \
	"bad5.conf:$((nlines + 2)): directive 'controller_tid': tid 6 is target $IQN.b in tgtd"
assert_same_text "nothing changed (bad5.conf)" "$good" "$(state_of)"
echo "    vendor_id" >"$TEST_TMP/conf.d/z.conf"
expect_parse_error "$TEST_TMP/rich.conf" "conf.d/z.conf:1: directive 'vendor_id': missing value"
rm "$TEST_TMP/conf.d/z.conf"

# tgtd refuses a request in the middle of a run: everything this run
# created (targets, accounts) is undone.
cat >"$TEST_TMP/refused.conf" <<EOF
<target $IQN.r1>
    backing-store $IMG/d8.img
    incominguser newuser newpassword12
</target>
<target $IQN.r2>
    MaxRecvDataSegmentLength 1
</target>
EOF
run ta -e -c "$TEST_TMP/refused.conf"
assert_eq "a refused request: tgtadm's exit status 22" 22 "$RC"
assert_contains "names the directive" "$OUT" \
	"refused.conf:6: directive 'MaxRecvDataSegmentLength': tgtd refused the request: invalid request"
assert_contains "undoes the run" "$OUT" "undoing:"
# -e deletes targets missing from the file only after adding: rich
# targets are still there, and nothing of refused.conf.
assert_same_text "nothing of the failed run is left" "$good" "$(state_of)"
{ echo "ignore-errors yes"; cat "$TEST_TMP/refused.conf"; } >"$TEST_TMP/ignored.conf"
run ta -e -c "$TEST_TMP/ignored.conf"
assert_eq "ignore-errors: exit 0" 0 "$RC"
assert_contains "the failure is still reported" "$OUT" "(ignored)"
assert_contains "the rest was done" "$(targets_of)" "$IQN.r1"
check "delete ALL" ta --delete ALL

run ta -p -e -c "$TEST_TMP/rich.conf"
assert_contains "-p prints the requests" "$OUT" \
	"tgtadm -C $CPORT --lld iscsi --mode target --op new --tid 5 --targetname $IQN.a"
assert_eq "-p sends nothing" "" "$(targets_of)"

run tgt_admin --bogus
assert_eq "unknown option: exit 1" 1 "$RC"
run tgt_admin -v
assert_contains "no action" "$OUT" "No action specified."
run ta -e -c "$TEST_TMP/nosuch.conf"
assert_contains "missing config file" "$OUT" "Config file $TEST_TMP/nosuch.conf not found. Exiting..."
stop_daemon
run ta -e -c "$TEST_TMP/rich.conf"
assert_eq "no daemon: exit 107 (tgtadm's)" 107 "$RC"

if compgen -G "$SAN_LOG.*" >/dev/null; then
	fail "sanitizer reports from tgt-admin" "$(cat "$SAN_LOG".*)"
else
	pass "no sanitizer report from tgt-admin"
fi
finish
