"""spec/machines.md is generated from the tables and must not drift."""

from __future__ import annotations

from pathlib import Path

from juki_protocol.machines import diagrams
from juki_protocol.machines.card import CARD_TABLE


def test_spec_is_current() -> None:
    assert diagrams.check() == []


def test_check_detects_drift(tmp_path: Path) -> None:
    target = tmp_path / "machines.md"
    assert diagrams.check(target)            # missing
    diagrams.generate(target)
    assert diagrams.check(target) == []
    target.write_text(target.read_text(encoding="utf-8").replace("LOCKED", "LOCKT"),
                      encoding="utf-8")
    assert diagrams.check(target)


def test_every_row_is_drawn() -> None:
    text = diagrams.render()
    for (state, inp), (action, nxt) in CARD_TABLE.rows.items():
        label = f"{inp.name} / {action.name}" if action else inp.name
        assert f"{state.name} --> {nxt.name}: {label}" in text
