"""Mutual TLS 1.3 and framed connections between nodes (spec/pdu.md sections 1 and 2).

Both ends present a certificate of the network CA; the CA is the only trust anchor and,
when a revocation list is given, the peer's certificate is checked against it during
the handshake (R-PDU-10). After the handshake the peer's certificate is validated again
with :func:`juki_protocol.pki.validate_certificate` (the network profile: a P-256 key,
exactly one node name) and the node it names becomes the connection's peer: every PDU
that arrives on the connection must name that node as its sender (R-PDU-11).
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
from juki_protocol.wire import DEFAULT_MAX_FRAME, FrameDecoder, encode_frame

logger = logging.getLogger(__name__)
READ_CHUNK = 64 * 1024


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
    recipient certificate of envelopes sealed to the peer).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 peer: NodeId, peer_cert: x509.Certificate, *,
                 max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.peer_cert = peer_cert
        self.decoder = FrameDecoder(max_size=max_frame)
        self._lock = asyncio.Lock()
        self.closed = False

    @classmethod
    def accept(cls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               trust: pki.TrustStore, now: dt.datetime, *,
               max_frame: int = DEFAULT_MAX_FRAME) -> Connection:
        """Wrap an accepted or opened TLS stream, naming its peer (raises
        SecurityError when the certificate does not fit the network profile)."""
        cert = peer_certificate(writer)
        node = pki.validate_certificate(cert, trust, now, pki.KeyPurpose.SIGNING)
        return cls(reader, writer, node, cert, max_frame=max_frame)

    async def send(self, pdu_der: bytes) -> None:
        """Write one frame (R-PDU-12)."""
        # The peer's maximum is taken to be ours (both default to 1 MiB).
        frame = encode_frame(pdu_der, max_size=self.decoder.max_size)
        async with self._lock:
            if self.closed:
                raise ConnectionError("the connection is closed")
            self.writer.write(frame)
            await self.writer.drain()

    async def read_frames(self) -> list[bytes] | None:
        """The next complete frames; None at the end of the input. Raises the
        decoder's FrameError (FRAME_TOO_LARGE, FRAME_TRUNCATED)."""
        while True:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                self.decoder.eof()
                return None
            frames = self.decoder.feed(data)
            if frames:
                return frames

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


__all__ = ["Connection", "client_context", "peer_certificate", "server_context"]
