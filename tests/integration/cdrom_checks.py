#!/usr/bin/env python3
"""The CD/DVD drive (MMC-6) against a running tgtd, set up by
test_cdrom.sh: target IQN with LUN 1 a drive holding IMAGE and LUN 2 an
empty drive. Checks what libiscsi's tools cannot send: the disc's
description (READ TOC, GET CONFIGURATION, GET EVENT STATUS NOTIFICATION,
READ DISC/TRACK INFORMATION, the capabilities mode page), reads against
the image's bytes, refused writes, and eject/load under PREVENT ALLOW
MEDIUM REMOVAL.

usage: cdrom_checks.py HOST PORT IQN IMAGE
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import struct
import sys

from iscsi_raw import Checks, Conn, read10, sense_triplet, u16, u32, \
    write10

HOST, PORT, IQN, IMAGE = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
check = Checks()
with open(IMAGE, "rb") as f:
    DISC = f.read()
BLOCKS = len(DISC) // 2048

TUR = b"\x00" * 6
NOT_PRESENT = (0x2, 0x3a, 0x00)
UNIT_ATTENTION = 0x6


def session():
    conn = Conn(HOST, PORT)
    status = conn.login(IQN)
    assert status == 0, "login failed: 0x%04x" % status
    return conn


def run(conn, cdb, read=0, write=b"", lun=1):
    """(status, sense triplet, data), the unit attentions of a new
    session (power on, LUN inventory) taken out of the way first."""
    for _ in range(8):
        itt = conn.scsi(cdb, read=read, write=len(write), data=write,
                        lun=lun)
        conn.cmdsn += 1
        status, sense, data = conn.response(itt, write)
        triplet = sense_triplet(sense) if sense else None
        if triplet and triplet[0] == UNIT_ATTENTION and cdb[0] != 0x03:
            continue
        return status, triplet, data
    raise RuntimeError("unit attentions do not end")


def good(name, result):
    check(name, result[0] == 0 and result[1] is None,
          "status %r sense %r" % (result[0], result[1]))
    return result[2]


def refused(name, result, want):
    check(name, result[0] == 2 and result[1] == want,
          "status %r sense %r, expected %r" % (result[0], result[1], want))


def cdb10(op, b1=0, b2=0, b6=0, alloc=0, b9=0, b4=0):
    return struct.pack(">BBBBBBBHB", op, b1, b2, 0, b4, 0, b6, alloc, b9)


def test_identity():
    c = session()
    d = good("INQUIRY", run(c, b"\x12\x00\x00\x00\x60\x00", read=96))
    check("peripheral device type 5, removable", d[0] == 5 and d[1] == 0x80,
          d[:2].hex())
    check("product VIRTUAL-CDROM", d[16:32] == b"VIRTUAL-CDROM   ",
          repr(d[16:32]))
    d = good("READ CAPACITY(10)", run(c, b"\x25" + b"\0" * 9, read=8))
    check("last LBA and 2048-byte blocks",
          u32(d, 0) == BLOCKS - 1 and u32(d, 4) == 2048, d.hex())
    refused("READ CAPACITY(16) is a disk's",
            run(c, b"\x9e\x10" + b"\0" * 11 + b"\x20\0\0", read=32),
            (0x5, 0x20, 0x00))
    c.logout()


def test_reads():
    c = session()
    d = good("READ(10) of 3 blocks", run(c, read10(5, 3), read=3 * 2048))
    check("READ(10) data is the image's", d == DISC[5 * 2048:8 * 2048])
    cdb = struct.pack(">BBIIBB", 0xa8, 0, BLOCKS - 2, 2, 0, 0)
    d = good("READ(12) of the last 2 blocks", run(c, cdb, read=2 * 2048))
    check("READ(12) data is the image's", d == DISC[-2 * 2048:])
    refused("READ(10) past the end", run(c, read10(BLOCKS - 1, 2),
                                         read=2 * 2048), (0x5, 0x21, 0x00))
    refused("WRITE(10) refused", run(c, write10(0, 1), write=b"\xa5" * 2048),
            (0x5, 0x30, 0x05))
    refused("unknown opcode", run(c, b"\xd5" + b"\0" * 5),
            (0x5, 0x20, 0x00))
    c.logout()


def test_toc():
    c = session()
    d = good("READ TOC format 0", run(c, cdb10(0x43, alloc=804), read=804))
    check("one data track and the lead-out",
          len(d) == 20 and u16(d, 0) == 18 and d[2:4] == b"\x01\x01" and
          d[5:7] == b"\x14\x01" and u32(d, 8) == 0 and
          d[13:15] == b"\x14\xaa" and u32(d, 16) == BLOCKS, d.hex())
    d = good("READ TOC format 0, MSF",
             run(c, cdb10(0x43, b1=0x02, alloc=804), read=804))
    frames = BLOCKS + 150
    check("MSF addresses",
          u32(d, 8) == 0x200 and
          tuple(d[17:20]) == (frames // 4500, frames // 75 % 60,
                              frames % 75), d.hex())
    d = good("READ TOC format 1", run(c, cdb10(0x43, b2=1, alloc=12),
                                      read=12))
    check("one session", u16(d, 0) == 10 and d[2:4] == b"\x01\x01" and
          d[6] == 1, d.hex())
    refused("READ TOC format 2 (raw)",
            run(c, cdb10(0x43, b2=2, alloc=804), read=804),
            (0x5, 0x24, 0x00))
    c.logout()


def test_description():
    c = session()
    d = good("GET CONFIGURATION", run(c, cdb10(0x46, alloc=1024),
                                      read=1024))
    check("current profile DVD-ROM", u16(d, 6) == 0x10, d[:8].hex())
    check("profile list first", u16(d, 8) == 0 and u16(d, 12) == 0x10 and
          d[14] & 1, d[8:20].hex())
    d = good("GET EVENT STATUS NOTIFICATION",
             run(c, cdb10(0x4a, b1=1, b4=0x10, alloc=8), read=8))
    check("media class, disc present", d[2] == 4 and d[5] == 2, d.hex())
    d = good("READ DISC INFORMATION", run(c, cdb10(0x51, alloc=34),
                                          read=34))
    check("finalized disc, one session", d[2] == 0x0e and d[4] == 1,
          d.hex())
    cdb = struct.pack(">BBIBHB", 0x52, 1, 1, 0, 48, 0)
    d = good("READ TRACK INFORMATION", run(c, cdb, read=48))
    check("track 1 spans the disc", d[2] == 1 and u32(d, 24) == BLOCKS,
          d.hex())
    d = good("MODE SENSE(10) page 2Ah",
             run(c, cdb10(0x5a, b1=0x08, b2=0x2a, alloc=64), read=64))
    check("capabilities page: reads DVD-ROM, tray that ejects",
          d[8] == 0x2a and d[10] & 0x08 and d[14] & 0x29 == 0x29, d.hex())
    good("SET CD SPEED", run(c, b"\xbb\x00\xff\xff\xff\xff" + b"\0" * 6))
    d = good("GET PERFORMANCE",
             run(c, b"\xac" + b"\0" * 8 + b"\x01\x00\x00", read=24))
    check("read performance over the disc",
          len(d) == 24 and u32(d, 8) == 0 and u32(d, 16) == BLOCKS - 1,
          d.hex())
    d = good("MECHANISM STATUS",
             run(c, b"\xbd" + b"\0" * 7 + b"\x00\x08\x00\x00", read=8))
    check("door closed", len(d) == 8 and d[1] == 0, d.hex())
    c.logout()


def test_eject_load():
    c = session()
    other = session()
    good("TUR (other session)", run(other, TUR))
    good("PREVENT", run(c, b"\x1e\x00\x00\x00\x01\x00"))
    refused("eject prevented", run(c, b"\x1b\x00\x00\x00\x02\x00"),
            (0x5, 0x53, 0x02))
    good("TUR: still in", run(c, TUR))
    good("ALLOW", run(c, b"\x1e\x00\x00\x00\x00\x00"))
    good("eject", run(c, b"\x1b\x00\x00\x00\x02\x00"))
    refused("TUR after eject", run(c, TUR), NOT_PRESENT)
    refused("READ(10) after eject", run(c, read10(0, 1), read=2048),
            NOT_PRESENT)
    d = good("GESN after eject",
             run(c, cdb10(0x4a, b1=1, b4=0x10, alloc=8), read=8))
    check("media removal event, tray open", d[4] == 3 and d[5] == 1,
          d.hex())
    good("load", run(c, b"\x1b\x00\x00\x00\x03\x00"))
    good("TUR after load", run(c, TUR))
    itt = other.scsi(TUR)
    other.cmdsn += 1
    _, sense, _ = other.response(itt)
    check("the other session is told the medium may have changed",
          sense_triplet(sense) == (0x6, 0x28, 0x00), repr(sense))
    d = good("READ(10) after load", run(c, read10(0, 1), read=2048))
    check("the same disc", d == DISC[:2048])
    other.logout()
    c.logout()


def test_empty_drive():
    c = session()
    refused("empty drive: TUR", run(c, TUR, lun=2), NOT_PRESENT)
    refused("empty drive: READ CAPACITY",
            run(c, b"\x25" + b"\0" * 9, read=8, lun=2), NOT_PRESENT)
    d = good("empty drive: GET CONFIGURATION",
             run(c, cdb10(0x46, alloc=1024), read=1024, lun=2))
    check("no current profile", u16(d, 6) == 0, d[:8].hex())
    refused("empty drive: nothing to load",
            run(c, b"\x1b\x00\x00\x00\x03\x00", lun=2), NOT_PRESENT)
    c.logout()


check.run([test_identity, test_reads, test_toc, test_description,
           test_eject_load, test_empty_drive])
