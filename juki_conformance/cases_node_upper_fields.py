"""Node-mode cases on the input rules of every upper tester op, derived from the op
table ``spec/tables/upper_tester.json`` (spec/node.md section 4, R-NODE-98, R-NODE-09,
R-NODE-83): for the node's role and each op it offers (``hello`` lists ``ops``) the
case sends, on its one upper tester connection, requests derived field by field from
the table:

- each required field left out;
- each field with a value of each JSON type the table does not give it (a string, a
  number, a fraction, a boolean, null, a list, an object);
- each bound the table gives, just beyond it on either side (a count of 0 and of 1001,
  an ``after`` of -1, a fraction for an integer), each named form broken (a resident
  code of 10 digits or with a broken check digit, a date that is not ``YYYY-MM-DD``, a
  message id that is not 16 octets of hex), a value outside an enumeration, a string
  that its pattern refuses, an empty list, a list holding non-objects or of one item
  too many, an object with a key its form does not have.

Where every required field has an example (``$name`` found at run time: a resident of
the register, a card issued to it, the node's date), or the op is a flow of sections
4.4 and 4.5 whose valid request the flow cases make (:data:`FLOW_BASES`), the other
fields keep their valid values, so that the refusal is of the one field; else the
others are left out, and the answer must still be 1030. Each answer must be 1030
INVALID_JSON (R-NODE-98), or the code the table's ``formRefusal`` gives a value of
the right type that breaks the field's form (section 4.6: a resident code that fails
R-ID-01 is 1020). For an op that only reads, the valid request and the values on the
inner side of each bound are then taken.
Afterwards nothing has changed: ``status`` as before, nothing sent to the peers the
runner plays, and the audit log holds one row per local action asked (R-NODE-83),
direction ``local``, refused with its code, and no other row (on a node without a
test clock, which may resend an earlier case's message on its own, only the local rows
are counted and what it sends is not).

The table's ``clock`` is sent only with malformed values (a valid one would move the
clock); ``code_allotment``, a test hook, is then set to 0, null and 1 and back.

Not sent: the operator ops (``operator_login``, ``operator_logout``,
``operator_unlock``: the runner's session and the operators' counts, cases of
cases_node_operators.py and cases_node_upper_inputs.py), ``restart`` (no fields) and
``fail_next_commit`` (a faulty node that took a malformed count would fail the commits
of the cases after this one; the refusal is observable only by upsetting the node).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from juki_conformance.card_steps import random_resident_code
from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node_agency import (
    OWN_PURPOSE,
    PREFECTURE,
    agency_operator,
    fresh_persons,
)
from juki_conformance.cases_node_flows import wide_area_application
from juki_conformance.flow_steps import (
    address_of,
    as_json,
    move_in_fields,
    node_today,
    peer_household,
    registered_household,
    seed_with,
)
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, node_sut
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_conformance.upper_table import Field, Op, load
from juki_protocol.errors import ErrorCode

BAD = int(ErrorCode.INVALID_JSON)
#: The centre the runner plays beside a municipality (its card notices go there).
CENTRE = "DC01"
#: Ops the case does not send (see the module docstring).
SKIPPED = frozenset({"operator_login", "operator_logout", "operator_unlock", "restart",
                     "fail_next_commit"})
#: A value of each JSON type.
OF_TYPE: dict[str, tuple[Any, ...]] = {
    "string": ("7",), "integer": (7,), "number": (7.5,), "boolean": (True, False),
    "null": (None,), "array": (["x"],), "object": ({"value": 1},)}
#: Strings a pattern is tried with (those it refuses are sent).
PATTERN_TRIES = ("", " ", "x", "123", "1" * 10, "1" * 12, "1" * 17, "12a4",
                 "\uff11\uff12\uff13\uff14", "Conformance", "1st", "a b", "a" * 33)
#: Values that break each named form of the table.
FORM_BREAKS: dict[str, tuple[str, ...]] = {
    "date": ("2026-02-30", "20260101", "2026-1-01", "01/02/2026", ""),
    "date-time": ("2026-01-01T00:00:00", "tomorrow", ""),
    "hex16": ("zz", "00" * 15, "00" * 17, ""),
    "serial": ("x", "271004-12345", ""),
    "local-gov-code": ("27100", "2710040", "271005", ""),
    "body": ("AG001", "AG00001", "ag0001", "27100", ""),
    "provider": ("", "XX01"),
    "change-reason": ("notAReason", ""),
    "operator-id": ("", "a" * 33),
}
#: A request: what makes it so, its fields and the error code it must get.
Variant = tuple[str, dict[str, Any], int]


def _broken_codes(code: str) -> tuple[str, ...]:
    """Resident codes that break R-ID-01's form: a digit short or over, a broken check
    digit, digits of another script."""
    return (code[:10], code + "0", code[:10] + str((int(code[10]) + 1) % 10),
            "\uff11" + code[1:])


def wrong_values(field: Field, good: Any) -> Iterator[tuple[str, Any, int]]:
    """Values of ``field`` the table refuses, each with a label and the code it must
    get (``good``: a valid value, or None when the table gives none)."""
    for label, value in _wrong(field, good):
        yield label, value, BAD
    if field.spec.get("format") == "resident-code":
        # A string that breaks R-ID-01: 1030, or the code the op's rule gives.
        code = int(field.spec.get("formRefusal", BAD))
        yield from ((f"residentCode {v!r}", v, code) for v in _broken_codes(
            good if isinstance(good, str) and len(good) == 11 else "12345678901"))


def _wrong(field: Field, good: Any) -> Iterator[tuple[str, Any]]:
    spec = field.spec
    allowed = set(field.types) | ({"integer"} if "number" in field.types else set())
    for kind, values in OF_TYPE.items():
        if kind not in allowed:
            yield from ((f"{kind} {v!r}", v) for v in values)
    low, high = spec.get("minimum"), spec.get("maximum")
    if "integer" in field.types and "number" not in field.types:
        yield "a fraction", (low if low is not None else 1) + 0.5
    step = 1 if "number" not in field.types else 0.5
    if low is not None:
        yield f"below {low}", low - step
    if high is not None:
        yield f"above {high}", high + 1
    fmt = spec.get("format")
    if fmt in FORM_BREAKS:
        yield from ((f"{fmt} {v!r}", v) for v in FORM_BREAKS[fmt])
    if "enum" in spec:
        yield "a value not listed", "notListed"
        yield "a listed value in upper case", str(spec["enum"][0]).upper()
    if "pattern" in spec:
        yield from ((f"{v!r} (pattern)", v) for v in PATTERN_TRIES
                    if not re.search(spec["pattern"], v))
    if spec.get("minLength"):
        yield "an empty string", ""
    yield from _list_values(spec)
    if "form" in spec and "object" in field.types:
        yield f"{spec['form']} with an unknown key", {"unknownKey": "x"}


def _list_values(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Lists the table refuses for a list field."""
    items = spec.get("items")
    if items is None:
        return
    if spec.get("minItems"):
        yield "an empty list", []
    if items.get("type") == ["object"]:
        yield from (("a list holding a non-object", [v]) for v in ("x", 1, None, ["x"]))
    if items.get("format") == "resident-code":
        yield from (("a list holding a malformed code", [v])
                    for v in (*_broken_codes("12345678901"), 12345678901, None))
    if "maxItems" in spec:
        yield f"a list of {spec['maxItems'] + 1}", ["x"] * (spec["maxItems"] + 1)


class Context:
    """The values a case finds at run time for the table's ``$name`` examples."""

    def __init__(self, node: NodeSut, ops: list[Op]) -> None:
        self.node = node
        self.values: dict[str, Any] = {
            "$today": node_today(node).isoformat(), "$pin": "1234",
            "$seed": f"conformance:upper-fields:{secrets.token_hex(6)}",
            "$messageId": secrets.token_hex(16), "$unheld": random_resident_code(),
            "$elsewhere": as_json(address_of(node.peer_municipality)),
            "$areaMunicipality": node.peer_municipality}
        wanted = {str(f.spec.get("example")) for o in ops for f in o.fields}
        if node.role == "municipality" and wanted & {"$resident", "$serial"}:
            self.values["$resident"] = registered_household(node)[0].resident_code
        if "$serial" in wanted and "$resident" in self.values:
            issued = node.ok("card_issue", residentCode=self.values["$resident"],
                             pin=self.values["$pin"])
            self.values["$serial"] = issued["serial"]
            _acknowledge_notice(node)


    def base(self, op: Op) -> dict[str, Any] | None:
        """A valid request of ``op`` from the table's examples, or for a flow op of
        section 4.5 the request the flow cases make (None when a required field has
        no example)."""
        build = FLOW_BASES.get(op.name)
        if build is not None and self.node.role in op.roles:
            return build(self)
        fields: dict[str, Any] = {}
        for field in op.fields:
            example = field.spec.get("example")
            if isinstance(example, str) and example.startswith("$"):
                example = self.values.get(example)
            if example is None and field.required:
                return None
            if example is not None:
                fields[field.name] = example
        return fields


def _move_out(ctx: Context) -> dict[str, Any]:
    resident = ctx.values.get("$resident") or registered_household(ctx.node)[0].resident_code
    return {"movers": [resident], "destination": ctx.values["$elsewhere"],
            "plannedMoveDate": ctx.values["$today"]}


def _ordinary_move_in(ctx: Context) -> dict[str, Any]:
    node = ctx.node
    return {"formerMunicipality": node.peer_municipality,
            "seed": seed_with(node.peer_municipality, 2)[0], "members": 1,
            "movedDate": ctx.values["$today"], "newAddress": as_json(address_of(node.code))}


#: Valid requests of the flow ops of spec/node.md sections 4.4 and 4.5, as the flow
#: cases make them (persons of the runner's municipality, the node's date).
FLOW_BASES: dict[str, Callable[[Context], dict[str, Any]]] = {
    "wide_area_request": lambda ctx: wide_area_application(
        ctx.node, peer_household(ctx.node, 2)),
    "special_move_in": lambda ctx: move_in_fields(
        ctx.node, peer_household(ctx.node, 2), node_today(ctx.node), node_today(ctx.node)),
    "annotated_move_out": _move_out, "ordinary_move_out": _move_out,
    "ordinary_move_in": _ordinary_move_in,
    # spec/node.md section 4.4: a schedule 1 purpose of the agency, two fresh persons.
    "provision_request": lambda ctx: {
        "provider": PREFECTURE, "purposeCode": OWN_PURPOSE,
        "operatorId": agency_operator(ctx.node),
        "byResidentCode": [p.resident_code for p in fresh_persons(2)]}}


def _acknowledge_notice(node: NodeSut) -> None:
    """Acknowledge, as the centre, the CardIssueNotice of the card the case issued, so
    that no later case finds it resent (spec/card_register.md, R-CARDREG-03)."""
    got = node.sent_to_peer(peer=CENTRE)
    if got is not None and got[1].sealed is not None:
        node.acknowledge(got[0], got[1], CENTRE)


def variants(op: Op, base: dict[str, Any] | None) -> Iterator[Variant]:
    """Every malformed request of ``op`` the table derives (``base``: a valid request,
    or None: the other fields are left out)."""
    for field in op.fields:
        rest = {k: v for k, v in (base or {}).items() if k != field.name}
        if field.required and base is not None:
            yield f"{field.name} missing", rest, BAD
        for label, value, code in wrong_values(field, (base or {}).get(field.name)):
            yield f"{field.name}: {label}", {**rest, field.name: value}, code
    if base is None and any(f.required for f in op.fields):
        yield "every field missing", {}, BAD


def inner_edges(op: Op, base: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Valid requests of a reading op: the base, and each bound on its inner side."""
    yield "the valid request", base
    for field in op.fields:
        for bound in ("minimum", "maximum"):
            if bound in field.spec:
                yield f"{field.name} {field.spec[bound]}", {**base,
                                                           field.name: field.spec[bound]}


def _code(answer: dict[str, Any]) -> int | None:
    error = answer.get("error")
    return None if answer.get("ok") else \
        int(error.get("code", 0)) if isinstance(error, dict) else 0


def _said(answer: dict[str, Any]) -> str:
    code = _code(answer)
    return "ok" if code is None else str(code)


def _held(node: NodeSut) -> dict[str, Any]:
    """What ``status`` reports the node holds (not the answer's own ``id``)."""
    return {k: v for k, v in node.status().items() if k not in ("id", "ok")}


def _last_row(node: NodeSut) -> int:
    """The number of the audit log's last row (0 when it is empty)."""
    last, after = 0, 0
    while True:
        rows = node.request("audit_log", after=after, limit=10_000).get("rows")
        if not isinstance(rows, list):
            raise SutFault("audit_log did not answer its rows")
        if not rows:
            return last
        last = after = int(rows[-1].get("seq", 0))


def _new_rows(node: NodeSut, after: int) -> list[dict[str, Any]]:
    rows = node.request("audit_log", after=after, limit=10_000).get("rows")
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


class Tally:
    """What the requests of one run asked of the audit log (R-NODE-83)."""

    def __init__(self) -> None:
        self.refused: dict[str, int] = {}
        self.accepted: dict[str, int] = {}
        #: Refusals with another code than 1030 that the op's rule gives.
        self.other: dict[str, int] = {}


def _audit_problem(tally: Tally, rows: list[dict[str, Any]]) -> str | None:
    """None when ``rows`` are exactly the rows of the local actions asked: one per
    refused one, refused with 1030 (a ``_result`` op may leave its refusal unlogged:
    section 4.8 logs no read of an outcome), one per accepted one."""
    for row in rows:
        kind = row.get("messageType")
        if row.get("direction") != "local" or kind not in {*tally.refused,
                                                            *tally.accepted, *tally.other}:
            return (f"the audit log gained a row of {row.get('direction')} "
                    f"{kind}, which no request of the case asked for")
    for kind in {*tally.refused, *tally.accepted, *tally.other}:
        mine = [r for r in rows if r.get("messageType") == kind]
        refused = [r for r in mine if str(BAD) in str(r.get("result"))]
        want = tally.refused.get(kind, 0)
        taken = tally.accepted.get(kind, 0) + tally.other.get(kind, 0)
        least = 0 if kind.endswith("_result") else want
        if not least <= len(refused) <= want or len(mine) - len(refused) != taken:
            return (f"the audit log gained {len(refused)} rows of {kind} refused with "
                    f"{BAD} and {len(mine) - len(refused)} others; {want} requests to "
                    f"refuse with {BAD} and {taken} others were sent (R-NODE-83)")
    return None


def _send_all(node: NodeSut, ops: list[Op], ctx: Context, tally: Tally
              ) -> tuple[int, str | None]:
    """Send every variant of every op; the count, and the first wrong answer."""
    count, wrong = 0, []
    for op in ops:
        base = ctx.base(op)
        for label, fields, want in variants(op, base):
            answer = node.request(op.name, **fields)
            count += 1
            if op.action and want == BAD:
                tally.refused[op.name] = tally.refused.get(op.name, 0) + 1
            elif op.action:
                tally.other[op.name] = tally.other.get(op.name, 0) + 1
            if _code(answer) != want:
                wrong.append(f"{op.name} with {label} answered {_said(answer)}, not "
                             f"{want} ({', '.join(op.requirements)})")
        if base is not None and op.flag("reads"):
            for label, fields in inner_edges(op, base):
                answer = node.request(op.name, **fields)
                count += 1
                if op.action and not op.name.endswith("_result"):
                    tally.accepted[op.name] = tally.accepted.get(op.name, 0) + 1
                if not answer.get("ok"):
                    wrong.append(f"{op.name} with {label} (valid) answered "
                                 f"{_said(answer)}")
    if wrong:
        more = f" (and {len(wrong) - 3} more)" if len(wrong) > 3 else ""
        return count, "; ".join(wrong[:3]) + more
    return count, None


def _allotment(node: NodeSut) -> str | None:
    """code_allotment, a test hook: 0 and null are taken and answered back; the value
    read before is set again."""
    was = node.request("code_allotment")
    if not was.get("ok"):
        return f"code_allotment without remaining answered {_said(was)}"
    try:
        for value in (0, None, 1):
            answer = node.request("code_allotment", remaining=value)
            if not answer.get("ok") or answer.get("remaining") != value:
                return (f"code_allotment with remaining {value!r} answered "
                        f"{answer.get('remaining') if answer.get('ok') else _said(answer)}"
                        f", not {value!r} (R-NODE-97)")
    finally:
        node.request("code_allotment", remaining=was.get("remaining"))
    return None


def _run(role: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        table = load()
        offered = set(node.ok("hello").get("ops") or ())
        ops = [o for o in table.values() if role in o.roles and o.name in offered
               and o.fields and o.name not in SKIPPED]
        expected = (f"every request of the {len(ops)} ops a {role} offers with a field "
                    f"missing or malformed (spec/tables/upper_tester.json) answered "
                    f"{error_text(ErrorCode.INVALID_JSON)}; status as before, nothing "
                    "sent, one refused audit row per local action")
        # A fresh session: one that expired on the node's clock (moved by the cases
        # before) would be renewed mid-case, with audit rows of its own.
        node.login()
        ctx = Context(node, ops)
        node.drain()
        before, last = _held(node), _last_row(node)
        tally = Tally()
        count, wrong = _send_all(node, ops, ctx, tally)
        if wrong is None and "code_allotment" in {o.name for o in ops}:
            wrong = _allotment(node)
        if wrong:
            return Outcome(Verdict.FAIL, expected, wrong)
        after = _held(node)
        if after != before:
            changed = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
            return Outcome(Verdict.FAIL, expected, f"status changed ({', '.join(changed)}) "
                           "after requests that were all refused (R-NODE-98)")
        # Without a test clock the node may resend an earlier case's message on its own
        # retry timer meanwhile: only a node on a test clock must send nothing at all.
        strict = node.offers("clock")
        sent = node.drain()
        if sent and strict:
            return Outcome(Verdict.FAIL, expected, f"the node sent {sent} PDUs to the "
                           "peers the runner plays after refused requests (R-NODE-98)")
        rows = [r for r in _new_rows(node, last) if strict or r.get("direction") == "local"]
        if not isinstance(node.ixit.get("operator"), dict):
            # No operator in the IXIT: a node run without sessions (spec/node.md section
            # 4.8) attributes no local action, so only rows it should not write count.
            tally = Tally()
            rows = [r for r in rows if r.get("direction") != "local"]
        problem = _audit_problem(tally, rows)
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        return Outcome(Verdict.PASS, expected, f"{count} requests of {len(ops)} ops "
                       "answered as the table says; nothing changed")
    return run


REMEDIATION = ("Check every field of an upper tester op against its table (spec/tables/"
               "upper_tester.json): a required field missing, a value of another JSON "
               "type, beyond a bound, or not of its form is 1030 INVALID_JSON; then "
               "change, record and send nothing and write only the refused local "
               "action's audit row (R-NODE-98, R-NODE-83).")


def upper_field_cases() -> list[Case]:
    """One case per role the runner launches, in a stable order."""
    return [NodeCase(id=f"node/node/upper-fields/{role}/every-op-every-field",
                     title=f"every upper tester op a {role} offers refuses each field "
                     "missing, of another JSON type or beyond its table's bounds with "
                     "1030, and nothing changes", clause="node",
                     requirements=("R-NODE-98", "R-NODE-09", "R-NODE-83"), level="MUST",
                     remediation=REMEDIATION, mode="node", ops=(), run=_run(role),
                     role=role)
            for role in ("municipality", "prefecture", "national", "agency")]


__all__ = ["Context", "inner_edges", "upper_field_cases", "variants", "wrong_values"]
