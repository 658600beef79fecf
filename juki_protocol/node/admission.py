"""Admission of inbound connections: who gets a socket, a handshake and a slot
(spec/node.md section 6, R-NODE-12 and R-NODE-46 to R-NODE-49).

Three bounds protect a node from peers that hold resources without doing anything
useful, and each is written so that the hostile side, not a valid peer, pays for it:

* :class:`HandshakeGate`: TCP connections whose TLS handshake has not completed yet
  (no certificate is known, only a source address). They are bounded in total and per
  source address, new ones from an unknown address are rate-limited (a token bucket:
  beyond it a connection is closed before any TLS work, so that reconnecting in a loop
  costs the node little), and addresses the node knows (its directory) have a reserve
  of their own. When a bound is reached, the **oldest** pending handshake of the same address
  (or of the same pool) is dropped to make room for the newest: a valid peer completes
  its handshake in milliseconds, so to starve it an attacker would have to open more
  connections than the bound within that time, while an attacker that merely holds
  half-open sockets loses them one by one. Holding sockets costs the node at most the
  bound's file descriptors.
* :func:`slot_for`: TLS connections of authenticated peers (R-NODE-12). When every
  slot is taken, a newcomer whose node holds fewer connections than another node may
  take a slot from that node's connection that has been useful longest ago; a
  connection that has sent only refusals lately is taken first (R-NODE-47). A node can
  thus keep at most its fair share while others wait.
* :class:`RepeatFilter`: the log lines of a flood (asyncio's accept errors at the
  descriptor limit, repeated refusals) are said once per interval with the count of
  those suppressed, never one line per event (R-NODE-49).

Nothing here does I/O: the node passes ``close`` callbacks and the clock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass
class _Pending:
    address: str
    close: Callable[[], None]
    known: bool


@dataclass
class GateCounts:
    """What the gate has done (for logs, metrics and tests)."""

    admitted: int = 0
    dropped_oldest: int = 0
    refused: int = 0


class HandshakeGate:
    """Bounds on connections whose TLS handshake has not completed (R-NODE-46).

    limit: pending handshakes from addresses that are not known; per_address: of them
    from one source address; reserve: pending handshakes from known addresses (a pool of
    their own that unknown addresses never take or drop); known: whether a source
    address belongs to a node of the directory.
    """

    def __init__(self, limit: int = 256, per_address: int = 32, reserve: int = 64,
                 known: Callable[[str], bool] = lambda address: False, *,
                 rate: float = 20.0, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or per_address < 1 or reserve < 0 or rate <= 0:
            raise ValueError("handshake bounds must be positive (reserve: not negative)")
        self.limit, self.per_address, self.reserve = limit, per_address, reserve
        self.known = known
        #: New handshakes a second from one address that is not known, in bursts of up
        #: to ``per_address`` (a token bucket): beyond it a connection is closed at once,
        #: before any TLS work, so that reconnecting in a loop costs the node little.
        self.rate, self.clock = rate, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._pending: OrderedDict[int, _Pending] = OrderedDict()    # oldest first
        self._next = 0
        self.counts = GateCounts()

    def __len__(self) -> int:
        return len(self._pending)

    def pending(self, address: str | None = None) -> int:
        """Pending handshakes (from ``address``, or all)."""
        return sum(1 for p in self._pending.values()
                   if address is None or p.address == address)

    def allow_new(self, address: str) -> bool:
        """Whether a new connection from ``address`` may begin at all: the rate of new
        handshakes from an address that is not known (a token bucket). A node asks this
        as the connection is accepted, before it makes anything for it, and closes a
        refused one at once."""
        if self.known(address) or self._allow(address):
            return True
        self.counts.refused += 1
        return False

    def admit(self, address: str, close: Callable[[], None], *,
              rate_checked: bool = False) -> int | None:
        """Take a new TCP connection from ``address``; returns its ticket, to be given
        to :meth:`done` when its handshake ends (either way), or None when it must be
        closed at once (``close`` is then already called). To make room, the oldest
        pending handshake of the same address, else of the same pool, is closed.
        ``rate_checked``: :meth:`allow_new` has already let it begin."""
        known = self.known(address)
        if not rate_checked and not self.allow_new(address):
            close()
            return None
        if known:
            pool = [t for t, p in self._pending.items() if p.known]
            if self.reserve == 0 and not self._room_unknown(address, close):
                return None
            if self.reserve and len(pool) >= self.reserve:
                self._drop(pool[0])
        elif not self._room_unknown(address, close):
            return None
        ticket = self._next
        self._next += 1
        self._pending[ticket] = _Pending(address, close, known and self.reserve > 0)
        self.counts.admitted += 1
        return ticket

    def _allow(self, address: str) -> bool:
        """Take a token of ``address``'s bucket, if it has one."""
        now = self.clock()
        tokens, last = self._buckets.pop(address, (float(self.per_address), now))
        tokens = min(float(self.per_address), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[address] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > 4096:          # bounded under a spread of addresses
            self._buckets.popitem(last=False)
        return allowed

    def _room_unknown(self, address: str, close: Callable[[], None]) -> bool:
        same = [t for t, p in self._pending.items() if not p.known and p.address == address]
        if len(same) >= self.per_address:
            self._drop(same[0])
            return True
        pool = [t for t, p in self._pending.items() if not p.known]
        if len(pool) >= self.limit:
            # The pool is full of other addresses: drop the oldest of the address that
            # holds the most, so that one address cannot push out the others; when each
            # holds one, the oldest of all (the first address in pending order), since
            # the oldest gives way to the newest, never the other way (R-NODE-46).
            by_address: dict[str, list[int]] = {}
            for t in pool:
                by_address.setdefault(self._pending[t].address, []).append(t)
            self._drop(max(by_address.values(), key=len)[0])
        return True

    def _drop(self, ticket: int) -> None:
        pending = self._pending.pop(ticket)
        self.counts.dropped_oldest += 1
        pending.close()

    def done(self, ticket: int | None) -> None:
        """The handshake of ``ticket`` ended (completed, failed or dropped)."""
        if ticket is not None:
            self._pending.pop(ticket, None)


class Slot(Protocol):
    """What :func:`slot_for` needs of an admitted connection."""

    @property
    def peer_key(self) -> str: ...

    #: Refusals in a row since the last PDU that was not refused.
    refused_in_a_row: int
    #: When (monotonic seconds) the last PDU that was not refused arrived, or the
    #: connection was admitted.
    useful_at: float


@dataclass
class SlotDecision:
    """Admit the newcomer (``admit``), after closing ``evict`` if not None; ``reason``
    says why a newcomer is refused or a connection evicted (no personal data)."""

    admit: bool
    evict: Slot | None = None
    reason: str = ""


def slot_for(newcomer: str, held: Iterable[Slot], max_connections: int,
             max_peer_connections: int) -> SlotDecision:
    """Whether a newly authenticated connection of node ``newcomer`` gets a slot
    (R-NODE-12, R-NODE-47; see the module docstring)."""
    conns = list(held)
    per: dict[str, list[Slot]] = {}
    for c in conns:
        per.setdefault(c.peer_key, []).append(c)
    mine = len(per.get(newcomer, []))
    if mine >= max_peer_connections:
        return SlotDecision(False, reason=f"{mine} connections from {newcomer}, the limit "
                            "per node")
    if len(conns) < max_connections:
        return SlotDecision(True)
    # Full. A connection that sends only refusals goes first, whoever holds it.
    refusing = [c for c in conns if c.refused_in_a_row > 0]
    if refusing:
        victim = max(refusing, key=lambda c: (c.refused_in_a_row, -c.useful_at))
        return SlotDecision(True, victim, f"{victim.peer_key} sent only refusals "
                            f"({victim.refused_in_a_row} in a row) while the slots were full")
    # Otherwise a node with more connections than the newcomer gives one up.
    most = max(per.values(), key=len)
    if len(most) <= mine + 1:
        return SlotDecision(False, reason=f"{len(conns)} connections, the limit, and no "
                            "node holds more than its share")
    victim = min(most, key=lambda c: c.useful_at)
    return SlotDecision(True, victim, f"{victim.peer_key} held {len(most)} of "
                        f"{len(conns)} connections while {newcomer} held {mine}")


__all__ = ["GateCounts", "HandshakeGate", "Slot", "SlotDecision", "slot_for"]
