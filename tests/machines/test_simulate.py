"""``juki simulate FLOW`` runs and masks personal data."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from juki_protocol.fixtures.samples import HOME
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.tools.cli_simulate import SIMULATED, simulate


@pytest.mark.parametrize("flow", ["wide-area", "identity-update", "card", "special-move",
                                  "ordinary-move", "provision"])
def test_simulate_runs_and_masks(flow: str) -> None:
    result = CliRunner().invoke(simulate, [flow, "--seed", "1"])
    assert result.exit_code == 0, result.output
    person = generate_households(1, "sim:1", municipalities=[HOME])[0].members[0]
    assert person.resident_code not in result.output
    assert person.name.kanji not in result.output


@pytest.mark.parametrize("flow, final", [
    ("special-move", "new municipality: done; former municipality: finalised"),
    ("ordinary-move", "new municipality: done; former municipality: finalised"),
    ("provision", "request 1: done"),
])
def test_new_flows_complete(flow: str, final: str) -> None:
    result = CliRunner().invoke(simulate, [flow, "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert final in result.output


def test_unknown_flow_fails_clearly() -> None:
    result = CliRunner().invoke(simulate, ["teleport"])
    assert result.exit_code != 0 and "teleport" in result.output


def test_list_names_every_flow_with_its_article() -> None:
    result = CliRunner().invoke(simulate, ["--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == list(SIMULATED)
    assert all("Art" in line for line in lines)
    assert any(line.startswith("ordinary-move") and "9(1)" in line for line in lines)


def test_ordinary_move_reports_both_updates() -> None:
    """Art. 9(1) then Art. 30-5 at both ends: a record at the new municipality, an
    erasure at the former one."""
    out = CliRunner().invoke(simulate, ["ordinary-move"]).output
    assert "131016 :: event residents_recorded" in out
    assert "271004 :: event move_out_finalised" in out
    assert "271004 -> 270008   IdentityInfoUpdate" in out
