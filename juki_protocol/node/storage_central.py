"""The tables of a prefecture and the designated centre (identity info, what was
applied, relays, the disclosure log) and of an agency (its provisions): the part of
:class:`~juki_protocol.node.storage.NodeStorage` these roles use, as a mixin over the
node's :class:`~juki_protocol.node.sql.Database`. Every method queries: nothing here
loads the residents (spec/node.md section 2)."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager

from juki_protocol.machines.provision import DisclosureRecord
from juki_protocol.machines.stores import HeldIdentity
from juki_protocol.messages.base import from_form
from juki_protocol.messages.common import ChangeReason, Sex
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.provision import LegalBasis, RequestingBody
from juki_protocol.node.sql import Database
from juki_protocol.node.storage_rows import (
    IDENTITY_COLUMNS,
    Pending,
    held_of_row,
    identity_row,
    parse_stamp,
    stamp,
    update_of_row,
)


class CentralTables:
    """Prefecture, national and agency tables (mixed into NodeStorage)."""

    role: str
    db: Database

    @property
    def conn(self) -> Database:
        return self.db

    def transaction(self) -> AbstractContextManager[Database]:
        return self.db.transaction()

    def retire(self, codes: set[str]) -> None:
        """Record retired resident codes (inside a transaction)."""
        self.conn.executemany("INSERT INTO retired_codes VALUES (?) ON CONFLICT DO NOTHING",
                              [(c,) for c in sorted(codes)])

    def retired(self) -> set[str]:
        """Every retired resident code."""
        return {r[0] for r in self.conn.execute("SELECT resident_code FROM retired_codes")}

    def scrub(self) -> bool:
        """See :meth:`NodeStorage.scrub`."""
        return self.db.scrub()

    # Prefecture and national -------------------------------------------------------

    def apply_identity(self, source: str, sequence: int, message_id: bytes,
                       update: IdentityInfoUpdate, now: dt.datetime) -> int:
        """Store one applied update or relay as a new version of identity info, as
        :meth:`~juki_protocol.machines.memory_store.IdentityStore.apply` does in memory;
        return the version's row id."""
        info = update.identity_info
        old_key = update.previous_resident_code or info.resident_code
        self.conn.execute("UPDATE identity_info SET superseded_at = ? WHERE resident_code = ?"
                          " AND superseded_at IS NULL", (stamp(now), old_key))
        erased = stamp(now) if update.operation is UpdateOperation.ERASE else None
        cur = self.conn.execute(
            f"INSERT INTO identity_info ({', '.join(IDENTITY_COLUMNS)}, stored_at, "
            f"erased_at) VALUES ({', '.join('?' * (len(IDENTITY_COLUMNS) + 2))}) "
            f"RETURNING id", (*identity_row(update), stamp(now), erased))
        row_id = cur.fetchone()[0]
        self.conn.execute("INSERT INTO applied VALUES (?, ?, ?, ?, ?)",
                          (source, sequence, message_id, row_id, stamp(now)))
        self.conn.execute("INSERT INTO last_sequence VALUES (?, ?) ON CONFLICT (source) "
                          "DO UPDATE SET last = excluded.last", (source, sequence))
        if update.change_info.change_reason is ChangeReason.RESIDENT_CODE_CHANGE \
                and update.previous_resident_code is not None:
            self.retire({update.previous_resident_code})
        return int(row_id)

    def add_relay(self, relay_sequence: int, message_id: bytes, identity_id: int) -> None:
        """Queue the relay of an applied update (prefecture, inside a transaction)."""
        self.conn.execute("INSERT INTO relay_outbox VALUES (?, ?, ?, 'pending')",
                          (relay_sequence, message_id, identity_id))

    def pending_relays(self) -> tuple[int, list[Pending]]:
        """The last relay number used and the unacknowledged relays' updates."""
        last = self.conn.execute("SELECT COALESCE(MAX(relay_sequence), 0) FROM "
                                 "relay_outbox").fetchone()[0]
        rows = self.conn.execute(
            "SELECT r.relay_sequence, r.message_id, i.* FROM relay_outbox r JOIN "
            "identity_info i ON i.id = r.identity_id WHERE r.state = 'pending' "
            "ORDER BY r.relay_sequence")
        return int(last), [Pending(r["relay_sequence"], bytes(r["message_id"]),
                                   update_of_row(r)) for r in rows]

    def current_held(self, resident_code: str) -> HeldIdentity | None:
        """The current version of ``resident_code`` as the machines hold it (index
        ``identity_current``)."""
        row = self.conn.execute("SELECT * FROM identity_info WHERE resident_code = ? AND "
                                "superseded_at IS NULL", (resident_code,)).fetchone()
        return None if row is None else held_of_row(row)

    def current_codes(self) -> list[str]:
        """Every resident code held as current, in order (a scan)."""
        return [r[0] for r in self.conn.execute(
            "SELECT resident_code FROM identity_info WHERE superseded_at IS NULL "
            "ORDER BY resident_code")]

    def superseded(self) -> list[HeldIdentity]:
        """Every superseded version still held, oldest first (a scan)."""
        return [held_of_row(r) for r in self.conn.execute(
            "SELECT * FROM identity_info WHERE superseded_at IS NOT NULL ORDER BY id")]

    def is_retired(self, resident_code: str) -> bool:
        """Whether ``resident_code`` was retired (never reused)."""
        return self.conn.execute("SELECT 1 FROM retired_codes WHERE resident_code = ?",
                                 (resident_code,)).fetchone() is not None

    def last_sequences(self) -> dict[str, int]:
        """The last number applied per source (one row per sender)."""
        return {r[0]: int(r[1]) for r in self.conn.execute("SELECT * FROM last_sequence")}

    def applied_update(self, source: str, sequence: int) -> IdentityInfoUpdate | None:
        """The update applied under ``source``'s number ``sequence``, while its version
        is held (R-30-5-0-06)."""
        row = self.conn.execute(
            "SELECT i.* FROM applied a JOIN identity_info i ON i.id = a.identity_id "
            "WHERE a.source = ? AND a.sequence = ?", (source, sequence)).fetchone()
        return None if row is None else update_of_row(row)

    def current_identity(self, resident_code: str) -> IdentityInfoUpdate | None:
        """The current version of ``resident_code``'s identity info, if any (index
        ``identity_current``)."""
        row = self.conn.execute("SELECT * FROM identity_info WHERE resident_code = ? AND "
                                "superseded_at IS NULL", (resident_code,)).fetchone()
        return None if row is None else update_of_row(row)

    def find_by_four_items(self, name_kanji: str, birth_date: dt.date, sex: Sex,
                           address_code: str, limit: int = 100) -> list[IdentityInfoUpdate]:
        """The current versions matching the four items (name, birth date, sex, address:
        R-30-7-3-10), in resident code order (index ``identity_four_items``)."""
        rows = self.conn.execute(
            "SELECT * FROM identity_info WHERE name_kanji = ? AND birth_date = ? AND "
            "sex = ? AND address_code = ? AND superseded_at IS NULL ORDER BY resident_code "
            "LIMIT ?", (name_kanji, birth_date.isoformat(), sex.value, address_code, limit))
        return [update_of_row(r) for r in rows]

    def identity_versions(self, resident_code: str) -> tuple[int, bool]:
        """How many versions of ``resident_code``'s identity info are held (current,
        superseded or erased, within retention), and whether the person is held as
        current and not erased."""
        rows = self.conn.execute("SELECT superseded_at, erased_at FROM identity_info "
                                 "WHERE resident_code = ?", (resident_code,)).fetchall()
        return len(rows), any(r[0] is None and r[1] is None for r in rows)

    def count_identity(self, current_only: bool = True) -> int:
        """How many versions (or current persons) of identity info are held."""
        sql = "SELECT COUNT(*) FROM identity_info"
        if current_only:
            sql += " WHERE superseded_at IS NULL"
        return int(self.conn.execute(sql).fetchone()[0])

    def purge(self, now: dt.datetime, retention: dt.timedelta) -> int:
        """Erase identity info superseded or erased longer ago than ``retention``
        (R-30-5-0-09), except what an unacknowledged relay still has to carry; returns
        how many versions went. The numbering (``last_sequence``, the relay numbers) is
        kept. The rows are overwritten (``secure_delete``) and the write-ahead log is
        truncated (:meth:`scrub`), so the erased data is in neither file (R-NODE-74)."""
        limit = stamp(now - retention)
        keep = ("AND id NOT IN (SELECT identity_id FROM relay_outbox WHERE state = "
                "'pending' AND identity_id IS NOT NULL)" if self.role == "prefecture"
                else "")
        # Two statements, each on its partial index (identity_superseded,
        # identity_erased): a purge reads what is due, never the whole table.
        with self.transaction() as c:
            gone = c.execute(
                "DELETE FROM identity_info WHERE superseded_at IS NOT NULL AND "
                f"superseded_at < ? {keep}", (limit,)).rowcount
            gone += c.execute(
                "DELETE FROM identity_info WHERE superseded_at IS NULL AND erased_at IS "
                f"NOT NULL AND erased_at < ? {keep}", (limit,)).rowcount
        if gone:
            self.scrub()     # R-NODE-74: nor in the write-ahead log
        return gone

    def log_disclosures(self, records: list[DisclosureRecord]) -> None:
        """Append disclosure log records (inside a transaction, R-30-7-3-12), with the
        delegating prefecture of a delegated one (R-30-10-1-06)."""
        insert = ("INSERT INTO provision_log (time, message_id, body_kind, body_code, "
                  "legal_basis, purpose_code, operator_id, outcome, resident_keys) VALUES "
                  "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
        rows = [(stamp(r.time), r.message_id, r.body.kind.value, r.body.code,
                 r.legal_basis.value, r.purpose_code, r.operator_id, r.outcome,
                 ",".join(r.resident_keys)) for r in records]
        if all(r.delegating_prefecture is None for r in records):
            self.conn.executemany(insert, rows)
            return
        for r, row in zip(records, rows, strict=True):
            log_id = self.conn.execute(insert + " RETURNING id", row).fetchone()[0]
            if r.delegating_prefecture is not None:
                self.conn.execute("INSERT INTO provision_delegation VALUES (?, ?)",
                                  (log_id, r.delegating_prefecture))

    def disclosures(self, resident_key: str | None = None) -> list[DisclosureRecord]:
        """The disclosure log, in order; with ``resident_key`` (a keyed digest of
        :meth:`DisclosureLog.key_of`) only the requests whose provided persons include
        it (R-30-7-3-12: the provisions of one person's identity info)."""
        out = []
        where, args = "", tuple[str, ...]()
        if resident_key is not None:
            # resident_keys is a comma-separated list of fixed-length hex digests.
            where, args = ("WHERE ',' || provision_log.resident_keys || ',' LIKE ? ",
                           (f"%,{resident_key},%",))
        for r in self.conn.execute(
                "SELECT provision_log.*, provision_delegation.prefecture AS delegation "
                "FROM provision_log LEFT JOIN provision_delegation ON "
                "provision_delegation.log_id = provision_log.id "
                f"{where}ORDER BY provision_log.id", args):
            when = parse_stamp(r["time"])
            assert when is not None
            out.append(DisclosureRecord(
                time=when, message_id=bytes(r["message_id"]),
                body=from_form(RequestingBody, {"kind": r["body_kind"],
                                                "code": r["body_code"]}, json=True),
                legal_basis=LegalBasis(r["legal_basis"]), purpose_code=r["purpose_code"],
                operator_id=r["operator_id"], outcome=r["outcome"],
                resident_keys=tuple(k for k in r["resident_keys"].split(",") if k),
                delegating_prefecture=r["delegation"]))
        return out

    # Agency ------------------------------------------------------------------------

    def record_provision(self, request_id: bytes, provider: str, outcome: str,
                         persons: int, now: dt.datetime) -> None:
        """Record a provision's outcome at the agency (inside a transaction)."""
        self.conn.execute("INSERT INTO provisions VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id) "
                          "DO UPDATE SET provider = excluded.provider, outcome = "
                          "excluded.outcome, persons = excluded.persons, at = excluded.at",
                          (request_id, provider, outcome, persons, stamp(now)))


__all__ = ["CentralTables"]
