"""``juki node suspend-provision``, ``resume-provision``, ``stop-feed``, ``resume-feed``
and ``suspensions``: the operator's commands of spec/suspension.md on a node's database
(click commands that :mod:`juki_protocol.tools.cli_node` adds to ``juki node``).

They write the node's own database, as the node itself would, in one transaction with
their audit row naming ``--operator`` (R-SUSP-03, R-SUSP-04), so they work whether the
node is running or not. A running provider honours a suspension or its lifting at its
next request, since it asks its database at each request. A running municipality takes
a stop or resumption of its feed made here at its next start; to stop or resume the
feed of a running municipality at once, use its local action (the upper tester's
``stop_feed`` and ``resume_feed``, spec/node.md section 4.11).

Every failure is one line on stderr and a non-zero exit status, never a traceback
(:mod:`juki_protocol.cli_errors`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import click

from juki_protocol.cli_errors import CliError
from juki_protocol.errors import JukiError
from juki_protocol.identifiers import prefecture_of
from juki_protocol.messages.common import NodeRole
from juki_protocol.node.node import role_of_code
from juki_protocol.node.operators import check_operator_id
from juki_protocol.node.sql import is_url
from juki_protocol.node.storage import NodeStorage, open_storage
from juki_protocol.node.suspension import Suspensions, check_body, check_reason

_PROVIDERS = (NodeRole.PREFECTURE, NodeRole.NATIONAL)


def _database_options(f: click.decorators.FC) -> click.decorators.FC:
    for option in reversed((
            click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
                         default=None, help="The node's SQLite database (it must exist)."),
            click.option("--database", default=None, metavar="URL",
                         envvar="JUKI_DATABASE",
                         help="postgresql://...: the node's tables in that database, "
                         "schema n<node id> (env JUKI_DATABASE)."),
            click.option("--node", "code", required=True,
                         help="The node id (270008, DC01, 271004...)."))):
        f = option(f)
    return f


def _open(db: Path | None, database: str | None, code: str,
          roles: tuple[NodeRole, ...]) -> tuple[NodeStorage, Suspensions]:
    """The node's storage and its suspensions; a usage error for a node of another
    role, or without a database that exists."""
    try:
        role = role_of_code(code)
    except (JukiError, ValueError, IndexError) as exc:
        raise click.BadParameter(f"{code!r} is not a node id: {exc}",
                                 param_hint="--node") from None
    if role not in roles:
        raise click.BadParameter(f"{code} is a {role.value} node; this command is for a "
                                 f"{' or '.join(r.value for r in roles)}",
                                 param_hint="--node")
    if (db is None) == (database is None):
        raise click.UsageError("give the node's database: --db FILE or --database URL")
    if database is not None and not is_url(database):
        raise click.BadParameter("not a postgresql:// URL", param_hint="--database")
    if db is not None and not db.is_file():
        raise click.BadParameter(f"{db} does not exist (the node's database)",
                                 param_hint="--db")
    if db is not None:
        with db.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise CliError(f"{db} is not a node database (not an SQLite database "
                               f"file)")
    storage = open_storage(database or db or "", role.value, code)
    return storage, Suspensions(storage.conn, storage.transaction, code)


def _operator(value: str) -> str:
    try:
        return check_operator_id(value)
    except JukiError as exc:
        raise click.BadParameter(str(exc), param_hint="--operator") from None


def _checked(check: Callable[[object], str], value: str, hint: str) -> str:
    try:
        return check(value)
    except JukiError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


_OPERATOR = click.option("--operator", "operator", required=True, metavar="ID",
                         help="The operator who decides (written in the audit log; no "
                         "personal data).")
_REASON = click.option("--reason", required=True, metavar="CODE",
                       help="A reason code: 1 to 32 lower-case letters, digits, hyphens "
                       "(e.g. misuse, audit-finding); no personal data.")


@click.command("suspend-provision")
@_database_options
@click.option("--body", required=True, help="The requesting body: AGnnnn or a local "
              "government code.")
@_REASON
@_OPERATOR
def suspend_provision(db: Path | None, database: str | None, code: str, body: str,
                      reason: str, operator: str) -> None:
    """Suspend provision to BODY at a prefecture or the centre: its requests are
    refused with 3030 PROVISION_SUSPENDED until resume-provision (spec/suspension.md)."""
    body, reason = _checked(check_body, body, "--body"), _checked(check_reason, reason,
                                                                    "--reason")
    storage, store = _open(db, database, code, _PROVIDERS)
    try:
        changed = store.suspend(body, reason, _operator(operator), dt.datetime.now(dt.UTC))
    finally:
        storage.close()
    click.echo(f"{code}: provision to {body} " + ("suspended" if changed else
                                                   "was already suspended"))


@click.command("resume-provision")
@_database_options
@click.option("--body", required=True, help="The requesting body whose suspension ends.")
@_OPERATOR
def resume_provision(db: Path | None, database: str | None, code: str, body: str,
                     operator: str) -> None:
    """Lift the suspension of provision to BODY (spec/suspension.md)."""
    body = _checked(check_body, body, "--body")
    storage, store = _open(db, database, code, _PROVIDERS)
    try:
        changed = store.resume(body, _operator(operator), dt.datetime.now(dt.UTC))
    finally:
        storage.close()
    click.echo(f"{code}: provision to {body} " + ("resumed" if changed else
                                                   "was not suspended"))


@click.command("stop-feed")
@_database_options
@_REASON
@_OPERATOR
def stop_feed(db: Path | None, database: str | None, code: str, reason: str,
              operator: str) -> None:
    """Stop a municipality's feed to the network: its identity info updates are held,
    not sent, until resume-feed (spec/suspension.md; a running node takes it at its next
    start)."""
    reason = _checked(check_reason, reason, "--reason")
    storage, store = _open(db, database, code, (NodeRole.MUNICIPALITY,))
    try:
        changed = store.stop_feed(prefecture_of(code), reason, _operator(operator),
                                  dt.datetime.now(dt.UTC))
    finally:
        storage.close()
    click.echo(f"{code}: feed " + ("stopped" if changed else "was already stopped"))


@click.command("resume-feed")
@_database_options
@_OPERATOR
def resume_feed(db: Path | None, database: str | None, code: str, operator: str) -> None:
    """Resume a municipality's feed: the held updates are sent in order when the node
    next starts (spec/suspension.md)."""
    storage, store = _open(db, database, code, (NodeRole.MUNICIPALITY,))
    try:
        held = len(storage.pending_updates()[1])
        changed = store.resume_feed(prefecture_of(code), held, _operator(operator),
                                    dt.datetime.now(dt.UTC))
    finally:
        storage.close()
    click.echo(f"{code}: feed " + (f"resumed ({held} updates to send)" if changed
                                   else "was not stopped"))


@click.command("suspensions")
@_database_options
def suspensions(db: Path | None, database: str | None, code: str) -> None:
    """Print, as JSON, the bodies whose provision a provider suspended, or whether a
    municipality's feed is stopped."""
    storage, store = _open(db, database, code, (*_PROVIDERS, NodeRole.MUNICIPALITY))
    try:
        if role_of_code(code) is NodeRole.MUNICIPALITY:
            stop = store.feed_stop()
            out: dict[str, object] = {"node": code, "feedStopped": stop is not None,
                                      "since": stop.since if stop else None,
                                      "reason": stop.reason if stop else None}
        else:
            out = {"node": code, "suspended": [s.to_json() for s in store.suspended()]}
    finally:
        storage.close()
    click.echo(json.dumps(out, indent=1))


#: The commands ``juki node`` adds.
SUSPENSION_COMMANDS = (suspend_provision, resume_provision, stop_feed, resume_feed,
                       suspensions)

__all__ = ["SUSPENSION_COMMANDS"]
