"""juki-conformance send-window cases (spec/identity.md R-30-5-0-13): the reference
municipality and prefecture pass every case of their role with the window the
reference ICS declares, and with a window of 1; each faulty node of
``juki_conformance.selftest.faulty_window`` fails exactly the cases that should catch it."""

from __future__ import annotations

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_window import window_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import REFERENCE_IXIT, NodeSut
from juki_conformance.runner import RunResult, run_cases
from juki_conformance.selftest.faulty_window import EXPECTED, FAULTS, command, expected


def _ics(role: str, limits: dict[str, float] = REFERENCE_LIMITS) -> ics_mod.Ics:
    return ics_mod.parse({
        "implementation": {"name": "reference node", "version": "0.1.0"}, "role": role,
        "profiles": ["current"], "modes": ["node"], "limits": limits,
        "localPurposes": REFERENCE_LOCAL_PURPOSES, "ixit": REFERENCE_IXIT})


def _verdicts(result: RunResult) -> dict[str, Verdict]:
    return {r.case.id: r.outcome.verdict for r in result.results}


def _mine(role: str) -> set[str]:
    return {c.id for c in window_cases() if getattr(c, "role", "") == role}


def test_the_reference_declares_a_window_the_cases_can_bite_on() -> None:
    assert REFERENCE_LIMITS["sendWindow"] >= 2


@pytest.mark.parametrize("role", ["municipality", "prefecture"])
@pytest.mark.parametrize("window", [REFERENCE_LIMITS["sendWindow"], 1])
def test_the_reference_passes_every_window_case_of_its_role(role: str,
                                                            window: float) -> None:
    limits = {**REFERENCE_LIMITS, "sendWindow": window}
    result = run_cases(window_cases(), NodeSut(timeout=5, role=role, limits=limits),
                       _ics(role, limits))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    assert {verdicts[c] for c in _mine(role)} == {Verdict.PASS}, \
        {r.case.id: r.outcome for r in result.results if r.outcome.verdict is not Verdict.PASS}
    assert {v for c, v in verdicts.items() if c not in _mine(role)} \
        == {Verdict.NOT_APPLICABLE}


def test_the_window_is_a_declared_limit() -> None:
    with pytest.raises(ValueError, match="sendWindow"):
        _ics("municipality", {**REFERENCE_LIMITS, "sendWindow": 0})
    with pytest.raises(ValueError, match="sendWindow"):
        _ics("municipality", {**REFERENCE_LIMITS, "sendWindow": 1.5})


def test_every_fault_is_expected_to_fail_a_case() -> None:
    assert set(EXPECTED) == set(FAULTS)
    for fault in FAULTS:
        for role in ("municipality", "prefecture"):
            assert expected(fault, role) and set(expected(fault, role)) <= _mine(role)


@pytest.mark.parametrize("role", ["municipality", "prefecture"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_faulty_node_fails_exactly_its_cases(fault: str, role: str) -> None:
    result = run_cases(window_cases(), NodeSut(command(fault), timeout=2, role=role),
                       _ics(role))
    assert result.harness_error is None
    verdicts = _verdicts(result)
    failed = {cid for cid, v in verdicts.items() if v is Verdict.FAIL}
    assert failed == set(expected(fault, role)), \
        {r.case.id: r.outcome for r in result.results if r.outcome.verdict is not Verdict.PASS}
    assert set(verdicts.values()) <= {Verdict.PASS, Verdict.FAIL, Verdict.NOT_APPLICABLE}
