"""The reference node's store for its endpoint: :class:`NodeStorage` and the audit log
behind the :class:`juki_protocol.endpoint.interfaces.Store` interface.

Either engine (SQLite or PostgreSQL) serves: the SQL is that of :mod:`sql` and
:mod:`audit`; the endpoint sees transactions, savepoints, processed ids and audit rows.
The receiving transactions are timed for the node's metrics (``--metrics``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from juki_protocol.node import audit
from juki_protocol.node.metrics import NodeMetrics
from juki_protocol.node.sql import Database
from juki_protocol.node.storage import NodeStorage

logger = logging.getLogger(__name__)


class EndpointStore:
    """``storage`` as the endpoint's store. Each call reads ``storage``'s methods when it
    is made, so a test that replaces one of them on the storage object is obeyed."""

    def __init__(self, storage: NodeStorage, metrics: NodeMetrics | None = None) -> None:
        self.storage = storage
        self.metrics = metrics

    def transaction(self, receiving: bool = False) -> AbstractContextManager[Database]:
        """One durable transaction; the commit of a ``receiving`` one is timed when the
        node has metrics (``juki_storage_commit_seconds``)."""
        tx = self.storage.transaction()
        return self.metrics.timed(tx) if receiving and self.metrics is not None else tx

    @contextlib.contextmanager
    def savepoint(self, tx: Database) -> Iterator[None]:
        """A savepoint in ``tx``: rolled back if the block raises (the exception is
        re-raised), released otherwise."""
        tx.execute("SAVEPOINT juki_endpoint")
        try:
            yield
        except BaseException:
            try:
                tx.execute("ROLLBACK TO SAVEPOINT juki_endpoint")
                tx.execute("RELEASE SAVEPOINT juki_endpoint")
            except Exception as exc:      # the transaction is lost anyway: keep the cause
                logger.debug("could not roll back to the savepoint: %s", exc)
            raise
        tx.execute("RELEASE SAVEPOINT juki_endpoint")

    def seen(self, sender: str, message_id: bytes) -> bytes | None:
        return self.storage.seen(sender, message_id)

    def mark_processed(self, sender: str, message_id: bytes, digest: bytes,
                       message_type: str, now: dt.datetime) -> None:
        self.storage.mark_processed(sender, message_id, digest, message_type, now)

    def forget_processed(self, before: dt.datetime) -> int:
        return self.storage.forget_processed(before)

    def audit(self, tx: Any, *, at: dt.datetime, direction: str, peer: str,
              message_type: str, message_id: bytes | None, result: str,
              message: object = None, operator: str = "system") -> None:
        """An audit row; the persons ``message`` concerns are masked (R-NODE-05)."""
        subjects = audit.masked_subjects(message) if message is not None else ""
        audit.append(tx, at=at, direction=direction, peer=peer, message_type=message_type,
                     message_id=message_id, result=result, subjects=subjects,
                     operator=operator)


__all__ = ["EndpointStore"]
