"""Strict DER structure checks on hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juki_protocol.codec import der
from juki_protocol.errors import DecodeError, ErrorCode


def _code(data: bytes) -> ErrorCode:
    with pytest.raises(DecodeError) as exc:
        der.parse(data)
    return exc.value.error_code


def test_accepts_nested_der() -> None:
    tree = der.parse(bytes.fromhex("3005800101a100"))
    assert tree.constructed and len(tree.children) == 2
    assert tree.children[1].children == []


@pytest.mark.parametrize(("hexdata", "code"), [
    ("", ErrorCode.DER_MALFORMED),
    ("30", ErrorCode.DER_MALFORMED),
    ("3004800101", ErrorCode.DER_MALFORMED),           # content runs past the end
    ("30038001010000", ErrorCode.DER_TRAILING_DATA),
    ("308103800101", ErrorCode.DER_NON_CANONICAL),     # long form for 3
    ("30820003800101", ErrorCode.DER_NON_CANONICAL),   # leading zero length octet
    ("3080800101" + "0000", ErrorCode.DER_NON_CANONICAL),  # indefinite
    ("30ff", ErrorCode.DER_MALFORMED),
    ("3085000000000100", ErrorCode.DER_MALFORMED),     # 5 length octets
    ("1f0500", ErrorCode.DER_NON_CANONICAL),           # high-tag form for tag 5
    ("1f800100", ErrorCode.DER_NON_CANONICAL),         # leading zero septet
])
def test_rejections(hexdata: str, code: ErrorCode) -> None:
    assert _code(bytes.fromhex(hexdata)) is code


def _nested(levels: int) -> bytes:
    inner = b"\x05\x00"
    for _ in range(levels):
        inner = b"\x30" + der_len(len(inner)) + inner
    return inner


def test_depth_bound() -> None:
    der.parse(_nested(der.MAX_DEPTH - 1))
    assert _code(_nested(der.MAX_DEPTH + 5)) is ErrorCode.DER_TOO_DEEP
    assert _code(_nested(5000)) is ErrorCode.DER_TOO_DEEP


def der_len(n: int) -> bytes:
    if n < 128:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def test_huge_declared_length_does_not_allocate() -> None:
    assert _code(b"\x04\x84\x7f\xff\xff\xff" + b"x") is ErrorCode.DER_MALFORMED


@settings(max_examples=400)
@given(st.binary(max_size=200))
def test_any_bytes_give_tree_or_registered_error(data: bytes) -> None:
    try:
        tree = der.parse(data)
    except DecodeError as exc:
        assert exc.error_code in {ErrorCode.DER_MALFORMED, ErrorCode.DER_NON_CANONICAL,
                                  ErrorCode.DER_TRAILING_DATA, ErrorCode.DER_TOO_DEEP}
    else:
        assert tree.end == len(data)


def test_compare_canonical_counts_unknown_trailing_elements() -> None:
    base = bytes.fromhex("3003800101")
    extended = bytes.fromhex("3006800101810100")
    assert der.compare_canonical(base, base) == 0
    assert der.compare_canonical(extended, base) == 1


def test_compare_canonical_rejects_changed_primitive() -> None:
    with pytest.raises(DecodeError) as exc:
        der.compare_canonical(bytes.fromhex("30038001ff"), bytes.fromhex("3003800101"))
    assert exc.value.error_code is ErrorCode.DER_NON_CANONICAL
