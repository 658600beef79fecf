"""What the two CMS parsers share, so that neither imports the other: the object
identifiers of the envelope's profile, the frozen values a parse returns (they never
expose asn1crypto objects), and :func:`retag`. :mod:`juki_protocol.envelope.cms` (asn1crypto, and
the construction) and :mod:`juki_protocol.envelope.cms_fast` (the common case, read directly)
both build these values; :mod:`juki_protocol.envelope.cms` re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass

# Object identifiers ---------------------------------------------------------------------

ID_DATA = "1.2.840.113549.1.7.1"                      # RFC 5652 section 4
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"               # RFC 5652 section 5.1
ID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"            # RFC 5652 section 6.1
ID_AUTH_ENVELOPED_DATA = "1.2.840.113549.1.9.16.1.23"  # RFC 5083 section 1
ID_CONTENT_TYPE = "1.2.840.113549.1.9.3"              # RFC 5652 section 11.1
ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"            # RFC 5652 section 11.2
ID_SIGNING_TIME = "1.2.840.113549.1.9.5"              # RFC 5652 section 11.3
ID_SHA1 = "1.3.14.3.2.26"
ID_SHA256 = "2.16.840.1.101.3.4.2.1"                  # RFC 5754 section 2
ID_SHA384 = "2.16.840.1.101.3.4.2.2"
ID_SHA512 = "2.16.840.1.101.3.4.2.3"
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"             # RFC 5758 section 3.2
ECDSA_WITH_SHA384 = "1.2.840.10045.4.3.3"
ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"                # RFC 5480 section 2.1.1
# RFC 5753 section 7.1.4 (and SEC 1): ephemeral-static ECDH with the X9.63 KDF.
DH_STD_SHA1KDF = "1.3.133.16.840.63.0.2"
DH_STD_SHA224KDF = "1.3.132.1.11.0"
DH_STD_SHA256KDF = "1.3.132.1.11.1"
DH_STD_SHA384KDF = "1.3.132.1.11.2"
DH_STD_SHA512KDF = "1.3.132.1.11.3"
ID_AES128_WRAP = "2.16.840.1.101.3.4.1.5"             # RFC 3565 section 4.3
ID_AES256_WRAP = "2.16.840.1.101.3.4.1.45"
ID_AES128_GCM = "2.16.840.1.101.3.4.1.6"              # RFC 5084 section 3.2
ID_AES256_GCM = "2.16.840.1.101.3.4.1.46"


# Parsed values --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CertId:
    """Names a certificate: by issuer and serial, or by subject key identifier."""

    issuer_der: bytes | None = None
    serial: int | None = None
    ski: bytes | None = None


@dataclass(frozen=True, slots=True)
class KeyAgreeRecipient:
    """One KeyAgreeRecipientInfo, as received."""

    version: int
    originator_kind: str
    originator_alg: str | None
    originator_point: bytes | None
    ukm: bytes | None
    kdf_oid: str
    wrap_alg_der: bytes | None
    wrap_oid: str | None
    keys: tuple[tuple[CertId, bytes], ...]


@dataclass(frozen=True, slots=True)
class AuthEnveloped:
    """An AuthEnvelopedData, as received (RFC 5083 section 2.1)."""

    version: int
    key_agree: tuple[KeyAgreeRecipient, ...]
    other_recipient_kinds: tuple[str, ...]
    content_type: str
    cipher_oid: str
    cipher_params_der: bytes
    ciphertext: bytes | None
    aad: bytes
    mac: bytes


@dataclass(frozen=True, slots=True)
class Attribute:
    """A signed attribute: its type and the DER of each value."""

    oid: str
    values: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """A SignerInfo, as received (RFC 5652 section 5.3)."""

    version: int
    sid: CertId
    digest_oid: str
    signed_attrs_der: bytes | None     # re-tagged as SET OF (0x31), RFC 5652 section 5.4
    attributes: tuple[Attribute, ...]
    signature_oid: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class SignedData:
    """A SignedData, as received (RFC 5652 section 5.1)."""

    version: int
    digest_oids: tuple[str, ...]
    content_type: str
    content: bytes | None
    certificates: tuple[bytes, ...]
    signers: tuple[SignerInfo, ...]


def retag(tag: int, encoded: bytes) -> bytes:
    """The same value under another tag (IMPLICIT tagging, X.690 section 8.14)."""
    return bytes((tag,)) + encoded[1:]


__all__ = [
    "DH_STD_SHA1KDF",
    "DH_STD_SHA224KDF",
    "DH_STD_SHA256KDF",
    "DH_STD_SHA384KDF",
    "DH_STD_SHA512KDF",
    "ECDSA_WITH_SHA256",
    "ECDSA_WITH_SHA384",
    "ID_AES128_GCM",
    "ID_AES128_WRAP",
    "ID_AES256_GCM",
    "ID_AES256_WRAP",
    "ID_AUTH_ENVELOPED_DATA",
    "ID_CONTENT_TYPE",
    "ID_DATA",
    "ID_EC_PUBLIC_KEY",
    "ID_ENVELOPED_DATA",
    "ID_MESSAGE_DIGEST",
    "ID_SHA1",
    "ID_SHA256",
    "ID_SHA384",
    "ID_SHA512",
    "ID_SIGNED_DATA",
    "ID_SIGNING_TIME",
    "Attribute",
    "AuthEnveloped",
    "CertId",
    "KeyAgreeRecipient",
    "SignedData",
    "SignerInfo",
    "retag",
]
