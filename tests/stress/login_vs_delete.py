#!/usr/bin/env python3
"""A login that spans a target's deletion: the first Login PDU (security
stage, naming the target) is answered, then the target is deleted (and, in
"recreate" mode, created again with the same name and a LUN), then the
login continues with the operational stage. The daemon must end the login
(a login status or a closed connection; a session of a target that no
longer exists must not appear) and keep running. With "recreate", a login
that does complete must belong to the new target.

usage: login_vs_delete.py HOST PORT IQN TGTADM CPORT TID MODE [LUN_FILE]
  MODE: delete | recreate
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import socket
import struct
import subprocess
import sys

HOST, PORT, IQN, TGTADM, CPORT, TID, MODE = (
    sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5],
    sys.argv[6], sys.argv[7])
LUN_FILE = sys.argv[8] if len(sys.argv) > 8 else None
INITIATOR = "iqn.2026-01.org.mtgt:login-vs-delete"
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(("ok   - " if ok else "FAIL - ") + name +
          ("" if ok else ": " + detail))


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def recv_pdu(s):
    try:
        hdr = recv_exact(s, 48)
    except (ConnectionResetError, socket.timeout):
        return None, None
    if hdr is None:
        return None, None
    dlen = struct.unpack(">I", b"\0" + hdr[5:8])[0]
    data = recv_exact(s, dlen + (-dlen % 4)) if dlen else b""
    return hdr, (data or b"")[:dlen]


def login_pdu(keys, flags, cmdsn=1, expstatsn=0):
    raw = "".join(k + "\0" for k in keys).encode()
    hdr = bytearray(48)
    hdr[0] = 0x43  # Login Request, immediate
    hdr[1] = flags
    hdr[5:8] = struct.pack(">I", len(raw))[1:]
    hdr[8:14] = b"\x80\x00\x00\x00\x42\x01"  # ISID
    hdr[16:20] = struct.pack(">I", 1)  # ITT
    hdr[24:28] = struct.pack(">I", cmdsn)
    hdr[28:32] = struct.pack(">I", expstatsn)
    return bytes(hdr) + raw + b"\0" * (-len(raw) % 4)


def tgtadm(*args):
    r = subprocess.run([TGTADM, "-C", CPORT] + list(args),
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


s = socket.create_connection((HOST, PORT), timeout=10)
# Security stage, transit to operational (CSG=0, NSG=1, T=1).
s.sendall(login_pdu(["InitiatorName=" + INITIATOR, "TargetName=" + IQN,
                     "SessionType=Normal", "AuthMethod=None"], 0x81))
hdr, data = recv_pdu(s)
ok = hdr is not None and hdr[36] == 0 and hdr[37] == 0
check("first login stage answered with success", ok,
      "no answer" if hdr is None else "status 0x%02x%02x" % (hdr[36], hdr[37]))
if not ok:
    sys.exit(1)
statsn = struct.unpack(">I", hdr[24:28])[0]

rc, out = tgtadm("--op", "delete", "--mode", "target", "--tid", TID)
check("target deleted while a login to it is half done", rc == 0, out)
if MODE == "recreate":
    rc, out = tgtadm("--op", "new", "--mode", "target", "--tid", TID,
                     "-T", IQN)
    check("target created again with the same name", rc == 0, out)
    if LUN_FILE:
        tgtadm("--op", "new", "--mode", "logicalunit", "--tid", TID,
               "--lun", "1", "-b", LUN_FILE)
    tgtadm("--op", "bind", "--mode", "target", "--tid", TID, "-I", "ALL")

# Operational stage, transit to full feature (CSG=1, NSG=3, T=1).
try:
    s.sendall(login_pdu(["HeaderDigest=None", "DataDigest=None",
                         "MaxRecvDataSegmentLength=65536",
                         "ImmediateData=Yes", "InitialR2T=Yes"], 0x87,
                        expstatsn=statsn + 1))
    hdr, data = recv_pdu(s)
except (BrokenPipeError, ConnectionResetError):
    hdr = None
if hdr is None:
    check("login ended by closing the connection", True)
else:
    status = (hdr[36] << 8) | hdr[37]
    print("# second stage answered: status 0x%04x" % status)
    if MODE == "delete":
        check("login to a deleted target refused", status != 0,
              "status 0x%04x (login completed)" % status)
s.close()

rc, out = tgtadm("--op", "show", "--mode", "target")
check("daemon answers after the login", rc == 0, out)
if MODE == "delete":
    check("no target left listing a session", "I_T nexus: " not in out, out)
print("%d passed, %d failed" % (results["passed"], results["failed"]))
sys.exit(1 if results["failed"] else 0)
