"""Node-mode test cases for an agency (国の機関等, AG0001) as a provision client: the
runner plays the providers, the prefecture 270008 (Art. 30-7(3)) and the national
centre DC01 (Art. 30-10(1)(iii)), and triggers the agency's requests through the upper
tester's ``provision_request`` (spec/node.md section 4.4).

Each case makes requests of its own about fresh synthetic persons, drains what earlier
cases left at the providers, and answers every request it makes, so the cases run in
any order against one long-running node.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, is_error, node_sut
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvidedIdentity,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

PREFECTURE, CENTRE = "270008", "DC01"
#: A schedule 1 purpose of AG0001, and one of another body (AG0002, 恩給).
OWN_PURPOSE, OTHER_PURPOSE = "S1-KENCHIKUSHI", "S1-ONKYU"
OPERATOR = "conformance-op-1"
#: Where the synthetic persons live (a municipality of the prefecture 270008).
RESIDENCE = "271004"
#: Seconds past the agency's retry period (60 s in the reference) that the runner
#: moves the node's clock to let a resend fall due.
RETRY_WAIT = 65.0
#: Seconds the runner waits to be sure the agency sends nothing.
QUIET_SECONDS = 1.0
Got = tuple[PeerConnection, JukiPdu, ProvisionRequest]



def agency_operator(node: NodeSut) -> str:
    """The operator the requests name: the IXIT's, whose session the runner holds
    (spec/node.md R-NODE-84), else :data:`OPERATOR`."""
    declared = node.ixit.get("operator")
    return str(declared["id"]) if isinstance(declared, dict) else OPERATOR


def fresh_persons(count: int) -> tuple[SyntheticResident, ...]:
    """``count`` fresh synthetic persons: the heads of as many households."""
    seed = f"conformance:agency:{secrets.token_hex(8)}"
    return tuple(h.head for h in generate_households(count, seed,
                                                     municipalities=[RESIDENCE]))


def ask_provider(node: NodeSut, provider: str, persons: tuple[SyntheticResident, ...],
                 **fields: Any) -> str:
    """The agency sends a request about ``persons`` (preamble); its message id (hex)."""
    node.drain()
    fields.setdefault("purposeCode", OWN_PURPOSE)
    answer = node.ok("provision_request", provider=provider,
                     operatorId=agency_operator(node),
                     byResidentCode=[p.resident_code for p in persons], **fields)
    mid = answer.get("messageId")
    if not isinstance(mid, str):
        raise SutFault("provision_request answered without a messageId")
    return mid


def next_request(node: NodeSut, provider: str, timeout: float | None = None
                 ) -> Got | str:
    """The next ProvisionRequest the agency sends to ``provider``, opened."""
    got = node.sent_to_peer(timeout, peer=provider)
    if got is None:
        return f"no request reached {provider}"
    conn, pdu = got
    if pdu.sealed is None or pdu.header.message_type is not MessageType.PROVISION_REQUEST:
        return f"{describe(pdu)} instead of a provision request"
    message = node.opened(pdu, provider)
    if not isinstance(message, ProvisionRequest):
        return f"a {type(message).__name__} instead of a provision request"
    return conn, pdu, message


def provided_response(persons: tuple[SyntheticResident, ...]) -> ProvisionResponse:
    """What a provider holding ``persons`` answers (R-30-7-3-09)."""
    return ProvisionResponse(provided=tuple(
        ProvidedIdentity(identity_info=p.identity_info(Profile.CURRENT),
                         change_info=ChangeInfo(change_reason=ChangeReason.MOVE_IN,
                                                change_date=p.resident_since))
        for p in persons))


def respond(node: NodeSut, conn: PeerConnection, request_id: bytes, provider: str,
            response: ProvisionResponse, *, sender: str | None = None,
            correlation: bytes | None = None) -> JukiPdu | None:
    """Send ``response`` on ``conn`` as ``sender`` (default the provider), correlated
    with ``correlation`` (default the request); the agency's answer to it."""
    mid, pdu = node.sealed(response, sender=sender or provider, header_changes={
        "correlation_id": correlation or request_id})
    conn.send(pdu)
    return conn.answer_to(mid)


def finish_request(node: NodeSut, got: Got, provider: str) -> None:
    """Answer a request the case is done with: acknowledged, nothing provided."""
    conn, pdu, _ = got
    node.acknowledge(conn, pdu, provider)
    respond(node, conn, pdu.header.message_id, provider, ProvisionResponse(provided=()))


def provision_result(node: NodeSut, mid: str) -> dict[str, Any]:
    """The agency's ``provision_result`` of request ``mid`` (SutFault if refused)."""
    answer = node.request("provision_result", messageId=mid)
    if not answer.get("ok"):
        raise SutFault(f"provision_result refused: {answer.get('error')}")
    return answer


def _accepted(answer: JukiPdu | None) -> bool:
    return answer is not None and answer.acknowledgement is not None \
        and answer.acknowledgement.status is AckStatus.ACCEPTED


# Arts. 30-7(3), 30-10(1)(iii): the request ----------------------------------------------

def _request_problem(node: NodeSut, got: Got, provider: str, mid: str,
                     basis: LegalBasis, codes: list[str]) -> str | None:
    _, pdu, req = got
    header = pdu.header
    if header.sender.code != node.code or header.recipient.code != provider:
        return f"the request went from {header.sender} to {header.recipient}"
    if req.requester != RequestingBody(kind=BodyKind.AGENCY, code=node.code):
        return (f"the requesting body is {req.requester.kind.value} "
                f"{req.requester.code}, not the agency {node.code}")
    if req.legal_basis is not basis or req.purpose_code != OWN_PURPOSE:
        return (f"asked under {req.legal_basis.value} for {req.purpose_code}, not "
                f"{basis.value} for {OWN_PURPOSE}")
    if req.operator_id != agency_operator(node):
        return "the operator id is not the one the request was made by"
    if req.by_four_items is not None or list(req.by_resident_code or ()) != codes:
        return "the query is not the resident codes asked for"
    if len(header.message_id) != 16 or header.message_id.hex() != mid:
        return "the message id is not the 16 octets provision_request answered"
    return None


def _well_formed(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("each request from the agency to the provider asked, naming the agency as "
                "requesting body, with the purpose, legal basis (by default the provider's "
                "one), operator and query asked, and a fresh 16-octet message id; a request "
                "naming another operator than the session's refused, nothing sent")
    asks = ((PREFECTURE, LegalBasis.PREF_TO_AGENCY, True),
            (PREFECTURE, LegalBasis.PREF_TO_AGENCY, False),
            (CENTRE, LegalBasis.CENTER_TO_AGENCY, False))
    seen: list[bytes] = []
    for provider, basis, explicit in asks:
        persons = fresh_persons(2)
        codes = [p.resident_code for p in persons]
        extra = {"legalBasis": basis.value} if explicit else {}
        mid = ask_provider(node, provider, persons, **extra)
        got = next_request(node, provider)
        if isinstance(got, str):
            return Outcome(Verdict.FAIL, expected, got)
        problem = _request_problem(node, got, provider, mid, basis, codes)
        finish_request(node, got, provider)
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        if got[1].header.message_id in seen:
            return Outcome(Verdict.FAIL, expected,
                           "two requests carry the same message id (R-PDU-15)")
        seen.append(got[1].header.message_id)
    # R-NODE-84: a request naming another operator than the session's is refused, and
    # nothing is sent.
    node.drain()
    other = node.request("provision_request", provider=PREFECTURE,
                         operatorId=f"{agency_operator(node)}-other", purposeCode=OWN_PURPOSE,
                         byResidentCode=[p.resident_code for p in fresh_persons(1)])
    sent = node.sent_to_peer(QUIET_SECONDS, peer=PREFECTURE)
    if other.get("ok") or sent is not None:
        if sent is not None:           # answered, so that the agency stops resending
            node.acknowledge(sent[0], sent[1], PREFECTURE)
            respond(node, sent[0], sent[1].header.message_id, PREFECTURE,
                    ProvisionResponse(provided=()))
        return Outcome(Verdict.FAIL, expected, "a provision_request naming another "
                       f"operator than the session's answered {str(other)[:120]}"
                       f"{', and a request was sent' if sent is not None else ''}")
    return Outcome(Verdict.PASS, expected, "three well-formed requests, distinct ids; "
                   "one naming another operator refused, nothing sent")


# The response ----------------------------------------------------------------------------

def _provided_recorded(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("pending until the response; the response acknowledged (accepted) and "
                "recorded as provided with 2 persons")
    persons = fresh_persons(2)
    mid = ask_provider(node, PREFECTURE, persons)
    got = next_request(node, PREFECTURE)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    conn, pdu, _ = got
    node.acknowledge(conn, pdu, PREFECTURE)
    before = provision_result(node, mid)
    if before.get("outcome") != "pending":
        respond(node, conn, pdu.header.message_id, PREFECTURE, provided_response(persons))
        return Outcome(Verdict.FAIL, expected,
                       f"before any response the outcome is {before.get('outcome')!r}")
    answer = respond(node, conn, pdu.header.message_id, PREFECTURE, provided_response(persons))
    after = provision_result(node, mid)
    got_text = (f"{describe(answer)}; outcome {after.get('outcome')!r}, "
                f"{after.get('persons')} person(s)")
    if not _accepted(answer) or after.get("outcome") != "provided" \
            or after.get("persons") != 2:
        return Outcome(Verdict.FAIL, expected, got_text)
    return Outcome(Verdict.PASS, expected, got_text)


def _refusal_recorded(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "the refusal acknowledged (accepted) and recorded as refused:3011"
    mid = ask_provider(node, PREFECTURE, fresh_persons(1))
    got = next_request(node, PREFECTURE)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    conn, pdu, _ = got
    answer = respond(node, conn, pdu.header.message_id, PREFECTURE,
                      ProvisionResponse(refusal=ProvisionRefusal.PURPOSE_NOT_ALLOWED))
    after = provision_result(node, mid)
    got_text = f"{describe(answer)}; outcome {after.get('outcome')!r}"
    if not _accepted(answer) or after.get("outcome") != "refused:3011":
        return Outcome(Verdict.FAIL, expected, got_text)
    return Outcome(Verdict.PASS, expected, got_text)


def _refused_response(sender: str | None, what: str) -> Callable[[AdapterSut], Outcome]:
    """A case: a response correlated with nothing open (``sender`` None: from the
    provider, with a correlation of no request) or with the open request but from
    ``sender``, another node, must be refused with 4002 and change nothing."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = (f"{error_text(ErrorCode.UNKNOWN_CORRELATION)} for {what}; the request "
                    "still pending, then completed by its provider")
        persons = fresh_persons(1)
        mid = ask_provider(node, PREFECTURE, persons)
        got = next_request(node, PREFECTURE)
        if isinstance(got, str):
            return Outcome(Verdict.FAIL, expected, got)
        conn, pdu, _ = got
        request_id = pdu.header.message_id
        node.acknowledge(conn, pdu, PREFECTURE)
        if sender is None:
            answer = respond(node, conn, request_id, PREFECTURE,
                             provided_response(persons),
                             correlation=secrets.token_bytes(16))
        else:
            other = node.connect(sender)
            try:
                answer = respond(node, other, request_id, PREFECTURE,
                                 provided_response(persons), sender=sender)
            finally:
                other.close()
        middle = provision_result(node, mid)
        final = respond(node, conn, request_id, PREFECTURE, provided_response(persons))
        got_text = f"{describe(answer)}; then the outcome was {middle.get('outcome')!r}"
        if not is_error(answer, ErrorCode.UNKNOWN_CORRELATION):
            return Outcome(Verdict.FAIL, expected, got_text)
        if middle.get("outcome") != "pending":
            return Outcome(Verdict.FAIL, expected, got_text)
        if not _accepted(final):
            return Outcome(Verdict.FAIL, expected,
                           f"{got_text}; the provider's own response got {describe(final)}")
        return Outcome(Verdict.PASS, expected, got_text)
    return run


# R-30-7-3-20: only schedule 1 purposes ---------------------------------------------------

def _unlisted_purpose(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"provision_request refused with {error_text(ErrorCode.PURPOSE_NOT_ALLOWED)}, "
                "nothing sent to the provider")
    node.drain()
    answer = node.request("provision_request", provider=PREFECTURE,
                          operatorId=agency_operator(node),
                          purposeCode=OTHER_PURPOSE,
                          byResidentCode=[p.resident_code for p in fresh_persons(1)])
    got = next_request(node, PREFECTURE, 1.0)
    if not isinstance(got, str):
        finish_request(node, got, PREFECTURE)
        return Outcome(Verdict.FAIL, expected, f"a request for {OTHER_PURPOSE} "
                       "(a purpose of another body) was sent to the provider")
    error = answer.get("error") or {}
    if answer.get("ok") or error.get("code") != int(ErrorCode.PURPOSE_NOT_ALLOWED):
        return Outcome(Verdict.FAIL, expected, f"provision_request answered {answer}")
    return Outcome(Verdict.PASS, expected, "refused with 3011, nothing sent")


# R-30-7-3-23: 9002 means retry later -----------------------------------------------------

def _overloaded(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("the error report left unanswered; after the retry period the same request "
                "resent with the same message id (pass), or the request ended failed:9002 "
                "(acceptable); never sent again under a new message id")
    persons = fresh_persons(1)
    mid = ask_provider(node, PREFECTURE, persons)
    got = next_request(node, PREFECTURE)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    conn, pdu, request = got
    node.report_error(conn, pdu, PREFECTURE, int(ErrorCode.OVERLOADED))
    early = node.sent_to_peer(1.0, peer=PREFECTURE)
    if early is not None and early[1].sealed is None:
        return Outcome(Verdict.FAIL, expected,
                       f"the error report was answered with {describe(early[1])} (R-PDU-25)")
    again: Got | str = "nothing"
    if early is None:
        node.clock_advance(RETRY_WAIT)
        again = next_request(node, PREFECTURE, 2.0)
    else:
        opened = node.opened(early[1], PREFECTURE)
        if isinstance(opened, ProvisionRequest):
            again = (early[0], early[1], opened)
    if isinstance(again, str):
        outcome = provision_result(node, mid).get("outcome")
        if outcome == "failed:9002":
            return Outcome(Verdict.ACCEPTABLE, expected,
                           "not resent; the request ended failed:9002")
        return Outcome(Verdict.FAIL, expected,
                       f"not resent, and the outcome is {outcome!r}")
    finish_request(node, again, PREFECTURE)
    if again[1].header.message_id != pdu.header.message_id:
        return Outcome(Verdict.FAIL, expected,
                       "the request was sent again under a new message id")
    if again[2] != request:
        return Outcome(Verdict.FAIL, expected, "the request was resent with other content")
    return Outcome(Verdict.PASS, expected, "resent with the same message id and content")


REM_REQUEST = ("Send each provision request from the agency's own node to the provider "
               "asked, naming the agency itself (kind agency, its schedule 1 code) as "
               "requesting body, with the purpose, legal basis and operator of the request "
               "and a new random 16-octet message id (R-30-7-3-04, R-PDU-15).")
REM_RESPONSE = ("Take a ProvisionResponse only from the provider the request went to and "
                "only when its correlationId is that request's message id; record the "
                "outcome, then acknowledge it; refuse any other with 4002 "
                "UNKNOWN_CORRELATION (R-30-7-3-21, R-30-7-3-22).")


def agency_cases() -> list[Case]:
    """Every node-mode case for an agency, the deadline case of spec/deadlines.md
    (:mod:`juki_conformance.cases_node_deadlines`) last."""
    from juki_conformance.cases_node_deadlines import agency_deadline_cases

    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause="30-7", requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="agency", needs=needs)
    return [
        case("30-7/node/agency/request-well-formed",
             "the agency's requests name it as requesting body, carry the purpose, legal "
             "basis, operator and query asked, and fresh message ids",
             ("R-30-7-3-04", "R-30-7-3-08", "R-PDU-15", "R-NODE-84"), REM_REQUEST,
             _well_formed),
        case("30-7/node/agency/provided-recorded",
             "a response providing two persons is acknowledged and recorded as provided",
             ("R-30-7-3-22", "R-NODE-45"), REM_RESPONSE, _provided_recorded),
        case("30-7/node/agency/refusal-recorded",
             "a refusal (purposeNotAllowed) is acknowledged and recorded as refused",
             ("R-30-7-3-22", "R-NODE-45"), REM_RESPONSE, _refusal_recorded),
        case("30-7/node/agency/unknown-correlation-refused",
             "a response whose correlationId matches no request is refused with 4002",
             ("R-PDU-18", "R-30-7-3-21"), REM_RESPONSE,
             _refused_response(None, "a response correlated with no request")),
        case("30-7/node/agency/response-from-other-node-refused",
             "a response from the centre to a request sent to the prefecture is refused "
             "with 4002", ("R-30-7-3-21",), REM_RESPONSE,
             _refused_response(CENTRE, "a response from a node not asked")),
        case("30-7/node/agency/unlisted-purpose-not-sent",
             "the agency does not send a request for a purpose schedule 1 lists for "
             "another body", ("R-30-7-3-20",),
             "Check a request against schedule 1 before sending it: an agency asks only "
             "for its own purposes, under their legal bases; refuse anything else locally "
             "(3011 PURPOSE_NOT_ALLOWED) and send nothing.", _unlisted_purpose),
        case("30-7/node/agency/resent-or-failed-after-overloaded",
             "a request answered with 9002 is resent later with the same message id, or "
             "ends failed; the error report is not answered",
             ("R-30-7-3-23", "R-PDU-23", "R-PDU-25"),
             "Treat 9001, 9002 and 9003 as 'retry later': resend the request with the "
             "same message id and content when its retry timer fires (or end it as "
             "failed); never send the query again under a new message id, and never "
             "answer an error report.", _overloaded, needs="ixit.clock"),
        *agency_deadline_cases(),
    ]


__all__ = [
    "Got", "agency_cases", "agency_operator", "ask_provider", "finish_request",
    "fresh_persons", "next_request", "provided_response", "provision_result", "respond",
]
