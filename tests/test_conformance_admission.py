"""juki-conformance admission cases (spec/node.md section 6, R-NODE-46, R-NODE-47): the
reference prefecture passes each, each faulty node of
``juki_conformance.selftest.faulty_admission`` fails exactly the cases that should catch
it, a case whose bound is not declared is not applicable, and ``juki node serve`` takes
the defaults of its limits from NodeConfig."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_admission import admission_cases
from juki_conformance.ics import REFERENCE_LIMITS, REFERENCE_LOCAL_PURPOSES
from juki_conformance.model import Verdict
from juki_conformance.node_layout import LIMIT_OPTIONS
from juki_conformance.node_sut import REFERENCE_IXIT, NodeSut
from juki_conformance.runner import RunResult, run_cases
from juki_conformance.selftest.faulty_admission import EXPECTED, FAULTS, command
from juki_protocol.node.node import NodeConfig
from juki_protocol.tools.cli_node import serve


def _ics(limits: dict[str, float] = REFERENCE_LIMITS) -> ics_mod.Ics:
    return ics_mod.parse({
        "implementation": {"name": "reference node", "version": "0.1.0"},
        "role": "prefecture", "profiles": ["current"], "modes": ["node"],
        "limits": limits, "localPurposes": REFERENCE_LOCAL_PURPOSES,
        "ixit": REFERENCE_IXIT})


def _verdicts(result: RunResult) -> dict[str, Verdict]:
    return {r.case.id: r.outcome.verdict for r in result.results}


def test_the_reference_passes_every_admission_case() -> None:
    result = run_cases(admission_cases(), NodeSut(timeout=5), _ics())
    assert result.harness_error is None
    assert set(_verdicts(result).values()) == {Verdict.PASS}, \
        {r.case.id: r.outcome for r in result.results}


@pytest.mark.parametrize("limit", ["maxHandshakes", "knownReserve", "maxConnections",
                                   "maxAddressHandshakes"])
def test_a_case_whose_bound_is_not_declared_is_not_applicable(limit: str) -> None:
    limits = {k: v for k, v in REFERENCE_LIMITS.items() if k != limit}
    reasons = {c.id: c.not_applicable_reason(_ics(limits)) for c in admission_cases()}
    assert any(reasons.values()), limit
    assert all(c.not_applicable_reason(_ics()) is None for c in admission_cases())


def test_the_admission_bounds_are_declared_limits_of_the_runner() -> None:
    assert {"maxHandshakes": "--max-handshakes", "knownReserve": "--known-reserve",
            "maxConnections": "--max-connections"}.items() <= LIMIT_OPTIONS.items()
    assert set(REFERENCE_LIMITS) <= set(LIMIT_OPTIONS)
    with pytest.raises(ValueError, match="knownReserve"):
        _ics({**REFERENCE_LIMITS, "knownReserve": 0})      # R-NODE-46: a reserve


def test_serve_takes_the_defaults_of_its_limits_from_node_config() -> None:
    defaults: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(NodeConfig)}
    options = {p.name: p.default for p in serve.params}
    for name in ("max_connections", "max_peer_connections", "max_handshakes",
                 "max_address_handshakes", "known_reserve", "handshake_rate",
                 "max_refusals", "max_inflight", "handshake_timeout", "frame_timeout",
                 "idle_timeout", "send_window", "crl_reload_interval"):
        assert options[name] == defaults[name], name
    assert options["retention_days"] == defaults["retention"].days


def test_every_fault_is_expected_to_fail_a_case() -> None:
    ids = {c.id for c in admission_cases()}
    assert set(EXPECTED) == set(FAULTS)
    assert all(EXPECTED[f] and set(EXPECTED[f]) <= ids for f in FAULTS)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_faulty_node_fails_exactly_its_cases(fault: str) -> None:
    result = run_cases(admission_cases(), NodeSut(command(fault), timeout=2), _ics())
    assert result.harness_error is None
    verdicts = _verdicts(result)
    failed = {cid for cid, v in verdicts.items() if v is Verdict.FAIL}
    assert failed == set(EXPECTED[fault]), {r.case.id: r.outcome for r in result.results
                                            if r.outcome.verdict is not Verdict.PASS}
    assert set(verdicts.values()) <= {Verdict.PASS, Verdict.FAIL}
