"""The reports as CI tools read them (issue 15 item 4): JUnit parsed by a real JUnit
library (junitparser), grouped by clause, with suite time, timestamp, host, failure
types and requirement properties; acceptable cases marked; the SUT named exactly in
report.json and the HTML; a failing node case's capture linked from JUnit and HTML."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from junitparser import Error, Failure, Skipped
from junitparser.xunit2 import JUnitXml

from juki_conformance.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["run", "--quiet", "--explore", "0", *args])
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Codec cases against an adapter that accepts any resident code: some fail, most
    pass, some are acceptable."""
    out = tmp_path_factory.mktemp("junit")
    adapter = f"{sys.executable} -m juki_conformance.selftest.faulty_adapter " \
              f"--fault accept-any-resident-code"
    code, output = _run("--adapter", adapter, "--cases", "*/codec/*", "--out", str(out))
    assert code == 1, output
    return out


def test_junit_parses_groups_by_clause_and_carries_requirements(faulty_run: Path) -> None:
    report = json.loads((faulty_run / "report.json").read_text("utf-8"))
    xml = JUnitXml.fromfile(str(faulty_run / "junit.xml"))
    suites = list(xml)
    clauses = {c["clause"] for c in report["cases"]}
    assert {s.name for s in suites} == clauses, "one testsuite per clause"
    assert sum(s.tests for s in suites) == report["summary"]["total"]
    assert xml.tests == report["summary"]["total"]
    failed = [c for c in report["cases"] if c["verdict"] == "fail"]
    assert failed and sum(s.failures for s in suites) == len(failed)
    assert xml.time > 0 and xml.failures == len(failed)
    by_id = {c["id"]: c for c in report["cases"]}
    host = socket.gethostname()
    seen_acceptable = 0
    for suite in suites:
        assert suite.timestamp and suite.hostname == host and suite.time >= 0
        props = {p.name: p.value for p in suite.properties()}
        assert props["suite.version"] == report["suite"]["version"]
        assert props["sut"], "the suite names the SUT"
        for case in suite:
            c = by_id[case.name]
            assert case.classname == f"juki.{c['clause']}", "CI tools group by classname"
            reqs = [p.value for p in case.properties() if p.name == "requirement"]
            assert reqs == c["requirements"]
            verdict = next(p.value for p in case.properties() if p.name == "verdict")
            assert verdict == c["verdict"]
            results = case.result
            if c["verdict"] == "fail":
                assert len(results) == 1 and isinstance(results[0], Failure)
                assert results[0].type == c["requirements"][0]
                assert c["expected"] in results[0].message
            elif c["verdict"] == "acceptable":
                seen_acceptable += 1
                assert not results and "acceptable" in (case.system_out or "")
            elif c["verdict"] in ("not_applicable", "inconclusive"):
                assert isinstance(results[0], Skipped)
            elif c["verdict"] == "error":
                assert isinstance(results[0], Error)
            else:
                assert not results
    assert seen_acceptable == report["summary"]["acceptable"] > 0


def test_report_names_the_sut_exactly(faulty_run: Path) -> None:
    report = json.loads((faulty_run / "report.json").read_text("utf-8"))
    schema = json.loads((ROOT / "juki_conformance" / "report.schema.json").read_text("utf-8"))
    jsonschema.validate(report, schema)
    command = report["sutCommands"]["codec"]
    assert "faulty_adapter" in command and "reference" not in command
    assert "node" not in report["sutCommands"], "a codec-only run names no node"
    assert report["host"] == socket.gethostname() and report["seconds"] >= 0
    html = (faulty_run / "report.html").read_text("utf-8")
    assert "accept-any-resident-code" in html


def test_a_failing_node_case_links_its_capture(tmp_path: Path) -> None:
    """A node-mode failure: its pcapng is named in report.json, linked from the HTML and
    attached in JUnit; the report names the node command that was launched."""
    node = f"{sys.executable} -m juki_conformance.selftest.faulty_node --fault no-replay-check"
    code, output = _run("--cases", "pdu/node/replay/same-id-other-content", "--node-command", node,
                        "--out", str(tmp_path))
    assert code == 1, output
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    failed = [c for c in report["cases"] if c["verdict"] == "fail"]
    assert failed, output
    capture = failed[0]["capture"]
    assert (tmp_path / capture).is_file() and capture.endswith(".pcapng")
    assert f'href="{capture}"' in (tmp_path / "report.html").read_text("utf-8")
    xml = JUnitXml.fromfile(str(tmp_path / "junit.xml"))
    outs = [c.system_out or "" for s in xml for c in s if c.name == failed[0]["id"]]
    assert outs and f"[[ATTACHMENT|{capture}]]" in outs[0]
    assert "faulty_node" in report["sutCommands"]["node"]
    assert "juki-conformance" in output and "faulty_node" in output.splitlines()[0]


def test_known_failures_as_json_with_reason_and_expiry(faulty_run: Path,
                                                       tmp_path: Path) -> None:
    report = json.loads((faulty_run / "report.json").read_text("utf-8"))
    failed = [c["id"] for c in report["cases"] if c["verdict"] == "fail"]
    adapter = f"{sys.executable} -m juki_conformance.selftest.faulty_adapter " \
              f"--fault accept-any-resident-code"
    entries = [{"id": cid, "reason": "check digit not validated yet (ticket 42)",
                "expires": "2999-01-01"} for cid in failed]
    known = tmp_path / "known.json"
    known.write_text(json.dumps(entries))
    code, output = _run("--adapter", adapter, "--cases", "*/codec/*", "--known-failures",
                        str(known), "--out", str(tmp_path / "live"))
    assert code == 0, output
    live = json.loads((tmp_path / "live" / "report.json").read_text("utf-8"))
    marked = [c for c in live["cases"] if c["knownFailure"]]
    assert {c["id"] for c in marked} == set(failed)
    assert all("ticket 42" in c["knownFailureReason"] for c in marked)
    # Expired: the same failures count again, and the run says so.
    known.write_text(json.dumps([{**e, "expires": "2020-01-01"} for e in entries]))
    code, output = _run("--adapter", adapter, "--cases", "*/codec/*", "--known-failures",
                        str(known), "--out", str(tmp_path / "expired"))
    assert code == 1 and "expired on 2020-01-01" in output


@pytest.mark.parametrize("doc, message", [
    ('[{"id": "a/b"}]', "'reason' is required"),
    ('[{"id": "a/b", "reason": "x", "expires": "soon"}]', "'expires' must be a date"),
    ('[{"id": "a/b", "reason": "x", "owner": "me"}]', "unknown field 'owner'"),
    ('{"id": "a/b"}', "expected a JSON list"),
    ('[1]', "expected an object"),
])
def test_a_bad_known_failures_file_is_a_usage_error(tmp_path: Path, doc: str,
                                                    message: str) -> None:
    known = tmp_path / "known.json"
    known.write_text(doc)
    code, output = _run("--known-failures", str(known), "--out", str(tmp_path / "o"))
    assert code == 2 and message in output, output


def test_list_json_names_every_case() -> None:
    res = CliRunner().invoke(main, ["list", "--json"])
    assert res.exit_code == 0, res.output
    cases = json.loads(res.output)
    text = CliRunner().invoke(main, ["list"]).output.splitlines()
    assert [c["id"] for c in cases] == [line.split("  [")[0] for line in text]
    assert all(c["requirements"] and c["mode"] in ("codec", "node") for c in cases)
    assert any(c["role"] == "prefecture" for c in cases)
