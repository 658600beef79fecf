"""Node-mode cases on the consistency of a wide-area issuance (Art. 12-2; spec/
wide_area.md R-12-2-3-01, -02, -04, R-PDU-21): every way a response can disagree with
its request, at the issuing municipality, and every way a request can disagree with its
header, at the residence municipality.

A municipality SUT (271004) is both. As issuing municipality it sends the request its
upper tester's ``wide_area_request`` asks for to the runner (272035), which answers with
a response that breaks one rule: more or fewer copies than targets, the copies in
another order, a relationship missing where it was asked for, a resident code not asked
for, a residence or issuing municipality other than the request's (a code sorting below
and one above the right one). Each must be refused 1024 INVALID_FIELD referring to it,
leaving the application pending; the right response then issues it. A request with a
single target and its single copy is issued. As residence municipality it must refuse,
1024, a request whose issuing municipality is not the header sender, or whose
residence municipality is not itself (there 3002 as well), whichever side of the right
code it sorts on. And it must find a requester and a target named by name and birth
date only: the person named, not another resident sharing one of them, and the current
record, not an erased one of the same person data (R-12-2-3-08).
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe, node_sut, upper_ok
from juki_conformance.flow_steps import settle_updates
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, HarnessError, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.identifiers import new_resident_code
from juki_protocol.messages.common import Address
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    ResidentRecordCopy,
    TargetPerson,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
    WideAreaRefusal,
)

#: Valid municipality codes that are neither the SUT nor the runner's peer: one sorting
#: below both, one above both (a check done with an ordering instead of equality
#: misses one side).
BELOW, ABOVE = "131016", "281000"
REM_RESPONSE = (
    "Check a WideAreaIssuanceResponse against the request it answers before taking it: "
    "its municipalities those of the request (and of the header), exactly one copy per "
    "target in the request's order, relationship present if and only if asked, resident "
    "code present if and only if asked; refuse any other with 1024 INVALID_FIELD "
    "referring to it and keep waiting for a right one (R-12-2-3-01, -02, -04).")
REM_REQUEST = (
    "Refuse with 1024 INVALID_FIELD a WideAreaIssuanceRequest whose issuingMunicipality "
    "is not the header sender or whose residenceMunicipality is not the node itself "
    "(R-PDU-21, R-12-2-2-01): compare the codes for equality.")


def household(code: str, minimum: int) -> tuple[SyntheticResident, ...]:
    """A fresh synthetic household of ``code`` with at least ``minimum`` members."""
    while True:
        members = generate_households(1, f"conformance:wide:{secrets.token_hex(8)}",
                                      municipalities=[code])[0].members
        if len(members) >= minimum:
            return members


def _application(node: NodeSut, people: tuple[SyntheticResident, ...]) -> dict[str, Any]:
    head = people[0]
    requester = Requester(name=head.name, birth_date=head.birth_date, address=head.address,
                          identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN,
                          resident_code=head.resident_code)
    return {"residenceMunicipality": node.peer_municipality, "applicant": "person",
            "identityConfirmed": True, "requester": codec.to_json(requester),
            "targets": [codec.to_json(TargetPerson(name=p.name, birth_date=p.birth_date))
                        for p in people],
            "includeRelationship": True, "includeResidentCode": False}


def _moved(copy: ResidentRecordCopy, code: str) -> ResidentRecordCopy:
    return dataclasses.replace(copy, address=Address(local_gov_code=code,
                                                     text=copy.address.text))


def _copies(people: tuple[SyntheticResident, ...]) -> tuple[ResidentRecordCopy, ...]:
    return tuple(p.record_copy(include_relationship=True) for p in people)


#: A wrong response: (node, people asked for, an extra person) -> the response.
Wrong = Callable[[NodeSut, tuple[SyntheticResident, ...], SyntheticResident],
                 WideAreaIssuanceResponse]


def _response(node: NodeSut, copies: tuple[ResidentRecordCopy, ...], *,
              residence: str | None = None, issuing: str | None = None
              ) -> WideAreaIssuanceResponse:
    residence = residence or node.peer_municipality
    return WideAreaIssuanceResponse(
        residence_municipality=residence, issuing_municipality=issuing or node.code,
        copies=tuple(_moved(c, residence) for c in copies))


WRONG: dict[str, tuple[str, Wrong]] = {
    "more-copies-than-targets": (
        "three copies for two targets",
        lambda n, p, x: _response(n, _copies((*p, x)))),
    "fewer-copies-than-targets": (
        "one copy for two targets", lambda n, p, x: _response(n, _copies(p[:1]))),
    "copies-in-another-order": (
        "the copies in the reverse order of the targets",
        lambda n, p, x: _response(n, _copies(p)[::-1])),
    "copy-of-another-person": (
        "the second copy of a person not asked for",
        lambda n, p, x: _response(n, _copies((p[0], x)))),
    "relationship-missing": (
        "copies without the relationship asked for",
        lambda n, p, x: _response(n, tuple(q.record_copy() for q in p))),
    "resident-code-not-asked": (
        "copies with the resident code, not asked for",
        lambda n, p, x: _response(n, tuple(q.record_copy(include_relationship=True,
                                                         include_resident_code=True)
                                           for q in p))),
    "residence-below": (
        f"residence municipality {BELOW}, not the request's",
        lambda n, p, x: _response(n, _copies(p), residence=BELOW)),
    "residence-above": (
        f"residence municipality {ABOVE}, not the request's",
        lambda n, p, x: _response(n, _copies(p), residence=ABOVE)),
    "issuing-below": (
        f"issuing municipality {BELOW}, not the request's",
        lambda n, p, x: _response(n, _copies(p), issuing=BELOW)),
    "issuing-above": (
        f"issuing municipality {ABOVE}, not the request's",
        lambda n, p, x: _response(n, _copies(p), issuing=ABOVE)),
}


def _answer_to(node: NodeSut, peer: str, mid: bytes) -> JukiPdu | None:
    """The acknowledgement or error report the node sends ``peer`` about ``mid``."""
    deadline = time.monotonic() + node.timeout
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left, peer=peer)
        if got is None:
            return None
        pdu = got[1]
        if (pdu.acknowledgement is not None and pdu.acknowledgement.acknowledged_id == mid) \
                or (pdu.error_report is not None and pdu.error_report.refers_to == mid):
            return pdu
    return None


def _send(node: NodeSut, conn: PeerConnection, request_id: bytes,
          response: WideAreaIssuanceResponse) -> JukiPdu | None:
    peer = node.peer_municipality
    rid, pdu = node.sealed(response, sender=peer,
                           header_changes={"correlation_id": request_id})
    conn.send(pdu)
    return _answer_to(node, peer, rid)


def _requested(node: NodeSut, people: tuple[SyntheticResident, ...]
               ) -> tuple[str, PeerConnection, bytes]:
    """The node sends the request for ``people`` (acknowledged by the runner); its
    message id (hex), the connection and the request's id."""
    peer = node.peer_municipality
    node.drain(peer)
    mid = str(upper_ok(node, "wide_area_request", **_application(node, people))["messageId"])
    deadline = time.monotonic() + node.timeout
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left, peer=peer)
        if got is None:
            break
        conn, pdu = got
        if pdu.sealed is not None \
                and pdu.header.message_type is MessageType.WIDE_AREA_ISSUANCE_REQUEST \
                and pdu.header.message_id.hex() == mid:
            node.acknowledge(conn, pdu, peer)
            return mid, conn, pdu.header.message_id
    raise SutFault(f"no WideAreaIssuanceRequest {mid[:8]}... reached {peer}")


def _accepted(pdu: JukiPdu | None) -> bool:
    return pdu is not None and pdu.acknowledgement is not None \
        and pdu.acknowledgement.status is AckStatus.ACCEPTED


def _refused_response(name: str) -> Callable[[AdapterSut], Outcome]:
    what, wrong = WRONG[name]

    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = (f"a response with {what} refused with 1024 INVALID_FIELD, the "
                    "application still pending; the right response then accepted and "
                    "the application issued with 2 copies")
        people = household(node.peer_municipality, 2)[:2]
        extra = household(node.peer_municipality, 1)[0]
        mid, conn, request_id = _requested(node, people)
        bad = _send(node, conn, request_id, wrong(node, people, extra))
        middle = upper_ok(node, "wide_area_result", messageId=mid).get("outcome")
        good = _send(node, conn, request_id, _response(node, _copies(people)))
        final = upper_ok(node, "wide_area_result", messageId=mid)
        got = (f"the wrong response got {describe(bad)}, then the application was "
               f"{middle!r}; the right one got {describe(good)}, then "
               f"{final.get('outcome')!r} with {final.get('copies')} copies")
        if bad is None or bad.error_report is None \
                or bad.error_report.error_code != int(ErrorCode.INVALID_FIELD) \
                or middle != "pending" or not _accepted(good) \
                or final.get("outcome") != "issued" or final.get("copies") != 2:
            return Outcome(Verdict.FAIL, expected, got)
        return Outcome(Verdict.PASS, expected, got)
    return run


def _single_target(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a request for one target; its response with one copy accepted and the "
                "application issued with 1 copy")
    people = household(node.peer_municipality, 1)[:1]
    mid, conn, request_id = _requested(node, people)
    answer = _send(node, conn, request_id, _response(node, _copies(people)))
    final = upper_ok(node, "wide_area_result", messageId=mid)
    got = (f"the response got {describe(answer)}; then {final.get('outcome')!r} with "
           f"{final.get('copies')} copies")
    if not _accepted(answer) or final.get("outcome") != "issued" \
            or final.get("copies") != 1:
        return Outcome(Verdict.FAIL, expected, got)
    return Outcome(Verdict.PASS, expected, got)


def _request_refused(issuing: str | None, residence: str | None
                     ) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        peer = node.peer_municipality
        # R-PDU-21: 1024 for an issuing municipality that is not the header's sender,
        # 3002 WRONG_RECIPIENT for a residence municipality that is not the node.
        codes = (int(ErrorCode.INVALID_FIELD),) if residence is None \
            else (int(ErrorCode.WRONG_RECIPIENT),)
        expected = (f"error {' or '.join(map(str, codes))} referring to the request, "
                    "no response")
        seed = f"conformance:wide:{secrets.token_hex(8)}"
        upper_ok(node, "register_resident", seed=seed)
        head = generate_households(1, seed, municipalities=[node.code])[0].head
        request = WideAreaIssuanceRequest(
            issuing_municipality=issuing or peer,
            residence_municipality=residence or node.code,
            requester=Requester(resident_code=head.resident_code, name=head.name,
                                birth_date=head.birth_date,
                                address=Address(local_gov_code=residence or node.code,
                                                text=head.address.text),
                                identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
            targets=(TargetPerson(name=head.name, birth_date=head.birth_date),),
            include_relationship=False, include_resident_code=False)
        mid, pdu = node.sealed(request, sender=peer)
        conn = node.connect(peer)
        try:
            conn.send(pdu)
            got = conn.answer_to(mid)
        finally:
            conn.close()
        if got is None or got.error_report is None \
                or got.error_report.error_code not in codes:
            return Outcome(Verdict.FAIL, expected, describe(got))
        return Outcome(Verdict.PASS, expected, describe(got))
    return run


def served(node: NodeSut, request: WideAreaIssuanceRequest
            ) -> WideAreaIssuanceResponse | str:
    """Send ``request`` from the peer; its response (acknowledged), or what came."""
    peer = node.peer_municipality
    mid, pdu = node.sealed(request, sender=peer)
    conn = node.connect(peer)
    try:
        conn.send(pdu)
        deadline = time.monotonic() + node.timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got = conn.read(left)
            except TimeoutError:
                break
            if got is None:
                return "the connection closed without a response"
            if got.error_report is not None and got.error_report.refers_to == mid:
                return describe(got)
            if got.sealed is not None and got.header.correlation_id == mid:
                message = node.opened(got, peer)
                node.acknowledge(conn, got, peer)
                if not isinstance(message, WideAreaIssuanceResponse):
                    return f"a {type(message).__name__}"
                return message
    finally:
        conn.close()
    return f"no response within {node.timeout:g} s"


def _registered(node: NodeSut, seed: str) -> tuple[SyntheticResident, ...]:
    upper_ok(node, "register_resident", seed=seed)
    return generate_households(1, seed, municipalities=[node.code])[0].members


def sharing(code: str, prefix: str, key: Callable[[SyntheticResident], Any]
            ) -> tuple[str, str, int]:
    """Two seeds whose households of ``code`` (as ``register_resident`` makes them)
    hold two different persons with the same ``key`` (birth date, name): (the first
    seed, the second, the index of that person in the second household)."""
    seen: dict[Any, str] = {}
    for i in range(50_000):
        seed = f"{prefix}:{i}"
        members = generate_households(1, seed, municipalities=[code])[0].members
        for j, m in enumerate(members):
            if key(m) in seen:
                return seen[key(m)], seed, j
        for m in members:
            seen.setdefault(key(m), seed)
    raise HarnessError("no two synthetic persons share the key")


def _copies_of(answer: WideAreaIssuanceResponse | str,
               people: tuple[SyntheticResident, ...]) -> str | None:
    if isinstance(answer, str):
        return answer
    if answer.copies is None:
        return f"refusal {answer.refusal.value if answer.refusal else None}"
    got = [(c.name, c.birth_date) for c in answer.copies]
    if got != [(p.name, p.birth_date) for p in people]:
        return f"{len(got)} copies, not of the persons asked for"
    return None


def _without_resident_code(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("copies of the requester and a member of the household, the requester "
                "known by name and birth date only")
    members: tuple[SyntheticResident, ...] = ()
    while len(members) < 2:
        members = _registered(node, f"conformance:wide:{secrets.token_hex(8)}")
    people = members[:2]
    head = people[0]
    request = WideAreaIssuanceRequest(
        issuing_municipality=node.peer_municipality, residence_municipality=node.code,
        requester=Requester(name=head.name, birth_date=head.birth_date,
                            address=head.address,
                            identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
        targets=tuple(TargetPerson(name=p.name, birth_date=p.birth_date) for p in people),
        include_relationship=False, include_resident_code=False)
    problem = _copies_of(served(node, request), people)
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "two copies of the persons asked for")


def _sharing(what: str, key: Callable[[SyntheticResident], Any]
             ) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = f"the copy of the person named, not of another resident with {what}"
        first, second, index = sharing(node.code, f"conformance:twins:"
                                                  f"{secrets.token_hex(6)}", key)
        _registered(node, first)
        person = _registered(node, second)[index]
        request = WideAreaIssuanceRequest(
            issuing_municipality=node.peer_municipality, residence_municipality=node.code,
            requester=Requester(resident_code=person.resident_code, name=person.name,
                                birth_date=person.birth_date, address=person.address,
                                identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
            targets=(TargetPerson(name=person.name, birth_date=person.birth_date),),
            include_relationship=False, include_resident_code=False)
        problem = _copies_of(served(node, request), (person,))
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        return Outcome(Verdict.PASS, expected, "the copy of the person named")
    return run


def _twin_records(node: NodeSut, erased_first: bool) -> tuple[SyntheticResident, str]:
    """A person of the node with two records of the same name and birth date, one
    erased by a move-out and one current (the erased one made first, or last): the
    person, and the resident code of the current record."""
    seed = f"conformance:wide:{secrets.token_hex(8)}"
    head = _registered(node, seed)[0]
    second = new_resident_code(random.SystemRandom())
    destination = codec.to_json(Address(local_gov_code=node.peer_municipality,
                                        text="大阪府豊中市中桜塚三丁目1番1号"))
    if erased_first:
        upper_ok(node, "record_move_out", residentCode=head.resident_code,
            destination=destination)
    upper_ok(node, "record_resident", seed=seed, residentCode=second)
    if not erased_first:
        upper_ok(node, "record_move_out", residentCode=second, destination=destination)
    settle_updates(node)
    return head, (second if erased_first else head.resident_code)


def _current_before_erased(sut: AdapterSut) -> Outcome:
    """R-12-2-3-08: a requester and a target known by name and birth date only are
    matched to the current record, never to an erased one of the same name and birth
    date, whichever was made first."""
    node = node_sut(sut)
    expected = ("for a person with a moved-out and a current record of the same name and "
                "birth date, the requester and target named by name and birth date only: "
                "one copy, of the current record (its resident code), whichever record was "
                "made first")
    for erased_first in (True, False):
        person, current = _twin_records(node, erased_first)
        order = "erased record made first" if erased_first else "current record made first"
        request = WideAreaIssuanceRequest(
            issuing_municipality=node.peer_municipality, residence_municipality=node.code,
            requester=Requester(name=person.name, birth_date=person.birth_date,
                                address=person.address,
                                identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
            targets=(TargetPerson(name=person.name, birth_date=person.birth_date),),
            include_relationship=False, include_resident_code=True)
        answer = served(node, request)
        problem = _copies_of(answer, (person,))
        if problem is None and isinstance(answer, WideAreaIssuanceResponse) and \
                answer.copies and answer.copies[0].resident_code != current:
            problem = "the copy is of the erased record (its resident code)"
        if problem:
            return Outcome(Verdict.FAIL, expected, f"{order}: {problem}")
    return Outcome(Verdict.PASS, expected, "the copy of the current record both times")


def _request_by(node: NodeSut, by: SyntheticResident, target: SyntheticResident
                ) -> WideAreaIssuanceRequest:
    """A request from the runner's municipality by ``by`` (with resident code) for
    ``target`` (by name and birth date)."""
    return WideAreaIssuanceRequest(
        issuing_municipality=node.peer_municipality, residence_municipality=node.code,
        requester=Requester(name=by.name, birth_date=by.birth_date, address=by.address,
                            resident_code=by.resident_code,
                            identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
        targets=(TargetPerson(name=target.name, birth_date=target.birth_date),),
        include_relationship=False, include_resident_code=False)


def _requester_erased(sut: AdapterSut) -> Outcome:
    """R-12-2-3-06: a requester whose own record is erased has no household here: a
    current member of their former household is refused notSameHousehold."""
    node = node_sut(sut)
    expected = ("a request by a requester whose record was erased (moved out, then "
                "deceased) for a current member of their household refused "
                "notSameHousehold; the member's own request for themself answered with "
                "a copy")
    for how in ("record_move_out", "record_death"):
        members: tuple[SyntheticResident, ...] = ()
        while len(members) < 2:
            members = _registered(node, f"conformance:wide:{secrets.token_hex(8)}")
        gone, member = members[0], members[1]
        fields: dict[str, Any] = {"residentCode": gone.resident_code}
        if how == "record_move_out":
            fields["destination"] = codec.to_json(Address(
                local_gov_code="011002", text="北海道札幌市中央区北一条西二丁目1番地"))
        upper_ok(node, how, **fields)
        settle_updates(node)
        answer = served(node, _request_by(node, gone, member))
        if isinstance(answer, str) or answer.refusal is not WideAreaRefusal.NOT_SAME_HOUSEHOLD:
            said = answer if isinstance(answer, str) else (
                f"refusal {answer.refusal.value}" if answer.refusal else
                f"{len(answer.copies or ())} copies")
            return Outcome(Verdict.FAIL, expected, f"after {how} of the requester the "
                           f"request got {said}")
    problem = _copies_of(served(node, _request_by(node, member, member)), (member,))
    if problem:
        return Outcome(Verdict.FAIL, expected, f"refused twice; then the member's own "
                       f"request got {problem}")
    return Outcome(Verdict.PASS, expected, "notSameHousehold after a move-out and a death; "
                   "then a copy")


def _other_household_both_ways(sut: AdapterSut) -> Outcome:
    """R-12-2-3-06: a target of another household is refused notSameHousehold, whichever
    household the node registered first (a check by ordering refuses one way only)."""
    node = node_sut(sut)
    expected = ("a request by a person of household A for a person of household B, and "
                "one by B's for A's, each refused notSameHousehold")
    one = _registered(node, f"conformance:wide:{secrets.token_hex(8)}")[0]
    two = _registered(node, f"conformance:wide:{secrets.token_hex(8)}")[0]
    for by, target, label in ((one, two, "A for B"), (two, one, "B for A")):
        answer = served(node, _request_by(node, by, target))
        if isinstance(answer, str) or \
                answer.refusal is not WideAreaRefusal.NOT_SAME_HOUSEHOLD:
            said = answer if isinstance(answer, str) else (
                f"refusal {answer.refusal.value}" if answer.refusal else
                f"{len(answer.copies or ())} copies")
            return Outcome(Verdict.FAIL, expected, f"the request {label} got {said}")
    return Outcome(Verdict.PASS, expected, "notSameHousehold both ways")


def wide_area_consistency_cases() -> list[Case]:
    """The cases of this module (a municipality SUT)."""
    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause="12-2", requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="municipality")
    cases = [case(f"12-2/3/node/wide-area/issuing/response-{name}-refused",
                  f"a response with {what} is refused 1024, the application kept",
                  ("R-12-2-3-01", "R-12-2-3-02", "R-12-2-3-04", "R-PDU-21"),
                  REM_RESPONSE, _refused_response(name))
             for name, (what, _) in WRONG.items()]
    cases.append(case("12-2/3/node/wide-area/issuing/single-target-single-copy",
                      "a request with one target: its one-copy response is issued",
                      ("R-12-2-3-02",), REM_RESPONSE, _single_target))
    for label, issuing, residence in (("issuing-below-sender", BELOW, None),
                                      ("issuing-above-sender", ABOVE, None),
                                      ("residence-below-recipient", None, BELOW),
                                      ("residence-above-recipient", None, ABOVE)):
        cases.append(case(f"12-2/1/node/wide-area/residence/request-{label}-refused",
                          f"a request whose {label.replace('-', ' ')} is refused 1024",
                          ("R-PDU-21", "R-12-2-2-01"), REM_REQUEST,
                          _request_refused(issuing, residence)))
    rem_match = ("Find the requester by resident code when it is given, else by name and "
                 "birth date, and each target by its name and birth date, both compared "
                 "for equality (R-12-2-3-06).")
    cases += [
        case("12-2/3/node/wide-area/residence/other-household-refused-both-ways",
             "a target of another household is refused notSameHousehold, whichever of "
             "the two households was registered first", ("R-12-2-3-06",),
             "Compare the target's household with the requester's for equality; any "
             "other household is refused notSameHousehold (R-12-2-3-06).",
             _other_household_both_ways),
        case("12-2/3/node/wide-area/residence/erased-requester-has-no-household",
             "a requester whose record is erased is refused notSameHousehold for a "
             "current member of their former household", ("R-12-2-3-06",),
             "Serve a target only for a requester whose own record is current and of the "
             "target's household; a requester erased (moved out, deceased) has no "
             "household: refuse notSameHousehold (R-12-2-3-06).", _requester_erased),
        case("12-2/3/node/wide-area/residence/requester-without-resident-code",
             "a requester known by name and birth date only gets copies of the "
             "household", ("R-12-2-3-06", "R-12-2-3-02"), rem_match,
             _without_resident_code),
        case("12-2/3/node/wide-area/residence/current-record-before-erased",
             "a requester and target known by name and birth date only are matched to "
             "the current record, not to an erased one of the same person data",
             ("R-12-2-3-08", "R-12-2-3-06", "R-12-2-3-02"),
             "Match a requester or target given without resident code to a current "
             "record of that name and birth date whenever one exists; refuse movedOut or "
             "deceased only when the only records that match are erased (R-12-2-3-08).",
             _current_before_erased),
        case("12-2/3/node/wide-area/residence/target-sharing-a-birth-date",
             "a target born the same day as another resident gets the copy of the "
             "person named", ("R-12-2-3-06", "R-12-2-3-02"), rem_match,
             _sharing("the same birth date", lambda p: p.birth_date)),
        case("12-2/3/node/wide-area/residence/target-sharing-a-name",
             "a target with the name of another resident gets the copy of the person "
             "named", ("R-12-2-3-06", "R-12-2-3-02"), rem_match,
             _sharing("the same name", lambda p: p.name)),
    ]
    return cases


__all__ = ["household", "served", "wide_area_consistency_cases"]
