"""Stopping provision, kept in the node's database (spec/suspension.md).

Theory of operation
-------------------
Two measures of the seeds' privacy protection are kept here, each a row of the node's
own database, so that it holds across a restart (R-SUSP-03, R-SUSP-06):

* a provider (a prefecture or the centre) *suspends provision* to a requesting body
  (table ``provision_suspensions``, one row per suspended body). The provider's machine
  is given :class:`Suspensions` as its ``suspended`` container and asks it, by a query,
  at every request, so a suspension made by another process on the same database (the
  ``juki node suspend-provision`` command) holds for the next request of a running node;
* a municipality *stops feeding* the network (table ``feed_stop``, one row while it is
  stopped): its identity updater holds the updates of Art. 30-5 and sends them, in
  order, when the feed resumes (:mod:`juki_protocol.machines.identity`, state ``held``).

Each change writes its audit row (direction ``local``, R-SUSP-04) in the transaction
that stores it: who (the operator), when, the body or the prefecture concerned, and the
reason code, never personal data. A reason is a short code of the operator's choosing
(``misuse``, ``audit-finding``...), not free text, so that nothing personal can be
written into the log through it. Suspending a suspended body or stopping a stopped feed
changes nothing and writes nothing (the command is safe to repeat).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.identifiers import validate_local_gov_code
from juki_protocol.node import audit
from juki_protocol.node.sql import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS provision_suspensions (
    body_code TEXT PRIMARY KEY, suspended_at TEXT NOT NULL, reason TEXT NOT NULL,
    operator TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feed_stop (
    id INTEGER PRIMARY KEY CHECK (id = 1), stopped_at TEXT NOT NULL, reason TEXT NOT NULL,
    operator TEXT NOT NULL);
"""
#: A reason code: lower-case letters, digits and hyphens, 1 to 32 (no personal data).
REASON = re.compile(r"[a-z][a-z0-9-]{0,31}\Z")
_AGENCY = re.compile(r"AG[0-9]{4}\Z")
#: The audit rows' message types (spec/suspension.md section 4).
SUSPENDED, RESUMED = "provisionSuspended", "provisionResumed"
FEED_STOPPED, FEED_RESUMED = "feedStopped", "feedResumed"

Transaction = Callable[[], AbstractContextManager[Database]]


def _bad(message: str) -> JukiError:
    return JukiError(message, code=ErrorCode.INVALID_JSON)


def check_body(value: object) -> str:
    """A requesting body's code: ``AGnnnn`` or a local government code (1030 naming
    the field ``body`` otherwise)."""
    if isinstance(value, str) and _AGENCY.match(value):
        return value
    if not isinstance(value, str):
        raise _bad("body must be a body's code: AGnnnn or a local government code")
    try:
        validate_local_gov_code(value, "body")
    except JukiError as exc:
        raise _bad(f"body must be AGnnnn or a valid local government code: {exc}"
                   ) from None
    return value


def check_reason(value: object) -> str:
    """A reason code (1030 naming the field ``reason`` otherwise)."""
    if not isinstance(value, str) or not REASON.match(value):
        raise _bad("reason must be a code of 1 to 32 lower-case letters, digits or "
                   "hyphens, starting with a letter (no personal data)")
    return value


def _t(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class Suspension:
    """One suspension (or the stop of the feed): whom it concerns (a body's code; for
    the feed, the municipality's own), since when, why, and by whom."""

    subject: str
    since: str
    reason: str
    operator: str

    def to_json(self) -> dict[str, str]:
        """The upper tester's form."""
        return {"body": self.subject, "since": self.since, "reason": self.reason,
                "operator": self.operator}


class Suspensions:
    """The suspensions of one node, in its database ``conn`` (see the module
    docstring); ``node``: the node's code, written in the audit rows of the feed."""

    def __init__(self, conn: Database, transaction: Transaction, node: str) -> None:
        self.conn = conn
        self.transaction = transaction
        self.node = node
        conn.create(_SCHEMA)

    # Provision (prefecture, national) ----------------------------------------------

    def __contains__(self, body: object) -> bool:
        """Whether provision to ``body`` is suspended (queried at each request)."""
        return self.conn.execute("SELECT 1 FROM provision_suspensions WHERE body_code = ?",
                                 (body,)).fetchone() is not None

    def suspended(self) -> list[Suspension]:
        """Every suspended body, by code."""
        return [Suspension(subject=str(r[0]), since=str(r[1]), reason=str(r[2]),
                           operator=str(r[3]))
                for r in self.conn.execute(
                    "SELECT body_code, suspended_at, reason, operator FROM "
                    "provision_suspensions ORDER BY body_code")]

    def suspend(self, body: str, reason: str, operator: str, now: dt.datetime) -> bool:
        """Suspend provision to ``body`` (R-SUSP-01, R-SUSP-03, R-SUSP-04); False when it
        already was (nothing changed, nothing audited)."""
        check_body(body)
        check_reason(reason)
        with self.transaction() as c:
            if body in self:
                return False
            c.execute("INSERT INTO provision_suspensions VALUES (?, ?, ?, ?)",
                      (body, _t(now), reason, operator))
            audit.append(c, at=now, direction="local", peer=body, message_type=SUSPENDED,
                         message_id=None, result=f"suspended: {reason}", operator=operator)
        return True

    def resume(self, body: str, operator: str, now: dt.datetime) -> bool:
        """Lift the suspension of ``body`` (R-SUSP-02, R-SUSP-04); False when it was not
        suspended."""
        check_body(body)
        with self.transaction() as c:
            gone = c.execute("DELETE FROM provision_suspensions WHERE body_code = ?",
                             (body,)).rowcount
            if not gone:
                return False
            audit.append(c, at=now, direction="local", peer=body, message_type=RESUMED,
                         message_id=None, result="resumed", operator=operator)
        return True

    # The feed (municipality) ---------------------------------------------------------

    def feed_stop(self) -> Suspension | None:
        """The stop of this municipality's feed, or None while it feeds."""
        row = self.conn.execute("SELECT stopped_at, reason, operator FROM feed_stop "
                                "WHERE id = 1").fetchone()
        return None if row is None else Suspension(
            subject=self.node, since=str(row[0]), reason=str(row[1]), operator=str(row[2]))

    def stop_feed(self, peer: str, reason: str, operator: str, now: dt.datetime) -> bool:
        """Record that the feed to ``peer`` (the prefecture) is stopped (R-SUSP-05,
        R-SUSP-06); False when it already was. Call it inside the transaction that
        holds the updater, so that both commit together."""
        check_reason(reason)
        with self.transaction() as c:
            if self.feed_stop() is not None:
                return False
            c.execute("INSERT INTO feed_stop VALUES (1, ?, ?, ?)", (_t(now), reason,
                                                                    operator))
            audit.append(c, at=now, direction="local", peer=peer,
                         message_type=FEED_STOPPED, message_id=None,
                         result=f"stopped: {reason}", operator=operator)
        return True

    def resume_feed(self, peer: str, held: int, operator: str, now: dt.datetime) -> bool:
        """Record that the feed to ``peer`` resumed with ``held`` updates to send;
        False when it was not stopped."""
        with self.transaction() as c:
            if not c.execute("DELETE FROM feed_stop WHERE id = 1").rowcount:
                return False
            audit.append(c, at=now, direction="local", peer=peer,
                         message_type=FEED_RESUMED, message_id=None,
                         result=f"resumed: {held} held", operator=operator)
        return True


__all__ = ["FEED_RESUMED", "FEED_STOPPED", "REASON", "RESUMED", "SUSPENDED", "Suspension",
           "Suspensions", "check_body", "check_reason"]
