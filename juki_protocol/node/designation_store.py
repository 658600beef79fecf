"""A node's durable record of resident code designations (Art. 30-7(1)(2)).

Theory of operation
-------------------
The designation machines (:mod:`juki_protocol.machines.designation`) keep all their data
in a store they are given and hold nothing else but retry timers; this module is that
store in the node's database, through :mod:`juki_protocol.node.sql` on either engine
(SQLite or PostgreSQL: no driver here). Every method reads or writes inside the node's
current transaction, so a designation is stored in the transaction of the message or
local event that made it, before the ``CodeDesignation`` is sent (R-PDU-22), and a
rolled-back transaction leaves no trace. A node that rebuilds its machines (a restart,
a reload after a failed commit or a retention purge) finds every designation where it
was: nothing of a designation lives only in memory.

Tables (created on first use, beside the role's own):

* prefecture: ``designated_codes`` (each code it designated, to which municipality,
  under which message, and when an update recorded it: never deleted, so that no code
  is designated or accepted twice, also after the retention purge, R-30-7-2-02) and
  ``designations`` (each ``CodeDesignation`` sent, its codes in the order sent, and
  whether the municipality acknowledged it: resent until it did);
* municipality: ``code_pool`` (each code designated to it, in the order designated, and
  when it was written into a record: a recorded code never becomes free again) and
  ``code_requests`` (each ``CodeDesignationRequest`` it sent, and its state).

Resident codes are stored here as in the register and the identity info: they are the
codes themselves, which the node must compare.
"""

from __future__ import annotations

import datetime as dt
import json

from juki_protocol.machines.designation import Designated
from juki_protocol.messages.designation import CodeDesignationRequest
from juki_protocol.node.storage import NodeStorage
from juki_protocol.node.storage_rows import stamp

PREFECTURE_SCHEMA = """
CREATE TABLE IF NOT EXISTS designated_codes (
    resident_code TEXT PRIMARY KEY, municipality TEXT NOT NULL,
    message_id BLOB NOT NULL, designated_at TEXT NOT NULL, recorded_at TEXT);
CREATE INDEX IF NOT EXISTS designated_codes_municipality
    ON designated_codes (municipality);
CREATE TABLE IF NOT EXISTS designations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, message_id BLOB NOT NULL UNIQUE,
    municipality TEXT NOT NULL, correlation_id BLOB, codes TEXT NOT NULL,
    state TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS designations_pending ON designations (id)
    WHERE state = 'pending';
"""

MUNICIPALITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS code_pool (
    id INTEGER PRIMARY KEY AUTOINCREMENT, resident_code TEXT NOT NULL UNIQUE,
    designation BLOB NOT NULL, designated_at TEXT NOT NULL, recorded_at TEXT);
CREATE INDEX IF NOT EXISTS code_pool_free ON code_pool (id) WHERE recorded_at IS NULL;
CREATE TABLE IF NOT EXISTS code_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, message_id BLOB NOT NULL UNIQUE,
    municipality TEXT NOT NULL, count INTEGER NOT NULL, state TEXT NOT NULL,
    created_at TEXT NOT NULL);
"""


class SqlLedger:
    """A prefecture's :class:`~juki_protocol.machines.designation.CodeLedger` in its
    database. A code is held once an update recorded it (``recorded_at``, kept after the
    retention purge), while a current version of identity info carries it, or when it
    is retired (R-30-7-2-03)."""

    def __init__(self, storage: NodeStorage) -> None:
        self.storage = storage
        storage.conn.create(PREFECTURE_SCHEMA)

    def designated_to(self, code: str) -> str | None:
        row = self.storage.conn.execute(
            "SELECT municipality FROM designated_codes WHERE resident_code = ?",
            (code,)).fetchone()
        return None if row is None else str(row[0])

    def designated_count(self, municipality: str) -> int:
        row = self.storage.conn.execute(
            "SELECT COUNT(*) FROM designated_codes WHERE municipality = ?",
            (municipality,)).fetchone()
        return int(row[0])

    def held(self, code: str) -> bool:
        row = self.storage.conn.execute(
            "SELECT recorded_at FROM designated_codes WHERE resident_code = ?",
            (code,)).fetchone()
        return (row is not None and row[0] is not None) or \
            self.storage.current_held(code) is not None or self.storage.is_retired(code)

    def mark_recorded(self, code: str, now: dt.datetime) -> None:
        self.storage.conn.execute(
            "UPDATE designated_codes SET recorded_at = ? WHERE resident_code = ? AND "
            "recorded_at IS NULL", (stamp(now), code))

    def add(self, designation: Designated, now: dt.datetime) -> None:
        conn = self.storage.conn
        conn.executemany("INSERT INTO designated_codes (resident_code, municipality, "
                         "message_id, designated_at) VALUES (?, ?, ?, ?)",
                         [(c, designation.municipality, designation.message_id, stamp(now))
                          for c in designation.codes])
        conn.execute("INSERT INTO designations (message_id, municipality, correlation_id, "
                     "codes, state, created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
                     (designation.message_id, designation.municipality,
                      designation.correlation_id, json.dumps(list(designation.codes)),
                      stamp(now)))

    def pending(self) -> list[Designated]:
        rows = self.storage.conn.execute(
            "SELECT message_id, municipality, correlation_id, codes FROM designations "
            "WHERE state = 'pending' ORDER BY id").fetchall()
        return [Designated(message_id=bytes(r[0]), municipality=str(r[1]),
                           correlation_id=None if r[2] is None else bytes(r[2]),
                           codes=tuple(json.loads(r[3]))) for r in rows]

    def settle(self, message_id: bytes, outcome: str) -> bool:
        cur = self.storage.conn.execute(
            "UPDATE designations SET state = ? WHERE message_id = ? AND state = 'pending'",
            (outcome, message_id))
        return cur.rowcount > 0

    def summary(self, municipality: str) -> dict[str, int]:
        """How many codes were designated to ``municipality``, and how many of its
        designations are unacknowledged (the upper tester's ``designations``)."""
        row = self.storage.conn.execute(
            "SELECT COUNT(*) FROM designations WHERE municipality = ? AND "
            "state = 'pending'", (municipality,)).fetchone()
        return {"designated": self.designated_count(municipality), "pending": int(row[0])}


class SqlPool:
    """A municipality's :class:`~juki_protocol.machines.designation.CodePool` in its
    database: the codes in the order designated, free until recorded."""

    def __init__(self, storage: NodeStorage) -> None:
        self.storage = storage
        storage.conn.create(MUNICIPALITY_SCHEMA)

    def designated(self) -> int:
        return int(self.storage.conn.execute("SELECT COUNT(*) FROM code_pool").fetchone()[0])

    def free(self) -> int:
        return int(self.storage.conn.execute(
            "SELECT COUNT(*) FROM code_pool WHERE recorded_at IS NULL").fetchone()[0])

    def free_codes(self, limit: int) -> list[str]:
        return [str(r[0]) for r in self.storage.conn.execute(
            "SELECT resident_code FROM code_pool WHERE recorded_at IS NULL ORDER BY id "
            "LIMIT ?", (limit,))]

    def is_free(self, code: str) -> bool:
        return self.storage.conn.execute(
            "SELECT 1 FROM code_pool WHERE resident_code = ? AND recorded_at IS NULL",
            (code,)).fetchone() is not None

    def holds(self, code: str) -> bool:
        return self.storage.conn.execute(
            "SELECT 1 FROM code_pool WHERE resident_code = ?", (code,)).fetchone() is not None

    def add(self, codes: tuple[str, ...], message_id: bytes, now: dt.datetime) -> None:
        self.storage.conn.executemany(
            "INSERT INTO code_pool (resident_code, designation, designated_at) "
            "VALUES (?, ?, ?)", [(c, message_id, stamp(now)) for c in codes])

    def consume(self, code: str, now: dt.datetime) -> None:
        self.storage.conn.execute(
            "UPDATE code_pool SET recorded_at = ? WHERE resident_code = ? AND "
            "recorded_at IS NULL", (stamp(now), code))

    def add_request(self, message_id: bytes, request: CodeDesignationRequest,
                    now: dt.datetime) -> None:
        self.storage.conn.execute(
            "INSERT INTO code_requests (message_id, municipality, count, state, "
            "created_at) VALUES (?, ?, ?, 'pending', ?)",
            (message_id, request.municipality, request.count, stamp(now)))

    def open_requests(self) -> list[tuple[bytes, CodeDesignationRequest, str]]:
        rows = self.storage.conn.execute(
            "SELECT message_id, municipality, count, state FROM code_requests WHERE "
            "state IN ('pending', 'acked') ORDER BY id").fetchall()
        return [(bytes(r[0]), CodeDesignationRequest(municipality=str(r[1]),
                                                     count=int(r[2])), str(r[3]))
                for r in rows]

    def settle_request(self, message_id: bytes, state: str) -> bool:
        cur = self.storage.conn.execute(
            "UPDATE code_requests SET state = ? WHERE message_id = ?", (state, message_id))
        return cur.rowcount > 0

    def requests(self) -> list[tuple[bytes, int, str]]:
        """Every request sent: message id, count and state (the upper tester)."""
        return [(bytes(r[0]), int(r[1]), str(r[2])) for r in self.storage.conn.execute(
            "SELECT message_id, count, state FROM code_requests ORDER BY id")]


__all__ = ["MUNICIPALITY_SCHEMA", "PREFECTURE_SCHEMA", "SqlLedger", "SqlPool"]
