"""Node-mode cases on a municipality's resident cards across restarts and failed commits
(spec/node.md sections 4.2 and 4.6, R-CARD-01, R-CARD-02, R-CARD-04, R-24-2-1-01, R-NODE-52,
R-NODE-19): the municipality's record of each card and the chip, read after a restart
between any two steps of a card's life, with several residents' cards of which only
one changes, and after a step whose commit failed.

The restart cases of :mod:`juki_conformance.cases_node_register` read the status word of
one card after one restart. A node that keeps the chip but not its record passes them:
one that restores the count of wrong PINs on the chip but not in ``card_state`` (so that
the record stays active when the chip blocks), forgets a reset or a resumption made
just before the restart, restores a revoked card as usable, or restores every card as
the last one stored (or with another holder's code). Here a card goes through every
step (wrong PINs, the right one, the block, the holder's and the municipality's reset,
suspension, resumption, revocation, loss) with a restart after each, and ``card_state``
and the next answer are read after every restart; four residents' cards in four states
come back each in its own; and a PIN or a reset whose commit fails leaves the card as it
was before it (9003, nothing kept).

The cases of :mod:`juki_conformance.cases_node_card_paths` resend one application. A
node that resends only the first message pending, every message pending, or one already
acknowledged passes them. Here three applications of the municipality, and two answers
of the centre (the runner playing 271004 and 131016), are acknowledged one at a time:
after each retry interval or restart only those not yet acknowledged come again, each
with its own message id (R-PDU-23).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from collections.abc import Callable

from juki_conformance.card_steps import answer_text, application, error_code, send_as
from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.flow_steps import QUIET
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import new_resident_code
from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatusAnswer,
    CardStatusQuery,
)
from juki_protocol.messages.pdu import JukiPdu, MessageType

PIN, WRONG_PIN = "6147", "0808"
CENTRE, ISSUER, ELSEWHERE = "DC01", "271004", "131016"
NOT_ACTIVE, LOCKED, SUSPENDED = (int(ErrorCode.CARD_NOT_ACTIVE), int(ErrorCode.CARD_LOCKED),
                                 int(ErrorCode.CARD_SUSPENDED))

REM_RESTART = (
    "Keep each card's record and chip (lifecycle state, consecutive wrong PINs on both, "
    "the holder's code, a reset, a suspension, a resumption, a revocation) in durable "
    "storage, committed before the counter answers, and restore every card as it was "
    "stored, each in its own state (spec/node.md sections 4.2 and 4.6, R-NODE-52).")
REM_FAULT = (
    "Commit each change of a card before answering; when the commit fails answer 9003 "
    "STORAGE_FAILURE and keep nothing of the step, in the record nor on the chip, so "
    "that the card is as before it (R-NODE-19, R-NODE-52).")

REM_ANSWERS = (
    "Keep each CardStatusAnswer of the centre until the municipality acknowledges it and "
    "send it again, with its message id, correlation id and content, every retry "
    "interval until then; stop for each answer as soon as it is acknowledged "
    "(R-PDU-23, R-CARDREG-06).")

REM_APPLICATIONS = (
    "Keep each CardApplication until the centre acknowledges it and send it again, with "
    "its message id, every retry interval and after every restart until then, and no "
    "more once acknowledged; take a serial as registered only once its application is "
    "acknowledged (R-PDU-23, R-CARDREG-01).")


# Shared steps ---------------------------------------------------------------------------


def _card(node: NodeSut) -> tuple[str, str]:
    """A new resident's card: (serial, the holder's resident code)."""
    holder = _card_holder(node)
    return str(node.ok("card_issue", residentCode=holder, pin=PIN)["serial"]), holder


def _record(node: NodeSut, serial: str) -> tuple[object, object]:
    got = node.request("card_state", serial=serial)
    if not got.get("ok"):
        return f"card_state answered {answer_text(got)}", None
    return got.get("cardState"), got.get("retriesLeft")


#: One step: (op, its field, the code or status word expected, cardState after it,
#: retriesLeft after it, confirmed). A code is an error of the op; "9000", "63C2"... the
#: status word of a card_verify or card_unlock; "" an op answered ok with no word.
Step = tuple[str, dict[str, str], str, str, int, bool]


def _step(node: NodeSut, serial: str, holder: str, step: Step, when: str) -> str | None:
    """Run ``step``; None if its answer and the record after it are as expected."""
    op, field, want, state, left, confirmed = step
    got = node.request(op, serial=serial, **field)
    what = f"{when}, {op} {next(iter(field.values()), '')}".rstrip()
    if want.isdigit() and len(want) == 4 and want[0] in "45":
        if error_code(got) != int(want):
            return f"{what} answered {answer_text(got)}, expected error {want}"
    elif not got.get("ok"):
        return f"{what} answered {answer_text(got)}"
    elif want and str(got.get("sw", "")).upper() != want:
        return f"{what} answered {got.get('sw')}, expected {want}"
    if op == "card_verify" and got.get("ok"):
        said = (bool(got.get("confirmed")), got.get("residentCode"))
        if said != (confirmed, holder if confirmed else None):
            code = "none" if said[1] is None else "the holder's" if said[1] == holder \
                else "another code"
            return (f"{what} answered confirmed {said[0]} with residentCode {code}; "
                    f"expected confirmed {confirmed}"
                    + (" with the holder's code" if confirmed else ""))
    record = _record(node, serial)
    if record != (state, left):
        return (f"after {what} card_state says {record[0]} with {record[1]} tries; "
                f"expected {state} with {left}")
    return None


def _wrong(sw: str, state: str, left: int) -> Step:
    return ("card_verify", {"pin": WRONG_PIN}, sw, state, left, False)


def _right(sw: str, state: str, left: int) -> Step:
    return ("card_verify", {"pin": PIN}, sw, state, left, sw == "9000" and state == "active")


# A restart after every step -------------------------------------------------------------

#: The PIN path of one card, a restart after each step: the count, a right PIN's reset,
#: the block, the holder's refused reset and the municipality's.
PIN_PATH: tuple[Step, ...] = (
    _wrong("63C2", "active", 2),
    ("card_unlock", {"by": "holder"}, "6982", "active", 2, False),
    _wrong("63C1", "active", 1),
    _right("9000", "active", 3),
    _wrong("63C2", "active", 2),
    _right("9000", "active", 3),
    _wrong("63C2", "active", 2),
    _wrong("63C1", "active", 1),
    _wrong("63C0", "locked", 0),
    _right("6983", "locked", 0),
    ("card_unlock", {"by": "holder"}, "6982", "locked", 0, False),
    ("card_unlock", {"by": "municipality"}, "9000", "active", 3, False),
    _wrong("63C2", "active", 2),
    _right("9000", "active", 3),
)

#: The lifecycle of one card, a restart after each step.
LIFE_PATH: tuple[Step, ...] = (
    ("card_suspend", {}, "", "suspended", 3, False),
    ("card_suspend", {}, str(SUSPENDED), "suspended", 3, False),
    _right("", "suspended", 3),
    ("card_resume", {}, "", "active", 3, False),
    _right("9000", "active", 3),
    _wrong("63C2", "active", 2),
    ("card_suspend", {}, "", "suspended", 2, False),
    ("card_resume", {}, "", "active", 2, False),          # the count kept (R-CARD-04)
    ("card_revoke", {}, "", "revoked", 2, False),
    ("card_resume", {}, str(NOT_ACTIVE), "revoked", 2, False),
    ("card_suspend", {}, str(NOT_ACTIVE), "revoked", 2, False),
    ("card_report_lost", {}, str(NOT_ACTIVE), "revoked", 2, False),
    _right("", "revoked", 2),
)

#: A blocked card: not resumed, the holder's reset refused, then reported lost for good.
LOCKED_PATH: tuple[Step, ...] = (
    _wrong("63C2", "active", 2),
    _wrong("63C1", "active", 1),
    _wrong("63C0", "locked", 0),
    ("card_resume", {}, str(LOCKED), "locked", 0, False),
    ("card_unlock", {"by": "holder"}, "6982", "locked", 0, False),
    ("card_report_lost", {}, "", "revoked", 0, False),
    _right("6983", "revoked", 0),
    ("card_revoke", {}, str(NOT_ACTIVE), "revoked", 0, False),
    ("card_suspend", {}, str(NOT_ACTIVE), "revoked", 0, False),
)


def _path(steps: tuple[Step, ...], every: int) -> Callable[[AdapterSut], Outcome]:
    """Run ``steps`` on a new card, restarting the node after every ``every`` steps
    (and before the first) and reading the record after each restart."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        node.drain(CENTRE)
        expected = ("after each step and after each restart, the step's answer and "
                    "card_state: " + "; ".join(f"{s[0]} {s[2] or 'ok'} -> {s[3]} {s[4]}"
                                              for s in steps))
        serial, holder = _card(node)
        state = ("active", 3)
        for i, step in enumerate(steps):
            if i % every == 0:
                node.restart()
                record = _record(node, serial)
                if record != state:
                    return Outcome(Verdict.FAIL, expected, f"after the restart before step "
                                   f"{i + 1} card_state says {record[0]} with {record[1]} "
                                   f"tries; expected {state[0]} with {state[1]}")
            problem = _step(node, serial, holder, step, f"step {i + 1}")
            if problem:
                return Outcome(Verdict.FAIL, expected, problem)
            state = (step[3], step[4])
        node.drain(CENTRE)
        return Outcome(Verdict.PASS, expected, "the card was as stored after every restart")
    return run


# Several residents' cards ---------------------------------------------------------------

def _several(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = ("four residents' cards, one with two wrong PINs, one blocked, one "
                "suspended, one untouched: after a restart each in its own state and "
                "tries, each confirming only its own holder; a change of one changes no "
                "other; a card issued after the restart has a new serial")
    cards = [_card(node) for _ in range(4)]
    counted, blocked, suspended, untouched = cards
    setup = [(counted, _wrong("63C2", "active", 2)), (counted, _wrong("63C1", "active", 1)),
             *[(blocked, _wrong(sw, st, n)) for sw, st, n in (
                 ("63C2", "active", 2), ("63C1", "active", 1), ("63C0", "locked", 0))],
             (suspended, _wrong("63C2", "active", 2)),
             (suspended, ("card_suspend", {}, "", "suspended", 2, False))]
    for (serial, holder), step in setup:
        problem = _step(node, serial, holder, step, "before the restart")
        if problem:
            raise SutFault(f"the preamble: {problem}")
    node.restart()
    want = {counted: ("active", 1), blocked: ("locked", 0), suspended: ("suspended", 2),
            untouched: ("active", 3)}
    names = {counted: "the card with two wrong PINs", blocked: "the blocked card",
             suspended: "the suspended card", untouched: "the untouched card"}
    for card, state in want.items():
        if _record(node, card[0]) != state:
            got = _record(node, card[0])
            return Outcome(Verdict.FAIL, expected, f"after the restart {names[card]} is "
                           f"{got[0]} with {got[1]} tries; expected {state[0]} with "
                           f"{state[1]}")
    after: list[tuple[tuple[str, str], Step]] = [
        (untouched, _right("9000", "active", 3)),
        (counted, _right("9000", "active", 3)),
        (counted, _wrong("63C2", "active", 2)),
        (blocked, _right("6983", "locked", 0)),
        (blocked, ("card_unlock", {"by": "municipality"}, "9000", "active", 3, False)),
        (blocked, _right("9000", "active", 3)),
        (suspended, ("card_resume", {}, "", "active", 2, False)),
        (suspended, _right("9000", "active", 3)),
        (untouched, ("card_revoke", {}, "", "revoked", 3, False)),
    ]
    for card, step in after:
        problem = _step(node, card[0], card[1], step, f"after the restart, {names[card]}")
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        want[card] = (step[3], step[4])
        for other in cards:
            got = _record(node, other[0])
            if other != card and got != want[other]:
                return Outcome(Verdict.FAIL, expected, f"{step[0]} of {names[card]} left "
                               f"{names[other]} {got[0]} with {got[1]} tries; expected "
                               f"{want[other][0]} with {want[other][1]}")
    fresh = _card(node)
    if fresh[0] in {c[0] for c in cards}:
        return Outcome(Verdict.FAIL, expected, "a card issued after the restart got the "
                       "serial of a card issued before it")
    problem = _step(node, fresh[0], fresh[1], _right("9000", "active", 3), "the new card")
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    node.drain(CENTRE)
    return Outcome(Verdict.PASS, expected, "each card came back in its own state")


# A step whose commit fails --------------------------------------------------------------

def _failed(node: NodeSut, serial: str, op: str, field: dict[str, str], what: str
            ) -> str | None:
    node.fail_next_commit()
    got = node.request(op, serial=serial, **field)
    if error_code(got) != int(ErrorCode.STORAGE_FAILURE):
        return f"{what} with its commit failing answered {answer_text(got)} {got.get('sw', '')}"\
            .rstrip() + ", expected 9003"
    return None


def _commit_fails(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain(CENTRE)
    expected = ("a wrong PIN, the third wrong PIN, a right PIN and the municipality's reset "
                "whose commits fail: 9003 each and the card as before (tries and block on "
                "the record and the chip)")
    serial, holder = _card(node)
    plan: list[tuple[str, Step | None]] = [
        ("a wrong PIN", None), ("", _wrong("63C2", "active", 2)),
        ("", _wrong("63C1", "active", 1)),
        ("the third wrong PIN", None), ("", _right("9000", "active", 3)),
        ("", _wrong("63C2", "active", 2)),
        ("a right PIN", None), ("", _wrong("63C1", "active", 1)),
        ("", _wrong("63C0", "locked", 0)),
        ("the municipality's reset", None), ("", _right("6983", "locked", 0)),
        ("", ("card_unlock", {"by": "municipality"}, "9000", "active", 3, False)),
        ("", _right("9000", "active", 3)),
    ]
    ops = {"a wrong PIN": ("card_verify", {"pin": WRONG_PIN}),
           "the third wrong PIN": ("card_verify", {"pin": WRONG_PIN}),
           "a right PIN": ("card_verify", {"pin": PIN}),
           "the municipality's reset": ("card_unlock", {"by": "municipality"})}
    for what, step in plan:
        if step is None:
            before = _record(node, serial)
            problem = _failed(node, serial, *ops[what], what)
            if problem is None and _record(node, serial) != before:
                got = _record(node, serial)
                problem = (f"{what} answered 9003, but card_state then says {got[0]} "
                           f"with {got[1]} tries; expected {before[0]} with {before[1]}")
        else:
            problem = _step(node, serial, holder, step, f"after {what or 'the failure'}")
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "9003 each time, the card as before")


# The centre's answers until acknowledged ------------------------------------------------


def _issued(node: NodeSut) -> tuple[str, str] | str:
    """A card applied for and handed over as ISSUER: (serial, resident code), or what
    the centre answered instead."""
    code = new_resident_code(random.Random(secrets.randbits(64)))
    serial = f"{ISSUER}-{secrets.randbelow(10 ** 10):010d}"
    today = node.node_now().date()
    for message in (CardApplication(municipality=ISSUER, card_serial=serial,
                                    resident_code=code, application_date=today),
                    CardIssueNotice(municipality=ISSUER, card_serial=serial,
                                    resident_code=code, issue_date=today,
                                    valid_until=today + dt.timedelta(days=3650))):
        got = send_as(node, message, ISSUER)
        if got is None or got.acknowledgement is None:
            return f"the {type(message).__name__} answered {describe(got)}"
    return serial, code


def _next_answer(node: NodeSut, conn: PeerConnection, within: float
                 ) -> tuple[JukiPdu, CardStatusAnswer] | None:
    """The next CardStatusAnswer on ``conn`` within ``within`` s (acknowledgements
    skipped), not acknowledged."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            got = conn.read(left)
        except TimeoutError:
            return None
        if got is None:
            return None
        if got.sealed is None or got.header.message_type is not \
                MessageType.CARD_STATUS_ANSWER:
            continue
        message = node.opened(got, ELSEWHERE)
        assert isinstance(message, CardStatusAnswer)
        return got, message
    return None


def _answers_resent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("two queries answered and the answers left unacknowledged: after the "
                "retry interval both sent again with their message ids, correlation ids "
                "and content; one acknowledged, only the other sent again; both "
                "acknowledged, neither sent again")
    cards = [_issued(node), _issued(node)]
    for card in cards:
        if isinstance(card, str):
            raise SutFault(f"the preamble: {card}")
    conn = node.connect(ELSEWHERE)
    try:
        sent: list[tuple[bytes, bytes, bytes]] = []     # (answer id, query id, DER)
        for card in cards:
            assert not isinstance(card, str)
            qid, pdu = node.sealed(CardStatusQuery(municipality=ELSEWHERE,
                                                   card_serial=card[0],
                                                   resident_code=card[1]),
                                   sender=ELSEWHERE)
            conn.send(pdu)
            got = _next_answer(node, conn, node.timeout)
            if got is None or got[0].header.correlation_id != qid:
                return Outcome(Verdict.FAIL, expected, "a query got no CardStatusAnswer "
                               "correlated with it")
            sent.append((got[0].header.message_id, qid, codec.encode(got[1])))
        # Each round: the answers due again after the interval, and those acknowledged.
        rounds: tuple[tuple[set[int], set[int]], ...] = (
            ({0, 1}, {0}), ({1}, {1}), (set(), set()))
        for n, (due, acked) in enumerate(rounds, 1):
            node.clock_advance(node.retry_interval + 1)
            want = {sent[i][0] for i in due}
            seen: dict[bytes, JukiPdu] = {}
            deadline = time.monotonic() + node.timeout      # a storm of resends ends too
            while (left := deadline - time.monotonic()) > 0 and (got := _next_answer(
                    node, conn, left if want - set(seen) else min(left, QUIET))) is not None:
                if got[0].header.correlation_id not in {q for _, q, _ in sent}:
                    node.acknowledge(conn, got[0], ELSEWHERE)   # another case's answer
                    continue
                seen[got[0].header.message_id] = got[0]
                if (got[0].header.message_id, got[0].header.correlation_id,
                        codec.encode(got[1])) not in set(sent):
                    return Outcome(Verdict.FAIL, expected, f"round {n}: an answer sent "
                                   "again differs from the one first sent")
            if set(seen) != want:
                return Outcome(Verdict.FAIL, expected, f"after {n} retry interval(s): "
                               f"{len(set(seen) & want)} of the {len(want)} "
                               f"unacknowledged answers sent again, and "
                               f"{len(set(seen) - want)} acknowledged ones")
            for i in acked:
                node.acknowledge(conn, seen[sent[i][0]], ELSEWHERE)
        return Outcome(Verdict.PASS, expected, "each answer resent until acknowledged")
    finally:
        conn.close()


# The municipality's applications until acknowledged ------------------------------------

def _from_municipality(node: NodeSut, ids: set[bytes], within: float
                       ) -> dict[bytes, tuple[PeerConnection, JukiPdu]]:
    """What the node sends the centre within ``within`` s (after the first, QUIET),
    by message id; messages not among ``ids`` are acknowledged and left out."""
    seen: dict[bytes, tuple[PeerConnection, JukiPdu]] = {}
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(min(left, QUIET) if seen else left, peer=CENTRE)
        if got is None:
            break
        if got[1].sealed is None:
            continue
        if got[1].header.message_id in ids:
            seen[got[1].header.message_id] = got
        else:
            node.acknowledge(got[0], got[1], CENTRE)
    return seen


def _applications_resent(restart: bool) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        node.drain(CENTRE)
        how = "a restart" if restart else "the retry interval"
        expected = (f"three applications unanswered, the first acknowledged: after {how} "
                    f"the other two sent again with their ids; the second acknowledged, "
                    f"after {how} only the third; registered only once acknowledged")
        serials = [str(node.ok("card_apply", residentCode=_card_holder(node))["serial"])
                   for _ in range(3)]
        sent: dict[bytes, tuple[PeerConnection, JukiPdu]] = {}
        deadline = time.monotonic() + node.timeout
        while len(sent) < 3 and time.monotonic() < deadline:
            got = node.sent_to_peer(deadline - time.monotonic(), peer=CENTRE)
            if got is None:
                break
            if got[1].sealed is None:
                continue
            message = node.opened(got[1], CENTRE)
            if isinstance(message, CardApplication) and message.card_serial in serials:
                sent[got[1].header.message_id] = got
            else:                                   # another case's message
                node.acknowledge(got[0], got[1], CENTRE)
        if len(sent) != 3:
            return Outcome(Verdict.FAIL, expected, f"{len(sent)} of 3 applications sent")
        by_serial: dict[str, bytes] = {}
        for mid, (_conn, pdu) in sent.items():
            message = node.opened(pdu, CENTRE)
            assert isinstance(message, CardApplication)
            by_serial[message.card_serial] = mid
        if set(by_serial) != set(serials):
            return Outcome(Verdict.FAIL, expected, "two applications sent for one serial")
        order = [by_serial[s] for s in serials]
        node.acknowledge(*sent[order[0]][:2], CENTRE)
        if not _registered_soon(node, serials[0], True):
            return Outcome(Verdict.FAIL, expected, "the acknowledged first application is "
                           "not registered (card_application)")
        for n, (due, acked) in enumerate(((order[1:], order[1]), (order[2:], order[2])), 1):
            if restart:
                node.restart()
            else:
                node.clock_advance(node.retry_interval + 1)
            seen = _from_municipality(node, set(order), node.timeout)
            if set(seen) != set(due):
                return Outcome(Verdict.FAIL, expected, f"after {how} ({n}): "
                               f"{len(set(seen) & set(due))} of the {len(due)} "
                               f"unacknowledged applications sent again, and "
                               f"{len(set(seen) - set(due))} acknowledged ones")
            node.acknowledge(*seen[acked], CENTRE)
            for serial, mid in zip(serials, order, strict=True):
                done = order.index(mid) <= order.index(acked)
                if not _registered_soon(node, serial, done):
                    return Outcome(Verdict.FAIL, expected, f"after {how} ({n}): "
                                   f"application {order.index(mid) + 1} "
                                   f"{'not ' if done else ''}registered although "
                                   f"{'' if done else 'not '}acknowledged")
        node.drain(CENTRE)
        return Outcome(Verdict.PASS, expected, "each application resent until "
                       "acknowledged, and only those")
    return run


def _card_holder(node: NodeSut) -> str:
    seed = f"conformance:card-restart:{secrets.token_hex(8)}"
    node.ok("register_resident", seed=seed)
    return generate_households(1, seed, municipalities=[node.code])[0].head.resident_code


def _registered_soon(node: NodeSut, serial: str, expected: bool) -> bool:
    """Whether ``card_application`` says ``registered`` as ``expected`` (waiting a
    little for an acknowledgement to be taken)."""
    deadline = time.monotonic() + (node.timeout if expected else 0)
    while True:
        said = bool(application(node, serial).get("registered"))
        if said == expected or time.monotonic() > deadline:
            return said == expected
        time.sleep(0.05)


def card_restart_cases() -> list[Case]:
    """The cases of this module (a municipality SUT)."""
    def case(cid: str, title: str, reqs: tuple[str, ...],
             run: Callable[[AdapterSut], Outcome], needs: str) -> Case:
        return NodeCase(id=cid, title=title, clause="card", requirements=reqs,
                        level="MUST", mode="node", ops=(), run=run, role="municipality",
                        needs=needs, remediation=REM_FAULT if "fault" in needs
                        else REM_RESTART)
    restart = "ixit.restart"
    return [
        case("card/node/restart/pin-path-each-step",
             "wrong PINs, a right one, the block and both resets, a restart after each: "
             "the answer and card_state as stored", ("R-CARD-01", "R-CARD-02",
                                                      "R-NODE-52"),
             _path(PIN_PATH, 1), restart),
        case("card/node/restart/lifecycle-each-step",
             "suspension, resumption and revocation, a restart after each: the answer "
             "and card_state as stored",
             ("R-24-2-1-01", "R-NODE-52", "R-NODE-17", "R-CARD-04"),
             _path(LIFE_PATH, 1), restart),
        case("card/node/restart/locked-card-lifecycle",
             "a blocked card not resumed, suspended, resumed and reported lost, restarts "
             "between: as stored", ("R-24-2-1-01", "R-CARD-01", "R-NODE-52"),
             _path(LOCKED_PATH, 2), restart),
        case("card/node/restart/several-residents-cards",
             "four residents' cards in four states come back each in its own after a "
             "restart; a change of one changes no other",
             ("R-CARD-01", "R-NODE-52", "R-24-2-1-01", "R-CARD-04"),
             _several, restart),
        NodeCase(id="30-44/node/register/answers-resent-until-acknowledged",
                 title="two CardStatusAnswers left unacknowledged are resent each retry "
                 "interval with their ids until each is acknowledged", clause="30-44",
                 requirements=("R-PDU-23", "R-CARDREG-06"), level="MUST", mode="node",
                 ops=(), run=_answers_resent, role="national", needs="ixit.clock",
                 remediation=REM_ANSWERS),
        NodeCase(id="30-44/node/municipality/applications-resent-each-until-acknowledged",
                 title="three applications, acknowledged one by one: each retry interval "
                 "only those not acknowledged are sent again", clause="30-44",
                 requirements=("R-PDU-23", "R-CARDREG-01"), level="MUST", mode="node",
                 ops=(), run=_applications_resent(False), role="municipality",
                 needs="ixit.clock", remediation=REM_APPLICATIONS),
        NodeCase(id="30-44/node/municipality/applications-resent-each-after-restart",
                 title="three applications, acknowledged one by one: each restart sends "
                 "again only those not acknowledged", clause="30-44",
                 requirements=("R-PDU-23", "R-CARDREG-01", "R-NODE-17"), level="MUST",
                 mode="node", ops=(), run=_applications_resent(True),
                 role="municipality", needs="ixit.restart", remediation=REM_APPLICATIONS),
        case("card/node/fault/card-step-commit-failure",
             "a PIN or a reset whose commit fails answers 9003 and leaves the card as it "
             "was", ("R-NODE-19", "R-NODE-52", "R-CARD-01"), _commit_fails,
             "ixit.faultInjection"),
    ]


__all__ = ["card_restart_cases"]
