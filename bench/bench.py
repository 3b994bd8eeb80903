#!/usr/bin/env python3
"""mtgt vs Debian tgt, side by side in one run (`make bench`).

Starts Debian's tgtd and mtgt's build/tgtd on free ports of their own,
gives each the same targets (tmpfs files and null-store LUNs), runs the
same fio jobs (libiscsi engine) against one after the other, and measures
for every job: IOPS, MB/s, completion latency p50/p99 (fio's json), the
daemon's CPU time (utime+stime of all its threads from /proc/PID/stat) and
so CPU per I/O, and the machine's busy time. Prints a table with the ratio
mtgt/tgt and writes it into the generated section of bench/RESULTS.md.

It measures; it asserts nothing. The exit status is 0 when every job ran,
1 when something could not run (a daemon did not start or died, fio
failed), 2 on a usage or setup error.

Environment (all optional):
  BENCH_RUNTIME=20        seconds of I/O per job and daemon
  BENCH_SIZE=1g           size of each file LUN, and the span fio addresses
  BENCH_JOBS=a,b,...      run only these jobs (names: see --list)
  BENCH_NULL=1            0 skips the null-store jobs
  BENCH_PERF=1            0 skips the perf profile of the original's job
  BENCH_BSTYPE=           -E for the file LUNs (default: each daemon's own
                          default store, as a user would get)
  BENCH_SEQ_DEPTH=16      iodepth of the 128k sequential jobs
  BENCH_RSS_SESSIONS=100  sessions of the rss-idle and rss-busy jobs
  BENCH_MGMT_INTERVAL=0.1 seconds between tgtadm calls in the mgmt job
  BENCH_NOISE_CORES=0.15  a run during which other processes (not the
                          daemon, fio or ksoftirqd) and the hypervisor
                          (steal) took more CPU than this
  BENCH_NOISE_RETRIES=1   is run again this many times; the quietest counts
  BENCH_QUIET_WAIT=30     before each run, wait up to this many seconds for
                          the machine to be idle (other work below
                          BENCH_NOISE_CORES); 0 never waits
  BENCH_BUDGET=900        seconds the whole run should take: waiting for
                          quiet and re-runs only use what the remaining
                          runs leave over
  BENCH_NICE=0            nice value for the benchmark, both daemons and fio.
                          Keep 0: mtgt sets its own threads' priorities
                          (main thread -10, target and storage threads 0),
                          so any other value starts the two daemons, and
                          fio, on different footing
  BENCH_OUT=DIR           raw output (fio json, logs); default bench/out/<ts>
  BENCH_RESULTS=FILE      markdown report (default bench/RESULTS.md; '-'
                          writes none)
  BENCH_SHM=/dev/shm      where the backing files go
  FIO=/opt/fio-iscsi/bin/fio
  TGT_TGTD=/usr/sbin/tgtd   TGT_TGTADM=/usr/sbin/tgtadm
  MTGT_TGTD=build/tgtd      MTGT_TGTADM=build/tgtadm
"""

import datetime
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def env(name, default):
    v = os.environ.get(name, "")
    return v if v != "" else default


def rootpath(p):
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


RUNTIME = int(env("BENCH_RUNTIME", "20"))
SIZE = env("BENCH_SIZE", "1g")
ONLY = [j for j in env("BENCH_JOBS", "").split(",") if j]
WITH_NULL = env("BENCH_NULL", "1") != "0"
WITH_PERF = env("BENCH_PERF", "1") != "0"
BSTYPE = env("BENCH_BSTYPE", "")
SEQ_DEPTH = int(env("BENCH_SEQ_DEPTH", "16"))
RSS_SESSIONS = int(env("BENCH_RSS_SESSIONS", "100"))
MGMT_INTERVAL = float(env("BENCH_MGMT_INTERVAL", "0.1"))
FIO = env("FIO", "/opt/fio-iscsi/bin/fio")
SHM = env("BENCH_SHM", "/dev/shm")
RESULTS = env("BENCH_RESULTS", os.path.join(ROOT, "bench", "RESULTS.md"))
STAMP = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
OUT = rootpath(env("BENCH_OUT", os.path.join("bench", "out", STAMP)))

DAEMONS = [
    # name, tgtd, tgtadm, legacy (ignores SIGTERM while targets exist)
    ("tgt", env("TGT_TGTD", "/usr/sbin/tgtd"),
     env("TGT_TGTADM", "/usr/sbin/tgtadm"), True),
    ("mtgt", rootpath(env("MTGT_TGTD", "build/tgtd")),
     rootpath(env("MTGT_TGTADM", "build/tgtadm")), False),
]

FILE_TARGETS = 3    # tids 1..3: one tmpfs file LUN each
NULL_TARGETS = 3    # tids 4..6: one null-store LUN each
IQN_PREFIX = "iqn.2026-01.org.mtgt.bench"

PROBLEMS = []       # things that could not run, or looked wrong
NOISY = []          # jobs during which other processes used the CPUs
NOISE_CORES = float(env("BENCH_NOISE_CORES", "0.15"))
NOISE_RETRIES = int(env("BENCH_NOISE_RETRIES", "1"))
NICE = int(env("BENCH_NICE", "0"))
QUIET_WAIT = float(env("BENCH_QUIET_WAIT", "30"))
BUDGET = float(env("BENCH_BUDGET", "900"))
T_START = time.monotonic()
RUNS_LEFT = [0]     # (job, daemon) runs not yet started


def slack():
    """Seconds of the time budget not needed by the runs still to do: what
    waiting for quiet and re-running noisy runs may spend."""
    return BUDGET - (time.monotonic() - T_START) - RUNS_LEFT[0] * (RUNTIME + 4)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def problem(msg):
    PROBLEMS.append(msg)
    log("PROBLEM: " + msg)


# ---------------------------------------------------------------------------
# /proc readers

def proc_cpu_ticks(pid):
    """utime+stime of the whole thread group, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def proc_threads(pid):
    """{tid: (comm, ticks)} of the live threads."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        out[tid] = (comm, int(fields[11]) + int(fields[12]))
    return out


def proc_status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def system_ticks():
    """(busy, steal, total) jiffies of all CPUs; busy is user, nice, system,
    irq and softirq (guest time is already in user)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6]
    return busy, v[7], sum(v[:8])


def all_proc_ticks():
    """{pid: (comm, ticks)} of every process on the machine."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        out[int(pid)] = (s[s.index("(") + 1:s.rindex(")")],
                         int(fields[11]) + int(fields[12]))
    return out


def others_delta(before, after, exclude):
    """(ksoftirqd ticks, [(ticks, comm, pid)] of other processes, busiest
    first) between two all_proc_ticks() snapshots. Processes that started
    and ended in between are not seen here (the /proc/stat total sees
    them)."""
    ksoft, others = 0, []
    for pid, (comm, ticks) in after.items():
        if pid in exclude:
            continue
        d = ticks - before.get(pid, (comm, 0))[1]
        if d <= 0:
            continue
        if comm.startswith("ksoftirqd/"):
            ksoft += d
        else:
            others.append((d, comm, pid))
    others.sort(reverse=True)
    return ksoft, others


# ---------------------------------------------------------------------------
# Ports

def tcp_port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def control_port_free(cport):
    """tgtd's control socket is /var/run/tgtd/socket.N with a POSIX lock on
    socket.N.lock: free when nobody holds the lock or listens."""
    sock = f"/var/run/tgtd/socket.{cport}"
    if os.path.exists(sock + ".lock"):
        ino = os.stat(sock + ".lock").st_ino
        with open("/proc/locks") as f:
            if re.search(rf":{ino} ", f.read()):
                return False
    try:
        with open("/proc/net/unix") as f:
            if any(line.rstrip().endswith(" " + sock) for line in f):
                return False
    except OSError:
        pass
    return True


def pick_ports(taken):
    for _ in range(200):
        port = random.randint(20000, 49999)
        cport = random.randint(1000, 30999)
        if port in taken or cport in taken:
            continue
        if tcp_port_free(port) and control_port_free(cport):
            return port, cport
    raise RuntimeError("cannot find free ports")


# ---------------------------------------------------------------------------
# Daemons

class Daemon:
    def __init__(self, name, tgtd, tgtadm, legacy, shmdir):
        self.name, self.tgtd, self.tgtadm, self.legacy = name, tgtd, tgtadm, legacy
        self.shmdir = shmdir
        self.proc = None
        self.port = self.cport = None
        self.generation = 0
        self.bstypes = {}
        self.logs = []

    @property
    def pid(self):
        return self.proc.pid

    def adm(self, *args, timeout=30, check=True):
        cmd = [self.tgtadm, "-C", str(self.cport)] + [str(a) for a in args]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(cmd)}: exit "
                               f"{r.returncode}: {r.stdout.strip()}")
        return r.stdout

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, taken):
        for _attempt in range(3):
            self.port, self.cport = pick_ports(taken)
            self.generation += 1
            logf = os.path.join(OUT, f"{self.name}.tgtd.{self.generation}.log")
            self.logs.append(logf)
            with open(logf, "w") as lf:
                self.proc = subprocess.Popen(
                    [self.tgtd, "-f", "-C", str(self.cport), "--iscsi",
                     f"portal=127.0.0.1:{self.port}"],
                    stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT,
                    start_new_session=True)
            deadline = time.time() + 10
            while time.time() < deadline and self.alive():
                try:
                    self.adm("--op", "show", "--mode", "sys", timeout=5)
                    if not tcp_port_free(self.port):
                        log(f"{self.name}: started {self.tgtd} pid {self.pid}, "
                            f"portal 127.0.0.1:{self.port}, control port {self.cport}")
                        return
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass
                time.sleep(0.1)
            self.kill_hard()
            with open(logf) as lf:
                text = lf.read()
            if not re.search(r"in use|another tgtd", text, re.I):
                break
        raise RuntimeError(f"{self.name}: {self.tgtd} did not start "
                           f"(log {self.logs[-1]})")

    def iqn(self, tid):
        kind = "file" if tid <= FILE_TARGETS else "null"
        return f"{IQN_PREFIX}:{kind}{tid}"

    def configure(self):
        for tid in range(1, FILE_TARGETS + NULL_TARGETS + 1):
            if tid > FILE_TARGETS and not WITH_NULL:
                break
            self.adm("--lld", "iscsi", "--mode", "target", "--op", "new",
                     "--tid", tid, "-T", self.iqn(tid))
            if tid <= FILE_TARGETS:
                path = os.path.join(self.shmdir, f"{self.name}-lun{tid}.img")
                extra = ["-E", BSTYPE] if BSTYPE else []
            else:
                path = f"null{tid}"
                extra = ["-E", "null"]
            self.adm("--lld", "iscsi", "--mode", "logicalunit", "--op", "new",
                     "--tid", tid, "--lun", 1, "-b", path, *extra)
            self.adm("--lld", "iscsi", "--mode", "target", "--op", "bind",
                     "--tid", tid, "-I", "ALL")
        self.bstypes = self.read_bstypes()

    def read_bstypes(self):
        """{tid: backing store type of LUN 1} from `show`."""
        out = self.adm("--op", "show", "--mode", "target")
        res, tid, lun = {}, None, None
        for line in out.splitlines():
            m = re.match(r"Target (\d+):", line)
            if m:
                tid, lun = int(m.group(1)), None
            m = re.match(r"\s+LUN: (\d+)", line)
            if m:
                lun = int(m.group(1))
            m = re.match(r"\s+Backing store type: (\S+)", line)
            if m and lun == 1:
                res[tid] = m.group(1)
        return res

    def kill_hard(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.forget()

    def forget(self):
        """tgtd leaves its control socket and lock file behind."""
        if self.cport and not self.alive() and control_port_free(self.cport):
            for suffix in ("", ".lock"):
                try:
                    os.unlink(f"/var/run/tgtd/socket.{self.cport}{suffix}")
                except OSError:
                    pass

    def stop(self):
        """Stops our daemon by PID. Returns a problem text or None."""
        if self.proc is None or not self.alive():
            return None
        if self.legacy:
            # Debian's tgtd ignores SIGTERM while targets exist.
            try:
                out = self.adm("--op", "show", "--mode", "target", timeout=10,
                               check=False)
                for tid in re.findall(r"^Target (\d+):", out, re.M):
                    self.adm("--op", "delete", "--mode", "target", "--force",
                             "--tid", tid, timeout=10, check=False)
                self.adm("--op", "delete", "--mode", "system", timeout=10,
                         check=False)
            except subprocess.TimeoutExpired:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self.kill_hard()
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill_hard()
            return f"{self.name} (pid {self.pid}) did not exit within 10 s of SIGTERM; killed"
        self.forget()
        if rc != 0:
            return f"{self.name} (pid {self.pid}) exited with status {rc} on SIGTERM"
        return None


# ---------------------------------------------------------------------------
# Jobs

def fio_escape(s):
    return s.replace(":", "\\:")


def job_list():
    """Each job: name, title, sections [(tid, {fio options})], group
    (group_reporting), and flags."""
    orig = {"rw": "randread", "bs": "16k", "iodepth": 128}
    jobs = [
        dict(name="orig", title="original's job: 16k randread qd128, 3 targets (tmpfs)",
             sections=[(t, orig) for t in (1, 2, 3)], group=True),
        dict(name="orig-null", title="original's job on null-store LUNs",
             sections=[(t, orig) for t in (4, 5, 6)], group=True, null=True),
        dict(name="rr4k", title="4k randread qd32, 3 targets",
             sections=[(t, {"rw": "randread", "bs": "4k", "iodepth": 32})
                       for t in (1, 2, 3)], group=True),
        dict(name="rw4k", title="4k randwrite qd32, 3 targets",
             sections=[(t, {"rw": "randwrite", "bs": "4k", "iodepth": 32})
                       for t in (1, 2, 3)], group=True),
        dict(name="seq128k", title=f"128k sequential read qd{SEQ_DEPTH}, 1 target",
             sections=[(1, {"rw": "read", "bs": "128k", "iodepth": SEQ_DEPTH})],
             group=True),
        dict(name="seq128k-x3", title=f"128k sequential read qd{SEQ_DEPTH}, 3 targets",
             sections=[(t, {"rw": "read", "bs": "128k", "iodepth": SEQ_DEPTH})
                       for t in (1, 2, 3)], group=True),
        dict(name="fair", title="fairness: 2 targets, equal load (16k randread qd128 each)",
             sections=[(t, orig) for t in (1, 2)], group=False),
        dict(name="victim", title="fairness: target 1 16k randread qd128, "
             "target 2 4k randread qd1 (victim)",
             sections=[(1, orig), (2, {"rw": "randread", "bs": "4k", "iodepth": 1})],
             group=False),
        dict(name="mgmt", title="management under load: tgtadm --op show "
             f"--mode target every {3 * MGMT_INTERVAL:g} s during the original's job, "
             "in turn with --op show --mode sys as control and /bin/true as "
             "the floor",
             sections=[(t, orig) for t in (1, 2, 3)], group=True, mgmt=True),
        dict(name="orig-perf", title="original's job under `perf record` "
             "(profile only; numbers not comparable)",
             sections=[(t, orig) for t in (1, 2, 3)], group=True, perf=True),
        # Memory: the daemon's RSS with many sessions, idle and busy. The
        # sessions are spread over the three file targets; an idle one
        # does one 4k read per second, so that it stays logged in.
        dict(name="rss-idle", title=f"memory: {RSS_SESSIONS} sessions "
             "logged in and idle (one 4k read per second each)",
             sections=[(1 + i % FILE_TARGETS,
                        {"rw": "randread", "bs": "4k", "iodepth": 1,
                         "rate_iops": 1}) for i in range(RSS_SESSIONS)],
             group=True, rss=True),
        dict(name="rss-busy", title=f"memory: {RSS_SESSIONS} busy sessions "
             "(16k randread qd8 each)",
             sections=[(1 + i % FILE_TARGETS,
                        {"rw": "randread", "bs": "16k", "iodepth": 8})
                       for i in range(RSS_SESSIONS)],
             group=True, rss=True),
    ]
    if not WITH_NULL:
        jobs = [j for j in jobs if not j.get("null")]
    if not WITH_PERF or not shutil.which("perf"):
        jobs = [j for j in jobs if not j.get("perf")]
    if ONLY:
        unknown = set(ONLY) - {j["name"] for j in jobs}
        if unknown:
            raise SystemExit(f"bench: unknown or disabled job(s) "
                             f"{','.join(sorted(unknown))}")
        jobs = [j for j in jobs if j["name"] in ONLY]
    return jobs


def write_jobfile(path, job, daemon):
    # thread=1: fio's job processes would each setsid() and so outlive a
    # kill of fio's process group when a daemon dies; threads cannot.
    lines = ["[global]", "ioengine=libiscsi", "thread=1", "time_based=1",
             f"runtime={RUNTIME}", f"size={SIZE}", "norandommap=1",
             "randrepeat=0", "percentile_list=50:99:99.9"]
    if job["group"]:
        lines.append("group_reporting=1")
    for i, (tid, opts) in enumerate(job["sections"]):
        lines.append("")
        # fio job names: one per target, or per session in the rss jobs
        lines.append(f"[t{tid}.{i}]" if job.get("rss") else f"[t{tid}]")
        if not job["group"] and i > 0:
            lines.append("new_group")
        url = f"iscsi://127.0.0.1:{daemon.port}/{daemon.iqn(tid)}/1"
        lines.append(f"filename={fio_escape(url)}")
        for k, v in opts.items():
            lines.append(f"{k}={v}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class RssSampler(threading.Thread):
    """Samples the daemon's VmRSS every 0.25 s until stopped; keeps the
    peak (kB)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.stop_ev = threading.Event()
        self.peak_kb = 0

    def run(self):
        while not self.stop_ev.is_set():
            kb = proc_status_kb(self.pid, "VmRSS")
            if kb:
                self.peak_kb = max(self.peak_kb, kb)
            self.stop_ev.wait(0.25)


class MgmtPoller(threading.Thread):
    """Every MGMT_INTERVAL seconds between start+delay and the stop event,
    calls in turn `tgtadm --op show --mode target` (which lists every
    target's sessions), `--op show --mode sys` (which touches no target:
    the control figure for process start-up, IPC and CPU scheduling delay
    on a busy machine) and `/bin/true` (the floor: what starting and
    reaping any process costs the benchmark in the same conditions, with
    no daemon involved). Records wall times in ms."""

    def __init__(self, daemon, delay):
        super().__init__(daemon=True)
        self.d, self.delay = daemon, delay
        self.stop_ev = threading.Event()
        self.ms = {"target": [], "sys": [], "spawn": []}
        self.failures = 0

    def call(self, mode):
        cmd = ["/bin/true"] if mode == "spawn" else \
            [self.d.tgtadm, "-C", str(self.d.cport), "--op", "show", "--mode",
             mode]
        t0 = time.perf_counter()
        try:
            r = subprocess.run(cmd,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=30)
            ok = r.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        self.ms[mode].append((time.perf_counter() - t0) * 1000)
        if not ok:
            self.failures += 1

    def run(self):
        if self.stop_ev.wait(self.delay):
            return
        n = 0
        while not self.stop_ev.is_set():
            self.call(("target", "sys", "spawn")[n % 3])
            n += 1
            self.stop_ev.wait(MGMT_INTERVAL)


def run_fio(jobfile, jsonf, daemon):
    """Runs fio; ends it (its whole process group) when it overruns, or a
    few seconds after the daemon died (libiscsi would retry forever).
    Returns (exit status or a reason, output)."""
    outf = jsonf[:-5] + ".out"
    with open(outf, "w") as of:
        p = subprocess.Popen([FIO, "--output-format=json", f"--output={jsonf}",
                              jobfile], stdin=subprocess.DEVNULL, stdout=of,
                             stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + RUNTIME + 120
        died_at = None
        reason = None
        try:
            while p.poll() is None:
                now = time.monotonic()
                if died_at is None and not daemon.alive():
                    died_at = now
                if died_at is not None and now - died_at > 5:
                    reason = "killed after the daemon died"
                elif now > deadline:
                    reason = f"timeout ({RUNTIME + 120} s)"
                if reason:
                    break
                time.sleep(0.2)
        finally:
            if p.poll() is None:        # overran, daemon died, or interrupted
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
    with open(outf, errors="replace") as f:
        out = f.read()
    return (reason or p.returncode), out


def run_one(job, daemon):
    """Runs one job against one daemon. Returns a result dict."""
    tag = f"{job['name']}.{daemon.name}"
    jobfile = os.path.join(OUT, tag + ".fio")
    jsonf = os.path.join(OUT, tag + ".json")
    write_jobfile(jobfile, job, daemon)
    res = {"job": job["name"], "daemon": daemon.name, "ok": False,
           "pid": daemon.pid}
    if not daemon.alive():
        res["error"] = f"{daemon.name} is not running"
        return res
    poller = MgmtPoller(daemon, 3) if job.get("mgmt") else None
    sampler = RssSampler(daemon.pid) if job.get("rss") else None
    if sampler:
        res["rss0_kb"] = proc_status_kb(daemon.pid, "VmRSS")
        res["sessions"] = len(job["sections"])
        sampler.start()
    perf = None
    if job.get("perf"):
        perf_data = os.path.join(OUT, tag + ".perf.data")
        # from 2 s in (sessions logged in) to 2 s before the end
        with open(os.path.join(OUT, tag + ".perf.log"), "w") as plog:
            perf = subprocess.Popen(
                ["sh", "-c", 'sleep 2; exec perf record -F 999 -g -p "$0" '
                 '-o "$1" -- sleep "$2"', str(daemon.pid), perf_data,
                 str(max(RUNTIME - 4, 2))],
                stdout=subprocess.DEVNULL, stderr=plog)
        res["perf_data"] = perf_data
    threads0 = proc_threads(daemon.pid)
    cpu0 = proc_cpu_ticks(daemon.pid)
    sys0 = system_ticks()
    procs0 = all_proc_ticks()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    if poller:
        poller.start()
    rc, fio_out = run_fio(jobfile, jsonf, daemon)
    wall = time.monotonic() - t0
    if sampler:
        sampler.stop_ev.set()
        sampler.join()
        res["rss_peak_kb"] = sampler.peak_kb
    if poller:
        poller.stop_ev.set()
        poller.join()
        res["mgmt_ms"] = poller.ms["target"]
        res["mgmt_sys_ms"] = poller.ms["sys"]
        res["mgmt_spawn_ms"] = poller.ms["spawn"]
        res["mgmt_failures"] = poller.failures
    if perf:
        try:
            perf.wait(RUNTIME + 30)
        except subprocess.TimeoutExpired:
            perf.kill()
            perf.wait()
    alive = daemon.alive()
    if alive:
        res["cpu_s"] = (proc_cpu_ticks(daemon.pid) - cpu0) / CLK_TCK
        threads1 = proc_threads(daemon.pid)
        per = {}
        for tid, (comm, ticks) in threads1.items():
            before = threads0.get(tid, (comm, 0))[1]
            key = re.sub(r":\d+$", "", comm) if comm.startswith("bs/") else comm
            per[key] = per.get(key, 0) + (ticks - before) / CLK_TCK
        res["threads_s"] = per
        res["nthreads"] = len(threads1)
        res["rss_kb"] = proc_status_kb(daemon.pid, "VmRSS")
        res["hwm_kb"] = proc_status_kb(daemon.pid, "VmHWM")
    sys1 = system_ticks()
    procs1 = all_proc_ticks()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # fio and its job processes (and tgtadm/perf helpers of this job)
    res["client_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    res["sys_busy_s"] = (sys1[0] - sys0[0]) / CLK_TCK
    ksoft, others = others_delta(procs0, procs1, {os.getpid(), daemon.pid})
    res["ksoftirqd_s"] = ksoft / CLK_TCK
    res["others"] = [(t / CLK_TCK, c, p) for t, c, p in others[:5]]
    res["wall_s"] = wall
    total = max(1, sys1[2] - sys0[2])
    res["sys_busy_frac"] = (sys1[0] - sys0[0]) / total
    res["steal_frac"] = (sys1[1] - sys0[1]) / total
    res["ncpu"] = os.cpu_count()
    res["fio_rc"] = rc
    if rc != 0:
        res["error"] = f"fio exited {rc}: " + fio_out.strip()[-2000:]
    if not alive:
        code = daemon.proc.returncode
        tail = ""
        try:
            with open(daemon.logs[-1]) as f:
                tail = "".join(f.readlines()[-20:])
        except OSError:
            pass
        res["error"] = (res.get("error", "") + f"; {daemon.name} (pid "
                        f"{daemon.pid}) died during the job, status {code}; "
                        f"log tail:\n{tail}").lstrip("; ")
    if rc == 0:
        try:
            with open(jsonf) as f:
                text = f.read()
            # fio may print notes before the json object
            res["fio"] = json.loads(text[text.index("{"):])
            res["ok"] = alive
        except (OSError, ValueError) as e:
            res["error"] = f"cannot read fio json {jsonf}: {e}"
    return res


# ---------------------------------------------------------------------------
# Metrics

def fio_dir(jobstat):
    """The direction that carried the I/O of a fio job entry."""
    r, w = jobstat["read"], jobstat["write"]
    return r if r["total_ios"] >= w["total_ios"] else w


def pct(dirstat, p):
    pl = dirstat.get("clat_ns", {}).get("percentile", {})
    for k, v in pl.items():
        if abs(float(k) - p) < 1e-6:
            return v / 1000.0
    return None


def metrics(res):
    """Flat metrics of one (job, daemon) result."""
    m = {}
    if not res.get("ok"):
        return m
    jobs = res["fio"]["jobs"]
    dirs = [fio_dir(j) for j in jobs]
    ios = sum(d["total_ios"] for d in dirs)
    m["iops"] = sum(d["iops"] for d in dirs)
    m["mbs"] = sum(d["bw_bytes"] for d in dirs) / 1e6
    if len(dirs) == 1:
        m["p50"], m["p99"] = pct(dirs[0], 50), pct(dirs[0], 99)
    m["cpu_us_per_io"] = res["cpu_s"] / ios * 1e6 if ios else None
    m["daemon_cores"] = res["cpu_s"] / res["wall_s"]
    m["busy_pct"] = res["sys_busy_frac"] * 100
    m["client_cores"] = res["client_cpu_s"] / res["wall_s"]
    # CPU used by neither the daemon, fio nor ksoftirqd: other processes
    # on the machine (noise)
    m["softirqd_cores"] = res["ksoftirqd_s"] / res["wall_s"]
    m["steal_pct"] = res["steal_frac"] * 100
    m["other_cores"] = max(0.0, (res["sys_busy_s"] - res["cpu_s"] -
                                 res["client_cpu_s"] - res["ksoftirqd_s"]) /
                           res["wall_s"])
    # CPU the run lost to others: other processes, and the hypervisor
    # (steal: this is a VM whose host is shared too)
    m["noise_cores"] = m["other_cores"] + res["steal_frac"] * res["ncpu"]
    m["ios"] = ios
    if res["job"] in ("fair", "victim") and len(dirs) == 2:
        tot = m["iops"] or 1
        for i, d in enumerate(dirs, 1):
            m[f"t{i}_iops"] = d["iops"]
            m[f"t{i}_share"] = d["iops"] / tot * 100
            m[f"t{i}_p50"] = pct(d, 50)
            m[f"t{i}_p99"] = pct(d, 99)
        m["t2_mbs"] = dirs[1]["bw_bytes"] / 1e6
    for key, pre in (("mgmt_ms", "mgmt"), ("mgmt_sys_ms", "mgmt_sys"),
                     ("mgmt_spawn_ms", "mgmt_spawn")):
        if res.get(key):
            ms = sorted(res[key])
            m[f"{pre}_calls"] = len(ms)
            m[f"{pre}_p50"] = statistics.median(ms)
            m[f"{pre}_p99"] = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
            m[f"{pre}_max"] = ms[-1]
    if "mgmt_ms" in res:
        m["mgmt_fail"] = res.get("mgmt_failures", 0)
    if res.get("rss_peak_kb"):
        m["sessions"] = res["sessions"]
        m["rss0_mb"] = (res.get("rss0_kb") or 0) / 1024
        m["rss_peak_mb"] = res["rss_peak_kb"] / 1024
        m["rss_per_session_kb"] = ((res["rss_peak_kb"] - (res.get("rss0_kb") or 0))
                                   / res["sessions"])
    return m


# (label, key, format, lower_is_better, goal text)
ROWS = {
    "default": [
        ("IOPS", "iops", "{:.0f}", False),
        ("MB/s", "mbs", "{:.1f}", False),
        ("clat p50 µs", "p50", "{:.0f}", True),
        ("clat p99 µs", "p99", "{:.0f}", True),
        ("daemon CPU µs/IO", "cpu_us_per_io", "{:.2f}", True),
        ("daemon CPU (cores)", "daemon_cores", "{:.2f}", None),
        ("fio CPU (cores)", "client_cores", "{:.2f}", None),
        ("ksoftirqd CPU (cores)", "softirqd_cores", "{:.2f}", None),
        ("machine busy %", "busy_pct", "{:.0f}", None),
        ("other processes (cores)", "other_cores", "{:.2f}", None),
        ("steal %", "steal_pct", "{:.1f}", None),
    ],
    "fair": [
        ("total IOPS", "iops", "{:.0f}", False),
        ("target 1 IOPS share %", "t1_share", "{:.1f}", None),
        ("target 2 IOPS share %", "t2_share", "{:.1f}", None),
        ("target 1 clat p99 µs", "t1_p99", "{:.0f}", True),
        ("target 2 clat p99 µs", "t2_p99", "{:.0f}", True),
        ("daemon CPU µs/IO", "cpu_us_per_io", "{:.2f}", True),
        ("daemon CPU (cores)", "daemon_cores", "{:.2f}", None),
        ("other processes (cores)", "other_cores", "{:.2f}", None),
        ("steal %", "steal_pct", "{:.1f}", None),
    ],
    "victim": [
        ("target 1 (saturating) IOPS", "t1_iops", "{:.0f}", False),
        ("target 2 (victim, qd1) IOPS", "t2_iops", "{:.0f}", False),
        ("victim clat p50 µs", "t2_p50", "{:.0f}", True),
        ("victim clat p99 µs", "t2_p99", "{:.0f}", True),
        ("daemon CPU µs/IO", "cpu_us_per_io", "{:.2f}", True),
        ("daemon CPU (cores)", "daemon_cores", "{:.2f}", None),
        ("other processes (cores)", "other_cores", "{:.2f}", None),
        ("steal %", "steal_pct", "{:.1f}", None),
    ],
    "mgmt": [
        ("IOPS (under polling)", "iops", "{:.0f}", False),
        ("tgtadm show --mode target calls", "mgmt_calls", "{:.0f}", None),
        ("tgtadm show p50 ms", "mgmt_p50", "{:.1f}", True),
        ("tgtadm show p99 ms", "mgmt_p99", "{:.1f}", True),
        ("tgtadm show max ms", "mgmt_max", "{:.1f}", True),
        ("control: show --mode sys p50 ms", "mgmt_sys_p50", "{:.1f}", True),
        ("control: show --mode sys p99 ms", "mgmt_sys_p99", "{:.1f}", True),
        ("floor: spawn of /bin/true p50 ms", "mgmt_spawn_p50", "{:.1f}", True),
        ("floor: spawn of /bin/true p99 ms", "mgmt_spawn_p99", "{:.1f}", True),
        ("tgtadm failures", "mgmt_fail", "{:.0f}", True),
        ("daemon CPU (cores)", "daemon_cores", "{:.2f}", None),
        ("other processes (cores)", "other_cores", "{:.2f}", None),
        ("steal %", "steal_pct", "{:.1f}", None),
    ],
    "rss": [
        ("sessions", "sessions", "{:.0f}", None),
        ("IOPS", "iops", "{:.0f}", False),
        ("daemon RSS before the job MiB", "rss0_mb", "{:.1f}", None),
        ("daemon RSS peak MiB", "rss_peak_mb", "{:.1f}", True),
        ("RSS growth per session KiB", "rss_per_session_kb", "{:.0f}", True),
        ("daemon CPU µs/IO", "cpu_us_per_io", "{:.2f}", True),
    ],
    "orig-perf": [
        ("IOPS (perf attached)", "iops", "{:.0f}", False),
        ("daemon CPU µs/IO", "cpu_us_per_io", "{:.2f}", True),
    ],
}

# Goals stated in the issues (ratios mtgt/tgt unless said otherwise):
# informational only, shown beside the measured ratio.
GOALS = {
    ("orig", "iops"): "≥ 2.0",
    ("orig", "cpu_us_per_io"): "≤ 0.33",
    ("rr4k", "iops"): "≥ 1.5",
    ("rr4k", "cpu_us_per_io"): "≤ 0.33",
    ("rw4k", "iops"): "≥ 1.5",
    ("rw4k", "cpu_us_per_io"): "≤ 0.33",
    ("seq128k", "mbs"): "≥ 1.2",
    ("seq128k-x3", "mbs"): "≥ 1.2",
    ("victim", "t2_p99"): "≤ 0.2",
    ("victim", "t1_iops"): "≥ 1.0",
    ("mgmt", "mgmt_p99"): "mtgt ≤ 5 ms",
}


def fmt(f, v):
    return "—" if v is None else f.format(v)


def table(jobs, results):
    """Markdown table lines."""
    out = ["| job | metric | tgt | mtgt | mtgt/tgt | goal |",
           "|---|---|---:|---:|---:|---|"]
    for job in jobs:
        name = job["name"]
        mt = {d: metrics(results.get((name, d), {})) for d in ("tgt", "mtgt")}
        rows = ROWS.get("rss" if job.get("rss") else name, ROWS["default"])
        first = True
        for label, key, f, _lower in rows:
            a, b = mt["tgt"].get(key), mt["mtgt"].get(key)
            ratio = "—"
            if a is not None and b is not None and a > 0:
                ratio = f"{b / a:.2f}×"
            goal = GOALS.get((name, key), "")
            out.append(f"| {name if first else ''} | {label} | {fmt(f, a)} | "
                       f"{fmt(f, b)} | {ratio} | {goal} |")
            first = False
    return out


def thread_breakdown(results, name):
    lines = []
    for d in ("tgt", "mtgt"):
        r = results.get((name, d), {})
        if not r.get("threads_s"):
            continue
        wall = r["wall_s"]
        parts = sorted(r["threads_s"].items(), key=lambda kv: -kv[1])
        txt = ", ".join(f"`{k}` {v / wall:.2f}" for k, v in parts if v > 0.005 * wall)
        lines.append(f"- {d} ({r.get('nthreads', '?')} threads): {txt}")
    return lines


def perf_report(data, children):
    cmd = ["perf", "report", "-i", data, "--stdio", "--sort", "symbol",
           "-g", "none", "--percent-limit", "1"]
    cmd.append("--children" if children else "--no-children")
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True,
                              timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def perf_summary(results):
    """Two short lists per daemon: user-space entry points (libc calls and
    the daemon's own functions) with their inclusive share, and the kernel
    symbols with the most self time."""
    out = []
    for d in ("tgt", "mtgt"):
        r = results.get(("orig-perf", d), {})
        data = r.get("perf_data")
        if not data or not os.path.exists(data):
            continue
        user = []
        for line in perf_report(data, True).splitlines():
            m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[\.\]\s+(\S+)", line)
            if m and not re.fullmatch(r"0x[0-9a-f]+", m.group(3)):
                user.append(f"{float(m.group(1)):5.1f}% {float(m.group(2)):5.1f}%  {m.group(3)}")
        kern = []
        for line in perf_report(data, False).splitlines():
            m = re.match(r"\s+([\d.]+)%\s+\[k\]\s+(\S+)", line)
            if m:
                kern.append(f"{float(m.group(1)):5.1f}%  {m.group(2)}")
        if not user and not kern:
            continue
        out.append(f"{d} (pid {r['pid']}), % of the daemon's samples:")
        out.append("```")
        out.append("user-space calls (incl%  self%):")
        out.extend("  " + x for x in user[:10])
        out.append("kernel, self time:")
        out.extend("  " + x for x in kern[:8])
        out.append("```")
    return out


def cmd_out(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // (1024 * 1024)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "mem_gib": mem,
        "kernel": os.uname().release,
        "tgt": cmd_out(["dpkg-query", "-W", "-f=${Version}", "tgt"]),
        "mtgt": (cmd_out([DAEMONS[1][1], "-V"]).splitlines() or ["?"])[0],
        "commit": cmd_out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "dirty": bool(cmd_out(["git", "-C", ROOT, "status", "--porcelain",
                               "--untracked-files=no", "src"])),
        "fio": cmd_out([FIO, "--version"]),
        "libiscsi": cmd_out(["dpkg-query", "-W", "-f=${Version}", "libiscsi7"]),
    }


def render(jobs, results, info, daemons, started, finished):
    shown_out = os.path.relpath(OUT, ROOT) if OUT.startswith(ROOT + "/") else OUT
    L = []
    L.append(f"Run {started:%Y-%m-%d %H:%M} – {finished:%H:%M} "
             f"(`make bench`, raw data in `{shown_out}`).")
    L.append("")
    L.append(f"- machine: {info['nproc']} CPUs ({info['cpu']}), "
             f"{info['mem_gib']} GiB, Linux {info['kernel']}, loopback only; "
             "fio and the daemon share the CPUs")
    L.append(f"- tgt: Debian tgt {info['tgt']} (`/usr/sbin/tgtd`)")
    L.append(f"- mtgt: `build/tgtd` {info['mtgt']}, commit {info['commit']}"
             f"{' + uncommitted changes in src/' if info['dirty'] else ''}")
    L.append(f"- client: {info['fio']} with the libiscsi engine (libiscsi "
             f"{info['libiscsi']}), one fio job (thread) per target")
    bst = "; ".join(
        f"{d.name}: " + ", ".join(f"tid {t} {b}" for t, b in sorted(d.bstypes.items()))
        for d in daemons)
    L.append(f"- LUNs: {SIZE} files on tmpfs ({SHM}) for tids 1–3, "
             f"`-E null` for tids 4–6; backing store types — {bst}")
    L.append(f"- {RUNTIME} s per job and daemon; fio addresses the first {SIZE} "
             "of each LUN; daemons run one after the other, the idle one "
             "waiting; CPU is utime+stime of all the daemon's threads")
    L.append("")
    L.extend(table(jobs, results))
    L.append("")
    L.append("Jobs:")
    for job in jobs:
        L.append(f"- `{job['name']}`: {job['title']}")
    tb = thread_breakdown(results, "orig")
    if tb:
        L.append("")
        L.append("CPU by thread during `orig` (cores; bs/* summed over workers):")
        L.extend(tb)
    ps = perf_summary(results)
    if ps:
        L.append("")
        L.append("Profile of the original's job (`perf record -g -F 999` on "
                 "the daemon, `orig-perf` job):")
        L.append("")
        L.extend(ps)
    L.append("")
    steal = [metrics(r).get("steal_pct", 0) for r in results.values()]
    if steal and max(steal) >= 5:
        L.append(f"Steal: the hypervisor took up to {max(steal):.0f}% of the "
                 "CPUs during a job.")
        L.append("")
    if NOISY:
        L.append(f"Noise: other processes on the machine, or the hypervisor "
                 f"(steal), took more than {NOISE_CORES} cores during these "
                 f"runs (even after up to {NOISE_RETRIES} re-run): their "
                 "figures are low and less comparable:")
        L.extend(f"- {n}" for n in NOISY)
        L.append("")
    if PROBLEMS:
        L.append("Problems in this run:")
        for p in PROBLEMS:
            first, *rest = p.splitlines()
            L.append(f"- {first}")
            if rest:
                L.append("  ```")
                L.extend("  " + x for x in rest[-15:])
                L.append("  ```")
    else:
        L.append("Problems in this run: none (every job ran, no daemon died).")
    return L


BEGIN = "<!-- BEGIN GENERATED by bench/bench.py: do not edit by hand -->"
END = "<!-- END GENERATED -->"


def write_results(lines):
    if RESULTS == "-":
        return
    block = BEGIN + "\n" + "\n".join(lines) + "\n" + END
    try:
        with open(RESULTS) as f:
            text = f.read()
    except OSError:
        text = "# mtgt benchmark results\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN in text and END in text:
        head = text[:text.index(BEGIN)]
        tail = text[text.index(END) + len(END):]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(RESULTS, "w") as f:
        f.write(text)
    log(f"wrote {RESULTS}")


# ---------------------------------------------------------------------------

def ensure_running(d, taken):
    if d.alive():
        return True
    try:
        d.start(taken)
        taken |= {d.port, d.cport}
        d.configure()
        return True
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        problem(f"cannot restart {d.name}: {e}")
        return False


def wait_quiet():
    """Waits (up to QUIET_WAIT s) until the CPUs were idle for one second
    apart from less than NOISE_CORES of other work. Returns the load seen
    last, in cores."""
    deadline = time.monotonic() + max(0.0, min(QUIET_WAIT, slack()))
    waited = False
    while True:
        a = system_ticks()
        time.sleep(1)
        b = system_ticks()
        load = (b[0] - a[0] + b[1] - a[1]) / CLK_TCK     # busy + steal
        if load <= NOISE_CORES or time.monotonic() >= deadline:
            if waited:
                log(f"  machine load now {load:.2f} cores")
            return load
        if not waited:
            log(f"  other work uses {load:.2f} cores: waiting up to "
                f"{QUIET_WAIT:g} s for the machine to go idle")
            waited = True


def measure(job, d, taken):
    """Runs JOB on daemon D; when other processes loaded the machine
    meanwhile, runs it again (up to NOISE_RETRIES times) and keeps the
    quietest run. A run that failed is returned as it is."""
    best = None
    RUNS_LEFT[0] -= 1
    for attempt in range(1 + NOISE_RETRIES):
        if attempt and slack() < RUNTIME + 4:
            log("  no time left in BENCH_BUDGET for another attempt")
            break
        if not ensure_running(d, taken):
            return best or {"job": job["name"], "daemon": d.name, "ok": False,
                            "error": "daemon not running"}
        log(f"{job['name']} on {d.name} ({job['title']})"
            + (f", attempt {attempt + 1}" if attempt else ""))
        if QUIET_WAIT > 0:
            wait_quiet()
        res = run_one(job, d)
        res["attempt"] = attempt + 1
        time.sleep(1)
        if res.get("error"):
            problem(f"{job['name']} on {d.name}: {res['error']}")
            return res
        m = metrics(res)
        log(f"  {d.name}: {m.get('iops', 0):.0f} IOPS, "
            f"{m.get('mbs', 0):.1f} MB/s, "
            f"{m.get('cpu_us_per_io') or 0:.2f} µs CPU/IO, "
            f"daemon {m.get('daemon_cores', 0):.2f} cores, "
            f"fio {m.get('client_cores', 0):.2f}, "
            f"ksoftirqd {m.get('softirqd_cores', 0):.2f}, "
            f"other {m.get('other_cores', 0):.2f}, "
            f"machine {m.get('busy_pct', 0):.0f}% busy, "
            f"steal {m.get('steal_pct', 0):.0f}%")
        if best is None or m["noise_cores"] < metrics(best)["noise_cores"]:
            best = res
        if m["noise_cores"] <= NOISE_CORES:
            break
        if attempt < NOISE_RETRIES and slack() >= RUNTIME + 4:
            log(f"  other processes used {m['other_cores']:.2f} cores, "
                f"steal {m['steal_pct']:.0f}%: running it again")
    bm = metrics(best)
    if bm["noise_cores"] > NOISE_CORES:
        top = ", ".join(f"{c}[{p}] {t / best['wall_s']:.2f}"
                        for t, c, p in best.get("others", [])[:3])
        NOISY.append(f"{job['name']} on {d.name}: other processes "
                     f"{bm['other_cores']:.2f} cores, steal {bm['steal_pct']:.0f}%"
                     + (f" (busiest seen: {top})" if top else ""))
    return best


def fill_file(path, size_bytes):
    """A preallocated, written file: tmpfs pages exist before the run."""
    chunk = bytes(range(256)) * 4096     # 1 MiB, not zero
    with open(path, "wb") as f:
        left = size_bytes
        while left > 0:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n


def parse_size(s):
    m = re.fullmatch(r"(\d+)([kmgt]?)i?b?", s.strip().lower())
    if not m:
        raise SystemExit(f"bench: bad BENCH_SIZE {s!r}")
    return int(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " ")


def main():
    if "--list" in sys.argv:
        for j in job_list():
            print(f"{j['name']:12} {j['title']}")
        return 0
    for name, tgtd, tgtadm, _ in DAEMONS:
        for p in (tgtd, tgtadm):
            if not os.access(p, os.X_OK):
                print(f"bench: {p} missing (daemon {name})", file=sys.stderr)
                return 2
    if not os.access(FIO, os.X_OK):
        print(f"bench: {FIO} missing (bench/run.sh builds it)", file=sys.stderr)
        return 2
    jobs = job_list()
    if NICE:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, NICE)    # children inherit it
        except OSError as e:
            log(f"cannot set nice {NICE} ({e}); running at the default")
    os.makedirs(OUT, exist_ok=True)
    started = datetime.datetime.now()
    log(f"{len(jobs)} jobs × 2 daemons × {RUNTIME} s; raw output in {OUT}")
    shmdir = tempfile.mkdtemp(prefix="mtgt-bench.", dir=SHM)
    daemons = [Daemon(n, d, a, leg, shmdir) for n, d, a, leg in DAEMONS]
    results = {}
    interrupted = False

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    try:
        size = parse_size(SIZE)
        for d in daemons:
            for tid in range(1, FILE_TARGETS + 1):
                fill_file(os.path.join(shmdir, f"{d.name}-lun{tid}.img"), size)
        taken = set()
        for d in daemons:
            d.start(taken)
            taken |= {d.port, d.cport}
            d.configure()
            log(f"{d.name}: LUN 1 backing store types {d.bstypes}")
        RUNS_LEFT[0] = 2 * len(jobs)
        for i, job in enumerate(jobs):
            order = daemons if i % 2 == 0 else daemons[::-1]
            for d in order:
                results[(job["name"], d.name)] = measure(job, d, taken)
    except KeyboardInterrupt as e:
        interrupted = True
        problem(f"interrupted ({e})")
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
        problem(str(e))
    finally:
        for d in daemons:
            p = d.stop()
            if p:
                problem(p)
        shutil.rmtree(shmdir, ignore_errors=True)
    finished = datetime.datetime.now()
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({f"{k[0]}.{k[1]}": {kk: vv for kk, vv in v.items() if kk != "fio"}
                   for k, v in results.items()}, f, indent=1)
    info = machine_info()
    lines = render(jobs, results, info, daemons, started, finished)
    print()
    print("\n".join(lines))
    print()
    if not interrupted:
        write_results(lines)
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
