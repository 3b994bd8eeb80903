#!/usr/bin/env python3
"""Every text key of RFC 7143 (§12 security keys, §13 operational keys,
the obsoleted marker keys, the iSER keys of RFC 7145) sent to a running
tgtd as a raw initiator, each with legal and illegal values, twice, in the
wrong stage or phase, on a non-leading connection and in a discovery
session; plus unknown, private (X-) and public extension (X#) keys and
the reserved answer constants offered as values. Each case is a row of a
table: where it is sent, the pairs, and the answer or status RFC 7143
asks for (the expectations and their reasons are in the tables).

usage: key_checks.py HOST PORT IQN_DEFAULTS IQN_TUNED
  IQN_DEFAULTS has tgt's default values; IQN_TUNED has MaxConnections 4,
  InitialR2T No, ImmediateData No, DataPDUInOrder No, DataSequenceInOrder
  No, MaxBurstLength 131072, HeaderDigest CRC32C.
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import socket
import struct
import sys

from iscsi_raw import INITIATOR, Checks, Conn, bhs, u32

HOST, PORT, IQN, TUNED = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
check = Checks()

INITIATOR_ERROR, SESSION_TYPE_UNSUPPORTED, OUT_OF_RESOURCES = \
    0x0200, 0x0209, 0x0302
REJECT_PROTOCOL_ERROR = 0x04
# The target's own declaration, in every operational stage answer.
TARGET_MRDSL = "8192"

NAMES = [("InitiatorName", INITIATOR), ("TargetName", IQN),
         ("SessionType", "Normal")]


def raw_text(pairs):
    """Pairs as text; a pair given as bytes goes as it is (malformed)."""
    out = b""
    for p in pairs:
        out += p if isinstance(p, bytes) else ("%s=%s" % p).encode()
        out += b"\0"
    return out


def answers(data):
    """Every key=value of a response, in order (keys may repeat)."""
    out = []
    for item in data.split(b"\0"):
        if item:
            k, _, v = item.decode(errors="replace").partition("=")
            out.append((k, v))
    return out


def send_login(conn, pairs, csg, nsg=None):
    """One Login Request; returns (status, answer pairs, flags)."""
    flags = csg << 2
    if nsg is not None:
        flags |= 0x80 | nsg
    data = raw_text(pairs)
    rest = struct.pack(">HHII", conn.cid, 0, conn.cmdsn, conn.exp_statsn)
    hdr = bytearray(bhs(0x43, flags, len(data), itt=conn.itt, rest=rest))
    hdr[8:14] = conn.isid
    hdr[14:16] = struct.pack(">H", conn.tsih)
    conn.send(bytes(hdr), data)
    rsp, rdata = conn.recv()
    status = (rsp[36] << 8) | rsp[37]
    if status == 0 and rsp[14:16] != b"\0\0":
        conn.tsih = struct.unpack(">H", rsp[14:16])[0]
    return status, answers(rdata), rsp[1]


def login(stages, conn=None):
    """Runs a login through the given stages: a list of (csg, nsg,
    pairs). Returns (status of the first refused PDU or 0, the answers of
    all its PDUs, conn)."""
    conn = conn or Conn(HOST, PORT)
    got = []
    for csg, nsg, pairs in stages:
        status, more, _ = send_login(conn, pairs, csg, nsg)
        got += more
        if status:
            return status, got, conn
    return 0, got, conn


def op_login(pairs, names=NAMES, target=None):
    """Security stage with the names and AuthMethod=None, then one
    operational stage PDU with pairs."""
    names = [(k, target if k == "TargetName" and target else v)
             for k, v in names]
    return login([(0, 1, names + [("AuthMethod", "None")]),
                  (1, 3, pairs)])


def expect_answer(name, got, key, want):
    """want: the answer value, or None for no answer to key except the
    target's own MaxRecvDataSegmentLength declaration."""
    values = [v for k, v in got if k == key]
    if key == "MaxRecvDataSegmentLength" and want is None:
        ok = values == [TARGET_MRDSL]
    else:
        ok = values == ([] if want is None else [want])
    check(name, ok, "answers for %s: %r" % (key, values))


def run_cases(where, cases, run):
    """cases: (key, value, want) rows; want is an answer value, None for
    no answer, or an int login status. run(pairs) -> (status, answers,
    conn)."""
    for key, value, want in cases:
        pair = (key, value) if isinstance(value, str) else value
        shown = pair if isinstance(pair, bytes) else "%s=%s" % pair
        if len(shown) > 60:
            shown = shown[:40] + "...(%d bytes)" % len(shown)
        name = "%s: %s -> %s" % (where, shown, "0x%04x" % want
                                 if isinstance(want, int) else want)
        try:
            status, got, conn = run([pair])
        except Exception as e:  # a broken exchange is a failed check
            check(name, False, repr(e))
            continue
        if isinstance(want, int):
            check(name, status == want and conn.closed(),
                  "status 0x%04x, answers %r" % (status, got))
        elif status:
            check(name, False, "login refused 0x%04x" % status)
        else:
            expect_answer(name, got, key, want)
        conn.close()


# ---- operational stage of a leading login, target with tgt defaults ----

NUMBER_FORMS = [  # MaxBurstLength (Minimum, target 262144), §6.1 numbers
    ("MaxBurstLength", "4096", "4096"),
    ("MaxBurstLength", "1048576", "262144"),
    ("MaxBurstLength", "0x1000", "4096"),
    ("MaxBurstLength", "0X1000", "4096"),
    ("MaxBurstLength", "512", "512"),
    ("MaxBurstLength", "511", "Reject"),
    ("MaxBurstLength", "16777216", "Reject"),
    ("MaxBurstLength", "0x", "Reject"),
    ("MaxBurstLength", "04096", "Reject"),  # octal-looking: no leading 0
    ("MaxBurstLength", "+4096", "Reject"),
    ("MaxBurstLength", " 4096", "Reject"),
    ("MaxBurstLength", "4096 ", "Reject"),
    ("MaxBurstLength", "-1", "Reject"),
    ("MaxBurstLength", "4e3", "Reject"),
    ("MaxBurstLength", "99999999999999999999999", "Reject"),
    ("MaxBurstLength", "", "Reject"),
]

OPERATIONAL = [
    # §13.1 digests: list, the target picks; unknown values ignored
    ("HeaderDigest", "None", "None"),
    ("HeaderDigest", "CRC32C,None", "None"),
    ("HeaderDigest", "MD5,None", "None"),
    ("HeaderDigest", "CRC32C", "Reject"),
    ("HeaderDigest", "MD5", "Reject"),
    ("HeaderDigest", "", "Reject"),
    ("DataDigest", "None,CRC32C", "None"),
    ("DataDigest", "CRC32C", "Reject"),
    ("DataDigest", "none", "Reject"),
    # §13.2 MaxConnections: Minimum, 1..65535
    ("MaxConnections", "8", "1"),
    ("MaxConnections", "1", "1"),
    ("MaxConnections", "0", "Reject"),
    ("MaxConnections", "65536", "Reject"),
    ("MaxConnections", "many", "Reject"),
    # §13.10 InitialR2T: OR, target Yes
    ("InitialR2T", "No", "Yes"),
    ("InitialR2T", "Yes", "Yes"),
    ("InitialR2T", "yes", "Reject"),
    ("InitialR2T", "1", "Reject"),
    ("InitialR2T", "", "Reject"),
    # §13.11 ImmediateData: AND, target Yes
    ("ImmediateData", "No", "No"),
    ("ImmediateData", "Yes", "Yes"),
    ("ImmediateData", "YES", "Reject"),
    # §13.12 MaxRecvDataSegmentLength: declarative, not echoed
    ("MaxRecvDataSegmentLength", "65536", None),
    ("MaxRecvDataSegmentLength", "512", None),
    ("MaxRecvDataSegmentLength", "16777215", None),
    ("MaxRecvDataSegmentLength", "511", INITIATOR_ERROR),
    ("MaxRecvDataSegmentLength", "16777216", INITIATOR_ERROR),
    ("MaxRecvDataSegmentLength", "big", INITIATOR_ERROR),
    # §13.14 FirstBurstLength: Minimum, target 65536
    ("FirstBurstLength", "4096", "4096"),
    ("FirstBurstLength", "16777215", "65536"),
    ("FirstBurstLength", "511", "Reject"),
    # §13.15 DefaultTime2Wait: Maximum, target 2, 0..3600
    ("DefaultTime2Wait", "0", "2"),
    ("DefaultTime2Wait", "10", "10"),
    ("DefaultTime2Wait", "3600", "3600"),
    ("DefaultTime2Wait", "3601", "Reject"),
    # §13.16 DefaultTime2Retain: Minimum, target 20, 0..3600
    ("DefaultTime2Retain", "0", "0"),
    ("DefaultTime2Retain", "100", "20"),
    ("DefaultTime2Retain", "3601", "Reject"),
    # §13.17 MaxOutstandingR2T: Minimum, target 1, 1..65535
    ("MaxOutstandingR2T", "4", "1"),
    ("MaxOutstandingR2T", "0", "Reject"),
    ("MaxOutstandingR2T", "65536", "Reject"),
    # §13.18-19: OR, target Yes
    ("DataPDUInOrder", "No", "Yes"),
    ("DataPDUInOrder", "Maybe", "Reject"),
    ("DataSequenceInOrder", "No", "Yes"),
    ("DataSequenceInOrder", "Yes", "Yes"),
    # §13.20 ErrorRecoveryLevel: Minimum, target 0, 0..2
    ("ErrorRecoveryLevel", "2", "0"),
    ("ErrorRecoveryLevel", "0", "0"),
    ("ErrorRecoveryLevel", "3", "Reject"),
    # §13.23 TaskReporting: list; RFC 3720 semantics only
    ("TaskReporting", "RFC3720", "RFC3720"),
    ("TaskReporting", "ResponseFence,FastAbort,RFC3720", "RFC3720"),
    ("TaskReporting", "FastAbort", "Reject"),
    ("TaskReporting", "Bogus", "Reject"),
    # §13.24 iSCSIProtocolLevel: Minimum, 0..31, this target 1
    ("iSCSIProtocolLevel", "1", "1"),
    ("iSCSIProtocolLevel", "2", "1"),
    ("iSCSIProtocolLevel", "0", "0"),
    ("iSCSIProtocolLevel", "31", "1"),
    ("iSCSIProtocolLevel", "32", "Reject"),
    ("iSCSIProtocolLevel", "one", "Reject"),
    # Obsoleted markers: IFMarker/OFMarker may be answered No (or
    # Reject); IFMarkInt/OFMarkInt MUST be answered Reject
    ("IFMarker", "No", "No"),
    ("IFMarker", "Yes", "No"),
    ("IFMarker", "maybe", "Reject"),
    ("OFMarker", "Yes", "No"),
    ("IFMarkInt", "2048", "Reject"),
    ("OFMarkInt", "1~65535", "Reject"),
    ("OFMarkInt", "junk", "Reject"),
    # RFC 7145 iSER: RDMAExtensions is AND and this target has no RDMA;
    # the other iSER keys are irrelevant when RDMAExtensions=No
    ("RDMAExtensions", "Yes", "No"),
    ("RDMAExtensions", "No", "No"),
    ("RDMAExtensions", "maybe", "Reject"),
    ("TargetRecvDataSegmentLength", "8192", "Irrelevant"),
    ("InitiatorRecvDataSegmentLength", "8192", "Irrelevant"),
    ("MaxOutstandingUnexpectedPDUs", "8", "Irrelevant"),
    # Declarative names declared again with the same value (libiscsi
    # does so): accepted, unanswered; another value: initiator error
    ("InitiatorName", INITIATOR, None),
    ("InitiatorName", INITIATOR + "-other", INITIATOR_ERROR),
    ("TargetName", IQN, None),
    ("TargetName", TUNED, INITIATOR_ERROR),
    ("SessionType", "Normal", None),
    ("SessionType", "Discovery", INITIATOR_ERROR),
    ("InitiatorAlias", "raw initiator", None),
    # Keys only a target sends, and a full-feature-only key
    ("TargetAlias", "me", INITIATOR_ERROR),
    ("TargetAddress", "127.0.0.1:3260,1", INITIATOR_ERROR),
    ("TargetPortalGroupTag", "1", INITIATOR_ERROR),
    ("SendTargets", "All", INITIATOR_ERROR),
    # Security keys after the security stage
    ("AuthMethod", "None", INITIATOR_ERROR),
    ("CHAP_A", "5", INITIATOR_ERROR),
    ("CHAP_N", "alice", INITIATOR_ERROR),
    ("CHAP_R", "0x00", INITIATOR_ERROR),
    ("CHAP_I", "1", INITIATOR_ERROR),
    ("CHAP_C", "0x00", INITIATOR_ERROR),
    # Unknown keys (names are case sensitive), X- private and X# public
    # extension keys we do not implement, tgt's own non-RFC names
    ("X-com.example.Feature", "1", "NotUnderstood"),
    ("X#NodeArchitecture", "Linux", "NotUnderstood"),
    ("NoSuchKey", "1", "NotUnderstood"),
    ("maxburstlength", "4096", "NotUnderstood"),
    ("MaxXmitDataSegmentLength", "8192", "NotUnderstood"),
    ("MaxQueueCmd", "1", "NotUnderstood"),
    ("CHAP_X", "1", "NotUnderstood"),
    # §6.2: the answer constants offered as values
    ("MaxBurstLength", "Reject", INITIATOR_ERROR),
    ("InitialR2T", "Irrelevant", INITIATOR_ERROR),
    ("HeaderDigest", "NotUnderstood", INITIATOR_ERROR),
    ("X-com.example.Feature", "Reject", INITIATOR_ERROR),
    # §6.1: 63 bytes of key name, 255 of value at most; a pair has '='
    ("X-" + "k" * 61, "1", "NotUnderstood"),
    ("X-" + "k" * 62, "1", INITIATOR_ERROR),
    ("X-com.example.Long", "v" * 255, "NotUnderstood"),
    ("X-com.example.Long", "v" * 256, INITIATOR_ERROR),
    ("InitiatorAlias", "a" * 256, INITIATOR_ERROR),
    ("NoEquals", b"NoEquals", INITIATOR_ERROR),
    ("", b"=1", INITIATOR_ERROR),
]


def t_operational():
    run_cases("operational", NUMBER_FORMS + OPERATIONAL, op_login)


# ---- a target with other values: the Boolean and numeric functions ----

TUNED_CASES = [
    ("MaxConnections", "8", "4"),
    ("MaxConnections", "2", "2"),
    ("InitialR2T", "No", "No"),     # OR: No only if both say No
    ("InitialR2T", "Yes", "Yes"),
    ("ImmediateData", "Yes", "No"),  # AND: Yes only if both say Yes
    ("DataPDUInOrder", "No", "No"),
    ("DataPDUInOrder", "Yes", "Yes"),
    ("DataSequenceInOrder", "No", "No"),
    ("MaxBurstLength", "262144", "131072"),
    ("HeaderDigest", "None,CRC32C", "CRC32C"),
    ("HeaderDigest", "None", "None"),
]


def t_tuned_target():
    run_cases("tuned target", TUNED_CASES,
              lambda pairs: op_login(pairs, target=TUNED))


# ---- the security stage ----

SECURITY = [
    ("X-com.example.Feature", "1", "NotUnderstood"),
    ("InitiatorAlias", "raw", None),
    # operational keys belong to the operational stage
    ("HeaderDigest", "None", INITIATOR_ERROR),
    ("MaxRecvDataSegmentLength", "8192", INITIATOR_ERROR),
    ("MaxBurstLength", "4096", INITIATOR_ERROR),
    ("InitialR2T", "Yes", INITIATOR_ERROR),
    ("IFMarker", "No", INITIATOR_ERROR),
    ("RDMAExtensions", "No", INITIATOR_ERROR),
    # a CHAP key while the method is None; a target's key; FFP key
    ("CHAP_A", "5", INITIATOR_ERROR),
    ("TargetPortalGroupTag", "1", INITIATOR_ERROR),
    ("SendTargets", "All", INITIATOR_ERROR),
    ("AuthMethod", "Reject", INITIATOR_ERROR),
    ("AuthMethod", "None", INITIATOR_ERROR),  # twice
    ("SessionType", "Bogus", SESSION_TYPE_UNSUPPORTED),
]


def security_login(pairs):
    """The first PDU: names, AuthMethod=None and pairs (an AuthMethod or
    SessionType among pairs comes in addition to, or replaces, ours)."""
    first = [p for p in NAMES if not (p[0] == "SessionType" and
                                      pairs[0][0] == "SessionType")]
    return login([(0, 1, first + [("AuthMethod", "None")] + pairs),
                  (1, 3, [])])


def t_security():
    run_cases("security", SECURITY, security_login)
    long_name = "iqn.2026-01.org.mtgt:" + "n" * 203  # 224 bytes
    status, _, conn = login([(0, 1, [("InitiatorName", long_name),
                                     ("TargetName", IQN),
                                     ("AuthMethod", "None")])])
    check("an InitiatorName of 224 bytes -> 0x0200 (names are never cut)",
          status == INITIATOR_ERROR, "0x%04x" % status)
    conn.close()


# ---- a key twice: in one PDU, across PDUs of a stage, across stages ----

def t_duplicates():
    cases = [
        ("MaxBurstLength twice in one PDU",
         [(0, 1, NAMES + [("AuthMethod", "None")]),
          (1, 3, [("MaxBurstLength", "4096"), ("MaxBurstLength", "4096")])]),
        ("X- key twice in one PDU",
         [(0, 1, NAMES + [("AuthMethod", "None")]),
          (1, 3, [("X-com.example.A", "1"), ("X-com.example.A", "1")])]),
        ("MaxBurstLength again in the next PDU of the stage",
         [(0, 1, NAMES + [("AuthMethod", "None")]),
          (1, None, [("MaxBurstLength", "4096")]),
          (1, 3, [("MaxBurstLength", "8192")])]),
        ("AuthMethod again in the next security PDU",
         [(0, None, NAMES + [("AuthMethod", "None")]),
          (0, 1, [("AuthMethod", "None")])]),
        ("InitiatorName redeclared with another value in the next PDU",
         [(0, None, NAMES + [("AuthMethod", "None")]),
          (0, 1, [("InitiatorName", INITIATOR + "-b")])]),
    ]
    for name, stages in cases:
        status, got, conn = login(stages)
        check(name + " -> 0x0200", status == INITIATOR_ERROR and
              conn.closed(), "0x%04x %r" % (status, got))
        conn.close()
    status, got, conn = login(
        [(0, None, NAMES + [("AuthMethod", "None")]),
         (0, 1, NAMES), (1, 3, NAMES + [("MaxBurstLength", "4096")])])
    check("the names declared again with the same values (libiscsi's way)",
          status == 0 and ("MaxBurstLength", "4096") in got,
          "0x%04x %r" % (status, got))
    conn.close()


# ---- too many distinct keys: a bounded answer, not a daemon problem ----

def t_key_flood():
    many = [("X-com.example.k%03d" % i, "1") for i in range(200)]
    status, got, conn = op_login(many)
    check("200 distinct unknown keys: each NotUnderstood", status == 0 and
          sum(1 for k, v in got if v == "NotUnderstood") == 200,
          "0x%04x, %d answers" % (status, len(got)))
    conn.close()
    many = [("X-com.example.k%03d" % i, "1") for i in range(300)]
    status, _, conn = op_login(many)
    check("300 distinct keys in one login -> 0x0302 out of resources",
          status == OUT_OF_RESOURCES and conn.closed(), "0x%04x" % status)
    conn.close()


# ---- a discovery session: keys irrelevant there ----

DISCOVERY_NAMES = [("InitiatorName", INITIATOR),
                   ("SessionType", "Discovery")]

DISCOVERY = [
    ("MaxConnections", "2", "Irrelevant"),
    ("InitialR2T", "No", "Irrelevant"),
    ("ImmediateData", "No", "Irrelevant"),
    ("MaxBurstLength", "4096", "Irrelevant"),
    ("FirstBurstLength", "4096", "Irrelevant"),
    ("MaxOutstandingR2T", "2", "Irrelevant"),
    ("DataPDUInOrder", "No", "Irrelevant"),
    ("DataSequenceInOrder", "No", "Irrelevant"),
    ("TaskReporting", "RFC3720", "Irrelevant"),
    ("iSCSIProtocolLevel", "1", "Irrelevant"),
    # relevant in discovery sessions too
    ("HeaderDigest", "None", "None"),
    ("DefaultTime2Wait", "0", "2"),
    ("DefaultTime2Retain", "0", "0"),
    ("ErrorRecoveryLevel", "1", "0"),
    ("MaxRecvDataSegmentLength", "16384", None),
]


def t_discovery():
    """All in one discovery login: each key gets its own answer."""
    status, got, conn = op_login([(k, v) for k, v, _ in DISCOVERY],
                                 names=DISCOVERY_NAMES)
    check("discovery login with every key succeeds", status == 0,
          "0x%04x" % status)
    for key, value, want in DISCOVERY:
        expect_answer("discovery: %s=%s -> %s" % (key, value, want), got,
                      key, want)
    conn.close()


# ---- a connection joining a session (MC/S): LO keys are settled ----

JOIN = [
    ("MaxConnections", "4", "Irrelevant"),
    ("InitialR2T", "Yes", "Irrelevant"),
    ("ImmediateData", "No", "Irrelevant"),
    ("MaxBurstLength", "4096", "Irrelevant"),
    ("FirstBurstLength", "4096", "Irrelevant"),
    ("DefaultTime2Wait", "2", "Irrelevant"),
    ("DefaultTime2Retain", "20", "Irrelevant"),
    ("MaxOutstandingR2T", "1", "Irrelevant"),
    ("DataPDUInOrder", "Yes", "Irrelevant"),
    ("DataSequenceInOrder", "Yes", "Irrelevant"),
    ("ErrorRecoveryLevel", "0", "Irrelevant"),
    ("TaskReporting", "RFC3720", "Irrelevant"),
    ("RDMAExtensions", "No", "Irrelevant"),
    # connection keys and IO keys are negotiated on every connection
    ("HeaderDigest", "None", "None"),
    ("DataDigest", "None", "None"),
    ("iSCSIProtocolLevel", "1", "1"),
    ("IFMarker", "No", "No"),
    ("MaxRecvDataSegmentLength", "65536", None),
]


def t_join():
    lead = Conn(HOST, PORT)
    status = lead.login(TUNED, extra=[("MaxConnections", "4")])
    # A command through the session: it runs on its target's thread now,
    # where a join finds it.
    check("leading connection on the tuned target",
          status == 0 and lead.ready(), "0x%04x" % status)
    conn = Conn(HOST, PORT)
    conn.join(lead, 1)
    names = [(k, TUNED if k == "TargetName" else v) for k, v in NAMES]
    status, got, conn = login([(0, 1, names + [("AuthMethod", "None")]),
                               (1, 3, [(k, v) for k, v, _ in JOIN])], conn)
    check("joining login with every key succeeds", status == 0,
          "0x%04x" % status)
    for key, value, want in JOIN:
        expect_answer("non-leading: %s=%s -> %s" % (key, value, want), got,
                      key, want)
    conn.close()
    lead.close()


# ---- Text Requests in full feature phase ----

def text_exchange(conn, pairs):
    """One Text Request; returns ("text", answer pairs) or ("reject",
    reason)."""
    itt = conn.next_itt()
    data = raw_text(pairs)
    rest = struct.pack(">III", 0xffffffff, conn.cmdsn, conn.exp_statsn)
    conn.send(bhs(0x04, 0x80, len(data), itt=itt, rest=rest), data)
    conn.cmdsn += 1
    while True:
        hdr, rdata = conn.next_pdu()
        op = hdr[0] & 0x3f
        if op == 0x3f:
            return "reject", hdr[2]
        if op == 0x24 and u32(hdr, 16) == itt:
            return "text", answers(rdata)


FULL_FEATURE = [
    # login-only keys: settled by the login, nothing to renegotiate
    ("HeaderDigest", "CRC32C", "Irrelevant"),
    ("DataDigest", "None", "Irrelevant"),
    ("MaxConnections", "2", "Irrelevant"),
    ("InitialR2T", "No", "Irrelevant"),
    ("ImmediateData", "No", "Irrelevant"),
    ("MaxBurstLength", "4096", "Irrelevant"),
    ("FirstBurstLength", "4096", "Irrelevant"),
    ("DefaultTime2Wait", "2", "Irrelevant"),
    ("DefaultTime2Retain", "20", "Irrelevant"),
    ("MaxOutstandingR2T", "1", "Irrelevant"),
    ("DataPDUInOrder", "Yes", "Irrelevant"),
    ("DataSequenceInOrder", "Yes", "Irrelevant"),
    ("ErrorRecoveryLevel", "0", "Irrelevant"),
    ("SessionType", "Normal", "Irrelevant"),
    ("InitiatorName", INITIATOR, "Irrelevant"),
    ("TargetName", IQN, "Irrelevant"),
    ("TaskReporting", "RFC3720", "Irrelevant"),
    ("iSCSIProtocolLevel", "1", "Irrelevant"),
    ("AuthMethod", "None", "Irrelevant"),
    ("CHAP_A", "5", "Irrelevant"),
    ("IFMarker", "No", "Irrelevant"),
    ("OFMarkInt", "2048", "Irrelevant"),
    ("RDMAExtensions", "No", "Irrelevant"),
    ("TargetRecvDataSegmentLength", "8192", "Irrelevant"),
    ("MaxOutstandingUnexpectedPDUs", "0", "Irrelevant"),
    # keys of every phase (Use: ALL): declarations, no answer
    ("MaxRecvDataSegmentLength", "65536", None),
    ("InitiatorAlias", "renamed", None),
    ("X-com.example.Feature", "1", "NotUnderstood"),
    ("X#NodeArchitecture", "Linux", "NotUnderstood"),
    # protocol errors: a Reject PDU (reason protocol error)
    ("MaxRecvDataSegmentLength", "100", "reject"),
    ("TargetAlias", "me", "reject"),
    ("TargetPortalGroupTag", "1", "reject"),
    ("X-com.example.Feature", "Irrelevant", "reject"),
    ("SendTargets", "Reject", "reject"),
    ("X-" + "k" * 62, "1", "reject"),
    ("X-com.example.Long", "v" * 256, "reject"),
    ("NoEquals", b"NoEquals", "reject"),
]


def t_full_feature():
    conn = Conn(HOST, PORT)
    status = conn.login(IQN)
    check("session for the Text Requests", status == 0, "0x%04x" % status)
    for key, value, want in FULL_FEATURE:
        pair = (key, value) if isinstance(value, str) else value
        shown = pair if isinstance(pair, bytes) else "%s=%s" % pair
        name = "text: %s -> %s" % (shown[:50], want)
        kind, got = text_exchange(conn, [pair])
        if want == "reject":
            check(name, kind == "reject" and got == REJECT_PROTOCOL_ERROR,
                  "%s %r" % (kind, got))
        else:
            values = [v for k, v in got if k == key] \
                if kind == "text" else got
            check(name, kind == "text" and
                  values == ([] if want is None else [want]),
                  "%s %r" % (kind, values))
    kind, got = text_exchange(conn, [("SendTargets", "All"),
                                     ("SendTargets", "All")])
    check("text: SendTargets twice in one request -> Reject PDU",
          kind == "reject" and got == REJECT_PROTOCOL_ERROR,
          "%s %r" % (kind, got))
    kind, got = text_exchange(conn, [("SendTargets", "All")])
    check("text: SendTargets=All still answered after the Rejects",
          kind == "text" and ("TargetName", IQN) in got, repr(got))
    conn.close()


def t_declared_length_takes_effect():
    """MaxRecvDataSegmentLength declared in full feature phase bounds the
    Data-In PDUs that follow (the login declared 65536)."""
    conn = Conn(HOST, PORT)
    status = conn.login(IQN)
    if status or not conn.ready():
        check("session for MaxRecvDataSegmentLength", False,
              "0x%04x" % status)
        return
    kind, got = text_exchange(conn, [("MaxRecvDataSegmentLength", "4096")])
    check("text: MaxRecvDataSegmentLength=4096 taken without answer",
          kind == "text" and got == [], "%s %r" % (kind, got))
    itt = conn.scsi(b"\x28\x00\x00\x00\x00\x00\x00\x00\x20\x00",
                    read=16384)  # READ(10) of 32 blocks
    conn.cmdsn += 1
    sizes = []
    while True:
        hdr, data = conn.next_pdu()
        if hdr[0] & 0x3f == 0x25 and u32(hdr, 16) == itt:
            sizes.append(len(data))
            if hdr[1] & 1:
                break
        elif hdr[0] & 0x3f == 0x21:
            break
    check("Data-In after it carries at most 4096 bytes a PDU",
          sum(sizes) == 16384 and max(sizes) <= 4096, repr(sizes))
    conn.close()


check.run([t_operational, t_tuned_target, t_security, t_duplicates,
           t_key_flood, t_discovery, t_join, t_full_feature,
           t_declared_length_takes_effect])
