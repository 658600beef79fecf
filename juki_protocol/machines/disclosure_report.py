"""The yearly report of a provider's disclosure log: counts per requesting body and
purpose, for the operator's publication. No requirement of spec/ asks a node for it and
no node runs it: it reads records of :mod:`juki_protocol.machines.disclosure`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from juki_protocol.machines.disclosure import PROVIDED, DisclosureRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportLine:
    """One line of the yearly report: per body and purpose."""

    requests: int
    persons: int
    refusals: int


def yearly_report(records: Iterable[DisclosureRecord],
                  year: int) -> dict[tuple[str, str], ReportLine]:
    """Counts per (body code, purpose code) of the requests of ``year`` (UTC)."""
    out: dict[tuple[str, str], ReportLine] = {}
    for r in records:
        if r.time.year != year:
            continue
        key = (r.body.code, r.purpose_code)
        line = out.get(key, ReportLine(requests=0, persons=0, refusals=0))
        refused = r.outcome != PROVIDED
        out[key] = ReportLine(requests=line.requests + 1,
                              persons=line.persons + len(r.resident_keys),
                              refusals=line.refusals + int(refused))
    return out


__all__ = ["ReportLine", "yearly_report"]
