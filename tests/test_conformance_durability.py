"""juki-conformance durability cases: the reference prefecture and municipality nodes
pass every case of their role, and each faulty node of
``juki_conformance.selftest.faulty_durability`` fails exactly the cases that should catch it."""

from __future__ import annotations

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_durability import durability_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import RunResult, run_cases
from juki_conformance.selftest.faulty_durability import EXPECTED, FAULT_ROLES, FAULTS, command


def _ics(role: str) -> ics_mod.Ics:
    return ics_mod.parse({
        "implementation": {"name": "reference node", "version": "0.1.0"}, "role": role,
        "profiles": ["current"], "modes": ["node"], "limits": REFERENCE_LIMITS,
        "localPurposes": REFERENCE_LOCAL_PURPOSES,
        "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"},
                 "faultInjection": {"method": "upperTester"}}})


def _verdicts(result: RunResult) -> dict[str, Verdict]:
    return {r.case.id: r.outcome.verdict for r in result.results}


@pytest.mark.parametrize("role", ["prefecture", "municipality"])
def test_the_reference_passes_every_durability_case_of_its_role(role: str) -> None:
    cases = durability_cases()
    result = run_cases(cases, NodeSut(timeout=5, role=role), _ics(role))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    mine = {c.id for c in cases if getattr(c, "role", "") == role}
    assert mine, role
    assert {verdicts[c] for c in mine} == {Verdict.PASS}, \
        {r.case.id: r.outcome for r in result.results if r.outcome.verdict is not Verdict.PASS}
    assert {v for c, v in verdicts.items() if c not in mine} == {Verdict.NOT_APPLICABLE}


def test_without_the_ixit_the_cases_that_need_it_are_not_applicable() -> None:
    ics = ics_mod.parse({**_ics("prefecture").raw, "ixit": {}})
    needing = [c for c in durability_cases() if getattr(c, "needs", "")]
    assert needing
    assert all(c.not_applicable_reason(ics) for c in needing)


def test_every_fault_is_expected_to_fail_a_case() -> None:
    ids = {c.id for c in durability_cases()}
    assert set(EXPECTED) == set(FAULTS)
    assert all(EXPECTED[f] and set(EXPECTED[f]) <= ids for f in FAULTS)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_faulty_node_fails_exactly_its_cases(fault: str) -> None:
    role = FAULT_ROLES.get(fault, "prefecture")
    result = run_cases(durability_cases(), NodeSut(command(fault), timeout=2, role=role),
                       _ics(role))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    failed = {cid for cid, v in verdicts.items() if v is Verdict.FAIL}
    assert failed == set(EXPECTED[fault]), {r.case.id: r.outcome for r in result.results
                                            if r.outcome.verdict is not Verdict.PASS}
    assert set(verdicts.values()) <= {Verdict.PASS, Verdict.FAIL, Verdict.NOT_APPLICABLE}
