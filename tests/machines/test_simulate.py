"""``juki simulate FLOW`` runs and masks personal data."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from juki_protocol.machines.cli_simulate import simulate
from juki_protocol.samples import HOME
from juki_protocol.synth import generate_households


@pytest.mark.parametrize("flow", ["wide-area", "identity-update", "card", "special-move",
                                  "provision"])
def test_simulate_runs_and_masks(flow: str) -> None:
    result = CliRunner().invoke(simulate, [flow, "--seed", "1"])
    assert result.exit_code == 0, result.output
    person = generate_households(1, "sim:1", municipalities=[HOME])[0].members[0]
    assert person.resident_code not in result.output
    assert person.name.kanji not in result.output


@pytest.mark.parametrize("flow, final", [
    ("special-move", "new municipality: done; former municipality: finalised"),
    ("provision", "request 1: done"),
])
def test_new_flows_complete(flow: str, final: str) -> None:
    result = CliRunner().invoke(simulate, [flow, "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert final in result.output


def test_unknown_flow_fails_clearly() -> None:
    result = CliRunner().invoke(simulate, ["teleport"])
    assert result.exit_code != 0 and "teleport" in result.output
