"""The compiled ASN.1 schema and raw DER encode/decode with registered errors.

The modules in ``spec/asn1`` are compiled once per process. :func:`decode_raw` is the
single entry point for untrusted bytes: strict DER structure first
(:mod:`juki_protocol.der`), then asn1tools with constraint checks, then a comparison
with the canonical re-encoding. asn1tools' exceptions never escape: they become
:class:`~juki_protocol.errors.DecodeError` or :class:`~juki_protocol.errors.EncodeError`
carrying the field path and byte offset that asn1tools reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asn1tools

from juki_protocol import der
from juki_protocol.errors import DecodeError, EncodeError, ErrorCode
from juki_protocol.resources import asn1_files

#: APPLICATION tag number of each top-level message type (equals ``MessageType``).
APPLICATION_TAGS: dict[str, int] = {
    "MoveInNotice": 1,
    "WideAreaIssuanceRequest": 2,
    "WideAreaIssuanceResponse": 3,
    "SpecialMoveInNotice": 4,
    "MoveOutCertificate": 5,
    "IdentityInfoUpdate": 6,
    "IdentityInfoRelay": 7,
    "ProvisionRequest": 8,
    "ProvisionResponse": 9,
    "Acknowledgement": 20,
    "ErrorReport": 21,
    "JukiPdu": 30,
}
TYPE_BY_TAG: dict[int, str] = {v: k for k, v in APPLICATION_TAGS.items()}


@lru_cache(maxsize=1)
def compiled() -> Any:
    """The compiled schema (asn1tools, DER codec), built once."""
    return asn1tools.compile_files([str(p) for p in asn1_files()], "der")


@dataclass(frozen=True, slots=True)
class RawDecoded:
    """The asn1tools value of a decoded message and what the strict checks found."""

    type_name: str
    value: Any
    unknown_extensions: int   # elements of a later schema version that were skipped


def identify(data: bytes) -> str:
    """Name of the top-level message type of ``data``, from its APPLICATION tag."""
    root = der.parse(data)
    if root.tag_class != 1 or not root.constructed or root.number not in TYPE_BY_TAG:
        raise DecodeError(f"outer tag (class {root.tag_class}, number {root.number}) is "
                          f"not the APPLICATION tag of a registered message type",
                          code=ErrorCode.UNKNOWN_MESSAGE_TYPE, offset=0)
    return TYPE_BY_TAG[root.number]


_OFFSET = re.compile(r"\(At offset: (\d+)\)")


def _location(exc: asn1tools.Error) -> str | None:
    text = str(exc)
    head = text.split(":", 1)[0]
    return head if head and " " not in head else None


def _offset(exc: asn1tools.Error) -> int | None:
    off = getattr(exc, "offset", None)
    if isinstance(off, int):
        return off
    m = _OFFSET.search(str(exc))
    return int(m.group(1)) if m else None


def encode_raw(type_name: str, value: Any) -> bytes:
    """Encode an asn1tools value as DER, checking every schema constraint."""
    if type_name not in APPLICATION_TAGS and type_name not in _all_types():
        raise EncodeError(f"unknown type {type_name}", code=ErrorCode.UNKNOWN_MESSAGE_TYPE)
    try:
        return bytes(compiled().encode(type_name, value, check_constraints=True))
    except asn1tools.ConstraintsError as exc:
        raise EncodeError(f"schema constraint violated: {exc}",
                          code=ErrorCode.CONSTRAINT_VIOLATION, field=_location(exc)) from exc
    except (asn1tools.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise EncodeError(f"value does not fit the schema of {type_name}: {exc!r}",
                          code=ErrorCode.CONSTRAINT_VIOLATION) from exc


def decode_raw(type_name: str | None, data: bytes) -> RawDecoded:
    """Decode untrusted DER strictly. ``type_name`` None means: use the outer tag."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("input must be bytes", code=ErrorCode.DER_MALFORMED)
    data = bytes(data)
    root = der.parse(data)
    actual = TYPE_BY_TAG.get(root.number) if root.tag_class == 1 else None
    if type_name is None:
        if actual is None:
            raise DecodeError("outer tag is not the APPLICATION tag of a registered "
                              "message type", code=ErrorCode.UNKNOWN_MESSAGE_TYPE, offset=0)
        type_name = actual
    elif type_name not in APPLICATION_TAGS and type_name not in _all_types():
        raise DecodeError(f"unknown type {type_name}", code=ErrorCode.UNKNOWN_MESSAGE_TYPE)
    elif type_name in APPLICATION_TAGS and actual is None:
        # R-DER-06: an outer tag that names no registered type.
        raise DecodeError(f"expected {type_name} (APPLICATION "
                          f"{APPLICATION_TAGS[type_name]}), got tag class {root.tag_class} "
                          f"number {root.number}, which is no registered message type",
                          code=ErrorCode.UNKNOWN_MESSAGE_TYPE, offset=0)
    elif type_name in APPLICATION_TAGS and actual != type_name:
        # R-DER-06: a registered type, but not the one the context requires.
        raise DecodeError(f"expected {type_name} (APPLICATION "
                          f"{APPLICATION_TAGS[type_name]}), got {actual}",
                          code=ErrorCode.DER_UNEXPECTED_TAG, offset=0)
    schema = compiled()
    try:
        value = schema.decode(type_name, data, check_constraints=True)
    except asn1tools.ConstraintsError as exc:
        raise DecodeError(f"schema constraint violated: {exc}",
                          code=ErrorCode.CONSTRAINT_VIOLATION, field=_location(exc),
                          offset=_offset(exc)) from exc
    except asn1tools.DecodeError as exc:
        code = ErrorCode.DER_UNEXPECTED_TAG if "tag" in str(exc).lower() \
            else ErrorCode.DER_MALFORMED
        raise DecodeError(f"not a valid {type_name}: {exc}", code=code,
                          field=_location(exc), offset=_offset(exc)) from exc
    except (asn1tools.Error, ValueError, TypeError, IndexError, KeyError,
            UnicodeDecodeError, OverflowError, RecursionError) as exc:
        raise DecodeError(f"not a valid {type_name}: {exc!r}",
                          code=ErrorCode.DER_MALFORMED) from exc
    try:
        again = bytes(schema.encode(type_name, value))
    except (asn1tools.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
        # The decoder returned something it cannot encode: an unknown ENUMERATED or
        # CHOICE alternative from a later version. The message layer reports it.
        del exc
        return RawDecoded(type_name, value, 1)
    unknown = der.compare_canonical(data, again)
    return RawDecoded(type_name, value, unknown)


@lru_cache(maxsize=1)
def _all_types() -> frozenset[str]:
    return frozenset(t for m in compiled().modules.values() for t in m)
