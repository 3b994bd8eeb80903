#!/usr/bin/env python3
"""PDU streams an initiator may send but the target must keep in bounds,
against a running tgtd set up by test_streams.sh:

  - a flood of immediate SCSI commands (I bit: outside the CmdSN window)
    each announcing 8 MiB of write data that never comes: beyond the
    session's queue depth plus a little they are answered TASK SET FULL
    without a buffer, the daemon's memory stays bounded, and the session
    works on once the waiting ones are aborted;
  - a Data-Out sequence (solicited by an R2T, or unsolicited) whose F bit
    comes before its end: the PDU is rejected, the command ends with
    CHECK CONDITION (not waiting forever for the bytes the initiator
    will not send), nothing is written, and the session works on;
  - a Text Request split over several PDUs (C bit), in the middle of a
    key: each piece but the last gets an empty Text Response (F 0, a
    TTT the next piece carries), the whole text is answered at the end;
    more than 64 KiB of pieces end the connection.

usage: stream_checks.py HOST PORT IQN DAEMON_PID
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import struct
import sys

from iscsi_raw import (Checks, Conn, OP_R2T, OP_REJECT, OP_SCSI_RSP,
                       TMF_ABORT_TASK_SET, TMF_COMPLETE, bhs, parse_text,
                       read10, sense_triplet, u32, write10)

HOST, PORT, IQN, DAEMON_PID = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4])
check = Checks()
GOOD, TASK_SET_FULL = 0x00, 0x28
QUEUE_DEPTH = 128  # the session's window (tgt's MaxQueueCmd default)
MIB = 1 << 20


def session(extra=()):
    conn = Conn(HOST, PORT)
    status = conn.login(IQN, extra=extra)
    if status:
        raise RuntimeError("login failed: 0x%04x" % status)
    if not conn.ready():
        raise RuntimeError("TEST UNIT READY never GOOD")
    return conn


def vm_size():
    """The daemon's virtual size in bytes: write buffers are reserved at
    once but touched only as data arrives, so RSS would not show them."""
    with open("/proc/%d/status" % DAEMON_PID) as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def t_immediate_flood():
    conn = session()
    flood = 500
    before = vm_size()
    conn.cork()
    itts = [conn.scsi(write10(0, 16384), write=8 * MIB, immediate=True)
            for _ in range(flood)]
    conn.uncork()
    waiting, full, other = set(), 0, []
    for hdr, _ in conn.drain(wait=2):
        op, itt = hdr[0] & 0x3f, u32(hdr, 16)
        if op == OP_R2T and itt in itts:
            waiting.add(itt)
        elif op == OP_SCSI_RSP and hdr[3] == TASK_SET_FULL:
            full += 1
        else:
            other.append("op 0x%02x status 0x%02x" % (op, hdr[3]))
    grown = vm_size() - before
    check("immediate commands beyond the queue depth get TASK SET FULL",
          full == flood - len(waiting) and not other and
          QUEUE_DEPTH <= len(waiting) < QUEUE_DEPTH + 32,
          "%d waiting for data, %d TASK SET FULL, other: %s"
          % (len(waiting), full, other[:5]))
    check("the daemon's memory stays bounded (grew %d MiB)" % (grown // MIB),
          grown < (QUEUE_DEPTH + 32) * 8 * MIB + 512 * MIB,
          "grew by %d MiB" % (grown // MIB))
    itt = conn.tmf(TMF_ABORT_TASK_SET)
    check("ABORT TASK SET ends the commands waiting for data",
          conn.tmf_response(itt) == TMF_COMPLETE)
    status = conn.command(b"\x00")[0]
    itt = conn.scsi(b"\x00", immediate=True)
    check("the session works on (TEST UNIT READY, also immediate)",
          status == GOOD and conn.response(itt)[0] == GOOD,
          "status %r" % (status,))
    conn.close()


def short_sequence(what, conn, itt, ttt):
    """Sends 8 KiB of the 32 KiB sequence with the F bit; the command must
    end with a Reject of that PDU and CHECK CONDITION, ABORTED COMMAND."""
    conn.data_out(itt, ttt, 0, b"\xa5" * 8192, final=True)
    conn.sock.settimeout(3)
    pdus = conn.drain(wait=1.5)
    rejects = [h[2] for h, _ in pdus if h[0] & 0x3f == OP_REJECT]
    rsp = [(h, d) for h, d in pdus
           if h[0] & 0x3f == OP_SCSI_RSP and u32(h, 16) == itt]
    sense = rsp[0][1][2:] if rsp and len(rsp[0][1]) > 2 else b""
    triplet = sense_triplet(sense)
    check("%s cut short by the F bit: Reject and CHECK CONDITION" % what,
          rejects == [0x04] and rsp and rsp[0][0][3] == 0x02 and
          triplet is not None and triplet[0] == 0x0b,
          "rejects %r, response %r, sense %r"
          % (rejects, [h[3] for h, _ in rsp], triplet))
    status, _, data = conn.command(read10(0, 64), read=32768)
    check("%s cut short: nothing written, the session works on" % what,
          status == GOOD and data == bytes(32768), "status %r" % (status,))


def t_solicited_cut_short():
    conn = session()
    itt = conn.scsi(write10(0, 64), write=32768)
    conn.cmdsn += 1
    hdr, _ = conn.wait_for(OP_R2T, itt)
    short_sequence("R2T sequence", conn, itt, u32(hdr, 20))
    conn.close()


def t_unsolicited_cut_short():
    conn = session(extra=[("InitialR2T", "No")])
    if conn.answers.get("InitialR2T") != "No":
        raise RuntimeError("InitialR2T=No not agreed")
    itt = conn.scsi(write10(0, 64), write=32768, final=False)
    conn.cmdsn += 1
    short_sequence("unsolicited data", conn, itt, 0xffffffff)
    conn.close()


def text_piece(conn, itt, ttt, data, more):
    """Sends one Text Request PDU (C bit if more) and returns the Text
    Response (header, data)."""
    rest = struct.pack(">III", ttt, conn.cmdsn, conn.exp_statsn)
    conn.send(bhs(0x04, 0x40 if more else 0x80, len(data), itt=itt,
                  rest=rest), data)
    conn.cmdsn += 1
    return conn.recv()


def split_sendtargets(conn, what):
    """SendTargets=All in three pieces, split inside the key and the
    value; checks the answers and returns the final text."""
    itt, ttt = conn.next_itt(), 0xffffffff
    pieces = [b"SendTa", b"rgets=A", b"ll\0"]
    for n, piece in enumerate(pieces):
        hdr, data = text_piece(conn, itt, ttt, piece, n < len(pieces) - 1)
        if n == len(pieces) - 1:
            break
        ttt = u32(hdr, 20)
        check("%s: piece %d gets an empty Text Response with a TTT"
              % (what, n + 1),
              hdr[0] & 0x3f == 0x24 and not hdr[1] & 0xc0 and not data and
              u32(hdr, 16) == itt and ttt != 0xffffffff,
              "flags 0x%02x ttt 0x%x data %r" % (hdr[1], ttt, data[:60]))
    check("%s: the whole text is answered at the last piece" % what,
          hdr[0] & 0x3f == 0x24 and hdr[1] & 0x80 and
          parse_text(data).get("TargetName") == IQN,
          "flags 0x%02x data %r" % (hdr[1], data[:100]))


def t_text_continued():
    conn = Conn(HOST, PORT)
    if conn.login():
        raise RuntimeError("discovery login failed")
    split_sendtargets(conn, "discovery session")
    # Unsplit requests still answered at once.
    got = parse_text(conn.text([("SendTargets", "All")]))
    check("discovery session: a whole request after it",
          got.get("TargetName") == IQN, repr(got))
    conn.close()
    conn = session()
    split_sendtargets(conn, "normal session")
    conn.close()


def t_text_too_long():
    conn = Conn(HOST, PORT)
    if conn.login():
        raise RuntimeError("discovery login failed")
    itt, ttt, sent = conn.next_itt(), 0xffffffff, 0
    try:
        while sent <= 70000:
            hdr, _ = text_piece(conn, itt, ttt, b"X" * 8192, True)
            ttt, sent = u32(hdr, 20), sent + 8192
        ended = False
    except Exception:  # Closed, or a reset while sending
        ended = True
    check("more than 64 KiB of continued text ends the connection",
          ended or conn.closed(), "%d bytes taken" % sent)


check.run([t_immediate_flood, t_solicited_cut_short, t_unsolicited_cut_short,
           t_text_continued, t_text_too_long])
