"""The end-to-end envelope: CMS SignedData inside AuthEnvelopedData (DESIGN.md section 5).

Theory of operation
-------------------
:func:`seal` signs the message DER and encrypts the result to the recipient node:

1. **SignedData** (RFC 5652 section 5): ECDSA P-256 with SHA-256, the signer named by
   issuerAndSerialNumber, the signer's certificate (and any intermediates) included,
   eContentType id-data with the message DER attached. Signed attributes:
   contentType, messageDigest, signingTime (RFC 5652 section 11) and the five header
   binding attributes below.
2. **AuthEnvelopedData** (RFC 5083) with AES-256-GCM (RFC 5084: 12-octet nonce, 16-octet
   tag) over the DER of that ``ContentInfo(SignedData)``, carried as id-data -- exactly
   what ``openssl cms -sign | openssl cms -encrypt -aes-256-gcm`` produces. The content
   key is wrapped for one KeyAgreeRecipientInfo (RFC 5753 section 3.1): an ephemeral
   P-256 key, dhSinglePass-stdDH-sha256kdf-scheme (X9.63 KDF with SHA-256 over
   ECC-CMS-SharedInfo, RFC 5753 section 7.2) and id-aes256-wrap (RFC 3394), the
   recipient named by issuerAndSerialNumber.

:func:`open_envelope` reverses this and checks everything; each failure raises
:class:`~juki_protocol.errors.SecurityError` with a precise code, in this order:
size and structure (ENVELOPE_MALFORMED), algorithms (ALGORITHM_UNSUPPORTED), a
RecipientInfo naming one of our certificates (NO_MATCHING_RECIPIENT), key unwrap and
GCM tag (DECRYPTION_FAILED), the inner SignedData's structure, messageDigest and
signature (SIGNATURE_INVALID), the signer's certificate (:mod:`juki_protocol.envelope.pki`), the
header binding (HEADER_BINDING_MISMATCH), sender and role (CERT_SENDER_MISMATCH,
CERT_ROLE_NOT_ALLOWED), the time window (STALE_TIME) and replay (REPLAY). The peer sees
only ENVELOPE_INVALID (:func:`peer_error_code`); the precise reason is logged locally.
Nothing else leaves the opener (issue 16 item 1): a certificate included in the
SignedData is read in full when it is loaded, so one the libraries cannot read (an
unknown key algorithm, a broken key, X.509 version 4, a malformed name) is
ENVELOPE_MALFORMED; and any exception no check foresaw becomes ENVELOPE_MALFORMED too
(:func:`_guarded`), logged as an error. ``fuzz/fuzz_open_envelope.py`` holds this.

Header binding attributes
-------------------------
The attribute types live under a UUID arc (ITU-T X.667, ``2.25.<uuid as an integer>``,
unique without registration); :data:`JUKI_ARC` is UUID
``17e75bab-a43c-4a13-a5cb-99eeb31d395c``. Each is single-valued:

=================  ===============  =====================================================
attribute          OID              value
=================  ===============  =====================================================
juki-messageId     JUKI_ARC.1.1     OCTET STRING (SIZE (16)): ``PduHeader.messageId``
juki-messageType   JUKI_ARC.1.2     ENUMERATED: ``PduHeader.messageType`` (pdu.asn values)
juki-sender        JUKI_ARC.1.3     UTF8String ``<role>:<id>`` of ``PduHeader.sender``
juki-recipient     JUKI_ARC.1.4     UTF8String ``<role>:<id>`` of ``PduHeader.recipient``
juki-time          JUKI_ARC.1.5     GeneralizedTime (UTC, whole seconds): ``PduHeader.time``
=================  ===============  =====================================================

An envelope made by another tool (``openssl cms``) carries none of them: opened without
a header it is checked for decryption, certificates and signature only. When they are
present they must be all present, and they are checked against the certificates (sender
and role, recipient) even without a header. With a header they must equal it field by
field, and the time window and the replay cache apply.

Replay and duplicates (``spec/errors.md``): the :class:`ReplayCache` remembers each
message id with the SHA-256 of its message DER while the id's time is inside the window.
The same id with other content is a REPLAY (SecurityError); the same id with the same
content is an idempotent retry and raises ProtocolError DUPLICATE_MESSAGE, so that the
node answers with the original outcome instead of processing it twice.

Algorithms opened beyond the profile: the X9.63 KDF with SHA-1
(dhSinglePass-stdDH-sha1kdf-scheme) is accepted because it is what ``openssl cms
-encrypt`` uses unless told ``-keyopt ecdh_kdf_md:sha256``; the KDF needs no collision
resistance. Everything else outside the profile is ALGORITHM_UNSUPPORTED.

Reproducibility: :func:`juki_protocol.envelope.envelope_parts.seal_from_parts` takes the
ephemeral key, content key and nonce as arguments and signs with RFC 6979 deterministic
ECDSA, so fixed inputs give fixed bytes (the vectors, the lower tester, the capture
tool); :func:`seal` draws them from the operating system and signs with randomised
ECDSA. The building blocks both sides share (the binding attributes' OIDs, the sizes,
:class:`BoundHeader`) live in :mod:`juki_protocol.envelope.envelope_parts` and are re-exported
here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from juki_protocol.envelope import cms
from juki_protocol.envelope.envelope_parts import (
    BINDING_OIDS,
    CEK_SIZE,
    ID_JUKI_MESSAGE_ID,
    ID_JUKI_MESSAGE_TYPE,
    ID_JUKI_RECIPIENT,
    ID_JUKI_SENDER,
    ID_JUKI_TIME,
    JUKI_ARC,
    KDF_HASHES,
    NONCE_SIZE,
    TAG_SIZE,
    TYPE_BY_NUMBER,
    BoundHeader,
    cert_der,
    encrypt_from_parts,
    key_encryption_key,
    seal_from_parts,
)
from juki_protocol.envelope.pki import (
    Credential,
    KeyPurpose,
    TrustStore,
    as_utc,
    check_key_usage,
    check_node_profile,
    check_sender,
    check_validity_period,
    load_received_certificate,
    node_id,
    node_of_certificate,
    require_p256,
    validate_certificate,
)
from juki_protocol.errors import ErrorCode, JukiError, ProtocolError, SecurityError
from juki_protocol.messages.common import NodeId
from juki_protocol.messages.pdu import MAX_SEALED, ErrorReport, PduHeader

logger = logging.getLogger(__name__)

#: Default accepted distance between the header's time and the receiver's clock.
TIME_WINDOW = dt.timedelta(seconds=300)
_T = TypeVar("_T")


def _fail(code: ErrorCode, text: str) -> SecurityError:
    return SecurityError(text, code=code)


# Values -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """What :func:`open_envelope` returns once every check has passed.

    message_der: the signed content (the DER of the message).
    signer: the node named by the signer's certificate.
    signer_certificate / recipient_certificate: the signer's certificate, and which of
    our certificates the envelope was encrypted to (key rotation).
    bound: the header binding attributes, if the envelope carries them.
    signing_time: the signingTime attribute, if present (it must equal the header time).
    """

    message_der: bytes
    signer: NodeId
    signer_certificate: x509.Certificate
    recipient_certificate: x509.Certificate
    bound: BoundHeader | None
    signing_time: dt.datetime | None


class ReplayCache:
    """Message ids seen within the time window (sans-I/O: the caller passes ``now``).

    An id is remembered until its message time plus the window has passed, i.e. for as
    long as a copy could still pass the time window check.
    """

    def __init__(self, window: dt.timedelta = TIME_WINDOW) -> None:
        self._window = window
        self._seen: dict[bytes, tuple[bytes, dt.datetime]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def prune(self, now: dt.datetime) -> None:
        """Forget ids whose time plus the window is before ``now``."""
        now = as_utc(now)
        for mid in [m for m, (_, until) in self._seen.items() if until < now]:
            del self._seen[mid]

    def check_and_remember(self, message_id: bytes, digest: bytes,
                           message_time: dt.datetime, now: dt.datetime) -> None:
        """Record ``message_id``; raise if it was seen within the window.

        Same id, other content: SecurityError REPLAY. Same id and content (an idempotent
        retry): ProtocolError DUPLICATE_MESSAGE.
        """
        self.prune(now)
        seen = self._seen.get(message_id)
        if seen is not None:
            if seen[0] == digest:
                raise ProtocolError(f"message {message_id.hex()} was already received",
                                    code=ErrorCode.DUPLICATE_MESSAGE)
            raise _fail(ErrorCode.REPLAY, f"message id {message_id.hex()} was already "
                        f"received with other content")
        self._seen[message_id] = (digest, as_utc(message_time) + self._window)


# Sealing ------------------------------------------------------------------------------

# Certificates are immutable, equal and hashed by their DER: what is derived from one
# is cached by the certificate (bounded), never by anything mutable.

@lru_cache(maxsize=256)
def _load_certificate(cert_der: bytes) -> x509.Certificate:
    return load_received_certificate(cert_der)


@lru_cache(maxsize=256)
def _node_of(cert: x509.Certificate) -> NodeId:
    return node_of_certificate(cert)


@lru_cache(maxsize=256)
def _node_profile(cert: x509.Certificate) -> NodeId:
    return check_node_profile(cert)


def encrypt_content(inner: bytes, recipient_cert: x509.Certificate) -> bytes:
    """The encryption layer alone: ContentInfo(AuthEnvelopedData) to ``recipient_cert``
    around any octets ``inner``, with fresh randomness and no check of what it holds.

    :func:`seal` puts a SignedData here; tests and the fuzz target (``fuzz/``) put a
    crafted or mutated one, so that the opener's checks after decryption are reached.
    """
    return encrypt_from_parts(inner, recipient_cert, ephemeral_key=ec.generate_private_key(
        ec.SECP256R1()), cek=os.urandom(CEK_SIZE), iv=os.urandom(NONCE_SIZE))


def decrypt_content(envelope: bytes, credentials: Sequence[Credential]) -> bytes:
    """The octets inside the encryption layer of ``envelope`` (the DER of a
    ContentInfo(SignedData) for a sealed envelope), after the checks of that layer
    only; failures raise SecurityError as :func:`open_envelope` does. For tests and
    the fuzz target's seeds; a receiver opens with :func:`open_envelope`."""
    return _guarded(lambda: _decrypt(envelope, credentials)[0])


def seal(header: PduHeader, message_der: bytes, sender_key: ec.EllipticCurvePrivateKey,
         sender_cert: x509.Certificate, recipient_cert: x509.Certificate,
         now: dt.datetime, *, chain: Sequence[x509.Certificate] = (),
         trust: TrustStore | None = None) -> bytes:
    """Sign ``message_der`` and encrypt it to ``recipient_cert``; return the envelope DER.

    Refuses (SecurityError) to make an envelope the recipient must reject: the sender
    certificate must belong to ``sender_key``, name ``header.sender``, allow signing and
    the route (:data:`juki_protocol.envelope.pki.ROUTES`); the recipient certificate must name
    ``header.recipient`` and allow key agreement; both must be valid at ``now`` (and
    chain to ``trust`` when it is given). ``chain``: intermediate CA certificates to
    include in the SignedData.
    """
    now = as_utc(now)
    if not isinstance(message_der, bytes) or len(message_der) > MAX_SEALED - 64 * 1024:
        raise ValueError("message_der must be bytes, at most 16 MiB less 64 KiB")
    Credential(sender_key, sender_cert)
    for cert, purpose in ((sender_cert, KeyPurpose.SIGNING),
                          (recipient_cert, KeyPurpose.KEY_AGREEMENT)):
        if trust is not None:
            validate_certificate(cert, trust, now, purpose,
                                 extra=chain if cert is sender_cert else ())
        else:
            check_validity_period(cert, now)
            check_key_usage(cert, purpose)
    sender = _node_profile(sender_cert)
    check_sender(sender, sender=header.sender, recipient=header.recipient,
                 message_type=header.message_type)
    recipient = _node_profile(recipient_cert)
    if recipient != header.recipient:
        raise _fail(ErrorCode.HEADER_BINDING_MISMATCH, f"the recipient certificate names "
                    f"{recipient}, the header's recipient is {header.recipient}")
    return seal_from_parts(header, message_der, sender_key, sender_cert, recipient_cert,
                           ephemeral_key=ec.generate_private_key(ec.SECP256R1()),
                           cek=os.urandom(CEK_SIZE), iv=os.urandom(NONCE_SIZE), now=now,
                           chain=chain, deterministic=False)


# Opening ------------------------------------------------------------------------------

def cert_id_matches(cid: cms.CertId, cert: x509.Certificate) -> bool:
    """True if a CMS SignerIdentifier/RecipientIdentifier names ``cert`` (by subject key
    identifier, or by issuer and serial number; RFC 5652 sections 5.3 and 6.2)."""
    if cid.ski is not None:
        try:
            ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except (x509.ExtensionNotFound, ValueError):
            return False
        return ski.value.digest == cid.ski
    return (cid.serial == cert.serial_number
            and cid.issuer_der == cms.certificate_issuer_der(cert_der(cert)))


def _check_key_agree_profile(kari: cms.KeyAgreeRecipient) -> None:
    # RFC 5652 section 6.2.2 and RFC 5753 section 3.1.1.
    if kari.version != 3:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, f"KeyAgreeRecipientInfo version "
                    f"{kari.version}, expected 3")
    if kari.originator_kind != "originator_key" or kari.originator_alg != cms.ID_EC_PUBLIC_KEY:
        raise _fail(ErrorCode.ALGORITHM_UNSUPPORTED, "the originator must be an ephemeral "
                    "id-ecPublicKey (ephemeral-static ECDH)")
    if kari.kdf_oid not in KDF_HASHES:
        raise _fail(ErrorCode.ALGORITHM_UNSUPPORTED, f"key agreement scheme {kari.kdf_oid} "
                    f"is not dhSinglePass-stdDH-sha256kdf-scheme")
    if kari.wrap_oid != cms.ID_AES256_WRAP or kari.wrap_alg_der is None:
        raise _fail(ErrorCode.ALGORITHM_UNSUPPORTED, f"key wrap {kari.wrap_oid} is not "
                    f"id-aes256-wrap")


def _unwrap(kari: cms.KeyAgreeRecipient, wrapped: bytes,
            key: ec.EllipticCurvePrivateKey) -> bytes:
    assert kari.originator_point is not None and kari.wrap_alg_der is not None
    try:
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                                 kari.originator_point)
        shared = key.exchange(ec.ECDH(), ephemeral)
    except ValueError:
        raise _fail(ErrorCode.DECRYPTION_FAILED, "the originator key is not a valid "
                    "P-256 point") from None
    try:
        kek = key_encryption_key(shared, kari.kdf_oid, kari.wrap_alg_der, kari.ukm)
        cek = aes_key_unwrap(kek, wrapped)
    except (InvalidUnwrap, ValueError):
        raise _fail(ErrorCode.DECRYPTION_FAILED, "the content key did not unwrap") from None
    if len(cek) != CEK_SIZE:
        raise _fail(ErrorCode.DECRYPTION_FAILED, f"the content key has {len(cek)} octets")
    return cek


def _decrypt(envelope: bytes,
             credentials: Sequence[Credential]) -> tuple[bytes, Credential]:
    aed = cms.parse_auth_enveloped(envelope)
    if aed.version != 0:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, f"AuthEnvelopedData version {aed.version}")
    if aed.cipher_oid != cms.ID_AES256_GCM:
        raise _fail(ErrorCode.ALGORITHM_UNSUPPORTED, f"content encryption {aed.cipher_oid} "
                    f"is not id-aes256-GCM")
    nonce, icv_len = cms.parse_gcm_parameters(aed.cipher_params_der)
    if len(nonce) != NONCE_SIZE or icv_len != TAG_SIZE:
        raise _fail(ErrorCode.ALGORITHM_UNSUPPORTED, f"GCM with a {len(nonce)}-octet nonce "
                    f"and a {icv_len}-octet tag; the profile uses 12 and 16")
    if len(aed.mac) != icv_len or aed.ciphertext is None or aed.content_type != cms.ID_DATA:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "the encrypted content must be id-data, "
                    "present, with a tag of the declared length")
    if not aed.key_agree:
        code = ErrorCode.ALGORITHM_UNSUPPORTED if aed.other_recipient_kinds \
            else ErrorCode.ENVELOPE_MALFORMED
        raise _fail(code, "no key agreement RecipientInfo (only "
                    f"{', '.join(aed.other_recipient_kinds) or 'none'})")
    candidates = [(kari, wrapped, cred) for kari in aed.key_agree
                  for cid, wrapped in kari.keys for cred in credentials
                  if cert_id_matches(cid, cred.certificate)]
    if not candidates:
        raise _fail(ErrorCode.NO_MATCHING_RECIPIENT, "no RecipientInfo names one of our "
                    f"{len(credentials)} certificate(s)")
    error: SecurityError | None = None
    for kari, wrapped, cred in candidates:    # several when rotating keys
        _check_key_agree_profile(kari)
        check_key_usage(cred.certificate, KeyPurpose.KEY_AGREEMENT)
        try:
            cek = _unwrap(kari, wrapped, cred.key)
        except SecurityError as exc:
            error = exc
            continue
        try:
            # RFC 5083 section 2.2 and RFC 5084 section 3: the tag covers ciphertext + AAD.
            return AESGCM(cek).decrypt(nonce, aed.ciphertext + aed.mac, aed.aad or None), cred
        except InvalidTag:
            raise _fail(ErrorCode.DECRYPTION_FAILED, "the GCM authentication tag does not "
                        "verify") from None
    assert error is not None
    raise error


def _single(attrs: dict[str, tuple[bytes, ...]], oid: str) -> bytes | None:
    values = attrs.get(oid)
    if values is None:
        return None
    if len(values) != 1:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, f"signed attribute {oid} must have "
                    f"exactly one value")
    return values[0]


def _node(value: bytes) -> NodeId:
    role, _, code = cms.read_utf8(value).partition(":")
    try:
        return node_id(role, code)
    except (ValueError, JukiError):
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "a bound node id is not valid") from None


def _read_binding(attrs: dict[str, tuple[bytes, ...]]) -> BoundHeader | None:
    values = [_single(attrs, oid) for oid in BINDING_OIDS]
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "the header binding attributes must be "
                    "all present or all absent")
    mid, mtype, sender, recipient, time = (v for v in values if v is not None)
    message_id = cms.read_octets(mid)
    number = cms.read_enum(mtype)
    if len(message_id) != 16 or number not in TYPE_BY_NUMBER:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "a bound message id or type is not valid")
    return BoundHeader(message_id=message_id, message_type=TYPE_BY_NUMBER[number],
                       sender=_node(sender), recipient=_node(recipient),
                       time=cms.read_time(time))


@dataclass(frozen=True, slots=True)
class _Verified:
    content: bytes
    signer_cert: x509.Certificate
    extra: tuple[x509.Certificate, ...]
    bound: BoundHeader | None
    signing_time: dt.datetime | None


def _verify_signed(inner: bytes) -> _Verified:
    sd = cms.parse_signed_data(inner)
    if len(sd.signers) != 1:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, f"{len(sd.signers)} signers, expected 1")
    si = sd.signers[0]
    if sd.version not in (1, 3) or si.version not in (1, 3):
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "SignedData or SignerInfo version")
    if sd.content_type != cms.ID_DATA or sd.content is None:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "the signed content must be attached "
                    "id-data")
    if si.digest_oid != cms.ID_SHA256 or si.signature_oid != cms.ECDSA_WITH_SHA256:
        raise _fail(ErrorCode.ALGORITHM_UNSUPPORTED, f"signature {si.signature_oid} with "
                    f"digest {si.digest_oid} is not ECDSA with SHA-256")
    if si.signed_attrs_der is None:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "signed attributes are required")
    attrs: dict[str, tuple[bytes, ...]] = {}
    for a in si.attributes:
        if a.oid in attrs:     # RFC 5652 section 5.3: each type at most once here
            raise _fail(ErrorCode.ENVELOPE_MALFORMED, f"signed attribute {a.oid} repeats")
        attrs[a.oid] = a.values
    certs = tuple(_load_certificate(c) for c in sd.certificates)
    signer_cert = next((c for c in certs if cert_id_matches(si.sid, c)), None)
    if signer_cert is None:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "the signer's certificate is not included")
    content_type = _single(attrs, cms.ID_CONTENT_TYPE)
    digest = _single(attrs, cms.ID_MESSAGE_DIGEST)
    if content_type is None or digest is None:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "contentType and messageDigest "
                    "attributes are required")
    # RFC 5652 section 11.1-11.2: they must match eContentType and the content's digest.
    if cms.read_oid(content_type) != sd.content_type \
            or cms.read_octets(digest) != hashlib.sha256(sd.content).digest():
        raise _fail(ErrorCode.SIGNATURE_INVALID, "the contentType or messageDigest attribute "
                    "does not match the content")
    key = signer_cert.public_key()       # readable: load_received_certificate read it
    require_p256(key, "the signer's key")
    assert isinstance(key, ec.EllipticCurvePublicKey)
    try:
        # RFC 5652 section 5.4: the signature covers the DER of the SET OF attributes.
        key.verify(si.signature, si.signed_attrs_der, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise _fail(ErrorCode.SIGNATURE_INVALID, "the signature does not verify") from None
    signing_time = _single(attrs, cms.ID_SIGNING_TIME)
    return _Verified(content=sd.content, signer_cert=signer_cert,
                     extra=tuple(c for c in certs if c is not signer_cert),
                     bound=_read_binding(attrs),
                     signing_time=None if signing_time is None else cms.read_time(signing_time))


def open_envelope(envelope: bytes, credentials: Sequence[Credential], trust: TrustStore,
                  now: dt.datetime, *, header: PduHeader | None = None,
                  replay_cache: ReplayCache | None = None,
                  time_window: dt.timedelta = TIME_WINDOW) -> OpenedEnvelope:
    """Decrypt and verify ``envelope``; return the message DER and its signer.

    credentials: this node's key/certificate pairs (several while rotating keys).
    trust: the anchors, intermediates and CRLs that the signer must chain to.
    header: the PDU's clear header; when given, the binding attributes must equal it,
    its time must be within ``time_window`` of ``now``, and ``replay_cache`` (if any)
    is consulted. Without it only decryption, certificates, signature and any binding
    attributes' consistency with the certificates are checked (an envelope made by
    ``openssl cms`` carries none).

    Every failure raises SecurityError with a precise code (see the module docstring),
    also one the checks did not foresee (:func:`_guarded`); an idempotent retry raises
    ProtocolError DUPLICATE_MESSAGE. Use :func:`peer_error_code` to answer the peer.
    """
    now = as_utc(now)
    if not isinstance(envelope, bytes) or not 0 < len(envelope) <= MAX_SEALED:
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, "the envelope must be 1 octet to 16 MiB")
    if not credentials:
        raise _fail(ErrorCode.NO_MATCHING_RECIPIENT, "no credentials to open with")
    return _guarded(lambda: _open(envelope, credentials, trust, now, header=header,
                                  replay_cache=replay_cache, time_window=time_window))


def _guarded(opening: Callable[[], _T]) -> _T:
    """Run ``opening``; turn any exception that is not a JukiError into SecurityError
    ENVELOPE_MALFORMED (issue 16 item 1).

    The checks raise SecurityError themselves, and certificates from the envelope are
    read in full when loaded (:func:`juki_protocol.envelope.pki.load_received_certificate`).
    This is the second line: the parsers and ``cryptography`` read hostile octets, and
    an exception they raise that no check foresaw would otherwise escape the opener, so
    that a node dropped the connection with no error report and no audit row. It is
    logged as an error, with its kind only (never the envelope's octets), because it
    means a check is missing.
    """
    try:
        return opening()
    except JukiError:
        raise
    except Exception as exc:     # see the docstring
        logger.error("envelope opening raised %s; refused as malformed",
                     type(exc).__name__)
        raise _fail(ErrorCode.ENVELOPE_MALFORMED, f"unexpected {type(exc).__name__} "
                    f"while opening") from exc


def _open(envelope: bytes, credentials: Sequence[Credential], trust: TrustStore,
          now: dt.datetime, *, header: PduHeader | None,
          replay_cache: ReplayCache | None, time_window: dt.timedelta) -> OpenedEnvelope:
    """:func:`open_envelope` after its argument checks."""
    inner, cred = _decrypt(envelope, credentials)
    verified = _verify_signed(inner)
    signer = validate_certificate(verified.signer_cert, trust, now, KeyPurpose.SIGNING,
                                  extra=verified.extra)
    us = _node_of(cred.certificate)
    bound = verified.bound
    if header is not None:
        if bound is None:
            raise _fail(ErrorCode.HEADER_BINDING_MISMATCH, "the envelope carries no header "
                        "binding attributes")
        diff = bound.differences(header)
        if diff:
            raise _fail(ErrorCode.HEADER_BINDING_MISMATCH, "the signed attributes differ "
                        f"from the header in: {', '.join(diff)}")
        if verified.signing_time is not None and verified.signing_time != header.time:
            # R-PDU-31: the signing time equals the clear header's time.
            raise _fail(ErrorCode.HEADER_BINDING_MISMATCH, "the signing time "
                        f"{verified.signing_time.isoformat()} differs from the header time "
                        f"{header.time.isoformat()}")
    if bound is not None:
        if bound.recipient != us:
            raise _fail(ErrorCode.HEADER_BINDING_MISMATCH, f"the envelope is addressed to "
                        f"{bound.recipient} but encrypted to our certificate for {us}")
        check_sender(signer, sender=bound.sender, recipient=bound.recipient,
                     message_type=bound.message_type)
    if header is not None:
        if abs(now - header.time) > time_window:
            raise _fail(ErrorCode.STALE_TIME, f"header time {header.time.isoformat()} is "
                        f"more than {int(time_window.total_seconds())} s from "
                        f"{now.isoformat()}")
        if replay_cache is not None:
            replay_cache.check_and_remember(header.message_id,
                                            hashlib.sha256(verified.content).digest(),
                                            header.time, now)
    return OpenedEnvelope(message_der=verified.content, signer=signer,
                          signer_certificate=verified.signer_cert,
                          recipient_certificate=cred.certificate, bound=bound,
                          signing_time=verified.signing_time)


# Answering the peer ---------------------------------------------------------------------

#: Failures about the clear header, which the peer knows anyway: sent as they are
#: (R-PDU-16 STALE_TIME, R-PDU-24 REPLAY); only R-PDU-31's checks are opaque (R-PDU-32).
_CLEAR_HEADER_CODES = frozenset({ErrorCode.STALE_TIME, ErrorCode.REPLAY})


def peer_error_code(exc: JukiError, *, message_id: bytes | None = None) -> ErrorCode:
    """The code to send to the peer for ``exc``, logging the precise reason locally.

    Every SecurityError of the envelope's verification (R-PDU-31) becomes the single
    opaque ENVELOPE_INVALID (R-PDU-32), so a peer learns nothing about which check
    failed (STYLE.md item 4); STALE_TIME and REPLAY concern the clear header and are sent
    as they are (R-PDU-16, R-PDU-24). The precise code and
    reason (node ids, serial numbers, times: never personal data) go to this module's
    logger. Other errors (e.g. DUPLICATE_MESSAGE) keep their own code.
    """
    if isinstance(exc, SecurityError) and exc.error_code not in _CLEAR_HEADER_CODES:
        logger.warning("envelope rejected%s: %d %s: %s",
                       f" (message {message_id.hex()})" if message_id else "",
                       int(exc.error_code), exc.error_code.name, exc.args[0] if exc.args else "")
        return ErrorCode.ENVELOPE_INVALID
    return exc.error_code


def peer_error_report(exc: JukiError, *, refers_to: bytes | None = None) -> ErrorReport:
    """An :class:`~juki_protocol.messages.pdu.ErrorReport` for the peer (see
    :func:`peer_error_code`); it carries no detail."""
    make = cast("Callable[..., ErrorReport]", ErrorReport)   # see pki.node_id
    return make(error_code=int(peer_error_code(exc, message_id=refers_to)),
                refers_to=refers_to)


__all__ = [
    "BINDING_OIDS", "CEK_SIZE", "ID_JUKI_MESSAGE_ID", "ID_JUKI_MESSAGE_TYPE",
    "ID_JUKI_RECIPIENT", "ID_JUKI_SENDER", "ID_JUKI_TIME", "JUKI_ARC", "NONCE_SIZE",
    "TAG_SIZE", "TIME_WINDOW", "BoundHeader", "OpenedEnvelope", "ReplayCache",
    "cert_id_matches", "decrypt_content", "encrypt_content", "open_envelope",
    "peer_error_code", "peer_error_report", "seal",
]
