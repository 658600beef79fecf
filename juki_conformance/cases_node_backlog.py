"""Node-mode cases from the second pass over the mutation backlog (issue 12,
benchmarks/mutation/missing-cases.txt): answers that a node must judge against what it
asked or holds, each checked on the side a comparison by order instead of equality
misses.

- A prefecture whose relay the centre refuses for now (9002, R-30-5-0-10) keeps the
  relay, answers nothing (R-PDU-25), and sends it again with the same message id and
  content by its retry interval; acknowledged, nothing stays open.
- An agency whose query by resident code [A, B] is answered with A twice, with B
  before A, or with a person not asked for refuses each answer with 1024 and keeps the
  request pending; the right answer then completes it (R-30-7-3-09, R-30-7-3-25).
- A former municipality holding two annotated move-outs, of A and of B, refuses a
  special move-in notice naming both as movers (1024, R-24-2-3-04) and certifies
  nothing; a notice naming A alone is then certified as usual.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import time
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase, describe, node_sut, upper_ok
from juki_conformance.cases_node_retention import settle_relays
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import next_relay
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import Address, ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import (
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.provision import ProvidedIdentity, ProvisionResponse
from juki_protocol.messages.special_move import MoveInNotice, SpecialMoveInNotice

MUNICIPALITY, NATIONAL, PREFECTURE = "271004", "DC01", "270008"
#: A resend sooner than this after a transient refusal had no back-off (R-TIME-03: 1 s).
MIN_BACKOFF = 0.5
#: A schedule 1 purpose of the agency AG0001 (spec/tables/schedule_1.json).
OWN_PURPOSE = "S1-KENCHIKUSHI"
ADDRESS = {"272035": "大阪府豊中市中桜塚三丁目1番1号"}


def _accepted(pdu: JukiPdu | None) -> bool:
    return pdu is not None and pdu.acknowledgement is not None \
        and pdu.acknowledgement.status is AckStatus.ACCEPTED


def _code_of(pdu: JukiPdu | None) -> int | None:
    return None if pdu is None or pdu.error_report is None else pdu.error_report.error_code


# R-30-5-0-10 for relays: a transient refusal keeps the relay ------------------------------

def _update(node: NodeSut) -> IdentityInfoUpdate:
    """The next ``record`` update of a fresh synthetic resident of the municipality."""
    last = int((node.status().get("lastSequence") or {}).get(MUNICIPALITY, 0))
    person = generate_households(1, f"conformance:backlog:{secrets.token_hex(8)}",
                                 municipalities=[MUNICIPALITY])[0].head
    return IdentityInfoUpdate(
        municipality=MUNICIPALITY, update_sequence=last + 1,
        operation=UpdateOperation.RECORD, identity_info=person.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                               change_date=person.birth_date))




def _audit_head(node: NodeSut) -> int:
    """The number of the node's last audit entry (0 when the log is empty)."""
    head = 0
    while rows := node.audit_log(after=head):
        head = max(int(r.get("seq", 0)) for r in rows)
        if len(rows) < 1000:
            break
    return head


def _relay_kept_after_transient(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"the relay refused with 9002 not answered, not sent again within "
                f"{MIN_BACKOFF:g} s (a back-off) but by the retry interval, with the same "
                "message id and content; the error report in the audit log; once "
                "acknowledged, nothing left unacknowledged")
    settle_relays(node)
    node.drain(NATIONAL)
    update = _update(node)
    mid, pdu = node.sealed(update, sender=MUNICIPALITY)
    conn = node.connect(MUNICIPALITY)
    try:
        conn.send(pdu)
        answer = conn.answer_to(mid)
    finally:
        conn.close()
    if not _accepted(answer):
        raise Inconclusive(f"the update the relay is to carry got {describe(answer)}")
    first = next_relay(node, node.timeout, update)
    if first is None:
        return Outcome(Verdict.FAIL, expected, "no relay of the applied update reached "
                       "the centre (R-30-11)")
    relay_conn, relay_pdu, relay = first
    head = _audit_head(node)
    node.report_error(relay_conn, relay_pdu, NATIONAL, int(ErrorCode.OVERLOADED))
    refused_at = time.monotonic()
    early = node.sent_to_peer(MIN_BACKOFF, peer=NATIONAL)
    if early is not None:
        if early[1].sealed is not None:
            node.acknowledge(early[0], early[1], NATIONAL)
            settle_relays(node)
            return Outcome(Verdict.FAIL, expected, f"sent again after "
                           f"{time.monotonic() - refused_at:.2f} s, with no back-off")
        return Outcome(Verdict.FAIL, expected, f"the error report was answered with "
                       f"{describe(early[1])} (R-PDU-25)")
    node.clock_advance(node.retry_interval + 1)
    again = next_relay(node, node.timeout, update)
    if again is None:
        return Outcome(Verdict.FAIL, expected, f"the relay was not sent again once the "
                       f"clock passed the retry interval ({node.retry_interval:g} s)")
    node.acknowledge(again[0], again[1], NATIONAL)
    if again[1].header.message_id != relay_pdu.header.message_id or again[2] != relay:
        return Outcome(Verdict.FAIL, expected, "the relay was sent again under another "
                       "message id or with other content (R-PDU-23)")
    deadline = time.monotonic() + node.timeout
    while (node.status().get("relays") or {}).get("unacknowledged"):
        if time.monotonic() > deadline:
            return Outcome(Verdict.FAIL, expected, "the relay, acknowledged after its "
                           "resend, is still unacknowledged in the node's status")
        time.sleep(0.1)
    logged = [r for r in node.audit_log(after=head)
              if r.get("direction") == "received" and r.get("peer") == NATIONAL
              and r.get("messageType") == "errorReport" and "9002" in str(r.get("result"))]
    if not logged:
        return Outcome(Verdict.FAIL, expected, "backed off and resent unchanged, but the "
                       "audit log has no entry of the error report received (R-NODE-06)")
    return Outcome(Verdict.PASS, expected, "not answered, backed off, resent with the "
                   "same id and content, acknowledged; the report in the audit log")


# R-30-7-3-09, R-30-7-3-25: the agency checks the answer against its query ------------------

def _persons(count: int) -> tuple[SyntheticResident, ...]:
    seed = f"conformance:backlog:agency:{secrets.token_hex(8)}"
    return tuple(h.head for h in generate_households(count, seed,
                                                     municipalities=[MUNICIPALITY]))


def _provided(persons: tuple[SyntheticResident, ...]) -> ProvisionResponse:
    return ProvisionResponse(provided=tuple(
        ProvidedIdentity(identity_info=p.identity_info(Profile.CURRENT),
                         change_info=ChangeInfo(change_reason=ChangeReason.MOVE_IN,
                                                change_date=p.resident_since))
        for p in persons))


def _operator(node: NodeSut) -> str:
    declared = node.ixit.get("operator")
    return str(declared["id"]) if isinstance(declared, dict) else "conformance-op-1"


def _requested(node: NodeSut, persons: tuple[SyntheticResident, ...]
               ) -> tuple[str, PeerConnection, JukiPdu]:
    """The agency asks the prefecture about ``persons`` (acknowledged by the runner):
    the upper tester's message id (hex), the connection and the request's PDU."""
    node.drain()
    mid = str(node.ok("provision_request", provider=PREFECTURE, purposeCode=OWN_PURPOSE,
                      operatorId=_operator(node),
                      byResidentCode=[p.resident_code for p in persons])["messageId"])
    deadline = time.monotonic() + node.timeout
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left, peer=PREFECTURE)
        if got is None:
            break
        conn, pdu = got
        if pdu.sealed is not None and pdu.header.message_id.hex() == mid:
            node.acknowledge(conn, pdu, PREFECTURE)
            return mid, conn, pdu
    raise SutFault(f"no provision request {mid[:8]}... reached {PREFECTURE}")


def _respond(node: NodeSut, conn: PeerConnection, request: JukiPdu,
             response: ProvisionResponse) -> JukiPdu | None:
    rid, pdu = node.sealed(response, sender=PREFECTURE,
                           header_changes={"correlation_id": request.header.message_id})
    conn.send(pdu)
    return conn.answer_to(rid)


def _response_checked(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("to a query by the codes of A and B: answers providing A twice then B, B "
                "before A, A with a person not asked for, and a person not asked for "
                "before A or before B each refused 1024 INVALID_FIELD, the request still "
                "pending; the answer A, B then acknowledged and recorded as provided "
                "with 2 persons")
    a, b, stranger = _persons(3)
    mid, conn, request = _requested(node, (a, b))
    try:
        for label, wrong in (("A twice, then B", (a, a, b)), ("B before A", (b, a)),
                             ("A and a person not asked for", (a, stranger)),
                             ("a person not asked for, then A", (stranger, a)),
                             ("a person not asked for, then B", (stranger, b))):
            answer = _respond(node, conn, request, _provided(wrong))
            outcome = upper_ok(node, "provision_result", messageId=mid).get("outcome")
            if _code_of(answer) != int(ErrorCode.INVALID_FIELD) or outcome != "pending":
                return Outcome(Verdict.FAIL, expected, f"the answer providing {label} got "
                               f"{describe(answer)}; then the request was {outcome!r}")
        answer = _respond(node, conn, request, _provided((a, b)))
    finally:
        conn.close()
    final = upper_ok(node, "provision_result", messageId=mid)
    got = (f"five refusals; the right answer got {describe(answer)}, then "
           f"{final.get('outcome')!r} with {final.get('persons')} person(s)")
    if not _accepted(answer) or final.get("outcome") != "provided" \
            or final.get("persons") != 2:
        return Outcome(Verdict.FAIL, expected, got)
    return Outcome(Verdict.PASS, expected, got)


# R-24-2-3-04: one notice answers one annotated move-out --------------------------------------

def _today(node: NodeSut) -> dt.date:
    return node.clock_now().date() if node.offers("clock") else dt.date.today()


def _address(code: str) -> Address:
    return Address(local_gov_code=code, text=ADDRESS.get(code, "大阪府内"))


def _resident(node: NodeSut) -> SyntheticResident:
    seed = f"conformance:backlog:move:{secrets.token_hex(8)}"
    upper_ok(node, "register_resident", seed=seed)
    return generate_households(1, seed, municipalities=[node.code])[0].head


def _settle(node: NodeSut) -> None:
    """Acknowledge the updates the node sends its prefecture until none is open."""
    deadline = time.monotonic() + node.timeout
    while (upper_ok(node, "status").get("updates") or {}).get("unacknowledged"):
        got = node.sent_to_peer(0.2, peer=node.prefecture)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        if time.monotonic() > deadline:
            raise SutFault("updates stay unacknowledged")


def _answers(conn: PeerConnection, node: NodeSut, mid: bytes, seconds: float
             ) -> tuple[JukiPdu | None, list[JukiPdu]]:
    """What comes on ``conn`` for ``seconds``: the answer to ``mid`` and the sealed
    messages (acknowledged as the peer)."""
    answer, sealed = None, []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            got = conn.read(left)
        except TimeoutError:
            break
        if got is None:
            break
        if (got.acknowledgement is not None and got.acknowledgement.acknowledged_id == mid) \
                or (got.error_report is not None and got.error_report.refers_to == mid):
            answer = got
        elif got.sealed is not None:
            node.acknowledge(conn, got, node.peer_municipality)
            sealed.append(got)
    return answer, sealed


def _move_out_notices(sut: AdapterSut, *, joint: bool) -> Outcome:
    """R-24-2-3-04 and R-24-2-1-03: A and B leave on annotated move-outs of their own
    (``joint=False``) or on one together (``joint=True``). A notice whose movers are not
    exactly one move-out's persons (A and B in the first run, A alone in the second) is
    refused 1024 and certifies nothing; the notice naming one move-out's persons (A
    alone, or A and B) is then certified with one certificate of that many entries and
    finalised."""
    node = node_sut(sut)
    peer = node.peer_municipality
    a, b = _resident(node), _resident(node)
    refused, certified = ((a,), (a, b)) if joint else ((a, b), (a,))
    names = {1: "A alone", 2: "A and B"}
    expected = (f"a SpecialMoveInNotice naming {names[len(refused)]}, "
                + ("of the annotated move-out of A and B" if joint
                   else "each on an annotated move-out of their own")
                + f", refused 1024 INVALID_FIELD with no certificate; then the notice "
                f"naming {names[len(certified)]} accepted with one certificate of "
                f"{len(certified)} entries, and finalised")
    moved = _today(node) - dt.timedelta(days=3)
    for group in ([a, b],) if joint else ([a], [b]):
        upper_ok(node, "annotated_move_out", movers=[p.resident_code for p in group],
                 destination=codec.to_json(_address(peer)), plannedMoveDate=moved.isoformat())

    def notice(people: tuple[SyntheticResident, ...]) -> SpecialMoveInNotice:
        return SpecialMoveInNotice(
            new_municipality=peer, former_municipality=node.code,
            movers=tuple(p.person_ref() for p in people), moved_date=moved,
            move_in_filed_date=_today(node), new_address=_address(peer))
    node.drain(peer)
    conn = node.connect(peer)
    try:
        mid, pdu = node.sealed(notice(refused), sender=peer)
        conn.send(pdu)
        answer, sealed = _answers(conn, node, mid, min(node.timeout, 3.0))
        if _code_of(answer) != int(ErrorCode.INVALID_FIELD) or sealed:
            return Outcome(Verdict.FAIL, expected, f"the notice naming "
                           f"{names[len(refused)]} got {describe(answer)}"
                           + (f", and {len(sealed)} sealed message(s) followed"
                              if sealed else ""))
        mid, pdu = node.sealed(notice(certified), sender=peer)
        conn.send(pdu)
        answer, sealed = _answers(conn, node, mid, min(node.timeout, 3.0))
        certificates = [s for s in sealed
                        if s.header.message_type is MessageType.MOVE_OUT_CERTIFICATE]
        entries = [len(getattr(node.opened(c, peer), "entries", ()))
                   for c in certificates]
        if not _accepted(answer) or entries != [len(certified)]:
            return Outcome(Verdict.FAIL, expected, f"refused as expected; then the notice "
                           f"naming {names[len(certified)]} got {describe(answer)} and "
                           f"certificates with {entries} entries")
        final = MoveInNotice(new_municipality=peer, former_municipality=node.code,
                             residents=tuple(p.person_ref() for p in certified),
                             moved_date=moved, recorded_date=_today(node),
                             new_address=_address(peer))
        fid, fpdu = node.sealed(final, sender=peer, header_changes={"correlation_id": mid})
        conn.send(fpdu)
        closing, _ = _answers(conn, node, fid, min(node.timeout, 3.0))
    finally:
        conn.close()
        _settle(node)
    if not _accepted(closing):
        return Outcome(Verdict.FAIL, expected, f"certified as expected, but the finalising "
                       f"MoveInNotice got {describe(closing)}")
    return Outcome(Verdict.PASS, expected, f"{names[len(refused)]} refused 1024; "
                   f"{names[len(certified)]} certified and finalised")


REM_RELAY = (
    "Treat an error report 9001, 9002 or 9003 to a relay as 'not now': keep the relay, "
    "answer nothing, log the report, back off, and send the relay again with the same "
    "message id and content no later than the retry interval (R-30-5-0-10, R-PDU-23, "
    "R-PDU-25, R-NODE-06).")
REM_RESPONSE = (
    "Check a ProvisionResponse to a query by resident code against the query before "
    "taking it: at most one person per code asked, in the order asked, no other person; "
    "refuse any other with 1024 INVALID_FIELD and keep waiting (R-30-7-3-25).")
REM_NOTICE = (
    "Route a SpecialMoveInNotice to the one annotated move-out that names all its "
    "movers; refuse with 1024 INVALID_FIELD a notice whose movers are on different "
    "annotated move-outs, certifying nothing (R-24-2-3-04).")


def node_backlog_cases() -> list[Case]:
    """The cases of this module."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], role: str, needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs, level="MUST",
                        remediation=rem, mode="node", ops=(), run=run, role=role,
                        needs=needs)
    return [
        case("30-11/node/relay/transient-refusal-resent",
             "a relay the centre refuses with 9002 is kept, not answered, and resent "
             "with the same id and content", "30-11",
             ("R-30-5-0-10", "R-PDU-23", "R-PDU-25", "R-NODE-06"), REM_RELAY,
             _relay_kept_after_transient, "prefecture", "ixit.clock"),
        case("30-7/node/agency/response-not-matching-query-refused",
             "answers providing a person twice, out of the query's order or not asked for "
             "are refused 1024, the request kept", "30-7", ("R-30-7-3-25", "R-30-7-3-09"),
             REM_RESPONSE, _response_checked, "agency"),
        case("24-2/3/node/special-move/former/movers-of-two-move-outs-refused",
             "a notice naming movers of two annotated move-outs is refused 1024 and "
             "certifies nothing", "24-2", ("R-24-2-3-04", "R-24-2-1-03"), REM_NOTICE,
             functools.partial(_move_out_notices, joint=False), "municipality"),
        case("24-2/3/node/special-move/former/part-of-a-move-out-refused",
             "a notice naming some of the persons of one annotated move-out is refused "
             "1024 and certifies nothing; the notice naming all is certified", "24-2",
             ("R-24-2-1-03", "R-24-2-3-04"), REM_NOTICE,
             functools.partial(_move_out_notices, joint=True),
             "municipality"),
    ]


__all__ = ["node_backlog_cases"]
