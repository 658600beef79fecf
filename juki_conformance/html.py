"""The self-contained HTML report: one file a regulator can open offline.

``render_html`` turns the report dict of ``reports.to_json`` (schema:
``report.schema.json``) into a single HTML page with inline CSS, no external requests
and no JavaScript. Every string from the report, including anything the SUT sent, is
escaped by the template engine (autoescape is on).

Stable element ids for tools that read the page: ``count-<verdict>`` for each verdict
(``count-pass``, ``count-fail``, ``count-acceptable``, ``count-not_applicable``,
``count-error``) and ``count-total`` in the summary; ``failures`` (the Failures section,
one ``<article class="failure" data-case-id=...>`` per failing case), ``results``,
``coverage``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import jinja2

from juki_conformance.runner import selection_text

TEMPLATES = Path(__file__).with_name("templates")

#: Verdicts in display order, with a label for people.
VERDICTS: tuple[tuple[str, str], ...] = (
    ("pass", "pass"),
    ("fail", "fail"),
    ("acceptable", "acceptable"),
    ("not_applicable", "not applicable"),
    ("error", "error"),
    ("inconclusive", "inconclusive"),
)

EXIT_MEANING = {
    0: "every applicable case passed",
    1: "at least one case failed that is not listed as a known failure",
    2: "harness error, or no case was applicable",
    3: "no case failed, but some were inconclusive (their preamble was never reached)",
}

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # always: case text can carry arbitrary strings from the SUT
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _natural_key(clause: str) -> tuple[int, list[tuple[int, str]]]:
    """Articles first, in numeric order (9/1 < 12-2/1 < 30-7/3), then spec sections."""
    parts = [(int(t), "") if t.isdigit() else (0, t) for t in re.findall(r"\d+|\D+", clause)]
    return (0 if clause[:1].isdigit() else 1, parts)


def clause_label(clause: str) -> str:
    """``12-2/3`` -> ``Art. 12-2(3)``; ``30-5`` -> ``Art. 30-5``; ``der`` -> ``spec: der``."""
    m = re.fullmatch(r"(\d+(?:-\d+)*)((?:/\d+)*)", clause)
    if not m:
        return f"spec: {clause}"
    paras = "".join(f"({p})" for p in m.group(2).split("/") if p)
    return f"Art. {m.group(1)}{paras}"


def _text(value: Any) -> str:
    """A hello/ICS value as one line of text (lists joined, nested objects flattened)."""
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if value is None:
        return "—"
    return str(value)


def _context(report: dict[str, Any]) -> dict[str, Any]:
    cases: list[dict[str, Any]] = list(report.get("cases", []))
    summary: dict[str, Any] = report["summary"]
    anchors = {c["id"]: f"case-{i}" for i, c in enumerate(cases)}

    by_clause: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cases:
        by_clause[c["clause"]].append(c)
    clauses = []
    for name in sorted(by_clause, key=_natural_key):
        rows = by_clause[name]
        counts = {v: sum(1 for c in rows if c["verdict"] == v) for v, _ in VERDICTS}
        clauses.append({"name": name, "label": clause_label(name), "cases": rows,
                        "counts": counts, "problems": counts["fail"] + counts["error"]})

    cov: dict[str, Any] = report["coverage"]
    uncovered = set(cov.get("uncoveredMust", []))
    requirements = [{**r, "count": len(r.get("cases", [])), "uncovered": r["id"] in uncovered}
                    for r in cov.get("requirements", [])]
    must = [r for r in requirements if str(r["level"]).startswith("MUST")
            and r.get("subject", "implementation") == "implementation"]

    ics: dict[str, Any] = report.get("ics") or {}
    impl = ics.get("implementation") or {}
    ics_rows = [("Implementation", _text(impl.get("name", "—"))),
                ("Version", _text(impl.get("version", "—"))),
                ("Role", _text(ics.get("role", "—"))),
                ("Profiles", _text(ics.get("profiles", []))),
                ("Modes", _text(ics.get("modes", []))),
                ("Operations", _text(ics.get("ops", []))),
                ("Message types", _text(ics.get("messageTypes", "all")))]
    shown = {"implementation", "role", "profiles", "modes", "ops", "messageTypes"}
    ics_rows += [(k, _text(v)) for k, v in ics.items() if k not in shown]
    sut: dict[str, Any] = report.get("sut") or {}
    hello_rows = [(k, _text(v)) for k, v in sut.items() if k not in ("id", "ok")]
    command_rows = [(f"{mode} SUT", _text(v))
                    for mode, v in (report.get("sutCommands") or {}).items()]

    exit_code = summary.get("exitCode")
    return {
        "r": report,
        "suite": report["suite"],
        "summary": summary,
        "verdicts": VERDICTS,
        "exit_code": exit_code,
        "exit_meaning": EXIT_MEANING.get(exit_code, "unknown") if isinstance(exit_code, int)
        else "unknown",
        "ics_rows": ics_rows,
        "hello_rows": hello_rows,
        "command_rows": command_rows,
        "partial": selection_text(report.get("selection") or {}),
        "clauses": clauses,
        "clause_label": clause_label,
        "anchors": anchors,
        "failures": [c for c in cases if c["verdict"] == "fail"],
        "errors": [c for c in cases if c["verdict"] == "error"],
        "requirements": requirements,
        "must_total": len(must),
        "must_covered": sum(1 for r in must if r["count"]),
        "uncovered_must": [r for r in requirements if r["uncovered"]],
        "unknown_refs": list(cov.get("unknownReferences", [])),
    }


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML document (UTF-8 text)."""
    return _ENV.get_template("report.html.j2").render(_context(report))

