#!/bin/bash
# `make bench`: Debian's tgtd vs mtgt's build/tgtd, same jobs, same run.
# Installs what is missing (Debian tgt, fio with the libiscsi engine in
# /opt/fio-iscsi), then runs bench/bench.py, which prints the table and
# writes bench/RESULTS.md. Settings: see the top of bench/bench.py
# (BENCH_RUNTIME, BENCH_JOBS, BENCH_SIZE, ...); `bench/run.sh --list`
# lists the jobs.
# Exit status: 0 when every job ran (the numbers are measurements, never
# pass/fail), non-zero when something could not run.
set -eu
cd "$(dirname "$0")/.."

FIO=${FIO:-/opt/fio-iscsi/bin/fio}
export FIO

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "bench: $1 is missing and installing it needs root" >&2
		exit 2
	fi
}

if [ ! -x /usr/sbin/tgtd ] || [ ! -x /usr/sbin/tgtadm ]; then
	need_root "Debian's tgt"
	echo "bench: installing Debian's tgt (the baseline)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends tgt >/dev/null
	# Only the baseline binary is wanted: never its service.
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now tgt >/dev/null 2>&1 || true
	fi
fi

if [ ! -x "$FIO" ]; then
	need_root "fio with the libiscsi engine ($FIO)"
	tools=$(cd .. && pwd)/shared/tools/build-fio-libiscsi.sh
	[ -x "$tools" ] || tools=/work/shared/tools/build-fio-libiscsi.sh
	echo "bench: building fio with libiscsi ($tools)"
	bash "$tools"
fi

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" bench/bench.py "$@"
