"""Public codec API: messages to DER and back, and to JSON and back.

>>> der = encode(message, profile=Profile.CURRENT)
>>> decode(der) == message                 # the type comes from the APPLICATION tag
True

Profiles (``spec/README.md``): in ``current`` every identity info and move-out
certificate entry carries an individual number; in ``p2002`` none does. The profile is
checked on encode and, when given, on decode.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError, ValidationError
from juki_protocol.messages import MESSAGE_TYPES
from juki_protocol.messages.base import from_form, to_form, walk
from juki_protocol.messages.common import IdentityInfo, Profile
from juki_protocol.messages.special_move import MoveOutCertificateEntry
from juki_protocol.schema import decode_raw, encode_raw

_PROFILED = (IdentityInfo, MoveOutCertificateEntry)


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
    """Raise PROFILE_VIOLATION unless ``msg`` follows ``profile``."""
    if _follows(msg, profile is Profile.CURRENT):
        return
    for path, obj in walk(msg):     # the slow walk, for the field path of the error
        if isinstance(obj, _PROFILED):
            field = f"{path}.individual_number" if path else "individual_number"
            if profile is Profile.CURRENT and obj.individual_number is None:
                raise ValidationError(f"{field} is required in profile current",
                                      code=ErrorCode.PROFILE_VIOLATION, field=field)
            if profile is Profile.P2002 and obj.individual_number is not None:
                raise ValidationError(f"{field} is not allowed in profile 2002",
                                      code=ErrorCode.PROFILE_VIOLATION, field=field)


#: Per dataclass: the names of the fields whose type can hold a dataclass.
_NESTED: dict[type, tuple[str, ...]] = {}


def _nested_fields(cls: type) -> tuple[str, ...]:
    names = _NESTED.get(cls)
    if names is None:
        hints = typing.get_type_hints(cls)

        def holds_dataclass(tp: Any) -> bool:
            if isinstance(tp, type):
                return dataclasses.is_dataclass(tp)
            args = typing.get_args(tp)
            return not args or any(holds_dataclass(a) for a in args if a is not ...)

        names = _NESTED[cls] = tuple(f.name for f in dataclasses.fields(cls)
                                     if holds_dataclass(hints[f.name]))
    return names


def _follows(obj: Any, current: bool) -> bool:
    """True if no profiled object inside ``obj`` breaks the profile (the fast check of
    :func:`check_profile`, without building paths)."""
    if isinstance(obj, _PROFILED) and (obj.individual_number is None) is current:
        return False
    for name in _NESTED.get(type(obj)) or _nested_fields(type(obj)):
        value = getattr(obj, name)
        if type(value) is tuple:
            for item in value:
                if dataclasses.is_dataclass(item) and not _follows(item, current):
                    return False
        elif dataclasses.is_dataclass(value) and not _follows(value, current):
            return False
    return True


def encode(msg: Any, profile: Profile | None = Profile.CURRENT) -> bytes:
    """DER of ``msg`` (a top-level message dataclass), checked against ``profile``."""
    name = type_name_of(msg)
    if profile is not None:
        check_profile(msg, profile)
    return encode_raw(name, to_form(msg, json=False))


@dataclasses.dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded message, its type name, and how many unknown extension elements (from
    a later schema version) the decoder skipped."""

    message: Any
    type_name: str
    unknown_extensions: int


def decode_full(data: bytes, type_name: str | None = None,
                profile: Profile | None = None) -> Decoded:
    """Decode untrusted DER: strict DER, schema constraints, then message rules."""
    if type_name is not None:
        message_class(type_name)
    raw = decode_raw(type_name, data)
    cls = message_class(raw.type_name)
    msg: Any = from_form(cls, raw.value, json=False)
    if profile is not None:
        check_profile(msg, profile)
    return Decoded(msg, raw.type_name, raw.unknown_extensions)


def decode(data: bytes, type_name: str | None = None, profile: Profile | None = None) -> Any:
    """Decode untrusted DER into its message dataclass (see :func:`decode_full`)."""
    return decode_full(data, type_name, profile).message


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


__all__ = ["Decoded", "JukiError", "Profile", "check_profile", "decode", "decode_full",
           "dumps", "encode", "from_json", "from_json_text", "message_class", "to_json",
           "type_name_of"]
