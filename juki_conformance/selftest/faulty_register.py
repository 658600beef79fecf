"""Faulty municipality nodes for the register and card desk cases
(juki_conformance/cases_node_register.py): each a :class:`Node` with one deliberate,
realistic fault, run through ``python -m juki_conformance.selftest.faulty_register``."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from juki_protocol.identifiers import resident_code_check_digit
from juki_protocol.machines.card import AID, SW_OK, apdu
from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import MunicipalityRole, Owned
from juki_protocol.node.upper_card import CARD_DESKS, CardDesk
from juki_protocol.node.upper_register import REGISTER_DESKS, RegisterDesk
from juki_protocol.tools import cli_node


class _ChipOnlyDesk(CardDesk):
    """A counter that trusts the chip alone: a right PIN confirms the holder whatever the
    municipality's record of the card says (suspended on loss or theft)."""

    def verify(self, serial: object, pin: str, now: dt.datetime) -> dict[str, Any]:
        card, record = self.get(serial)
        card.process(apdu(0xA4, data=AID), now)
        sw = card.process(apdu(0x20, 0x81, pin.encode("ascii")), now)
        self.commit(card.serial)
        return {"sw": sw.hex().upper(), "confirmed": sw == SW_OK,
                "cardState": record.state.value}


class IgnoresSuspension(Node):
    """Confirms the holder of a suspended card at the counter (R-24-2-1-01)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        CARD_DESKS[self] = _ChipOnlyDesk(config.code, storage=self.storage)


class ForgetsCards(Node):
    """Keeps its cards in memory only: after a restart it knows none of them
    (R-NODE-52)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        CARD_DESKS[self] = CardDesk(config.code)


class _SequentialDesk(RegisterDesk):
    """Numbers new resident codes from a counter (with a right check digit)."""

    def __init__(self) -> None:
        super().__init__()
        self.next = 5_000_000_000

    def new_code(self, role: MunicipalityRole) -> str:
        while True:
            self.next += 1
            data = f"{self.next:010d}"
            code = f"{data}{resident_code_check_digit(data)}"
            if code not in role.register.records and code not in role.updater.retired:
                return code


class SequentialCodes(Node):
    """Assigns new resident codes in sequence, not at random (R-ID-02)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        REGISTER_DESKS[self] = _SequentialDesk()


class _NoRetiredCheckDesk(RegisterDesk):
    """Records any code not held by a current record: retired codes are not checked,
    and the updater is made to forget them."""

    def check_recordable(self, role: MunicipalityRole, code: str) -> None:
        role.updater.retired.discard(code)
        super().check_recordable(role, code)


class ReusesRetiredCodes(Node):
    """Records a person under a retired resident code (R-ID-03)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        REGISTER_DESKS[self] = _NoRetiredCheckDesk()


class _MemoryRetiredDesk(RegisterDesk):
    """Checks retired codes against those it retired since it started only."""

    def __init__(self) -> None:
        super().__init__()
        self.retired: set[str] = set()

    def check_recordable(self, role: MunicipalityRole, code: str) -> None:
        if code not in self.retired:
            role.updater.retired.discard(code)
        super().check_recordable(role, code)

    def change_code(self, role: MunicipalityRole, code: str, change_date: dt.date,
                    now: dt.datetime) -> tuple[str, list[Owned]]:
        self.retired.add(code)
        return super().change_code(role, code, change_date, now)


class ForgetsRetiredOnRestart(Node):
    """Knows the codes it retired only until it restarts (R-ID-03, R-NODE-52)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        REGISTER_DESKS[self] = _MemoryRetiredDesk()


class _SilentDeathDesk(RegisterDesk):
    """Erases the record of a dead resident without reporting it."""

    def erase(self, role: MunicipalityRole, code: str, change: ChangeInfo,
              now: dt.datetime) -> list[Owned]:
        if change.change_reason is not ChangeReason.DEATH:
            return super().erase(role, code, change, now)
        self.current(role, code)
        role.register.set_status(code, "deceased")
        role.storage.record_erasure(code, change.change_reason, change.change_date, now)
        role.persist(now)
        return []


class NoUpdateOnDeath(Node):
    """Does not report a death to the prefecture (R-NODE-50, R-30-5-0-01)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        REGISTER_DESKS[self] = _SilentDeathDesk()


class _LateMoveOutDesk(RegisterDesk):
    """Erases a move-out's record when it is filed but leaves the report to the
    move-in notice that finalises the move (which an ordinary move never sends)."""

    def erase(self, role: MunicipalityRole, code: str, change: ChangeInfo,
              now: dt.datetime) -> list[Owned]:
        if change.change_reason is not ChangeReason.MOVE_OUT:
            return super().erase(role, code, change, now)
        self.current(role, code)
        role.register.set_status(code, "moved_out")
        role.storage.record_erasure(code, change.change_reason, change.change_date, now)
        role.persist(now)
        return []


class MoveOutReportedOnlyWhenFinalised(Node):
    """Reports a move-out only when a move-in notice finalises it (R-NODE-50)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        REGISTER_DESKS[self] = _LateMoveOutDesk()


FAULTS: dict[str, type[Node]] = {
    "ignores-suspension": IgnoresSuspension,
    "forgets-cards-on-restart": ForgetsCards,
    "sequential-codes": SequentialCodes,
    "reuses-retired-codes": ReusesRetiredCodes,
    "forgets-retired-on-restart": ForgetsRetiredOnRestart,
    "no-update-on-death": NoUpdateOnDeath,
    "move-out-reported-when-finalised": MoveOutReportedOnlyWhenFinalised,
}

#: The role each fault's node is run as.
FAULT_ROLES: dict[str, str] = {fault: "municipality" for fault in FAULTS}

#: The register cases each fault must fail; every other case must pass.
EXPECTED: dict[str, list[str]] = {
    "ignores-suspension": ["card/node/card/suspended-refused-until-resumed",
                           "card/node/restart/suspended-card-stays-suspended"],
    "forgets-cards-on-restart": ["card/node/restart/pin-count-survives",
                                 "card/node/restart/blocked-card-stays-blocked",
                                 "card/node/restart/suspended-card-stays-suspended"],
    "sequential-codes": ["id/node/resident-code/new-codes-random"],
    "reuses-retired-codes": ["id/node/resident-code/retired-code-refused",
                             "id/node/resident-code/retired-code-refused-after-restart"],
    "forgets-retired-on-restart": [
        "id/node/resident-code/retired-code-refused-after-restart"],
    "no-update-on-death": ["30-5/node/erase/death-reported"],
    "move-out-reported-when-finalised": ["30-5/node/erase/move-out-reported"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for NodeSut)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_register", "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_register --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_register")


if __name__ == "__main__":
    main()
