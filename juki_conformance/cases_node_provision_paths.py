"""Node-mode cases on the paths of provision that the other cases leave unrun
(spec/provision.md, spec/suspension.md, spec/node.md sections 4.4 and 4.11), found by
``tools/mutation_reach.py``:

- a provider (the prefecture 270008 or the centre DC01) resends the ProvisionResponse
  the agency AG0001 leaves unacknowledged once its retry interval has passed, with the
  same message id, correlation and content, and stops once it is acknowledged
  (R-PDU-23, R-TIME-02);
- a provider asked, past its duplicate window, for a request it answered (same sender
  and message id): the same message is answered ``duplicate`` or served anew, never
  refused; other content under that id is 2021 REPLAY or served anew, never taken as a
  duplicate (R-PDU-24; spec/conformance.md section 7 lets a node remember or forget a
  message id older than its window). The same for an agency given the same
  ProvisionResponse again;
- an agency resends its unacknowledged request with the same message id and content
  (R-PDU-23), checks an answer to a query by the four items against the query
  (R-30-7-3-10, R-30-7-3-25), reports the outcomes it recorded also after a restart and
  4002 for a request it never made (R-NODE-45, R-NODE-17), and sends nothing under a
  legal basis that cannot serve an agency (R-30-7-3-20);
- the suspension ops report what is stored: ``provision_suspensions`` and
  ``feed_state``, and a malformed ``body`` is 1030 (spec/node.md section 4.11).

The clock cases move the test clock (IXIT ``clock``); the replay cases move it past the
duplicate window (IXIT ``duplicateWindowSeconds``, 24 hours by default, spec/pdu.md
section 5), after first moving it past the retention period (IXIT
``retentionSeconds``), so that no purge during the long step rebuilds the node's state.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe, node_sut, upper_ok
from juki_conformance.cases_node_agency import (
    OWN_PURPOSE,
    PREFECTURE,
    Got,
    agency_operator,
    ask_provider,
    finish_request,
    fresh_persons,
    next_request,
    provided_response,
    provision_result,
    respond,
)
from juki_conformance.cases_node_suspension import BASIS
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, is_error, past_window
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident
from juki_protocol.machines.stores import four_items
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import AckStatus, JukiPdu
from juki_protocol.messages.provision import (
    BodyKind,
    FourItems,
    LegalBasis,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

#: Seconds past an interval the runner moves the clock; how long it listens for what
#: must not come.
MARGIN, QUIET = 5.0, 1.0
REASON = "conformance"


def _status(pdu: JukiPdu | None) -> AckStatus | None:
    return None if pdu is None or pdu.acknowledgement is None \
        else pdu.acknowledgement.status


# A provider: the runner plays AG0001 ------------------------------------------------------

def _request(node: NodeSut, count: int = 1) -> ProvisionRequest:
    """A request of AG0001 about ``count`` fresh codes (not held: nothing provided)."""
    return ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
        legal_basis=BASIS[node.role], purpose_code=OWN_PURPOSE,
        operator_id=OPERATORS[AGENCY],
        by_resident_code=tuple(p.resident_code for p in fresh_persons(count)))


def _sealed(node: NodeSut, conn: PeerConnection, pick: Callable[[JukiPdu], bool],
            timeout: float) -> JukiPdu | None:
    """The next sealed PDU on ``conn`` that ``pick`` selects within ``timeout`` s; any
    other sealed PDU (a response an earlier case left open) is acknowledged."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            pdu = conn.read(left)
        except TimeoutError:
            return None
        if pdu is None:
            return None
        if pdu.sealed is None:
            continue
        if pick(pdu):
            return pdu
        node.acknowledge(conn, pdu, AGENCY)
    return None


def _response_to(node: NodeSut, conn: PeerConnection, mid: bytes) -> JukiPdu | None:
    return _sealed(node, conn, lambda p: p.header.correlation_id == mid, node.timeout)


def _resent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("the ProvisionResponse left unacknowledged resent once the retry interval "
                "passed, with the same message id, correlation id and content; once "
                "acknowledged, not resent again")
    wait = node.retry_interval + MARGIN
    mid, pdu = node.sealed(_request(node), sender=AGENCY)
    conn = node.connect(AGENCY)
    try:
        conn.send(pdu)
        first = _response_to(node, conn, mid)
        if first is None:
            return Outcome(Verdict.FAIL, expected, "no ProvisionResponse came")
        rid = first.header.message_id
        node.clock_advance(wait)
        again = _sealed(node, conn, lambda p: p.header.message_id == rid, node.timeout)
        if again is not None:
            node.acknowledge(conn, again, AGENCY)
            node.clock_advance(wait)
            later = _sealed(node, conn, lambda p: p.header.message_id == rid, QUIET)
    finally:
        conn.close()
    if again is None:
        return Outcome(Verdict.FAIL, expected, f"not resent {wait:g} s later (R-PDU-23)")
    if again.header.correlation_id != mid:
        return Outcome(Verdict.FAIL, expected, "resent with another correlation id")
    if node.opened(again, AGENCY) != node.opened(first, AGENCY):
        return Outcome(Verdict.FAIL, expected, "resent with other content")
    if later is not None:
        return Outcome(Verdict.FAIL, expected, "resent again after its acknowledgement")
    return Outcome(Verdict.PASS, expected, "resent with the same id and content, then "
                   "not after the acknowledgement")


def _served(node: NodeSut, conn: PeerConnection, request: ProvisionRequest,
            mid: bytes) -> tuple[JukiPdu | None, JukiPdu | None]:
    """Send ``request`` under ``mid``: the node's answer and the response that follows
    an acceptance or a duplicate (acknowledged), if any."""
    _, pdu = node.sealed(request, sender=AGENCY, message_id=mid)
    conn.send(pdu)
    answer = conn.answer_to(mid)
    response = None
    if _status(answer) is not None:
        response = _sealed(node, conn, lambda p: p.header.correlation_id == mid,
                           node.timeout if _status(answer) is AckStatus.ACCEPTED else QUIET)
        if response is not None:
            node.acknowledge(conn, response, AGENCY)
    return answer, response


def _provider_replay(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("past the duplicate window, request A again (same id and content): "
                f"acknowledged duplicate (or served anew: acceptable); B's id with other "
                f"content: {error_text(ErrorCode.REPLAY)} (or served anew: acceptable); "
                "never an error for A, never a duplicate for B")
    first, second = _request(node), _request(node)
    ids = secrets.token_bytes(16), secrets.token_bytes(16)
    past_window(node)     # the purge due at the start, and a fresh window
    conn = node.connect(AGENCY)
    try:
        for request, mid in zip((first, second), ids, strict=True):
            answer, response = _served(node, conn, request, mid)
            if _status(answer) is not AckStatus.ACCEPTED or response is None:
                raise SutFault(f"a first request got {describe(answer)}")
    finally:
        conn.close()
    past_window(node)
    conn = node.connect(AGENCY)
    try:
        same, resent = _served(node, conn, first, ids[0])
        other, _ = _served(node, conn, _request(node), ids[1])
    finally:
        conn.close()
    got = f"A again: {describe(same)}; B's id with other content: {describe(other)}"
    if _status(same) not in (AckStatus.DUPLICATE, AckStatus.ACCEPTED):
        return Outcome(Verdict.FAIL, expected, got)
    if _status(same) is AckStatus.ACCEPTED and resent is None:
        return Outcome(Verdict.FAIL, expected, f"{got}; A served anew without a response")
    if not is_error(other, ErrorCode.REPLAY) and _status(other) is not AckStatus.ACCEPTED:
        return Outcome(Verdict.FAIL, expected, got)
    if _status(same) is AckStatus.DUPLICATE and is_error(other, ErrorCode.REPLAY):
        return Outcome(Verdict.PASS, expected, got)
    return Outcome(Verdict.ACCEPTABLE, expected, f"{got} (the ids forgotten)")


# A provider's suspension ops (spec/node.md section 4.11) -----------------------------------

def _listed(node: NodeSut) -> dict[str, Any] | None:
    rows = upper_ok(node, "provision_suspensions").get("suspended") or []
    return next((r for r in rows if isinstance(r, dict) and r.get("body") == AGENCY), None)


def _suspensions_listed(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    operator = agency_operator(node) if isinstance(node.ixit.get("operator"), dict) \
        else "system"
    expected = (f"while suspended, provision_suspensions lists {AGENCY} with the reason "
                f"{REASON!r}, the operator {operator!r} and an ISO 8601 'since'; "
                "once resumed, not listed")
    try:
        upper_ok(node, "suspend_provision", body=AGENCY, reason=REASON)
        row = _listed(node)
    finally:
        node.request("resume_provision", body=AGENCY)
    after = _listed(node)
    if row is None or row.get("reason") != REASON or row.get("operator") != operator:
        return Outcome(Verdict.FAIL, expected, f"while suspended: {row}")
    try:
        time.strptime(str(row.get("since")), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return Outcome(Verdict.FAIL, expected, f"'since' is {row.get('since')!r}")
    if after is not None:
        return Outcome(Verdict.FAIL, expected, f"still listed after the resumption: {after}")
    return Outcome(Verdict.PASS, expected, f"listed as {row}, then not")


def _body_checked(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    good = "272035"
    expected = (f"suspend_provision of the municipality {good} done (then resumed); of "
                f"the number 272035 and of the code 272036 (check digit wrong) "
                f"{error_text(ErrorCode.INVALID_JSON)}")
    try:
        done = node.request("suspend_provision", body=good, reason=REASON)
    finally:
        node.request("resume_provision", body=good)
    bad = [(value, node.request("suspend_provision", body=value, reason=REASON))
           for value in (272035, "272036")]
    if not done.get("ok") or done.get("suspended") is not True:
        return Outcome(Verdict.FAIL, expected, f"{good}: {done.get('error') or done}")
    for value, answer in bad:
        code = (answer.get("error") or {}).get("code")
        if answer.get("ok") or code != int(ErrorCode.INVALID_JSON):
            if answer.get("ok"):
                node.request("resume_provision", body=str(value))
            return Outcome(Verdict.FAIL, expected, f"body {value!r}: "
                           f"{answer.get('error') or 'done'}")
    return Outcome(Verdict.PASS, expected, "the valid code taken, both malformed 1030")


def _feed_state(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"feed_state while stopped: feedStopped true, reason {REASON!r}, an ISO "
                "8601 'since', updaterState held; resumed: feedStopped false, since and "
                "reason null")
    try:
        upper_ok(node, "stop_feed", reason=REASON)
        stopped = upper_ok(node, "feed_state")
    finally:
        node.request("resume_feed")
    resumed = upper_ok(node, "feed_state")
    got = {k: stopped.get(k) for k in ("feedStopped", "since", "reason", "updaterState")}
    try:
        time.strptime(str(stopped.get("since")), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return Outcome(Verdict.FAIL, expected, f"while stopped: {got}")
    if stopped.get("feedStopped") is not True or stopped.get("reason") != REASON \
            or stopped.get("updaterState") != "held":
        return Outcome(Verdict.FAIL, expected, f"while stopped: {got}")
    if resumed.get("feedStopped") is not False or resumed.get("since") is not None \
            or resumed.get("reason") is not None:
        return Outcome(Verdict.FAIL, expected, f"after the resumption: {resumed}")
    return Outcome(Verdict.PASS, expected, f"while stopped {got}; then cleared")


# An agency: the runner plays its providers -------------------------------------------------

def _same_request(node: NodeSut, rid: bytes, timeout: float) -> Got | None:
    """The next request to the prefecture with message id ``rid``; the others (an
    earlier case's resends) are answered and closed."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = next_request(node, PREFECTURE, left)
        if isinstance(got, str):
            return None
        if got[1].header.message_id == rid:
            return got
        finish_request(node, got, PREFECTURE)
    return None


def _request_resent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("the request left unacknowledged resent once the retry interval passed, "
                "with the same message id and content")
    mid = ask_provider(node, PREFECTURE, fresh_persons(1))
    first = _same_request(node, bytes.fromhex(mid), node.timeout)
    if first is None:
        return Outcome(Verdict.FAIL, expected, "no request reached the provider")
    node.clock_advance(node.retry_interval + MARGIN)
    again = _same_request(node, first[1].header.message_id, node.timeout)
    if again is None:
        finish_request(node, first, PREFECTURE)
        return Outcome(Verdict.FAIL, expected, "not resent (R-PDU-23)")
    finish_request(node, again, PREFECTURE)
    if again[2] != first[2]:
        return Outcome(Verdict.FAIL, expected, "resent with other content")
    return Outcome(Verdict.PASS, expected, "resent with the same id and content")


def _ordered(count: int) -> list[SyntheticResident]:
    """``count`` fresh persons in the order of their four items' name and birth date."""
    def key(p: SyntheticResident) -> tuple[str, str]:
        info = p.identity_info(Profile.CURRENT)
        return info.name.kanji, info.birth_date.isoformat()
    return sorted(fresh_persons(count), key=key)


def _four_items(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    low, asked, high = _ordered(3)
    info = asked.identity_info(Profile.CURRENT)
    query = FourItems(name=info.name, birth_date=info.birth_date, sex=info.sex,
                      address=info.address)
    expected = ("answers to a query by the four items providing a person who does not "
                "match (one before, one after the query) each "
                f"{error_text(ErrorCode.INVALID_FIELD)}, the request still pending; the "
                "matching person then acknowledged and recorded as provided with 1 "
                "person")
    node.drain()
    mid = str(node.ok("provision_request", provider=PREFECTURE, purposeCode=OWN_PURPOSE,
                      operatorId=agency_operator(node),
                      byFourItems=codec.to_json(query))["messageId"])
    got = _same_request(node, bytes.fromhex(mid), node.timeout)
    if got is None:
        return Outcome(Verdict.FAIL, expected, "no request reached the provider")
    conn, pdu, request = got
    if request.by_four_items is None or four_items(request.by_four_items) != \
            four_items(query):
        finish_request(node, got, PREFECTURE)
        return Outcome(Verdict.FAIL, expected, "the request is not the query asked")
    node.acknowledge(conn, pdu, PREFECTURE)
    rid = pdu.header.message_id
    for wrong in (low, high):
        answer = respond(node, conn, rid, PREFECTURE, provided_response((wrong,)))
        outcome = provision_result(node, mid).get("outcome")
        if not is_error(answer, ErrorCode.INVALID_FIELD) or outcome != "pending":
            respond(node, conn, rid, PREFECTURE, ProvisionResponse(provided=()))
            return Outcome(Verdict.FAIL, expected, f"a person not matching got "
                           f"{describe(answer)}; then the request was {outcome!r}")
    answer = respond(node, conn, rid, PREFECTURE, provided_response((asked,)))
    final = provision_result(node, mid)
    text = f"both refused; the match got {describe(answer)}, then {final}"
    if _status(answer) is not AckStatus.ACCEPTED or final.get("outcome") != "provided" \
            or final.get("persons") != 1:
        return Outcome(Verdict.FAIL, expected, text)
    return Outcome(Verdict.PASS, expected, text)


def _answered(node: NodeSut, persons: tuple[SyntheticResident, ...],
              response: ProvisionResponse) -> tuple[str, JukiPdu, bytes]:
    """A request of the agency about ``persons`` answered with ``response`` (preamble):
    its message id (hex), the request's PDU and the response's message id."""
    mid = ask_provider(node, PREFECTURE, persons)
    got = _same_request(node, bytes.fromhex(mid), node.timeout)
    if got is None:
        raise SutFault("no request reached the provider")
    conn, pdu, _ = got
    node.acknowledge(conn, pdu, PREFECTURE)
    rid, sealed = node.sealed(response, sender=PREFECTURE,
                              header_changes={"correlation_id": pdu.header.message_id})
    conn.send(sealed)
    if _status(conn.answer_to(rid)) is not AckStatus.ACCEPTED:
        raise SutFault("the provider's response was not acknowledged")
    return mid, pdu, rid


def _result_restart(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    refusal = ProvisionRefusal.PURPOSE_NOT_ALLOWED
    want = ({"state": "done", "outcome": "provided", "persons": 2},
            {"state": "refused", "outcome": f"refused:{int(refusal.error_code)}",
             "persons": 0})
    expected = f"after a restart provision_result reports {want[0]} and {want[1]}"
    two = fresh_persons(2)
    provided, _, _ = _answered(node, two, provided_response(two))
    refused, _, _ = _answered(node, fresh_persons(1), ProvisionResponse(refusal=refusal))
    node.restart()
    node.drain()
    got = [{k: provision_result(node, m).get(k) for k in ("state", "outcome", "persons")}
           for m in (provided, refused)]
    if tuple(got) != want:
        return Outcome(Verdict.FAIL, expected, f"{got[0]} and {got[1]}")
    return Outcome(Verdict.PASS, expected, "both as recorded")


def _result_unknown(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = f"{error_text(ErrorCode.UNKNOWN_CORRELATION)} for a request never made"
    answer = node.request("provision_result", messageId=secrets.token_hex(16))
    code = (answer.get("error") or {}).get("code")
    if answer.get("ok") or code != int(ErrorCode.UNKNOWN_CORRELATION):
        return Outcome(Verdict.FAIL, expected, str(answer.get("error") or answer))
    return Outcome(Verdict.PASS, expected, f"error {code}")


def _basis_not_sent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    basis = LegalBasis.PREF_TO_OWN_MUNICIPALITY
    expected = (f"provision_request under {basis.value} (a basis for a municipality) "
                f"refused with {error_text(ErrorCode.LEGAL_BASIS_MISMATCH)}, nothing sent")
    node.drain()
    answer = node.request("provision_request", provider=PREFECTURE, purposeCode=OWN_PURPOSE,
                          operatorId=agency_operator(node), legalBasis=basis.value,
                          byResidentCode=[p.resident_code for p in fresh_persons(1)])
    got = next_request(node, PREFECTURE, QUIET)
    if not isinstance(got, str):
        finish_request(node, got, PREFECTURE)
        return Outcome(Verdict.FAIL, expected, "a request was sent to the provider")
    code = (answer.get("error") or {}).get("code")
    if answer.get("ok") or code != int(ErrorCode.LEGAL_BASIS_MISMATCH):
        return Outcome(Verdict.FAIL, expected, f"provision_request answered {answer}")
    return Outcome(Verdict.PASS, expected, "refused with 3012, nothing sent")


def _agency_replay(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("past the duplicate window, response A again (same id and content): "
                "acknowledged duplicate (or accepted: acceptable), never an error; B's id "
                f"with other content: {error_text(ErrorCode.REPLAY)} (or any answer but a "
                "duplicate: acceptable); both outcomes unchanged")
    one, other = fresh_persons(1), fresh_persons(1)
    original = provided_response(one)
    a = _answered(node, one, original)
    b = _answered(node, other, provided_response(other))
    past_window(node)
    answers: list[JukiPdu | None] = []
    conn = node.connect(PREFECTURE)
    try:
        for (_, request, rid), response in ((a, original),
                                            (b, ProvisionResponse(provided=()))):
            _, sealed = node.sealed(response, sender=PREFECTURE, message_id=rid,
                                    header_changes={
                                        "correlation_id": request.header.message_id})
            conn.send(sealed)
            answers.append(conn.answer_to(rid))
    finally:
        conn.close()
    outcomes = [provision_result(node, m).get("outcome") for m in (a[0], b[0])]
    got = (f"A again: {describe(answers[0])}; B's id with other content: "
           f"{describe(answers[1])}; outcomes {outcomes}")
    if outcomes != ["provided", "provided"]:
        return Outcome(Verdict.FAIL, expected, got)
    if _status(answers[0]) not in (AckStatus.DUPLICATE, AckStatus.ACCEPTED) \
            or _status(answers[1]) is AckStatus.DUPLICATE:
        return Outcome(Verdict.FAIL, expected, got)
    if _status(answers[0]) is AckStatus.DUPLICATE and is_error(answers[1], ErrorCode.REPLAY):
        return Outcome(Verdict.PASS, expected, got)
    return Outcome(Verdict.ACCEPTABLE, expected, f"{got} (the ids forgotten)")


# The cases ---------------------------------------------------------------------------------

REM_RESEND = ("Treat each message you send as undelivered until it is acknowledged: keep "
              "it, and resend it with the same message id and content each time the retry "
              "interval passes; stop once it is acknowledged (R-PDU-23, R-TIME-02).")
REM_REPLAY = ("Keep the sender, message id and digest of each message you took for at "
              "least the duplicate window; past it, either still answer the same message "
              "'duplicate' and other content under its id 2021 REPLAY, or take it as new; "
              "never refuse the same message, never take other content as a duplicate "
              "(R-PDU-24).")
REM_SUSPENSION = ("Report the suspensions and the state of the feed as stored: each "
                  "suspended body with its time, reason and operator, the stop with its "
                  "time and reason; take as body AGnnnn or a valid local government code "
                  "and refuse anything else with 1030 INVALID_JSON (spec/node.md 4.11).")
REM_FOUR = ("Check a ProvisionResponse to a query by the four items against the query: "
            "each person's name, birth date, sex and address municipality must be those "
            "asked; refuse any other answer with 1024 INVALID_FIELD and keep waiting "
            "(R-30-7-3-10, R-30-7-3-25).")
REM_RESULT = ("Store each provision's outcome with the request and report it from storage "
              "once the request's state is gone (after a restart); answer 4002 "
              "UNKNOWN_CORRELATION for a message id that is none of the agency's requests "
              "(R-NODE-45, spec/node.md 4.4).")
REM_BASIS = ("Refuse locally, with 3012 LEGAL_BASIS_MISMATCH, a request under a legal "
             "basis that cannot serve an agency, and send nothing (R-30-7-3-20).")


def provision_path_cases() -> list[Case]:
    """The cases of this module, for a prefecture, the centre, an agency and a
    municipality."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], role: str, needs: str = "") -> Case:
        return NodeCase(id=f"{clause}/node/provision-paths/{role}/{cid}", title=title,
                        clause=clause, requirements=reqs, level="MUST", remediation=rem,
                        mode="node", ops=(), run=run, role=role, needs=needs)
    cases: list[Case] = []
    for role in ("prefecture", "national"):
        cases += [
            case("response-resent-until-acknowledged", "an unacknowledged ProvisionResponse "
                 "is resent with the same id and content after the retry interval, and "
                 "not once acknowledged", "30-7", ("R-PDU-23", "R-TIME-02"), REM_RESEND,
                 _resent, role, "ixit.clock"),
            case("request-replayed-past-duplicate-window", "past the duplicate window, "
                 "the same request is a duplicate or served anew, other content under its "
                 "id 2021 or served anew", "30-7", ("R-PDU-24",), REM_REPLAY,
                 _provider_replay, role, "ixit.clock"),
            case("suspensions-listed", "provision_suspensions lists a suspended body with "
                 "its reason, operator and time, and not once resumed", "suspension",
                 ("R-SUSP-03", "R-SUSP-04"), REM_SUSPENSION, _suspensions_listed, role,
                 "capability:suspension"),
            case("suspension-body-checked", "suspend_provision takes a valid local "
                 "government code as body and refuses a number or a wrong check digit "
                 "with 1030", "suspension", ("R-SUSP-01",), REM_SUSPENSION, _body_checked,
                 role, "capability:suspension"),
        ]
    return [
        *cases,
        case("feed-state-reported", "feed_state reports a stopped feed with its time, "
             "reason and held updater, and clears them once resumed", "suspension",
             ("R-SUSP-05", "R-SUSP-06"), REM_SUSPENSION, _feed_state, "municipality",
             "capability:suspension"),
        case("request-resent-until-acknowledged", "an unacknowledged ProvisionRequest is "
             "resent with the same id and content after the retry interval", "30-7",
             ("R-PDU-23", "R-TIME-02"), REM_RESEND, _request_resent, "agency",
             "ixit.clock"),
        case("four-items-response-checked", "answers to a query by the four items "
             "providing a person not matching it are refused 1024, the request kept",
             "30-7", ("R-30-7-3-25", "R-30-7-3-10"), REM_FOUR, _four_items, "agency"),
        case("result-after-restart", "provision_result reports a provided and a refused "
             "request as recorded after a restart", "30-7", ("R-NODE-45", "R-NODE-17"),
             REM_RESULT, _result_restart, "agency", "ixit.restart"),
        case("result-of-unknown-request", "provision_result of a request never made is "
             "4002", "30-7", ("R-NODE-45",), REM_RESULT, _result_unknown, "agency"),
        case("basis-not-for-agency-not-sent", "a request under a legal basis for a "
             "municipality is refused 3012 and not sent", "30-7", ("R-30-7-3-20",),
             REM_BASIS, _basis_not_sent, "agency"),
        case("response-replayed-past-duplicate-window", "past the duplicate window, the "
             "same response is a duplicate, other content under its id 2021 (or taken "
             "as new), the outcomes unchanged", "30-7", ("R-PDU-24", "R-NODE-45"),
             REM_REPLAY, _agency_replay, "agency", "ixit.clock"),
    ]


__all__ = ["provision_path_cases"]
