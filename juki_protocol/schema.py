"""The compiled ASN.1 schema and raw DER encode/decode with registered errors.

The modules in ``spec/asn1`` are compiled once per process. :func:`decode_raw` is the
single entry point for untrusted bytes: strict DER structure first
(:mod:`juki_protocol.der`), then asn1tools with constraint checks, then the canonical
check. That check is schema-aware (:func:`is_canonical`): it walks the parsed TLV tree
together with the compiled type and the decoded value and proves, element by element,
that re-encoding the value would give the input octets back (BOOLEAN 00/FF, minimal
INTEGER and ENUMERATED, known ENUMERATED values and CHOICE alternatives, primitive
strings, canonical GeneralizedTime, SEQUENCE members in schema order and nothing else).
Only when it cannot prove that -- a non-canonical element, or elements unknown to this
schema version -- does :func:`reencode_compare` re-encode with asn1tools and compare
(:func:`juki_protocol.der.compare_canonical`), which gives the precise error or the
number of unknown extension elements. asn1tools' exceptions never escape: they become
:class:`~juki_protocol.errors.DecodeError` or :class:`~juki_protocol.errors.EncodeError`
carrying the field path and byte offset that asn1tools reported.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import asn1tools
from asn1tools.codecs import ber as _ber
from asn1tools.codecs import der as _der
from asn1tools.codecs import (
    restricted_generalized_time_from_datetime,
    restricted_utc_time_from_datetime,
)

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
    schema = asn1tools.compile_files([str(p) for p in asn1_files()], "der")
    seen: set[int] = set()
    for t in schema.types.values():
        _guard_sequence_of(t.type, seen)
    return schema


def _guard_sequence_of(t: Any, seen: set[int]) -> None:
    """Make asn1tools' DER SEQUENCE OF decoder refuse an element with the wrong tag.

    asn1tools 0.167's DER ``ArrayType.decode_content`` (unlike its BER one) does not
    check for a tag mismatch: the element decoder then returns without advancing and
    the loop appends forever, until memory runs out. One wrong octet in untrusted input
    (an element's identifier) was enough. The guarded decoder raises asn1tools'
    DecodeTagError there, as the BER decoder does (DER_UNEXPECTED_TAG).
    """
    if id(t) in seen:
        return
    seen.add(id(t))
    if isinstance(t, _der.ArrayType):
        element = t.element_type

        def decode_content(data: Any, offset: int, length: int) -> tuple[list[Any], int]:
            decoded, start = [], offset
            while offset - start < length:
                value, offset = element.decode(data, offset)
                _ber.check_decode_error(element, value, data, offset)
                decoded.append(value)
            return decoded, offset

        t.decode_content = decode_content
    for child in (getattr(t, "element_type", None), getattr(t, "inner", None)):
        if child is not None:
            _guard_sequence_of(child, seen)
    for m in (*(getattr(t, "root_members", None) or ()),
              *(getattr(t, "members", None) or ())):
        _guard_sequence_of(m, seen)
    for a in getattr(t, "additions", None) or ():
        for m in a if isinstance(a, list) else [a]:
            _guard_sequence_of(m, seen)


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


def check_constraints(type_name: str, value: Any) -> None:
    """Raise CONSTRAINT_VIOLATION (1015) if ``value`` breaks a SIZE, range or alphabet
    constraint of ``type_name`` (R-DER-07).

    This is the schema step of the order of checks (spec/pdu.md section 8) for a value
    that was not decoded from DER (the JSON form, before encoding). A value that does
    not fit the schema for another reason (a missing member, a CHOICE without an
    alternative) passes here: the message's own rules report it with their code.
    """
    try:
        compiled().encode(type_name, value, check_constraints=True)
    except asn1tools.ConstraintsError as exc:
        raise EncodeError(f"schema constraint violated: {exc}",
                          code=ErrorCode.CONSTRAINT_VIOLATION, field=_location(exc)) from exc
    except (asn1tools.Error, ValueError, TypeError, KeyError, AttributeError):
        return


#: A GeneralizedTime that BER allows (X.680 46.2: local time, an offset, a fraction, or
#: minutes and seconds left out) but DER does not (X.690 11.7: UTC with ``Z``, seconds
#: always present, no trailing zero in a fraction).
_BER_GENERALIZED_TIME = re.compile(
    r"'([0-9]{10}(?:[0-9]{2}(?:[0-9]{2})?)?(?:[.,][0-9]+)?(?:Z|[+-][0-9]{2}(?:[0-9]{2})?)?)'")


def _is_real_time(text: str) -> bool:
    """Whether the date, hour, minute and second of a GeneralizedTime string exist."""
    digits = re.match(r"[0-9]+", text)
    d = digits.group(0) if digits else ""
    hour, minute, second = (int(d[i:i + 2]) if len(d) > i else 0 for i in (8, 10, 12))
    try:
        dt.datetime(int(d[0:4]), int(d[4:6]), int(d[6:8]), hour, minute, second)
    except ValueError:
        return False
    return True


def _decode_error_code(exc: asn1tools.Error) -> ErrorCode:
    """The registered code of an asn1tools decode failure (R-DER-02, R-DER-05)."""
    text = str(exc)
    found = _BER_GENERALIZED_TIME.search(text) if "generalized time string" in text else None
    if found is not None:
        if not _is_real_time(found.group(1)):
            return ErrorCode.INVALID_DATE      # hour 25, 30 February: R-PDU-35
        return ErrorCode.DER_NON_CANONICAL     # valid BER, not DER (X.690 11.7)
    return ErrorCode.DER_UNEXPECTED_TAG if "tag" in text.lower() else ErrorCode.DER_MALFORMED


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
        raise DecodeError(f"not a valid {type_name}: {exc}", code=_decode_error_code(exc),
                          field=_location(exc), offset=_offset(exc)) from exc
    except (asn1tools.Error, ValueError, TypeError, IndexError, KeyError,
            UnicodeDecodeError, OverflowError, RecursionError) as exc:
        code = _decode_error_code(exc) if isinstance(exc, asn1tools.Error) \
            else ErrorCode.DER_MALFORMED
        raise DecodeError(f"not a valid {type_name}: {exc!r}", code=code) from exc
    if is_canonical(type_name, root, value, data):
        return RawDecoded(type_name, value, 0)
    return RawDecoded(type_name, value, reencode_compare(type_name, data, value))


def reencode_compare(type_name: str, data: bytes, value: Any) -> int:
    """The reference canonical check: re-encode ``value`` and compare with ``data``.

    Returns the number of unknown extension elements; raises DER_NON_CANONICAL for an
    element both contain that differs. A value that cannot be re-encoded (an unknown
    ENUMERATED value or CHOICE alternative from a later version) counts as one unknown
    element: the message layer reports it.
    """
    try:
        again = bytes(compiled().encode(type_name, value))
    except (asn1tools.Error, ValueError, TypeError, KeyError, AttributeError):
        return 1
    return der.compare_canonical(data, again)


# The schema-aware canonical check -----------------------------------------------------

_Check = Callable[[der.Tlv, Any, bytes], bool]


def _tag_key(tag: bytes | bytearray) -> tuple[int, bool, int]:
    tag_class, constructed, number, _, _ = der._read_header(bytes(tag) + b"\x00", 0,
                                                            len(tag) + 1)
    return tag_class, constructed, number


def _never(node: der.Tlv, value: Any, data: bytes) -> bool:
    return False


def _build_check(t: Any, memo: dict[int, _Check]) -> _Check:
    """A function (node, value, data) -> bool that is True only if the asn1tools DER
    encoding of ``value`` as type ``t`` is exactly ``data[node.start:node.end]``.
    False means "not proven" (the caller falls back to :func:`reencode_compare`), so a
    type this function does not know simply returns :func:`_never`."""
    known = memo.get(id(t))
    if known is not None:
        return known
    check: _Check = _never
    # Choice and Recursive have no tag of their own.
    if isinstance(t, _ber.Choice):
        alts: dict[str, _Check] = {}
        memo[id(t)] = lambda n, v, d: alts[v[0]](n, v[1], d) if v[0] in alts else False
        for m in t.members:
            alts[m.name] = _build_check(m, memo)
        return memo[id(t)]
    if getattr(t, "tag", None) is None:
        memo[id(t)] = _never
        return _never
    key = _tag_key(t.tag)
    cls = type(t)
    if isinstance(t, _ber.Sequence):     # not Set: SET would need the DER sort order
        members: list[tuple[str, _Check]] = []
        memo[id(t)] = lambda n, v, d: seq(n, v, d)
        flat = list(t.root_members)
        for a in t.additions or ():
            flat.extend(a if isinstance(a, list) else [a])
        if any(m.has_default() for m in flat):
            memo[id(t)] = _never      # DER omits DEFAULT values: leave it to re-encoding
            return _never
        members.extend((m.name, _build_check(m, memo)) for m in flat)

        def seq(n: der.Tlv, v: Any, d: bytes) -> bool:
            if n.tag_key != key:
                return False
            children = n.children
            i, count = 0, len(children)
            for name, sub in members:
                if name in v:
                    if i == count or not sub(children[i], v[name], d):
                        return False
                    i += 1
            return i == count     # more elements: unknown extensions

        return seq
    if isinstance(t, (_der.SequenceOf, _ber.SequenceOf)) \
            and not isinstance(t, (_der.SetOf, _ber.SetOf)):
        memo[id(t)] = lambda n, v, d: seq_of(n, v, d)
        element = _build_check(t.element_type, memo)

        def seq_of(n: der.Tlv, v: Any, d: bytes) -> bool:
            children = n.children
            if n.tag_key != key or len(children) != len(v):
                return False
            for c, item in zip(children, v, strict=True):
                if not element(c, item, d):
                    return False
            return True

        return seq_of
    if isinstance(t, _ber.ExplicitTag):
        memo[id(t)] = lambda n, v, d: explicit(n, v, d)
        inner = _build_check(t.inner, memo)

        def explicit(n: der.Tlv, v: Any, d: bytes) -> bool:
            return n.tag_key == key and len(n.children) == 1 and inner(n.children[0], v, d)

        return explicit
    if cls is _ber.Boolean:
        def check(n: der.Tlv, v: Any, d: bytes) -> bool:
            # X.690 11.1: TRUE is FF.
            return n.tag_key == key and d[n.content_start:n.end] == (b"\xff" if v
                                                                      else b"\x00")
    elif cls is _der.Integer or cls is _ber.Integer:
        def check(n: der.Tlv, v: Any, d: bytes) -> bool:
            # X.690 8.3.2: the minimal two's complement form.
            return n.tag_key == key and type(v) is int \
                and d[n.content_start:n.end] == _ber.encode_signed_integer(v)
    elif cls is _ber.Enumerated:
        numbers = t.data_to_value

        def check(n: der.Tlv, v: Any, d: bytes) -> bool:
            # None: a value from a later version, which cannot be re-encoded.
            number = numbers.get(v) if isinstance(v, (str, int)) else None
            return n.tag_key == key and number is not None \
                and d[n.content_start:n.end] == _ber.encode_signed_integer(number)
    elif cls in (_der.OctetString, _der.UTF8String, _der.NumericString,
                 _der.VisibleString, _der.PrintableString, _der.IA5String):
        # Decoding with a strict codec and encoding again gives the same octets; the
        # tag (primitive, as DER requires) is the only thing to check.
        def check(n: der.Tlv, v: Any, d: bytes) -> bool:
            return n.tag_key == key
    elif cls is _der.GeneralizedTime:
        def check(n: der.Tlv, v: Any, d: bytes) -> bool:
            # X.690 11.7: UTC, 'Z', no fraction of zero: the one canonical string.
            return n.tag_key == key and d[n.content_start:n.end] == \
                restricted_generalized_time_from_datetime(v).encode("ascii")
    elif cls is _der.UTCTime:
        def check(n: der.Tlv, v: Any, d: bytes) -> bool:
            return n.tag_key == key and d[n.content_start:n.end] == \
                restricted_utc_time_from_datetime(v).encode("ascii")
    memo[id(t)] = check
    return check


@cache
def _checker(type_name: str) -> _Check:
    return _build_check(compiled().types[type_name].type, {})


def is_canonical(type_name: str, root: der.Tlv, value: Any, data: bytes) -> bool:
    """True if ``data`` (parsed as ``root`` by :func:`juki_protocol.der.parse`) is
    exactly the DER that asn1tools would produce for ``value``, its decoding as
    ``type_name``: then the input is canonical and has no unknown extension elements.
    False means "not proven"; :func:`reencode_compare` then decides."""
    try:
        return _checker(type_name)(root, value, data)
    except (TypeError, KeyError, AttributeError, ValueError, IndexError):
        return False


@lru_cache(maxsize=1)
def _all_types() -> frozenset[str]:
    return frozenset(t for m in compiled().modules.values() for t in m)
