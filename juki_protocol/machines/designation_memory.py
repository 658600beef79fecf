"""Code designation stores in memory (Art. 30-7(1), spec/designation.md): a prefecture's
ledger and a municipality's pool, for ``juki simulate`` and the machine tests. A node
keeps both in its database (:mod:`juki_protocol.node.designation_store`); this module is
no part of what a node runs, and the mutation measurement leaves it out
(juki_conformance/mutation_targets.py), as it does machines/memory_store.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from juki_protocol.machines.designation import Designated
from juki_protocol.messages.designation import CodeDesignationRequest


class MemoryLedger:
    """A prefecture's ledger in memory. ``holds``: whether identity info holds or held
    a code (current, erased or retired); by default none."""

    def __init__(self, holds: Any = None) -> None:
        self.codes: dict[str, str] = {}
        self.sent: dict[bytes, Designated] = {}
        self.outcomes: dict[bytes, str] = {}
        self.recorded: set[str] = set()
        self._holds = holds

    def designated_to(self, code: str) -> str | None:
        return self.codes.get(code)

    def designated_count(self, municipality: str) -> int:
        return sum(1 for m in self.codes.values() if m == municipality)

    def held(self, code: str) -> bool:
        return code in self.recorded or (
            bool(self._holds(code)) if self._holds is not None else False)

    def mark_recorded(self, code: str, now: dt.datetime) -> None:
        self.recorded.add(code)

    def add(self, designation: Designated, now: dt.datetime) -> None:
        for code in designation.codes:
            self.codes[code] = designation.municipality
        self.sent[designation.message_id] = designation

    def pending(self) -> list[Designated]:
        return [d for mid, d in self.sent.items() if mid not in self.outcomes]

    def settle(self, message_id: bytes, outcome: str) -> bool:
        if message_id not in self.sent or message_id in self.outcomes:
            return False
        self.outcomes[message_id] = outcome
        return True


class MemoryPool:
    """A municipality's pool in memory: the codes in the order designated."""

    def __init__(self) -> None:
        self.codes: dict[str, bool] = {}          # code -> recorded
        self.requests: dict[bytes, tuple[CodeDesignationRequest, str]] = {}

    def designated(self) -> int:
        return len(self.codes)

    def free(self) -> int:
        return sum(1 for used in self.codes.values() if not used)

    def free_codes(self, limit: int) -> list[str]:
        return [c for c, used in self.codes.items() if not used][:limit]

    def is_free(self, code: str) -> bool:
        return self.codes.get(code) is False

    def holds(self, code: str) -> bool:
        return code in self.codes

    def add(self, codes: tuple[str, ...], message_id: bytes, now: dt.datetime) -> None:
        for code in codes:
            self.codes.setdefault(code, False)

    def consume(self, code: str, now: dt.datetime) -> None:
        if code in self.codes:
            self.codes[code] = True

    def add_request(self, message_id: bytes, request: CodeDesignationRequest,
                    now: dt.datetime) -> None:
        self.requests[message_id] = (request, "pending")

    def open_requests(self) -> list[tuple[bytes, CodeDesignationRequest, str]]:
        return [(mid, r, s) for mid, (r, s) in self.requests.items()
                if s in ("pending", "acked")]

    def settle_request(self, message_id: bytes, state: str) -> bool:
        found = self.requests.get(message_id)
        if found is None:
            return False
        self.requests[message_id] = (found[0], state)
        return True


__all__ = ["MemoryLedger", "MemoryPool"]
