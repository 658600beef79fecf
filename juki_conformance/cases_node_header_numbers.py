"""Node-mode case on the header's ``sequenceNumber`` (spec/pdu.md section 3, R-PDU-46):
the PDUs a node sends to one recipient carry increasing numbers.

A municipality SUT reports three recorded changes to its prefecture, which the runner
plays and acknowledges one by one; the three updates' header sequence numbers must
increase (by one each, when nothing else went to the prefecture in between).
"""

from __future__ import annotations

import itertools
import secrets
import time

from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node import node_sut as _sut
from juki_conformance.cases_node import upper_ok as _ok
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.pdu import MessageType

COUNT = 3


def _settle(node: NodeSut) -> None:
    deadline = time.monotonic() + node.timeout
    while (_ok(node, "status").get("updates") or {}).get("unacknowledged"):
        got = node.sent_to_peer(0.2, peer=node.prefecture)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        if time.monotonic() > deadline:
            raise SutFault("earlier updates stay unacknowledged")


def _increasing(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = (f"{COUNT} updates to the prefecture with header sequence numbers that "
                "increase by one")
    _settle(node)
    numbers: list[int] = []
    for _ in range(COUNT):
        seed = f"conformance:numbers:{secrets.token_hex(8)}"
        _ok(node, "register_resident", seed=seed)
        head = generate_households(1, seed, municipalities=[node.code])[0].head
        _ok(node, "record_change", residentCode=head.resident_code, reason="moveIn")
        deadline = time.monotonic() + node.timeout
        while (left := deadline - time.monotonic()) > 0:
            got = node.sent_to_peer(left, peer=node.prefecture)
            if got is None:
                break
            if got[1].sealed is not None and \
                    got[1].header.message_type is MessageType.IDENTITY_INFO_UPDATE:
                numbers.append(got[1].header.sequence_number)
                node.acknowledge(got[0], got[1], node.prefecture)
                break
        else:
            return Outcome(Verdict.FAIL, expected, "an update did not come")
    if len(numbers) < COUNT:
        return Outcome(Verdict.FAIL, expected, f"only {len(numbers)} update(s) came")
    if any(b <= a for a, b in itertools.pairwise(numbers)):
        return Outcome(Verdict.FAIL, expected, f"sequence numbers {numbers}")
    if any(b != a + 1 for a, b in itertools.pairwise(numbers)):
        return Outcome(Verdict.ACCEPTABLE, expected,
                       f"sequence numbers {numbers}: increasing, with gaps")
    return Outcome(Verdict.PASS, expected, f"sequence numbers {numbers}")


def header_number_cases() -> list[Case]:
    """The case of this module (a municipality SUT)."""
    reqs = ("R-PDU-46",)
    return [NodeCase(
        id="pdu/node/header/sequence-numbers-increase",
        title="the PDUs sent to one peer carry increasing sequence numbers",
        clause="pdu", requirements=reqs, level=strongest_level(reqs),
        remediation="Keep a counter per recipient of the PDUs sent to it (answers and "
                    "resends included) and write it in each header's sequenceNumber "
                    "before incrementing it (spec/pdu.md section 3).",
        mode="node", ops=(), run=_increasing, role="municipality")]


__all__ = ["header_number_cases"]
