"""A reference municipality node (271004) with one deliberate fault on one side of the
notice of family register entries, Art. 9(2) (spec/family_register.md), chosen by
``--fault NAME``.

Each fault mimics a real mistake of a municipality's communication server.
``tests/test_conformance_family_register.py`` runs the Art. 9(2) cases against every
fault and checks that they fail exactly on the cases named in :data:`EXPECTED`. The
remaining arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_family_register --fault no-identity-update ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import Any

from juki_protocol.machines.common import ArmTimer, Effect, Inbound, random_ids
from juki_protocol.machines.move_in import acknowledge
from juki_protocol.messages.common import ChangeInfo, IdentityInfo
from juki_protocol.messages.family_register import FamilyRegisterNotice
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.pdu import AckStatus
from juki_protocol.messages.special_move import FamilyRegister
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import Owned
from juki_protocol.tools import cli_node


def _wrap_notices(node: Node, wrap: Any) -> None:
    """Wrap the role's ``receive`` for family register notices: ``wrap(receive,
    inbound, now)`` runs instead of it."""
    handler: Any = node.handler
    receive = handler.receive

    def wrapped(inbound: Inbound, now: dt.datetime) -> list[Owned]:
        if isinstance(inbound.message, FamilyRegisterNotice):
            return list(wrap(receive, inbound, now))
        return list(receive(inbound, now))

    handler.receive = wrapped


class NoIdentityUpdate(Node):
    """Applies every notice to the register but never tells the prefecture: a birth, a
    death or a new name is missing at the prefecture and the centre (R-9-2-06, Art.
    30-5)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler

        def silent(receive: Any, inbound: Inbound, now: dt.datetime) -> list[Owned]:
            updater = handler.updater

            def nothing(operation: UpdateOperation, info: IdentityInfo, change: ChangeInfo,
                        at: dt.datetime, **extra: Any) -> list[Effect]:
                return []
            updater.change = nothing
            try:
                return list(receive(inbound, now))
            finally:
                del updater.change
        _wrap_notices(self, silent)


class AcceptsNonResident(Node):
    """Acknowledges a notice whose person (or a birth's household) is not in its
    register, as if it had been applied (R-9-2-04)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler

        def trusting(receive: Any, inbound: Inbound, now: dt.datetime) -> list[Owned]:
            msg = inbound.message
            assert isinstance(msg, FamilyRegisterNotice)
            code = msg.person.resident_code if msg.person else msg.household
            if code not in handler.register.records:
                return [(handler, acknowledge(inbound, random_ids, AckStatus.ACCEPTED))]
            return list(receive(inbound, now))
        _wrap_notices(self, trusting)


class AppliesForeignResident(Node):
    """Takes a foreign resident's record like any other: the notice is applied, as if
    the record had a family register (R-9-2-05, Art. 30-45)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler

        def careless(receive: Any, inbound: Inbound, now: dt.datetime) -> list[Owned]:
            msg = inbound.message
            assert isinstance(msg, FamilyRegisterNotice)
            rec = handler.register.records.get(msg.person.resident_code) if msg.person \
                else None
            if rec is None or rec.family_register is not None:
                return list(receive(inbound, now))
            handler.register.add(dataclasses.replace(
                rec, foreign_resident=None, family_register=FamilyRegister(
                    permanent_domicile="不明", head_name=rec.name.kanji)))
            try:
                return list(receive(inbound, now))
            finally:
                after = handler.register.records[rec.resident_code]
                handler.register.add(dataclasses.replace(
                    after, family_register=None, foreign_resident=rec.foreign_resident))
        _wrap_notices(self, careless)


class NeverResendsNotice(Node):
    """Sends a notice once and never again, answered or not (R-9-2-09, R-PDU-23)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        notice = handler.family_register_notice

        def once(request: FamilyRegisterNotice, now: dt.datetime) -> Any:
            notifier, owned = notice(request, now)
            notifier.timers.clear()
            return notifier, [(o, e) for o, e in owned if not isinstance(e, ArmTimer)]
        handler.family_register_notice = once


FAULTS: dict[str, type[Node]] = {
    "no-identity-update": NoIdentityUpdate,
    "accepts-non-resident": AcceptsNonResident,
    "applies-foreign-resident": AppliesForeignResident,
    "never-resends-notice": NeverResendsNotice,
}

_CASE = "9/2/node/family-register/"
#: The Art. 9(2) cases each fault must fail; every other one must pass.
EXPECTED: dict[str, list[str]] = {
    "no-identity-update": [f"{_CASE}residence/name-change-applied-and-reported",
                           f"{_CASE}residence/birth-recorded-and-reported",
                           f"{_CASE}residence/death-erased-and-reported"],
    "accepts-non-resident": [f"{_CASE}residence/refusals-change-nothing"],
    "applies-foreign-resident": [f"{_CASE}residence/foreign-resident-refused"],
    "never-resends-notice": [f"{_CASE}register/notice-resent-until-acknowledged"],
}


def command(fault: str) -> list[str]:
    """The serve command of the municipality with ``fault`` (for :class:`NodeSut`)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_family_register",
            "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_family_register --fault {{{','.join(FAULTS)}}} "
                 "SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_family_register")


if __name__ == "__main__":
    main()
