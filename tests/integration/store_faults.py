"""Backing-store failures seen from an initiator, for test_faults.sh.

    store_faults.py HOST PORT IQN LUN enospc LUN_BYTES
        The LUN's file lives on a file system smaller than the LUN: write
        it 1 MiB at a time until a write fails; the failure must be CHECK
        CONDITION, DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT
        (27h/07h, SBC-3 4.7.3.6). Then every MiB written before reads back
        intact and a MiB never written reads as zeros.
    store_faults.py HOST PORT IQN LUN eio BAD_START BAD_END
        Bytes [BAD_START, BAD_END) of the LUN's file fail with EIO: a READ
        there gets MEDIUM ERROR / UNRECOVERED READ ERROR (03h, 11h/00h), a
        WRITE there MEDIUM ERROR / WRITE ERROR (03h, 0Ch/00h); I/O around
        the bad range works and reads back.

One "ok"/"FAIL" line per check, then "N passed, N failed"."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import iscsi_raw  # noqa: E402
from iscsi_raw import read10, sense_triplet, write10  # noqa: E402

BLOCK = 512
MIB = 1 << 20
CHECK_CONDITION = 2


def describe(result):
    status, sense, _ = result
    return "status %r sense %r" % (status, sense_triplet(sense))


def pattern(lba, nbytes):
    head = b"mtgt-fault-%012d-" % lba
    return (head * (nbytes // len(head) + 1))[:nbytes]


def connect(host, port, iqn, lun):
    """A session past LUN's power-on UNIT ATTENTION."""
    conn = iscsi_raw.Conn(host, port, timeout=60)
    if conn.login(iqn) != 0:
        raise RuntimeError("cannot log in to %s" % iqn)
    for _ in range(4):
        itt = conn.scsi(bytes(6), lun=lun)  # TEST UNIT READY
        conn.cmdsn += 1
        if conn.response(itt)[0] == 0:
            return conn
    raise RuntimeError("LUN %d of %s not ready" % (lun, iqn))


def write_mib(conn, lun, mib):
    lba = mib * MIB // BLOCK
    itt = conn.scsi(write10(lba, MIB // BLOCK), write=MIB,
                    data=pattern(lba, MIB)[:conn.max_segment()], lun=lun)
    conn.cmdsn += 1
    return conn.response(itt, pattern(lba, MIB))


def read_blocks(conn, lun, lba, blocks):
    itt = conn.scsi(read10(lba, blocks), read=blocks * BLOCK, lun=lun)
    conn.cmdsn += 1
    return conn.response(itt)


def enospc(check, conn, lun, lun_bytes):
    written = 0
    result = None
    for mib in range(lun_bytes // MIB):
        result = write_mib(conn, lun, mib)
        if result[0] != 0:
            break
        written += 1
    check("writes until the file system is full (%d MiB written)" % written,
          0 < written < lun_bytes // MIB, describe(result))
    check("the write that does not fit: CHECK CONDITION, DATA PROTECT, "
          "SPACE ALLOCATION FAILED WRITE PROTECT (27h/07h)",
          result[0] == CHECK_CONDITION and
          sense_triplet(result[1]) == (0x7, 0x27, 0x07), describe(result))
    again = write_mib(conn, lun, written + 1)
    check("a later write beyond the space gets the same sense",
          sense_triplet(again[1]) == (0x7, 0x27, 0x07), describe(again))
    bad = []
    for mib in range(written):
        lba = mib * MIB // BLOCK
        status, _, data = read_blocks(conn, lun, lba, MIB // BLOCK)
        if status != 0 or data != pattern(lba, MIB):
            bad.append(mib)
    check("every MiB acknowledged before reads back intact (%d MiB)" %
          written, not bad, "bad MiB: %r" % bad[:10])
    last = lun_bytes // BLOCK - 2048
    status, _, data = read_blocks(conn, lun, last, 2048)
    check("a MiB never written reads as zeros", status == 0 and
          data == bytes(MIB), "status %r" % status)


def eio(check, conn, lun, bad_start, bad_end):
    bad_lba = bad_start // BLOCK
    result = read_blocks(conn, lun, bad_lba, 8)
    check("READ of a bad range: CHECK CONDITION, MEDIUM ERROR, "
          "UNRECOVERED READ ERROR (11h/00h)",
          result[0] == CHECK_CONDITION and
          sense_triplet(result[1]) == (0x3, 0x11, 0x00), describe(result))
    check("no data with the read error", result[2] == b"",
          "%d bytes" % len(result[2]))
    data = pattern(bad_lba, 8 * BLOCK)
    itt = conn.scsi(write10(bad_lba, 8), write=len(data), data=data,
                    lun=lun)
    conn.cmdsn += 1
    result = conn.response(itt, data)
    check("WRITE to a bad range: CHECK CONDITION, MEDIUM ERROR, "
          "WRITE ERROR (0Ch/00h)",
          result[0] == CHECK_CONDITION and
          sense_triplet(result[1]) == (0x3, 0x0c, 0x00), describe(result))
    # Good blocks just outside the bad range, on both sides.
    for lba in (bad_start // BLOCK - 8, bad_end // BLOCK):
        data = pattern(lba, 8 * BLOCK)
        itt = conn.scsi(write10(lba, 8), write=len(data), data=data,
                        lun=lun)
        conn.cmdsn += 1
        wrote = conn.response(itt, data)
        got = read_blocks(conn, lun, lba, 8)
        check("LBA %d next to the bad range: write and read back" % lba,
              wrote[0] == 0 and got[0] == 0 and got[2] == data,
              "write %s, read %s" % (describe(wrote), describe(got)))


def main():
    host, port, iqn, lun, mode = sys.argv[1], int(sys.argv[2]), \
        sys.argv[3], int(sys.argv[4]), sys.argv[5]
    check = iscsi_raw.Checks()
    conn = connect(host, port, iqn, lun)

    def run_mode():
        if mode == "enospc":
            enospc(check, conn, lun, int(sys.argv[6]))
        else:
            eio(check, conn, lun, int(sys.argv[6]), int(sys.argv[7]))
    check.run([run_mode])


if __name__ == "__main__":
    main()
