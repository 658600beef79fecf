"""Upper tester ops of a municipality's register (spec/node.md section 4): residents put
into the register, and changes recorded and reported under Art. 30-5."""

from __future__ import annotations

import datetime as dt
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.node.node import Node
from juki_protocol.node.roles import Owned
from juki_protocol.node.upper_ops import bad, date, municipality, op, text
from juki_protocol.synth import generate_households


@op("register_resident")
async def op_register_resident(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Put one synthetic household, generated from ``seed``, into the register without
    reporting it (as if it had been registered before the node joined the network)."""
    role = municipality(node)
    seed = text(req, "seed")
    members = generate_households(1, seed, municipalities=[role.code])[0].members

    def action(now: dt.datetime) -> list[Owned]:
        node.storage.save_residents(list(members))
        for m in members:
            role.register.add(m)
        return []
    await node.local(action)
    return {"residentCodes": [m.resident_code for m in members]}


@op("record_change")
async def op_record_change(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Record a registered resident's change (default: ``moveIn``) and report it to the
    prefecture with one identity info update (Art. 30-5)."""
    role = municipality(node)
    code = req.get("residentCode")
    resident = role.register.records.get(code) if isinstance(code, str) else None
    if resident is None:
        raise JukiError("no such resident in the register", code=ErrorCode.NO_SUCH_RESIDENT)
    try:
        reason = ChangeReason(req.get("reason", "moveIn"))
    except ValueError:
        raise bad("reason must be a change reason of spec/asn1") from None
    change = ChangeInfo(change_reason=reason,
                        change_date=date(req, "changeDate", resident.resident_since))
    await node.local(lambda now: role.record(resident, change, now))
    mid, update = role.updater.outbox[-1]
    return {"messageId": mid.hex(), "updateSequence": update.update_sequence}


__all__ = ["op_record_change", "op_register_resident"]
