"""A small raw iSCSI initiator for tests that need what no tool can do:
every CHAP algorithm, mutual CHAP with chosen challenges, malformed CHAP
values, CRC32C digests checked on every received PDU and corrupted on
purpose on sent ones, task management at chosen moments, several
connections of one session (MC/S), session reinstatement, logouts of
every kind, and an initiator that stops answering NOP-In.

Pure Python (no iSCSI library), so that it checks the target against an
independent implementation: CRC32C here is the bitwise definition of RFC
3720, checked at import against the RFC's examples."""
import base64
import hashlib
import os
import socket
import struct
import sys

INITIATOR = "iqn.2026-01.org.mtgt:raw"

# ---- CRC32C (Castagnoli, reflected polynomial 0x82f63b78) ----


def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82f63b78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc ^ 0xffffffff


def digest(data):
    """The 4 digest bytes as they go on the wire (LSB first)."""
    return struct.pack("<I", crc32c(data))


assert digest(bytes(32)) == bytes.fromhex("aa36918a")  # RFC 3720 B.4
assert digest(bytes(range(32))) == bytes.fromhex("4e79dd46")

# ---- CHAP ----

CHAP_HASHES = {5: "md5", 6: "sha1", 7: "sha256", 8: "sha3_256"}


def chap_response(alg, ident, secret, challenge):
    h = hashlib.new(CHAP_HASHES[alg])
    h.update(bytes([ident]) + secret.encode() + challenge)
    return h.digest()


def decode_binary(text):
    if text[:2] in ("0x", "0X"):
        digits = text[2:]
        return bytes.fromhex(("0" if len(digits) % 2 else "") + digits)
    if text[:2] in ("0b", "0B"):
        return base64.b64decode(text[2:])
    raise ValueError("not a binary value: %r" % text)


def hex_value(data):
    return "0x" + data.hex()


def b64_value(data):
    return "0b" + base64.b64encode(data).decode()

# ---- PDUs ----


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def bhs(opcode, flags=0, dlen=0, lun=b"\0" * 8, itt=0, rest=b""):
    hdr = struct.pack(">BBHB", opcode, flags, 0, 0)
    hdr += struct.pack(">I", dlen)[1:] + lun + struct.pack(">I", itt) + rest
    return hdr.ljust(48, b"\0")


def text_data(pairs):
    return "".join("%s=%s\0" % kv for kv in pairs).encode()


def parse_text(data):
    out = {}
    for item in data.split(b"\0"):
        if b"=" in item:
            k, v = item.decode().split("=", 1)
            out[k] = v
    return out


class Checks:
    """Test bookkeeping: check(name, ok, detail) prints one line;
    run(tests) runs test functions (an exception fails that test),
    prints "N passed, N failed" and exits 1 on any failure."""

    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   " + name)
        else:
            self.failed += 1
            print("FAIL " + name + ": " + detail)

    def run(self, tests):
        for t in tests:
            try:
                t()
            except Exception as e:  # a broken exchange is a failed check
                self(t.__name__, False, repr(e))
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


class Closed(Exception):
    pass


class DigestError(Exception):
    pass


# Task management functions and responses (RFC 7143 §11.5-11.6, RFC 7144)
TMF_ABORT_TASK, TMF_ABORT_TASK_SET, TMF_CLEAR_ACA, TMF_CLEAR_TASK_SET, \
    TMF_LU_RESET, TMF_TARGET_WARM_RESET, TMF_TARGET_COLD_RESET, \
    TMF_TASK_REASSIGN, TMF_QUERY_TASK, TMF_QUERY_TASK_SET = range(1, 11)
TMF_COMPLETE, TMF_NO_TASK, TMF_NO_LUN, TMF_NO_REASSIGN, \
    TMF_NOT_SUPPORTED, TMF_SUCCEEDED = 0, 1, 2, 4, 5, 7

OP_NOP_IN, OP_SCSI_RSP, OP_TMF_RSP, OP_DATA_IN, OP_LOGOUT_RSP, OP_R2T, \
    OP_ASYNC, OP_REJECT = 0x20, 0x21, 0x22, 0x25, 0x26, 0x31, 0x32, 0x3f


def read10(lba, blocks):
    return struct.pack(">BBIBHB", 0x28, 0, lba, 0, blocks, 0)


def write10(lba, blocks):
    return struct.pack(">BBIBHB", 0x2a, 0, lba, 0, blocks, 0)


def sense_triplet(sense):
    """(key, asc, ascq) of fixed (70h/71h) or descriptor (72h/73h) sense."""
    if len(sense) >= 4 and sense[0] & 0x7f in (0x72, 0x73):
        return sense[1] & 0xf, sense[2], sense[3]
    if len(sense) >= 14:
        return sense[2] & 0xf, sense[12], sense[13]
    return None


def u32(b, off):
    return struct.unpack(">I", b[off:off + 4])[0]


def u16(b, off):
    return struct.unpack(">H", b[off:off + 2])[0]


class Counter:
    """CmdSN, shared by the connections of one session."""

    def __init__(self, value=1):
        self.value = value


class Conn:
    """One TCP connection. Digests are off until login() has agreed on
    them; corrupt_header/corrupt_data flip a bit of the next PDU's
    digest. join(other) makes it a further connection of other's session
    (same ISID and TSIH, shared CmdSN)."""

    def __init__(self, host, port, timeout=5, cid=0, source=None):
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.header_digest = False
        self.data_digest = False
        self.itt = 0
        self.sn = Counter()
        self.exp_statsn = 0
        self.isid = b"\x80" + os.urandom(5)
        self.tsih = 0
        self.cid = cid
        self.pending = []  # PDUs read while waiting for another
        self.corked = None  # bytes held back by cork()

    @property
    def cmdsn(self):
        return self.sn.value

    @cmdsn.setter
    def cmdsn(self, value):
        self.sn.value = value

    def join(self, other, cid):
        self.isid, self.tsih, self.sn, self.cid = \
            other.isid, other.tsih, other.sn, cid
        # ITTs are unique in a session: start this connection far away.
        self.itt = 0x10000 * (cid + 1)

    def close(self):
        self.sock.close()

    def next_itt(self):
        self.itt += 1
        return self.itt

    def send(self, hdr, data=b"", corrupt_header=False, corrupt_data=False):
        out = hdr
        if self.header_digest:
            d = bytearray(digest(hdr))
            if corrupt_header:
                d[0] ^= 1
            out += bytes(d)
        if data:
            out += pad4(data)
            if self.data_digest:
                d = bytearray(digest(pad4(data)))
                if corrupt_data:
                    d[0] ^= 1
                out += bytes(d)
        if self.corked is not None:
            self.corked += out
        else:
            self.sock.sendall(out)

    def cork(self):
        """Holds PDUs back until uncork() sends them in one write, so that
        the target reads them in one go."""
        self.corked = b""

    def uncork(self):
        out, self.corked = self.corked, None
        self.sock.sendall(out)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def recv(self):
        """The next PDU as (header, data); digests checked."""
        hdr = self._recv_exact(48)
        ahs = self._recv_exact(hdr[4] * 4)
        if self.header_digest and \
                self._recv_exact(4) != digest(hdr + ahs):
            raise DigestError("header digest")
        dlen = struct.unpack(">I", b"\0" + hdr[5:8])[0]
        data = self._recv_exact(dlen + (-dlen % 4)) if dlen else b""
        if dlen and self.data_digest and self._recv_exact(4) != digest(data):
            raise DigestError("data digest")
        op = hdr[0] & 0x3f
        if op in (0x21, 0x22, 0x23, 0x24, 0x26, 0x32, 0x3f) or \
                (op == 0x25 and hdr[1] & 1) or \
                (op == 0x20 and hdr[16:20] != b"\xff" * 4):
            self.exp_statsn = struct.unpack(">I", hdr[24:28])[0] + 1
        return hdr, data[:dlen]

    def closed(self, wait=5):
        """True if the target ends the connection within `wait` s."""
        self.sock.settimeout(wait)
        try:
            while True:
                self.recv()
        except Closed:
            return True
        except (socket.timeout, DigestError):
            return False

    # ---- login ----

    def login_pdu(self, pairs, csg, nsg=None, cont=False):
        """Sends one Login Request and returns (status, answer keys,
        response flags)."""
        flags = csg << 2
        if nsg is not None:
            flags |= 0x80 | nsg
        if cont:
            flags |= 0x40
        data = text_data(pairs)
        rest = struct.pack(">HHII", self.cid, 0, self.cmdsn,
                           self.exp_statsn)
        hdr = bytearray(bhs(0x43, flags, len(data), itt=self.itt,
                            rest=rest))
        hdr[8:14] = self.isid
        hdr[14:16] = struct.pack(">H", self.tsih)
        self.send(bytes(hdr), data)
        rsp, rdata = self.recv()
        status = (rsp[36] << 8) | rsp[37]
        self.last_login_rsp = rsp
        if status == 0 and u16(rsp, 14):
            self.tsih = u16(rsp, 14)
        return status, parse_text(rdata), rsp[1]

    def login(self, target=None, chap=None, digests=None, extra=(),
              initiator=INITIATOR):
        """A full login: security stage (None or CHAP, see Chap) then
        operational stage. Returns the login status (0 = logged in).
        extra pairs replace or add operational keys; a value None drops
        the key."""
        first = [("InitiatorName", initiator)]
        first += [("TargetName", target), ("SessionType", "Normal")] \
            if target else [("SessionType", "Discovery")]
        if chap is None:
            first.append(("AuthMethod", "None"))
            status, keys, _ = self.login_pdu(first, 0, 1)
            if status:
                return status
        else:
            status = chap.run(self, first)
            if status:
                return status
        ops = [("HeaderDigest", "CRC32C" if digests else "None"),
               ("DataDigest", "CRC32C" if digests else "None"),
               ("MaxRecvDataSegmentLength", "65536"),
               ("ImmediateData", "Yes"), ("InitialR2T", "Yes"),
               ("FirstBurstLength", "65536"),
               ("MaxBurstLength", "262144")]
        for key, value in extra:  # replaces a default or adds a key
            ops = [kv for kv in ops if kv[0] != key]
            if value is not None:
                ops.append((key, value))
        status, keys, flags = self.login_pdu(ops, 1, 3)
        if status == 0 and not flags & 0x80:
            raise RuntimeError("target did not go to full feature phase")
        self.answers = keys
        self.header_digest = keys.get("HeaderDigest") == "CRC32C"
        self.data_digest = keys.get("DataDigest") == "CRC32C"
        return status

    # ---- full feature phase ----

    def scsi(self, cdb, read=0, write=0, data=b"", lun=1, final=True,
             corrupt_data=False, immediate=False):
        """Sends a SCSI Command (with the I bit if immediate, which
        leaves CmdSN as it is); returns its ITT."""
        itt = self.next_itt()
        flags = (0x80 if final else 0) | (0x40 if read else 0) | \
            (0x20 if write else 0) | 1
        rest = struct.pack(">III", read or write, self.cmdsn,
                           self.exp_statsn) + cdb.ljust(16, b"\0")
        self.send(bhs(0x41 if immediate else 0x01, flags, len(data), lun=struct.pack(">H", lun) +
                      b"\0" * 6, itt=itt, rest=rest), data,
                  corrupt_data=corrupt_data)
        return itt

    def data_out(self, itt, ttt, offset, data, datasn=0, final=True,
                 corrupt_data=False):
        rest = struct.pack(">III", ttt, 0, self.exp_statsn) + \
            struct.pack(">III", 0, datasn, offset)
        self.send(bhs(0x05, 0x80 if final else 0, len(data), itt=itt,
                      rest=rest), data, corrupt_data=corrupt_data)

    def max_segment(self):
        return int(self.answers.get("MaxRecvDataSegmentLength", 8192))

    def burst(self, itt, ttt, offset, data, corrupt_pdu=-1):
        """Sends data as Data-Out PDUs no larger than the target takes;
        PDU number corrupt_pdu gets a bad data digest."""
        seg = self.max_segment()
        for n, pos in enumerate(range(0, len(data), seg)):
            self.data_out(itt, ttt, offset + pos, data[pos:pos + seg],
                          datasn=n, final=pos + seg >= len(data),
                          corrupt_data=n == corrupt_pdu)

    def response(self, itt, write_data=b""):
        """Follows a command to its end: answers R2Ts from write_data,
        gathers Data-In. Returns (status, sense, read data), or
        ("reject", reason, header) for a Reject."""
        got = b""
        while True:
            hdr, data = self.next_pdu()
            op = hdr[0] & 0x3f
            if op == 0x3f:
                return "reject", hdr[2], data
            if struct.unpack(">I", hdr[16:20])[0] != itt:
                continue
            if op == 0x31:  # R2T
                ttt, off, n = struct.unpack(">I", hdr[20:24])[0], \
                    struct.unpack(">I", hdr[40:44])[0], \
                    struct.unpack(">I", hdr[44:48])[0]
                self.burst(itt, ttt, off, write_data[off:off + n])
            elif op == 0x25:
                got += data
                if hdr[1] & 1:
                    return hdr[3], b"", got
            elif op == 0x21:
                sense = data[2:2 + struct.unpack(">H", data[:2])[0]] \
                    if len(data) >= 2 else b""
                return hdr[3], sense, got

    def command(self, cdb, read=0, write=b""):
        """Runs one command to its end (see response). Write data goes as
        much as allowed as immediate data, the rest on R2Ts."""
        first = min(self.max_segment(),
                    int(self.answers.get("FirstBurstLength", 65536)))
        itt = self.scsi(cdb, read=read, write=len(write),
                        data=write[:first])
        self.cmdsn += 1
        return self.response(itt, write)

    def nop(self, payload=b"", corrupt_data=False):
        itt = self.next_itt()
        rest = struct.pack(">III", 0xffffffff, self.cmdsn, self.exp_statsn)
        self.send(bhs(0x40, 0x80, len(payload), itt=itt, rest=rest),
                  payload, corrupt_data=corrupt_data)
        return itt

    # ---- reading what the target sends ----

    def next_pdu(self):
        """The next PDU: one set aside by wait_for first."""
        if self.pending:
            return self.pending.pop(0)
        return self.recv()

    def wait_for(self, opcode, itt=None):
        """Reads until a PDU with this opcode (and ITT) comes; the others
        are kept, in order, for later next_pdu()/wait_for() calls.
        Returns (header, data)."""
        kept = []
        try:
            while True:
                hdr, data = self.next_pdu()
                if hdr[0] & 0x3f == opcode and \
                        (itt is None or u32(hdr, 16) == itt):
                    return hdr, data
                kept.append((hdr, data))
        finally:
            self.pending = kept + self.pending

    def drain(self, wait=0.3):
        """Every PDU that arrives within `wait` s (and those set aside)."""
        got = self.pending
        self.pending = []
        self.sock.settimeout(wait)
        try:
            while True:
                got.append(self.recv())
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(5)
        return got

    # ---- task management, logout, NOP ----

    def tmf(self, function, lun=1, rtt=0xffffffff, refcmdsn=0,
            immediate=True):
        """Sends a Task Management Function Request; returns its ITT."""
        itt = self.next_itt()
        rest = struct.pack(">IIIII", rtt, self.cmdsn, self.exp_statsn,
                           refcmdsn, 0)
        self.send(bhs(0x02 | (0x40 if immediate else 0), 0x80 | function,
                      lun=struct.pack(">H", lun) + b"\0" * 6, itt=itt,
                      rest=rest))
        if not immediate:
            self.cmdsn += 1
        return itt

    def tmf_response(self, itt):
        """Waits for the TMF response to itt; returns its response code."""
        return self.wait_for(OP_TMF_RSP, itt)[0][2]

    def logout(self, reason=0, cid=None):
        """Sends a Logout Request; returns (response, Time2Wait,
        Time2Retain)."""
        itt = self.next_itt()
        rest = struct.pack(">HHII", self.cid if cid is None else cid, 0,
                           self.cmdsn, self.exp_statsn)
        self.send(bhs(0x46, 0x80 | reason, itt=itt, rest=rest))
        hdr, _ = self.wait_for(OP_LOGOUT_RSP, itt)
        return hdr[2], u16(hdr, 40), u16(hdr, 42)

    def nop_reply(self, ttt):
        """Answers a target's NOP-In (RFC 7143 §11.18: ITT 0xffffffff)."""
        rest = struct.pack(">III", ttt, self.cmdsn, self.exp_statsn)
        self.send(bhs(0x40, 0x80, itt=0xffffffff, rest=rest))

    def text(self, pairs):
        itt = self.next_itt()
        data = text_data(pairs)
        rest = struct.pack(">III", 0xffffffff, self.cmdsn, self.exp_statsn)
        self.send(bhs(0x04, 0x80, len(data), itt=itt, rest=rest), data)
        self.cmdsn += 1
        hdr, rdata = self.next_pdu()
        return rdata

    def ready(self):
        """TEST UNIT READY until the power-on unit attention is gone."""
        for _ in range(4):
            if self.command(b"\x00")[0] == 0:
                return True
        return False


class Chap:
    """The initiator side of CHAP, with knobs to misbehave.

    algs: the CHAP_A offer. response: None to compute it, else a function
    (alg, id, challenge) -> CHAP_R value text. mutual: (user, secret) of
    the target to check (the verdict lands in target_ok), or None.
    my_challenge: function (target's
    challenge) -> our CHAP_C text, for mutual. extra: more pairs for the
    response PDU."""

    def __init__(self, user, secret, algs="5", mutual=None, response=None,
                 my_challenge=None, my_id="77", extra=()):
        self.user, self.secret, self.algs = user, secret, algs
        self.mutual, self.response, self.my_id = mutual, response, my_id
        self.my_challenge = my_challenge
        self.extra = list(extra)
        self.alg = self.challenge = None
        self.target_ok = None

    def run(self, conn, first):
        status, keys, _ = conn.login_pdu(first + [("AuthMethod", "CHAP,None")],
                                         0)
        if status:
            return status
        if keys.get("AuthMethod") != "CHAP":
            raise RuntimeError("AuthMethod answer %r" % keys)
        status, keys, _ = conn.login_pdu([("CHAP_A", self.algs)], 0)
        if status:
            return status
        self.alg = int(keys["CHAP_A"])
        ident = int(keys["CHAP_I"])
        self.challenge = decode_binary(keys["CHAP_C"])
        if self.response:
            r = self.response(self.alg, ident, self.challenge)
        else:
            r = hex_value(chap_response(self.alg, ident, self.secret,
                                        self.challenge))
        pairs = [("CHAP_N", self.user), ("CHAP_R", r)]
        mine = None
        if self.mutual:
            mine = self.my_challenge(self.challenge) if self.my_challenge \
                else hex_value(os.urandom(16))
            pairs += [("CHAP_I", self.my_id), ("CHAP_C", mine)]
        status, keys, flags = conn.login_pdu(pairs + self.extra, 0, 1)
        if status:
            return status
        if self.mutual:
            want = chap_response(self.alg, int(self.my_id, 0),
                                 self.mutual[1], decode_binary(mine))
            self.target_ok = keys.get("CHAP_N") == self.mutual[0] and \
                decode_binary(keys.get("CHAP_R", "0x00")) == want
        if not flags & 0x80:
            raise RuntimeError("target stays in security stage: %r" % keys)
        return 0
