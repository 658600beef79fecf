"""Node-mode cases of the municipality's card desk (spec/node.md section 4.6): a card
suspended on loss or theft is refused at the counter until the municipality resumes it.
Every case issues a fresh card to a fresh synthetic household."""

from __future__ import annotations

import secrets

from conformance.cases_node import NodeCase, _node
from conformance.model import Case, Outcome, Verdict
from conformance.sut import AdapterSut

PIN = "4821"

REM_SUSPEND = ("Keep the municipality's record of each card: refuse a suspended card at the "
               "counter (4011 CARD_SUSPENDED, never a confirmed holder) and accept it again "
               "only after the municipality lifts the suspension.")


def _suspended_refused(sut: AdapterSut) -> Outcome:
    node = _node(sut)
    expected = ("the suspended card refused at the counter with the right PIN; after resume "
                "the right PIN confirms the holder")
    codes = node.ok("register_resident", seed=f"conformance:{secrets.token_hex(8)}")[
        "residentCodes"]
    serial = str(node.ok("card_issue", residentCode=codes[0], pin=PIN)["serial"])
    node.ok("card_suspend", serial=serial)
    used = node.request("card_verify", serial=serial, pin=PIN)
    if used.get("ok") and used.get("confirmed") is not False:
        return Outcome(Verdict.FAIL, expected,
                       f"the suspended card confirmed the holder ({used.get('cardState')})")
    node.ok("card_resume", serial=serial)
    again = node.request("card_verify", serial=serial, pin=PIN)
    if not again.get("ok") or again.get("confirmed") is not True:
        return Outcome(Verdict.FAIL, expected,
                       f"after resume the right PIN was not accepted: {again}")
    return Outcome(Verdict.PASS, expected, "refused while suspended, accepted after resume")


def register_cases() -> list[Case]:
    """The cases of this module."""
    return [
        NodeCase(id="card/node/card/suspended-refused-until-resumed",
                 title="a card suspended on loss or theft is refused at the counter and "
                       "accepted again after the municipality resumes it",
                 clause="card", requirements=("R-24-2-1-01",), level="MUST",
                 remediation=REM_SUSPEND, mode="node", ops=(), run=_suspended_refused,
                 role="municipality"),
    ]
