"""Frames on the wire: a 4-octet big-endian length, then the DER of one ``JukiPdu``.

Theory of operation
-------------------
This module is *sans-I/O* (STYLE.md item 1): :func:`encode_frame` turns the DER of one
PDU into the octets of one frame (R-PDU-12), and :class:`FrameDecoder` takes octets as
they arrive, in chunks of any size, and returns the complete frames. The node layer
(:mod:`juki_protocol.node`) owns the socket and only moves octets in and out.

* The length prefix counts the PDU's octets, not itself (spec/pdu.md section 2).
* The decoder compares the length prefix with its maximum frame size as soon as the
  four octets of the prefix are in, before it holds a single octet of the body, and
  raises 1001 FRAME_TOO_LARGE (R-PDU-13). The decoder is then *failed*: a connection
  whose framing is lost cannot be resynchronised, so every later call raises again and
  the node closes the connection.
* :meth:`FrameDecoder.eof` reports the end of input; ending inside a frame (prefix or
  body) raises 1002 FRAME_TRUNCATED, which the node logs locally (there is no peer left
  to tell). Nothing of a truncated frame is returned.
"""

from __future__ import annotations

from juki_protocol.errors import ErrorCode, JukiError

#: The length prefix: 4 octets, unsigned, big-endian (R-PDU-12).
LENGTH_SIZE = 4
#: The default maximum frame size, 1 MiB, counting the PDU's octets (R-PDU-13).
DEFAULT_MAX_FRAME = 1024 * 1024
#: The largest maximum a node may declare: a 16 MiB sealed body plus its header.
LIMIT_MAX_FRAME = 16 * 1024 * 1024 + 64 * 1024


class FrameError(JukiError):
    """The framing of a connection is broken (1001 FRAME_TOO_LARGE, 1002
    FRAME_TRUNCATED)."""

    error_code = ErrorCode.FRAME_TRUNCATED


def _check_max(max_size: int) -> int:
    if isinstance(max_size, bool) or not isinstance(max_size, int) \
            or not 1 <= max_size <= LIMIT_MAX_FRAME:
        raise ValueError(f"max_size must be 1 to {LIMIT_MAX_FRAME} octets")
    return max_size


def encode_frame(pdu_der: bytes, *, max_size: int = DEFAULT_MAX_FRAME) -> bytes:
    """The frame of ``pdu_der`` (R-PDU-12). A sender never sends a frame larger than
    its peer's maximum, so a PDU over ``max_size`` raises 1001 FRAME_TOO_LARGE."""
    _check_max(max_size)
    if not isinstance(pdu_der, (bytes, bytearray, memoryview)):
        raise TypeError("pdu_der must be bytes")
    body = bytes(pdu_der)
    if not body:
        raise FrameError("a frame carries one PDU; the DER is empty",
                         code=ErrorCode.DER_MALFORMED)
    if len(body) > max_size:
        raise FrameError(f"the PDU has {len(body)} octets, more than the maximum frame "
                         f"size {max_size}", code=ErrorCode.FRAME_TOO_LARGE)
    return len(body).to_bytes(LENGTH_SIZE, "big") + body


class FrameDecoder:
    """Reassembles frames from octets received in chunks of any size.

    >>> d = FrameDecoder()
    >>> d.feed(encode_frame(b"\\x30\\x00")[:3]) + d.feed(b"\\x02\\x30\\x00")
    [b'0\\x00']
    """

    def __init__(self, *, max_size: int = DEFAULT_MAX_FRAME) -> None:
        self.max_size = _check_max(max_size)
        self._buffer = bytearray()
        self._need: int | None = None        # the current frame's body length, once read
        self._failed: FrameError | None = None

    @property
    def buffered(self) -> int:
        """How many octets of an incomplete frame are held."""
        return len(self._buffer)

    @property
    def failed(self) -> bool:
        """True once the framing is lost (FRAME_TOO_LARGE)."""
        return self._failed is not None

    def feed(self, data: bytes) -> list[bytes]:
        """Take ``data`` and return the frames it completes, in order (their DER).

        Raises 1001 FRAME_TOO_LARGE as soon as a length prefix exceeds the maximum,
        without buffering any of that frame's body (R-PDU-13).
        """
        if self._failed is not None:
            raise self._failed
        frames: list[bytes] = []
        view = memoryview(bytes(data))
        while True:
            if self._need is None:
                take = min(LENGTH_SIZE - len(self._buffer), len(view))
                self._buffer += view[:take]
                view = view[take:]
                if len(self._buffer) < LENGTH_SIZE:
                    return frames
                length = int.from_bytes(self._buffer, "big")
                self._buffer.clear()
                if length > self.max_size:
                    self._failed = FrameError(
                        f"length prefix {length} exceeds the maximum frame size "
                        f"{self.max_size}", code=ErrorCode.FRAME_TOO_LARGE, offset=0)
                    raise self._failed
                self._need = length
            take = min(self._need - len(self._buffer), len(view))
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) < self._need:
                return frames
            frames.append(bytes(self._buffer))
            self._buffer.clear()
            self._need = None

    def eof(self) -> None:
        """The input ended; raise 1002 FRAME_TRUNCATED if it ended inside a frame."""
        if self._failed is not None:
            raise self._failed
        if self._need is not None or self._buffer:
            held, need = len(self._buffer), self._need
            self._buffer.clear()
            self._need = None
            where = (f"after {held} of {need} body octets" if need is not None
                     else f"after {held} of {LENGTH_SIZE} length octets")
            raise FrameError(f"the input ended inside a frame, {where}",
                             code=ErrorCode.FRAME_TRUNCATED)


__all__ = ["DEFAULT_MAX_FRAME", "LENGTH_SIZE", "LIMIT_MAX_FRAME", "FrameDecoder",
           "FrameError", "encode_frame"]
