"""Node-mode cases on the centre acting on a prefecture's delegation (Art. 30-10(1),
spec/provision.md section 6), on the provider's side (the national centre, with a
prefecture that refuses a delegated basis) and on the requester's (an agency).

The centre's cases take the delegating prefecture from the IXIT (``delegatingPrefectures``,
the first; the reference centre is launched with ``--delegated-by 270008``). The runner
relays fresh synthetic persons as the prefectures it plays (270008, 130001), numbered on
from the ``lastSequence`` the centre reports, and asks as AG0001 or as the municipality
271004. The agency's cases trigger requests through ``provision_request`` and play the
centre DC01 and the prefecture 270008.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import provision_response
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.codec import codec
from juki_protocol.codec.schema import decode_raw, encode_raw
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.identifiers import prefecture_of
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import AckStatus, MessageType
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvidedIdentity,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

#: The prefectures the runner relays as, each with a municipality of its own.
RESIDENCE = {"270008": "271004", "130001": "131016"}
MUNICIPALITY, PURPOSE, CENTRE = "271004", "S1-KENCHIKUSHI", "DC01"
AG = RequestingBody(kind=BodyKind.AGENCY, code=AGENCY)
Answer = ProvisionResponse | str


def _delegating(node: NodeSut) -> str:
    found = node.ixit.get("delegatingPrefectures") or []
    if not found:
        raise SutFault("the IXIT declares no delegatingPrefectures")
    return str(found[0])


def _undelegated(node: NodeSut) -> str:
    """A prefecture that did not delegate to the centre."""
    declared = set(node.ixit.get("delegatingPrefectures") or ())
    return next(p for p in ("130001", "270008", "010006", "400009") if p not in declared)


def _person(prefecture: str) -> SyntheticResident:
    return generate_households(1, f"delegation:{secrets.token_hex(6)}",
                               municipalities=[RESIDENCE[prefecture]])[0].head


def _relayed(node: NodeSut, prefecture: str) -> SyntheticResident:
    """A fresh person relayed to the centre by ``prefecture`` (acknowledged)."""
    person = _person(prefecture)
    last = int((node.status().get("lastSequence") or {}).get(prefecture, 0))
    relay = IdentityInfoRelay(prefecture=prefecture, relay_sequence=last + 1,
                              update=IdentityInfoUpdate(
                                  municipality=RESIDENCE[prefecture], update_sequence=1,
                                  operation=UpdateOperation.RECORD,
                                  identity_info=person.identity_info(Profile.CURRENT),
                                  change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                                         change_date=person.birth_date)))
    mid, pdu = node.sealed(relay, sender=prefecture)
    conn = node.connect(prefecture)
    try:
        conn.send(pdu)
        answer = conn.answer_to(mid)
    finally:
        conn.close()
    if answer is None or answer.acknowledgement is None \
            or answer.acknowledgement.status is not AckStatus.ACCEPTED:
        raise Inconclusive(f"relaying a person as {prefecture} got {describe(answer)}")
    return person


def _ask(node: NodeSut, request: ProvisionRequest, *, der: bytes | None = None) -> Answer:
    """Send ``request`` as its body; the ProvisionResponse or what came instead."""
    body = request.requester.code
    mid, pdu = node.sealed(request, sender=body, der=der)
    conn = node.connect(body)
    try:
        conn.send(pdu)
        return provision_response(node, conn, mid, body)
    finally:
        conn.close()


def _request(body: RequestingBody, basis: LegalBasis, delegator: str | None,
             codes: tuple[str, ...], purpose: str = PURPOSE) -> ProvisionRequest:
    return ProvisionRequest(requester=body, legal_basis=basis, purpose_code=purpose,
                            operator_id=OPERATORS.get(body.code, OPERATORS[AGENCY]),
                            by_resident_code=codes, delegating_prefecture=delegator)


def _what(answer: Answer) -> str:
    if isinstance(answer, str):
        return answer
    if answer.refusal is not None:
        return f"refusal {answer.refusal.value}"
    return f"{len(answer.provided or ())} person(s) provided"


# The centre -------------------------------------------------------------------------------

EXPECT_SCOPE = ("under delegatedToAgency naming the delegating prefecture: the identity "
                "info of its resident only, not of another prefecture's resident")


def _scope(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    delegator = _delegating(node)
    if delegator not in RESIDENCE:
        raise Inconclusive(f"the runner cannot relay as the delegating prefecture "
                           f"{delegator}")
    other = next(p for p in RESIDENCE if p != delegator)
    own, foreign = _relayed(node, delegator), _relayed(node, other)
    answer = _ask(node, _request(AG, LegalBasis.DELEGATED_TO_AGENCY, delegator,
                                 (foreign.resident_code, own.resident_code)))
    if isinstance(answer, str) or answer.provided is None:
        return Outcome(Verdict.FAIL, EXPECT_SCOPE, _what(answer))
    want = own.identity_info(Profile.CURRENT)
    got = [p.identity_info for p in answer.provided]
    if got != [want]:
        extra = sum(i.resident_code == foreign.resident_code for i in got)
        return Outcome(Verdict.FAIL, EXPECT_SCOPE, f"{len(got)} person(s) provided"
                       + (", among them the other prefecture's resident" if extra else ""))
    return Outcome(Verdict.PASS, EXPECT_SCOPE, "only the delegating prefecture's resident")


def _refusal(build: Callable[[NodeSut], ProvisionRequest], refusal: ProvisionRefusal,
             expected: str) -> Callable[[AdapterSut], Outcome]:
    """A case: the request ``build`` makes must be refused with ``refusal``."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        answer = _ask(node, build(node))
        if isinstance(answer, str) or answer.refusal is not refusal:
            return Outcome(Verdict.FAIL, expected, _what(answer))
        return Outcome(Verdict.PASS, expected, _what(answer))
    return run


def _codes() -> tuple[str, ...]:
    return (_person("270008").resident_code,)


def _undelegated_request(node: NodeSut) -> ProvisionRequest:
    return _request(AG, LegalBasis.DELEGATED_TO_AGENCY, _undelegated(node), _codes())


EXPECT_MUNI = ("the municipality 271004 served under the delegated basis that fits its "
               "place (own or other municipality of the delegating prefecture), refused "
               "legalBasisMismatch under the other")


def _municipality_place(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    delegator = _delegating(node)
    purpose = node.local_purposes.get("municipality")
    if purpose is None:
        raise SutFault("the node declares no local purpose for municipality")
    body = RequestingBody(kind=BodyKind.MUNICIPALITY, code=MUNICIPALITY)
    own = prefecture_of(MUNICIPALITY) == delegator
    fits, misfits = ((LegalBasis.DELEGATED_TO_OWN_MUNICIPALITY,
                      LegalBasis.DELEGATED_TO_OTHER_MUNICIPALITY) if own else
                     (LegalBasis.DELEGATED_TO_OTHER_MUNICIPALITY,
                      LegalBasis.DELEGATED_TO_OWN_MUNICIPALITY))
    served = _ask(node, _request(body, fits, delegator, _codes(), purpose))
    if isinstance(served, str) or served.refusal is not None:
        return Outcome(Verdict.FAIL, EXPECT_MUNI, f"under {fits.value}: {_what(served)}")
    refused = _ask(node, _request(body, misfits, delegator, _codes(), purpose))
    if isinstance(refused, str) or refused.refusal is not \
            ProvisionRefusal.LEGAL_BASIS_MISMATCH:
        return Outcome(Verdict.FAIL, EXPECT_MUNI, f"under {misfits.value}: "
                       f"{_what(refused)}")
    return Outcome(Verdict.PASS, EXPECT_MUNI, f"served under {fits.value} only")


EXPECT_MISSING = ("a request under delegatedToAgency without delegatingPrefecture: error "
                  "1024 INVALID_FIELD referring to it, nothing provided")


def _missing_delegator(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    request = _request(AG, LegalBasis.DELEGATED_TO_AGENCY, _delegating(node), _codes())
    raw = decode_raw("ProvisionRequest", codec.encode(request)).value
    raw.pop("delegatingPrefecture")
    answer = _ask(node, request, der=encode_raw("ProvisionRequest", raw))
    # An error report referring to the request, as node_steps.provision_response says it.
    wanted = (f"error {int(ErrorCode.INVALID_FIELD)} {ErrorCode.INVALID_FIELD.name} "
              "instead of a ProvisionResponse")
    if answer != wanted:
        return Outcome(Verdict.FAIL, EXPECT_MISSING, _what(answer))
    return Outcome(Verdict.PASS, EXPECT_MISSING, answer)


# The prefecture ---------------------------------------------------------------------------

def _prefecture_request(node: NodeSut) -> ProvisionRequest:
    return _request(AG, LegalBasis.DELEGATED_TO_AGENCY, node.code, _codes())


# The agency -------------------------------------------------------------------------------

def _operator(node: NodeSut) -> str:
    declared = node.ixit.get("operator")
    return str(declared["id"]) if isinstance(declared, dict) else OPERATORS[AGENCY]


EXPECT_AGENCY = ("the request reaches DC01 under delegatedToAgency naming 270008 as "
                 "delegatingPrefecture; its answer recorded as provided")


def _agency_delegated(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain()
    person = _person("270008")
    sent = node.request("provision_request", provider=CENTRE, purposeCode=PURPOSE,
                        operatorId=_operator(node), byResidentCode=[person.resident_code],
                        legalBasis=LegalBasis.DELEGATED_TO_AGENCY.value,
                        delegatingPrefecture="270008")
    if not sent.get("ok"):
        return Outcome(Verdict.FAIL, EXPECT_AGENCY, f"provision_request refused: "
                       f"{sent.get('error')}")
    got = node.sent_to_peer(peer=CENTRE)
    if got is None:
        return Outcome(Verdict.FAIL, EXPECT_AGENCY, "no request reached DC01")
    conn, pdu = got
    if pdu.sealed is None or pdu.header.message_type is not MessageType.PROVISION_REQUEST:
        return Outcome(Verdict.FAIL, EXPECT_AGENCY, f"{describe(pdu)} reached DC01")
    request = node.opened(pdu, CENTRE)
    node.acknowledge(conn, pdu, CENTRE)
    response = ProvisionResponse(provided=(ProvidedIdentity(
        identity_info=person.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                               change_date=person.birth_date)),))
    mid, answer_pdu = node.sealed(response, sender=CENTRE, header_changes={
        "correlation_id": pdu.header.message_id})
    conn.send(answer_pdu)
    conn.answer_to(mid)
    if not isinstance(request, ProvisionRequest) \
            or request.legal_basis is not LegalBasis.DELEGATED_TO_AGENCY \
            or request.delegating_prefecture != "270008":
        basis = getattr(request, "legal_basis", None)
        return Outcome(Verdict.FAIL, EXPECT_AGENCY, f"the request came under {basis} naming "
                       f"{getattr(request, 'delegating_prefecture', None)}")
    result = node.request("provision_result", messageId=sent.get("messageId"))
    if result.get("outcome") != "provided":
        return Outcome(Verdict.FAIL, EXPECT_AGENCY, f"outcome {result.get('outcome')!r}")
    return Outcome(Verdict.PASS, EXPECT_AGENCY, "sent as asked, answer recorded")


EXPECT_NOT_TO_PREF = ("provision_request of a delegated basis to the prefecture 270008: "
                      "3012 LEGAL_BASIS_MISMATCH, nothing sent")


def _agency_not_to_prefecture(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    node.drain()
    answer: dict[str, Any] = node.request(
        "provision_request", provider="270008", purposeCode=PURPOSE,
        operatorId=_operator(node), byResidentCode=list(_codes()),
        legalBasis=LegalBasis.DELEGATED_TO_AGENCY.value, delegatingPrefecture="270008")
    got = node.sent_to_peer(1.0, peer="270008")
    if got is not None:
        node.acknowledge(got[0], got[1], "270008")
        return Outcome(Verdict.FAIL, EXPECT_NOT_TO_PREF, "a request reached the prefecture")
    error = answer.get("error") or {}
    if answer.get("ok") or error.get("code") != int(ErrorCode.LEGAL_BASIS_MISMATCH):
        return Outcome(Verdict.FAIL, EXPECT_NOT_TO_PREF, f"provision_request answered "
                       f"{answer.get('error') or 'ok'}")
    return Outcome(Verdict.PASS, EXPECT_NOT_TO_PREF, "refused 3012, nothing sent")


# The cases ---------------------------------------------------------------------------------

REM_CENTRE = ("Serve a delegatedTo... basis only for a prefecture that delegated its "
              "provision to the centre, in that prefecture's place: its rules of "
              "spec/provision.md section 2 and only the identity info of its residents; "
              "refuse any other with legalBasisMismatch (spec/provision.md section 6).")
REM_REQUESTER = ("Send a delegatedTo... basis, with the delegating prefecture named in "
                 "delegatingPrefecture, to the national centre only; refuse it locally "
                 "for a prefecture (3012) and send nothing (spec/provision.md section 6).")


def delegation_cases() -> list[Case]:
    """The cases of this module (national, prefecture, agency)."""
    def case(cid: str, title: str, role: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause="30-10", requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role=role, needs=needs)
    centre = "ixit.delegatingPrefectures"     # a centre no prefecture delegated to: n/a
    return [
        case("30-10/node/delegation/delegating-prefecture-residents-only",
             "on a prefecture's delegation the centre provides only that prefecture's "
             "residents", "national", ("R-30-10-1-05", "R-30-10-1-04"), REM_CENTRE,
             _scope, centre),
        case("30-10/node/delegation/undelegated-prefecture-refused",
             "a delegated basis naming a prefecture that did not delegate is refused "
             "legalBasisMismatch", "national", ("R-30-10-1-03", "R-30-7-3-05"),
             REM_CENTRE, _refusal(_undelegated_request,
                                  ProvisionRefusal.LEGAL_BASIS_MISMATCH,
                                  "refusal legalBasisMismatch"), centre),
        case("30-10/node/delegation/municipality-of-the-delegating-prefecture",
             "a municipality is served under the delegated basis of its place relative "
             "to the delegating prefecture only", "national", ("R-30-10-1-04",),
             REM_CENTRE, _municipality_place, f"{centre} localPurposes.municipality"),
        case("30-10/node/delegation/delegating-prefecture-missing",
             "a delegated basis without delegatingPrefecture is refused with 1024",
             "national", ("R-30-10-1-01",), REM_CENTRE, _missing_delegator, centre),
        case("30-10/node/delegation/prefecture-refuses-delegated-basis",
             "a prefecture refuses a delegated basis with legalBasisMismatch",
             "prefecture", ("R-30-10-1-02",),
             "Serve the delegatedTo... bases at the national centre only; a prefecture "
             "refuses them with legalBasisMismatch (spec/provision.md section 6).",
             _refusal(_prefecture_request, ProvisionRefusal.LEGAL_BASIS_MISMATCH,
                      "refusal legalBasisMismatch")),
        case("30-10/node/delegation/agency-names-delegating-prefecture",
             "an agency asks the centre on a prefecture's delegation naming the "
             "prefecture", "agency", ("R-30-10-1-01", "R-30-10-1-07"), REM_REQUESTER,
             _agency_delegated),
        case("30-10/node/delegation/agency-keeps-delegated-basis-from-prefecture",
             "an agency refuses to send a delegated basis to a prefecture", "agency",
             ("R-30-10-1-07",), REM_REQUESTER, _agency_not_to_prefecture),
    ]


__all__ = ["delegation_cases"]
