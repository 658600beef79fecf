"""juki-conformance suspension cases (spec/suspension.md): the reference prefecture,
national centre and municipality pass every case of their role, and each faulty node of
``juki_conformance.selftest.faulty_suspension`` fails exactly the cases that should
catch it; without the proforma capability the cases are not applicable."""

from __future__ import annotations

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_suspension import suspension_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import REFERENCE_IXIT, NodeSut
from juki_conformance.runner import RunResult, run_cases
from juki_conformance.selftest.faulty_suspension import (
    EXPECTED,
    FAULT_ROLES,
    FAULTS,
    command,
)


def _raw(role: str) -> dict[str, object]:
    return {"implementation": {"name": "reference node", "version": "0.1.0"}, "role": role,
            "profiles": ["current"], "modes": ["node"], "limits": REFERENCE_LIMITS,
            "localPurposes": REFERENCE_LOCAL_PURPOSES, "ixit": REFERENCE_IXIT}


def _ics(role: str) -> ics_mod.Ics:
    return ics_mod.parse(_raw(role))


def _verdicts(result: RunResult) -> dict[str, Verdict]:
    return {r.case.id: r.outcome.verdict for r in result.results}


def _mine(role: str) -> set[str]:
    return {c.id for c in suspension_cases() if getattr(c, "role", "") == role}


@pytest.mark.parametrize("role", ["prefecture", "national", "municipality"])
def test_the_reference_passes_every_suspension_case_of_its_role(role: str) -> None:
    result = run_cases(suspension_cases(), NodeSut(timeout=5, role=role), _ics(role))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    assert len(_mine(role)) == {"municipality": 5}.get(role, 3)
    assert {verdicts[c] for c in _mine(role)} == {Verdict.PASS}, \
        {r.case.id: r.outcome for r in result.results if r.outcome.verdict is not Verdict.PASS}


def test_the_capability_is_mandatory_and_the_cases_apply_to_their_roles() -> None:
    for role in ("prefecture", "national", "municipality"):
        with pytest.raises(ValueError, match="capabilities/suspension: mandatory"):
            ics_mod.parse({**_raw(role), "capabilities": {"suspension": False}})
        assert all(c.not_applicable_reason(_ics(role)) is None
                   for c in suspension_cases() if c.id in _mine(role))
        assert all(c.not_applicable_reason(_ics(role))
                   for c in suspension_cases() if c.id not in _mine(role))
    assert all(c.not_applicable_reason(_ics("agency")) for c in suspension_cases())


def test_every_fault_is_expected_to_fail_a_case_and_every_case_is_caught() -> None:
    ids = {c.id for c in suspension_cases()}
    assert set(EXPECTED) == set(FAULTS)
    assert all(EXPECTED[f] and set(EXPECTED[f]) <= ids for f in FAULTS)
    caught = {c for cases in EXPECTED.values() for c in cases}
    assert caught == _mine("prefecture") | _mine("municipality")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_faulty_node_fails_exactly_its_cases(fault: str) -> None:
    role = FAULT_ROLES.get(fault, "prefecture")
    result = run_cases(suspension_cases(), NodeSut(command(fault), timeout=3, role=role),
                       _ics(role))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    failed = {cid for cid, v in verdicts.items() if v is Verdict.FAIL}
    assert failed == set(EXPECTED[fault]), {r.case.id: r.outcome for r in result.results
                                            if r.outcome.verdict is not Verdict.PASS}
    assert set(verdicts.values()) <= {Verdict.PASS, Verdict.FAIL, Verdict.NOT_APPLICABLE}
