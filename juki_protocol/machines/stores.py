"""Small in-memory stores the machines are given: a municipality's register and the
identity info held by a prefecture or the designated centre.

They are plain objects, not I/O: the node layer keeps the durable copy. A store method
that refuses raises before it changes anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Protocol

from juki_protocol.errors import BusinessError, ErrorCode
from juki_protocol.messages.common import ChangeInfo, ChangeReason, IdentityInfo
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
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
    interface of :class:`IdentityStore` (in memory) and of a node's store in its
    database (:class:`juki_protocol.node.stored_identity.StoredIdentities`)."""

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


class IdentityStore:
    """Identity info held by a prefecture or the designated centre (Arts. 30-5, 30-11).

    Holds only identity info, change info and retired resident codes (R-30-5-0-08).
    retention: the retention period (保存期間); configurable, declared in the ICS.
    Current versions are indexed by resident code (``current``) and by the four items
    (:meth:`by_four_items`); change ``current`` only through :meth:`put` and
    :meth:`apply`, which keep the second index.
    """

    def __init__(self, retention: dt.timedelta = dt.timedelta(days=150 * 365)) -> None:
        self.retention = retention
        self.current: dict[str, HeldIdentity] = {}
        self.history: list[HeldIdentity] = []
        self.retired: set[str] = set()
        self._four: dict[FourItemsKey, set[str]] = {}

    def put(self, held: HeldIdentity) -> None:
        """Make ``held`` the current version of its resident code."""
        code = held.identity_info.resident_code
        self._drop(code)
        self.current[code] = held
        self._four.setdefault(four_items(held.identity_info), set()).add(code)

    def _drop(self, code: str) -> HeldIdentity | None:
        held = self.current.pop(code, None)
        if held is not None:
            key = four_items(held.identity_info)
            codes = self._four.get(key)
            if codes is not None:
                codes.discard(code)
                if not codes:
                    del self._four[key]
        return held

    def by_four_items(self, key: FourItemsKey) -> list[str]:
        """The resident codes whose current version matches ``key``, in code order."""
        return sorted(self._four.get(key, ()))

    def check(self, update: IdentityInfoUpdate) -> None:
        """Raise if ``update`` cannot be applied (a retired code would be reused)."""
        code = update.identity_info.resident_code
        if code in self.retired:
            raise BusinessError("the resident code was retired and is never reused",
                                code=ErrorCode.RESIDENT_CODE_RETIRED)

    def apply(self, update: IdentityInfoUpdate, now: dt.datetime) -> None:
        """Apply ``update`` (call :meth:`check` first)."""
        self.check(update)
        info, change = update.identity_info, update.change_info
        code = info.resident_code
        old_key = update.previous_resident_code or code
        old = self._drop(old_key)
        if old is not None:
            old.superseded_at = now
            self.history.append(old)
        held = HeldIdentity(identity_info=info, change_info=change, stored_at=now)
        if update.operation is UpdateOperation.ERASE:
            held.erased_at = now
        if change.change_reason is ChangeReason.RESIDENT_CODE_CHANGE:
            assert update.previous_resident_code is not None
            self.retired.add(update.previous_resident_code)
        self.put(held)

    def within_retention(self, resident_code: str, now: dt.datetime) -> HeldIdentity | None:
        """The latest identity info of ``resident_code`` if still within retention."""
        held = self.current.get(resident_code)
        if held is None:
            return None
        if held.erased_at is not None and now - held.erased_at > self.retention:
            return None
        return held

    def purge(self, now: dt.datetime) -> int:
        """Erase superseded and erased info past retention; return how many went."""
        before = len(self.history) + len(self.current)
        self.history = [h for h in self.history
                        if h.superseded_at is None or now - h.superseded_at <= self.retention]
        for code in [k for k, h in self.current.items()
                     if h.erased_at is not None and now - h.erased_at > self.retention]:
            self._drop(code)
        return before - len(self.history) - len(self.current)
