"""juki-conformance in node mode against an agency (AG0001): the reference agency passes
every agency case, and each faulty agency of ``juki_conformance.selftest.faulty_agency``
fails exactly the cases that should catch it (spec/node.md section 4.4)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_agency import agency_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import run_cases
from juki_conformance.selftest.faulty_agency import EXPECTED, FAULTS, command

ICS = {"implementation": {"name": "reference node", "version": "0.1.0"},
       "role": "agency", "profiles": ["current"], "modes": ["node"],
       "limits": REFERENCE_LIMITS, "localPurposes": REFERENCE_LOCAL_PURPOSES,
       "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"},
                "faultInjection": {"method": "upperTester"}}}
#: What the reference agency does after 9002: it ends the request as failed, which the
#: spec allows (R-30-7-3-23), so that case is acceptable rather than pass.
REFERENCE_ACCEPTABLE = {"30-7/node/agency/resent-or-failed-after-overloaded"}


def _verdicts(fault: str | None) -> dict[str, tuple[Verdict, str]]:
    sut = NodeSut(command(fault) if fault else None, role="agency")
    result = run_cases(agency_cases(), sut, ics_mod.parse(ICS))
    return {r.case.id: (r.outcome.verdict, r.outcome.actual) for r in result.results}


def test_reference_and_faulty_agencies() -> None:
    # The nodes are independent processes, each with its own PKI and listeners: run
    # them side by side to keep the test short.
    runs: list[str | None] = [None, *FAULTS]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        results = dict(zip(runs, pool.map(_verdicts, runs), strict=True))
    reference = results[None]
    assert set(reference) == {c.id for c in agency_cases()}
    for cid, (verdict, actual) in reference.items():
        wanted = Verdict.ACCEPTABLE if cid in REFERENCE_ACCEPTABLE else Verdict.PASS
        assert verdict is wanted, (cid, verdict, actual)
    for fault, expected in EXPECTED.items():
        got = results[fault]
        failed = {cid for cid, (v, _) in got.items() if v is Verdict.FAIL}
        assert failed == set(expected), (fault, got)
        others = {v for cid, (v, _) in got.items() if cid not in expected}
        assert others <= {Verdict.PASS, Verdict.ACCEPTABLE, Verdict.NOT_APPLICABLE}, \
            (fault, got)


def test_agency_cases_apply_only_to_an_agency() -> None:
    ics = ics_mod.parse({**ICS, "role": "prefecture"})
    for case in agency_cases():
        assert case.not_applicable_reason(ics) is not None
        assert case.not_applicable_reason(ics_mod.parse(ICS)) is None


def test_every_fault_is_expected_to_fail_a_case() -> None:
    ids = {c.id for c in agency_cases()}
    assert set(EXPECTED) == set(FAULTS)
    for cases in EXPECTED.values():
        assert cases and set(cases) <= ids
