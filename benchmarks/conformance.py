"""Conformance benchmark: the wall time of the whole suite against the reference
implementation (``juki-conformance run``, in a subprocess, reports in a temporary
directory deleted afterwards)."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ConformanceFigures:
    """Wall time and the runner's summary line."""

    seconds: float
    cases: int
    summary: str
    returncode: int


def run_conformance_benchmark(*extra: str) -> ConformanceFigures:
    """Run ``juki-conformance run`` (with ``extra`` options) once and time it."""
    with tempfile.TemporaryDirectory(prefix="juki-bench-conformance-") as tmp:
        cmd = [sys.executable, "-c", "from juki_conformance.cli import main; main()", "run",
               "--out", str(Path(tmp) / "report"), "--quiet", *extra]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
    found = re.search(r"^(\d+) cases: .*$", proc.stdout, re.MULTILINE)
    return ConformanceFigures(seconds=seconds, cases=int(found.group(1)) if found else 0,
                              summary=found.group(0) if found else proc.stdout[-300:],
                              returncode=proc.returncode)


def report(fig: ConformanceFigures, what: str = "the whole suite") -> list[str]:
    """The lines printed by ``benchmarks.run``."""
    return [f"conformance: {what} against the reference implementation: "
            f"{fig.cases} cases in {fig.seconds:.1f} s wall time (exit {fig.returncode})",
            f"  {fig.summary}"]


if __name__ == "__main__":
    print("\n".join(report(run_conformance_benchmark())))
