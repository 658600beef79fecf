"""CMS structures of the envelope: DER construction and parsing (no policy here).

The envelope (:mod:`juki_protocol.envelope.envelope`) is a CMS ``ContentInfo`` holding an
``AuthEnvelopedData`` (RFC 5083) whose content, of type ``id-data``, is the DER of a
``ContentInfo`` holding a ``SignedData`` (RFC 5652 section 5) -- exactly what
``openssl cms -sign ... | openssl cms -encrypt -aes-256-gcm ...`` produces.

* **Construction** writes DER directly (X.690 section 10) with the small writer below, so
  every byte is under our control: AlgorithmIdentifier parameters absent where the RFCs
  say SHOULD be absent (RFC 5754 section 2, RFC 5758 section 3.2), SET OF values sorted
  (X.690 section 11.6), lengths minimal.
* **Parsing** uses asn1crypto, which also accepts BER: RFC 5652 allows BER everywhere
  except in signed attributes, whose received octets are kept as they are for signature
  verification (RFC 5652 section 5.4). Every parse failure becomes ENVELOPE_MALFORMED;
  the parsers return plain frozen dataclasses so that the checks in
  :mod:`juki_protocol.envelope.envelope` never touch asn1crypto objects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, ClassVar, NoReturn, cast

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509

from juki_protocol.envelope import cms_fast
from juki_protocol.envelope.cms_values import (
    DH_STD_SHA1KDF,
    DH_STD_SHA224KDF,
    DH_STD_SHA256KDF,
    DH_STD_SHA384KDF,
    DH_STD_SHA512KDF,
    ECDSA_WITH_SHA256,
    ECDSA_WITH_SHA384,
    ID_AES128_GCM,
    ID_AES128_WRAP,
    ID_AES256_GCM,
    ID_AES256_WRAP,
    ID_AUTH_ENVELOPED_DATA,
    ID_CONTENT_TYPE,
    ID_DATA,
    ID_EC_PUBLIC_KEY,
    ID_ENVELOPED_DATA,
    ID_MESSAGE_DIGEST,
    ID_SHA1,
    ID_SHA256,
    ID_SHA384,
    ID_SHA512,
    ID_SIGNED_DATA,
    ID_SIGNING_TIME,
    Attribute,
    AuthEnveloped,
    CertId,
    KeyAgreeRecipient,
    SignedData,
    SignerInfo,
    retag,
)
from juki_protocol.errors import ErrorCode, SecurityError

# A small DER writer (X.690 section 10) ------------------------------------------------

def tlv(tag: int, content: bytes) -> bytes:
    """One TLV with a single-octet tag and a minimal definite length."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content


@lru_cache(maxsize=512)
def der_oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER (X.690 section 8.19). Cached: the envelope uses a few fixed
    identifiers on every call."""
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"not an OID: {dotted}")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def der_int(value: int) -> bytes:
    """INTEGER, minimal two's complement (X.690 section 8.3)."""
    size = value.bit_length() // 8 + 1
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


def der_enum(value: int) -> bytes:
    """ENUMERATED (X.690 section 8.4)."""
    return b"\x0a" + der_int(value)[1:]


def der_octets(value: bytes) -> bytes:
    """OCTET STRING, primitive."""
    return tlv(0x04, value)


def der_bits(value: bytes) -> bytes:
    """BIT STRING of whole octets."""
    return tlv(0x03, b"\x00" + value)


def der_utf8(value: str) -> bytes:
    """UTF8String."""
    return tlv(0x0C, value.encode("utf-8"))


def der_seq(*parts: bytes) -> bytes:
    """SEQUENCE of already-encoded parts."""
    return tlv(0x30, b"".join(parts))


def der_set(*parts: bytes) -> bytes:
    """SET OF: the encodings sorted as octet strings (X.690 section 11.6)."""
    return tlv(0x31, b"".join(sorted(parts)))


def der_explicit(number: int, inner: bytes) -> bytes:
    """[number] EXPLICIT (context-specific, constructed)."""
    return tlv(0xA0 | number, inner)


def der_time(value: dt.datetime) -> bytes:
    """Time for signingTime: UTCTime for 1950-2049, else GeneralizedTime
    (RFC 5652 section 11.3); UTC, whole seconds, 'Z' (X.690 section 11.7-11.8)."""
    t = value.astimezone(dt.UTC)
    if 1950 <= t.year <= 2049:
        return tlv(0x17, t.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return der_generalized_time(t)


def der_generalized_time(value: dt.datetime) -> bytes:
    """GeneralizedTime, UTC, whole seconds, 'Z'."""
    return tlv(0x18, value.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")
               .encode("ascii"))


def alg_id(oid: str, params: bytes = b"") -> bytes:
    """AlgorithmIdentifier; ``params`` empty means absent."""
    return der_seq(der_oid(oid), params)


# Construction ---------------------------------------------------------------------------

def attribute(oid: str, value: bytes) -> bytes:
    """A single-valued Attribute (RFC 5652 section 5.3)."""
    return der_seq(der_oid(oid), der_set(value))


def issuer_and_serial(issuer_der: bytes, serial: int) -> bytes:
    """IssuerAndSerialNumber (RFC 5652 section 10.2.4)."""
    return der_seq(issuer_der, der_int(serial))


def build_signed_data(content: bytes, attributes: Sequence[bytes], *, sid: bytes,
                      sign: Callable[[bytes], bytes], certificates: Sequence[bytes],
                      digest_oid: str = ID_SHA256,
                      signature_oid: str = ECDSA_WITH_SHA256,
                      detached: bool = False) -> bytes:
    """ContentInfo(SignedData) with one signer (RFC 5652 sections 5.1-5.4).

    ``attributes`` are encoded Attributes; they are signed as the DER of a SET OF
    (tag 0x31) and stored under [0] IMPLICIT. ``sign`` returns the DER ECDSA signature
    of the octets it is given. eContentType is id-data and the content is attached
    (or, with ``detached``, left out: section 5.2), so SignedData and SignerInfo are
    version 1. The caller's attributes carry the messageDigest of ``content``.
    """
    signed_set = der_set(*attributes)
    signature = sign(signed_set)
    signer_info = der_seq(der_int(1), sid, alg_id(digest_oid), retag(0xA0, signed_set),
                          alg_id(signature_oid), der_octets(signature))
    signed_data = der_seq(
        der_int(1), der_set(alg_id(digest_oid)),
        der_seq(der_oid(ID_DATA),
                *(() if detached else (der_explicit(0, der_octets(content)),))),
        tlv(0xA0, b"".join(sorted(certificates))),       # [0] IMPLICIT CertificateSet
        der_set(signer_info))
    return der_seq(der_oid(ID_SIGNED_DATA), der_explicit(0, signed_data))


def ecc_cms_shared_info(key_info: bytes, ukm: bytes | None, key_bits: int) -> bytes:
    """ECC-CMS-SharedInfo, the X9.63 KDF's SharedInfo (RFC 5753 section 7.2).

    key_info: the key-wrap AlgorithmIdentifier as it appears in the
    KeyEncryptionAlgorithmIdentifier's parameters; key_bits: the KEK size in bits.
    """
    ukm_part = der_explicit(0, der_octets(ukm)) if ukm is not None else b""
    return der_seq(key_info, ukm_part, der_explicit(2, der_octets(key_bits.to_bytes(4, "big"))))


def build_auth_enveloped(*, originator_point: bytes, kdf_oid: str, wrap_oid: str,
                         recipients: Sequence[tuple[bytes, bytes]], cipher_oid: str,
                         nonce: bytes, ciphertext: bytes, mac: bytes,
                         ukm: bytes | None = None) -> bytes:
    """ContentInfo(AuthEnvelopedData) with one KeyAgreeRecipientInfo.

    RFC 5083 section 2.1 (version 0, no authAttrs, so the GCM AAD is empty); RFC 5652
    section 6.2.2 and RFC 5753 section 3.1.1 (version 3, originatorKey with
    id-ecPublicKey and absent parameters, the KDF scheme with the key wrap algorithm as
    parameter); RFC 5084 section 3.2 (GCMParameters: a 12-octet nonce and the ICV
    length). ``recipients`` are (encoded KeyAgreeRecipientIdentifier, wrapped key).
    """
    originator = der_explicit(0, tlv(0xA1, alg_id(ID_EC_PUBLIC_KEY)
                                     + der_bits(originator_point)))
    ukm_part = der_explicit(1, der_octets(ukm)) if ukm is not None else b""
    encrypted_keys = der_seq(*(der_seq(rid, der_octets(key)) for rid, key in recipients))
    kari = tlv(0xA1, der_int(3) + originator + ukm_part
               + alg_id(kdf_oid, alg_id(wrap_oid)) + encrypted_keys)
    icv = der_int(len(mac)) if len(mac) != 12 else b""   # DEFAULT 12 is omitted in DER
    content_info = der_seq(der_oid(ID_DATA),
                           alg_id(cipher_oid, der_seq(der_octets(nonce), icv)),
                           tlv(0x80, ciphertext))       # [0] IMPLICIT encryptedContent
    auth_enveloped = der_seq(der_int(0), der_set(kari), content_info, der_octets(mac))
    return der_seq(der_oid(ID_AUTH_ENVELOPED_DATA), der_explicit(0, auth_enveloped))


# Parsing --------------------------------------------------------------------------------

class _AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _GcmParameters(core.Sequence):  # type: ignore[misc]
    # RFC 5084 section 3.2.
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("aes_nonce", core.OctetString),
        ("aes_icvlen", core.Integer, {"default": 12}),
    ]


_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError,
                 OverflowError, UnicodeDecodeError)


def _malformed(what: str, exc: BaseException | None = None) -> NoReturn:
    detail = f": {type(exc).__name__}" if exc is not None else ""
    raise SecurityError(f"malformed {what}{detail}", code=ErrorCode.ENVELOPE_MALFORMED)


def _absent(value: Any) -> bool:
    return isinstance(value, core.Void)


def _version(value: Any) -> int:
    return int(value)


@lru_cache(maxsize=256)
def certificate_issuer_der(cert_der: bytes) -> bytes:
    """The issuer Name of a DER certificate, as its exact octets (for
    IssuerAndSerialNumber, RFC 5652 section 10.2.4). Cached by the certificate's
    octets (a failure raises and is not cached)."""
    try:
        return bytes(asn1_x509.Certificate.load(cert_der, strict=True)["tbs_certificate"]
                     ["issuer"].dump())
    except _PARSE_ERRORS as exc:
        _malformed("certificate", exc)


def parse_gcm_parameters(params_der: bytes) -> tuple[bytes, int]:
    """(nonce, ICV length) from GCMParameters (RFC 5084 section 3.2)."""
    fast = cms_fast.attempt(cms_fast.gcm_parameters, params_der)
    if fast is not None:
        return cast("tuple[bytes, int]", fast)
    try:
        p = _GcmParameters.load(params_der, strict=True)
        return bytes(p["aes_nonce"].native), int(p["aes_icvlen"].native)
    except _PARSE_ERRORS as exc:
        _malformed("GCMParameters", exc)


def content_type_of(data: bytes) -> str:
    """The contentType OID of a ContentInfo (RFC 5652 section 3)."""
    try:
        return str(cms.ContentInfo.load(data, strict=True)["content_type"].dotted)
    except _PARSE_ERRORS as exc:
        _malformed("ContentInfo", exc)


def _cert_id(choice: Any) -> CertId:
    if choice.name == "issuer_and_serial_number":
        ias = choice.chosen
        return CertId(issuer_der=ias["issuer"].dump(), serial=int(ias["serial_number"].native))
    if choice.name in ("subject_key_identifier", "r_key_id"):
        value = choice.chosen
        if choice.name == "r_key_id":
            value = value["subject_key_identifier"]
        return CertId(ski=bytes(value.native))
    _malformed(f"certificate identifier {choice.name}")


def _key_agree(kari: Any) -> KeyAgreeRecipient:
    orig = kari["originator"]
    alg = point = None
    if orig.name == "originator_key":
        pk = orig.chosen
        alg = str(pk["algorithm"]["algorithm"].dotted)
        bits = pk["public_key"].contents
        if not bits or bits[0] != 0:
            _malformed("originator public key")
        point = bytes(bits[1:])
    ukm = None if _absent(kari["ukm"]) else bytes(kari["ukm"].native)
    kea = kari["key_encryption_algorithm"]
    wrap_der = wrap_oid = None
    if not _absent(kea["parameters"]):
        wrap_der = kea["parameters"].dump()
        wrap_oid = str(_AlgorithmIdentifier.load(wrap_der, strict=True)["algorithm"].dotted)
    keys = tuple((_cert_id(rek["rid"]), bytes(rek["encrypted_key"].native))
                 for rek in kari["recipient_encrypted_keys"])
    return KeyAgreeRecipient(version=_version(kari["version"]), originator_kind=orig.name,
                             originator_alg=alg, originator_point=point, ukm=ukm,
                             kdf_oid=str(kea["algorithm"].dotted), wrap_alg_der=wrap_der,
                             wrap_oid=wrap_oid, keys=keys)


def parse_auth_enveloped(data: bytes) -> AuthEnveloped:
    """Parse a ContentInfo(AuthEnvelopedData).

    Raises ALGORITHM_UNSUPPORTED for a plain EnvelopedData (no authenticated
    encryption) and ENVELOPE_MALFORMED for anything else that is not an
    AuthEnvelopedData.
    """
    fast = cms_fast.attempt(cms_fast.auth_enveloped, data)
    return fast if fast is not None else parse_auth_enveloped_asn1crypto(data)


def parse_auth_enveloped_asn1crypto(data: bytes) -> AuthEnveloped:
    """:func:`parse_auth_enveloped` with asn1crypto, for every input (BER too)."""
    kind = content_type_of(data)
    if kind == ID_ENVELOPED_DATA:
        raise SecurityError("EnvelopedData (unauthenticated encryption) is not accepted; "
                            "the profile requires AuthEnvelopedData with AES-256-GCM",
                            code=ErrorCode.ALGORITHM_UNSUPPORTED)
    if kind != ID_AUTH_ENVELOPED_DATA:
        _malformed(f"envelope: content type {kind} is not AuthEnvelopedData")
    try:
        aed = cms.ContentInfo.load(data, strict=True)["content"]
        key_agree: list[KeyAgreeRecipient] = []
        others: list[str] = []
        for ri in aed["recipient_infos"]:
            if ri.name == "kari":
                key_agree.append(_key_agree(ri.chosen))
            else:
                others.append(str(ri.name))
        eci = aed["auth_encrypted_content_info"]
        cea = eci["content_encryption_algorithm"]
        params = cea["parameters"]
        encrypted = eci["encrypted_content"]
        auth_attrs = aed["auth_attrs"]
        # RFC 5083 section 2.2: the AAD is the DER of authAttrs with a SET OF tag.
        aad = b"" if _absent(auth_attrs) else retag(0x31, auth_attrs.dump())
        return AuthEnveloped(
            version=_version(aed["version"]), key_agree=tuple(key_agree),
            other_recipient_kinds=tuple(others),
            content_type=str(eci["content_type"].dotted),
            cipher_oid=str(cea["algorithm"].dotted),
            cipher_params_der=b"" if _absent(params) else params.dump(),
            ciphertext=None if _absent(encrypted) else bytes(encrypted.native),
            aad=aad, mac=bytes(aed["mac"].native))
    except SecurityError:
        raise
    except _PARSE_ERRORS as exc:
        _malformed("AuthEnvelopedData", exc)


def parse_signed_data(data: bytes) -> SignedData:
    """Parse a ContentInfo(SignedData); raises ENVELOPE_MALFORMED if it is not one."""
    fast = cms_fast.attempt(cms_fast.signed_data, data)
    return fast if fast is not None else parse_signed_data_asn1crypto(data)


def parse_signed_data_asn1crypto(data: bytes) -> SignedData:
    """:func:`parse_signed_data` with asn1crypto, for every input (BER too)."""
    kind = content_type_of(data)
    if kind != ID_SIGNED_DATA:
        _malformed(f"inner content: content type {kind} is not SignedData")
    try:
        sd = cms.ContentInfo.load(data, strict=True)["content"]
        encap = sd["encap_content_info"]
        raw = encap["content"]
        content = None if _absent(raw) else raw.native
        if content is not None and not isinstance(content, bytes):
            content = bytes(raw.contents)     # another eContentType; refused later
        certs = () if _absent(sd["certificates"]) else tuple(
            c.chosen.dump() for c in sd["certificates"] if c.name == "certificate")
        signers = []
        for si in sd["signer_infos"]:
            attrs = si["signed_attrs"]
            signers.append(SignerInfo(
                version=_version(si["version"]), sid=_cert_id(si["sid"]),
                digest_oid=str(si["digest_algorithm"]["algorithm"].dotted),
                signed_attrs_der=None if _absent(attrs) else retag(0x31, attrs.dump()),
                attributes=() if _absent(attrs) else tuple(
                    Attribute(str(a["type"].dotted), tuple(v.dump() for v in a["values"]))
                    for a in attrs),
                signature_oid=str(si["signature_algorithm"]["algorithm"].dotted),
                signature=bytes(si["signature"].native)))
        return SignedData(
            version=_version(sd["version"]),
            digest_oids=tuple(str(a["algorithm"].dotted) for a in sd["digest_algorithms"]),
            content_type=str(encap["content_type"].dotted), content=content,
            certificates=certs, signers=tuple(signers))
    except SecurityError:
        raise
    except _PARSE_ERRORS as exc:
        _malformed("SignedData", exc)


def read_octets(value: bytes) -> bytes:
    """An OCTET STRING attribute value."""
    fast = cms_fast.primitive(value, 0x04)
    if fast is not None:
        return fast
    try:
        return bytes(core.OctetString.load(value, strict=True).native)
    except _PARSE_ERRORS as exc:
        _malformed("OCTET STRING attribute value", exc)


def read_utf8(value: bytes) -> str:
    """A UTF8String attribute value."""
    fast = cms_fast.primitive(value, 0x0C)
    if fast is not None:
        try:
            return fast.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        return str(core.UTF8String.load(value, strict=True).native)
    except _PARSE_ERRORS as exc:
        _malformed("UTF8String attribute value", exc)


def read_enum(value: bytes) -> int:
    """An ENUMERATED attribute value, as its number."""
    if not value or value[0] != 0x0A:
        _malformed("ENUMERATED attribute value")
    fast = cms_fast.primitive(value, 0x0A)
    if fast:
        return int.from_bytes(fast, "big", signed=True)
    try:
        return int(core.Integer.load(b"\x02" + value[1:], strict=True).native)
    except _PARSE_ERRORS as exc:
        _malformed("ENUMERATED attribute value", exc)


def read_oid(value: bytes) -> str:
    """An OBJECT IDENTIFIER attribute value."""
    fast = cms_fast.primitive(value, 0x06)
    if fast is not None:
        try:
            return cms_fast.oid_text(fast)
        except cms_fast.Slow:
            pass
    try:
        return str(core.ObjectIdentifier.load(value, strict=True).dotted)
    except _PARSE_ERRORS as exc:
        _malformed("OBJECT IDENTIFIER attribute value", exc)


def read_time(value: bytes) -> dt.datetime:
    """A UTCTime or GeneralizedTime attribute value, as an aware UTC datetime."""
    fast = cms_fast.time_value(value)
    if fast is not None:
        return fast
    try:
        if value[:1] == b"\x17":
            t = core.UTCTime.load(value, strict=True).native
        elif value[:1] == b"\x18":
            t = core.GeneralizedTime.load(value, strict=True).native
        else:
            _malformed("time attribute value")
    except _PARSE_ERRORS as exc:
        _malformed("time attribute value", exc)
    if not isinstance(t, dt.datetime) or t.tzinfo is None:
        _malformed("time attribute value")
    return t.astimezone(dt.UTC)


#: The object identifiers and parsed values of :mod:`juki_protocol.envelope.cms_values` are
#: re-exported: the envelope and the tools use them through this module.
__all__ = [
    "DH_STD_SHA1KDF", "DH_STD_SHA224KDF", "DH_STD_SHA256KDF", "DH_STD_SHA384KDF",
    "DH_STD_SHA512KDF", "ECDSA_WITH_SHA256", "ECDSA_WITH_SHA384", "ID_AES128_GCM",
    "ID_AES128_WRAP", "ID_AES256_GCM", "ID_AES256_WRAP", "ID_AUTH_ENVELOPED_DATA",
    "ID_CONTENT_TYPE", "ID_DATA", "ID_EC_PUBLIC_KEY", "ID_ENVELOPED_DATA", "ID_MESSAGE_DIGEST",
    "ID_SHA1", "ID_SHA256", "ID_SHA384", "ID_SHA512", "ID_SIGNED_DATA", "ID_SIGNING_TIME",
    "Attribute", "AuthEnveloped", "CertId", "KeyAgreeRecipient", "SignedData", "SignerInfo",
    "alg_id", "attribute", "build_auth_enveloped", "build_signed_data", "certificate_issuer_der",
    "content_type_of", "der_bits", "der_enum", "der_explicit", "der_generalized_time", "der_int",
    "der_octets", "der_oid", "der_seq", "der_set", "der_time", "der_utf8", "ecc_cms_shared_info",
    "issuer_and_serial", "parse_auth_enveloped", "parse_auth_enveloped_asn1crypto",
    "parse_gcm_parameters", "parse_signed_data", "parse_signed_data_asn1crypto", "read_enum",
    "read_octets", "read_oid", "read_time", "read_utf8", "retag", "tlv",
]
