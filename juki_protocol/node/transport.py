"""Mutual TLS 1.3 and framed connections between nodes (spec/pdu.md sections 1 and 2).

Both ends present a certificate of the network CA; the CA is the only trust anchor and,
when a revocation list is given, the peer's certificate is checked against it during
the handshake (R-PDU-10). After the handshake the peer's certificate is validated again
with :func:`juki_protocol.pki.validate_certificate` (the network profile: a P-256 key,
exactly one node name) and the node it names becomes the connection's peer: every PDU
that arrives on the connection must name that node as its sender (R-PDU-11).

Time limits (spec/node.md section 6): a frame that has begun must be complete within
``frame_timeout`` seconds of the read that was waiting for it, so a peer that stalls or
dribbles inside a frame gets :class:`FrameStalled` (1002 FRAME_TRUNCATED, R-NODE-15);
a connection on which nothing arrives between frames for ``idle_timeout`` seconds ends
as if the peer had closed it (R-NODE-16). The TLS handshake's own limit is the
listener's (``ssl_handshake_timeout``, see :class:`juki_protocol.node.node.Node`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
from pathlib import Path

from cryptography import x509

from juki_protocol import pki
from juki_protocol.errors import ErrorCode, SecurityError
from juki_protocol.messages.common import NodeId
from juki_protocol.wire import (
    DEFAULT_MAX_FRAME,
    LENGTH_SIZE,
    FrameDecoder,
    FrameError,
    encode_frame,
)

logger = logging.getLogger(__name__)
READ_CHUNK = 64 * 1024


class FrameStalled(FrameError):
    """A frame began but did not complete within the frame timeout (1002
    FRAME_TRUNCATED; unlike the end of input inside a frame, the peer is still there to
    be told, R-NODE-15)."""


def _context(purpose: int, cert: Path, key: Path, trust: Path, crl: Path | None
             ) -> ssl.SSLContext:
    ctx = ssl.SSLContext(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if purpose == ssl.PROTOCOL_TLS_CLIENT:
        # The peer is identified by the node name in its certificate, checked after
        # the handshake, not by a host name.
        ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(str(cert), str(key))
    # The network CA is the only trust anchor: no system default paths are loaded.
    ctx.load_verify_locations(cafile=str(trust))
    if crl is not None:
        ctx.load_verify_locations(cafile=str(crl))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return ctx


def server_context(cert: Path, key: Path, trust: Path, crl: Path | None = None
                   ) -> ssl.SSLContext:
    """The TLS context a node listens with (R-PDU-10)."""
    return _context(ssl.PROTOCOL_TLS_SERVER, cert, key, trust, crl)


def client_context(cert: Path, key: Path, trust: Path, crl: Path | None = None
                   ) -> ssl.SSLContext:
    """The TLS context a node connects with (R-PDU-10)."""
    return _context(ssl.PROTOCOL_TLS_CLIENT, cert, key, trust, crl)


def peer_certificate(writer: asyncio.StreamWriter) -> x509.Certificate:
    """The certificate the TLS peer presented."""
    sslobj = writer.get_extra_info("ssl_object")
    der = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
    if not der:
        raise SecurityError("the peer presented no certificate",
                            code=ErrorCode.CERT_UNTRUSTED)
    return x509.load_der_x509_certificate(der)


class Connection:
    """One TLS connection to a peer node: framed PDUs in and out.

    peer: the node named by the peer's certificate; peer_cert: that certificate (the
    recipient certificate of envelopes sealed to the peer). frame_timeout: seconds a
    begun frame may take to complete (None: no limit); idle_timeout: seconds of silence
    between frames after which the connection ends (None: never).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 peer: NodeId, peer_cert: x509.Certificate, *,
                 max_frame: int = DEFAULT_MAX_FRAME, frame_timeout: float | None = None,
                 idle_timeout: float | None = None) -> None:
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.peer_cert = peer_cert
        self.decoder = FrameDecoder(max_size=max_frame)
        self.frame_timeout = frame_timeout
        self.idle_timeout = idle_timeout
        self._lock = asyncio.Lock()
        self.closed = False
        # Octets fed to the decoder and octets of the frames it returned: they differ
        # exactly while a frame is incomplete.
        self._fed = 0
        self._framed = 0
        self._frame_deadline: float | None = None

    @classmethod
    def accept(cls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               trust: pki.TrustStore, now: dt.datetime, *,
               max_frame: int = DEFAULT_MAX_FRAME, frame_timeout: float | None = None,
               idle_timeout: float | None = None) -> Connection:
        """Wrap an accepted or opened TLS stream, naming its peer (raises
        SecurityError when the certificate does not fit the network profile)."""
        cert = peer_certificate(writer)
        node = pki.validate_certificate(cert, trust, now, pki.KeyPurpose.SIGNING)
        return cls(reader, writer, node, cert, max_frame=max_frame,
                   frame_timeout=frame_timeout, idle_timeout=idle_timeout)

    @property
    def in_frame(self) -> bool:
        """True while part of a frame has arrived and the rest has not."""
        return self._fed > self._framed

    async def send(self, pdu_der: bytes) -> None:
        """Write one frame (R-PDU-12). A peer that does not take it within
        ``frame_timeout`` seconds (it stopped reading) loses the connection: it is
        aborted and ConnectionError raised (R-NODE-15)."""
        # The peer's maximum is taken to be ours (both default to 1 MiB).
        frame = encode_frame(pdu_der, max_size=self.decoder.max_size)
        async with self._lock:
            if self.closed:
                raise ConnectionError("the connection is closed")
            self.writer.write(frame)
            if self.frame_timeout is None:
                await self.writer.drain()
                return
            try:
                async with asyncio.timeout(self.frame_timeout):
                    await self.writer.drain()
            except TimeoutError:
                self.closed = True
                self.writer.transport.abort()
                raise ConnectionError(f"{self.peer} did not take a frame within "
                                      f"{self.frame_timeout:g} s") from None

    async def read_frames(self) -> list[bytes] | None:
        """The next complete frames; None at the end of the input or after
        ``idle_timeout`` seconds of silence between frames. Raises the decoder's
        FrameError (FRAME_TOO_LARGE, FRAME_TRUNCATED) and FrameStalled when a begun
        frame does not complete within ``frame_timeout`` seconds."""
        while True:
            data = await self._read()
            if data is None:
                return None
            if not data:
                self.decoder.eof()
                return None
            frames = self.decoder.feed(data)
            self._fed += len(data)
            self._framed += sum(LENGTH_SIZE + len(f) for f in frames)
            if frames or not self.in_frame:
                # A frame that begins in this chunk gets its own time, counted from
                # the next read (the time the node spends on these frames is not the
                # peer's).
                self._frame_deadline = None
            if frames:
                return frames

    async def _read(self) -> bytes | None:
        """One chunk (b"" at the end of input); None when the connection was idle for
        ``idle_timeout`` seconds."""
        loop = asyncio.get_running_loop()
        if self.in_frame and self.frame_timeout is not None:
            if self._frame_deadline is None:
                self._frame_deadline = loop.time() + self.frame_timeout
            try:
                async with asyncio.timeout_at(self._frame_deadline):
                    return await self.reader.read(READ_CHUNK)
            except TimeoutError:
                raise FrameStalled(
                    f"a frame begun by {self.peer} did not complete within "
                    f"{self.frame_timeout:g} s ({self._fed - self._framed} octets of it "
                    f"arrived)", code=ErrorCode.FRAME_TRUNCATED) from None
        if self.in_frame or self.idle_timeout is None:
            return await self.reader.read(READ_CHUNK)
        try:
            async with asyncio.timeout(self.idle_timeout):
                return await self.reader.read(READ_CHUNK)
        except TimeoutError:
            logger.info("closing the connection with %s: idle for %g s", self.peer,
                        self.idle_timeout)
            return None

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (OSError, TimeoutError, ssl.SSLError):
            pass


__all__ = ["Connection", "FrameStalled", "client_context", "peer_certificate",
           "server_context"]
