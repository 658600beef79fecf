"""The disclosure log of a provider (R-30-7-3-12): who received whose identity info.

Theory of operation
-------------------
Every provision request a provider answers, provided or refused, is one frozen
:class:`DisclosureRecord`, appended *before* the response leaves. The log does not hold
resident codes in the clear: each provided code is stored as a keyed digest
(HMAC-SHA256 under the log's key), so the log answers the resident's disclosure request
(:meth:`DisclosureLog.for_resident`) and the yearly report
(:func:`juki_protocol.machines.disclosure_report.yearly_report`) without listing codes
to whoever reads it. A record
of the centre acting on a prefecture's delegation names that prefecture (R-30-10-1-06),
so that the provision made in a prefecture's name can be reported to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from juki_protocol.messages.provision import LegalBasis, RequestingBody

#: The outcome of a request that was served (else the refusal's value).
PROVIDED = "provided"


@dataclass(frozen=True, slots=True, kw_only=True)
class DisclosureRecord:
    """One provision request as logged (R-30-7-3-12).

    time: when it was answered; message_id: the request's message id; body: the
    requesting body; legal_basis, purpose_code, operator_id: as requested; outcome:
    ``provided`` or the refusal's value; resident_keys: the keyed digests of the resident
    codes provided (masked: the codes themselves are not in the log);
    delegating_prefecture: the prefecture on whose delegation the centre answered
    (Art. 30-10(1), R-30-10-1-06), None for a provider's own provision.
    """

    time: dt.datetime
    message_id: bytes
    body: RequestingBody
    legal_basis: LegalBasis
    purpose_code: str
    operator_id: str
    outcome: str
    resident_keys: tuple[str, ...] = ()
    delegating_prefecture: str | None = None


class DisclosureLog:
    """The provider's append-only disclosure log (R-30-7-3-12); kept at least as long as
    the identity info it describes (this in-memory log never drops a record)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the log key must have at least 16 octets")
        self._key = key
        self._records: list[DisclosureRecord] = []
        self._last: dt.datetime | None = None

    @property
    def records(self) -> tuple[DisclosureRecord, ...]:
        """Every record, oldest first."""
        return tuple(self._records)

    def key_of(self, resident_code: str) -> str:
        """The masked form of ``resident_code`` stored in the log."""
        return hmac.new(self._key, resident_code.encode("ascii"),
                        hashlib.sha256).hexdigest()[:32]

    def append(self, record: DisclosureRecord) -> None:
        """Append ``record``; records are never changed or removed."""
        last = self._records[-1].time if self._records else self._last
        if last is not None and record.time < last:
            raise ValueError("disclosure records are appended in time order")
        self._records.append(record)

    def take(self) -> tuple[DisclosureRecord, ...]:
        """The records appended since the last take, handed over to durable storage
        (a node's log is its database): this log forgets them, keeping only the time
        order for the records that follow."""
        taken = tuple(self._records)
        if taken:
            self._last = taken[-1].time
        self._records.clear()
        return taken

    def for_resident(self, resident_code: str) -> tuple[DisclosureRecord, ...]:
        """Every provision of this resident's identity info: the resident's disclosure
        request (which bodies received my info, when, for what)."""
        key = self.key_of(resident_code)
        return tuple(r for r in self._records
                     if r.outcome == PROVIDED and key in r.resident_keys)


__all__ = ["PROVIDED", "DisclosureLog", "DisclosureRecord"]
