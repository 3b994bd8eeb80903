#!/usr/bin/env python3
"""Sends malformed and hostile iSCSI PDUs to a running tgtd and checks that
each gets the answer RFC 7143 / SPC-4 ask for: a login status, a Reject, a
CHECK CONDITION with the right sense, or the end of that one connection.

usage: hostile_pdus.py HOST PORT TARGET_IQN LUN_FILE LUN_BLOCKS CHAP_IQN
CHAP_IQN is a second target that has an incoming CHAP account bound.
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import socket
import struct
import sys

HOST, PORT, IQN, LUN_FILE, BLOCKS, CHAP_IQN = (
    sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4],
    int(sys.argv[5]), sys.argv[6])
INITIATOR = "iqn.2026-01.org.mtgt:hostile"
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def bhs(opcode, flags=0, dlen=0, ahs_words=0, lun=b"\0" * 8, itt=0,
        rest=b""):
    hdr = struct.pack(">BBH", opcode, flags, 0)
    hdr += struct.pack(">B", ahs_words) + struct.pack(">I", dlen)[1:]
    hdr += lun + struct.pack(">I", itt) + rest
    return hdr.ljust(48, b"\0")


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def recv_pdu(s):
    hdr = recv_exact(s, 48)
    if hdr is None:
        return None, None
    dlen = struct.unpack(">I", b"\0" + hdr[5:8])[0]
    data = recv_exact(s, dlen + (-dlen % 4)) if dlen else b""
    return hdr, (data or b"")[:dlen]


def closed(s):
    """True if the peer closes the connection (EOF or reset) in time."""
    s.settimeout(5)
    try:
        while True:
            if not s.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def connect():
    s = socket.create_connection((HOST, PORT), timeout=5)
    return s


def login_pdu(keys, isid=b"\x80\x00\x00\x00\x00\x01", version_min=0,
              flags=0x87, cmdsn=1):
    text = pad4("".join(k + "\0" for k in keys).encode())
    raw = "".join(k + "\0" for k in keys).encode()
    hdr = bytearray(bhs(0x43, flags, len(raw), itt=1))
    hdr[2] = 0  # version max
    hdr[3] = version_min
    hdr[8:14] = isid
    hdr[20:22] = b"\0\0"  # CID
    hdr[24:28] = struct.pack(">I", cmdsn)
    return bytes(hdr) + text


def login(s, target=IQN, session="Normal", extra=()):
    keys = ["InitiatorName=" + INITIATOR, "SessionType=" + session,
            "HeaderDigest=None", "DataDigest=None",
            "MaxRecvDataSegmentLength=65536", "ImmediateData=Yes",
            "InitialR2T=Yes", "FirstBurstLength=65536",
            "MaxBurstLength=262144"]
    if target:
        keys.insert(1, "TargetName=" + target)
    s.sendall(login_pdu(keys + list(extra)))
    hdr, data = recv_pdu(s)
    if hdr is None:
        return None, None
    return (hdr[36] << 8) | hdr[37], hdr


def session(cmdsn=1):
    s = connect()
    status, hdr = login(s)
    assert status == 0, "login failed with 0x%04x" % status
    return s, struct.unpack(">I", hdr[28:32])[0]  # ExpCmdSN


def scsi_cmd(cdb, itt, cmdsn, read=0, write=0, data=b"", final=True):
    flags = (0x80 if final else 0) | (0x40 if read else 0) | \
        (0x20 if write else 0) | 1
    edtl = read or write
    rest = struct.pack(">III", edtl, cmdsn, 0) + cdb.ljust(16, b"\0")
    lun = struct.pack(">H", 1) + b"\0" * 6
    return bhs(0x01, flags, len(data), lun=lun, itt=itt, rest=rest) + \
        pad4(data)


def read_response(s, itt):
    """Skips Data-In; returns (status, sense bytes) of the command."""
    while True:
        hdr, data = recv_pdu(s)
        if hdr is None:
            return None, None
        op = hdr[0] & 0x3f
        if op == 0x25 and hdr[1] & 0x01:
            return hdr[3], b""
        if op == 0x21 and struct.unpack(">I", hdr[16:20])[0] == itt:
            sense = data[2:2 + struct.unpack(">H", data[:2])[0]] \
                if len(data) >= 2 else b""
            return hdr[3], sense
        if op == 0x3f:
            return "reject", hdr


def clear_unit_attention(s, cmdsn):
    """TEST UNIT READY until GOOD: the first command of a session may see
    POWER ON RESET."""
    for i in range(4):
        s.sendall(scsi_cmd(b"\x00", 100 + i, cmdsn))
        cmdsn += 1
        status, _ = read_response(s, 100 + i)
        if status == 0:
            break
    return cmdsn


def t_garbage_before_login():
    s = connect()
    s.sendall(b"\x3e" + b"\xff" * 47)
    check("garbage PDU before login closes the connection", closed(s))


def t_login_statuses():
    s = connect()
    s.sendall(login_pdu(["InitiatorName=" + INITIATOR,
                         "TargetName=" + IQN, "SessionType=Normal"],
                        version_min=5))
    hdr, _ = recv_pdu(s)
    check("unsupported version -> login status 0x0205",
          hdr is not None and hdr[36:38] == b"\x02\x05", repr(hdr))
    s = connect()
    status, _ = login(s, target="iqn.2026-01.org.mtgt:no-such-target")
    check("unknown target -> login status 0x0203", status == 0x0203,
          "got %r" % status)
    check("refused login closes the connection", closed(s))
    s = connect()
    s.sendall(login_pdu(["TargetName=" + IQN, "SessionType=Normal"]))
    hdr, _ = recv_pdu(s)
    check("missing InitiatorName -> login status 0x0207",
          hdr is not None and hdr[36:38] == b"\x02\x07", repr(hdr))
    s = connect()
    s.sendall(login_pdu(["InitiatorName=" + INITIATOR,
                         "TargetName=" + IQN, "AuthMethod=CHAP"],
                        flags=0x81))
    hdr, _ = recv_pdu(s)
    check("AuthMethod without None -> authentication failure 0x0201",
          hdr is not None and hdr[36:38] == b"\x02\x01", repr(hdr))
    s = connect()
    big = bytearray(bhs(0x43, 0x87, 100000, itt=1))
    s.sendall(bytes(big))
    check("oversized login text closes the connection", closed(s))


def t_unknown_opcode_rejected():
    s, _ = session()
    s.sendall(bhs(0x1c, 0x80, itt=7))
    hdr, data = recv_pdu(s)
    check("unknown opcode -> Reject (command not supported)",
          hdr is not None and hdr[0] & 0x3f == 0x3f and hdr[2] == 0x05
          and data[:1] == b"\x1c", repr(hdr))
    # The connection survives: a NOP-Out ping is answered.
    nop = bytearray(bhs(0x40, 0x80, 4, itt=8))
    nop[20:24] = b"\xff\xff\xff\xff"
    s.sendall(bytes(nop) + b"ping")
    hdr, data = recv_pdu(s)
    check("connection still answers NOP-Out after a Reject",
          hdr is not None and hdr[0] & 0x3f == 0x20 and data == b"ping",
          repr(hdr))


def t_data_out_unknown_task():
    s, _ = session()
    rest = struct.pack(">III", 0xffffffff, 0, 0) + b"\0" * 8 + \
        struct.pack(">II", 0, 0)
    s.sendall(bhs(0x05, 0x80, 512, itt=0x1234, rest=rest) + b"x" * 512)
    check("Data-Out for an unknown task closes the connection", closed(s))


def t_huge_segment():
    s, _ = session()
    s.sendall(bhs(0x04, 0x80, 0xffffff, itt=3))
    check("data segment beyond MaxRecvDataSegmentLength closes",
          closed(s))
    s, cmdsn = session()
    cmdsn = clear_unit_attention(s, cmdsn)
    # An AHS (e.g. an extended CDB) is not supported: CHECK CONDITION.
    hdr = bytearray(scsi_cmd(b"\x00", 21, cmdsn))
    hdr[4] = 2
    s.sendall(bytes(hdr) + b"\0" * 8)
    status, sense = read_response(s, 21)
    check("command with an AHS -> CHECK CONDITION, INVALID FIELD IN CDB",
          status == 2 and len(sense) > 13 and sense[12] == 0x24,
          "status %r sense %r" % (status, sense))


def t_scsi_errors():
    s, cmdsn = session()
    cmdsn = clear_unit_attention(s, cmdsn)
    s.sendall(scsi_cmd(b"\xc7", 11, cmdsn))
    cmdsn += 1
    status, sense = read_response(s, 11)
    check("unknown CDB opcode -> CHECK CONDITION, INVALID COMMAND "
          "OPERATION CODE", status == 2 and len(sense) > 13 and
          sense[2] & 0x0f == 5 and sense[12] == 0x20,
          "status %r sense %r" % (status, sense))
    with open(LUN_FILE, "rb") as f:
        before = f.read()
    lba = BLOCKS - 1  # a 2-block write starting at the last block
    cdb = b"\x2a\x00" + struct.pack(">I", lba) + b"\x00\x00\x02\x00"
    s.sendall(scsi_cmd(cdb, 12, cmdsn, write=1024, data=b"\xaa" * 1024))
    cmdsn += 1
    status, sense = read_response(s, 12)
    check("WRITE(10) past the end -> LBA OUT OF RANGE",
          status == 2 and len(sense) > 13 and sense[2] & 0x0f == 5 and
          sense[12] == 0x21, "status %r sense %r" % (status, sense))
    with open(LUN_FILE, "rb") as f:
        check("rejected write left the backing file untouched",
              f.read() == before)
    # READ(10) with NACA set in the control byte: ACA is not supported,
    # so INVALID FIELD IN CDB (SAM-5 5.9).
    s.sendall(scsi_cmd(b"\x28\x00\x00\x00\x00\x00\x00\x00\x01\x04",
                       13, cmdsn, read=512))
    cmdsn += 1
    status, sense = read_response(s, 13)
    check("READ(10) with NACA=1 -> CHECK CONDITION, INVALID FIELD IN CDB",
          status == 2 and len(sense) > 13 and sense[2] & 0x0f == 5 and
          sense[12] == 0x24,
          "status %r sense %r" % (status, sense))


def t_cmdsn_order_non_scsi():
    """A non-immediate NOP-Out that arrives ahead of its CmdSN turn must
    not leave a hole that stalls every later command."""
    s, cmdsn = session()
    cmdsn = clear_unit_attention(s, cmdsn)
    nop = bytearray(bhs(0x00, 0x80, 0, itt=30))
    nop[20:24] = b"\xff\xff\xff\xff"
    nop[24:28] = struct.pack(">I", cmdsn + 1)
    s.sendall(bytes(nop))
    hdr, _ = recv_pdu(s)
    check("early non-immediate NOP-Out is answered",
          hdr is not None and hdr[0] & 0x3f == 0x20, repr(hdr))
    s.sendall(scsi_cmd(b"\x00", 31, cmdsn))
    status, _ = read_response(s, 31)
    s.sendall(scsi_cmd(b"\x00", 32, cmdsn + 2))
    status2, _ = read_response(s, 32)
    check("commands on both sides of the NOP's CmdSN complete",
          status == 0 and status2 == 0, "%r %r" % (status, status2))


def send_targets(s, cmdsn, itt):
    text = pad4(b"SendTargets=All\0")
    rest = struct.pack(">III", 0xffffffff, cmdsn, 0)
    s.sendall(bhs(0x04, 0x80, 16, itt=itt, rest=rest) + text)
    return recv_pdu(s)


def t_discovery():
    s = connect()
    status, hdr = login(s, target=None, session="Discovery")
    check("discovery login succeeds", status == 0, "status %r" % status)
    cmdsn = struct.unpack(">I", hdr[28:32])[0]
    hdr, data = send_targets(s, cmdsn, 9)
    check("SendTargets=All lists the target",
          hdr is not None and ("TargetName=" + IQN).encode() in data,
          repr(data))
    # A discovery session has no LUs: a SCSI command (REPORT LUNS, with
    # immediate data too) or a TMF is a protocol error there, answered
    # with a Reject, and the session goes on.
    cmdsn += 1
    report_luns = b"\xa0" + b"\0" * 5 + struct.pack(">I", 256)
    tmf_rest = struct.pack(">IIII", 0xffffffff, cmdsn, 0, 0)
    for name, pdu in (
            ("REPORT LUNS", scsi_cmd(report_luns, 10, cmdsn, read=256)),
            ("WRITE(10) with immediate data",
             scsi_cmd(b"\x2a" + b"\0" * 7 + b"\x01\0", 11, cmdsn,
                      write=512, data=b"\xee" * 512)),
            ("LOGICAL UNIT RESET", bhs(0x42, 0x85, itt=12, rest=tmf_rest))):
        s.sendall(pdu)
        hdr, data = recv_pdu(s)
        check("%s in a discovery session -> Reject (protocol error)" % name,
              hdr is not None and hdr[0] & 0x3f == 0x3f and
              hdr[2] == 0x04 and data[:1] == pdu[:1], repr(hdr))
    hdr, data = send_targets(s, cmdsn, 13)
    check("the discovery session still answers SendTargets",
          hdr is not None and ("TargetName=" + IQN).encode() in data,
          repr(data))


def t_refused_login_pipelined():
    """A login refused during CHAP, with another Login PDU already sent
    behind it: the second is not looked at (it once read the freed text
    of the first), and the connection ends after the refusal."""
    s = connect()
    first = login_pdu(["InitiatorName=" + INITIATOR,
                       "TargetName=" + CHAP_IQN, "SessionType=Normal",
                       "AuthMethod=CHAP", "CHAP_A=5", "KeyWithoutValue"],
                      flags=0x01)
    second = login_pdu(["CHAP_N=x", "CHAP_R=0x00"], flags=0x01)
    s.sendall(first + second)
    hdr, _ = recv_pdu(s)
    status = None if hdr is None else (hdr[36] << 8) | hdr[37]
    check("key without a value in a CHAP login -> initiator error 0x0200",
          status == 0x0200, "status %r" % status)
    check("the pipelined Login PDU gets no answer, the connection ends",
          closed(s))


for t in (t_garbage_before_login, t_login_statuses, t_unknown_opcode_rejected,
          t_data_out_unknown_task, t_huge_segment, t_scsi_errors,
          t_cmdsn_order_non_scsi, t_discovery, t_refused_login_pipelined):
    try:
        t()
    except Exception as e:  # a broken exchange is a failed check
        check(t.__name__, False, repr(e))

print("%d passed, %d failed" % (results["passed"], results["failed"]))
sys.exit(1 if results["failed"] else 0)
