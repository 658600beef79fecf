"""Node-mode cases on both sides of the equality checks of the municipality flows
(Arts. 12-2, 24-2; spec/wide_area.md, spec/special_move.md, R-PDU-21): a value just
below and one just above the right one, each of which must be refused.

A check written with an ordering instead of equality refuses the values on one side
of the right one only; cases that try one wrong value (or a value that a later step
refuses for another reason) do not see it. Here a municipality SUT (271004) gets, from
the runner's municipality (272035):

* a WideAreaIssuanceRequest whose residence municipality is a code sorting below the
  node's, or above it, for a person the node does not hold: the node must refuse it
  with 3002, not answer it with a refusal (R-PDU-21, R-12-2-2-01). (With a
  person it holds, the copies of another municipality's request would break
  R-12-2-3-05 and a faulty node fails anyway: that is the case of
  :mod:`juki_conformance.cases_node_wide_area_consistency`.)
* a WideAreaIssuanceRequest naming a requester or a target by resident code with the
  right name and a birth date one day earlier, or one day later, than the record's:
  no copy; the target is refused ``noSuchRecord`` (R-12-2-3-06: no record matches).
* a SpecialMoveInNotice naming a mover on file with a birth date one day earlier or
  later than the record's (5001 NO_SUCH_RESIDENT, R-24-2-3-03), or naming as new
  municipality a code below or above the header's sender (1024, R-PDU-21); each
  changes nothing, and the right notice is then certified; and one naming as former
  municipality a code below or above the node's, its mover on an annotated move-out of
  the node or a person it does not hold (3002 WRONG_RECIPIENT before any look at the
  movers, R-PDU-21).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.cases_node_flows import (
    annotated_move_out,
    send_special_notice,
    special_notice,
)
from juki_conformance.cases_node_wide_area_consistency import ABOVE, BELOW, served
from juki_conformance.flow_steps import address_of, is_accepted, node_today, registered_household
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, is_error
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import Address
from juki_protocol.messages.special_move import SpecialMoveInNotice
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
    WideAreaRefusal,
)

DAY = dt.timedelta(days=1)
#: The two sides of a birth date: one day earlier, one day later.
SIDES: dict[str, dt.timedelta] = {"earlier": -DAY, "later": DAY}


# Art. 12-2: the node as residence municipality -------------------------------------------

def _request(residence: str, issuing: str, requester: SyntheticResident,
             targets: tuple[TargetPerson, ...], *, birth_date: dt.date | None = None
             ) -> WideAreaIssuanceRequest:
    """A request of ``issuing`` for ``targets``, the requester given by resident code
    (with ``birth_date`` instead of the requester's own when given)."""
    return WideAreaIssuanceRequest(
        issuing_municipality=issuing, residence_municipality=residence,
        requester=Requester(resident_code=requester.resident_code, name=requester.name,
                            birth_date=birth_date or requester.birth_date,
                            address=Address(local_gov_code=residence,
                                            text=requester.address.text),
                            identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
        targets=targets, include_relationship=False, include_resident_code=False)


def _other_residence(residence: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        code = int(ErrorCode.WRONG_RECIPIENT)
        expected = (f"a request for residence municipality {residence}, not the node, "
                    f"for a person it does not hold: error {code} referring to it, no "
                    "response")
        stranger = generate_households(1, f"conformance:beside:{secrets.token_hex(8)}",
                                       municipalities=[residence])[0].head
        request = _request(residence, node.peer_municipality, stranger,
                           (TargetPerson(name=stranger.name,
                                         birth_date=stranger.birth_date),))
        answer = served(node, request)
        if isinstance(answer, WideAreaIssuanceResponse):
            what = (f"refusal {answer.refusal.value}" if answer.refusal is not None
                    else f"{len(answer.copies or ())} copies")
            return Outcome(Verdict.FAIL, expected, f"accepted and answered: {what}")
        if not answer.startswith(f"error {code}"):
            return Outcome(Verdict.FAIL, expected, answer)
        return Outcome(Verdict.PASS, expected, answer)
    return run


def _outcome_of(answer: WideAreaIssuanceResponse | str) -> str:
    if isinstance(answer, str):
        return answer
    if answer.refusal is not None:
        return f"refusal {answer.refusal.value}"
    return f"{len(answer.copies or ())} copies"


def _target_born(side: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        head = registered_household(node)[0]
        expected = (f"the requester's own record asked for by resident code with a birth "
                    f"date one day {side} than the record's: refusal noSuchRecord, no "
                    "copy")
        target = TargetPerson(name=head.name, birth_date=head.birth_date + SIDES[side],
                              resident_code=head.resident_code)
        answer = served(node, _request(node.code, node.peer_municipality, head,
                                          (target,)))
        got = _outcome_of(answer)
        if not isinstance(answer, WideAreaIssuanceResponse) \
                or answer.refusal is not WideAreaRefusal.NO_SUCH_RECORD:
            return Outcome(Verdict.FAIL, expected, got)
        return Outcome(Verdict.PASS, expected, got)
    return run


def _requester_born(side: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        head = registered_household(node)[0]
        expected = (f"a requester given by resident code with a birth date one day {side} "
                    "than the record's, asking for their own copy: a refusal, no copy")
        target = TargetPerson(name=head.name, birth_date=head.birth_date)
        answer = served(node, _request(node.code, node.peer_municipality, head,
                                          (target,),
                                          birth_date=head.birth_date + SIDES[side]))
        got = _outcome_of(answer)
        if not isinstance(answer, WideAreaIssuanceResponse) or answer.refusal is None:
            return Outcome(Verdict.FAIL, expected, got)
        return Outcome(Verdict.PASS, expected, got)
    return run


# Art. 24-2: the node as former municipality ----------------------------------------------

def _refused_then_certified(node: NodeSut, people: tuple[SyntheticResident, ...],
                            wrong: SpecialMoveInNotice, right: SpecialMoveInNotice,
                            code: ErrorCode, expected: str) -> Outcome:
    """Send ``wrong`` (to be refused with ``code``), then ``right`` (to be accepted and
    certified) on one connection."""
    peer = node.peer_municipality
    conn = node.connect(peer)
    try:
        _, bad = send_special_notice(node, conn, wrong)
        refused = bad["answer"][1] if "answer" in bad else None
        if "cert" in bad:
            node.acknowledge(conn, bad["cert"][1], peer)
        _, good = send_special_notice(node, conn, right)
        accepted = good["answer"][1] if "answer" in good else None
        if "cert" in good:
            node.acknowledge(conn, good["cert"][1], peer)
    finally:
        conn.close()
    got = (f"the wrong notice got {describe(refused) if refused else 'no answer'}"
           + (" and a certificate" if "cert" in bad else "")
           + f"; the right one got {describe(accepted) if accepted else 'no answer'}"
           + (" and a certificate" if "cert" in good else " and no certificate"))
    if "cert" in bad or not is_error(refused, code) or not is_accepted(accepted) \
            or "cert" not in good:
        return Outcome(Verdict.FAIL, expected, got)
    return Outcome(Verdict.PASS, expected, got)


def _spoilt_refused_then_certified(
        node: NodeSut, spoil: Callable[[SpecialMoveInNotice], SpecialMoveInNotice],
        code: ErrorCode, expected: str) -> Outcome:
    """One resident of the node on an annotated move-out: the right notice for it spoilt
    by ``spoil`` refused with ``code``, then the right notice certified."""
    people = registered_household(node)[:1]
    moved = node_today(node) - 2 * DAY
    annotated_move_out(node, people, moved)
    right = special_notice(node, people, moved, moved)
    return _refused_then_certified(node, people, spoil(right), right, code, expected)


def _mover_born(side: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        code = ErrorCode.NO_SUCH_RESIDENT
        expected = (f"a notice naming a mover on file with a birth date one day {side} "
                    f"than the record's refused with {error_text(code)} and no "
                    "certificate; the right notice then certified")
        def spoil(right: SpecialMoveInNotice) -> SpecialMoveInNotice:
            mover = right.movers[0]
            return dataclasses.replace(right, movers=(dataclasses.replace(
                mover, birth_date=mover.birth_date + SIDES[side]),))
        return _spoilt_refused_then_certified(node, spoil, code, expected)
    return run


def _new_municipality(other: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        code = ErrorCode.INVALID_FIELD
        expected = (f"a notice sent by {node.peer_municipality} naming {other} as new "
                    f"municipality refused with {error_text(code)} and no certificate; "
                    "the right notice then certified")
        return _spoilt_refused_then_certified(node, lambda right: dataclasses.replace(
            right, new_municipality=other, new_address=address_of(other)), code, expected)
    return run


def _former_municipality(other: str, held: bool) -> Callable[[AdapterSut], Outcome]:
    """A notice naming ``other`` as former municipality, its mover the node's resident on
    an annotated move-out (``held``) or a person the node does not hold: 3002 either way
    (a node that looks at the movers first answers 5001 for the stranger)."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        code = ErrorCode.WRONG_RECIPIENT
        whom = "its mover on an annotated move-out of the node" if held \
            else "its mover a person the node does not hold"
        expected = (f"a notice naming {other} as former municipality, {whom}, refused "
                    f"with {error_text(code)} and no certificate; the right notice then "
                    "certified")
        def spoil(right: SpecialMoveInNotice) -> SpecialMoveInNotice:
            wrong = dataclasses.replace(right, former_municipality=other)
            if held:
                return wrong
            stranger = generate_households(
                1, f"conformance:beside:{secrets.token_hex(8)}", municipalities=[other]
            )[0].head
            return dataclasses.replace(wrong, movers=(stranger.person_ref(),))
        return _spoilt_refused_then_certified(node, spoil, code, expected)
    return run


# The cases -------------------------------------------------------------------------------

REM_RESIDENCE = ("Refuse a WideAreaIssuanceRequest whose residenceMunicipality is not the "
                 "node itself with 3002 WRONG_RECIPIENT before "
                 "looking at its persons: compare the codes for equality (R-PDU-21, "
                 "R-12-2-2-01).")
REM_MATCH = ("Match a requester or target given with a resident code to the record of that "
             "code only when its name and birth date are the record's, compared for "
             "equality; otherwise no record matches (R-12-2-3-06).")
REM_MOVER = ("Refuse a SpecialMoveInNotice with 5001 NO_SUCH_RESIDENT when a mover's name "
             "and birth date are not those of the record of its resident code, compared "
             "for equality (R-24-2-3-03).")
REM_FORMER = ("Refuse a SpecialMoveInNotice whose formerMunicipality is not the node "
              "itself with 3002 WRONG_RECIPIENT, certifying nothing, before looking at its "
              "movers (held on an annotated move-out or not): compare the codes for "
              "equality (R-PDU-21).")
REM_NEW = ("Refuse a SpecialMoveInNotice whose newMunicipality is not the header's sender "
           "with 1024 INVALID_FIELD: compare the codes for equality (R-PDU-21).")


def beside_cases() -> list[Case]:
    """The cases of this module (a municipality SUT)."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="municipality")
    cases = []
    for label, code in (("below", BELOW), ("above", ABOVE)):
        cases.append(case(
            f"12-2/1/node/wide-area/residence/residence-{label}-recipient-unknown-person-"
            "refused",
            f"a request for a residence municipality sorting {label} the node, for a "
            "person it does not hold, is refused 3002, not answered", "12-2",
            ("R-PDU-21", "R-12-2-2-01"), REM_RESIDENCE, _other_residence(code)))
    for side in SIDES:
        cases.append(case(
            f"12-2/3/node/wide-area/residence/target-born-a-day-{side}-by-code-refused",
            f"a target given by resident code with a birth date a day {side} than the "
            "record's is refused noSuchRecord", "12-2", ("R-12-2-3-06", "R-12-2-3-02"),
            REM_MATCH, _target_born(side)))
        cases.append(case(
            f"12-2/3/node/wide-area/residence/requester-born-a-day-{side}-by-code-refused",
            f"a requester given by resident code with a birth date a day {side} than the "
            "record's gets no copy", "12-2", ("R-12-2-3-06", "R-12-2-3-02"),
            REM_MATCH, _requester_born(side)))
        cases.append(case(
            f"24-2/3/node/special-move/former/mover-born-a-day-{side}-refused",
            f"a notice naming a mover with a birth date a day {side} than the record's "
            "is refused 5001, the right one then certified", "24-2/3",
            ("R-24-2-3-03", "R-NODE-44"), REM_MOVER, _mover_born(side)))
    for label, code in (("below", BELOW), ("above", ABOVE)):
        cases.append(case(
            f"24-2/3/node/special-move/former/new-municipality-{label}-sender-refused",
            f"a notice whose new municipality sorts {label} the header's sender is "
            "refused 1024, the right one then certified", "24-2/3",
            ("R-PDU-21", "R-24-2-3-02"), REM_NEW, _new_municipality(code)))
        for held, whom in ((True, "mover-on-file"), (False, "mover-unknown")):
            cases.append(case(
                f"24-2/3/node/special-move/former/former-municipality-{label}-node-"
                f"{whom}-refused",
                f"a notice whose former municipality sorts {label} the node, naming "
                + ("its resident on file" if held else "a person it does not hold")
                + ", is refused 3002, the right one then certified", "24-2/3",
                ("R-PDU-21", "R-24-2-3-01"), REM_FORMER, _former_municipality(code, held)))
    return cases


__all__ = ["beside_cases"]
