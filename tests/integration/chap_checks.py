#!/usr/bin/env python3
"""CHAP logins against a running tgtd, set up by test_chap.sh:
  target IQN1: incoming alice/alice-secret-12 and bob/bob-secret-1234,
               outgoing tuser/target-secret-9
  target IQN2: no accounts
  discovery:   incoming dave/dave-secret-123, outgoing tuser
Every CHAP algorithm one-way and mutual, algorithm preference, both value
encodings, and the refusals (wrong secret or user, reflected challenge,
malformed and oversized values, AuthMethod=None where CHAP is required).

usage: chap_checks.py HOST PORT IQN1 IQN2
Prints one line per check and "N passed, N failed"; exit 1 on failure."""
import sys

from iscsi_raw import (Chap, Checks, Conn, b64_value, chap_response,
                       hex_value, INITIATOR)

HOST, PORT, IQN1, IQN2 = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
AUTH_FAILED = 0x0201
check = Checks()
ALICE = ("alice", "alice-secret-12")
TARGET = ("tuser", "target-secret-9")



def login(target=IQN1, **chap_args):
    """A CHAP login; returns (status, conn, chap)."""
    conn = Conn(HOST, PORT)
    args = {"user": ALICE[0], "secret": ALICE[1]}
    args.update(chap_args)
    chap = Chap(**args)
    return conn.login(target, chap=chap), conn, chap


def refused(name, status, conn, want=AUTH_FAILED):
    check(name + " -> 0x%04x" % want, status == want, "status 0x%04x" %
          status)
    if status:
        check(name + ": connection closed", conn.closed())
    conn.close()


def t_algorithms():
    for alg in (5, 6, 7, 8):
        status, conn, chap = login(algs=str(alg))
        check("one-way CHAP_A=%d logs in" % alg, status == 0 and
              chap.alg == alg, "status 0x%04x alg %r" % (status, chap.alg))
        check("CHAP_A=%d challenge at least 16 bytes and the hash size" %
              alg, len(chap.challenge) >= max(16, len(
                  chap_response(alg, 0, "", b""))), repr(chap.challenge))
        if status == 0:
            check("CHAP_A=%d session runs commands" % alg, conn.ready())
        conn.close()
        status, conn, chap = login(algs=str(alg), mutual=TARGET)
        check("mutual CHAP_A=%d: target proves itself" % alg,
              status == 0 and chap.target_ok, "status 0x%04x" % status)
        conn.close()
    for offer, want in (("8,5", 8), ("9,7,5", 7), ("6,8", 6)):
        status, conn, chap = login(algs=offer)
        check("CHAP_A=%s: the initiator's first supported (%d)" %
              (offer, want), status == 0 and chap.alg == want,
              "got %r" % chap.alg)
        conn.close()
    status, conn, _ = login(algs="1,2,128")
    refused("no supported CHAP_A", status, conn)


def t_accounts():
    status, conn, _ = login(user="bob", secret="bob-secret-1234")
    check("second incoming account logs in", status == 0,
          "status 0x%04x" % status)
    conn.close()
    status, conn, _ = login(secret="alice-secret-13")
    refused("wrong secret", status, conn)
    status, conn, _ = login(user="mallory")
    refused("unknown user", status, conn)
    status, conn, _ = login(user="dave", secret="dave-secret-123")
    refused("discovery account on a target", status, conn)
    status, conn, _ = login(user="tuser", secret="target-secret-9")
    refused("outgoing account as incoming", status, conn)


def t_encodings():
    status, conn, _ = login(response=lambda alg, i, c: b64_value(
        chap_response(alg, i, ALICE[1], c)))
    check("base64 (0b) CHAP_R accepted", status == 0, "0x%04x" % status)
    conn.close()
    status, conn, _ = login(response=lambda alg, i, c: hex_value(
        chap_response(alg, i, ALICE[1], c)).upper())
    check("uppercase 0X hex CHAP_R accepted", status == 0,
          "0x%04x" % status)
    conn.close()
    status, conn, chap = login(mutual=TARGET,
                               my_challenge=lambda c: b64_value(b"\x5a" * 24))
    check("mutual with a base64 CHAP_C", status == 0 and chap.target_ok,
          "0x%04x" % status)
    conn.close()
    status, conn, chap = login(mutual=TARGET, my_id="0xff",
                               my_challenge=lambda c: hex_value(b"\1" * 1024))
    check("mutual with a 1024-byte CHAP_C and CHAP_I=0xff", status == 0 and
          chap.target_ok, "0x%04x" % status)
    conn.close()


def t_malformed():
    cases = [
        ("CHAP_R not hex", dict(response=lambda a, i, c: "0xZZ")),
        ("CHAP_R without prefix", dict(response=lambda a, i, c:
                                       chap_response(a, i, ALICE[1],
                                                     c).hex())),
        ("CHAP_R one byte short", dict(response=lambda a, i, c: hex_value(
            chap_response(a, i, ALICE[1], c)[:-1]))),
        ("CHAP_R empty", dict(response=lambda a, i, c: "")),
        ("CHAP_R broken base64", dict(response=lambda a, i, c: "0bA=B")),
        ("CHAP_C of 1025 bytes", dict(mutual=TARGET, my_challenge=lambda c:
                                      hex_value(b"\1" * 1025))),
        ("CHAP_C not hex", dict(mutual=TARGET,
                                my_challenge=lambda c: "0x12q4")),
        ("CHAP_I of 256", dict(mutual=TARGET, my_id="256")),
        ("CHAP_I negative", dict(mutual=TARGET, my_id="-1")),
        ("CHAP_C without CHAP_I", dict(extra=[("CHAP_C", "0x0102")])),
    ]
    for name, args in cases:
        try:
            status, conn, _ = login(**args)
        except Exception as e:  # the client itself choked
            check(name, False, repr(e))
            continue
        refused(name, status, conn)
    # A key offered twice is a protocol error (RFC 7143 §6.2), whatever
    # the key: initiator error.
    status, conn, _ = login(extra=[("CHAP_N", "bob")])
    refused("CHAP_N given twice", status, conn, want=0x0200)


def t_reflection():
    status, conn, _ = login(mutual=TARGET, my_challenge=hex_value)
    refused("reflected challenge (mutual CHAP_C = target's)", status, conn)
    status, conn, _ = login(mutual=TARGET, my_challenge=b64_value)
    refused("reflected challenge in base64", status, conn)
    # The client's own check must be able to fail, or the mutual checks
    # above prove nothing.
    status, conn, chap = login(mutual=("tuser", "alice-secret-12"))
    check("mutual: the client notices a target with another secret",
          status == 0 and chap.target_ok is False, "0x%04x" % status)
    conn.close()


def plain_login(target, auth, csg=0, discovery=False):
    conn = Conn(HOST, PORT)
    pairs = [("InitiatorName", INITIATOR)]
    pairs += [("SessionType", "Discovery")] if discovery else \
        [("TargetName", target), ("SessionType", "Normal")]
    if auth:
        pairs.append(("AuthMethod", auth))
    status, keys, _ = conn.login_pdu(pairs, csg, 1 if csg == 0 else 3)
    return status, keys, conn


def t_auth_method():
    status, keys, conn = plain_login(IQN1, "None")
    refused("AuthMethod=None where CHAP is required", status, conn)
    status, keys, conn = plain_login(IQN1, None, csg=1)
    refused("skipping the security stage where CHAP is required", status,
            conn)
    status, keys, conn = plain_login(IQN2, "CHAP")
    refused("AuthMethod=CHAP on a target without accounts", status, conn)
    status, keys, conn = plain_login(IQN2, "CHAP,None")
    check("target without accounts answers AuthMethod=None",
          status == 0 and keys.get("AuthMethod") == "None", repr(keys))
    conn.close()
    status, keys, conn = plain_login(IQN1, "KRB5,CHAP,None")
    check("CHAP picked from KRB5,CHAP,None", status == 0 and
          keys.get("AuthMethod") == "CHAP", repr(keys))
    conn.close()


def t_discovery():
    conn = Conn(HOST, PORT)
    chap = Chap("dave", "dave-secret-123", algs="7", mutual=TARGET)
    status = conn.login(chap=chap)
    check("discovery mutual CHAP login", status == 0 and chap.target_ok,
          "0x%04x" % status)
    if status == 0:
        listing = conn.text([("SendTargets", "All")])
        check("SendTargets after discovery CHAP lists both targets",
              IQN1.encode() in listing and IQN2.encode() in listing,
              repr(listing))
    conn.close()
    status, keys, conn = plain_login(None, "None", discovery=True)
    refused("discovery without CHAP while a discovery account is bound",
            status, conn)
    conn = Conn(HOST, PORT)
    status = conn.login(chap=Chap(*ALICE))
    refused("discovery with a target's account", status, conn)


check.run((t_algorithms, t_accounts, t_encodings, t_malformed, t_reflection,
          t_auth_method, t_discovery))
