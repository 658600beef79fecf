"""juki-conformance card register cases (spec/card_register.md): the reference centre
and municipality pass every case of their role, and each faulty node of
``juki_conformance.selftest.faulty_card_register`` fails exactly the cases that should
catch it."""

from __future__ import annotations

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_card_register import card_register_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import REFERENCE_IXIT, NodeSut
from juki_conformance.runner import RunResult, run_cases
from juki_conformance.selftest.faulty_card_register import (
    EXPECTED,
    FAULT_ROLES,
    FAULTS,
    command,
)


def _ics(role: str) -> ics_mod.Ics:
    return ics_mod.parse({"implementation": {"name": "reference node", "version": "0.1.0"},
                          "role": role, "profiles": ["current"], "modes": ["node"],
                          "limits": REFERENCE_LIMITS,
                          "localPurposes": REFERENCE_LOCAL_PURPOSES, "ixit": REFERENCE_IXIT})


def _verdicts(result: RunResult) -> dict[str, Verdict]:
    return {r.case.id: r.outcome.verdict for r in result.results}


def _mine(role: str) -> set[str]:
    return {c.id for c in card_register_cases() if getattr(c, "role", "") == role}


@pytest.mark.parametrize("role", ["national", "municipality"])
def test_the_reference_passes_every_card_register_case_of_its_role(role: str) -> None:
    result = run_cases(card_register_cases(), NodeSut(timeout=5, role=role), _ics(role))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    assert len(_mine(role)) >= 4
    assert {verdicts[c] for c in _mine(role)} == {Verdict.PASS}, \
        {r.case.id: r.outcome for r in result.results if r.outcome.verdict is not Verdict.PASS}


def test_the_cases_cite_the_flow_on_both_sides_and_every_fault_is_caught() -> None:
    cases = card_register_cases()
    assert all(c.clause == "30-44" and any(r.startswith("R-CARDREG-") for r in c.requirements)
               for c in cases)
    assert _mine("national") and _mine("municipality")
    ids = {c.id for c in cases}
    assert set(EXPECTED) == set(FAULTS)
    assert all(EXPECTED[f] and set(EXPECTED[f]) <= ids for f in FAULTS)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_faulty_node_fails_exactly_its_cases(fault: str) -> None:
    role = FAULT_ROLES[fault]
    result = run_cases(card_register_cases(), NodeSut(command(fault), timeout=3, role=role),
                       _ics(role))
    assert result.harness_error is None
    failed = {cid for cid, v in _verdicts(result).items() if v is Verdict.FAIL}
    assert failed == set(EXPECTED[fault]), {r.case.id: r.outcome for r in result.results
                                            if r.outcome.verdict is not Verdict.PASS}
