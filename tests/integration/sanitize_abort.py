#!/usr/bin/env python3
"""Aborts of a SANITIZE against a running tgtd, set up by
test_sanitize_abort.sh: target IQN, LUN 1 a slow medium (faultfs) on which
an OVERWRITE takes seconds.

An ABORT TASK of a SANITIZE without IMMED is answered at once, the
aborted command never answers, and the operation goes on to its end
(SBC-4 4.11; libiscsi's SCSI.Sanitize.Reset); one still waiting for a
write at the store never starts. A connection dropped under a running
sanitize goes at once; the operation goes on.

usage: sanitize_abort.py HOST PORT IQN MODE
  abort         the two ABORT TASK checks; the medium ends as 0xa5
  drop          starts an overwrite with 0x3c, drops its connection, sees
                it go on from a new session, logs out: it is left running
  hold          starts an overwrite with 0x69 and keeps the session until
                the target closes it (a forced target delete)
  finish BYTE   waits for the sanitize to end; the medium holds BYTE
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import struct
import sys
import time

from iscsi_raw import (Checks, Conn, OP_DATA_IN, OP_SCSI_RSP, OP_TMF_RSP,
                       TMF_ABORT_TASK, TMF_COMPLETE, read10,
                       sense_triplet, u32, write10)

HOST, PORT, IQN, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
check = Checks()

TUR = b"\x00"
SANITIZE_IN_PROGRESS = (0x2, 0x04, 0x1b)
BLOCKS = 2048          # the LU: 1 MiB (test_sanitize_abort.sh)
PROMPT_S = 3           # "at once", with room for a slow (ASan) daemon
END_S = 60             # an overwrite takes ~8 s; ASan and flushing add


class Initiator:
    """One session that remembers every PDU that answers a command it is
    not waiting for, so that a response of an aborted command shows."""

    def __init__(self):
        self.conn = Conn(HOST, PORT, timeout=END_S)
        status = self.conn.login(IQN)
        assert status == 0, "login failed: 0x%04x" % status
        self.stray = []

    def send(self, cdb, read=0, data=b""):
        """Sends a command (data as immediate data); returns (ITT,
        CmdSN)."""
        cmdsn = self.conn.cmdsn
        itt = self.conn.scsi(cdb, read=read, write=len(data), data=data)
        self.conn.cmdsn += 1
        return itt, cmdsn

    def wait(self, itt):
        """(status, sense triplet, data) of itt; others are set aside."""
        got = b""
        while True:
            hdr, data = self.conn.next_pdu()
            op = hdr[0] & 0x3f
            if op not in (OP_SCSI_RSP, OP_DATA_IN):
                continue
            if u32(hdr, 16) != itt:
                self.stray.append(hdr)
                continue
            if op == OP_DATA_IN:
                got += data
                if hdr[1] & 1:
                    return hdr[3], None, got
            else:
                sense = data[2:2 + struct.unpack(">H", data[:2])[0]] \
                    if len(data) >= 2 else b""
                return hdr[3], sense_triplet(sense), got

    def run(self, cdb, read=0, data=b""):
        return self.wait(self.send(cdb, read, data)[0])

    def tur_past_ua(self):
        """TEST UNIT READY once the login's unit attention is reported."""
        for _ in range(4):
            result = self.run(TUR)
            if result[1] is None or result[1][0] != 0x6:
                return result
        return result

    def answered(self, itt):
        """Whether itt answered, set aside or within half a second."""
        late = [h for h, _ in self.conn.drain(0.5)
                if h[0] & 0x3f in (OP_SCSI_RSP, OP_DATA_IN)]
        return any(u32(h, 16) == itt for h in self.stray + late)

    def abort(self, itt, cmdsn):
        """ABORT TASK; returns (response, seconds it took)."""
        t0 = time.monotonic()
        tmf = self.conn.tmf(TMF_ABORT_TASK, rtt=itt, refcmdsn=cmdsn)
        hdr, _ = self.conn.wait_for(OP_TMF_RSP, tmf)
        return hdr[2], time.monotonic() - t0

    def logout(self):
        self.conn.logout()
        self.conn.close()


def sanitize_cdb():
    """SANITIZE OVERWRITE, no IMMED, one pass, a one-block pattern."""
    return bytes([0x48, 0x01, 0, 0, 0, 0, 0]) + struct.pack(">H", 516) + \
        b"\0"


def pattern(byte):
    return bytes([0x01, 0x00]) + struct.pack(">H", 512) + \
        bytes([byte]) * 512


def start_sanitize(ini, byte):
    """An overwrite with byte, seen under way; returns (ITT, CmdSN)."""
    itt, cmdsn = ini.send(sanitize_cdb(), data=pattern(byte))
    time.sleep(0.5)
    check("the overwrite with 0x%02x is under way" % byte,
          ini.tur_past_ua()[1] == SANITIZE_IN_PROGRESS)
    return itt, cmdsn


def medium_holds(ini, byte):
    blocks = [ini.run(read10(lba, 1), read=512)
              for lba in (0, BLOCKS // 2, BLOCKS - 1)]
    return all(b[0] == 0 and b[2] == bytes([byte]) * 512 for b in blocks)


def wait_until_ready(ini):
    deadline = time.monotonic() + END_S
    while time.monotonic() < deadline:
        if ini.run(TUR)[0] == 0:
            return True
        time.sleep(0.5)
    return False


def t_abort_running():
    ini = Initiator()
    ini.tur_past_ua()
    itt, cmdsn = start_sanitize(ini, 0xa5)
    rsp, took = ini.abort(itt, cmdsn)
    check("ABORT TASK of the running SANITIZE: function complete within "
          "%d s" % PROMPT_S, rsp == TMF_COMPLETE and took < PROMPT_S,
          "response %d after %.1f s" % (rsp, took))
    check("the operation goes on after the abort",
          ini.run(TUR)[1] == SANITIZE_IN_PROGRESS)
    check("the operation ends", wait_until_ready(ini))
    check("the aborted SANITIZE never answered", not ini.answered(itt))
    check("the whole medium was overwritten", medium_holds(ini, 0xa5))
    ini.logout()


def t_abort_waiting():
    """The SANITIZE and its abort arrive in one TCP write behind a WRITE
    that the slow medium holds for half a second."""
    ini = Initiator()
    ini.tur_past_ua()
    t0 = time.monotonic()
    ini.conn.cork()
    write, _ = ini.send(write10(0, 128), data=b"W" * 65536)
    itt, cmdsn = ini.send(sanitize_cdb(), data=pattern(0x5a))
    tmf = ini.conn.tmf(TMF_ABORT_TASK, rtt=itt, refcmdsn=cmdsn)
    ini.conn.uncork()
    hdr, _ = ini.conn.wait_for(OP_TMF_RSP, tmf)
    took = time.monotonic() - t0
    check("ABORT TASK of a SANITIZE waiting for a write: function complete "
          "within %d s" % PROMPT_S, hdr[2] == TMF_COMPLETE and
          took < PROMPT_S, "response %d after %.1f s" % (hdr[2], took))
    check("the write completes", ini.wait(write)[0] == 0)
    check("the aborted sanitize never started: the LU is ready",
          ini.run(TUR)[0] == 0)
    data = ini.run(read10(0, 1), read=512)[2]
    check("the write's data stays, the rest too",
          data == b"W" * 512 and
          ini.run(read10(BLOCKS - 1, 1), read=512)[2] == b"\xa5" * 512)
    check("the aborted SANITIZE never answered", not ini.answered(itt))
    ini.logout()


def t_drop():
    ini = Initiator()
    ini.tur_past_ua()
    start_sanitize(ini, 0x3c)
    ini.conn.close()
    other = Initiator()
    check("after its connection dropped, a new session finds the "
          "overwrite going on", other.tur_past_ua()[1] ==
          SANITIZE_IN_PROGRESS)
    other.logout()


def t_hold():
    ini = Initiator()
    ini.tur_past_ua()
    start_sanitize(ini, 0x69)
    print("holding", flush=True)
    try:
        while True:
            ini.conn.recv()
    except Exception:  # the target closed the connection
        pass


def t_finish():
    ini = Initiator()
    ini.tur_past_ua()
    check("the operation ends", wait_until_ready(ini))
    check("the whole medium was overwritten",
          medium_holds(ini, int(sys.argv[5], 0)))
    ini.logout()


check.run({"abort": [t_abort_running, t_abort_waiting], "drop": [t_drop],
           "hold": [t_hold], "finish": [t_finish]}[MODE])
