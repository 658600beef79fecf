"""spec/tables/upper_tester.json against the markdown op tables it is made from, its
schema and the reference's ops (juki_conformance.upper_table)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import pytest

from juki_conformance.upper_table import (
    SOURCES,
    TABLE_NAME,
    load,
    markdown_ops,
    parse,
    validate,
)
from juki_protocol.node.operators import ACTION_OF_OP
from juki_protocol.node.upper_tester import OPS
from juki_protocol.resources import spec_dir, table_path


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(table_path(TABLE_NAME).read_text(encoding="utf-8"))
    return doc


def _request_cells() -> dict[str, str]:
    """The request-fields cells of every markdown row naming an op, joined per op."""
    cells: dict[str, str] = {}
    for name, header in SOURCES:
        inside = False
        for line in (spec_dir() / name).read_text(encoding="utf-8").splitlines():
            if line.strip() == header:
                inside = True
            elif inside and line.startswith("|"):
                parts = line.split("|")
                for op in re.findall(r"`([a-z_]+)`", parts[1]):
                    cells[op] = cells.get(op, "") + " " + parts[2]
            else:
                inside = False
    return cells


def test_every_markdown_op_is_in_the_table_and_back() -> None:
    table = set(load())
    found = markdown_ops()
    listed = set().union(*found.values())
    assert listed - table == set(), "ops of the markdown tables missing from the JSON"
    assert table - listed == set(), "ops of the JSON that no markdown table lists"
    assert all(found.values()), f"a source file lists no op: {found}"


def test_each_op_is_in_the_section_its_entry_names() -> None:
    found = markdown_ops()
    for op in load().values():
        assert op.name in found[op.section.split()[0]], op.name


def test_every_field_is_named_in_its_ops_markdown_row() -> None:
    cells = _request_cells()
    for op in load().values():
        for field in op.fields:
            assert f"`{field.name}`" in cells[op.name], (op.name, field.name)


def test_the_table_names_every_op_the_reference_serves() -> None:
    assert set(load()) == {*OPS, "restart"}


def test_actions_are_those_of_section_4_8() -> None:
    """An op needs a session exactly when the reference's action table names it."""
    for op in load().values():
        assert op.action == ACTION_OF_OP.get(op.name), op.name


def test_bounds_and_examples_fit_the_fields() -> None:
    for op in load().values():
        for field in op.fields:
            spec = field.spec
            if "minimum" in spec or "maximum" in spec:
                assert set(field.types) & {"integer", "number"}, (op.name, field.name)
            if "enum" in spec or "pattern" in spec or "format" in spec:
                assert "string" in field.types, (op.name, field.name)
            if "items" in spec:
                assert field.types == ("array",), (op.name, field.name)
            example = spec.get("example")
            if "enum" in spec and example is not None:
                assert example in spec["enum"], (op.name, field.name)


@pytest.mark.parametrize("change", [
    lambda d: d["ops"]["audit_log"]["fields"]["limit"].update(type=["int"]),
    lambda d: d["ops"]["hello"].update(roles=["city"]),
    lambda d: d["ops"]["card_issue"]["fields"]["pin"].pop("required"),
    lambda d: d["ops"]["clock"].update(action="clock"),
    lambda d: d["ops"]["resident"]["fields"]["residentCode"].update(format="code"),
    lambda d: d.update(extra=1),
])
def test_the_schema_refuses_a_broken_table(change: Any) -> None:
    doc = _doc()
    validate(doc)
    broken = copy.deepcopy(doc)
    change(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_parse_keeps_types_and_requiredness() -> None:
    ops = parse(_doc())
    pin = {f.name: f for f in ops["card_issue"].fields}["pin"]
    assert (pin.types, pin.required) == (("string",), True)
    assert ops["code_allotment"].flag("hook") and not ops["code_allotment"].flag("reads")
