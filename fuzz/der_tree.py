"""A structure-aware DER mutator: parse to a tree, change one node, re-encode.

Random bytes or blind bit flips mostly break the outermost length, so the opener
refuses them at its first parse. Mutating a node of the parsed tree and re-encoding
with correct lengths keeps everything around the change well formed, so the input
reaches the checks behind the parsers (certificate loading, names, versions, keys).

Parsing is tolerant: a constructed value whose content is not a sequence of TLVs, or
any input that is not one complete TLV, is kept as opaque octets. An OCTET STRING or
BIT STRING whose content is itself DER (an extension's value, an encapsulated content)
is parsed as a nested tree and re-wrapped on encoding.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

MAX_DEPTH = 24


@dataclass(slots=True)
class Tlv:
    """One TLV: its identifier octets and either primitive content or children.

    wrapped: the content of this primitive OCTET STRING (0x04) or BIT STRING (0x03, after
    its unused-bits octet) is itself DER, held in ``kids``.
    """

    tag: bytes
    content: bytes = b""
    kids: list[Tlv] | None = None
    wrapped: bool = False
    unused_bits: bytes = field(default=b"")


def _header(data: bytes, pos: int, end: int) -> tuple[bytes, int, int] | None:
    """(identifier octets, content start, content end) of the TLV at ``pos``."""
    start = pos
    if pos >= end:
        return None
    if data[pos] & 0x1F == 0x1F:
        pos += 1
        while pos < end and data[pos] & 0x80:
            pos += 1
    pos += 1
    if pos >= end:
        return None
    tag = data[start:pos]
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            return None
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > end:
        return None
    return tag, pos, pos + length


def parse_many(data: bytes, depth: int = 0) -> list[Tlv] | None:
    """The TLVs that make up ``data`` exactly, or None."""
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        head = _header(data, pos, len(data))
        if head is None:
            return None
        tag, start, end = head
        out.append(_node(tag, data[start:end], depth))
        pos = end
    return out


def _node(tag: bytes, content: bytes, depth: int) -> Tlv:
    if depth < MAX_DEPTH:
        if tag[0] & 0x20:
            kids = parse_many(content, depth + 1)
            if kids is not None:
                return Tlv(tag, kids=kids)
        elif tag == b"\x04" and content[:1] in (b"\x30", b"\x31"):
            kids = parse_many(content, depth + 1)
            if kids:
                return Tlv(tag, kids=kids, wrapped=True)
        elif tag == b"\x03" and content[:2] in (b"\x00\x30", b"\x00\x31"):
            kids = parse_many(content[1:], depth + 1)
            if kids:
                return Tlv(tag, kids=kids, wrapped=True, unused_bits=content[:1])
    return Tlv(tag, content=content)


def parse(data: bytes) -> Tlv:
    """The tree of one DER value (opaque octets under tag 0x04 if it is not one TLV)."""
    nodes = parse_many(data)
    if nodes is None or len(nodes) != 1:
        return Tlv(b"\x04", content=data)
    return nodes[0]


def length_octets(n: int) -> bytes:
    """A minimal DER length."""
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def encode(node: Tlv) -> bytes:
    """The DER of ``node`` with every length recomputed."""
    if node.kids is None:
        content = node.content
    else:
        content = node.unused_bits + b"".join(encode(k) for k in node.kids)
    return node.tag + length_octets(len(content)) + content


def nodes_of(root: Tlv) -> list[tuple[Tlv, Tlv | None]]:
    """Every node of the tree with its parent (None for the root), depth first."""
    out: list[tuple[Tlv, Tlv | None]] = [(root, None)]
    i = 0
    while i < len(out):
        node = out[i][0]
        out.extend((k, node) for k in node.kids or ())
        i += 1
    return out


_INTERESTING = (b"", b"\x00", b"\x01", b"\x7f", b"\x80", b"\xff", b"\x00" * 33,
                b"\xff" * 9, b"\x02", b"\x03", b"\x04", b"0" * 13, b"Z",
                b"991231235959Z", b"20491231235959Z", b"\x2a\x86\x48\xce\x3d\x02\x01",
                b"\x2a\x86\x48\xce\x3d\x03\x01\x07", b"\x55\x04\x03")
_TAGS = (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0A, 0x0C, 0x13, 0x16, 0x17, 0x18, 0x1E,
         0x30, 0x31, 0x80, 0x81, 0x82, 0xA0, 0xA1, 0xA2, 0xA3, 0x1F)


def mutate_tree(root: Tlv, rng: random.Random, pool: list[Tlv]) -> None:
    """Apply one random change to a node of ``root``; ``pool`` lends nodes to splice."""
    node, parent = rng.choice(nodes_of(root))
    action = rng.randrange(9)
    if action == 0 and node.kids is None and node.content:          # flip octets
        content = bytearray(node.content)
        for _ in range(rng.randint(1, 3)):
            content[rng.randrange(len(content))] ^= 1 << rng.randrange(8)
        node.content = bytes(content)
    elif action == 1:                                               # new content
        node.kids, node.wrapped = None, False
        node.content = rng.choice(_INTERESTING) if rng.random() < 0.6 \
            else rng.randbytes(rng.randrange(0, 40))
    elif action == 2:                                               # another tag
        node.tag = bytes((rng.choice(_TAGS) if rng.random() < 0.7
                          else node.tag[0] ^ (1 << rng.randrange(8)),))
        if node.tag == b"\x1f":
            node.tag += b"\x81\x00"
    elif action == 3 and parent is not None and parent.kids:        # drop
        parent.kids.remove(node)
    elif action == 4 and parent is not None and parent.kids:        # duplicate
        parent.kids.insert(parent.kids.index(node), _copy(node))
    elif action == 5 and pool:                                      # splice
        other = _copy(rng.choice(pool))
        node.tag, node.content, node.kids = other.tag, other.content, other.kids
        node.wrapped, node.unused_bits = other.wrapped, other.unused_bits
    elif action == 6 and node.kids is None and node.content:        # truncate or grow
        cut = rng.randrange(len(node.content) + 1)
        node.content = node.content[:cut] if rng.random() < 0.5 \
            else node.content + node.content[cut:]
    elif action == 7 and node.kids is not None and len(node.kids) > 1:   # reorder
        rng.shuffle(node.kids)
    else:                                                           # a big integer
        node.kids, node.wrapped = None, False
        node.content = rng.choice((b"\x00", b"\xff", b"\x7f")) * rng.choice((1, 21, 130))


def _copy(node: Tlv) -> Tlv:
    return Tlv(node.tag, node.content, None if node.kids is None
               else [_copy(k) for k in node.kids], node.wrapped, node.unused_bits)


def mutate(data: bytes, rng: random.Random, pool: list[Tlv], *, changes: int = 0) -> bytes:
    """``data`` with 1 to 3 structural changes (``changes`` fixes the number), and now
    and then a raw change after re-encoding (a broken length, a cut)."""
    root = parse(data)
    for _ in range(changes or rng.randint(1, 3)):
        mutate_tree(root, rng, pool)
    out = encode(root)
    roll = rng.random()
    if roll < 0.05 and out:
        out = out[:rng.randrange(len(out))]
    elif roll < 0.10 and out:
        raw = bytearray(out)
        raw[rng.randrange(len(raw))] = rng.randrange(256)
        out = bytes(raw)
    return out
