"""Which cases can kill a mutant: the control run's coverage of the SUT, per case.

:mod:`juki_conformance.mutation` runs the unmutated copy of the reference once (the
control) with every SUT process under coverage.py. Here that run is made to tell, for
each line, *which cases* made the SUT execute it, so that a mutant runs only the cases
that can kill it (:func:`CaseCoverage.selection`).

How a line is tied to cases, without the runner and the SUT speaking of it:

- ``juki-conformance run --timeline FILE`` writes a mark on the system's monotonic clock
  (which every process of the machine shares) just before each SUT starts, before each
  case, and before each SUT stops (:class:`juki_conformance.runner.Timeline`). Between
  two marks the runner does one thing: starts a SUT, runs one case, or stops a SUT.
- In each SUT process (:data:`SITECUSTOMIZE`) a thread switches coverage.py's dynamic
  context every :data:`TICK` seconds to a label holding the process and the time, and
  writes the time of each switch (and of a normal exit) to a file of its own: a
  context is a slice of time in one process, from its switch to the next one; the last
  slice of a process killed without its exit is taken to last :data:`LAST_SLICE`.
- A line executed in a slice is tied to every mark whose span overlaps the slice widened
  by :data:`MARGIN` on each side: a case's mark to that case; a start or stop mark to
  the whole group of cases that SUT served (what a process runs at start or stop, every
  run of the group runs); a slice before the first mark or after the last, or one that
  cannot be placed, to the whole suite. Widening and group marks only ever add cases.

The adapter (codec mode) is one long-lived process and each reference node (node mode,
one per role) another, restarted with kill -9 by some cases: the slices place their work
by time, whatever process did it, and what a process restarted within a case runs at its
start is tied to that case, the one that restarted it. The switching thread makes
coverage.py write what the process ran every slice, so a process killed with kill -9
loses at most its last slice (the unsliced control lost up to half a second).
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import sqlite3
from pathlib import Path

#: Seconds between two switches of the dynamic context in a SUT process.
TICK = 0.01
#: Seconds by which a slice is widened on each side before it is placed among the
#: marks: the switch itself takes a moment, and a process may wait for the interpreter
#: lock; a wider slice only ties a line to more cases.
MARGIN = 0.1
#: Seconds a slice is taken to last when its process wrote no later switch (it ended).
LAST_SLICE = 1.0
#: What a line run outside any case or group is tied to: the whole suite.
EVERYTHING = "*"

SITECUSTOMIZE = """\
import atexit
import os
import threading
import time

import coverage

coverage.process_startup()
# coverage.py may have started already (its own .pth file does when the variable is set)
_cov = getattr(coverage.process_startup, "coverage", None)
_TOKEN = f"{os.getpid()}-{os.urandom(4).hex()}"


def _switch(ticks):
    now = time.monotonic()
    try:
        _cov.switch_context(f"{_TOKEN} {now:.4f}")
    except Exception:
        return
    ticks.write(f"{now:.4f}\\n")


def _slices(ticks):
    while True:
        time.sleep(TICK)
        _switch(ticks)


if _cov is not None:
    _ticks = open(os.path.join(COV_DIR, f"ticks.{_TOKEN}"), "a", buffering=1)
    _switch(_ticks)          # nothing of the SUT runs before its first slice
    threading.Thread(target=_slices, args=(_ticks,), daemon=True).start()
    # The end of the last slice at a normal exit (after the SUT's own exit handlers,
    # which run first; coverage.py's, registered before, saves the slice after).
    atexit.register(lambda: _ticks.write(f"{time.monotonic():.4f}\\n"))
"""


def coverage_setup(tree: Path) -> list[str]:
    """Make the SUT's processes of ``tree`` record coverage in slices of time
    (sitecustomize runs coverage.process_startup in every Python process with that tree
    on its path, :data:`SITECUSTOMIZE`); the arguments of ``juki-conformance run`` that
    pass the setting to the SUT and write the timeline."""
    import coverage  # noqa: F401  (fail early, in the runner, when it is missing)
    cov = tree / "cov"
    cov.mkdir()
    rc = tree / "coveragerc"
    rc.write_text(f"[run]\nparallel = true\nsigterm = true\n"
                  f"data_file = {cov / 'data'}\n"
                  f"source = {tree / 'juki_protocol'}\n", encoding="utf-8")
    (tree / "sitecustomize.py").write_text(
        f"COV_DIR = {str(cov)!r}\nTICK = {TICK!r}\n" + SITECUSTOMIZE, encoding="utf-8")
    return ["--sut-env", f"COVERAGE_PROCESS_START={rc}", "--timeline", str(tree / "timeline")]


@dataclasses.dataclass(frozen=True)
class Mark:
    t: float
    group: str
    kind: str           # start, case, stop, end
    case: str


def read_timeline(path: Path) -> list[Mark]:
    """The marks of a ``--timeline`` file, in time order."""
    marks = [Mark(float(d["t"]), str(d["group"]), str(d["mark"]), str(d["case"]))
             for d in (json.loads(line) for line in
                       path.read_text(encoding="utf-8").splitlines() if line.strip())]
    return sorted(marks, key=lambda m: m.t)


def _key(mark: Mark | None) -> str:
    """What a mark's span ties a line to (see the module docstring)."""
    if mark is None or mark.kind == "end":
        return EVERYTHING
    if mark.kind == "case":
        return f"case:{mark.case}"
    return f"group:{mark.group}"


def keys_between(marks: list[Mark], start: float, end: float,
                 margin: float = 0.0) -> set[str]:
    """The keys of every mark whose span (from it to the next mark) overlaps
    [``start`` - ``margin``, ``end`` + ``margin``]. Before the first mark and after
    ``end``, the whole suite (:data:`EVERYTHING`), but only for a slice that itself
    starts there: no SUT process runs then, and a slice that reaches there only by
    its margin, or by the length guessed for a process's last slice, ran before."""
    times = [m.t for m in marks]
    first = bisect.bisect_right(times, start - margin) - 1
    last = bisect.bisect_right(times, end + margin) - 1
    own = bisect.bisect_right(times, start) - 1
    keys = set()
    for i in range(first, last + 1):
        outside = i < 0 or marks[i].kind == "end"
        if not outside or i == own:
            keys.add(_key(marks[i] if i >= 0 else None))
    return keys or {EVERYTHING}


def _ticks(cov: Path) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for path in cov.glob("ticks.*"):
        times = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                times.append(float(line))
            except ValueError:       # a line cut by kill -9
                pass
        out[path.name.removeprefix("ticks.")] = sorted(times)
    return out


@dataclasses.dataclass(frozen=True)
class CaseCoverage:
    """What the control run executed, per module, line and case."""

    #: The cases of each group (one SUT's life), in the order they ran.
    groups: dict[str, tuple[str, ...]]
    #: Module (relative to the package) -> key (``case:ID``, ``group:NAME`` or
    #: :data:`EVERYTHING`) -> the lines it executed, as a bit set (bit n: line n).
    lines: dict[str, dict[str, int]]

    def keys(self, module: str, line: int) -> set[str]:
        """The keys that executed ``line`` of ``module``."""
        return {k for k, bits in self.lines.get(module, {}).items() if bits >> line & 1}

    def executed(self, module: str) -> set[int]:
        """The lines of ``module`` that anything executed."""
        bits = 0
        for b in self.lines.get(module, {}).values():
            bits |= b
        return {n for n in range(bits.bit_length()) if bits >> n & 1}

    def order(self) -> list[str]:
        """Every case, in the order the control ran them."""
        return [c for cases in self.groups.values() for c in cases]

    def executing(self, module: str, line: int) -> list[str]:
        """The cases that made the SUT execute ``line``, in the suite's order: each case
        whose span ran it, every case of a group whose SUT ran it as it started or
        stopped, every case when it ran outside any."""
        keys = self.keys(module, line)
        return [c for g, cases in self.groups.items() for c in cases
                if EVERYTHING in keys or f"group:{g}" in keys or f"case:{c}" in keys]

    def selection(self, module: str, line: int) -> list[str] | None:
        """The cases a mutant of ``line`` runs, in the suite's order: in each group (one
        SUT's life) where a case executed the line, that case and every later case of
        the group, since what the mutated line did may stay in the SUT's memory or
        store and fail a later case that never runs the line; a whole group where the
        line ran as its SUT started or stopped. None for the whole suite (a line run
        outside any case or group); [] when nothing executed it."""
        keys = self.keys(module, line)
        if EVERYTHING in keys:
            return None
        chosen: set[str] = set()
        for group, cases in self.groups.items():
            if f"group:{group}" in keys:
                chosen.update(cases)
                continue
            first = next((i for i, c in enumerate(cases) if f"case:{c}" in keys), None)
            if first is not None:
                chosen.update(cases[first:])
        return [c for c in self.order() if c in chosen]


def drops_earlier(groups: dict[str, tuple[str, ...]], selection: list[str],
                  ids: list[str]) -> bool:
    """Whether ``selection`` leaves out a case that ran before one of ``ids`` in the
    same group (one SUT's life): only then can a case of ``ids`` fail for want of what
    an earlier case did, rather than because of the mutant."""
    chosen = set(selection)
    for cases in groups.values():
        for i, case in enumerate(cases):
            if case in ids and not chosen.issuperset(cases[:i]):
                return True
    return False


def read_case_coverage(tree: Path) -> CaseCoverage:
    """The per-case coverage of a control run made with :func:`coverage_setup`."""
    marks = read_timeline(tree / "timeline")
    groups: dict[str, list[str]] = {}
    for m in marks:
        if m.kind == "case":
            groups.setdefault(m.group, []).append(m.case)
    cov = tree / "cov"
    ticks = _ticks(cov)
    pkg = (tree / "juki_protocol").resolve()
    lines: dict[str, dict[str, int]] = {}
    for part in sorted(cov.glob("data.*")):
        try:
            db = sqlite3.connect(f"file:{part}?mode=ro", uri=True)
            files = dict(db.execute("select id, path from file"))
            contexts = dict(db.execute("select id, context from context"))
            rows = db.execute("select file_id, context_id, numbits from line_bits").fetchall()
            db.close()
        except sqlite3.Error:   # a file cut by kill -9 in the middle of a save
            continue
        placed: dict[int, set[str]] = {}
        for cid, label in contexts.items():
            placed[cid] = _place(label, ticks, marks)
        for file_id, cid, numbits in rows:
            path = Path(files[file_id]).resolve()
            if pkg not in path.parents:
                continue
            module = lines.setdefault(path.relative_to(pkg).as_posix(), {})
            bits = int.from_bytes(numbits, "little")
            for key in placed[cid]:
                module[key] = module.get(key, 0) | bits
    return CaseCoverage({g: tuple(c) for g, c in groups.items()}, lines)


def _place(label: str, ticks: dict[str, list[float]], marks: list[Mark]) -> set[str]:
    """The keys of the slice named ``label`` (``TOKEN START``)."""
    token, _, start_text = label.partition(" ")
    try:
        start = float(start_text)
    except ValueError:              # the static context: not a slice
        return {EVERYTHING}
    times = ticks.get(token, [])
    later = bisect.bisect_right(times, start)
    end = times[later] if later < len(times) else start + LAST_SLICE
    return keys_between(marks, start, end, MARGIN)
