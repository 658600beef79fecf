"""What the machines are given to store: a municipality's register (in memory, loaded by
the node from its storage), and the interface of the identity info held by a prefecture
or the designated centre (:class:`IdentityHolder`) with its record type.

They are plain objects, not I/O: the node layer keeps the durable copy. A store method
that refuses raises before it changes anything. A node's identity info is its database
(:class:`juki_protocol.node.stored_identity.StoredIdentities`); the in-memory one that
``juki simulate``, the conformance runner's model and the tests use is
:class:`juki_protocol.machines.memory_store.IdentityStore`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Protocol

from juki_protocol.errors import BusinessError, ErrorCode
from juki_protocol.messages.common import ChangeInfo, IdentityInfo
from juki_protocol.messages.identity import IdentityInfoUpdate
from juki_protocol.messages.provision import FourItems
from juki_protocol.messages.record import ResidentRecord


class Register:
    """A municipality's resident register (住民基本台帳), keyed by resident code.

    restricted: codes under a protective restriction (R-12-2-3-07).
    """

    def __init__(self, local_gov_code: str, residents: Iterable[ResidentRecord] = (),
                 *, restricted: Iterable[str] = ()) -> None:
        self.local_gov_code = local_gov_code
        self.records: dict[str, ResidentRecord] = {r.resident_code: r for r in residents}
        self.restricted: set[str] = set(restricted)

    def get(self, resident_code: str) -> ResidentRecord:
        """The record of ``resident_code``; 5001 NO_SUCH_RESIDENT if there is none."""
        found = self.records.get(resident_code)
        if found is None:
            raise BusinessError("no record for the resident code",
                                code=ErrorCode.NO_SUCH_RESIDENT)
        return found

    def find(self, name: object, birth_date: dt.date) -> ResidentRecord | None:
        """The record with this name and birth date, current ones first."""
        hits = [r for r in self.records.values()
                if r.name == name and r.birth_date == birth_date]
        hits.sort(key=lambda r: r.status != "current")
        return hits[0] if hits else None

    def add(self, resident: ResidentRecord) -> None:
        """Record ``resident`` (a move-in or birth)."""
        self.records[resident.resident_code] = resident

    def set_status(self, resident_code: str, status: str) -> None:
        """Mark a record ``moved_out`` or ``deceased`` (erasure keeps the record)."""
        self.records[resident_code] = dataclasses.replace(self.get(resident_code),
                                                          status=status)


@dataclasses.dataclass(slots=True)
class HeldIdentity:
    """One version of a person's identity info held by a prefecture or national node.

    erased_at: when the record was erased (move-out, death); superseded_at: when a later
    version replaced it. Retention runs from whichever is set (R-30-5-0-09).
    """

    identity_info: IdentityInfo
    change_info: ChangeInfo
    stored_at: dt.datetime
    erased_at: dt.datetime | None = None
    superseded_at: dt.datetime | None = None


FourItemsKey = tuple[str, dt.date, object, str]


def four_items(info: IdentityInfo | FourItems) -> FourItemsKey:
    """The key a query by the four items matches (R-30-7-3-10): the name as written
    (kanji), birth date, sex, and the address's local government code; of a person's
    identity info or of the query itself."""
    return (info.name.kanji, info.birth_date, info.sex, info.address.local_gov_code)


class IdentityHolder(Protocol):
    """What the receivers and the provider need of the identity info they hold: the
    interface of :class:`~juki_protocol.machines.memory_store.IdentityStore` (in memory)
    and of a node's store in its database
    (:class:`juki_protocol.node.stored_identity.StoredIdentities`)."""

    retention: dt.timedelta

    @property
    def current(self) -> Mapping[str, HeldIdentity]: ...
    @property
    def history(self) -> list[HeldIdentity]: ...
    @property
    def retired(self) -> set[str]: ...
    def check(self, update: IdentityInfoUpdate) -> None: ...
    def apply(self, update: IdentityInfoUpdate, now: dt.datetime) -> None: ...
    def within_retention(self, resident_code: str, now: dt.datetime
                         ) -> HeldIdentity | None: ...
    def by_four_items(self, key: FourItemsKey) -> list[str]: ...
