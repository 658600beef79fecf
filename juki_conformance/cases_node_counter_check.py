"""The new municipality's counter check before a special move-in notice (Art. 24-2(1);
spec/special_move.md R-24-2-1-01; spec/node.md section 4.5): a move-in whose identity
was not confirmed, was not checked with a card, or whose card holder is not among the
movers is refused 5022 and sends nothing."""

from __future__ import annotations

from juki_conformance.cases_node import NodeCase
from juki_conformance.flow_steps import (
    CLOSE_CODE,
    gather,
    listening,
    move_in_fields,
    node_today,
    peer_household,
    sealed_of,
    sent_nothing,
)
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, node_sut
from juki_conformance.sut import AdapterSut
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.pdu import MessageType


def _move_in_identity_refused(sut: AdapterSut) -> Outcome:
    """R-24-2-1-01: the counter sends no SpecialMoveInNotice unless it confirmed, with a
    card, the identity of a card holder who is among the movers."""
    node = node_sut(sut)
    code = ErrorCode.IDENTITY_CHECK_FAILED
    expected = (f"special_move_in with the identity not confirmed, checked with a photo "
                f"ID document, or a card holder who is not among the movers each answered "
                f"{error_text(code)}, and no SpecialMoveInNotice sent to "
                f"{node.peer_municipality}; with the card holder among them, the notice sent")
    node.drain(node.peer_municipality)
    people = peer_household(node, 2)[:2]
    stranger = peer_household(node)[0].resident_code
    today = node_today(node)
    base = move_in_fields(node, people, today, today)
    for label, fields in (
            ("the identity not confirmed", {**base, "identityConfirmed": False}),
            ("a photo ID document", {**base, "identityCheck": "photoIdDocument"}),
            ("a card holder not among the movers", {**base, "cardHolder": stranger})):
        answer = node.request("special_move_in", **fields)
        sent = sent_nothing(node, node.peer_municipality,
                            MessageType.SPECIAL_MOVE_IN_NOTICE)
        if sent is not None:
            return Outcome(Verdict.FAIL, expected, f"for {label}: {sent}")
        error = answer.get("error") or {}
        if answer.get("ok") or error.get("code") != int(code):
            said = "ok" if answer.get("ok") else f"{error.get('code')} {error.get('name')}"
            return Outcome(Verdict.FAIL, expected, f"for {label} special_move_in answered "
                           f"{said}")
    second = {**base, "cardHolder": people[1].resident_code}
    answer = node.request("special_move_in", **second)
    mid = answer.get("messageId")
    if not answer.get("ok") or not isinstance(mid, str):
        return Outcome(Verdict.FAIL, expected, "refused three times; then with the card "
                       f"holder second among the movers it answered {answer.get('error')}")
    got = gather(listening(node, node.peer_municipality), {
        "n": sealed_of(MessageType.SPECIAL_MOVE_IN_NOTICE, bytes.fromhex(mid))},
        node.timeout).get("n")
    if got is None:
        return Outcome(Verdict.FAIL, expected, "refused three times; then the valid move-in "
                       f"sent no notice to {node.peer_municipality}")
    node.report_error(got[0], got[1], node.peer_municipality, int(CLOSE_CODE))
    return Outcome(Verdict.PASS, expected, "5022 three times, nothing sent; then sent")


def counter_check_cases() -> list[Case]:
    """The case of this module (a municipality SUT)."""
    return [NodeCase(
        id="24-2/1/node/special-move/new/identity-check-refused",
        title="a move-in whose identity is not confirmed, not checked with a card, or "
              "whose card holder is not a mover is refused 5022 and sends nothing",
        clause="24-2/1", requirements=("R-24-2-1-01", "R-NODE-42"), level="MUST",
        remediation="Send a SpecialMoveInNotice only after confirming, with a card, the "
                    "identity of a card holder who is among the movers; otherwise answer "
                    "5022 and send nothing (R-24-2-1-01).",
        mode="node", ops=(), run=_move_in_identity_refused, role="municipality")]


__all__ = ["counter_check_cases"]
