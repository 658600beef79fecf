"""Node-mode cases on a provider's volume limits (Arts. 30-7(3)-(6); spec/provision.md
section 3, R-30-7-3-07, R-30-7-3-05): the limits on requests and on persons queried per
operator of a requesting body in a time window.

The limits are the node's own: the IXIT declares them in ``provisionLimits``
(``windowSeconds``, ``operatorRequests``, ``operatorPersons``), and the cases need the
test clock (IXIT ``clock``) to start from an empty window: each first moves the node's
clock past a whole window, and at its end past another, so that no case after it meets
an operator it throttled. Every boundary is checked from both sides:

- exactly the request limit served, one more refused ``throttled`` (3021) in a
  ProvisionResponse; counted per body and operator, so another body's operator is
  served meanwhile;
- persons, not requests: requests of 100 codes each up to exactly the person limit all
  served, then a request of one code refused, long before the request limit.

The persons asked for need not be held: a query is counted as asked (R-30-7-3-07), and
codes the provider does not hold are simply omitted (R-30-7-3-09).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.identifiers import new_resident_code
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

MUNICIPALITY = "271004"
AGENCY_PURPOSE = "S1-KENCHIKUSHI"
REMEDIATION = (
    "Count, per requesting body and operator, the requests served and the persons they "
    "asked for (the codes of the query, held or not) in a sliding window; serve a "
    "request that keeps both counts within the limits (the limit itself included) and "
    "refuse the first that would pass one with a ProvisionResponse 'throttled' (3021 "
    "OPERATOR_THROTTLED); do not count refused requests, nor another body's or "
    "operator's.")


def _limits(node: NodeSut) -> dict[str, int]:
    raw = node.ixit.get("provisionLimits") or {}
    try:
        return {k: int(raw[k]) for k in ("windowSeconds", "operatorRequests",
                                         "operatorPersons")}
    except (KeyError, TypeError, ValueError):
        raise SutFault("the IXIT's provisionLimits lack windowSeconds, operatorRequests "
                       "or operatorPersons") from None


def codes(rng: random.Random, count: int) -> tuple[str, ...]:
    """``count`` distinct valid resident codes (check digit right)."""
    out: dict[str, None] = {}
    while len(out) < count:
        out[new_resident_code(rng)] = None
    return tuple(out)


def _request(node: NodeSut, body: str, query: tuple[str, ...]) -> ProvisionRequest:
    if body == AGENCY:
        return ProvisionRequest(
            requester=RequestingBody(kind=BodyKind.AGENCY, code=body),
            legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code=AGENCY_PURPOSE,
            operator_id=OPERATORS[body], by_resident_code=query)
    purpose = node.local_purposes.get("municipality")
    if purpose is None:
        raise SutFault("the node declares no local purpose for municipality")
    return ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.MUNICIPALITY, code=body),
        legal_basis=LegalBasis.PREF_TO_OWN_MUNICIPALITY, purpose_code=purpose,
        operator_id=OPERATORS[body], by_resident_code=query)


def ask(node: NodeSut, conn: PeerConnection, body: str, query: tuple[str, ...]) -> str:
    """Send one request on ``conn``; ``provided`` or ``refused:<code>`` from its
    ProvisionResponse (acknowledged), or what came instead."""
    mid, pdu = node.sealed(_request(node, body, query), sender=body)
    conn.send(pdu)
    while True:
        try:
            answer = conn.read(node.timeout)
        except TimeoutError:
            return f"no ProvisionResponse within {node.timeout:g} s"
        if answer is None:
            return "the connection closed without a ProvisionResponse"
        if answer.error_report is not None and answer.error_report.refers_to == mid:
            return describe(answer)
        if answer.sealed is None or answer.header.correlation_id != mid:
            continue
        message = node.opened(answer, body)
        node.acknowledge(conn, answer, body)
        if not isinstance(message, ProvisionResponse):
            return f"a {type(message).__name__}"
        if message.refusal is not None:
            return f"refused:{message.refusal.error_code.value}"
        return "provided"


THROTTLED = f"refused:{ProvisionRefusal.THROTTLED.error_code.value}"


def _fresh_window(node: NodeSut, limits: dict[str, int]) -> None:
    node.clock_advance(limits["windowSeconds"] + 1)


def _in_turn(node: NodeSut, body: str, queries: list[tuple[str, ...]],
             want: Callable[[int], str]) -> str | None:
    """Ask ``queries`` in turn as ``body``; None if answer i is ``want(i)`` for each,
    else which was not."""
    conn = node.connect(body)
    try:
        for i, query in enumerate(queries):
            got = ask(node, conn, body, query)
            if got != want(i):
                return (f"{body}'s request {i + 1} ({len(query)} code(s)) was answered "
                        f"{got}, not {want(i)}")
    finally:
        conn.close()
    return None


def _request_limit(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    limits = _limits(node)
    n = limits["operatorRequests"]
    expected = (f"in a fresh window, {n} requests of one operator of {MUNICIPALITY} "
                f"served, request {n + 1} refused throttled (3021); then the operator of "
                f"{AGENCY} served")
    rng = random.Random(f"volume-requests-{node.code}")
    _fresh_window(node, limits)
    try:
        wrong = _in_turn(node, MUNICIPALITY, [codes(rng, 1) for _ in range(n + 1)],
                         lambda i: "provided" if i < n else THROTTLED) \
            or _in_turn(node, AGENCY, [codes(rng, 1)], lambda i: "provided")
    finally:
        _fresh_window(node, limits)
    if wrong:
        return Outcome(Verdict.FAIL, expected, wrong)
    return Outcome(Verdict.PASS, expected, f"{n} served, the next throttled; the other "
                   "body's operator served")


def _person_limit(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    limits = _limits(node)
    persons, requests = limits["operatorPersons"], limits["operatorRequests"]
    full, rest = divmod(persons, 100)
    sizes = [100] * full + ([rest] if rest else [])
    if len(sizes) + 1 > requests:
        raise SutFault(f"the person limit {persons} cannot be reached within the request "
                       f"limit {requests} by requests of 100")
    expected = (f"in a fresh window, requests of {'+'.join(map(str, sizes))} codes from "
                f"one operator (exactly the person limit {persons}) served; then a "
                "request of one code refused throttled (3021)")
    rng = random.Random(f"volume-persons-{node.code}")
    queries: list[tuple[str, ...]] = [codes(rng, k) for k in sizes] + [codes(rng, 1)]
    _fresh_window(node, limits)
    try:
        wrong = _in_turn(node, AGENCY, queries,
                         lambda i: "provided" if i < len(sizes) else THROTTLED)
    finally:
        _fresh_window(node, limits)
    if wrong:
        return Outcome(Verdict.FAIL, expected, wrong)
    return Outcome(Verdict.PASS, expected, f"{persons} persons served, one more throttled")


def volume_cases() -> list[Case]:
    """The cases of this module (a prefecture SUT)."""
    def case(cid: str, title: str, run: Callable[[AdapterSut], Outcome], needs: str
             ) -> Case:
        reqs = ("R-30-7-3-07",)
        return NodeCase(id=cid, title=title, clause="30-7", requirements=reqs,
                        level=strongest_level(reqs), remediation=REMEDIATION, mode="node", ops=(),
                        run=run, role="prefecture", needs=needs)
    return [
        case("30-7/node/provision-volume/operator-request-limit",
             "exactly the request limit of one operator served, one more throttled; "
             "another body's operator served", _request_limit,
             "ixit.clock ixit.provisionLimits localPurposes.municipality"),
        case("30-7/node/provision-volume/operator-person-limit",
             "requests up to exactly the person limit of one operator served, one more "
             "person throttled (persons counted, not requests)", _person_limit,
             "ixit.clock ixit.provisionLimits"),
    ]


__all__ = ["ask", "codes", "volume_cases"]
