"""juki-conformance delegation cases (Art. 30-10(1), spec/provision.md section 6): the
reference centre, prefecture and agency pass every case of their role, and each faulty
node of ``juki_conformance.selftest.faulty_delegation`` fails exactly the cases that
should catch it; without the IXIT's delegating prefectures the centre's cases are not
applicable."""

from __future__ import annotations

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_delegation import delegation_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import REFERENCE_IXIT, NodeSut
from juki_conformance.runner import RunResult, run_cases
from juki_conformance.selftest.faulty_delegation import (
    EXPECTED,
    FAULT_ROLES,
    FAULTS,
    command,
)

ROLES = ("national", "prefecture", "agency")


def _ics(role: str, ixit: dict[str, object] | None = None) -> ics_mod.Ics:
    return ics_mod.parse({
        "implementation": {"name": "reference node", "version": "0.1.0"}, "role": role,
        "profiles": ["current"], "modes": ["node"], "limits": REFERENCE_LIMITS,
        "localPurposes": REFERENCE_LOCAL_PURPOSES,
        "ixit": REFERENCE_IXIT if ixit is None else ixit})


def _verdicts(result: RunResult) -> dict[str, Verdict]:
    return {r.case.id: r.outcome.verdict for r in result.results}


def _mine(role: str) -> set[str]:
    return {c.id for c in delegation_cases() if getattr(c, "role", "") == role}


@pytest.mark.parametrize("role", ROLES)
def test_the_reference_passes_every_delegation_case_of_its_role(role: str) -> None:
    result = run_cases(delegation_cases(), NodeSut(timeout=5, role=role), _ics(role))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    assert _mine(role)
    assert {verdicts[c] for c in _mine(role)} == {Verdict.PASS}, \
        {r.case.id: r.outcome for r in result.results if r.outcome.verdict is not Verdict.PASS}


def test_without_delegating_prefectures_the_centres_cases_are_not_applicable() -> None:
    ixit = {k: v for k, v in REFERENCE_IXIT.items() if k != "delegatingPrefectures"}
    assert all(c.not_applicable_reason(_ics("national", ixit))
               for c in delegation_cases())
    assert all(c.not_applicable_reason(_ics("national")) is None
               for c in delegation_cases() if c.id in _mine("national"))


def test_every_fault_is_expected_to_fail_a_case_and_every_case_is_caught() -> None:
    assert set(EXPECTED) == set(FAULTS)
    assert all(EXPECTED[f] and set(EXPECTED[f]) <= _mine(FAULT_ROLES.get(f, "national"))
               for f in FAULTS)
    assert {c for cases in EXPECTED.values() for c in cases} == \
        {c.id for c in delegation_cases()}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_faulty_node_fails_exactly_its_cases(fault: str) -> None:
    role = FAULT_ROLES.get(fault, "national")
    result = run_cases(delegation_cases(), NodeSut(command(fault), timeout=3, role=role),
                       _ics(role))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    failed = {cid for cid, v in verdicts.items() if v is Verdict.FAIL}
    assert failed == set(EXPECTED[fault]), {r.case.id: r.outcome for r in result.results
                                            if r.outcome.verdict is not Verdict.PASS}
    assert set(verdicts.values()) <= {Verdict.PASS, Verdict.FAIL, Verdict.NOT_APPLICABLE}
