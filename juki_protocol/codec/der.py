"""Strict DER structure checks, independent of any schema.

asn1tools decodes BER leniently (long-form lengths, trailing bytes). Untrusted input is
therefore first walked here: every TLV must use definite, minimal lengths and minimal
tag numbers, fill its parent exactly, nest no deeper than :data:`MAX_DEPTH`, and the
outermost value must end at the last byte. Each failure raises a
:class:`~juki_protocol.errors.DecodeError` with its registered code and byte offset.

Primitive contents (BOOLEAN, INTEGER minimality) cannot be judged without the schema,
because automatic tagging hides the universal type: after decoding,
:func:`juki_protocol.codec.schema.is_canonical` checks them against the schema, and
:func:`compare_canonical` (the input against the re-encoding of the decoded value) gives
the precise answer when that check cannot prove the input canonical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from juki_protocol.errors import DecodeError, ErrorCode

MAX_DEPTH = 32
MAX_LENGTH_OCTETS = 4


@dataclass(slots=True)
class Tlv:
    """One parsed TLV: tag class (0-3), constructed flag, tag number, byte spans."""

    tag_class: int
    constructed: bool
    number: int
    start: int          # offset of the identifier octet
    content_start: int
    end: int            # offset just past the content
    children: list[Tlv] = field(default_factory=list)

    @property
    def tag_key(self) -> tuple[int, bool, int]:
        return (self.tag_class, self.constructed, self.number)


def read_header(data: bytes, pos: int, limit: int) -> tuple[int, bool, int, int, int]:
    """Read identifier and length at ``pos`` (not past ``limit``) with every DER check
    of this module; return class, constructed, number, content start and content
    length. Public for the parsers that walk TLVs their own way (the fast CMS parser,
    the schema's tag keys) and must not check headers differently."""
    start = pos
    if pos >= limit:
        raise DecodeError("expected a tag, found end of data",
                          code=ErrorCode.DER_MALFORMED, offset=pos)
    first = data[pos]
    pos += 1
    tag_class = first >> 6
    constructed = bool(first & 0x20)
    number = first & 0x1F
    if number == 0x1F:
        number = 0
        count = 0
        while True:
            if pos >= limit:
                raise DecodeError("tag number runs past the end of data",
                                  code=ErrorCode.DER_MALFORMED, offset=start)
            b = data[pos]
            pos += 1
            if count == 0 and b == 0x80:
                raise DecodeError("tag number has a leading zero septet",
                                  code=ErrorCode.DER_NON_CANONICAL, offset=start)
            number = (number << 7) | (b & 0x7F)
            count += 1
            if count > 4:
                raise DecodeError("tag number longer than 4 octets",
                                  code=ErrorCode.DER_MALFORMED, offset=start)
            if not b & 0x80:
                break
        if number < 0x1F:
            raise DecodeError(f"tag number {number} uses the high-tag-number form",
                              code=ErrorCode.DER_NON_CANONICAL, offset=start)
    if pos >= limit:
        raise DecodeError("expected a length, found end of data",
                          code=ErrorCode.DER_MALFORMED, offset=pos)
    lb = data[pos]
    len_at = pos
    pos += 1
    if lb < 0x80:
        length = lb
    elif lb == 0x80:
        raise DecodeError("indefinite length is not allowed in DER",
                          code=ErrorCode.DER_NON_CANONICAL, offset=len_at)
    elif lb == 0xFF:
        raise DecodeError("length octet 0xFF is reserved",
                          code=ErrorCode.DER_MALFORMED, offset=len_at)
    else:
        n = lb & 0x7F
        if n > MAX_LENGTH_OCTETS:
            raise DecodeError(f"length uses {n} octets (at most {MAX_LENGTH_OCTETS})",
                              code=ErrorCode.DER_MALFORMED, offset=len_at)
        if pos + n > limit:
            raise DecodeError("length octets run past the end of data",
                              code=ErrorCode.DER_MALFORMED, offset=len_at)
        raw = data[pos:pos + n]
        pos += n
        if raw[0] == 0:
            raise DecodeError("long-form length has a leading zero octet",
                              code=ErrorCode.DER_NON_CANONICAL, offset=len_at)
        length = int.from_bytes(raw, "big")
        if length < 0x80:
            raise DecodeError(f"length {length} uses the long form; DER requires the "
                              f"short form below 128", code=ErrorCode.DER_NON_CANONICAL,
                              offset=len_at)
    if pos + length > limit:
        raise DecodeError(f"value of {length} bytes runs {pos + length - limit} bytes "
                          f"past the end of its container", code=ErrorCode.DER_MALFORMED,
                          offset=start)
    return tag_class, constructed, number, pos, length


def _parse(data: bytes, pos: int, limit: int, depth: int) -> Tlv:
    if depth > MAX_DEPTH:
        raise DecodeError(f"values nested deeper than {MAX_DEPTH}",
                          code=ErrorCode.DER_TOO_DEEP, offset=pos)
    first = data[pos] if pos + 1 < limit else 0x1F
    if first & 0x1F != 0x1F and data[pos + 1] < 0x80 and pos + 2 + data[pos + 1] <= limit:
        # The common case, read inline: a low tag number and a short-form length.
        constructed = bool(first & 0x20)
        node = Tlv(first >> 6, constructed, first & 0x1F, pos, pos + 2,
                   pos + 2 + data[pos + 1])
    else:
        tag_class, constructed, number, cstart, length = read_header(data, pos, limit)
        node = Tlv(tag_class, constructed, number, pos, cstart, cstart + length)
    if constructed:
        p, end, children = node.content_start, node.end, node.children
        while p < end:
            child = _parse(data, p, end, depth + 1)
            children.append(child)
            p = child.end
    return node


def parse(data: bytes) -> Tlv:
    """Walk ``data`` as exactly one DER value; raise a :class:`DecodeError` if not."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("DER input must be bytes", code=ErrorCode.DER_MALFORMED)
    data = bytes(data)
    root = _parse(data, 0, len(data), 1)
    if root.end != len(data):
        raise DecodeError(f"{len(data) - root.end} bytes follow the end of the value",
                          code=ErrorCode.DER_TRAILING_DATA, offset=root.end)
    return root


def compare_canonical(original: bytes, reencoded: bytes) -> int:
    """Compare an input with the re-encoding of its decoded value.

    Returns the number of elements present in ``original`` but not in ``reencoded``:
    extension additions unknown to this schema version, which the decoder skipped.
    Raises ``DER_NON_CANONICAL`` if an element both contain differs (for example a
    BOOLEAN encoded as 01, or an INTEGER with a redundant leading octet).
    """
    if original == reencoded:
        return 0
    return _diff(original, parse(original), reencoded, parse(reencoded))


def _diff(a: bytes, ta: Tlv, b: bytes, tb: Tlv) -> int:
    if ta.tag_key != tb.tag_key:
        raise DecodeError("element differs from its canonical encoding",
                          code=ErrorCode.DER_NON_CANONICAL, offset=ta.start)
    if not ta.constructed:
        if a[ta.content_start:ta.end] != b[tb.content_start:tb.end]:
            raise DecodeError("primitive value is not in its canonical DER form",
                              code=ErrorCode.DER_NON_CANONICAL, offset=ta.start)
        return 0
    unknown = 0
    i = 0
    for cb in tb.children:
        # Skip elements of the original that the decoder did not keep.
        while i < len(ta.children) and ta.children[i].tag_key != cb.tag_key:
            unknown += 1
            i += 1
        if i == len(ta.children):
            raise DecodeError("element differs from its canonical encoding",
                              code=ErrorCode.DER_NON_CANONICAL, offset=ta.start)
        unknown += _diff(a, ta.children[i], b, cb)
        i += 1
    return unknown + (len(ta.children) - i)
