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

Anchoring (R-NODE-22 to R-NODE-25): whoever can write the database can also delete the
tail of the log and move the head, or delete everything, and the chain alone still
verifies. So the node's :class:`Anchor` writes *checkpoints* to a separate append-only
file, ``<db>.audit-checkpoints`` (created 0600): one JSON line per checkpoint with the
node id, the number and hash of the last row, the time, the rows purged so far (number
and hash of the last purged row), the SHA-256 of the previous line, the node's
certificate and an ECDSA signature with the node's private key (the one of its TLS and
envelopes), so they cannot be forged without that key. It writes one every
``checkpoint_rows`` rows or ``checkpoint_seconds`` seconds (checked every
``poll_seconds``) and at shutdown. :func:`verify` checks the file: a log that ends
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

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from juki_protocol.envelope import pki
from juki_protocol.errors import JukiError
from juki_protocol.identifiers import mask
from juki_protocol.messages.base import walk
from juki_protocol.node.sql import Database, StorageError, is_url, open_database

GENESIS = "0" * 64
#: ``local``: a local action of an operator at the node (spec/node.md section 4.8).
DIRECTIONS = ("sent", "received", "refused", "provided", "local")
MAX_SUBJECTS = 32

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
_FIELDS = ("seq", "at", "direction", "operator", "peer", "message_type", "message_id",
           "result", "subjects")


#: The operator on whose behalf the current local action runs (spec/node.md section 4.8):
#: the rows of the messages it sends name this operator; ``system`` outside one.
ACTING_OPERATOR: contextvars.ContextVar[str] = contextvars.ContextVar(
    "juki_acting_operator", default="system")


def ensure_schema(conn: Database) -> None:
    """Create the audit tables if they do not exist."""
    conn.create(_SCHEMA)


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
    #: The number of the last row (rows + the rows purged), and of the last purged row.
    last: int = 0
    base: int = 0
    #: How many checkpoints anchor the log (None: no checkpoint file).
    checkpoints: int | None = None


def verify_connection(conn: Database) -> Verification:
    """Recompute the chain of an open database (see the module docstring)."""
    base = conn.execute("SELECT seq, hash FROM audit_base WHERE id = 1").fetchone()
    first = int(base[0]) if base else 0
    prev, expected = (str(base[1]) if base else GENESIS), first + 1
    count = 0
    for r in conn.execute(f"SELECT {', '.join(_FIELDS)}, prev_hash, hash FROM audit "
                          f"ORDER BY seq"):
        row = dict(zip((*_FIELDS, "prev_hash", "hash"), tuple(r), strict=True))
        seq = int(row["seq"])
        if seq != expected:
            return Verification(False, count, prev, expected if seq > expected else seq,
                                f"row {expected} is missing (next row is {seq})")
        if row["prev_hash"] != prev:
            return Verification(False, count, prev, seq,
                                "its previous hash does not match the row before it")
        if _hash(prev, row) != row["hash"]:
            return Verification(False, count, prev, seq, "its content does not match its "
                                "hash (edited)")
        prev, expected, count = str(row["hash"]), expected + 1, count + 1
    last = first + count
    head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    if head is None:
        if last:
            return Verification(False, count, prev, last, "the head record is missing")
    elif int(head[0]) != last or head[1] != prev:
        return Verification(False, count, prev, last + 1 if int(head[0]) > last else
                            int(head[0]), f"the head names row {head[0]} but the log ends "
                            f"at row {last} (rows deleted at the end)")
    return Verification(True, count, prev, last=last, base=first)


def verify(db_path: str | Path, checkpoints: str | Path | None = None,
           cert: x509.Certificate | None = None) -> Verification:
    """Verify the audit log of the node database ``db_path`` (a SQLite file, opened
    read-only, or a PostgreSQL URL naming the node's schema, see
    :func:`~juki_protocol.node.sql.open_database`), then against its checkpoint file
    (``checkpoints``; for a file, by default ``<db>.audit-checkpoints``) if there is
    one; ``cert``, when given, is the only certificate accepted as signer."""
    if not is_url(db_path) and not Path(db_path).is_file():
        raise FileNotFoundError(str(db_path))
    try:
        conn = open_database(db_path, read_only=True)
    except StorageError as exc:
        return Verification(False, 0, GENESIS, 1, str(exc))
    try:
        result = verify_connection(conn)
        if not result.ok:
            return result
        cp_path = (Path(checkpoints) if checkpoints is not None
                   else None if is_url(db_path) else checkpoint_path(db_path))
        if cp_path is None or not cp_path.is_file():
            return result
        return _verify_checkpoints(conn, result, read_checkpoints(cp_path, cert))
    except StorageError as exc:
        return Verification(False, 0, GENESIS, 1, f"the audit table is unreadable: {exc}")
    except CheckpointError as exc:
        return Verification(False, 0, GENESIS, None, str(exc))
    finally:
        conn.close()


def rows(db_path: str | Path) -> list[dict[str, object]]:
    """Every audit row of the node database ``db_path`` as a dict (for display and
    tests; a file or a URL as :func:`verify` takes)."""
    conn = open_database(db_path, read_only=True)
    try:
        cur = conn.execute(f"SELECT {', '.join(_FIELDS)}, prev_hash, hash FROM audit "
                           f"ORDER BY seq")
        return [dict(zip((*_FIELDS, "prev_hash", "hash"), tuple(r), strict=True))
                for r in cur]
    finally:
        conn.close()


def read(conn: Database, after: int = 0, limit: int = 1000
         ) -> list[dict[str, object]]:
    """The rows numbered above ``after``, oldest first, at most ``limit`` (an open
    database; what the upper tester's ``audit_log`` reports)."""
    cur = conn.execute(f"SELECT {', '.join(_FIELDS)} FROM audit WHERE seq > ? ORDER BY seq "
                       f"LIMIT ?", (after, limit))
    return [dict(zip(_FIELDS, tuple(r), strict=True)) for r in cur]

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

class CheckpointError(ValueError):
    """The checkpoint file is unreadable, unsigned or out of order (tampered)."""


_CP_FIELDS = ("node", "seq", "head", "at", "purged", "purgedHash", "prev", "cert")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One signed line of the checkpoint file (see the module docstring)."""

    node: str
    seq: int
    head: str
    at: str
    purged: int
    purged_hash: str
    prev: str
    line: str


def checkpoint_path(db_path: str | Path) -> Path:
    """Where the checkpoints of the database at ``db_path`` are written."""
    path = Path(db_path)
    return path.with_name(path.name + CHECKPOINT_SUFFIX)


def _signed_body(fields: dict[str, object]) -> bytes:
    return json.dumps([fields[f] for f in _CP_FIELDS], separators=(",", ":")).encode()


def read_checkpoints(path: Path, cert: x509.Certificate | None = None
                     ) -> list[Checkpoint]:
    """The checkpoints of ``path``, each checked: its signature by the certificate it
    carries (which must name its node, and be ``cert`` when given) and its link to the
    line before it. Raises :class:`CheckpointError`."""
    out: list[Checkpoint] = []
    prev = GENESIS
    for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        try:
            fields = json.loads(line)
            signer = x509.load_der_x509_certificate(base64.b64decode(fields["cert"]))
            key = signer.public_key()
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise CheckpointError(f"checkpoint line {n}: not an EC key")
            key.verify(base64.b64decode(fields["sig"]), _signed_body(fields),
                       ec.ECDSA(hashes.SHA256()))
            named = str(pki.node_of_certificate(signer))
            cp = Checkpoint(str(fields["node"]), int(fields["seq"]), str(fields["head"]),
                            str(fields["at"]), int(fields["purged"]),
                            str(fields["purgedHash"]), str(fields["prev"]), line)
        except CheckpointError:
            raise
        except (InvalidSignature, ValueError, KeyError, TypeError, JukiError) as exc:
            raise CheckpointError(f"checkpoint line {n} is not a checkpoint signed by "
                                  f"its node ({type(exc).__name__})") from None
        if named != cp.node:
            raise CheckpointError(f"checkpoint line {n} is signed by {named}, not "
                                  f"{cp.node}")
        if cert is not None and signer != cert:
            raise CheckpointError(f"checkpoint line {n} is not signed by the given "
                                  f"certificate")
        if out and cp.node != out[0].node:
            raise CheckpointError(f"checkpoint line {n} is of another node")
        if cp.prev != prev:
            raise CheckpointError(f"checkpoint line {n} does not follow the line before "
                                  f"it (a line was removed or changed)")
        if out and (cp.seq < out[-1].seq or cp.purged < out[-1].purged):
            raise CheckpointError(f"checkpoint line {n} goes back (row {cp.seq} after "
                                  f"row {out[-1].seq})")
        prev = hashlib.sha256(line.encode("utf-8")).hexdigest()
        out.append(cp)
    return out


def _verify_checkpoints(conn: Database, chain: Verification,
                        checkpoints: list[Checkpoint]) -> Verification:
    """The log of ``conn`` (whose chain is intact) against its checkpoints."""
    def bad(first: int | None, reason: str) -> Verification:
        return dataclasses.replace(chain, ok=False, first_bad=first, reason=reason,
                                   checkpoints=len(checkpoints))

    def hash_of(seq: int) -> str | None:
        if seq == chain.base:
            base = conn.execute("SELECT hash FROM audit_base WHERE id = 1").fetchone()
            return str(base[0]) if base else GENESIS
        r = conn.execute("SELECT hash FROM audit WHERE seq = ?", (seq,)).fetchone()
        return None if r is None else str(r[0])

    purged = max((c.purged for c in checkpoints), default=0)
    if chain.base > purged:
        return bad(purged + 1, f"rows {purged + 1} to {chain.base} are gone, but the "
                   f"checkpoints record a purge only up to row {purged} (rows deleted "
                   f"at the front)")
    for cp in checkpoints:
        if cp.seq > chain.last:
            return bad(chain.last + 1, f"the log ends at row {chain.last}, but the "
                       f"checkpoint of {cp.at} covers row {cp.seq} (rows deleted at the "
                       f"end)")
        for seq, want in ((cp.seq, cp.head), (cp.purged, cp.purged_hash)):
            if seq >= chain.base and hash_of(seq) != want:
                return bad(seq, f"row {seq} does not match the checkpoint of {cp.at} "
                           f"(the log was rewritten)")
    return dataclasses.replace(chain, checkpoints=len(checkpoints))


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
        fields["sig"] = base64.b64encode(key.sign(_signed_body(fields), ec.ECDSA(
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


__all__ = ["CHECKPOINT_SUFFIX", "GENESIS", "Anchor", "AuditPolicy", "Checkpoint",
           "CheckpointError", "RefusalLimiter", "Verification", "append",
           "checkpoint_path", "ensure_schema", "limit_refusals", "masked_subjects", "read",
           "read_checkpoints", "rows", "verify", "verify_connection"]
