"""The case families written from the mutation backlog (issue 12): their helpers build
the inputs they say, the reference passes every codec-mode case, and a reference with
one rule removed fails the family that checks that rule."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest

from juki_conformance.cases_codec_header_edges import header_edge_cases, pdu_with_sequence
from juki_conformance.cases_codec_tags import appended, identifier, tag_cases
from juki_conformance.cases_envelope_profile import (
    NOW,
    RECIPIENT,
    auth_enveloped,
    der_fault,
    envelope_profile_cases,
    message_of_length,
    sample_header,
    signed_data,
    world,
)
from juki_conformance.cases_node_provision_volume import codes
from juki_conformance.cases_node_wide_area_consistency import sharing
from juki_conformance.model import Case, Verdict
from juki_protocol import identifiers
from juki_protocol.codec import codec, der
from juki_protocol.envelope import envelope as env
from juki_protocol.envelope import pki
from juki_protocol.errors import DecodeError, ErrorCode, JukiError
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import Profile
from juki_protocol.tools.adapter import handle_line


class InProcessAdapter:
    """The reference adapter called in this process (so a test can patch a rule out)."""

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        return handle_line(json.dumps({"op": op, **fields}))


def verdicts(cases: list[Case]) -> dict[str, Verdict]:
    sut = InProcessAdapter()
    return {c.id: c.run(sut).verdict for c in cases}  # type: ignore[arg-type]


# Helpers ------------------------------------------------------------------------------

def test_message_of_length_is_exact_and_valid() -> None:
    for size in (127, 128, 255, 256):
        data = message_of_length(size)
        assert len(data) == size
        codec.decode(data)


def test_der_fault_finds_a_long_form_length() -> None:
    assert der_fault(bytes.fromhex("3003020101")) is None
    assert der_fault(bytes.fromhex("308103020101")) is not None   # 81 03: long form < 128


def test_built_envelope_opens_with_the_reference() -> None:
    header = sample_header()
    message = codec.encode(example("IdentityInfoUpdate", "t", Profile.CURRENT))
    r = world()["nodes"][RECIPIENT]
    trust = pki.TrustStore(anchors=(world()["ca"].certificate,), crls=())
    attrs = (b"\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x09\x03",)
    for envelope in (auth_enveloped(signed_data(message, header)),
                     auth_enveloped(signed_data(message, header), auth_attrs=attrs)):
        assert der_fault(envelope) is None
        opened = env.open_envelope(envelope, [pki.Credential(r.key, r.cert)], trust,
                                   NOW + dt.timedelta(seconds=1), header=header)
        assert opened.message_der == message


def test_identifier_octets() -> None:
    assert identifier(29) == b"\x9d"
    assert identifier(31) == b"\x9f\x1f"
    assert identifier(133, constructed=True) == b"\xbf\x81\x05"
    assert identifier(16384) == b"\x9f\x81\x80\x00"
    assert identifier(29, force_high=True) == b"\x9f\x1d"
    assert identifier(31, leading_zero=True) == b"\x9f\x80\x1f"


def test_appended_recomputes_the_length() -> None:
    data = codec.encode(example("Acknowledgement", "t", Profile.CURRENT))
    longer = appended(data, b"\x9f\x81\x05\x01\x00" * 30)
    top = der.parse(longer)
    assert top.end == len(longer) and longer.startswith(data[:1])


def test_pdu_with_sequence_edges() -> None:
    assert codec.decode(pdu_with_sequence(2**62)).header.sequence_number == 2**62
    with pytest.raises(JukiError) as info:
        codec.decode(pdu_with_sequence(2**63))
    assert info.value.error_code is ErrorCode.CONSTRAINT_VIOLATION


def test_codes_are_distinct_and_valid() -> None:
    got = codes(random.Random(1), 100)
    assert len(set(got)) == 100
    for code in got:
        identifiers.validate_resident_code(code)


def test_sharing_finds_two_persons() -> None:
    from juki_protocol.fixtures.synth import generate_households
    first, second, index = sharing("271004", "t", lambda p: p.birth_date)
    a = generate_households(1, first, municipalities=["271004"])[0].members
    b = generate_households(1, second, municipalities=["271004"])[0].members[index]
    assert first != second and b.birth_date in {m.birth_date for m in a}


# The reference passes; a reference without one rule fails its family -----------------

def test_reference_passes_the_codec_families() -> None:
    got = verdicts(envelope_profile_cases() + tag_cases() + header_edge_cases())
    assert got and all(v is Verdict.PASS for v in got.values()), \
        {k: v for k, v in got.items() if v is not Verdict.PASS}


def test_an_opener_without_the_wrap_check_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = env._check_key_agree_profile

    def lenient(kari: Any) -> None:
        if kari.wrap_oid != "2.16.840.1.101.3.4.1.45":
            return           # the fault: any key wrap is taken
        checks(kari)
    monkeypatch.setattr(env, "_check_key_agree_profile", lenient)
    wraps = [c for c in envelope_profile_cases() if "/key-wrap-" in c.id]
    assert wraps and set(verdicts(wraps).values()) == {Verdict.FAIL}


def test_a_decoder_without_high_tags_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    strict = der.parse

    def low_tags_only(data: bytes) -> der.Tlv:
        top = strict(data)
        stack = [top]
        while stack:
            tlv = stack.pop()
            if tlv.number >= 31:      # the fault: the high-tag-number form refused
                raise DecodeError("high tag", code=ErrorCode.DER_NON_CANONICAL,
                                  offset=tlv.start)
            stack += tlv.children
        return top
    monkeypatch.setattr(der, "parse", low_tags_only)
    got = verdicts([c for c in tag_cases() if c.id.endswith("-skipped")])
    assert got and set(got.values()) == {Verdict.FAIL}
