"""Node-mode cases on stopping provision (spec/suspension.md): a provider (the
prefecture 270008 or the national centre DC01) suspends provision to the agency AG0001
and lifts it, and a municipality (271004) stops and resumes its feed to its prefecture;
the states are reached through the upper tester's ops of spec/node.md section 4.11.

Provider cases: the runner asks as AG0001 about a fresh synthetic code (an empty
``provided`` list shows the request was served; a refusal shows it was not), suspends
AG0001, asks again (refused ``suspended``, 3030), resumes and asks again. Every case
lifts what it suspended before it ends, pass or fail, so the other cases that ask as
AG0001 run on a node that serves it.

Municipality cases: the runner plays the prefecture. It settles what earlier cases left
unacknowledged, stops the feed, records changes (``register_resident`` then
``record_change``), checks that nothing reaches the prefecture (also after moving the
node's clock past the retry interval, when the IXIT offers the clock, and after a
restart), resumes the feed and checks that the held updates arrive in order, numbered
on from the last one, with the message ids ``record_change`` reported. Every case
resumes the feed before it ends.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import provision_response
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.identity import IdentityInfoUpdate
from juki_protocol.messages.pdu import MessageType
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

PURPOSE, REASON = "S1-KENCHIKUSHI", "conformance"
#: The legal basis under which each provider role serves the agency AG0001.
BASIS = {"prefecture": LegalBasis.PREF_TO_AGENCY, "national": LegalBasis.CENTER_TO_AGENCY}
#: Seconds past the retry interval (60 s, R-TIME-02) the runner moves the clock.
RETRY_WAIT = 65.0
#: How long the runner listens for an update that must not come.
QUIET = 1.0


def _ok(node: NodeSut, op: str, **fields: Any) -> dict[str, Any]:
    answer = node.request(op, **fields)
    if not answer.get("ok"):
        raise SutFault(f"upper tester {op} failed: {answer.get('error')}")
    return answer


# Provider -------------------------------------------------------------------------------

def _ask(node: NodeSut) -> ProvisionResponse | str:
    """AG0001 asks the node about a fresh code: the response, or what came instead."""
    code = generate_households(1, f"suspension:{secrets.token_hex(6)}",
                               municipalities=["271004"])[0].head.resident_code
    request = ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
        legal_basis=BASIS[node.role], purpose_code=PURPOSE, operator_id=OPERATORS[AGENCY],
        by_resident_code=(code,))
    mid, pdu = node.sealed(request, sender=AGENCY)
    conn = node.connect(AGENCY)
    try:
        conn.send(pdu)
        return provision_response(node, conn, mid, AGENCY)
    finally:
        conn.close()


def _served(answer: ProvisionResponse | str) -> str | None:
    """None if ``answer`` served the request, else what it was."""
    if isinstance(answer, str):
        return answer
    if answer.refusal is not None:
        return f"refusal {answer.refusal.value}"
    return None


def _refused_suspended(answer: ProvisionResponse | str) -> str | None:
    if isinstance(answer, str):
        return answer
    if answer.refusal is not ProvisionRefusal.SUSPENDED:
        return (f"{len(answer.provided or ())} person(s) provided" if answer.refusal is None
                else f"refusal {answer.refusal.value}")
    return None


def _suspended(run: Callable[[NodeSut], Outcome]) -> Callable[[AdapterSut], Outcome]:
    """Run a provider case; lift the suspension of AG0001 afterwards whatever happened."""
    def case(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        try:
            return run(node)
        finally:
            node.request("resume_provision", body=AGENCY)
    return case


EXPECT_REFUSED = ("AG0001 served; suspended: refused with suspended (3030) and nothing "
                  "provided; resumed: served again")


def _refused(node: NodeSut) -> Outcome:
    problem = _served(_ask(node))
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_REFUSED, f"before any suspension: {problem}")
    _ok(node, "suspend_provision", body=AGENCY, reason=REASON)
    problem = _refused_suspended(_ask(node))
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_REFUSED, f"while suspended: {problem}")
    resumed = _ok(node, "resume_provision", body=AGENCY)
    # spec/node.md section 4.11: the answer says the body is no longer suspended.
    if (resumed.get("body"), resumed.get("suspended"), resumed.get("changed")) != (
            AGENCY, False, True):
        return Outcome(Verdict.FAIL, EXPECT_REFUSED, f"resume_provision answered body "
                       f"{resumed.get('body')!r}, suspended {resumed.get('suspended')!r}, "
                       f"changed {resumed.get('changed')!r}, not {AGENCY!r}, false, true")
    problem = _served(_ask(node))
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_REFUSED, f"after the resumption: {problem}")
    return Outcome(Verdict.PASS, EXPECT_REFUSED, "refused 3030 while suspended only")


EXPECT_RESTART = "after a restart AG0001 is still refused (3030); resumed: served"


def _survives_restart(node: NodeSut) -> Outcome:
    _ok(node, "suspend_provision", body=AGENCY, reason=REASON)
    node.restart()
    problem = _refused_suspended(_ask(node))
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_RESTART, f"after the restart: {problem}")
    _ok(node, "resume_provision", body=AGENCY)
    problem = _served(_ask(node))
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_RESTART, f"after the resumption: {problem}")
    return Outcome(Verdict.PASS, EXPECT_RESTART, "the suspension outlived the restart")


def _last_rows(node: NodeSut) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = 0
    while True:
        page = node.audit_log(after)
        if not page:
            return rows
        rows, after = (rows + page)[-500:], int(page[-1].get("seq", after + len(page)))


def _audit_problem(rows: list[dict[str, Any]], wanted: list[tuple[str, str, str]]
                   ) -> str | None:
    """None if ``rows`` hold, in order, a row ``local`` for each (messageType, peer,
    result prefix) with no person; else what is missing."""
    at = 0
    for mtype, peer, result in wanted:
        while at < len(rows) and not (
                rows[at].get("direction") == "local" and rows[at].get("messageType") == mtype
                and rows[at].get("peer") == peer
                and str(rows[at].get("result", "")).startswith(result)):
            at += 1
        if at == len(rows):
            return f"no audit row local {mtype} of {peer} with result {result}..."
        if rows[at].get("subjects"):
            return f"the audit row {mtype} names persons"
        at += 1
    return None


EXPECT_AUDIT = ("audit rows (local) provisionSuspended of AG0001 'suspended: <reason>' "
                "then provisionResumed 'resumed', naming no person")


def _audited(node: NodeSut) -> Outcome:
    _ok(node, "suspend_provision", body=AGENCY, reason=REASON)
    _ok(node, "resume_provision", body=AGENCY)
    problem = _audit_problem(_last_rows(node), [
        ("provisionSuspended", AGENCY, f"suspended: {REASON}"),
        ("provisionResumed", AGENCY, "resumed")])
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_AUDIT, problem)
    return Outcome(Verdict.PASS, EXPECT_AUDIT, "both changes audited")


# Municipality ------------------------------------------------------------------------------

def _settle(node: NodeSut) -> int:
    """The node's last update number once nothing is unacknowledged: the runner
    acknowledges what comes, and moves the clock past the retry interval (when the IXIT
    offers the clock) for an update an earlier case left unanswered."""
    deadline = time.monotonic() + node.timeout
    while True:
        updates = _ok(node, "status").get("updates") or {}
        if not updates.get("unacknowledged"):
            # Copies of updates acknowledged meanwhile may still be on their way: a
            # resend puts the whole send window on the wire again (R-30-5-0-13).
            node.drain(node.prefecture)
            return int(updates.get("lastSequence", 0))
        got = node.sent_to_peer(0.3)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        elif got is None and node.offers("clock"):
            node.clock_advance(RETRY_WAIT)
        if time.monotonic() > deadline:
            raise SutFault(f"{updates.get('unacknowledged')} update(s) stay unacknowledged")


def _record(node: NodeSut, count: int) -> list[dict[str, Any]]:
    """Record ``count`` changes (moves-in of a registered household); what
    ``record_change`` answered for each."""
    codes: list[str] = []
    while len(codes) < count:
        codes += _ok(node, "register_resident",
                     seed=f"suspension:{secrets.token_hex(6)}").get("residentCodes") or []
    return [_ok(node, "record_change", residentCode=c, reason="moveIn")
            for c in codes[:count]]


def _nothing_sent(node: NodeSut, when: str) -> str | None:
    """None when no identity info update reaches the prefecture for QUIET seconds;
    anything else the node sends there (a code request an earlier case left open) is
    acknowledged and is not the feed's (R-SUSP-05 speaks of updates)."""
    deadline = time.monotonic() + QUIET
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left)
        if got is None:
            return None
        if got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        if got[1].header.message_type is MessageType.IDENTITY_INFO_UPDATE:
            return f"{when}: the node sent an identity info update to its prefecture"
        if got[1].sealed is None:
            return f"{when}: the node sent {describe(got[1])} to its prefecture"
    return None


def _quiet_past_retry(node: NodeSut, when: str) -> str | None:
    problem = _nothing_sent(node, when)
    if problem is None and node.offers("clock"):
        node.clock_advance(RETRY_WAIT)
        problem = _nothing_sent(node, f"{when}, {RETRY_WAIT:g} s later")
    return problem


def _arrive(node: NodeSut, recorded: list[dict[str, Any]], first: int) -> str | None:
    """None if the held updates arrive in order, numbered from ``first``, with the
    message ids ``record_change`` reported; each is acknowledged."""
    for i, op in enumerate(recorded):
        got = node.sent_to_peer()
        if got is None:
            return f"held update {first + i} did not arrive within {node.timeout:g} s"
        conn, pdu = got
        if pdu.sealed is None or \
                pdu.header.message_type is not MessageType.IDENTITY_INFO_UPDATE:
            return f"{describe(pdu)} instead of held update {first + i}"
        update = node.opened(pdu, node.prefecture)
        if not isinstance(update, IdentityInfoUpdate) or update.update_sequence != first + i:
            seq = getattr(update, "update_sequence", None)
            return f"update {seq} arrived where {first + i} was due"
        if pdu.header.message_id.hex() != op.get("messageId"):
            return f"update {first + i} came with another message id than record_change's"
        node.acknowledge(conn, pdu, node.prefecture)
    return None


def _fed(run: Callable[[NodeSut, int], Outcome]) -> Callable[[AdapterSut], Outcome]:
    """Run a municipality case from a settled node; resume the feed afterwards and
    acknowledge what it then sends."""
    def case(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        last = _settle(node)
        try:
            return run(node, last)
        finally:
            node.request("resume_feed")
            try:
                _settle(node)
            except SutFault:
                pass          # the next case's preamble reports what is left
    return case


EXPECT_HOLD = ("two changes recorded while the feed is stopped: nothing sent, not even "
               "past the retry interval; resumed: updates m + 1 and m + 2 in order, with "
               "the message ids record_change reported")


def _holds(node: NodeSut, last: int) -> Outcome:
    _ok(node, "stop_feed", reason=REASON)
    recorded = _record(node, 2)
    seqs = [op.get("updateSequence") for op in recorded]
    if seqs != [last + 1, last + 2]:
        return Outcome(Verdict.FAIL, EXPECT_HOLD, f"record_change numbered the held "
                       f"changes {seqs}, not {[last + 1, last + 2]}")
    problem = _quiet_past_retry(node, "while stopped")
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_HOLD, problem)
    _ok(node, "resume_feed")
    problem = _arrive(node, recorded, last + 1)
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_HOLD, f"after the resumption: {problem}")
    return Outcome(Verdict.PASS, EXPECT_HOLD, f"updates {last + 1}, {last + 2} held, then "
                   "sent in order")


EXPECT_IN_FLIGHT = ("update m + 1 on the wire when the feed stops; {answered}; a change "
                    "recorded while stopped (m + 2) not sent, nor anything resent, past the "
                    "retry interval; resumed: {then}, with the message ids record_change "
                    "reported")


def _in_flight(acknowledged: bool) -> Callable[[NodeSut, int], Outcome]:
    """An update sent before the stop and acknowledged while stopped (``acknowledged``:
    it is then done, only m + 2 follows) or left unanswered (it is resent first)."""
    expected = EXPECT_IN_FLIGHT.format(
        answered=("the prefecture acknowledges it while stopped" if acknowledged else
                  "the prefecture leaves it unanswered"),
        then=("update m + 2 alone" if acknowledged else
              "update m + 1 again, then m + 2"))

    def run(node: NodeSut, last: int) -> Outcome:
        sent = _record(node, 1)
        got = node.sent_to_peer()
        if got is None or got[1].sealed is None or \
                got[1].header.message_id.hex() != sent[0].get("messageId"):
            return Outcome(Verdict.FAIL, expected, f"update {last + 1} was not sent "
                           f"({describe(got[1]) if got else 'nothing'} came)")
        _ok(node, "stop_feed", reason=REASON)
        if acknowledged:
            node.acknowledge(got[0], got[1], node.prefecture)
        held = _record(node, 1)
        problem = _quiet_past_retry(node, "while stopped")
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        _ok(node, "resume_feed")
        due, first = (held, last + 2) if acknowledged else (sent + held, last + 1)
        problem = _arrive(node, due, first)
        if problem:
            return Outcome(Verdict.FAIL, expected, f"after the resumption: {problem}")
        return Outcome(Verdict.PASS, expected, f"updates from {first} sent in order")
    return run


EXPECT_RESTART_FEED = ("a change recorded while stopped is not sent, also after a restart; "
                       "resumed: update m + 1 with the message id record_change reported")


def _feed_survives_restart(node: NodeSut, last: int) -> Outcome:
    _ok(node, "stop_feed", reason=REASON)
    recorded = _record(node, 1)
    node.restart()
    problem = _quiet_past_retry(node, "after the restart")
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_RESTART_FEED, problem)
    _ok(node, "resume_feed")
    problem = _arrive(node, recorded, last + 1)
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_RESTART_FEED, f"after the resumption: {problem}")
    return Outcome(Verdict.PASS, EXPECT_RESTART_FEED, "held across the restart, then sent")


EXPECT_FEED_AUDIT = ("audit rows (local) feedStopped of the prefecture 'stopped: <reason>' "
                     "then feedResumed 'resumed: ...', naming no person")


def _feed_audited(node: NodeSut, last: int) -> Outcome:
    _ok(node, "stop_feed", reason=REASON)
    _ok(node, "resume_feed")
    problem = _audit_problem(_last_rows(node), [
        ("feedStopped", node.prefecture, f"stopped: {REASON}"),
        ("feedResumed", node.prefecture, "resumed")])
    if problem:
        return Outcome(Verdict.FAIL, EXPECT_FEED_AUDIT, problem)
    return Outcome(Verdict.PASS, EXPECT_FEED_AUDIT, "both changes audited")


# The cases ---------------------------------------------------------------------------------

REM_PROVIDER = ("Keep the bodies whose provision is suspended in durable storage; refuse "
                "each request of a suspended body, right after the body check, with a "
                "ProvisionResponse refusing with suspended (3030 PROVISION_SUSPENDED); "
                "serve it again once resumed; audit each change (spec/suspension.md).")
REM_FEED = ("While the feed is stopped, send no identity info update, new or resent, but "
            "number and store each change; keep the stop in durable storage; on "
            "resumption send the held updates in order with their numbers and message "
            "ids; audit each change (spec/suspension.md).")


def suspension_cases() -> list[Case]:
    """The cases of this module, for a prefecture, the centre and a municipality."""
    def case(cid: str, title: str, role: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause="suspension", requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role=role, needs=f"capability:suspension {needs}".strip())
    cases: list[Case] = []
    for role in ("prefecture", "national"):
        cases += [
            case(f"suspension/node/{role}/suspended-body-refused",
                 "a body whose provision is suspended is refused with suspended (3030) "
                 "and served again once the suspension is lifted", role,
                 ("R-SUSP-01", "R-SUSP-02", "R-30-7-3-05"), REM_PROVIDER,
                 _suspended(_refused)),
            case(f"suspension/node/{role}/suspension-survives-restart",
                 "a suspension holds after a restart", role, ("R-SUSP-03", "R-NODE-17"),
                 REM_PROVIDER, _suspended(_survives_restart), "ixit.restart"),
            case(f"suspension/node/{role}/suspension-audited",
                 "a suspension and its lifting are audit rows naming the body and no "
                 "person", role, ("R-SUSP-04", "R-NODE-20"), REM_PROVIDER,
                 _suspended(_audited)),
        ]
    cases += [
        case("suspension/node/municipality/feed-stopped-holds-updates",
             "updates recorded while the feed is stopped are not sent, then sent in "
             "order on resumption", "municipality", ("R-SUSP-05", "R-30-5-0-05"),
             REM_FEED, _fed(_holds)),
        case("suspension/node/municipality/feed-stopped-update-acknowledged-meanwhile",
             "an update on the wire when the feed stops, acknowledged while stopped, is "
             "done: on resumption only the held change follows", "municipality",
             ("R-SUSP-05", "R-30-5-0-05", "R-PDU-23"), REM_FEED, _fed(_in_flight(True))),
        case("suspension/node/municipality/feed-stopped-update-unanswered",
             "an update on the wire when the feed stops and left unanswered is not "
             "resent while stopped; on resumption it is resent first, then the held "
             "change", "municipality", ("R-SUSP-05", "R-30-5-0-05", "R-PDU-23"),
             REM_FEED, _fed(_in_flight(False))),
        case("suspension/node/municipality/feed-stop-survives-restart",
             "a stopped feed stays stopped after a restart, then resumes", "municipality",
             ("R-SUSP-06", "R-SUSP-05", "R-NODE-17"), REM_FEED,
             _fed(_feed_survives_restart), "ixit.restart"),
        case("suspension/node/municipality/feed-stop-audited",
             "a stop of the feed and its resumption are audit rows naming the prefecture "
             "and no person", "municipality", ("R-SUSP-04", "R-NODE-20"), REM_FEED,
             _fed(_feed_audited)),
    ]
    return cases


__all__ = ["BASIS", "suspension_cases"]
