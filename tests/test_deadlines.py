"""The deadlines the flows rely on are requirements of spec/deadlines.md, and the
reference's constants hold exactly the values written there (R-24-2-1-02, R-24-2-1-04,
R-TIME-01 to R-TIME-07)."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import re
from pathlib import Path

import pytest

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.samples import AWAY, HOME
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.machines.common import counter_ids
from juki_protocol.machines.special_move import PLAN_VALIDITY, AnnotatedMoveOut, MoveOutDesk
from juki_protocol.machines.stores import Register
from juki_protocol.messages.common import Address
from juki_protocol.tools.spec_tools import extract_requirements

SPEC = Path(__file__).resolve().parent.parent / "spec"
ROW = re.compile(r"\| (?P<id>R-[0-9A-Z-]+) \| (?P<n>[0-9]+) (?P<unit>day|hour|minute|second)s? "
                 r"\| `(?P<module>[a-z_.]+)\.(?P<name>[A-Z_]+)` \|")
UNITS = {"day": dt.timedelta(days=1), "hour": dt.timedelta(hours=1),
         "minute": dt.timedelta(minutes=1), "second": dt.timedelta(seconds=1)}


def rows() -> list[re.Match[str]]:
    text = (SPEC / "deadlines.md").read_text(encoding="utf-8")
    found = [m for line in text.splitlines() if (m := ROW.match(line))]
    assert len(found) >= 10, "the table of spec/deadlines.md was not found"
    return found


def spoken(n: str, unit: str) -> str:
    return f"{n} {unit}" + ("" if n == "1" else "s")


@pytest.mark.parametrize("row", rows(), ids=lambda m: f"{m['id']}-{m['name']}")
def test_constant_equals_the_value_in_the_spec(row: re.Match[str]) -> None:
    value = getattr(importlib.import_module(row["module"]), row["name"])
    want = int(row["n"]) * UNITS[row["unit"]]
    if isinstance(value, int):            # a count of days (MOVE_IN_DAYS)
        assert row["unit"] == "day" and value == int(row["n"])
    else:
        assert value == want, f"{row['module']}.{row['name']} is {value}, spec: {want}"


@pytest.mark.parametrize("row", rows(), ids=lambda m: f"{m['id']}-{m['name']}")
def test_requirement_states_the_value(row: re.Match[str]) -> None:
    reqs = {r.id: r for r in extract_requirements(SPEC)}
    assert row["id"] in reqs, f"{row['id']} is no requirement of spec/"
    assert spoken(row["n"], row["unit"]) in reqs[row["id"]].text


@pytest.mark.parametrize("row", rows(), ids=lambda m: f"{m['id']}-{m['name']}")
def test_constant_cites_its_requirement(row: re.Match[str]) -> None:
    source = inspect.getsource(importlib.import_module(row["module"]))
    lines = source.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{row['name']} = "))
    comment = "\n".join(lines[max(0, at - 3):at])
    assert row["id"] in comment, f"{row['name']} does not cite {row['id']} in its comment"


# R-24-2-1-04 in behaviour: the plan is on file for exactly 30 days -------------------

NEW = Address(local_gov_code=AWAY, text="東京都千代田区千代田一丁目1番1号")


def desk_with(planned: dt.date, now: dt.datetime) -> MoveOutDesk:
    people = generate_households(1, "deadlines", municipalities=[HOME])[0].members
    desk = MoveOutDesk(Register(HOME, list(people)), ids=counter_ids(1))
    desk.annotated_move_out(AnnotatedMoveOut(movers=(people[0].resident_code,),
                                             destination=NEW, planned_move_date=planned),
                            now)
    return desk


def test_plan_recorded_until_its_validity_ends() -> None:
    planned = dt.date(2026, 3, 1)
    last = dt.datetime.combine(planned, dt.time(0), tzinfo=dt.UTC) + PLAN_VALIDITY
    desk_with(planned, last - dt.timedelta(seconds=1))
    with pytest.raises(JukiError) as exc:
        desk_with(planned, last)
    assert exc.value.error_code is ErrorCode.DEADLINE_PASSED
