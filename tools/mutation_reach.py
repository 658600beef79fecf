#!/usr/bin/env python3
"""Which of the reference's mutants no conformance case can reach.

Runs the mutation command's control run once (the whole suite under coverage.py, about
three minutes), enumerates every mutant of the population, and lists those whose
statement no case makes the SUT execute: each such mutant survives every sample that
draws it. Grouped by module and function, the largest groups first.

Usage: python tools/mutation_reach.py [--module PREFIX ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

from juki_conformance.mutation import control, enumerate_mutants, package_root, target_modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", default=[],
                        help="only modules whose path starts with this")
    parser.add_argument("--out", type=Path, help="also write the list to this file")
    args = parser.parse_args(argv)
    root = package_root()
    everything = enumerate_mutants(root, target_modules(root, tuple(args.module)))
    with tempfile.TemporaryDirectory(prefix="juki-reach-") as tmp:
        per_case, seconds = control(root, Path(tmp), [], 900)
    unreached = [m for m in everything if not per_case.keys(m.module, m.statement)]
    groups: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    for m in unreached:
        groups[(m.module, m.function)].append(m.line)
    lines = [f"{len(unreached)} of {len(everything)} mutants "
             f"({100 * len(unreached) / len(everything):.1f}%) sit on statements no case "
             f"makes the SUT execute (control run {seconds:.0f} s)"]
    for (module, function), at in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"{len(at):5d}  {module}  {function}()  lines "
                     f"{','.join(str(n) for n in sorted(set(at)))}")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
