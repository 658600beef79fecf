"""Node-mode cases on the numbers a node writes in what it sends: the header's
``sequenceNumber`` (spec/pdu.md section 3, R-PDU-46) and the numbering of its updates
and relays across a restart (R-30-5-0-05, R-30-11-0-02, R-NODE-03).

A municipality SUT reports three recorded changes to its prefecture, which the runner
plays and acknowledges one by one. The runner reads every PDU the node sends to the
prefecture meanwhile (the updates, any resend of them, anything else): as the only
listener of that recipient it sees them all, so their header sequence numbers must
increase by exactly one from each to the next (R-PDU-46 counts answers and resends).

Across a restart: a municipality SUT reports a change, the runner acknowledges it, the
node is restarted on its storage and reports another change, whose ``updateSequence``
must be the first's plus one; a prefecture SUT relays an update the runner sends it,
the runner (as the centre) acknowledges the relay, the node is restarted and relays the
next update, whose ``relaySequence`` must be the first's plus one.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, node_sut, upper_ok
from juki_conformance.cases_node_retention import NATIONAL, settle_relays
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.node_steps import (
    MUNICIPALITY,
    birth_update,
    exchange,
    expect_ack,
    last_sequence,
)
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.identity import IdentityInfoRelay, IdentityInfoUpdate
from juki_protocol.messages.pdu import AckStatus, MessageType

COUNT = 3


def _settle(node: NodeSut) -> None:
    deadline = time.monotonic() + node.timeout
    while (upper_ok(node, "status").get("updates") or {}).get("unacknowledged"):
        got = node.sent_to_peer(0.2, peer=node.prefecture)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        if time.monotonic() > deadline:
            raise SutFault("earlier updates stay unacknowledged")


def _increasing(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"{COUNT} updates to the prefecture; the PDUs sent to it numbered one "
                "more each than the one before")
    _settle(node)
    numbers: list[int] = []
    updates = 0
    for _ in range(COUNT):
        seed = f"conformance:numbers:{secrets.token_hex(8)}"
        upper_ok(node, "register_resident", seed=seed)
        head = generate_households(1, seed, municipalities=[node.code])[0].head
        upper_ok(node, "record_change", residentCode=head.resident_code, reason="moveIn")
        deadline = time.monotonic() + node.timeout
        while (left := deadline - time.monotonic()) > 0:
            got = node.sent_to_peer(left, peer=node.prefecture)
            if got is None:
                break
            numbers.append(got[1].header.sequence_number)
            if got[1].sealed is not None and \
                    got[1].header.message_type is MessageType.IDENTITY_INFO_UPDATE:
                updates += 1
                node.acknowledge(got[0], got[1], node.prefecture)
                break
        else:
            return Outcome(Verdict.FAIL, expected, "an update did not come")
    if updates < COUNT:
        return Outcome(Verdict.FAIL, expected, f"only {updates} update(s) came")
    if any(b != a + 1 for a, b in itertools.pairwise(numbers)):
        return Outcome(Verdict.FAIL, expected,
                       f"sequence numbers {numbers} of the PDUs sent to the prefecture, "
                       "in the order sent: each must be the one before plus one")
    return Outcome(Verdict.PASS, expected, f"sequence numbers {numbers}")


# Numbering across a restart (R-NODE-03, R-30-5-0-05, R-30-11-0-02) ------------------------

def _reported(node: NodeSut) -> IdentityInfoUpdate | str:
    """Record a change of a fresh resident and acknowledge the update that reports it,
    as the prefecture; the update, or why it did not come."""
    seed = f"conformance:numbers:{secrets.token_hex(8)}"
    upper_ok(node, "register_resident", seed=seed)
    head = generate_households(1, seed, municipalities=[node.code])[0].head
    op = upper_ok(node, "record_change", residentCode=head.resident_code, reason="moveIn")
    deadline = time.monotonic() + node.timeout
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left, peer=node.prefecture)
        if got is None:
            break
        conn, pdu = got
        if pdu.sealed is None:
            continue
        node.acknowledge(conn, pdu, node.prefecture)
        if pdu.header.message_id.hex() == op.get("messageId"):
            update = node.opened(pdu, node.prefecture)
            if not isinstance(update, IdentityInfoUpdate):
                return f"a {type(update).__name__} instead of the update"
            return update
    return f"no update within {node.timeout:g} s"


def _numbered_on(node: NodeSut, what: str, field: str, number: Callable[[Any], int],
                 settle: Callable[[], None], send: Callable[[], Any],
                 before_first: Callable[[], object] = lambda: None) -> Outcome:
    """R-NODE-03 across a restart: ``send`` makes the node send one numbered message and
    acknowledges it (the message, or why not), ``settle`` waits until nothing is left
    unacknowledged; the one sent after the restart must carry ``number`` (its header
    ``field``) one more."""
    expected = (f"the {what} sent after a restart numbered one more than the last one "
                "acknowledged before it")
    settle()
    before_first()
    first = send()
    if isinstance(first, str):
        raise Inconclusive(f"before the restart: {first}")
    # The acknowledgement committed (nothing unacknowledged) before the node stops.
    settle()
    node.restart()
    second = send()
    if isinstance(second, str):
        return Outcome(Verdict.FAIL, expected, f"after the restart: {second}")
    before, after = number(first), number(second)
    verdict = Verdict.PASS if after == before + 1 else Verdict.FAIL
    return Outcome(verdict, expected, f"{field} {before}, then {after}")


def _updates_after_restart(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    return _numbered_on(node, "update", "updateSequence", lambda u: u.update_sequence,
                        lambda: _settle(node), lambda: _reported(node))


def _relayed(node: NodeSut) -> IdentityInfoRelay | str:
    """Send the prefecture the next update of the lower tester's municipality and
    acknowledge, as the centre, the relay that carries it; the relay, or why not."""
    update = birth_update(last_sequence(node.status()) + 1)
    mid, pdu = node.sealed(update, sender=MUNICIPALITY)
    wrong = expect_ack(exchange(node, MUNICIPALITY, pdu, mid), AckStatus.ACCEPTED)
    if wrong:
        raise Inconclusive(f"the update to relay got {wrong}")
    deadline = time.monotonic() + node.timeout
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left, peer=NATIONAL)
        if got is None:
            break
        conn, sent = got
        if sent.sealed is None \
                or sent.header.message_type is not MessageType.IDENTITY_INFO_RELAY:
            continue
        node.acknowledge(conn, sent, NATIONAL)
        relay = node.opened(sent, NATIONAL)
        if isinstance(relay, IdentityInfoRelay) \
                and relay.update.identity_info == update.identity_info:
            return relay
    return f"no relay of the update within {node.timeout:g} s"


def _relays_after_restart(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    return _numbered_on(node, "relay", "relaySequence", lambda r: r.relay_sequence,
                        lambda: settle_relays(node), lambda: _relayed(node),
                        lambda: node.drain(NATIONAL))


REM_RESTART = ("Keep the last number sent to each recipient in durable storage, committed "
               "with the message, and start again from it after a restart: the next "
               "update or relay is numbered one more, with no gap (R-NODE-03).")


def header_number_cases() -> list[Case]:
    """The cases of this module (municipality and prefecture SUTs)."""
    reqs = ("R-PDU-46",)
    updates = ("R-30-5-0-05", "R-NODE-03", "R-NODE-17")
    relays = ("R-30-11-0-02", "R-NODE-03", "R-NODE-17")
    return [NodeCase(
        id="pdu/node/header/sequence-numbers-increase",
        title="the PDUs sent to one peer carry sequence numbers increasing by one",
        clause="pdu", requirements=reqs, level=strongest_level(reqs),
        remediation="Keep a counter per recipient of the PDUs sent to it (answers and "
                    "resends included) and write it in each header's sequenceNumber "
                    "before incrementing it (spec/pdu.md section 3).",
        mode="node", ops=(), run=_increasing, role="municipality"),
        NodeCase(
        id="30-5/node/restart/next-update-numbered-on",
        title="after a restart the municipality numbers its next update one more than "
              "the last before it", clause="30-5", requirements=updates,
        level=strongest_level(updates), remediation=REM_RESTART, mode="node", ops=(),
        run=_updates_after_restart, role="municipality", needs="ixit.restart"),
        NodeCase(
        id="30-11/node/restart/next-relay-numbered-on",
        title="after a restart the prefecture numbers its next relay one more than the "
              "last before it", clause="30-11", requirements=relays,
        level=strongest_level(relays), remediation=REM_RESTART, mode="node", ops=(),
        run=_relays_after_restart, role="prefecture", needs="ixit.restart ixit.clock")]


__all__ = ["header_number_cases"]
