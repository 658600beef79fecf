"""Node-mode cases on a resident card's PIN (spec/node.md section 4.2, R-CARD-01; the
upper tester's ``card_issue`` and ``card_verify``, section 4): the count of consecutive
wrong PINs in every order of right and wrong ones, and the bounds of the PIN's length.

The cases of :mod:`juki_conformance.cases_node_municipality` lock a card and reset its count
once. A card that counts a right PIN as a failure, or that a right PIN does not reset
before every wrong one, passes them; so does one that takes only some lengths of PIN.
Here a card is presented the right PIN again and again (each 9000, confirmed, the card
active), right and wrong PINs alternated (each right one resets the count), and cards
are issued with PINs of the shortest and longest length allowed (4 and 16 digits), and
of lengths and characters not allowed (3 and 17 digits, a letter: 1030, no card).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, node_sut
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.fixtures.synth import generate_households

PIN, WRONG_PIN = "5273", "9999"
REMEDIATION = (
    "Count only consecutive wrong PINs on the card (63C2, 63C1, then 63C0 and blocked); "
    "a right PIN answers 9000, confirms the holder, keeps the card active and resets the "
    "count to three tries. Take a PIN of 4 to 16 digits at issuance (spec/node.md "
    "section 4, card_issue) and refuse any other with 1030 INVALID_JSON, issuing no card.")


def _resident(node: NodeSut) -> str:
    seed = f"conformance:pin:{secrets.token_hex(8)}"
    answer = node.request("register_resident", seed=seed)
    if not answer.get("ok"):
        raise SutFault(f"register_resident failed: {answer.get('error')}")
    return generate_households(1, seed, municipalities=[node.code])[0].head.resident_code


def _issue(node: NodeSut, pin: str) -> dict[str, Any]:
    return node.request("card_issue", residentCode=_resident(node), pin=pin)


def presented(node: NodeSut, serial: str, pin: str, steps: list[tuple[bool, str]]
              ) -> str | None:
    """Present the right PIN (True) or a wrong one (False) in turn, each expected to
    answer its status word; a right one must also confirm the holder with the card
    active. None if all did, else the first that did not."""
    for i, (right, sw) in enumerate(steps, 1):
        got = node.request("card_verify", serial=serial, pin=pin if right else WRONG_PIN)
        if not got.get("ok"):
            return f"card_verify {i} answered {got.get('error')}"
        said = (str(got.get("sw", "")).upper(), bool(got.get("confirmed")),
                got.get("cardState"))
        if said[0] != sw or said[1] != right or (right and said[2] != "active"):
            return (f"PIN {i} ({'right' if right else 'wrong'}) answered {said[0]}, "
                    f"confirmed {said[1]}, card {said[2]}; expected {sw}"
                    + (", confirmed, card active" if right else ", not confirmed"))
    return None


def _steps_case(steps: list[tuple[bool, str]]) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = ", ".join(f"{'right' if r else 'wrong'} {sw}" for r, sw in steps)
        issued = _issue(node, PIN)
        if not issued.get("ok"):
            raise SutFault(f"card_issue failed: {issued.get('error')}")
        problem = presented(node, str(issued["serial"]), PIN, steps)
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        return Outcome(Verdict.PASS, expected, "as expected")
    return run


def _lengths(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("cards issued with PINs of 4 and 16 digits, each answering 9000 to it; "
                "PINs of 3 and 17 digits and one with a letter refused 1030, no card")
    for pin in ("4071", "5" * 15 + "2"):
        issued = _issue(node, pin)
        if not issued.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"card_issue with a {len(pin)}-digit PIN "
                           f"answered {issued.get('error')}")
        problem = presented(node, str(issued["serial"]), pin, [(True, "9000"),
                                                               (False, "63C2")])
        if problem:
            return Outcome(Verdict.FAIL, expected, f"the {len(pin)}-digit PIN: {problem}")
    for pin in ("407", "5" * 16 + "2", "40a1"):
        issued = _issue(node, pin)
        code = (issued.get("error") or {}).get("code")
        if issued.get("ok") or code != 1030:
            return Outcome(Verdict.FAIL, expected, f"card_issue with PIN {pin!r} answered "
                           f"{issued.get('error') or 'a card'}")
    return Outcome(Verdict.PASS, expected, "4 and 16 digits taken; 3, 17 and a letter 1030")


def card_pin_cases() -> list[Case]:
    """The cases of this module (a municipality SUT)."""
    def case(cid: str, title: str, run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause="card", requirements=("R-CARD-01",),
                        level="MUST", remediation=REMEDIATION, mode="node", ops=(),
                        run=run, role="municipality")
    right, wrong2, wrong1 = (True, "9000"), (False, "63C2"), (False, "63C1")
    return [
        case("card/node/pin/right-pin-again-and-again",
             "the right PIN four times: each 9000, confirmed, the card active; then a "
             "wrong one 63C2", _steps_case([right, right, right, right, wrong2])),
        case("card/node/pin/right-pin-resets-every-time",
             "wrong and right PINs alternated: each right one resets the count",
             _steps_case([wrong2, right, wrong2, right, wrong2, wrong1, right, wrong2])),
        case("card/node/pin/length-bounds",
             "PINs of 4 and 16 digits issue working cards; 3 and 17 digits and a letter "
             "are refused 1030", _lengths),
    ]


__all__ = ["card_pin_cases", "presented"]
