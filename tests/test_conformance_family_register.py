"""juki-conformance in node mode on Art. 9(2) (spec/family_register.md): the reference
municipality passes every case on both sides of the notice, and each faulty
municipality of ``juki_conformance.selftest.faulty_family_register`` fails exactly the
cases that should catch it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_family_register import family_register_cases
from juki_conformance.cli import all_node_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import run_cases
from juki_conformance.selftest.faulty_family_register import EXPECTED, FAULTS, command
from juki_protocol.tools.spec_tools import extract_requirements

ICS = {"implementation": {"name": "reference node", "version": "0.1.0"},
       "role": "municipality", "profiles": ["current"], "modes": ["node"],
       "limits": REFERENCE_LIMITS, "localPurposes": REFERENCE_LOCAL_PURPOSES,
       "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"},
                "faultInjection": {"method": "upperTester"}}}


def _verdicts(fault: str | None, reverse: bool = False) -> dict[str, tuple[Verdict, str]]:
    sut = NodeSut(command(fault) if fault else None, role="municipality", timeout=5)
    cases = family_register_cases()
    result = run_cases(list(reversed(cases)) if reverse else cases, sut, ics_mod.parse(ICS))
    return {r.case.id: (r.outcome.verdict, f"{r.outcome.actual} {r.outcome.detail}")
            for r in result.results}


def test_reference_and_faulty_municipalities() -> None:
    runs: list[str | None] = [None, *FAULTS]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        results = dict(zip(runs, pool.map(_verdicts, runs), strict=True))
    reference = results[None]
    assert set(reference) == {c.id for c in family_register_cases()}
    for cid, (verdict, actual) in reference.items():
        assert verdict is Verdict.PASS, (cid, verdict, actual)
    for fault, expected in EXPECTED.items():
        got = results[fault]
        failed = {cid for cid, (v, _) in got.items() if v is Verdict.FAIL}
        assert failed == set(expected), (fault, got)
        others = {v for cid, (v, _) in got.items() if cid not in expected}
        assert others <= {Verdict.PASS}, (fault, got)


def test_the_cases_run_in_any_order() -> None:
    got = _verdicts(None, reverse=True)
    assert {cid: v for cid, (v, _) in got.items()} == \
        {c.id: Verdict.PASS for c in family_register_cases()}, got


def test_cases_are_listed_cite_known_requirements_and_cover_both_sides() -> None:
    ids = {c.id for c in all_node_cases()}
    known = {r.id for r in extract_requirements()}
    cases = family_register_cases()
    assert {c.id for c in cases} <= ids
    assert any("/residence/" in c.id for c in cases)
    assert any("/register/" in c.id for c in cases)
    for case in cases:
        assert set(case.requirements) <= known, case.id
        assert case.not_applicable_reason(ics_mod.parse({**ICS, "role": "prefecture"}))
    cited = {r for c in cases for r in c.requirements}
    assert {f"R-9-2-{n:02d}" for n in range(1, 11)} - {"R-9-2-02"} <= cited
    assert set(EXPECTED) == set(FAULTS)
    for names in EXPECTED.values():
        assert names and set(names) <= {c.id for c in cases}
