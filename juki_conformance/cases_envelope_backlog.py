"""Envelope cases in codec mode from the second pass over the mutation backlog
(issue 12): the size of a sealed envelope (spec/pdu.md R-PDU-48; spec/asn1/pdu.asn
``sealed OCTET STRING (SIZE (1..16777216))``).

The vectors and the other envelope cases carry envelopes of a few KiB. An implementation
whose limit is wrong, or missing, passes them all. Here the runner builds an envelope,
valid in every other respect, of a 16 MiB message (16 MiB and about 1.4 KiB in all),
which ``open`` must refuse as malformed (2007, R-CONF-11); and asks ``seal`` for the
envelope of a 16 MiB message, which cannot fit: it must refuse, whatever the code, and
must not answer with an envelope longer than 16 MiB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_codec import expect_error
from juki_conformance.cases_envelope_profile import (
    NOW,
    RECIPIENT,
    SENDER,
    auth_enveloped,
    sample_header,
    signed_data,
    world,
)
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.envelope import pki
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
    ]


__all__ = ["envelope_backlog_cases", "open_request"]
