#!/bin/bash
# Who may log in: initiator-address ACLs (single IPv4 and IPv6, CIDR,
# ALL), initiator-name ACLs, SendTargets showing only what an initiator
# may use, and the target state (offline refuses new logins, keeps the
# sessions it has).
. "$(dirname "$0")/lib.sh"

IQN1=iqn.2026-01.org.mtgt:acl1
IQN2=iqn.2026-01.org.mtgt:acl2
ALLOWED=iqn.2026-01.org.mtgt:allowed-host
make_sparse "$TEST_TMP/1.img" 16M
make_sparse "$TEST_TMP/2.img" 16M
start_daemon || finish
new_target 1 "$IQN1"
new_lun 1 1 "$TEST_TMP/1.img"
setup_target 2 "$IQN2" "$TEST_TMP/2.img"

# A second portal on IPv6 loopback.
PORT6=$((PORT + 1))
tcp_port_free "$PORT6" || PORT6=$((PORT + 2))
adm "IPv6 portal [::1]:$PORT6" --lld iscsi --mode portal --op new \
	-P "portal=[::1]:$PORT6"
URL4="iscsi://127.0.0.1:$PORT/$IQN1/1"
URL6="iscsi://[::1]:$PORT6/$IQN1/1"

acl() {	# OP -I RULE | -Q NAME
	adm "$1 $2 $3" --lld iscsi --mode target --op "$1" --tid 1 "$2" "$3"
}
admitted() {	# MESSAGE URL [INITIATOR]
	local who=()
	[ -n "${3:-}" ] && who=(-i "$3")
	check "$1" timeout 20 iscsi-inq "${who[@]}" "$2"
}
refused() {	# MESSAGE URL [INITIATOR]
	local who=()
	[ -n "${3:-}" ] && who=(-i "$3")
	check_rc 10 "$1" timeout 20 iscsi-inq "${who[@]}" "$2" &&
		assert_contains "$1: authorization failure" "$OUT" \
			"Authorization failure"
}

refused "no ACL at all refuses everyone" "$URL4"
acl bind -I 127.0.0.1
admitted "single IPv4 address admits it" "$URL4"
refused "single IPv4 address refuses IPv6 peers" "$URL6"
acl unbind -I 127.0.0.1
acl bind -I 127.0.0.0/8
admitted "CIDR 127.0.0.0/8 admits 127.0.0.1" "$URL4"
acl unbind -I 127.0.0.0/8
acl bind -I 10.0.0.0/8
refused "CIDR 10.0.0.0/8 refuses 127.0.0.1" "$URL4"
acl unbind -I 10.0.0.0/8
acl bind -I 127.0.0.1/8
refused "CIDR with host bits (127.0.0.1/8) admits nobody, as tgt" "$URL4"
acl unbind -I 127.0.0.1/8
acl bind -I ::1
admitted "single IPv6 address admits it" "$URL6"
refused "single IPv6 address refuses IPv4 peers" "$URL4"
acl unbind -I ::1
acl bind -I "[::1]"
admitted "bracketed IPv6 address" "$URL6"
acl unbind -I "[::1]"
acl bind -I ::/96
admitted "IPv6 CIDR ::/96 admits ::1" "$URL6"
acl unbind -I ::/96
acl bind -I fe80::/10
refused "IPv6 CIDR fe80::/10 refuses ::1" "$URL6"
acl unbind -I fe80::/10

acl bind -Q "$ALLOWED"
admitted "name ACL admits its initiator" "$URL4" "$ALLOWED"
refused "name ACL refuses another initiator" "$URL4" \
	iqn.2026-01.org.mtgt:other-host
admitted "name ACL over IPv6 too" "$URL6" "$ALLOWED"

# SendTargets: target 2 is open to all, target 1 only to $ALLOWED.
run timeout 20 iscsi-ls "iscsi://127.0.0.1:$PORT"
assert_contains "SendTargets lists the open target" "$OUT" "$IQN2"
assert_not_contains "SendTargets hides a target the initiator may not use" \
	"$OUT" "$IQN1"
run timeout 20 iscsi-ls -i "$ALLOWED" "iscsi://127.0.0.1:$PORT"
assert_contains "SendTargets lists it to the allowed initiator" "$OUT" \
	"$IQN1"

# Either kind of rule admits (Debian's tgt 1.0.85 does the same).
acl bind -I 10.9.9.9
admitted "name matches, address does not: admitted" "$URL4" "$ALLOWED"
acl bind -I ALL
admitted "ALL admits any initiator name" "$URL4" iqn.2026-01.org.mtgt:x

# Offline: new logins refused with "service unavailable", the session
# already there keeps working; ready again admits.
URL2="iscsi://127.0.0.1:$PORT/$IQN2/1"
hold_session "$URL2" "$TEST_TMP/held.log"
wait_nexus 2 10 && pass "a session on target 2" ||
	fail "no session on target 2" "$(cat "$TEST_TMP/held.log")"
adm "target 2 offline" --lld iscsi --mode target --op update --tid 2 \
	--name state --value offline
run "$TGTADM" -C "$CPORT" --lld iscsi --mode target --op show
assert_contains "target 2 shown offline" "$OUT" "State: offline"
check_rc 10 "offline target refuses a login" timeout 20 iscsi-inq "$URL2"
assert_contains "offline: status 0x0301 (service unavailable)" "$OUT" "(769)"
run timeout 20 iscsi-ls -i "$ALLOWED" "iscsi://127.0.0.1:$PORT"
assert_not_contains "SendTargets leaves the offline target out" "$OUT" \
	"$IQN2"
wait_nexus 2 1 && pid_running "$SESSION_PID" &&
	pass "the existing session survives going offline" ||
	fail "the existing session went away" "$(cat "$TEST_TMP/held.log")"
adm "target 2 ready" --lld iscsi --mode target --op update --tid 2 \
	--name state --value ready
admitted "ready target admits logins again" "$URL2"
assert_daemon_alive
finish
