"""A reference node with one deliberate fault in its send window (spec/identity.md
R-30-5-0-13), chosen by ``--fault NAME``: it keeps another window than the one the ICS
declares (``limits.sendWindow``), which the runner passes as ``--send-window``.

``tests/test_conformance_window.py`` runs the send-window cases against every fault and
checks that they fail exactly on the cases named in :data:`EXPECTED`. The remaining
arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_window --fault one-at-a-time ...
"""

from __future__ import annotations

import sys
from typing import Any

from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.tools import cli_node


class OneAtATime(Node):
    """Sends one numbered message at a time whatever window it declares: the next
    waits for the acknowledgement of the one before (R-30-5-0-13: a queued message
    must go as soon as the window has room)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        config.send_window = 1
        super().__init__(config, **kw)


class OverrunsWindow(Node):
    """Keeps one numbered message more on the wire than the window it declares
    (R-30-5-0-13)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        config.send_window += 1
        super().__init__(config, **kw)


FAULTS: dict[str, type[Node]] = {"one-at-a-time": OneAtATime,
                                  "overruns-window": OverrunsWindow}


def _ids(role: str, *endings: str) -> list[str]:
    clause = "30-11" if role == "prefecture" else "30-5"
    return [f"{clause}/node/send-window/{role}/{e}" for e in endings]


#: The send-window cases each fault must fail (for the municipality and the prefecture
#: alike); every other one must pass.
EXPECTED: dict[str, list[str]] = {
    "one-at-a-time": ["fills-then-refills", "resends-from-first",
                      "restart-refills-from-first"],
    "overruns-window": ["fills-then-refills", "resends-from-first",
                        "restart-refills-from-first"],
}


def expected(fault: str, role: str) -> list[str]:
    """The ids of the cases ``fault`` must fail when it runs as ``role``."""
    return _ids(role, *EXPECTED[fault])


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for ``NodeSut``)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_window", "--fault",
            fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_window --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_window")


if __name__ == "__main__":
    main()
