"""Node-mode cases of a municipality given, LATE, a message it handled: the runner plays
the other municipality, lets the flow complete as the flow's own cases do, moves the
node's test clock past its duplicate window (IXIT ``duplicateWindowSeconds``, 24 hours
by default, spec/pdu.md section 5; first past ``retentionSeconds`` when the IXIT
declares it, so that no purge during the long step rebuilds the node's state) and sends:

1. the SAME message again under the same message id (same sender and content). The
   node's duplicate cache may have forgotten the id (R-PDU-24 binds it only within the
   window), but the flow's state has not: the node must still answer it and must not
   act twice. ``duplicate`` with nothing changed is PASS; handled anew consistently with
   the flow (see each case) is ACCEPTABLE; a refusal (9001, 4001...), a closed
   connection or a second effect (another update, another response) is FAIL;
2. past the window again (the repeat stored its id anew), the same message id with
   OTHER content: 2021 REPLAY is PASS; handled as the new message it is (the answer
   the flow gives that content, see each case) is ACCEPTABLE; an acknowledgement
   ``duplicate`` (the other content taken for the first) is FAIL.

The flows: at the former municipality the ordinary MoveInNotice (Art. 9(1), R-MOVE-04),
the SpecialMoveInNotice (Art. 24-2(3), R-24-2-4-01: one certificate per notice
accepted) and the special move's MoveInNotice (Art. 9(1), R-9-1-04: one erasure); at
the residence municipality the WideAreaIssuanceRequest (Art. 12-2(3), R-12-2-3-01: one
response per request accepted) and the family register notice (Art. 9(2), R-9-2-08).
A node that answers a late repeat with an error makes its peer report a refusal for a
flow that went through (R-MOVE-05, R-9-2-09).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe, node_sut, upper_ok
from juki_conformance.cases_node_flows import annotated_move_out, special_notice
from juki_conformance.cases_node_ordinary_move import (
    ELSEWHERE,
    no_update,
    ordinary_notice,
    refs_of,
    send_ordinary,
)
from juki_conformance.flow_steps import (
    address_of,
    as_json,
    is_accepted,
    node_today,
    registered_household,
    settle_updates,
)
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, is_error, past_window
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident
from juki_protocol.messages.common import Address
from juki_protocol.messages.family_register import (
    FamilyRegisterEvent,
    FamilyRegisterItems,
    FamilyRegisterNotice,
)
from juki_protocol.messages.pdu import AckStatus, JukiPdu
from juki_protocol.messages.special_move import (
    FamilyRegister,
    MoveInNotice,
    MoveOutCertificate,
)
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
)

#: How long the runner listens for what must not come (a second response).
QUIET = 1.0


def _status(pdu: JukiPdu | None) -> AckStatus | None:
    return None if pdu is None or pdu.acknowledgement is None \
        else pdu.acknowledgement.status


def _records(node: NodeSut, people: tuple[SyntheticResident, ...]) -> list[tuple[Any, Any]]:
    """The state of each person's record (upper tester ``resident``)."""
    answers = [upper_ok(node, "resident", residentCode=p.resident_code) for p in people]
    return [(a.get("state"), a.get("reason")) for a in answers]


def _holds(node: NodeSut, person: SyntheticResident, items: FamilyRegisterItems) -> bool:
    """Whether the node's record of ``person`` holds ``items`` (``record_items``)."""
    return upper_ok(node, "record_items", residentCode=person.resident_code,
                    items=codec.to_json(items)).get("matches") is True


def _judged(expected: str, same: JukiPdu | None, other: JukiPdu | None, *,
            same_anew: str | None, other_anew: bool, problem: str | None) -> Outcome:
    """The verdict on a late repeat answered ``same`` and the other content under its
    id answered ``other``. ``same_anew``: None when an acceptance of the same message
    was consistent with the flow, else why not; ``other_anew``: whether ``other`` is
    the answer the flow gives that content as a new message; ``problem``: a change or
    a second effect seen (FAIL)."""
    got = f"the same message again: {describe(same)}; its id with other content: " \
          f"{describe(other)}"
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, f"{got}; but {problem}")
    if _status(same) is AckStatus.ACCEPTED and same_anew is not None:
        return Outcome(Verdict.FAIL, expected, f"{got}; served anew, but {same_anew}")
    if _status(same) not in (AckStatus.DUPLICATE, AckStatus.ACCEPTED):
        return Outcome(Verdict.FAIL, expected, got)
    if _status(other) is AckStatus.DUPLICATE or \
            not (is_error(other, ErrorCode.REPLAY) or other_anew):
        return Outcome(Verdict.FAIL, expected, got)
    if _status(same) is AckStatus.DUPLICATE and is_error(other, ErrorCode.REPLAY):
        return Outcome(Verdict.PASS, expected, f"{got}; nothing changed")
    return Outcome(Verdict.ACCEPTABLE, expected, f"{got} (the id forgotten, handled "
                   "anew); nothing changed")


# The ordinary MoveInNotice at the former municipality (Art. 9(1)) ------------------------

def _move_in_notice(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("past the duplicate window, the accepted ordinary MoveInNotice again: "
                "acknowledged duplicate (or accepted: acceptable), never refused; its id "
                f"with other content: {error_text(ErrorCode.REPLAY)} (or "
                f"{error_text(ErrorCode.UNEXPECTED_MESSAGE)}, the answer to a new notice "
                "for a move-out already final: acceptable), never duplicate; no update "
                f"to {node.prefecture}, the records as the first notice left them")
    moved = node_today(node) - dt.timedelta(days=5)
    people = registered_household(node, 1)
    for p in people:
        node.ok("record_move_out", residentCode=p.resident_code,
                destination=as_json(address_of(ELSEWHERE)), date=moved.isoformat())
    settle_updates(node)
    notice = ordinary_notice(node, refs_of(people), moved)
    mid, _, first = send_ordinary(node, notice)
    if not is_accepted(first):
        raise SutFault(f"the first notice got {describe(first)}")
    settle_updates(node)
    before = _records(node, people)
    past_window(node)
    settle_updates(node)
    _, _, same = send_ordinary(node, notice, mid)
    problem = no_update(node)
    past_window(node)      # the id the repeat stored forgotten again
    other = dataclasses.replace(notice, new_address=Address(
        local_gov_code=node.peer_municipality, text="大阪府豊中市岡上の町二丁目1番1号"))
    _, _, replay = send_ordinary(node, other, mid)
    problem = problem or no_update(node)
    if problem is None and _records(node, people) != before:
        problem = "a record changed"
    # Served anew, the same notice finds the move-out already final: an acceptance
    # that changes nothing keeps the flow (R-MOVE-04); the other content is a new
    # notice for a final move-out, 4001 (R-MOVE-03).
    return _judged(expected, same, replay, same_anew=None,
                   other_anew=is_error(replay, ErrorCode.UNEXPECTED_MESSAGE),
                   problem=problem)


# Messages answered by a message (a response, a certificate) ------------------------------

def asked(node: NodeSut, conn: PeerConnection, message: object,
           mid: bytes) -> tuple[JukiPdu | None, object | None]:
    """Send ``message`` under ``mid`` as the runner's municipality: the node's answer
    and the message correlated to it (opened, acknowledged), if one comes (within the
    timeout after an acceptance, :data:`QUIET` seconds after any other answer)."""
    peer = node.peer_municipality
    _, pdu = node.sealed(message, sender=peer, message_id=mid)
    conn.send(pdu)
    answer: JukiPdu | None = None
    response: object | None = None
    deadline = time.monotonic() + node.timeout
    while response is None and (left := deadline - time.monotonic()) > 0:
        try:
            got = conn.read(left)
        except TimeoutError:
            break
        if got is None:
            break
        if got.sealed is not None and got.header.correlation_id == mid:
            response = node.opened(got, peer)
            node.acknowledge(conn, got, peer)
        elif answer is None and mid in (
                got.acknowledgement.acknowledged_id if got.acknowledgement else None,
                got.error_report.refers_to if got.error_report else None):
            answer = got
            if _status(answer) is not AckStatus.ACCEPTED:
                deadline = min(deadline, time.monotonic() + QUIET)
    return answer, response


def _special_move_in_notice(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("past the duplicate window, the certified SpecialMoveInNotice again: "
                "acknowledged duplicate with no second MoveOutCertificate (or accepted "
                "and certified again for the same movers: acceptable), never refused; its "
                f"id with other content: {error_text(ErrorCode.REPLAY)} (or "
                f"{error_text(ErrorCode.UNEXPECTED_MESSAGE)}, or accepted and certified: "
                "acceptable), never duplicate")
    people = registered_household(node, 1)
    today = node_today(node)
    moved = today - dt.timedelta(days=3)
    annotated_move_out(node, people, moved)
    notice = special_notice(node, people, moved, today)
    mid = secrets.token_bytes(16)
    conn = node.connect(node.peer_municipality)
    try:
        answer, cert = asked(node, conn, notice, mid)
    finally:
        conn.close()
    if not is_accepted(answer) or not isinstance(cert, MoveOutCertificate):
        raise SutFault(f"the first notice got {describe(answer)}, then {_what(cert)}")
    codes = sorted(e.resident_code for e in cert.entries)
    past_window(node)
    conn = node.connect(node.peer_municipality)
    try:
        same, again = asked(node, conn, notice, mid)
    finally:
        conn.close()
    past_window(node)      # the id the repeat stored forgotten again
    conn = node.connect(node.peer_municipality)
    try:
        other, certified = asked(node, conn, dataclasses.replace(
            notice, move_in_filed_date=today - dt.timedelta(days=1)), mid)
    finally:
        conn.close()
    problem = _second_effect(same, again, other, certified, "MoveOutCertificate")
    # Served anew, the same notice is certified again for the same movers (R-24-2-4-01);
    # the other content is a new notice for a move-out already certified (4001, as no
    # annotated move-out waits for it) or certified anew.
    anew = None if isinstance(again, MoveOutCertificate) and sorted(
        e.resident_code for e in again.entries) == codes else f"then came {_what(again)}"
    return _judged(expected, same, other, same_anew=anew, other_anew=is_error(
        other, ErrorCode.UNEXPECTED_MESSAGE) or (
        is_accepted(other) and isinstance(certified, MoveOutCertificate)), problem=problem)


def _what(message: object | None) -> str:
    """What came after an answer, without its content (no personal data)."""
    if message is None:
        return "nothing"
    if isinstance(message, WideAreaIssuanceResponse):
        return (f"a response with {len(message.copies)} copies (not the first's)"
                if message.copies is not None else
                f"a response refusing ({message.refusal.value if message.refusal else None})")
    if isinstance(message, MoveOutCertificate):
        return f"a MoveOutCertificate with {len(message.entries)} entries"
    return f"a {type(message).__name__}"


def _finalising_notice(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("past the duplicate window, the accepted MoveInNotice of a special move "
                "again: acknowledged duplicate (or accepted: acceptable), never refused; "
                f"its id with other content: {error_text(ErrorCode.REPLAY)} (or "
                f"{error_text(ErrorCode.UNEXPECTED_MESSAGE)}, the answer to a new notice "
                "for a move-out already final: acceptable), never duplicate; no update "
                f"to {node.prefecture}, the records as the first notice left them")
    settle_updates(node)
    people = registered_household(node, 1)
    today = node_today(node)
    moved = today - dt.timedelta(days=4)
    annotated_move_out(node, people, moved)
    notice = special_notice(node, people, moved, today)
    nid = secrets.token_bytes(16)
    conn = node.connect(node.peer_municipality)
    try:
        answer, cert = asked(node, conn, notice, nid)
    finally:
        conn.close()
    if not is_accepted(answer) or not isinstance(cert, MoveOutCertificate):
        raise SutFault(f"the special notice got {describe(answer)}, then {_what(cert)}")
    move_in = MoveInNotice(new_municipality=node.peer_municipality,
                           former_municipality=node.code, residents=notice.movers,
                           moved_date=moved, recorded_date=today,
                           new_address=notice.new_address)
    mid, first = _send(node, move_in, correlation=nid)
    if not is_accepted(first):
        raise SutFault(f"the MoveInNotice got {describe(first)}")
    settle_updates(node)
    before = _records(node, people)
    past_window(node)
    settle_updates(node)
    _, same = _send(node, move_in, mid, nid)
    problem = no_update(node)
    past_window(node)      # the id the repeat stored forgotten again
    _, other = _send(node, dataclasses.replace(
        move_in, recorded_date=today - dt.timedelta(days=1)), mid, nid)
    problem = problem or no_update(node)
    if problem is None and _records(node, people) != before:
        problem = "a record changed"
    # Served anew, the same notice finds the move-out final: an acceptance that
    # changes nothing keeps the flow (R-9-1-04: one erasure); other content is a new
    # notice for a final move-out, 4001.
    return _judged(expected, same, other, same_anew=None,
                   other_anew=is_error(other, ErrorCode.UNEXPECTED_MESSAGE),
                   problem=problem)


def _second_effect(same: JukiPdu | None, again: object | None, other: JukiPdu | None,
                   served: object | None, what: str) -> str | None:
    """A message that came though its trigger was not accepted (R-12-2-3-01,
    R-24-2-4-01: one per message accepted), or None."""
    if _status(same) is not AckStatus.ACCEPTED and again is not None:
        return f"a {what} came to the repeat not accepted (one per message accepted)"
    if _status(other) is not AckStatus.ACCEPTED and served is not None:
        return f"a {what} came to the other content not accepted"
    return None


# The WideAreaIssuanceRequest at the residence municipality (Art. 12-2(3)) -----------------

def _wide_area_request(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("past the duplicate window, the answered WideAreaIssuanceRequest again: "
                "acknowledged duplicate with no second response (or accepted and answered "
                "again with the same copies: acceptable), never refused; its id with "
                f"other content: {error_text(ErrorCode.REPLAY)} (or accepted and "
                "answered: acceptable), never duplicate")
    head = registered_household(node, 1)[0]
    request = WideAreaIssuanceRequest(
        issuing_municipality=node.peer_municipality, residence_municipality=node.code,
        requester=Requester(resident_code=head.resident_code, name=head.name,
                            birth_date=head.birth_date, address=head.address,
                            identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
        targets=(TargetPerson(name=head.name, birth_date=head.birth_date,
                              resident_code=head.resident_code),),
        include_relationship=False, include_resident_code=False)
    mid = secrets.token_bytes(16)
    conn = node.connect(node.peer_municipality)
    try:
        answer, response = asked(node, conn, request, mid)
    finally:
        conn.close()
    if not is_accepted(answer) or not isinstance(response, WideAreaIssuanceResponse) \
            or response.copies is None:
        raise SutFault(f"the first request got {describe(answer)}, then "
                       f"{type(response).__name__}")
    past_window(node)
    conn = node.connect(node.peer_municipality)
    try:
        same, again = asked(node, conn, request, mid)
    finally:
        conn.close()
    past_window(node)      # the id the repeat stored forgotten again
    conn = node.connect(node.peer_municipality)
    try:
        other, served = asked(node, conn, dataclasses.replace(
            request, include_resident_code=True), mid)
    finally:
        conn.close()
    problem = _second_effect(same, again, other, served, "WideAreaIssuanceResponse")
    # Served anew, the same request is answered with one response holding the same
    # copies (nothing in the register changed); the other content with a response.
    anew = None if isinstance(again, WideAreaIssuanceResponse) and \
        again.copies == response.copies else f"then came {_what(again)}"
    return _judged(expected, same, other, same_anew=anew,
                   other_anew=_status(other) is AckStatus.ACCEPTED and isinstance(
                       served, WideAreaIssuanceResponse),
                   problem=problem)


# The family register notice at the residence municipality (Art. 9(2)) --------------------

def _family_register_notice(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("past the duplicate window, the accepted family register notice again: "
                "acknowledged duplicate (or accepted: acceptable), never refused; its id "
                f"with other content: {error_text(ErrorCode.REPLAY)} (or accepted: "
                "acceptable), never duplicate; no update to "
                f"{node.prefecture}, the record as the first notice left it")
    settle_updates(node)
    person = registered_household(node, 1)[0]
    today = node_today(node)

    def notice(head: str) -> FamilyRegisterNotice:
        return FamilyRegisterNotice(
            register_municipality=node.peer_municipality, residence_municipality=node.code,
            event=FamilyRegisterEvent.DOMICILE_CHANGE,
            event_date=today - dt.timedelta(days=2), entry_date=today,
            person=person.person_ref(), household=None,
            items=FamilyRegisterItems(family_register=FamilyRegister(
                permanent_domicile="大阪府豊中市中桜塚三丁目1番", head_name=head)))
    first, second = (notice(f"豊中\u3000{secrets.token_hex(n)}") for n in (2, 3))
    mid, answer = _send(node, first)
    if not is_accepted(answer):
        raise SutFault(f"the first notice got {describe(answer)}")
    settle_updates(node)
    past_window(node)
    settle_updates(node)
    _, same = _send(node, first, mid)
    problem = no_update(node)
    if problem is None and not _holds(node, person, first.items):
        problem = "the record no longer holds the notice's items"
    past_window(node)      # the id the repeat stored forgotten again
    _, other = _send(node, second, mid)
    problem = problem or no_update(node)
    if problem is None and not _holds(node, person, (
            second if is_accepted(other) else first).items):
        problem = "the record does not hold the items of the notice it took last"
    # Served anew, the same notice applies the items the record already holds: an
    # acceptance that changes nothing; the other content is a new notice, accepted.
    return _judged(expected, same, other, same_anew=None, other_anew=is_accepted(other),
                   problem=problem)


def _send(node: NodeSut, message: object, message_id: bytes | None = None,
          correlation: bytes | None = None) -> tuple[bytes, JukiPdu | None]:
    """Send ``message`` as the runner's municipality on a new connection (under
    ``message_id``, correlated with ``correlation``): its message id and the answer."""
    mid, pdu = node.sealed(message, sender=node.peer_municipality, message_id=message_id,
                           header_changes=None if correlation is None
                           else {"correlation_id": correlation})
    conn = node.connect(node.peer_municipality)
    try:
        conn.send(pdu)
        return mid, conn.answer_to(mid)
    finally:
        conn.close()


# The cases ---------------------------------------------------------------------------------

REM_LATE = ("Keep recognising a message you handled for as long as its flow's state "
            "lasts, also once your duplicate cache forgot its id: the same message again "
            "is acknowledged duplicate and changes and sends nothing (or is handled anew "
            "with the same result); never refuse it (not 9001, not 4001); the same id "
            "with other content is 2021 REPLAY or handled as the new message it is, "
            "never acknowledged as a duplicate (R-PDU-24, {flow}).")


def late_repeat_cases() -> list[Case]:
    """The cases of this module, for a municipality."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...],
             run: Callable[[AdapterSut], Outcome], part: str = "") -> Case:
        return NodeCase(id=f"{clause}{part}/node/late-repeat/{cid}", title=title,
                        clause=clause,
                        requirements=reqs, level="MUST",
                        remediation=REM_LATE.format(flow=", ".join(reqs[1:])),
                        mode="node", ops=(), run=run, role="municipality",
                        needs="ixit.clock")
    return [
        case("move-in-notice", "past the duplicate window, an accepted ordinary "
             "MoveInNotice again is a duplicate (or accepted, changing nothing), other "
             "content under its id 2021 (or 4001)", "9/1",
             ("R-PDU-24", "R-MOVE-04", "R-MOVE-03"), _move_in_notice),
        case("wide-area-request", "past the duplicate window, an answered "
             "WideAreaIssuanceRequest again is a duplicate with no second response (or "
             "served anew alike), other content under its id 2021 (or served)", "12-2",
             ("R-PDU-24", "R-12-2-3-01"), _wide_area_request, "/3"),
        case("special-move-in-notice", "past the duplicate window, a certified "
             "SpecialMoveInNotice again is a duplicate with no second certificate (or "
             "certified anew alike), other content under its id 2021 (or handled anew)",
             "24-2", ("R-PDU-24", "R-24-2-4-01"), _special_move_in_notice, "/3"),
        case("special-move-finalising-notice", "past the duplicate window, the "
             "accepted MoveInNotice of a special move again is a duplicate (or accepted, "
             "changing nothing), other content under its id 2021 (or 4001)", "9/1",
             ("R-PDU-24", "R-9-1-04"), _finalising_notice),
        case("family-register-notice", "past the duplicate window, an accepted family "
             "register notice again is a duplicate (or accepted, changing nothing), "
             "other content under its id 2021 (or accepted)", "9/2",
             ("R-PDU-24", "R-9-2-08"), _family_register_notice),
    ]


__all__ = ["asked", "late_repeat_cases", "past_window"]
