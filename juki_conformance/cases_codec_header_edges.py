"""The edges of the PDU header's integer range in codec mode (spec/asn1/pdu.asn
``sequenceNumber INTEGER (0..9223372036854775807)``; spec/README.md R-DER-07).

The vectors carry small sequence numbers. A decoder that narrows the range (a signed
32-bit field, a bound of 2^62, an off-by-one at 2^63 - 1) passes them; here a
``JukiPdu`` carries 2^31, 2^32, 2^62 and 2^63 - 1, each of which decodes to its value
and encodes back to the same octets, and 2^63, one past the range, is refused 1015.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from juki_conformance.cases_codec import expect_error
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec, der
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import Profile
from juki_protocol.tools.vectors.vector_cases import replace_at

TOP = 2**63 - 1
EDGES = (2**31, 2**32, 2**62, TOP)
REMEDIATION = ("Hold sequenceNumber in an unsigned 64-bit (or arbitrary) integer: every "
               "value from 0 to 2^63 - 1 is valid; refuse one above with 1015 "
               "CONSTRAINT_VIOLATION.")


def pdu_with_sequence(value: int) -> bytes:
    """The DER of a sample JukiPdu whose header sequenceNumber is ``value`` (any
    non-negative integer, even one past the range: written into the octets)."""
    pdu = example("JukiPdu", "conformance:edges", Profile.CURRENT)
    marker = 0x5A5A5A5A5A5A5A5A
    data = codec.encode(dataclasses.replace(
        pdu, header=dataclasses.replace(pdu.header, sequence_number=marker)), profile=None)
    header = der.parse(data).children[0]
    index = next(i for i, ch in enumerate(header.children)
                 if data[ch.content_start:ch.end] == marker.to_bytes(8, "big"))
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")

    def put(old: bytes) -> bytes:
        return old[:1] + bytes([len(body)]) + body
    return replace_at(data, [0, index], put)


def _decodes(value: int) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        data = pdu_with_sequence(value)
        expected = f"sequenceNumber {value} decoded, and encoded back to the same octets"
        answer = sut.request("decode", type="JukiPdu", der=data.hex())
        if not answer.get("ok"):
            err = answer.get("error") or {}
            return Outcome(Verdict.FAIL, expected,
                           f"decode rejected it: {err.get('code')} {err.get('name')}")
        got = (answer.get("value") or {}).get("header", {}).get("sequence_number")
        if got != value:
            return Outcome(Verdict.FAIL, expected, f"decoded to sequence_number {got!r}")
        back = sut.request("encode", type="JukiPdu", value=answer["value"],
                           profile="current")
        if not back.get("ok") or back.get("der") != data.hex():
            return Outcome(Verdict.FAIL, expected, "encode did not give the same octets")
        return Outcome(Verdict.PASS, expected, "decoded and encoded back")
    return run


def header_edge_cases() -> list[Case]:
    """The cases of this module."""
    cases: list[Case] = [Case(
        id=f"pdu/codec/juki-pdu/sequence-number-{value}", title=f"a header sequenceNumber "
        f"of {value} decodes and encodes back", clause="pdu", requirements=("R-DER-07",),
        level="MUST", remediation=REMEDIATION, mode="codec", ops=("decode", "encode"),
        message_type="JukiPdu", run=_decodes(value)) for value in EDGES]
    cases.append(Case(
        id="pdu/codec/juki-pdu/sequence-number-past-range", title="a header sequenceNumber "
        "of 2^63 is refused 1015", clause="pdu", requirements=("R-DER-07",), level="MUST",
        remediation=REMEDIATION, mode="codec", ops=("decode",), message_type="JukiPdu",
        run=lambda sut: expect_error(sut.request(
            "decode", type="JukiPdu", der=pdu_with_sequence(TOP + 1).hex()),
            int(ErrorCode.CONSTRAINT_VIOLATION))))
    return cases


__all__ = ["header_edge_cases", "pdu_with_sequence"]
