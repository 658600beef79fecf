"""The prefecture's test hook ``code_allotment`` (spec/node.md section 4.10, R-NODE-97):
what a runner may give it, and that a refused value leaves the allotment as it was."""

from __future__ import annotations

from typing import Any

from juki_conformance.cases_node import NodeCase, node_sut
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.errors import ErrorCode


def _allotment_hook(sut: AdapterSut) -> Outcome:
    """R-NODE-97: the test hook takes null and integers of 0 or more, and refuses every
    other ``remaining`` with 1030, leaving what it took before."""
    node = node_sut(sut)
    expected = ("code_allotment takes remaining 0, 7 and null and answers each back; "
                "-1, 1.5, true, false, '3', [] and {} answered 1030 with the allotment "
                "left as it was; without remaining it answers the last one taken")
    try:
        for value in (0, 7):
            got = node.ok("code_allotment", remaining=value).get("remaining")
            if got != value:
                return Outcome(Verdict.FAIL, expected, f"remaining {value} answered {got!r}")
        refused: tuple[Any, ...] = (-1, 1.5, True, False, "3", [], {})
        for bad in refused:
            answer = node.request("code_allotment", remaining=bad)
            error = answer.get("error") or {}
            if answer.get("ok") or error.get("code") != int(ErrorCode.INVALID_JSON):
                said = "ok" if answer.get("ok") else f"{error.get('code')}"
                return Outcome(Verdict.FAIL, expected, f"remaining {bad!r} answered {said}")
            left = node.ok("code_allotment").get("remaining")
            if left != 7:
                return Outcome(Verdict.FAIL, expected, f"after remaining {bad!r} was "
                               f"refused the allotment reads {left!r}, not 7")
    finally:
        node.request("code_allotment", remaining=None)
    last = node.ok("code_allotment").get("remaining")
    if last is not None:
        return Outcome(Verdict.FAIL, expected, f"after remaining null it reads {last!r}")
    return Outcome(Verdict.PASS, expected, "0, 7 and null taken; 7 values refused 1030")



def allotment_hook_cases() -> list[Case]:
    """The case of this module (a prefecture SUT)."""
    return [NodeCase(
        id="30-7/1/node/designation/allotment-hook-input",
        title="the code_allotment test hook takes null and integers of 0 or more and "
              "refuses every other remaining with 1030, changing nothing",
        clause="30-7/1", requirements=("R-NODE-97",), level="MUST",
        remediation="Take remaining only as null or an integer of 0 or more (not a "
                    "boolean); answer anything else 1030 and keep the allotment "
                    "(R-NODE-97).",
        mode="node", ops=(), run=_allotment_hook, role="prefecture")]


__all__ = ["allotment_hook_cases"]
