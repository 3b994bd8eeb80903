#!/usr/bin/env python3
"""Derives fuzz seeds from recorded traffic (see make-seeds.sh).

  seeds.py cdb STREAMDIR OUTDIR   SCSI Command PDUs of recorded initiator
                                  streams -> fuzz_cdb inputs
  seeds.py mgmt SOCKET OUTDIR     serves tgt's management socket at SOCKET
                                  and stores each request tgtadm sends as a
                                  fuzz_mgmt input (replies "success", empty)
"""
import glob
import hashlib
import os
import socket
import struct
import sys

BHS = 48
CDB_DATA_MAX = 4096  # data-out kept per CDB seed: enough to parse
SCSI_CMD = 0x01
LOGIN_REQ = 0x03
REQ_HDR = 120


def save(outdir, blob):
    os.makedirs(outdir, exist_ok=True)
    name = hashlib.sha1(blob).hexdigest()
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(blob)


def offered_digests(text):
    """Header and data digest flags after login: the target enables CRC32C
    whenever the initiator offers it (fuzz_pdu's FUZZ_TARGET allows it)."""
    keys = dict(kv.split(b"=", 1) for kv in text.split(b"\0") if b"=" in kv)
    return (b"CRC32C" in keys.get(b"HeaderDigest", b""),
            b"CRC32C" in keys.get(b"DataDigest", b""))


def pdus(stream):
    """Yields (bhs, data) of each PDU. Login PDUs carry no digests; the
    ones after them do if the login offered them."""
    off = 0
    hdgst = ddgst = False
    login_text = b""
    while off + BHS <= len(stream):
        bhs = stream[off:off + BHS]
        login = bhs[0] & 0x3f == LOGIN_REQ
        ahs = bhs[4] * 4
        dlen = int.from_bytes(bhs[5:8], "big")
        start = off + BHS + ahs + (4 if hdgst and not login else 0)
        data = stream[start:start + dlen]
        yield bhs, data
        off = start + dlen + (-dlen % 4)
        if login:
            login_text += data
            hdgst, ddgst = offered_digests(login_text)
        elif dlen and ddgst:
            off += 4


def cdb_seed(bhs, data):
    """fuzz_cdb layout: ctl, expected length (16 bit), CDB[16], data-out."""
    flags = bhs[1]
    lun = bhs[9] & 0x03
    edtl = int.from_bytes(bhs[20:24], "big")
    direction = 1 if flags & 0x20 else 2 if flags & 0x40 else 0
    ctl = lun | direction << 3
    return (bytes([ctl]) + min(edtl, 0xffff).to_bytes(2, "big") +
            bhs[32:48] + (data[:CDB_DATA_MAX] if direction == 1 else b""))


def cdbs(streamdir, outdir):
    for path in sorted(glob.glob(os.path.join(streamdir, "*.bin"))):
        with open(path, "rb") as f:
            stream = f.read()
        for bhs, data in pdus(stream):
            if bhs[0] & 0x3f == SCSI_CMD:
                save(outdir, cdb_seed(bhs, data))


def mgmt(path, outdir):
    srv = socket.socket(socket.AF_UNIX)
    if os.path.exists(path):
        os.unlink(path)
    srv.bind(path)
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        stream = conn.makefile("rb")
        hdr = stream.read(REQ_HDR)
        if len(hdr) == REQ_HDR:
            total = struct.unpack_from("=I", hdr, 72)[0]
            save(outdir, hdr + stream.read(max(total - REQ_HDR, 0)))
            conn.sendall(struct.pack("=II", 0, 8))
        stream.close()
        conn.close()


if __name__ == "__main__":
    {"cdb": cdbs, "mgmt": mgmt}[sys.argv[1]](sys.argv[2], sys.argv[3])
