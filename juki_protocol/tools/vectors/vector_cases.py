"""The building blocks of the codec vectors (:mod:`juki_protocol.tools.vectors.codec_vectors`,
:mod:`juki_protocol.codec_vectors_flows`): surgery on DER (an element replaced, its
ancestors' lengths recomputed) and the cases a group is made of."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from juki_protocol.codec import codec, der
from juki_protocol.codec.schema import compiled
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import Sample
from juki_protocol.identifiers import prefecture_of
from juki_protocol.messages.base import to_form

# DER surgery -------------------------------------------------------------------------

def length_octets(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def identifier_octets(data: bytes, node: der.Tlv) -> bytes:
    i = node.start + 1
    if data[node.start] & 0x1F == 0x1F:
        while data[i] & 0x80:
            i += 1
        i += 1
    return data[node.start:i]


def replace_at(data: bytes, path: list[int], fn: Callable[[bytes], bytes]) -> bytes:
    """Replace the element at ``path`` (child indices from the root) by ``fn(old)``,
    recomputing the lengths of every ancestor."""
    root = der.parse(data)

    def rebuild(node: der.Tlv, rest: list[int]) -> bytes:
        if not rest:
            return fn(data[node.start:node.end])
        parts = [rebuild(ch, rest[1:]) if i == rest[0] else data[ch.start:ch.end]
                 for i, ch in enumerate(node.children)]
        content = b"".join(parts)
        return identifier_octets(data, node) + length_octets(len(content)) + content

    return rebuild(root, path)


def find_path(data: bytes, tag_byte: int, length: int | None = None) -> list[int]:
    """Path of the first primitive element (depth first) with identifier ``tag_byte``."""
    def search(node: der.Tlv, path: list[int]) -> list[int] | None:
        for i, ch in enumerate(node.children):
            if not ch.constructed and data[ch.start] == tag_byte and (
                    length is None or ch.end - ch.content_start == length):
                return [*path, i]
            if ch.constructed:
                found = search(ch, [*path, i])
                if found is not None:
                    return found
        return None

    found = search(der.parse(data), [])
    if found is None:
        raise LookupError(f"no element with tag {tag_byte:#x}")
    return found


# Case construction -------------------------------------------------------------------

@dataclass
class VectorCase:
    """One vector as the generator makes it, before its tcId is given."""

    comment: str
    flags: list[str]
    der: bytes
    result: str
    value: dict[str, Any] | None = None
    error: ErrorCode | None = None


def valid_case(sample: Sample, flags: list[str]) -> VectorCase:
    """A valid vector: ``sample`` encoded in its profile, with its JSON form."""
    data = codec.encode(sample.message, sample.profile)
    return VectorCase(f"{sample.label}", flags, data, "valid", codec.to_json(sample.message))


def invalid_case(comment: str, flag: str, data: bytes, error: ErrorCode) -> VectorCase:
    """An invalid vector: ``data`` and the error a decoder must report."""
    return VectorCase(comment, [flag], data, "invalid", None, error)


def raw_encode(type_name: str, value: dict[str, Any]) -> bytes:
    """``value`` encoded past every check but the schema's structure (a broken
    vector's DER)."""
    return bytes(compiled().encode(type_name, value, check_constraints=False))


#: The fields of the messages between municipalities that name a municipality.
MUNICIPALITY_FIELDS: dict[str, tuple[str, ...]] = {
    "MoveInNotice": ("newMunicipality", "formerMunicipality"),
    "SpecialMoveInNotice": ("newMunicipality", "formerMunicipality"),
    "MoveOutCertificate": ("formerMunicipality", "newMunicipality"),
    "WideAreaIssuanceRequest": ("issuingMunicipality", "residenceMunicipality"),
    "WideAreaIssuanceResponse": ("residenceMunicipality", "issuingMunicipality"),
    "FamilyRegisterNotice": ("registerMunicipality", "residenceMunicipality"),
}


def prefecture_as_municipality(type_name: str, message: object) -> list[VectorCase]:
    """``message`` with each field of :data:`MUNICIPALITY_FIELDS` in turn holding the
    code of that municipality's own prefecture: 1024 by R-ID-10."""
    value = to_form(message, json=False)
    cases = []
    for name in MUNICIPALITY_FIELDS[type_name]:
        prefecture = prefecture_of(value[name])
        case = invalid_case(f"R-ID-10: {name} holding the prefecture's own code {prefecture}",
                        "RuleViolation", raw_encode(type_name, {**value, name: prefecture}),
                        ErrorCode.INVALID_FIELD)
        case.flags.append("PrefectureAsMunicipality")
        cases.append(case)
    return cases


__all__ = ["MUNICIPALITY_FIELDS", "VectorCase", "find_path", "identifier_octets",
           "invalid_case", "length_octets", "prefecture_as_municipality", "raw_encode",
           "replace_at", "valid_case"]
