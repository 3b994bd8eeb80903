"""An initiator deaf to Async Messages, for test_fence.sh: it logs in and
writes 8 KiB blocks (byte 'W', immediate data) at random places of a LUN
with QD commands in flight, and goes on writing when the target asks it
to log out (RFC 7143 §11.9, AsyncEvent 1), as an initiator that does not
implement that request would, until its LUN is gone (an answer LOGICAL
UNIT NOT SUPPORTED: it then waits for the commands still out), the
target cuts the connection, or the time is up. So a deleted target
receives commands during its logout grace period.

    deaf_writer.py HOST PORT IQN LUN BLOCKS QD SECONDS

BLOCKS: the LUN's size in 512-byte blocks. Last line: "deaf writer:"
and the count of each answer. Exit status 0 if every answer was GOOD or
ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (05h/25h/00h: the LUN is
gone) or a UNIT ATTENTION; 1 for any other answer; 2 if the login
failed."""
import random
import socket
import struct
import sys
import time

import iscsi_raw as raw

CHUNK = 8192
LUN_NOT_SUPPORTED = (0x05, 0x25, 0x00)


def answer_of(hdr, data):
    """'good', 'lun gone', 'unit attention' (a power-on or LUN inventory
    change report) or a description of another SCSI Response."""
    status = hdr[3]
    if hdr[2] != 0:
        return "response 0x%02x" % hdr[2]
    if status == 0:
        return "good"
    sense = data[2:2 + raw.u16(data, 0)] if len(data) >= 2 else b""
    if status == 2 and len(sense) >= 14 and \
            (sense[2] & 0x0f, sense[12], sense[13]) == LUN_NOT_SUPPORTED:
        return "lun gone"
    if status == 2 and len(sense) >= 3 and sense[2] & 0x0f == 0x06:
        return "unit attention"
    return "status 0x%02x sense %s" % (status, sense[:18].hex())


def write_cdb(lba, blocks):
    return struct.pack(">BBIBHB", 0x2a, 0, lba, 0, blocks, 0)


def main():
    host, port, iqn = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lun, size, qd, secs = (int(a) for a in sys.argv[4:8])
    conn = raw.Conn(host, port)
    status = conn.login(target=iqn)
    if status:
        print("deaf writer: login status 0x%04x" % status)
        return 2
    chunk = min(CHUNK, conn.max_segment(),
                int(conn.answers.get("FirstBurstLength", CHUNK)))
    blocks = chunk // 512
    data = b"W" * chunk
    max_cmdsn = raw.u32(conn.last_login_rsp, 32)
    counts = {}
    inflight = 0
    end = time.monotonic() + secs
    conn.sock.settimeout(1)
    try:
        while time.monotonic() < end:
            gone = "lun gone" in counts
            if gone and not inflight:
                break
            while not gone and inflight < qd and \
                    conn.cmdsn - max_cmdsn <= 0:
                lba = random.randrange(0, size - blocks + 1, blocks)
                conn.scsi(write_cdb(lba, blocks), write=chunk, data=data,
                          lun=lun)
                conn.cmdsn += 1
                inflight += 1
            try:
                hdr, rdata = conn.recv()
            except socket.timeout:
                continue
            op = hdr[0] & 0x3f
            if op == raw.OP_SCSI_RSP:
                inflight -= 1
                max_cmdsn = raw.u32(hdr, 32)
                what = answer_of(hdr, rdata)
                counts[what] = counts.get(what, 0) + 1
            elif op == raw.OP_ASYNC:
                counts["async"] = counts.get("async", 0) + 1
    except (raw.Closed, OSError):
        counts["closed"] = 1
    print("deaf writer: " + ", ".join("%s %d" % kv
                                      for kv in sorted(counts.items())))
    others = [k for k in counts if k not in
              ("good", "lun gone", "unit attention", "async", "closed")]
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main())
