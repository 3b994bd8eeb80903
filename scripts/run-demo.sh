#!/bin/bash
# `make run`: starts tgtd in the foreground on 127.0.0.1:3260 (control
# port 0) with a demo target whose LUN 1 is a 1 GiB sparse file,
# ./var/demo-lun1.img. Ctrl-C stops the daemon.
#   usage: scripts/run-demo.sh [BUILD]
BUILD=${1:-build}
IQN=iqn.2026-01.org.mtgt:demo
LUN_FILE=./var/demo-lun1.img
PORTAL=127.0.0.1:3260
TGTD=$BUILD/tgtd
TGTADM=$BUILD/tgtadm

for prog in "$TGTD" "$TGTADM"; do
	if [ ! -x "$prog" ]; then
		echo "run-demo: $prog missing; run make first" >&2
		exit 1
	fi
done
# Never configure someone else's daemon: control port 0 and the portal
# must be free (tgtd holds a POSIX lock on the socket's lock file).
LOCK=/var/run/tgtd/socket.0.lock
if [ -e "$LOCK" ] && grep -qE ":$(stat -c %i "$LOCK") " /proc/locks; then
	echo "run-demo: a tgtd already uses control port 0 ($LOCK)" >&2
	exit 1
fi
if ss -Hltn 'sport = :3260' 2>/dev/null | grep -q .; then
	echo "run-demo: TCP port 3260 is already in use" >&2
	exit 1
fi
mkdir -p ./var
[ -e "$LUN_FILE" ] || truncate -s 1G "$LUN_FILE"
LUN_PATH=$(readlink -f "$LUN_FILE")

# Waits for the daemon (this shell's PID once exec'ed), then configures
# the demo target and prints how to connect.
configure() {
	local daemon=$1 i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$daemon" 2>/dev/null || exit 0
		"$TGTADM" -C 0 --op show --mode sys >/dev/null 2>&1 && break
		sleep 0.1
	done
	kill -0 "$daemon" 2>/dev/null || exit 0
	if ! "$TGTADM" -C 0 --lld iscsi --mode target --op new --tid 1 \
		-T "$IQN" ||
		! "$TGTADM" -C 0 --lld iscsi --mode logicalunit --op new \
			--tid 1 --lun 1 -b "$LUN_PATH" ||
		! "$TGTADM" -C 0 --lld iscsi --mode target --op bind --tid 1 \
			-I ALL; then
		echo "run-demo: configuring the demo target failed" >&2
		exit 1
	fi
	cat >&2 <<EOF

mtgt demo: target $IQN, LUN 1 = $LUN_PATH (1 GiB sparse)
Connect with:
    iscsi-ls -s iscsi://127.0.0.1
    iscsi-inq iscsi://127.0.0.1/$IQN/1
    iscsiadm -m discovery -t st -p $PORTAL
Manage with:
    $TGTADM --op show --mode target
Press Ctrl-C to stop tgtd.

EOF
}

configure $$ </dev/null &
exec "$TGTD" -f -C 0 --iscsi "portal=$PORTAL"
