"""The one boundary between message dataclasses and their two other forms.

* the asn1tools value (dicts with camelCase keys, tuples for CHOICE, ``YYYYMMDD``
  strings for dates), used by :mod:`juki_protocol.codec.schema`;
* the JSON form (snake_case keys, ISO dates, hex for octets, enum identifiers), used by
  the CLI, the vectors and the codec adapter.

Conversion is driven by each dataclass's type hints; a field that is one alternative
of an ASN.1 CHOICE carries ``metadata={"choice": "<asn1 field>"}``. Constructing a
dataclass runs its validation, and any :class:`ValidationError` is re-raised with the
full field path (``requester.address.local_gov_code``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
import typing
from enum import Enum
from typing import Any, TypeVar

from juki_protocol.errors import ErrorCode, JukiError, ValidationError

T = TypeVar("T")

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")  # R-JSON-05: writers use lowercase
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_ASN1_DATE = re.compile(r"[0-9]{8}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")   # C0 controls and DEL
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")

@typing.dataclass_transform(frozen_default=True, kw_only_default=True)
def message(cls: type[T]) -> type[T]:
    """Decorator for message dataclasses: frozen, slotted, keyword-only."""
    return dataclasses.dataclass(frozen=True, slots=True, kw_only=True)(cls)


def choice(of: str) -> Any:
    """A field that is one alternative of the ASN.1 CHOICE field ``of``."""
    return dataclasses.field(default=None, metadata={"choice": of})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The resolved type hints of a dataclass, computed once per class."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _fail(path: str, text: str, json: bool) -> JukiError:
    code = ErrorCode.INVALID_JSON if json else ErrorCode.INVALID_FIELD
    return ValidationError(text, code=code, field=path or None)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# Leaves ------------------------------------------------------------------------------

def parse_date(value: Any, path: str, *, iso: bool) -> dt.date:
    """A date from ``YYYYMMDD`` (asn1) or ``YYYY-MM-DD`` (JSON)."""
    code = ErrorCode.INVALID_DATE
    if not isinstance(value, str):
        raise ValidationError(f"{path} must be a date string", code=code, field=path)
    fmt = "%Y-%m-%d" if iso else "%Y%m%d"
    size = 10 if iso else 8
    pattern = _ISO_DATE if iso else _ASN1_DATE
    try:
        if len(value) != size or not pattern.match(value):
            raise ValueError(value)
        d = dt.datetime.strptime(value, fmt).date()
    except ValueError:
        shape = "YYYY-MM-DD" if iso else "YYYYMMDD"
        raise ValidationError(f"{path} {value!r} is not a real calendar date in the form "
                              f"{shape}", code=code, field=path) from None
    return d


def _leaf_to(tp: Any, value: Any, *, json: bool) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.datetime):
        if json:
            return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return value.isoformat() if json else value.strftime("%Y%m%d")
    if isinstance(value, bytes):
        return value.hex() if json else value
    return value


def _leaf_from(tp: Any, value: Any, path: str, *, json: bool) -> Any:
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in tp)
            raise _fail(path, f"{path} {value!r} is not one of: {allowed}", json) from None
    if tp is dt.datetime:
        if json:
            if not isinstance(value, str) or not _TIME.match(value):
                raise _fail(path, f"{path} must be a UTC time YYYY-MM-DDTHH:MM:SSZ", json)
            try:
                t = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                raise _fail(path, f"{path} {value!r} is not YYYY-MM-DDTHH:MM:SSZ",
                            json) from None
            return t.replace(tzinfo=dt.UTC)
        if not isinstance(value, dt.datetime):
            raise _fail(path, f"{path} must be a time", json)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value
    if tp is dt.date:
        return parse_date(value, path, iso=json)
    if tp is bytes:
        if json:
            if not isinstance(value, str) or not _HEX.match(value):
                raise _fail(path, f"{path} must be hex digits in pairs, with no separators",
                            json)
            try:
                return bytes.fromhex(value)
            except ValueError:
                raise _fail(path, f"{path} is not valid hex", json) from None
        if not isinstance(value, (bytes, bytearray)):
            raise _fail(path, f"{path} must be octets", json)
        return bytes(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise _fail(path, f"{path} must be true or false", json)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, f"{path} must be an integer", json)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise _fail(path, f"{path} must be a string", json)
        return value
    raise TypeError(f"unsupported field type {tp!r} at {path}")


# Generic walk ------------------------------------------------------------------------

def _to(tp: Any, value: Any, *, json: bool) -> Any:
    tp, _ = _unwrap_optional(tp)
    if dataclasses.is_dataclass(value):
        return to_form_generic(value, json=json)
    if isinstance(value, tuple):
        (item_tp, *_rest) = typing.get_args(tp) or (Any,)
        return [_to(item_tp, v, json=json) for v in value]
    return _leaf_to(tp, value, json=json)


def to_form(obj: Any, *, json: bool) -> dict[str, Any]:
    """The asn1tools value (``json=False``) or JSON object (``json=True``) of ``obj``."""
    if not json:
        return _to_asn1(obj)
    return to_form_generic(obj, json=True)


def to_form_generic(obj: Any, *, json: bool) -> dict[str, Any]:
    """:func:`to_form` by the generic walk over type hints (the reference for the
    compiled asn1tools direction below; the JSON direction always uses it)."""
    out: dict[str, Any] = {}
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            continue
        conv = _to(hints[f.name], value, json=json)
        of = f.metadata.get("choice")
        if json:
            out[f.name] = conv
        elif of:
            out[camel(of)] = (camel(f.name), conv)
        else:
            out[camel(f.name)] = conv
    return out


# The asn1tools direction, compiled per class ------------------------------------------
#
# to_form and from_form with json=False are the codec's hot path. They do exactly what
# the generic walk above does (same values, same errors, same field paths), with the
# per-class work -- field lists, camelCase keys, CHOICE groups, type hints -- done once,
# and fast paths for the common leaf types that fall back to the generic code for
# anything unusual.

_TO_PLANS: dict[type, tuple[tuple[str, str, str | None], ...]] = {}


def _to_plan(cls: type) -> tuple[tuple[str, str, str | None], ...]:
    plan = _TO_PLANS.get(cls)
    if plan is None:
        plan = _TO_PLANS[cls] = tuple(
            (f.name, camel(f.name),
             camel(f.metadata["choice"]) if f.metadata.get("choice") else None)
            for f in dataclasses.fields(cls))
    return plan


def _to_asn1(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key, alt in _TO_PLANS.get(type(obj)) or _to_plan(type(obj)):
        value = getattr(obj, name)
        if value is None:
            continue
        if alt is None:
            out[key] = _to_value(value)
        else:
            out[alt] = (key, _to_value(value))
    return out


def _to_value(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is bool or t is bytes:
        return value
    if t in _TO_PLANS or dataclasses.is_dataclass(value):
        return _to_asn1(value)
    if t is tuple:
        return [_to_value(v) for v in value]
    if t is dt.date and value.year >= 1000:
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"   # = strftime %Y%m%d
    if isinstance(value, Enum):
        return value.value
    return _to(Any, value, json=False)


def _from(tp: Any, value: Any, path: str, *, json: bool) -> Any:
    tp, _ = _unwrap_optional(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_form_generic(tp, value, path, json=json)
    if typing.get_origin(tp) is tuple:
        item_tp = typing.get_args(tp)[0]
        if not isinstance(value, list):
            raise _fail(path, f"{path} must be a list", json)
        return tuple(_from(item_tp, v, f"{path}[{i}]", json=json) for i, v in enumerate(value))
    return _leaf_from(tp, value, path, json=json)


def from_form(cls: type[T], data: Any, path: str = "", *, json: bool) -> T:
    """Build ``cls`` from its asn1tools value or JSON object, validating everything."""
    if not json:
        return _from_asn1(cls, data, path)
    return from_form_generic(cls, data, path, json=True)


def from_form_generic(cls: type[T], data: Any, path: str = "", *, json: bool) -> T:
    """:func:`from_form` by the generic walk over type hints (the reference for the
    compiled asn1tools direction below; the JSON direction always uses it)."""
    if not isinstance(data, dict):
        raise _fail(path, f"{path or cls.__name__} must be an object", json)
    hints = _hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    if json:
        known = {f.name for f in fields}
        extra = sorted(set(data) - known)
        if extra:
            raise _fail(_join(path, extra[0]), f"{_join(path, extra[0])} is not a field of "
                        f"{cls.__name__} (fields: {', '.join(sorted(known))})", json)
    for f in fields:
        fpath = _join(path, f.name)
        of = f.metadata.get("choice")
        if json:
            raw = data.get(f.name)
        elif of:
            alt = data.get(camel(of))
            raw = alt[1] if alt is not None and alt[0] == camel(f.name) else None
        else:
            raw = data.get(camel(f.name))
        if raw is None:
            _, optional = _unwrap_optional(hints[f.name])
            if not optional:
                raise _fail(fpath, f"{fpath} is required" + (
                    "" if json else " (absent, or a value unknown to this version)"), json)
            continue
        kwargs[f.name] = _from(hints[f.name], raw, fpath, json=json)
    if not json:
        for of in {f.metadata["choice"] for f in fields if "choice" in f.metadata}:
            alt = data.get(camel(of))
            names = {camel(f.name) for f in fields if f.metadata.get("choice") == of}
            if alt is not None and alt[0] not in names:
                raise _fail(_join(path, of), f"{_join(path, of)} alternative {alt[0]!r} is "
                            f"unknown to this version", json)
    return _construct(cls, kwargs, path)


def json_to_raw(cls: type, data: Any, path: str = "") -> dict[str, Any]:
    """The asn1tools value of a JSON object, reading its shape only (spec/json.md).

    This is the first step of encoding a JSON value in the order of checks of
    spec/pdu.md section 8: it raises what reading the JSON form raises (1030 for the
    shape, 1023 for a date not in the form ``YYYY-MM-DD`` or not a real date, 1024 for a
    CHOICE with two alternatives, R-JSON-07) and leaves the schema constraints, the
    profile and the rules of the message's clause to the steps after it. No dataclass
    is built, so no rule runs. A CHOICE with no alternative is left out, for the
    message's rules to report.
    """
    if not isinstance(data, dict):
        raise _fail(path, f"{path or cls.__name__} must be an object", True)
    hints = _hints(cls)
    fields = dataclasses.fields(cls)
    known = {f.name for f in fields}
    extra = sorted(set(data) - known)
    if extra:
        raise _fail(_join(path, extra[0]), f"{_join(path, extra[0])} is not a field of "
                    f"{cls.__name__} (fields: {', '.join(sorted(known))})", True)
    out: dict[str, Any] = {}
    for f in fields:
        fpath = _join(path, f.name)
        raw = data.get(f.name)
        if raw is None:
            if not _unwrap_optional(hints[f.name])[1]:
                raise _fail(fpath, f"{fpath} is required", True)
            continue
        value = _json_value_to_raw(hints[f.name], raw, fpath)
        of = f.metadata.get("choice")
        if of is None:
            out[camel(f.name)] = value
        elif camel(of) in out:
            raise ValidationError(f"{_join(path, of)}: exactly one alternative must be "
                                  f"given, got {out[camel(of)][0]} and {camel(f.name)}",
                                  code=ErrorCode.INVALID_FIELD, field=_join(path, of))
        else:
            out[camel(of)] = (camel(f.name), value)
    return out


def _json_value_to_raw(tp: Any, value: Any, path: str) -> Any:
    tp, _ = _unwrap_optional(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return json_to_raw(tp, value, path)
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, list):
            raise _fail(path, f"{path} must be a list", True)
        item_tp = typing.get_args(tp)[0]
        return [_json_value_to_raw(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return _to_value(_leaf_from(tp, value, path, json=True))


#: A converter: (raw value, parent path, field name) -> value. A name of None means the
#: path is already the full path of the value (items of a list: ``entries[3]``).
_Conv = typing.Callable[[Any, str, "str | None"], Any]


def _full(path: str, name: str | None) -> str:
    if name is None:
        return path
    return f"{path}.{name}" if path else name


@dataclasses.dataclass(frozen=True, slots=True)
class _FromPlan:
    # (field name, asn1 key, CHOICE key or None, optional, converter)
    fields: tuple[tuple[str, str, str | None, bool, _Conv], ...]
    # (CHOICE field name, its asn1 key, the asn1 names of its alternatives)
    choices: tuple[tuple[str, str, frozenset[str]], ...]


_FROM_PLANS: dict[type, _FromPlan] = {}


def _leaf_conv(tp: Any) -> _Conv:
    """A converter for a leaf type: a fast path for the values asn1tools produces, and
    :func:`_leaf_from` (with its checks and errors) for anything else."""
    def slow(raw: Any, path: str, name: str | None) -> Any:
        return _leaf_from(tp, raw, _full(path, name), json=False)

    if isinstance(tp, type) and issubclass(tp, Enum):
        table = tp._value2member_map_     # what Enum.__call__ looks up first

        def enum(raw: Any, path: str, name: str | None) -> Any:
            try:
                return table[raw]
            except (KeyError, TypeError):
                return slow(raw, path, name)
        return enum
    if tp is dt.date:
        def date(raw: Any, path: str, name: str | None) -> Any:
            # The same as parse_date: 8 ASCII digits that name a real date (strptime's
            # %Y%m%d on 8 digits can only split them 4-2-2).
            if type(raw) is str and len(raw) == 8 and _ASN1_DATE.match(raw):
                try:
                    return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
                except ValueError:
                    pass
            return slow(raw, path, name)
        return date
    if tp is dt.datetime:
        def time(raw: Any, path: str, name: str | None) -> Any:
            if type(raw) is dt.datetime and raw.tzinfo is not None:
                return raw
            return slow(raw, path, name)
        return time
    if tp in (str, int, bool, bytes):
        def same(raw: Any, path: str, name: str | None) -> Any:
            return raw if type(raw) is tp else slow(raw, path, name)
        return same
    return slow


def _conv(tp: Any) -> _Conv:
    tp, _ = _unwrap_optional(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        cls = tp

        def nested(raw: Any, path: str, name: str | None) -> Any:
            return _from_asn1(cls, raw, _full(path, name))
        return nested
    if typing.get_origin(tp) is tuple:
        item = _conv(typing.get_args(tp)[0])

        def items(raw: Any, path: str, name: str | None) -> Any:
            fpath = _full(path, name)
            if not isinstance(raw, list):
                raise _fail(fpath, f"{fpath} must be a list", False)
            return tuple(item(v, f"{fpath}[{i}]", None) for i, v in enumerate(raw))
        return items
    return _leaf_conv(tp)


def _from_plan(cls: type) -> _FromPlan:
    plan = _FROM_PLANS.get(cls)
    if plan is None:
        hints = _hints(cls)
        fields = dataclasses.fields(cls)
        rows = []
        for f in fields:
            of = f.metadata.get("choice")
            rows.append((f.name, camel(f.name), camel(of) if of else None,
                         _unwrap_optional(hints[f.name])[1], _conv(hints[f.name])))
        groups: dict[str, None] = dict.fromkeys(
            f.metadata["choice"] for f in fields if "choice" in f.metadata)
        choices = tuple((of, camel(of), frozenset(camel(f.name) for f in fields
                                                  if f.metadata.get("choice") == of))
                        for of in groups)
        plan = _FROM_PLANS[cls] = _FromPlan(tuple(rows), choices)
    return plan


def _from_asn1(cls: type[T], data: Any, path: str) -> T:
    """from_form(cls, data, path, json=False), compiled per class."""
    if type(data) is not dict and not isinstance(data, dict):
        raise _fail(path, f"{path or cls.__name__} must be an object", False)
    plan = _FROM_PLANS.get(cls) or _from_plan(cls)
    kwargs: dict[str, Any] = {}
    for name, key, alt_key, optional, conv in plan.fields:
        if alt_key is None:
            raw = data.get(key)
        else:
            alt = data.get(alt_key)
            raw = alt[1] if alt is not None and alt[0] == key else None
        if raw is None:
            if not optional:
                fpath = _join(path, name)
                raise _fail(fpath, f"{fpath} is required (absent, or a value unknown to "
                            f"this version)", False)
            continue
        kwargs[name] = conv(raw, path, name)
    for of, alt_key, names in plan.choices:
        alt = data.get(alt_key)
        if alt is not None and alt[0] not in names:
            raise _fail(_join(path, of), f"{_join(path, of)} alternative {alt[0]!r} is "
                        f"unknown to this version", False)
    return _construct(cls, kwargs, path)


def _construct(cls: type[T], kwargs: dict[str, Any], path: str) -> T:
    """``cls(**kwargs)``, with the field of a validation error prefixed by ``path``."""
    try:
        return cls(**kwargs)
    except JukiError as exc:
        if path and exc.field and not exc.field.startswith(path):
            exc.field = _join(path, exc.field)
        elif path and not exc.field:
            exc.field = path
        raise


def walk(obj: Any, path: str = "") -> typing.Iterator[tuple[str, Any]]:
    """Yield ``(path, dataclass)`` for ``obj`` and every dataclass inside it."""
    yield path, obj
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        fpath = _join(path, f.name)
        if dataclasses.is_dataclass(value):
            yield from walk(value, fpath)
        elif isinstance(value, tuple):
            for i, v in enumerate(value):
                if dataclasses.is_dataclass(v):
                    yield from walk(v, f"{fpath}[{i}]")


# Validation helpers used by the message modules --------------------------------------

def require(cond: bool, field: str, rule: str,
            code: ErrorCode = ErrorCode.INVALID_FIELD) -> None:
    """Raise a ValidationError naming ``field`` and ``rule`` unless ``cond`` holds."""
    if not cond:
        raise ValidationError(f"{field}: {rule}", code=code, field=field)


def require_text(value: str, field: str, *, max_len: int) -> None:
    require(isinstance(value, str) and 0 < len(value) <= max_len, field,
            f"must be 1 to {max_len} characters")
    require(not _CONTROL.search(value), field, "must not contain control characters")


def require_exactly_one(obj: Any, names: tuple[str, ...], choice_name: str) -> None:
    present = [n for n in names if getattr(obj, n) is not None]
    require(len(present) == 1, choice_name,
            f"exactly one of {', '.join(names)} must be given, got "
            f"{', '.join(present) or 'none'}")


def require_unique(values: typing.Iterable[Any], field: str) -> None:
    # The values are personal data: the error names positions, never values.
    seen: dict[Any, int] = {}
    for i, v in enumerate(values):
        require(v not in seen, field, f"item {i} repeats item {seen.get(v)}")
        seen[v] = i
