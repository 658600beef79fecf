"""Loading identity info in bulk into a prefecture's or the designated centre's storage:
an initial load, such as a migration, and what ``benchmarks/scale.py`` measures.

No node runs it: a node stores identity info one applied update at a time
(:meth:`~juki_protocol.node.storage.NodeStorage.apply_identity`), numbered and
acknowledged. A bulk load records no numbered update as applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from juki_protocol.node.storage import NodeStorage
from juki_protocol.node.storage_rows import IDENTITY_COLUMNS, stamp


def bulk_load_identity(storage: NodeStorage, rows: Iterable[tuple[object, ...]],
                       now: dt.datetime, chunk: int = 50_000) -> int:
    """Load current identity info in bulk into ``storage`` (an initial load, e.g. a
    migration: no numbered update is recorded as applied). ``rows`` hold the values of
    :data:`~juki_protocol.node.storage_rows.IDENTITY_COLUMNS`, in that order, already
    valid. Commits every ``chunk`` rows (PostgreSQL: COPY); returns how many were
    loaded."""
    columns = (*IDENTITY_COLUMNS, "stored_at")
    when = stamp(now)
    done = 0
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append((*row, when))
        if len(batch) >= chunk:
            with storage.transaction() as c:
                c.copy("identity_info", columns, batch)
            done += len(batch)
            batch = []
    if batch:
        with storage.transaction() as c:
            c.copy("identity_info", columns, batch)
        done += len(batch)
    return done


__all__ = ["bulk_load_identity"]
