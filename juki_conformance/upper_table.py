"""The upper tester's ops as a table: ``spec/tables/upper_tester.json`` (layout:
``spec/tables/upper_tester.schema.json``), the machine-readable form of the op tables of
spec/node.md section 4, spec/family_register.md section 5 and spec/card_register.md
section 5.

Each op names the roles that offer it, the action of section 4.8 whose session it needs
(null: an op of the test interface) and each request field: its JSON types, whether it
is required, and its constraint as the spec's prose states it, with the bounds, patterns,
enumerations and named forms a runner can derive malformed requests from
(:mod:`juki_conformance.cases_node_upper_fields`). :func:`markdown_ops` reads the ops of
the markdown tables, so that a test keeps the two in step.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from juki_protocol.resources import spec_dir, table_path

TABLE_NAME = "upper_tester.json"
SCHEMA_NAME = "upper_tester.schema.json"
#: The spec files whose op tables list upper tester ops, and each table's header row.
SOURCES = (("node.md", "| op | request fields | success fields |"),
           ("family_register.md", "| op | request fields | success fields |"),
           ("card_register.md", "| op | request | answer |"))
#: The ops of a cell: each name in backquotes before the first non-name text.
_OP_NAME = re.compile(r"`([a-z][a-z_]*)`")


@dataclass(frozen=True, kw_only=True)
class Field:
    """One request field of an op."""

    name: str
    types: tuple[str, ...]
    required: bool
    constraint: str
    spec: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Op:
    """One upper tester op of the table."""

    name: str
    section: str
    roles: tuple[str, ...]
    action: str | None
    requirements: tuple[str, ...]
    fields: tuple[Field, ...]
    spec: dict[str, Any]

    def flag(self, name: str) -> bool:
        """Whether the op carries flag ``name`` (``reads``, ``hook``, ``destructive``)."""
        return bool(self.spec.get(name))


def validate(doc: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``doc`` has the table's layout."""
    schema = json.loads(table_path(SCHEMA_NAME).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)


def parse(doc: dict[str, Any]) -> dict[str, Op]:
    """The ops of a table document (already validated)."""
    return {name: Op(name=name, section=entry["section"], roles=tuple(entry["roles"]),
                     action=entry["action"], requirements=tuple(entry["requirements"]),
                     fields=tuple(Field(name=f, types=tuple(spec["type"]),
                                        required=spec["required"],
                                        constraint=spec["constraint"], spec=spec)
                                  for f, spec in entry["fields"].items()),
                     spec=entry)
            for name, entry in doc["ops"].items()}


@cache
def load(path: Path | None = None) -> dict[str, Op]:
    """The ops of ``spec/tables/upper_tester.json`` (or ``path``), checked against the
    schema."""
    doc = json.loads((path or table_path(TABLE_NAME)).read_text(encoding="utf-8"))
    validate(doc)
    return parse(doc)


def markdown_ops(directory: Path | None = None) -> dict[str, set[str]]:
    """The ops each spec file's upper tester op tables list (the first cell of each
    row: ``card_suspend``, ``card_resume`` in one cell are two ops)."""
    found: dict[str, set[str]] = {}
    for name, header in SOURCES:
        ops = found.setdefault(name, set())
        inside = False
        for line in ((directory or spec_dir()) / name).read_text(encoding="utf-8"
                                                                ).splitlines():
            if line.strip() == header:
                inside = True
            elif inside and line.startswith("|"):
                cell = line.split("|")[1]
                ops.update(_OP_NAME.findall(cell))
            else:
                inside = False
    return found


__all__ = ["SCHEMA_NAME", "SOURCES", "TABLE_NAME", "Field", "Op", "load", "markdown_ops",
           "parse", "validate"]
