"""The register and card desk node cases (juki_conformance/cases_node_register.py) against
the reference municipality, which passes them all, and against each faulty municipality
of juki_conformance/selftest/faulty_register.py, which fails exactly its expected cases."""

from __future__ import annotations

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_register import register_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import run_cases
from juki_conformance.selftest.faulty_register import EXPECTED, FAULTS, command

ICS = ics_mod.parse({
    "implementation": {"name": "reference node", "version": "0.1.0"},
    "role": "municipality", "profiles": ["current"], "modes": ["node"],
    "limits": REFERENCE_LIMITS, "localPurposes": REFERENCE_LOCAL_PURPOSES,
    "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"},
             "faultInjection": {"method": "upperTester"}}})


def test_the_reference_municipality_passes_every_register_case() -> None:
    result = run_cases(register_cases(), NodeSut(role="municipality"), ICS)
    assert result.harness_error is None
    verdicts = {r.case.id: r.outcome for r in result.results}
    assert verdicts and all(o.verdict is Verdict.PASS for o in verdicts.values()), verdicts


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_faulty_municipality_fails_exactly_its_cases(fault: str) -> None:
    result = run_cases(register_cases(),
                       NodeSut(command(fault), timeout=2, role="municipality"), ICS)
    assert result.harness_error is None
    failed = {r.case.id for r in result.results if r.outcome.verdict is Verdict.FAIL}
    assert failed == set(EXPECTED[fault]), {r.case.id: r.outcome for r in result.results}
    assert all(r.outcome.verdict in (Verdict.PASS, Verdict.FAIL, Verdict.NOT_APPLICABLE)
               for r in result.results)
