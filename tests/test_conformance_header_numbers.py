"""juki-conformance node cases on the numbers a node writes in what it sends
(juki_conformance/cases_node_header_numbers.py): the reference municipality and
prefecture pass the cases of their role, numbering on across a restart, and the restart
cases are not applicable without the IXIT's restart."""

from __future__ import annotations

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_header_numbers import header_number_cases
from juki_conformance.cli import all_node_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import run_cases


def _ics(role: str, ixit: bool = True) -> ics_mod.Ics:
    return ics_mod.parse({
        "implementation": {"name": "reference node", "version": "0.1.0"}, "role": role,
        "profiles": ["current"], "modes": ["node"], "limits": REFERENCE_LIMITS,
        "localPurposes": REFERENCE_LOCAL_PURPOSES,
        "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"}}
        if ixit else {}})


@pytest.mark.parametrize("role", ["municipality", "prefecture"])
def test_the_reference_passes_the_cases_of_its_role(role: str) -> None:
    cases = header_number_cases()
    result = run_cases(cases, NodeSut(timeout=5, role=role), _ics(role))
    assert result.harness_error is None
    verdicts = {r.case.id: r.outcome.verdict for r in result.results}
    mine = {c.id for c in cases if getattr(c, "role", "") == role}
    assert any("/restart/" in cid for cid in mine), role
    assert {verdicts[c] for c in mine} == {Verdict.PASS}, \
        {r.case.id: r.outcome for r in result.results if r.outcome.verdict is not Verdict.PASS}
    assert {v for c, v in verdicts.items() if c not in mine} == {Verdict.NOT_APPLICABLE}


def test_the_restart_cases_need_the_ixit_and_are_registered() -> None:
    ids = {c.id for c in all_node_cases()}
    restart = [c for c in header_number_cases() if "/restart/" in c.id]
    assert len(restart) == 2 and {c.id for c in restart} <= ids
    for case in restart:
        role = getattr(case, "role", "")
        assert case.not_applicable_reason(_ics(role)) is None
        assert case.not_applicable_reason(_ics(role, ixit=False))
