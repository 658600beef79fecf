"""Upper tester ops of a municipality's register (spec/node.md sections 4.1 and 4.6):
residents put into the register or recorded, their deaths, move-outs and erasures,
resident code changes, all reported under Art. 30-5, and the state of one record.

Theory of operation
-------------------
Each op checks its request, then runs one local event through :meth:`Node.local`: the
register, the identity info update (:class:`~juki_protocol.machines.identity.
IdentityUpdater`) and the erasure or retired code are committed together before the
update is sent to the prefecture. The decisions a municipality makes (which code a
resident gets, whether a code may be recorded, what an erasure reports) are the
methods of :class:`RegisterDesk`, one per node in :data:`REGISTER_DESKS`, so that a
self-test node can replace one of them with a fault of its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import weakref
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.identifiers import new_resident_code, validate_resident_code
from juki_protocol.messages.common import Address, ChangeInfo, ChangeReason
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.record import ResidentRecord
from juki_protocol.node.node import Node
from juki_protocol.node.roles import MunicipalityRole, Owned, own
from juki_protocol.node.upper_ops import bad, date, municipality, op, seeded_household, text

#: The change reasons of each operation (spec/identity.md section 1, R-30-5-0-03).
RECORD_REASONS = frozenset({ChangeReason.BIRTH, ChangeReason.MOVE_IN,
                            ChangeReason.RECORDED_EX_OFFICIO, ChangeReason.RECORDED_OTHER})
ERASE_REASONS = frozenset({ChangeReason.MOVE_OUT, ChangeReason.DEATH,
                           ChangeReason.ERASED_EX_OFFICIO})


class RegisterDesk:
    """A municipality's register counter: the rules of its local events.

    rng: where the data digits of new resident codes come from (default: the operating
    system's random source, R-ID-02).
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng if rng is not None else random.SystemRandom()

    def new_code(self, role: MunicipalityRole) -> str:
        """A new resident code: the next code designated to the municipality (Art.
        30-7(1), R-30-7-1-04; 5024 when none is left); before any designation, ten
        random data digits and the check digit (R-ID-02), never one that is in the
        register or retired (R-ID-03)."""
        designated = role.codes.next_code()
        if designated is not None:
            return designated
        while True:
            code = new_resident_code(self.rng)
            if code not in role.register.records and code not in role.updater.retired:
                return code

    def check_recordable(self, role: MunicipalityRole, code: str) -> None:
        """Raise unless ``code`` may be recorded: a valid code (1020), never retired
        (5021, R-ID-03), not held by another record (1024)."""
        validate_resident_code(code, "residentCode")
        if code in role.updater.retired:
            raise JukiError("the resident code was retired and is never assigned again",
                            code=ErrorCode.RESIDENT_CODE_RETIRED)
        if code in role.register.records:
            raise JukiError("the resident code is held by another record",
                            code=ErrorCode.INVALID_FIELD)

    def take_new(self, role: MunicipalityRole, code: str, now: dt.datetime) -> None:
        """``code`` is written into a record as a new code (a birth, a code change):
        with designated codes, it must be a free one, which leaves the pool (5023
        otherwise, R-30-7-1-04)."""
        role.codes.consume(code, now)

    def record(self, role: MunicipalityRole, resident: ResidentRecord,
               change: ChangeInfo, now: dt.datetime) -> list[Owned]:
        """Record ``resident`` and report it (Art. 30-5); a birth's code is a new one."""
        self.check_recordable(role, resident.resident_code)
        if change.change_reason is ChangeReason.BIRTH:
            self.take_new(role, resident.resident_code, now)
        return role.record(resident, change, now)

    def current(self, role: MunicipalityRole, code: object) -> ResidentRecord:
        """The current record of ``code``: 5001 if none, 5002 or 5003 if erased."""
        found = role.register.records.get(code) if isinstance(code, str) else None
        if found is None:
            raise JukiError("no such resident in the register",
                            code=ErrorCode.NO_SUCH_RESIDENT)
        if found.status != "current":
            raise JukiError("the record is already erased", code=(
                ErrorCode.RECORD_DECEASED if found.status == "deceased"
                else ErrorCode.RECORD_MOVED_OUT))
        return found

    def erase(self, role: MunicipalityRole, code: str, change: ChangeInfo,
              now: dt.datetime) -> list[Owned]:
        """Erase the current record of ``code`` for ``change`` (a death, a move-out,
        an erasure ex officio) and report it with the identity info as recorded just
        before (R-30-5-0-01, operation ``erase``)."""
        found = self.current(role, code)
        owned = own(role.updater, role.updater.change(
            UpdateOperation.ERASE, found.identity_info(role.profile), change, now))
        role.register.set_status(code, "deceased" if change.change_reason
                                 is ChangeReason.DEATH else "moved_out")
        role.storage.record_erasure(code, change.change_reason, change.change_date, now)
        role.persist(now)
        return owned

    def change_code(self, role: MunicipalityRole, code: str, change_date: dt.date,
                    now: dt.datetime) -> tuple[str, list[Owned]]:
        """Give the resident of ``code`` a new code (:meth:`new_code`) and retire the
        old one; report the correction with ``previousResidentCode`` (R-30-5-0-04)."""
        found = self.current(role, code)
        moved = dataclasses.replace(found, resident_code=self.new_code(role))
        self.take_new(role, moved.resident_code, now)
        owned = own(role.updater, role.updater.change(
            UpdateOperation.CORRECT, moved.identity_info(role.profile),
            ChangeInfo(change_reason=ChangeReason.RESIDENT_CODE_CHANGE,
                       change_date=change_date), now, previous_resident_code=code))
        del role.register.records[code]
        role.register.add(moved)
        role.storage.drop_resident(code)
        role.persist(now)          # the new record, the update and the retired code
        return moved.resident_code, owned


#: The register desk of each municipality node (made on first use).
REGISTER_DESKS: weakref.WeakKeyDictionary[Node, RegisterDesk] = weakref.WeakKeyDictionary()


def _register_desk(node: Node) -> RegisterDesk:
    desk = REGISTER_DESKS.get(node)
    if desk is None:
        desk = REGISTER_DESKS[node] = RegisterDesk()
    return desk


def _reason(req: dict[str, Any], allowed: frozenset[ChangeReason],
            default: ChangeReason) -> ChangeReason:
    try:
        reason = ChangeReason(req.get("reason", default.value))
    except ValueError:
        reason = None
    if reason not in allowed:
        raise bad("reason must be one of " + ", ".join(sorted(r.value for r in allowed)))
    return reason


def _reported(role: MunicipalityRole, before: int) -> dict[str, Any]:
    """The fields of the update a local event reported (none if it reported none)."""
    if role.updater.next_sequence == before or not role.updater.outbox:
        return {}
    mid, update = role.updater.outbox[-1]
    return {"messageId": mid.hex(), "updateSequence": update.update_sequence}


def _resident_code(req: dict[str, Any]) -> str:
    """The ``residentCode`` of an op of spec/node.md section 4.6: 1030 when missing or
    not a string, 1020 when it fails R-ID-01 (never 5001: a code that breaks its check
    digit is no code the register could hold)."""
    return validate_resident_code(text(req, "residentCode"), "residentCode")


def _address(req: dict[str, Any], name: str) -> Address:
    value = req.get(name)
    if not isinstance(value, dict) or set(value) != {"local_gov_code", "text"}:
        raise bad(f"{name} must be an object with local_gov_code and text")
    if not all(isinstance(v, str) for v in value.values()):
        raise bad(f"{name}: local_gov_code and text must be strings")
    return Address(local_gov_code=value["local_gov_code"], text=value["text"])


# Ops ---------------------------------------------------------------------------------

@op("register_resident")
async def op_register_resident(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Put one synthetic household, generated from ``seed``, into the register without
    reporting it (as if it had been registered before the node joined the network); with
    ``foreignResident`` true, a household of foreign residents (Art. 30-45)."""
    role = municipality(node)
    seed = text(req, "seed")
    foreign = req.get("foreignResident", False)
    if not isinstance(foreign, bool):
        raise bad("foreignResident must be true or false")
    members = seeded_household(role.code, seed, foreign=foreign)

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
    resident = role.register.records.get(text(req, "residentCode"))
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


@op("record_resident")
async def op_record_resident(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Record the head of the household generated from ``seed`` (birth or move-in),
    under ``residentCode`` when given, and report it (Art. 30-5); a retired code is
    refused with 5021 (R-ID-03). A birth at a municipality with designated codes takes
    the next of them (``residentCode`` absent) or must name a free one (5023; 5024 when
    none is left: R-30-7-1-04)."""
    role = municipality(node)
    desk = _register_desk(node)
    head = seeded_household(role.code, text(req, "seed"))[0]
    reason = _reason(req, RECORD_REASONS, ChangeReason.MOVE_IN)
    if "residentCode" in req:
        head = dataclasses.replace(head, resident_code=text(req, "residentCode"))
    elif reason is ChangeReason.BIRTH and role.codes.designated():
        # Art. 30-7(1): a newborn's code is one designated to the municipality.
        head = dataclasses.replace(head, resident_code=desk.new_code(role))
    change = ChangeInfo(change_reason=reason,
                        change_date=date(req, "changeDate", head.resident_since))
    desk.check_recordable(role, head.resident_code)
    before = role.updater.next_sequence
    await node.local(lambda now: desk.record(role, head, change, now))
    return {"residentCode": head.resident_code, **_reported(role, before)}


async def _erase(node: Node, req: dict[str, Any], reason: ChangeReason) -> dict[str, Any]:
    role = municipality(node)
    desk = _register_desk(node)
    code = _resident_code(req)
    desk.current(role, code)
    change = ChangeInfo(change_reason=reason, change_date=date(req, "date", node.now().date()))
    before = role.updater.next_sequence
    await node.local(lambda now: desk.erase(role, code, change, now))
    return _reported(role, before)


@op("record_death")
async def op_record_death(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The resident of ``residentCode`` died on ``date``: the record is erased and the
    erasure reported (operation ``erase``, reason ``death``)."""
    return await _erase(node, req, ChangeReason.DEATH)


@op("record_move_out")
async def op_record_move_out(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The resident of ``residentCode`` filed a move-out to ``destination``, another
    municipality, moving on ``date``: the record is erased and the erasure reported at
    once (reason ``moveOut``); the move-in notice that later finalises the move finds
    it erased and reports nothing again (R-9-1-04)."""
    role = municipality(node)
    destination = _address(req, "destination")
    if destination.local_gov_code == role.code:
        raise JukiError("the destination must lie in another municipality (a move within "
                        "is a change of address)", code=ErrorCode.INVALID_FIELD)
    return await _erase(node, req, ChangeReason.MOVE_OUT)


@op("erase")
async def op_erase(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The municipality erases the record of ``residentCode`` on its own authority
    (default reason ``erasedExOfficio``, or another erase reason) and reports it."""
    return await _erase(node, req, _reason(req, ERASE_REASONS,
                                           ChangeReason.ERASED_EX_OFFICIO))


@op("change_resident_code")
async def op_change_resident_code(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """At the resident's request, give the resident of ``residentCode`` a new random
    code and retire the old one; report the change (reason ``residentCodeChange``,
    ``previousResidentCode`` the old code)."""
    role = municipality(node)
    desk = _register_desk(node)
    code = _resident_code(req)
    desk.current(role, code)
    change_date = date(req, "date", node.now().date())
    before = role.updater.next_sequence
    new: list[str] = []

    def action(now: dt.datetime) -> list[Owned]:
        assigned, owned = desk.change_code(role, code, change_date, now)
        new.append(assigned)
        return owned
    await node.local(action)
    return {"residentCode": new[0], **_reported(role, before)}


@op("resident")
async def op_resident(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The state of the register record of ``residentCode``: ``current``, ``erased``
    (with the erasure's ``reason``) or ``retired`` (a code retired by a change)."""
    role = municipality(node)
    code = _resident_code(req)
    found = role.register.records.get(code)
    if found is None:
        if code in role.updater.retired:
            return {"state": "retired"}
        raise JukiError("no such resident in the register", code=ErrorCode.NO_SUCH_RESIDENT)
    if found.status == "current":
        return {"state": "current"}
    erasure = role.storage.erasure(code)
    reason = erasure[0] if erasure is not None else (
        ChangeReason.DEATH if found.status == "deceased" else ChangeReason.MOVE_OUT)
    return {"state": "erased", "reason": reason.value}


__all__ = ["ERASE_REASONS", "RECORD_REASONS", "REGISTER_DESKS", "RegisterDesk",
           "op_change_resident_code", "op_erase", "op_record_change", "op_record_death",
           "op_record_move_out", "op_record_resident", "op_register_resident",
           "op_resident"]
