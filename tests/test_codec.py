"""Codec: exact round trips both ways for every type, strict decoding, profiles."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juki_protocol.codec import codec
from juki_protocol.codec.schema import APPLICATION_TAGS
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.samples import PROFILED_TYPES, edge_cases, samples
from juki_protocol.messages import MESSAGE_TYPES, PersonName, Profile

ALL_TYPES = list(MESSAGE_TYPES)


def _hexdiff(a: bytes, b: bytes) -> str:
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    return f"first difference at offset {i}: {a[i:i + 16].hex()} != {b[i:i + 16].hex()}"


def assert_round_trip(msg: Any, profile: Profile) -> bytes:
    data = codec.encode(msg, profile)
    back = codec.decode(data, type(msg).__name__, profile)
    assert back == msg
    again = codec.encode(back, profile)
    assert again == data, _hexdiff(again, data)
    via_json = codec.from_json(type(msg).__name__, codec.to_json(msg))
    assert via_json == msg
    return data


@pytest.mark.parametrize("type_name", ALL_TYPES)
@pytest.mark.parametrize("profile", list(Profile))
def test_samples_round_trip(type_name: str, profile: Profile) -> None:
    for sample in samples(type_name, "t", profile):
        data = assert_round_trip(sample.message, profile)
        assert data[0] & 0xE0 == 0x60  # APPLICATION, constructed
        assert codec.decode_full(data).type_name == type_name


def test_edge_case_names_round_trip() -> None:
    cases = edge_cases("t")
    assert len(cases) >= 10
    for sample in cases:
        assert_round_trip(sample.message, sample.profile)


def test_application_tags_are_distinct_and_match_message_type() -> None:
    from juki_protocol.messages import MessageType

    assert len(set(APPLICATION_TAGS.values())) == len(APPLICATION_TAGS)
    numbers = {"moveInNotice": 1, "wideAreaIssuanceRequest": 2,
               "wideAreaIssuanceResponse": 3, "specialMoveInNotice": 4,
               "moveOutCertificate": 5, "identityInfoUpdate": 6, "identityInfoRelay": 7,
               "provisionRequest": 8, "provisionResponse": 9, "acknowledgement": 20,
               "errorReport": 21, "familyRegisterNotice": 12,
               "codeDesignationRequest": 14, "codeDesignation": 15,
               "cardApplication": 16, "cardIssueNotice": 17, "cardStatusNotice": 18,
               "cardStatusQuery": 19, "cardStatusAnswer": 22}
    for mt in MessageType:
        assert APPLICATION_TAGS[mt.type_name] == numbers[mt.value]


def _rename(obj: Any, name: PersonName) -> Any:
    """Replace every PersonName in a message tree by ``name``."""
    if isinstance(obj, PersonName):
        return name
    if dataclasses.is_dataclass(obj):
        changes = {f.name: _rename(getattr(obj, f.name), name)
                   for f in dataclasses.fields(obj)}
        return dataclasses.replace(obj, **changes)
    if isinstance(obj, tuple):
        return tuple(_rename(v, name) for v in obj)
    return obj


kanji = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn")),
                min_size=1, max_size=100)
kana = st.text(st.characters(min_codepoint=0x30A1, max_codepoint=0x30FA),
               min_size=1, max_size=100).flatmap(
    lambda letters: st.sampled_from(["", "ー", "・", "\u3000"]).map(lambda s: letters + s))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(type_name=st.sampled_from(ALL_TYPES), seed=st.integers(0, 10**6),
       profile=st.sampled_from(list(Profile)), which=st.integers(0, 1),
       name=st.builds(PersonName, kanji=kanji, kana=st.none() | kana))
def test_generated_values_round_trip(type_name: str, seed: int, profile: Profile,
                                     which: int, name: PersonName) -> None:
    msg = samples(type_name, seed, profile)[which].message
    try:
        msg = _rename(msg, name)
    except JukiError:
        # A renamed household can break a uniqueness rule; the seed alone still varies.
        pass
    assert_round_trip(msg, profile)


def test_profile_rules() -> None:
    msg = samples("IdentityInfoUpdate", "p", Profile.CURRENT)[1].message
    with pytest.raises(JukiError) as exc:
        codec.encode(msg, Profile.P2002)
    assert exc.value.error_code is ErrorCode.PROFILE_VIOLATION
    assert exc.value.field == "identity_info.individual_number"
    old = samples("IdentityInfoUpdate", "p", Profile.P2002)[1].message
    data = codec.encode(old, Profile.P2002)
    with pytest.raises(JukiError) as exc:
        codec.decode(data, profile=Profile.CURRENT)
    assert exc.value.error_code is ErrorCode.PROFILE_VIOLATION


@pytest.mark.parametrize("type_name", sorted(PROFILED_TYPES))
def test_2002_decoder_reads_current_messages(type_name: str) -> None:
    """individualNumber is an extension addition: without it the rest still decodes."""
    msg = samples(type_name, "x", Profile.CURRENT)[1].message
    decoded = codec.decode_full(codec.encode(msg))
    assert decoded.message == msg and decoded.unknown_extensions == 0


def test_wrong_type_is_rejected_with_tag_error() -> None:
    data = codec.encode(samples("MoveInNotice", "w")[0].message)
    with pytest.raises(JukiError) as exc:
        codec.decode(data, "SpecialMoveInNotice")
    assert exc.value.error_code is ErrorCode.DER_UNEXPECTED_TAG


def test_unknown_type_name() -> None:
    with pytest.raises(JukiError) as exc:
        codec.decode(b"\x30\x00", "NoSuchType")
    assert exc.value.error_code is ErrorCode.UNKNOWN_MESSAGE_TYPE


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_TYPES), st.binary(max_size=300), st.integers(0, 400))
def test_mutated_der_never_crashes(type_name: str, noise: bytes, cut: int) -> None:
    """Any bytes give a message or a registered error: never another exception."""
    base = codec.encode(samples(type_name, "m")[1].message)
    candidates = [noise, base[:cut] + noise, base[:cut] + noise[:3] + base[cut + 3:]]
    for data in candidates:
        try:
            codec.decode(data, type_name)
        except JukiError as exc:
            assert isinstance(exc.error_code, ErrorCode)
        try:
            codec.decode(data)
        except JukiError as exc:
            assert isinstance(exc.error_code, ErrorCode)


def test_json_unknown_key_named() -> None:
    obj = codec.to_json(samples("Acknowledgement", "j")[0].message)
    obj["acknowledged_by"] = "x"
    with pytest.raises(JukiError) as exc:
        codec.from_json("Acknowledgement", obj)
    assert exc.value.error_code is ErrorCode.INVALID_JSON
    assert exc.value.field == "acknowledged_by"


def test_json_missing_and_bad_fields_named() -> None:
    obj = codec.to_json(samples("IdentityInfoUpdate", "j")[0].message)
    del obj["identity_info"]["sex"]
    with pytest.raises(JukiError) as exc:
        codec.from_json("IdentityInfoUpdate", obj)
    assert exc.value.field == "identity_info.sex"
    obj = codec.to_json(samples("IdentityInfoUpdate", "j")[0].message)
    obj["identity_info"]["birth_date"] = "2026-02-30"
    with pytest.raises(JukiError) as exc:
        codec.from_json("IdentityInfoUpdate", obj)
    assert exc.value.error_code is ErrorCode.INVALID_DATE
    assert exc.value.field == "identity_info.birth_date"
    obj = codec.to_json(samples("IdentityInfoUpdate", "j")[0].message)
    obj["identity_info"]["resident_code"] = "12345678904"
    with pytest.raises(JukiError) as exc:
        codec.from_json("IdentityInfoUpdate", obj)
    assert exc.value.error_code is ErrorCode.INVALID_RESIDENT_CODE
    assert exc.value.field == "identity_info.resident_code"


def test_bad_json_text() -> None:
    with pytest.raises(JukiError) as exc:
        codec.from_json_text("Acknowledgement", "{not json")
    assert exc.value.error_code is ErrorCode.INVALID_JSON


def test_header_time_must_be_utc_whole_seconds() -> None:
    pdu = samples("JukiPdu", "h")[0].message
    with pytest.raises(JukiError, match="whole seconds"):
        dataclasses.replace(pdu.header, time=pdu.header.time.replace(microsecond=5))
    with pytest.raises(JukiError, match="UTC"):
        dataclasses.replace(pdu.header, time=dt.datetime(2026, 1, 1))


def test_encode_rejects_constraint_violation_with_code() -> None:
    msg = samples("ErrorReport", "c")[1].message
    object.__setattr__(msg, "detail", "x" * 300)  # bypass validation on purpose
    with pytest.raises(JukiError) as exc:
        codec.encode(msg)
    assert exc.value.error_code is ErrorCode.CONSTRAINT_VIOLATION


def test_prefecture_never_receives_family_register_field() -> None:
    """Data minimisation by construction: identity messages have no such field."""
    import juki_protocol.codec.schema as schema

    text = (schema.asn1_files()[0].parent / "identity.asn").read_text(encoding="utf-8")
    common = (schema.asn1_files()[0].parent / "common.asn").read_text(encoding="utf-8")
    identity_info = common.split("IdentityInfo ::=")[1].split("}")[0]
    for forbidden in ("relationship", "familyRegister", "household"):
        assert forbidden not in text and forbidden not in identity_info


@pytest.mark.parametrize("bad", ["ab cd", "abc", "zz", "0x" + "ab" * 15, "ab-cd"])
def test_json_hex_must_be_digit_pairs(bad: str) -> None:
    """R-JSON-05: anything but an even number of hex digits is rejected."""
    obj = codec.to_json(samples("Acknowledgement", "j")[0].message)
    obj["acknowledged_id"] = bad
    with pytest.raises(JukiError) as exc:
        codec.from_json("Acknowledgement", obj)
    assert exc.value.error_code is ErrorCode.INVALID_JSON


def test_json_hex_reader_accepts_uppercase_writer_uses_lowercase() -> None:
    msg = samples("Acknowledgement", "j")[0].message
    obj = codec.to_json(msg)
    assert obj["acknowledged_id"] == msg.acknowledged_id.hex()
    obj["acknowledged_id"] = obj["acknowledged_id"].upper()
    assert codec.from_json("Acknowledgement", obj) == msg


@pytest.mark.parametrize("bad", ["2026-4-1T9:0:0Z", "2026-04-01T09:00:00", "2026-04-01 09:00:00Z",
                                 "2026-04-01T09:00:00+00:00"])
def test_json_time_form_is_strict(bad: str) -> None:
    obj = codec.to_json(samples("JukiPdu", "t")[0].message)
    obj["header"]["time"] = bad
    with pytest.raises(JukiError) as exc:
        codec.from_json("JukiPdu", obj)
    assert exc.value.error_code is ErrorCode.INVALID_JSON
    assert exc.value.field == "header.time"


def test_record_copy_must_be_of_the_residence_municipality() -> None:
    resp = samples("WideAreaIssuanceResponse", "r")[1].message
    obj = codec.to_json(resp)
    obj["copies"][0]["address"]["local_gov_code"] = "131016"
    with pytest.raises(JukiError) as exc:
        codec.from_json("WideAreaIssuanceResponse", obj)
    assert exc.value.field == "copies[0].address.local_gov_code"


@pytest.mark.parametrize(("kind", "code", "ok"), [
    ("prefecture", "270008", True), ("prefecture", "271004", False),
    ("municipality", "270008", False), ("prefectureOrgan", "130001", True),
])
def test_requesting_body_code_matches_kind(kind: str, code: str, ok: bool) -> None:
    obj = codec.to_json(samples("ProvisionRequest", "b")[0].message)
    basis = {"prefecture": "centerToPrefecture", "municipality": "centerToMunicipality",
             "prefectureOrgan": "prefOwnUse"}[kind]
    obj["requester"] = {"kind": kind, "code": code}
    obj["legal_basis"] = basis
    if ok:
        assert codec.from_json("ProvisionRequest", obj).requester.code == code
    else:
        with pytest.raises(JukiError) as exc:
            codec.from_json("ProvisionRequest", obj)
        assert exc.value.error_code is ErrorCode.INVALID_NODE_ID
