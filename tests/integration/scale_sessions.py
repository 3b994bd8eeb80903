"""Many iSCSI sessions from one process (asyncio, raw PDUs), for
test_scale.sh and the soak test.

    scale_sessions.py hold HOST PORT IQN_PREFIX TARGETS SESSIONS SECONDS
        SESSIONS sessions spread over targets IQN_PREFIX1..IQN_PREFIX<TARGETS>
        (LUN 1 each): login, TEST UNIT READY (past the power-on UNIT
        ATTENTION), READ(10) of one block; prints "HELD N" once all are
        logged in, then each does one TEST UNIT READY every 2 s for SECONDS
        seconds; then all log out. Prints the sessions served, the login
        rate, and failures; exits 1 if any session failed.
    scale_sessions.py storm HOST PORT IQN COUNT CONCURRENCY
        COUNT logins and logouts, CONCURRENCY at a time, as fast as they
        go; prints the rate; exits 1 if any failed.
    scale_sessions.py refused HOST PORT IQN COUNT
        COUNT connections opened at once, each trying to log in: prints how
        many logged in, how many got which Login Response status, and how
        many saw the connection closed without one; all stay open until
        every one has its answer. Exits 1 if any connection hung (no
        answer within 30 s).

Connections beyond the process's soft fd limit fail; the limit is raised
to the hard one first."""
import asyncio
import os
import resource
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import iscsi_raw  # noqa: E402

TIMEOUT = 30


class Session:
    """One connection, one session, no digests, one command at a time."""

    def __init__(self, n):
        self.isid = b"\x80" + struct.pack(">IB", n, 0)
        self.itt = 0
        self.cmdsn = 1
        self.exp_statsn = 0
        self.reader = self.writer = None

    async def connect(self, host, port):
        self.reader, self.writer = await asyncio.open_connection(host, port)

    async def recv(self):
        hdr = await self.reader.readexactly(48)
        await self.reader.readexactly(hdr[4] * 4)
        dlen = struct.unpack(">I", b"\0" + hdr[5:8])[0]
        data = await self.reader.readexactly(dlen + (-dlen % 4)) \
            if dlen else b""
        if hdr[0] & 0x3f in (0x21, 0x23, 0x25, 0x26):
            self.exp_statsn = struct.unpack(">I", hdr[24:28])[0] + 1
        return hdr, data[:dlen]

    async def send(self, hdr, data=b""):
        self.writer.write(hdr + iscsi_raw.pad4(data))
        await self.writer.drain()

    async def login_pdu(self, pairs, csg, nsg):
        data = iscsi_raw.text_data(pairs)
        rest = struct.pack(">HHII", 0, 0, self.cmdsn, self.exp_statsn)
        hdr = bytearray(iscsi_raw.bhs(0x43, 0x80 | csg << 2 | nsg,
                                      len(data), itt=self.itt, rest=rest))
        hdr[8:14] = self.isid
        await self.send(bytes(hdr), data)
        rsp, _ = await self.recv()
        self.exp_statsn = struct.unpack(">I", rsp[24:28])[0] + 1
        return rsp[36] << 8 | rsp[37]

    async def login(self, iqn):
        """Login status (0: full feature phase)."""
        status = await self.login_pdu(
            [("InitiatorName", iscsi_raw.INITIATOR + "-scale"),
             ("TargetName", iqn), ("SessionType", "Normal"),
             ("AuthMethod", "None")], 0, 1)
        if status:
            return status
        return await self.login_pdu(
            [("HeaderDigest", "None"), ("DataDigest", "None"),
             ("MaxRecvDataSegmentLength", "65536")], 1, 3)

    async def command(self, cdb, read=0):
        """SCSI status of one command on LUN 1."""
        self.itt += 1
        flags = 0x80 | (0x40 if read else 0) | 1
        rest = struct.pack(">III", read, self.cmdsn, self.exp_statsn) + \
            cdb.ljust(16, b"\0")
        self.cmdsn += 1
        await self.send(iscsi_raw.bhs(0x01, flags, 0, lun=b"\0\1" + bytes(6),
                                      itt=self.itt, rest=rest))
        while True:
            hdr, _ = await self.recv()
            op = hdr[0] & 0x3f
            if op == 0x21 or (op == 0x25 and hdr[1] & 1):
                return hdr[3]

    async def ready(self):
        for _ in range(4):
            if await self.command(bytes(6)) == 0:
                return True
        return False

    async def logout(self):
        self.itt += 1
        rest = struct.pack(">III", 0, self.cmdsn, self.exp_statsn)
        await self.send(iscsi_raw.bhs(0x46, 0x80, 0, itt=self.itt, rest=rest))
        hdr, _ = await self.recv()
        return hdr[0] & 0x3f == 0x26 and hdr[2] == 0

    def close(self):
        if self.writer:
            self.writer.close()


READ1 = struct.pack(">BBIBHB", 0x28, 0, 0, 0, 1, 0)


async def open_session(host, port, iqn, n, sem):
    s = Session(n)
    async with sem:
        await s.connect(host, port)
        status = await s.login(iqn)
        if status:
            raise RuntimeError("login status 0x%04x" % status)
        if not await s.ready() or await s.command(READ1, read=512) != 0:
            raise RuntimeError("TEST UNIT READY / READ failed")
    return s


async def light_io(s, until):
    while time.monotonic() < until:
        await asyncio.sleep(2)
        if await s.command(bytes(6)) != 0:
            raise RuntimeError("TEST UNIT READY failed while held")


async def hold(host, port, prefix, targets, count, seconds):
    sem = asyncio.Semaphore(64)
    t0 = time.monotonic()
    opened = await asyncio.gather(
        *(asyncio.wait_for(open_session(host, port, "%s%d" %
                                        (prefix, n % targets + 1), n, sem),
                           TIMEOUT * 4) for n in range(count)),
        return_exceptions=True)
    took = time.monotonic() - t0
    sessions = [s for s in opened if isinstance(s, Session)]
    errors = [repr(e) for e in opened if not isinstance(e, Session)]
    print("HELD %d (%d failed) logins %.0f/s" %
          (len(sessions), len(errors), len(sessions) / took), flush=True)
    until = time.monotonic() + seconds
    held = await asyncio.gather(*(light_io(s, until) for s in sessions),
                                return_exceptions=True)
    errors += [repr(e) for e in held if e is not None]
    outs = await asyncio.gather(*(asyncio.wait_for(s.logout(), TIMEOUT)
                                  for s in sessions), return_exceptions=True)
    errors += ["logout: %r" % o for o in outs if o is not True]
    for s in sessions:
        s.close()
    for e in errors[:10]:
        print("ERROR " + e)
    print("sessions %d served, %d errors" % (len(sessions), len(errors)))
    return not errors and len(sessions) == count


async def login_logout(host, port, iqn, n):
    s = Session(n)
    try:
        await s.connect(host, port)
        status = await s.login(iqn)
        if status:
            raise RuntimeError("login status 0x%04x" % status)
        if not await s.logout():
            raise RuntimeError("logout refused")
    finally:
        s.close()


async def storm(host, port, iqn, count, concurrency):
    todo = iter(range(count))
    errors = []

    async def worker():
        for n in todo:
            try:
                await asyncio.wait_for(login_logout(host, port, iqn, n),
                                       TIMEOUT)
            except Exception as e:  # noqa: BLE001 (counted)
                errors.append(repr(e))
    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    took = time.monotonic() - t0
    for e in errors[:10]:
        print("ERROR " + e)
    print("storm: %d logins+logouts in %.1f s (%.0f/s), %d failed" %
          (count, took, count / took, len(errors)))
    return not errors


async def try_login(host, port, iqn, n, all_answered):
    """Outcome of one login; the connection stays open until every
    connection of the burst has its outcome."""
    s = Session(n)
    try:
        await s.connect(host, port)
        status = await asyncio.wait_for(s.login(iqn), TIMEOUT)
        r = "logged in" if status == 0 else "status 0x%04x" % status
    except (ConnectionError, asyncio.IncompleteReadError):
        r = "closed"
    except asyncio.TimeoutError:
        r = "HUNG"
    all_answered.arrive()
    await all_answered.wait()
    s.close()
    return r


class Countdown:
    def __init__(self, count):
        self.left, self.event = count, asyncio.Event()

    def arrive(self):
        self.left -= 1
        if self.left == 0:
            self.event.set()

    async def wait(self):
        await self.event.wait()


async def refused(host, port, iqn, count):
    all_answered = Countdown(count)
    outcomes = await asyncio.gather(*(try_login(host, port, iqn, n,
                                                all_answered)
                                      for n in range(count)))
    counts = {}
    for r in outcomes:
        counts[r] = counts.get(r, 0) + 1
    print("refused: " + ", ".join("%s %d" % kv for kv in
                                  sorted(counts.items())))
    return "HUNG" not in counts


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    a = sys.argv[4:]
    if mode == "hold":
        ok = asyncio.run(hold(host, port, a[0], int(a[1]), int(a[2]),
                              float(a[3])))
    elif mode == "storm":
        ok = asyncio.run(storm(host, port, a[0], int(a[1]), int(a[2])))
    else:
        ok = asyncio.run(refused(host, port, a[0], int(a[1])))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
