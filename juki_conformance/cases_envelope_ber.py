"""Envelope cases in codec mode on a signed ``ContentInfo`` in BER (spec/pdu.md R-PDU-52).

A sender writes DER, but RFC 5652 lets the signed content be BER, and ``openssl cms
-sign -stream`` writes the eContent OCTET STRING in constructed form with an indefinite
length. A receiver may open such a message or refuse it (2007); what it must not do is
read the segments' headers as part of the message: the messageDigest attribute covers
the segments' contents only, so an opener that takes the raw contents either refuses a
valid signature (2003) or, worse, opens to other octets.

The runner seals a valid message whose eContent is split into two segments, with an
indefinite and with a definite length, signed over the message as RFC 5652 section 5.4
says. Opened to exactly the message: ``pass``; refused 2007: ``acceptable``; anything
else fails.
"""

from __future__ import annotations

from collections.abc import Callable

from juki_conformance.cases_codec import error_of
from juki_conformance.cases_envelope_backlog import open_request
from juki_conformance.cases_envelope_profile import auth_enveloped, sample_header, signed_data
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.envelope import cms
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages.pdu import Profile


def _segments(message: bytes, indefinite: bool) -> bytes:
    """The eContent OCTET STRING of ``message`` in constructed form, in two segments."""
    half = len(message) // 2
    inner = cms.der_octets(message[:half]) + cms.der_octets(message[half:])
    return b"\x24\x80" + inner + b"\x00\x00" if indefinite else cms.tlv(0x24, inner)


def _opens_or_2007(indefinite: bool) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        header = sample_header()
        message = codec.encode(example("IdentityInfoUpdate", "conformance",
                                       Profile.CURRENT))
        envelope = auth_enveloped(signed_data(message, header,
                                              econtent=_segments(message, indefinite)))
        answer = sut.request("open", **open_request(envelope, header))
        expected = ("opened to the message (the segments' contents joined), or refused "
                    "with 2007 ENVELOPE_MALFORMED")
        if answer.get("ok"):
            if answer.get("message") == message.hex():
                return Outcome(Verdict.PASS, expected, "opened to the message")
            return Outcome(Verdict.FAIL, expected, "opened to other octets than the message")
        code, text = error_of(answer)
        if code == int(ErrorCode.ENVELOPE_MALFORMED):
            return Outcome(Verdict.ACCEPTABLE, expected, f"refused with {text}")
        return Outcome(Verdict.FAIL, expected, f"refused with {text}")
    return run


def envelope_ber_cases() -> list[Case]:
    """The cases of this module."""
    reqs = ("R-PDU-52",)
    rem = ("Read a constructed eContent OCTET STRING as the concatenation of its "
           "segments' contents (RFC 5652 section 5.4), or refuse BER with 2007.")
    return [Case(id=f"pdu/envelope/open/ber-econtent-in-segments-{form}-length",
                 title=f"open: the eContent in two segments, {form} length: opened to the "
                       "message or refused 2007",
                 clause="pdu", requirements=reqs, level=strongest_level(reqs),
                 remediation=rem, mode="codec", ops=("open",),
                 run=_opens_or_2007(form == "indefinite"))
            for form in ("indefinite", "definite")]


__all__ = ["envelope_ber_cases"]
