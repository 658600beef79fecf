"""Test cases, verdicts and results."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

from juki_protocol.resources import spec_dir

if TYPE_CHECKING:
    from juki_conformance.ics import Ics
    from juki_conformance.sut import AdapterSut


class Verdict(StrEnum):
    """Result classes (DESIGN.md section 6)."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    ACCEPTABLE = "acceptable"     # the spec allows either behaviour; the SUT chose one
    ERROR = "error"               # the harness or environment failed, not the SUT
    INCONCLUSIVE = "inconclusive"  # the SUT never reached the state the case needs


#: A requirement's key word -> the level a case that checks it reports, and its rank.
_LEVELS = {"MUST": ("MUST", 3), "MUST NOT": ("MUST", 3), "SHOULD": ("SHOULD", 2),
           "SHOULD NOT": ("SHOULD", 2), "MAY": ("MAY", 1)}


@cache
def requirement_levels() -> dict[str, str]:
    """Requirement id -> its key word (MUST, SHOULD NOT, ...), from spec/requirements.json."""
    doc = json.loads((spec_dir() / "requirements.json").read_text(encoding="utf-8"))
    return {r["id"]: r["level"] for r in doc["requirements"]}


def strongest_level(requirements: Iterable[str]) -> str:
    """The level a case reports: that of the strongest requirement it cites (MUST above
    SHOULD above MAY; a negative key word counts as its positive). A case that cites only
    a SHOULD reports SHOULD, never MUST (issue 17, point 15). Ids not in the spec count
    as MUST, so that a typo never weakens a case; the coverage report names them."""
    levels = requirement_levels()
    ranked = [_LEVELS.get(levels.get(r, "MUST"), ("MUST", 3)) for r in requirements]
    return max(ranked, key=lambda lv: lv[1])[0] if ranked else "MUST"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a case observed: the verdict, the expected and actual behaviour."""

    verdict: Verdict
    expected: str
    actual: str
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One test case.

    id: stable id (never renumbered); clause: the article or spec section;
    requirements: ids from spec/requirements.json; level: MUST/SHOULD of the strongest
    requirement (:func:`strongest_level`); remediation: what to fix when it fails;
    mode: codec or node;
    needs: ICS conditions (message type, profile, op) for applicability.
    """

    id: str
    title: str
    clause: str
    requirements: tuple[str, ...]
    level: str
    remediation: str
    mode: str
    run: Callable[[AdapterSut], Outcome]
    message_type: str | None = None
    profile: str | None = None
    ops: tuple[str, ...] = ("decode",)
    data: dict[str, Any] = field(default_factory=dict)

    def not_applicable_reason(self, ics: Ics) -> str | None:
        """Why the ICS makes this case inapplicable, or None if it applies."""
        if self.mode not in ics.modes:
            return f"the ICS declares no {self.mode} mode"
        if self.message_type and not ics.supports_type(self.message_type):
            return f"the ICS does not declare message type {self.message_type}"
        if self.profile and self.profile not in ics.profiles:
            return f"the ICS does not declare profile {self.profile}"
        missing = [op for op in self.ops if op not in ics.ops]
        if missing:
            return f"the ICS does not declare op {', '.join(missing)}"
        return None


@dataclass(frozen=True, slots=True)
class CaseResult:
    """A case, its outcome, its duration, whether it was a known failure, and the
    frames a failing node-mode case exchanged (:class:`juki_conformance.lower_tester.Frame`)."""

    case: Case
    outcome: Outcome
    seconds: float
    known_failure: bool = False
    frames: tuple[Any, ...] = ()
