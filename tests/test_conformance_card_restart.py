"""The card cases across restarts, failed commits and resends
(juki_conformance/cases_node_card_restart.py) can fail: a municipality that keeps its
cards in memory only (juki_conformance/selftest/faulty_register.py,
``forgets-cards-on-restart``) fails each restart case. That the reference passes them
all is checked by the default run of tests/test_conformance_node.py."""

from __future__ import annotations

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_card_restart import card_restart_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Case, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import run_cases
from juki_conformance.selftest.faulty_register import command


def _ics(role: str) -> ics_mod.Ics:
    return ics_mod.parse({
        "implementation": {"name": "reference node", "version": "0.1.0"},
        "role": role, "profiles": ["current"], "modes": ["node"],
        "limits": REFERENCE_LIMITS, "localPurposes": REFERENCE_LOCAL_PURPOSES,
        "ixit": {"restart": {"method": "process"}, "clock": {"method": "upperTester"},
                 "faultInjection": {"method": "upperTester"}}})


def _of(role: str) -> list[Case]:
    return [c for c in card_restart_cases() if getattr(c, "role", "") == role]


def test_a_municipality_forgetting_its_cards_fails_each_restart_case() -> None:
    cases = [c for c in _of("municipality") if c.id.startswith("card/node/restart/")]
    result = run_cases(cases, NodeSut(command("forgets-cards-on-restart"), timeout=2,
                                      role="municipality"), _ics("municipality"))
    assert result.harness_error is None
    failed = {r.case.id for r in result.results if r.outcome.verdict is Verdict.FAIL}
    assert failed == {c.id for c in cases}, {r.case.id: r.outcome for r in result.results}
