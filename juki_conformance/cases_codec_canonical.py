"""Canonical primitives at every position, in codec mode (X.690 sections 8.2, 8.3, 8.4,
11.1, 11.7; spec/README.md R-DER-02, R-DER-17).

The golden vectors give a non-minimal INTEGER and a non-canonical BOOLEAN at one place
of two types, and a non-canonical time in the PDU header only. A decoder that proves
the canonical form element by element (as the reference does, falling back to a
re-encoding when it cannot) may check one position and not another: the elements of a
SEQUENCE OF, the component inside an explicit tag, a CHOICE's alternative, an
ENUMERATED anywhere. Here each type's maximal valid message is walked along its schema,
and every primitive of one kind gets, alone, its one non-canonical form that keeps the
value:

- an INTEGER or an ENUMERATED with a redundant leading octet (``00`` before a positive
  value, ``FF`` before a negative one; X.690 8.3.2);
- a BOOLEAN TRUE written ``01`` instead of ``FF`` (X.690 11.1);
- a GeneralizedTime with a fraction of zero (``.0`` before the ``Z``; X.690 11.7.3).

Each such input must be refused with 1011 DER_NON_CANONICAL (R-DER-02). One case per
type and kind tries every position and names the first one accepted or refused with
another code.

:func:`more_canonical_cases` adds two inputs no single-position case builds. A list
whose every element is non-canonical at once: a checker that proves a list element by
element and takes "none of them proved" for "all of them canonical" accepts it (with one
element broken, the canonical ones after it give the answer away). And every INTEGER
given the value -1 as ``FF FF``: a redundant leading octet on a negative value, which a
check that compares octet strings by order rather than equality takes for the minimal
``FF``; no constraint allows -1, but the canonical form comes first (1011 before 1015,
spec/pdu.md section 8 step 9).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from asn1tools.codecs import ber as _ber
from asn1tools.codecs import der as _asn1der

from juki_conformance.cases_codec import CLAUSES
from juki_conformance.codec_checks import error_of
from juki_conformance.der_mutations import TlvNode, encode_tree, tlv_tree, tree_nodes
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec, der, schema
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import MESSAGE_TYPES, Profile

#: Every registered message type and the PDU (a type added later gets its cases too).
TYPES = tuple(dict.fromkeys((*MESSAGE_TYPES, "JukiPdu")))

#: The kinds of primitive with one non-canonical form each, and what that form is.
KINDS = {"integer": "an INTEGER with a redundant leading octet",
         "enumerated": "an ENUMERATED with a redundant leading octet",
         "boolean": "a BOOLEAN TRUE written 01",
         "time": "a GeneralizedTime with a zero fraction"}


def _tag_key(tag: bytes) -> tuple[int, bool, int]:
    tag_class, constructed, number, _, _ = der.read_header(bytes(tag) + b"\x00", 0,
                                                            len(tag) + 1)
    return tag_class, constructed, number


def _starts(t: Any) -> set[tuple[int, bool, int]]:
    """The tags an element of type ``t`` can start with."""
    if getattr(t, "tag", None) is not None:
        return {_tag_key(t.tag)}
    if isinstance(t, _ber.Choice):
        return set().union(*(_starts(m) for m in t.members))
    return set()


def _kind(t: Any) -> str | None:
    cls = type(t)
    if cls in (_ber.Integer, _asn1der.Integer):
        return "integer"
    if cls is _ber.Enumerated:
        return "enumerated"
    if cls is _ber.Boolean:
        return "boolean"
    if cls is _asn1der.GeneralizedTime:
        return "time"
    return None


def leaves(t: Any, node: der.Tlv, path: str = "") -> Iterator[tuple[str, str, der.Tlv]]:
    """(TLV path as :class:`TlvNode` numbers it, kind, element) of every primitive of a
    kind in :data:`KINDS` in ``node``, a valid value of type ``t``; elements this
    version does not know are passed over."""
    def sub(i: int) -> str:
        return f"{path}.{i}".lstrip(".")
    if isinstance(t, _ber.Choice):
        for m in t.members:
            if node.tag_key in _starts(m):
                yield from leaves(m, node, path)
                return
        return
    if isinstance(t, _ber.ExplicitTag):
        if node.children:
            yield from leaves(t.inner, node.children[0], sub(0))
        return
    if isinstance(t, _ber.Sequence):
        members = list(t.root_members)
        for a in t.additions or ():
            members.extend(a if isinstance(a, list) else [a])
        for i, child in enumerate(node.children):
            member = next((m for m in members if child.tag_key in _starts(m)), None)
            if member is not None:
                yield from leaves(member, child, sub(i))
        return
    if isinstance(t, (_asn1der.SequenceOf, _ber.SequenceOf)):
        for i, child in enumerate(node.children):
            yield from leaves(t.element_type, child, sub(i))
        return
    kind = _kind(t)
    if kind is not None and not node.constructed:
        yield path, kind, node


def _find(tree: TlvNode, path: str) -> TlvNode:
    return next(n for n in tree_nodes(tree) if n.path == path)


def non_canonical(kind: str, content: bytes) -> bytes | None:
    """The non-canonical form of ``content`` that keeps its value, or None when the
    element has none here (a BOOLEAN FALSE, a time that already has a fraction)."""
    if kind in ("integer", "enumerated"):
        return (b"\xff" if content[0] & 0x80 else b"\x00") + content
    if kind == "boolean":
        return b"\x01" if content == b"\xff" else None
    if content.endswith(b"Z") and b"." not in content:
        return content[:-1] + b".0Z"
    return None


def mutants(type_name: str, kind: str) -> list[tuple[str, bytes]]:
    """(where, DER) of each position of ``kind`` in the example of ``type_name`` with
    that one element in its non-canonical form."""
    data = codec.encode(example(type_name, "conformance:canonical", Profile.CURRENT))
    t = schema.compiled().types[type_name].type
    out = []
    for path, found, node in leaves(t, der.parse(data)):
        if found != kind:
            continue
        changed = non_canonical(kind, data[node.content_start:node.end])
        if changed is None:
            continue
        tree = tlv_tree(data)
        _find(tree, path).content = changed
        out.append((_find(tree, path).where(), encode_tree(tree)))
    return out


def _refused(type_name: str, kind: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        inputs = mutants(type_name, kind)
        expected = (f"each of the {len(inputs)} inputs with {KINDS[kind]} refused "
                    f"{int(ErrorCode.DER_NON_CANONICAL)} DER_NON_CANONICAL")
        if not inputs:
            return Outcome(Verdict.NOT_APPLICABLE, expected,
                           f"the example of {type_name} has no such element")
        for where, data in inputs:
            answer = sut.request("decode", type=type_name, der=data.hex())
            if answer.get("ok"):
                return Outcome(Verdict.FAIL, expected, f"the one at {where} was accepted")
            got, text = error_of(answer)
            if got != int(ErrorCode.DER_NON_CANONICAL):
                return Outcome(Verdict.FAIL, expected, f"the one at {where} was "
                               f"refused with {text}")
        return Outcome(Verdict.PASS, expected, f"all {len(inputs)} refused 1011")
    return run


FIX = ("Check the canonical form of every primitive wherever it stands (inside a "
       "SEQUENCE OF, an explicit tag or a CHOICE too): INTEGER and ENUMERATED in their "
       "fewest octets, BOOLEAN TRUE as FF, GeneralizedTime without a zero fraction; "
       "refuse any other form with 1011 (X.690 8.3.2, 11.1, 11.7).")


def canonical_cases() -> list[Case]:
    """The cases of this module, in a stable order: one per type and kind that the
    type's maximal example holds."""
    cases: list[Case] = []
    for type_name in TYPES:
        slug = "".join("-" + c.lower() if c.isupper() else c for c in type_name).strip("-")
        for kind, what in KINDS.items():
            if not mutants(type_name, kind):
                continue
            cases.append(Case(
                id=f"der/codec/{slug}/non-canonical-{kind}-at-every-position",
                title=f"{type_name}: {what}, at each position in turn, is refused 1011",
                clause=CLAUSES[type_name], requirements=("R-DER-02", "R-DER-17"),
                level="MUST", remediation=FIX, mode="codec", ops=("decode",),
                message_type=type_name, run=_refused(type_name, kind)))
    return cases


# Every element of a list at once, and a negative INTEGER ------------------------------

def _lists(node: der.Tlv, path: str = "") -> Iterator[str]:
    """The TLV paths of the lists (SEQUENCE OF) in ``node``: with AUTOMATIC TAGS only a
    list's elements carry a universal tag inside a constructed element."""
    if not node.constructed:
        return
    if node.children and all(c.tag_key[0] == 0 for c in node.children):
        yield path
    for i, child in enumerate(node.children):
        yield from _lists(child, f"{path}.{i}".lstrip("."))


def whole_list_mutants(type_name: str, kind: str) -> list[tuple[str, bytes]]:
    """(where, DER) for each list of the example of ``type_name`` with every element
    of ``kind`` inside every one of its elements in its non-canonical form."""
    data = codec.encode(example(type_name, "conformance:canonical", Profile.CURRENT))
    t = schema.compiled().types[type_name].type
    found = [(path, node) for path, k, node in leaves(t, der.parse(data)) if k == kind]
    out = []
    for where in _lists(der.parse(data)):
        tree = tlv_tree(data)
        changed = 0
        for path, node in found:
            new = non_canonical(kind, data[node.content_start:node.end])
            if path.startswith(f"{where}.") and new is not None:
                _find(tree, path).content = new
                changed += 1
        if changed:
            out.append((_find(tree, where).where(), encode_tree(tree)))
    return out


def negative_mutants(type_name: str) -> list[tuple[str, bytes]]:
    """(where, DER) of each INTEGER of the example of ``type_name`` given the value -1
    with a redundant leading octet (``FF FF``): a non-canonical form (X.690 8.3.2) of a
    value no constraint of the schema allows, so 1011 comes before 1015."""
    data = codec.encode(example(type_name, "conformance:canonical", Profile.CURRENT))
    t = schema.compiled().types[type_name].type
    out = []
    for path, kind, _ in leaves(t, der.parse(data)):
        if kind == "integer":
            tree = tlv_tree(data)
            _find(tree, path).content = b"\xff\xff"
            out.append((_find(tree, path).where(), encode_tree(tree)))
    return out


def _all_refused(inputs: list[tuple[str, bytes]], type_name: str,
                 what: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        expected = (f"each of the {len(inputs)} inputs with {what} refused "
                    f"{int(ErrorCode.DER_NON_CANONICAL)} DER_NON_CANONICAL")
        for where, data in inputs:
            answer = sut.request("decode", type=type_name, der=data.hex())
            if answer.get("ok"):
                return Outcome(Verdict.FAIL, expected, f"the one at {where} was accepted")
            got, text = error_of(answer)
            if got != int(ErrorCode.DER_NON_CANONICAL):
                return Outcome(Verdict.FAIL, expected, f"the one at {where} was "
                               f"refused with {text}")
        return Outcome(Verdict.PASS, expected, f"all {len(inputs)} refused 1011")
    return run


FIX_LIST = ("Check the canonical form of every element of a list, not only until one "
            "is found canonical: a list whose every element is non-canonical is refused "
            "1011 as one with a single such element (X.690 8.3.2, 11.1).")
FIX_NEGATIVE = ("An INTEGER with a redundant leading FF octet is not DER whatever its "
                "value: refuse it with 1011 before checking the value's range (1015; "
                "spec/pdu.md section 8 step 9).")


def more_canonical_cases() -> list[Case]:
    """Every element of a list non-canonical at once, per type and kind; and every
    INTEGER of a type given -1 as FF FF, per type."""
    cases: list[Case] = []
    for type_name in TYPES:
        slug = "".join("-" + c.lower() if c.isupper() else c for c in type_name).strip("-")
        for kind, what in KINDS.items():
            inputs = whole_list_mutants(type_name, kind)
            if inputs:
                cases.append(Case(
                    id=f"der/codec/{slug}/non-canonical-{kind}-in-every-element-of-a-list",
                    title=f"{type_name}: {what} in every element of a list at once is "
                          f"refused 1011", clause=CLAUSES[type_name],
                    requirements=("R-DER-02", "R-DER-17"), level="MUST",
                    remediation=FIX_LIST, mode="codec", ops=("decode",),
                    message_type=type_name,
                    run=_all_refused(inputs, type_name, f"{what} in every element")))
        inputs = negative_mutants(type_name)
        if inputs:
            cases.append(Case(
                id=f"der/codec/{slug}/integer-minus-one-with-leading-ff-at-every-position",
                title=f"{type_name}: an INTEGER -1 written FF FF (redundant leading octet, "
                      f"out of range) at each position in turn is refused 1011",
                clause=CLAUSES[type_name], requirements=("R-DER-02", "R-CONF-15"),
                level="MUST", remediation=FIX_NEGATIVE, mode="codec", ops=("decode",),
                message_type=type_name,
                run=_all_refused(inputs, type_name, "an INTEGER -1 written FF FF")))
    return cases


__all__ = ["KINDS", "canonical_cases", "leaves", "more_canonical_cases", "mutants",
           "non_canonical"]
