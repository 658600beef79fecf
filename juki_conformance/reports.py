"""Reports: console summary, JSON (schema: report.schema.json), JUnit XML, and the
requirements coverage matrix."""

from __future__ import annotations

import datetime as dt
import json
import socket
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from juki_conformance import SUITE_VERSION
from juki_conformance.ics import Ics
from juki_conformance.lower_tester import capture_name
from juki_conformance.model import Case, CaseResult, Verdict
from juki_conformance.runner import RunResult, selection_text

REPORT_SCHEMA = Path(__file__).with_name("report.schema.json")


#: Requirements whose subject is the conformance suite itself (the runner, the evidence
#: writer and verifier), not the implementation under test: no case can check them;
#: the suite's own tests do (tests/test_conformance*.py, tests/test_evidence.py, which
#: tests/test_conformance.py checks name each of them).
SUITE_REQUIREMENTS = frozenset({
    "R-CONF-07", "R-CONF-08", "R-CONF-09", "R-CONF-10", "R-CONF-13", "R-CONF-14",
    *(f"R-EVID-{i:02d}" for i in range(1, 12)),
})


#: Requirements on how a node is operated that a runner attached over the network, the
#: upper tester and the IXIT cannot observe: its start-up refusals, its log lines, the
#: files it writes on its own disk, the address its upper tester listens on
#: (spec/conformance.md section 4). Their subject is ``operation``: a vendor shows them
#: by its own tests or to the certifying body by inspection; the reference's tests
#: (tests/node/) name each, which tests/test_conformance.py checks.
OPERATION_REQUIREMENTS = frozenset({
    "R-NODE-21", "R-NODE-24", "R-NODE-26", "R-PDU-40", "R-PDU-44",
    # Data at rest (spec/node.md section 2.1): file modes, where keys are kept, how a
    # passphrase is read, what deleted rows leave on the node's own disk.
    "R-NODE-70", "R-NODE-71", "R-NODE-72", "R-NODE-73", "R-NODE-74",
    # What the card register keeps of a card (spec/card_register.md).
    "R-CARDREG-05",
})


def _subject(req_id: str) -> str:
    if req_id in SUITE_REQUIREMENTS:
        return "suite"
    return "operation" if req_id in OPERATION_REQUIREMENTS else "implementation"


def coverage(cases: list[Case], requirements: list[dict[str, Any]]) -> dict[str, Any]:
    """Every requirement with its subject (``implementation``; ``suite`` for those on
    the suite itself; ``operation`` for those no runner can observe) and the case ids
    that cover it; implementation MUSTs without a case are listed in ``uncoveredMust``."""
    by_req: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        for req in case.requirements:
            by_req[req].append(case.id)
    rows = [{"id": r["id"], "level": r["level"], "citation": r["citation"],
             "subject": _subject(r["id"]),
             "cases": sorted(by_req.get(r["id"], []))} for r in requirements]
    known = {r["id"] for r in requirements}
    return {
        "requirements": rows,
        "uncoveredMust": [r["id"] for r in rows if not r["cases"]
                          and r["level"].startswith("MUST")
                          and r["subject"] == "implementation"],
        "unknownReferences": sorted(set(by_req) - known),
    }


def capture_of(result: CaseResult) -> str | None:
    """The report-relative path of a case's frame capture: written for every failing
    case that exchanged frames (spec/conformance.md, R-CONF-13), else None."""
    if result.outcome.verdict is Verdict.FAIL and result.frames:
        return f"captures/{capture_name(result.case.id)}"
    return None


def to_json(run: RunResult, ics: Ics, *, vector_set_hash: str, started: dt.datetime,
            all_cases: list[Case], requirements: list[dict[str, Any]],
            finished: dt.datetime | None = None) -> dict[str, Any]:
    counts = Counter(r.outcome.verdict.value for r in run.results)
    end = finished or dt.datetime.now(dt.UTC)
    return {
        "suite": {"name": "juki-conformance", "version": SUITE_VERSION},
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": round(max(0.0, (end - started).total_seconds()), 3),
        "host": socket.gethostname(),
        "vectorSetSha256": vector_set_hash,
        "ics": ics.raw,
        "sut": run.sut_hello,
        "harnessError": run.harness_error,
        "interrupted": run.interrupted,
        "summary": {v.value: counts.get(v.value, 0) for v in Verdict} | {
            "total": len(run.results), "knownFailures": sum(r.known_failure
                                                             for r in run.results),
            "knownFailuresNowPassing": run.known_now_passing,
            "exitCode": run.exit_code},
        "cases": [{
            "id": r.case.id, "title": r.case.title, "clause": r.case.clause,
            "requirements": list(r.case.requirements), "level": r.case.level,
            "verdict": r.outcome.verdict.value, "expected": r.outcome.expected,
            "actual": r.outcome.actual, "detail": r.outcome.detail,
            "remediation": r.case.remediation if r.outcome.verdict is Verdict.FAIL else "",
            "knownFailure": r.known_failure, "seconds": round(r.seconds, 6),
        } | ({"capture": cap} if (cap := capture_of(r)) else {})
          | ({"adapter": run.records[r.case.id]} if r.case.id in run.records else {})
          for r in run.results],
        "coverage": coverage(all_cases, requirements),
    }


def _sut_name(report: dict[str, Any]) -> str:
    """The SUT as its hello names it (implementation and version), or the ICS's name."""
    sut = report.get("sut") or {}
    name = " ".join(str(sut[k]) for k in ("implementation", "version") if sut.get(k))
    return name or str((report.get("ics") or {}).get("implementation", {}).get("name", ""))


def junit_xml(report: dict[str, Any]) -> bytes:
    """JUnit XML, in the form CI tools read (Jenkins, GitLab, Azure, junitparser): one
    ``testsuite`` per clause with its counts, time, timestamp and host, and properties
    naming the suite, the SUT, the ICS and the vector set; each ``testcase`` with
    ``classname`` ``juki.<clause>`` (tools group by it), the case id as its name, its
    requirement ids, level and verdict as properties. fail -> ``failure`` (type: the
    first requirement it checks), a known failure or not_applicable or inconclusive ->
    ``skipped``, error -> ``error`` (type ``harness``), acceptable -> passed, marked by
    its verdict property and a line in ``system-out``; a failing case's frame capture
    is named in ``system-out`` as ``[[ATTACHMENT|captures/...]]``, and a failing
    codec-mode case's requests and answers, the adapter's exit status and the tail of
    its stderr (:func:`adapter_text`) are in its ``system-out`` too."""
    stamp = report.get("started", "")[:19]
    host = report.get("host", "")
    by_clause: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in report["cases"]:
        by_clause[c["clause"]].append(c)

    def counts(cases: list[dict[str, Any]]) -> dict[str, str]:
        known = [c for c in cases if c["verdict"] == "fail" and c["knownFailure"]]
        return {"tests": str(len(cases)),
                "failures": str(sum(c["verdict"] == "fail" for c in cases) - len(known)),
                "errors": str(sum(c["verdict"] == "error" for c in cases)),
                "skipped": str(sum(c["verdict"] in ("not_applicable", "inconclusive")
                                   for c in cases) + len(known)),
                "time": f"{sum(c['seconds'] for c in cases):.3f}"}

    root = ET.Element("testsuites", {"name": "juki-conformance", **counts(report["cases"])})
    if "seconds" in report:
        root.set("time", f"{report['seconds']:.3f}")
    root.set("timestamp", stamp)
    for index, (clause, cases) in enumerate(sorted(by_clause.items())):
        suite = ET.SubElement(root, "testsuite", {
            "name": clause, "id": str(index), "package": f"juki.{clause}",
            "timestamp": stamp, "hostname": host, **counts(cases)})
        props = ET.SubElement(suite, "properties")
        for name, value in (("suite.version", report["suite"]["version"]),
                            ("sut", _sut_name(report)),
                            ("ics", str((report.get("ics") or {}).get("implementation",
                                                                       {}).get("name", ""))),
                            ("vectorSetSha256", report.get("vectorSetSha256", ""))):
            ET.SubElement(props, "property", name=name, value=value)
        for c in cases:
            tc = ET.SubElement(suite, "testcase", classname=f"juki.{clause}", name=c["id"],
                               time=f"{c['seconds']:.6f}")
            cprops = ET.SubElement(tc, "properties")
            for req in c["requirements"]:
                ET.SubElement(cprops, "property", name="requirement", value=req)
            ET.SubElement(cprops, "property", name="level", value=c["level"])
            ET.SubElement(cprops, "property", name="verdict", value=c["verdict"])
            kind = c["requirements"][0] if c["requirements"] else "conformance"
            if c["verdict"] == "fail" and c["knownFailure"]:
                ET.SubElement(tc, "skipped", message=f"known failure: expected "
                              f"{c['expected']}; got {c['actual']}")
            elif c["verdict"] == "fail":
                el = ET.SubElement(tc, "failure", type=kind,
                                   message=f"expected {c['expected']}; got {c['actual']}")
                el.text = f"{c['detail']}\nRemediation: {c['remediation']}\n" \
                          f"Requirements: {', '.join(c['requirements'])}"
            elif c["verdict"] == "error":
                el = ET.SubElement(tc, "error", type="harness", message=c["detail"])
                el.text = c["detail"]
            elif c["verdict"] == "not_applicable":
                ET.SubElement(tc, "skipped", message=f"not applicable: {c['detail']}")
            elif c["verdict"] == "inconclusive":
                ET.SubElement(tc, "skipped", message=f"inconclusive: {c['actual']}")
            out = []
            if c["verdict"] == "acceptable":
                out.append(f"acceptable (the specification allows either): expected "
                           f"{c['expected']}; got {c['actual']}")
            if c.get("capture"):
                out.append(f"[[ATTACHMENT|{c['capture']}]]")
            if c.get("adapter"):
                out.append(adapter_text(c["adapter"]))
            if out:
                ET.SubElement(tc, "system-out").text = "\n".join(out)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def adapter_text(record: dict[str, Any]) -> str:
    """A failing codec-mode case's adapter record (``report.json`` ``cases[].adapter``)
    as text: each request and its response (or the fault), the exit status, stderr."""
    lines = []
    for ex in record.get("exchanges", []):
        lines.append(f"request:  {ex.get('request', '')}")
        if "response" in ex:
            lines.append(f"response: {ex['response']}")
        else:
            lines.append(f"fault:    {ex.get('fault', '')}")
    status = record.get("exitStatus")
    lines.append("adapter exit status: " + ("none (it did not exit)" if status is None
                                            else str(status)))
    tail = record.get("stderrTail") or ""
    lines.append("adapter stderr (tail):" + (f"\n{tail.rstrip()}" if tail else " (empty)"))
    return _xml_safe("\n".join(lines))


def _xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (an adapter's stderr may
    hold any octet)."""
    return "".join(ch if ch in "\t\n\r" or (" " <= ch <= "\ud7ff")
                   or ("\ue000" <= ch <= "\ufffd") or ch >= "\U00010000" else "?"
                   for ch in text)


def write_all(report: dict[str, Any], out: Path) -> list[Path]:
    from juki_conformance.html import render_html  # jinja2 is loaded only when writing reports

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "junit.xml", out / "coverage.json",
             out / "report.html"]
    paths[0].write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
    paths[1].write_bytes(junit_xml(report))
    paths[2].write_text(json.dumps(report["coverage"], ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
    paths[3].write_text(render_html(report), encoding="utf-8")
    return paths


def summary_lines(report: dict[str, Any]) -> list[str]:
    s = report["summary"]
    lines = [f"{s['total']} cases: {s['pass']} pass, {s['fail']} fail, "
             f"{s['acceptable']} acceptable, {s['not_applicable']} not applicable, "
             f"{s['error']} error"
             + (f", {s['inconclusive']} inconclusive" if s.get("inconclusive") else "")]
    if s["knownFailures"]:
        lines.append(f"{s['knownFailures']} failures are listed as known")
    for cid in s["knownFailuresNowPassing"]:
        lines.append(f"known failure now passes (remove it from the list): {cid}")
    if partial := selection_text(report.get("selection") or {}):
        lines.append(partial)
    cov = report["coverage"]
    must = [r for r in cov["requirements"] if r["level"].startswith("MUST")
            and r.get("subject", "implementation") == "implementation"]
    covered = sum(1 for r in must if r["cases"])
    operation = sum(1 for r in cov["requirements"] if r.get("subject") == "operation"
                    and r["level"].startswith("MUST"))
    lines.append(f"requirements coverage: {covered}/{len(must)} MUST requirements on "
                 f"implementations are checked by the suite's cases (uncovered listed in "
                 f"coverage.json); {operation} on a node's operation no run can observe")
    return lines
