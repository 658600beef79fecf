"""DER mutations for the model-based codec cases
(:mod:`juki_conformance.cases_codec_explore`, whose docstring lists them with the
requirements they try): a DER value as a mutable tree of TLVs, and :func:`mutate`,
which applies a list of ``(kind, position, variant)`` mutations to a vector's DER and
says in words what each did. Positions and variants are taken modulo what the tree
offers, so that any drawn numbers name a mutation and hypothesis can shrink them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from juki_protocol.codec import der

# The mutable TLV tree ------------------------------------------------------------------

@dataclasses.dataclass
class TlvNode:
    """One TLV of a DER value being mutated: its identifier octets, and either the
    content of a primitive or the children of a constructed value; ``length`` is how
    its length is written (``min``, or one of :data:`LENGTH_FORMS`)."""

    ident: bytes
    content: bytes = b""
    children: list[TlvNode] | None = None
    length: str = "min"
    #: Where the element was in the vector: child indices from the outermost value.
    path: str = ""

    def where(self) -> str:
        """Where the element was, in words: ``[0.2]`` or "the outermost value"."""
        return f"[{self.path}]" if self.path else "the outermost value"


def _ident_end(data: bytes, start: int) -> int:
    i = start + 1
    if data[start] & 0x1F == 0x1F:
        while data[i] & 0x80:
            i += 1
        i += 1
    return i


def tlv_tree(data: bytes) -> TlvNode:
    """The mutable tree of the DER value ``data`` (which must be strict DER)."""
    def build(t: der.Tlv, path: str) -> TlvNode:
        ident = data[t.start:_ident_end(data, t.start)]
        if not t.constructed:
            return TlvNode(ident, data[t.content_start:t.end], path=path)
        return TlvNode(ident, children=[build(c, f"{path}.{i}".lstrip("."))
                                        for i, c in enumerate(t.children)], path=path)
    return build(der.parse(data), "")


def length_octets(n: int, form: str = "min") -> bytes:
    """The length octets for ``n`` written in ``form``: ``min`` (DER), or one of
    :data:`LENGTH_FORMS` but ``indef`` (which :func:`encode_tree` writes)."""
    raw = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    if (form == "long" and n >= 0x80) or form == "zero":
        raw = b"\x00" + raw
    elif form == "five":
        raw = n.to_bytes(5, "big")
    elif form in ("plus", "minus"):
        return length_octets(n + 1 if form == "plus" else max(n - 1, 0))
    elif form == "min" and n < 0x80:
        return bytes([n])
    return bytes([0x80 | len(raw)]) + raw


def encode_tree(node: TlvNode) -> bytes:
    """The octets of ``node`` and its children, each length written as it says."""
    content = node.content if node.children is None else \
        b"".join(encode_tree(c) for c in node.children)
    if node.length == "indef":
        return node.ident + b"\x80" + content + b"\x00\x00"
    return node.ident + length_octets(len(content), node.length) + content


def tree_nodes(node: TlvNode) -> Iterator[TlvNode]:
    """``node`` and every element below it, depth first, in the order of the octets."""
    yield node
    for child in node.children or ():
        yield from tree_nodes(child)


def _text(node: TlvNode) -> str | None:
    """The content of a primitive as text, when it is printable UTF-8."""
    if node.children is not None or not node.content:
        return None
    try:
        text = node.content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


# DER mutations ---------------------------------------------------------------------------

#: Mutation kinds (hypothesis shrinks towards the first, and draws it more often).
KINDS = ("length", "tag", "boolean", "integer", "resize", "swap", "drop", "extension",
         "truncate", "trailing")
SUFFIXES = (b"\x00", b"\x00\x00", b"\x05\x00", b"\xff")
LENGTH_FORMS = ("long", "zero", "indef", "plus", "minus", "five")
TAG_FORMS = ("high", "septet", "constructed", "class+1", "class+2", "class+3", "number+1")
ONE_OCTET = (0x01, 0x7F, 0x80, 0x00, 0xFF)
INTEGER_FORMS = ("lead-00", "lead-ff", "empty")
EXTENSIONS = (b"\x9d\x05later", b"\xbe\x03\x80\x01\x00")
#: Character counts at the SIZE bounds of spec/asn1 (and the 127/128 length boundary).
SIZES = (0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 32, 33, 100, 101, 127, 128,
         200, 201, 256, 257)
RESIZES: tuple[str | int, ...] = ("minus1", "plus1", *SIZES)

Mutation = tuple[str, int, int]      # (kind, position, variant)

#: Tried before the drawn inputs, on the first vector (an Acknowledgement): each kind
#: once at the outermost value, and a class change of its tag (a seed corpus, as
#: fuzzers have: every rule is tried at least once whatever the budget).
FIRST_MUTATIONS: tuple[tuple[int, list[Mutation]], ...] = (
    *((0, [(kind, 0, 0)]) for kind in KINDS), (0, [("tag", 0, 3)]))


class _Mutant:
    """A vector's DER being mutated: the tree, and octets cut or added at the end."""

    def __init__(self, data: bytes) -> None:
        self.root = tlv_tree(data)
        self.suffix = b""
        self.cut = 0

    def der(self) -> bytes:
        data = encode_tree(self.root) + self.suffix
        return data[:len(data) - self.cut] if self.cut else data

    def apply(self, mutation: Mutation) -> str:
        """Apply one mutation; what it did, in words."""
        kind, pos, variant = mutation
        if kind == "trailing":
            extra = SUFFIXES[variant % len(SUFFIXES)]
            self.suffix += extra
            return f"trailing octets {extra.hex()}"
        if kind == "truncate":
            size = len(self.der())
            if size <= 1:
                return "truncate: nothing to cut"
            self.cut += 1 + pos % (size - 1)
            return f"last {self.cut} octets cut"
        wants: dict[str, Callable[[TlvNode], bool]] = {
            "length": lambda n: True, "tag": lambda n: True,
            "boolean": lambda n: n.children is None and len(n.content) == 1,
            "integer": lambda n: n.children is None,
            "swap": lambda n: n.children is not None and len(n.children) >= 2,
            "drop": lambda n: bool(n.children),
            "extension": lambda n: n.children is not None,
            "resize": lambda n: _text(n) is not None}
        places = [n for n in tree_nodes(self.root) if wants[kind](n)]
        if not places:
            return f"{kind}: no element to mutate"
        node = places[pos % len(places)]
        return f"{self._at(kind, node, variant)} at {node.where()}"

    def _at(self, kind: str, node: TlvNode, variant: int) -> str:
        if kind == "length":
            node.length = LENGTH_FORMS[variant % len(LENGTH_FORMS)]
            return f"length {node.length}"
        if kind == "tag":
            return self._tag(node, TAG_FORMS[variant % len(TAG_FORMS)])
        if kind == "boolean":
            octet = ONE_OCTET[variant % len(ONE_OCTET)]
            old, node.content = node.content, bytes([octet])
            return f"one-octet content {old.hex()} -> {octet:02x}"
        if kind == "integer":
            form = INTEGER_FORMS[variant % len(INTEGER_FORMS)]
            node.content = {"lead-00": b"\x00" + node.content,
                            "lead-ff": b"\xff" + node.content, "empty": b""}[form]
            return f"content {form}"
        if kind == "swap":
            assert node.children is not None
            i = variant % (len(node.children) - 1)
            node.children[i], node.children[i + 1] = node.children[i + 1], node.children[i]
            return f"elements {i} and {i + 1} swapped"
        if kind == "drop":
            assert node.children
            gone = node.children.pop(variant % len(node.children))
            return f"element {gone.where()} removed"
        if kind == "extension":
            assert node.children is not None
            extra = EXTENSIONS[variant % len(EXTENSIONS)]
            added = tlv_tree(extra)
            added.path = f"{node.path}.new".lstrip(".")
            node.children.append(added)
            return f"unknown extension addition {extra.hex()} appended"
        text = _text(node)
        assert text is not None
        target = RESIZES[variant % len(RESIZES)]
        count = len(text) - 1 if target == "minus1" else \
            len(text) + 1 if target == "plus1" else int(target)
        node.content = (text[0] * count).encode("utf-8")
        return f"string of {len(text)} characters resized to {count}"

    @staticmethod
    def _tag(node: TlvNode, form: str) -> str:
        first, old = node.ident[0], node.ident
        low = len(node.ident) == 1
        if form in ("high", "septet") and low:
            node.ident = bytes([first | 0x1F]) + (b"\x80" if form == "septet" else b"") + \
                bytes([first & 0x1F])
        elif form == "constructed":
            node.ident = bytes([first ^ 0x20]) + node.ident[1:]
        elif form.startswith("class+"):
            cls = ((first >> 6) + int(form[-1])) % 4
            node.ident = bytes([(cls << 6) | (first & 0x3F)]) + node.ident[1:]
        elif form == "number+1" and low and first & 0x1F < 30:
            node.ident = bytes([first + 1])
        return f"identifier {old.hex()} -> {node.ident.hex()} ({form})"


def mutate(data: bytes, mutations: list[Mutation]) -> tuple[bytes, list[str]]:
    """``data`` with ``mutations`` applied in turn; the words for each."""
    mutant = _Mutant(data)
    said = [mutant.apply(m) for m in mutations]
    return mutant.der(), said


__all__ = ["EXTENSIONS", "FIRST_MUTATIONS", "INTEGER_FORMS", "KINDS", "LENGTH_FORMS",
           "ONE_OCTET", "RESIZES", "SIZES", "SUFFIXES", "TAG_FORMS", "Mutation", "TlvNode",
           "encode_tree", "length_octets", "mutate", "tlv_tree", "tree_nodes"]
