"""One mutant against a few cases: does a case written for it kill it?

``juki-conformance mutation`` draws a sample and runs the whole suite against each mutant.
A case written for one surviving mutant (benchmarks/mutation/missing-cases.txt) is
proved differently: that mutant alone, judged by that case alone. Its line in the
backlog names it (``MODULE:LINE:COLUMN:OPERATOR DIGEST``); :func:`find` finds it in the
code as it is now, following the line when code above it moved (same module, operator,
column and mutated line's digest, the nearest line), and :func:`check` runs it through
:func:`juki_conformance.mutation.run_mutant`: the package copied, the mutant applied to
the copy, ``juki-conformance run --cases ...`` with the copy as the SUT only, a kill
confirmed by running the failing cases again.

``python tools/mutant_check.py 'codec/der.py:58:14:core/AddNot 6b450cdd8a41' --cases 'der/*'``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from juki_conformance.mutation import (
    Mutant,
    Outcome,
    enumerate_mutants,
    package_root,
    run_mutant,
)
from juki_protocol.resources import spec_dir


def parse_line(line: str) -> tuple[str, str | None]:
    """(mutant id, digest or None) of a backlog line: ``ID [DIGEST] [scenario...]``."""
    parts = line.split()
    if not parts or parts[0].count(":") < 3:
        raise ValueError(f"not a mutant line (MODULE:LINE:COLUMN:OPERATOR [DIGEST]): {line!r}")
    digest = parts[1] if len(parts) > 1 and len(parts[1]) == 12 else None
    return parts[0], digest


def find(mutant_id: str, digest: str | None = None, root: Path | None = None) -> Mutant:
    """The mutant named ``mutant_id`` in the code as it is now. With ``digest``, the
    mutated line must still read the same; when the line moved, the mutant of the same
    operator and column on the nearest line with that digest is taken. ValueError when
    none is left (the line changed: the backlog entry is stale)."""
    root = root or package_root()
    module, line, column, operator = mutant_id.rsplit(":", 3)
    mutants = [m for m in enumerate_mutants(root, [module])
               if m.operator == operator and m.column == int(column)]
    exact = [m for m in mutants if m.line == int(line)
             and (digest is None or m.line_digest == digest)]
    if exact:
        return exact[0]
    moved = sorted((m for m in mutants if digest is not None and m.line_digest == digest),
                   key=lambda m: abs(m.line - int(line)))
    if moved:
        return moved[0]
    raise ValueError(f"{mutant_id}: no such mutant in {module} now (the line changed)")


def reanchor(path: Path, root: Path | None = None) -> tuple[list[str], list[str]]:
    """Follow the entries of an equivalents file (``ID DIGEST reason``) whose line moved
    (:func:`find`), rewriting their ids in place; returns (moved ids, stale ids). A
    stale entry (its line changed) is left as it is, to be judged again by hand."""
    moved: list[str] = []
    stale: list[str] = []
    out: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            out.append(raw)
            continue
        mutant_id, digest, reason = line.split(None, 2)
        try:
            now = find(mutant_id, digest, root).id
        except ValueError:
            stale.append(mutant_id)
            now = mutant_id
        if now != mutant_id:
            moved.append(mutant_id)
        out.append(f"{now} {digest}  {reason}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return moved, stale


def _requirement_files() -> dict[str, str]:
    doc = json.loads((spec_dir() / "requirements.json").read_text(encoding="utf-8"))
    return {r["id"]: r["file"] for r in doc["requirements"]}


def check(mutant: Mutant, cases: list[str], *, timeout: float = 600.0,
          root: Path | None = None) -> Outcome:
    """``mutant`` judged by the cases matching ``cases`` (globs): ``status`` is
    ``killed`` (confirmed), ``survived``, ``unconfirmed``, ``timeout`` or ``error``."""
    if not cases:
        raise ValueError("name the cases that should kill the mutant (--cases)")
    args = [a for glob in cases for a in ("--cases", glob)]
    return run_mutant(root or package_root(), mutant, suite_args=args, timeout=timeout,
                      requirement_files=_requirement_files(), max_failures=len(cases) + 50)


def main(argv: list[str] | None = None) -> int:
    """Command line: each mutant line (or a file of them, ``@FILE``) against ``--cases``;
    one line per mutant; exit 0 when every one was killed."""
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--reanchor"]:     # after code moved: follow the equivalents' lines
        from juki_conformance.mutation import EQUIVALENTS_FILE
        followed, stale = reanchor(EQUIVALENTS_FILE)
        print(f"{len(followed)} entries followed their line; stale (judge again): "
              f"{', '.join(stale) or 'none'}")
        return 1 if stale else 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mutants", nargs="+",
                        help="'MODULE:LINE:COLUMN:OPERATOR [DIGEST]', or @FILE of such lines")
    parser.add_argument("--cases", action="append", default=[], required=True,
                        help="a case id glob (repeatable)")
    parser.add_argument("--timeout", type=float, default=600.0)
    opts = parser.parse_args(argv)
    lines: list[str] = []
    for arg in opts.mutants:
        if arg.startswith("@"):
            text = Path(arg[1:]).read_text(encoding="utf-8").splitlines()
            lines += [t for t in text if t.strip() and not t.startswith("#")]
        else:
            lines.append(arg)
    all_killed = True
    for line in lines:
        mutant_id, digest = parse_line(line)
        try:
            mutant = find(mutant_id, digest)
        except ValueError as exc:
            print(f"stale     {mutant_id}: {exc}", flush=True)
            all_killed = False
            continue
        outcome = check(mutant, opts.cases, timeout=opts.timeout)
        moved = "" if mutant.id == mutant_id else f" (now {mutant.id})"
        failing = ", ".join(f"{f['id']} [{f['verdict']}]" for f in outcome.failing[:5])
        print(f"{outcome.status:<9} {mutant_id}{moved} in {outcome.seconds:.0f} s"
              + (f"; failing: {failing}" if failing else "")
              + (f"; {outcome.note}" if outcome.note else ""), flush=True)
        all_killed &= outcome.status == "killed"
    return 0 if all_killed else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
