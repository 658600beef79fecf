"""juki-conformance in node mode against the national centre (DC01): the reference
centre passes every national case, and each faulty centre of
``juki_conformance.selftest.faulty_national`` fails exactly the cases that should catch it
(spec/node.md section 4.3)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_national import national_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import run_cases
from juki_conformance.selftest.faulty_national import EXPECTED, FAULTS, command

ICS = {"implementation": {"name": "reference node", "version": "0.1.0"},
       "role": "national", "profiles": ["current"], "modes": ["node"],
       "limits": REFERENCE_LIMITS, "localPurposes": REFERENCE_LOCAL_PURPOSES,
       "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"},
                "faultInjection": {"method": "upperTester"}}}
#: Where the reference centre takes the other way the spec allows (spec/node.md 4.3):
#: it checks a prefectural organ's purpose before the legal basis, and finds a legal
#: basis that cannot serve the body's kind while decoding, answering 3012 in an error
#: report.
REFERENCE_ACCEPTABLE = {"30-10/node/provision/body-of-wrong-kind-refused"}


def _verdicts(fault: str | None) -> dict[str, tuple[Verdict, str]]:
    sut = NodeSut(command(fault) if fault else None, role="national")
    result = run_cases(national_cases(), sut, ics_mod.parse(ICS))
    assert result.harness_error is None, (fault, result.harness_error)
    return {r.case.id: (r.outcome.verdict, r.outcome.actual) for r in result.results}


def test_reference_and_faulty_centres() -> None:
    # The nodes are independent processes, each with its own PKI: run them side by side.
    runs: list[str | None] = [None, *FAULTS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(runs, pool.map(_verdicts, runs), strict=True))
    reference = results[None]
    assert set(reference) == {c.id for c in national_cases()}
    for cid, (verdict, actual) in reference.items():
        wanted = Verdict.ACCEPTABLE if cid in REFERENCE_ACCEPTABLE else Verdict.PASS
        assert verdict is wanted, (cid, verdict, actual)
    for fault, expected in EXPECTED.items():
        got = results[fault]
        failed = {cid for cid, (v, _) in got.items() if v is Verdict.FAIL}
        assert failed == set(expected), (fault, got)
        # Every other case gives the reference's verdict.
        others = {cid: v for cid, (v, _) in got.items() if cid not in expected}
        assert others == {cid: reference[cid][0] for cid in others}, (fault, got)


def test_national_cases_apply_only_to_a_national_centre() -> None:
    for role in ("prefecture", "municipality", "agency"):
        ics = ics_mod.parse({**ICS, "role": role})
        assert all(c.not_applicable_reason(ics) for c in national_cases())
    ics = ics_mod.parse(ICS)
    assert all(c.not_applicable_reason(ics) is None for c in national_cases())


def test_without_restart_or_local_purposes_their_cases_are_not_applicable() -> None:
    ics = ics_mod.parse({**ICS, "ixit": {}, "localPurposes": {}})
    needing = {c.id for c in national_cases() if getattr(c, "needs", "")}
    assert needing == {"30-11/node/restart/relay-numbering-continues",
                       "30-10/node/provision/body-of-wrong-kind-refused"}
    assert all(c.not_applicable_reason(ics) for c in national_cases() if c.id in needing)


def test_every_fault_is_expected_to_fail_a_case_and_every_case_is_caught() -> None:
    ids = {c.id for c in national_cases()}
    assert set(EXPECTED) == set(FAULTS)
    for cases in EXPECTED.values():
        assert cases and set(cases) <= ids
    assert {cid for cases in EXPECTED.values() for cid in cases} == ids
