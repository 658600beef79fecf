"""Envelope cases in codec mode from the second pass over the mutation backlog
(issue 12): the size of a sealed envelope (spec/pdu.md R-PDU-48; spec/asn1/pdu.asn
``sealed OCTET STRING (SIZE (1..16777216))``).

The vectors and the other envelope cases carry envelopes of a few KiB. An implementation
whose limit is wrong, or missing, passes them all. Here the runner builds an envelope,
valid in every other respect, of a 16 MiB message (16 MiB and about 1.4 KiB in all),
which ``open`` must refuse as malformed (2007, R-CONF-11); and asks ``seal`` for the
envelope of a 16 MiB message, which cannot fit: it must refuse, whatever the code, and
must not answer with an envelope longer than 16 MiB. At the bound R-PDU-48 sets on the
message, 16 MiB less 64 KiB, ``seal`` must give an envelope of at most 16 MiB that opens
to the message, and must refuse a message of one octet more: a sender whose bound is
off by one, or lower, fails.

And the freshness of the revocation list (spec/pdu.md R-PDU-49): the envelope vectors'
CRLs are current at every vector's time, so an opener that never compares the time with
the list's nextUpdate, or compares it the wrong way, passes them. Here ``open`` gets a
valid envelope and a CRL of the network CA that revokes another certificate, with
``now`` an hour before the list's nextUpdate and at it (it must open) and one second
after it (it must refuse, 2018).

And the private key that ``seal`` and ``open`` are given (spec/pdu.md R-PDU-51): an
encrypted PKCS #8 key (the request carries no passphrase) and a PEM block that holds no
key are refused 2017, a P-384 key 2005; an adapter that lets the key library's error
through answers with another code, or none. And the JSON header of both ops (spec/json.md
R-JSON-02): a key that is not a field, or a required one missing, at the top of the
header or in its sender, is refused 1030, as in any other JSON value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from juki_conformance.cases_codec import expect_error
from juki_conformance.cases_envelope_profile import (
    NOW,
    RECIPIENT,
    SENDER,
    auth_enveloped,
    message_of_length,
    sample_header,
    signed_data,
    world,
)
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.envelope import ca, pki
from juki_protocol.envelope import envelope as env
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.messages.pdu import PduHeader

#: The longest envelope (spec/asn1/pdu.asn, ``sealed``).
MAX_ENVELOPE = 16 * 1024 * 1024
#: The longest message a sender must seal; one octet more it must refuse (R-PDU-48:
#: 16 MiB less 64 KiB).
MAX_MESSAGE = MAX_ENVELOPE - 64 * 1024
REMEDIATION = (
    "Refuse an envelope longer than 16 MiB (16,777,216 octets) before opening it, as "
    "2007 ENVELOPE_MALFORMED; seal any message of at most 16,711,680 octets (16 MiB "
    "less 64 KiB) and refuse to seal a longer one (R-PDU-48).")


def open_request(envelope: bytes, header: PduHeader) -> dict[str, Any]:
    """The fields of an ``open`` request for ``envelope`` sealed to the recipient of
    :func:`juki_conformance.cases_envelope_profile.world`, as it would arrive 1 s
    after ``NOW``."""
    w = world()
    r = w["nodes"][RECIPIENT]
    return {"envelope": envelope.hex(), "header": codec.to_json(header), "preceding": [],
            "credentials": [{"certificate": pki.cert_pem(r.cert).decode(),
                             "privateKey": pki.key_pem(r.key).decode()}],
            "trustAnchors": [pki.cert_pem(w["ca"].certificate).decode()], "crls": [],
            "now": (NOW + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timeWindowSeconds": 300}


def _open_too_long(sut: AdapterSut) -> Outcome:
    header = sample_header()
    envelope = auth_enveloped(signed_data(b"\x00" * MAX_ENVELOPE, header))
    assert len(envelope) > MAX_ENVELOPE
    return expect_error(sut.request("open", **open_request(envelope, header)),
                        int(ErrorCode.ENVELOPE_MALFORMED))


def _seal_request(header: PduHeader, message: bytes) -> dict[str, Any]:
    w = world()
    s, r = w["nodes"][SENDER], w["nodes"][RECIPIENT]
    return {"header": codec.to_json(header), "message": message.hex(),
            "senderKey": pki.key_pem(s.key).decode(),
            "senderCert": pki.cert_pem(s.cert).decode(),
            "recipientCert": pki.cert_pem(r.cert).decode(),
            "now": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _seal_too_long(sut: AdapterSut) -> Outcome:
    answer = sut.request("seal", **_seal_request(sample_header(), b"\x00" * MAX_ENVELOPE))
    expected = "seal refused (any registered code): the envelope cannot fit in 16 MiB"
    if answer.get("ok"):
        size = len(str(answer.get("envelope") or "")) // 2
        return Outcome(Verdict.FAIL, expected, f"sealed into an envelope of {size} octets")
    err = answer.get("error") or {}
    return Outcome(Verdict.PASS, expected, f"refused with {err.get('code')} {err.get('name')}")


def _seal_at_limit(sut: AdapterSut) -> Outcome:
    """R-PDU-48: a message of exactly 16 MiB less 64 KiB is sealed, into an envelope of
    at most 16 MiB that opens to it; one of an octet more is refused."""
    expected = (f"a message of {MAX_MESSAGE} octets sealed into an envelope that opens to "
                f"it; one of {MAX_MESSAGE + 1} octets refused (any registered code)")
    message = bytes(range(256)) * (MAX_MESSAGE // 256)
    header = sample_header()
    answer = sut.request("seal", **_seal_request(header, message))
    if not answer.get("ok"):
        err = answer.get("error") or {}
        return Outcome(Verdict.FAIL, expected, f"the message of {MAX_MESSAGE} octets was "
                       f"refused with {err.get('code')} {err.get('name')}")
    try:
        envelope = bytes.fromhex(str(answer.get("envelope")))
    except ValueError:
        return Outcome(Verdict.FAIL, expected, "the envelope is not hex")
    if len(envelope) > MAX_ENVELOPE:
        return Outcome(Verdict.FAIL, expected, f"sealed into an envelope of "
                       f"{len(envelope)} octets, longer than 16 MiB")
    w = world()
    r = w["nodes"][RECIPIENT]
    try:
        opened = env.open_envelope(
            envelope, [pki.Credential(r.key, r.cert)],
            pki.TrustStore(anchors=(w["ca"].certificate,), crls=()),
            NOW + dt.timedelta(seconds=1), header=header)
    except JukiError as exc:
        return Outcome(Verdict.FAIL, expected, f"the envelope does not open: "
                       f"{int(exc.error_code)} {exc.error_code.name}")
    if opened.message_der != message:
        return Outcome(Verdict.FAIL, expected, "the envelope opens to another message")
    longer = sut.request("seal", **_seal_request(header, message + b"\x00"))
    if longer.get("ok"):
        return Outcome(Verdict.FAIL, expected, f"the message of {MAX_MESSAGE + 1} octets "
                       f"was sealed")
    return Outcome(Verdict.PASS, expected, "sealed at the limit, refused one over")


# The private key of seal and open (R-PDU-51) ----------------------------------------------

def _bad_keys() -> tuple[tuple[str, str, str, int], ...]:
    """(slug, what, PEM, code) of the private keys an adapter must refuse: encrypted
    (PKCS #8 with a passphrase the request cannot give), unreadable, and on P-384."""
    key = world()["nodes"][SENDER].key
    encrypted = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"not-given"))
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    cert_invalid, algorithm = int(ErrorCode.CERT_INVALID), int(ErrorCode.ALGORITHM_UNSUPPORTED)
    return (("encrypted", "an encrypted PKCS #8 key", encrypted.decode(), cert_invalid),
            ("unreadable", "a PEM block that holds no key",
             "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", cert_invalid),
            ("p384", "a P-384 key", p384.decode(), algorithm))


def _bad_key_run(op: str, pem: str, code: int) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        header = sample_header()
        if op == "seal":
            request = {**_seal_request(header, message_of_length(200)), "senderKey": pem}
        else:
            request = open_request(auth_enveloped(signed_data(message_of_length(200),
                                                              header)), header)
            request["credentials"] = [{**request["credentials"][0], "privateKey": pem}]
        return expect_error(sut.request(op, **request), code)
    return run


REM_KEY = ("Load the private key of seal and open as a P-256 PEM key without a passphrase; "
           "refuse an unreadable or encrypted one with 2017 CERT_INVALID and one on another "
           "curve with 2005 ALGORITHM_UNSUPPORTED, never with an internal error (R-PDU-51).")


def key_cases() -> list[Case]:
    """Each bad private key given to seal and to open."""
    return [Case(id=f"pdu/envelope/{op}/{slug}-private-key-refused",
                 title=f"{op} with {what} as its private key is refused {code}",
                 clause="pdu", requirements=("R-PDU-51",), level="MUST",
                 remediation=REM_KEY, mode="codec", ops=(op,),
                 run=_bad_key_run(op, pem, code))
            for op in ("seal", "open") for slug, what, pem, code in _bad_keys()]


# The JSON header of seal and open (R-JSON-02) --------------------------------------------

#: (slug, what, change to the header's JSON form).
HEADER_SHAPES: tuple[tuple[str, str, Callable[[dict[str, Any]], None]], ...] = (
    ("header-unknown-key", "a key that is not a field of PduHeader",
     lambda h: h.update(note="x")),
    ("header-time-missing", "no time (a required field)", lambda h: h.pop("time")),
    ("header-sender-unknown-key", "a key that is not a field of NodeId in its sender",
     lambda h: h["sender"].update(note="x")),
    ("header-sender-code-missing", "no code in its sender (a required field)",
     lambda h: h["sender"].pop("code")),
)


def _header_shape_run(op: str, change: Callable[[dict[str, Any]], None]
                      ) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        header = sample_header()
        if op == "seal":
            request = _seal_request(header, message_of_length(200))
        else:
            request = open_request(auth_enveloped(signed_data(message_of_length(200),
                                                              header)), header)
        change(request["header"])
        return expect_error(sut.request(op, **request), int(ErrorCode.INVALID_JSON))
    return run


REM_HEADER = ("Read the header of seal and open by spec/json.md like any JSON value: refuse "
              "a key that is not a field, or a missing required one, at every depth, with "
              "1030 INVALID_JSON (R-JSON-02).")


def header_shape_cases() -> list[Case]:
    """A header JSON form with an unknown or a missing key, given to seal and to open."""
    return [Case(id=f"pdu/envelope/{op}/{slug}-refused",
                 title=f"{op} with a header that has {what} is refused 1030",
                 clause="json", requirements=("R-JSON-02",), level="MUST",
                 remediation=REM_HEADER, mode="codec", ops=(op,),
                 run=_header_shape_run(op, change))
            for op in ("seal", "open") for slug, what, change in HEADER_SHAPES]


#: The revocation list's nextUpdate in the freshness case: an hour after the header time.
CRL_NEXT_UPDATE = NOW + dt.timedelta(hours=1)
REM_CRL = (
    "Compare the time you open an envelope at with the nextUpdate of the revocation list "
    "you check the signer against: after it the list has lapsed and the envelope is "
    "refused with 2018 CRL_INVALID; at it or before, the list is current (R-PDU-49, "
    "RFC 5280 section 6.3.3).")


def _crl_freshness(sut: AdapterSut) -> Outcome:
    """R-PDU-49: opened with ``now`` before the CRL's nextUpdate and at it, refused 2018
    one second after it."""
    w = world()

    def fresh() -> Any:       # another list's octets: an opener's cache cannot answer
        return ca.build_crl(w["ca"], [ca.RevokedCertificate(serial=999, revoked_at=NOW)],
                            this_update=NOW - dt.timedelta(hours=1),
                            next_update=CRL_NEXT_UPDATE, number=7)
    expected = ("opened with now an hour before the CRL's nextUpdate and at it; refused "
                "with 2018 CRL_INVALID one second after it")
    # Each list first seen at the time it is checked at; the last open reuses the
    # second's list, so that a validation cached past nextUpdate shows too.
    at_next, before = fresh(), fresh()
    for late, when, crl in ((False, CRL_NEXT_UPDATE, at_next), (False, NOW, before),
                            (True, CRL_NEXT_UPDATE + dt.timedelta(seconds=1), before)):
        # The header time stays within the time window of ``now`` (R-PDU-16).
        header = dataclasses.replace(sample_header(), time=when - dt.timedelta(seconds=1))
        envelope = auth_enveloped(signed_data(message_of_length(200), header))
        request = {**open_request(envelope, header), "crls": [pki.crl_pem(crl).decode()],
                   "now": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
        answer = sut.request("open", **request)
        if late:
            outcome = expect_error(answer, int(ErrorCode.CRL_INVALID))
            if outcome.verdict is not Verdict.PASS:
                return Outcome(outcome.verdict, expected,
                               f"1 s after nextUpdate: {outcome.actual}")
        elif not answer.get("ok"):
            err = answer.get("error") or {}
            return Outcome(Verdict.FAIL, expected, f"at {when.isoformat()}, not after "
                           f"nextUpdate: refused with {err.get('code')} {err.get('name')}")
    return Outcome(Verdict.PASS, expected, "opened at nextUpdate, 2018 after it")


def envelope_backlog_cases() -> list[Case]:
    """The cases of this module."""
    def case(cid: str, title: str, ops: tuple[str, ...],
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return Case(id=cid, title=title, clause="pdu", requirements=("R-PDU-48",),
                    level="MUST", remediation=REMEDIATION, mode="codec", ops=ops, run=run)
    return [
        case("pdu/envelope/open/longer-than-16-mib-refused",
             "an envelope of a 16 MiB message, longer than 16 MiB, is refused 2007",
             ("open",), _open_too_long),
        case("pdu/envelope/seal/longer-than-16-mib-refused",
             "seal refuses a message whose envelope would be longer than 16 MiB",
             ("seal",), _seal_too_long),
        case("pdu/envelope/seal/message-at-the-limit-sealed-one-over-refused",
             "seal seals a message of 16 MiB less 64 KiB and refuses one of an octet more",
             ("seal",), _seal_at_limit),
        Case(id="pdu/envelope/open/crl-past-next-update-refused",
             title="an envelope opened before or at the CRL's nextUpdate is opened, one "
             "opened a second after it refused 2018", clause="pdu",
             requirements=("R-PDU-49", "R-PDU-31", "R-CONF-11"), level="MUST",
             remediation=REM_CRL, mode="codec", ops=("open",), run=_crl_freshness),
        *key_cases(),
        *header_shape_cases(),
    ]


__all__ = ["envelope_backlog_cases", "open_request"]
