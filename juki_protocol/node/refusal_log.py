"""The log lines of a node's refusals of peers at the TLS level (R-PDU-44), rate-limited,
and what it warns of about its revocation list (R-PDU-43, :func:`crl_lapse_warning`).

A node logs every refusal of a peer's certificate, in the handshake or right after it
(:mod:`juki_protocol.node.transport`), at WARNING with its reason and the peer's node id
and certificate serial where the certificate is known (OpenSSL does not give back a
certificate it rejected in the handshake: the line then has the peer's address or the
node dialled), never personal data. What is here only shapes and limits those lines: the
refusal itself (the handshake failing, the connection closed) is the transport's.
Also :class:`RepeatFilter`, which lets a flood's log lines (refused handshakes, shed
connections, failed accepts) through once per interval with the count of the rest
(R-NODE-49; in node/admission.py until seed 12).

R-PDU-44's and R-NODE-49's subject is ``operation`` (spec/conformance.md section 4): no
run of the suite observes a node's log, so this module is not mutated
(juki_conformance/mutation_targets.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509

from juki_protocol.envelope import pki
from juki_protocol.envelope.pki import as_utc
from juki_protocol.errors import JukiError

#: The transport's logger: the refusal lines keep the logger name they always had, so that
#: an operator's log configuration and filters still find them.
logger = logging.getLogger("juki_protocol.node.transport")


def crl_lapse_warning(crl: x509.CertificateRevocationList, now: dt.datetime, *,
                      fraction: float = 0.1,
                      minimum: dt.timedelta = dt.timedelta(hours=1)) -> str | None:
    """What to warn of about ``crl`` at ``now``: that it has lapsed (after its
    nextUpdate every peer is refused), that it is not yet current, or that it lapses
    soon (less than ``fraction`` of its validity or less than ``minimum`` remains);
    None while it is comfortably current (R-PDU-42, R-PDU-43)."""
    now = as_utc(now, "now")
    this, nxt = crl.last_update_utc, crl.next_update_utc
    if now < this:
        return f"the revocation list is not current before {this.isoformat()}"
    if nxt is None:
        return None
    if now > nxt:
        return (f"the revocation list lapsed at {nxt.isoformat()}: every peer's "
                f"certificate is refused until a current one is installed")
    left = nxt - now
    if left < max((nxt - this) * fraction, minimum):
        return (f"the revocation list lapses at {nxt.isoformat()} (in "
                f"{int(left.total_seconds())} s): install its successor")
    return None


#: OpenSSL's certificate verification codes (``X509_V_ERR_*``) and the reason a refusal
#: in the handshake is logged with.
OPENSSL_REASONS: dict[int, str] = {
    2: "unknown CA",            # UNABLE_TO_GET_ISSUER_CERT
    3: "no CRL",                # UNABLE_TO_GET_CRL
    7: "bad signature",         # CERT_SIGNATURE_FAILURE
    8: "CRL invalid",           # CRL_SIGNATURE_FAILURE
    9: "not yet valid",         # CERT_NOT_YET_VALID
    10: "expired",              # CERT_HAS_EXPIRED
    11: "CRL not yet valid",    # CRL_NOT_YET_VALID
    12: "CRL lapsed",           # CRL_HAS_EXPIRED
    18: "unknown CA",           # DEPTH_ZERO_SELF_SIGNED_CERT
    19: "unknown CA",           # SELF_SIGNED_CERT_IN_CHAIN
    20: "unknown CA",           # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "unknown CA",           # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    23: "revoked",              # CERT_REVOKED
}
#: OpenSSL's reasons for other handshake failures that refuse the peer.
_TLS_REASONS = {"PEER_DID_NOT_RETURN_A_CERTIFICATE": "no certificate",
                "UNSUPPORTED_PROTOCOL": "TLS version",
                "TLSV1_ALERT_PROTOCOL_VERSION": "TLS version",
                "WRONG_VERSION_NUMBER": "not TLS", "HTTP_REQUEST": "not TLS"}


class RefusalLog:
    """The log of one node's refusals of peers (R-PDU-44), at WARNING: the reason
    ("revoked", "expired", "not yet valid", "unknown CA", "CRL lapsed"...), the peer
    (its node id, or its address while its certificate is unknown) and the
    certificate's serial. Node certificates name nodes, not persons, so nothing here is
    personal data. At most ``limit`` lines per reason in ``period`` seconds, so that a
    peer retrying with a bad certificate cannot flood the log; the lines held back are
    counted and their number given with the next line let through."""

    def __init__(self, local: object = "", *, limit: int = 20, period: float = 60.0
                 ) -> None:
        self.local = local
        self.limit = limit
        self.period = period
        self._window: dict[str, tuple[float, int, int]] = {}  # start, lines, held back

    def _admit(self, key: str) -> int | None:
        """None: hold this line back; else log it with the number held back before."""
        now = time.monotonic()
        start, lines, held = self._window.get(key, (now, 0, 0))
        if now - start >= self.period:
            start, lines = now, 0
        if lines >= self.limit:
            self._window[key] = (start, lines, held + 1)
            return None
        self._window[key] = (start, lines + 1, 0)
        return held

    def refused(self, reason: str, *, peer: str, serial: int | None = None,
                detail: str = "") -> None:
        """Log one refusal."""
        held = self._admit(reason)
        if held is None:
            return
        more = f" ({held} more refusals for this reason were not logged)" if held else ""
        logger.warning('%sTLS refusal: reason "%s", peer %s, certificate serial %s: %s%s',
                       f"{self.local}: " if self.local else "", reason, peer,
                       "unknown" if serial is None else f"{serial:x}", detail or "-",
                       more)

    def tls_refused(self, exc: ssl.SSLError, *, peer: str) -> None:
        """Log a handshake that OpenSSL refused; the reason comes from its verification
        code, or from its error for a refusal that is not about the certificate's
        content (no certificate, a TLS version below 1.3)."""
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = OPENSSL_REASONS.get(exc.verify_code, "refused")
            detail = str(exc.verify_message)
        else:
            reason = _TLS_REASONS.get(str(exc.reason), "TLS error")
            detail = str(exc.reason or exc)
        self.refused(reason, peer=peer, detail=detail)


def claimed_node(cert: x509.Certificate) -> str:
    """The node a refused certificate claims to be (not validated), for the log."""
    try:
        return f"node {pki.node_of_certificate(cert)}"
    except (JukiError, ValueError):
        return "node unknown"


def peer_address(writer: asyncio.StreamWriter) -> str:
    """The address a stream's peer connects from, for the log."""
    peer = writer.get_extra_info("peername")
    return f"address {peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "address unknown"


@dataclass
class RepeatFilter(logging.Filter):
    """A logging filter that lets the same message template through at most once per
    ``interval`` seconds, and appends to the next one let through how many were
    suppressed meanwhile (R-NODE-49)."""

    interval: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _last: dict[tuple[str, int, object], float] = field(default_factory=dict)
    _suppressed: dict[tuple[str, int, object], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.msg)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        hidden = self._suppressed.pop(key, 0)
        if hidden:
            record.msg = f"{record.msg} (and {hidden} more like it in the last " \
                         f"{self.interval:g} s)"
        if len(self._last) > 4096:       # bounded memory under a flood of new templates
            for old in list(self._last)[:2048]:
                self._last.pop(old, None)
                self._suppressed.pop(old, None)
        return True


def quiet_accept_errors(interval: float = 60.0) -> RepeatFilter:
    """Install (once) a :class:`RepeatFilter` on asyncio's logger, which otherwise says
    "socket.accept() out of system resource" for every failed accept at the descriptor
    limit. Returns the filter in use."""
    log = logging.getLogger("asyncio")
    for existing in log.filters:
        if isinstance(existing, RepeatFilter):
            return existing
    repeat = RepeatFilter(interval)
    log.addFilter(repeat)
    return repeat


__all__ = ["OPENSSL_REASONS", "RefusalLog", "RepeatFilter", "claimed_node", "crl_lapse_warning",
           "peer_address", "quiet_accept_errors"]
