"""The upper tester's operations: one registry, and the helpers every op module uses.

Each op is a coroutine ``handler(node, request) -> fields`` registered under its name
with :func:`op`; it raises :class:`~juki_protocol.errors.JukiError` with a registered
code for a bad request (the wire form turns it into ``"ok": false``, see
:mod:`juki_protocol.node.upper_tester`). The ops are grouped by subject in modules of
their own (:mod:`~juki_protocol.node.upper_register`: the register's local events;
:mod:`~juki_protocol.node.upper_card`: the resident card; ...), which
:mod:`~juki_protocol.node.upper_tester` imports so that they register. spec/node.md
section 4 lists them all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError, ValidationError
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.base import parse_date
from juki_protocol.node.node import Node
from juki_protocol.node.roles import AgencyRole, MunicipalityRole

Handler = Callable[[Node, dict[str, Any]], Awaitable[dict[str, Any]]]
#: Every op by name (filled by the op modules as they are imported).
OPS: dict[str, Handler] = {}


def op(name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as upper tester op ``name``."""
    def register(handler: Handler) -> Handler:
        if name in OPS:
            raise ValueError(f"upper tester op {name!r} registered twice")
        OPS[name] = handler
        return handler
    return register


def bad(message: str) -> JukiError:
    """A request field is missing or wrong (1030, as for any bad request line)."""
    return JukiError(message, code=ErrorCode.INVALID_JSON)


def municipality(node: Node) -> MunicipalityRole:
    """The node's municipality role; 3003 for another role."""
    if not isinstance(node.handler, MunicipalityRole):
        raise JukiError(f"{node.node} is not a municipality", code=ErrorCode.ROLE_NOT_ALLOWED)
    return node.handler


def agency(node: Node) -> AgencyRole:
    """The node's agency role; 3003 for another role."""
    if not isinstance(node.handler, AgencyRole):
        raise JukiError(f"{node.node} is not an agency", code=ErrorCode.ROLE_NOT_ALLOWED)
    return node.handler


def text(req: dict[str, Any], name: str, *, default: str | None = None) -> str:
    """A non-empty string field ``name`` (``default`` when absent, if given)."""
    value = req.get(name, default)
    if not isinstance(value, str) or not value:
        raise bad(f"{name} must be a non-empty string")
    return value


def number(req: dict[str, Any], name: str, *, default: float | None = None,
           minimum: float = 0) -> float:
    """A number field ``name`` of at least ``minimum``."""
    value = req.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not value >= minimum or value != value or value in (float("inf"),):
        raise bad(f"{name} must be a number of at least {minimum:g}")
    return float(value)


def date(req: dict[str, Any], name: str, default: dt.date) -> dt.date:
    """An ISO date field ``name`` (YYYY-MM-DD), ``default`` when absent."""
    if name not in req:
        return default
    return day(req[name], name)


def day(value: Any, name: str) -> dt.date:
    """``value`` as a date written exactly YYYY-MM-DD (R-NODE-87): not the ISO 8601
    basic form ``YYYYMMDD`` nor a week date, which ``date.fromisoformat`` also takes."""
    try:
        return parse_date(value, name, iso=True)
    except ValidationError:
        raise bad(f"{name} must be a date YYYY-MM-DD") from None


def seeded_household(code: str, seed: str, home: str | None = None, *,
                     foreign: bool = False) -> tuple[SyntheticResident, ...]:
    """The household ``generate_households(1, seed, municipalities=[home or code])``
    makes, as a household of its own in municipality ``code``'s register: the generator
    numbers the households of each call from 0, so that every seed's one household
    would share one id; here the id is made from the seed (spec/node.md section 4.6)."""
    members = generate_households(1, seed, municipalities=[home or code],
                                  foreign_share=1.0 if foreign else 0.0)[0].members
    tag = hashlib.sha256(f"{home or code}\n{seed}".encode()).hexdigest()[:16]
    return tuple(dataclasses.replace(m, household_id=f"{code}-{tag}") for m in members)


def timestamp(req: dict[str, Any], name: str) -> dt.datetime:
    """An ISO date and time field ``name`` with a UTC offset."""
    value = req.get(name)
    try:
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise bad(f"{name} must be an ISO 8601 time with a UTC offset")
    return when


__all__ = ["OPS", "Handler", "agency", "bad", "date", "day", "municipality", "number", "op",
           "seeded_household", "text", "timestamp"]
