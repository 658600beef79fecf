"""Every schema constraint at its bounds, in codec mode, each compared with the model
(spec/README.md R-DER-07, R-DER-13; spec/conformance.md R-CONF-19, R-CONF-20).

The fixed cases try the bounds their authors thought of (a name of 100 and of 101
characters, a municipality code one digit short), and the generated ones
(:mod:`juki_conformance.cases_codec_explore`) draw sizes and integers at random. A
decoder that writes one bound of one field wrong (``< 255`` for ``1..255``, a SIZE
counted from 2, a list of 20 refused) passes both. Here the bounds are read from the
schema itself: each type's valid values (its golden vectors and its maximal example)
are walked along the compiled constraints of spec/asn1, and every constrained element
they hold -- an INTEGER range, the SIZE of a character or octet string, the SIZE of a
SEQUENCE OF -- is set, alone, to each bound and to one step outside it:

- an INTEGER to its lower and upper bound and to one below and one above;
- a string to the smallest and the largest count its SIZE allows and one fewer and one
  more (characters repeat the value's own, so that the rest of the value still reads;
  a string counts in code points, R-DER-13);
- a SEQUENCE OF cut to its least count, its elements repeated up to its greatest, and
  one fewer and one more.

An element of a fixed size is only tried one shorter and one longer; the bound that is
the value itself is not sent twice. Each input is decoded by the SUT and by the model
(the pristine reference adapter, in the runner's process), and the value's JSON form is
encoded by both: the same value, the same DER, or the same error code (the leniencies of
the explore cases apply: an ``acceptable`` code, and among the rules of a message any
code, R-CONF-21). A value inside its bounds may still break a rule of its message (a
resident code whose check digit no longer fits): the model says which code, and the SUT
must say the same. One case per type names the first divergence: where, which bound,
both verdicts, the input.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from asn1tools.codecs import constraints_checker as cc

from juki_conformance.cases_codec import CLAUSES
from juki_conformance.cases_codec_explore import (
    Verdict_,
    acceptable_codes,
    agrees,
    ask,
    decode_others,
    hex_shown,
    judged,
    model_verdict,
    profiles,
    valid_vectors,
    verdict_words,
)
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec, schema
from juki_protocol.codec.jer import raw_to_json
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import MESSAGE_TYPES, Profile

#: Every registered message type and the PDU (a type added later gets its case too).
TYPES = tuple(dict.fromkeys((*MESSAGE_TYPES, "JukiPdu")))
#: A bound above this count is not sent (an OCTET STRING of up to 16 MiB).
LARGEST = 5000

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Source:
    """A valid value of a type: where it is from, its profile and its asn1tools value."""

    label: str
    type_name: str
    profile: str | None
    raw: Any


@dataclass(frozen=True)
class Edge:
    """One constrained element set to one bound (``inside``) or one step outside it."""

    source: Source
    path: Path
    what: str            # e.g. "SIZE 1..20 at 21"
    inside: bool
    raw: Any

    @property
    def where(self) -> str:
        return ".".join(str(p) for p in self.path) or "(the value)"


def _sources(type_name: str) -> list[Source]:
    out = [Source(f"the maximal example ({p.value})", type_name, p.value,
                  schema.compiled().decode(type_name, codec.encode(
                      example(type_name, "conformance:bounds", p), p)))
           for p in (Profile.CURRENT, Profile.P2002)]
    for v in valid_vectors():
        if v.type_name == type_name and not v.extension:
            out.append(Source(v.label, type_name, v.profile,
                              schema.compiled().decode(type_name, v.der)))
    return out


def _numeric(t: Any) -> tuple[int | None, int | None]:
    low, high = getattr(t, "minimum", None), getattr(t, "maximum", None)
    return (low if isinstance(low, int) else None, high if isinstance(high, int) else None)


def sites(t: Any, value: Any, path: Path = ()) -> Iterator[tuple[Path, Any, Any]]:
    """(path, constraint, value) of every constrained element of ``value``, a value of
    the type whose constraints checker is ``t``; a SEQUENCE OF's first element stands
    for all of them."""
    if isinstance(t, cc.Dict):
        for m in t.members:
            if isinstance(value, dict) and m.name in value:
                yield from sites(m, value[m.name], (*path, m.name))
        return
    if isinstance(t, cc.Choice):
        if isinstance(value, tuple) and value[0] in t.name_to_member:
            yield from sites(t.name_to_member[value[0]], value[1], (*path, value[0]))
        return
    low, high = _numeric(t)
    if isinstance(t, cc.List):
        if low is not None or high is not None:
            yield path, t, value
        if value:
            yield from sites(t.element_type, value[0], (*path, 0))
        return
    if isinstance(t, (cc.Integer, cc.String, cc.Bytes)) and (low is not None
                                                             or high is not None):
        yield path, t, value


def _resized(old: Any, count: int, t: Any) -> Any:
    """``old`` (a string, octets or a list) with ``count`` elements, its own repeated."""
    if not old:
        old = b"\x00" if isinstance(t, cc.Bytes) else \
            "1" if isinstance(t, cc.NumericString) else "a"
    reps = count // len(old) + 1
    if isinstance(old, list):
        return [copy.deepcopy(x) for x in (old * reps)[:count]]
    return (old * reps)[:count]


def _variants(t: Any, old: Any) -> Iterator[tuple[str, bool, Any]]:
    low, high = _numeric(t)
    shown = f"{low if low is not None else 'MIN'}..{high if high is not None else 'MAX'}"
    if isinstance(t, cc.Integer):
        if low is not None:
            yield f"range {shown} at {low}", True, low
            yield f"range {shown} at {low - 1}", False, low - 1
        if high is not None:
            yield f"range {shown} at {high}", True, high
            yield f"range {shown} at {high + 1}", False, high + 1
        return
    size = len(old)
    for bound, step in ((low, -1), (high, +1)):
        if bound is None or bound > LARGEST:
            continue
        if bound != size and bound >= 0:
            yield f"SIZE {shown} at {bound}", True, _resized(old, bound, t)
        if bound + step >= 0:
            yield f"SIZE {shown} at {bound + step}", False, _resized(old, bound + step, t)


def _replace(value: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, tuple):
        return (value[0], _replace(value[1], rest, new))
    out = copy.copy(value)
    out[head] = _replace(value[head], rest, new)
    return out


@cache
def edges(type_name: str) -> tuple[Edge, ...]:
    """Every bound of every constrained element the values of ``type_name`` hold, each
    element once (by its path with list positions dropped), in a stable order."""
    checker = schema.compiled().types[type_name].constraints_checker._type
    seen: set[tuple[str | None, Path]] = set()
    out: list[Edge] = []
    for src in _sources(type_name):
        for path, t, old in sites(checker, src.raw):
            key = (src.profile, tuple("*" if isinstance(p, int) else p for p in path))
            if key in seen:
                continue
            seen.add(key)
            for what, inside, new in _variants(t, old):
                out.append(Edge(src, path, what, inside, _replace(src.raw, path, new)))
    return tuple(out)


def _der(edge: Edge) -> bytes:
    return bytes(schema.compiled().encode(edge.source.type_name, edge.raw,
                                          check_constraints=False))


def _divergence(sut: AdapterSut, edge: Edge) -> str | None:
    """What the SUT did that the model does not allow for ``edge``, or None."""
    type_name, profile = edge.source.type_name, edge.source.profile
    data = _der(edge)
    fields: dict[str, Any] = {"type": type_name, "der": data.hex()}
    if profile:
        fields["profile"] = profile
    acceptable = acceptable_codes().get(type_name, frozenset())
    want = model_verdict("decode", fields)
    got = ask(sut, "decode", fields)
    ok, note = judged(lambda: agrees(got, want, acceptable,
                                     lambda: decode_others(type_name, data, want,
                                                           lambda: [])))
    if not ok:
        return (f"decode: the SUT {verdict_words(got)}, the model {verdict_words(want)}"
                f"{note}; input DER ({len(data)} octets): {hex_shown(data)}")
    value = raw_to_json(type_name, edge.raw)
    fields = {"type": type_name, "value": value, "profile": profile or "current"}
    want_e: Verdict_ = model_verdict("encode", fields)
    got_e = ask(sut, "encode", fields)
    ok, note = judged(lambda: agrees(got_e, want_e, acceptable, set))
    if not ok:
        text = json.dumps(value, ensure_ascii=False)
        return (f"encode: the SUT {verdict_words(got_e)}, the model "
                f"{verdict_words(want_e)}{note}; value: {text[:600]}")
    return None


def _run(type_name: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        mine = [e for e in edges(type_name)
                if e.source.profile is None or e.source.profile in profiles(sut)]
        expected = (f"the model's verdict (the same value or DER, or the same error code) "
                    f"for each of {len(mine)} elements at or just outside a bound of its "
                    f"constraint, decoded and encoded")
        if not mine:
            return Outcome(Verdict.NOT_APPLICABLE, expected,
                           "no constrained element in a profile the SUT declares")
        for edge in mine:
            found = _divergence(sut, edge)
            if found is not None:
                side = "inside" if edge.inside else "outside"
                return Outcome(Verdict.FAIL, expected,
                               f"{type_name} ({edge.source.label}) with {edge.where} "
                               f"({edge.what}, {side} the bound): {found}")
        return Outcome(Verdict.PASS, expected, f"all {len(mine)} agree with the model")
    return run


REQUIREMENTS = ("R-DER-07", "R-DER-13", "R-CONF-19", "R-CONF-20")
FIX = ("Check each SIZE and range constraint of spec/asn1 at both of its bounds, on decode "
       "and on encode: a value at a bound is inside (then the message's rules decide), "
       "one step beyond is refused 1015 CONSTRAINT_VIOLATION; strings count code points.")


def bounds_cases() -> list[Case]:
    """The cases of this module: one per type with a constrained element."""
    cases: list[Case] = []
    for type_name in TYPES:
        if not edges(type_name):
            continue
        slug = "".join("-" + c.lower() if c.isupper() else c for c in type_name).strip("-")
        cases.append(Case(
            id=f"der/codec/{slug}/constraint-bounds",
            title=f"{type_name}: every SIZE and range constraint at its bounds and one "
                  f"step outside, decoded and encoded as the model does",
            clause=CLAUSES[type_name], requirements=REQUIREMENTS, level="MUST",
            remediation=FIX, mode="codec", ops=("decode", "encode"),
            message_type=type_name, run=_run(type_name)))
    return cases


__all__ = ["Edge", "bounds_cases", "edges", "sites"]
