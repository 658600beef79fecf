"""Node-mode cases on a provider's disclosure log (R-30-7-3-12, spec/node.md section
4.13, R-NODE-94), for the prefecture 270008 and the centre DC01.

The runner puts fresh synthetic persons into the provider (an update of the
municipality 271004 at a prefecture, a relay of 270008 at the centre), asks as the
agency AG0001 for them under the provider's legal basis for an agency, and reads the
log through the upper tester's ``disclosures``, one person at a time:

- a request that provided two persons is listed for each, once, with the request's
  message id, the requesting body, legal basis, purpose code and operator id, and no
  delegating prefecture; a person held but never asked for has no entry;
- two requests for one person are both listed, oldest first;
- a refused request (a purpose of another body's schedule 1 line) is not listed, nor
  is a request that provided only another person;
- after a restart the entries are still listed (IXIT ``restart``);
- at the centre, a request on the delegation of a prefecture (IXIT
  ``delegatingPrefectures``) is listed with that prefecture (R-30-10-1-06, a SHOULD).

The persons are fresh, so what earlier cases logged cannot be mistaken for an entry.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node_agency import OTHER_PURPOSE, OWN_PURPOSE, RESIDENCE
from juki_conformance.cases_node_suspension import BASIS
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import (
    describe,
    node_sut,
    provision_response,
    record_resident,
)
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import AckStatus
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

#: The prefectures the runner relays the centre's persons as, with a municipality each.
HOME = {"270008": RESIDENCE, "130001": "131016"}
RELAYING = "270008"
REMEDIATION = ("Log every provision request before its response leaves (time, message "
               "id, body, legal basis, purpose, operator, outcome, the persons provided), "
               "durably, and list for one resident code every request that provided "
               "that person's identity info, oldest first (R-30-7-3-12, spec/node.md "
               "section 4.13).")


def _relayed(node: NodeSut, prefecture: str = RELAYING) -> str:
    """A fresh person relayed to the centre by ``prefecture``: the person's resident
    code."""
    if prefecture not in HOME:
        raise Inconclusive(f"the runner relays as 270008 or 130001, not {prefecture}")
    person = generate_households(1, f"disclosure:{secrets.token_hex(6)}",
                                 municipalities=[HOME[prefecture]])[0].head
    last = int((node.status().get("lastSequence") or {}).get(prefecture, 0))
    relay = IdentityInfoRelay(prefecture=prefecture, relay_sequence=last + 1,
                              update=IdentityInfoUpdate(
                                  municipality=HOME[prefecture], update_sequence=1,
                                  operation=UpdateOperation.RECORD,
                                  identity_info=person.identity_info(Profile.CURRENT),
                                  change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                                         change_date=person.birth_date)))
    mid, pdu = node.sealed(relay, sender=prefecture)
    conn = node.connect(prefecture)
    try:
        conn.send(pdu)
        answer = conn.answer_to(mid)
    finally:
        conn.close()
    if answer is None or answer.acknowledgement is None \
            or answer.acknowledgement.status is not AckStatus.ACCEPTED:
        raise Inconclusive(f"relaying a person as {prefecture} got {describe(answer)}")
    return person.resident_code


def held(node: NodeSut) -> str:
    """A fresh person the provider holds: the person's resident code."""
    if node.role == "national":
        return _relayed(node)
    update, problem = record_resident(node)
    if update is None:
        raise Inconclusive(problem)
    return update.identity_info.resident_code


def ask(node: NodeSut, codes: tuple[str, ...], purpose: str = OWN_PURPOSE,
        delegator: str | None = None) -> tuple[bytes, ProvisionResponse | str]:
    """AG0001 asks for ``codes`` (on ``delegator``'s delegation, if given): the
    request's message id and the response (or what came instead)."""
    request = ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
        legal_basis=BASIS[node.role] if delegator is None
        else LegalBasis.DELEGATED_TO_AGENCY, purpose_code=purpose,
        operator_id=OPERATORS[AGENCY], by_resident_code=codes,
        delegating_prefecture=delegator)
    mid, pdu = node.sealed(request, sender=AGENCY)
    conn = node.connect(AGENCY)
    try:
        conn.send(pdu)
        return mid, provision_response(node, conn, mid, AGENCY)
    finally:
        conn.close()


def served(node: NodeSut, codes: tuple[str, ...], delegator: str | None = None) -> bytes:
    """Ask for ``codes`` and expect every one provided (preamble); the request's id."""
    mid, answer = ask(node, codes, delegator=delegator)
    if isinstance(answer, str):
        raise Inconclusive(f"the provision request got {answer}")
    if answer.refusal is not None or len(answer.provided or ()) != len(codes):
        raise Inconclusive("the provision request was not served: "
                           + (f"refusal {answer.refusal.value}" if answer.refusal
                              else f"{len(answer.provided or ())} provided"))
    return mid


def listed(node: NodeSut, code: str) -> list[dict[str, Any]]:
    """The entries ``disclosures`` lists for ``code``."""
    answer = node.request("disclosures", residentCode=code)
    if not answer.get("ok"):
        raise SutFault(f"upper tester disclosures failed: {answer.get('error')}")
    entries = answer.get("provided")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SutFault("disclosures answered without a list of entries in provided")
    return entries


def entry_fault(entry: dict[str, Any], mid: bytes, node: NodeSut,
                delegator: str | None = None) -> str | None:
    """None if ``entry`` is the log entry of AG0001's request ``mid``, else what differs."""
    basis = BASIS[node.role] if delegator is None else LegalBasis.DELEGATED_TO_AGENCY
    want = {"messageId": mid.hex(), "body": {"kind": BodyKind.AGENCY.value, "code": AGENCY},
            "legalBasis": basis.value, "purposeCode": OWN_PURPOSE,
            "operatorId": OPERATORS[AGENCY], "delegatingPrefecture": delegator}
    wrong = [k for k, v in want.items() if entry.get(k) != v]
    if not isinstance(entry.get("time"), str) or len(entry["time"]) != 20:
        wrong.append("time")
    return f"entry differs in {', '.join(wrong)}" if wrong else None


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [str(e.get("messageId")) for e in entries]


EXPECT_TWO = ("each of the two persons provided lists the request once, with its id, "
              "body, basis, purpose and operator; a person held but not asked for lists "
              "nothing")


def _two_persons(node: NodeSut) -> Outcome:
    first, second, unasked = held(node), held(node), held(node)
    mid = served(node, (first, second))
    for label, code in (("the first person", first), ("the second person", second)):
        entries = listed(node, code)
        if _ids(entries) != [mid.hex()]:
            return Outcome(Verdict.FAIL, EXPECT_TWO,
                           f"{label}: {len(entries)} entries, ids {_ids(entries)}")
        fault = entry_fault(entries[0], mid, node)
        if fault:
            return Outcome(Verdict.FAIL, EXPECT_TWO, f"{label}: {fault}")
    entries = listed(node, unasked)
    if entries:
        return Outcome(Verdict.FAIL, EXPECT_TWO,
                       f"a person never asked for lists {len(entries)} entries")
    return Outcome(Verdict.PASS, EXPECT_TWO, "one entry each, as requested")


EXPECT_ORDER = "both requests for the person listed, the older first"


def _oldest_first(node: NodeSut) -> Outcome:
    code = held(node)
    first = served(node, (code,))
    second = served(node, (code,))
    got = _ids(listed(node, code))
    if got != [first.hex(), second.hex()]:
        order = "in the other order" if got == [second.hex(), first.hex()] else str(got)
        return Outcome(Verdict.FAIL, EXPECT_ORDER, f"listed {order}")
    return Outcome(Verdict.PASS, EXPECT_ORDER, "both, oldest first")


EXPECT_NOT_LISTED = ("a refused request (another body's purpose) is not listed, nor a "
                     "request that provided only another person")


def _not_listed(node: NodeSut) -> Outcome:
    code, other = held(node), held(node)
    _, answer = ask(node, (code,), purpose=OTHER_PURPOSE)
    if isinstance(answer, str) or answer.refusal is None:
        what = answer if isinstance(answer, str) else \
            f"{len(answer.provided or ())} person(s) provided"
        raise Inconclusive(f"a request under another body's purpose was not refused: {what}")
    served(node, (other,))
    entries = listed(node, code)
    if entries:
        return Outcome(Verdict.FAIL, EXPECT_NOT_LISTED,
                       f"{len(entries)} entries for a person never provided")
    return Outcome(Verdict.PASS, EXPECT_NOT_LISTED, "nothing listed")


EXPECT_RESTART = "after a restart the person's provision is still listed, as before"


def _after_restart(node: NodeSut) -> Outcome:
    code = held(node)
    mid = served(node, (code,))
    node.restart()
    entries = listed(node, code)
    if _ids(entries) != [mid.hex()]:
        return Outcome(Verdict.FAIL, EXPECT_RESTART,
                       f"{len(entries)} entries after the restart, ids {_ids(entries)}")
    fault = entry_fault(entries[0], mid, node)
    if fault:
        return Outcome(Verdict.FAIL, EXPECT_RESTART, f"after the restart: {fault}")
    return Outcome(Verdict.PASS, EXPECT_RESTART, "listed")


EXPECT_DELEGATED = ("a request on a prefecture's delegation is listed with that "
                    "prefecture as delegatingPrefecture, the basis delegatedToAgency")


def _delegated(node: NodeSut) -> Outcome:
    declared = node.ixit.get("delegatingPrefectures") or []
    if not declared:
        raise Inconclusive("the IXIT declares no delegatingPrefectures")
    delegator = str(declared[0])
    code = _relayed(node, delegator)
    mid = served(node, (code,), delegator)
    entries = listed(node, code)
    if _ids(entries) != [mid.hex()]:
        return Outcome(Verdict.FAIL, EXPECT_DELEGATED,
                       f"{len(entries)} entries, ids {_ids(entries)}")
    fault = entry_fault(entries[0], mid, node, delegator)
    if fault:
        return Outcome(Verdict.FAIL, EXPECT_DELEGATED, fault)
    return Outcome(Verdict.PASS, EXPECT_DELEGATED, "listed with its delegating prefecture")


def _run(body: Callable[[NodeSut], Outcome]) -> Callable[[AdapterSut], Outcome]:
    return lambda sut: body(node_sut(sut))


def disclosure_cases() -> list[Case]:
    """The cases of this module, for a prefecture and the centre, in a stable order."""
    cases: list[Case] = []
    for role, clause in (("prefecture", "30-7"), ("national", "30-10")):
        for slug, title, reqs, body, needs in (
                ("two-persons-listed", EXPECT_TWO, ("R-30-7-3-12", "R-NODE-94"),
                 _two_persons, ""),
                ("oldest-first", EXPECT_ORDER, ("R-30-7-3-12", "R-NODE-94"),
                 _oldest_first, ""),
                ("refused-and-others-not-listed", EXPECT_NOT_LISTED,
                 ("R-30-7-3-12", "R-NODE-94"), _not_listed, ""),
                ("listed-after-restart", EXPECT_RESTART,
                 ("R-30-7-3-12", "R-NODE-94", "R-NODE-03"), _after_restart,
                 "ixit.restart")):
            cases.append(NodeCase(
                id=f"{clause}/node/disclosure/{role}/{slug}", title=title, clause=clause,
                requirements=reqs, level="MUST", remediation=REMEDIATION, mode="node",
                ops=(), run=_run(body), role=role, needs=needs))
    # R-30-10-1-06 is a SHOULD: a centre that does not record the delegating prefecture
    # cannot list it.
    cases.append(NodeCase(
        id="30-10/node/disclosure/national/delegation-listed", title=EXPECT_DELEGATED,
        clause="30-10", requirements=("R-30-10-1-06",), level="SHOULD",
        remediation=REMEDIATION, mode="node", ops=(), run=_run(_delegated),
        role="national", needs="ixit.delegatingPrefectures"))
    return cases


__all__ = ["ask", "disclosure_cases", "entry_fault", "held", "listed", "served"]
