"""Reference prefecture and national nodes with one deliberate retention fault, chosen
by ``--fault NAME``.

Each fault mimics a real mistake around the retention of identity info (R-30-5-0-09,
R-NODE-05). ``tests/test_conformance_retention.py`` runs the retention cases against
every fault and checks that they fail exactly on the cases named in :data:`EXPECTED`.
The remaining arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_retention --fault never-purges ...
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.tools import cli_node


class PurgesAtOnce(Node):
    """Reads the retention period as zero: a superseded or erased version goes at the
    next housekeeping, long before its period has passed (R-30-5-0-09)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        config.retention = dt.timedelta(0)
        super().__init__(config, **kw)


class NeverPurges(Node):
    """Keeps every version for ever: the purge job was never scheduled (R-NODE-05)."""

    def housekeep(self) -> None:
        self.storage.forget_processed(self.now() - self.config.duplicate_window)


class PurgesPinned(Node):
    """Erases by age alone, also a version that an unacknowledged relay still has to
    carry to the centre (R-NODE-05)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        storage = self.storage
        by_role = storage.purge

        def by_age(now: dt.datetime, retention: dt.timedelta) -> int:
            role, storage.role = storage.role, "national"   # no relays to spare
            try:
                return by_role(now, retention)
            finally:
                storage.role = role

        storage.purge = by_age  # type: ignore[method-assign]


class ForgetsNumbering(Node):
    """Its purge job also clears the numbering table with the old versions: the last
    applied number per sender starts again (R-NODE-05)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        storage = self.storage
        purge = storage.purge

        def and_numbering(now: dt.datetime, retention: dt.timedelta) -> int:
            gone = purge(now, retention)
            if gone:
                with storage.transaction() as c:
                    c.execute("DELETE FROM last_sequence")
            return gone

        storage.purge = and_numbering  # type: ignore[method-assign]


FAULTS: dict[str, type[Node]] = {
    "purges-at-once": PurgesAtOnce, "never-purges": NeverPurges,
    "purges-pinned": PurgesPinned, "forgets-numbering": ForgetsNumbering,
}

#: The role each fault's node is run as (default: prefecture).
FAULT_ROLES: dict[str, str] = {"forgets-numbering": "national"}

#: The retention cases each fault must fail; every other case of its role must pass.
EXPECTED: dict[str, list[str]] = {
    "purges-at-once": ["30-5/node/prefecture/retention-purge"],
    "never-purges": ["30-5/node/prefecture/retention-purge"],
    "purges-pinned": ["30-5/node/prefecture/retention-keeps-unrelayed"],
    "forgets-numbering": ["30-5/node/national/retention-purge"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for ``NodeSut``)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_retention", "--fault",
            fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_retention --fault {{{','.join(FAULTS)}}} "
                 "SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_retention")


if __name__ == "__main__":
    main()
