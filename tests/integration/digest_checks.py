#!/usr/bin/env python3
"""CRC32C digests against a running tgtd, set up by test_digests.sh:
IQN1 has HeaderDigest and DataDigest CRC32C enabled, IQN2 has neither.
Data written and read back with both digests on (every PDU the target
sends has its digests checked here), and corrupted digests: a bad header
digest ends the connection, a bad data digest gets a Reject and changes
nothing on the LUN (RFC 7143 §7.8).

usage: digest_checks.py HOST PORT IQN1 IQN2 LUN1_FILE
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import os
import struct
import sys

from iscsi_raw import Checks, Conn

HOST, PORT, IQN1, IQN2, LUN_FILE = sys.argv[1], int(sys.argv[2]), \
    sys.argv[3], sys.argv[4], sys.argv[5]
check = Checks()



def write10(lba, blocks):
    return b"\x2a\x00" + struct.pack(">IxH", lba, blocks) + b"\x00"


def read10(lba, blocks):
    return b"\x28\x00" + struct.pack(">IxH", lba, blocks) + b"\x00"


def on_disk(lba, length):
    with open(LUN_FILE, "rb") as f:
        f.seek(lba * 512)
        return f.read(length)


def session(target=IQN1, digests=True):
    conn = Conn(HOST, PORT)
    status = conn.login(target, digests=digests)
    assert status == 0, "login failed: 0x%04x" % status
    assert conn.ready(), "TEST UNIT READY keeps failing"
    return conn


def t_negotiation():
    conn = session()
    check("both digests agreed on CRC32C",
          conn.header_digest and conn.data_digest, repr(conn.answers))
    conn.close()
    conn = session(digests=False)
    check("None still agreed where CRC32C is enabled",
          not conn.header_digest and not conn.data_digest,
          repr(conn.answers))
    conn.close()
    conn = Conn(HOST, PORT)
    conn.login(IQN1, extra=[("HeaderDigest", "None,CRC32C")])
    check("libiscsi's offer None,CRC32C gets CRC32C",
          conn.answers.get("HeaderDigest") == "CRC32C", repr(conn.answers))
    conn.close()
    conn = Conn(HOST, PORT)
    conn.login(IQN2, extra=[("HeaderDigest", "None,CRC32C")])
    check("and None where CRC32C is not enabled",
          conn.answers.get("HeaderDigest") == "None", repr(conn.answers))
    conn.close()
    conn = session(IQN2)
    check("target without CRC32C rejects a CRC32C-only offer",
          conn.answers.get("HeaderDigest") == "Reject" and
          conn.answers.get("DataDigest") == "Reject", repr(conn.answers))
    conn.close()


def t_data_integrity():
    conn = session()
    small = os.urandom(4096)
    status = conn.command(write10(8, 8), write=small)[0]
    check("4 KiB write with immediate data", status == 0, repr(status))
    big = os.urandom(200 * 1024)  # immediate data, then R2Ts, many PDUs
    status = conn.command(write10(64, 400), write=big)[0]
    check("200 KiB write (immediate, R2T, Data-Out)", status == 0,
          repr(status))
    status, _, got = conn.command(read10(64, 400), read=len(big))
    check("200 KiB read back with digests equals what was written",
          status == 0 and got == big, "status %r, %d bytes" %
          (status, len(got)))
    status, _, got = conn.command(read10(8, 8), read=4096)
    check("4 KiB read back", status == 0 and got == small, repr(status))
    check("the LUN file holds the data", on_disk(8, 4096) == small and
          on_disk(64, len(big)) == big)
    itt = conn.nop(b"ping with a data digest")
    hdr, data = conn.recv()
    check("NOP-Out ping echoed with digests", hdr[0] & 0x3f == 0x20 and
          data == b"ping with a data digest", repr(hdr))
    conn.close()


def expect_reject(conn, name):
    hdr, data = conn.recv()
    ok = hdr[0] & 0x3f == 0x3f and hdr[2] == 0x02
    check(name + " -> Reject (data digest error)", ok, repr(hdr))
    return data


def t_bad_data_digest():
    conn = session()
    before = on_disk(200, 4096)
    conn.nop(b"ping", corrupt_data=True)
    expect_reject(conn, "NOP-Out with a bad data digest")
    conn.nop(b"pong")
    hdr, data = conn.recv()
    check("connection still works after the Reject", data == b"pong",
          repr(hdr))

    # Immediate data: the whole command is dropped, its CmdSN unused, so
    # the initiator can send it again (RFC 7143 §7.2.1 "retry").
    data = os.urandom(4096)
    conn.scsi(write10(200, 8), write=4096, data=data, corrupt_data=True)
    rejected = expect_reject(conn, "WRITE with bad immediate data")
    check("the Reject carries the command's header",
          rejected[:1] == b"\x01", repr(rejected[:8]))
    check("rejected write left the LUN untouched",
          on_disk(200, 4096) == before)
    status = conn.command(write10(200, 8), write=data)[0]
    check("the same command again, same CmdSN, succeeds", status == 0,
          repr(status))
    check("and writes its data", on_disk(200, 4096) == data)

    # Data-Out: the transfer runs to its end, then the command ends in
    # CHECK CONDITION, ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR.
    before = on_disk(300, 16384)
    data = os.urandom(16384)
    itt = conn.scsi(write10(300, 32), write=16384)
    conn.cmdsn += 1
    hdr, _ = conn.recv()
    check("WRITE without immediate data gets an R2T",
          hdr[0] & 0x3f == 0x31, repr(hdr))
    ttt = struct.unpack(">I", hdr[20:24])[0]
    conn.burst(itt, ttt, 0, data, corrupt_pdu=1)
    expect_reject(conn, "Data-Out with a bad data digest")
    status, sense, _ = conn.response(itt, data)
    check("the WRITE ends with CHECK CONDITION, ABORTED COMMAND, "
          "PROTOCOL SERVICE CRC ERROR (47h/05h)",
          status == 2 and len(sense) > 13 and sense[2] & 0x0f == 0x0b and
          sense[12:14] == b"\x47\x05", "status %r sense %r" %
          (status, sense.hex()))
    check("the LUN is untouched by the failed WRITE",
          on_disk(300, 16384) == before)
    check("the session goes on", conn.ready())
    conn.close()


def t_bad_header_digest():
    conn = session()
    before = on_disk(400, 4096)
    rest = struct.pack(">III", 4096, conn.cmdsn, conn.exp_statsn) + \
        write10(400, 8).ljust(16, b"\0")
    hdr = bytes([0x01, 0xa1, 0, 0, 0, 0, 0x10, 0]) + \
        struct.pack(">H", 1) + b"\0" * 6 + struct.pack(">I", 99) + rest
    conn.send(hdr, os.urandom(4096), corrupt_header=True)
    check("bad header digest closes the connection", conn.closed())
    check("and the command was not executed",
          on_disk(400, 4096) == before)


check.run((t_negotiation, t_data_integrity, t_bad_data_digest,
          t_bad_header_digest))
