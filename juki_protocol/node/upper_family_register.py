"""Upper tester ops of the family register notice, Art. 9(2) (spec/family_register.md
section 5): a municipality under test on both sides of the flow.

* As the municipality of the family register (本籍地) the node sends notices when an
  entry is made in a family register it keeps for a person living elsewhere:
  ``family_register_notice`` is that entry, made at the node's counter, and
  ``family_register_result`` reads what became of the notice.
* As the residence municipality (住所地) the node takes the notices the runner sends;
  ``record_items`` says whether a record now holds the items a notice gave, without
  showing them (the answer names fields, never values: R-NODE-07's rule for the audit
  log kept here too).

The ops run through :meth:`~juki_protocol.node.node.Node.local`, so a notice is
committed before it is sent. The reference keeps the notices it sent in memory, as the
other flows between municipalities (:mod:`juki_protocol.node.roles`): after a restart
``family_register_result`` answers 4002 UNKNOWN_CORRELATION.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.family_register import (
    FamilyRegisterNotifier,
    NotifierState,
)
from juki_protocol.messages.base import from_form
from juki_protocol.messages.family_register import FamilyRegisterItems, FamilyRegisterNotice
from juki_protocol.node.node import Node
from juki_protocol.node.roles import Owned
from juki_protocol.node.upper_ops import bad, municipality, op, text


def _json_field(req: dict[str, Any], name: str) -> Any:
    value = req.get(name)
    if value is not None and not isinstance(value, (dict, str)):
        raise bad(f"{name} must be an object or a string (spec/json.md)")
    return value


def _message_id(req: dict[str, Any]) -> bytes:
    try:
        mid = bytes.fromhex(text(req, "messageId"))
    except ValueError:
        raise bad("messageId must be hexadecimal") from None
    if len(mid) != 16:
        raise bad("messageId must be 16 octets")
    return mid


@op("family_register_notice")
async def op_family_register_notice(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """An entry made in a family register kept at this municipality for a person who
    lives in ``residenceMunicipality`` (event ``event`` on ``eventDate``, entered on
    ``entryDate``, default the node's date): the FamilyRegisterNotice with ``person``,
    ``household`` and ``items`` (their JSON form, spec/json.md) is sent to the residence
    municipality (Art. 9(2), R-9-2-01); answers its message id."""
    role = municipality(node)
    form = {"register_municipality": role.code,
            "residence_municipality": text(req, "residenceMunicipality"),
            "event": text(req, "event"), "event_date": text(req, "eventDate"),
            "entry_date": text(req, "entryDate", default=node.now().date().isoformat()),
            "person": _json_field(req, "person"),
            "household": _json_field(req, "household"),
            "items": req.get("items", {})}
    try:
        notice = codec.from_json("FamilyRegisterNotice", form)
    except JukiError as exc:
        raise bad(f"not a valid FamilyRegisterNotice: {exc.error_code.name}: {exc}") \
            from None
    assert isinstance(notice, FamilyRegisterNotice)
    holder: list[FamilyRegisterNotifier] = []

    def action(now: dt.datetime) -> list[Owned]:
        notifier, owned = role.family_register_notice(notice, now)
        holder.append(notifier)
        return owned
    await node.local(action)
    assert holder and holder[0].notice is not None
    return {"messageId": holder[0].notice.message_id.hex()}


@op("family_register_result")
async def op_family_register_result(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """What became of the notice ``messageId``: ``state`` (``notified``, ``done``,
    ``failed``) and ``outcome`` (``pending`` until it is answered, ``completed`` once
    acknowledged, ``failed:<code>`` once refused; a transient refusal leaves it
    ``pending``, R-9-2-09)."""
    role = municipality(node)
    notifier = role.family_register_notices.get(_message_id(req))
    if notifier is None:
        raise JukiError("no family register notice with this message id",
                        code=ErrorCode.UNKNOWN_CORRELATION)
    state = notifier.state
    outcome = ("completed" if state is NotifierState.DONE
               else f"failed:{notifier.outcome}" if state is NotifierState.FAILED
               else "pending")
    return {"state": state.value, "outcome": outcome}


@op("record_items")
async def op_record_items(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Whether the register record of ``residentCode`` holds ``items`` (the JSON form of
    FamilyRegisterItems; only the items given are compared): ``state`` (``current``,
    ``erased``), ``matches`` and ``differs`` (the names of the items that differ)."""
    role = municipality(node)
    code = text(req, "residentCode")
    found = role.register.records.get(code)
    if found is None:
        raise JukiError("no such resident in the register", code=ErrorCode.NO_SUCH_RESIDENT)
    if "items" not in req:             # a required field (family_register.md section 5)
        raise bad("items is missing")
    try:
        items = from_form(FamilyRegisterItems, req["items"], json=True)
    except JukiError as exc:
        raise bad(f"items is not a valid FamilyRegisterItems: {exc}") from None
    differs = [n for n in items.given() if getattr(found, n) != getattr(items, n)]
    return {"state": "current" if found.status == "current" else "erased",
            "matches": not differs, "differs": differs}


__all__ = ["op_family_register_notice", "op_family_register_result", "op_record_items"]
