"""A node's durable card register (spec/card_register.md).

Theory of operation
-------------------
The card register's machines (:mod:`juki_protocol.machines.card_register` at the centre,
:mod:`juki_protocol.machines.card_notices` at a municipality) keep their data in a store
they are given; this module is that store in the node's database, through
:mod:`juki_protocol.node.sql` on either engine. Every method reads or writes inside the
node's current transaction, so an entry is stored in the transaction of the message
that made it, before the message is acknowledged (R-PDU-22, R-CARDREG-03), and a
notice is stored before it is sent; a rolled-back transaction leaves no trace, and a
restart finds every entry and every pending notice where it was.

Tables (created on first use, beside the role's own):

* the centre: ``card_register``, one row per card: serial, resident code, issuing
  municipality, state, last day of validity (no other personal data, R-CARDREG-05);
* a municipality: ``card_outbox``, each application, notice and query it sent to the
  centre (the message as its JSON form), its state and, for a query, the answer.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from juki_protocol.codec import codec
from juki_protocol.machines.card_notices import Outgoing
from juki_protocol.machines.card_register import Entry, EntryState
from juki_protocol.messages.card import CardStatusAnswer
from juki_protocol.node.storage import NodeStorage
from juki_protocol.node.storage_rows import stamp

CENTRE_SCHEMA = """
CREATE TABLE IF NOT EXISTS card_register (
    serial TEXT PRIMARY KEY, resident_code TEXT NOT NULL, municipality TEXT NOT NULL,
    state TEXT NOT NULL, valid_until TEXT, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS card_register_resident ON card_register (resident_code);
"""

MUNICIPALITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS card_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, message_id BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL, serial TEXT NOT NULL, message TEXT NOT NULL,
    state TEXT NOT NULL, answer TEXT, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS card_outbox_serial ON card_outbox (serial);
"""


def _entry(row: tuple[object, ...]) -> Entry:
    until = row[4]
    return Entry(serial=str(row[0]), resident_code=str(row[1]), municipality=str(row[2]),
                 state=EntryState(str(row[3])),
                 valid_until=None if until is None else dt.date.fromisoformat(str(until)))


class SqlCardLedger:
    """The centre's :class:`~juki_protocol.machines.card_register.CardLedger`."""

    COLUMNS = "serial, resident_code, municipality, state, valid_until"

    def __init__(self, storage: NodeStorage) -> None:
        self.storage = storage
        storage.conn.create(CENTRE_SCHEMA)

    def get(self, serial: str) -> Entry | None:
        row = self.storage.conn.execute(
            f"SELECT {self.COLUMNS} FROM card_register WHERE serial = ?",
            (serial,)).fetchone()
        return None if row is None else _entry(tuple(row))

    def of_resident(self, resident_code: str) -> list[Entry]:
        return [_entry(tuple(r)) for r in self.storage.conn.execute(
            f"SELECT {self.COLUMNS} FROM card_register WHERE resident_code = ? "
            "ORDER BY serial", (resident_code,)).fetchall()]

    def put(self, entry: Entry, now: dt.datetime) -> None:
        until = None if entry.valid_until is None else entry.valid_until.isoformat()
        conn = self.storage.conn
        cur = conn.execute(
            "UPDATE card_register SET state = ?, valid_until = ?, updated_at = ? "
            "WHERE serial = ?", (entry.state.value, until, stamp(now), entry.serial))
        if cur.rowcount == 0:
            conn.execute(
                "INSERT INTO card_register (serial, resident_code, municipality, state, "
                "valid_until, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (entry.serial, entry.resident_code, entry.municipality,
                 entry.state.value, until, stamp(now)))


def _outgoing(row: Any) -> Outgoing:
    message = codec.from_json(str(row[1]), json.loads(str(row[2])))
    answer = None if row[4] is None else codec.from_json(
        "CardStatusAnswer", json.loads(str(row[4])))
    assert answer is None or isinstance(answer, CardStatusAnswer)
    return Outgoing(message_id=bytes(row[0]), message=message, state=str(row[3]),
                    answer=answer)


class SqlCardOutbox:
    """A municipality's :class:`~juki_protocol.machines.card_notices.CardOutbox`."""

    COLUMNS = "message_id, kind, message, state, answer"

    def __init__(self, storage: NodeStorage) -> None:
        self.storage = storage
        storage.conn.create(MUNICIPALITY_SCHEMA)

    def add(self, item: Outgoing, now: dt.datetime) -> None:
        self.storage.conn.execute(
            "INSERT INTO card_outbox (message_id, kind, serial, message, state, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (item.message_id, type(item.message).__name__, item.serial,
             json.dumps(codec.to_json(item.message), sort_keys=True), item.state,
             stamp(now)))

    def get(self, message_id: bytes) -> Outgoing | None:
        row = self.storage.conn.execute(
            f"SELECT {self.COLUMNS} FROM card_outbox WHERE message_id = ?",
            (message_id,)).fetchone()
        return None if row is None else _outgoing(row)

    def settle(self, message_id: bytes, state: str,
               answer: CardStatusAnswer | None = None) -> None:
        self.storage.conn.execute(
            "UPDATE card_outbox SET state = ?, answer = ? WHERE message_id = ?",
            (state, None if answer is None else json.dumps(codec.to_json(answer),
                                                           sort_keys=True), message_id))

    def pending(self) -> list[Outgoing]:
        return [_outgoing(r) for r in self.storage.conn.execute(
            f"SELECT {self.COLUMNS} FROM card_outbox WHERE state = 'pending' ORDER BY id"
        ).fetchall()]

    def of_serial(self, serial: str) -> list[Outgoing]:
        return [_outgoing(r) for r in self.storage.conn.execute(
            f"SELECT {self.COLUMNS} FROM card_outbox WHERE serial = ? ORDER BY id",
            (serial,)).fetchall()]


__all__ = ["CENTRE_SCHEMA", "MUNICIPALITY_SCHEMA", "SqlCardLedger", "SqlCardOutbox"]
