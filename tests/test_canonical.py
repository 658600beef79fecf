"""The schema-aware canonical check (schema.is_canonical) against the reference: the
comparison with the asn1tools re-encoding (schema.reencode_compare), which decode_raw
used on every input before and now uses only when the check cannot prove the input
canonical. Also: the compiled asn1tools conversions of messages.base agree with the
generic walk."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juki_protocol.codec import codec, der, schema
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.samples import edge_cases, samples
from juki_protocol.messages import MESSAGE_TYPES, Profile
from juki_protocol.messages.base import (
    from_form,
    from_form_generic,
    to_form,
    to_form_generic,
    walk,
)
from juki_protocol.tools.vectors.vector_cases import find_path, replace_at

ENCODINGS = [(name, codec.encode(s.message, s.profile))
             for name in MESSAGE_TYPES for p in Profile for s in samples(name, "c", p)]


def reference_decode_raw(type_name: str | None, data: bytes) -> schema.RawDecoded:
    """decode_raw as it was: always re-encode and compare."""
    saved = schema.is_canonical
    schema.is_canonical = lambda *args: False       # type: ignore[assignment]
    try:
        return schema.decode_raw(type_name, data)
    finally:
        schema.is_canonical = saved                   # type: ignore[assignment]


def _outcome(fn: Any, *args: Any) -> tuple[Any, ...]:
    try:
        raw = fn(*args)
    except JukiError as exc:
        return ("error", exc.error_code, getattr(exc, "offset", None), exc.field)
    return ("ok", raw.type_name, raw.value, raw.unknown_extensions)


def _same_as_reference(type_name: str | None, data: bytes) -> tuple[Any, ...]:
    new = _outcome(schema.decode_raw, type_name, data)
    old = _outcome(reference_decode_raw, type_name, data)
    assert new == old
    return new


def test_every_sample_is_proven_canonical() -> None:
    for name, data in ENCODINGS:
        root = der.parse(data)
        value = schema.compiled().decode(name, data)
        assert schema.is_canonical(name, root, value, data), name
        assert _same_as_reference(name, data)[0] == "ok"


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for index, value in edits:
        out[index % len(out)] = value
    return bytes(out)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ENCODINGS),
       st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                max_size=3),
       st.booleans())
def test_mutated_der_decodes_as_with_the_reencoding(case: tuple[str, bytes],
                                                    edits: list[tuple[int, int]],
                                                    named: bool) -> None:
    name, data = case
    mutated = _mutate(data, edits)
    _same_as_reference(name if named else None, mutated)
    # Soundness: whatever the check proves canonical re-encodes to the same octets.
    try:
        root = der.parse(mutated)
        kind = name if named else schema.identify(mutated)
        value = schema.compiled().decode(kind, mutated, check_constraints=True)
    except Exception:
        return
    if schema.is_canonical(kind, root, value, mutated):
        assert bytes(schema.compiled().encode(kind, value)) == mutated


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag, len(content)]) + content


def _sample(name: str) -> bytes:
    return codec.encode(samples(name, "c", Profile.CURRENT)[1].message)


def _code(name: str, data: bytes) -> ErrorCode:
    with pytest.raises(JukiError) as exc:
        codec.decode(data, name)
    code = exc.value.error_code
    assert _same_as_reference(name, data)[:2] == ("error", code)
    return code


def _first_boolean_path(data: bytes) -> list[int]:
    for tag in range(0x80, 0x8F):
        try:
            p = find_path(data, tag, 1)
        except LookupError:
            continue
        node = der.parse(data)
        for i in p:
            node = node.children[i]
        if data[node.content_start] in (0x00, 0xFF):
            return p
    raise LookupError


@pytest.mark.parametrize("byte", [0x01, 0x7F, 0x80, 0xFE])
def test_boolean_other_than_00_ff_is_non_canonical(byte: int) -> None:
    data = _sample("WideAreaIssuanceRequest")
    p = _first_boolean_path(data)
    bad = replace_at(data, p, lambda old: old[:2] + bytes([byte]))
    assert _code("WideAreaIssuanceRequest", bad) is ErrorCode.DER_NON_CANONICAL


@pytest.mark.parametrize("prefix", [b"\x00", b"\x00\x00"])
def test_integer_with_redundant_leading_octets_is_non_canonical(prefix: bytes) -> None:
    data = _sample("IdentityInfoUpdate")
    bad = replace_at(data, [1], lambda old: bytes([old[0], old[1] + len(prefix)])
                     + prefix + old[2:])
    assert _code("IdentityInfoUpdate", bad) is ErrorCode.DER_NON_CANONICAL


def test_enumerated_with_a_redundant_leading_octet_is_non_canonical() -> None:
    data = _sample("IdentityInfoUpdate")
    bad = replace_at(data, [2], lambda old: bytes([old[0], old[1] + 1, 0]) + old[2:])
    assert _code("IdentityInfoUpdate", bad) is ErrorCode.DER_NON_CANONICAL


@pytest.mark.parametrize(("suffix", "code"), [
    # Valid BER GeneralizedTime that DER forbids (X.690 11.7): 1011 by R-DER-02.
    (b".0Z", ErrorCode.DER_NON_CANONICAL),
    (b".50Z", ErrorCode.DER_NON_CANONICAL),
    (b"+0000", ErrorCode.DER_NON_CANONICAL),
    (b".5Z", ErrorCode.INVALID_DATE),        # canonical DER, but not whole seconds
])
def test_generalized_time_not_in_the_profile_form(suffix: bytes, code: ErrorCode) -> None:
    data = _sample("JukiPdu")
    header = der.parse(data).children[0]
    index = next(i for i, c in enumerate(header.children) if c.number == 6)
    bad = replace_at(data, [0, index], lambda old: _tlv(old[0], old[2:-1] + suffix))
    with pytest.raises(JukiError) as exc:
        codec.decode(bad, "JukiPdu")
    assert exc.value.error_code is code
    _same_as_reference("JukiPdu", bad)


def test_members_out_of_order_are_non_canonical() -> None:
    data = _sample("Acknowledgement")
    root = der.parse(data)
    first, second = root.children
    swapped = (data[:root.content_start] + data[second.start:second.end]
               + data[first.start:first.end])
    assert _code("Acknowledgement", swapped) is ErrorCode.DER_NON_CANONICAL


def test_unknown_extension_is_counted_not_proven() -> None:
    data = _sample("Acknowledgement")
    root = der.parse(data)
    content = data[root.content_start:root.end] + b"\x9d\x05later"
    extended = data[:1] + bytes([len(content)]) + content
    value = schema.compiled().decode("Acknowledgement", extended)
    assert not schema.is_canonical("Acknowledgement", der.parse(extended), value, extended)
    assert _same_as_reference("Acknowledgement", extended)[-1] == 1
    assert codec.decode_full(extended).unknown_extensions == 1


def test_unknown_enumerated_value_is_refused_by_the_strict_decode() -> None:
    """R-DER-09, R-DER-17: a value of an extensible ENUMERATED unknown to this version
    is a fault of structure, 1024 from the strict decode itself (fast path and
    re-encoding path alike), not an unknown extension counted and refused later."""
    data = _sample("Acknowledgement")
    bad = replace_at(data, [1], lambda old: old[:2] + b"\x63")    # status 99
    outcome = _same_as_reference("Acknowledgement", bad)
    assert outcome[:2] == ("error", ErrorCode.INVALID_FIELD) and outcome[-1] == "status"


# The compiled asn1tools conversions of messages.base ----------------------------------

MESSAGES = [s.message for name in MESSAGE_TYPES for p in Profile
            for s in samples(name, "f", p)] + [s.message for s in edge_cases("f")]


def test_to_form_matches_the_generic_walk() -> None:
    for msg in MESSAGES:
        assert to_form(msg, json=False) == to_form_generic(msg, json=False)


def test_from_form_matches_the_generic_walk() -> None:
    for msg in MESSAGES:
        value = to_form(msg, json=False)
        assert from_form(type(msg), value, json=False) == msg
        assert from_form_generic(type(msg), value, json=False) == msg


def _build(fn: Any, cls: type, value: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(cls, value, json=False))
    except JukiError as exc:
        return ("error", exc.error_code, exc.field, str(exc))
    except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
        return ("raise", type(exc))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [*(p for k, v in value.items() for p in _leaves(v, (*path, k))), path]
    if isinstance(value, list):
        return [*(p for i, v in enumerate(value) for p in _leaves(v, (*path, i))), path]
    if isinstance(value, tuple):
        return [*_leaves(value[1], (*path, 1)), path]
    return [path]


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    if isinstance(value, list):
        return [*value[:head], _replace(value[head], rest, new), *value[head + 1:]]
    return (value[0], _replace(value[1], rest, new))


ODD_VALUES = [None, "", "x", "20260230", "20261301", "2026-01-01", "１２３４５６７８",
              0, -1, True, False, b"", b"\x00" * 16, [], {}, ("x", 1), 1.5, "male",
              "moveIn", "99999999", "18671231"]


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MESSAGES), st.data())
def test_from_form_errors_match_the_generic_walk(msg: Any, data: st.DataObject) -> None:
    value = to_form(msg, json=False)
    path = data.draw(st.sampled_from(_leaves(value)))
    new = data.draw(st.sampled_from(ODD_VALUES))
    changed = _replace(value, path, new)
    assert _build(from_form, type(msg), changed) == \
        _build(from_form_generic, type(msg), changed)


def test_profile_check_matches_the_walk() -> None:
    for msg in MESSAGES:
        for profile in Profile:
            fast = slow = None
            try:
                codec.check_profile(msg, profile)
            except JukiError as exc:
                fast = (exc.error_code, exc.field)
            for path, obj in walk(msg):
                if isinstance(obj, codec._PROFILED) and \
                        (obj.individual_number is None) is (profile is Profile.CURRENT):
                    slow = (ErrorCode.PROFILE_VIOLATION,
                            f"{path}.individual_number" if path else "individual_number")
                    break
            assert fast == slow
    assert dataclasses.is_dataclass(MESSAGES[0])


def test_wrong_element_tag_in_sequence_of_is_refused_not_looped() -> None:
    # asn1tools' DER SEQUENCE OF decoder looped forever (appending until memory ran out)
    # on an element with another tag; schema.compiled() guards it.
    data = _sample("MoveOutCertificate")
    entries = der.parse(data).children[2]
    for bad_tag in (0x00, 0x31, 0x04):
        bad = bytearray(data)
        bad[entries.children[-1].start] = bad_tag
        assert _code("MoveOutCertificate", bytes(bad)) is ErrorCode.DER_UNEXPECTED_TAG
