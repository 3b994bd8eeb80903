#!/bin/bash
# CHAP: accounts from `tgtadm --mode account` guard logins. libiscsi logs in
# with one-way CHAP (iscsi://user%secret@...) and mutual CHAP
# (?target_user=&target_password=), right and wrong secrets; iscsi-ls does
# discovery CHAP; tests/integration/chap_checks.py covers every CHAP_A
# algorithm, both encodings, reflection and malformed values.
. "$(dirname "$0")/lib.sh"

IQN1=iqn.2026-01.org.mtgt:chap1
IQN2=iqn.2026-01.org.mtgt:chap2
make_sparse "$TEST_TMP/1.img" 16M
make_sparse "$TEST_TMP/2.img" 16M
start_daemon || finish
setup_target 1 "$IQN1" "$TEST_TMP/1.img"
setup_target 2 "$IQN2" "$TEST_TMP/2.img"

account() {	# USER PASSWORD
	adm "account $1" --lld iscsi --mode account --op new --user "$1" \
		--password "$2"
}
account alice alice-secret-12
account bob bob-secret-1234
account tuser target-secret-9
account dave dave-secret-123
account shorty abc
adm "bind alice to target 1" --mode account --op bind --tid 1 --user alice
adm "bind bob to target 1" --mode account --op bind --tid 1 --user bob
adm "bind tuser to target 1 (outgoing)" --mode account --op bind --tid 1 \
	--user tuser --outgoing

run grep -F "account shorty: a CHAP secret of 3 characters" "$DAEMON_LOG"
[ "$RC" -eq 0 ] && pass "short secret warned about in the daemon log" ||
	fail "no warning for a 3-character secret" "$(tail "$DAEMON_LOG")"
assert_not_contains "no warning for a 15-character secret" \
	"$(cat "$DAEMON_LOG")" "account alice:"
run "$TGTADM" -C "$CPORT" --lld iscsi --mode target --op show
assert_contains "target 1 shows its accounts" "$OUT" "tuser (outgoing)"

# The URL of target 1 with credentials and options.
chap_url() {	# USER%SECRET [?OPTIONS]
	echo "iscsi://$1@127.0.0.1:$PORT/$IQN1/1${2:-}"
}

check "libiscsi one-way CHAP" timeout 20 iscsi-inq \
	"$(chap_url alice%alice-secret-12)"
check "libiscsi one-way CHAP, second account" timeout 20 \
	iscsi-readcapacity16 "$(chap_url bob%bob-secret-1234)"
check_rc 10 "libiscsi wrong secret refused" timeout 20 iscsi-inq \
	"$(chap_url alice%alice-secret-13)"
assert_contains "wrong secret: authentication failure" "$OUT" \
	"Authentication failure"
check_rc 10 "libiscsi unknown user refused" timeout 20 iscsi-inq \
	"$(chap_url carol%alice-secret-12)"
check_rc 10 "libiscsi without CHAP refused" timeout 20 iscsi-inq \
	"$(url "$IQN1" 1)"
assert_contains "no CHAP: authentication failure" "$OUT" \
	"Authentication failure"
check "libiscsi mutual CHAP" timeout 20 iscsi-inq "$(chap_url \
	alice%alice-secret-12 "?target_user=tuser&target_password=target-secret-9")"
check_rc 10 "libiscsi notices a target with the wrong secret" timeout 20 \
	iscsi-inq "$(chap_url alice%alice-secret-12 \
	"?target_user=tuser&target_password=target-secret-0")"
assert_contains "the initiator rejected the target's CHAP_R" "$OUT" \
	"Invalid CHAP_R"
check "target without accounts still logs in without CHAP" timeout 20 \
	iscsi-inq "$(url "$IQN2" 1)"

# Discovery CHAP: tgt's discovery account is an account bound without
# --tid.
check "discovery without accounts needs no CHAP" timeout 20 iscsi-ls \
	"iscsi://127.0.0.1:$PORT"
adm "bind dave to discovery" --mode account --op bind --user dave
adm "bind tuser to discovery (outgoing)" --mode account --op bind \
	--user tuser --outgoing
check_rc 10 "discovery without CHAP refused" timeout 20 iscsi-ls \
	"iscsi://127.0.0.1:$PORT"
check "discovery with CHAP" timeout 20 iscsi-ls \
	"iscsi://dave%dave-secret-123@127.0.0.1:$PORT"
assert_contains "discovery lists target 1" "$OUT" "$IQN1"

run timeout 120 python3 "$(dirname "$0")/chap_checks.py" 127.0.0.1 "$PORT" \
	"$IQN1" "$IQN2"
if [ "$RC" -eq 0 ]; then
	pass "raw CHAP checks ($(tail -n 1 <<<"$OUT"))"
else
	fail "raw CHAP checks" "$OUT"
fi

# Unbinding the last incoming account makes CHAP optional again; a
# deleted account stops working at once.
adm "unbind bob" --mode account --op unbind --tid 1 --user bob
check_rc 10 "unbound account refused" timeout 20 iscsi-inq \
	"$(chap_url bob%bob-secret-1234)"
adm "delete alice" --mode account --op delete --user alice
check "target 1 without incoming accounts: no CHAP needed" timeout 20 \
	iscsi-inq "$(url "$IQN1" 1)"
assert_daemon_alive
finish
