"""A partial run says so: report.json records what chose its cases (``selection``), and
the text summary, the HTML report and ``verify-evidence`` name it, so that a run of
one clause is never read as a run of the whole suite."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from juki_conformance.cli import main
from juki_conformance.html import render_html
from juki_conformance.model import Case
from juki_conformance.runner import choose, selection_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "juki_conformance" / "report.schema.json").read_text("utf-8"))


def _case(cid: str) -> Case:
    def never(sut: object) -> None:
        raise AssertionError("choosing cases runs none")
    return Case(id=cid, title=cid, clause=cid.split("/")[0], requirements=("R-PDU-01",),
                level="MUST", remediation="", mode="codec", run=never)  # type: ignore[arg-type]


def _selection_cell(html: str) -> str:
    """The content of the header's Cases cell, entities decoded."""
    found = re.search(r'<dd id="selection">(.*?)</dd>', html)
    assert found is not None, "the report has no Cases cell"
    return unescape(found.group(1))


SUITE = [_case(c) for c in ("codec/a", "codec/b", "9-1/node/x", "12-2/node/y")]


def test_the_whole_suite_is_recorded_as_whole() -> None:
    cases, selection = choose(SUITE, (), (), None)
    assert [c.id for c in cases] == [c.id for c in SUITE]
    assert selection == {"cases": [], "exclude": [], "caseList": None, "selected": 4,
                         "inSuite": 4, "whole": True}
    assert selection_text(selection) == ""


def test_globs_and_a_case_list_are_recorded_with_the_counts(tmp_path: Path) -> None:
    listed = tmp_path / "chosen.txt"
    listed.write_text("# two of them\ncodec/b\n12-2/node/y\n", encoding="utf-8")
    cases, selection = choose(SUITE, ("codec/*", "12-2/*"), ("codec/a",), str(listed))
    assert [c.id for c in cases] == ["codec/b", "12-2/node/y"]
    assert selection == {"cases": ["codec/*", "12-2/*"], "exclude": ["codec/a"],
                         "caseList": "chosen.txt", "selected": 2, "inSuite": 4,
                         "whole": False}
    assert selection_text(selection) == (
        "partial run: 2 of the suite's 4 cases (--cases codec/* --cases 12-2/* "
        "--exclude codec/a --case-list chosen.txt)")


def test_an_exclusion_alone_is_a_partial_run_even_when_it_matches_nothing() -> None:
    _, selection = choose(SUITE, (), ("nothing/*",), None)
    assert selection["whole"] is False and selection["selected"] == selection["inSuite"]
    assert selection_text(selection).startswith("partial run: 4 of the suite's 4 cases")


def test_zero_cases_is_an_error() -> None:
    with pytest.raises(ValueError, match="zero cases"):
        choose(SUITE, ("none/*",), (), None)


@pytest.fixture(scope="module")
def partial(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("partial")
    res = CliRunner().invoke(main, ["run", "--explore", "0", "--adapter",
                                    "python -m juki_protocol.tools.adapter", "--cases",
                                    "identifiers/codec/*", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return json.loads((out / "report.json").read_text(encoding="utf-8")), res.output


def test_a_partial_run_records_and_prints_its_selection(
        partial: tuple[dict[str, Any], str]) -> None:
    report, output = partial
    jsonschema.validate(report, SCHEMA)
    sel = report["selection"]
    assert sel["cases"] == ["identifiers/codec/*"] and sel["whole"] is False
    assert sel["selected"] == report["summary"]["total"] < sel["inSuite"]
    line = f"partial run: {sel['selected']} of the suite's {sel['inSuite']} cases " \
           f"(--cases identifiers/codec/*)"
    assert line in output
    html = render_html(report)
    assert _selection_cell(html) == f"<strong>{line}</strong>"


def test_the_html_report_of_a_whole_run_says_so(
        partial: tuple[dict[str, Any], str]) -> None:
    report = {**partial[0], "selection": {**partial[0]["selection"], "whole": True}}
    assert _selection_cell(render_html(report)) == "the whole suite"


def test_a_run_ended_by_sigterm_stops_the_nodes_it_launched(tmp_path: Path) -> None:
    # A supervisor (a CI timeout, the mutation command) ends a run with SIGTERM: the
    # run stops as on Ctrl-C, and no node it launched is left running.
    import os
    import secrets
    import signal
    import subprocess
    import sys
    import time

    mark = f"JUKI_TEST_MARK={secrets.token_hex(8)}".encode()

    def marked() -> list[str]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and mark in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(entry.name)
            except OSError:
                continue
        return found

    run = subprocess.Popen(
        [sys.executable, "-m", "juki_conformance.cli", "run", "--quiet", "--cases",
         "24-2/*/node/*", "--sut-env", mark.decode(),
         "--out", str(tmp_path / "out")], cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not marked() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marked(), "no node was launched"
        time.sleep(3)        # started and serving, its start-up lines read
        run.send_signal(signal.SIGTERM)
        run.wait(60)
    finally:
        if run.poll() is None:
            run.kill()
    time.sleep(0.5)
    left = marked()
    for pid in left:
        os.kill(int(pid), signal.SIGKILL)
    assert left == [], f"nodes left running after SIGTERM: {left}"
