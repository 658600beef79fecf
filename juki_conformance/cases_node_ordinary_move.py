"""Node-mode cases of a municipality in an ordinary move (Art. 9(1), spec/special_move.md
section 4.1), on both sides; :func:`ordinary_move_cases` is part of
:func:`juki_conformance.cases_node_flows.flow_cases`.

* The node as the FORMER municipality: ``record_move_out`` erases the records at the
  counter; the runner sends a MoveInNotice with no correlationId, which the node accepts
  with no second erasure, refuses with the codes of R-MOVE-03 changing nothing, and
  knows again as a duplicate.
* The node as the NEW municipality: ``ordinary_move_in`` records a household of 272035,
  reports each record and sends the uncorrelated MoveInNotice, resent after the retry
  interval until acknowledged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase, describe
from juki_conformance.flow_steps import (
    QUIET,
    Got,
    address_of,
    as_json,
    gather,
    header_problem,
    is_accepted,
    listening,
    node_today,
    peer_household,
    poll_flow,
    registered_household,
    sealed_of,
    seed_with,
    settle_updates,
    updates_reported,
)
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, exchange, is_error, node_sut, upper_ok
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident
from juki_protocol.messages.common import Address, ChangeReason, PersonRef
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.special_move import MoveInNotice

# The node as former municipality --------------------------------------------------------

#: A municipality that is neither the node nor the runner's: the destination a move-out
#: named (the resident moved elsewhere, R-MOVE-02) and the wrong former municipality.
ELSEWHERE = "011002"


def ordinary_notice(node: NodeSut, refs: tuple[PersonRef, ...], moved: dt.date, *,
                     former: str | None = None, new: str | None = None) -> MoveInNotice:
    """An ordinary move's MoveInNotice from the runner's municipality (or ``new``)."""
    to = new or node.peer_municipality
    return MoveInNotice(new_municipality=to, former_municipality=former or node.code,
                        residents=refs, moved_date=moved, recorded_date=node_today(node),
                        new_address=address_of(to))


def refs_of(people: tuple[SyntheticResident, ...]) -> tuple[PersonRef, ...]:
    return tuple(p.person_ref() for p in people)


def send_ordinary(node: NodeSut, notice: MoveInNotice, message_id: bytes | None = None
                   ) -> tuple[bytes, bytes, JukiPdu | None]:
    """Send ``notice`` with no correlationId as the runner's municipality; its message
    id, its PDU and the node's answer."""
    mid, pdu = node.sealed(notice, sender=node.peer_municipality, message_id=message_id)
    return mid, pdu, exchange(node, node.peer_municipality, pdu, mid)


def moved_out(node: NodeSut, minimum: int, moved: dt.date) -> tuple[SyntheticResident, ...]:
    """A fresh household of the node whose move-outs were filed at its counter
    (``record_move_out``, to another municipality than the runner's), each erasure
    acknowledged (preamble)."""
    people = registered_household(node, minimum)
    for p in people:
        node.ok("record_move_out", residentCode=p.resident_code,
                destination=as_json(address_of(ELSEWHERE)), date=moved.isoformat())
    settle_updates(node)
    return people


def no_update(node: NodeSut) -> str | None:
    """None when the node sends its prefecture no update for :data:`QUIET` seconds;
    else what it sent (acknowledged, so that its numbering goes on)."""
    got = gather(listening(node, node.prefecture),
                 {"u": sealed_of(MessageType.IDENTITY_INFO_UPDATE)}, QUIET).get("u")
    if got is None:
        return None
    update = node.opened(got[1], node.prefecture)
    node.acknowledge(got[0], got[1], node.prefecture)
    settle_updates(node)
    if isinstance(update, IdentityInfoUpdate):
        return (f"an IdentityInfoUpdate ({update.operation.value}, "
                f"{update.change_info.change_reason.value}) was sent to {node.prefecture}")
    return f"a {type(update).__name__} was sent to {node.prefecture}"


def _ordinary_accepted(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("an ordinary MoveInNotice (no correlationId) naming residents whose "
                "move-out was filed at the node's counter and their records erased "
                "(moveOut), to another destination than the new municipality, "
                f"acknowledged (accepted), with no second erasure sent to {node.prefecture}")
    moved = node_today(node) - dt.timedelta(days=5)
    people = moved_out(node, 2, moved)
    _, _, answer = send_ordinary(node, ordinary_notice(node, refs_of(people), moved))
    if not is_accepted(answer):
        return Outcome(Verdict.FAIL, expected, f"the notice got {describe(answer)}")
    extra = no_update(node)
    if extra is not None:
        return Outcome(Verdict.FAIL, expected, f"accepted, but {extra}")
    for p in people:
        state = upper_ok(node, "resident", residentCode=p.resident_code)
        if (state.get("state"), state.get("reason")) != ("erased", "moveOut"):
            return Outcome(Verdict.FAIL, expected, f"accepted, but a record is now {state}")
    return Outcome(Verdict.PASS, expected, f"accepted for {len(people)} erased records, "
                   "no update")


def _ordinary_refusals(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    E = ErrorCode
    expected = (f"{error_text(E.WRONG_RECIPIENT)} for another formerMunicipality, "
                f"{error_text(E.INVALID_FIELD)} for a newMunicipality that is not the sender, "
                f"{error_text(E.NO_SUCH_RESIDENT)} for an unknown resident, another name or "
                f"birth date, {error_text(E.RECORD_DECEASED)} for a deceased resident and "
                f"{error_text(E.UNEXPECTED_MESSAGE)} for a current record with no move-out; "
                "nothing erased, no update sent, and the matched residents' notice then "
                "accepted")
    moved = node_today(node) - dt.timedelta(days=5)
    good = refs_of(moved_out(node, 1, moved))
    current = registered_household(node)[0]
    dead = registered_household(node)[0]
    node.ok("record_death", residentCode=dead.resident_code)
    settle_updates(node)
    stranger = peer_household(node)[0]
    head = good[0]
    tries: tuple[tuple[str, ErrorCode, MoveInNotice], ...] = (
        ("another formerMunicipality", E.WRONG_RECIPIENT,
         ordinary_notice(node, good, moved, former=ELSEWHERE)),
        ("a newMunicipality that is not the sender", E.INVALID_FIELD,
         ordinary_notice(node, good, moved, new=ELSEWHERE)),
        ("an unknown resident", E.NO_SUCH_RESIDENT,
         ordinary_notice(node, (*good, stranger.person_ref()), moved)),
        ("another name", E.NO_SUCH_RESIDENT, ordinary_notice(
            node, (dataclasses.replace(head, name=stranger.name),), moved)),
        ("another birth date", E.NO_SUCH_RESIDENT, ordinary_notice(node, (
            dataclasses.replace(head, birth_date=head.birth_date - dt.timedelta(days=1)),),
            moved)),
        ("a deceased resident", E.RECORD_DECEASED,
         ordinary_notice(node, (*good, dead.person_ref()), moved)),
        ("a current record with no move-out", E.UNEXPECTED_MESSAGE,
         ordinary_notice(node, (*good, current.person_ref()), moved)))
    for label, code, notice in tries:
        _, _, answer = send_ordinary(node, notice)
        if not is_error(answer, code):
            settle_updates(node)
            return Outcome(Verdict.FAIL, expected, f"for {label} the notice got "
                           f"{describe(answer)}")
    extra = no_update(node)
    if extra is not None:
        return Outcome(Verdict.FAIL, expected, f"refused each time, but {extra}")
    state = upper_ok(node, "resident", residentCode=current.resident_code)
    if state.get("state") != "current":
        return Outcome(Verdict.FAIL, expected, "refused each time, but the current "
                       f"record is now {state}")
    _, _, answer = send_ordinary(node, ordinary_notice(node, good, moved))
    if not is_accepted(answer):
        return Outcome(Verdict.FAIL, expected, "refused each time, but then the matched "
                       f"residents' own notice got {describe(answer)}")
    extra = no_update(node)
    if extra is not None:
        return Outcome(Verdict.FAIL, expected, f"the matched notice accepted, but {extra}")
    return Outcome(Verdict.PASS, expected, f"{len(tries)} refusals with their codes, "
                   "nothing changed, then accepted")


def _annotated_refused(sut: AdapterSut) -> Outcome:
    """R-MOVE-03: a resident on an annotated move-out of the node, not yet finalised, has
    no ordinary move-out on file: an ordinary notice naming them is 4001 (the notice of a
    special move carries its correlation), and nothing is erased or reported."""
    node = node_sut(sut)
    code = ErrorCode.UNEXPECTED_MESSAGE
    expected = (f"an ordinary MoveInNotice naming residents on an annotated move-out "
                f"that is not final refused with {error_text(code)}; their records stay "
                "current, no update")
    moved = node_today(node)
    people = registered_household(node, 2)
    node.ok("annotated_move_out", movers=[p.resident_code for p in people],
            destination=as_json(address_of(node.peer_municipality)),
            plannedMoveDate=moved.isoformat())
    for named in (people[:1], people):
        _, _, answer = send_ordinary(node, ordinary_notice(node, refs_of(named), moved))
        if not is_error(answer, code):
            return Outcome(Verdict.FAIL, expected, f"a notice naming {len(named)} of them "
                           f"got {describe(answer)}")
    extra = no_update(node)
    if extra is not None:
        return Outcome(Verdict.FAIL, expected, f"refused, but {extra}")
    for p in people:
        state = upper_ok(node, "resident", residentCode=p.resident_code).get("state")
        if state != "current":
            return Outcome(Verdict.FAIL, expected, f"refused, but a record is now {state}")
    return Outcome(Verdict.PASS, expected, "refused 4001 twice; records current, no update")


def _ordinary_duplicate(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("an accepted ordinary MoveInNotice sent again acknowledged as duplicate "
                f"with no update to {node.prefecture}; its message id with other content "
                f"refused with {error_text(ErrorCode.REPLAY)}")
    moved = node_today(node) - dt.timedelta(days=5)
    people = moved_out(node, 1, moved)
    notice = ordinary_notice(node, refs_of(people), moved)
    mid, pdu, first = send_ordinary(node, notice)
    if not is_accepted(first):
        return Outcome(Verdict.FAIL, expected, f"the notice got {describe(first)}")
    settle_updates(node)
    again = exchange(node, node.peer_municipality, pdu, mid)
    if again is None or again.acknowledgement is None or \
            again.acknowledgement.status is not AckStatus.DUPLICATE:
        return Outcome(Verdict.FAIL, expected, f"sent again it got {describe(again)}")
    extra = no_update(node)
    if extra is not None:
        return Outcome(Verdict.FAIL, expected, f"duplicate, but {extra}")
    other = dataclasses.replace(notice, new_address=Address(
        local_gov_code=node.peer_municipality, text="大阪府豊中市岡上の町二丁目1番1号"))
    _, _, replay = send_ordinary(node, other, mid)
    if not is_error(replay, ErrorCode.REPLAY):
        return Outcome(Verdict.FAIL, expected, "duplicate; then the same id with other "
                       f"content got {describe(replay)}")
    extra = no_update(node)
    if extra is not None:
        return Outcome(Verdict.FAIL, expected, f"2021 REPLAY, but {extra}")
    return Outcome(Verdict.PASS, expected, "duplicate, then 2021 REPLAY; no update")


# The node as new municipality -----------------------------------------------------------

def start_ordinary_move_in(node: NodeSut, minimum: int, moved: dt.date
                           ) -> tuple[str, tuple[SyntheticResident, ...]]:
    """Start an ordinary move-in at the node of a fresh household of the runner's
    municipality (``ordinary_move_in``); its notice's message id and the household."""
    peer = node.peer_municipality
    seed, people = seed_with(peer, minimum)
    answer = upper_ok(node, "ordinary_move_in", formerMunicipality=peer, seed=seed,
                      movedDate=moved.isoformat(), newAddress=as_json(address_of(node.code)))
    if answer.get("residentCodes") != [p.resident_code for p in people]:
        raise SutFault("ordinary_move_in did not record the household that "
                       f"generate_households makes from seed {seed!r}")
    return str(answer["messageId"]), people


def ordinary_notice_of(node: NodeSut, mid: str) -> Got | None:
    """The MoveInNotice ``mid`` the node sends to the runner's municipality."""
    return gather(listening(node, node.peer_municipality), {
        "n": sealed_of(MessageType.MOVE_IN_NOTICE, bytes.fromhex(mid))},
        node.timeout).get("n")


def _ordinary_notice_sent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    expected = (f"a MoveInNotice from municipality:{node.code} to municipality:{peer} "
                "with no correlationId, naming both municipalities, the move's date and "
                "each resident with the certificate's resident code, name and birth date; "
                f"one record update (moveIn) per resident to {node.prefecture}; completed "
                "once acknowledged")
    last = settle_updates(node)
    node.drain(peer)
    moved = node_today(node) - dt.timedelta(days=2)
    mid, people = start_ordinary_move_in(node, 2, moved)
    try:
        got = ordinary_notice_of(node, mid)
        if got is None:
            return Outcome(Verdict.FAIL, expected, f"no MoveInNotice {mid[:8]}... reached "
                           f"{peer}")
        conn, pdu = got
        notice = node.opened(pdu, peer)
        # Before the acknowledgement: recorded, not yet completed (spec/node.md 4.7).
        before = upper_ok(node, "move_in_result", messageId=mid)
        node.acknowledge(conn, pdu, peer)
        problem = None if (before.get("outcome"), before.get("state")) == (
            "recorded", "notified") else (f"before the acknowledgement move_in_result "
                                          f"says {before.get('state')!r}, "
                                          f"{before.get('outcome')!r}, not 'notified', "
                                          "'recorded'")
        problem = problem or header_problem(node, pdu, peer)
        if problem is None and pdu.header.correlation_id is not None:
            problem = "the ordinary move's MoveInNotice carries a correlationId"
        want = {p.resident_code: (p.name, p.birth_date) for p in people}
        if problem is None and not (
                isinstance(notice, MoveInNotice)
                and (notice.new_municipality, notice.former_municipality) == (node.code,
                                                                              peer)
                and notice.moved_date == moved
                and {r.resident_code: (r.name, r.birth_date)
                     for r in notice.residents} == want
                and len(notice.residents) == len(want)):
            problem = ("the MoveInNotice does not name the municipalities, the move's date "
                       "or each resident with the certificate's code, name and birth date")
        if problem is None:
            problem = updates_reported(node, people, last + 1, moved,
                                       operation=UpdateOperation.RECORD,
                                       reason=ChangeReason.MOVE_IN, address=address_of(node.code))
        if problem is not None:
            return Outcome(Verdict.FAIL, expected, problem)
        done = poll_flow(node, "move_in_result", mid, "completed")
        if done.get("outcome") != "completed":
            return Outcome(Verdict.FAIL, expected,
                           f"after the acknowledgement the outcome is {done.get('outcome')!r}")
    finally:
        settle_updates(node)
    return Outcome(Verdict.PASS, expected, f"notice with {len(people)} residents, "
                   f"updates {last + 1}..{last + len(people)} record, moveIn")


def _ordinary_notice_resent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    retry = node.retry_interval
    expected = (f"the unanswered MoveInNotice sent again to {peer} after the retry "
                f"interval ({retry:g} s) under the same message id and with the same "
                "content; completed once acknowledged")
    settle_updates(node)
    node.drain(peer)
    mid, _ = start_ordinary_move_in(node, 1, node_today(node) - dt.timedelta(days=1))
    first = ordinary_notice_of(node, mid)
    if first is None:
        settle_updates(node)
        return Outcome(Verdict.FAIL, expected, f"no MoveInNotice {mid[:8]}... reached {peer}")
    conn, pdu = first
    again: Got | None = None
    try:
        settle_updates(node)
        node.clock_advance(retry + 1)
        again = ordinary_notice_of(node, mid)
        if again is None:
            return Outcome(Verdict.FAIL, expected, f"not sent again {retry + 1:g} s after "
                           "the first, unanswered")
        if node.opened(again[1], peer) != node.opened(pdu, peer) or \
                again[1].header.correlation_id != pdu.header.correlation_id:
            return Outcome(Verdict.FAIL, expected, "sent again with other content")
    finally:
        last_conn, last_pdu = again if again is not None else (conn, pdu)
        node.acknowledge(last_conn, last_pdu, peer)
        settle_updates(node)
    done = poll_flow(node, "move_in_result", mid, "completed")
    if done.get("outcome") != "completed":
        return Outcome(Verdict.FAIL, expected,
                       f"after the acknowledgement the outcome is {done.get('outcome')!r}")
    return Outcome(Verdict.PASS, expected, "sent again under the same id, then completed")


# The cases ------------------------------------------------------------------------------

REM_ORDINARY_FORMER = (
    "Take a MoveInNotice without a correlationId as an ordinary move's: match each "
    "resident by resident code, name and birth date to a move-out filed at your counter "
    "or a record you erased for it (whatever destination the move-out named), and "
    "acknowledge it, erasing and reporting only records still current (R-MOVE-02, "
    "R-9-1-04).")
REM_ORDINARY_REFUSE = (
    "Check the whole ordinary MoveInNotice before changing anything: refuse another "
    "formerMunicipality (3002), a newMunicipality that is not the sender (1024), an "
    "unknown resident or one whose name or birth date differ (5001), a deceased "
    "resident (5003) and a current record with no move-out on file (4001), erasing "
    "nothing and reporting nothing (R-MOVE-03).")
REM_ORDINARY_DUP = (
    "Keep the message id and digest of an accepted ordinary MoveInNotice: the same "
    "notice again is acknowledged duplicate and changes and reports nothing; the same "
    "id with other content is 2021 REPLAY (R-MOVE-04, R-PDU-24).")
REM_ORDINARY_NEW = (
    "On recording an ordinary move-in, report each new record (record, moveIn) and send "
    "the former municipality a MoveInNotice with no correlationId, each resident with "
    "the certificate's resident code and the new record's name and birth date "
    "(R-MOVE-01, R-MOVE-05, R-9-1-01).")
REM_ORDINARY_RESEND = (
    "Keep the ordinary MoveInNotice until it is acknowledged or refused, and resend it "
    "under the same message id with the same content whenever the retry interval "
    "passes (R-MOVE-05, R-PDU-23).")


def ordinary_move_cases() -> list[Case]:
    """The cases of the municipality as former and new municipality of an ordinary
    move."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="municipality", needs=needs)
    return [
        case("9/1/node/ordinary-move/former/erased-records-matched",
             "an ordinary MoveInNotice for residents whose move-out was filed at the "
             "counter and their records erased is accepted with no second erasure",
             "9/1", ("R-MOVE-02", "R-9-1-04"), REM_ORDINARY_FORMER, _ordinary_accepted),
        case("9/1/node/ordinary-move/former/refusals-change-nothing",
             "an ordinary MoveInNotice for another municipality, from another sender, for "
             "an unknown, mismatched, deceased or current resident is refused with its "
             "code, erasing and reporting nothing", "9/1", ("R-MOVE-03", "R-MOVE-02"),
             REM_ORDINARY_REFUSE, _ordinary_refusals),
        case("9/1/node/ordinary-move/former/annotated-move-out-refused",
             "an ordinary MoveInNotice naming residents on an annotated move-out that is "
             "not final is refused 4001, erasing and reporting nothing", "9/1",
             ("R-MOVE-03",), REM_ORDINARY_REFUSE, _annotated_refused),
        case("9/1/node/ordinary-move/former/duplicate-and-replay",
             "an accepted ordinary MoveInNotice sent again is acknowledged duplicate with "
             "no update; its id with other content is 2021", "9/1",
             ("R-MOVE-04", "R-PDU-24"), REM_ORDINARY_DUP, _ordinary_duplicate),
        case("9/1/node/ordinary-move/new/notice-without-correlation",
             "an ordinary move-in sends the former municipality a MoveInNotice with no "
             "correlationId naming the residents, and reports each record (moveIn)",
             "9/1", ("R-MOVE-01", "R-MOVE-05", "R-9-1-01", "R-NODE-43"), REM_ORDINARY_NEW,
             _ordinary_notice_sent),
        case("9/1/node/ordinary-move/new/notice-resent-until-acknowledged",
             "an unanswered ordinary MoveInNotice is sent again under the same message id "
             "after the retry interval", "9/1", ("R-MOVE-05", "R-PDU-23"),
             REM_ORDINARY_RESEND, _ordinary_notice_resent, needs="ixit.clock"),
    ]


__all__ = ["ELSEWHERE", "moved_out", "no_update", "ordinary_move_cases", "ordinary_notice",
           "ordinary_notice_of", "refs_of", "send_ordinary", "start_ordinary_move_in"]
