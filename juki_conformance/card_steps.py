"""The steps the node-mode card cases share (spec/card_register.md, spec/node.md
section 4.2): draw a card serial and a resident code, other codes on both sides of one,
ask the centre for a card's status as a third municipality, and word an upper tester
answer for a verdict."""

from __future__ import annotations

import random
import secrets
from typing import Any

from juki_conformance.cases_node import describe
from juki_conformance.node_steps import exchange
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import SutFault
from juki_protocol.identifiers import new_resident_code
from juki_protocol.messages.card import CardStatusAnswer, CardStatusQuery
from juki_protocol.messages.pdu import JukiPdu, MessageType

#: The municipality the runner plays to query the centre: neither the card's issuer
#: (271004) nor the runner's other peer.
ELSEWHERE = "131016"
_RNG = random.SystemRandom()


def card_serial(municipality: str) -> str:
    """A fresh card serial of ``municipality`` (its code, a dash, ten digits)."""
    return f"{municipality}-{_RNG.randrange(10 ** 10):010d}"


def random_resident_code() -> str:
    """A fresh valid resident code that no register holds."""
    return new_resident_code(random.Random(secrets.randbits(64)))


def other_codes(code: str) -> tuple[str, ...]:
    """Resident codes other than ``code``, one sorting before it and one after it where
    such codes are drawn: "another code" is any other code, whichever way it compares
    (R-CARDREG-06)."""
    below: list[str] = []
    above: list[str] = []
    for _ in range(200):
        other = random_resident_code()
        (below if other < code else above if other > code else []).append(other)
        if below and above:
            break
    return (*below[:1], *above[:1])


def ask_centre(node: NodeSut, serial: str, code: str) -> CardStatusAnswer | str:
    """Query the centre as :data:`ELSEWHERE` for card ``serial`` of resident ``code``:
    its answer (acknowledged), or what came instead."""
    conn = node.connect(ELSEWHERE)
    try:
        mid, pdu = node.sealed(CardStatusQuery(municipality=ELSEWHERE, card_serial=serial,
                                               resident_code=code), sender=ELSEWHERE)
        conn.send(pdu)
        first = conn.answer_to(mid)
        if first is None or first.acknowledgement is None:
            return f"the query answered {describe(first)}"
        while True:
            try:
                got = conn.read(node.timeout)
            except TimeoutError:
                return f"no CardStatusAnswer within {node.timeout:g} s"
            if got is None:
                return "the connection closed without a CardStatusAnswer"
            if got.sealed is None:
                continue
            if got.header.message_type is not MessageType.CARD_STATUS_ANSWER or \
                    got.header.correlation_id != mid:
                return "a message that is not a CardStatusAnswer correlated with the query"
            message = node.opened(got, ELSEWHERE)
            node.acknowledge(conn, got, ELSEWHERE)
            assert isinstance(message, CardStatusAnswer)
            return message
    finally:
        conn.close()


def send_as(node: NodeSut, message: object, sender: str) -> JukiPdu | None:
    """Send ``message`` as ``sender`` on a fresh connection: the node's answer to it."""
    mid, pdu = node.sealed(message, sender=sender)
    return exchange(node, sender, pdu, mid)


def error_code(answer: dict[str, Any]) -> int | None:
    """The error code of an upper tester answer; None when it is ok."""
    return None if answer.get("ok") else (answer.get("error") or {}).get("code")


def answer_text(answer: dict[str, Any]) -> str:
    """An upper tester answer in a few words: ``ok`` or ``error CODE``."""
    return "ok" if answer.get("ok") else f"error {(answer.get('error') or {}).get('code')}"


def application(node: NodeSut, serial: str) -> dict[str, Any]:
    """``card_application`` of ``serial`` where its answer is what a case checks: an
    error answer is the node's fault (:class:`SutFault`), not a state never reached."""
    answer = node.request("card_application", serial=serial)
    if not answer.get("ok"):
        raise SutFault(f"card_application of {serial} answered {answer_text(answer)}")
    return answer


__all__ = [
    "ELSEWHERE",
    "answer_text",
    "application",
    "ask_centre",
    "card_serial",
    "other_codes",
    "random_resident_code",
]
