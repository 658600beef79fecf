"""The node's audit log: append-only, hash-chained, personal data masked.

Theory of operation
-------------------
Every message a node sends, receives, refuses or provides is one row of the ``audit``
table: when, which way (``sent``, ``received``, ``refused``, ``provided``), the operator
(``system`` for the node itself, or the operator id of a provision request), the peer
node, the message type and id, the result (``accepted``, ``duplicate``, or the error
code's number and name; for a message sent, ``sending``: its row is committed in the
transaction that produced it, before it is put on the wire, and a send that fails adds
a row ``failed: ...``) and the persons concerned, as *masked* resident codes only
(:func:`juki_protocol.identifiers.mask`): the log never holds a name, address, birth
date, full resident code or individual number.

Rows are numbered 1, 2, 3... with no gap. Each row's ``hash`` is the SHA-256 of the
previous row's hash and of the row's own fields in a canonical JSON form; the first
row's previous hash is 64 zeros. The ``audit_head`` row holds the number and hash of the
last row and is written in the same transaction. :func:`verify` recomputes the chain and
names the first row that was edited, inserted, or deleted (a gap in the numbers, a
broken link, a head that does not match the last row). A hash chain in the same file
shows tampering by anyone who does not recompute every later hash; an operator who needs
more exports the head hash to a separate system regularly (``juki audit verify`` prints
it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from juki_protocol.identifiers import mask
from juki_protocol.messages.base import walk

GENESIS = "0" * 64
DIRECTIONS = ("sent", "received", "refused", "provided")
MAX_SUBJECTS = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, direction TEXT NOT NULL,
    operator TEXT NOT NULL, peer TEXT NOT NULL, message_type TEXT NOT NULL,
    message_id TEXT NOT NULL, result TEXT NOT NULL, subjects TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
"""
_FIELDS = ("seq", "at", "direction", "operator", "peer", "message_type", "message_id",
           "result", "subjects")


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the audit tables if they do not exist."""
    conn.executescript(_SCHEMA)


def masked_subjects(message: object) -> str:
    """The masked resident codes of the persons a message concerns, comma-separated."""
    if not dataclasses.is_dataclass(message) or isinstance(message, type):
        return ""
    codes: list[str] = []
    for _, obj in walk(message):
        for name in ("resident_code", "previous_resident_code"):
            value = getattr(obj, name, None)
            if isinstance(value, str) and value not in codes:
                codes.append(value)
    for value in getattr(message, "by_resident_code", None) or ():
        if isinstance(value, str) and value not in codes:
            codes.append(value)
    return ",".join(mask(c) for c in codes[:MAX_SUBJECTS])


def _hash(prev: str, row: dict[str, object]) -> str:
    body = json.dumps([row[f] for f in _FIELDS], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(prev.encode("ascii") + b"\n" + body.encode("utf-8")).hexdigest()


def append(conn: sqlite3.Connection, *, at: dt.datetime, direction: str, peer: str,
           message_type: str, message_id: bytes | None, result: str,
           subjects: str = "", operator: str = "system") -> int:
    """Append one row; call it inside the transaction that commits what it records.
    Returns the row's number."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    seq, prev = (int(head[0]) + 1, str(head[1])) if head else (1, GENESIS)
    row: dict[str, object] = {
        "seq": seq, "at": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "direction": direction, "operator": operator, "peer": peer,
        "message_type": message_type, "message_id": message_id.hex() if message_id else "",
        "result": result, "subjects": subjects}
    digest = _hash(prev, row)
    conn.execute(f"INSERT INTO audit ({', '.join(_FIELDS)}, prev_hash, hash) VALUES "
                 f"({', '.join('?' * (len(_FIELDS) + 2))})",
                 (*(row[f] for f in _FIELDS), prev, digest))
    conn.execute("INSERT INTO audit_head VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                 "seq = excluded.seq, hash = excluded.hash", (seq, digest))
    return seq


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of :func:`verify`: ``ok``, how many rows, the head hash, and the first
    bad row with the reason when not ok."""

    ok: bool
    rows: int
    head: str
    first_bad: int | None = None
    reason: str = ""


def verify_connection(conn: sqlite3.Connection) -> Verification:
    """Recompute the chain of an open database (see the module docstring)."""
    prev, expected = GENESIS, 1
    count = 0
    for r in conn.execute(f"SELECT {', '.join(_FIELDS)}, prev_hash, hash FROM audit "
                          f"ORDER BY seq"):
        row = dict(zip((*_FIELDS, "prev_hash", "hash"), tuple(r), strict=True))
        seq = int(row["seq"])
        if seq != expected:
            return Verification(False, count, prev, expected,
                                f"row {expected} is missing (next row is {seq})")
        if row["prev_hash"] != prev:
            return Verification(False, count, prev, seq,
                                "its previous hash does not match the row before it")
        if _hash(prev, row) != row["hash"]:
            return Verification(False, count, prev, seq, "its content does not match its "
                                "hash (edited)")
        prev, expected, count = str(row["hash"]), expected + 1, count + 1
    head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    if head is None:
        if count:
            return Verification(False, count, prev, count, "the head record is missing")
    elif int(head[0]) != count or head[1] != prev:
        return Verification(False, count, prev, count + 1 if int(head[0]) > count else
                            int(head[0]), f"the head names row {head[0]} but the log ends "
                            f"at row {count} (rows deleted at the end)")
    return Verification(True, count, prev)


def verify(db_path: str | Path) -> Verification:
    """Verify the audit log of the node database at ``db_path`` (opened read-only)."""
    path = Path(db_path)
    if not path.is_file():
        raise FileNotFoundError(str(path))
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return verify_connection(conn)
    except sqlite3.Error as exc:
        return Verification(False, 0, GENESIS, 1, f"the audit table is unreadable: {exc}")
    finally:
        conn.close()


def rows(db_path: str | Path) -> list[dict[str, object]]:
    """Every audit row as a dict (for display and tests)."""
    conn = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        cur = conn.execute(f"SELECT {', '.join(_FIELDS)}, prev_hash, hash FROM audit "
                           f"ORDER BY seq")
        return [dict(zip((*_FIELDS, "prev_hash", "hash"), tuple(r), strict=True))
                for r in cur]
    finally:
        conn.close()


def read(conn: sqlite3.Connection, after: int = 0, limit: int = 1000
         ) -> list[dict[str, object]]:
    """The rows numbered above ``after``, oldest first, at most ``limit`` (an open
    database; what the upper tester's ``audit_log`` reports)."""
    cur = conn.execute(f"SELECT {', '.join(_FIELDS)} FROM audit WHERE seq > ? ORDER BY seq "
                       f"LIMIT ?", (after, limit))
    return [dict(zip(_FIELDS, tuple(r), strict=True)) for r in cur]


__all__ = ["GENESIS", "Verification", "append", "ensure_schema", "masked_subjects", "read",
           "rows",
           "verify", "verify_connection"]
