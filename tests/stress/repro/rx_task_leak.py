#!/usr/bin/env python3
"""Reproducer (not run by the suite): a SCSI WRITE whose immediate data
segment is cut off by the end of the connection. The daemon never frees the
task it was receiving into (conn->rx_task, allocated in
iscsi_scsi_cmd_begin, is not on conn->tasks, which is all that
iscsi_conn_close frees), nor its EDTL-sized data buffer.

  usage: rx_task_leak.py HOST PORT IQN      (target IQN with LUN 1, ACL ALL)
Run against build-asan/tgtd, then SIGTERM the daemon: LeakSanitizer reports
856 + 8196 bytes from iscsi_scsi_cmd_begin (src/iscsi/task.c)."""
import socket, struct, sys
HOST, PORT, IQN = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def login_pdu(keys):
    raw = "".join(k + "\0" for k in keys).encode()
    h = bytearray(48)
    h[0] = 0x43; h[1] = 0x87  # T=1, CSG=1, NSG=3
    h[5:8] = struct.pack(">I", len(raw))[1:]
    h[8:14] = b"\x80\x00\x00\x00\x00\x07"
    h[16:20] = struct.pack(">I", 1)
    h[24:28] = struct.pack(">I", 1)
    return bytes(h) + raw + b"\0" * (-len(raw) % 4)

def recv_exact(s, n):
    d = b""
    while len(d) < n:
        c = s.recv(n - len(d))
        if not c: return None
        d += c
    return d

s = socket.create_connection((HOST, PORT))
s.sendall(login_pdu(["InitiatorName=iqn.x:rx-leak", "TargetName=" + IQN,
                     "SessionType=Normal", "HeaderDigest=None", "DataDigest=None",
                     "ImmediateData=Yes", "InitialR2T=Yes",
                     "MaxRecvDataSegmentLength=65536",
                     "FirstBurstLength=65536"]))
h = recv_exact(s, 48)
dl = struct.unpack(">I", b"\0" + h[5:8])[0]
recv_exact(s, dl + (-dl % 4))
print("login status", h[36], h[37])
expcmdsn = struct.unpack(">I", h[28:32])[0]
# WRITE(10) LBA 0, 16 blocks = 8192 bytes, all as immediate data (F=1, W=1)
cdb = bytes([0x2a, 0, 0, 0, 0, 0, 0, 0, 16, 0]).ljust(16, b"\0")
hdr = bytearray(48)
hdr[0] = 0x01; hdr[1] = 0x80 | 0x20 | 0x01
hdr[5:8] = struct.pack(">I", 8192)[1:]
hdr[8:16] = struct.pack(">H", 1) + b"\0" * 6
hdr[16:20] = struct.pack(">I", 0x1234)
hdr[20:24] = struct.pack(">I", 8192)
hdr[24:28] = struct.pack(">I", expcmdsn)
hdr[32:48] = cdb
s.sendall(bytes(hdr) + b"\xab" * 1000)   # 1000 of the 8192 bytes
s.close()
print("sent a WRITE with 1000 of its 8192 immediate bytes, closed")
