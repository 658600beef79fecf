"""Schedule 1 (別表第一): the bodies that may ask for identity info and their purposes.

Arts. 30-7(3) and 30-10(1)(iii): a prefecture or the designated centre provides identity
info to a national body or corporation of the schedule's upper column only when it asks
in the course of an affair of the lower column. ``spec/tables/schedule_1.json`` holds the
table (layout: ``spec/tables/schedule_1.schema.json``); this module loads and checks it
and answers the provider's question "may this body have identity info for this purpose
under this legal basis?" (``spec/provision.md`` section 2).

A table that breaks its JSON Schema or its referential integrity (a purpose naming an
unlisted body, a repeated code, a legal basis that cannot serve the body's kind) raises
:class:`ValueError` naming the entry. A refused authorisation raises
:class:`~juki_protocol.errors.ValidationError` with UNKNOWN_BODY, PURPOSE_NOT_ALLOWED or
LEGAL_BASIS_MISMATCH, checked in that order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema

from juki_protocol.errors import ErrorCode, ValidationError
from juki_protocol.messages.provision import BodyKind, LegalBasis
from juki_protocol.resources import table_path

TABLE_NAME = "schedule_1.json"
SCHEMA_NAME = "schedule_1.schema.json"


@dataclass(frozen=True, slots=True)
class Body:
    """A body of the upper column (上欄).

    code: ``AGnnnn``, also its agency node id; name_ja / name_en: its name; kind: the
    ``BodyKind`` it asks as; schedule: ``"1"``; note: caveats about the entry.
    """

    code: str
    name_ja: str
    name_en: str
    kind: BodyKind
    schedule: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Purpose:
    """An affair of the lower column (下欄) for which ``body`` may ask.

    code: ``ProvisionRequest.purpose_code``; body: the body's code; row: the schedule's
    row (項), or None where unchecked; affair_ja / affair_en: the affair; schedule: ``"1"``;
    legal_bases: the bases it may be served under; note: caveats about the entry.
    """

    code: str
    body: str
    row: int | None
    affair_ja: str
    affair_en: str
    schedule: str
    legal_bases: tuple[LegalBasis, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """The loaded table: bodies and purposes in file order, with lookups by code."""

    version: int
    source: str
    note: str
    bodies: tuple[Body, ...]
    purposes: tuple[Purpose, ...]
    _bodies_by_code: Mapping[str, Body] = field(init=False, repr=False, compare=False,
                                                hash=False)
    _purposes_by_code: Mapping[str, Purpose] = field(init=False, repr=False, compare=False,
                                                     hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bodies_by_code",
                           MappingProxyType({b.code: b for b in self.bodies}))
        object.__setattr__(self, "_purposes_by_code",
                           MappingProxyType({p.code: p for p in self.purposes}))

    def body(self, code: str) -> Body:
        """The body with ``code``; UNKNOWN_BODY if the schedule does not list it."""
        found = self._bodies_by_code.get(code)
        if found is None:
            raise ValidationError(f"body {code!r} is not listed in schedule 1",
                                  code=ErrorCode.UNKNOWN_BODY, field="requester.code")
        return found

    def authorise(self, body_code: str, purpose_code: str,
                  legal_basis: LegalBasis | str) -> Purpose:
        """Return the purpose if ``body_code`` may ask for ``purpose_code`` under
        ``legal_basis``; else raise (Arts. 30-7(3), 30-10(1)(iii)).

        The checks run in the order of ``spec/provision.md`` section 2: the body
        (UNKNOWN_BODY), the purpose and whether it is that body's (PURPOSE_NOT_ALLOWED),
        then the legal basis (LEGAL_BASIS_MISMATCH). A delegated basis (Art. 30-10(1))
        serves the purposes that list the prefecture's basis it performs: the centre
        acting on a delegation serves the affairs the prefecture serves (R-30-10-1-04).
        """
        body = self.body(body_code)
        purpose = self._purposes_by_code.get(purpose_code)
        if purpose is None or purpose.body != body.code:
            raise ValidationError(f"purpose {purpose_code!r} is not a schedule 1 purpose of "
                                  f"body {body.code}", code=ErrorCode.PURPOSE_NOT_ALLOWED,
                                  field="purpose_code")
        basis = _as_legal_basis(legal_basis)
        if basis is not None and basis.performs is not None:
            basis = basis.performs
        if basis is None or basis not in purpose.legal_bases:
            allowed = ", ".join(b.value for b in purpose.legal_bases)
            raise ValidationError(f"legal basis {_basis_text(legal_basis)!r} does not serve "
                                  f"purpose {purpose.code} (allowed: {allowed})",
                                  code=ErrorCode.LEGAL_BASIS_MISMATCH, field="legal_basis")
        return purpose


def _as_legal_basis(value: LegalBasis | str) -> LegalBasis | None:
    if isinstance(value, LegalBasis):
        return value
    try:
        return LegalBasis(value)
    except ValueError:
        return None


def _basis_text(value: LegalBasis | str) -> str:
    return value.value if isinstance(value, LegalBasis) else str(value)


# Loading ---------------------------------------------------------------------------------

def _entry_name(doc: Any, path: Sequence[Any]) -> str:
    """``purposes[2] (S1-ONKYU)`` for a JSON path inside an entry, else the path."""
    if not path:
        return "the table"
    head = str(path[0])
    if len(path) >= 2 and isinstance(path[1], int):
        name = f"{head}[{path[1]}]"
        try:
            code = doc[head][path[1]].get("code")
        except (KeyError, IndexError, TypeError, AttributeError):
            code = None
        return f"{name} ({code})" if isinstance(code, str) else name
    return head


def _schema_errors(doc: Any, schema: Mapping[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc),
                    key=lambda e: [str(p) for p in e.absolute_path])
    out = []
    for err in errors:
        path = list(err.absolute_path)
        rest = ".".join(str(p) for p in path[2:]) if len(path) > 2 else ""
        where = _entry_name(doc, path) + (f" field {rest}" if rest else "")
        out.append(f"{where}: {err.message}")
    return out


def _integrity_errors(schedule: Schedule) -> list[str]:
    out: list[str] = []
    first: dict[str, int] = {}
    for i, b in enumerate(schedule.bodies):
        if b.code in first:
            out.append(f"bodies[{i}] ({b.code}): repeats the code of bodies[{first[b.code]}]")
        first.setdefault(b.code, i)
    bodies = {b.code: b for b in schedule.bodies}
    seen: dict[str, int] = {}
    for i, p in enumerate(schedule.purposes):
        name = f"purposes[{i}] ({p.code})"
        if p.code in seen:
            out.append(f"{name}: repeats the code of purposes[{seen[p.code]}]")
        seen.setdefault(p.code, i)
        body = bodies.get(p.body)
        if body is None:
            out.append(f"{name}: body {p.body} is not listed in bodies")
            continue
        if p.schedule != body.schedule:
            out.append(f"{name}: schedule {p.schedule} differs from body {body.code}'s "
                       f"schedule {body.schedule}")
        for basis in p.legal_bases:
            if body.kind not in basis.body_kinds:
                out.append(f"{name}: legal basis {basis.value} cannot serve body "
                           f"{body.code} of kind {body.kind.value}")
    return out


def _build(doc: Mapping[str, Any]) -> Schedule:
    bodies = tuple(Body(code=b["code"], name_ja=b["name_ja"], name_en=b["name_en"],
                        kind=BodyKind(b["kind"]), schedule=b["schedule"],
                        note=b.get("note")) for b in doc["bodies"])
    purposes = tuple(Purpose(code=p["code"], body=p["body"], row=p["row"],
                             affair_ja=p["affair_ja"], affair_en=p["affair_en"],
                             schedule=p["schedule"],
                             legal_bases=tuple(LegalBasis(v) for v in p["legal_bases"]),
                             note=p.get("note")) for p in doc["purposes"])
    return Schedule(version=doc["version"], source=doc["source"], note=doc["note"],
                    bodies=bodies, purposes=purposes)


def load_schedule_1(path: Path | str | None = None) -> Schedule:
    """Load and check schedule 1 from ``path`` (default: the shipped table).

    The file is validated against ``spec/tables/schedule_1.schema.json`` and for
    referential integrity; any problem raises :class:`ValueError` naming the file and
    the entry (``purposes[2] (S1-ONKYU): ...``).
    """
    file = Path(path) if path is not None else table_path(TABLE_NAME)
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg})") from exc
    schema = json.loads(table_path(SCHEMA_NAME).read_text(encoding="utf-8"))
    problems = _schema_errors(doc, schema)
    if problems:
        raise ValueError(f"{file}: " + "; ".join(problems))
    schedule = _build(doc)
    problems = _integrity_errors(schedule)
    if problems:
        raise ValueError(f"{file}: " + "; ".join(problems))
    return schedule


__all__ = ["Body", "Purpose", "Schedule", "load_schedule_1"]
