"""Upper tester ops of resident code designation, Art. 30-7(1)(2) (spec/node.md section
4.10, spec/designation.md).

Theory of operation
-------------------
A prefecture designates codes to one of its municipalities on its own initiative
(``designate_codes``) and reports what it designated (``designations``); a municipality
asks its prefecture for codes (``request_codes``) and reports its pool (``code_pool``).
Each local event runs through :meth:`Node.local`: the designation or the request is
committed before it is sent. ``code_allotment`` is a test hook, as the clock is: it
limits how many more codes the prefecture may designate, so that a runner can see its
refusal of a request it cannot cover (5024, R-30-7-1-03) without designating 212
million codes first; it lasts until the node stops.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.common import Send
from juki_protocol.machines.designation import MunicipalityCodes, PrefectureDesignations
from juki_protocol.messages.designation import MAX_CODES, CodeDesignation
from juki_protocol.node.designation_store import SqlLedger, SqlPool
from juki_protocol.node.node import Node
from juki_protocol.node.roles import CentralRole, Owned, own
from juki_protocol.node.upper_ops import bad, municipality, op, text

#: The most free codes ``code_pool`` lists.
LISTED = 1000


def designator(node: Node) -> PrefectureDesignations:
    """The node's designating machine; 3003 for a role other than a prefecture."""
    h = node.handler
    found = getattr(h, "designations", None) if isinstance(h, CentralRole) else None
    if found is None:
        raise JukiError(f"{node.node} is not a prefecture", code=ErrorCode.ROLE_NOT_ALLOWED)
    assert isinstance(found, PrefectureDesignations)
    return found


def codes_of(node: Node) -> MunicipalityCodes:
    """The municipality's codes (3003 for another role)."""
    return municipality(node).codes


def _count(req: dict[str, Any]) -> int:
    value = req.get("count")
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 1 <= value <= MAX_CODES:
        raise bad(f"count must be an integer from 1 to {MAX_CODES}")
    return value


@op("designate_codes")
async def op_designate_codes(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Prefecture: designate ``count`` codes to ``municipality`` of its area and notify
    it (Art. 30-7(1)); ``messageId`` and the ``codes`` designated (1024 for a
    municipality of another prefecture, 5024 when the allotment cannot cover it)."""
    desk = designator(node)
    target, count = text(req, "municipality"), _count(req)
    sent: list[Send] = []

    def action(now: dt.datetime) -> list[Owned]:
        effects = desk.designate(target, count, now)
        sent.extend(e for e in effects if isinstance(e, Send)
                    and isinstance(e.message, CodeDesignation))
        return own(desk, effects)
    await node.local(action)
    message = sent[0].message
    assert isinstance(message, CodeDesignation)
    return {"messageId": sent[0].message_id.hex(), "codes": list(message.codes)}


@op("designations")
async def op_designations(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Prefecture: how many codes it designated to ``municipality`` (``designated``)
    and how many of its designations to it are unacknowledged (``pending``)."""
    desk = designator(node)
    ledger = desk.ledger
    target = text(req, "municipality")
    if isinstance(ledger, SqlLedger):
        return ledger.summary(target)
    return {"designated": ledger.designated_count(target),
            "pending": sum(1 for d in ledger.pending() if d.municipality == target)}


@op("code_allotment")
async def op_code_allotment(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Prefecture, test hook: ``remaining`` (an integer, or null for the whole
    allotment) is how many more codes it may designate until it stops."""
    desk = designator(node)
    if "remaining" in req:
        value = req["remaining"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise bad("remaining must be null or an integer of at least 0")
        desk.capacity = value
    return {"remaining": desk.capacity}


@op("request_codes")
async def op_request_codes(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Municipality: ask its prefecture for ``count`` more codes; ``messageId`` of the
    ``CodeDesignationRequest`` sent."""
    codes = codes_of(node)
    count = _count(req)
    sent: list[Send] = []

    def action(now: dt.datetime) -> list[Owned]:
        effects = codes.request(count, now)
        sent.extend(e for e in effects if isinstance(e, Send))
        return own(codes, effects)
    await node.local(action)
    return {"messageId": sent[0].message_id.hex()}


@op("code_pool")
async def op_code_pool(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Municipality: its codes: ``designated`` (ever), ``free`` (not yet recorded),
    ``freeCodes`` (the first 1000 free, in the order it will use them) and
    ``requests`` (each ``messageId``, ``count`` and ``state``: pending, acked, done or
    refused:<code>)."""
    codes = codes_of(node)
    pool = codes.pool
    requests = pool.requests() if isinstance(pool, SqlPool) else []
    return {"designated": pool.designated(), "free": pool.free(),
            "freeCodes": pool.free_codes(LISTED),
            "requests": [{"messageId": mid.hex(), "count": count, "state": state}
                         for mid, count, state in requests]}


__all__ = ["LISTED", "codes_of", "designator", "op_code_allotment", "op_code_pool",
           "op_designate_codes", "op_designations", "op_request_codes"]
