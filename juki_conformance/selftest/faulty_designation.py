"""Faulty nodes for the code designation cases (juki_conformance/cases_node_designation.py,
Art. 30-7(1)(2)): each a :class:`Node` with one deliberate, realistic fault, run through
``python -m juki_conformance.selftest.faulty_designation --fault NAME SERVE-OPTIONS``.
A fault of one role leaves a node of another role as the reference is (``juki-conformance
run --node-command`` launches the command for every role)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from juki_protocol.identifiers import new_resident_code, resident_code_check_digit
from juki_protocol.machines.common import Inbound
from juki_protocol.machines.designation import (
    Designated,
    DesignationCheckedStore,
    MunicipalityCodes,
    PoolInput,
    PrefectureDesignations,
)
from juki_protocol.messages.designation import PREFECTURES, CodeDesignation, prefecture_number
from juki_protocol.node.designation_store import SqlLedger, SqlPool
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import MunicipalityRole
from juki_protocol.node.storage_rows import stamp
from juki_protocol.node.upper_register import REGISTER_DESKS, RegisterDesk
from juki_protocol.tools import cli_node


class _OverwritingLedger(SqlLedger):
    """Records a designation even of a code designated before (the later one wins)."""

    def add(self, designation: Designated, now: dt.datetime) -> None:
        conn = self.storage.conn
        conn.executemany(
            "INSERT INTO designated_codes (resident_code, municipality, message_id, "
            "designated_at) VALUES (?, ?, ?, ?) ON CONFLICT (resident_code) "
            "DO UPDATE SET municipality = excluded.municipality, "
            "message_id = excluded.message_id",
            [(c, designation.municipality, designation.message_id, stamp(now))
             for c in designation.codes])
        conn.execute("INSERT INTO designations (message_id, municipality, correlation_id, "
                     "codes, state, created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
                     (designation.message_id, designation.municipality,
                      designation.correlation_id, json.dumps(list(designation.codes)),
                      stamp(now)))


class _FromTheStartDesk(PrefectureDesignations):
    """Hands out its allotment from its first code every time, as a generator that is
    not told what it designated before would (R-30-7-2-02, R-30-7-2-04)."""

    def choose(self, count: int) -> tuple[str, ...]:
        first = prefecture_number(self.code) - 1
        codes = []
        for k in range(count):
            data = f"{first + PREFECTURES * k:010d}"
            codes.append(data + str(resident_code_check_digit(data)))
        return tuple(codes)


class OverlappingDesignations(Node):
    """Designates the same codes again and again (R-30-7-2-02)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        if config.role == "prefecture":
            handler.designations = _FromTheStartDesk(config.code, _OverwritingLedger(
                self.storage))


class _RecyclingDesk(PrefectureDesignations):
    """Puts the codes retired by code changes back into circulation, first."""

    def is_free(self, code: str) -> bool:
        return self.ledger.designated_to(code) is None

    def choose(self, count: int) -> tuple[str, ...]:
        storage = self.ledger.storage      # type: ignore[attr-defined]
        recycled = sorted(c for c in storage.retired() if self.ledger.designated_to(c))
        taken = tuple(recycled[:count])
        return taken + super().choose(count - len(taken)) if count > len(taken) else taken


class RecyclesRetiredCodes(Node):
    """Designates retired codes again (R-30-7-2-03, R-ID-03)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        if config.role == "prefecture":
            handler.designations = _RecyclingDesk(config.code,
                                                  _OverwritingLedger(self.storage))


class NoDesignationCheck(Node):
    """Applies an update whatever new code it carries (R-30-7-1-05)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        if config.role != "prefecture":
            return
        reload = handler.reload

        def unchecked() -> None:
            reload()
            store = handler.receiver.store
            if isinstance(store, DesignationCheckedStore):
                handler.receiver.store = store.inner
        handler.reload = unchecked
        unchecked()


class _RandomDesk(RegisterDesk):
    """Gives new residents random codes of its own, as before the designations."""

    def new_code(self, role: MunicipalityRole) -> str:
        while True:
            code = new_resident_code(self.rng)
            if code not in role.register.records and code not in role.updater.retired:
                return code

    def take_new(self, role: MunicipalityRole, code: str, now: dt.datetime) -> None:
        return None


class IgnoresDesignations(Node):
    """Keeps assigning random codes of its own (R-30-7-1-04)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        REGISTER_DESKS[self] = _RandomDesk()


class _LaxCodes(MunicipalityCodes):
    """Takes any designation it is sent, for whomever and from whomever."""

    def classify(self, inbound: Inbound) -> PoolInput:
        if isinstance(inbound.message, CodeDesignation):
            return PoolInput.DESIGNATION
        return super().classify(inbound)


class _LaxPool(SqlPool):
    """A pool that keeps the first designation of a code it is sent twice."""

    def add(self, codes: tuple[str, ...], message_id: bytes, now: dt.datetime) -> None:
        self.storage.conn.executemany(
            "INSERT INTO code_pool (resident_code, designation, designated_at) "
            "VALUES (?, ?, ?) ON CONFLICT (resident_code) DO NOTHING",
            [(c, message_id, stamp(now)) for c in codes])


class AcceptsAnyDesignation(Node):
    """Takes a designation for another municipality, from another prefecture, or
    repeating a code (R-30-7-1-06)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        if config.role == "municipality":
            handler.codes = _LaxCodes(config.code, _LaxPool(self.storage))


FAULTS: dict[str, type[Node]] = {
    "overlapping-designations": OverlappingDesignations,
    "recycles-retired-codes": RecyclesRetiredCodes,
    "no-designation-check": NoDesignationCheck,
    "ignores-designations": IgnoresDesignations,
    "accepts-any-designation": AcceptsAnyDesignation,
}

#: The role each fault's node is run as.
FAULT_ROLES: dict[str, str] = {
    "overlapping-designations": "prefecture", "recycles-retired-codes": "prefecture",
    "no-designation-check": "prefecture", "ignores-designations": "municipality",
    "accepts-any-designation": "municipality",
}

#: The designation cases each fault must fail; every other case must pass.
EXPECTED: dict[str, list[str]] = {
    "overlapping-designations": ["30-7/2/node/designation/never-designated-twice",
                                 "30-7/2/node/designation/codes-random",
                                 "30-7/2/node/designation/retired-code-never-designated"],
    "recycles-retired-codes": ["30-7/2/node/designation/retired-code-never-designated"],
    "no-designation-check": ["30-7/1/node/designation/undesignated-code-refused"],
    "ignores-designations": ["30-7/1/node/pool/designated-codes-used",
                             "30-7/1/node/pool/undesignated-code-refused",
                             "30-7/1/node/pool/exhausted-refused"],
    "accepts-any-designation": ["30-7/1/node/pool/misaddressed-designation-refused"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for NodeSut)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_designation", "--fault",
            fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_designation --fault {{{','.join(FAULTS)}}} "
                 "SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_designation")


if __name__ == "__main__":
    main()
