"""Framing (spec/pdu.md section 2, R-PDU-12, R-PDU-13): juki_protocol.codec.wire."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juki_protocol.codec.wire import LENGTH_SIZE, FrameDecoder, encode_frame
from juki_protocol.errors import ErrorCode, JukiError

bodies = st.lists(st.binary(min_size=1, max_size=300), max_size=8)


def _chunk(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in [*points, len(data)]:
        out.append(data[last:p])
        last = p
    return out


@settings(max_examples=200, deadline=None)
@given(bodies, st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_any_chunking_gives_the_same_frames(frames: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(f) for f in frames)
    decoder = FrameDecoder()
    got: list[bytes] = []
    for chunk in _chunk(stream, cuts):
        got += decoder.feed(chunk)
    decoder.eof()
    assert got == frames
    assert decoder.buffered == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=1, max_value=64))
def test_any_bytes_give_frames_or_a_registered_error(data: bytes, max_size: int) -> None:
    decoder = FrameDecoder(max_size=max_size)
    try:
        frames = decoder.feed(data)
        decoder.eof()
    except JukiError as exc:
        assert exc.error_code in (ErrorCode.FRAME_TOO_LARGE, ErrorCode.FRAME_TRUNCATED)
    else:
        assert all(len(f) <= max_size for f in frames)
        assert b"".join(encode_frame(f, max_size=max_size) if f else b"\0\0\0\0"
                        for f in frames) == data


def test_frame_layout_is_big_endian_length_then_der() -> None:
    assert encode_frame(b"\x30\x03\x02\x01\x05") == b"\x00\x00\x00\x05\x30\x03\x02\x01\x05"


def test_too_large_is_refused_on_the_prefix_before_any_body_octet() -> None:
    decoder = FrameDecoder(max_size=1024)
    with pytest.raises(JukiError) as info:
        decoder.feed((1025).to_bytes(LENGTH_SIZE, "big"))      # no body octet sent
    assert info.value.error_code is ErrorCode.FRAME_TOO_LARGE
    assert decoder.buffered == 0 and decoder.failed
    with pytest.raises(JukiError):                              # the framing stays lost
        decoder.feed(b"\x00")


def test_exactly_the_maximum_is_accepted() -> None:
    decoder = FrameDecoder(max_size=16)
    assert decoder.feed(encode_frame(b"x" * 16, max_size=16)) == [b"x" * 16]
    with pytest.raises(JukiError) as info:
        encode_frame(b"x" * 17, max_size=16)
    assert info.value.error_code is ErrorCode.FRAME_TOO_LARGE


def test_default_maximum_is_one_mebibyte() -> None:
    decoder = FrameDecoder()
    assert decoder.max_size == 1024 * 1024
    with pytest.raises(JukiError) as info:
        decoder.feed((1024 * 1024 + 1).to_bytes(4, "big"))
    assert info.value.error_code is ErrorCode.FRAME_TOO_LARGE


@pytest.mark.parametrize("tail", [b"\x00", b"\x00\x00\x00", b"\x00\x00\x00\x05\x30\x03"])
def test_end_of_input_inside_a_frame_is_truncated(tail: bytes) -> None:
    decoder = FrameDecoder()
    assert decoder.feed(encode_frame(b"\x05\x00") + tail) == [b"\x05\x00"]
    with pytest.raises(JukiError) as info:
        decoder.eof()
    assert info.value.error_code is ErrorCode.FRAME_TRUNCATED
