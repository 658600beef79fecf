"""``juki audit analyse`` (spec/node.md section 4.9): the scripted misuse scenario on
the demo network is found and its normal traffic is not; each pattern on its own;
thresholds from a file; the report names no person."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from node_helpers import run

from juki_protocol.errors import JukiError
from juki_protocol.tools.audit_analyse import Action, Thresholds, analyse
from juki_protocol.tools.cli_node import main
from juki_protocol.tools.misuse_scenario import run_scenario

T0 = dt.datetime(2030, 1, 7, 1, 0, tzinfo=dt.UTC)        # Monday 10:00 in Japan


def _act(minutes: float, *, place: str = "AG0001", operator: str = "op-1",
         action: str = "provision_request", ok: bool = True, persons: int = 1,
         start: dt.datetime = T0) -> Action:
    return Action(at=start + dt.timedelta(minutes=minutes), place=place,
                  operator=operator, action=action, ok=ok,
                  result="accepted" if ok else "3011 PURPOSE_NOT_ALLOWED", persons=persons)


def test_the_night_sweep_is_found_and_the_normal_day_is_not(tmp_path: Path) -> None:
    lines: list[str] = []
    day, night = run(run_scenario(tmp_path, lines.append), timeout=120)
    assert day["findings"] == [], day["findings"]
    assert day["actions"] > 50
    mine = {f["pattern"]: f for f in night["findings"] if f["operator"] == "op-1"}
    assert {"sweep", "out-of-hours", "volume"} <= set(mine), night["findings"]
    assert all(f["place"] == "AG0001" for f in mine.values())
    assert mine["sweep"]["count"] >= 50
    assert not [f for f in night["findings"] if f["operator"] != "op-1"]
    # The CLI reads the same databases (read-only): exit 1, JSON a supervisor reads,
    # and no resident code anywhere in the report.
    dbs = sorted(str(p) for p in tmp_path.glob("*.db"))
    result = CliRunner().invoke(main, ["audit", "analyse", *dbs, "--json"])
    assert result.exit_code == 1, result.output
    rep = json.loads(result.output)
    assert {f["pattern"] for f in rep["findings"]} >= {"sweep", "volume", "out-of-hours"}
    text = CliRunner().invoke(main, ["audit", "analyse", *dbs])
    assert "sweep" in text.output and "op-1 at AG0001" in text.output
    for out in (result.output, text.output, "\n".join(lines)):
        assert not re.search(r"\b\d{11}\b", out)


def test_each_pattern_alone() -> None:
    normal = [_act(40 * i) for i in range(10)]
    assert analyse(normal) == []
    refused = normal + [_act(500 + i, ok=False) for i in range(5)]
    assert [f.pattern for f in analyse(refused)] == ["refusals"]
    assert [f.pattern for f in analyse(normal + [_act(500 + i, ok=False)
                                                 for i in range(4)])] == []
    late = [*normal, _act(13 * 60)]                  # 23:00 in Japan
    assert [(f.pattern, f.count) for f in analyse(late)] == [("out-of-hours", 1)]
    both = normal + [_act(41 * i + 5, place="271004", operator="op-1") for i in range(2)]
    found = analyse(both)
    assert [f.pattern for f in found] == ["two-places"]
    assert found[0].place == "271004+AG0001"
    wide = normal + [_act(300 + i, persons=10) for i in range(5)]
    assert [f.pattern for f in analyse(wide)] == ["sweep"]
    busy = normal + [_act(300 + i / 10) for i in range(25)]
    assert [f.pattern for f in analyse(busy)] == ["volume"]
    # Recording many residents is not a sweep of lookups.
    assert analyse(normal + [_act(300 + i / 10, action="record_resident", persons=1)
                             for i in range(80)]) == []


def test_thresholds_come_from_a_file_and_bad_ones_are_named(tmp_path: Path) -> None:
    t = Thresholds.from_json({"businessStart": "00:00", "businessEnd": "23:59",
                              "businessDays": ["mon", "tue", "wed", "thu", "fri", "sat",
                                               "sun"], "refusalRun": 2})
    late = [_act(13 * 60), _act(13 * 60 + 1, ok=False), _act(13 * 60 + 2, ok=False)]
    assert [f.pattern for f in analyse(late, t)] == ["refusals"]
    for bad, word in (({"sweepPersons": 0}, "sweepPersons"), ({"nope": 1}, "nope"),
                      ({"utcOffset": "JST"}, "utcOffset"),
                      ({"businessDays": ["monday"]}, "businessDays")):
        with pytest.raises(JukiError, match=word):
            Thresholds.from_json(bad)
    config = tmp_path / "t.json"
    config.write_text(json.dumps({"sweepPersons": "x"}))
    result = CliRunner().invoke(main, ["audit", "analyse", str(config), "--config",
                                       str(config)])
    assert result.exit_code != 0 and "sweepPersons" in result.output
