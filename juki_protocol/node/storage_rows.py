"""How a node's storage writes values and rebuilds messages from its rows (the row
format both engines share): times and dates as ISO text, identity info as the columns of
:data:`IDENTITY_COLUMNS`."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from juki_protocol.endpoint.endpoint import digest_of  # the endpoint's (R-PDU-24)
from juki_protocol.machines.stores import HeldIdentity
from juki_protocol.messages.base import from_form
from juki_protocol.messages.common import (
    Address,
    ChangeInfo,
    ChangeReason,
    ForeignResident,
    IdentityInfo,
    PersonName,
    Sex,
)
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.record import ResidentRecord
from juki_protocol.messages.special_move import FamilyRegister

#: The columns of a version of identity info (Arts. 30-5, 30-11): identity info, change
#: info and the update's metadata. Nothing else may be stored at a prefecture or the
#: designated centre (R-30-5-0-08); tests inspect the schema against this list.
IDENTITY_COLUMNS = (
    "resident_code", "name_kanji", "name_kana", "birth_date", "sex", "address_code",
    "address_text", "individual_number", "change_reason", "change_date",
    "municipality", "update_sequence", "operation", "previous_resident_code",
)

def stamp(value: dt.datetime) -> str:
    """A time as stored (UTC, to the second)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str | None) -> dt.datetime | None:
    """A stored time (None stays None)."""
    if text is None:
        return None
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def resident_to_json(resident: ResidentRecord) -> str:
    """A register record as JSON text (municipality storage only)."""
    return json.dumps(resident.to_json(), ensure_ascii=False, sort_keys=True)


def resident_from_json(text: str) -> ResidentRecord:
    """The register record stored by :func:`resident_to_json`."""
    data: dict[str, Any] = json.loads(text)
    prev, reg, foreign = data["previous_address"], data["family_register"], \
        data.get("foreign_resident")
    return ResidentRecord(
        resident_code=data["resident_code"], individual_number=data["individual_number"],
        name=from_form(PersonName, data["name"], json=True),
        birth_date=dt.date.fromisoformat(data["birth_date"]), sex=Sex(data["sex"]),
        address=from_form(Address, data["address"], json=True),
        household_id=data["household_id"], relationship=data["relationship"],
        resident_since=dt.date.fromisoformat(data["resident_since"]),
        address_notification_date=dt.date.fromisoformat(data["address_notification_date"]),
        previous_address=None if prev is None else from_form(Address, prev, json=True),
        family_register=None if reg is None else from_form(FamilyRegister, reg, json=True),
        status=data["status"],
        foreign_resident=None if foreign is None else from_form(ForeignResident, foreign,
                                                                json=True))


def identity_row(update: IdentityInfoUpdate) -> tuple[object, ...]:
    """The values of :data:`IDENTITY_COLUMNS` for ``update`` (e.g. for a bulk load)."""
    info, change = update.identity_info, update.change_info
    return (info.resident_code, info.name.kanji, info.name.kana, info.birth_date.isoformat(),
            info.sex.value, info.address.local_gov_code, info.address.text,
            info.individual_number, change.change_reason.value,
            change.change_date.isoformat(), update.municipality, update.update_sequence,
            update.operation.value, update.previous_resident_code)


def update_of_row(row: Any) -> IdentityInfoUpdate:
    """The update a row of ``identity_info`` stores."""
    info = IdentityInfo(
        resident_code=row["resident_code"],
        name=PersonName(kanji=row["name_kanji"], kana=row["name_kana"]),
        birth_date=dt.date.fromisoformat(row["birth_date"]), sex=Sex(row["sex"]),
        address=Address(local_gov_code=row["address_code"], text=row["address_text"]),
        individual_number=row["individual_number"])
    return IdentityInfoUpdate(
        municipality=row["municipality"], update_sequence=row["update_sequence"],
        operation=UpdateOperation(row["operation"]), identity_info=info,
        change_info=ChangeInfo(change_reason=ChangeReason(row["change_reason"]),
                               change_date=dt.date.fromisoformat(row["change_date"])),
        previous_resident_code=row["previous_resident_code"])


def held_of_row(row: Any) -> HeldIdentity:
    """A row of ``identity_info`` as the machines hold a version."""
    update = update_of_row(row)
    stored = parse_stamp(row["stored_at"])
    assert stored is not None
    return HeldIdentity(identity_info=update.identity_info, change_info=update.change_info,
                        stored_at=stored, erased_at=parse_stamp(row["erased_at"]),
                        superseded_at=parse_stamp(row["superseded_at"]))


@dataclass(frozen=True, slots=True)
class Pending:
    """An unacknowledged numbered message to resend after a restart."""

    sequence: int
    message_id: bytes
    message: object



__all__ = ["IDENTITY_COLUMNS", "Pending", "digest_of", "held_of_row", "identity_row",
           "parse_stamp", "resident_from_json", "resident_to_json", "stamp",
           "update_of_row"]
