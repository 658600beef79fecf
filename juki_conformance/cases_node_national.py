"""Node-mode test cases for the national centre (指定情報処理機関, DC01) under test: the
runner plays the prefectures 270008 and 130001 sending relays (Art. 30-11), a
municipality and a prefecture breaking the routing table, and the requesting bodies of
Art. 30-10 (the agency AG0001, a prefectural organ, a municipality), and reads what the
centre holds through the upper tester's ``status`` (spec/node.md section 4.3).

Every case reads ``status`` first and numbers its relays from the last number the
centre applied for each prefecture, so the cases run in any order against one
long-running node. "Nothing stored" means the ``identityInfo`` and ``lastSequence`` of
the status after a refusal equal those before it. The persons are synthetic, fresh for
each case.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe, with_later_field
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import (
    error_text,
    exchange,
    expect_ack,
    held_state,
    in_p2002,
    is_error,
    last_sequence,
    node_sut,
)
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.codec.schema import decode_raw, encode_raw
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import AckStatus, JukiPdu
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvidedIdentity,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)
from juki_protocol.tools.vectors.vector_cases import replace_at

#: The prefectures the runner plays, each with a municipality of its own.
PREFECTURE, OTHER_PREFECTURE = "270008", "130001"
RESIDENCE = {PREFECTURE: "271004", OTHER_PREFECTURE: "131016"}
MUNICIPALITY = RESIDENCE[PREFECTURE]
#: A schedule 1 purpose of AG0001 served under centerToAgency, and one of AG0002.
OWN_PURPOSE, OTHER_PURPOSE = "S1-KENCHIKUSHI", "S1-ONKYU"
#: The purpose asked for by a prefectural organ when the ICS declares none of its own.
ORGAN_PURPOSE = "L-KENMIN-KAKUNIN"
Build = Callable[[NodeSut, dict[str, Any]], tuple[bytes, bytes]]


# Relays ---------------------------------------------------------------------------------

def _person(prefecture: str = PREFECTURE) -> SyntheticResident:
    """A fresh synthetic person living in the prefecture's municipality."""
    seed = f"conformance:national:{secrets.token_hex(8)}"
    return generate_households(1, seed, municipalities=[RESIDENCE[prefecture]])[0].head


def _recorded(person: SyntheticResident, sequence: int = 1) -> IdentityInfoUpdate:
    """The municipality's update recording ``person`` (birth), numbered ``sequence``."""
    return IdentityInfoUpdate(
        municipality=person.address.local_gov_code, update_sequence=sequence,
        operation=UpdateOperation.RECORD,
        identity_info=person.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                               change_date=person.birth_date))


def _relay(sequence: int, prefecture: str = PREFECTURE,
           update: IdentityInfoUpdate | None = None) -> IdentityInfoRelay:
    """Relay ``sequence`` of ``prefecture``: by default a fresh person's recording."""
    return IdentityInfoRelay(prefecture=prefecture, relay_sequence=sequence,
                             update=update or _recorded(_person(prefecture)))


def _numbers(status: dict[str, Any]) -> dict[str, int]:
    return {p: last_sequence(status, p) for p in (PREFECTURE, OTHER_PREFECTURE)}


def _counts(status: dict[str, Any]) -> tuple[int, int]:
    info = status.get("identityInfo") or {}
    return int(info.get("current", 0)), int(info.get("versions", 0))


def _applied(node: NodeSut, relay: IdentityInfoRelay, *, new_person: bool = True
             ) -> tuple[bytes, bytes, str | None]:
    """Send ``relay`` as its prefecture; (message id, PDU, None) when it was
    acknowledged (accepted) and the status shows exactly it stored, else the problem."""
    before = node.status()
    pref, seq = relay.prefecture, relay.relay_sequence
    mid, pdu = node.sealed(relay, sender=pref)
    wrong = expect_ack(exchange(node, pref, pdu, mid), AckStatus.ACCEPTED)
    if wrong:
        return mid, pdu, f"relay {seq} of {pref} got {wrong}"
    after = node.status()
    want = {**_numbers(before), pref: seq}
    if _numbers(after) != want:
        return mid, pdu, (f"relay {seq} of {pref} acknowledged, but status lastSequence is "
                          f"{_numbers(after)}, not {want}")
    (c0, v0), (c1, v1) = _counts(before), _counts(after)
    if (c1 - c0, v1 - v0) != (1 if new_person else 0, 1):
        return mid, pdu, (f"relay {seq} of {pref} acknowledged, but status identityInfo "
                          f"went from current {c0}, versions {v0} to {c1}, {v1}")
    return mid, pdu, None


def _refused(build: Build, code: ErrorCode, *, peer: str = PREFECTURE
             ) -> Callable[[AdapterSut], Outcome]:
    """A case: ``build`` makes a PDU (given the status) that the centre must refuse with
    ``code``, referring to its message id, storing nothing."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = f"{error_text(code)} referring to the message, nothing stored"
        before = node.status()
        mid, pdu = build(node, before)
        answer = exchange(node, peer, pdu, mid)
        after = node.status()
        got = describe(answer)
        if not is_error(answer, code):
            return Outcome(Verdict.FAIL, expected, got)
        if held_state(after) != held_state(before):
            return Outcome(Verdict.FAIL, expected, f"{got}, but the status changed",
                           f"before {held_state(before)}, after {held_state(after)}")
        return Outcome(Verdict.PASS, expected, got)
    return run


def _per_prefecture(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("relay m + 1 of 270008, then relay n + 1 of 130001, each acknowledged "
                "(accepted) and stored under its own prefecture's number")
    first = _numbers(node.status())
    for pref in (PREFECTURE, OTHER_PREFECTURE):
        _, _, problem = _applied(node, _relay(first[pref] + 1, pref))
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected,
                   f"applied 270008 #{first[PREFECTURE] + 1} and 130001 "
                   f"#{first[OTHER_PREFECTURE] + 1}")


def _duplicate(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("the same PDU again and the same relay under a new message id both "
                "acknowledged duplicate; nothing changed")
    relay = _relay(last_sequence(node.status(), PREFECTURE) + 1)
    mid, pdu, problem = _applied(node, relay)
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    middle = node.status()
    again = exchange(node, PREFECTURE, pdu, mid)
    wrong = expect_ack(again, AckStatus.DUPLICATE)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"the same PDU again got {wrong}")
    # A prefecture may reseal a retry (spec/identity.md section 2): the relay is what
    # makes it the same, not the message id.
    mid2, pdu2 = node.sealed(relay, sender=PREFECTURE)
    wrong = expect_ack(exchange(node, PREFECTURE, pdu2, mid2), AckStatus.DUPLICATE)
    if wrong:
        return Outcome(Verdict.FAIL, expected,
                       f"the same relay under a new message id got {wrong}")
    after = node.status()
    if held_state(after) != held_state(middle):
        return Outcome(Verdict.FAIL, expected, "acknowledged as duplicate, but the status "
                       "changed", f"before {held_state(middle)}, after {held_state(after)}")
    return Outcome(Verdict.PASS, expected, "both acknowledged duplicate, nothing changed")


def _conflict(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a relay numbered m (applied) with other content: "
                f"{error_text(ErrorCode.OUT_OF_ORDER)}, nothing stored")
    seq = last_sequence(node.status(), PREFECTURE) + 1
    _, _, problem = _applied(node, _relay(seq))
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return _refused(lambda n, s: n.sealed(_relay(seq), sender=PREFECTURE),
                    ErrorCode.OUT_OF_ORDER)(node)


def _gap(node: NodeSut, status: dict[str, Any]) -> tuple[bytes, bytes]:
    return node.sealed(_relay(last_sequence(status, PREFECTURE) + 2), sender=PREFECTURE)


def _not_sender(node: NodeSut, status: dict[str, Any]) -> tuple[bytes, bytes]:
    # R-30-11-0-01: 270008 (header sender and TLS peer) relays as if it were 130001,
    # numbered as 130001's next relay, so that only the sender check can refuse it.
    relay = _relay(last_sequence(status, OTHER_PREFECTURE) + 1, OTHER_PREFECTURE)
    return node.sealed(relay, sender=PREFECTURE)


# R-30-11-0-03: data minimisation -----------------------------------------------------------

def _extended_relay(node: NodeSut, status: dict[str, Any]) -> tuple[bytes, bytes]:
    relay = _relay(last_sequence(status, PREFECTURE) + 1)
    return node.sealed(relay, sender=PREFECTURE,
                       der=with_later_field(codec.encode(relay)))


def _extended_identity(node: NodeSut, status: dict[str, Any]) -> tuple[bytes, bytes]:
    # The relay's update ([2]) whose identityInfo (its [3]) carries the later field.
    relay = _relay(last_sequence(status, PREFECTURE) + 1)
    return node.sealed(relay, sender=PREFECTURE,
                       der=replace_at(codec.encode(relay), [2, 3], with_later_field))


# R-PDU-20: the routing table ----------------------------------------------------------------

def _relay_from_municipality(node: NodeSut, status: dict[str, Any]) -> tuple[bytes, bytes]:
    return node.sealed(_relay(last_sequence(status, PREFECTURE) + 1), sender=MUNICIPALITY)


def _update_to_centre(node: NodeSut, status: dict[str, Any]) -> tuple[bytes, bytes]:
    return node.sealed(_recorded(_person()), sender=MUNICIPALITY)


# Art. 30-10: provision ----------------------------------------------------------------------

def _read_response(node: NodeSut, conn: PeerConnection, mid: bytes, body: str
                   ) -> ProvisionResponse | JukiPdu | str:
    """The ProvisionResponse correlated with request ``mid`` (acknowledged as ``body``),
    the error report referring to it, or what came instead."""
    while True:
        try:
            pdu = conn.read(node.timeout)
        except TimeoutError:
            return f"no ProvisionResponse within {node.timeout:g} s"
        if pdu is None:
            return "the connection closed without a ProvisionResponse"
        if pdu.error_report is not None and pdu.error_report.refers_to == mid:
            return pdu
        if pdu.sealed is None or pdu.header.correlation_id != mid:
            continue
        message = node.opened(pdu, body)
        node.acknowledge(conn, pdu, body)
        if not isinstance(message, ProvisionResponse):
            return f"a {type(message).__name__} instead of a ProvisionResponse"
        return message


def _ask(node: NodeSut, request: ProvisionRequest, *, der_bytes: bytes | None = None
         ) -> ProvisionResponse | JukiPdu | str:
    """Send ``request`` as its requesting body (encoded as ``der_bytes`` if given)."""
    body = request.requester.code
    mid, pdu = node.sealed(request, sender=body, der=der_bytes)
    conn = node.connect(body)
    try:
        conn.send(pdu)
        return _read_response(node, conn, mid, body)
    finally:
        conn.close()


def _request(body: RequestingBody, basis: LegalBasis, purpose: str,
             codes: tuple[str, ...]) -> ProvisionRequest:
    return ProvisionRequest(requester=body, legal_basis=basis, purpose_code=purpose,
                            operator_id=OPERATORS.get(body.code, OPERATORS[AGENCY]),
                            by_resident_code=codes)


def _held_person(node: NodeSut) -> tuple[SyntheticResident | None, str]:
    """A fresh person the centre holds (relayed by 270008): (person, "") or (None, why)."""
    person = _person()
    relay = _relay(last_sequence(node.status(), PREFECTURE) + 1, update=_recorded(person))
    problem = _applied(node, relay)[2]
    return (None, f"relaying a person first failed: {problem}") if problem \
        else (person, "")


def _provided(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("for a person recorded then corrected, and a code never held: one "
                "ProvidedIdentity, the person's identity info after the correction with "
                "the correction's change info")
    person = _person()
    record = _recorded(person)
    first = last_sequence(node.status(), PREFECTURE) + 1
    _, _, problem = _applied(node, _relay(first, update=record))
    if problem:
        return Outcome(Verdict.FAIL, expected, f"recording the person failed: {problem}")
    info = record.identity_info
    moved = dataclasses.replace(info, address=dataclasses.replace(
        info.address, text=f"{info.address.text}（転居{secrets.randbelow(90) + 10}）"[:200]))
    change = ChangeInfo(change_reason=ChangeReason.ADDRESS_CHANGE_WITHIN,
                        change_date=dt.date.today())
    correction = IdentityInfoUpdate(
        municipality=record.municipality, update_sequence=2,
        operation=UpdateOperation.CORRECT, identity_info=moved, change_info=change)
    _, _, problem = _applied(node, _relay(first + 1, update=correction), new_person=False)
    if problem:
        return Outcome(Verdict.FAIL, expected, f"correcting the person failed: {problem}")
    never = _person().resident_code
    answer = _ask(node, _request(RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
                                 LegalBasis.CENTER_TO_AGENCY, OWN_PURPOSE,
                                 (info.resident_code, never)))
    if isinstance(answer, str):
        return Outcome(Verdict.FAIL, expected, answer)
    if isinstance(answer, JukiPdu):
        return Outcome(Verdict.FAIL, expected, f"{describe(answer)}")
    if answer.provided is None:
        return Outcome(Verdict.FAIL, expected, f"refusal {answer.refusal}")
    want = (ProvidedIdentity(identity_info=moved, change_info=change),)
    got = f"{len(answer.provided)} person(s) provided"
    if answer.provided != want:
        old = sum(p.identity_info == info for p in answer.provided)
        return Outcome(Verdict.FAIL, expected, f"{got}, not the one corrected"
                       + (f" ({old} of them the superseded version)" if old else ""))
    return Outcome(Verdict.PASS, expected, f"{got}: the corrected version")


def _refusal(body: RequestingBody | Callable[[NodeSut], RequestingBody],
             basis: LegalBasis, purpose: str | Callable[[NodeSut], str],
             refusal: ProvisionRefusal, *, acceptable: ProvisionRefusal | None = None,
             as_basis: LegalBasis | None = None, why: str = ""
             ) -> Callable[[AdapterSut], Outcome]:
    """A case: ``body`` asks the centre under ``basis`` for ``purpose`` about a person
    it holds; the centre must refuse with ``refusal`` in a ProvisionResponse (pass) or
    with ``acceptable`` (acceptable, ``why``), and provide nothing. ``as_basis``: the
    legal basis written into the request's DER instead of ``basis``, for a request that
    the message classes would refuse to build; an error report with the refusal's code
    is then acceptable (the mismatch is found while decoding)."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = (f"a ProvisionResponse refusing with {refusal.value} "
                    f"({error_text(refusal.error_code)}), nothing provided")
        who = body(node) if callable(body) else body
        what = purpose(node) if callable(purpose) else purpose
        person, problem = _held_person(node)
        if person is None:
            return Outcome(Verdict.FAIL, expected, problem)
        request = _request(who, basis, what, (person.resident_code,))
        der_bytes = None
        if as_basis is not None:
            raw = decode_raw("ProvisionRequest", codec.encode(request)).value
            der_bytes = encode_raw("ProvisionRequest", {**raw, "legalBasis": as_basis.value})
        answer = _ask(node, request, der_bytes=der_bytes)
        if isinstance(answer, str):
            return Outcome(Verdict.FAIL, expected, answer)
        if isinstance(answer, JukiPdu):
            got = describe(answer)
            if as_basis is not None and is_error(answer, refusal.error_code):
                return Outcome(Verdict.ACCEPTABLE, expected, got, "found while decoding "
                               "and answered with an error report (spec/node.md 4.3)")
            return Outcome(Verdict.FAIL, expected, got)
        if answer.provided is not None:
            return Outcome(Verdict.FAIL, expected,
                           f"{len(answer.provided)} person(s) provided")
        got = f"refusal {answer.refusal.value if answer.refusal else None}"
        if answer.refusal is refusal:
            return Outcome(Verdict.PASS, expected, got)
        if acceptable is not None and answer.refusal is acceptable:
            return Outcome(Verdict.ACCEPTABLE, expected, got, why)
        return Outcome(Verdict.FAIL, expected, got)
    return run


def _organ(node: NodeSut) -> RequestingBody:
    return RequestingBody(kind=BodyKind.PREFECTURE_ORGAN, code=PREFECTURE)


def _organ_purpose(node: NodeSut) -> str:
    """What a prefectural organ asks for: its ordinance's purpose if the ICS declares
    one, else the prefecture's, so that only the legal basis can refuse it."""
    lp = node.local_purposes
    return lp.get("prefectureOrgan") or lp.get("prefecture") or ORGAN_PURPOSE


def _municipality_purpose(node: NodeSut) -> str:
    purpose = node.local_purposes.get("municipality")
    if purpose is None:
        raise SutFault("the node declares no local purpose for municipality")
    return purpose


# R-NODE-03: restart ----------------------------------------------------------------------------

def _after_restart(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("after a restart: the last relay before it (same PDU, and resealed) "
                "acknowledged duplicate, the next relay applied")
    relay = _relay(last_sequence(node.status(), PREFECTURE) + 1)
    mid, pdu, problem = _applied(node, relay)
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    node.restart()
    wrong = expect_ack(exchange(node, PREFECTURE, pdu, mid), AckStatus.DUPLICATE)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"the same PDU after the restart got {wrong}")
    mid2, pdu2 = node.sealed(relay, sender=PREFECTURE)
    wrong = expect_ack(exchange(node, PREFECTURE, pdu2, mid2), AckStatus.DUPLICATE)
    if wrong:
        return Outcome(Verdict.FAIL, expected,
                       f"the last relay resealed after the restart got {wrong}")
    _, _, problem = _applied(node, _relay(relay.relay_sequence + 1))
    if problem:
        return Outcome(Verdict.FAIL, expected, f"after the restart {problem}")
    return Outcome(Verdict.PASS, expected, "duplicates acknowledged, numbering continued")


# The cases ------------------------------------------------------------------------------------

REM_NUMBER = ("Keep, per prefecture, the last relaySequence applied, durably: apply m + 1, "
              "acknowledge a relay numbered m or less identical to the one applied under "
              "that number as duplicate and change nothing, refuse any other with 4004 "
              "OUT_OF_ORDER and store nothing (R-30-11-0-02, the rule of R-30-5-0-06).")
REM_MINIMISE = ("Do not skip an unknown extension addition in a relay as other receivers do "
                "(R-DER-08): the centre cannot know it is not personal data. Refuse the "
                "relay with 5010 DATA_MINIMISATION and store nothing of it.")
REM_ROUTE = ("Check the routing table of spec/pdu.md section 4 on the clear header before "
             "opening the envelope: the centre takes relays only from prefectures and no "
             "identity info update at all; refuse anything else with 3003.")
REM_PROVIDE = ("Check a request in the order of spec/provision.md section 2, against the "
               "centre's legal bases (centerTo...: Art. 30-10(1)(iii)-(vi)); answer a "
               "refusal with a ProvisionResponse whose outcome is the refusal; provide, "
               "per queried code held, exactly one ProvidedIdentity: the current identity "
               "info with its latest change info.")


def national_cases() -> list[Case]:
    """Every node-mode case for the national centre."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="national", needs=needs)
    mismatch = ProvisionRefusal.LEGAL_BASIS_MISMATCH
    agency = RequestingBody(kind=BodyKind.AGENCY, code=AGENCY)
    return [
        case("pdu/node/header/relay-of-another-network",
             "a relay well formed in p2002 sent to the centre of the current network is "
             "refused with 1025, nothing stored", "pdu", ("R-PDU-50",),
             "The centre operates in its network's profile: refuse a sealed PDU whose "
             "header names another one with 1025 before opening it; storing it would "
             "leave the centre without the individual number it must hold.",
             _refused(lambda n, s: in_p2002(n, _relay(last_sequence(s, PREFECTURE) + 1),
                                            PREFECTURE), ErrorCode.PROFILE_VIOLATION)),
        case("30-11/node/relay/applied-per-prefecture",
             "the next relay of each of two prefectures is acknowledged and stored under "
             "its own numbering", "30-11", ("R-30-11-0-02", "R-NODE-10", "R-NODE-30"),
             REM_NUMBER, _per_prefecture),
        case("30-11/node/relay/duplicate-acknowledged",
             "the same relay again, as the same PDU or resealed, is acknowledged "
             "duplicate and not applied twice", "30-11",
             ("R-30-11-0-02", "R-PDU-24", "R-NODE-02"), REM_NUMBER, _duplicate),
        case("30-11/node/relay/conflicting-number-refused",
             "a relay numbered as one applied but with other content is refused with "
             "4004, nothing stored", "30-11", ("R-30-11-0-02",), REM_NUMBER, _conflict),
        case("30-11/node/relay/sequence-gap",
             "a relay that skips a number is refused with 4004, nothing stored", "30-11",
             ("R-30-11-0-02",), REM_NUMBER, _refused(_gap, ErrorCode.OUT_OF_ORDER)),
        case("30-11/node/relay/prefecture-not-sender",
             "a relay naming another prefecture than its sender is refused with 1024, "
             "nothing stored", "30-11", ("R-30-11-0-01",),
             "Take a relay only as the relay of its header sender: refuse one whose "
             "prefecture is another with 1024 INVALID_FIELD and store nothing.",
             _refused(_not_sender, ErrorCode.INVALID_FIELD)),
        case("30-11/node/minimisation/unknown-extension-in-relay",
             "a relay carrying an unknown extension addition is refused with 5010, "
             "nothing stored", "30-11", ("R-30-11-0-03", "R-NODE-04"), REM_MINIMISE,
             _refused(_extended_relay, ErrorCode.DATA_MINIMISATION)),
        case("30-11/node/minimisation/unknown-extension-in-identity-info",
             "a relay whose identity info carries an unknown extension addition is "
             "refused with 5010, nothing stored", "30-11", ("R-30-11-0-03", "R-NODE-04"),
             REM_MINIMISE, _refused(_extended_identity, ErrorCode.DATA_MINIMISATION)),
        case("pdu/node/routing/relay-from-municipality-to-centre",
             "a relay sent by a municipality is refused with 3003, nothing stored", "pdu",
             ("R-PDU-20",), REM_ROUTE,
             _refused(_relay_from_municipality, ErrorCode.ROLE_NOT_ALLOWED,
                      peer=MUNICIPALITY)),
        case("pdu/node/routing/update-to-centre",
             "an Art. 30-5 identity info update sent to the centre is refused with 3003, "
             "nothing stored", "pdu", ("R-PDU-20",), REM_ROUTE,
             _refused(_update_to_centre, ErrorCode.ROLE_NOT_ALLOWED, peer=MUNICIPALITY)),
        case("30-10/node/provision/agency-provided",
             "an agency asking under centerToAgency is provided the current identity info "
             "of the person it holds, once, and nothing for a code it never held", "30-10",
             ("R-30-7-3-09", "R-30-7-3-11"), REM_PROVIDE, _provided),
        case("30-10/node/provision/pref-own-use-refused",
             "a prefectural organ asking the centre under prefOwnUse is refused with "
             "legalBasisMismatch", "30-10", ("R-30-8-2-01", "R-30-7-3-05"), REM_PROVIDE,
             _refusal(_organ, LegalBasis.PREF_OWN_USE, _organ_purpose, mismatch)),
        case("30-10/node/provision/prefecture-basis-refused",
             "an agency asking the centre under prefToAgency is refused with "
             "legalBasisMismatch", "30-10", ("R-30-7-3-03", "R-30-7-3-05"), REM_PROVIDE,
             _refusal(agency, LegalBasis.PREF_TO_AGENCY, OWN_PURPOSE, mismatch)),
        case("30-10/node/provision/purpose-not-allowed",
             "an agency asking for another body's schedule 1 purpose is refused with "
             "purposeNotAllowed", "30-10", ("R-30-7-3-02", "R-30-7-3-05"), REM_PROVIDE,
             _refusal(agency, LegalBasis.CENTER_TO_AGENCY, OTHER_PURPOSE,
                      ProvisionRefusal.PURPOSE_NOT_ALLOWED)),
        case("30-10/node/provision/body-of-wrong-kind-refused",
             "a municipality asking under centerToAgency (a basis for agencies) is "
             "refused with legalBasisMismatch", "30-10", ("R-30-7-3-03", "R-NODE-31"),
             REM_PROVIDE,
             _refusal(lambda n: RequestingBody(kind=BodyKind.MUNICIPALITY,
                                               code=MUNICIPALITY),
                      LegalBasis.CENTER_TO_MUNICIPALITY, _municipality_purpose, mismatch,
                      as_basis=LegalBasis.CENTER_TO_AGENCY),
             needs="localPurposes.municipality"),
        # Last, so that a node that loses its numbering in a restart fails only this.
        case("30-11/node/restart/relay-numbering-continues",
             "after a restart the last relay is acknowledged duplicate and the next one "
             "applied", "30-11", ("R-30-11-0-02", "R-NODE-02", "R-NODE-03", "R-NODE-17"),
             "Keep the last relaySequence applied per prefecture and the relays applied "
             "under each number in durable storage, and load them back on start.",
             _after_restart, needs="ixit.restart"),
    ]


__all__ = ["national_cases"]
