"""Node-mode cases of the card register (spec/card_register.md), on both sides.

The centre under test (DC01): the runner plays the issuing municipality 271004 and a
municipality 131016 where the card is presented. Each case takes a fresh resident code
and fresh serials, so that the cases do not meet each other's cards. It registers an
application, hands the card over, suspends it or reports it lost, as 271004, and asks
as 131016: a suspended card must be answered ``suspended`` there, a lost one ``lost``,
and a second application for the same resident refused (5027), whichever municipality
files it.

The municipality under test (271004): the runner plays the centre DC01. It reads the
applications and notices the node sends when the upper tester applies for, issues,
suspends and reports lost a card, and answers them; and it answers the node's query
for a card of another municipality that the node never saw, checking that the node
refuses a card the centre says is suspended (4011) or lost (4014) and takes one it says
is valid.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable

from juki_conformance.card_steps import (
    answer_text,
    application,
    ask_centre,
    card_serial,
    other_codes,
    random_resident_code,
    send_as,
)
from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.flow_steps import (
    CLOSE_CODE,
    move_in_fields,
    node_today,
    peer_household,
    sent_nothing,
    special_move_in_notice,
)
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatus,
    CardStatusAnswer,
    CardStatusChange,
    CardStatusNotice,
    CardStatusQuery,
)
from juki_protocol.messages.pdu import JukiPdu, MessageType

ISSUER, ELSEWHERE, CENTRE = "271004", "131016", "DC01"
#: The validity the runner gives the cards it issues as the issuing municipality.
UNTIL_DAYS = 3650
PIN = "6150"

REM_CENTRE = ("Keep one entry per card (serial, resident code, issuing municipality, "
              "state, validity) in durable storage; refuse a second application for a "
              "resident who holds a card applied for, valid or suspended with 5027, from "
              "any municipality; apply each status notice of the issuer; answer every "
              "query with an acknowledgement and a CardStatusAnswer correlated with it, "
              "giving the register's status (spec/card_register.md).")
REM_MUNI = ("Register each application with the centre and issue only under a registered "
            "serial; send a CardIssueNotice for each card handed over and a "
            "CardStatusNotice for each suspension, resumption, loss and revocation; ask "
            "the centre about every card presented and refuse it unless the centre says "
            "valid: 4011 suspended, 4014 lost, 4012 otherwise (spec/card_register.md).")


# The centre under test ------------------------------------------------------------------


def _expect(answer: JukiPdu | None, code: ErrorCode | None, what: str) -> str | None:
    """None if ``answer`` is an acknowledgement (``code`` None) or error ``code``."""
    if code is None:
        ok = answer is not None and answer.acknowledgement is not None
    else:
        ok = answer is not None and answer.error_report is not None \
            and answer.error_report.error_code == int(code)
    return None if ok else f"{what} answered {describe(answer)}"


def _issued(node: NodeSut, serial: str, code: str) -> str | None:
    """Apply for and hand over card ``serial`` as ISSUER; None when both were taken."""
    return _expect(send_as(node, CardApplication(
        municipality=ISSUER, card_serial=serial, resident_code=code,
        application_date=node.node_now().date()), ISSUER), None, "the application") or \
        _expect(send_as(node, _issue_notice(node, serial, code), ISSUER), None,
                "the issue notice")


def _issue_notice(node: NodeSut, serial: str, code: str) -> CardIssueNotice:
    today = node.node_now().date()
    return CardIssueNotice(municipality=ISSUER, card_serial=serial, resident_code=code,
                           issue_date=today, valid_until=today + dt.timedelta(days=UNTIL_DAYS))


def _change(node: NodeSut, serial: str, code: str, change: CardStatusChange,
            sender: str = ISSUER) -> JukiPdu | None:
    return send_as(node, CardStatusNotice(municipality=ISSUER, card_serial=serial,
                                        resident_code=code, change=change,
                                        change_date=node.node_now().date()), sender)


def _status(got: CardStatusAnswer | str, status: CardStatus, when: str) -> str | None:
    if isinstance(got, str):
        return f"{when}: {got}"
    if got.status is not status:
        return f"{when}: the centre answered {got.status.value}, not {status.value}"
    if status is not CardStatus.UNKNOWN and got.issuing_municipality != ISSUER:
        return f"{when}: the answer names {got.issuing_municipality} as the issuer"
    return None


def _duplicate(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a second application for the same resident refused 5027 from either "
                "municipality, nothing registered (the other serial unknown)")
    code, serial = random_resident_code(), card_serial(ISSUER)
    other = card_serial(ELSEWHERE)
    problem = _issued(node, serial, code) or _expect(send_as(node, CardApplication(
        municipality=ELSEWHERE, card_serial=other, resident_code=code,
        application_date=node.node_now().date()), ELSEWHERE),
        ErrorCode.CARD_ALREADY_ISSUED, "a second application at another municipality") \
        or _expect(send_as(node, CardApplication(
            municipality=ISSUER, card_serial=card_serial(ISSUER), resident_code=code,
            application_date=node.node_now().date()), ISSUER),
            ErrorCode.CARD_ALREADY_ISSUED, "a second application at the issuer") \
        or _status(ask_centre(node, other, code), CardStatus.UNKNOWN, "the refused serial")
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "5027 both times; the refused card unknown")


def _suspended(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("valid after the handover, suspended after the issuer's suspension, "
                "valid again after resumption, lost after the loss report, each at "
                "another municipality; a lost card never resumed (4014)")
    code, serial = random_resident_code(), card_serial(ISSUER)
    steps: list[Callable[[], str | None]] = [
        lambda: _issued(node, serial, code),
        lambda: _status(ask_centre(node, serial, code), CardStatus.VALID, "after the handover"),
        lambda: _expect(_change(node, serial, code, CardStatusChange.SUSPENDED), None,
                        "the suspension"),
        lambda: _status(ask_centre(node, serial, code), CardStatus.SUSPENDED,
                        "after the suspension"),
        lambda: _expect(_change(node, serial, code, CardStatusChange.RESUMED), None,
                        "the resumption"),
        lambda: _status(ask_centre(node, serial, code), CardStatus.VALID, "after resumption"),
        lambda: _expect(_change(node, serial, code, CardStatusChange.LOST), None,
                        "the loss report"),
        lambda: _status(ask_centre(node, serial, code), CardStatus.LOST, "after the loss"),
        lambda: _expect(_change(node, serial, code, CardStatusChange.RESUMED),
                        ErrorCode.CARD_LOST, "resuming a lost card"),
    ]
    for step in steps:
        problem = step()
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "as expected")


def _not_issuer(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a suspension of the card sent by another municipality than the issuer "
                "refused 1024, the card still valid; queries with other resident codes (one "
                "sorting before the holder's, one after) answered unknown")
    code, serial = random_resident_code(), card_serial(ISSUER)
    problem = _issued(node, serial, code) or _expect(
        _change(node, serial, code, CardStatusChange.SUSPENDED, sender=ELSEWHERE),
        ErrorCode.INVALID_FIELD, "a suspension sent by 131016") or _status(
        ask_centre(node, serial, code), CardStatus.VALID, "after the refused suspension") or \
        next((p for p in (_status(ask_centre(node, serial, other), CardStatus.UNKNOWN,
                                  f"another resident code ({other})")
                          for other in other_codes(code)) if p), None)
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "as expected")


def _restart(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "a suspension acknowledged before a restart answered suspended after it"
    code, serial = random_resident_code(), card_serial(ISSUER)
    problem = _issued(node, serial, code) or _expect(
        _change(node, serial, code, CardStatusChange.SUSPENDED), None, "the suspension")
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    node.restart()
    problem = _status(ask_centre(node, serial, code), CardStatus.SUSPENDED, "after the restart")
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "suspended after the restart")


# The municipality under test ------------------------------------------------------------

def _from_node(node: NodeSut, kind: type, answer: int | None = None
               ) -> tuple[object, JukiPdu, PeerConnection] | str:
    """The next card message of type ``kind`` the node sends to the centre, answered
    (acknowledged, or refused with ``answer``); other card messages are acknowledged
    and skipped."""
    while True:
        got = node.sent_to_peer(peer=CENTRE)
        if got is None:
            return f"no {kind.__name__} to the centre within {node.timeout:g} s"
        conn, pdu = got
        if pdu.sealed is None:
            continue
        message = node.opened(pdu, CENTRE)
        if not isinstance(message, kind):
            node.acknowledge(conn, pdu, CENTRE)
            continue
        if answer is None:
            node.acknowledge(conn, pdu, CENTRE)
        else:
            node.report_error(conn, pdu, CENTRE, answer)
        return message, pdu, conn


def _resident(node: NodeSut) -> str:
    seed = f"conformance:card-register:{secrets.token_hex(8)}"
    node.ok("register_resident", seed=seed)
    return generate_households(1, seed, municipalities=[node.code])[0].head.resident_code


def _application(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = ("card_apply sends a CardApplication naming the node and the resident; a "
                "refused one (5027) issues no card (card_issue with its serial 4012); a "
                "registered one is issued and its CardIssueNotice sent")
    holder = _resident(node)
    first = node.ok("card_apply", residentCode=holder)
    got = _from_node(node, CardApplication, answer=int(ErrorCode.CARD_ALREADY_ISSUED))
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    message = got[0]
    assert isinstance(message, CardApplication)
    if (message.municipality, message.card_serial, message.resident_code) != \
            (node.code, first["serial"], holder):
        return Outcome(Verdict.FAIL, expected, "the CardApplication does not name the "
                       "node, the serial card_apply gave and the resident")
    issued = node.request("card_issue", residentCode=holder, pin=PIN,
                          serial=first["serial"])
    if issued.get("ok") or (issued.get("error") or {}).get("code") != 4012:
        return Outcome(Verdict.FAIL, expected, "card_issue under the refused serial "
                       f"answered {answer_text(issued)}")
    second = node.ok("card_apply", residentCode=holder)
    got = _from_node(node, CardApplication)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    deadline = time.monotonic() + node.timeout
    while not application(node, second["serial"]).get("registered"):
        if time.monotonic() > deadline:
            return Outcome(Verdict.FAIL, expected, "the acknowledged application is not "
                           "registered at the node (card_application)")
        time.sleep(0.05)
    issued = node.request("card_issue", residentCode=holder, pin=PIN,
                          serial=second["serial"])
    if not issued.get("ok"):
        return Outcome(Verdict.FAIL, expected, "card_issue under the registered serial "
                       f"answered {answer_text(issued)}")
    got = _from_node(node, CardIssueNotice)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    if getattr(got[0], "card_serial", None) != second["serial"]:
        return Outcome(Verdict.FAIL, expected, "the CardIssueNotice names another serial")
    return Outcome(Verdict.PASS, expected, "as expected")


def _not_kept(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = ("card_apply and card_issue for a resident code the node does not keep "
                "answered 5001 NO_SUCH_RESIDENT, with no CardApplication or "
                "CardIssueNotice sent to the centre")
    code = random_resident_code()
    for op, mtype, extra in (("card_apply", MessageType.CARD_APPLICATION, {}),
                             ("card_issue", MessageType.CARD_ISSUE_NOTICE, {"pin": PIN})):
        answer = node.request(op, residentCode=code, **extra)
        if answer.get("ok") or (answer.get("error") or {}).get("code") != \
                int(ErrorCode.NO_SUCH_RESIDENT):
            return Outcome(Verdict.FAIL, expected, f"{op} answered {answer_text(answer)}")
        sent = sent_nothing(node, CENTRE, mtype)
        if sent is not None:
            return Outcome(Verdict.FAIL, expected, f"after {op}: {sent}")
    return Outcome(Verdict.PASS, expected, "both refused 5001, nothing sent")


def _refused_issue(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = ("a card issued in one step whose CardIssueNotice the centre refuses 5027 "
                "is refused 4012 at the issuer's own counter (card_verify with its PIN)")
    holder = _resident(node)
    serial = node.ok("card_issue", residentCode=holder, pin=PIN)["serial"]
    got = _from_node(node, CardIssueNotice, answer=int(ErrorCode.CARD_ALREADY_ISSUED))
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    deadline = time.monotonic() + node.timeout
    while True:
        answer = node.request("card_verify", serial=serial, pin=PIN)
        code = (answer.get("error") or {}).get("code")
        if not answer.get("ok") and code == int(ErrorCode.CARD_NOT_ACTIVE):
            return Outcome(Verdict.PASS, expected, "refused 4012")
        if time.monotonic() > deadline:
            return Outcome(Verdict.FAIL, expected, f"card_verify answered {answer_text(answer)} "
                           f"{node.timeout:g} s after the refusal")
        time.sleep(0.05)


def _notices(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = ("a CardIssueNotice for the card handed over, then a CardStatusNotice "
                "suspended, resumed and lost, each for its serial and holder")
    holder = _resident(node)
    serial = node.ok("card_issue", residentCode=holder, pin=PIN)["serial"]
    got = _from_node(node, CardIssueNotice)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    for op, change in (("card_suspend", CardStatusChange.SUSPENDED),
                       ("card_resume", CardStatusChange.RESUMED),
                       ("card_report_lost", CardStatusChange.LOST)):
        node.ok(op, serial=serial)
        notice = _from_node(node, CardStatusNotice)
        if isinstance(notice, str):
            return Outcome(Verdict.FAIL, expected, f"after {op}: {notice}")
        message = notice[0]
        assert isinstance(message, CardStatusNotice)
        if (message.card_serial, message.resident_code, message.change) != \
                (serial, holder, change):
            return Outcome(Verdict.FAIL, expected, f"after {op} the notice says "
                           f"{message.change.value} of another card or holder")
    return Outcome(Verdict.PASS, expected, "as expected")


def _checked(node: NodeSut, serial: str, code: str, status: CardStatus,
             issuer: str = ELSEWHERE) -> str | tuple[str]:
    """``card_check`` of card ``serial`` holding ``code`` at the node, the query read
    and answered ``status`` as the centre: the check's message id (a 1-tuple), or what
    went wrong."""
    mid = node.ok("card_check", serial=serial, residentCode=code)["messageId"]
    got = _from_node(node, CardStatusQuery)
    if isinstance(got, str):
        return got
    query, qpdu, _ = got
    assert isinstance(query, CardStatusQuery)
    if (query.card_serial, query.resident_code) != (serial, code):
        return "the query names another card or code"
    answer = CardStatusAnswer(card_serial=serial, status=status,
                              issuing_municipality=issuer,
                              valid_until=node.node_now().date() + dt.timedelta(days=900))
    conn = node.connect(CENTRE)
    try:
        aid, pdu = node.sealed(answer, sender=CENTRE, header_changes={
            "correlation_id": qpdu.header.message_id})
        conn.send(pdu)
        ack = conn.answer_to(aid)
    finally:
        conn.close()
    if ack is None or ack.acknowledgement is None:
        return f"the answer got {describe(ack)}"
    return (str(mid),)


def _presented(status: CardStatus, refusal: int | None) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        node.drain(CENTRE)
        expected = (f"the node asks the centre about a card of 131016 it never saw, and "
                    f"on the answer {status.value} the card is "
                    + ("taken" if refusal is None else f"refused {refusal}"))
        checked = _checked(node, card_serial(ELSEWHERE), random_resident_code(), status)
        if isinstance(checked, str):
            return Outcome(Verdict.FAIL, expected, checked)
        result = node.ok("card_check_result", messageId=checked[0])
        if result.get("usable") is not (refusal is None) or result.get("refusal") != refusal:
            return Outcome(Verdict.FAIL, expected, f"card_check_result said usable "
                           f"{result.get('usable')}, refusal {result.get('refusal')}")
        return Outcome(Verdict.PASS, expected, "as expected")
    return run


def _special_move_in(status: CardStatus, refusal: int | None
                     ) -> Callable[[AdapterSut], Outcome]:
    """A special move-in filed with a card of the former municipality (the runner's),
    after the centre answered the card's check ``status``."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        peer = node.peer_municipality
        node.drain(CENTRE)
        node.drain(peer)
        expected = (f"a special move-in filed with a card of {peer} that the centre "
                    f"answers {status.value}: "
                    + (f"the SpecialMoveInNotice sent to {peer}" if refusal is None
                       else f"refused {refusal}, no notice sent"))
        people = peer_household(node)
        holder = people[0].resident_code
        checked = _checked(node, card_serial(peer), holder, status, issuer=peer)
        if isinstance(checked, str):
            return Outcome(Verdict.FAIL, expected, checked)
        today = node_today(node)
        answer = node.request("special_move_in", cardCheck=checked[0], **move_in_fields(
            node, people, today - dt.timedelta(days=2), today))
        if refusal is not None:
            sent = sent_nothing(node, peer, MessageType.SPECIAL_MOVE_IN_NOTICE)
            if sent is not None:
                return Outcome(Verdict.FAIL, expected, sent)
            code = (answer.get("error") or {}).get("code")
            if answer.get("ok") or code != refusal:
                return Outcome(Verdict.FAIL, expected, f"special_move_in answered "
                               f"{answer_text(answer)}")
            return Outcome(Verdict.PASS, expected, f"refused {refusal}, nothing sent")
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"special_move_in answered "
                           f"{answer_text(answer)}")
        got = special_move_in_notice(node, str(answer["messageId"]))
        if isinstance(got, str):
            return Outcome(Verdict.FAIL, expected, got)
        (conn, pdu), _ = got
        node.report_error(conn, pdu, peer, int(CLOSE_CODE))
        return Outcome(Verdict.PASS, expected, "the notice was sent")
    return run


def card_register_cases() -> list[Case]:
    """The cases of this module (a national or a municipality SUT)."""
    def case(cid: str, title: str, reqs: tuple[str, ...],
             run: Callable[[AdapterSut], Outcome], role: str, needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause="30-44", requirements=reqs,
                        level="MUST", remediation=REM_CENTRE if role == "national"
                        else REM_MUNI, mode="node", ops=(), run=run, role=role,
                        needs=needs)
    return [
        case("30-44/node/register/duplicate-application-refused",
             "a second application for a resident holding a card is refused 5027, from "
             "the issuer and from another municipality", ("R-CARDREG-02", "R-CARDREG-06"),
             _duplicate, "national"),
        case("30-44/node/register/suspended-card-answered-elsewhere",
             "a card suspended, resumed and reported lost by its issuer is answered so at "
             "another municipality; a lost card is never resumed (4014)",
             ("R-CARDREG-03", "R-CARDREG-04", "R-CARDREG-06"), _suspended, "national"),
        case("30-44/node/register/only-the-issuer-changes-a-card",
             "a suspension sent by another municipality than the issuer is refused 1024; "
             "a query with another resident code is answered unknown",
             ("R-CARDREG-01", "R-CARDREG-04", "R-CARDREG-06"), _not_issuer, "national"),
        case("30-44/node/register/survives-a-restart",
             "a suspension acknowledged before a restart is answered after it",
             ("R-CARDREG-03",), _restart, "national", needs="ixit.restart"),
        case("30-44/node/municipality/application-before-issue",
             "the node registers each application with the centre and issues only a "
             "registered card", ("R-CARDREG-01",), _application, "municipality"),
        case("30-44/node/municipality/card-only-for-a-kept-resident",
             "a card is applied for and issued only for a resident the node keeps: "
             "5001 otherwise, and nothing is sent", ("R-30-44-0-01", "R-CARDREG-01"),
             _not_kept, "municipality"),
        case("30-44/node/municipality/refused-issue-not-taken-at-home",
             "a card whose issue notice the centre refused 5027 is refused 4012 at the "
             "issuer's own counter", ("R-CARDREG-08", "R-CARDREG-02"), _refused_issue,
             "municipality"),
        case("30-44/node/municipality/issue-and-status-notices",
             "the node tells the centre of each handover, suspension, resumption and loss",
             ("R-CARDREG-03",), _notices, "municipality"),
        case("30-44/node/municipality/suspended-card-refused",
             "a card the centre answers suspended is refused 4011, though the node never "
             "saw it", ("R-CARDREG-07",), _presented(CardStatus.SUSPENDED, 4011),
             "municipality"),
        case("30-44/node/municipality/lost-card-refused",
             "a card the centre answers lost is refused 4014",
             ("R-CARDREG-07",), _presented(CardStatus.LOST, 4014), "municipality"),
        case("30-44/node/municipality/valid-card-taken",
             "a card the centre answers valid is taken", ("R-CARDREG-07",),
             _presented(CardStatus.VALID, None), "municipality"),
        case("30-44/node/municipality/special-move-in-with-a-suspended-card",
             "a special move-in filed with a card the centre answers suspended is "
             "refused 4011 and no notice is sent, though the node never saw the card",
             ("R-CARDREG-07", "R-24-2-1-01"), _special_move_in(CardStatus.SUSPENDED, 4011),
             "municipality"),
        case("30-44/node/municipality/special-move-in-with-a-lost-card",
             "a special move-in filed with a card the centre answers lost is refused "
             "4014 and no notice is sent", ("R-CARDREG-07", "R-24-2-1-01"),
             _special_move_in(CardStatus.LOST, 4014), "municipality"),
        case("30-44/node/municipality/special-move-in-with-a-valid-card",
             "a special move-in filed with a card the centre answers valid sends its "
             "notice", ("R-CARDREG-07", "R-24-2-1-01"),
             _special_move_in(CardStatus.VALID, None), "municipality"),
    ]


__all__ = ["card_register_cases"]
