"""A reference prefecture with one deliberate fault in how it admits connections
(spec/node.md section 6, R-NODE-46, R-NODE-47), chosen by ``--fault NAME``.

``tests/test_conformance_admission.py`` runs the admission cases against every fault and
checks that they fail exactly on the cases named in :data:`EXPECTED`. The remaining
arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_admission --fault refuses-newest ...
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from juki_protocol.node import node as node_module
from juki_protocol.node.admission import HandshakeGate, Slot, SlotDecision
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.tools import cli_node


class _RefusingGate(HandshakeGate):
    """At the bound of one address, closes the newest connection instead of the oldest
    pending one (the other way round of R-NODE-46's SHOULD)."""

    def admit(self, address: str, close: Callable[[], None], *,
              rate_checked: bool = False) -> int | None:
        if not self.known(address) and self.pending(address) >= self.per_address:
            close()
            return None
        return super().admit(address, close, rate_checked=rate_checked)


class RefusesNewest(Node):
    """Refuses the newest handshake of an address at its bound, keeping the oldest."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        gate = self.gate
        self.gate = _RefusingGate(gate.limit, gate.per_address, gate.reserve, gate.known,
                                  rate=gate.rate)


class _OnePoolGate(HandshakeGate):
    """Known addresses are not rate-limited but share the pool of every other address:
    no reserve (R-NODE-46)."""

    def admit(self, address: str, close: Callable[[], None], *,
              rate_checked: bool = False) -> int | None:
        known = self.known
        self.known = lambda a: False
        try:
            return super().admit(address, close, rate_checked=True)
        finally:
            self.known = known


class NoKnownReserve(Node):
    """Counts the known peers' pending handshakes with everyone else's."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        gate = self.gate
        self.gate = _OnePoolGate(gate.limit, gate.per_address, gate.reserve, gate.known,
                                 rate=gate.rate)


def _first_come(newcomer: str, held: Iterable[Slot], max_connections: int,
                max_peer_connections: int) -> SlotDecision:
    """Slots kept by whoever took them first: a newcomer is refused when all are taken
    (no fair share, R-NODE-47)."""
    conns = list(held)
    mine = sum(1 for c in conns if c.peer_key == newcomer)
    return SlotDecision(mine < max_peer_connections and len(conns) < max_connections,
                        reason="full")


class FirstComeSlots(Node):
    """Refuses every newcomer once the slots are taken."""


FAULTS: dict[str, type[Node]] = {
    "refuses-newest": RefusesNewest, "no-known-reserve": NoKnownReserve,
    "first-come-slots": FirstComeSlots,
}

#: The admission cases each fault must fail; every other one must pass.
EXPECTED: dict[str, list[str]] = {
    "refuses-newest": ["node/node/limits/address-handshakes-oldest"],
    # The known peer's own exchange then counts in the full pool and pushes out an
    # unknown address's pending handshake too.
    "no-known-reserve": ["node/node/limits/handshakes-total",
                         "node/node/limits/known-reserve"],
    "first-come-slots": ["node/node/limits/fair-share"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for ``NodeSut``)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_admission", "--fault",
            fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_admission --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    if args[1] == "first-come-slots":     # the node module's slot rule, for this process
        setattr(node_module, "slot_for", _first_come)  # noqa: B010
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_admission")


if __name__ == "__main__":
    main()
