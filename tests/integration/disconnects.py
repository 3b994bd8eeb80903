"""Abrupt disconnects for test_faults.sh: N initiator connections that
each drop at a random point of their life, some with a FIN, some with a
RST (SO_LINGER 0), several at a time.

    disconnects.py HOST PORT IQN LUN COUNT SEED

Drop points: inside the first login PDU's header or data, after the
security stage, right after login, inside a SCSI command header, with
READs in flight, with an R2T outstanding, inside a Data-Out burst, and
after a Logout request. Writes go to LUN (the caller's scratch LUN, never
the one a verified session uses).

Prints one line per drop point (how many), then "dropped N connections";
exits 1 if a connection could not even get as far as its drop point
(the target refused or broke the exchange before it)."""
import random
import socket
import struct
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, __import__("os").path.dirname(__file__))
import iscsi_raw  # noqa: E402

WORKERS = 16
BLOCKS = 256		# 128 KiB per command: more than one Data-Out burst


def read10(lba, blocks):
    return struct.pack(">BBIBHB", 0x28, 0, lba, 0, blocks, 0)


def write10(lba, blocks):
    return struct.pack(">BBIBHB", 0x2a, 0, lba, 0, blocks, 0)


def login_header(conn, dlen):
    # Login Request, Transit from the security to the operational stage.
    hdr = bytearray(iscsi_raw.bhs(0x43, 0x81, dlen,
                                  rest=struct.pack(">HHII", 0, 0, 1, 0)))
    hdr[8:14] = conn.isid
    return bytes(hdr)


def mid_login_header(conn, args, rnd):
    conn.sock.sendall(login_header(conn, 64)[:rnd.randint(1, 47)])


def mid_login_data(conn, args, rnd):
    data = iscsi_raw.text_data([("InitiatorName", iscsi_raw.INITIATOR),
                                ("TargetName", args.iqn)])
    conn.sock.sendall(login_header(conn, len(data)) +
                      data[:rnd.randint(0, len(data) - 1)])


def after_security(conn, args, rnd):
    first = [("InitiatorName", iscsi_raw.INITIATOR),
             ("TargetName", args.iqn), ("SessionType", "Normal"),
             ("AuthMethod", "None")]
    status, _, _ = conn.login_pdu(first, 0, 1)
    if status:
        raise RuntimeError("security stage refused: 0x%04x" % status)


def logged_in(conn, args, rnd):
    status = conn.login(args.iqn)
    if status:
        raise RuntimeError("login refused: 0x%04x" % status)


def mid_command_header(conn, args, rnd):
    logged_in(conn, args, rnd)
    hdr = iscsi_raw.bhs(0x01, 0xc1, 0, lun=struct.pack(">H", args.lun) +
                        bytes(6), itt=1,
                        rest=struct.pack(">III", 512, conn.cmdsn,
                                         conn.exp_statsn) + read10(0, 1))
    conn.sock.sendall(hdr[:rnd.randint(1, 47)])


def reads_in_flight(conn, args, rnd):
    logged_in(conn, args, rnd)
    for _ in range(rnd.randint(1, 8)):
        lba = rnd.randrange(0, args.lun_blocks - BLOCKS)
        conn.scsi(read10(lba, BLOCKS), read=BLOCKS * 512, lun=args.lun)
        conn.cmdsn += 1


def wait_r2t(conn):
    while True:
        hdr, _ = conn.recv()
        if hdr[0] & 0x3f == 0x31:
            return struct.unpack(">I", hdr[20:24])[0], \
                struct.unpack(">I", hdr[44:48])[0]
        if hdr[0] & 0x3f == 0x21:
            raise RuntimeError("write ended without an R2T")


def r2t_outstanding(conn, args, rnd):
    logged_in(conn, args, rnd)
    lba = rnd.randrange(0, args.lun_blocks - BLOCKS)
    itt = conn.scsi(write10(lba, BLOCKS), write=BLOCKS * 512, lun=args.lun)
    conn.cmdsn += 1
    ttt, _ = wait_r2t(conn)
    return itt, ttt


def mid_data_out(conn, args, rnd):
    itt, ttt = r2t_outstanding(conn, args, rnd)
    seg = conn.max_segment()
    payload = bytes(rnd.getrandbits(8) for _ in range(64)) * (seg // 64)
    # Whole Data-Out PDUs before the cut, all inside the R2T's burst.
    sent = rnd.randint(0, max(0, BLOCKS * 512 // seg - 1))
    for n in range(sent):
        conn.data_out(itt, ttt, n * seg, payload, datasn=n, final=False)
    # Then a Data-Out cut inside its header or inside its data.
    rest = struct.pack(">III", ttt, 0, conn.exp_statsn) + \
        struct.pack(">III", 0, sent, sent * seg)
    pdu = iscsi_raw.bhs(0x05, 0, seg, itt=itt, rest=rest) + payload
    conn.sock.sendall(pdu[:rnd.randint(1, len(pdu) - 1)])


def after_logout_request(conn, args, rnd):
    logged_in(conn, args, rnd)
    rest = struct.pack(">III", 0, conn.cmdsn, conn.exp_statsn)
    conn.send(iscsi_raw.bhs(0x46, 0x80, 0, itt=conn.next_itt(), rest=rest))


DROP_POINTS = [mid_login_header, mid_login_data, after_security, logged_in,
               mid_command_header, reads_in_flight, r2t_outstanding,
               mid_data_out, after_logout_request]


class Args:
    pass


def one(args, n, counts, errors, lock):
    rnd = random.Random(args.seed * 100003 + n)
    point = DROP_POINTS[n % len(DROP_POINTS)]
    conn = iscsi_raw.Conn(args.host, args.port, timeout=20)
    try:
        point(conn, args, rnd)
    except Exception as e:  # noqa: BLE001 (reported, then the drop)
        with lock:
            errors.append("%s #%d: %r" % (point.__name__, n, e))
    finally:
        if rnd.random() < 0.5:  # RST instead of FIN
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        conn.close()
    with lock:
        counts[point.__name__] = counts.get(point.__name__, 0) + 1


def main():
    args = Args()
    args.host, args.port, args.iqn = sys.argv[1], int(sys.argv[2]), \
        sys.argv[3]
    args.lun, count, args.seed = int(sys.argv[4]), int(sys.argv[5]), \
        int(sys.argv[6])
    args.lun_blocks = 16384     # test_faults.sh's scratch LUN: 8 MiB
    counts, errors, lock = {}, [], threading.Lock()
    with ThreadPoolExecutor(WORKERS) as pool:
        for n in range(count):
            pool.submit(one, args, n, counts, errors, lock)
    for name in sorted(counts):
        print("%-22s %d" % (name, counts[name]))
    for e in errors[:20]:
        print("ERROR " + e)
    print("dropped %d connections, %d errors before the drop point" %
          (sum(counts.values()), len(errors)))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
