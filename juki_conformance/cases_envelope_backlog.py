"""Envelope cases in codec mode from the second pass over the mutation backlog
(issue 12): the size of a sealed envelope (spec/pdu.md R-PDU-48; spec/asn1/pdu.asn
``sealed OCTET STRING (SIZE (1..16777216))``).

The vectors and the other envelope cases carry envelopes of a few KiB. An implementation
whose limit is wrong, or missing, passes them all. Here the runner builds an envelope,
valid in every other respect, of a 16 MiB message (16 MiB and about 1.4 KiB in all),
which ``open`` must refuse as malformed (2007, R-CONF-11); and asks ``seal`` for the
envelope of a 16 MiB message, which cannot fit: it must refuse, whatever the code, and
must not answer with an envelope longer than 16 MiB.

And the freshness of the revocation list (spec/pdu.md R-PDU-49): the envelope vectors'
CRLs are current at every vector's time, so an opener that never compares the time with
the list's nextUpdate, or compares it the wrong way, passes them. Here ``open`` gets a
valid envelope and a CRL of the network CA that revokes another certificate, with
``now`` an hour before the list's nextUpdate and at it (it must open) and one second
after it (it must refuse, 2018).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

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
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.pdu import PduHeader

#: The longest envelope (spec/asn1/pdu.asn, ``sealed``).
MAX_ENVELOPE = 16 * 1024 * 1024
REMEDIATION = (
    "Refuse an envelope longer than 16 MiB (16,777,216 octets) before opening it, as "
    "2007 ENVELOPE_MALFORMED, and refuse to seal a message whose envelope would be "
    "longer (R-PDU-48).")


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


def _seal_too_long(sut: AdapterSut) -> Outcome:
    w = world()
    s, r = w["nodes"][SENDER], w["nodes"][RECIPIENT]
    answer = sut.request("seal", header=codec.to_json(sample_header()),
                         message=(b"\x00" * MAX_ENVELOPE).hex(),
                         senderKey=pki.key_pem(s.key).decode(),
                         senderCert=pki.cert_pem(s.cert).decode(),
                         recipientCert=pki.cert_pem(r.cert).decode(),
                         now=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expected = "seal refused (any registered code): the envelope cannot fit in 16 MiB"
    if answer.get("ok"):
        size = len(str(answer.get("envelope") or "")) // 2
        return Outcome(Verdict.FAIL, expected, f"sealed into an envelope of {size} octets")
    err = answer.get("error") or {}
    return Outcome(Verdict.PASS, expected, f"refused with {err.get('code')} {err.get('name')}")


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
    crl = ca.build_crl(w["ca"], [ca.RevokedCertificate(serial=999, revoked_at=NOW)],
                        this_update=NOW - dt.timedelta(hours=1),
                        next_update=CRL_NEXT_UPDATE, number=7)
    expected = ("opened with now an hour before the CRL's nextUpdate and at it; refused "
                "with 2018 CRL_INVALID one second after it")
    for late, when in ((False, NOW), (False, CRL_NEXT_UPDATE),
                       (True, CRL_NEXT_UPDATE + dt.timedelta(seconds=1))):
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
        Case(id="pdu/envelope/open/crl-past-next-update-refused",
             title="an envelope opened before or at the CRL's nextUpdate is opened, one "
             "opened a second after it refused 2018", clause="pdu",
             requirements=("R-PDU-49", "R-PDU-31", "R-CONF-11"), level="MUST",
             remediation=REM_CRL, mode="codec", ops=("open",), run=_crl_freshness),
    ]


__all__ = ["envelope_backlog_cases", "open_request"]
