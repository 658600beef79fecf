"""juki-conformance in node mode against a municipality (271004) on both sides of the
flows between municipalities (spec/node.md section 4.5): the reference municipality
passes every flow case, and each faulty municipality of
``juki_conformance.selftest.faulty_flows`` fails exactly the cases that should catch it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_flows import flow_cases
from juki_conformance.cli import all_node_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import run_cases
from juki_conformance.selftest.faulty_flows import EXPECTED, FAULTS, command

ICS = {"implementation": {"name": "reference node", "version": "0.1.0"},
       "role": "municipality", "profiles": ["current"], "modes": ["node"],
       "limits": REFERENCE_LIMITS, "localPurposes": REFERENCE_LOCAL_PURPOSES,
       "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"},
                "faultInjection": {"method": "upperTester"}}}


def _verdicts(fault: str | None) -> dict[str, tuple[Verdict, str]]:
    sut = NodeSut(command(fault) if fault else None, role="municipality", timeout=5)
    result = run_cases(flow_cases(), sut, ics_mod.parse(ICS))
    return {r.case.id: (r.outcome.verdict, r.outcome.actual) for r in result.results}


def test_reference_and_faulty_municipalities() -> None:
    # The nodes are independent processes, each with its own PKI and listeners: run
    # them side by side to keep the test short.
    runs: list[str | None] = [None, *FAULTS]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        results = dict(zip(runs, pool.map(_verdicts, runs), strict=True))
    reference = results[None]
    assert set(reference) == {c.id for c in flow_cases()}
    for cid, (verdict, actual) in reference.items():
        assert verdict is Verdict.PASS, (cid, verdict, actual)
    for fault, expected in EXPECTED.items():
        got = results[fault]
        failed = {cid for cid, (v, _) in got.items() if v is Verdict.FAIL}
        assert failed == set(expected), (fault, got)
        others = {v for cid, (v, _) in got.items() if cid not in expected}
        assert others <= {Verdict.PASS}, (fault, got)


def test_the_flow_cases_run_in_any_order() -> None:
    # Reversed, against one node: each case numbers from what the node holds and
    # closes the flows it opens.
    sut = NodeSut(role="municipality", timeout=5)
    result = run_cases(list(reversed(flow_cases())), sut, ics_mod.parse(ICS))
    assert {r.case.id: r.outcome.verdict for r in result.results} == \
        {c.id: Verdict.PASS for c in flow_cases()}, \
        [(r.case.id, r.outcome.actual, r.outcome.detail) for r in result.results]


def test_flow_cases_apply_only_to_a_municipality() -> None:
    ids = {c.id for c in all_node_cases()}
    for case in flow_cases():
        assert case.id in ids
        assert case.not_applicable_reason(ics_mod.parse({**ICS, "role": "prefecture"}))
        assert case.not_applicable_reason(ics_mod.parse(ICS)) is None


def test_every_fault_is_expected_to_fail_a_case() -> None:
    ids = {c.id for c in flow_cases()}
    assert set(EXPECTED) == set(FAULTS)
    for cases in EXPECTED.values():
        assert cases and set(cases) <= ids
