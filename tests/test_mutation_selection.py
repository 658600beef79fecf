"""juki-conformance mutation's selection of cases: the control run's coverage tied to the
cases that made the SUT run each line, and what a mutant of a line runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from juki_conformance import mutation
from juki_conformance import mutation_selection as sel
from juki_conformance.cli import main
from juki_conformance.runner import Timeline

GROUPS = {"codec": ("c1", "c2", "c3"), "node:prefecture": ("p1", "p2", "p3", "p4")}


def _coverage(lines: dict[str, set[int]]) -> sel.CaseCoverage:
    """Module ``m.py`` with each key executing the given lines."""
    return sel.CaseCoverage(GROUPS, {"m.py": {k: sum(1 << n for n in v)
                                              for k, v in lines.items()}})


def test_the_selection_holds_every_case_that_ran_the_line_and_those_after_it() -> None:
    cov = _coverage({"case:c2": {5}, "case:p2": {5, 7}, "case:p4": {7}, "case:p3": {9}})
    assert cov.executing("m.py", 5) == ["c2", "p2"]
    # From the first case that ran it, to the end of that SUT's group: state it left
    # may fail a later case of the same SUT; another SUT's cases are left out.
    assert cov.selection("m.py", 5) == ["c2", "c3", "p2", "p3", "p4"]
    assert cov.selection("m.py", 7) == ["p2", "p3", "p4"]
    assert cov.selection("m.py", 9) == ["p3", "p4"]
    assert cov.selection("m.py", 11) == [] and cov.executing("m.py", 11) == []
    assert cov.executed("m.py") == {5, 7, 9}


def test_a_line_run_as_a_sut_starts_selects_its_group_and_one_run_nowhere_all() -> None:
    cov = _coverage({"group:node:prefecture": {3}, "case:c1": {3}, sel.EVERYTHING: {4}})
    assert cov.selection("m.py", 3) == ["c1", "c2", "c3", "p1", "p2", "p3", "p4"]
    assert cov.selection("m.py", 4) is None
    assert cov.executing("m.py", 4) == cov.order()


def test_a_kill_needs_the_reference_check_only_when_earlier_cases_were_left_out() -> None:
    # p3 failed in a run of p2..p4: p1 ran before it on the same node and was left out.
    assert sel.drops_earlier(GROUPS, ["p2", "p3", "p4"], ["p3"])
    assert not sel.drops_earlier(GROUPS, ["c1", "c2", "c3", "p3", "p4"], ["c2"])
    assert not sel.drops_earlier(GROUPS, ["p1", "p2"], ["p1", "p2"])
    assert sel.drops_earlier(GROUPS, ["c1", "c3"], ["c3"])


def test_slices_are_tied_to_every_mark_they_overlap() -> None:
    marks = [sel.Mark(10.0, "codec", "start", ""), sel.Mark(11.0, "codec", "case", "c1"),
             sel.Mark(12.0, "codec", "case", "c2"), sel.Mark(13.0, "codec", "stop", ""),
             sel.Mark(14.0, "", "end", "")]
    assert sel.keys_between(marks, 11.2, 11.3) == {"case:c1"}
    assert sel.keys_between(marks, 11.95, 12.01) == {"case:c1", "case:c2"}
    assert sel.keys_between(marks, 11.9, 11.95, 0.1) == {"case:c1", "case:c2"}
    assert sel.keys_between(marks, 10.5, 10.6) == {"group:codec"}
    assert sel.keys_between(marks, 13.5, 13.6) == {"group:codec"}
    # A slice that reaches past the end only by its margin ran before it ...
    assert sel.keys_between(marks, 13.95, 13.99, 0.1) == {"group:codec"}
    # ... but one that starts outside every span is the whole suite's.
    assert sel.keys_between(marks, 14.5, 14.6) == {sel.EVERYTHING}
    assert sel.keys_between(marks, 9.0, 9.1) == {sel.EVERYTHING}


def _process(tree: Path, call: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree),
           "COVERAGE_PROCESS_START": str(tree / "coveragerc")}
    subprocess.run([sys.executable, "-c", f"import juki_protocol.m as m; {call}"],
                   env=env, cwd=tree, check=True, timeout=60)


def test_what_sut_processes_run_is_tied_to_the_case_the_runner_was_in(
        tmp_path: Path) -> None:
    """Real processes under the control's coverage.py setup, at marked times: each
    line is tied to the case during which a process ran it."""
    tree = tmp_path / "tree"
    (tree / "juki_protocol").mkdir(parents=True)
    (tree / "juki_protocol" / "__init__.py").write_text("", encoding="utf-8")
    (tree / "juki_protocol" / "m.py").write_text(
        "def first():\n    return 1\n\n\ndef second():\n    return 2\n", encoding="utf-8")
    args = sel.coverage_setup(tree)
    assert args[-2:] == ["--timeline", str(tree / "timeline")]
    timeline = Timeline(tree / "timeline")
    timeline.mark("codec", "start", "")
    time.sleep(0.3)
    timeline.mark("codec", "case", "a")
    time.sleep(0.3)               # clear of the margin around each mark
    _process(tree, "m.first()")
    time.sleep(0.3)
    timeline.mark("codec", "case", "b")
    time.sleep(0.3)
    _process(tree, "m.second()")
    time.sleep(0.3)
    timeline.mark("codec", "stop", "")
    timeline.mark("", "end", "")
    cov = sel.read_case_coverage(tree)
    assert cov.groups == {"codec": ("a", "b")}
    assert cov.executing("m.py", 2) == ["a"]
    assert cov.executing("m.py", 6) == ["b"]
    assert cov.selection("m.py", 2) == ["a", "b"] and cov.selection("m.py", 6) == ["b"]
    # The module's own lines run at import, in both cases' processes.
    assert cov.executing("m.py", 1) == ["a", "b"]


def test_run_takes_a_case_list_and_writes_its_timeline(tmp_path: Path) -> None:
    ids = ["der/codec/robustness/one-octet", "der/codec/robustness/random-1"]
    listed = tmp_path / "cases.txt"
    listed.write_text(f"# two cases\n{ids[1]}\n{ids[0]}\nno/such/case\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "run", "--quiet", "--cases", "der/*", "--case-list", str(listed),
        "--timeline", str(tmp_path / "timeline"), "--out", str(out)])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    ran = [c["id"] for c in report["cases"]]
    assert result.exit_code == 0, result.output
    assert sorted(ran) == sorted(ids) and len(ran) == 2
    marks = sel.read_timeline(tmp_path / "timeline")
    assert [(m.group, m.kind) for m in marks] == [
        ("codec", "start"), ("codec", "case"), ("codec", "case"), ("codec", "stop"),
        ("", "end")]
    assert [m.case for m in marks if m.kind == "case"] == ran


def test_a_kill_is_confirmed_only_when_the_failing_cases_fail_again(tmp_path: Path) -> None:
    """The confirmation keeps the run's own --cases globs: an unmutated copy passes a
    case said to have failed, so that "kill" is unconfirmed."""
    tree = mutation._copy_package(mutation.package_root(), tmp_path / "copy")
    failing = [{"id": "der/codec/robustness/one-octet", "requirements": [], "verdict": "fail"}]
    status = mutation._confirm(tree, tmp_path / "confirm", failing,
                               ["--cases", "der/*"], 120)
    assert status == "unconfirmed"
