"""The identity info a prefecture or the designated centre holds, kept in memory: the
store of ``juki simulate``, of the conformance runner's model and of the tests, and the
default of a receiver given none. A node never uses it: its store is its database
(:class:`juki_protocol.node.stored_identity.StoredIdentities`, the same
:class:`~juki_protocol.machines.stores.IdentityHolder` interface).
"""

from __future__ import annotations

import datetime as dt

from juki_protocol.errors import BusinessError, ErrorCode
from juki_protocol.machines.stores import FourItemsKey, HeldIdentity, four_items
from juki_protocol.messages.common import ChangeReason
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation


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


__all__ = ["IdentityStore"]
