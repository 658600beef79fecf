"""Selecting and running cases against a SUT, with per-case timing and known failures."""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from juki_conformance.ics import Ics
from juki_conformance.model import Case, CaseResult, Outcome, Verdict
from juki_conformance.sut import AdapterSut, HarnessError, Inconclusive, SutFault


def select(cases: Iterable[Case], include: list[str], exclude: list[str]) -> list[Case]:
    """Cases whose id matches any ``include`` glob (all if none) and no ``exclude`` glob."""
    out = []
    for case in cases:
        if include and not any(fnmatch.fnmatchcase(case.id, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(case.id, p) for p in exclude):
            continue
        out.append(case)
    return out


@dataclass
class RunResult:
    """Everything a report needs."""

    results: list[CaseResult] = field(default_factory=list)
    sut_hello: dict[str, object] = field(default_factory=dict)
    harness_error: str | None = None
    known_now_passing: list[str] = field(default_factory=list)
    #: Case id -> what the adapter was asked and did during that failing (or erroring)
    #: codec-mode case (:meth:`juki_conformance.sut.AdapterSut.case_record`).
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Ctrl-C ended the run: the results are those of the cases that finished.
    interrupted: bool = False

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.results if r.outcome.verdict is verdict)

    @property
    def unexpected_failures(self) -> list[CaseResult]:
        return [r for r in self.results
                if r.outcome.verdict is Verdict.FAIL and not r.known_failure]

    @property
    def exit_code(self) -> int:
        """0 all applicable cases pass; 1 failures; 2 harness error or nothing run;
        3 no failure, but some cases inconclusive (their preamble was never reached);
        130 interrupted by Ctrl-C (a partial result)."""
        if self.interrupted:
            return 130
        if self.harness_error or self.count(Verdict.ERROR):
            return 2
        ran = len(self.results) - self.count(Verdict.NOT_APPLICABLE)
        if ran == 0:
            return 2
        if self.unexpected_failures:
            return 1
        return 3 if self.count(Verdict.INCONCLUSIVE) else 0


#: What :func:`run_cases` tells its ``marks`` callback, and when: ``start`` just before
#: it starts the SUT, ``case`` (with the case id) just before each case, ``stop`` just
#: before it stops the SUT. A timeline of these marks says which case the SUT's
#: processes were serving at any moment (``juki-conformance run --timeline``).
MARKS = ("start", "case", "stop")


def run_cases(cases: list[Case], sut: AdapterSut, ics: Ics, *,
              known_failures: frozenset[str] = frozenset(),
              progress: Callable[[CaseResult], None] | None = None,
              stop: Callable[[], bool] | None = None,
              marks: Callable[[str, str], None] | None = None) -> RunResult:
    """Run ``cases`` in order; a SUT fault fails the case, a harness fault errors it.
    ``stop`` is asked before each case: when it answers true the run ends there (the
    cases not run are absent from the result). Ctrl-C (KeyboardInterrupt) ends the run
    too, marked ``interrupted``, without the case it stopped. ``marks`` is called as
    :data:`MARKS` says."""
    result = RunResult()
    mark = marks or (lambda kind, what: None)
    try:
        if not sut.hello:
            mark("start", "")
        result.sut_hello = sut.hello or sut.start()
    except HarnessError as exc:
        result.harness_error = str(exc)
        return result
    except KeyboardInterrupt:
        sut.stop()
        result.interrupted = True
        return result
    try:
        _run(cases, sut, ics, result, known_failures, progress, stop, mark)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        mark("stop", "")
        sut.stop()
    return result


def _run(cases: list[Case], sut: AdapterSut, ics: Ics, result: RunResult,
         known_failures: frozenset[str], progress: Callable[[CaseResult], None] | None,
         stop: Callable[[], bool] | None, mark: Callable[[str, str], None]) -> None:
    for case in cases:
        if stop is not None and stop():
            break
        mark("case", case.id)
        start = time.monotonic()
        reason = case.not_applicable_reason(ics)
        if reason is not None:
            outcome = Outcome(Verdict.NOT_APPLICABLE, "", "", reason)
        else:
            sut.begin_case()
            try:
                outcome = case.run(sut)
            except SutFault as exc:
                outcome = Outcome(Verdict.FAIL, "an answer following spec/conformance.md",
                                  f"SUT fault: {exc}")
            except Inconclusive as exc:
                outcome = Outcome(Verdict.INCONCLUSIVE, "the case's preamble reached",
                                  f"preamble not established: {exc}")
            except HarnessError as exc:
                outcome = Outcome(Verdict.ERROR, "", "", f"harness: {exc}")
            except Exception as exc:  # a bug in a case is the harness's, not the SUT's
                outcome = Outcome(Verdict.ERROR, "", "", f"harness bug: {exc!r}")
        known = case.id in known_failures
        if known and outcome.verdict in (Verdict.PASS, Verdict.ACCEPTABLE):
            result.known_now_passing.append(case.id)
        frames = sut.case_frames() if outcome.verdict is Verdict.FAIL else ()
        if case.mode == "codec" and outcome.verdict in (Verdict.FAIL, Verdict.ERROR):
            record = sut.case_record()
            if record is not None:
                result.records[case.id] = record
        cr = CaseResult(case, outcome, time.monotonic() - start,
                        known_failure=known and outcome.verdict is Verdict.FAIL,
                        frames=frames)
        result.results.append(cr)
        if progress is not None:
            progress(cr)


def merge(first: RunResult, second: RunResult, key: str = "node") -> RunResult:
    """One result of two runs (codec mode, then node mode) for one report; the second
    run's SUT hello is kept under ``key``."""
    hello = dict(first.sut_hello)
    if second.sut_hello:
        hello[key] = second.sut_hello
    errors = [e for e in (first.harness_error, second.harness_error) if e]
    return RunResult(results=first.results + second.results, sut_hello=hello,
                     harness_error="; ".join(errors) or None,
                     known_now_passing=first.known_now_passing + second.known_now_passing,
                     records={**first.records, **second.records},
                     interrupted=first.interrupted or second.interrupted)


def read_case_list(path: Path) -> frozenset[str]:
    """The case ids of a ``--case-list`` file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(t for t in (line.strip() for line in lines) if t and not t.startswith("#"))


def choose(suite: list[Case], include: Sequence[str], exclude: Sequence[str],
           case_list: str | None) -> tuple[list[Case], dict[str, Any]]:
    """The cases of ``suite`` a run selects (``--cases``, ``--exclude``, ``--case-list``)
    and the report's ``selection``: what chose them and how many of the suite's ran, so
    that a partial run is never read as a whole one (in the summary, the HTML report
    and an evidence bundle). Running zero cases is an error."""
    cases = select(suite, list(include), list(exclude))
    if case_list is not None:
        listed = read_case_list(Path(case_list))
        cases = [c for c in cases if c.id in listed]
    if not cases:
        raise ValueError("no case matches the selection: running zero cases is an error")
    return cases, {"cases": list(include), "exclude": list(exclude),
                   "caseList": Path(case_list).name if case_list else None,
                   "selected": len(cases), "inSuite": len(suite),
                   "whole": not include and not exclude and case_list is None}


def selection_text(selection: dict[str, Any]) -> str:
    """One line naming a partial run's selection, or "" for the whole suite."""
    if not selection or selection.get("whole", True):
        return ""
    how = [f"--cases {g}" for g in selection["cases"]] + \
        [f"--exclude {g}" for g in selection["exclude"]] + \
        ([f"--case-list {selection['caseList']}"] if selection.get("caseList") else [])
    return (f"partial run: {selection['selected']} of the suite's {selection['inSuite']} "
            f"cases ({' '.join(how)})")


class Timeline:
    """The ``--timeline`` file: one JSON line per mark, written as it happens (a run
    that ends early leaves the marks made so far): ``t`` (seconds on the system's
    monotonic clock, which every process of the machine shares), ``group`` (``codec``
    or ``node:ROLE``: one SUT's life), ``mark`` (``start``, ``case``, ``stop``, or
    ``end`` after the last group) and ``case`` (the case id of a ``case`` mark)."""

    def __init__(self, path: Path | None) -> None:
        self.file = path.open("w", encoding="utf-8") if path is not None else None

    def mark(self, group: str, kind: str, case: str) -> None:
        if self.file is None:
            return
        self.file.write(json.dumps({"t": time.monotonic(), "group": group, "mark": kind,
                                    "case": case}) + "\n")
        self.file.flush()
        if kind == "end":
            self.file.close()
            self.file = None

    def of(self, group: str) -> Callable[[str, str], None]:
        """The ``marks`` callback of :func:`juki_conformance.runner.run_cases`."""
        return lambda kind, case: self.mark(group, kind, case)
