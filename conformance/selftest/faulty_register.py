"""Faulty municipality nodes for the register and card desk cases
(conformance/cases_node_register.py): each a :class:`Node` with one deliberate,
realistic fault, run through ``python -m conformance.selftest.faulty_register``."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from juki_protocol.machines.card import SW_OK, apdu
from juki_protocol.node import cli_node
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.upper_card import CARD_DESKS, CardDesk


class _ChipOnlyDesk(CardDesk):
    """A counter that trusts the chip alone: a right PIN confirms the holder whatever the
    municipality's record of the card says (suspended on loss or theft)."""

    def verify(self, serial: object, pin: str, now: dt.datetime) -> dict[str, Any]:
        card, record = self.get(serial)
        sw = card.process(apdu(0x20, 0x81, pin.encode("ascii")), now)
        return {"sw": sw.hex().upper(), "confirmed": sw == SW_OK,
                "cardState": record.state.value}


class IgnoresSuspension(Node):
    """Confirms the holder of a suspended card at the counter (R-24-2-1-01)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        CARD_DESKS[self] = _ChipOnlyDesk(config.code)


FAULTS: dict[str, type[Node]] = {"ignores-suspension": IgnoresSuspension}

#: The role each fault's node is run as.
FAULT_ROLES: dict[str, str] = {fault: "municipality" for fault in FAULTS}

#: The register cases each fault must fail; every other case must pass.
EXPECTED: dict[str, list[str]] = {
    "ignores-suspension": ["card/node/card/suspended-refused-until-resumed"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for NodeSut)."""
    return [sys.executable, "-m", "conformance.selftest.faulty_register", "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_register --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_register")


if __name__ == "__main__":
    main()
