"""What an endpoint needs from the node around it: a store and a role.

Both are :class:`typing.Protocol` classes: a vendor's node satisfies them with its own
database and its own machines; the reference node passes
:class:`juki_protocol.node.endpoint_store.EndpointStore` (SQLite or PostgreSQL) and a
:class:`juki_protocol.node.roles.RoleHandler`. Nothing here names a driver: a store
signals a failed write or commit with a :class:`~juki_protocol.errors.JukiError` whose
code is 9003 STORAGE_FAILURE (:func:`is_storage_failure`), and the endpoint then refuses
what it could not make durable.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import Any, Protocol

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.common import Effect, Inbound

#: An effect with the machine that produced it (the owner of its timers and answers).
Owned = tuple[Any, Effect]


def is_storage_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the store could not write or commit (9003)."""
    return isinstance(exc, JukiError) and exc.error_code == ErrorCode.STORAGE_FAILURE


class Store(Protocol):
    """The durable state the endpoint itself keeps: processed message ids (R-PDU-24) and
    the audit log (spec/node.md section 3), written in the transaction that commits what
    they record."""

    def transaction(self, receiving: bool = False) -> AbstractContextManager[Any]:
        """One durable transaction: committed on normal exit, rolled back on an
        exception; a failed commit raises a 9003 :class:`JukiError`. ``receiving``
        marks the transaction of a group of PDUs received (a store may time it)."""
        ...

    def savepoint(self, tx: Any) -> AbstractContextManager[None]:
        """A savepoint inside ``tx``: rolled back (and the exception re-raised) if the
        block raises, released otherwise."""
        ...

    def seen(self, sender: str, message_id: bytes) -> bytes | None:
        """The digest stored for ``sender``'s ``message_id``, or None."""
        ...

    def mark_processed(self, sender: str, message_id: bytes, digest: bytes,
                       message_type: str, now: dt.datetime) -> None:
        """Remember a processed message (inside a transaction)."""
        ...

    def forget_processed(self, before: dt.datetime) -> int:
        """Forget processed ids older than ``before``; how many were forgotten."""
        ...

    def audit(self, tx: Any, *, at: dt.datetime, direction: str, peer: str,
              message_type: str, message_id: bytes | None, result: str,
              message: object = None, operator: str = "system") -> None:
        """Append an audit row in ``tx``; ``message``, if given, is the statutory
        message the row records (the store masks its subjects, R-NODE-05)."""
        ...


class Role(Protocol):
    """The machines of one role (municipality, prefecture, national, agency)."""

    def machines(self) -> list[Any]:
        """Every machine (or desk) whose timers the node drives."""
        ...

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Owned]:
        """Feed a statutory message to its machine and store the result; raise a
        :class:`JukiError` (before changing anything) to refuse it."""
        ...

    def answered(self, owner: Any, inbound: Inbound, now: dt.datetime) -> list[Owned]:
        """Feed an acknowledgement or error report to ``owner``, which sent the message
        it answers."""
        ...

    def pending(self, now: dt.datetime) -> list[Owned]:
        """Messages to resend after a start (unacknowledged numbered messages)."""
        ...

    def reload(self) -> None:
        """Rebuild the machines from the store (after a failed commit)."""
        ...

    def persist(self, now: dt.datetime) -> None:
        """Store what a timer changed (inside a transaction)."""
        ...


__all__ = ["Owned", "Role", "Store", "is_storage_failure"]
