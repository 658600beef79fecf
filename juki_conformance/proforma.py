"""The ICS proforma (ISO/IEC 9646-7): each capability a node may have, with its status.

A vendor's ICS answers the proforma in ``capabilities`` (capability id -> supported).
The status of a capability is ``mandatory`` (every implementation of the roles named
has it: it cannot be answered no, and an unanswered one counts as supported),
``optional`` (unanswered counts as not supported) or ``conditional`` on the role.
A case that needs a capability the ICS answers no is ``not_applicable``; how the runner
reaches a capability (restart, clock, fault injection) is the IXIT's business, not the
proforma's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Capability:
    """One line of the proforma: id, status, the roles it concerns, what it means."""

    id: str
    status: str               # mandatory | optional
    roles: tuple[str, ...]    # the roles the status applies to (others: not applicable)
    text: str


ALL = ("municipality", "prefecture", "national", "agency")
PROFORMA: tuple[Capability, ...] = (
    Capability("upperTester", "mandatory", ALL,
               "Node mode: the upper tester of spec/node.md section 4 with every op of "
               "the node's role."),
    Capability("profile2002", "optional", ALL, "The 2002 profile (no individual number)."),
    Capability("residentCard", "optional", ("municipality",),
               "Issues and checks resident cards at the counter (spec/node.md 4.2)."),
    Capability("specialMove", "mandatory", ("municipality",),
               "Both sides of the special move of Art. 24-2 and the notice of Art. 9(1)."),
    Capability("wideAreaIssuance", "mandatory", ("municipality",),
               "Both sides of the wide-area issuance of Art. 12-2."),
    Capability("provision", "mandatory", ("prefecture", "national"),
               "Provision of identity info (Arts. 30-7, 30-10)."),
    Capability("localBodyProvision", "optional", ("prefecture",),
               "Provision to local bodies under Arts. 30-7(4)-(6) (ICS localPurposes)."),
    Capability("suspension", "mandatory", ("municipality", "prefecture", "national"),
               "Stopping provision (spec/suspension.md): a provider suspends a body, a "
               "municipality stops its feed; the ops of spec/node.md section 4.11."),
    Capability("auditLog", "mandatory", ALL,
               "The audit log of spec/node.md section 3, readable through the upper "
               "tester's audit_log."),
)
BY_ID = {c.id: c for c in PROFORMA}


def supported(answers: dict[str, bool], capability: str, role: str) -> bool:
    """Whether an ICS with ``answers`` supports ``capability`` for ``role``."""
    cap = BY_ID[capability]
    if role not in cap.roles:
        return False
    return answers.get(capability, cap.status == "mandatory")


def check_answers(answers: dict[str, bool], role: str, source: str = "ICS") -> None:
    """ValueError naming the field when an answer names no capability of the proforma
    or declines a mandatory one."""
    for name, value in answers.items():
        cap = BY_ID.get(name)
        if cap is None:
            raise ValueError(f"{source}: field capabilities/{name}: not a capability of "
                             f"the proforma ({', '.join(BY_ID)})")
        if cap.status == "mandatory" and role in cap.roles and value is False:
            raise ValueError(f"{source}: field capabilities/{name}: mandatory for a "
                             f"{role}; it cannot be answered false")


__all__ = ["BY_ID", "PROFORMA", "Capability", "check_answers", "supported"]
