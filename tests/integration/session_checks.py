#!/usr/bin/env python3
"""Sessions and connections against a running tgtd, set up by
test_sessions.sh. Subcommands:

  main HOST PORT IQN_MCS IQN_PLAIN IQN_NOP
      MC/S on IQN_MCS (MaxConnections 2): a second connection joins, the
      CmdSN order is the session's, a third is refused, connection
      reinstatement, logout of a connection, of another connection, for
      recovery and of the session; joins IQN_PLAIN (MaxConnections 1)
      refuses; session reinstatement; NOP-In keepalive on IQN_NOP
      (nop_interval 1, nop_count 2).
  limits HOST PORT IQN
      a daemon started with login_timeout=2, max_conns_per_initiator=3,
      max_conns_per_portal=5: slow logins are dropped, connections past a
      limit are refused with "out of resources" (0x0302).
  sessions HOST PORT IQN IQN_OTHER
      a daemon started with max_sessions_per_target=2, IQN with
      MaxConnections 2: a third session is refused with 0x0302 while
      reinstatement, a further connection (MC/S) and discovery still get
      in; logouts, dropped sockets and refused logins free or keep the
      count exactly, also for logins racing each other; IQN_OTHER takes
      tgtadm's max_sessions (per-target override).
  async HOST PORT IQN ANSWER
      logs in, prints "logged in", and waits for the logout request a
      forced target delete sends (AsyncEvent 1); logs out if ANSWER is
      "yes", else checks that the target drops the connection itself.

TGTADM and CPORT in the environment let checks read `tgtadm --op show`.
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import os
import struct
import subprocess
import sys
import threading
import time

from iscsi_raw import (Checks, Conn, INITIATOR, OP_ASYNC, OP_NOP_IN,
                       OP_REJECT, OP_R2T, OP_SCSI_RSP, TMF_COMPLETE,
                       TMF_TARGET_COLD_RESET, bhs, u16, u32)

check = Checks()
TUR = b"\x00"


def show():
    return subprocess.run([os.environ["TGTADM"], "-C", os.environ["CPORT"],
                           "--op", "show", "--mode", "target"],
                          capture_output=True, text=True).stdout


def sessions_of(out):
    """The session lines of `show` output, for failure details."""
    return " | ".join(line.strip() for line in out.splitlines()
                      if "I_T nexus" in line or "Initiator:" in line or
                      "Connection:" in line)


def login(host, port, iqn, initiator=INITIATOR, extra=(), **kw):
    conn = Conn(host, port, **kw)
    status = conn.login(iqn, initiator=initiator, extra=extra)
    assert status == 0, "login failed: 0x%04x" % status
    return conn


def tur(conn):
    itt = conn.scsi(TUR)
    conn.cmdsn += 1
    return conn.response(itt)[0]


def ready(conn):
    return any(tur(conn) == 0 for _ in range(4))


# ---------------------------------------------------------------- main

def t_mcs():
    c1 = login(HOST, PORT, IQN_MCS, extra=[("MaxConnections", "2")])
    check("MaxConnections=2 agreed where the target allows it",
          c1.answers.get("MaxConnections") == "2", repr(c1.answers))
    check("first connection ready", ready(c1))
    c2 = Conn(HOST, PORT)
    c2.join(c1, 1)
    status = c2.login(IQN_MCS, extra=[("MaxConnections", "2")])
    check("a second connection joins the session (TSIH %d, CID 1)"
          % c1.tsih, status == 0, "status 0x%04x" % status)
    check("its final Login Response carries the session's TSIH",
          u16(c2.last_login_rsp, 14) == c1.tsih)
    check("a session-wide key on the joining login is Irrelevant",
          c2.answers.get("MaxConnections") == "Irrelevant",
          repr(c2.answers))
    out = show()
    check("show lists both connections under one I_T nexus",
          out.count("I_T nexus:") == 1 and "Connection: 0" in out and
          "Connection: 1" in out, sessions_of(out))
    # CmdSN n+1 comes first on the second connection: it waits for n.
    n = c1.cmdsn
    c1.cmdsn = n + 1
    second = c2.scsi(TUR)
    c1.cmdsn = n
    first = c1.scsi(TUR)
    c1.cmdsn = n + 2
    check("commands on both connections run in session CmdSN order",
          c1.response(first)[0] == 0 and c2.response(second)[0] == 0)
    c3 = Conn(HOST, PORT)
    c3.join(c1, 2)
    status = c3.login(IQN_MCS)
    check("a third connection past MaxConnections: 0x0206 too many "
          "connections", status == 0x0206, "status 0x%04x" % status)
    c3.close()
    c2b = Conn(HOST, PORT)
    c2b.join(c1, 1)
    check("a login with CID 1 again reinstates that connection",
          c2b.login(IQN_MCS) == 0 and c2.closed())
    check("the session goes on on both", tur(c1) == 0 and tur(c2b) == 0)
    rsp = c1.logout(reason=1, cid=1)
    check("Logout of the other connection (reason 1, CID 1): closed",
          rsp[0] == 0 and c2b.closed(), repr(rsp))
    check("the logging-out connection's session goes on", tur(c1) == 0)
    c2c = Conn(HOST, PORT)
    c2c.join(c1, 1)
    c2c.login(IQN_MCS)
    rsp = c1.logout(reason=2, cid=1)
    check("Logout for recovery at ERL 0: connection recovery not "
          "supported, Time2Retain 0", rsp[0] == 2 and rsp[2] == 0 and
          c2c.closed(), repr(rsp))
    rsp = c1.logout(reason=1, cid=9)
    check("Logout of an unknown CID: CID not found", rsp[0] == 1,
          repr(rsp))
    itt = c1.next_itt()
    c1.send(bhs(0x46, 0x80 | 7, itt=itt,
                rest=struct.pack(">HHII", 0, 0, c1.cmdsn, c1.exp_statsn)))
    hdr, _ = c1.wait_for(OP_REJECT)
    check("Logout with a reserved reason code is rejected", hdr[2] == 0x09)
    rsp = c1.logout(reason=0)
    check("Logout of the session: closed, Time2Wait 2 and Time2Retain 20 "
          "(the negotiated defaults)", rsp == (0, 2, 20), repr(rsp))
    check("the connection ends after the Logout Response", c1.closed())
    c1.close()


def t_immediate_join():
    """A second connection that logs in the moment the leading login
    ended (its session may not be started on the target thread yet) is
    let in, every time."""
    refused = []
    for i in range(100):
        c2 = Conn(HOST, PORT)  # connected before the leader logs in
        c1 = login(HOST, PORT, IQN_MCS, initiator=INITIATOR + "-quick",
                   extra=[("MaxConnections", "2")])
        c2.join(c1, 1)
        status = c2.login(IQN_MCS, initiator=INITIATOR + "-quick",
                          extra=[("MaxConnections", "2")])
        if status:
            refused.append("%d: 0x%04x" % (i, status))
        c1.close()
        c2.close()
    check("100 joins sent as soon as the leading login ended all succeed",
          not refused, ", ".join(refused))


def t_join_refused():
    c1 = login(HOST, PORT, IQN_PLAIN, extra=[("MaxConnections", "2")])
    check("MaxConnections stays 1 on a target with tgt's default",
          c1.answers.get("MaxConnections") == "1", repr(c1.answers))
    c2 = Conn(HOST, PORT)
    c2.join(c1, 1)
    status = c2.login(IQN_PLAIN)
    check("a second connection there: 0x0206 too many connections",
          status == 0x0206, "status 0x%04x" % status)
    c3 = Conn(HOST, PORT)
    c3.join(c1, 1)
    c3.tsih = c1.tsih ^ 0x5a5a
    status = c3.login(IQN_PLAIN)
    check("a join of a TSIH that does not exist: 0x020a session does "
          "not exist", status == 0x020a, "status 0x%04x" % status)
    c4 = Conn(HOST, PORT)
    c4.join(c1, 1)
    status = c4.login(IQN_PLAIN, initiator=INITIATOR + "-other")
    check("a join by another initiator: 0x020a", status == 0x020a,
          "status 0x%04x" % status)
    check("the session is unharmed", ready(c1))
    c1.logout()
    for c in (c1, c2, c3, c4):
        c.close()


def t_reinstatement():
    name = INITIATOR + "-reinstate"
    c1 = login(HOST, PORT, IQN_PLAIN, initiator=name)
    check("first session ready", ready(c1))
    write = b"\x2a\x00" + struct.pack(">IxH", 0, 8) + b"\x00"
    itt = c1.scsi(write, write=4096)
    c1.cmdsn += 1
    c1.wait_for(OP_R2T, itt)
    c2 = Conn(HOST, PORT)
    c2.isid = c1.isid
    status = c2.login(IQN_PLAIN, initiator=name)
    check("a login with the same initiator name and ISID, TSIH 0, "
          "succeeds", status == 0, "status 0x%04x" % status)
    check("and ends the old session's connection", c1.closed())
    check("the new session works", ready(c2))
    out = show()
    check("one I_T nexus for that initiator port",
          out.count("Initiator: " + name + " ") == 1, sessions_of(out))
    c3 = login(HOST, PORT, IQN_PLAIN, initiator=name)
    check("another ISID is another session: both stay",
          ready(c3) and tur(c2) == 0 and
          show().count("Initiator: " + name + " ") == 2)
    for c in (c2, c3):
        c.logout()
        c.close()
    c1.close()


def t_reinstatement_in_store():
    """The old session has a SYNCHRONIZE CACHE of 8 MiB of fresh data in
    the store when the initiator logs in again: the new session starts
    once it is over (test_sessions.sh looks for the log line)."""
    name = INITIATOR + "-busy"
    c1 = login(HOST, PORT, IQN_PLAIN, initiator=name)
    ready(c1)
    data = os.urandom(8 << 20)
    write = b"\x2a\x00" + struct.pack(">IxH", 0, len(data) // 512) + b"\x00"
    check("8 MiB written", c1.command(write, write=data)[0] == 0)
    c1.scsi(b"\x35")
    c1.cmdsn += 1
    c2 = Conn(HOST, PORT)
    c2.isid = c1.isid
    check("reinstatement while a command is in the store",
          c2.login(IQN_PLAIN, initiator=name) == 0 and c1.closed())
    read = b"\x28\x00" + struct.pack(">IxH", 0, 8) + b"\x00"
    check("the new session reads what the old one wrote",
          ready(c2) and c2.command(read, read=4096)[2] == data[:4096])
    c2.logout()
    c1.close()
    c2.close()


def t_nop_keepalive():
    name = INITIATOR + "-nop"
    conn = login(HOST, PORT, IQN_NOP, initiator=name)
    ready(conn)
    answered = 0
    for _ in range(3):
        hdr, _ = conn.wait_for(OP_NOP_IN)
        ok = u32(hdr, 16) == 0xffffffff and u32(hdr, 20) != 0xffffffff \
            and u32(hdr, 24) == conn.exp_statsn
        answered += ok
        conn.nop_reply(u32(hdr, 20))
    check("an idle connection gets NOP-In pings (ITT 0xffffffff, a TTT, "
          "StatSN not advanced) and lives while it answers", answered == 3)
    end = time.time() + 2.5
    pinged = False
    while time.time() < end:
        itt = conn.scsi(TUR)
        conn.cmdsn += 1
        conn.wait_for(OP_SCSI_RSP, itt)
        pinged |= any(h[0] & 0x3f == OP_NOP_IN for h, _ in conn.pending)
        conn.pending = []
        time.sleep(0.3)
    check("a busy connection is not pinged", not pinged)
    start = time.time()
    closed = conn.closed(wait=8)
    took = time.time() - start
    check("an initiator that stops answering is dropped after nop_count "
          "pings (%.1f s)" % took, closed and 1.5 < took < 6)
    time.sleep(0.2)
    check("and its session is gone", name not in show())
    conn.close()


# -------------------------------------------------------------- limits

def login_succeeds(what):
    """After closed connections have had a moment to go: a plain login
    and logout work."""
    time.sleep(0.3)
    conn = Conn(HOST, PORT)
    check(what, conn.login(IQN) == 0)
    conn.logout()
    conn.close()


def refused_status(source=None):
    """Opens a connection and returns the status of its first login."""
    conn = Conn(HOST, PORT, source=source)
    try:
        return conn.login(IQN), conn
    except Exception:
        return None, conn


def t_slow_login():
    for what, data in (("nothing", b""),
                       ("half a Login Request", bhs(0x43, 0x81)[:20])):
        conn = Conn(HOST, PORT)
        if data:
            conn.sock.sendall(data)
        start = time.time()
        closed = conn.closed(wait=6)
        took = time.time() - start
        check("a login that sends %s is dropped after login_timeout "
              "(%.1f s)" % (what, took), closed and 1.5 < took < 4)
        conn.close()


def held_session(source=None, n=[0]):
    """A logged-in connection (no login timeout), each its own session."""
    n[0] += 1
    return login(HOST, PORT, IQN, initiator=INITIATOR + "-held%d" % n[0],
                 source=source)


def t_connection_limits():
    held = [held_session() for _ in range(3)]
    status, extra = refused_status()
    check("a 4th connection from one initiator address: login status "
          "0x0302 out of resources", status == 0x0302,
          "status %r" % status)
    check("and the connection ends", extra.closed())
    extra.close()
    held[0].close()
    login_succeeds("with one closed, a login from it succeeds")
    time.sleep(0.3)
    held[0] = held_session()
    held += [held_session("127.0.0.2") for _ in range(2)]
    status, extra = refused_status(source="127.0.0.3")
    check("a 6th connection on the portal, from a third address: 0x0302",
          status == 0x0302, "status %r" % status)
    extra.close()
    for c in held:
        c.close()
    login_succeeds("once they are closed, logins succeed again")


# ------------------------------------------------------------ sessions

def session_login(iqn, initiator, **kw):
    """(status, conn) of a new session's login (a conn refused is
    closed by the target)."""
    conn = Conn(HOST, PORT)
    return conn.login(iqn, initiator=initiator, **kw), conn


def nexuses(iqn):
    """Sessions that `show` lists on the target named iqn."""
    out = show().split("Target ")
    block = [b for b in out if b.split("\n")[0].endswith(" " + iqn)]
    return block[0].count("I_T nexus:") if block else -1


def poll_login(iqn, initiator, seconds=5):
    """Logs in again and again until it succeeds or time is up."""
    end = time.time() + seconds
    while True:
        status, conn = session_login(iqn, initiator)
        if status != 0x0302 or time.time() > end:
            return status, conn
        conn.close()
        time.sleep(0.1)


def t_session_limit():
    mcs = [("MaxConnections", "2")]
    a = login(HOST, PORT, IQN, initiator=INITIATOR + "-a", extra=mcs)
    b = login(HOST, PORT, IQN, initiator=INITIATOR + "-b", extra=mcs)
    check("two sessions log in under max_sessions_per_target=2",
          ready(a) and ready(b) and nexuses(IQN) == 2)
    status, c = session_login(IQN, INITIATOR + "-c")
    check("a third session: login status 0x0302 out of resources",
          status == 0x0302, "status 0x%04x" % status)
    check("and its connection ends", c.closed())
    c.close()
    check("the refused login changed nothing: two sessions, both work",
          nexuses(IQN) == 2 and tur(a) == 0 and tur(b) == 0)
    disc = Conn(HOST, PORT)
    status = disc.login()
    check("a discovery session at the limit logs in (it is not counted)",
          status == 0 and
          IQN.encode() in disc.text([("SendTargets", "All")]),
          "status 0x%04x" % status)
    status, c = session_login(IQN, INITIATOR + "-c")
    check("still 0x0302 for a new session while discovery is logged in",
          status == 0x0302, "status 0x%04x" % status)
    c.close()
    disc.logout()
    disc.close()
    join = Conn(HOST, PORT)
    join.join(b, 1)
    status = join.login(IQN, initiator=INITIATOR + "-b", extra=mcs)
    check("a second connection of a session (MC/S) joins at the limit",
          status == 0 and tur(join) == 0 and nexuses(IQN) == 2,
          "status 0x%04x" % status)
    r = Conn(HOST, PORT)
    r.isid = a.isid
    status = r.login(IQN, initiator=INITIATOR + "-a")
    check("a reinstatement (same initiator and ISID) at the limit "
          "succeeds and ends the old session",
          status == 0 and a.closed() and ready(r) and nexuses(IQN) == 2,
          "status 0x%04x" % status)
    a.close()
    status, c = session_login(IQN, INITIATOR + "-c")
    check("after the reinstatement the limit still holds: 0x0302",
          status == 0x0302, "status 0x%04x" % status)
    c.close()
    rsp = b.logout(reason=0)
    check("one session logs out (with both its connections)",
          rsp[0] == 0 and b.closed() and join.closed(), repr(rsp))
    b.close()
    join.close()
    status, d = session_login(IQN, INITIATOR + "-d")
    check("after that logout a new session logs in at once",
          status == 0 and ready(d), "status 0x%04x" % status)
    status, c = session_login(IQN, INITIATOR + "-c")
    check("and the next one is refused again", status == 0x0302,
          "status 0x%04x" % status)
    c.close()
    r.close()  # abruptly: no Logout
    d.close()
    start = time.time()
    e, f = poll_login(IQN, INITIATOR + "-e"), poll_login(IQN,
                                                         INITIATOR + "-f")
    check("sessions whose sockets were closed free their slots: two new "
          "sessions log in within 5 s (%.1f s)" % (time.time() - start),
          e[0] == 0 and f[0] == 0 and nexuses(IQN) == 2,
          "status 0x%04x, 0x%04x" % (e[0], f[0]))
    for _, conn in (e, f):
        conn.logout()
        conn.close()


def t_cold_reset_frees():
    """TARGET COLD RESET ends both sessions: their slots come back."""
    a = login(HOST, PORT, IQN, initiator=INITIATOR + "-cold-a")
    b = login(HOST, PORT, IQN, initiator=INITIATOR + "-cold-b")
    ready(a)
    itt = a.tmf(TMF_TARGET_COLD_RESET, lun=0)
    check("TARGET COLD RESET at the limit: function complete, both "
          "sessions end", a.tmf_response(itt) == TMF_COMPLETE and
          a.closed() and b.closed())
    e, f = poll_login(IQN, INITIATOR + "-e"), poll_login(IQN,
                                                         INITIATOR + "-f")
    check("their slots come back: two new sessions log in",
          e[0] == 0 and f[0] == 0, "status 0x%04x, 0x%04x" % (e[0], f[0]))
    for conn in (a, b):
        conn.close()
    for _, conn in (e, f):
        conn.logout()
        conn.close()


def t_racing_logins():
    """Ten new sessions log in at the same moment: exactly two get in."""
    results = []
    barrier = threading.Barrier(10)

    def one(i):
        conn = Conn(HOST, PORT)
        barrier.wait()
        results.append((conn.login(IQN, initiator=INITIATOR +
                                   "-race%d" % i), conn))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in results)
    check("10 racing logins: exactly 2 sessions, 8 refused with 0x0302",
          statuses == [0] * 2 + [0x0302] * 8 and nexuses(IQN) == 2,
          repr(statuses))
    for status, conn in results:
        if status == 0:
            conn.logout()
        conn.close()
    status, conn = poll_login(IQN, INITIATOR + "-after-race")
    check("afterwards the count is back to zero: a login succeeds",
          status == 0, "status 0x%04x" % status)
    conn.logout()
    conn.close()


def tgtadm_update(tid, name, value):
    return subprocess.run([os.environ["TGTADM"], "-C", os.environ["CPORT"],
                           "--op", "update", "--mode", "target", "--tid",
                           str(tid), "--name", name, "--value", value],
                          capture_output=True, text=True).returncode


def t_per_target_limit():
    check("tgtadm sets max_sessions 1 on the other target",
          tgtadm_update(2, "max_sessions", "1") == 0)
    one = login(HOST, PORT, IQN_OTHER, initiator=INITIATOR + "-one")
    status, two = session_login(IQN_OTHER, INITIATOR + "-two")
    check("there a second session is refused (0x0302)", status == 0x0302,
          "status 0x%04x" % status)
    two.close()
    check("tgtadm max_sessions 0: no limit",
          tgtadm_update(2, "max_sessions", "0") == 0)
    status, two = session_login(IQN_OTHER, INITIATOR + "-two")
    status3, three = session_login(IQN_OTHER, INITIATOR + "-three")
    check("then second and third sessions log in", status == 0 and
          status3 == 0, "status 0x%04x, 0x%04x" % (status, status3))
    check("lowering the limit below the sessions there ends none",
          tgtadm_update(2, "max_sessions", "2") == 0 and
          ready(one) and ready(two) and ready(three))
    status, four = session_login(IQN_OTHER, INITIATOR + "-four")
    check("but refuses new ones (0x0302)", status == 0x0302,
          "status 0x%04x" % status)
    four.close()
    for conn in (two, three):
        conn.logout()
        conn.close()
    status, four = session_login(IQN_OTHER, INITIATOR + "-four")
    check("until fewer are left", status == 0, "status 0x%04x" % status)
    for conn in (one, four):
        conn.logout()
        conn.close()
    check("tgtadm max_sessions 0 again",
          tgtadm_update(2, "max_sessions", "0") == 0)


# --------------------------------------------------------------- async

def async_logout(answer):
    conn = login(HOST, PORT, IQN)
    ready(conn)
    print("logged in", flush=True)
    conn.sock.settimeout(15)
    hdr, _ = conn.wait_for(OP_ASYNC)
    asked = time.time()
    check("a forced delete sends AsyncEvent 1 (logout request) with "
          "Parameter3 = %d s" % u16(hdr, 42),
          hdr[36] == 1 and u16(hdr, 42) == 2 and u32(hdr, 16) == 0xffffffff)
    if answer:
        rsp = conn.logout(reason=0)
        check("the initiator's Logout is answered", rsp[0] == 0, repr(rsp))
        check("and its connection closes", conn.closed(wait=2))
    else:
        closed = conn.closed(wait=6)
        took = time.time() - asked
        check("an initiator that does not log out is dropped after the "
              "grace period (%.1f s)" % took, closed and 1.5 < took < 4)
    conn.close()


mode = sys.argv[1]
HOST, PORT = sys.argv[2], int(sys.argv[3])
if mode == "main":
    IQN_MCS, IQN_PLAIN, IQN_NOP = sys.argv[4:7]
    check.run([t_mcs, t_immediate_join, t_join_refused, t_reinstatement,
               t_reinstatement_in_store, t_nop_keepalive])
elif mode == "limits":
    IQN = sys.argv[4]
    check.run([t_slow_login, t_connection_limits])
elif mode == "sessions":
    IQN, IQN_OTHER = sys.argv[4:6]
    check.run([t_session_limit, t_cold_reset_frees, t_racing_logins,
               t_per_target_limit])
elif mode == "async":
    IQN = sys.argv[4]
    check.run([lambda: async_logout(sys.argv[5] == "yes")])
else:
    sys.exit("unknown mode " + mode)
