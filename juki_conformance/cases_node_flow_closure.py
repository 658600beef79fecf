"""Node-mode cases on how a flow ends and how a sender waits (spec/pdu.md sections 5-6,
R-PDU-23, R-PDU-25, R-PDU-28; spec/identity.md R-30-5-0-10; spec/node.md R-NODE-41,
R-NODE-45, R-NODE-63).

An error report that answers a statutory message refuses it: the flow ends there, the
sender records the failure with the report's code and never resends the message
(R-PDU-23: "until it is acknowledged, refused, or its flow times out"). Checked for
every flow a node opens or answers in the roles the runner can drive, each with a
registered code (1024) and an unregistered one of the generic band (1000, R-PDU-28):

- the municipality as issuing municipality (its WideAreaIssuanceRequest refused);
- the municipality as residence municipality (its WideAreaIssuanceResponse refused);
- the agency (its ProvisionRequest refused);
- the prefecture as provider (its ProvisionResponse acknowledged, or refused).

"Never resends" is checked by moving the test clock (IXIT ``clock``) past any retry
interval (R-NODE-63 allows at most 60 s) and listening.

A transient refusal (9002) of an update is the opposite: the update is kept and resent
with the same id; the resend SHOULD wait a back-off (R-30-5-0-10), so it must not come
at once, and MUST come by the retry interval.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase, describe, node_sut, upper_ok
from juki_conformance.cases_node_stray_answers import answer_in_flow
from juki_conformance.cases_node_wide_area_consistency import household
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    JukiPdu,
    MessageType,
)
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
)

#: Seconds the clock moves to let any retry fall due: past R-NODE-63's 60 s.
RETRY_WAIT = 65.0
#: Seconds the runner listens for a resend that must not come.
QUIET = 1.0
#: A registered final code, and an unregistered one of the generic band (R-PDU-28).
CODES = (int(ErrorCode.INVALID_FIELD), 1000)
#: A resend sooner than this after a transient refusal is no back-off (R-30-5-0-10).
MIN_BACKOFF = 0.5
PROVIDER, AGENCY_OPERATOR, AGENCY_PURPOSE = "270008", "conformance-op-1", "S1-KENCHIKUSHI"
REM_CLOSED = (
    "Take an error report that refers to a statutory message you sent as the end of "
    "that message's flow, whatever its code (an unknown one as the generic failure of "
    "its band, R-PDU-28): record failed:<code>, stop its retry timer, never resend it "
    "(R-PDU-23), and never answer the report (R-PDU-25).")
REM_BACKOFF = (
    "After a transient refusal (9001-9003) of an update, keep it and resend it with the "
    "same message id after a back-off that grows with each refusal in a row (the "
    "reference waits 1 s, then doubles), and at the latest when the retry interval "
    "passes (R-30-5-0-10, R-NODE-63).")


def _next_sealed(node: NodeSut, peer: str, mtype: MessageType, timeout: float,
                 conn: PeerConnection | None = None
                 ) -> tuple[PeerConnection, JukiPdu] | None:
    """The next sealed ``mtype`` the node sends ``peer`` (on ``conn``, or to the peer
    the runner listens as), within ``timeout`` seconds; other PDUs are skipped."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if conn is not None:
            try:
                pdu = conn.read(left)
            except TimeoutError:
                return None
            if pdu is None:
                return None
            got = (conn, pdu)
        else:
            listened = node.sent_to_peer(left, peer=peer)
            if listened is None:
                return None
            got = listened
        if got[1].sealed is not None and got[1].header.message_type is mtype:
            return got
    return None


def _silent(node: NodeSut, peer: str, mtype: MessageType, mid: bytes,
            conn: PeerConnection | None) -> str | None:
    """Move the clock past any retry interval; None if the node resends ``mid`` neither
    on ``conn`` nor to the peer it listens as, else what it did."""
    node.clock_advance(RETRY_WAIT)
    for where in ((conn, None) if conn is not None else (None,)):
        got = _next_sealed(node, peer, mtype, QUIET, where)
        if got is not None and got[1].header.message_id == mid:
            return f"the refused {mtype.value} was resent after {RETRY_WAIT:g} s"
    return None


def _issuing(code: int) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        peer = node.peer_municipality
        expected = (f"the request refused with error {code}: wide_area_result "
                    f"failed:{code} with 0 copies, and the request never resent")
        node.drain(peer)
        people = household(peer, 1)[:1]
        head = people[0]
        requester = Requester(name=head.name, birth_date=head.birth_date,
                              address=head.address, resident_code=head.resident_code,
                              identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN)
        mid = str(upper_ok(node, "wide_area_request", residenceMunicipality=peer,
                      applicant="person", identityConfirmed=True,
                      requester=codec.to_json(requester),
                      targets=[codec.to_json(TargetPerson(name=head.name,
                                                          birth_date=head.birth_date))],
                      includeRelationship=False)["messageId"])
        got = _next_sealed(node, peer, MessageType.WIDE_AREA_ISSUANCE_REQUEST, node.timeout)
        if got is None or got[1].header.message_id.hex() != mid:
            return Outcome(Verdict.FAIL, expected, f"no request {mid[:8]}... reached {peer}")
        node.report_error(got[0], got[1], peer, code)
        deadline = time.monotonic() + node.timeout
        while (result := upper_ok(node, "wide_area_result", messageId=mid)).get("outcome") \
                == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
        resent = _silent(node, peer, MessageType.WIDE_AREA_ISSUANCE_REQUEST,
                         got[1].header.message_id, None)
        outcome = result.get("outcome")
        if outcome != f"failed:{code}" or result.get("copies") != 0 or resent:
            return Outcome(Verdict.FAIL, expected,
                           f"wide_area_result {outcome!r} with {result.get('copies')} "
                           f"copies; {resent or 'not resent'}")
        return Outcome(Verdict.PASS, expected, f"{outcome}, not resent")
    return run


def _residence(code: int) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        peer = node.peer_municipality
        expected = (f"the node's response refused with error {code}: the error report "
                    "not answered and the response never resent")
        seed = f"conformance:closure:{secrets.token_hex(8)}"
        upper_ok(node, "register_resident", seed=seed)
        head = generate_households(1, seed, municipalities=[node.code])[0].head
        request = WideAreaIssuanceRequest(
            issuing_municipality=peer, residence_municipality=node.code,
            requester=Requester(resident_code=head.resident_code, name=head.name,
                                birth_date=head.birth_date, address=head.address,
                                identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
            targets=(TargetPerson(name=head.name, birth_date=head.birth_date),),
            include_relationship=False, include_resident_code=False)
        node.drain(peer)
        mid, pdu = node.sealed(request, sender=peer)
        conn = node.connect(peer)
        try:
            conn.send(pdu)
            got = _next_sealed(node, peer, MessageType.WIDE_AREA_ISSUANCE_RESPONSE,
                               node.timeout, conn)
            if got is None or got[1].header.correlation_id != mid:
                return Outcome(Verdict.FAIL, expected, "no response to the request")
            response_id = got[1].header.message_id
            node.report_error(conn, got[1], peer, code)
            try:
                answered = conn.read(QUIET)
            except TimeoutError:
                answered = None
            if answered is not None and answered.sealed is None:
                return Outcome(Verdict.FAIL, expected,
                               f"the error report was answered with {describe(answered)}")
            resent = _silent(node, peer, MessageType.WIDE_AREA_ISSUANCE_RESPONSE,
                             response_id, conn)
        finally:
            conn.close()
        if resent:
            return Outcome(Verdict.FAIL, expected, resent)
        return Outcome(Verdict.PASS, expected, "not answered, not resent")
    return run


def _residence_wrong_ack(below: bool) -> Callable[[AdapterSut], Outcome]:
    """A case: the runner answers the node's WideAreaIssuanceResponse with an
    acknowledgement in its flow naming another message of the flow, the request, whose
    id sorts ``below`` the response's (or above)."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        peer = node.peer_municipality
        side = "below" if below else "above"
        expected = (f"an acknowledgement in the flow naming the request's id, sorting {side} the "
                    "response's id, delivers nothing: the response resent with its own "
                    "message id after the retry interval")
        seed = f"conformance:closure:{secrets.token_hex(8)}"
        upper_ok(node, "register_resident", seed=seed)
        head = generate_households(1, seed, municipalities=[node.code])[0].head
        request = WideAreaIssuanceRequest(
            issuing_municipality=peer, residence_municipality=node.code,
            requester=Requester(resident_code=head.resident_code, name=head.name,
                                birth_date=head.birth_date, address=head.address,
                                identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
            targets=(TargetPerson(name=head.name, birth_date=head.birth_date),),
            include_relationship=False, include_resident_code=False)
        node.drain(peer)
        mid, pdu = node.sealed(request, sender=peer, message_id=bytes(
            [0x00 if below else 0xFF]) + secrets.token_bytes(15))
        conn = node.connect(peer)
        try:
            conn.send(pdu)
            got = _next_sealed(node, peer, MessageType.WIDE_AREA_ISSUANCE_RESPONSE,
                               node.timeout, conn)
            if got is None or got[1].header.correlation_id != mid:
                return Outcome(Verdict.FAIL, expected, "no response to the request")
            response_id = got[1].header.message_id
            if (mid < response_id) != below:
                raise Inconclusive("the response's id sorts on the wrong side of the "
                                   "request's (1 in 256): run the case again")
            conn.send(answer_in_flow(node, peer, mid, Acknowledgement(
                acknowledged_id=mid, status=AckStatus.ACCEPTED)))
            node.clock_advance(RETRY_WAIT)
            again = _next_sealed(node, peer, MessageType.WIDE_AREA_ISSUANCE_RESPONSE,
                                 node.timeout, conn)
            if again is None:
                again = _next_sealed(node, peer, MessageType.WIDE_AREA_ISSUANCE_RESPONSE,
                                     QUIET)
            if again is not None:
                node.acknowledge(again[0], again[1], peer)
        finally:
            conn.close()
        if again is None or again[1].header.message_id != response_id:
            return Outcome(Verdict.FAIL, expected, "the response was not resent: the "
                           "acknowledgement of another id closed its flow")
        return Outcome(Verdict.PASS, expected, "resent, then acknowledged")
    return run


def _agency(code: int) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = (f"the request refused with error {code}: provision_result "
                    f"failed:{code}, and the request never resent")
        node.drain()
        person = generate_households(1, f"conformance:closure:{secrets.token_hex(8)}",
                                     municipalities=["271004"])[0].head
        operator = (node.ixit.get("operator") or {}).get("id", AGENCY_OPERATOR)
        mid = str(upper_ok(node, "provision_request", provider=PROVIDER, operatorId=operator,
                      purposeCode=AGENCY_PURPOSE,
                      byResidentCode=[person.resident_code])["messageId"])
        got = _next_sealed(node, PROVIDER, MessageType.PROVISION_REQUEST, node.timeout)
        if got is None or got[1].header.message_id.hex() != mid:
            return Outcome(Verdict.FAIL, expected, f"no request {mid[:8]}... reached "
                           f"{PROVIDER}")
        node.report_error(got[0], got[1], PROVIDER, code)
        deadline = time.monotonic() + node.timeout
        while (result := upper_ok(node, "provision_result", messageId=mid)).get("outcome") \
                == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
        resent = _silent(node, PROVIDER, MessageType.PROVISION_REQUEST,
                         got[1].header.message_id, None)
        outcome = result.get("outcome")
        if outcome != f"failed:{code}" or resent:
            return Outcome(Verdict.FAIL, expected,
                           f"provision_result {outcome!r}; {resent or 'not resent'}")
        return Outcome(Verdict.PASS, expected, f"{outcome}, not resent")
    return run


def _provider(code: int | None) -> Callable[[AdapterSut], Outcome]:
    """A case: the agency the runner plays answers the prefecture's ProvisionResponse
    with an acknowledgement (``code`` None) or error ``code``; either ends the flow."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        how = "acknowledged" if code is None else f"refused with error {code}"
        expected = (f"the node's ProvisionResponse {how}: never resent, nothing "
                    "answered, and a second request on the connection served")
        person = generate_households(1, f"conformance:closure:{secrets.token_hex(8)}",
                                     municipalities=["271004"])[0].head
        request = ProvisionRequest(
            requester=RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
            legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code=AGENCY_PURPOSE,
            operator_id=OPERATORS[AGENCY], by_resident_code=(person.resident_code,))
        mid, pdu = node.sealed(request, sender=AGENCY)
        conn = node.connect(AGENCY)
        try:
            conn.send(pdu)
            got = _next_sealed(node, AGENCY, MessageType.PROVISION_RESPONSE, node.timeout,
                               conn)
            if got is None or got[1].header.correlation_id != mid:
                return Outcome(Verdict.FAIL, expected, "no ProvisionResponse came")
            if code is None:
                node.acknowledge(conn, got[1], AGENCY)
            else:
                node.report_error(conn, got[1], AGENCY, code)
            node.clock_advance(RETRY_WAIT)
            try:
                after = conn.read(QUIET)
            except TimeoutError:
                after = None
            # The connection keeps serving (R-NODE-01): a second request is answered.
            mid2, pdu2 = node.sealed(request, sender=AGENCY,
                                     message_id=secrets.token_bytes(16))
            conn.send(pdu2)
            second = _next_sealed(node, AGENCY, MessageType.PROVISION_RESPONSE,
                                  node.timeout, conn)
            if second is not None:
                node.acknowledge(conn, second[1], AGENCY)
        finally:
            conn.close()
        if second is None or second[1].header.correlation_id != mid2:
            return Outcome(Verdict.FAIL, expected, "a second request on the connection "
                           "got no ProvisionResponse")
        if after is not None and after.sealed is not None \
                and after.header.message_id == got[1].header.message_id:
            return Outcome(Verdict.FAIL, expected,
                           f"the response was resent after {RETRY_WAIT:g} s")
        if after is not None and after.sealed is None:
            return Outcome(Verdict.FAIL, expected, f"the node sent {describe(after)}")
        return Outcome(Verdict.PASS, expected, "not resent, nothing answered")
    return run


def _backoff(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    pref = node.prefecture
    expected = (f"after 9002 OVERLOADED the update resent with the same message id, not "
                f"within {MIN_BACKOFF:g} s (a back-off), and once the clock passed the "
                "retry interval")
    _settle(node, pref)
    seed = f"conformance:backoff:{secrets.token_hex(8)}"
    upper_ok(node, "register_resident", seed=seed)
    head = generate_households(1, seed, municipalities=[node.code])[0].head
    upper_ok(node, "record_change", residentCode=head.resident_code, reason="moveIn")
    # The first update on the wire (this one, or one an earlier case left unsettled).
    got = _next_sealed(node, pref, MessageType.IDENTITY_INFO_UPDATE, node.timeout)
    if got is None:
        return Outcome(Verdict.FAIL, expected, "no update reached the prefecture")
    node.report_error(got[0], got[1], pref, int(ErrorCode.OVERLOADED))
    refused_at = time.monotonic()
    early = _next_sealed(node, pref, MessageType.IDENTITY_INFO_UPDATE, MIN_BACKOFF)
    if early is not None:
        waited = time.monotonic() - refused_at
        node.acknowledge(early[0], early[1], pref)
        _drain_updates(node, pref)
        return Outcome(Verdict.FAIL, expected, f"resent after {waited:.2f} s, with no "
                       "back-off")
    node.clock_advance(RETRY_WAIT)
    again = _next_sealed(node, pref, MessageType.IDENTITY_INFO_UPDATE, node.timeout)
    if again is None:
        return Outcome(Verdict.FAIL, expected, "not resent after the retry interval")
    node.acknowledge(again[0], again[1], pref)
    _drain_updates(node, pref)
    if again[1].header.message_id != got[1].header.message_id:
        return Outcome(Verdict.FAIL, expected, "another message was sent in its place")
    return Outcome(Verdict.PASS, expected, "backed off, then resent unchanged")


def _settle(node: NodeSut, pref: str) -> None:
    """Acknowledge what earlier cases left unacknowledged (status ``updates``)."""
    deadline = time.monotonic() + node.timeout
    while (upper_ok(node, "status").get("updates") or {}).get("unacknowledged"):
        got = node.sent_to_peer(0.2, peer=pref)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], pref)
        if time.monotonic() > deadline:
            raise SutFault("earlier updates stay unacknowledged")


def _drain_updates(node: NodeSut, pref: str) -> None:
    """Acknowledge whatever updates follow, so that later cases start settled."""
    while (got := _next_sealed(node, pref, MessageType.IDENTITY_INFO_UPDATE, 0.3)):
        node.acknowledge(got[0], got[1], pref)


def closure_cases() -> list[Case]:
    """The cases of this module (municipality and agency SUTs)."""
    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], role: str) -> Case:
        return NodeCase(id=cid, title=title, clause="pdu", requirements=reqs,
                        level=strongest_level(reqs), remediation=rem, mode="node",
                        ops=(), run=run, role=role, needs="ixit.clock")
    cases: list[Case] = []
    for code in CODES:
        extra = ("R-PDU-28",) if code == 1000 else ()
        cases += [
            case(f"pdu/node/flow-closed/issuing-request-refused-{code}",
                 f"a wide-area request answered with error {code} fails and is never "
                 "resent", ("R-PDU-23", "R-NODE-41", *extra), REM_CLOSED, _issuing(code),
                 "municipality"),
            case(f"pdu/node/flow-closed/residence-response-refused-{code}",
                 f"a wide-area response answered with error {code} is never resent, the "
                 "report never answered", ("R-PDU-23", "R-PDU-25", *extra), REM_CLOSED,
                 _residence(code), "municipality"),
            case(f"pdu/node/flow-closed/agency-request-refused-{code}",
                 f"a provision request answered with error {code} fails and is never "
                 "resent", ("R-PDU-23", "R-NODE-45", *extra), REM_CLOSED, _agency(code),
                 "agency"),
        ]
    cases += [
        case(f"pdu/node/flow-open/residence-response-ack-of-request-id-{side}",
             f"an acknowledgement naming the request's id (sorting {side} the "
             "response's id) does not end the flow: the response is resent",
             ("R-PDU-23",),
             "Take an acknowledgement as the delivery of the message whose id it names "
             "(equality of acknowledgedId), never of another one of the flow; keep "
             "resending until that one is acknowledged.",
             _residence_wrong_ack(side == "below"), "municipality")
        for side in ("below", "above")]
    cases += [
        case("pdu/node/flow-closed/provider-response-acknowledged",
             "a provision response the agency acknowledged is never resent",
             ("R-PDU-23", "R-PDU-25", "R-NODE-01"), REM_CLOSED, _provider(None), "prefecture"),
        case("pdu/node/flow-closed/provider-response-refused",
             "a provision response the agency refused with 1024 is never resent, the "
             "report never answered", ("R-PDU-23", "R-PDU-25", "R-NODE-01"), REM_CLOSED,
             _provider(int(ErrorCode.INVALID_FIELD)), "prefecture"),
    ]
    cases.append(case("30-5/node/update/backoff-after-overloaded",
                      "an update refused 9002 is resent after a back-off, by the retry "
                      "interval, with the same message id",
                      ("R-30-5-0-10", "R-NODE-63"), REM_BACKOFF, _backoff, "municipality"))
    return cases


__all__ = ["closure_cases"]
