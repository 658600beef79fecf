"""Node-mode cases on notices under new message ids beside an answered one: a second
special move-in notice for movers already certified (Art. 24-2(3)-(4); spec/special_move.md
R-24-2-3-03, R-24-2-3-04), and notices of other persons in the same flow (Arts. 24-2,
9(1); R-24-2-4-01, R-MOVE-02, R-PDU-24).

One notice answers one annotated move-out: once the former municipality accepted a
notice and sent its certificate, the move-out no longer waits for a notice. Another
notice for the same movers under a NEW message id is a new message, not a repeat: it is
refused 4001 UNEXPECTED_MESSAGE and gets no second certificate; it is neither a
duplicate (that is the same id) nor a replay (2021 is the same id with other content).
The runner sends two, one under an id below the first notice's and one above, so that a
node that tells repeats from new messages by comparing ids in order, not by equality,
fails on one side.

The same holds for notices of OTHER persons: after a notice was answered, a special
move-in notice for another household's annotated move-out, and an ordinary move-in
notice for other residents who moved out, each under an id below and one above the
first, are new notices: each is accepted (and each special notice certified for its own
movers), none taken as a repeat of the first.

And the reason of an erasure: a resident whose name a family register notice changed
(a correction, reason ``nameChange``) and who then moved out by the special procedure
is erased for the move-out: ``resident`` answers reason ``moveOut``, not the reason of
the earlier correction (spec/node.md section 4.1, ``resident``; R-9-1-04).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

from juki_conformance.cases_node import NodeCase, describe, node_sut, upper_ok
from juki_conformance.cases_node_flows import annotated_move_out, special_notice
from juki_conformance.cases_node_late_repeats import asked
from juki_conformance.cases_node_ordinary_move import (
    moved_out,
    ordinary_notice,
    refs_of,
    send_ordinary,
)
from juki_conformance.flow_steps import (
    is_accepted,
    node_today,
    registered_household,
    settle_updates,
)
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, exchange, is_error
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.common import PersonName
from juki_protocol.messages.family_register import (
    FamilyRegisterEvent,
    FamilyRegisterItems,
    FamilyRegisterNotice,
)
from juki_protocol.messages.pdu import JukiPdu
from juki_protocol.messages.special_move import (
    FamilyRegister,
    MoveInNotice,
    MoveOutCertificate,
    SpecialMoveInNotice,
)


def _sent(node: NodeSut, conn: PeerConnection, notice: SpecialMoveInNotice,
          mid: bytes) -> tuple[JukiPdu | None, MoveOutCertificate | None]:
    """Send ``notice`` under ``mid``: the node's answer to it and the certificate it
    sends for it, if one comes (:func:`asked` of the late-repeat cases)."""
    answer, got = asked(node, conn, notice, mid)
    return answer, got if isinstance(got, MoveOutCertificate) else None


def _ids_around(mid: bytes) -> tuple[bytes, bytes]:
    """Two fresh message ids, one below ``mid`` and one above it (as octets)."""
    value = int.from_bytes(mid, "big")
    below = secrets.randbelow(value) if value else None
    above = value + 1 + secrets.randbelow((1 << 128) - value - 1) \
        if value < (1 << 128) - 1 else None
    if below is None or above is None:
        raise SutFault("the first notice's id leaves no id on one side")
    return below.to_bytes(16, "big"), above.to_bytes(16, "big")


def _second_notice(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    code = ErrorCode.UNEXPECTED_MESSAGE
    expected = ("a notice accepted and certified; the same notice again under a new "
                f"message id below the first, and under one above it: each refused "
                f"{error_text(code)}, with no second certificate")
    people = registered_household(node, 1)
    today = node_today(node)
    moved = today - dt.timedelta(days=3)
    annotated_move_out(node, people, moved)
    notice = special_notice(node, people, moved, today)
    first = _middle_id()
    conn = node.connect(node.peer_municipality)
    try:
        answer, cert = _sent(node, conn, notice, first)
        if not is_accepted(answer) or cert is None:
            raise SutFault(f"the first notice got {describe(answer)}"
                           + ("" if cert else ", and no certificate"))
        for side, mid in zip(("below", "above"), _ids_around(first), strict=True):
            answer, again = _sent(node, conn, notice, mid)
            if again is not None:
                return Outcome(Verdict.FAIL, expected, f"under a new id {side} the "
                               f"first, the notice got {describe(answer)} and a second "
                               "certificate")
            if not is_error(answer, code):
                return Outcome(Verdict.FAIL, expected, f"under a new id {side} the "
                               f"first, the notice got {describe(answer)}")
    finally:
        conn.close()
    return Outcome(Verdict.PASS, expected, "refused under both new ids, no second "
                   "certificate")


def _middle_id() -> bytes:
    """A fresh message id away from both ends, so that ids exist on both sides of it."""
    return ((1 << 126) + secrets.randbelow(1 << 127)).to_bytes(16, "big")


def _other_movers(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("three households' annotated move-outs; a notice for the first accepted "
                "and certified, then notices for the second under an id above the "
                "first's and for the third under one below it: each accepted and "
                "certified for its own movers")
    today = node_today(node)
    moved = today - dt.timedelta(days=3)
    homes = [registered_household(node, 1) for _ in range(3)]
    for people in homes:
        annotated_move_out(node, people, moved)
    first = _middle_id()
    ids = (first, *reversed(_ids_around(first)))
    conn = node.connect(node.peer_municipality)
    try:
        for n, (people, mid) in enumerate(zip(homes, ids, strict=True)):
            answer, cert = _sent(node, conn, special_notice(node, people, moved, today),
                                 mid)
            which = ("the first notice", "the notice under an id above the first's",
                     "the notice under an id below the first's")[n]
            if not is_accepted(answer) or cert is None:
                return Outcome(Verdict.FAIL, expected, f"{which} got {describe(answer)}"
                               + ("" if cert else ", and no certificate"))
            if sorted(e.resident_code for e in cert.entries) != sorted(
                    p.resident_code for p in people):
                return Outcome(Verdict.FAIL, expected, f"the certificate of {which} "
                               "does not name its own movers")
    finally:
        conn.close()
    return Outcome(Verdict.PASS, expected, "three notices accepted, each certified for "
                   "its movers")


def _other_residents(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("three households moved out at the counter; an ordinary MoveInNotice for "
                "the first accepted, then notices for the second under an id above the "
                "first's and for the third under one below it: each accepted, not a "
                "duplicate")
    moved = node_today(node) - dt.timedelta(days=2)
    homes = [moved_out(node, 1, moved) for _ in range(3)]
    first = _middle_id()
    for n, (people, mid) in enumerate(zip(homes, (first, *reversed(_ids_around(first))),
                                          strict=True)):
        _, _, answer = send_ordinary(node, ordinary_notice(node, refs_of(people), moved),
                                     mid)
        if not is_accepted(answer):
            which = ("the first notice", "the notice under an id above the first's",
                     "the notice under an id below the first's")[n]
            return Outcome(Verdict.FAIL, expected, f"{which} got {describe(answer)}")
    return Outcome(Verdict.PASS, expected, "three notices accepted")


def _erased_for_the_move(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a resident renamed by a family register notice (marriage: a correction, "
                "nameChange), then moved out by the special procedure and the move "
                "finalised: resident answers state erased, reason moveOut")
    person = registered_household(node, 1)[0]
    today = node_today(node)
    name = PersonName(kanji=f"豊中\u3000{person.name.kanji.split(chr(0x3000))[-1]}")
    renamed = FamilyRegisterNotice(
        register_municipality=node.peer_municipality, residence_municipality=node.code,
        event=FamilyRegisterEvent.MARRIAGE, event_date=today - dt.timedelta(days=6),
        entry_date=today - dt.timedelta(days=5), person=person.person_ref(),
        household=None, items=FamilyRegisterItems(name=name, family_register=FamilyRegister(
            permanent_domicile="大阪府豊中市中桜塚三丁目1番", head_name=name.kanji)))
    mid, pdu = node.sealed(renamed, sender=node.peer_municipality)
    answer = exchange(node, node.peer_municipality, pdu, mid)
    if not is_accepted(answer):
        raise SutFault(f"the family register notice got {describe(answer)}")
    settle_updates(node)
    moved = today - dt.timedelta(days=3)
    annotated_move_out(node, (person,), moved)
    notice = dataclasses.replace(special_notice(node, (person,), moved, today), movers=(
        dataclasses.replace(person.person_ref(), name=name),))
    nid = _middle_id()
    conn = node.connect(node.peer_municipality)
    try:
        answer, cert = _sent(node, conn, notice, nid)
    finally:
        conn.close()
    if not is_accepted(answer) or cert is None:
        raise SutFault(f"the special notice got {describe(answer)}"
                       + ("" if cert else ", and no certificate"))
    final = MoveInNotice(new_municipality=node.peer_municipality,
                         former_municipality=node.code, residents=notice.movers,
                         moved_date=moved, recorded_date=today,
                         new_address=notice.new_address)
    mid, pdu = node.sealed(final, sender=node.peer_municipality,
                           header_changes={"correlation_id": nid})
    answer = exchange(node, node.peer_municipality, pdu, mid)
    if not is_accepted(answer):
        raise SutFault(f"the MoveInNotice got {describe(answer)}")
    settle_updates(node)
    got = upper_ok(node, "resident", residentCode=person.resident_code)
    if (got.get("state"), got.get("reason")) != ("erased", "moveOut"):
        return Outcome(Verdict.FAIL, expected, f"resident answered state "
                       f"{got.get('state')!r}, reason {got.get('reason')!r}")
    return Outcome(Verdict.PASS, expected, "erased, reason moveOut")


REM_SECOND = ("Take a special move-in notice under a message id other than the one "
              "answered as a new notice: once an annotated move-out is certified it "
              "waits for no notice, so refuse another for its movers with 4001 "
              "UNEXPECTED_MESSAGE and send no certificate; keep 2021 REPLAY for the same "
              "id with other content (R-24-2-3-03, R-24-2-3-04, R-PDU-24).")


REM_OTHERS = ("Tell a repeat from a new message by its message id being EQUAL to one "
              "answered, never by order or any other comparison: route a notice under "
              "a new id to the move-out or move it names, and accept each household's "
              "own notice (R-PDU-24, R-24-2-4-01, R-MOVE-02).")


REM_REASON = ("Record the reason of a record's erasure with the erasure itself (a "
              "move-out, a death), and nothing for a correction of a current record; "
              "answer resident with the reason of the erasure (spec/node.md 4.1).")


def second_notice_cases() -> list[Case]:
    """The cases of this module, for a municipality."""
    return [NodeCase(
        id="24-2/4/node/special-move/former/notices-of-three-move-outs-either-side",
        title="notices for three households' move-outs, under ids above and below the "
              "first's, are each accepted and certified for their own movers",
        clause="24-2", requirements=("R-24-2-4-01", "R-PDU-24"), level="MUST",
        remediation=REM_OTHERS, mode="node", ops=(), run=_other_movers,
        role="municipality"), NodeCase(
        id="9/1/node/ordinary-move/former/notices-of-three-moves-either-side",
        title="ordinary move-in notices for three households, under ids above and below "
              "the first's, are each accepted",
        clause="9/1", requirements=("R-MOVE-02", "R-PDU-24"), level="MUST",
        remediation=REM_OTHERS, mode="node", ops=(), run=_other_residents,
        role="municipality"), NodeCase(
        id="24-2/4/node/special-move/former/erasure-reason-after-a-renaming",
        title="a resident renamed by a family register notice, then moved out by the "
              "special procedure, is erased for the move-out (reason moveOut)",
        clause="24-2", requirements=("R-9-1-04", "R-NODE-09"), level="MUST",
        remediation=REM_REASON, mode="node", ops=(), run=_erased_for_the_move,
        role="municipality"), NodeCase(
        id="24-2/3/node/special-move/former/second-notice-for-certified-movers-refused",
        title="a second notice for movers already certified, under a new id below or "
              "above the first, is refused 4001 with no second certificate",
        clause="24-2", requirements=("R-24-2-3-03", "R-24-2-3-04"), level="MUST",
        remediation=REM_SECOND, mode="node", ops=(), run=_second_notice,
        role="municipality")]


__all__ = ["second_notice_cases"]
