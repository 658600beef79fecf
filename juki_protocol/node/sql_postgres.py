"""The PostgreSQL engine of a node's database (:mod:`juki_protocol.node.sql`).

A node's tables live in one schema of a PostgreSQL database reached by URL
(``postgresql://...``); statements are written once for both engines, with ``?``
placeholders, turned here into the driver's ``%s``. The driver is imported only when a
node is configured with a URL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from juki_protocol.node.sql import (
    Cursor,
    Database,
    Row,
    StorageError,
    first_line,
    redact_url,
    row_kind,
)


def _row_factory(cursor: Any) -> Any:
    """psycopg's row factory: rows as :class:`Row`, bytea as bytes."""
    kind = row_kind(tuple(d.name for d in cursor.description or ()))

    def make(values: Sequence[Any]) -> Row:
        return kind(bytes(v) if isinstance(v, memoryview) else v for v in values)
    return make


_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresDatabase(Database):
    """A node's tables in schema ``schema`` of the PostgreSQL database at ``url``."""

    dialect = "postgresql"

    def __init__(self, url: str, schema: str) -> None:
        super().__init__()
        import psycopg  # only a PostgreSQL node needs the driver

        self._psycopg = psycopg
        if not _SCHEMA_NAME.match(schema):
            raise StorageError(f"{schema!r} is not a schema name: lower-case letters, "
                               f"digits and '_', not starting with a digit")
        self.schema = schema
        self.name = f"{redact_url(url)} (schema {schema})"
        try:
            self.conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
            self.conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self.conn.execute(f'SET search_path TO "{schema}"')
            # Unprepared statements: the node runs a few hundred distinct ones.
            self.conn.prepare_threshold = 5
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to {self.name}: {first_line(exc)}"
                               ) from exc

    def tables(self) -> list[str]:
        return [r[0] for r in self.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
            "ORDER BY table_name", (self.schema,))]

    def close(self) -> None:
        self.conn.close()

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (self._psycopg.Error,)

    def _execute(self, sql: str, params: Sequence[object]) -> Cursor:
        if not params:      # no placeholders: the driver reads the text as it is
            return self.conn.execute(sql)
        return self.conn.execute(_placeholders(sql), tuple(params))

    def _executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(_placeholders(sql), rows)

    def copy(self, table: str, columns: Sequence[str],
             rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        self._wrote = self._wrote or bool(self._depth)
        try:
            with self.conn.cursor() as cur, cur.copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
                for row in rows:
                    out.write_row(row)
        except self._psycopg.Error as exc:
            raise StorageError(f"{self.name}: {first_line(exc)}") from exc

    def _script(self, script: str) -> None:
        self.conn.execute(script)

    def _begin(self) -> None:
        self.conn.execute("BEGIN")

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        self.conn.execute("ROLLBACK")


def _placeholders(sql: str) -> str:
    """``?`` to ``%s`` outside quoted literals, and a literal ``%`` doubled."""
    out, quoted = [], False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


def open_url(target: str) -> PostgresDatabase:
    """The node schema named by ``?schema=`` in the PostgreSQL URL ``target``."""
    parts = urlsplit(target)
    query = parse_qsl(parts.query)
    schema = [v for k, v in query if k == "schema"]
    if len(schema) != 1:
        raise StorageError(f"{redact_url(target)} names no schema: add "
                           f"?schema=n<node code>")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return PostgresDatabase(urlunsplit(parts._replace(query=rest)), schema[0])


__all__ = ["PostgresDatabase", "open_url"]
