"""Network PKI as a node uses it: node certificates, revocation, and validation. The
network CA's side (making CAs, issuing certificates, signing CRLs) is
:mod:`juki_protocol.envelope.ca`: no node runs it.

Theory of operation
-------------------
An offline **root CA** (self-signed) issues node certificates directly, or through an
**issuing intermediate CA** (``pathLenConstraint`` 0). Every key is ECDSA P-256 and every
signature ECDSA with SHA-256. Nodes are configured with a :class:`TrustStore`: the root
as trust anchor, any intermediates, and the CAs' revocation lists (CRLs, RFC 5280
section 5).

How a certificate names its node (DESIGN.md section 5, "the subject carries the node id
and role"):

* the **subjectAltName** holds exactly one URI ``urn:juki:node:<role>:<id>``, for example
  ``urn:juki:node:municipality:271004`` (RFC 5280 section 4.2.1.6). This is the
  authoritative name: a verifier reads the role and id from it and nowhere else;
* the subject is ``O=Juki Network, CN=<role>:<id>`` for people and for tools that show
  only the subject (``openssl x509 -subject``). A verifier requires the CN to agree with
  the URI, so the two can never name different nodes.

``<role>`` is one of ``municipality``, ``prefecture``, ``national``, ``agency`` and
``<id>`` follows :func:`juki_protocol.identifiers.validate_node_id` for that role (a
municipality's or a prefecture's own local government code, ``DCnn``, ``AGnnnn``). We
chose a standard URI over a private extension so that every X.509 library can read the
name and ``openssl verify`` needs no configuration; no private critical extension is used.

Node certificates carry ``keyUsage = digitalSignature, keyAgreement`` (critical): one key
signs the node's envelopes and is the static key of ECDH key agreement for envelopes sent
to it (RFC 5753 section 3). They carry no extendedKeyUsage, so ``openssl cms -verify``
accepts them under its default S/MIME purpose.

Validation (:func:`validate_certificate`) builds a path from the certificate to a trust
anchor, then checks, in this order and each with its own code: the path (CERT_UNTRUSTED),
every certificate's validity period at ``now`` (CERT_NOT_YET_VALID, CERT_EXPIRED), the
revocation lists (CRL_INVALID, CERT_REVOKED), the key usage for the purpose
(CERT_KEY_USAGE), and the node name and key type (CERT_INVALID). :func:`validate_sender`
adds the checks that tie a certificate to a PDU header: the node named by the certificate
is the header's sender (CERT_SENDER_MISMATCH) and its role may send the message type to
the recipient's role (:data:`ROUTES`, CERT_ROLE_NOT_ALLOWED).

Key rotation: a node holds several :class:`Credential` objects during a changeover; the
envelope opener tries each one whose certificate the RecipientIdentifier names.

Everything here is sans-I/O: times are explicit arguments; nothing reads a clock or a file.

Keys and PEM (:mod:`juki_protocol.envelope.keys`) and the routing table (:data:`ROUTES` and its
checks, :mod:`juki_protocol.envelope.routes`) are re-exported here; revocation lists in service
are :mod:`juki_protocol.envelope.revocation`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

from juki_protocol.envelope.keys import cert_pem as cert_pem
from juki_protocol.envelope.keys import crl_pem as crl_pem
from juki_protocol.envelope.keys import generate_key as generate_key
from juki_protocol.envelope.keys import key_pem as key_pem
from juki_protocol.envelope.keys import load_certificate as load_certificate
from juki_protocol.envelope.keys import load_certificates as load_certificates
from juki_protocol.envelope.keys import load_crl as load_crl
from juki_protocol.envelope.keys import load_private_key as load_private_key
from juki_protocol.envelope.keys import load_received_certificate as load_received_certificate
from juki_protocol.envelope.keys import require_p256 as require_p256
from juki_protocol.envelope.keys import write_private_file as write_private_file
from juki_protocol.envelope.routes import ROUTES as ROUTES
from juki_protocol.envelope.routes import Route as Route
from juki_protocol.envelope.routes import check_route as check_route
from juki_protocol.envelope.routes import check_sender as check_sender
from juki_protocol.errors import ErrorCode, JukiError, SecurityError
from juki_protocol.messages.common import NodeId, NodeRole
from juki_protocol.messages.pdu import PduHeader

NODE_URN_PREFIX = "urn:juki:node:"
#: The longest path accepted: node, at most 3 intermediates, root.
MAX_PATH_LENGTH = 5

_KNOWN_CRITICAL = frozenset({
    ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.EXTENDED_KEY_USAGE,
})


class KeyPurpose(StrEnum):
    """What a certificate's key is used for; the value names the keyUsage bit."""

    SIGNING = "digitalSignature"
    KEY_AGREEMENT = "keyAgreement"


# Credentials and node names -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Credential:
    """One of a node's key/certificate pairs (a node may hold two while rotating)."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def __post_init__(self) -> None:
        require_p256(self.key, "the credential's key")
        if self.key.public_key() != self.certificate.public_key():
            raise SecurityError("the private key does not belong to the certificate",
                                code=ErrorCode.CERT_INVALID)


def as_utc(value: dt.datetime, name: str = "now") -> dt.datetime:
    """``value`` in UTC; raises TypeError for a naive datetime (times are explicit and
    unambiguous everywhere in the protocol)."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise TypeError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(dt.UTC)


def node_id(role: NodeRole | str, code: str) -> NodeId:
    """A validated :class:`NodeId` (raises ValueError for an unknown role and
    ValidationError INVALID_NODE_ID for an id that does not fit the role)."""
    # The cast only gives mypy the constructor's signature, which the `message`
    # decorator of juki_protocol.messages.base hides from it.
    make = cast("Callable[..., NodeId]", NodeId)
    return make(role=NodeRole(role), code=code)


# Reading the node name -----------------------------------------------------------------

def node_of_certificate(cert: x509.Certificate) -> NodeId:
    """The node a certificate names (its subjectAltName URI, checked against its CN).

    Raises CERT_INVALID unless there is exactly one ``urn:juki:node:`` URI naming a
    valid role and id, and the subject has exactly one CN equal to ``<role>:<id>``.
    """
    def bad(text: str) -> SecurityError:
        return SecurityError(f"certificate serial {cert.serial_number:x}: {text}",
                             code=ErrorCode.CERT_INVALID)

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise bad("no subjectAltName naming the node") from None
    except ValueError as exc:  # a malformed extension
        raise bad(f"unreadable extensions: {exc}") from None
    urns = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)
            if u.startswith(NODE_URN_PREFIX)]
    if len(urns) != 1:
        raise bad(f"{len(urns)} {NODE_URN_PREFIX} URIs in subjectAltName, need exactly 1")
    role_text, _, code = urns[0][len(NODE_URN_PREFIX):].partition(":")
    try:
        node = node_id(role_text, code)
    except (ValueError, JukiError):
        raise bad(f"subjectAltName URI {urns[0]!r} does not name a valid role and id") \
            from None
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1 or cns[0].value != str(node):
        raise bad(f"subject CN must be exactly {str(node)!r}")
    return node


# Trust and validation ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TrustStore:
    """What a node trusts: anchors (the network root), intermediates, and CRLs.

    require_crl: when true, every CA on a path must have a CRL here (fail closed);
    when false, a CA without a CRL here is not checked for revocation.
    """

    anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    require_crl: bool = False

    @classmethod
    def from_pem(cls, anchors: bytes, *, intermediates: bytes | None = None,
                 crls: Sequence[bytes] = (), require_crl: bool = False) -> TrustStore:
        """Build a trust store from PEM texts."""
        return cls(anchors=load_certificates(anchors),
                   intermediates=load_certificates(intermediates) if intermediates else (),
                   crls=tuple(load_crl(c) for c in crls), require_crl=require_crl)


def _is_ca(cert: x509.Certificate) -> tuple[bool, int | None]:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return False, None
    return bc.ca and ku.key_cert_sign, bc.path_length


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if child.issuer != issuer.subject or not _is_ca(issuer)[0]:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def build_path(cert: x509.Certificate, trust: TrustStore,
               extra: Sequence[x509.Certificate] = ()) -> tuple[x509.Certificate, ...]:
    """The path from ``cert`` up to a trust anchor (RFC 5280 section 6.1, simplified to
    our flat hierarchy); ``extra`` are untrusted candidates (e.g. from a SignedData).
    Raises CERT_UNTRUSTED if no path exists or a pathLenConstraint is broken."""
    path = [cert]
    pool = [c for c in (*trust.intermediates, *extra) if c != cert]
    while len(path) < MAX_PATH_LENGTH:
        current = path[-1]
        anchor = next((a for a in trust.anchors if _issued_by(current, a)), None)
        nxt = anchor or next((c for c in pool if c not in path and _issued_by(current, c)),
                             None)
        if nxt is None:
            break
        path.append(nxt)
        # RFC 5280 section 4.2.1.9: pathLenConstraint counts the intermediates below.
        below = len(path) - 2
        limit = _is_ca(nxt)[1]
        if limit is not None and below > limit:
            raise SecurityError(f"path length constraint {limit} of "
                                f"{nxt.subject.rfc4514_string()} is exceeded",
                                code=ErrorCode.CERT_UNTRUSTED)
        if anchor is not None:
            return tuple(path)
    raise SecurityError(f"certificate serial {cert.serial_number:x} issued by "
                        f"{cert.issuer.rfc4514_string()} does not chain to a trust anchor",
                        code=ErrorCode.CERT_UNTRUSTED)


def check_validity_period(cert: x509.Certificate, now: dt.datetime) -> None:
    """Raise CERT_NOT_YET_VALID or CERT_EXPIRED unless ``now`` is in the validity
    period of ``cert``."""
    # RFC 5280 section 4.1.2.5: valid from notBefore to notAfter, both inclusive.
    if now < cert.not_valid_before_utc:
        raise SecurityError(f"certificate serial {cert.serial_number:x} is not valid before "
                            f"{cert.not_valid_before_utc.isoformat()}",
                            code=ErrorCode.CERT_NOT_YET_VALID)
    if now > cert.not_valid_after_utc:
        raise SecurityError(f"certificate serial {cert.serial_number:x} expired at "
                            f"{cert.not_valid_after_utc.isoformat()}",
                            code=ErrorCode.CERT_EXPIRED)


class CrlLapsed(SecurityError):
    """A revocation list consulted is past its nextUpdate at the time of the check:
    CRL_INVALID, and a refusal for the reason "CRL lapsed" (spec/pdu.md R-PDU-42)."""


def _check_revocation(cert: x509.Certificate, issuer: x509.Certificate,
                      trust: TrustStore, now: dt.datetime) -> None:
    crls = [c for c in trust.crls if c.issuer == issuer.subject]
    if not crls and trust.require_crl:
        raise SecurityError(f"no revocation list for {issuer.subject.rfc4514_string()}",
                            code=ErrorCode.CRL_INVALID)
    issuer_key = issuer.public_key()
    for crl in crls:
        # RFC 5280 section 6.3.3: the CRL must be signed by the issuer and current.
        try:
            signed = isinstance(issuer_key, ec.EllipticCurvePublicKey) \
                and crl.is_signature_valid(issuer_key)
        except (TypeError, ValueError, UnsupportedAlgorithm):
            signed = False
        if not signed:
            raise SecurityError(f"the revocation list of {issuer.subject.rfc4514_string()} "
                                f"is not signed by that CA", code=ErrorCode.CRL_INVALID)
        if now < crl.last_update_utc:
            raise SecurityError(f"the revocation list of {issuer.subject.rfc4514_string()} "
                                f"is not current at {now.isoformat()}",
                                code=ErrorCode.CRL_INVALID)
        if crl.next_update_utc is not None and now > crl.next_update_utc:
            raise CrlLapsed(f"the revocation list of {issuer.subject.rfc4514_string()} "
                            f"lapsed at {crl.next_update_utc.isoformat()}",
                            code=ErrorCode.CRL_INVALID)
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise SecurityError(f"certificate serial {cert.serial_number:x} is revoked",
                                code=ErrorCode.CERT_REVOKED)


def check_key_usage(cert: x509.Certificate, purpose: KeyPurpose) -> None:
    """Raise CERT_KEY_USAGE unless the keyUsage extension allows ``purpose``
    (RFC 5280 section 4.2.1.3; RFC 5753 section 3 for keyAgreement)."""
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        raise SecurityError(f"certificate serial {cert.serial_number:x} has no keyUsage",
                            code=ErrorCode.CERT_KEY_USAGE) from None
    allowed = ku.digital_signature if purpose is KeyPurpose.SIGNING else ku.key_agreement
    if not allowed:
        raise SecurityError(f"certificate serial {cert.serial_number:x} keyUsage does not "
                            f"include {purpose.value}", code=ErrorCode.CERT_KEY_USAGE)


def check_node_profile(cert: x509.Certificate) -> NodeId:
    """Check the node-certificate profile (P-256 key, not a CA, no unknown critical
    extension) and return the node it names. Raises CERT_INVALID."""
    try:
        key = cert.public_key()
        extensions = list(cert.extensions)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SecurityError(f"certificate serial {cert.serial_number:x} is unreadable: "
                            f"{exc}", code=ErrorCode.CERT_INVALID) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve,
                                                                        ec.SECP256R1):
        raise SecurityError(f"certificate serial {cert.serial_number:x} key is not P-256",
                            code=ErrorCode.CERT_INVALID)
    for ext in extensions:
        # RFC 5280 section 4.2: an unrecognised critical extension must be rejected.
        if ext.critical and ext.oid not in _KNOWN_CRITICAL:
            raise SecurityError(f"certificate serial {cert.serial_number:x} has an unknown "
                                f"critical extension {ext.oid.dotted_string}",
                                code=ErrorCode.CERT_INVALID)
    if _is_ca(cert)[0]:
        raise SecurityError(f"certificate serial {cert.serial_number:x} is a CA, not a node",
                            code=ErrorCode.CERT_INVALID)
    return node_of_certificate(cert)


def validate_certificate(cert: x509.Certificate, trust: TrustStore, now: dt.datetime,
                         purpose: KeyPurpose, *,
                         extra: Sequence[x509.Certificate] = ()) -> NodeId:
    """Validate a node certificate at ``now`` for ``purpose`` and return its node.

    Checks, in order: path to an anchor (CERT_UNTRUSTED); validity period of every
    certificate on the path (CERT_NOT_YET_VALID, CERT_EXPIRED); revocation of every
    non-anchor certificate (CRL_INVALID, CERT_REVOKED); key usage (CERT_KEY_USAGE);
    node profile and name (CERT_INVALID). A failed check raises SecurityError.

    Successful results are cached (see :class:`_ValidationCache`): a repeat with the
    same certificate, extra certificates, purpose and trust store content (anchors,
    intermediates, every CRL's exact octets) returns the cached node while ``now`` is
    inside the window in which every time-dependent check above passed.
    """
    now = as_utc(now, "now")
    key: tuple[object, ...] | None = (cert, _VALIDATIONS.trust_key(trust), purpose,
                                      tuple(extra))
    try:
        cached = _VALIDATIONS.get(key, now) if key is not None else None
    except TypeError:           # something unhashable: validate without the cache
        key = cached = None
    if cached is not None:
        return cached
    path = build_path(cert, trust, extra)
    for c in path:
        check_validity_period(c, now)
    for child, issuer in pairwise(path):
        _check_revocation(child, issuer, trust, now)
    check_key_usage(cert, purpose)
    node = check_node_profile(cert)
    if key is not None:
        _VALIDATIONS.put(key, node, *_valid_window(path, trust))
    return node


def _valid_window(path: Sequence[x509.Certificate],
                  trust: TrustStore) -> tuple[dt.datetime, dt.datetime]:
    """The times at which every time-dependent check of a validated ``path`` passes:
    each certificate's validity period and each CRL consulted being current."""
    lo = max(c.not_valid_before_utc for c in path)
    hi = min(c.not_valid_after_utc for c in path)
    for _, issuer in pairwise(path):
        for crl in trust.crls:
            if crl.issuer == issuer.subject:
                lo = max(lo, crl.last_update_utc)
                if crl.next_update_utc is not None:
                    hi = min(hi, crl.next_update_utc)
    return lo, hi


class _ValidationCache:
    """Successful certificate validations, keyed by content and bounded in time.

    Key: the certificate (equal and hashed by its DER), the trust store's content
    (anchors, intermediates, the SHA-256 of each CRL's DER, require_crl), the purpose
    and the extra certificates. A trust store with a new CRL is a new key, so a
    certificate revoked by that CRL is validated again and refused. A hit counts only
    while ``now`` lies in the window where every time-dependent check passed (validity
    periods, CRLs current), so a cached "valid" never outlives a notAfter. Failures
    are never cached. Bounded: cleared when full.
    """

    MAX_ENTRIES = 1024

    def __init__(self) -> None:
        self._entries: dict[tuple[object, ...], tuple[NodeId, dt.datetime, dt.datetime]] = {}
        # id(trust store) -> (the store, its content key): holding the store keeps its
        # id from being reused while the entry exists. Trust stores are immutable.
        self._trust: dict[int, tuple[TrustStore, tuple[object, ...]]] = {}

    def trust_key(self, trust: TrustStore) -> tuple[object, ...]:
        known = self._trust.get(id(trust))
        if known is not None and known[0] is trust:
            return known[1]
        key = (tuple(trust.anchors), tuple(trust.intermediates),
               tuple(crl.fingerprint(hashes.SHA256()) for crl in trust.crls),
               trust.require_crl)
        if len(self._trust) >= 64:
            self._trust.clear()
        self._trust[id(trust)] = (trust, key)
        return key

    def get(self, key: tuple[object, ...], now: dt.datetime) -> NodeId | None:
        hit = self._entries.get(key)
        if hit is not None and hit[1] <= now <= hit[2]:
            return hit[0]
        return None

    def put(self, key: tuple[object, ...], node: NodeId, lo: dt.datetime,
            hi: dt.datetime) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (node, lo, hi)

    def clear(self) -> None:
        self._entries.clear()
        self._trust.clear()


_VALIDATIONS = _ValidationCache()


# Roles per message type (:mod:`juki_protocol.envelope.routes`) ----------------------------------

def validate_sender(cert: x509.Certificate, header: PduHeader, trust: TrustStore,
                    now: dt.datetime, *, extra: Sequence[x509.Certificate] = ()) -> NodeId:
    """Validate a sender's signing certificate for ``header`` (all checks of
    :func:`validate_certificate` for signing, then :func:`check_sender`)."""
    node = validate_certificate(cert, trust, now, KeyPurpose.SIGNING, extra=extra)
    check_sender(node, sender=header.sender, recipient=header.recipient,
                 message_type=header.message_type)
    return node
