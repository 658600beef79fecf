"""Known failures (``juki-conformance run --known-failures FILE``): case ids a vendor
expects to fail for now, so that CI stays green on them and red on anything new.

Two forms. Text: one case id per line, ``#`` starts a comment. JSON (the file begins
with ``[``): a list of objects ``{"id": ..., "reason": ..., "expires": "YYYY-MM-DD"}``,
``reason`` required, ``expires`` optional. An entry whose expiry date has passed is not
honoured: the case counts as a failure again and the run says so, so that a known
failure cannot be forgotten.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KnownFailure:
    """One entry: the case id (or glob), why it fails, until when it may."""

    id: str
    reason: str = ""
    expires: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires


def _entry(item: object, where: str) -> KnownFailure:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected an object with id, reason and expires")
    unknown = set(item) - {"id", "reason", "expires"}
    if unknown:
        raise ValueError(f"{where}: unknown field {sorted(unknown)[0]!r} (id, reason, "
                         f"expires)")
    cid, reason, expires = item.get("id"), item.get("reason"), item.get("expires")
    if not isinstance(cid, str) or not cid.strip():
        raise ValueError(f"{where}: 'id' must be a case id")
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"{where} ({cid}): 'reason' is required: say why it fails")
    date = None
    if expires is not None:
        try:
            date = dt.date.fromisoformat(expires) if isinstance(expires, str) else None
        except ValueError:
            date = None
        if date is None:
            raise ValueError(f"{where} ({cid}): 'expires' must be a date YYYY-MM-DD, "
                             f"not {expires!r}")
    return KnownFailure(cid.strip(), reason.strip(), date)


def load(path: Path) -> list[KnownFailure]:
    """The entries of ``path`` (ValueError naming the file, entry and field)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--known-failures {path}: not readable UTF-8 text: {exc}"
                         ) from None
    if text.lstrip().startswith(("[", "{")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--known-failures {path}: not JSON: {exc}") from None
        if not isinstance(doc, list):
            raise ValueError(f"--known-failures {path}: expected a JSON list of entries")
        return [_entry(item, f"--known-failures {path}, entry {i + 1}")
                for i, item in enumerate(doc)]
    return [KnownFailure(line) for raw in text.splitlines()
            if (line := raw.split("#")[0].strip())]


@dataclass(frozen=True)
class Honoured:
    """What a run does with the entries: the ids it treats as known, and the expired
    entries it reports."""

    entries: tuple[KnownFailure, ...]
    expired: tuple[KnownFailure, ...]

    def ids(self) -> frozenset[str]:
        """The case ids that a live entry names."""
        return frozenset(e.id for e in self.entries)

    def reason(self, case_id: str) -> str:
        for e in self.entries:
            if e.id == case_id:
                return e.reason + (f" (until {e.expires.isoformat()})" if e.expires
                                   else "")
        return ""


def honour(entries: list[KnownFailure], today: dt.date) -> Honoured:
    live = tuple(e for e in entries if not e.expired(today))
    return Honoured(live, tuple(e for e in entries if e.expired(today)))


__all__ = ["Honoured", "KnownFailure", "honour", "load"]
