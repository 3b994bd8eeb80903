#!/usr/bin/env python3
"""Task management against a running tgtd, set up by test_tmf.sh: target
IQN with file-backed LUNs 1 and 2, open to every initiator.

Every function of RFC 7143 §11.5 (and QUERY TASK / QUERY TASK SET of RFC
7144): what it answers, which commands it aborts (an aborted command never
answers, not even after the TMF response), which I_T nexuses get a unit
attention, and that the connection and the other sessions carry on.
Commands that must be inside the backing store when the TMF arrives are
sent in the same TCP write as the TMF: the target reads both in one go and
a file store answers only later, from its worker threads.

usage: tmf_checks.py HOST PORT IQN
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import struct
import sys

from iscsi_raw import (Checks, Conn, INITIATOR, OP_R2T, OP_SCSI_RSP,
                       OP_DATA_IN, TMF_ABORT_TASK, TMF_ABORT_TASK_SET,
                       TMF_CLEAR_ACA, TMF_CLEAR_TASK_SET, TMF_COMPLETE,
                       TMF_LU_RESET, TMF_NO_LUN, TMF_NO_REASSIGN,
                       TMF_NO_TASK, TMF_NOT_SUPPORTED, TMF_QUERY_TASK,
                       TMF_QUERY_TASK_SET, TMF_SUCCEEDED, TMF_TASK_REASSIGN,
                       TMF_TARGET_COLD_RESET, TMF_TARGET_WARM_RESET, u32)

HOST, PORT, IQN = sys.argv[1], int(sys.argv[2]), sys.argv[3]
check = Checks()

TUR = b"\x00"
SYNC_CACHE = b"\x35"
UA_BUS_DEVICE_RESET = (0x6, 0x29, 0x03)
UA_COMMANDS_CLEARED = (0x6, 0x2f, 0x00)


def write10(lba, blocks):
    return b"\x2a\x00" + struct.pack(">IxH", lba, blocks) + b"\x00"


def read10(lba, blocks):
    return b"\x28\x00" + struct.pack(">IxH", lba, blocks) + b"\x00"


def sense_of(sense):
    """(key, ASC, ASCQ) of fixed-format sense data."""
    if len(sense) < 14:
        return None
    return sense[2] & 0x0f, sense[12], sense[13]


def session(name="a", luns=(1,)):
    conn = Conn(HOST, PORT)
    status = conn.login(IQN, initiator=INITIATOR + "-" + name)
    assert status == 0, "login failed: 0x%04x" % status
    for lun in luns:
        ready(conn, lun)
    return conn


def ready(conn, lun=1):
    """TEST UNIT READY until the unit attentions are gone."""
    for _ in range(6):
        if tur(conn, lun)[0] == 0:
            return
    raise RuntimeError("LUN %d keeps failing TEST UNIT READY" % lun)


def tur(conn, lun=1):
    itt = conn.scsi(TUR, lun=lun)
    conn.cmdsn += 1
    status, sense, _ = conn.response(itt)
    return status, sense_of(sense)


def waiting_write(conn, lun=1, blocks=8):
    """A WRITE whose data the target asks for (R2T) and never gets:
    a command waiting for Data-Out. Returns (ITT, CmdSN, R2T's TTT)."""
    itt = conn.scsi(write10(0, blocks), write=blocks * 512, lun=lun)
    cmdsn = conn.cmdsn
    conn.cmdsn += 1
    hdr, _ = conn.wait_for(OP_R2T, itt)
    return itt, cmdsn, u32(hdr, 20)


def answers_for(conn, itt, wait=0.5):
    """The SCSI Response / Data-In PDUs that arrive for itt."""
    return [h for h, _ in conn.drain(wait)
            if h[0] & 0x3f in (OP_SCSI_RSP, OP_DATA_IN) and
            u32(h, 16) == itt]


def tmf(conn, function, **kw):
    return conn.tmf_response(conn.tmf(function, **kw))


def t_abort_waiting_write():
    conn = session()
    itt, cmdsn, ttt = waiting_write(conn)
    check("QUERY TASK finds the write waiting for Data-Out",
          tmf(conn, TMF_QUERY_TASK, rtt=itt) == TMF_SUCCEEDED)
    rsp = tmf(conn, TMF_ABORT_TASK, rtt=itt, refcmdsn=cmdsn)
    check("ABORT TASK of a write waiting for Data-Out: function complete",
          rsp == TMF_COMPLETE, "response %d" % rsp)
    check("QUERY TASK no longer finds it",
          tmf(conn, TMF_QUERY_TASK, rtt=itt) == TMF_COMPLETE)
    # Data-Out the initiator had in flight when it aborted: dropped.
    conn.data_out(itt, ttt, 0, b"\xab" * 4096)
    check("late Data-Out for the aborted write is dropped, the "
          "connection goes on", tur(conn)[0] == 0)
    check("the aborted write never answers", not answers_for(conn, itt))
    conn.close()


def t_abort_absent_tasks():
    conn = session()
    rsp = tmf(conn, TMF_ABORT_TASK, rtt=0x7777, refcmdsn=conn.cmdsn - 2)
    check("ABORT TASK of a finished command (RefCmdSN below the window): "
          "task does not exist", rsp == TMF_NO_TASK, "response %d" % rsp)
    # A command with CmdSN n is "lost": the initiator has moved on to n+1
    # and aborts it (RFC 7143 §11.6.1 b).
    lost = conn.cmdsn
    conn.cmdsn += 1
    itt = conn.tmf(TMF_ABORT_TASK, rtt=0x8888, refcmdsn=lost)
    hdr, _ = conn.wait_for(0x22, itt)
    check("ABORT TASK of a command not received yet (RefCmdSN in the "
          "window): function complete", hdr[2] == TMF_COMPLETE,
          "response %d" % hdr[2])
    check("its CmdSN counts as received (ExpCmdSN moved past it)",
          u32(hdr, 28) == lost + 1, "ExpCmdSN %d" % u32(hdr, 28))
    # The lost command turns up after all: it must not run.
    next_sn = conn.cmdsn
    conn.cmdsn = lost
    late = conn.scsi(TUR)
    conn.cmdsn = next_sn
    check("the command, arriving after its abort, is dropped; the next "
          "one runs", tur(conn)[0] == 0 and not answers_for(conn, late))
    conn.close()


def t_unsupported_and_bad_lun():
    conn = session()
    check("CLEAR ACA (no ACA support): function not supported",
          tmf(conn, TMF_CLEAR_ACA) == TMF_NOT_SUPPORTED)
    check("TASK REASSIGN at ErrorRecoveryLevel 0: allegiance reassignment "
          "not supported", tmf(conn, TMF_TASK_REASSIGN, rtt=5) ==
          TMF_NO_REASSIGN)
    check("unassigned function 13: function not supported",
          tmf(conn, 13) == TMF_NOT_SUPPORTED)
    for name, function in (("LOGICAL UNIT RESET", TMF_LU_RESET),
                           ("ABORT TASK SET", TMF_ABORT_TASK_SET),
                           ("CLEAR TASK SET", TMF_CLEAR_TASK_SET)):
        rsp = tmf(conn, function, lun=9)
        check("%s of a LUN that does not exist: LUN does not exist" % name,
              rsp == TMF_NO_LUN, "response %d" % rsp)
    check("QUERY TASK SET with nothing in progress: function complete",
          tmf(conn, TMF_QUERY_TASK_SET) == TMF_COMPLETE)
    check("no unit attention from functions that did nothing",
          tur(conn)[0] == 0)
    conn.close()


def t_abort_in_store():
    """Commands inside the store when ABORT TASK / ABORT TASK SET come:
    aborted (function complete) and never answered, before or after."""
    conn = session()
    conn.cork()
    sync = conn.scsi(SYNC_CACHE)
    sync_sn = conn.cmdsn
    conn.cmdsn += 1
    abort = conn.tmf(TMF_ABORT_TASK, rtt=sync, refcmdsn=sync_sn)
    conn.uncork()
    rsp = conn.tmf_response(abort)
    check("ABORT TASK of a SYNCHRONIZE CACHE inside the store: function "
          "complete", rsp == TMF_COMPLETE, "response %d" % rsp)
    check("the aborted SYNCHRONIZE CACHE never answers",
          not answers_for(conn, sync))
    conn.cork()
    reads = []
    for i in range(8):
        reads.append(conn.scsi(read10(i * 128, 128), read=65536))
        conn.cmdsn += 1
    abort = conn.tmf(TMF_ABORT_TASK_SET)
    conn.uncork()
    rsp = conn.tmf_response(abort)
    early = [h for h, _ in conn.pending if u32(h, 16) in reads]
    check("ABORT TASK SET with 8 READs in the store: function complete",
          rsp == TMF_COMPLETE, "response %d" % rsp)
    late = [i for i in reads if answers_for(conn, i, 0.2)]
    check("no aborted READ answers after the TMF response", not late,
          "%d answered late" % len(late))
    check("no aborted READ answered before it either", not early)
    check("the connection goes on", tur(conn)[0] == 0)
    conn.close()


def t_abort_task_set_is_per_session():
    a, b = session("a"), session("b")
    itt_a, _, _ = waiting_write(a)
    itt_b, _, ttt_b = waiting_write(b)
    check("ABORT TASK SET: function complete",
          tmf(a, TMF_ABORT_TASK_SET) == TMF_COMPLETE)
    b.burst(itt_b, ttt_b, 0, b"\x5a" * 4096)
    status, _, _ = b.response(itt_b)
    check("the other session's write goes on to GOOD", status == 0,
          "status %r" % status)
    check("the requester's write never answers",
          not answers_for(a, itt_a))
    check("no unit attention for the requester", tur(a)[0] == 0)
    check("no unit attention for the other session", tur(b)[0] == 0)
    a.close()
    b.close()


def t_clear_task_set():
    a, b = session("a"), session("b")
    itt_a, _, _ = waiting_write(a)
    check("CLEAR TASK SET from another initiator: function complete",
          tmf(b, TMF_CLEAR_TASK_SET) == TMF_COMPLETE)
    check("the cleared write never answers", not answers_for(a, itt_a))
    status, sense = tur(a)
    check("its initiator gets COMMANDS CLEARED BY ANOTHER INITIATOR",
          status == 2 and sense == UA_COMMANDS_CLEARED,
          "status %r sense %r" % (status, sense))
    check("the requester gets no unit attention", tur(b)[0] == 0)
    a.close()
    b.close()


def t_lu_reset():
    a, b = session("a", (1, 2)), session("b", (1,))
    itt_a, _, _ = waiting_write(a)
    check("LOGICAL UNIT RESET: function complete",
          tmf(a, TMF_LU_RESET) == TMF_COMPLETE)
    check("the write in progress never answers", not answers_for(a, itt_a))
    for name, conn in (("requester", a), ("other initiator", b)):
        status, sense = tur(conn)
        check("%s gets BUS DEVICE RESET FUNCTION OCCURRED" % name,
              status == 2 and sense == UA_BUS_DEVICE_RESET,
              "status %r sense %r" % (status, sense))
    check("the other LUN is not reset", tur(a, 2)[0] == 0)
    a.close()
    b.close()


def t_warm_reset():
    a, b = session("a", (1, 2)), session("b", (1, 2))
    check("TARGET WARM RESET: function complete",
          tmf(a, TMF_TARGET_WARM_RESET, lun=0) == TMF_COMPLETE)
    for name, conn in (("requester", a), ("other initiator", b)):
        for lun in (1, 2):
            status, sense = tur(conn, lun)
            check("%s gets BUS DEVICE RESET on LUN %d" % (name, lun),
                  status == 2 and sense == UA_BUS_DEVICE_RESET,
                  "status %r sense %r" % (status, sense))
    check("sessions go on after a warm reset",
          tur(a)[0] == 0 and tur(b)[0] == 0)
    a.close()
    b.close()


def t_cold_reset():
    a, b = session("a"), session("b")
    check("TARGET COLD RESET: function complete",
          tmf(a, TMF_TARGET_COLD_RESET, lun=0) == TMF_COMPLETE)
    check("the requester's connection closes after the response",
          a.closed())
    check("every other connection closes too (RFC 7143 §11.6.1)",
          b.closed())
    a.close()
    b.close()
    check("a new session logs in after the cold reset",
          session("c") is not None)


check.run([t_abort_waiting_write, t_abort_absent_tasks,
           t_unsupported_and_bad_lun, t_abort_in_store,
           t_abort_task_set_is_per_session, t_clear_task_set, t_lu_reset,
           t_warm_reset, t_cold_reset])
