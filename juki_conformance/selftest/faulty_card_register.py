"""Reference nodes with one deliberate fault in the card register
(spec/card_register.md), chosen by ``--fault NAME``.

Each fault mimics a real mistake: a centre that lets a resident hold two cards, keeps
its register in memory, or takes a card's change from any municipality; a municipality
that trusts a card whatever the centre says (at the check or at the special move-in
counter), does not tell the centre of a suspension,
or issues a card the centre never registered. ``tests/test_conformance_card_register.py``
runs the cases against every fault and checks that they fail exactly the cases named in
:data:`EXPECTED`. The remaining arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_card_register --fault ignores-duplicates ...

A fault is a change to the reference classes made in the faulty node's own process
(before the node builds its machines, and again in the process a restart starts).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import Any

from juki_protocol.errors import ErrorCode
from juki_protocol.machines.card_notices import CardNotifier
from juki_protocol.machines.card_register import CardRegisterDesk, DeskInput, Entry
from juki_protocol.machines.common import Inbound
from juki_protocol.messages.card import CardStatusNotice
from juki_protocol.node import card_network, upper_flows
from juki_protocol.node.card_store import SqlCardLedger
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.tools import cli_node

#: The reference methods, kept before a fault replaces them.
CLASSIFY, VERDICT = CardRegisterDesk.classify, CardNotifier.verdict


class _Faulty(Node):
    """A reference node whose classes :meth:`patch` changes first."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        self.patch()
        super().__init__(config, **kw)

    def patch(self) -> None:
        raise NotImplementedError


class IgnoresDuplicates(_Faulty):
    """Registers every application: a resident may hold two cards (R-CARDREG-02)."""

    def patch(self) -> None:
        setattr(Entry, "blocks", lambda e, today: False)  # noqa: B010


#: The register of :class:`RegisterInMemory`'s process.
_IN_MEMORY: dict[str, Entry] = {}


class RegisterInMemory(_Faulty):
    """Keeps its register in memory only: a restart forgets every card (R-CARDREG-03)."""

    def patch(self) -> None:
        setattr(SqlCardLedger, "get", lambda s, serial: _IN_MEMORY.get(serial))  # noqa: B010
        setattr(SqlCardLedger, "of_resident", lambda s, code: [  # noqa: B010
            e for e in _IN_MEMORY.values() if e.resident_code == code])

        def put(s: SqlCardLedger, entry: Entry, now: dt.datetime) -> None:
            _IN_MEMORY[entry.serial] = entry
        setattr(SqlCardLedger, "put", put)  # noqa: B010


class TrustsAnyNotifier(_Faulty):
    """Takes a status notice from whichever municipality sends it (R-CARDREG-04)."""

    def patch(self) -> None:
        def classify(desk: CardRegisterDesk, inbound: Inbound, now: dt.datetime
                     ) -> DeskInput:
            msg = inbound.message
            if isinstance(msg, CardStatusNotice):
                inbound = dataclasses.replace(inbound, sender=msg.municipality)
            return CLASSIFY(desk, inbound, now)
        setattr(CardRegisterDesk, "classify", classify)  # noqa: B010


class TakesAnyCard(_Faulty):
    """Asks the centre but takes the card whatever it answers (R-CARDREG-07)."""

    def patch(self) -> None:
        def verdict(n: CardNotifier, message_id: bytes) -> tuple[str, ErrorCode | None]:
            return VERDICT(n, message_id)[0], None
        setattr(CardNotifier, "verdict", verdict)  # noqa: B010


class CounterTrustsItsRecords(_Faulty):
    """Checks a card with the centre, but files a special move-in with it on its own
    records alone, whatever the centre answered (R-CARDREG-07, R-24-2-1-01)."""

    def patch(self) -> None:
        setattr(upper_flows, "presented_card_refusal",  # noqa: B010
                lambda node, req, holder: None)


class KeepsRefusedCard(_Faulty):
    """Takes at its own counter a card whose issue notice the centre refused as a
    duplicate (R-CARDREG-08)."""

    def patch(self) -> None:
        setattr(card_network, "require_not_refused",  # noqa: B010
                lambda node, serial: None)


class SilentSuspension(_Faulty):
    """Suspends, resumes and ends cards without telling the centre (R-CARDREG-03)."""

    def patch(self) -> None:
        setattr(card_network, "changed", lambda node, record, change, now: [])  # noqa: B010


class IssuesUnregistered(_Faulty):
    """Issues under a serial whose application the centre refused (R-CARDREG-01)."""

    def patch(self) -> None:
        setattr(card_network, "require_registered", lambda node, serial: None)  # noqa: B010


FAULTS: dict[str, type[Node]] = {
    "ignores-duplicates": IgnoresDuplicates,
    "register-in-memory": RegisterInMemory,
    "trusts-any-notifier": TrustsAnyNotifier,
    "takes-any-card": TakesAnyCard,
    "counter-trusts-its-records": CounterTrustsItsRecords,
    "keeps-refused-card": KeepsRefusedCard,
    "silent-suspension": SilentSuspension,
    "issues-unregistered": IssuesUnregistered,
}

#: The role each fault's node is run as.
FAULT_ROLES: dict[str, str] = {
    "ignores-duplicates": "national", "register-in-memory": "national",
    "trusts-any-notifier": "national", "takes-any-card": "municipality",
    "counter-trusts-its-records": "municipality", "keeps-refused-card": "municipality",
    "silent-suspension": "municipality", "issues-unregistered": "municipality"}

_R, _M = "30-44/node/register/", "30-44/node/municipality/"
#: The card register cases of its role each fault must fail; the others must pass.
EXPECTED: dict[str, list[str]] = {
    "ignores-duplicates": [_R + "duplicate-application-refused"],
    "register-in-memory": [_R + "survives-a-restart"],
    "trusts-any-notifier": [_R + "only-the-issuer-changes-a-card"],
    "takes-any-card": [_M + "suspended-card-refused", _M + "lost-card-refused",
                       _M + "special-move-in-with-a-suspended-card",
                       _M + "special-move-in-with-a-lost-card"],
    "counter-trusts-its-records": [_M + "special-move-in-with-a-suspended-card",
                                   _M + "special-move-in-with-a-lost-card"],
    "keeps-refused-card": [_M + "refused-issue-not-taken-at-home"],
    "silent-suspension": [_M + "issue-and-status-notices"],
    "issues-unregistered": [_M + "application-before-issue"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for ``NodeSut``)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_card_register",
            "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_card_register --fault {{{','.join(FAULTS)}}} "
                 "SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_card_register")


if __name__ == "__main__":
    main()
