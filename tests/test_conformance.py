"""juki-conformance: the reference passes, every faulty implementation is caught on the
right cases, and the reports are complete and consistent."""

from __future__ import annotations

import fnmatch
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from juki_conformance.cli import all_node_cases, main
from juki_conformance.reports import OPERATION_REQUIREMENTS, SUITE_REQUIREMENTS
from juki_conformance.selftest.faulty_adapter import EXPECTED

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["run", "--quiet", "--vectors", str(VECTORS), *args])
    return res.exit_code, res.output


def faulty(name: str) -> str:
    return f"{sys.executable} -m juki_conformance.selftest.faulty_adapter --fault {name}"


@pytest.fixture(scope="module")
def reference_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("ref")
    code, output = run("--out", str(out))
    assert code == 0, output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    report["_dir"] = str(out)
    return report


def test_the_default_run_includes_and_passes_every_node_case(reference_report: dict
                                                            ) -> None:
    """The default run (one shared with the tests below) holds every node-mode case, of
    every role the runner launches, and the reference passes them (was a run of its own
    in tests/test_conformance_node.py)."""
    node = {c["id"]: c["verdict"] for c in reference_report["cases"] if "/node/" in c["id"]}
    assert set(node) == {c.id for c in all_node_cases()}
    assert set(node.values()) <= {"pass", "acceptable"}, \
        {k: v for k, v in node.items() if v not in ("pass", "acceptable")}
    sut = reference_report["sut"]
    assert "node" in reference_report["ics"]["modes"]
    assert (sut["node"]["node"], sut["municipalityNode"]["node"], sut["nationalNode"]["node"],
            sut["agencyNode"]["node"]) == ("prefecture:270008", "municipality:271004",
                                           "national:DC01", "agency:AG0001")
    # Every MUST on implementations has a case (issue 11); those on the suite and on a
    # node's operation are checked by our own tests.
    assert reference_report["coverage"]["uncoveredMust"] == []
    covered = {r["id"] for r in reference_report["coverage"]["requirements"] if r["cases"]}
    assert {"R-PDU-10", "R-PDU-11", "R-PDU-13", "R-PDU-23", "R-PDU-24", "R-NODE-01",
            "R-NODE-09", "R-CARD-01", "R-CARD-02", "R-CARD-04", "R-30-5-0-05",
            "R-30-5-0-08", "R-30-7-3-01", "R-30-7-3-02", "R-30-7-3-03", "R-30-7-3-05",
            "R-30-7-3-06", "R-12-2-3-01", "R-12-2-3-02", "R-12-2-3-03",
            "R-12-2-3-06"} <= covered
    captures = Path(reference_report["_dir"]) / "captures"
    assert not captures.exists() or not list(captures.iterdir())
    assert reference_report["coverage"]["unknownReferences"] == []


def test_reference_passes_everything(reference_report: dict) -> None:
    s = reference_report["summary"]
    assert s["fail"] == 0 and s["error"] == 0 and s["exitCode"] == 0
    assert s["pass"] + s["acceptable"] == s["total"] > 250


def test_report_follows_its_schema(reference_report: dict) -> None:
    schema = json.loads((ROOT / "juki_conformance" / "report.schema.json").read_text("utf-8"))
    doc = {k: v for k, v in reference_report.items() if k != "_dir"}
    jsonschema.validate(doc, schema)
    ids = [c["id"] for c in doc["cases"]]
    assert len(ids) == len(set(ids))


def test_junit_counts_match_json(reference_report: dict) -> None:
    root = ET.parse(Path(reference_report["_dir"]) / "junit.xml").getroot()
    total = sum(int(s.get("tests", 0)) for s in root.iter("testsuite"))
    failures = sum(int(s.get("failures", 0)) for s in root.iter("testsuite"))
    assert total == reference_report["summary"]["total"]
    assert failures == reference_report["summary"]["fail"] == 0


def test_coverage_lists_requirements_and_no_unknown_ids(reference_report: dict) -> None:
    cov = reference_report["coverage"]
    reqs = json.loads((ROOT / "spec" / "requirements.json").read_text("utf-8"))
    assert len(cov["requirements"]) == len(reqs["requirements"])
    assert cov["unknownReferences"] == []
    covered = {r["id"] for r in cov["requirements"] if r["cases"]}
    assert {"R-DER-02", "R-DER-03", "R-ID-01", "R-PDU-02", "R-CONF-03"} <= covered
    assert "R-PDU-10" not in cov["uncoveredMust"]   # TLS: covered by node mode
    suite = {r["id"] for r in cov["requirements"] if r["subject"] == "suite"}
    assert suite == set(SUITE_REQUIREMENTS) and not suite & set(cov["uncoveredMust"])
    assert all(r["id"] in suite for r in cov["requirements"]
               if r["id"].startswith("R-EVID-"))


def test_every_requirement_on_the_suite_is_named_by_a_suite_test() -> None:
    """The requirements no case can check (their subject is the suite) are checked by
    the suite's own tests, which name them."""
    tests = "".join(p.read_text("utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    unnamed = sorted(r for r in SUITE_REQUIREMENTS if r not in tests)
    assert not unnamed, f"no test names {unnamed}"


def test_every_requirement_on_operation_is_named_by_a_node_test() -> None:
    """The requirements no runner can observe (subject ``operation``: start-up, logs,
    files on the node's disk) are checked by the reference's own tests, which name
    them; none is also covered by a case (then it would not need the exemption)."""
    from juki_conformance.cli import all_node_cases

    tests = "".join(p.read_text("utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    unnamed = sorted(r for r in OPERATION_REQUIREMENTS if r not in tests)
    assert not unnamed, f"no test names {unnamed}"
    cases = {r for c in all_node_cases() for r in c.requirements}
    assert not OPERATION_REQUIREMENTS & cases


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_every_faulty_implementation_is_caught(fault: str, tmp_path: Path) -> None:
    # Checks R-CONF-08, R-CONF-09, R-CONF-10.
    code, output = run("--adapter", faulty(fault), "--timeout", "2", "--out", str(tmp_path))
    assert code == 1, output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    failed = [c["id"] for c in report["cases"] if c["verdict"] == "fail"]
    assert any(fnmatch.fnmatchcase(cid, pat) for cid in failed for pat in EXPECTED[fault]), \
        f"{fault}: failures {failed[:10]} miss {EXPECTED[fault]}"
    for c in report["cases"]:
        if c["verdict"] == "fail":
            assert c["remediation"] and c["expected"] and c["actual"] and c["requirements"]


def test_hanging_sut_fails_the_case_and_the_run_continues(tmp_path: Path) -> None:
    code, _ = run("--adapter", faulty("hang-on-deep-nesting"), "--timeout", "1",
                  "--cases", "der/*", "--out", str(tmp_path))
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    verdicts = {c["id"]: c for c in report["cases"]}
    deep = verdicts["der/codec/robustness/nested-2000-deep"]
    assert deep["verdict"] == "fail" and "no answer within" in deep["actual"]
    assert sum(c["verdict"] == "pass" for c in report["cases"]) >= 10
    assert code == 1


def test_ics_makes_cases_not_applicable(tmp_path: Path) -> None:
    # Checks R-CONF-07.
    ics = tmp_path / "ics.json"
    ics.write_text(json.dumps({"implementation": {"name": "agency client", "version": "1"},
                               "role": "agency", "profiles": ["current"],
                               "modes": ["codec"],
                               "messageTypes": ["ProvisionRequest", "ProvisionResponse"]}))
    code, output = run("--ics", str(ics), "--out", str(tmp_path / "r"))
    assert code == 0, output
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    na = [c for c in report["cases"] if c["verdict"] == "not_applicable"]
    assert any("/move-in-notice/" in c["id"] for c in na)
    assert any("/p2002/" in c["id"] for c in na)
    assert not any("provision-request/current" in c["id"] for c in na)


def test_bad_ics_is_a_usage_error_naming_the_field(tmp_path: Path) -> None:
    ics = tmp_path / "ics.json"
    ics.write_text(json.dumps({"implementation": {"name": "x", "version": "1"},
                               "role": "mayor", "profiles": ["current"], "modes": ["codec"]}))
    code, output = run("--ics", str(ics))
    assert code == 2 and "role" in output


def test_zero_cases_is_an_error() -> None:
    # Checks R-CONF-08.
    code, output = run("--cases", "no/such/case")
    assert code == 2 and "zero cases" in output


def test_known_failures_file(tmp_path: Path) -> None:
    # Checks R-CONF-08.
    code, _ = run("--adapter", faulty("accept-any-resident-code"), "--out", str(tmp_path))
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    failed = [c["id"] for c in report["cases"] if c["verdict"] == "fail"]
    assert code == 1 and failed
    known = tmp_path / "known.txt"
    known.write_text("# vendor's known issues\n" + "\n".join(failed) +
                     "\nidentifiers/codec/resident-code/example-12345678903\n")
    code, output = run("--adapter", faulty("accept-any-resident-code"), "--known-failures",
                       str(known), "--out", str(tmp_path / "k"))
    assert code == 0, output
    assert "known failure now passes" in output and "example-12345678903" in output


def test_missing_adapter_is_a_harness_error(tmp_path: Path) -> None:
    code, output = run("--adapter", "/nonexistent/adapter", "--out", str(tmp_path))
    assert code == 2 and "harness error" in output


def test_list_shows_every_case_with_requirements() -> None:
    res = CliRunner().invoke(main, ["list", "--vectors", str(VECTORS)])
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert len(lines) > 250 and all("[R-" in line for line in lines)


def test_readme_kill_rate_matches_the_faults() -> None:
    """The README's kill rate counts the faults of every selftest module, its table
    gives each module's count, and the first two modules' faults are named one by one."""
    import importlib

    from juki_conformance.selftest.faulty_node import EXPECTED as NODE_FAULTS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    modules = sorted(p.stem for p in (ROOT / "juki_conformance" / "selftest").glob("faulty_*.py"))
    counts = {m: len(importlib.import_module(f"juki_conformance.selftest.{m}").EXPECTED)
              for m in modules}
    total = sum(counts.values())
    assert "fixed case ids (each module has its own test" in " ".join(text.split())
    assert f"{total} of {total}. Those are faults we wrote ourselves" in " ".join(
        text.split())
    for module, count in counts.items():
        assert f"| `{module}.py` | {count} |" in text, module
    for fault in [*EXPECTED, *NODE_FAULTS]:
        assert f"`{fault}`" in text


def test_the_coverage_line_counts_only_requirements_on_implementations() -> None:
    """Requirements on the suite and on a node's operation have no case by design: the
    summary's ratio counts neither, and names the operation ones apart."""
    from juki_conformance.reports import summary_lines

    def req(rid: str, subject: str, cases: list[str]) -> dict[str, object]:
        return {"id": rid, "level": "MUST", "subject": subject, "cases": cases}
    report = {"summary": {"total": 1, "pass": 1, "fail": 0, "acceptable": 0,
                          "not_applicable": 0, "error": 0, "knownFailures": 0,
                          "knownFailuresNowPassing": []},
              "coverage": {"requirements": [
                  req("R-A", "implementation", ["x"]), req("R-B", "implementation", []),
                  req("R-C", "suite", []), req("R-D", "operation", [])]}}
    line = summary_lines(report)[-1]
    assert line.startswith("requirements coverage: 1/2 MUST") and "; 1 on a node's" in line
