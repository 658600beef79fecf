"""Public codec API: messages to DER and back, and to JSON and back.

>>> der = encode(message, profile=Profile.CURRENT)
>>> decode(der) == message                 # the type comes from the APPLICATION tag
True

Profiles (``spec/README.md``): in ``current`` every identity info and move-out
certificate entry carries an individual number; in ``p2002`` none does. The profile is
checked on encode and, when given, on decode.

Order of checks (spec/pdu.md section 8, step 9): untrusted input is checked for its DER
structure, then the schema constraints (1015), then the profile (1025), then the rules
of the message's clause. :func:`decode_full` and :func:`encode_json` keep that order,
so a value with two faults gets the same code from both directions.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from juki_protocol import PROTOCOL_VERSION
from juki_protocol.codec.schema import check_constraints, decode_raw, encode_raw
from juki_protocol.errors import ErrorCode, JukiError, ValidationError
from juki_protocol.messages import MESSAGE_TYPES
from juki_protocol.messages.base import camel, from_form, json_to_raw, to_form
from juki_protocol.messages.common import IdentityInfo, Profile
from juki_protocol.messages.special_move import MoveOutCertificateEntry

_PROFILED = (IdentityInfo, MoveOutCertificateEntry)

#: The protocol versions this implementation speaks (spec/pdu.md R-PDU-14).
PROTOCOL_VERSIONS = frozenset({PROTOCOL_VERSION})


def type_name_of(msg: Any) -> str:
    """The ASN.1 type name of a message object."""
    name = type(msg).__name__
    if name not in MESSAGE_TYPES or not isinstance(msg, MESSAGE_TYPES[name]):
        raise ValidationError(f"{name} is not a top-level message type",
                              code=ErrorCode.UNKNOWN_MESSAGE_TYPE)
    return name


def message_class(type_name: str) -> type:
    """The dataclass of a type name (``IdentityInfoUpdate``)."""
    try:
        return MESSAGE_TYPES[type_name]
    except KeyError:
        raise ValidationError(f"unknown message type {type_name!r}; known: "
                              f"{', '.join(MESSAGE_TYPES)}",
                              code=ErrorCode.UNKNOWN_MESSAGE_TYPE) from None


def check_profile(msg: Any, profile: Profile) -> None:
    """Raise PROFILE_VIOLATION unless ``msg`` follows ``profile``: the check of
    :func:`check_raw_profile` on the message's form (one implementation of the rule for
    every direction)."""
    check_raw_profile(type(msg), to_form(msg, json=False), profile)


def _profile_error(path: str, profile: Profile) -> ValidationError:
    field = f"{path}.individual_number" if path else "individual_number"
    rule = "required in profile current" if profile is Profile.CURRENT \
        else "not allowed in profile p2002"
    return ValidationError(f"{field} is {rule}", code=ErrorCode.PROFILE_VIOLATION,
                           field=field)


#: Per dataclass: (field name, asn1 key, CHOICE alternative or None, the dataclass the
#: field holds, whether it is a list) for every field that can hold a dataclass.
_RawPlan = tuple[tuple[str, str, "str | None", type, bool], ...]
_RAW_PLANS: dict[type, _RawPlan] = {}


def _raw_plan(cls: type) -> _RawPlan:
    plan = _RAW_PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        rows = []
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if typing.get_origin(tp) is not tuple and len(args) == 1:
                tp = args[0]                      # X | None
            is_list = typing.get_origin(tp) is tuple
            inner = typing.get_args(tp)[0] if is_list else tp
            if isinstance(inner, type) and dataclasses.is_dataclass(inner):
                of = f.metadata.get("choice")
                rows.append((f.name, camel(of) if of else camel(f.name),
                             camel(f.name) if of else None, inner, is_list))
        plan = _RAW_PLANS[cls] = tuple(rows)
    return plan


def check_raw_profile(cls: type, raw: Any, profile: Profile, path: str = "") -> None:
    """Raise PROFILE_VIOLATION unless the asn1tools value ``raw`` of ``cls`` follows
    ``profile`` (R-PDU-02, R-PDU-03). It runs before the message's rules, which need the
    dataclass: the profile comes before the rules in the order of checks."""
    if not isinstance(raw, dict):
        return
    if cls in _PROFILED and (raw.get("individualNumber") is None) is \
            (profile is Profile.CURRENT):
        raise _profile_error(path, profile)
    for name, key, alt, sub, is_list in _RAW_PLANS.get(cls) or _raw_plan(cls):
        value = raw.get(key)
        if value is None:
            continue
        if alt is not None:
            if not (isinstance(value, tuple) and len(value) == 2 and value[0] == alt):
                continue
            value = value[1]
        fpath = f"{path}.{name}" if path else name
        if not is_list:
            check_raw_profile(sub, value, profile, fpath)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                check_raw_profile(sub, item, profile, f"{fpath}[{i}]")


def encode(msg: Any, profile: Profile | None = Profile.CURRENT) -> bytes:
    """DER of ``msg`` (a top-level message dataclass), checked against ``profile``."""
    name = type_name_of(msg)
    form = to_form(msg, json=False)
    if profile is not None:
        check_raw_profile(type(msg), form, profile)
    return encode_raw(name, form)


@dataclasses.dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded message, its type name, and how many unknown extension elements (from
    a later schema version) the decoder skipped."""

    message: Any
    type_name: str
    unknown_extensions: int


def decode_full(data: bytes, type_name: str | None = None,
                profile: Profile | None = None,
                versions: frozenset[int] | None = None) -> Decoded:
    """Decode untrusted DER: strict DER, schema constraints, the profile, then the
    message's rules (spec/pdu.md section 8, step 9).

    ``versions``: the protocol versions the caller speaks. When given, a ``JukiPdu``
    whose header names another version is refused with 1016 UNSUPPORTED_VERSION before
    the header's other rules (spec/pdu.md section 8, step 3; R-PDU-45 for codec mode).
    A node leaves it out and checks the version with the rest of its header checks."""
    if type_name is not None:
        message_class(type_name)
    raw = decode_raw(type_name, data)
    cls = message_class(raw.type_name)
    if versions is not None and raw.type_name == "JukiPdu":
        check_raw_version(raw.value, versions)
    if profile is not None:
        check_raw_profile(cls, raw.value, profile)
    msg: Any = from_form(cls, raw.value, json=False)
    return Decoded(msg, raw.type_name, raw.unknown_extensions)


def check_raw_version(raw: Any, versions: frozenset[int]) -> None:
    """Raise UNSUPPORTED_VERSION unless the header of the asn1tools ``JukiPdu`` value
    ``raw`` names one of ``versions`` (R-PDU-14)."""
    header = raw.get("header") if isinstance(raw, dict) else None
    version = header.get("version") if isinstance(header, dict) else None
    if version not in versions:
        raise ValidationError(f"header.version {version} is not one this implementation "
                              f"speaks ({', '.join(map(str, sorted(versions)))})",
                              code=ErrorCode.UNSUPPORTED_VERSION, field="header.version")


def decode(data: bytes, type_name: str | None = None, profile: Profile | None = None) -> Any:
    """Decode untrusted DER into its message dataclass (see :func:`decode_full`)."""
    return decode_full(data, type_name, profile).message


def encode_json(type_name: str, obj: Any, profile: Profile | None = Profile.CURRENT) -> bytes:
    """DER of a message given in its JSON form, checked in the order of spec/pdu.md
    section 8: the JSON form (1030), the schema constraints (1015), the profile (1025),
    then the message's rules. :func:`from_json` and :func:`encode` would check the rules
    first, because building the dataclass runs them."""
    cls = message_class(type_name)
    raw = json_to_raw(cls, obj)
    check_constraints(type_name, raw)
    if profile is not None:
        check_raw_profile(cls, raw, profile)
    return encode(from_form(cls, obj, json=True), profile)


def to_json(msg: Any) -> dict[str, Any]:
    """The JSON object form of a message (snake_case keys; see spec/json.md)."""
    return to_form(msg, json=True)


def from_json(type_name: str, obj: Any) -> Any:
    """Build and validate a message of ``type_name`` from its JSON object form."""
    return from_form(message_class(type_name), obj, json=True)


def from_json_text(type_name: str, text: str) -> Any:
    """Parse JSON text, then :func:`from_json`; bad JSON raises INVALID_JSON."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:    # also over-long integers, deep nesting
        raise ValidationError(f"not valid JSON: {exc}", code=ErrorCode.INVALID_JSON) from exc
    return from_json(type_name, obj)


def dumps(msg: Any) -> str:
    """Canonical JSON text of a message: sorted keys, UTF-8 kept, two-space indent."""
    return json.dumps(to_json(msg), ensure_ascii=False, indent=2, sort_keys=True)


__all__ = [
    "PROTOCOL_VERSIONS",
    "Decoded",
    "JukiError",
    "Profile",
    "check_profile",
    "check_raw_profile",
    "check_raw_version",
    "decode",
    "decode_full",
    "dumps",
    "encode",
    "encode_json",
    "from_json",
    "from_json_text",
    "message_class",
    "to_json",
    "type_name_of",
]
