"""A session that sends a fixed sequence of commands on request, so that
`tgtadm --op stat` has the same numbers to show after it, whichever target
answers (test_mgmt_compat.sh compares them with Debian's tgt).

usage: stat_traffic.py HOST PORT TARGET INITIATOR

Reads one request a line from stdin and prints "ok REQUEST" (or "ok bytes
SENT RECEIVED") once it is done, "error REQUEST: why" if it failed:
  login    log in: a new session
  io       the command sequence (below)
  bytes    the bytes sent and received on the connection since it was
           opened, login included: what its rxdata_octets and
           txdata_octets must show
  closed   wait until the target closes the connection
At end of input it logs out if it is logged in, and exits.

Every PDU goes out in one write, so the target reads each header whole.
The session answers no NOP-In: the target must not send any (its
nop_interval is 0), or the counters would depend on time."""
import struct
import sys

from iscsi_raw import Closed, Conn

READ_CAPACITY10 = b"\x25" + bytes(9)
INQUIRY = b"\x12\0\0\0\xff\0"
REPORT_LUNS = b"\xa0" + bytes(5) + b"\0\0\x01\0\0\0"


def rw10(opcode, lba, blocks):
    return struct.pack(">BBIBHB", opcode, 0, lba, 0, blocks, 0)


class CountingSocket:
    """The socket of a Conn, counting the bytes it moves."""

    def __init__(self, sock):
        self.sock = sock
        self.sent = self.received = 0

    def sendall(self, data):
        self.sock.sendall(data)
        self.sent += len(data)

    def recv(self, n):
        data = self.sock.recv(n)
        self.received += len(data)
        return data

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        self.sock.close()


class Session:
    def __init__(self, host, port, target, initiator):
        self.where = (host, port)
        self.target, self.initiator = target, initiator
        self.conn = None

    def login(self):
        """The operational stage takes two rounds, the keys first and
        then the request to move on, because a target that declares a
        key of its own (tgt does when the script has changed
        MaxRecvDataSegmentLength) goes on only in a further round: so
        the login is the same exchange with every target."""
        c = self.conn = Conn(*self.where)
        c.sock = CountingSocket(c.sock)
        self.login_round([("InitiatorName", self.initiator),
                          ("TargetName", self.target),
                          ("SessionType", "Normal"),
                          ("AuthMethod", "None")], 0, 1)
        c.answers = self.login_round(
            [("HeaderDigest", "None"), ("DataDigest", "None"),
             ("MaxRecvDataSegmentLength", "65536"),
             ("ImmediateData", "Yes"), ("InitialR2T", "Yes"),
             ("FirstBurstLength", "65536"), ("MaxBurstLength", "262144"),
             ("MaxConnections", "1")], 1, None)
        self.login_round([], 1, 3)

    def login_round(self, pairs, stage, next_stage):
        status, keys, flags = self.conn.login_pdu(pairs, stage, next_stage)
        if status:
            raise RuntimeError("login status 0x%04x" % status)
        if (next_stage is None) != (not flags & 0x80):
            raise RuntimeError("stage %d to %r: flags 0x%02x, %r" %
                               (stage, next_stage, flags, keys))
        return keys

    def command(self, cdb, lun=1, read=0, write=b"", expected=None,
                want=0):
        """One command without immediate data (write data goes on R2T,
        as Data-Out); its status must be `want`."""
        c = self.conn
        length = len(write) if expected is None else expected
        itt = c.scsi(cdb, read=read, write=length if write else 0,
                     lun=lun)
        c.cmdsn += 1
        status = c.response(itt, write)[0]
        if status != want:
            raise RuntimeError("CDB %s on LUN %d: status %r, not %r" %
                               (cdb.hex(), lun, status, want))

    def io(self):
        cmd = self.command
        cmd(b"\0" * 6, want=2)           # TUR: power-on unit attention
        cmd(b"\0" * 6)                   # TUR: no data, no error
        cmd(INQUIRY, read=255)           # counts 255, returns fewer
        cmd(READ_CAPACITY10, read=8)
        cmd(rw10(0x28, 0, 8), read=4096)
        cmd(rw10(0x2a, 8, 8), write=b"s" * 4096)
        # A write whose expected length exceeds its CDB's: done counts
        # only the block.
        cmd(rw10(0x2a, 16, 1), write=b"t" * 4096)
        cmd(rw10(0x28, 0x100000, 1), read=512, want=2)  # beyond the end
        cmd(INQUIRY, lun=9, read=255)    # no LU 9: counted in LUN 0
        cmd(REPORT_LUNS, lun=0, read=256)
        self.nop(b"ping")

    def nop(self, payload):
        c = self.conn
        itt = c.nop(payload)
        c.wait_for(0x20, itt)

    def bytes(self):
        s = self.conn.sock
        return "bytes %d %d" % (s.sent, s.received)

    def closed(self):
        if not self.conn.closed(wait=30):
            raise RuntimeError("the connection stayed open")
        self.conn = None

    def logout(self):
        if self.conn:
            self.conn.logout()
            self.conn.close()
            self.conn = None


REQUESTS = ("login", "io", "bytes", "closed", "logout")


def main():
    host, port, target, initiator = sys.argv[1:5]
    session = Session(host, int(port), target, initiator)
    for line in sys.stdin:
        request = line.strip()
        try:
            if request not in REQUESTS:
                raise RuntimeError("unknown request")
            answer = getattr(session, request)()
            print(answer or "ok " + request, flush=True)
        except (Closed, OSError, RuntimeError) as e:
            print("error %s: %r" % (request, e), flush=True)
    try:
        session.logout()
    except (Closed, OSError):
        pass


if __name__ == "__main__":
    main()
