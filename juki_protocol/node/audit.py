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
last row and is written in the same transaction. The verifier,
:mod:`juki_protocol.tools.audit_verify` (``juki audit verify``; the node never runs it),
recomputes the chain and names the first row that was edited, inserted, or deleted (a
gap in the numbers, a broken link, a head that does not match the last row). A hash
chain in the same file shows tampering by anyone who does not recompute every later
hash; an operator who needs more exports the head hash to a separate system regularly
(``juki audit verify`` prints it).

Anchoring (R-NODE-22 to R-NODE-25): whoever can write the database can also delete the
tail of the log and move the head, or delete everything, and the chain alone still
verifies. So the node's :class:`Anchor` writes *checkpoints* to a separate append-only
file, ``<db>.audit-checkpoints`` (created 0600): one JSON line per checkpoint with the
node id, the number and hash of the last row, the time, the rows purged so far (number
and hash of the last purged row), the SHA-256 of the previous line, the node's
certificate and an ECDSA signature with the node's private key (the one of its TLS and
envelopes), so they cannot be forged without that key. It writes one every
``checkpoint_rows`` rows or ``checkpoint_seconds`` seconds (checked every
``poll_seconds``) and at shutdown. The verifier checks the file: a log that ends
before a checkpoint's row, a row whose hash is not the checkpoint's, or rows missing at
the front beyond the purge a checkpoint records is reported as tampered. The file only
proves what it holds: copy it to another system as often as the head hash.

Retention (R-NODE-26): rows older than ``retention`` are deleted only after a checkpoint
that records the purge (its number and hash) is on disk; the table ``audit_base`` keeps
the number and hash of the last purged row, from which the chain goes on.

Refusals (R-NODE-27, R-NODE-28): a peer that sends garbage gets one refusal per frame,
and a row each would fill the disk. :func:`limit_refusals` registers a
:class:`RefusalLimiter` for a database connection: per peer, result and interval of
``interval_seconds``, the first ``refusals_in_full`` refusals are written as rows; the
rest are counted in memory and written as ONE summary row (direction ``refused``, the
result followed by the count) when the interval has ended, at the next row, the next
checkpoint tick or shutdown. Rows stay numbered without gaps. The counts of the current
interval live in memory: a crash loses them (the rows in full show the peer's
behaviour), and a transaction that rolls back after a summary row was written loses it.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from juki_protocol.envelope import pki
from juki_protocol.errors import JukiError
from juki_protocol.identifiers import mask
from juki_protocol.messages.base import walk
from juki_protocol.node.sql import Database

GENESIS = "0" * 64
#: ``local``: a local action of an operator at the node (spec/node.md section 4.8).
DIRECTIONS = ("sent", "received", "refused", "provided", "local")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, direction TEXT NOT NULL,
    operator TEXT NOT NULL, peer TEXT NOT NULL, message_type TEXT NOT NULL,
    message_id TEXT NOT NULL, result TEXT NOT NULL, subjects TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_base (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
"""
logger = logging.getLogger(__name__)
CHECKPOINT_SUFFIX = ".audit-checkpoints"
#: The fields of a row that its hash covers, in this order.
FIELDS = ("seq", "at", "direction", "operator", "peer", "message_type", "message_id",
          "result", "subjects")


#: The operator on whose behalf the current local action runs (spec/node.md section 4.8):
#: the rows of the messages it sends name this operator; ``system`` outside one.
ACTING_OPERATOR: contextvars.ContextVar[str] = contextvars.ContextVar(
    "juki_acting_operator", default="system")


def ensure_schema(conn: Database) -> None:
    """Create the audit tables if they do not exist."""
    conn.create(_SCHEMA)


def masked_subjects(message: object) -> str:
    """The masked resident codes of the persons a message concerns, comma-separated:
    every one of them (R-NODE-06; a query names up to 100)."""
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
    return ",".join(mask(c) for c in codes)


def row_hash(prev: str, row: dict[str, object]) -> str:
    """The hash of ``row`` after the row whose hash is ``prev`` (see the module
    docstring)."""
    body = json.dumps([row[f] for f in FIELDS], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(prev.encode("ascii") + b"\n" + body.encode("utf-8")).hexdigest()


def append(conn: Database, *, at: dt.datetime, direction: str, peer: str,
           message_type: str, message_id: bytes | None, result: str,
           subjects: str = "", operator: str = "system") -> int:
    """Append one row; call it inside the transaction that commits what it records.
    Returns the row's number, or 0 for a refusal only counted (R-NODE-27)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    held = _LIMITERS.get(id(conn))
    limiter = held[1] if held is not None and held[0] is conn else None
    if limiter is not None:
        limiter.flush(conn, at)
        if direction == "refused" and not limiter.admit(peer, result, message_type, at):
            return 0
    return _write(conn, at=at, direction=direction, peer=peer, message_type=message_type,
                  message_id=message_id, result=result, subjects=subjects,
                  operator=operator)


def _write(conn: Database, *, at: dt.datetime, direction: str, peer: str,
           message_type: str, message_id: bytes | None, result: str,
           subjects: str, operator: str) -> int:
    """Append one row as it is (no limiter)."""
    head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    seq, prev = (int(head[0]) + 1, str(head[1])) if head else (1, GENESIS)
    row: dict[str, object] = {
        "seq": seq, "at": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "direction": direction, "operator": operator, "peer": peer,
        "message_type": message_type, "message_id": message_id.hex() if message_id else "",
        "result": result, "subjects": subjects}
    digest = row_hash(prev, row)
    conn.execute(f"INSERT INTO audit ({', '.join(FIELDS)}, prev_hash, hash) VALUES "
                 f"({', '.join('?' * (len(FIELDS) + 2))})",
                 (*(row[f] for f in FIELDS), prev, digest))
    conn.execute("INSERT INTO audit_head VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                 "seq = excluded.seq, hash = excluded.hash", (seq, digest))
    return seq


def read(conn: Database, after: int = 0, limit: int = 1000
         ) -> list[dict[str, object]]:
    """The rows numbered above ``after``, oldest first, at most ``limit`` (an open
    database; what the upper tester's ``audit_log`` reports)."""
    cur = conn.execute(f"SELECT {', '.join(FIELDS)} FROM audit WHERE seq > ? ORDER BY seq "
                       f"LIMIT ?", (after, limit))
    return [dict(zip(FIELDS, tuple(r), strict=True)) for r in cur]

# Refusals: the first ones in full, the rest counted (R-NODE-27, R-NODE-28) ---------------

@dataclass(frozen=True, slots=True)
class AuditPolicy:
    """How a node keeps its audit log (NodeConfig.audit): refusals in full per peer,
    result and interval; checkpoint intervals; the retention of rows (None: for ever)."""

    refusals_in_full: int = 20
    interval_seconds: float = 60.0
    checkpoint_rows: int = 1000
    checkpoint_seconds: float = 300.0
    poll_seconds: float = 1.0
    retention: dt.timedelta | None = None


@dataclass(slots=True)
class _Window:
    start: float
    written: int = 0
    counted: int = 0
    types: set[str] = field(default_factory=set)


class RefusalLimiter:
    """Per peer and result, the refusals of one interval beyond the first ones are only
    counted, then written as one summary row (see the module docstring)."""

    def __init__(self, in_full: int, interval: float) -> None:
        self.in_full = in_full
        self.interval = interval
        self._windows: dict[tuple[str, str], _Window] = {}

    def _start(self, at: dt.datetime) -> float:
        t = at.timestamp()
        return t - t % self.interval

    def admit(self, peer: str, result: str, message_type: str, at: dt.datetime) -> bool:
        """Whether this refusal gets a row of its own (else it is counted)."""
        start = self._start(at)
        window = self._windows.get((peer, result))
        if window is None or window.start != start:
            window = self._windows[(peer, result)] = _Window(start)
        if window.written < self.in_full:
            window.written += 1
            return True
        window.counted += 1
        window.types.add(message_type)
        return False

    def flush(self, conn: Database, at: dt.datetime, *, all_: bool = False
              ) -> int:
        """Write the summary rows of the intervals that have ended by ``at`` (of every
        interval when ``all_``); returns how many."""
        now, done = at.timestamp(), 0
        for key, window in list(self._windows.items()):
            if not all_ and window.start + self.interval > now:
                continue
            del self._windows[key]
            if not window.counted:
                continue
            start = dt.datetime.fromtimestamp(window.start, dt.UTC)
            mtype = next(iter(window.types)) if len(window.types) == 1 else "-"
            _write(conn, at=at, direction="refused", peer=key[0], message_type=mtype,
                   message_id=None, result=f"{key[1]}; {window.counted} more refusals "
                   f"counted, not written one by one, from {_stamp(start)} for "
                   f"{self.interval:g} s", subjects="", operator="system")
            done += 1
        return done

    def pending(self) -> int:
        """How many refusals are counted and not yet written."""
        return sum(w.counted for w in self._windows.values())


#: By id of the connection; the connection is held too, so that its id cannot be taken
#: by another one while it is registered (connections need take no weak references).
_LIMITERS: dict[int, tuple[Database, RefusalLimiter]] = {}


def limit_refusals(conn: Database, in_full: int, interval: float
                   ) -> RefusalLimiter:
    """Limit the refusal rows appended through ``conn`` (until :func:`unlimit`)."""
    limiter = RefusalLimiter(in_full, interval)
    _LIMITERS[id(conn)] = (conn, limiter)
    return limiter


def unlimit(conn: Database) -> None:
    """Forget the limiter of ``conn`` (before it is closed)."""
    _LIMITERS.pop(id(conn), None)


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Checkpoints (R-NODE-22 to R-NODE-26) ------------------------------------------------------

#: The fields of a checkpoint line that its signature covers, in this order.
CHECKPOINT_FIELDS = ("node", "seq", "head", "at", "purged", "purgedHash", "prev", "cert")


def checkpoint_path(db_path: str | Path) -> Path:
    """Where the checkpoints of the database at ``db_path`` are written."""
    path = Path(db_path)
    return path.with_name(path.name + CHECKPOINT_SUFFIX)


def signed_body(fields: dict[str, object]) -> bytes:
    """The octets a checkpoint's signature covers."""
    return json.dumps([fields[f] for f in CHECKPOINT_FIELDS], separators=(",", ":")).encode()


class Anchor:
    """Keeps one node's audit log: its refusal limiter, its checkpoints, its retention
    (see the module docstring). ``transaction`` is the node's storage transaction."""

    def __init__(self, conn: Database, transaction: Callable[[], Any],
                 db_path: Path, node: str, credential: pki.Credential,
                 policy: AuditPolicy) -> None:
        self.conn = conn
        self.transaction = transaction
        self.path = checkpoint_path(db_path)
        self.node = node
        self.credential = credential
        self.policy = policy
        self.limiter = limit_refusals(conn, policy.refusals_in_full,
                                      policy.interval_seconds)
        self.cert_b64 = base64.b64encode(credential.certificate.public_bytes(
            serialization.Encoding.DER)).decode("ascii")
        self.last: tuple[int, str, float] | None = None    # seq, line hash, when
        if self.path.is_file():
            lines = self.path.read_text("utf-8").splitlines()
            if lines:
                seq = int(json.loads(lines[-1]).get("seq", 0))
                self.last = (seq, hashlib.sha256(lines[-1].encode()).hexdigest(),
                             time.monotonic())

    def _head(self) -> tuple[int, str]:
        head = self.conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        return (int(head[0]), str(head[1])) if head else (0, GENESIS)

    def _base(self) -> tuple[int, str]:
        base = self.conn.execute("SELECT seq, hash FROM audit_base WHERE id = 1").fetchone()
        return (int(base[0]), str(base[1])) if base else (0, GENESIS)

    def checkpoint(self, now: dt.datetime, purged: tuple[int, str] | None = None,
                   force: bool = False) -> bool:
        """Append a signed checkpoint of the head (and of ``purged``, the last row about
        to be purged, else the current base) and fsync it; not when nothing changed
        since the last one, unless ``force``. Returns whether it wrote one."""
        seq, head = self._head()
        if self.last is not None and self.last[0] == seq and purged is None and not force:
            return False
        p_seq, p_hash = purged or self._base()
        fields: dict[str, object] = {
            "node": self.node, "seq": seq, "head": head, "at": _stamp(now),
            "purged": p_seq, "purgedHash": p_hash,
            "prev": self.last[1] if self.last else GENESIS, "cert": self.cert_b64}
        key = self.credential.key
        fields["sig"] = base64.b64encode(key.sign(signed_body(fields), ec.ECDSA(
            hashes.SHA256()))).decode("ascii")
        line = json.dumps(fields, separators=(",", ":"))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8") + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        self.last = (seq, hashlib.sha256(line.encode()).hexdigest(), time.monotonic())
        return True

    def purge(self, now: dt.datetime) -> int:
        """Delete the rows older than the retention (never the last row), once a
        checkpoint that records it is on disk; returns how many."""
        if self.policy.retention is None:
            return 0
        cutoff = _stamp(now - self.policy.retention)
        seq, _ = self._head()
        row = self.conn.execute("SELECT seq, hash FROM audit WHERE at < ? AND seq < ? "
                                "ORDER BY seq DESC LIMIT 1", (cutoff, seq)).fetchone()
        if row is None:
            return 0
        last, digest = int(row[0]), str(row[1])
        self.checkpoint(now, purged=(last, digest))
        with self.transaction() as c:
            n = c.execute("DELETE FROM audit WHERE seq <= ?", (last,)).rowcount
            c.execute("INSERT INTO audit_base VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE "
                      "SET seq = excluded.seq, hash = excluded.hash", (last, digest))
        return int(n)

    def tick(self, now: dt.datetime, *, final: bool = False) -> None:
        """Write the due summary rows (all of them when ``final``), a checkpoint when
        due (always when ``final``), and purge what the retention allows."""
        try:
            if self.limiter.pending() or final:
                with self.transaction() as c:
                    self.limiter.flush(c, now, all_=final)
            seq, _ = self._head()
            since = self.last[0] if self.last else -1
            age = time.monotonic() - self.last[2] if self.last else float("inf")
            if final or seq - since >= self.policy.checkpoint_rows or (
                    seq != since and age >= self.policy.checkpoint_seconds):
                self.checkpoint(now)
            if not final:
                self.purge(now)
        except (OSError, JukiError) as exc:
            logger.error("%s: audit checkpoint failed: %s", self.node, exc)

    async def run(self, clock: Callable[[], dt.datetime]) -> None:
        """Tick every ``poll_seconds`` (a task of the node)."""
        self.tick(clock())
        while True:
            await asyncio.sleep(self.policy.poll_seconds)
            self.tick(clock())

    def close(self, now: dt.datetime) -> None:
        """At shutdown: the last summary rows and a checkpoint; forget the limiter."""
        self.tick(now, final=True)
        unlimit(self.conn)


__all__ = ["CHECKPOINT_FIELDS", "CHECKPOINT_SUFFIX", "FIELDS", "GENESIS", "Anchor",
           "AuditPolicy", "RefusalLimiter", "append", "checkpoint_path", "ensure_schema",
           "limit_refusals", "masked_subjects", "read", "row_hash", "signed_body"]
