"""Durable storage of a reference node: one SQLite database per node.

Theory of operation
-------------------
The state machines (:mod:`juki_protocol.machines`) keep their data in memory; this
module keeps the durable copy, and :mod:`juki_protocol.node.node` rebuilds the machines
from it when a node starts. Every received message is handled in one transaction
(:meth:`SqliteStorage.transaction`): its effects, the processed message id and the audit
rows are committed together, and only then is the acknowledgement sent (R-PDU-22,
R-30-5-0-07). The database runs in WAL mode with ``synchronous=FULL``, so a commit that
returned survives a crash of the process or of the machine.

What each role stores (and nothing else):

* every role: ``meta`` (node settings and keys), ``processed`` (sender, message id and
  SHA-256 digest of each message received, for R-PDU-24), and the audit log
  (:mod:`juki_protocol.node.audit`);
* ``municipality``: ``residents`` (the resident register, 住民基本台帳: the whole record,
  including relationship and family register, which never leave the municipality but
  in municipality-to-municipality flows), ``outbox`` (the identity info updates it sends,
  Art. 30-5, until acknowledged), ``retired_codes``, ``erasures`` (the change reason
  and date of each record it erased: move-out, death, erasure ex officio) and ``cards``
  (the municipality's record of each resident card it issued, and the state of the
  virtual chip that stands for the card in the holder's hands in the reference:
  spec/node.md section 4.6);
* ``prefecture`` and ``national``: ``identity_info`` (one row per version of a person's
  identity info, with change info, the update's municipality, sequence number,
  operation and previous resident code, and the times it was stored, superseded or
  erased, for the retention period of R-30-5-0-09), ``applied`` (which numbered update
  or relay produced each version, R-30-5-0-06), ``last_sequence``, ``retired_codes`` and
  ``provision_log`` (the disclosure log, R-30-7-3-12, with keyed digests instead of
  resident codes, and in ``provision_delegation`` the delegating prefecture of each
  entry of the centre acting on a delegation, R-30-10-1-06); the prefecture also
  ``relay_outbox`` (Art. 30-11). These tables have
  columns for identity info only: there is no column for relationship, family register,
  household or any other item, so such data cannot be stored there at all
  (R-30-5-0-08, R-30-11-0-03);
* ``agency``: ``provisions`` (the outcome of each request: how many persons, never who).

Data at rest (spec/node.md section 2.1)
---------------------------------------
The database of a municipality holds its whole register, so the files are the node
account's alone: a missing directory is created mode 0700, and the database and its
``-wal`` and ``-shm`` files are created under umask 077 and then set to 0600
(R-NODE-70). An existing database, ``-wal`` or ``-shm`` with a wider mode is
*tightened* to 0600 (logged), not refused: the node's own files are made private, and a
node is never left unable to start after an upgrade. A directory every user may write
to (``/tmp``, mode 1777) is refused: anyone could place a ``-wal`` or ``-shm`` there
for SQLite to open; other access to an existing directory is logged. The disclosure
log's key is not in the database but in a key file of its own
(:meth:`SqliteStorage.secret`, R-NODE-73), and SQLite's ``secure_delete`` is on, so
that deleted rows are overwritten with zeros, and the write-ahead log is truncated after
the retention purge (R-NODE-74).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import stat
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from juki_protocol.messages.base import from_form, to_form
from juki_protocol.messages.common import (
    ChangeReason,
)
from juki_protocol.messages.identity import IdentityInfoUpdate
from juki_protocol.messages.record import ResidentRecord
from juki_protocol.node.audit import ensure_schema
from juki_protocol.node.sql import (
    DIR_MODE,
    FILE_MODE,
    Database,
    SqliteDatabase,
    StorageError,
    connect,
    is_url,
    private_directory,
)
from juki_protocol.node.storage_central import CentralTables
from juki_protocol.node.storage_rows import (
    IDENTITY_COLUMNS,
    Pending,
    digest_of,
    identity_row,
    parse_stamp,
    resident_from_json,
    resident_to_json,
    stamp,
)

logger = logging.getLogger(__name__)

#: The name of the secret that masks resident codes in the disclosure log
#: (R-30-7-3-12); given a key file, :class:`SqliteStorage` keeps it there (R-NODE-73).
DISCLOSURE_LOG_KEY = "disclosure-log-key"

_COMMON = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS processed (
    sender TEXT NOT NULL, message_id BLOB NOT NULL, digest BLOB NOT NULL,
    message_type TEXT NOT NULL, received_at TEXT NOT NULL,
    PRIMARY KEY (sender, message_id));
CREATE INDEX IF NOT EXISTS processed_age ON processed (received_at);
"""

_MUNICIPALITY = """
CREATE TABLE IF NOT EXISTS residents (
    resident_code TEXT PRIMARY KEY, status TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    message_id BLOB PRIMARY KEY, recipient TEXT NOT NULL, sequence INTEGER NOT NULL,
    type_name TEXT NOT NULL, message TEXT NOT NULL, state TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS retired_codes (resident_code TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS erasures (
    resident_code TEXT PRIMARY KEY, change_reason TEXT NOT NULL, change_date TEXT NOT NULL,
    erased_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cards (
    serial TEXT PRIMARY KEY, resident_code TEXT NOT NULL, state TEXT NOT NULL,
    failures INTEGER NOT NULL, issued_at TEXT, expires_at TEXT,
    chip_pin TEXT NOT NULL, chip_activated INTEGER NOT NULL,
    chip_tries_left INTEGER NOT NULL);
"""

_CENTRAL = """
CREATE TABLE IF NOT EXISTS identity_info (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_code TEXT NOT NULL, name_kanji TEXT NOT NULL, name_kana TEXT,
    birth_date TEXT NOT NULL, sex TEXT NOT NULL, address_code TEXT NOT NULL,
    address_text TEXT NOT NULL, individual_number TEXT,
    change_reason TEXT NOT NULL, change_date TEXT NOT NULL,
    municipality TEXT NOT NULL, update_sequence INTEGER NOT NULL, operation TEXT NOT NULL,
    previous_resident_code TEXT,
    stored_at TEXT NOT NULL, superseded_at TEXT, erased_at TEXT);
CREATE INDEX IF NOT EXISTS identity_current ON identity_info (resident_code)
    WHERE superseded_at IS NULL;
CREATE INDEX IF NOT EXISTS identity_four_items
    ON identity_info (name_kanji, birth_date, sex, address_code)
    WHERE superseded_at IS NULL;
CREATE INDEX IF NOT EXISTS identity_superseded ON identity_info (superseded_at)
    WHERE superseded_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS identity_erased ON identity_info (erased_at)
    WHERE superseded_at IS NULL AND erased_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS applied (
    source TEXT NOT NULL, sequence INTEGER NOT NULL, message_id BLOB NOT NULL,
    identity_id INTEGER REFERENCES identity_info (id) ON DELETE SET NULL,
    applied_at TEXT NOT NULL, PRIMARY KEY (source, sequence));
CREATE TABLE IF NOT EXISTS last_sequence (source TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS retired_codes (resident_code TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS provision_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, message_id BLOB NOT NULL,
    body_kind TEXT NOT NULL, body_code TEXT NOT NULL, legal_basis TEXT NOT NULL,
    purpose_code TEXT NOT NULL, operator_id TEXT NOT NULL, outcome TEXT NOT NULL,
    resident_keys TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS provision_delegation (
    log_id INTEGER PRIMARY KEY, prefecture TEXT NOT NULL);
"""

_PREFECTURE = """
CREATE TABLE IF NOT EXISTS relay_outbox (
    relay_sequence INTEGER PRIMARY KEY, message_id BLOB NOT NULL UNIQUE,
    identity_id INTEGER REFERENCES identity_info (id) ON DELETE SET NULL,
    state TEXT NOT NULL);
"""

_AGENCY = """
CREATE TABLE IF NOT EXISTS provisions (
    request_id BLOB PRIMARY KEY, provider TEXT NOT NULL, outcome TEXT NOT NULL,
    persons INTEGER NOT NULL, at TEXT NOT NULL);
"""

_SCHEMAS = {
    "municipality": _COMMON + _MUNICIPALITY,
    "prefecture": _COMMON + _CENTRAL + _PREFECTURE,
    "national": _COMMON + _CENTRAL,
    "agency": _COMMON + _AGENCY,
}


def read_key_file(path: Path) -> bytes:
    """A 32-octet key kept as 64 hexadecimal digits in ``path``, which only its owner
    may read (R-NODE-73); StorageError naming the file and the rule otherwise."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StorageError(f"{path} (mode {mode:04o}) is readable by other users; a "
                           f"key file must be mode 0600 (R-NODE-73)")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise StorageError(f"{path} does not hold a key: 64 hexadecimal digits expected "
                           f"(R-NODE-73)")
    return value


def write_key_file(path: Path, value: bytes) -> None:
    """Write a new key file ``path`` mode 0600 (FileExistsError if it exists: a key
    file is never overwritten; R-NODE-73)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        os.fchmod(f.fileno(), FILE_MODE)
        f.write(value.hex() + "\n")
        f.flush()
        os.fsync(f.fileno())


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredCard:
    """One resident card as a municipality stores it (spec/node.md section 4.6).

    state, failures, issued_at, expires_at: the municipality's record of the card
    (:class:`~juki_protocol.machines.card.CardRecord`: its lifecycle state, the
    consecutive wrong PINs it counted, when it was handed over, when its validity
    ends); chip_pin, chip_activated, chip_tries_left: the reference's virtual chip
    (:class:`~juki_protocol.machines.card.VirtualCard`), which stands for the card the
    holder keeps, so that its retry counter outlives a restart as a real card's does.
    """

    serial: str
    resident_code: str
    state: str
    failures: int
    issued_at: dt.datetime | None
    expires_at: dt.datetime | None
    chip_pin: str
    chip_activated: bool
    chip_tries_left: int


class NodeStorage(CentralTables):
    """A node's durable state (see the module docstring) in a :class:`Database` of
    either engine: SQLite (:class:`SqliteStorage`) or PostgreSQL (``postgresql://``
    URL, :func:`open_storage`). Use :meth:`transaction` around every change; the write
    methods do not commit."""

    def __init__(self, db: Database, role: str, *, key_file: Path | None = None
                 ) -> None:
        if role not in _SCHEMAS:
            raise ValueError(f"unknown role {role!r}")
        self.role = role
        self.db = db
        #: What the database is, for messages (a path, or a URL and schema).
        self.path: Path | str = getattr(db, "path", db.name)
        #: The file of the disclosure log's key (R-NODE-73); None keeps it in the
        #: ``meta`` table (a database opened by itself, e.g. by a tool or a test).
        self.key_file = key_file
        db.create(_SCHEMAS[role])
        ensure_schema(db)

    @property
    def conn(self) -> Database:
        """The database (statements with ``?`` placeholders, either engine)."""
        return self.db

    @property
    def fail_commits(self) -> int:
        """How many of the next outer commits that write fail as a full disk would (the
        upper tester's ``fail_next_commit``); each is rolled back, raises StorageError."""
        return self.db.fail_commits

    @fail_commits.setter
    def fail_commits(self, value: int) -> None:
        self.db.fail_commits = value

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def transaction(self) -> AbstractContextManager[Database]:
        """One durable transaction: committed on normal exit, rolled back on an
        exception; a failed commit raises :class:`StorageError` (9003)."""
        return self.db.transaction()

    # Every role --------------------------------------------------------------------

    def meta(self, key: str, default: bytes | None = None) -> bytes | None:
        """A stored setting."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else bytes(row["value"])

    def secret(self, key: str) -> bytes:
        """A random 32-octet secret, made and stored on first use (e.g. the key of the
        disclosure log's digests). The disclosure log's key (:data:`DISCLOSURE_LOG_KEY`)
        is kept in :attr:`key_file`, apart from the data it masks (R-NODE-73), when the
        storage was given one; other secrets, and that one without a key file, in the
        ``meta`` table."""
        if key == DISCLOSURE_LOG_KEY and self.key_file is not None:
            return self._disclosure_key(self.key_file)
        value = self.meta(key)
        if value is None:
            value = secrets.token_bytes(32)
            with self.transaction() as c:
                c.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT DO NOTHING", (key, value))
            value = self.meta(key)
        assert value is not None
        return value

    def _disclosure_key(self, path: Path) -> bytes:
        """The disclosure log's key from ``path`` (R-NODE-73): read it; move a key
        that an earlier version kept in ``meta`` out to the file; make a new one for a
        log that holds no masked entry; otherwise refuse (StorageError), since a new
        key would no longer find the persons of the entries already written."""
        legacy = self.meta(DISCLOSURE_LOG_KEY)
        if path.exists():
            value = read_key_file(path)
            if legacy is not None and legacy != value:
                raise StorageError(
                    f"{self.path} keeps a disclosure log key in its meta table that "
                    f"differs from the key file {path}; keep the one that masked the "
                    f"log's entries (R-NODE-73)")
        elif legacy is not None:
            value = legacy
            write_key_file(path, value)
            logger.warning("moved the disclosure log key of %s out of the database "
                           "into %s (R-NODE-73)", self.path, path)
        else:
            masked = self._masked_entries()
            if masked:
                raise StorageError(
                    f"the disclosure log key file {path} is missing, but {self.path} "
                    f"holds {masked} disclosure log entries masked with that key; "
                    f"restore the key file from its backup (R-NODE-73)")
            value = secrets.token_bytes(32)
            try:
                write_key_file(path, value)
            except FileExistsError:         # another process made it meanwhile
                value = read_key_file(path)
        if legacy is not None:
            with self.transaction() as c:   # secure_delete: the key leaves the file
                c.execute("DELETE FROM meta WHERE key = ?", (DISCLOSURE_LOG_KEY,))
            self.scrub()
        return value

    def _masked_entries(self) -> int:
        """How many disclosure log entries hold masked resident codes (0 for a role
        without a disclosure log)."""
        if not self.db.has_table("provision_log"):    # not a provider
            return 0
        row = self.conn.execute("SELECT COUNT(*) FROM provision_log WHERE "
                                "resident_keys != ''").fetchone()
        return int(row[0])

    def scrub(self) -> bool:
        """Leave deleted rows in no file of the engine (R-NODE-74): SQLite's
        write-ahead log is checkpointed and truncated; True when done in full (False if
        a reader kept part of the log: the next scrub or checkpoint completes it)."""
        return self.db.scrub()

    def seen(self, sender: str, message_id: bytes) -> bytes | None:
        """The digest stored for ``sender``'s ``message_id``, or None (R-PDU-24)."""
        row = self.conn.execute("SELECT digest FROM processed WHERE sender = ? AND "
                                "message_id = ?", (sender, message_id)).fetchone()
        return None if row is None else bytes(row["digest"])

    def mark_processed(self, sender: str, message_id: bytes, digest: bytes,
                       message_type: str, now: dt.datetime) -> None:
        """Remember a processed message (inside a transaction)."""
        self.conn.execute("INSERT INTO processed VALUES (?, ?, ?, ?, ?)",
                          (sender, message_id, digest, message_type, stamp(now)))

    def forget_processed(self, before: dt.datetime) -> int:
        """Drop processed ids older than the duplicate window."""
        with self.transaction() as c:
            return c.execute("DELETE FROM processed WHERE received_at < ?",
                             (stamp(before),)).rowcount

    # Municipality ------------------------------------------------------------------

    def load_register(self) -> dict[str, ResidentRecord]:
        """The resident register."""
        rows = self.conn.execute("SELECT record FROM residents ORDER BY resident_code")
        return {r.resident_code: r for r in (resident_from_json(x["record"]) for x in rows)}

    def save_residents(self, residents: list[ResidentRecord]) -> None:
        """Insert or replace register records (inside a transaction)."""
        self.conn.executemany(
            "INSERT INTO residents VALUES (?, ?, ?) ON CONFLICT (resident_code) DO UPDATE "
            "SET status = excluded.status, record = excluded.record",
            [(r.resident_code, r.status, resident_to_json(r)) for r in residents])

    def add_update(self, recipient: str, message_id: bytes,
                   update: IdentityInfoUpdate, now: dt.datetime) -> None:
        """Queue an identity info update for sending (inside a transaction)."""
        text = json.dumps(to_form(update, json=True), ensure_ascii=False, sort_keys=True)
        self.conn.execute("INSERT INTO outbox VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                          (message_id, recipient, update.update_sequence,
                           "IdentityInfoUpdate", text, stamp(now)))

    def settle(self, message_id: bytes, state: str) -> bool:
        """Mark an outbox entry ``acked`` or ``refused``; True if one was pending."""
        table = "relay_outbox" if self.role == "prefecture" else "outbox"
        cur = self.conn.execute(f"UPDATE {table} SET state = ? WHERE message_id = ? AND "
                                f"state = 'pending'", (state, message_id))
        return cur.rowcount > 0

    def pending_updates(self) -> tuple[int, list[Pending]]:
        """The last update number used and the unacknowledged updates, in order."""
        last = self.conn.execute("SELECT COALESCE(MAX(sequence), 0) FROM outbox "
                                 "WHERE type_name = 'IdentityInfoUpdate'").fetchone()[0]
        rows = self.conn.execute("SELECT * FROM outbox WHERE state = 'pending' AND "
                                 "type_name = 'IdentityInfoUpdate' ORDER BY sequence")
        return int(last), [Pending(r["sequence"], bytes(r["message_id"]),
                                   from_form(IdentityInfoUpdate, json.loads(r["message"]),
                                             json=True)) for r in rows]

    def updates(self, state: str | None = None) -> list[tuple[int, str]]:
        """``(sequence, state)`` of the municipality's updates."""
        rows = self.conn.execute("SELECT sequence, state FROM outbox ORDER BY sequence")
        return [(r[0], r[1]) for r in rows if state is None or r[1] == state]

    def drop_resident(self, resident_code: str) -> None:
        """Remove the register record kept under ``resident_code`` (a resident code
        change moves the record to its new code; inside a transaction)."""
        self.conn.execute("DELETE FROM residents WHERE resident_code = ?", (resident_code,))

    def record_erasure(self, resident_code: str, reason: ChangeReason, change_date: dt.date,
                       now: dt.datetime) -> None:
        """Record why and when a register record was erased (inside a transaction)."""
        self.conn.execute("INSERT INTO erasures VALUES (?, ?, ?, ?) ON CONFLICT (resident_code) DO "
                          "UPDATE SET change_reason = excluded.change_reason, change_date = "
                          "excluded.change_date, erased_at = excluded.erased_at",
                          (resident_code, reason.value, change_date.isoformat(), stamp(now)))

    def erasure(self, resident_code: str) -> tuple[ChangeReason, dt.date] | None:
        """The change reason and date of the erasure of ``resident_code``'s record, if
        one was recorded with :meth:`record_erasure`."""
        row = self.conn.execute("SELECT change_reason, change_date FROM erasures WHERE "
                                "resident_code = ?", (resident_code,)).fetchone()
        if row is None:
            return None
        return ChangeReason(row[0]), dt.date.fromisoformat(row[1])

    def save_card(self, card: StoredCard) -> None:
        """Insert or replace a resident card (inside a transaction)."""
        self.conn.execute(
            "INSERT INTO cards VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (serial) DO "
            "UPDATE SET resident_code = excluded.resident_code, state = excluded.state, "
            "failures = excluded.failures, issued_at = excluded.issued_at, expires_at = "
            "excluded.expires_at, chip_pin = excluded.chip_pin, chip_activated = "
            "excluded.chip_activated, chip_tries_left = excluded.chip_tries_left",
            (card.serial, card.resident_code, card.state, card.failures,
             None if card.issued_at is None else stamp(card.issued_at),
             None if card.expires_at is None else stamp(card.expires_at),
             card.chip_pin, int(card.chip_activated), card.chip_tries_left))

    def load_cards(self) -> list[StoredCard]:
        """Every resident card the municipality issued, in serial order."""
        return [StoredCard(serial=r["serial"], resident_code=r["resident_code"],
                           state=r["state"], failures=int(r["failures"]),
                           issued_at=parse_stamp(r["issued_at"]),
                           expires_at=parse_stamp(r["expires_at"]),
                           chip_pin=r["chip_pin"], chip_activated=bool(r["chip_activated"]),
                           chip_tries_left=int(r["chip_tries_left"]))
                for r in self.conn.execute("SELECT * FROM cards ORDER BY serial")]

class SqliteStorage(NodeStorage):
    """A node's storage in the SQLite file ``path`` (the embedded default)."""

    def __init__(self, path: str | Path, role: str, *, key_file: Path | None = None
                 ) -> None:
        if role not in _SCHEMAS:
            raise ValueError(f"unknown role {role!r}")
        super().__init__(SqliteDatabase(path), role, key_file=key_file)


def open_storage(target: str | Path, role: str, node: str, *,
                 key_file: Path | None = None, local: Path | None = None) -> NodeStorage:
    """The storage of node ``node``: in the PostgreSQL database at ``target`` when it is
    a ``postgresql://`` URL (schema ``n<node>``), else in the SQLite file ``target``.
    ``local``: a file of the node's beside the database (e.g. its audit checkpoints),
    whose directory is made private as a SQLite database's is (R-NODE-70)."""
    if role not in _SCHEMAS:
        raise ValueError(f"unknown role {role!r}")
    if local is not None:
        private_directory(local.parent)
    if is_url(target):
        return NodeStorage(connect(target, f"n{node.lower()}"), role, key_file=key_file)
    return SqliteStorage(target, role, key_file=key_file)


__all__ = [
    "DIR_MODE",
    "DISCLOSURE_LOG_KEY",
    "FILE_MODE",
    "IDENTITY_COLUMNS",
    "NodeStorage",
    "Pending",
    "SqliteStorage",
    "StorageError",
    "StoredCard",
    "digest_of",
    "identity_row",
    "open_storage",
    "read_key_file",
    "resident_from_json",
    "resident_to_json",
    "write_key_file",
]
