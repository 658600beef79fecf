"""Upper tester ops of the card register (spec/card_register.md; spec/node.md section
4.12).

Theory of operation
-------------------
A municipality applies for a card (``card_apply``: a ``CardApplication`` to the centre)
and learns the centre's decision (``card_application``); ``card_issue`` with the
serial then issues it (upper_card). It reports a card lost for good or revokes it
(``card_report_lost``, ``card_revoke``), as ``card_suspend`` and ``card_resume`` report a
suspension, each with a ``CardStatusNotice``. At any municipality a card presented at
the counter is checked with the centre (``card_check``: a ``CardStatusQuery``), and
``card_check_result`` gives the centre's answer and the code the counter refuses the
card with: the municipality's own memory of cards plays no part (R-CARDREG-07). The
centre reports one entry of its register (``card_entry``). Every local event runs
through :meth:`Node.local`: what it sends is committed first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError, ValidationError
from juki_protocol.machines.card_register import CardRegisterDesk, jst_date
from juki_protocol.machines.common import Send
from juki_protocol.messages.card import (
    CardApplication,
    CardStatusChange,
    CardStatusQuery,
    validate_serial,
)
from juki_protocol.node.node import Node
from juki_protocol.node.roles import CentralRole, Owned, own
from juki_protocol.node.upper_card import change_card as changed_op
from juki_protocol.node.upper_card import desk_of
from juki_protocol.node.upper_ops import bad, municipality, op, text


def register_desk(node: Node) -> CardRegisterDesk:
    """The centre's card register; 3003 for any other role."""
    h = node.handler
    found = getattr(h, "card_register", None) if isinstance(h, CentralRole) else None
    if not isinstance(found, CardRegisterDesk):
        raise JukiError(f"{node.node} is not the designated centre",
                        code=ErrorCode.ROLE_NOT_ALLOWED)
    return found


def _serial(req: dict[str, Any]) -> str:
    value = text(req, "serial")
    try:
        return validate_serial(value, "serial")
    except ValidationError:
        raise bad("serial must be a municipality's code, a hyphen and 6 to 13 "
                  "digits") from None


def _message_id(req: dict[str, Any], field: str = "messageId") -> bytes:
    value = text(req, field)
    try:
        mid = bytes.fromhex(value)
    except ValueError:
        raise bad(f"{field} must be hex") from None
    if len(mid) != 16:
        raise bad(f"{field} must be 16 octets")
    return mid


def _sent(effects: list[Owned]) -> str:
    return next(e.message_id.hex() for _, e in effects if isinstance(e, Send))


@op("card_apply")
async def op_card_apply(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Municipality: register an application for a card for resident ``residentCode``
    (current in the register) with the centre; ``serial`` and ``messageId``."""
    role = municipality(node)
    code = text(req, "residentCode")
    found = role.register.records.get(code)
    if found is None or found.status != "current":
        raise JukiError("no current resident with that code", code=ErrorCode.NO_SUCH_RESIDENT)
    desk, cards = desk_of(node), role.cards
    sent: list[Owned] = []

    def action(now: dt.datetime) -> list[Owned]:
        serial = desk.new_serial(lambda s: bool(cards.outbox.of_serial(s)))
        sent.extend(own(cards, cards.apply(serial, code, now,
                                                        jst_date(now))))
        return sent
    await node.local(action)
    message = next(e.message for _, e in sent if isinstance(e, Send))
    assert isinstance(message, CardApplication)
    return {"serial": message.card_serial, "messageId": _sent(sent)}


@op("card_application")
async def op_card_application(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Municipality: the state of the application for card ``serial`` (``pending``,
    ``acked``, ``refused:<code>``) and whether the centre registered it."""
    cards = municipality(node).cards
    serial = _serial(req)
    found = [i for i in cards.outbox.of_serial(serial)
             if isinstance(i.message, CardApplication)]
    if not found:
        raise JukiError("no application for that card", code=ErrorCode.NO_SUCH_RESIDENT)
    return {"state": found[-1].state, "registered": cards.registered(serial)}


@op("card_report_lost")
async def op_card_report_lost(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Municipality: card ``serial`` was reported lost for good (紛失届): it ends here
    and the centre is told (``lost``)."""
    return await changed_op(node, req, CardStatusChange.LOST)


@op("card_revoke")
async def op_card_revoke(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Municipality: card ``serial`` is revoked (廃止, returned) and the centre told."""
    return await changed_op(node, req, CardStatusChange.REVOKED)


@op("card_check")
async def op_card_check(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Municipality: a card ``serial`` holding ``residentCode`` is presented at the
    counter; ask the centre whether it may be used (``messageId`` of the query)."""
    cards = municipality(node).cards
    serial, code = _serial(req), text(req, "residentCode")
    sent: list[Owned] = []

    def action(now: dt.datetime) -> list[Owned]:
        sent.extend(own(cards, cards.query(serial, code, now)))
        return sent
    try:
        await node.local(action)
    except ValidationError as exc:
        raise bad(str(exc)) from None
    return {"messageId": _sent(sent)}


@op("card_check_result")
async def op_card_check_result(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Municipality: query ``messageId``: ``state`` (pending, acked, answered,
    refused:<code>), the centre's ``status`` once answered, ``usable`` and the code the
    counter refuses the card with (``refusal``: 4011, 4014, 4012 or null)."""
    cards = municipality(node).cards
    mid = _message_id(req)
    state, code = cards.verdict(mid)
    item = cards.outbox.get(mid)
    assert item is not None
    status = None if item.answer is None else item.answer.status.value
    return {"state": state, "status": status, "usable": status is not None and code is None,
            "refusal": None if code is None else int(code)}


def presented_card_refusal(node: Node, req: dict[str, Any], holder: str) -> ErrorCode | None:
    """R-CARDREG-07 at a counter that takes a card (a special move-in, Art. 24-2): when
    ``req`` names the ``cardCheck`` made for the card presented, the code the counter
    refuses the card with on the centre's answer (None: the card may be used), whatever
    the municipality's own records say. A check not yet answered, or one made for
    another holder than ``holder``, is an error of the request (1030), as is a
    ``cardCheck`` of null: an optional field absent is left out, not null (R-NODE-98)."""
    if "cardCheck" not in req:
        return None
    cards = municipality(node).cards
    mid = _message_id(req, "cardCheck")
    item = cards.outbox.get(mid)
    if item is None or not isinstance(item.message, CardStatusQuery):
        raise bad("cardCheck names no card_check of this node")
    if item.message.resident_code != holder:
        raise bad("cardCheck was made for another resident code than the card holder's")
    if item.answer is None:
        raise bad("the centre has not answered cardCheck yet (card_check_result)")
    return cards.verdict(mid)[1]


@op("card_entry")
async def op_card_entry(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Centre: its register's entry of card ``serial``: ``state`` (applied, issued,
    suspended, lost, revoked), ``status`` (as a query is answered today),
    ``municipality``, ``validUntil`` (5001 for a card it does not hold)."""
    desk = register_desk(node)
    entry = desk.ledger.get(_serial(req))
    if entry is None:
        raise JukiError("no such card in the register", code=ErrorCode.NO_SUCH_RESIDENT)
    return {"state": entry.state.value, "status": entry.status(jst_date(node.now())).value,
            "municipality": entry.municipality,
            "validUntil": None if entry.valid_until is None
            else entry.valid_until.isoformat()}


__all__ = ["op_card_application", "op_card_apply", "op_card_check",
           "op_card_check_result", "op_card_entry", "op_card_report_lost",
           "op_card_revoke", "presented_card_refusal", "register_desk"]
