"""JER (ITU-T X.697) for the messages, and a lossless conversion to and from the JSON form.

The JSON form of ``spec/json.md`` stays the form of the vectors, the CLI and the codec
adapter; JER is the interchange form for generic ASN.1 tools (spec/json.md section 3).
The two hold the same value and differ only in spelling:

==========================  ==========================  =============================
ASN.1                       JSON form                   JER (X.697, no instructions)
==========================  ==========================  =============================
component / alternative     snake_case identifier       the ASN.1 identifier as is
CHOICE component            flattened into the parent   ``{"alternative": value}``
``Date`` (NumericString)    ``"YYYY-MM-DD"``            ``"YYYYMMDD"``
GeneralizedTime             ``"YYYY-MM-DDTHH:MM:SSZ"``  ``"YYYYMMDDHHMMSSZ"``
==========================  ==========================  =============================

OCTET STRING (lowercase hex), ENUMERATED (the identifier), INTEGER, BOOLEAN, the
character strings, SEQUENCE OF and absent OPTIONAL components (no member) are spelt
alike. The conversion is driven by the message dataclasses' type hints and CHOICE
metadata (the same ones :mod:`juki_protocol.messages.base` reads), never by a list per
type, and goes through the asn1tools value of the codec:

>>> from juki_protocol.fixtures.samples import example
>>> msg = example("Acknowledgement")
>>> from_jer("Acknowledgement", to_jer(msg)) == msg
True

Reading JER is checked in the order of spec/pdu.md section 8: the shape of the JER value
(1030 INVALID_JSON, or 1023 INVALID_DATE for a ``Date``; R-JSON-13 to R-JSON-15), the
schema constraints (1015), the profile (1025, :func:`encode_jer` only), then the rules of
the message's clause, which name the field as a DER decode does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import types
import typing
from enum import Enum
from typing import Any

from juki_protocol.codec.codec import check_raw_profile, encode, message_class
from juki_protocol.codec.schema import check_constraints
from juki_protocol.errors import ErrorCode, JukiError, ValidationError
from juki_protocol.messages.base import camel, from_form, json_to_raw, parse_date, to_form
from juki_protocol.messages.common import Profile

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")     # R-JSON-11: either case on reading
_JER_TIME = re.compile(r"[0-9]{14}Z\Z")
_TIME_FORMAT = "%Y%m%d%H%M%SZ"


# The plan of a SEQUENCE: its JER members, from the dataclass -----------------------

@dataclasses.dataclass(frozen=True, slots=True)
class _Member:
    """One member of the JER object of a SEQUENCE: a component, or a CHOICE component
    whose alternatives are fields of the dataclass (``alternatives`` then holds
    ``(alternative identifier, field name, type)`` for each)."""

    key: str
    field: str
    tp: Any
    optional: bool
    alternatives: tuple[tuple[str, str, Any], ...] = ()


_PLANS: dict[type, tuple[_Member, ...]] = {}


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _plan(cls: type) -> tuple[_Member, ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        members: list[_Member] = []
        choices: dict[str, list[tuple[str, str, Any]]] = {}
        for f in dataclasses.fields(cls):
            tp, optional = _unwrap_optional(hints[f.name])
            of = f.metadata.get("choice")
            if of is None:
                members.append(_Member(camel(f.name), f.name, tp, optional))
                continue
            if of not in choices:
                choices[of] = []
                members.append(_Member(camel(of), of, None, False))
            choices[of].append((camel(f.name), f.name, tp))
        plan = _PLANS[cls] = tuple(
            dataclasses.replace(m, alternatives=tuple(choices[m.field]))
            if m.field in choices and m.tp is None else m for m in members)
    return plan


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _fail(path: str, rule: str) -> ValidationError:
    return ValidationError(f"JER {path or 'value'}: {rule}", code=ErrorCode.INVALID_JSON,
                           field=path or None)


# JER -> asn1tools value (the shape checks) -------------------------------------------

def _read(cls: type, value: Any, path: str) -> dict[str, Any]:
    """The asn1tools value of the JER object ``value`` of the SEQUENCE ``cls``."""
    if not isinstance(value, dict):
        raise _fail(path, f"a {cls.__name__} must be a JSON object (X.697 SEQUENCE)")
    plan = _plan(cls)
    known = {m.key for m in plan}
    extra = sorted(set(value) - known, key=str)
    if extra:
        raise _fail(_join(path, str(extra[0])), f"is not a component of {cls.__name__} "
                    f"(components: {', '.join(sorted(known))}; R-JSON-14)")
    out: dict[str, Any] = {}
    for m in plan:
        mpath = _join(path, m.key)
        if m.key not in value:
            if not (m.optional or m.alternatives):
                raise _fail(mpath, "is required: the component is not OPTIONAL (R-JSON-14)")
            continue                 # a CHOICE left out: the message's rules report it
        item = value[m.key]
        if item is None:
            raise _fail(mpath, "must not be null: an absent OPTIONAL component has no "
                        "member (X.697; R-JSON-13)")
        if m.alternatives:
            chosen = _read_choice(m, item, mpath)
            if chosen is not None:
                out[m.key] = chosen
        else:
            out[m.key] = _read_value(m.tp, item, mpath)
    return out


def _read_choice(m: _Member, value: Any, path: str) -> tuple[str, Any] | None:
    if not isinstance(value, dict):
        raise _fail(path, "a CHOICE must be a JSON object with one member, the "
                    "alternative present (X.697; R-JSON-13)")
    names = {key: tp for key, _, tp in m.alternatives}
    extra = sorted(set(value) - set(names), key=str)
    if extra:
        raise _fail(_join(path, str(extra[0])), f"is not an alternative of {m.key} "
                    f"(alternatives: {', '.join(sorted(names))}; R-JSON-14)")
    if len(value) > 1:
        raise ValidationError(f"JER {path}: exactly one alternative must be given, got "
                              f"{', '.join(value)} (R-JSON-07)",
                              code=ErrorCode.INVALID_FIELD, field=path)
    if not value:
        return None                  # no alternative: the message's rules report it
    (key, item), = value.items()
    if item is None:
        raise _fail(_join(path, key), "must not be null (R-JSON-13)")
    return key, _read_value(names[key], item, _join(path, key))


def _read_value(tp: Any, value: Any, path: str) -> Any:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _read(tp, value, path)
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, list):
            raise _fail(path, "a SEQUENCE OF must be a JSON array")
        item_tp = typing.get_args(tp)[0]
        return [_read_value(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return _read_leaf(tp, value, path)


def _read_leaf(tp: Any, value: Any, path: str) -> Any:
    if isinstance(tp, type) and issubclass(tp, Enum):
        allowed = [str(e.value) for e in tp]
        if not isinstance(value, str) or value not in allowed:
            raise _fail(path, f"an ENUMERATED must be a JSON string, one of: "
                        f"{', '.join(allowed)} (R-JSON-06)")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise _fail(path, "a BOOLEAN must be true or false (R-JSON-06)")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, "an INTEGER must be a JSON number without fraction or "
                        "exponent (R-JSON-06)")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise _fail(path, "a character string must be a JSON string")
        return value
    if tp is bytes:
        if not isinstance(value, str) or not _HEX.match(value):
            raise _fail(path, "an OCTET STRING must be a JSON string of hex digits, two "
                        "per octet, with no separators (R-JSON-05)")
        return bytes.fromhex(value)
    if tp is dt.date:
        parse_date(value, path, iso=False)          # 1023, as for the JSON form
        return value
    if tp is dt.datetime:
        if isinstance(value, str) and _JER_TIME.match(value):
            try:
                return dt.datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=dt.UTC)
            except ValueError:
                pass
        raise _fail(path, "a GeneralizedTime must be a JSON string YYYYMMDDHHMMSSZ: a real "
                    "UTC time in whole seconds (R-JSON-15)")
    raise TypeError(f"unsupported field type {tp!r} at {path}")


# asn1tools value -> JER, and -> the JSON form ----------------------------------------

def _raw_to_jer(value: Any) -> Any:
    """The JER of an asn1tools value: generic, since every leaf keeps its spelling
    except octets (hex) and times, and a CHOICE's (alternative, value) pair becomes an
    object of one member."""
    if isinstance(value, dict):
        return {k: _raw_to_jer(v) for k, v in value.items()}
    if isinstance(value, tuple):
        alternative, inner = value
        return {alternative: _raw_to_jer(inner)}
    if isinstance(value, list):
        return [_raw_to_jer(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime(_TIME_FORMAT)
    return value


def _raw_to_json(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in _plan(cls):
        if m.key not in raw:
            continue
        if m.alternatives:
            key, inner = raw[m.key]
            field, tp = next((f, t) for k, f, t in m.alternatives if k == key)
            out[field] = _json_value(tp, inner)
        else:
            out[m.field] = _json_value(m.tp, raw[m.key])
    return out


def _json_value(tp: Any, value: Any) -> Any:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _raw_to_json(tp, value)
    if typing.get_origin(tp) is tuple:
        return [_json_value(typing.get_args(tp)[0], v) for v in value]
    if tp is dt.date:
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if tp is dt.datetime:
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if tp is bytes:
        return value.hex()
    return value


# Public API ---------------------------------------------------------------------------

def to_jer(msg: Any) -> dict[str, Any]:
    """The JER value (X.697, as a JSON object) of a message dataclass."""
    value: dict[str, Any] = _raw_to_jer(to_form(msg, json=False))
    return value


def dumps_jer(msg: Any) -> str:
    """JER text of a message, canonically written like the JSON form (R-JSON-10)."""
    return json.dumps(to_jer(msg), ensure_ascii=False, indent=2, sort_keys=True)


def jer_to_raw(type_name: str, value: Any) -> dict[str, Any]:
    """The asn1tools value of a JER value of ``type_name``, reading its shape only
    (1030, 1023 for a ``Date``, 1024 for a CHOICE with two alternatives); no rule runs."""
    return _read(message_class(type_name), value, "")


def from_jer(type_name: str, value: Any) -> Any:
    """Build and validate a message of ``type_name`` from its JER value: the shape, the
    schema constraints (1015), then the message's rules."""
    raw = jer_to_raw(type_name, value)
    check_constraints(type_name, raw)
    return from_form(message_class(type_name), raw, json=False)


def loads_jer(text: str) -> Any:
    """Parse JER text; text that is not JSON raises INVALID_JSON."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:     # also over-long integers
        raise ValidationError(f"not valid JSON: {exc}", code=ErrorCode.INVALID_JSON) \
            from exc


def from_jer_text(type_name: str, text: str) -> Any:
    """:func:`loads_jer`, then :func:`from_jer`."""
    return from_jer(type_name, loads_jer(text))


def encode_jer(type_name: str, value: Any,
               profile: Profile | None = Profile.CURRENT) -> bytes:
    """DER of a message given as JER, checked in the order of spec/pdu.md section 8 as
    :func:`juki_protocol.codec.codec.encode_json` checks the JSON form: the shape, the schema
    constraints (1015), the profile (1025), then the message's rules."""
    cls = message_class(type_name)
    raw = _read(cls, value, "")
    check_constraints(type_name, raw)
    if profile is not None:
        check_raw_profile(cls, raw, profile)
    return encode(from_form(cls, raw, json=False), profile)


def raw_to_json(type_name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of an asn1tools value of ``type_name``, spelling only: no
    constraint or rule is checked (the conformance suite builds values at and beyond
    the schema's bounds with it)."""
    return _raw_to_json(message_class(type_name), raw)


def json_to_jer(type_name: str, obj: Any) -> dict[str, Any]:
    """The JER value of a value in the JSON form, reading its shape only (the errors of
    :func:`juki_protocol.messages.base.json_to_raw`); lossless: :func:`jer_to_json`
    gives ``obj`` back, less any ``null`` members."""
    value: dict[str, Any] = _raw_to_jer(json_to_raw(message_class(type_name), obj))
    return value


def jer_to_json(type_name: str, value: Any) -> dict[str, Any]:
    """The JSON form of a JER value, reading its shape only (see :func:`jer_to_raw`);
    lossless: :func:`json_to_jer` gives ``value`` back, hex digits in lowercase."""
    cls = message_class(type_name)
    return _raw_to_json(cls, _read(cls, value, ""))


__all__ = [
    "JukiError",
    "dumps_jer",
    "encode_jer",
    "from_jer",
    "from_jer_text",
    "jer_to_json",
    "jer_to_raw",
    "json_to_jer",
    "loads_jer",
    "raw_to_json",
    "to_jer",
]
