"""juki-conformance CRL cases (spec/pdu.md R-PDU-41, R-PDU-42): the reference
prefecture takes up every new list and ignores the ones it must, each faulty node of
``juki_conformance.selftest.faulty_crl`` fails exactly the cases that should catch it,
and without a declared reload interval the cases are not applicable."""

from __future__ import annotations

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_crl import crl_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import REFERENCE_IXIT, NodeSut
from juki_conformance.runner import RunResult, run_cases
from juki_conformance.selftest.faulty_crl import EXPECTED, FAULTS, command


def _ics(limits: dict[str, float] = REFERENCE_LIMITS) -> ics_mod.Ics:
    return ics_mod.parse({
        "implementation": {"name": "reference node", "version": "0.1.0"},
        "role": "prefecture", "profiles": ["current"], "modes": ["node"],
        "limits": limits, "localPurposes": REFERENCE_LOCAL_PURPOSES,
        "ixit": REFERENCE_IXIT})


def _verdicts(result: RunResult) -> dict[str, Verdict]:
    return {r.case.id: r.outcome.verdict for r in result.results}


def test_the_reference_passes_every_crl_case() -> None:
    result = run_cases(crl_cases(), NodeSut(timeout=5), _ics())
    assert result.harness_error is None
    assert set(_verdicts(result).values()) == {Verdict.PASS}, \
        {r.case.id: r.outcome for r in result.results}


def test_without_a_declared_reload_interval_the_cases_are_not_applicable() -> None:
    limits = {k: v for k, v in REFERENCE_LIMITS.items() if k != "crlReloadSeconds"}
    assert all(c.not_applicable_reason(_ics(limits)) for c in crl_cases())
    assert all(c.not_applicable_reason(_ics()) is None for c in crl_cases())


def test_the_reload_interval_is_a_declared_limit() -> None:
    with pytest.raises(ValueError, match="crlReloadSeconds"):
        _ics({**REFERENCE_LIMITS, "crlReloadSeconds": 0})
    with pytest.raises(ValueError, match="crlReloadSeconds"):
        _ics({**REFERENCE_LIMITS, "crlReloadSeconds": 3601})


def test_every_fault_is_expected_to_fail_a_case() -> None:
    ids = {c.id for c in crl_cases()}
    assert set(EXPECTED) == set(FAULTS)
    assert all(EXPECTED[f] and set(EXPECTED[f]) <= ids for f in FAULTS)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_faulty_node_fails_exactly_its_cases(fault: str) -> None:
    result = run_cases(crl_cases(), NodeSut(command(fault), timeout=2), _ics())
    assert result.harness_error is None
    verdicts = _verdicts(result)
    failed = {cid for cid, v in verdicts.items() if v is Verdict.FAIL}
    assert failed == set(EXPECTED[fault]), {r.case.id: r.outcome for r in result.results
                                            if r.outcome.verdict is not Verdict.PASS}
    assert set(verdicts.values()) <= {Verdict.PASS, Verdict.FAIL}
