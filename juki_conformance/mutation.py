"""The suite's power as a measured number: a seeded sample of mutants of the reference.

Each mutant is one small change that cosmic-ray's operators make to the reference's rule
code (:data:`TARGETS`). The whole reference package is copied, the change applied to the
copy, and ``juki-conformance run`` is run with the copy as the SUT only (``--sut-env
PYTHONPATH=...``): the runner and its lower tester stay unmutated, so a mutant cannot hide
behind a lower tester that changed with it. A mutant is *killed* when the run fails, and
the kill is confirmed by running the failing cases again; it *survives* when every case
that can reach it passes (below). Mutants that cannot change behaviour are classified
by hand in :data:`EQUIVALENTS_FILE`, one line of reason each, and leave the denominator.

The score is killed / (sampled - equivalent) with a Wilson 95% interval: it measures the
suite, not our unit tests. A kill *cites the right clause* when one of the failing cases
checks a requirement of the spec file that the mutated module implements
(:data:`TARGETS`), or a requirement the mutated function cites itself.

What is never mutated, and why (the same for every run): type annotations (not evaluated,
``from __future__ import annotations``), logging and ``warnings`` calls (not observable on
the wire; the log requirements are the "operation" subject of spec/conformance.md), calls
on a node's metrics (since seed 12: no requirement reads them, as node/metrics.py), the
flags of ``dataclass(...)`` (frozen, slots: no behaviour for code that never assigns),
and lines marked ``# pragma: no mutate``.

Before any mutant runs, the unmutated copy runs the suite once under coverage.py (in the
SUT's processes only), which records *which cases* made the SUT execute each line
(:mod:`juki_conformance.mutation_selection`). A mutant on a line that no case made the
SUT execute cannot be killed: it is recorded as survived ("not executed") without a run.

Every other mutant runs only the cases that can tell it from the reference, in the
suite's order (``--case-list``; :meth:`CaseCoverage.selection`). Until the mutated
statement first runs in a SUT process, the mutant behaves as the reference does; from
then on, what it did may stay in that SUT's memory or store. So in each group of cases
that one SUT serves (the adapter of codec mode; the node of each role in node mode,
kill -9 restarts included, its store kept) the selection holds the first case that
executed the statement and every later case of the group; the whole group when the
SUT executed it as it started or stopped (imports, module-level statements, hello);
the whole suite when a line cannot be placed. Groups where no case executed it are
left out: another SUT's processes never see the mutant run. A kill on a selection that
left out a case run before a failing one (same SUT) also needs the unmutated copy to
pass the failing cases run alone; otherwise that mutant is judged by the whole suite.
``--full-suite`` judges every mutant by every case; the report says which
(``selection``), how many cases each mutant ran (``casesRun``) and how many executed
its statement (``casesExecuting``).
"""

from __future__ import annotations

import ast
import concurrent.futures
import dataclasses
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juki_conformance.mutation_selection import (
    CaseCoverage,
    coverage_setup,
    drops_earlier,
    read_case_coverage,
)
from juki_conformance.mutation_targets import SKIPPED, TARGETS

EQUIVALENTS_FILE = Path(__file__).with_name("mutation_equivalents.txt")
_LOG_NAMES = frozenset({"log", "logger", "_log", "_LOG", "LOG", "logging", "warnings"})
_REQ = re.compile(r"R-[0-9A-Z]+(?:-[0-9A-Z]+)+")


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One mutation: ``module`` (relative to the package), cosmic-ray's operator and
    occurrence, and where it applies."""

    module: str
    operator: str
    occurrence: int
    line: int
    column: int
    source_line: str
    function: str
    cites: tuple[str, ...]
    statement: int          # the first line of the statement (what coverage.py records)

    @property
    def id(self) -> str:
        """Stable while the mutated line does not move: module, line, column, operator."""
        return f"{self.module}:{self.line}:{self.column}:{self.operator}"

    @property
    def line_digest(self) -> str:
        return hashlib.sha256(self.source_line.strip().encode()).hexdigest()[:12]


def package_root() -> Path:
    """The reference package that a run mutates (the installed or checked-out one)."""
    import juki_protocol
    return Path(juki_protocol.__file__).resolve().parent


def target_modules(root: Path, only: tuple[str, ...] = ()) -> list[str]:
    """The modules to mutate, relative to ``root``, sorted; ``only`` narrows them to
    those starting with one of its prefixes."""
    found = []
    for prefix in TARGETS:
        paths = sorted((root / prefix).glob("*.py")) if prefix.endswith("/") \
            else [root / prefix]
        for path in paths:
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in SKIPPED:
                found.append(rel)
    if only:
        found = [m for m in found if any(m.startswith(p) for p in only)]
        if not found:
            raise ValueError(f"--module {', '.join(only)}: no mutated module matches; "
                             f"modules are under {', '.join(TARGETS)}")
    return sorted(set(found))


def clauses(module: str) -> tuple[str, ...]:
    """The spec files the module implements."""
    if module in TARGETS:
        return TARGETS[module]
    return TARGETS.get(module.rsplit("/", 1)[0] + "/", ())


def _operators() -> list[tuple[str, Any]]:
    import cosmic_ray.plugins
    ops = []
    for name in sorted(cosmic_ray.plugins.operator_names()):
        cls = cosmic_ray.plugins.get_operator(name)
        if not cls.arguments():          # the ones needing arguments are not configured
            ops.append((name, cls()))
    return ops


class _Excluded:
    """Positions never mutated in one module (see the module docstring)."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.spans: list[tuple[int, int, int, int]] = []
        self.functions: list[tuple[int, int, str, tuple[str, ...]]] = []
        self.statement: dict[int, int] = {}
        tree = ast.parse(source)
        for node in ast.walk(tree):       # outer statements first: inner ones override
            if isinstance(node, ast.stmt):
                for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                    self.statement[line] = node.lineno
            annotations: list[ast.expr | None] = []
            if isinstance(node, ast.arg):
                annotations.append(node.annotation)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                annotations.append(node.returns)
                text = ast.get_source_segment(source, node) or ""
                self.functions.append((node.lineno, node.end_lineno or node.lineno,
                                       node.name, tuple(sorted(set(_REQ.findall(text))))))
            elif isinstance(node, ast.AnnAssign):
                annotations.append(node.annotation)
            elif isinstance(node, ast.Call) and (_is_log_call(node.func)
                                                 or _is_metrics_call(node.func)):
                annotations.append(node)
            elif isinstance(node, ast.Call) and _is_dataclass(node.func):
                annotations.append(node)
            for ann in annotations:
                if ann is not None and ann.end_lineno is not None:
                    self.spans.append((ann.lineno, self._col(ann.lineno, ann.col_offset),
                                       ann.end_lineno,
                                       self._col(ann.end_lineno, ann.end_col_offset or 0)))

    def _col(self, line: int, byte_col: int) -> int:
        """ast's columns count UTF-8 bytes; cosmic-ray's (parso's) count characters."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return len(text.encode()[:byte_col].decode(errors="ignore"))

    def excludes(self, line: int, col: int) -> bool:
        if "pragma: no mutate" in (self.lines[line - 1] if line <= len(self.lines) else ""):
            return True
        return any((line, col) >= (a, b) and (line, col) < (c, d)
                   for a, b, c, d in self.spans)

    def function_at(self, line: int) -> tuple[str, tuple[str, ...]]:
        """The innermost function around ``line`` and the requirement ids it cites."""
        best: tuple[str, tuple[str, ...]] = ("<module>", ())
        size = math.inf
        for start, end, name, cites in self.functions:
            if start <= line <= end and end - start < size:
                best, size = (name, cites), end - start
        return best


def _is_dataclass(func: ast.expr) -> bool:
    """``dataclass(frozen=..., slots=...)``: flags that change nothing for code that
    never assigns a field or sets an attribute."""
    name = func.attr if isinstance(func, ast.Attribute) else \
        func.id if isinstance(func, ast.Name) else ""
    return name == "dataclass"


def _is_log_call(func: ast.expr) -> bool:
    while isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Name) and func.value.id in _LOG_NAMES:
            return True
        func = func.value
    return False


def _is_metrics_call(func: ast.expr) -> bool:
    """``self.metrics.handled(...)``: no requirement reads it (as node/metrics.py, in
    SKIPPED); a test ``metrics is not None`` around it stays mutated."""
    owner = func.value if isinstance(func, ast.Attribute) else None
    return getattr(owner, "attr", getattr(owner, "id", None)) == "metrics"


def enumerate_mutants(root: Path, modules: list[str]) -> list[Mutant]:
    """Every mutant of ``modules`` in a stable order (module, operator, occurrence)."""
    from cosmic_ray.ast import ast_nodes, get_ast
    ops = _operators()
    out: list[Mutant] = []
    for module in modules:
        source = (root / module).read_text(encoding="utf-8")
        excluded = _Excluded(source)
        tree = get_ast(source)
        for name, op in ops:
            occurrence = -1
            for node in ast_nodes(tree):
                for start, _end in op.mutation_positions(node):
                    occurrence += 1
                    line, col = start
                    if excluded.excludes(line, col):
                        continue
                    function, cites = excluded.function_at(line)
                    out.append(Mutant(module, name, occurrence, line, col,
                                      excluded.lines[line - 1], function, cites,
                                      excluded.statement.get(line, line)))
    return out


def sample(mutants: list[Mutant], size: int, seed: int, root: Path
           ) -> tuple[list[Mutant], int]:
    """A seeded random sample of valid mutants, in enumeration order (the same for the
    same seed and code), and how many drawn mutants were invalid: cosmic-ray sometimes
    yields code that does not compile (``def f(a, *, b)`` read as a multiplication);
    those are drawn over, not counted."""
    order = list(range(len(mutants)))
    random.Random(seed).shuffle(order)
    picked: list[int] = []
    invalid = 0
    for i in order:
        if len(picked) == size:
            break
        try:
            compile(mutated_source(root, mutants[i]), mutants[i].module, "exec")
        except (SyntaxError, ValueError):
            invalid += 1
            continue
        picked.append(i)
    return [mutants[i] for i in sorted(picked)], invalid


def mutated_source(root: Path, mutant: Mutant) -> str:
    """The mutated module's text."""
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code
    op = cosmic_ray.plugins.get_operator(mutant.operator)()
    try:
        code = mutate_code((root / mutant.module).read_text(encoding="utf-8"), op,
                           mutant.occurrence)
    except Exception as exc:     # cosmic-ray's operators fail on some parso trees
        raise ValueError(f"{mutant.id}: the operator fails on this code: {exc!r}") from None
    if code is None:
        raise ValueError(f"{mutant.id}: the operator no longer applies (code changed)")
    return str(code)


def diff_line(original: str, mutated: str) -> str:
    """The first changed line, before and after."""
    for a, b in zip(original.splitlines(), mutated.splitlines(), strict=False):
        if a != b:
            return f"- {a.strip()}\n+ {b.strip()}"
    return "(no visible change)"


# --- equivalents -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Equivalent:
    mutant_id: str
    digest: str
    reason: str


def load_equivalents(path: Path = EQUIVALENTS_FILE) -> dict[str, Equivalent]:
    """``ID DIGEST  reason`` per line (``#`` comments); DIGEST is the mutated line's
    digest, so an entry whose line changed no longer applies and is reported stale."""
    out: dict[str, Equivalent] = {}
    if not path.is_file():
        return out
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or not re.fullmatch(r"[0-9a-f]{12}", parts[1]):
            raise ValueError(f"{path}:{number}: expected 'MUTANT-ID DIGEST reason', "
                             f"got {line!r}")
        out[parts[0]] = Equivalent(parts[0], parts[1], parts[2])
    return out


# --- running one mutant -------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    mutant: Mutant
    status: str          # killed, survived, equivalent, timeout, unconfirmed
    seconds: float = 0.0
    diff: str = ""
    failing: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    exit_code: int | None = None
    right_clause: bool | None = None
    note: str = ""
    #: How many cases the mutant's run selected (None: the whole suite), and how many
    #: made the SUT execute the mutated statement in the control run.
    cases_run: int | None = None
    cases_executing: int | None = None


def _copy_package(root: Path, dest: Path) -> Path:
    """A copy of the package under ``dest/juki_protocol``, its data linked, not copied."""
    pkg = dest / "juki_protocol"
    shutil.copytree(root, pkg, ignore=shutil.ignore_patterns("__pycache__", "_spec",
                                                             "_vectors"))
    for data in ("_spec", "_vectors"):
        if (root / data).exists():
            (pkg / data).symlink_to(root / data)
    for data in ("spec", "vectors"):
        if (root.parent / data).is_dir():
            (dest / data).symlink_to(root.parent / data)
    return dest


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill what is left of ``proc``'s session (the run and the nodes it launched)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _run_suite(tree: Path, out: Path, extra: list[str], timeout: float,
               cases: list[str] | None = None) -> tuple[int | None, list[dict[str, Any]]]:
    """``juki-conformance run`` with ``tree`` as the SUT's code, on ``cases`` only when
    given (``--case-list``); (exit code or None on timeout, the failing cases)."""
    cwd = tree / "cwd"
    cwd.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # this checkout
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if cases is not None:
        listed = out.with_name(out.name + "-cases.txt")
        listed.write_text("".join(f"{c}\n" for c in cases), encoding="utf-8")
        extra = [*extra, "--case-list", str(listed)]
    cmd = [sys.executable, "-m", "juki_conformance.cli", "run", "--quiet",
           "--sut-env", f"PYTHONPATH={tree}", "--out", str(out), *extra]
    # The run launches reference nodes as its children: in a session of its own, so
    # that a run out of time is killed with every node it launched (left running,
    # they would load the machine and slow, even time out, the mutants after it).
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, []
    finally:
        _kill_group(proc)
    done = subprocess.CompletedProcess(cmd, proc.returncode, stdout)
    failing: list[dict[str, Any]] = []
    report = out / "report.json"
    if report.is_file():
        data = json.loads(report.read_text(encoding="utf-8"))
        failing = [{"id": c["id"], "requirements": c["requirements"],
                    "verdict": c["verdict"]}
                   for c in data.get("cases", [])
                   if c["verdict"] in ("fail", "error", "inconclusive")]
        if data.get("harnessError"):
            failing.append({"id": "(harness)", "requirements": [],
                            "verdict": "error", "detail": str(data["harnessError"])[:300]})
    elif done.returncode != 0:
        failing.append({"id": "(run)", "requirements": [], "verdict": "error",
                        "detail": done.stdout.decode(errors="replace")[-300:]})
    return done.returncode, failing


def run_mutant(root: Path, mutant: Mutant, *, suite_args: list[str], timeout: float,
               requirement_files: dict[str, str], max_failures: int,
               cases: list[str] | None = None, reference: Path | None = None,
               groups: dict[str, tuple[str, ...]] | None = None) -> Outcome:
    """Apply ``mutant`` to a copy of the package, run the suite (only ``cases`` when
    given, in the suite's order), confirm a kill. A kill on a selection that left out
    a case run before a failing one in its group (``groups``: the control's) counts
    only if the unmutated copy under ``reference`` passes the failing cases run alone;
    when it does not, the mutant is judged by the whole suite instead."""
    start = time.monotonic()
    original = (root / mutant.module).read_text(encoding="utf-8")
    try:
        code = mutated_source(root, mutant)
    except ValueError as exc:
        return Outcome(mutant, "error", note=str(exc))
    with tempfile.TemporaryDirectory(prefix="juki-mutant-") as tmp:
        tree = _copy_package(root, Path(tmp))
        (tree / "juki_protocol" / mutant.module).write_text(code, encoding="utf-8")
        outcome = _judge(tree, Path(tmp), mutant, diff_line(original, code), suite_args,
                         timeout, max_failures, cases, reference, groups or {})
    outcome.seconds = time.monotonic() - start
    if outcome.status == "killed":
        outcome.right_clause = right_clause(mutant, outcome.failing, requirement_files)
    return outcome


def _judge(tree: Path, tmp: Path, mutant: Mutant, diff: str, suite_args: list[str],
           timeout: float, max_failures: int, cases: list[str] | None,
           reference: Path | None, groups: dict[str, tuple[str, ...]]) -> Outcome:
    outcome = Outcome(mutant, "survived", diff=diff,
                      cases_run=len(cases) if cases is not None else None)
    rc, failing = _run_suite(tree, tmp / "report",
                             ["--max-failures", str(max_failures), *suite_args],
                             timeout, cases)
    outcome.exit_code = rc
    if rc is None:
        outcome.status = "timeout"
        outcome.note = f"the suite did not finish in {timeout:.0f} s"
    elif rc == 3:
        # Only inconclusive cases: the suite could not tell; not a kill.
        outcome.failing = failing
        outcome.note = "inconclusive cases only (not counted as a kill)"
    elif rc != 0:
        outcome.failing = [f for f in failing if f["verdict"] != "inconclusive"]
        outcome.status = _confirm(tree, tmp / "confirm", failing, suite_args, timeout)
        if outcome.status == "killed" and cases is not None and reference is not None \
                and drops_earlier(groups, cases, _failing_ids(failing)) \
                and not _reference_passes(reference, tmp / "reference", failing,
                                          suite_args, timeout):
            # The failing cases fail on the unmutated code too when run without the
            # cases the selection left out: not the mutant's doing.
            again = _judge(tree, tmp / "suite", mutant, diff, suite_args, timeout,
                           max_failures, None, None, groups)
            again.note = ("judged by the whole suite: the selected cases that failed "
                          "fail the unmutated code too when run alone"
                          + (f"; {again.note}" if again.note else ""))
            return again
    return outcome


def _failing_ids(failing: list[dict[str, Any]]) -> list[str]:
    return [f["id"] for f in failing if not f["id"].startswith("(")]


def _confirm(tree: Path, out: Path, failing: list[dict[str, Any]], suite_args: list[str],
             timeout: float) -> str:
    """Run the failing cases once more: a kill must reproduce (a case that failed by
    chance on a loaded machine does not count)."""
    ids = _failing_ids(failing)
    if not ids:
        return "killed"          # the SUT could not even start: the hello check failed
    out.mkdir(parents=True, exist_ok=True)
    rc, again = _run_suite(tree, out, suite_args, timeout, ids)
    if rc is None or (rc in (1, 2) and again):
        return "killed"
    return "unconfirmed"


def _reference_passes(reference: Path, out: Path, failing: list[dict[str, Any]],
                      suite_args: list[str], timeout: float) -> bool:
    """Whether the unmutated copy passes the failing cases run alone."""
    out.mkdir(parents=True, exist_ok=True)
    return _run_suite(reference, out, suite_args, timeout, _failing_ids(failing))[0] == 0


def right_clause(mutant: Mutant, failing: list[dict[str, Any]],
                 requirement_files: dict[str, str]) -> bool | None:
    """Whether a failing case checks a requirement of the mutated module's spec files or
    one the mutated function cites; None when no failing case names a requirement."""
    reqs = {r for f in failing for r in f["requirements"]}
    if not reqs:
        return None
    files = set(clauses(mutant.module))
    return bool(reqs & set(mutant.cites)) or any(
        requirement_files.get(r) in files for r in reqs)


# --- the whole run ------------------------------------------------------------------


def wilson(killed: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for killed/total (95% by default)."""
    if total == 0:
        return 0.0, 1.0
    p = killed / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


class _Judged:
    """What :func:`score` reads of an outcome, rebuilt from a report's JSON."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.status = str(row["status"])
        self.right_clause = row.get("rightClause")
        self.note = str(row.get("note") or "")


def rescore(report: dict[str, Any],
            equivalents: dict[str, Equivalent] | None = None) -> dict[str, Any]:
    """``report`` with the equivalents file applied again (an entry whose digest still
    matches the mutated line makes its mutant equivalent; one that no longer matches is
    reported stale) and its summary recomputed: the hand classification follows a run."""
    equivalents = load_equivalents() if equivalents is None else equivalents
    stale = []
    for row in report["mutants"]:
        eq = equivalents.get(row["id"])
        if eq is None:
            continue
        if eq.digest != row["digest"]:
            stale.append(row["id"])
        elif row["status"] in ("survived", "unconfirmed", "equivalent"):
            row["status"], row["note"] = "equivalent", eq.reason
    report["staleEquivalents"] = stale
    report["summary"] = score([_Judged(r) for r in report["mutants"]])  # type: ignore[misc]
    report["perModule"] = {}
    for row in report["mutants"]:
        per = report["perModule"].setdefault(row["module"], {})
        per[row["status"]] = per.get(row["status"], 0) + 1
    return report


def score(outcomes: list[Outcome]) -> dict[str, Any]:
    """The headline figures of a run."""
    counted = [o for o in outcomes if o.status in ("killed", "timeout", "survived",
                                                   "unconfirmed")]
    killed = [o for o in counted if o.status in ("killed", "timeout")]
    low, high = wilson(len(killed), len(counted))
    judged = [o for o in killed if o.right_clause is not None]
    return {
        "sampled": len(outcomes),
        "equivalent": sum(o.status == "equivalent" for o in outcomes),
        "errors": sum(o.status == "error" for o in outcomes),
        "nonEquivalent": len(counted),
        "killed": len(killed),
        "timeouts": sum(o.status == "timeout" for o in outcomes),
        "survived": sum(o.status in ("survived", "unconfirmed") for o in outcomes),
        "unconfirmed": sum(o.status == "unconfirmed" for o in outcomes),
        "notExecuted": sum(o.status == "survived" and o.note.startswith("not executed")
                           for o in outcomes),
        "score": len(killed) / len(counted) if counted else None,
        "interval95": [low, high],
        "rightClause": sum(bool(o.right_clause) for o in judged),
        "clauseJudged": len(judged),
    }


def control(root: Path, tmp: Path, suite_args: list[str],
            timeout: float) -> tuple[CaseCoverage, float]:
    """The control run: the unmutated copy must pass through the very same path; it runs
    under coverage.py, which tells which lines each case makes the SUT execute. Its
    coverage and how long it took."""
    began = time.monotonic()
    tree = _copy_package(root, tmp / "control")
    rc, failing = _run_suite(tree, tmp / "report", suite_args + coverage_setup(tree),
                             timeout)
    if rc != 0:
        raise RuntimeError(f"the unmutated reference does not pass the selected cases "
                           f"(exit {rc}; failing {[f['id'] for f in failing][:5]}): a "
                           f"mutation score would mean nothing")
    return read_case_coverage(tree), time.monotonic() - began


def run(*, seed: int, size: int, jobs: int, modules: tuple[str, ...] = (),
        suite_args: list[str] | None = None, timeout: float | None = None,
        max_failures: int = 5, root: Path | None = None,
        equivalents: dict[str, Equivalent] | None = None,
        progress: Callable[[Outcome], None] | None = None,
        full_suite: bool = False) -> dict[str, Any]:
    """Sample, control, run; the report as a JSON-ready dict. Each mutant runs the
    cases :meth:`CaseCoverage.selection` gives, or the whole suite with ``full_suite``."""
    root = root or package_root()
    suite_args = list(suite_args or [])
    equivalents = load_equivalents() if equivalents is None else equivalents
    requirement_files = _requirement_files()
    everything = enumerate_mutants(root, target_modules(root, modules))
    picked, invalid = sample(everything, size, seed, root)
    with tempfile.TemporaryDirectory(prefix="juki-mutant-control-") as tmp:
        per_case, control_seconds = control(root, Path(tmp), suite_args, timeout or 900)
        # A clean copy stays for the reference side of confirmations.
        reference = _copy_package(root, Path(tmp) / "reference")
        limit = timeout or max(120.0, 4 * control_seconds)
        outcomes, stale = _run_picked(root, picked, per_case, equivalents, jobs, progress,
                                      full_suite=full_suite, reference=reference,
                                      suite_args=suite_args, timeout=limit,
                                      requirement_files=requirement_files,
                                      max_failures=max_failures)
    order = {m.id: i for i, m in enumerate(picked)}
    outcomes.sort(key=lambda o: order[o.mutant.id])
    executed_lines = sum(len(per_case.executed(m)) for m in per_case.lines)
    return {
        "seed": seed, "sampleSize": size, "population": len(everything),
        "invalidDrawn": invalid,
        "modules": sorted({m.module for m in everything}),
        "suiteArgs": suite_args, "controlSeconds": round(control_seconds, 1),
        "mutantTimeoutSeconds": round(limit, 1),
        "executedLines": executed_lines,
        "selection": "full suite" if full_suite else "cases that can reach the line",
        "controlCases": len(per_case.order()),
        "summary": score(outcomes), "staleEquivalents": stale,
        "perModule": _per_module(outcomes),
        "mutants": [_mutant_json(o) for o in outcomes],
    }


def _run_picked(root: Path, picked: list[Mutant], per_case: CaseCoverage,
                equivalents: dict[str, Equivalent], jobs: int,
                progress: Callable[[Outcome], None] | None, *, full_suite: bool,
                reference: Path, **judging: Any) -> tuple[list[Outcome], list[str]]:
    """The outcomes of the picked mutants, and the stale equivalence entries."""
    outcomes: list[Outcome] = []
    pending = []
    stale = []
    for m in picked:
        eq = equivalents.get(m.id)
        if eq is not None and eq.digest == m.line_digest:
            o = Outcome(m, "equivalent", note=eq.reason)
        elif not per_case.keys(m.module, m.statement):
            o = Outcome(m, "survived", note="not executed: no case makes the SUT run "
                                            "this line")
        else:
            o = None
        if o is not None:
            if eq is not None and o.status != "equivalent":
                stale.append(m.id)
            outcomes.append(o)
            if progress:
                progress(o)
        else:
            if eq is not None:
                stale.append(m.id)
            pending.append(m)

    def one(m: Mutant) -> Outcome:
        cases = None if full_suite else per_case.selection(m.module, m.statement)
        o = run_mutant(root, m, cases=cases, reference=reference, groups=per_case.groups,
                       **judging)
        o.cases_executing = len(per_case.executing(m.module, m.statement))
        o.cases_run = len(per_case.order()) if o.cases_run is None else o.cases_run
        return o

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(one, m) for m in pending]
        for fut in concurrent.futures.as_completed(futures):
            o = fut.result()
            outcomes.append(o)
            if progress:
                progress(o)
    return outcomes, stale


def _requirement_files() -> dict[str, str]:
    from juki_protocol.resources import spec_dir
    data = json.loads((spec_dir() / "requirements.json").read_text(encoding="utf-8"))
    return {r["id"]: r["file"] for r in data["requirements"]}


def _per_module(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for o in outcomes:
        row = out.setdefault(o.mutant.module, {})
        row[o.status] = row.get(o.status, 0) + 1
    return dict(sorted(out.items()))


def _mutant_json(o: Outcome) -> dict[str, Any]:
    m = o.mutant
    return {"id": m.id, "digest": m.line_digest, "module": m.module, "line": m.line,
            "function": m.function, "operator": m.operator, "status": o.status,
            "diff": o.diff, "seconds": round(o.seconds, 1), "exitCode": o.exit_code,
            "failing": o.failing, "rightClause": o.right_clause, "note": o.note,
            "casesRun": o.cases_run, "casesExecuting": o.cases_executing}
