#!/bin/sh
# Installs the Debian 12 packages mtgt builds and tests with, if missing.
set -e
PKGS="build-essential pkg-config liburing-dev libisal-dev libssl-dev
libcmocka-dev libiscsi-dev libiscsi-bin qemu-utils qemu-block-extra tgt
clang libclang-rt-14-dev llvm-14 python3 libfuse3-dev fuse3 valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian's tgt package is only the baseline for comparisons: never let its
# service run on the ports the tests use.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now tgt >/dev/null 2>&1 || true
fi
