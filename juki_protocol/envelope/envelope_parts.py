"""The envelope's building blocks, every input explicit (DESIGN.md section 5).

:mod:`juki_protocol.envelope.envelope` seals and opens envelopes; this module holds what both
sides share (the header binding attributes its docstring describes, the sizes and the
algorithm tables) and the two layers of an envelope as functions of fixed inputs:
:func:`sign_message` makes the ContentInfo(SignedData), :func:`encrypt_from_parts` the
ContentInfo(AuthEnvelopedData) around it, and :func:`seal_from_parts` does both.

Reproducibility: these functions take the ephemeral key, content key and nonce as
arguments and sign with RFC 6979 deterministic ECDSA, so fixed inputs give fixed bytes.
They check no policy (certificates, routes, validity periods): they are for the vector
generator (:mod:`juki_protocol.tools.vectors.envelope_vectors`), the conformance lower tester, the
capture tool and the selftest's faulty adapter, which must reproduce an envelope exactly
or build one a correct sealer refuses to make (no header binding, another algorithm).
A node seals with :func:`juki_protocol.envelope.envelope.seal`, which checks everything and draws
its randomness from the operating system.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from juki_protocol.codec.schema import APPLICATION_TAGS
from juki_protocol.envelope import cms
from juki_protocol.envelope.pki import as_utc, require_p256
from juki_protocol.messages.common import NodeId
from juki_protocol.messages.pdu import MessageType, PduHeader

#: The UUID arc of our attribute types: UUID 17e75bab-a43c-4a13-a5cb-99eeb31d395c.
JUKI_ARC = "2.25.31773523775492759477620565196970735964"
ID_JUKI_MESSAGE_ID = JUKI_ARC + ".1.1"
ID_JUKI_MESSAGE_TYPE = JUKI_ARC + ".1.2"
ID_JUKI_SENDER = JUKI_ARC + ".1.3"
ID_JUKI_RECIPIENT = JUKI_ARC + ".1.4"
ID_JUKI_TIME = JUKI_ARC + ".1.5"
BINDING_OIDS = (ID_JUKI_MESSAGE_ID, ID_JUKI_MESSAGE_TYPE, ID_JUKI_SENDER,
                ID_JUKI_RECIPIENT, ID_JUKI_TIME)

CEK_SIZE = 32          # AES-256
NONCE_SIZE = 12        # RFC 5084 section 3.2 recommends 12 octets
TAG_SIZE = 16          # what openssl and we produce; shorter tags are not accepted

#: The X9.63 KDF's hash by key agreement scheme, the SignedData's digest and signature
#: algorithms by name, and the messageType attribute's numbers (pdu.asn's tags).
KDF_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    cms.DH_STD_SHA256KDF: hashes.SHA256,
    cms.DH_STD_SHA1KDF: hashes.SHA1,      # openssl's default; see juki_protocol.envelope.envelope
}
SIGNATURE_DIGESTS: dict[str, tuple[str, str, type[hashes.HashAlgorithm]]] = {
    "sha256": (cms.ID_SHA256, cms.ECDSA_WITH_SHA256, hashes.SHA256),
    "sha384": (cms.ID_SHA384, cms.ECDSA_WITH_SHA384, hashes.SHA384),  # vectors only
}
TYPE_NUMBER = {mt: APPLICATION_TAGS[mt.type_name] for mt in MessageType}
TYPE_BY_NUMBER = {n: mt for mt, n in TYPE_NUMBER.items()}


@dataclass(frozen=True, slots=True)
class BoundHeader:
    """The header fields carried in the signed attributes
    (:mod:`juki_protocol.envelope.envelope`)."""

    message_id: bytes
    message_type: MessageType
    sender: NodeId
    recipient: NodeId
    time: dt.datetime

    @classmethod
    def of(cls, header: PduHeader) -> BoundHeader:
        """The bound fields of ``header``."""
        return cls(message_id=header.message_id, message_type=header.message_type,
                   sender=header.sender, recipient=header.recipient, time=header.time)

    def differences(self, header: PduHeader) -> list[str]:
        """Names of the fields where ``header`` differs from the bound values."""
        other = BoundHeader.of(header)
        return [name for name in ("message_id", "message_type", "sender", "recipient",
                                  "time") if getattr(self, name) != getattr(other, name)]


# Building ---------------------------------------------------------------------------------

def binding_attributes(bound: BoundHeader) -> list[bytes]:
    """The five header binding attributes (DER Attribute values) for ``bound``."""
    return [
        cms.attribute(ID_JUKI_MESSAGE_ID, cms.der_octets(bound.message_id)),
        cms.attribute(ID_JUKI_MESSAGE_TYPE, cms.der_enum(TYPE_NUMBER[bound.message_type])),
        cms.attribute(ID_JUKI_SENDER, cms.der_utf8(str(bound.sender))),
        cms.attribute(ID_JUKI_RECIPIENT, cms.der_utf8(str(bound.recipient))),
        cms.attribute(ID_JUKI_TIME, cms.der_generalized_time(bound.time)),
    ]


# Certificates are immutable, equal and hashed by their DER: what is derived from one
# is cached by the certificate (bounded), never by anything mutable.

@lru_cache(maxsize=256)
def cert_der(cert: x509.Certificate) -> bytes:
    """The DER of ``cert``, cached (sealing and opening both name certificates by it)."""
    return cert.public_bytes(serialization.Encoding.DER)


def sign_message(header: PduHeader | None, message_der: bytes,
                 sender_key: ec.EllipticCurvePrivateKey, sender_cert: x509.Certificate,
                 now: dt.datetime, *, chain: Sequence[x509.Certificate] = (),
                 deterministic: bool = True, digest: str = "sha256") -> bytes:
    """The DER of ContentInfo(SignedData) over ``message_der`` (RFC 5652 section 5),
    signed at ``now``; ``header`` None leaves out the binding attributes. ``digest``
    "sha384" makes a signature outside the profile (vectors of a wrong algorithm)."""
    digest_oid, signature_oid, hash_cls = SIGNATURE_DIGESTS[digest]
    h = hashes.Hash(hash_cls())
    h.update(message_der)
    # spec/pdu.md section 7: the signing time is the header time (R-PDU-31).
    signing_time = header.time if header is not None else as_utc(now).replace(microsecond=0)
    attributes = [
        cms.attribute(cms.ID_CONTENT_TYPE, cms.der_oid(cms.ID_DATA)),
        cms.attribute(cms.ID_SIGNING_TIME, cms.der_time(signing_time)),
        cms.attribute(cms.ID_MESSAGE_DIGEST, cms.der_octets(h.finalize())),
    ]
    if header is not None:
        attributes += binding_attributes(BoundHeader.of(header))
    signer_der = cert_der(sender_cert)
    sid = cms.issuer_and_serial(cms.certificate_issuer_der(signer_der),
                                sender_cert.serial_number)

    def sign(data: bytes) -> bytes:
        return sender_key.sign(data, ec.ECDSA(hash_cls(), deterministic_signing=deterministic))

    return cms.build_signed_data(message_der, attributes, sid=sid, sign=sign,
                                 certificates=[signer_der, *map(cert_der, chain)],
                                 digest_oid=digest_oid, signature_oid=signature_oid)


def key_encryption_key(shared_secret: bytes, kdf_oid: str, wrap_alg_der: bytes,
                       ukm: bytes | None) -> bytes:
    """The key that wraps the content key, on both sides: RFC 5753 sections 3.1.1 and
    7.2, KEK = X9.63-KDF(Z, ECC-CMS-SharedInfo) with the hash of ``kdf_oid``."""
    return X963KDF(algorithm=KDF_HASHES[kdf_oid](), length=CEK_SIZE,
                   sharedinfo=cms.ecc_cms_shared_info(wrap_alg_der, ukm, CEK_SIZE * 8)
                   ).derive(shared_secret)


def encrypt_from_parts(inner: bytes, recipient_cert: x509.Certificate, *,
                       ephemeral_key: ec.EllipticCurvePrivateKey, cek: bytes, iv: bytes,
                       kdf_oid: str = cms.DH_STD_SHA256KDF) -> bytes:
    """The DER of ContentInfo(AuthEnvelopedData) around ``inner`` (RFC 5083, 5753).

    A 16-octet ``cek`` selects AES-128-GCM (used by vectors of a wrong algorithm).
    """
    cipher_oid = {32: cms.ID_AES256_GCM, 16: cms.ID_AES128_GCM}[len(cek)]
    recipient_key = recipient_cert.public_key()
    require_p256(recipient_key, "the recipient's key")
    assert isinstance(recipient_key, ec.EllipticCurvePublicKey)
    require_p256(ephemeral_key, "the ephemeral key")
    shared = ephemeral_key.exchange(ec.ECDH(), recipient_key)
    kek = key_encryption_key(shared, kdf_oid, cms.alg_id(cms.ID_AES256_WRAP), None)
    wrapped = aes_key_wrap(kek, cek)
    sealed = AESGCM(cek).encrypt(iv, inner, None)     # no authAttrs: the AAD is empty
    rid = cms.issuer_and_serial(cms.certificate_issuer_der(cert_der(recipient_cert)),
                                recipient_cert.serial_number)
    point = ephemeral_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return cms.build_auth_enveloped(
        originator_point=point, kdf_oid=kdf_oid, wrap_oid=cms.ID_AES256_WRAP,
        recipients=[(rid, wrapped)], cipher_oid=cipher_oid, nonce=iv,
        ciphertext=sealed[:-TAG_SIZE], mac=sealed[-TAG_SIZE:])


def seal_from_parts(header: PduHeader | None, message_der: bytes,
                    sender_key: ec.EllipticCurvePrivateKey, sender_cert: x509.Certificate,
                    recipient_cert: x509.Certificate, *,
                    ephemeral_key: ec.EllipticCurvePrivateKey, cek: bytes, iv: bytes,
                    now: dt.datetime, chain: Sequence[x509.Certificate] = (),
                    deterministic: bool = True,
                    kdf_oid: str = cms.DH_STD_SHA256KDF) -> bytes:
    """Seal with fixed randomness and no policy checks (see the module docstring).

    With ``deterministic`` the signature is RFC 6979 ECDSA, so equal inputs give equal
    bytes. ``header`` None seals without the binding attributes, as another tool would.
    """
    inner = sign_message(header, message_der, sender_key, sender_cert, now, chain=chain,
                         deterministic=deterministic)
    return encrypt_from_parts(inner, recipient_cert, ephemeral_key=ephemeral_key, cek=cek,
                              iv=iv, kdf_oid=kdf_oid)
