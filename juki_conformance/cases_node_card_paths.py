"""Node-mode cases on the paths of a municipality's resident cards (spec/node.md sections
4.2 and 4.6, R-CARD-01, R-CARD-02; spec/card_register.md, R-CARDREG-01, R-CARDREG-07,
R-PDU-18, R-PDU-23): what the municipality's record says after every step, the codes of
the transitions its state does not allow, and its notifier's answers from the centre.

The PIN cases of :mod:`juki_conformance.cases_node_card_pin` read the card's status word
only. A node whose record of the card (``card_state``, the ``cardState`` of every answer)
does not follow the chip passes them: one that counts a wrong PIN twice or not at all,
locks one PIN late, leaves the count after a right PIN or the municipality's reset, or
lets a refused transition through. Here the record is read after every PIN and reset,
every lifecycle op is tried in the states that refuse it, and an unknown serial is 5001
for every op.

The municipality's notifier is driven by the runner playing the centre DC01: a
CardStatusAnswer naming another card, correlated with an application instead of a
query, or answering a query already answered is a stray answer (4002) and changes no
verdict; an answer ``revoked``, ``expired`` or ``unknown`` refuses the card 4012; an
acknowledgement and a refusal of the same notice, sent together, settle it by the
first only; an application left unanswered is sent again with its message id once the
retry interval passes and after a restart, and no more once acknowledged.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.card_steps import (
    answer_text,
    application,
    card_serial,
    error_code,
    random_resident_code,
)
from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.flow_steps import QUIET
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatus,
    CardStatusAnswer,
    CardStatusQuery,
)
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    ErrorReport,
    JukiPdu,
)

CENTRE, ELSEWHERE = "DC01", "131016"
PIN, WRONG_PIN = "3864", "0000"
#: R-TIME-06: the days from a card's handover to the last day of its validity.
VALIDITY_DAYS = 3652
#: How long the runner lets the node take an answer it is not told of.
SETTLE = 0.5
_RNG = random.SystemRandom()

REM_RECORD = (
    "Keep the municipality's record of each card in step with the chip: each wrong PIN "
    "lowers retriesLeft by one, the third consecutive one locks the card (cardState "
    "locked, retriesLeft 0), a right PIN and the municipality's reset give three tries "
    "again; refuse a lifecycle op the card's state does not allow with the card table's "
    "code (4001, 4010, 4011, 4012) and an unknown serial with 5001, changing nothing "
    "(spec/node.md sections 4.2 and 4.6).")
REM_NOTIFIER = (
    "Take a CardStatusAnswer only from the centre, correlated with a query of the node "
    "that is not answered yet and naming the card asked about; refuse any other with "
    "4002 and change no verdict (R-PDU-18). Refuse a card the centre does not answer "
    "valid (4011, 4014, else 4012; R-CARDREG-07). Settle each notice by the first "
    "acknowledgement or refusal of it; resend it with its own message id every retry "
    "interval and after a restart until then (R-PDU-23).")


# Shared steps ---------------------------------------------------------------------------


def _resident(node: NodeSut) -> str:
    seed = f"conformance:card-paths:{secrets.token_hex(8)}"
    node.ok("register_resident", seed=seed)
    return generate_households(1, seed, municipalities=[node.code])[0].head.resident_code


def _card(node: NodeSut) -> str:
    return str(node.ok("card_issue", residentCode=_resident(node), pin=PIN)["serial"])


def _record(node: NodeSut, serial: str) -> tuple[object, object]:
    got = node.request("card_state", serial=serial)
    if not got.get("ok"):
        raise SutFault(f"card_state answered {answer_text(got)}")
    return got.get("cardState"), got.get("retriesLeft")


# The municipality's record of a card ---------------------------------------------------

#: (op, pin or ``by``, status word or the error code expected, confirmed, cardState,
#: retriesLeft) in turn.
Step = tuple[str, str, "str | int", bool, str, int]
STEPS: tuple[Step, ...] = (
    ("card_verify", WRONG_PIN, "63C2", False, "active", 2),
    ("card_verify", WRONG_PIN, "63C1", False, "active", 1),
    ("card_verify", PIN, "9000", True, "active", 3),
    ("card_verify", WRONG_PIN, "63C2", False, "active", 2),
    ("card_verify", WRONG_PIN, "63C1", False, "active", 1),
    ("card_verify", WRONG_PIN, "63C0", False, "locked", 0),
    ("card_verify", PIN, "6983", False, "locked", 0),
    ("card_unlock", "holder", "6982", False, "locked", 0),
    ("card_verify", PIN, "6983", False, "locked", 0),
    ("card_unlock", "municipality", "9000", False, "active", 3),
    ("card_verify", WRONG_PIN, "63C2", False, "active", 2),
    ("card_verify", PIN, "9000", True, "active", 3),
)
#: Through suspensions (R-CARD-04): a PIN tried on a suspended card counts, a reset of a
#: suspended card is refused 4011, lifting a suspension keeps the count (locked again
#: after a block), and the municipality's reset of an active card gives three tries.
SUSPENDED_STEPS: tuple[Step, ...] = (
    ("card_verify", WRONG_PIN, "63C2", False, "active", 2),
    ("card_suspend", "", "", False, "suspended", 2),
    ("card_unlock", "municipality", int(ErrorCode.CARD_SUSPENDED), False, "suspended", 2),
    ("card_verify", WRONG_PIN, "63C1", False, "suspended", 1),
    ("card_verify", PIN, "9000", False, "suspended", 3),
    ("card_verify", WRONG_PIN, "63C2", False, "suspended", 2),
    ("card_resume", "", "", False, "active", 2),
    ("card_unlock", "municipality", "9000", False, "active", 3),
    ("card_verify", WRONG_PIN, "63C2", False, "active", 2),
    ("card_verify", WRONG_PIN, "63C1", False, "active", 1),
    ("card_verify", WRONG_PIN, "63C0", False, "locked", 0),
    ("card_suspend", "", "", False, "suspended", 0),
    ("card_resume", "", "", False, "locked", 0),
    ("card_verify", PIN, "6983", False, "locked", 0),
    ("card_suspend", "", "", False, "suspended", 0),
    ("card_verify", PIN, "6983", False, "suspended", 0),
    ("card_resume", "", "", False, "locked", 0),
    ("card_unlock", "municipality", "9000", False, "active", 3),
    ("card_verify", PIN, "9000", True, "active", 3),
)


def _record_follows(steps: tuple[Step, ...], expected: str
                    ) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        return _follow(node_sut(sut), steps, expected)
    return run


def _follow(node: NodeSut, steps: tuple[Step, ...], expected: str) -> Outcome:
    holder = _resident(node)
    serial = str(node.ok("card_issue", residentCode=holder, pin=PIN)["serial"])
    if _record(node, serial) != ("active", 3):
        return Outcome(Verdict.FAIL, expected, f"the new card's record is "
                       f"{_record(node, serial)}, not active with 3 tries")
    for i, (op, arg, sw, confirmed, state, left) in enumerate(steps, 1):
        field = {"pin": arg} if op == "card_verify" else {"by": arg} if arg else {}
        got = node.request(op, serial=serial, **field)
        if isinstance(sw, int) or not got.get("ok"):
            if error_code(got) != sw:
                return Outcome(Verdict.FAIL, expected, f"step {i} ({op}) answered "
                               f"{answer_text(got)}, expected {sw or 'ok'}")
            record = _record(node, serial)
            if record != (state, left):
                return Outcome(Verdict.FAIL, expected, f"after step {i} ({op}, refused) "
                               f"card_state says {record[0]} with {record[1]} tries; "
                               f"expected {state} with {left}")
            continue
        said = (str(got.get("sw", "")).upper(), got.get("cardState"))
        if said != (sw, state) or (op == "card_verify"
                                   and bool(got.get("confirmed")) != confirmed):
            what = arg if op == "card_unlock" else "right" if arg == PIN else "wrong"
            return Outcome(Verdict.FAIL, expected, f"step {i} ({op} {what}) "
                           f"answered {said[0]}, card {said[1]}, confirmed "
                           f"{got.get('confirmed')}; expected {sw}, card {state}")
        read = got.get("residentCode")
        if op == "card_verify" and read != (holder if confirmed else None):
            said_code = "none" if read is None else \
                "the holder's" if read == holder else "another code"
            want = "the holder's" if confirmed else "none"
            return Outcome(Verdict.FAIL, expected, f"step {i} ({op}) answered "
                           f"residentCode {said_code}; expected {want} (R-CARD-03)")
        record = _record(node, serial)
        if record != (state, left):
            return Outcome(Verdict.FAIL, expected, f"after step {i} ({op}) card_state "
                           f"says {record[0]} with {record[1]} tries; expected {state} "
                           f"with {left}")
    return Outcome(Verdict.PASS, expected, "the record followed every step")


EXPECTED_PINS = ("after every PIN and reset, the answer's status word and cardState and "
                 "card_state's retriesLeft: wrong 2, 1, right 3, wrong 2, 1, 0 locked, the "
                 "holder's reset still locked, the municipality's 3 active; the holder's "
                 "residentCode read from the card with each confirmed PIN, none otherwise")
EXPECTED_SUSPENDED = (
    "through suspensions, card_state's retriesLeft follows the chip: a wrong PIN on a "
    "suspended card counts (never confirmed), the municipality's reset of a suspended card "
    "is refused 4011 changing nothing, lifting the suspension keeps the count (a card "
    "blocked before or during it is locked again), the reset of an active card gives 3")


def _refused_ops(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = ("card_resume of an active card 4001; a suspended card suspended again "
                "4011 and not confirmed with the right PIN; resumed, it confirms again; "
                "a revoked card not confirmed and every op on it 4012; a locked card "
                "resumed 4010; every op of an unknown serial 5001")
    first, second = _card(node), _card(node)
    plan: list[tuple[str, str, dict[str, Any], int | None, str | None]] = [
        ("card_resume", first, {}, int(ErrorCode.UNEXPECTED_MESSAGE), "active"),
        ("card_suspend", first, {}, None, "suspended"),
        ("card_suspend", first, {}, int(ErrorCode.CARD_SUSPENDED), "suspended"),
        ("card_verify", first, {"pin": PIN}, None, "suspended"),
        ("card_resume", first, {}, None, "active"),
        ("card_verify", first, {"pin": PIN}, None, "active"),
        ("card_revoke", first, {}, None, "revoked"),
        ("card_verify", first, {"pin": PIN}, None, "revoked"),
        ("card_resume", first, {}, int(ErrorCode.CARD_NOT_ACTIVE), "revoked"),
        ("card_suspend", first, {}, int(ErrorCode.CARD_NOT_ACTIVE), "revoked"),
        ("card_revoke", first, {}, int(ErrorCode.CARD_NOT_ACTIVE), "revoked"),
        ("card_report_lost", first, {}, int(ErrorCode.CARD_NOT_ACTIVE), "revoked"),
    ]
    plan += [("card_verify", second, {"pin": WRONG_PIN}, None, None)] * 3
    plan += [("card_resume", second, {}, int(ErrorCode.CARD_LOCKED), "locked"),
             ("card_report_lost", second, {}, None, "revoked")]
    unknown = f"{node.code}-{_RNG.randrange(10 ** 12):012d}9"
    plan += [(op, unknown, extra, int(ErrorCode.NO_SUCH_RESIDENT), None) for op, extra in (
        ("card_state", {}), ("card_verify", {"pin": PIN}), ("card_unlock", {}),
        ("card_suspend", {}), ("card_resume", {}), ("card_revoke", {}))]
    for op, serial, extra, code, state in plan:
        got = node.request(op, serial=serial, **extra)
        if error_code(got) != code:
            return Outcome(Verdict.FAIL, expected, f"{op} of the "
                           f"{'unknown' if serial == unknown else 'card'} ({state or ''}) "
                           f"answered {answer_text(got)}, expected "
                           f"{'ok' if code is None else code}")
        if op == "card_verify" and code is None and state is not None and \
                bool(got.get("confirmed")) != (state == "active"):
            return Outcome(Verdict.FAIL, expected, f"the right PIN on a {state} card: "
                           f"confirmed {got.get('confirmed')}")
        if state is not None and serial != unknown and _record(node, serial)[0] != state:
            return Outcome(Verdict.FAIL, expected, f"after {op} card_state says "
                           f"{_record(node, serial)[0]}, expected {state}")
    node.drain(CENTRE)
    return Outcome(Verdict.PASS, expected, "each op answered as the card table says")


# The municipality's notifier, the runner the centre ------------------------------------

def _from_node(node: NodeSut, kind: type) -> tuple[object, JukiPdu, PeerConnection] | str:
    """The next card message of type ``kind`` the node sends to the centre, not
    answered; other messages are acknowledged and skipped."""
    while True:
        got = node.sent_to_peer(peer=CENTRE)
        if got is None:
            return f"no {kind.__name__} to the centre within {node.timeout:g} s"
        conn, pdu = got
        if pdu.sealed is None:
            continue
        message = node.opened(pdu, CENTRE)
        if isinstance(message, kind):
            return message, pdu, conn
        node.acknowledge(conn, pdu, CENTRE)


def _query(node: NodeSut, serial: str, code: str) -> tuple[str, bytes] | str:
    """``card_check`` of ``serial`` holding ``code``; its query acknowledged: the check's
    messageId and the query's message id, or what went wrong."""
    mid = str(node.ok("card_check", serial=serial, residentCode=code)["messageId"])
    got = _from_node(node, CardStatusQuery)
    if isinstance(got, str):
        return got
    node.acknowledge(got[2], got[1], CENTRE)
    return mid, got[1].header.message_id


def _answer(node: NodeSut, answer: CardStatusAnswer, correlation: bytes,
            sender: str = CENTRE) -> JukiPdu | None:
    conn = node.connect(sender)
    try:
        aid, pdu = node.sealed(answer, sender=sender,
                               header_changes={"correlation_id": correlation})
        conn.send(pdu)
        return conn.answer_to(aid)
    finally:
        conn.close()


def _result(node: NodeSut, mid: str) -> tuple[object, object, object]:
    got = node.ok("card_check_result", messageId=mid)
    return got.get("status"), got.get("usable"), got.get("refusal")


def _known(serial: str, status: CardStatus, issuer: str) -> CardStatusAnswer:
    if status is CardStatus.UNKNOWN:
        return CardStatusAnswer(card_serial=serial, status=status)
    return CardStatusAnswer(card_serial=serial, status=status, issuing_municipality=issuer,
                            valid_until=dt.date.today() + dt.timedelta(days=700))


def _stray_answers(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = ("answers naming another card, from a municipality instead of the centre, "
                "or correlated with an application refused (an error report, 4002 for the "
                "first and last) with the check still unanswered; the centre's answer "
                "valid taken; a second answer (suspended) 4002, the check still valid")
    serial = f"{ELSEWHERE}-5{_RNG.randrange(10 ** 9):09d}"
    code = random_resident_code()
    asked = _query(node, serial, code)
    if isinstance(asked, str):
        return Outcome(Verdict.FAIL, expected, asked)
    mid, qid = asked
    node.ok("card_apply", residentCode=_resident(node))
    applied = _from_node(node, CardApplication)
    if isinstance(applied, str):
        return Outcome(Verdict.FAIL, expected, applied)
    node.acknowledge(applied[2], applied[1], CENTRE)
    # Another card whose serial sorts before the one asked about, and one after it.
    strays: list[tuple[str, CardStatusAnswer, bytes, str, ErrorCode | None]] = [
        (f"an answer naming another card (its serial sorting {side})",
         _known(serial[:7] + digit + serial[8:], CardStatus.VALID, ELSEWHERE), qid,
         CENTRE, ErrorCode.UNKNOWN_CORRELATION)
        for side, digit in (("before", "4"), ("after", "6"))]
    strays += [
        ("an answer from 131016, not the centre", _known(serial, CardStatus.VALID,
                                                         ELSEWHERE), qid, ELSEWHERE, None),
        ("an answer correlated with the node's CardApplication",
         _known(serial, CardStatus.VALID, ELSEWHERE), applied[1].header.message_id, CENTRE,
         ErrorCode.UNKNOWN_CORRELATION)]
    for what, answer, correlation, sender, code_wanted in strays:
        got = _answer(node, answer, correlation, sender)
        refused = got is not None and got.error_report is not None and (
            code_wanted is None or got.error_report.error_code == int(code_wanted))
        if not refused:
            return Outcome(Verdict.FAIL, expected, f"{what} answered {describe(got)}")
        if _result(node, mid)[0] is not None:
            return Outcome(Verdict.FAIL, expected, f"after {what} the check says the "
                           f"centre answered {_result(node, mid)[0]}")
    got = _answer(node, _known(serial, CardStatus.VALID, ELSEWHERE), qid)
    if got is None or got.acknowledgement is None:
        return Outcome(Verdict.FAIL, expected, f"the centre's answer got {describe(got)}")
    if _result(node, mid) != ("valid", True, None):
        return Outcome(Verdict.FAIL, expected, f"the valid answer: {_result(node, mid)}")
    got = _answer(node, _known(serial, CardStatus.SUSPENDED, ELSEWHERE), qid)
    if got is None or got.error_report is None or \
            got.error_report.error_code != int(ErrorCode.UNKNOWN_CORRELATION):
        return Outcome(Verdict.FAIL, expected, f"a second answer got {describe(got)}")
    if _result(node, mid) != ("valid", True, None):
        return Outcome(Verdict.FAIL, expected, f"after a second answer (suspended) the "
                       f"check says {_result(node, mid)}")
    return Outcome(Verdict.PASS, expected, "as expected")


def _other_statuses(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = "a card the centre answers revoked, expired or unknown refused 4012"
    for status in (CardStatus.REVOKED, CardStatus.EXPIRED, CardStatus.UNKNOWN):
        serial = card_serial(ELSEWHERE)
        asked = _query(node, serial, random_resident_code())
        if isinstance(asked, str):
            return Outcome(Verdict.FAIL, expected, asked)
        got = _answer(node, _known(serial, status, ELSEWHERE), asked[1])
        if got is None or got.acknowledgement is None:
            return Outcome(Verdict.FAIL, expected, f"the answer {status.value} got "
                           f"{describe(got)}")
        result = _result(node, asked[0])
        if result != (status.value, False, int(ErrorCode.CARD_NOT_ACTIVE)):
            return Outcome(Verdict.FAIL, expected, f"on the answer {status.value} the check "
                           f"says status {result[0]}, usable {result[1]}, refusal {result[2]}")
    return Outcome(Verdict.PASS, expected, "refused 4012 each time")


def _two_answers(node: NodeSut, conn: PeerConnection, pdu: JukiPdu, first_ack: bool) -> None:
    """An acknowledgement and a refusal (5027) of ``pdu`` in one write, ``first_ack``
    deciding which comes first."""
    ack = node.answer_pdu(Acknowledgement(acknowledged_id=pdu.header.message_id,
                                          status=AckStatus.ACCEPTED), CENTRE)
    refusal = node.answer_pdu(ErrorReport(error_code=int(ErrorCode.CARD_ALREADY_ISSUED),
                                          refers_to=pdu.header.message_id), CENTRE)
    frames = [len(pdu).to_bytes(4, "big") + pdu for pdu in (ack, refusal)]
    conn.send_raw(b"".join(frames if first_ack else frames[::-1]))   # R-PDU-12 frames
    time.sleep(SETTLE)


def _answered_twice(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = ("a CardIssueNotice acknowledged then refused 5027: the card still "
                "confirmed with its PIN; no card under an application not yet answered "
                "(4012); a CardApplication refused 5027 then "
                "acknowledged: refused:5027, not registered, card_issue under it 4012")
    holder = _resident(node)
    serial = str(node.ok("card_issue", residentCode=holder, pin=PIN)["serial"])
    got = _from_node(node, CardIssueNotice)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    _two_answers(node, got[2], got[1], first_ack=True)
    used = node.request("card_verify", serial=serial, pin=PIN)
    if not used.get("ok") or used.get("confirmed") is not True:
        return Outcome(Verdict.FAIL, expected, "the card whose notice was acknowledged "
                       f"first: card_verify answered {answer_text(used)}, confirmed "
                       f"{used.get('confirmed')}")
    second = str(node.ok("card_apply", residentCode=_resident(node))["serial"])
    got = _from_node(node, CardApplication)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    early = node.request("card_issue", residentCode=holder, pin=PIN, serial=second)
    if error_code(early) != int(ErrorCode.CARD_NOT_ACTIVE):
        return Outcome(Verdict.FAIL, expected, f"card_issue under an application not yet "
                       f"answered answered {answer_text(early)}")
    _two_answers(node, got[2], got[1], first_ack=False)
    deadline = time.monotonic() + node.timeout
    while (state := application(node, second)).get("state") == "pending" \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    if (state.get("state"), state.get("registered")) != ("refused:5027", False):
        return Outcome(Verdict.FAIL, expected, f"the application refused first is "
                       f"{state.get('state')}, registered {state.get('registered')}")
    issued = node.request("card_issue", residentCode=holder, pin=PIN, serial=second)
    if error_code(issued) != int(ErrorCode.CARD_NOT_ACTIVE):
        return Outcome(Verdict.FAIL, expected, f"card_issue under the refused serial "
                       f"answered {answer_text(issued)}")
    return Outcome(Verdict.PASS, expected, "each settled by its first answer")


def _resent_with(node: NodeSut, mid: bytes, within: float) -> tuple[PeerConnection,
                                                                     JukiPdu] | None:
    """The node's CardApplication with id ``mid`` within ``within`` s; other messages
    to the centre are acknowledged."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left, peer=CENTRE)
        if got is None:
            return None
        if got[1].sealed is None:
            continue
        if got[1].header.message_id == mid:
            return got
        node.acknowledge(got[0], got[1], CENTRE)
    return None


def _application_resent(restart: bool) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        node.drain(CENTRE)
        how = "after a restart" if restart else "once the retry interval passed"
        expected = (f"a CardApplication left unanswered sent again {how} with its message "
                    "id and content; acknowledged, it is registered"
                    + ("" if restart else " and not sent again"))
        serial = str(node.ok("card_apply", residentCode=_resident(node))["serial"])
        got = _from_node(node, CardApplication)
        if isinstance(got, str):
            return Outcome(Verdict.FAIL, expected, got)
        mid, der = got[1].header.message_id, codec.encode(got[0])
        if restart:
            node.restart()
        else:
            node.clock_advance(node.retry_interval + 1)
        again = _resent_with(node, mid, node.timeout)
        if again is None:
            return Outcome(Verdict.FAIL, expected, f"the application was not sent again "
                           f"{how} with its message id")
        if codec.encode(node.opened(again[1], CENTRE)) != der:
            return Outcome(Verdict.FAIL, expected, "the application sent again differs")
        node.acknowledge(again[0], again[1], CENTRE)
        deadline = time.monotonic() + node.timeout
        while not application(node, serial).get("registered"):
            if time.monotonic() > deadline:
                return Outcome(Verdict.FAIL, expected, "the acknowledged application is "
                               "not registered (card_application)")
            time.sleep(0.05)
        if not restart:
            node.clock_advance(node.retry_interval + 1)
            if _resent_with(node, mid, QUIET) is not None:
                return Outcome(Verdict.FAIL, expected, "the acknowledged application was "
                               "sent again")
        return Outcome(Verdict.PASS, expected, "as expected")
    return run


def _validity(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = (f"the CardIssueNotice of a card handed over today (in Japan) has issueDate "
                f"today and validUntil {VALIDITY_DAYS} days on")
    before = (node.node_now() + dt.timedelta(hours=9)).date()
    node.ok("card_issue", residentCode=_resident(node), pin=PIN)
    after = (node.node_now() + dt.timedelta(hours=9)).date()
    got = _from_node(node, CardIssueNotice)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    node.acknowledge(got[2], got[1], CENTRE)
    notice = got[0]
    assert isinstance(notice, CardIssueNotice)
    if notice.issue_date not in (before, after) or \
            notice.valid_until != notice.issue_date + dt.timedelta(days=VALIDITY_DAYS):
        return Outcome(Verdict.FAIL, expected, f"issueDate {notice.issue_date}, validUntil "
                       f"{notice.valid_until} (today {after})")
    return Outcome(Verdict.PASS, expected, "as expected")


def card_paths_cases() -> list[Case]:
    """The cases of this module (a municipality SUT)."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...],
             run: Callable[[AdapterSut], Outcome], needs: str = "",
             level: str = "MUST") -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs, level=level,
                        remediation=REM_RECORD if clause == "card" else REM_NOTIFIER,
                        mode="node", ops=(), run=run, role="municipality", needs=needs)
    return [
        case("card/node/paths/record-follows-every-pin",
             "the record's state and tries left after every PIN and reset",
             "card", ("R-CARD-01", "R-CARD-02", "R-CARD-03"),
             _record_follows(STEPS, EXPECTED_PINS)),
        case("card/node/paths/record-follows-the-chip-through-suspensions",
             "the record's state and tries left follow the chip through suspensions, "
             "resumptions and resets", "card", ("R-CARD-04", "R-CARD-01"),
             _record_follows(SUSPENDED_STEPS, EXPECTED_SUSPENDED)),
        case("card/node/paths/refused-transitions-keep-their-codes",
             "lifecycle ops a card's state does not allow answer the card table's code; "
             "an unknown serial is 5001", "card", ("R-24-2-1-01", "R-CARD-01"),
             _refused_ops),
        case("30-44/node/municipality/stray-card-answers-refused",
             "answers naming another card, from another node, to an application or to an "
             "answered query are stray (4002)", "30-44", ("R-PDU-18", "R-CARDREG-07"),
             _stray_answers),
        case("30-44/node/municipality/other-statuses-refused",
             "a card the centre answers revoked, expired or unknown is refused 4012",
             "30-44", ("R-CARDREG-07",), _other_statuses),
        case("30-44/node/municipality/notice-settled-by-its-first-answer",
             "an acknowledgement and a refusal of the same notice: the first settles it",
             "30-44", ("R-PDU-23", "R-CARDREG-01", "R-CARDREG-08"), _answered_twice),
        case("30-44/node/municipality/application-resent-until-acknowledged",
             "an unanswered application is resent with its id every retry interval, and "
             "not once acknowledged", "30-44", ("R-PDU-23", "R-CARDREG-03"),
             _application_resent(False), needs="ixit.clock"),
        case("30-44/node/municipality/application-resent-after-restart",
             "an unanswered application is resent with its id after a restart",
             "30-44", ("R-PDU-23", "R-CARDREG-03"), _application_resent(True),
             needs="ixit.restart"),
        case("30-44/node/municipality/issue-notice-validity",
             "the CardIssueNotice gives today as issueDate and 3652 days on as validUntil",
             "30-44", ("R-TIME-06",), _validity, level="SHOULD"),
    ]


__all__ = ["card_paths_cases"]
