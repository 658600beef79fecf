"""Verifying a node's audit log offline (``juki audit verify``): its hash chain and its
signed checkpoints (spec/node.md section 3, R-NODE-22 to R-NODE-25).

The node writes the log and its checkpoints (:mod:`juki_protocol.node.audit`, whose
docstring describes both); it never verifies them itself. This is the verifier that an
operator, an auditor or a test runs on the node's database and checkpoint file.

:func:`verify_connection` recomputes the chain and names the first row that was edited,
inserted or deleted (a gap in the numbers, a broken link, a head that does not match the
last row). :func:`verify` opens the database read-only, does the same, then checks the
checkpoint file: each line's signature by the node certificate it carries and its link
to the line before (:func:`read_checkpoints`); a log that ends before a checkpoint's
row, a row whose hash is not the checkpoint's, or rows missing at the front beyond the
purge a checkpoint records is reported as tampered. It prints the head hash, which an
operator exports to a separate system regularly.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from juki_protocol.envelope import pki
from juki_protocol.errors import JukiError
from juki_protocol.node.audit import FIELDS, GENESIS, checkpoint_path, row_hash, signed_body
from juki_protocol.node.sql import Database, StorageError, is_url, open_database


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
    for r in conn.execute(f"SELECT {', '.join(FIELDS)}, prev_hash, hash FROM audit "
                          f"ORDER BY seq"):
        row = dict(zip((*FIELDS, "prev_hash", "hash"), tuple(r), strict=True))
        seq = int(row["seq"])
        if seq != expected:
            return Verification(False, count, prev, expected if seq > expected else seq,
                                f"row {expected} is missing (next row is {seq})")
        if row["prev_hash"] != prev:
            return Verification(False, count, prev, seq,
                                "its previous hash does not match the row before it")
        if row_hash(prev, row) != row["hash"]:
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
        cur = conn.execute(f"SELECT {', '.join(FIELDS)}, prev_hash, hash FROM audit "
                           f"ORDER BY seq")
        return [dict(zip((*FIELDS, "prev_hash", "hash"), tuple(r), strict=True))
                for r in cur]
    finally:
        conn.close()


# Checkpoints (R-NODE-22 to R-NODE-26) -------------------------------------------------

class CheckpointError(ValueError):
    """The checkpoint file is unreadable, unsigned or out of order (tampered)."""


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
            key.verify(base64.b64decode(fields["sig"]), signed_body(fields),
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


__all__ = ["Checkpoint", "CheckpointError", "Verification", "read_checkpoints", "rows",
           "verify", "verify_connection"]
