"""Reading the audit logs: misuse patterns of operators (``juki audit analyse``).

Theory of operation
-------------------
The audit log (spec/node.md section 3) names, for every local action and every
provision request, the operator who acted. :func:`load_events` reads one or more
nodes' databases read-only and turns their rows into *actions*: one per local action
(direction ``local``), per provision request received by a provider (the operator and
the requesting body it names), and per message sent on an operator's behalf that has no
local row (a node driven without the upper tester). The same request seen at the agency
and at its provider is one action (its message id); the provider's disclosure log
(``provision_log``) adds its outcome and the keyed digests of the persons provided, so
that distinct persons are counted without any resident code. An action's *place* is the
body where the operator sits: the node for a local action, the requesting body for a
request received.

:func:`analyse` looks for five patterns per operator (place and operator id) and
:class:`Thresholds` says when each is reported:

``volume``        lookups in one window (``window_seconds``) at least ``volume_minimum``
                  and more than ``volume_factor`` times the operator's baseline (the
                  median of its other windows with lookups, or ``baseline_default``
                  when it has fewer than ``baseline_windows`` of them); the same for the
                  body (operator ``*``), all its operators together.
``out-of-hours``  actions outside business hours (``business_start`` to
                  ``business_end`` on ``business_days``, at UTC offset
                  ``utc_offset``), one finding per run of them.
``sweep``         at least ``sweep_persons`` distinct persons looked up in one window.
``refusals``      ``refusal_run`` refused actions in a row (failed logins included).
``two-places``    one operator id acting at two places less than ``two_places_seconds``
                  apart.

A finding names the operator, the pattern, the time window and counts; never a person
(persons are counted, and the log only holds them masked or keyed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError

#: The actions that count as lookups for ``volume`` (upper tester ops and message types).
LOOKUP_ACTIONS = frozenset({"provision_request", "provisionRequest", "wide_area_request",
                            "wideAreaIssuanceRequest", "resident", "card_verify"})
#: Operators that are not persons: the node itself.
NOT_OPERATORS = frozenset({"system", ""})
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """When a pattern is reported (see the module docstring); ``--config`` JSON keys are
    the field names in camelCase (``windowSeconds``...)."""

    window_seconds: int = 3600
    volume_factor: float = 5.0
    volume_minimum: int = 20
    baseline_default: float = 5.0
    baseline_windows: int = 2
    business_start: str = "08:00"
    business_end: str = "19:00"
    business_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    utc_offset: str = "+09:00"
    sweep_persons: int = 50
    refusal_run: int = 5
    two_places_seconds: int = 600

    @classmethod
    def from_json(cls, raw: object) -> Thresholds:
        """Thresholds from a JSON object of camelCase keys; 1030 naming a bad one."""
        if not isinstance(raw, dict):
            raise JukiError("the thresholds must be a JSON object", code=ErrorCode.INVALID_JSON)
        names = {_camel(f.name): f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            f = names.get(key)
            if f is None:
                raise JukiError(f"unknown threshold {key!r}; known: {sorted(names)}",
                                code=ErrorCode.INVALID_JSON)
            default = getattr(cls(), f.name)
            if isinstance(default, tuple):
                if not isinstance(value, list) or not set(value) <= set(_DAYS):
                    raise JukiError(f"{key} must be a list of {_DAYS}",
                                    code=ErrorCode.INVALID_JSON)
                value = tuple(value)
            elif isinstance(default, str):
                if not isinstance(value, str):
                    raise JukiError(f"{key} must be a string", code=ErrorCode.INVALID_JSON)
            elif isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or value <= 0:
                raise JukiError(f"{key} must be a positive number",
                                code=ErrorCode.INVALID_JSON)
            values[f.name] = value
        out = cls(**values)
        out.offset()
        out.hours()
        return out

    def to_json(self) -> dict[str, Any]:
        return {_camel(k): list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    def offset(self) -> dt.timezone:
        """The UTC offset of business hours."""
        try:
            when = dt.datetime.fromisoformat(f"2000-01-01T00:00:00{self.utc_offset}")
            assert when.tzinfo is not None
            return dt.timezone(when.utcoffset() or dt.timedelta())
        except (ValueError, AssertionError):
            raise JukiError(f"utcOffset {self.utc_offset!r} must be +HH:MM or -HH:MM",
                            code=ErrorCode.INVALID_JSON) from None

    def hours(self) -> tuple[dt.time, dt.time]:
        """Business hours' start and end."""
        try:
            return (dt.time.fromisoformat(self.business_start),
                    dt.time.fromisoformat(self.business_end))
        except ValueError:
            raise JukiError("businessStart and businessEnd must be HH:MM",
                            code=ErrorCode.INVALID_JSON) from None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@dataclass(slots=True)
class Action:
    """One operator action as the logs show it (see the module docstring)."""

    at: dt.datetime
    place: str
    operator: str
    action: str
    ok: bool
    result: str
    persons: int = 0
    keys: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)

    @property
    def lookup(self) -> bool:
        return self.action in LOOKUP_ACTIONS


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One pattern found: who, what, when, how much."""

    pattern: str
    operator: str
    place: str
    start: dt.datetime
    end: dt.datetime
    count: int
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "operator": self.operator, "place": self.place,
                "from": _iso(self.start), "to": _iso(self.end), "count": self.count,
                "detail": self.detail}


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def _node_of(conn: sqlite3.Connection, path: Path) -> str:
    row = conn.execute("SELECT peer FROM audit WHERE direction = 'local' LIMIT 1"
                       ).fetchone()
    if row is not None:
        return str(row[0])
    checkpoints = Path(str(path) + ".audit-checkpoints")
    try:
        with checkpoints.open(encoding="utf-8") as f:
            first = f.readline()
        return str(json.loads(first)["node"]).split(":")[-1]
    except (OSError, ValueError, KeyError, TypeError):
        return path.stem


def _open(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise JukiError(f"{path}: no such database", code=ErrorCode.INVALID_FIELD)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.execute("SELECT 1 FROM audit LIMIT 1")
    except sqlite3.Error as exc:
        raise JukiError(f"{path}: not a node database with an audit log ({exc})",
                        code=ErrorCode.INVALID_FIELD) from None
    return conn


def load_events(paths: Sequence[Path]) -> tuple[list[Action], list[str]]:
    """The operators' actions in the audit logs of ``paths`` (read-only), oldest
    first, and the node of each database."""
    by_message: dict[str, Action] = {}
    others: list[Action] = []
    nodes: list[str] = []
    for path in paths:
        conn = _open(path)
        try:
            node = _node_of(conn, path)
            nodes.append(node)
            outcomes: dict[str, tuple[str, set[str]]] = {}
            try:
                for mid, outcome, keys in conn.execute(
                        "SELECT message_id, outcome, resident_keys FROM provision_log"):
                    outcomes[bytes(mid).hex()] = (str(outcome), {
                        k for k in str(keys).split(",") if k})
            except sqlite3.Error:
                pass                    # not a provider
            rows = conn.execute("SELECT seq, at, direction, operator, peer, message_type, "
                                "message_id, result, subjects FROM audit ORDER BY seq")
            for _seq, at, direction, operator, peer, mtype, mid, result, subjects in rows:
                if operator in NOT_OPERATORS:
                    continue
                persons = len([s for s in str(subjects).split(",") if s])
                if direction == "local":
                    act = Action(at=_time(at), place=node, operator=operator, action=mtype,
                                 ok=result == "accepted", result=result, persons=persons,
                                 nodes={node})
                elif direction == "received" and mtype == "provisionRequest":
                    outcome, keys = outcomes.get(mid, ("", set()))
                    ok = result in ("accepted", "duplicate") and outcome in ("", "provided")
                    act = Action(at=_time(at), place=peer, operator=operator, action=mtype,
                                 ok=ok, result=outcome or result,
                                 persons=max(persons, len(keys)), keys=keys, nodes={node})
                elif direction == "sent" and mtype != "acknowledgement":
                    act = Action(at=_time(at), place=node, operator=operator, action=mtype,
                                 ok=True, result=result, persons=persons, nodes={node})
                else:
                    continue
                if not mid:
                    others.append(act)
                    continue
                _merge(by_message, mid, act)
        finally:
            conn.close()
    actions = sorted([*by_message.values(), *others], key=lambda a: a.at)
    return actions, nodes


def _merge(by_message: dict[str, Action], mid: str, act: Action) -> None:
    """One action per message: the local row (an upper tester op) names it; the rows
    of the other nodes add their places in time, outcome and persons."""
    old = by_message.setdefault(mid, act)
    if old is act:
        return
    primary, other = (act, old) if "_" in act.action and "_" not in old.action \
        else (old, act)
    primary.at = min(primary.at, other.at)
    primary.nodes |= other.nodes
    primary.keys |= other.keys
    primary.persons = max(primary.persons, other.persons, len(primary.keys))
    if primary.ok and not other.ok:
        primary.ok, primary.result = False, other.result
    by_message[mid] = primary


def _window_of(at: dt.datetime, seconds: int) -> dt.datetime:
    epoch = int(at.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC)


def _volume(actions: list[Action], who: tuple[str, str], t: Thresholds) -> list[Finding]:
    buckets: dict[dt.datetime, list[Action]] = defaultdict(list)
    for a in actions:
        if a.lookup:
            buckets[_window_of(a.at, t.window_seconds)].append(a)
    out = []
    for start, inside in sorted(buckets.items()):
        others = [len(v) for k, v in buckets.items() if k != start]
        baseline = statistics.median(others) if len(others) >= t.baseline_windows \
            else t.baseline_default
        if len(inside) >= t.volume_minimum and len(inside) > t.volume_factor * baseline:
            out.append(Finding(
                pattern="volume", operator=who[1], place=who[0], start=inside[0].at,
                end=inside[-1].at, count=len(inside),
                detail=f"{len(inside)} lookups in {t.window_seconds} s, baseline "
                       f"{baseline:g} per window"))
    return out


def _out_of_hours(actions: list[Action], who: tuple[str, str], t: Thresholds
                  ) -> list[Finding]:
    tz, (start, end) = t.offset(), t.hours()

    def outside(a: Action) -> bool:
        local = a.at.astimezone(tz)
        return _DAYS[local.weekday()] not in t.business_days or \
            not start <= local.time() < end
    runs: list[list[Action]] = []
    for a in actions:
        if not outside(a):
            continue
        if runs and (a.at - runs[-1][-1].at).total_seconds() <= t.window_seconds:
            runs[-1].append(a)
        else:
            runs.append([a])
    return [Finding(pattern="out-of-hours", operator=who[1], place=who[0], start=r[0].at,
                    end=r[-1].at, count=len(r),
                    detail=f"{len(r)} actions outside {t.business_start}-{t.business_end} "
                           f"{'/'.join(t.business_days)} (UTC{t.utc_offset}), from "
                           f"{r[0].at.astimezone(tz).strftime('%a %H:%M')} local")
            for r in runs]


def _sweep(actions: list[Action], who: tuple[str, str], t: Thresholds) -> list[Finding]:
    span = dt.timedelta(seconds=t.window_seconds)
    actions = [a for a in actions if a.lookup]      # persons looked up, not recorded
    out: list[Finding] = []
    lo = 0
    for hi in range(len(actions)):
        while actions[hi].at - actions[lo].at > span:
            lo += 1
        inside = actions[lo:hi + 1]
        keys = set().union(*(a.keys for a in inside))
        persons = len(keys) + sum(a.persons for a in inside if not a.keys)
        if persons < t.sweep_persons:
            continue
        if out and out[-1].end >= inside[0].at:        # the same sweep, going on
            first = out.pop()
            start, count = first.start, max(first.count, persons)
        else:
            start, count = inside[0].at, persons
        out.append(Finding(pattern="sweep", operator=who[1], place=who[0], start=start,
                           end=inside[-1].at, count=count,
                           detail=f"{count} persons in {len(inside)} actions within "
                                  f"{t.window_seconds} s"))
    return out


def _refusals(actions: list[Action], who: tuple[str, str], t: Thresholds
              ) -> list[Finding]:
    out = []
    run: list[Action] = []
    for a in [*actions, None]:
        if a is not None and not a.ok:
            run.append(a)
            continue
        if len(run) >= t.refusal_run:
            results = sorted({r.result for r in run})
            out.append(Finding(pattern="refusals", operator=who[1], place=who[0],
                               start=run[0].at, end=run[-1].at, count=len(run),
                               detail=f"{len(run)} refused actions in a row: "
                                      f"{', '.join(results)[:200]}"))
        run = []
    return out


def _two_places(actions: list[Action], t: Thresholds) -> list[Finding]:
    by_operator: dict[str, list[Action]] = defaultdict(list)
    for a in actions:
        by_operator[a.operator].append(a)
    out = []
    gap = dt.timedelta(seconds=t.two_places_seconds)
    for operator, acts in sorted(by_operator.items()):
        found: dict[tuple[str, str], list[Action]] = {}
        for i, a in enumerate(acts):
            for b in acts[i + 1:]:
                if b.at - a.at >= gap:
                    break
                if b.place != a.place:
                    pair = tuple(sorted((a.place, b.place)))
                    found.setdefault((pair[0], pair[1]), []).extend((a, b))
        for (p, q), pairs in sorted(found.items()):
            out.append(Finding(pattern="two-places", operator=operator, place=f"{p}+{q}",
                               start=min(x.at for x in pairs),
                               end=max(x.at for x in pairs), count=len(set(map(id, pairs))),
                               detail=f"acting at {p} and at {q} less than "
                                      f"{t.two_places_seconds} s apart"))
    return out


def analyse(actions: Iterable[Action], thresholds: Thresholds | None = None
            ) -> list[Finding]:
    """Every finding of the five patterns (see the module docstring), by time."""
    t = thresholds or Thresholds()
    acts = sorted(actions, key=lambda a: a.at)
    per: dict[tuple[str, str], list[Action]] = defaultdict(list)
    per_body: dict[str, list[Action]] = defaultdict(list)
    for a in acts:
        per[(a.place, a.operator)].append(a)
        per_body[a.place].append(a)
    out: list[Finding] = []
    for who, mine in sorted(per.items()):
        out += _volume(mine, who, t)
        out += _out_of_hours(mine, who, t)
        out += _sweep(mine, who, t)
        out += _refusals(mine, who, t)
    for place, theirs in sorted(per_body.items()):
        if len({a.operator for a in theirs}) > 1:
            out += _volume(theirs, (place, "*"), t)
    out += _two_places(acts, t)
    return sorted(out, key=lambda f: (f.start, f.pattern, f.operator))


def report(paths: Sequence[Path], thresholds: Thresholds | None = None
           ) -> dict[str, Any]:
    """The report of ``juki audit analyse`` as a JSON value."""
    t = thresholds or Thresholds()
    actions, nodes = load_events(paths)
    findings = analyse(actions, t)
    operators = sorted({f"{a.operator}@{a.place}" for a in actions})
    return {"databases": [str(p) for p in paths], "nodes": nodes,
            "actions": len(actions), "operators": operators,
            "from": _iso(actions[0].at) if actions else None,
            "to": _iso(actions[-1].at) if actions else None,
            "thresholds": t.to_json(), "findings": [f.to_json() for f in findings]}


def render_text(rep: dict[str, Any]) -> str:
    """The report for a supervisor to read."""
    lines = [f"audit analysis of {', '.join(rep['nodes'])}: {rep['actions']} operator "
             f"actions by {len(rep['operators'])} operators"
             + (f", {rep['from']} to {rep['to']}" if rep["from"] else "")]
    findings = rep["findings"]
    if not findings:
        lines.append("no finding: no pattern above its threshold")
    else:
        lines.append(f"{len(findings)} findings:")
        for f in findings:
            lines.append(f"  {f['pattern']:<12} operator {f['operator']} at {f['place']}, "
                         f"{f['from']} to {f['to']}: {f['detail']}")
    return "\n".join(lines)


__all__ = ["LOOKUP_ACTIONS", "Action", "Finding", "Thresholds", "analyse", "load_events",
           "render_text", "report"]
