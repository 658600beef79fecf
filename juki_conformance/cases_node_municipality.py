"""Node-mode test cases for a municipality: the runner plays the other municipality
(Art. 12-2) and the prefecture (Art. 30-5) over mutual TLS and drives the node's
counter and card terminal through the upper tester (spec/node.md section 4).

Residents come from the upper tester's ``register_resident``, whose household is the
one :func:`juki_protocol.fixtures.synth.generate_households` makes from the seed for the node's
code (spec/node.md section 4.1): the runner regenerates it to know every item the
node holds. Every case uses fresh residents and cards and reads the update numbering
from ``status``, so the cases need no reset and may run in any order or alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, exchange, is_error, node_sut
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import Address, PersonRef, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.special_move import MoveInNotice, SpecialMoveInNotice
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
    WideAreaRefusal,
)

PIN, WRONG_PIN = "4321", "9999"
#: A municipality that is neither the node nor the peer the runner plays.
OTHER_PEER = "131016"


def _ok(answer: dict[str, Any], op: str) -> dict[str, Any]:
    if not answer.get("ok"):
        raise SutFault(f"upper tester {op} failed: {answer.get('error')}")
    return answer


def _household(node: NodeSut) -> tuple[SyntheticResident, ...]:
    """Register a fresh synthetic household in the node; its members, as generated."""
    seed = f"conformance:{secrets.token_hex(8)}"
    answer = _ok(node.request("register_resident", seed=seed), "register_resident")
    members = generate_households(1, seed, municipalities=[node.code])[0].members
    if answer.get("residentCodes") != [m.resident_code for m in members]:
        raise SutFault("register_resident did not register the household that "
                       f"generate_households makes from seed {seed!r}")
    return members


def _stranger(node: NodeSut) -> SyntheticResident:
    """A synthetic resident of the node's municipality that it does not hold."""
    return generate_households(1, f"conformance:absent:{secrets.token_hex(8)}",
                               municipalities=[node.code])[0].head


# Art. 12-2: wide-area issuance ------------------------------------------------------------

def _request(node: NodeSut, applicant: SyntheticResident,
             targets: tuple[SyntheticResident, ...]) -> WideAreaIssuanceRequest:
    return WideAreaIssuanceRequest(
        issuing_municipality=node.peer_municipality, residence_municipality=node.code,
        requester=Requester(resident_code=applicant.resident_code, name=applicant.name,
                            birth_date=applicant.birth_date, address=applicant.address,
                            identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
        targets=tuple(TargetPerson(name=t.name, birth_date=t.birth_date)
                      for t in targets),
        include_relationship=True, include_resident_code=False)


def _wide_area_answer(node: NodeSut, request: WideAreaIssuanceRequest
                      ) -> tuple[WideAreaIssuanceResponse | None, int, str]:
    """Send ``request``; (the response, its unknown extension count, "") or (None, 0,
    what came instead). The response is acknowledged."""
    peer = node.peer_municipality
    mid, pdu = node.sealed(request, sender=peer)
    conn = node.connect(peer)
    acked = False
    try:
        conn.send(pdu)
        deadline = time.monotonic() + node.timeout
        while True:
            try:
                got = conn.read(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return None, 0, (f"no response within {node.timeout:g} s"
                                 + ("" if acked else " and no acknowledgement"))
            if got is None:
                return None, 0, "the connection closed without a response"
            if got.acknowledgement is not None \
                    and got.acknowledgement.acknowledged_id == mid:
                acked = got.acknowledgement.status is AckStatus.ACCEPTED
                continue
            if got.error_report is not None and got.error_report.refers_to == mid:
                return None, 0, f"{describe(got)} instead of a response"
            if got.sealed is None or got.header.correlation_id != mid:
                continue
            if got.header.message_type is not MessageType.WIDE_AREA_ISSUANCE_RESPONSE:
                return None, 0, (f"a {got.header.message_type.value} instead of a "
                                 "wideAreaIssuanceResponse")
            decoded = node.opened_full(got, peer)
            node.acknowledge(conn, got, peer)
            if not acked:          # R-PDU-22: the acknowledgement may follow
                try:
                    answer = conn.answer_to(mid, max(0.0, deadline - time.monotonic()))
                except SutFault:
                    answer = None
                if answer is None or answer.acknowledgement is None \
                        or answer.acknowledgement.status is not AckStatus.ACCEPTED:
                    return None, 0, (f"a response, but the request got {describe(answer)}"
                                     " instead of an acknowledgement")
            assert isinstance(decoded.message, WideAreaIssuanceResponse)
            return decoded.message, decoded.unknown_extensions, ""
    finally:
        conn.close()


def _copy_without_family_register(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("the request acknowledged, then a response correlated with it holding "
                "one copy per target in order, with the eight items only (relationship "
                "as requested, no resident code) and no other element: no family register")
    members = _household(node)
    targets = members[:2]
    response, unknown, problem = _wide_area_answer(node, _request(node, members[0],
                                                                  targets))
    if response is None:
        return Outcome(Verdict.FAIL, expected, problem)
    if unknown:
        return Outcome(Verdict.FAIL, expected,
                       f"the response carries {unknown} element(s) outside the schema of "
                       "Art. 12-2(3), such as the family register",
                       "decoded with unknown extension additions counted (R-DER-08)")
    if response.copies is None:
        return Outcome(Verdict.FAIL, expected, f"a refusal ({response.refusal})")
    if (response.residence_municipality, response.issuing_municipality) != (
            node.code, node.peer_municipality):
        return Outcome(Verdict.FAIL, expected, "the response names other municipalities")
    want = tuple(t.record_copy(include_relationship=True) for t in targets)
    if response.copies != want:
        wrong = [i for i, (a, b) in enumerate(zip(response.copies, want, strict=False))
                 if a != b]
        return Outcome(Verdict.FAIL, expected,
                       f"{len(response.copies)} copies for {len(want)} targets"
                       + (f"; copy {wrong[0]} differs from the record" if wrong else ""))
    return Outcome(Verdict.PASS, expected, f"{len(want)} copies of the eight items only")


def _unknown_resident(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    refusal = WideAreaRefusal.NO_SUCH_RECORD
    expected = (f"a response refusing with {refusal.value} ({error_text(refusal.error_code)}), "
                "no copy")
    person = _stranger(node)
    response, _, problem = _wide_area_answer(node, _request(node, person, (person,)))
    if response is None:
        return Outcome(Verdict.FAIL, expected, problem)
    if response.copies is not None:
        return Outcome(Verdict.FAIL, expected, f"{len(response.copies)} copies issued")
    got = f"refusal {response.refusal.value if response.refusal else None}"
    return Outcome(Verdict.PASS if response.refusal is refusal else Verdict.FAIL,
                   expected, got)


# The resident card --------------------------------------------------------------------------

def _card(node: NodeSut) -> str:
    head = _household(node)[0]
    return str(_ok(node.request("card_issue", residentCode=head.resident_code, pin=PIN),
                   "card_issue")["serial"])


def _verify(node: NodeSut, serial: str, pin: str) -> dict[str, Any]:
    return _ok(node.request("card_verify", serial=serial, pin=pin), "card_verify")


def _pins(node: NodeSut, serial: str, steps: list[tuple[str, str, bool]]) -> str | None:
    """Present ``(pin, expected status word, expected confirmation)`` in turn; None if
    every answer was as expected, else the first that was not."""
    for i, (pin, sw, confirmed) in enumerate(steps, 1):
        got = _verify(node, serial, pin)
        if str(got.get("sw", "")).upper() != sw or bool(got.get("confirmed")) != confirmed:
            kind = "right" if pin == PIN else "wrong"
            return (f"PIN {i} ({kind}) answered {got.get('sw')}, confirmed "
                    f"{got.get('confirmed')}; expected {sw}, confirmed {confirmed}")
    return None


LOCK = [(WRONG_PIN, "63C2", False), (WRONG_PIN, "63C1", False), (WRONG_PIN, "63C0", False)]


def _three_wrong_lock(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "wrong PINs answered 63C2, 63C1, 63C0; then the right PIN 6983, refused"
    problem = _pins(node, _card(node), [*LOCK, (PIN, "6983", False)])
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "locked at the third wrong PIN")


def _unlock_by_municipality(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a locked card: the holder's reset refused and the card still locked "
                "(6983); the municipality's reset 9000, then the right PIN confirmed")
    serial = _card(node)
    problem = _pins(node, serial, LOCK)
    if problem:
        return Outcome(Verdict.FAIL, expected, f"locking first: {problem}")
    holder = _ok(node.request("card_unlock", serial=serial, by="holder"), "card_unlock")
    if holder.get("sw") == "9000":
        return Outcome(Verdict.FAIL, expected, "the holder's reset answered 9000")
    problem = _pins(node, serial, [(PIN, "6983", False)])
    if problem:
        return Outcome(Verdict.FAIL, expected, f"after the holder's reset: {problem}")
    city = _ok(node.request("card_unlock", serial=serial, by="municipality"),
               "card_unlock")
    if city.get("sw") != "9000":
        return Outcome(Verdict.FAIL, expected,
                       f"the municipality's reset answered {city.get('sw')}")
    problem = _pins(node, serial, [(PIN, "9000", True)])
    if problem:
        return Outcome(Verdict.FAIL, expected, f"after the municipality's reset: {problem}")
    return Outcome(Verdict.PASS, expected, "only the municipality's reset unlocked")


def _right_pin_resets(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "63C2, 63C1, then the right PIN 9000 (confirmed) and a wrong one 63C2"
    problem = _pins(node, _card(node), [LOCK[0], LOCK[1], (PIN, "9000", True), LOCK[0]])
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "the right PIN reset the count")


# Art. 30-5: identity info updates sent ---------------------------------------------------

def _updates(node: NodeSut) -> dict[str, Any]:
    status = _ok(node.request("status"), "status")
    updates = status.get("updates")
    if not isinstance(updates, dict):
        raise SutFault("status has no updates object")
    return updates


def _settled(node: NodeSut) -> int:
    """The node's last update number once it has nothing unacknowledged (the runner
    acknowledges what a case before left unanswered)."""
    deadline = time.monotonic() + node.timeout
    while True:
        updates = _updates(node)
        if not updates.get("unacknowledged"):
            return int(updates.get("lastSequence", 0))
        got = node.sent_to_peer(0.2)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        if time.monotonic() > deadline:
            raise SutFault(f"{updates.get('unacknowledged')} update(s) stay unacknowledged")


def _next_update(node: NodeSut, what: str
                 ) -> tuple[PeerConnection, JukiPdu, IdentityInfoUpdate] | str:
    """The next update the node sends to its prefecture, opened; or what went wrong."""
    got = node.sent_to_peer()
    if got is None:
        return f"no {what} within {node.timeout:g} s"
    conn, pdu = got
    if pdu.sealed is None or pdu.header.message_type is not MessageType.IDENTITY_INFO_UPDATE:
        return f"{describe(pdu)} instead of the {what}"
    if pdu.header.sender.code != node.code or pdu.header.recipient.code != node.prefecture:
        return (f"the {what} went from {pdu.header.sender} to {pdu.header.recipient}, not "
                f"from {node.code} to its prefecture {node.prefecture}")
    message = node.opened(pdu, node.prefecture)
    if not isinstance(message, IdentityInfoUpdate):
        return f"a {type(message).__name__} instead of the {what}"
    return conn, pdu, message


def _record(node: NodeSut, resident: SyntheticResident) -> dict[str, Any]:
    return _ok(node.request("record_change", residentCode=resident.resident_code,
                            reason="moveIn"), "record_change")


def _check_update(node: NodeSut, update: IdentityInfoUpdate, pdu: JukiPdu,
                  resident: SyntheticResident, seq: int, op: dict[str, Any]) -> str | None:
    if update.update_sequence != seq or op.get("updateSequence") != seq:
        return (f"numbered {update.update_sequence} (record_change said "
                f"{op.get('updateSequence')}), not {seq}")
    if pdu.header.message_id.hex() != op.get("messageId"):
        return "its message id is not the one record_change reported"
    if update.municipality != node.code or update.operation is not UpdateOperation.RECORD \
            or update.identity_info != resident.identity_info(Profile.CURRENT):
        return "its municipality, operation or identity info is not the recorded resident's"
    return None


def _sent_in_order(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("two recorded changes reported to the prefecture as updates m + 1 and "
                "m + 2 with the recorded identity info; nothing unacknowledged after the "
                "acknowledgements")
    last = _settled(node)
    members = _household(node)
    if len(members) < 2:
        members += _household(node)
    for i, resident in enumerate(members[:2]):
        seq = last + 1 + i
        op = _record(node, resident)
        got = _next_update(node, f"update {seq}")
        if isinstance(got, str):
            return Outcome(Verdict.FAIL, expected, got)
        conn, pdu, update = got
        problem = _check_update(node, update, pdu, resident, seq, op)
        if problem:
            return Outcome(Verdict.FAIL, expected, f"update {i + 1}: {problem}")
        node.acknowledge(conn, pdu, node.prefecture)
    if _settled(node) != last + 2:
        return Outcome(Verdict.FAIL, expected, "status lastSequence is not m + 2")
    return Outcome(Verdict.PASS, expected, f"updates {last + 1} and {last + 2} in order")


def _resent_after(code: ErrorCode) -> Callable[[AdapterSut], Outcome]:
    """A case: the runner, as the prefecture, answers the node's update with ``code``;
    the node must resend that update with the same message id and content."""
    def run(sut: AdapterSut) -> Outcome:
        return _resent(sut, code)
    return run


def _resent(sut: AdapterSut, code: ErrorCode) -> Outcome:
    node = node_sut(sut)
    expected = (f"after {error_text(code)} the same update resent with the same message id and "
                "content")
    last = _settled(node)
    resident = _household(node)[0]
    op = _record(node, resident)
    got = _next_update(node, "update")
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    conn, pdu, update = got
    problem = _check_update(node, update, pdu, resident, last + 1, op)
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    node.report_error(conn, pdu, node.prefecture, int(code))
    again = _next_update(node, "resent update")
    if isinstance(again, str):
        return Outcome(Verdict.FAIL, expected, again)
    conn, pdu2, update2 = again
    node.acknowledge(conn, pdu2, node.prefecture)
    if pdu2.header.message_id != pdu.header.message_id:
        return Outcome(Verdict.FAIL, expected, "resent with another message id")
    if update2 != update:
        return Outcome(Verdict.FAIL, expected, "resent with other content")
    return Outcome(Verdict.PASS, expected, "resent unchanged")


REM_WIDE_AREA = ("Answer each accepted request with one WideAreaIssuanceResponse "
                 "correlated with it: a copy per target in the targets' order made of the "
                 "eight items of Art. 12-2(3) only (relationship and resident code only "
                 "when requested), never the family register or any other element, not "
                 "even as an extension (spec/wide_area.md section 3).")
REM_CARD = ("Count consecutive wrong PINs on the card: answer 63Cx with the tries left, "
            "block VERIFY (6983) after the third, reset the count on a right PIN, and let "
            "only the municipality's administration key reset a blocked card "
            "(spec/node.md section 4.2).")
REM_UPDATES = ("Number the updates to the prefecture 1, 2, 3... with no gap, one per "
               "recorded change, with the identity info after the change; resend the "
               "first unacknowledged one with the same message id and content after 4004 "
               "or when its retry timer fires (R-30-5-0-05, R-PDU-23).")


# Refusals of municipality-to-municipality messages (Arts. 9, 12-2, 24-2) ------------------

def _refused(node: NodeSut, message: object, code: ErrorCode, *,
             correlation_id: bytes | None = None) -> Outcome:
    """Send ``message`` from the peer municipality; the node must answer ``code``
    referring to it, send nothing else and change nothing it reports."""
    expected = f"{error_text(code)} referring to the message; nothing changed"
    peer = node.peer_municipality
    before = node.status()
    mid, pdu = node.sealed(message, sender=peer, header_changes={
        "correlation_id": correlation_id} if correlation_id else None)
    answer = exchange(node, peer, pdu, mid)
    got = describe(answer)
    if not is_error(answer, code):
        return Outcome(Verdict.FAIL, expected, got)
    after = node.status()
    before, after = ({k: v for k, v in x.items() if k != "id"} for x in (before, after))
    if after != before:
        return Outcome(Verdict.FAIL, expected, f"{got}, but the status changed",
                       f"before {before}, after {after}")
    return Outcome(Verdict.PASS, expected, got)


def _refs(people: tuple[SyntheticResident, ...]) -> tuple[PersonRef, ...]:
    return tuple(PersonRef(resident_code=p.resident_code, name=p.name,
                           birth_date=p.birth_date) for p in people)


def _issuer_not_sender(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    head = _household(node)[0]
    request = dataclasses.replace(_request(node, head, (head,)),
                                  issuing_municipality=OTHER_PEER)
    return _refused(node, request, ErrorCode.INVALID_FIELD)


def _special_move_in(node: NodeSut, movers: tuple[SyntheticResident, ...]
                     ) -> SpecialMoveInNotice:
    moved = dt.date.today() - dt.timedelta(days=2)
    return SpecialMoveInNotice(
        new_municipality=node.peer_municipality, former_municipality=node.code,
        movers=_refs(movers), moved_date=moved, move_in_filed_date=moved,
        new_address=Address(local_gov_code=node.peer_municipality,
                            text="大阪府堺市堺区南瓦町3番1号"))


def _move_in_unknown_flow(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    people = _household(node)[:1]
    moved = dt.date.today() - dt.timedelta(days=3)
    notice = MoveInNotice(
        new_municipality=node.peer_municipality, former_municipality=node.code,
        residents=_refs(people), moved_date=moved, recorded_date=moved,
        new_address=Address(local_gov_code=node.peer_municipality,
                            text="大阪府堺市堺区南瓦町3番1号"))
    return _refused(node, notice, ErrorCode.UNKNOWN_CORRELATION,
                    correlation_id=secrets.token_bytes(16))


def _special_no_such_resident(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    return _refused(node, _special_move_in(node, (_stranger(node),)),
                    ErrorCode.NO_SUCH_RESIDENT)


def _special_without_annotated_move_out(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    return _refused(node, _special_move_in(node, _household(node)[:1]),
                    ErrorCode.UNEXPECTED_MESSAGE)


def municipality_cases() -> list[Case]:
    """Every node-mode case for a municipality."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="municipality")
    return [
        case("12-2/node/wide-area/copy-without-family-register",
             "a wide-area request for two household members gets their copies with the "
             "eight items only, no family register", "12-2",
             ("R-12-2-3-01", "R-12-2-3-02", "R-12-2-3-03", "R-12-2-3-04", "R-PDU-22"),
             REM_WIDE_AREA, _copy_without_family_register),
        case("12-2/node/wide-area/unknown-resident-refused",
             "a wide-area request for a person not in the register is refused with "
             "noSuchRecord (5001)", "12-2", ("R-12-2-3-01", "R-12-2-3-06"),
             "Refuse a target that no record matches with noSuchRecord in the response "
             "(R-12-2-3-06); issue no copy.", _unknown_resident),
        case("card/node/pin/three-wrong-pins-lock",
             "three consecutive wrong PINs lock the card; the right PIN is then refused",
             "card", ("R-CARD-01", "R-24-2-1-01"), REM_CARD, _three_wrong_lock),
        case("card/node/pin/unlock-only-by-municipality",
             "a locked card stays locked after the holder's reset and is unlocked by the "
             "municipality's", "card", ("R-CARD-02", "R-CARD-01"), REM_CARD,
             _unlock_by_municipality),
        case("card/node/pin/right-pin-resets-count",
             "a right PIN after two wrong ones resets the count", "card", ("R-CARD-01",),
             REM_CARD, _right_pin_resets),
        case("30-5/node/update/sent-numbered-in-order",
             "recorded changes are reported to the prefecture as consecutive updates",
             "30-5", ("R-30-5-0-01", "R-30-5-0-02", "R-30-5-0-05", "R-NODE-10"),
             REM_UPDATES, _sent_in_order),
        case("30-5/node/update/resent-after-out-of-order",
             "an update answered with 4004 is resent with the same message id and content",
             "30-5", ("R-30-5-0-05", "R-PDU-23"), REM_UPDATES,
             _resent_after(ErrorCode.OUT_OF_ORDER)),
        case("30-5/node/update/resent-after-overloaded",
             "an update answered with 9002 (the prefecture sheds load) is resent later "
             "with the same message id and content", "30-5", ("R-30-5-0-10", "R-PDU-23"),
             "Treat 9001, 9002 and 9003 as 'retry later': keep the update and resend it "
             "with the same message id and content after a back-off, instead of stopping "
             "the flow (R-30-5-0-10).", _resent_after(ErrorCode.OVERLOADED)),
        case("12-2/node/wide-area/issuing-municipality-not-sender",
             "a wide-area request whose issuing municipality is not its sender is refused "
             "with 1024", "12-2", ("R-PDU-21", "R-12-2-2-01"),
             "Check that the municipality fields of a municipality-to-municipality message "
             "name the header's sender and recipient; refuse it with 1024 INVALID_FIELD.",
             _issuer_not_sender),
        case("9/1/node/move-in/unknown-correlation",
             "a move-in notice that refers to no open flow is refused with 4002", "9/1",
             ("R-9-1-03", "R-PDU-18"),
             "Accept a MoveInNotice only as part of a flow the node opened (its "
             "correlationId is the message id of that flow's first message); refuse any "
             "other with 4002 UNKNOWN_CORRELATION and change nothing.",
             _move_in_unknown_flow),
        case("24-2/3/node/special-move/no-such-resident",
             "a special move-in notice for a person not in the register is refused with "
             "5001", "24-2/3", ("R-24-2-3-03",),
             "Refuse a SpecialMoveInNotice with 5001 NO_SUCH_RESIDENT when a mover has no "
             "record in the register.", _special_no_such_resident),
        case("24-2/3/node/special-move/no-annotated-move-out",
             "a special move-in notice for a resident without an annotated move-out is "
             "refused with 4001", "24-2/3", ("R-24-2-3-03",),
             "Refuse a SpecialMoveInNotice with 4001 UNEXPECTED_MESSAGE when a mover has "
             "a record but no annotated move-out on file; record nothing.",
             _special_without_annotated_move_out),
    ]


__all__ = ["municipality_cases"]

