"""The human summary of a mutation report (:mod:`juki_conformance.mutation`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def summary_text(report: dict[str, Any]) -> Iterator[str]:
    """The human summary of a report."""
    s = report["summary"]
    if s["score"] is None:
        yield "mutation score: no non-equivalent mutant in the sample"
    else:
        low, high = s["interval95"]
        yield (f"mutation score: {s['killed']} of {s['nonEquivalent']} non-equivalent "
               f"mutants killed = {100 * s['score']:.1f}% (95% interval "
               f"{100 * low:.1f}-{100 * high:.1f}%, Wilson); seed {report['seed']}, "
               f"{s['sampled']} sampled of {report['population']}, "
               f"{s['equivalent']} equivalent")
    if s["clauseJudged"]:
        yield (f"right clause: {s['rightClause']} of {s['clauseJudged']} kills "
               f"({100 * s['rightClause'] / s['clauseJudged']:.1f}%) fail a case checking "
               f"the mutated module's spec clause")
    if s.get("notExecuted"):
        yield (f"survivors on lines no case makes the SUT execute: {s['notExecuted']} of "
               f"{s['survived']}")
    if s["timeouts"] or s["unconfirmed"] or s["errors"]:
        yield (f"timeouts {s['timeouts']} (counted killed), unconfirmed kills "
               f"{s['unconfirmed']} (counted survived), errors {s['errors']} (not counted)")
    for m in report["mutants"]:
        if m["status"] in ("survived", "unconfirmed"):
            yield f"  survived {m['id']} {m['digest']} in {m['function']}()"
            for line in m["diff"].splitlines():
                yield f"      {line}"
    for stale in report["staleEquivalents"]:
        yield f"  stale equivalence entry (the line changed): {stale}"


__all__ = ["summary_text"]
