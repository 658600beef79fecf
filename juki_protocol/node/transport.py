"""Mutual TLS 1.3 and framed connections between nodes (spec/pdu.md sections 1 and 2).

Both ends present a certificate of the network CA; the CA is the only trust anchor and,
when a revocation list is given, the peer's certificate is checked against it during
the handshake (R-PDU-10). After the handshake the peer's certificate is validated again
with :func:`juki_protocol.envelope.pki.validate_certificate` (the network profile: a P-256 key,
exactly one node name) and the node it names becomes the connection's peer: every PDU
that arrives on the connection must name that node as its sender (R-PDU-11).

Time limits (spec/node.md section 6): a frame that has begun must be complete within
``frame_timeout`` seconds of the read that was waiting for it, so a peer that stalls or
dribbles inside a frame gets :class:`FrameStalled` (1002 FRAME_TRUNCATED, R-NODE-15);
a connection on which nothing arrives between frames for ``idle_timeout`` seconds ends
as if the peer had closed it (R-NODE-16). The TLS handshake's own limit is the
listener's (``ssl_handshake_timeout``, see :class:`juki_protocol.node.node.Node`).

Revocation (spec/pdu.md section 1, R-PDU-40 to R-PDU-44): :class:`TrustSource` holds the
network CA, the revocation list and the TLS contexts built from them. A node needs a
CRL, or an explicit opt-out that is logged at start and every hour; the CRL file is
looked at every few seconds (its size, time and inode, then its SHA-256), and a changed
list that parses, is signed by the network CA and is not older than the one in use
replaces it, TLS contexts and all, while the node runs; anything else keeps the list in
use and logs an error. A list that lapses soon or has lapsed is logged. Every refusal of
a peer's certificate, in the handshake (:func:`accept_tls`, :func:`connect_tls`) or
right after it (:meth:`Connection.accept`), is logged at WARNING with its reason and the
peer's node id and certificate serial where the certificate is known (OpenSSL does not
give back a certificate it rejected in the handshake: the log then has the peer's
address or the node dialled), never personal data, and rate-limited per reason
(:class:`~juki_protocol.node.refusal_log.RefusalLog`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import ssl
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

from juki_protocol.codec.wire import (
    DEFAULT_MAX_FRAME,
    LENGTH_SIZE,
    FrameDecoder,
    FrameError,
    encode_frame,
)
from juki_protocol.envelope import pki, revocation
from juki_protocol.errors import ErrorCode, JukiError, SecurityError
from juki_protocol.messages.common import NodeId
from juki_protocol.node.refusal_log import RefusalLog, claimed_node, crl_lapse_warning, peer_address

logger = logging.getLogger(__name__)
READ_CHUNK = 64 * 1024


class FrameStalled(FrameError):
    """A frame began but did not complete within the frame timeout (1002
    FRAME_TRUNCATED; unlike the end of input inside a frame, the peer is still there to
    be told, R-NODE-15)."""


def _context(purpose: int, cert: Path, key: Path, trust: Path, crl: Path | None,
             passphrase: bytes | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if purpose == ssl.PROTOCOL_TLS_CLIENT:
        # The peer is identified by the node name in its certificate, checked after
        # the handshake, not by a host name.
        ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    # An encrypted key (spec/node.md R-NODE-72) is decrypted with its passphrase.
    ctx.load_cert_chain(str(cert), str(key), password=passphrase)
    # The network CA is the only trust anchor: no system default paths are loaded.
    ctx.load_verify_locations(cafile=str(trust))
    if crl is not None:
        ctx.load_verify_locations(cafile=str(crl))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return ctx


def server_context(cert: Path, key: Path, trust: Path, crl: Path | None = None, *,
                   passphrase: bytes | None = None) -> ssl.SSLContext:
    """The TLS context a node listens with (R-PDU-10); ``passphrase`` decrypts an
    encrypted ``key``."""
    return _context(ssl.PROTOCOL_TLS_SERVER, cert, key, trust, crl, passphrase)


def client_context(cert: Path, key: Path, trust: Path, crl: Path | None = None, *,
                   passphrase: bytes | None = None) -> ssl.SSLContext:
    """The TLS context a node connects with (R-PDU-10); ``passphrase`` decrypts an
    encrypted ``key``."""
    return _context(ssl.PROTOCOL_TLS_CLIENT, cert, key, trust, crl, passphrase)


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
        #: Refusals in a row since the last PDU that was not refused, and when (monotonic
        #: seconds) that PDU arrived or the connection began (R-NODE-47, R-NODE-48).
        self.refused_in_a_row = 0
        self.useful_at = time.monotonic()

    @property
    def peer_key(self) -> str:
        """The peer node as a key of the node's slot bookkeeping."""
        return str(self.peer)

    def refused(self) -> None:
        """One more PDU or frame of the peer was refused."""
        self.refused_in_a_row += 1

    def useful(self) -> None:
        """A PDU of the peer was taken (processed, or an answer recorded)."""
        self.refused_in_a_row = 0
        self.useful_at = time.monotonic()

    @classmethod
    def accept(cls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               trust: pki.TrustStore, now: dt.datetime, *,
               max_frame: int = DEFAULT_MAX_FRAME, frame_timeout: float | None = None,
               idle_timeout: float | None = None,
               refusals: RefusalLog | None = None) -> Connection:
        """Wrap an accepted or opened TLS stream, naming its peer (raises
        SecurityError when the certificate does not fit the network profile, after
        logging the refusal in ``refusals``, R-PDU-44)."""
        cert = peer_certificate(writer)
        try:
            node = pki.validate_certificate(cert, trust, now, pki.KeyPurpose.SIGNING)
        except SecurityError as exc:
            (refusals or _REFUSALS).refused(revocation.refusal_reason(exc), peer=claimed_node(cert),
                                            serial=cert.serial_number, detail=str(exc))
            raise
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


# Refusals (R-PDU-44) -------------------------------------------------------------------

#: The refusal log of connections accepted without a node's own (tools, tests).
_REFUSALS = RefusalLog()


async def accept_tls(writer: asyncio.StreamWriter, ctx: ssl.SSLContext, timeout: float,
                     refusals: RefusalLog) -> bool:
    """The server side of the TLS handshake on an accepted TCP stream (R-PDU-10), with
    the context in use now (a reloaded CRL counts from the next handshake, R-PDU-41).
    True when it completed; otherwise the stream is closed, a refusal logged
    (R-PDU-44), and False. Await it before anything reads from the stream."""
    address = peer_address(writer)
    try:
        await writer.start_tls(ctx, ssl_handshake_timeout=timeout)
        return True
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
        logger.info("%s: the TLS handshake with %s ended early: %s", refusals.local,
                    address, exc)
    except ssl.SSLError as exc:
        refusals.tls_refused(exc, peer=address)
    except (OSError, TimeoutError, EOFError) as exc:
        logger.info("%s: the TLS handshake with %s did not complete: %s", refusals.local,
                    address, exc or type(exc).__name__)
    writer.close()
    return False


async def connect_tls(host: str, port: int, ctx: ssl.SSLContext, refusals: RefusalLog, *,
                      peer: str, timeout: float = 10.0
                      ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TLS connection to ``host:port`` (the node ``peer``), logging a refusal of
    the server's certificate (R-PDU-44) before the error is raised."""
    try:
        return await asyncio.wait_for(asyncio.open_connection(host, port, ssl=ctx),
                                      timeout)
    except ssl.SSLCertVerificationError as exc:
        refusals.tls_refused(exc, peer=peer)
        raise


# Revocation data in service (R-PDU-40 to R-PDU-43) --------------------------------------

#: The log line of a node without revocation data (R-PDU-40).
NO_CRL_WARNING = ("running WITHOUT revocation data (--no-crl): revoked certificates are "
                  "accepted; not for production")


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size, st.st_ino


class TrustSource:
    """The network CA, the revocation list in use and the TLS contexts built from them.

    ``store`` (validation after the handshake and of envelopes), ``server`` and
    ``client`` (the handshake) always come from the same list; :meth:`poll` replaces all
    three when the CRL file holds a new usable list (R-PDU-41). Without ``crl`` the
    operator must opt out with ``no_crl``: it is logged now and every
    :attr:`WARN_EVERY` seconds by :meth:`warn` (R-PDU-40). ``local`` names the node in
    the log; ``passphrase`` decrypts an encrypted ``key`` (R-NODE-72).
    """

    #: Seconds between repeats of the same warning (no CRL, lapses soon, lapsed).
    WARN_EVERY = 3600.0

    def __init__(self, cert: Path, key: Path, trust: Path, crl: Path | None, *,
                 no_crl: bool = False, local: object = "",
                 passphrase: bytes | None = None) -> None:
        if crl is None and not no_crl:
            raise SecurityError("no revocation list: give the network CA's CRL (--crl "
                                "FILE), or opt out explicitly with --no-crl (logged; not "
                                "for production)", code=ErrorCode.CRL_INVALID)
        if crl is not None and no_crl:
            raise SecurityError("give a revocation list (--crl) or --no-crl, not both",
                                code=ErrorCode.CRL_INVALID)
        self.cert, self.key, self.trust_path, self.crl_path = cert, key, trust, crl
        self._passphrase = passphrase
        self.local = local
        #: The node's log of refused peers (R-PDU-44).
        self.refusals = RefusalLog(local)
        self.cas = pki.load_certificates(trust.read_bytes())
        self.crl: x509.CertificateRevocationList | None = None
        self._digest = b""
        self._stamp: tuple[int, int, int] | None = None
        self._said: dict[str, float] = {}
        if crl is None:
            self._install(None, b"")
            self._say("no-crl", logging.WARNING, NO_CRL_WARNING)
        else:
            self._stamp = _stamp(crl)
            data = crl.read_bytes()
            self._install(self._usable(data), data)

    def _usable(self, data: bytes) -> x509.CertificateRevocationList:
        """The list in ``data`` if a node may use it: PEM, signed by the network CA,
        not older than the one in use. Raises CRL_INVALID."""
        crl = pki.load_crl(data)
        revocation.crl_signer(crl, self.cas)
        if self.crl is not None:
            revocation.check_crl_replaces(crl, self.crl)
        return crl

    def _install(self, crl: x509.CertificateRevocationList | None, data: bytes) -> None:
        """Build the trust store and both TLS contexts from ``crl``, then use them,
        all or nothing (OpenSSL reads a CRL from a file: a private copy of the checked
        octets, so that a file changed meanwhile is not what gets loaded)."""
        store = pki.TrustStore(anchors=self.cas, crls=(crl,) if crl is not None else (),
                               require_crl=crl is not None)
        if crl is None:
            server = server_context(self.cert, self.key, self.trust_path,
                                    passphrase=self._passphrase)
            client = client_context(self.cert, self.key, self.trust_path,
                                    passphrase=self._passphrase)
        else:
            with tempfile.TemporaryDirectory(prefix="juki-crl-") as tmp:
                copy = Path(tmp) / "crl.pem"
                copy.write_bytes(pki.crl_pem(crl))
                server = server_context(self.cert, self.key, self.trust_path, copy,
                                        passphrase=self._passphrase)
                client = client_context(self.cert, self.key, self.trust_path, copy,
                                        passphrase=self._passphrase)
        self.store, self.server, self.client, self.crl = store, server, client, crl
        self._digest = hashlib.sha256(data).digest()

    def poll(self) -> bool:
        """Look at the CRL file; True when a new list is now in use. The content is
        read only when the file's size, modification time or inode changed; a list
        that cannot be read, does not parse, is not signed by the network CA or is
        older than the one in use is logged as an error and the one in use stays."""
        if self.crl_path is None:
            return False
        try:
            stamp = _stamp(self.crl_path)
            if stamp == self._stamp:
                return False
            data = self.crl_path.read_bytes()
        except OSError as exc:       # said again at most hourly while it lasts
            self._say("unreadable", logging.ERROR, f"the revocation list {self.crl_path} "
                      f"was not loaded, the one in use stays: {exc}")
            return False
        self._said.pop("unreadable", None)
        self._stamp = stamp
        if hashlib.sha256(data).digest() == self._digest:
            return False
        try:
            self._install(self._usable(data), data)
        except (OSError, JukiError, ssl.SSLError, ValueError) as exc:
            # Said once for each version of the file (its stamp is now known).
            logger.error("%s: the revocation list %s was not loaded, the one in use "
                         "stays: %s", self.local, self.crl_path, exc)
            return False
        crl = self.crl
        assert crl is not None
        logger.info("%s: reloaded the revocation list %s (%d revoked, next update %s)",
                    self.local, self.crl_path, len(list(crl)),
                    crl.next_update_utc.isoformat() if crl.next_update_utc else "none")
        return True

    def warn(self, now: dt.datetime) -> None:
        """Log what the operator must act on: no revocation data (WARNING), a list
        that lapses soon (WARNING) or has lapsed (ERROR); the same warning at most
        once per :attr:`WARN_EVERY` seconds (R-PDU-40, R-PDU-42, R-PDU-43)."""
        if self.crl is None:
            self._say("no-crl", logging.WARNING, NO_CRL_WARNING)
            return
        message = crl_lapse_warning(self.crl, now)
        if message is None:
            self._said.pop("lapsing", None)
            self._said.pop("lapsed", None)
            return
        nxt = self.crl.next_update_utc
        lapsed = nxt is not None and now > nxt
        self._say("lapsed" if lapsed else "lapsing",
                  logging.ERROR if lapsed else logging.WARNING, message)

    def _say(self, key: str, level: int, message: str) -> None:
        now = time.monotonic()
        last = self._said.get(key)
        if last is not None and now - last < self.WARN_EVERY:
            return
        self._said[key] = now
        logger.log(level, "%s%s", f"{self.local}: " if self.local else "", message)

    async def watch(self, now: Callable[[], dt.datetime], interval: float,
                    on_change: Callable[[], None]) -> None:
        """Forever: :meth:`warn`, wait ``interval`` seconds, :meth:`poll` (and call
        ``on_change`` when a new list is in use)."""
        while True:
            self.warn(now())
            await asyncio.sleep(interval)
            if self.poll():
                on_change()


__all__ = ["Connection", "FrameStalled", "TrustSource",
           "accept_tls", "client_context", "connect_tls", "peer_certificate",
           "server_context"]
