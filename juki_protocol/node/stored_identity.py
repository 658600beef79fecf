"""Identity info at a prefecture or the designated centre, queried rather than loaded.

The machines of :mod:`juki_protocol.machines` take an identity store (the interface of
:class:`~juki_protocol.machines.memory_store.IdentityStore`: ``check``, ``apply``,
``within_retention``, ``by_four_items``, ``current``) and, for the sequenced receivers,
the updates applied under each number (``applied``). In memory those grow with the
residents: some 1.3 KB each, 160 GB for the centre's 124.9 million. A node gives its
machines these views instead, which read the node's database (indexed queries, inside
the node's current transaction, so a message sees what the messages before it in the
same transaction wrote) and hold nothing: the node's memory does not grow with its
residents, and its start does not read them.

Writes stay where they were: the role stores each applied update with
:meth:`NodeStorage.apply_identity` in the transaction of the message, so ``apply`` here
only checks (R-30-5-0-08: a retired code is never reused) and ``applied[...] = ...``
is ignored. A transaction that is rolled back leaves the views as the database is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from juki_protocol.errors import BusinessError, ErrorCode
from juki_protocol.machines.stores import FourItemsKey, HeldIdentity
from juki_protocol.messages.identity import IdentityInfoRelay, IdentityInfoUpdate
from juki_protocol.node.storage import NodeStorage


class CurrentIdentities(Mapping[str, HeldIdentity]):
    """The current version of each person, by resident code (a read-only view)."""

    def __init__(self, storage: NodeStorage) -> None:
        self.storage = storage

    def __getitem__(self, resident_code: str) -> HeldIdentity:
        held = self.storage.current_held(resident_code)
        if held is None:
            raise KeyError(resident_code)
        return held

    def __len__(self) -> int:
        return self.storage.count_identity()

    def __iter__(self) -> Iterator[str]:
        """Every resident code held as current (a scan: for tools and tests)."""
        return iter(self.storage.current_codes())


class StoredIdentities:
    """The identity store of a prefecture or national node, in its database."""

    def __init__(self, storage: NodeStorage, retention: dt.timedelta) -> None:
        self.storage = storage
        self.retention = retention
        self.current = CurrentIdentities(storage)

    @property
    def retired(self) -> set[str]:
        """Every retired resident code (a scan: for tools and tests)."""
        return self.storage.retired()

    @property
    def history(self) -> list[HeldIdentity]:
        """Every superseded version still held (a scan: for tools and tests)."""
        return self.storage.superseded()

    def check(self, update: IdentityInfoUpdate) -> None:
        """Raise if ``update`` cannot be applied (a retired code would be reused)."""
        if self.storage.is_retired(update.identity_info.resident_code):
            raise BusinessError("the resident code was retired and is never reused",
                                code=ErrorCode.RESIDENT_CODE_RETIRED)

    def apply(self, update: IdentityInfoUpdate, now: dt.datetime) -> None:
        """Check ``update``; the role stores it in the same transaction."""
        self.check(update)

    def within_retention(self, resident_code: str, now: dt.datetime
                         ) -> HeldIdentity | None:
        """The latest identity info of ``resident_code`` if still within retention."""
        held = self.storage.current_held(resident_code)
        if held is None:
            return None
        if held.erased_at is not None and now - held.erased_at > self.retention:
            return None
        return held

    def by_four_items(self, key: FourItemsKey) -> list[str]:
        """The resident codes whose current version matches ``key``, in code order."""
        name, birth, sex, address = key
        return [u.identity_info.resident_code for u in self.storage.find_by_four_items(
            str(name), birth, sex, address, limit=10_000)]  # type: ignore[arg-type]


class AppliedUpdates:
    """What was applied under each (source, number): a read view of ``applied`` for a
    sequenced receiver (R-30-5-0-06); a relay at the centre is rebuilt around its
    update. Assignments are ignored: the role stores the update."""

    def __init__(self, storage: NodeStorage, *, relays: bool) -> None:
        self.storage = storage
        self.relays = relays

    def get(self, key: tuple[str, int], default: Any = None) -> Any:
        source, sequence = key
        update = self.storage.applied_update(source, sequence)
        if update is None:
            return default
        if self.relays:
            return IdentityInfoRelay(prefecture=source, relay_sequence=sequence,
                                     update=update)
        return update

    def __setitem__(self, key: tuple[str, int], value: object) -> None:
        """Stored by the role (:meth:`NodeStorage.apply_identity`), not here."""

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self.get(key) is not None


__all__ = ["AppliedUpdates", "CurrentIdentities", "StoredIdentities"]
