"""The compiled ASN.1 schema and raw DER encode/decode with registered errors.

The modules in ``spec/asn1`` are compiled once per process. :func:`decode_raw` is the
single entry point for untrusted bytes: strict DER structure first
(:mod:`juki_protocol.codec.der`), then asn1tools with constraint checks, then the canonical
check. That check is schema-aware (:func:`is_canonical`): it walks the parsed TLV tree
together with the compiled type and the decoded value and proves, element by element,
that re-encoding the value would give the input octets back (BOOLEAN 00/FF, minimal
INTEGER and ENUMERATED, known ENUMERATED values and CHOICE alternatives, primitive
strings, canonical GeneralizedTime, SEQUENCE members in schema order and nothing else).
Only when it cannot prove that -- a non-canonical element, or elements unknown to this
schema version -- does :func:`reencode_compare` re-encode with asn1tools and compare
(:func:`juki_protocol.codec.der.compare_canonical`), which gives the precise error or the
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

from juki_protocol.codec import der
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
    "FamilyRegisterNotice": 12,
    "CodeDesignationRequest": 14,
    "CodeDesignation": 15,
    "CardApplication": 16,
    "CardIssueNotice": 17,
    "CardStatusNotice": 18,
    "CardStatusQuery": 19,
    "CardStatusAnswer": 22,
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
    form = _EXPECTED_TAG.search(text)
    if form is not None and _differs_in_form_only(form.group(1), form.group(2)):
        # R-DER-11: the expected class and number in the wrong form (a SEQUENCE
        # encoded primitive, a string constructed) is malformed, not another tag.
        return ErrorCode.DER_MALFORMED
    if "is missing and has no default value" in text or "Ran out of data" in text:
        # R-DER-11, R-DER-15: a mandatory component absent (a CHOICE in its explicit
        # tag included, or an explicit tag left empty) is malformed, whatever its tag.
        return ErrorCode.DER_MALFORMED
    return ErrorCode.DER_UNEXPECTED_TAG if "tag" in text.lower() else ErrorCode.DER_MALFORMED


#: asn1tools' words for a tag mismatch: "Expected ... with tag 'a0', but got '80'".
_EXPECTED_TAG = re.compile(r"with tag '([0-9a-f]+)', but got '([0-9a-f]+)'")


def _differs_in_form_only(expected: str, got: str) -> bool:
    """Whether two identifier octet strings differ only in the constructed bit."""
    try:
        a, b = bytes.fromhex(expected), bytes.fromhex(got)
    except ValueError:
        return False
    return len(a) == len(b) > 0 and a[0] ^ b[0] == 0x20 and a[1:] == b[1:]


def decode_raw(type_name: str | None, data: bytes) -> RawDecoded:
    """Decode untrusted DER strictly. ``type_name`` None means: use the outer tag."""
    return _decode_raw(type_name, data, [])


#: The phases of a strict decode, in their order (spec/README.md section 6).
PHASES = ("walk", "outer tag", "structure", "canonical form", "constraints")


def decode_phase(type_name: str | None, data: bytes) -> str | None:
    """The phase of :data:`PHASES` whose fault :func:`decode_raw` reports for ``data``,
    or None when it decodes. Only the faults of the structure have no order among
    themselves (R-DER-17)."""
    phase: list[str] = []
    try:
        _decode_raw(type_name, data, phase)
    except DecodeError:
        return phase[-1] if phase else PHASES[0]
    return None


def structure_codes(type_name: str, data: bytes) -> frozenset[int]:
    """The codes of every fault of the structure of ``data`` against ``type_name`` that
    :func:`structure_faults` finds (none when the TLV walk fails): the codes R-DER-17
    lets a receiver report for it."""
    try:
        root = der.parse(bytes(data))
    except DecodeError:
        return frozenset()
    if type_name not in _all_types():
        return frozenset()
    return frozenset(int(f.error_code) for f in structure_faults(type_name, root, data))


def _decode_raw(type_name: str | None, data: bytes, phase: list[str]) -> RawDecoded:
    """:func:`decode_raw`, appending to ``phase`` the name of each phase it enters."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("input must be bytes", code=ErrorCode.DER_MALFORMED)
    data = bytes(data)
    phase.append("walk")
    root = der.parse(data)
    phase.append("outer tag")
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
    # The structure against the schema, from the TLV tree, before asn1tools reads a
    # value (R-DER-11, R-DER-15, R-DER-17): asn1tools would skip a known component
    # after an unknown element, and reads some faults as others.
    phase.append("structure")
    check_structure(type_name, root, data)
    schema = compiled()
    try:
        # Constraints are checked after the canonical form (below): every encoding
        # fault comes before every value fault (spec/README.md section 6).
        value = schema.decode(type_name, data, check_constraints=False)
    except asn1tools.DecodeError as exc:
        raise DecodeError(f"not a valid {type_name}: {exc}", code=_decode_error_code(exc),
                          field=_location(exc), offset=_offset(exc)) from exc
    except (asn1tools.Error, ValueError, TypeError, IndexError, KeyError,
            UnicodeDecodeError, OverflowError, RecursionError) as exc:
        code = _decode_error_code(exc) if isinstance(exc, asn1tools.Error) \
            else ErrorCode.DER_MALFORMED
        raise DecodeError(f"not a valid {type_name}: {exc!r}", code=code) from exc
    # The canonical form of every primitive after the structure (R-DER-17).
    phase.append("canonical form")
    unknown = 0 if is_canonical(type_name, root, value, data) else \
        reencode_compare(type_name, data, value)
    phase.append("constraints")
    try:
        schema.types[type_name].check_constraints(value)
    except asn1tools.ConstraintsError as exc:
        raise DecodeError(f"schema constraint violated: {exc}",
                          code=ErrorCode.CONSTRAINT_VIOLATION, field=_location(exc),
                          offset=_offset(exc)) from exc
    return RawDecoded(type_name, value, unknown)


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


# The structure against the schema -----------------------------------------------------


def check_structure(type_name: str, root: der.Tlv, data: bytes) -> None:
    """Raise the first fault, in the order of its octets, of the structure of ``data``
    (walked as ``root``) against the schema of ``type_name`` (R-DER-11, R-DER-12,
    R-DER-15, R-DER-16, R-DER-18, R-DER-09); see :func:`structure_faults`."""
    faults = structure_faults(type_name, root, data)
    if faults:
        raise faults[0]


def structure_faults(type_name: str, root: der.Tlv, data: bytes) -> list[DecodeError]:
    """Every fault of the structure of ``data`` against the schema that the TLV tree
    shows without decoding a value, in the order of their octets. R-DER-17 leaves them
    unordered: a receiver may report any one of them.

    In a SEQUENCE every element is matched by its tag with a component of this version
    of the schema, the extension additions it knows included (R-DER-11, R-DER-08):

    - an element whose class and number are a component's but whose form is not: 1010;
    - a component's tag a second time: 1013 (R-DER-15);
    - a tag no component has: in a SEQUENCE without an extension marker 1013; else an
      unknown extension addition, skipped, when no known component follows it and no
      mandatory component is missing; 1013 otherwise (an addition comes after every
      component this version knows; with a mandatory component missing, the element
      may be that component under another tag: both faults are there);
    - a known component (root or known addition) after one the schema puts later: 1011;
    - a mandatory component absent: 1010, a CHOICE in an empty explicit tag included.

    And: a second element in an explicit tag 1013; an unknown CHOICE alternative or
    ENUMERATED value 1024; an INTEGER or ENUMERATED with no contents or a BOOLEAN of
    other than one octet 1010; a string that is not of its character set 1010. The
    contents of a GeneralizedTime are left to the decoder (R-PDU-35).
    """
    faults: list[DecodeError] = []
    _element(compiled().types[type_name].type, root, data, "", faults)
    faults.sort(key=lambda f: f.offset if f.offset is not None else len(data))
    return faults


def _start_tags(t: Any) -> frozenset[tuple[int, bool, int]]:
    """The tags an element of type ``t`` can start with (an untagged CHOICE: any of its
    alternatives')."""
    if getattr(t, "tag", None) is not None:
        return frozenset({_tag_key(t.tag)})
    if isinstance(t, _ber.Choice):
        return frozenset().union(*(_start_tags(m) for m in t.members))
    return frozenset()


def _fault(code: ErrorCode, rule: str, path: str, offset: int) -> DecodeError:
    return DecodeError(f"{path or 'value'}: {rule}", code=code, field=path or None,
                       offset=offset)


def _match(members: list[Any], node: der.Tlv, data: bytes) -> tuple[Any, bool]:
    """The member whose tag ``node`` has, and whether in the right form (False: the
    class and number of the member's tag, the other form)."""
    for m in members:
        if node.tag_key in _start_tags(m):
            return m, True
    got = data[node.start:node.content_start].hex()
    for m in members:
        for key in _start_tags(m):
            expected = bytes([(key[0] << 6) | (0x20 if key[1] else 0)
                              | min(key[2], 0x1F)]).hex()
            if key[2] == node.number and _differs_in_form_only(expected, got[:2]):
                return m, False
    return None, False


def _wrong_form(node: der.Tlv, path: str) -> DecodeError:
    return _fault(ErrorCode.DER_MALFORMED, "the tag the schema expects, in the wrong form "
                  "(primitive for constructed or the reverse, R-DER-11)", path, node.start)


def _element(t: Any, node: der.Tlv, data: bytes, path: str,
             out: list[DecodeError]) -> None:
    """The faults of ``node`` as a value of type ``t``."""
    if isinstance(t, _ber.Choice):
        member, exact = _match(list(t.members), node, data)
        if member is None:
            out.append(_fault(ErrorCode.INVALID_FIELD, "an alternative unknown to this "
                              "version of the schema (R-DER-12)", path, node.start))
        elif not exact:
            out.append(_wrong_form(node, path))
        else:
            _element(member, node, data, f"{path}.{member.name}" if path else member.name,
                     out)
        return
    tag = getattr(t, "tag", None)
    if tag is not None and node.tag_key != _tag_key(tag):
        member, exact = _match([t], node, data)
        out.append(_wrong_form(node, path) if member is not None else _fault(
            ErrorCode.DER_UNEXPECTED_TAG, "a tag the schema does not allow here (R-DER-11)",
            path, node.start))
        return
    if isinstance(t, _ber.ExplicitTag):
        if not node.children:
            out.append(_fault(ErrorCode.DER_MALFORMED, "an empty explicit tag: the "
                              "component it holds is missing (R-DER-15)", path, node.end))
            return
        for extra in node.children[1:]:
            out.append(_fault(ErrorCode.DER_UNEXPECTED_TAG, "a second element inside an "
                              "explicit tag, which holds exactly one (R-DER-15)", path,
                              extra.start))
        _element(t.inner, node.children[0], data, path, out)
    elif isinstance(t, _ber.Sequence):
        _sequence(t, node, data, path, out)
    elif isinstance(t, (_der.SequenceOf, _ber.SequenceOf)):
        for i, child in enumerate(node.children):
            _element(t.element_type, child, data, f"{path}[{i}]", out)
    else:
        _primitive(t, node, data, path, out)


def _sequence(t: Any, node: der.Tlv, data: bytes, path: str,
              out: list[DecodeError]) -> None:
    members = list(t.root_members)
    for a in t.additions or ():
        members.extend(a if isinstance(a, list) else [a])
    order = {m.name: i for i, m in enumerate(members)}
    matched = [_match(members, child, data) for child in node.children]
    last_known = max((i for i, (m, _) in enumerate(matched) if m is not None), default=-1)
    present = {m.name for m, _ in matched if m is not None}
    missing = [m for m in t.root_members if m.name not in present and not m.optional
               and not m.has_default()]
    for member in missing:
        # Where the component belongs: before the first element the schema puts after
        # it (a known component after it, or an unknown element).
        later = [c.start for c, (m, _) in zip(node.children, matched, strict=True)
                 if m is None or order[m.name] > order[member.name]]
        out.append(_fault(ErrorCode.DER_MALFORMED, f"mandatory component {member.name} "
                          f"missing (R-DER-11)", path, min(later, default=node.end)))
    seen: set[str] = set()
    highest = -1
    for i, (child, (member, exact)) in enumerate(zip(node.children, matched,
                                                     strict=True)):
        if member is None:
            if t.additions is None:
                out.append(_fault(ErrorCode.DER_UNEXPECTED_TAG, "an element after the last "
                                  "component of a SEQUENCE without an extension marker "
                                  "(R-DER-15)", path, child.start))
            elif i < last_known:
                out.append(_fault(ErrorCode.DER_UNEXPECTED_TAG, "an unknown tag before a "
                                  "known component: not an extension addition, which "
                                  "comes after every known component (R-DER-11)", path,
                                  child.start))
            elif missing:
                out.append(_fault(ErrorCode.DER_UNEXPECTED_TAG, f"an unknown tag where "
                                  f"the schema expects mandatory component "
                                  f"{missing[0].name}: no extension addition (R-DER-11)",
                                  path, child.start))
            continue                               # an unknown extension addition
        name = f"{path}.{member.name}" if path else member.name
        if member.name in seen:
            out.append(_fault(ErrorCode.DER_UNEXPECTED_TAG, f"component {member.name} a "
                              f"second time (R-DER-15)", path, child.start))
            continue
        seen.add(member.name)
        if not exact:
            out.append(_wrong_form(child, name))
            continue
        if order[member.name] < highest:
            out.append(_fault(ErrorCode.DER_NON_CANONICAL, f"component {member.name} "
                              f"after one the schema puts after it (R-DER-11)", path,
                              child.start))
        highest = max(highest, order[member.name])
        _element(member, child, data, name, out)


_STRING_CHECKS: dict[type, Callable[[bytes], bool]] = {
    _der.UTF8String: lambda b: _utf8(b),
    _der.NumericString: lambda b: all(o < 0x80 for o in b),
    _der.VisibleString: lambda b: all(o < 0x80 for o in b),
}


def _utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _primitive(t: Any, node: der.Tlv, data: bytes, path: str,
               out: list[DecodeError]) -> None:
    content = data[node.content_start:node.end]
    kind = type(t)
    if kind in (_der.Integer, _ber.Integer, _ber.Enumerated, _ber.Boolean):
        if not content or (kind is _ber.Boolean and len(content) != 1):
            out.append(_fault(ErrorCode.DER_MALFORMED, f"contents of {len(content)} octets "
                              f"(X.690 8.2.1, 8.3.1: one octet for a BOOLEAN, at least one "
                              f"for an INTEGER or ENUMERATED, R-DER-16)", path, node.start))
        elif kind is _ber.Enumerated and \
                int.from_bytes(content, "big", signed=True) not in t.value_to_data:
            out.append(_fault(ErrorCode.INVALID_FIELD, "a value unknown to this version of "
                              "the schema (R-DER-09)", path, node.start))
        return
    check = _STRING_CHECKS.get(kind)
    if check is not None and not check(content):
        out.append(_fault(ErrorCode.DER_MALFORMED, "octets that are not characters of the "
                          "string's character set (R-DER-18)", path, node.start))


# The schema-aware canonical check -----------------------------------------------------

_Check = Callable[[der.Tlv, Any, bytes], bool]


def _tag_key(tag: bytes | bytearray) -> tuple[int, bool, int]:
    tag_class, constructed, number, _, _ = der.read_header(bytes(tag) + b"\x00", 0,
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
    """True if ``data`` (parsed as ``root`` by :func:`juki_protocol.codec.der.parse`) is
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
