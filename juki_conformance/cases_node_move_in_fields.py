"""Node-mode cases on the municipality fields and message ids of move-in notices at
the former municipality (Arts. 9(1), 24-2; spec/special_move.md R-MOVE-03, R-9-1-03;
spec/pdu.md R-PDU-21), for every side of every comparison.

A municipality SUT (271004) is the former municipality; the runner is the new one
(272035), and plays a third municipality (131016) where a case needs one.

- The finalising ``MoveInNotice`` of a special move (correlated with the special move-in
  notice): one naming another former municipality, whose code sorts below the node's or
  above it, is refused 3002 (R-PDU-21); one sent by the third
  municipality but naming the flow's new municipality is refused 1024 (R-PDU-21); after
  each the flow is intact and the right notice is accepted.
- Ordinary ``MoveInNotice`` s (no correlation) with other former or new municipalities,
  sorting above both peers (the suite's other case uses one below): 3002 and 1024.
- Two ordinary notices of different residents in a row, the second's message id sorting
  above the first's, or below: each is a notice of its own, accepted, its residents
  matched (never taken as a resend of the other).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase, describe, node_sut, upper_ok
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import Address
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.special_move import MoveInNotice, SpecialMoveInNotice

#: Valid municipality codes other than the SUT (271004) and the runner (272035): one
#: sorting below both, one above both; THIRD is a municipality the runner can play.
BELOW, ABOVE, THIRD = "011002", "401005", "131016"
#: Where the residents of an ordinary move-out went (not the runner: R-MOVE-02).
ELSEWHERE = "011002"
ADDRESS = {"272035": "大阪府豊中市中桜塚三丁目1番1号"}
REMEDIATION = (
    "Compare a MoveInNotice's formerMunicipality with the node's own code and its "
    "newMunicipality with the header sender (and, in a special move, with the flow's new "
    "municipality) for equality: refuse another former municipality with 3002 "
    "WRONG_RECIPIENT (in a special move too) and another new one with 1024 "
    "INVALID_FIELD, changing nothing; tell notices apart by their message ids, compared "
    "for equality (R-MOVE-03, R-9-1-03, R-PDU-21).")


def _today(node: NodeSut) -> dt.date:
    return node.clock_now().date() if node.offers("clock") else dt.date.today()


def _address(code: str) -> Address:
    return Address(local_gov_code=code, text=ADDRESS.get(code, "大阪府内"))


def _settle(node: NodeSut) -> None:
    """Acknowledge the updates the node sends its prefecture until none is open."""
    deadline = time.monotonic() + node.timeout
    while (upper_ok(node, "status").get("updates") or {}).get("unacknowledged"):
        got = node.sent_to_peer(0.2, peer=node.prefecture)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        if time.monotonic() > deadline:
            raise SutFault("updates stay unacknowledged")


def _registered(node: NodeSut) -> tuple[SyntheticResident, ...]:
    seed = f"conformance:move-in:{secrets.token_hex(8)}"
    upper_ok(node, "register_resident", seed=seed)
    return generate_households(1, seed, municipalities=[node.code])[0].members[:1]


def _answer(conn: PeerConnection, mid: bytes, timeout: float) -> JukiPdu | None:
    try:
        return conn.answer_to(mid, timeout)
    except SutFault:
        return None


def _code_of(pdu: JukiPdu | None) -> int | None:
    return None if pdu is None or pdu.error_report is None else pdu.error_report.error_code


def _accepted(pdu: JukiPdu | None) -> bool:
    return pdu is not None and pdu.acknowledgement is not None \
        and pdu.acknowledgement.status is AckStatus.ACCEPTED


def _special_flow(node: NodeSut, conn: PeerConnection, people: tuple[SyntheticResident, ...],
                  moved: dt.date) -> bytes:
    """The preamble of a special move: the annotated move-out on file, the runner's
    SpecialMoveInNotice accepted and its MoveOutCertificate acknowledged; the notice's
    message id (the flow's correlation)."""
    peer = node.peer_municipality
    upper_ok(node, "annotated_move_out", movers=[p.resident_code for p in people],
        destination=codec.to_json(_address(peer)), plannedMoveDate=moved.isoformat())
    notice = SpecialMoveInNotice(
        new_municipality=peer, former_municipality=node.code,
        movers=tuple(p.person_ref() for p in people), moved_date=moved,
        move_in_filed_date=_today(node), new_address=_address(peer))
    mid, pdu = node.sealed(notice, sender=peer)
    conn.send(pdu)
    deadline = time.monotonic() + node.timeout
    acked = certified = False
    while not (acked and certified) and (left := deadline - time.monotonic()) > 0:
        try:
            got = conn.read(left)
        except TimeoutError:
            break
        if got is None:
            break
        if got.acknowledgement is not None and got.acknowledgement.acknowledged_id == mid:
            acked = True
        elif got.error_report is not None and got.error_report.refers_to == mid:
            raise SutFault(f"the special move-in notice got {describe(got)}")
        elif got.sealed is not None \
                and got.header.message_type is MessageType.MOVE_OUT_CERTIFICATE:
            node.acknowledge(conn, got, peer)
            certified = True
    if not (acked and certified):
        raise SutFault("the special move-in notice was not acknowledged and certified")
    return mid


def _finalising(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    expected = ("finalising MoveInNotices naming another former municipality (below and "
                "above the node's code) refused 3002, one sent by a third "
                "municipality refused 1024; then the right one accepted")
    people = _registered(node)
    moved = _today(node) - dt.timedelta(days=3)

    def notice(former: str, new: str) -> MoveInNotice:
        return MoveInNotice(new_municipality=new, former_municipality=former,
                            residents=tuple(p.person_ref() for p in people),
                            moved_date=moved, recorded_date=_today(node),
                            new_address=_address(peer))
    conn = node.connect(peer)
    try:
        flow = _special_flow(node, conn, people, moved)
        wrong: list[tuple[str, str, MoveInNotice, tuple[int, ...]]] = [
            (f"formerMunicipality {code}", peer, notice(code, peer),
             (int(ErrorCode.WRONG_RECIPIENT),))
            for code in (BELOW, ABOVE)]
        wrong.append((f"sent by {THIRD}", THIRD, notice(node.code, peer),
                      (int(ErrorCode.INVALID_FIELD),)))
        for label, sender, message, codes in wrong:
            mid, pdu = node.sealed(message, sender=sender,
                                   header_changes={"correlation_id": flow})
            if sender == peer:
                conn.send(pdu)
                answer = _answer(conn, mid, node.timeout)
            else:
                other = node.connect(sender)
                try:
                    other.send(pdu)
                    answer = _answer(other, mid, node.timeout)
                finally:
                    other.close()
            if _code_of(answer) not in codes:
                return Outcome(Verdict.FAIL, expected,
                               f"the notice with {label} got {describe(answer)}")
        mid, pdu = node.sealed(notice(node.code, peer), sender=peer,
                               header_changes={"correlation_id": flow})
        conn.send(pdu)
        answer = _answer(conn, mid, node.timeout)
    finally:
        conn.close()
        _settle(node)
    if not _accepted(answer):
        return Outcome(Verdict.FAIL, expected,
                       f"refused as expected, but then the right notice got {describe(answer)}")
    return Outcome(Verdict.PASS, expected, "three refusals, then accepted")


def _moved_out(node: NodeSut, moved: dt.date) -> tuple[SyntheticResident, ...]:
    people = _registered(node)
    for p in people:
        upper_ok(node, "record_move_out", residentCode=p.resident_code,
            destination=codec.to_json(_address(ELSEWHERE)), date=moved.isoformat())
    _settle(node)
    return people


def _ordinary(node: NodeSut, people: tuple[SyntheticResident, ...], moved: dt.date, *,
              former: str | None = None, new: str | None = None) -> MoveInNotice:
    to = new or node.peer_municipality
    return MoveInNotice(new_municipality=to, former_municipality=former or node.code,
                        residents=tuple(p.person_ref() for p in people), moved_date=moved,
                        recorded_date=_today(node), new_address=_address(to))


def _send(node: NodeSut, notice: MoveInNotice, message_id: bytes | None = None
          ) -> JukiPdu | None:
    peer = node.peer_municipality
    mid, pdu = node.sealed(notice, sender=peer, message_id=message_id)
    conn = node.connect(peer)
    try:
        conn.send(pdu)
        return _answer(conn, mid, node.timeout)
    finally:
        conn.close()


def _ordinary_fields(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"an ordinary notice naming formerMunicipality {ABOVE} refused 3002, one "
                f"naming newMunicipality {ABOVE} refused 1024; then the right one accepted")
    moved = _today(node) - dt.timedelta(days=5)
    people = _moved_out(node, moved)
    for label, notice, code in (
            ("formerMunicipality", _ordinary(node, people, moved, former=ABOVE),
             ErrorCode.WRONG_RECIPIENT),
            ("newMunicipality", _ordinary(node, people, moved, new=ABOVE),
             ErrorCode.INVALID_FIELD)):
        answer = _send(node, notice)
        if _code_of(answer) != int(code):
            _settle(node)
            return Outcome(Verdict.FAIL, expected,
                           f"the notice naming {label} {ABOVE} got {describe(answer)}")
    answer = _send(node, _ordinary(node, people, moved))
    _settle(node)
    if not _accepted(answer):
        return Outcome(Verdict.FAIL, expected, f"the right notice got {describe(answer)}")
    return Outcome(Verdict.PASS, expected, "3002 and 1024, then accepted")


def _two_notices(second_above: bool) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        side = "above" if second_above else "below"
        expected = (f"two ordinary notices of different residents, the second's message "
                    f"id sorting {side} the first's: each accepted, each one's residents "
                    "erased as moved out")
        moved = _today(node) - dt.timedelta(days=5)
        first, second = _moved_out(node, moved), _moved_out(node, moved)
        low, high = b"\x10" + secrets.token_bytes(15), b"\xe0" + secrets.token_bytes(15)
        ids = (low, high) if second_above else (high, low)
        answers = [_send(node, _ordinary(node, people, moved), message_id=mid)
                   for people, mid in zip((first, second), ids, strict=True)]
        _settle(node)
        for i, answer in enumerate(answers, 1):
            if not _accepted(answer):
                return Outcome(Verdict.FAIL, expected,
                               f"notice {i} got {describe(answer)}")
        return Outcome(Verdict.PASS, expected, "both accepted")
    return run


def move_in_field_cases() -> list[Case]:
    """The cases of this module (a municipality SUT)."""
    def case(cid: str, title: str, reqs: tuple[str, ...],
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause="9/1", requirements=reqs,
                        level="MUST", remediation=REMEDIATION, mode="node", ops=(),
                        run=run, role="municipality")
    return [
        case("9/1/node/special-move/former/finalising-notice-fields",
             "finalising MoveInNotices with another former municipality (either side) "
             "or from a third municipality are refused; the right one accepted",
             ("R-PDU-21", "R-9-1-03"), _finalising),
        case("9/1/node/ordinary-move/former/municipality-fields-above",
             "ordinary notices naming a former or new municipality whose code sorts "
             "above both peers are refused 3002 and 1024", ("R-MOVE-03",),
             _ordinary_fields),
        case("9/1/node/ordinary-move/former/second-notice-id-above",
             "a second ordinary notice whose message id sorts above the first's is a "
             "notice of its own", ("R-MOVE-02", "R-PDU-24"), _two_notices(True)),
        case("9/1/node/ordinary-move/former/second-notice-id-below",
             "a second ordinary notice whose message id sorts below the first's is a "
             "notice of its own", ("R-MOVE-02", "R-PDU-24"), _two_notices(False)),
    ]


__all__ = ["move_in_field_cases"]
