"""The fast CMS parsers agree with the asn1crypto parsers wherever they answer.

juki_protocol.envelope.cms parses the profile's layout directly from strict DER and leaves
everything else to asn1crypto. Whenever the fast parser returns, its result must be
exactly what the asn1crypto parser returns; whenever asn1crypto refuses an input, the
fast parser must not have accepted it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juki_protocol.codec import der
from juki_protocol.envelope import cms, cms_fast, envelope, pki
from juki_protocol.errors import SecurityError

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "envelope.json"


def _outcome(parse: Callable[[bytes], Any], data: bytes) -> tuple[str, Any]:
    try:
        return "ok", parse(data)
    except SecurityError as exc:
        return "error", exc.error_code


def _agree(fast: Callable[[bytes, Any], Any], slow: Callable[[bytes], Any],
           data: bytes) -> bool:
    """Assert agreement; return whether the fast parser answered."""
    answer = cms_fast.attempt(fast, data)
    kind, expected = _outcome(slow, data)
    if answer is None:
        return False
    assert kind == "ok", f"fast parser accepted what asn1crypto refuses ({expected})"
    assert answer == expected
    return True


def _vector_groups() -> list[dict[str, Any]]:
    doc: dict[str, Any] = json.loads(VECTORS.read_text())
    return list(doc["testGroups"])


def _envelopes() -> list[bytes]:
    return [bytes.fromhex(t["envelope"]) for g in _vector_groups() for t in g["tests"]]


def _inner_signed_data() -> list[bytes]:
    out = []
    for group in _vector_groups():
        creds = [pki.Credential(pki.load_private_key(c["privateKey"].encode()),
                                pki.load_certificate(c["certificate"].encode()))
                 for c in group["recipientCredentials"]]
        for t in group["tests"]:
            try:
                inner, _ = envelope._decrypt(bytes.fromhex(t["envelope"]), creds)
            except SecurityError:
                continue
            out.append(inner)
    return out


ENVELOPES = _envelopes()
INNER = _inner_signed_data()


def test_vectors_parse_the_same_both_ways() -> None:
    answered = sum(_agree(cms_fast.auth_enveloped, cms.parse_auth_enveloped_asn1crypto, e)
                   for e in ENVELOPES)
    assert answered >= len(ENVELOPES) // 2      # the common layout is the fast one
    assert INNER
    answered = sum(_agree(cms_fast.signed_data, cms.parse_signed_data_asn1crypto, i)
                   for i in INNER)
    assert answered >= len(INNER) // 2


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for index, value in edits:
        out[index % len(out)] = value
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                 max_size=3)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ENVELOPES), EDITS)
def test_mutated_envelopes_parse_the_same_both_ways(data: bytes,
                                                    edits: list[tuple[int, int]]) -> None:
    _agree(cms_fast.auth_enveloped, cms.parse_auth_enveloped_asn1crypto,
           _mutate(data, edits))


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(INNER), EDITS)
def test_mutated_signed_data_parse_the_same_both_ways(data: bytes,
                                                      edits: list[tuple[int, int]]) -> None:
    _agree(cms_fast.signed_data, cms.parse_signed_data_asn1crypto, _mutate(data, edits))


def test_ber_is_left_to_asn1crypto() -> None:
    data = INNER[0]
    # The outer SEQUENCE with an indefinite length: BER, which RFC 5652 allows.
    root = der.parse(data)
    content = data[root.content_start:root.end]
    ber = b"\x30\x80" + content + b"\x00\x00"
    assert cms_fast.attempt(cms_fast.signed_data, ber) is None
    assert cms.parse_signed_data(ber) == cms.parse_signed_data(data)


def test_oid_text_matches_the_writer() -> None:
    for oid in (cms.ID_DATA, cms.ID_AUTH_ENVELOPED_DATA, cms.DH_STD_SHA1KDF,
                envelope.JUKI_ARC + ".1.5", "0.0", "1.39.1", "2.999.1"):
        encoded = cms.der_oid(oid)
        assert cms_fast.oid_text(encoded[2:]) == oid


def test_der_oid_is_cached_and_unchanged() -> None:
    assert cms.der_oid(cms.ID_SHA256) is cms.der_oid(cms.ID_SHA256)
    assert cms.der_oid(cms.ID_SHA256).hex() == "0609608648016503040201"
    with pytest.raises(ValueError):
        cms.der_oid("3.1")


# Attribute values and GCM parameters ------------------------------------------------------

READERS = [cms.read_octets, cms.read_utf8, cms.read_enum, cms.read_oid, cms.read_time,
           cms.parse_gcm_parameters]


def _slow_outcome(read: Callable[[bytes], Any], value: bytes,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    with monkeypatch.context() as m:
        m.setattr(cms_fast, "primitive", lambda value, tag: None)
        m.setattr(cms_fast, "time_value", lambda value: None)
        m.setattr(cms_fast, "attempt", lambda parser, data: None)
        return _outcome(read, value)


def _value(tag: int, content: bytes) -> bytes:
    return bytes([tag, len(content)]) + content


CONTENTS = st.one_of(
    st.binary(max_size=20),
    st.from_regex(rb"\A[0-9]{12,14}Z\Z"),
    st.from_regex(rb"\A[0-9]{10,14}(\.[0-9]{1,3})?(Z|[+-][0-9]{4})?\Z"),
    st.text(max_size=8).map(lambda t: t.encode("utf-8")))


@settings(max_examples=1500, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(read=st.sampled_from(READERS),
       tag=st.sampled_from([0x04, 0x0C, 0x0A, 0x06, 0x17, 0x18, 0x02, 0x30, 0x24, 0x00]),
       content=CONTENTS, gcm=st.booleans())
def test_readers_agree_with_asn1crypto(read: Callable[[bytes], Any], tag: int,
                                       content: bytes, gcm: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    value = _value(tag, content)
    if gcm:     # a GCMParameters-like SEQUENCE around the value
        value = _value(0x30, _value(0x04, content[:12]) + (value if tag == 0x02 else b""))
    assert _outcome(read, value) == _slow_outcome(read, value, monkeypatch)


def test_profile_values_take_the_fast_path() -> None:
    assert cms_fast.primitive(cms.der_octets(b"abc"), 0x04) == b"abc"
    nine = dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC)
    assert cms_fast.time_value(cms.der_generalized_time(nine)) == nine
    assert cms_fast.time_value(cms.der_time(dt.datetime(2049, 12, 31, tzinfo=dt.UTC))) \
        == dt.datetime(2049, 12, 31, tzinfo=dt.UTC)
    assert cms_fast.time_value(b"\x17\x0d500101000000Z") == dt.datetime(1950, 1, 1, tzinfo=dt.UTC)
    assert cms.read_enum(cms.der_enum(300)) == 300
    params = cms.der_seq(cms.der_octets(b"n" * 12))
    assert cms_fast.attempt(cms_fast.gcm_parameters, params) == (b"n" * 12, 12)
