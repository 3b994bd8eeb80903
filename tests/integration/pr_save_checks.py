#!/usr/bin/env python3
"""APTPL saves against a running tgtd whose reservation state directory
is slow to fsync (slowfs), set up by test_pr_save.sh: target IQN, LUN 1.

A PERSISTENT RESERVE OUT with APTPL answers only once its state is on
disk (both fsyncs of the save are behind it), a second one answers after
the first, and READs of another session of the same target go on at
their usual pace meanwhile: the target's thread does not wait for the
disk.

usage: pr_save_checks.py HOST PORT IQN MODE [ARGS]
  save FSYNC_MS PID A and then C register (keys 0xa, 0xc) with APTPL
                    while B reads; SIGKILL to PID right after C's GOOD
  keys KEY...       the LU's registered keys are exactly KEY... (hex)
  hold KEY          registers KEY with APTPL, prints "sent" and waits
                    until the target answers or closes the session
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import os
import signal
import struct
import sys
import threading
import time

from iscsi_raw import Checks, Conn, read10, u32

HOST, PORT, IQN, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
ARGS = sys.argv[5:]
check = Checks()

REGISTER, REGISTER_IGNORE = 0x00, 0x06
APTPL = 0x01
GOOD = 0
PROMPT_S = 0.8   # a READ is "prompt": far below one fsync (1.5 s)


def session():
    conn = Conn(HOST, PORT, timeout=60)
    status = conn.login(IQN)
    assert status == 0, "login failed: 0x%04x" % status
    # The first command of a session meets POWER ON OCCURRED.
    for _ in range(3):
        if conn.command(b"\x00" * 6)[0] == GOOD:
            return conn
    raise RuntimeError("TEST UNIT READY never GOOD")


def prout(conn, sa, sark):
    """PERSISTENT RESERVE OUT with APTPL: (status, sense)."""
    plist = bytearray(24)
    plist[8:16] = struct.pack(">Q", sark)
    plist[20] = APTPL
    cdb = struct.pack(">BBBxxIx", 0x5f, sa, 0, len(plist))
    status, sense, _ = conn.command(cdb, write=bytes(plist))
    return status, sense


class Timed(threading.Thread):
    """A PR OUT REGISTER on its own session, timed from its sending."""

    def __init__(self, sark, after=None, kill=None):
        super().__init__()
        self.conn, self.sark, self.after, self.kill = \
            session(), sark, after, kill
        self.status = self.start_t = self.end_t = None

    def run(self):
        if self.after:
            # Sent while the save of `after` runs.
            time.sleep(0.3)
        self.start_t = time.monotonic()
        self.status, _ = prout(self.conn, REGISTER, self.sark)
        self.end_t = time.monotonic()
        if self.kill:
            os.kill(self.kill, signal.SIGKILL)


def test_save():
    fsync_s, pid = int(ARGS[0]) / 1000, int(ARGS[1])
    reader = session()
    a = Timed(0xa)
    c = Timed(0xc, after=a, kill=pid)
    reads, slowest = 0, 0.0
    a.start()
    c.start()
    while c.is_alive():
        t = time.monotonic()
        status, _, data = reader.command(read10(0, 1), read=512)
        if status != GOOD or len(data) != 512:
            break
        slowest = max(slowest, time.monotonic() - t)
        reads += 1
        time.sleep(0.02)
    a.join()
    c.join()
    save_s = 2 * fsync_s * 0.9   # a save: the file's and the dir's fsync
    check("A's REGISTER with APTPL is GOOD", a.status == GOOD,
          "status %r" % a.status)
    check("it answered only after its save (>= %.1f s)" % save_s,
          a.end_t - a.start_t >= save_s, "%.2f s" % (a.end_t - a.start_t))
    check("C's REGISTER with APTPL is GOOD", c.status == GOOD,
          "status %r" % c.status)
    check("C answered after A, once its own save was done",
          c.end_t >= a.end_t + save_s,
          "A at %.2f s, C at %.2f s" % (a.end_t - a.start_t,
                                        c.end_t - a.start_t))
    check("READs of another session went on meanwhile (%d)" % reads,
          reads >= 20, "%d reads" % reads)
    check("each READ was prompt (slowest %.3f s)" % slowest,
          slowest < PROMPT_S, "%.3f s" % slowest)


def read_keys(conn):
    cdb = struct.pack(">BBxxxxxHx", 0x5e, 0, 1024)
    status, _, data = conn.command(cdb, read=1024)
    assert status == GOOD, "READ KEYS: status %r" % status
    n = u32(data, 4) // 8
    return sorted(struct.unpack(">Q", data[8 + 8 * i:16 + 8 * i])[0]
                  for i in range(n))


def test_keys():
    want = sorted(int(k, 16) for k in ARGS)
    got = read_keys(session())
    check("registered keys are %s" % " ".join(ARGS), got == want,
          "got %s" % [hex(k) for k in got])


def test_hold():
    conn = session()
    plist = bytearray(24)
    plist[8:16] = struct.pack(">Q", int(ARGS[0], 16))
    plist[20] = APTPL
    conn.scsi(struct.pack(">BBBxxIx", 0x5f, REGISTER_IGNORE, 0, 24),
              write=24, data=bytes(plist))
    conn.cmdsn += 1
    print("sent", flush=True)
    try:
        while True:
            conn.next_pdu()
    except Exception:  # closed by the daemon going away
        pass


check.run({"save": [test_save], "keys": [test_keys],
           "hold": [test_hold]}[MODE])
