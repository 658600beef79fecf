"""Node-mode cases of the flows' resends and outcomes that no other case reached
(tools/mutation_reach.py): what a prefecture, the centre and a municipality do with a
message left unanswered, refused, or asked about, outside provision.

* Art. 30-7(1), the prefecture under test: a CodeDesignation left unacknowledged is
  sent again, same message id, codes and correlation, once the retry interval has
  passed and not before (R-PDU-23, R-TIME-02, R-TIME-08), also across a restart
  (R-NODE-03). The runner plays :data:`~juki_conformance.cases_node_designation.PEER`,
  as the designation cases do, and acknowledges the designation at the end.
* spec/card_register.md, the centre under test: its CardStatusAnswer left
  unacknowledged is sent again the same way; ``card_entry`` reports an issued card as
  its issuer notified it, and 5001 for a card the register does not hold.
* Art. 12-2(3), the municipality under test as issuing municipality: a response that
  refuses is acknowledged and ``wide_area_result`` reports ``refused:<code>`` with no
  copy (R-NODE-41).
* Arts. 24-2 and 9(1), the municipality under test as new municipality: the
  MoveInNotice left unacknowledged is sent again after the retry interval, unchanged
  (R-9-1-01, R-PDU-23); as former municipality: a MoveOutCertificate the new
  municipality refuses is not answered (R-PDU-25) and not sent again (R-PDU-23).

Every case closes the flows it opens, so that the cases run in any order.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node_designation import PEER
from juki_conformance.cases_node_flows import (
    annotated_move_out,
    send_special_notice,
    special_notice,
    wide_area_application,
)
from juki_conformance.flow_steps import (
    CLOSE_CODE,
    QUIET,
    Got,
    answer_of,
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
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import describe, exchange, node_sut, upper_ok
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import new_resident_code
from juki_protocol.machines.special_move import build_certificate
from juki_protocol.machines.stores import Register
from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatusQuery,
)
from juki_protocol.messages.designation import CodeDesignationRequest
from juki_protocol.messages.pdu import JukiPdu, MessageType
from juki_protocol.messages.wide_area import WideAreaIssuanceResponse, WideAreaRefusal

ISSUER, ELSEWHERE = "271004", "131016"
_RNG = random.SystemRandom()


def _resent(node: NodeSut, read: Callable[[float], Got | None], first: JukiPdu,
            sender: str) -> str | None:
    """R-TIME-08, R-TIME-02, R-PDU-23: ``first`` (a sealed message the node sent and the
    runner left unanswered) is not sent again within :data:`QUIET` seconds, is sent
    again once the retry interval has passed on the node's clock, with the same message
    id, correlation and content, and not a third time when the clock is then moved by
    0 s; that copy is acknowledged as ``sender``. None, or what went wrong."""
    retry = node.retry_interval
    mtype, mid = first.header.message_type, first.header.message_id
    early = gather(read, {"again": sealed_of(mtype, mid)}, QUIET)
    if early:
        node.acknowledge(*early["again"], sender)
        return f"sent again within {QUIET:g} s, before {retry:g} s had passed (R-TIME-08)"
    node.clock_advance(retry + 1)
    again = gather(read, {"again": sealed_of(mtype, mid)}, node.timeout).get("again")
    if again is None:
        return (f"not sent again {retry + 1:g} s after the first, unacknowledged "
                "(R-TIME-02)")
    # The copy is a send: the interval starts again from it (R-TIME-08).
    node.clock_advance(0)
    third = gather(read, {"again": sealed_of(mtype, mid)}, QUIET)
    node.acknowledge(*again, sender)
    if third:
        return ("sent a third time at once after the copy, before the interval had "
                "passed again (R-TIME-08)")
    if again[1].header.correlation_id != first.header.correlation_id:
        return "sent again with another correlationId"
    if node.opened(again[1], sender) != node.opened(first, sender):
        return "sent again with other content"
    return None


# Art. 30-7(1): the prefecture's designation --------------------------------------------

def _designation_resent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    retry = node.retry_interval
    expected = (f"the CodeDesignation answering {PEER}'s request, left unacknowledged, "
                f"not sent again within {QUIET:g} s, sent again once {retry:g} s have "
                "passed on the node's clock: same message id, correlation and codes")
    conn = node.connect(PEER)
    try:
        mid, pdu = node.sealed(CodeDesignationRequest(municipality=PEER, count=2),
                               sender=PEER)
        conn.send(pdu)
        answer = conn.answer_to(mid)
        if not is_accepted(answer):
            raise Inconclusive(f"the request for 2 codes got {describe(answer)}")
        got = gather(reading_on(conn), {"first": sealed_of(MessageType.CODE_DESIGNATION)},
                     node.timeout).get("first")
        if got is None:
            return Outcome(Verdict.FAIL, expected, f"no CodeDesignation within "
                           f"{node.timeout:g} s of the request")
        first = got[1]
        if first.header.correlation_id != mid:
            node.acknowledge(conn, first, PEER)
            return Outcome(Verdict.FAIL, expected, "the CodeDesignation is not correlated "
                           "with the request")
        problem = _resent(node, reading_on(conn), first, PEER)
    finally:
        conn.close()
    return Outcome(Verdict.FAIL if problem else Verdict.PASS, expected,
                   problem or "sent again once the interval had passed, unchanged")


def _designation_on(node: NodeSut, conn: PeerConnection, count: int) -> JukiPdu:
    """Ask for ``count`` codes as PEER on ``conn``: the CodeDesignation answering the
    request, not yet acknowledged (Inconclusive if none came)."""
    mid, pdu = node.sealed(CodeDesignationRequest(municipality=PEER, count=count),
                           sender=PEER)
    conn.send(pdu)
    answer = conn.answer_to(mid)
    if not is_accepted(answer):
        raise Inconclusive(f"the request for {count} codes got {describe(answer)}")
    got = gather(reading_on(conn), {"d": lambda p: p.sealed is not None and (
        p.header.message_type is MessageType.CODE_DESIGNATION
        and p.header.correlation_id == mid)}, node.timeout).get("d")
    if got is None:
        raise Inconclusive(f"no CodeDesignation within {node.timeout:g} s of the request")
    return got[1]


def _designation_after_restart(sut: AdapterSut) -> Outcome:
    """R-PDU-23 and R-TIME-08 across a restart: the node resends at once when it starts
    (to PEER, whom it cannot reach then), and after that not before the interval."""
    node = node_sut(sut)
    retry = node.retry_interval
    expected = (f"a CodeDesignation left unacknowledged across a restart: not sent again "
                f"when the clock moves by 0 s after the restart (its resend on start was "
                f"its last send), sent again once {retry:g} s have passed on the node's "
                "clock, same message id, correlation and codes")
    conn = node.connect(PEER)
    try:
        first = _designation_on(node, conn, 2)
    finally:
        conn.close()
    node.restart()
    conn = node.connect(PEER)
    try:
        # A request after the restart makes this connection the node's way to PEER.
        node.acknowledge(conn, _designation_on(node, conn, 1), PEER)
        node.clock_advance(0)
        mtype, mid = first.header.message_type, first.header.message_id
        early = gather(reading_on(conn), {"again": sealed_of(mtype, mid)}, QUIET)
        if early:
            node.acknowledge(*early["again"], PEER)
            return Outcome(Verdict.FAIL, expected, "sent again when the clock had not "
                           "moved since the restart (R-TIME-08)")
        problem = _resent(node, reading_on(conn), first, PEER)
    finally:
        conn.close()
    return Outcome(Verdict.FAIL if problem else Verdict.PASS, expected,
                   problem or "not early after the restart; sent again once the interval "
                   "had passed, unchanged")


# spec/card_register.md: the centre -------------------------------------------------------

def _serial(municipality: str) -> str:
    return f"{municipality}-{_RNG.randrange(10 ** 10):010d}"


def _code() -> str:
    return new_resident_code(random.Random(secrets.randbits(64)))


def _answer_resent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    retry = node.retry_interval
    expected = (f"the CardStatusAnswer to {ELSEWHERE}'s query, left unacknowledged, not "
                f"sent again within {QUIET:g} s, sent again once {retry:g} s have passed "
                "on the node's clock: same message id, correlation and content")
    conn = node.connect(ELSEWHERE)
    try:
        mid, pdu = node.sealed(CardStatusQuery(municipality=ELSEWHERE,
                                               card_serial=_serial(ISSUER),
                                               resident_code=_code()), sender=ELSEWHERE)
        conn.send(pdu)
        found = gather(reading_on(conn), {
            "ack": answer_of(mid), "first": sealed_of(MessageType.CARD_STATUS_ANSWER)},
            node.timeout)
        if not is_accepted(found["ack"][1] if "ack" in found else None):
            raise Inconclusive("the query was not acknowledged")
        if "first" not in found:
            return Outcome(Verdict.FAIL, expected, f"no CardStatusAnswer within "
                           f"{node.timeout:g} s of the query")
        first = found["first"][1]
        if first.header.correlation_id != mid:
            node.acknowledge(conn, first, ELSEWHERE)
            return Outcome(Verdict.FAIL, expected, "the answer is not correlated with "
                           "the query")
        problem = _resent(node, reading_on(conn), first, ELSEWHERE)
    finally:
        conn.close()
    return Outcome(Verdict.FAIL if problem else Verdict.PASS, expected,
                   problem or "sent again once the interval had passed, unchanged")


def _card_entry(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    today = node.node_now().date()
    until = today + dt.timedelta(days=3650)
    serial, code = _serial(ISSUER), _code()
    expected = (f"card_entry of a card {ISSUER} applied for and handed over: state "
                f"issued, status valid, municipality {ISSUER}, validUntil the notice's "
                f"{until.isoformat()}; card_entry of a serial never notified: error "
                f"{int(ErrorCode.NO_SUCH_RESIDENT)}")
    for message in (CardApplication(municipality=ISSUER, card_serial=serial,
                                    resident_code=code, application_date=today),
                    CardIssueNotice(municipality=ISSUER, card_serial=serial,
                                    resident_code=code, issue_date=today,
                                    valid_until=until)):
        mid, pdu = node.sealed(message, sender=ISSUER)
        answer = exchange(node, ISSUER, pdu, mid)
        if not is_accepted(answer):
            raise Inconclusive(f"the {type(message).__name__} got {describe(answer)}")
    entry = node.request("card_entry", serial=serial)
    want = {"state": "issued", "status": "valid", "municipality": ISSUER,
            "validUntil": until.isoformat()}
    have = {k: entry.get(k) for k in want} if entry.get("ok") else entry.get("error")
    if have != want:
        return Outcome(Verdict.FAIL, expected, f"card_entry of the issued card: {have}")
    unknown = node.request("card_entry", serial=_serial(ISSUER))
    code_got = (unknown.get("error") or {}).get("code")
    if unknown.get("ok") or code_got != int(ErrorCode.NO_SUCH_RESIDENT):
        return Outcome(Verdict.FAIL, expected, "card_entry of an unknown serial answered "
                       f"{unknown.get('error') or unknown}")
    return Outcome(Verdict.PASS, expected, f"{want}; 5001 for the unknown serial")


# Art. 12-2(3): the issuing municipality takes a refusal ----------------------------------

def _refusal_reported(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    refusal = WideAreaRefusal.MOVED_OUT
    outcome = f"refused:{int(refusal.error_code)}"
    expected = (f"the response refusing the request ({refusal.value}) acknowledged "
                f"(accepted); wide_area_result then state refused, outcome {outcome}, "
                "copies 0")
    node.drain(peer)
    people = peer_household(node)[:1]
    mid = bytes.fromhex(str(upper_ok(node, "wide_area_request",
                                     **wide_area_application(node, people))["messageId"]))
    got = gather(listening(node, peer), {
        "request": sealed_of(MessageType.WIDE_AREA_ISSUANCE_REQUEST, mid)},
        node.timeout).get("request")
    if got is None:
        raise SutFault(f"no WideAreaIssuanceRequest reached {peer}")
    conn, pdu = got
    node.acknowledge(conn, pdu, peer)
    response = WideAreaIssuanceResponse(residence_municipality=peer,
                                        issuing_municipality=node.code, refusal=refusal)
    rid, rpdu = node.sealed(response, sender=peer, header_changes={"correlation_id": mid})
    conn.send(rpdu)
    answer = gather(listening(node, peer), {"answer": answer_of(rid)}, node.timeout)
    ack = answer["answer"][1] if "answer" in answer else None
    if not is_accepted(ack):
        return Outcome(Verdict.FAIL, expected, f"the refusing response got "
                       f"{describe(ack) if ack else 'no answer'}")
    result = poll_flow(node, "wide_area_result", mid.hex(), outcome)
    have = (result.get("state"), result.get("outcome"), result.get("copies"))
    if have != ("refused", outcome, 0):
        return Outcome(Verdict.FAIL, expected, f"wide_area_result: state {have[0]!r}, "
                       f"outcome {have[1]!r}, copies {have[2]!r}")
    return Outcome(Verdict.PASS, expected, f"acknowledged; refused, {outcome}, no copy")


# Arts. 24-2, 9(1): the new municipality's MoveInNotice -----------------------------------

def _move_in_notice_resent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    retry = node.retry_interval
    expected = (f"the MoveInNotice sent to {peer} after the certificate, left "
                f"unacknowledged, not sent again within {QUIET:g} s, sent again once "
                f"{retry:g} s have passed on the node's clock, unchanged; the flow "
                "completed once it is acknowledged")
    node.drain(peer)
    today = node_today(node)
    moved = today - dt.timedelta(days=2)
    people = peer_household(node, 1)[:1]
    mid = str(upper_ok(node, "special_move_in",
                       **move_in_fields(node, people, moved, today))["messageId"])
    try:
        got = special_move_in_notice(node, mid)
        if isinstance(got, str):
            raise SutFault(got)
        (conn, pdu), notice = got
        node.acknowledge(conn, pdu, peer)
        cert = build_certificate(Register(peer, people), notice, moved)
        cid, cpdu = node.sealed(cert, sender=peer,
                                header_changes={"correlation_id": pdu.header.message_id})
        conn.send(cpdu)
        found = gather(listening(node, peer), {
            "ack": answer_of(cid), "moveIn": sealed_of(MessageType.MOVE_IN_NOTICE)},
            node.timeout)
        if not is_accepted(found["ack"][1] if "ack" in found else None):
            raise SutFault("the certificate was not acknowledged")
        if "moveIn" not in found:
            return Outcome(Verdict.FAIL, expected, f"no MoveInNotice reached {peer} "
                           f"within {node.timeout:g} s of the certificate")
        # The records' updates acknowledged before the clock moves, so that no copy of
        # them is left for the cases after this one.
        settle_updates(node)
        problem = _resent(node, listening(node, peer), found["moveIn"][1], peer)
        if problem is None and poll_flow(node, "move_in_result", mid, "completed").get(
                "outcome") != "completed":
            problem = "the flow is not completed once the MoveInNotice was acknowledged"
    finally:
        settle_updates(node)
        node.drain(node.prefecture)
    return Outcome(Verdict.FAIL if problem else Verdict.PASS, expected,
                   problem or "sent again once the interval had passed, unchanged")


# Arts. 24-2(4): the former municipality's certificate refused ----------------------------

def _refused_certificate(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    retry = node.retry_interval
    expected = (f"the MoveOutCertificate refused by {peer} with error {int(CLOSE_CODE)}: "
                "the error report answered with nothing (R-PDU-25), and the certificate "
                f"not sent again once {retry:g} s have passed (R-PDU-23: until refused)")
    node.drain(peer)
    people = registered_household(node)
    today = node_today(node)
    moved = today - dt.timedelta(days=2)
    annotated_move_out(node, people, moved)
    conn: PeerConnection = node.connect(peer)
    try:
        _, got = send_special_notice(node, conn, special_notice(node, people, moved, today))
        if "cert" not in got:
            raise SutFault("the special move-in notice got no certificate: "
                           f"{describe(got['answer'][1]) if 'answer' in got else ''}")
        cert = got["cert"][1]
        node.report_error(conn, cert, peer, int(CLOSE_CODE))
        answered = gather(reading_on(conn), {"answer": lambda p: p.sealed is None}, QUIET)
    finally:
        conn.close()
    if answered:
        return Outcome(Verdict.FAIL, expected, "the error report was answered with "
                       f"{describe(answered['answer'][1])}")
    settle_updates(node)        # no update copy left for later cases by the clock step
    node.clock_advance(retry + 1)
    node.drain(node.prefecture)
    again = gather(listening(node, peer), {
        "cert": sealed_of(MessageType.MOVE_OUT_CERTIFICATE, cert.header.message_id)},
        QUIET + 1)
    if again:
        node.acknowledge(*again["cert"], peer)
        return Outcome(Verdict.FAIL, expected, "the refused certificate was sent again")
    return Outcome(Verdict.PASS, expected, "not answered, not sent again")


# The cases -------------------------------------------------------------------------------

REM_RESEND = ("Keep every sealed message until it is acknowledged or refused and resend "
              "it, same message id, correlationId and content, each time the retry "
              "interval (60 s, or the ICS's retryIntervalSeconds) passes without an "
              "answer, never sooner (R-PDU-23, R-TIME-02, R-TIME-08).")
REM_ENTRY = ("Report through card_entry the register's entry of the serial: its state, "
             "the status a query would be answered today, the issuing municipality and "
             "the last day of validity of the CardIssueNotice; 5001 NO_SUCH_RESIDENT for "
             "a serial the register does not hold (spec/card_register.md section 5).")
REM_REFUSAL = ("Acknowledge a WideAreaIssuanceResponse that refuses and record the "
               "refusal as the outcome of the request: wide_area_result refused:<code> "
               "with no copy issued (R-NODE-41, R-12-2-3-02).")
REM_REFUSED_CERT = ("Take an error report refusing the MoveOutCertificate as the end of "
                    "its delivery: answer it with nothing (R-PDU-25), stop resending the "
                    "certificate (R-PDU-23) and report the failure to the operator.")


def flow_path_cases() -> list[Case]:
    """The cases of this module, in the order of the module docstring."""
    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], role: str, needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause=cid.split("/node/")[0],
                        requirements=reqs, level="MUST", remediation=rem, mode="node",
                        ops=(), run=run, role=role, needs=needs)
    return [
        case("30-7/1/node/designation/designation-resent-until-acknowledged",
             "a CodeDesignation left unacknowledged is sent again once the retry interval "
             "has passed, same message id, correlation and codes",
             ("R-PDU-23", "R-TIME-02", "R-TIME-08", "R-30-7-1-01"), REM_RESEND,
             _designation_resent, "prefecture", "ixit.clock"),
        case("30-7/1/node/designation/designation-resent-after-restart",
             "a CodeDesignation left unacknowledged across a restart is sent again once "
             "the retry interval has passed since the restart, not sooner",
             ("R-PDU-23", "R-TIME-08", "R-NODE-03", "R-30-7-1-01"), REM_RESEND,
             _designation_after_restart, "prefecture", "ixit.restart ixit.clock"),
        case("30-44/node/register/answer-resent-until-acknowledged",
             "the centre's CardStatusAnswer left unacknowledged is sent again once the "
             "retry interval has passed, unchanged",
             ("R-PDU-23", "R-TIME-02", "R-TIME-08", "R-CARDREG-06"), REM_RESEND,
             _answer_resent, "national", "ixit.clock"),
        case("30-44/node/register/card-entry-reported",
             "card_entry reports an issued card's state, status, issuer and validity, "
             "and 5001 for a serial the register does not hold", ("R-CARDREG-06",),
             REM_ENTRY, _card_entry, "national"),
        case("12-2/3/node/wide-area/issuing/refusal-reported",
             "a response that refuses is acknowledged and reported refused:<code> with "
             "no copy", ("R-NODE-41", "R-12-2-3-02", "R-PDU-22"), REM_REFUSAL,
             _refusal_reported, "municipality"),
        case("9/1/node/special-move/new/move-in-notice-resent-until-acknowledged",
             "the new municipality resends an unacknowledged MoveInNotice once the retry "
             "interval has passed, unchanged",
             ("R-9-1-01", "R-PDU-23", "R-TIME-02", "R-TIME-08"), REM_RESEND,
             _move_in_notice_resent, "municipality", "ixit.clock"),
        case("24-2/4/node/special-move/former/refused-certificate-not-resent",
             "a MoveOutCertificate the new municipality refuses is not answered and not "
             "sent again", ("R-PDU-25", "R-PDU-23", "R-24-2-4-01"), REM_REFUSED_CERT,
             _refused_certificate, "municipality", "ixit.clock"),
    ]


__all__ = ["flow_path_cases"]
