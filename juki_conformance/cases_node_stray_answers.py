"""Node-mode cases on answers that name the wrong message (spec/pdu.md section 6,
R-PDU-23, R-PDU-25, R-PDU-18; spec/special_move.md R-9-1-03; spec/errors.md 4002).

An acknowledgement delivers the one message whose id it names in ``acknowledgedId``,
and an error report refuses the one it names in ``refersTo`` (R-PDU-23): never another
message of the flow, never the message the header's ``correlationId`` names, never one
whose id merely sorts near. For every statutory message a node keeps resending until
it is acknowledged, in the roles the runner drives, the runner leaves the message
unanswered and sends an acknowledgement and an error report (1024) in its flow (the
header's ``correlationId`` is the flow's) naming an id that differs from the message's
and sorts just ``below`` or ``above`` it (:func:`beside`). The node must
answer neither (R-PDU-25) and keep the message: once the test clock (IXIT ``clock``)
passes the retry interval it is resent with its own message id, and the runner then
acknowledges it.

A statutory message that refers by ``correlationId`` to a flow of the node is checked
the same way: a MoveOutCertificate whose correlationId sorts next to the node's
SpecialMoveInNotice, and a MoveInNotice whose correlationId sorts next to the notice a
former municipality certified, are refused 4002 UNKNOWN_CORRELATION changing nothing
(R-PDU-18, R-9-1-03); the MoveInNotice that names the right flow is taken even when
another open flow's notice id sorts below or above it. Last, an acknowledgement of a
CodeDesignationRequest that its designation has already ended, while another request
whose id sorts below or above it is pending, ends nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node_designation import (
    PREFECTURE,
    designate,
    fresh_codes,
    request_on_wire,
)
from juki_conformance.cases_node_flows import (
    annotated_move_out,
    special_notice,
)
from juki_conformance.cases_node_ordinary_move import ordinary_notice_of, start_ordinary_move_in
from juki_conformance.flow_steps import (
    QUIET,
    Got,
    address_of,
    as_json,
    gather,
    is_accepted,
    listening,
    move_in_fields,
    node_today,
    peer_household,
    poll_flow,
    reading_on,
    registered_household,
    sealed_of,
    settle_updates,
    special_move_in_notice,
)
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.node_steps import describe, is_error, node_sut, upper_ok
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.machines.special_move import build_certificate
from juki_protocol.machines.stores import Register
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    ErrorReport,
    JukiPdu,
    MessageType,
    PduHeader,
)
from juki_protocol.messages.special_move import MoveInNotice, SpecialMoveInNotice
from juki_protocol.messages.wide_area import IdentityCheckMethod, Requester, TargetPerson
from juki_protocol.node.node import message_type_of, node_of_code

#: The permanent code of the stray error report (1024 INVALID_FIELD).
STRAY_CODE = int(ErrorCode.INVALID_FIELD)
#: Flows a case may start to find ids in the order it needs (1 in 2**16 fails).
ATTEMPTS = 16
PROVIDER, AGENCY_PURPOSE, AGENCY_OPERATOR = "270008", "S1-KENCHIKUSHI", "conformance-op-1"
REM_STRAY = (
    "Take an acknowledgement or an error report as the answer to the one message whose "
    "id it names (acknowledgedId, refersTo), by equality of all 16 octets: never as the "
    "answer to another message of the flow, to the message its header's correlationId "
    "names, or to a message whose id sorts near it. Answer neither (R-PDU-25) and keep "
    "resending the message with its own id until it is itself answered (R-PDU-23).")
REM_CORRELATION = (
    "Find the flow of a response or notice by equality of its correlationId with the "
    "message id of the message that opened the flow; refuse one that names no open flow "
    "with 4002 UNKNOWN_CORRELATION and change nothing (R-PDU-18, R-9-1-03).")


def octet(below: bool) -> int:
    """The first octet of an id that sorts below (0x00) or above (0xFF) another."""
    return 0x00 if below else 0xFF


def beside(mid: bytes, below: bool) -> bytes:
    """An id of ``mid``'s length that differs from it and sorts just below it (or above):
    its first octet one less (more), the rest the same; when that octet is already 0x00
    (0xFF), the id one less (more) as a number, so that no id is left without one."""
    n, size = int.from_bytes(mid, "big"), len(mid)
    step = 1 << (8 * (size - 1))
    if below:
        n = n - step if n >= step else n - 1
    else:
        n = n + step if n + step < 1 << (8 * size) else n + 1
    return n.to_bytes(size, "big")


def answer_in_flow(node: NodeSut, sender: str, correlation: bytes | None,
                   answer: Acknowledgement | ErrorReport) -> bytes:
    """A PDU carrying ``answer`` from ``sender`` with header correlationId
    ``correlation``."""
    header = PduHeader(version=1, message_id=fresh_id(), correlation_id=correlation,
                       message_type=message_type_of(answer), sender=node_of_code(sender),
                       recipient=node_of_code(node.code),
                       time=node.node_now().replace(microsecond=0), sequence_number=0,
                       profile=Profile.CURRENT)
    pdu = (JukiPdu(header=header, acknowledgement=answer)
           if isinstance(answer, Acknowledgement)
           else JukiPdu(header=header, error_report=answer))
    return codec.encode(pdu, profile=None)


def fresh_id(first: int | None = None) -> bytes:
    """A random message id (whose first octet is ``first`` when given)."""
    mid = secrets.token_bytes(16)
    return mid if first is None else bytes([first]) + mid[1:]


def stray_then_resent(node: NodeSut, got: Got, peer: str, below: bool, *,
                      listened: bool) -> str | None:
    """The runner leaves the message of ``got`` unanswered, sends as ``peer`` an
    acknowledgement and an error report in its flow naming an id beside its own, and
    moves the clock past the retry interval: None when neither is answered and the
    message is resent with its own id (then acknowledged), else what went wrong.
    ``listened``: whether the runner listens as ``peer`` (resends come there)."""
    conn, pdu = got
    own = pdu.header.message_id
    stray = beside(own, below)
    flow = pdu.header.correlation_id or own
    conn.send(answer_in_flow(node, peer, flow, Acknowledgement(
        acknowledged_id=stray, status=AckStatus.ACCEPTED)))
    conn.send(answer_in_flow(node, peer, flow, ErrorReport(error_code=STRAY_CODE,
                                                           refers_to=stray)))
    read = listening(node, peer) if listened else reading_on(conn)
    answered = gather(read, {"a": lambda p: p.sealed is None}, QUIET).get("a")
    if answered is not None:
        return f"a stray answer was answered with {describe(answered[1])} (R-PDU-25)"
    node.clock_advance(node.retry_interval + 1)
    match = sealed_of(pdu.header.message_type, own)
    again = gather(read, {"m": match}, node.timeout if listened else QUIET).get("m")
    if again is None and not listened:
        again = gather(listening(node, peer), {"m": match}, node.timeout).get("m")
    if again is None:
        return (f"not resent with its id once {node.retry_interval + 1:g} s had passed: "
                "a stray answer ended it")
    node.acknowledge(again[0], again[1], peer)
    return None


# The messages and how the upper tester makes the node send them --------------------------

def _update(node: NodeSut, below: bool) -> str | None:
    settle_updates(node)
    head = registered_household(node)[0]
    upper_ok(node, "record_change", residentCode=head.resident_code, reason="moveIn")
    got = gather(listening(node, node.prefecture),
                 {"u": sealed_of(MessageType.IDENTITY_INFO_UPDATE)}, node.timeout).get("u")
    if got is None:
        raise SutFault("register_resident sent no IdentityInfoUpdate")
    try:
        return stray_then_resent(node, got, node.prefecture, below, listened=True)
    finally:
        settle_updates(node)


def _code_request(node: NodeSut, below: bool) -> str | None:
    settle_updates(node)
    node.ok("request_codes", count=2)
    got = request_on_wire(node)
    if got is None:
        raise SutFault("request_codes sent no CodeDesignationRequest")
    problem = stray_then_resent(node, got, PREFECTURE, below, listened=True)
    designate(node, fresh_codes(node, 2), correlation=got[1].header.message_id)
    settle_updates(node)
    return problem


def _wide_area_request(node: NodeSut, below: bool) -> str | None:
    peer = node.peer_municipality
    node.drain(peer)
    head = peer_household(node)[0]
    requester = Requester(name=head.name, birth_date=head.birth_date, address=head.address,
                          resident_code=head.resident_code,
                          identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN)
    mid = upper_ok(node, "wide_area_request", residenceMunicipality=peer, applicant="person",
                   identityConfirmed=True, requester=as_json(requester),
                   targets=[as_json(TargetPerson(name=head.name, birth_date=head.birth_date))],
                   includeRelationship=False)["messageId"]
    got = gather(listening(node, peer), {"r": sealed_of(
        MessageType.WIDE_AREA_ISSUANCE_REQUEST, bytes.fromhex(str(mid)))},
        node.timeout).get("r")
    if got is None:
        raise SutFault("wide_area_request sent no WideAreaIssuanceRequest")
    return stray_then_resent(node, got, peer, below, listened=True)


def _ordinary_move_in(node: NodeSut, below: bool) -> str | None:
    mid, _ = start_ordinary_move_in(node, 1, node_today(node) - dt.timedelta(days=1))
    got = ordinary_notice_of(node, mid)
    if got is None:
        raise SutFault("ordinary_move_in sent no MoveInNotice")
    try:
        return stray_then_resent(node, got, node.peer_municipality, below, listened=True)
    finally:
        settle_updates(node)


def _provision_request(node: NodeSut, below: bool) -> str | None:
    node.drain()
    person = generate_households(1, f"conformance:stray:{fresh_id().hex()}",
                                 municipalities=["271004"])[0].head
    operator = (node.ixit.get("operator") or {}).get("id", AGENCY_OPERATOR)
    mid = upper_ok(node, "provision_request", provider=PROVIDER, operatorId=operator,
                   purposeCode=AGENCY_PURPOSE, byResidentCode=[person.resident_code]
                   )["messageId"]
    got = gather(listening(node, PROVIDER), {"r": sealed_of(
        MessageType.PROVISION_REQUEST, bytes.fromhex(str(mid)))}, node.timeout).get("r")
    if got is None:
        raise SutFault("provision_request sent no ProvisionRequest")
    return stray_then_resent(node, got, PROVIDER, below, listened=True)


# Arts. 24-2 and 9(1), the node as the new municipality ----------------------------------

def _special_move_in(node: NodeSut) -> tuple[str, Got, SpecialMoveInNotice,
                                            tuple[SyntheticResident, ...], dt.date]:
    """A special move-in started at the node: its flow id (the upper tester's), the
    SpecialMoveInNotice sent to the runner, the movers and the move's date."""
    peer = node.peer_municipality
    node.drain(peer)
    today = node_today(node)
    moved = today - dt.timedelta(days=2)
    people = peer_household(node)
    mid = str(upper_ok(node, "special_move_in",
                       **move_in_fields(node, people, moved, today))["messageId"])
    got = special_move_in_notice(node, mid)
    if isinstance(got, str):
        raise SutFault(got)
    return mid, got[0], got[1], people, moved


def _certify(node: NodeSut, conn: PeerConnection, notice_pdu: JukiPdu,
             notice: SpecialMoveInNotice, people: tuple[SyntheticResident, ...],
             moved: dt.date, correlation: bytes) -> dict[str, Got]:
    """The runner certifies the movers of ``notice`` under ``correlation``: the answer
    to its certificate, and the MoveInNotice that followed (what came)."""
    cert = build_certificate(Register(node.peer_municipality, people), notice, moved)
    cid, cpdu = node.sealed(cert, sender=node.peer_municipality,
                            header_changes={"correlation_id": correlation})
    conn.send(cpdu)
    wanted = {"ack": lambda p: (p.acknowledgement is not None
                                and p.acknowledgement.acknowledged_id == cid)
              or (p.error_report is not None and p.error_report.refers_to == cid)}
    if correlation == notice_pdu.header.message_id:
        wanted["moveIn"] = sealed_of(MessageType.MOVE_IN_NOTICE)
    return gather(listening(node, node.peer_municipality), wanted, node.timeout)


def _special_notice_stray(node: NodeSut, below: bool) -> str | None:
    """The SpecialMoveInNotice; then a certificate whose correlationId sorts beside the
    notice's id is refused 4002 and records nothing, and the right one completes it."""
    mid, got, notice, people, moved = _special_move_in(node)
    try:
        problem = stray_then_resent(node, got, node.peer_municipality, below, listened=True)
        if problem:
            return problem
        nid = got[1].header.message_id
        wrong = _certify(node, got[0], got[1], notice, people, moved, beside(nid, below))
        answer = wrong["ack"][1] if "ack" in wrong else None
        if not is_error(answer, ErrorCode.UNKNOWN_CORRELATION):
            return (f"a certificate whose correlationId sorts {'below' if below else 'above'}"
                    f" the notice's id got {describe(answer)}, not 4002 (R-PDU-18)")
        if upper_ok(node, "move_in_result", messageId=mid).get("recorded"):
            return "the certificate of no open flow recorded the movers"
        right = _certify(node, got[0], got[1], notice, people, moved, nid)
        if "moveIn" in right:
            node.acknowledge(*right["moveIn"], node.peer_municipality)
        if not is_accepted(right["ack"][1] if "ack" in right else None):
            return "the certificate of the right flow was not accepted"
        return None
    finally:
        settle_updates(node)


def _special_move_in_notice(node: NodeSut, below: bool) -> str | None:
    """The MoveInNotice after a special move-in, in a flow whose MoveInNotice id sorts
    ``below`` the SpecialMoveInNotice's (or above): once acknowledged, the move-in is
    completed (the answer is the MoveInNotice's, not the notice's)."""
    try:
        for _ in range(ATTEMPTS):
            mid, got, notice, people, moved = _special_move_in(node)
            node.acknowledge(*got, node.peer_municipality)
            nid = got[1].header.message_id
            right = _certify(node, got[0], got[1], notice, people, moved, nid)
            if "moveIn" not in right:
                raise SutFault("the certificate was followed by no MoveInNotice")
            move_in = right["moveIn"]
            if (move_in[1].header.message_id < nid) == below:
                break
            node.acknowledge(*move_in, node.peer_municipality)
        else:
            raise Inconclusive(f"in {ATTEMPTS} flows the MoveInNotice's id never sorted "
                               f"{'below' if below else 'above'} the notice's")
        problem = stray_then_resent(node, move_in, node.peer_municipality, below,
                                    listened=True)
        if problem:
            return problem
        done = poll_flow(node, "move_in_result", mid, "completed")
        if done.get("outcome") != "completed":
            return (f"the MoveInNotice acknowledged, the move-in is "
                    f"{done.get('outcome')!r}, not completed")
        return None
    finally:
        settle_updates(node)


# Arts. 24-2 and 9(1), the node as the former municipality -------------------------------

def _move_out(node: NodeSut, conn: PeerConnection, notice_id: bytes,
              ) -> tuple[SpecialMoveInNotice, Got | None, JukiPdu | None]:
    """An annotated move-out put on file and the runner's notice of its move-in sent
    under ``notice_id``: the notice, the certificate, the answer to the notice."""
    people = registered_household(node)
    today = node_today(node)
    moved = today - dt.timedelta(days=2)
    annotated_move_out(node, people, moved)
    notice = special_notice(node, people, moved, today)
    _, pdu = node.sealed(notice, sender=node.peer_municipality, message_id=notice_id)
    conn.send(pdu)
    got = gather(reading_on(conn), {
        "answer": lambda p: p.sealed is None and (
            (p.acknowledgement is not None and p.acknowledgement.acknowledged_id == notice_id)
            or (p.error_report is not None and p.error_report.refers_to == notice_id)),
        "cert": sealed_of(MessageType.MOVE_OUT_CERTIFICATE)}, node.timeout)
    return notice, got.get("cert"), got["answer"][1] if "answer" in got else None


def _final(node: NodeSut, notice: SpecialMoveInNotice, correlation: bytes
           ) -> tuple[bytes, bytes]:
    """The runner's MoveInNotice finalising ``notice``, under ``correlation``."""
    final = MoveInNotice(new_municipality=node.peer_municipality,
                         former_municipality=node.code, residents=notice.movers,
                         moved_date=notice.moved_date, recorded_date=node_today(node),
                         new_address=address_of(node.peer_municipality))
    return node.sealed(final, sender=node.peer_municipality,
                       header_changes={"correlation_id": correlation})


def _certificate_stray(node: NodeSut, below: bool) -> str | None:
    peer = node.peer_municipality
    conn = node.connect(peer)
    try:
        nid = fresh_id()
        notice, cert, answer = _move_out(node, conn, nid)
        if cert is None or not is_accepted(answer):
            raise SutFault(f"the special move-in notice got {describe(answer)} and "
                           f"{'a' if cert else 'no'} certificate")
        problem = stray_then_resent(node, cert, peer, below, listened=False)
        fid, final = _final(node, notice, nid)
        conn.send(final)
        conn.answer_to(fid)
        return problem
    finally:
        conn.close()
        settle_updates(node)


def _another_flow(node: NodeSut, below: bool) -> str | None:
    """Two flows certified, the first's notice id sorting ``below`` the second's (or
    above): a MoveInNotice whose correlationId sorts beside the second's notice id is
    refused 4002 changing nothing; the one naming the second is taken."""
    peer = node.peer_municipality
    conn = node.connect(peer)
    other, target = fresh_id(octet(below)), fresh_id(0x80)
    notices: dict[bytes, SpecialMoveInNotice] = {}
    try:
        for nid in (other, target):
            notice, cert, answer = _move_out(node, conn, nid)
            if cert is None or not is_accepted(answer):
                raise SutFault(f"the special move-in notice got {describe(answer)}")
            node.acknowledge(*cert, peer)
            notices[nid] = notice
        before = settle_updates(node)
        wid, wrong = _final(node, notice, beside(target, not below))
        conn.send(wrong)
        stray = conn.answer_to(wid)
        if not is_error(stray, ErrorCode.UNKNOWN_CORRELATION):
            return (f"a MoveInNotice whose correlationId sorts "
                    f"{'above' if below else 'below'} the notice's got {describe(stray)}, "
                    "not 4002")
        if settle_updates(node) != before:
            return "the MoveInNotice of no open flow erased records (updates were sent)"
        fid, final = _final(node, notice, target)
        conn.send(final)
        taken = conn.answer_to(fid)
        if taken is None or taken.acknowledgement is None \
                or taken.acknowledgement.status is not AckStatus.ACCEPTED:
            return (f"the MoveInNotice of the second open flow got {describe(taken)}: it "
                    "was taken as the first's (another flow's notice id sorts "
                    f"{'below' if below else 'above'} it)")
        if settle_updates(node) == before:
            return "the MoveInNotice was acknowledged but erased no record"
        fid, final = _final(node, notices[other], other)      # the postamble
        conn.send(final)
        conn.answer_to(fid)
        return None
    finally:
        conn.close()
        settle_updates(node)


# Art. 30-7(1): an acknowledgement of a request its designation ended ----------------------

def _late_request_ack(node: NodeSut, below: bool) -> str | None:
    """Two requests sent; the designation of the one whose id sorts above the other
    (``below``: the pending one sorts below it) or below it ends that one before any
    acknowledgement, which then comes late while the other is pending."""
    settle_updates(node)
    sent: list[Got] = []
    for _ in range(2):
        node.ok("request_codes", count=2)
        got = request_on_wire(node)
        if got is None:
            raise SutFault("request_codes sent no CodeDesignationRequest")
        sent.append(got)
    sent.sort(key=lambda g: g[1].header.message_id)
    pending, first = (sent[0], sent[1]) if below else (sent[1], sent[0])
    done = first[1].header.message_id
    answer = designate(node, fresh_codes(node, 2), correlation=done)
    if answer is None or answer.acknowledgement is None:
        raise SutFault(f"the designation of the request got {describe(answer)}")
    try:
        node.acknowledge(pending[0], first[1], PREFECTURE)
        again = designate(node, fresh_codes(node, 2), correlation=done)
        if not is_error(again, ErrorCode.UNKNOWN_CORRELATION):
            return (f"after a late acknowledgement of the designated request, a second "
                    f"designation for it got {describe(again)}, not 4002: the "
                    "acknowledgement reopened it")
        problem = stray_then_resent(node, pending, PREFECTURE, below, listened=True)
        designate(node, fresh_codes(node, 2), correlation=pending[1].header.message_id)
        return problem
    finally:
        settle_updates(node)


def _case(body: Callable[[NodeSut, bool], str | None], below: bool, expected: str
          ) -> Callable[[AdapterSut], Outcome]:
    side = "below" if below else "above"

    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        text = expected.format(side=side, other="above" if below else "below")
        problem = body(node, below)
        if problem:
            return Outcome(Verdict.FAIL, text, problem)
        return Outcome(Verdict.PASS, text, "as expected")
    return run


RESENT = ("an acknowledgement and an error report 1024 in its flow naming an id that sorts "
          "{side} its own answered by nothing; the message resent with its own id after "
          "the retry interval")
#: (id, message, role, requirements, what the case drives) of the stray-answer cases.
KINDS: tuple[tuple[str, str, str, tuple[str, ...],
                   Callable[[NodeSut, bool], str | None]], ...] = (
    ("30-5/node/stray-answer/update", "IdentityInfoUpdate", "municipality",
     ("R-PDU-23", "R-PDU-25"), _update),
    ("30-7/1/node/stray-answer/code-request", "CodeDesignationRequest", "municipality",
     ("R-PDU-23", "R-PDU-25"), _code_request),
    ("12-2/2/node/stray-answer/issuing-request", "WideAreaIssuanceRequest", "municipality",
     ("R-PDU-23", "R-PDU-25"), _wide_area_request),
    ("9/1/node/stray-answer/ordinary-move-in-notice", "MoveInNotice (ordinary move)",
     "municipality", ("R-PDU-23", "R-PDU-25", "R-MOVE-05"), _ordinary_move_in),
    ("30-7/node/stray-answer/agency-request", "ProvisionRequest", "agency",
     ("R-PDU-23", "R-PDU-25"), _provision_request),
    ("24-2/4/node/stray-answer/former/certificate", "MoveOutCertificate", "municipality",
     ("R-PDU-23", "R-PDU-25"), _certificate_stray),
    ("24-2/3/node/stray-answer/new/special-move-in-notice", "SpecialMoveInNotice (then a "
     "certificate whose correlationId sorts {side} the notice's refused 4002)",
     "municipality", ("R-PDU-23", "R-PDU-25", "R-PDU-18"), _special_notice_stray),
    ("9/1/node/stray-answer/new/move-in-notice", "MoveInNotice of a special move whose id "
     "sorts {side} the notice's (completed once acknowledged)", "municipality",
     ("R-PDU-23", "R-PDU-25", "R-9-1-01"), _special_move_in_notice),
)


def stray_answer_cases() -> list[Case]:
    """The cases of this module (municipality and agency SUTs)."""
    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], role: str, needs: str = "ixit.clock"
             ) -> Case:
        return NodeCase(id=cid, title=title, clause="pdu", requirements=reqs,
                        level=strongest_level(reqs), remediation=rem, mode="node",
                        ops=(), run=run, role=role, needs=needs)
    cases: list[Case] = []
    for cid, what, role, reqs, body in KINDS:
        for side in ("below", "above"):
            title = what.format(side=side)
            cases.append(case(f"{cid}-{side}", f"{title}: answers naming an id sorting "
                              f"{side} its own deliver nothing, it is resent", reqs,
                              REM_STRAY, _case(body, side == "below", f"{title}: {RESENT}"),
                              role))
    for side in ("below", "above"):
        cases.append(case(
            f"9/1/node/special-move/former/move-in-notice-beside-another-flow-{side}",
            f"a MoveInNotice whose correlationId sorts beside its flow's notice is refused "
            f"4002; the right one is taken while another open flow's notice sorts {side}",
            ("R-PDU-18", "R-9-1-03"), REM_CORRELATION, _case(_another_flow, side == "below",
            "a MoveInNotice with a correlationId sorting {other} the notice's refused 4002 "
            "and nothing erased; the one naming the notice taken, the other open flow's "
            "notice id sorting {side} it"), "municipality", needs=""))
        cases.append(case(
            f"30-7/1/node/pool/late-ack-of-designated-request-{side}",
            "an acknowledgement of a request its designation ended reopens nothing while "
            f"a request sorting {side} it is pending", ("R-PDU-23", "R-PDU-25", "R-PDU-18"),
            REM_STRAY, _case(_late_request_ack, side == "below",
            "a late acknowledgement of the designated request not taken: a second "
            "designation for it refused 4002; the pending request (its id sorting {side}) "
            "still resent after stray answers"), "municipality"))
    return cases


__all__ = ["answer_in_flow", "beside", "stray_answer_cases", "stray_then_resent"]
