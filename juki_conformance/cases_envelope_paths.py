"""Envelope cases in codec mode for the inputs that leave the envelope's common layout
(spec/pdu.md section 7): a header-binding time with a fractional second, certificates
named by subject key identifier instead of issuer and serial number, and an
AuthEnvelopedData without a key agreement recipient.

The runner builds each envelope itself with real keys (the throw-away network of
:func:`juki_conformance.cases_envelope_profile.world`), valid in every respect but the
one the case varies, and asks the SUT's adapter to ``open`` it (spec/conformance.md)
with the clear header. Each answer must be the precise local code (R-CONF-11):

- juki-time is the header's time (R-PDU-31: every header-binding value equals the clear
  header); a DER GeneralizedTime half a second after it (X.690 section 11.7 allows a
  fraction) differs from it: 2004 HEADER_BINDING_MISMATCH (spec/errors.md); so does a
  signingTime a second before or after the header time (section 7: the signing time
  equals the header time);
- a SignerInfo whose subjectKeyIdentifier (RFC 5652 section 5.3) names no included
  certificate leaves the signer's certificate out of the SignedData, which section 7
  requires: 2007 ENVELOPE_MALFORMED;
- a KeyAgreeRecipientInfo whose rKeyId (RFC 5652 section 6.2.2) holds a key identifier
  that none of the recipient's certificates has -- another key's, or any when the
  certificate carries no SubjectKeyIdentifier extension, so that nothing can match it --
  names no certificate of the recipient: 2006 NO_MATCHING_RECIPIENT. The content key
  is wrapped for the recipient's own key all the same, so an opener that matched the
  identifier wrongly would open the envelope;
- an AuthEnvelopedData whose only RecipientInfo is a key transport one (RSA) uses a key
  management algorithm outside the profile (section 7: one KeyAgreeRecipientInfo with
  ECDH): 2005 ALGORITHM_UNSUPPORTED; one with no RecipientInfo at all breaks
  ``RecipientInfos ::= SET SIZE (1..MAX)`` (RFC 5652 section 6.1): 2007.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from cryptography.x509.oid import NameOID

from juki_conformance.cases_codec import expect_error
from juki_conformance.cases_envelope_backlog import open_request
from juki_conformance.cases_envelope_profile import RECIPIENT, SENDER, sample_header, world
from juki_conformance.model import Case, Outcome
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.codec.schema import APPLICATION_TAGS
from juki_protocol.envelope import cms, pki
from juki_protocol.envelope import envelope as env
from juki_protocol.envelope.ca import ORGANIZATION, node_urn
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import NodeId, Profile
from juki_protocol.messages.pdu import PduHeader

ID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"          # RFC 8017 appendix A.1
REMEDIATION = (
    "Open envelopes as spec/pdu.md section 7 says: compare every header-binding "
    "attribute with the clear header, juki-time to the fraction of a second (2004 when "
    "it differs); find the signer's certificate among the included ones by the "
    "SignerInfo's sid, issuerAndSerialNumber or subjectKeyIdentifier (RFC 5652 section "
    "5.3; none found: 2007); match a RecipientInfo to your certificates by issuer and "
    "serial number or by subject key identifier, and a key identifier never to a "
    "certificate without one (none matched: 2006); refuse an envelope without a "
    "KeyAgreeRecipientInfo: 2005 when it has another kind only, 2007 when it has no "
    "RecipientInfo. Report the precise local code (R-CONF-11).")


def _ski(key: ec.EllipticCurvePublicKey) -> bytes:
    """The subject key identifier of RFC 5280 section 4.2.1.2 method 1 for ``key``."""
    return bytes(x509.SubjectKeyIdentifier.from_public_key(key).digest)


def _cert_der(cert: x509.Certificate) -> bytes:
    return bytes(cert.public_bytes(serialization.Encoding.DER))


def _issuer_serial(cert: x509.Certificate) -> bytes:
    return cms.issuer_and_serial(cms.certificate_issuer_der(_cert_der(cert)),
                                 cert.serial_number)


def _node_certificate(key: ec.EllipticCurvePrivateKey, *, urn: str, common_name: str,
                      serial: int, ski: bool = True) -> x509.Certificate:
    """A certificate of the network CA for ``key`` as ``issue_node_certificate`` makes
    one, but with the subjectAltName URI and the common name given as text (so that
    they may name no valid node) and, unless ``ski``, no SubjectKeyIdentifier."""
    ca = world()["ca"]
    now = dt.datetime(2026, 4, 1, 9, 0, 0, tzinfo=dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([
                   x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                   x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
               .issuer_name(ca.certificate.subject).public_key(key.public_key())
               .serial_number(serial).not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                              critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False,
                   key_encipherment=False, data_encipherment=False, key_agreement=True,
                   key_cert_sign=False, crl_sign=False, encipher_only=False,
                   decipher_only=False), critical=True)
               .add_extension(x509.SubjectAlternativeName(
                   [x509.UniformResourceIdentifier(urn)]), critical=False))
    if ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


@cache
def _recipient_without_ski() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The recipient's node, certified by the network CA as ``issue_node_certificate``
    would but without the SubjectKeyIdentifier extension (RFC 5280 section 4.2.1.2 has
    a CA include it; a certificate without it is still a valid node certificate)."""
    node = world()["nodes"][RECIPIENT].node
    key = pki.generate_key()
    return key, _node_certificate(key, urn=node_urn(node), common_name=str(node),
                                  serial=40, ski=False)


def _binding(header: PduHeader, *, time_value: bytes | None = None) -> list[bytes]:
    """The five header-binding attributes of spec/pdu.md section 7 for ``header``;
    ``time_value`` replaces the DER of juki-time's value."""
    def node(n: NodeId) -> bytes:
        return cms.der_utf8(f"{n.role.value}:{n.code}")
    return [cms.attribute(env.ID_JUKI_MESSAGE_ID, cms.der_octets(header.message_id)),
            cms.attribute(env.ID_JUKI_MESSAGE_TYPE,
                          cms.der_enum(APPLICATION_TAGS[header.message_type.type_name])),
            cms.attribute(env.ID_JUKI_SENDER, node(header.sender)),
            cms.attribute(env.ID_JUKI_RECIPIENT, node(header.recipient)),
            cms.attribute(env.ID_JUKI_TIME,
                          time_value or cms.der_generalized_time(header.time))]


def _signed(message: bytes, header: PduHeader, *, time_value: bytes | None = None,
            signing_time: dt.datetime | None = None, signer_ski: bytes | None = None,
            signer: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None = None
            ) -> bytes:
    """ContentInfo(SignedData) over ``message`` signed by the sender, as section 7
    profiles it, but for juki-time's value, the signing time (by default the header
    time) and, with ``signer_ski``, a sid of
    subjectKeyIdentifier (then SignedData and SignerInfo are version 3, RFC 5652
    sections 5.1 and 5.3); ``signer`` replaces the sender's key and certificate."""
    node = world()["nodes"][SENDER]
    key, cert = signer or (node.key, node.cert)
    attrs = [cms.attribute(cms.ID_CONTENT_TYPE, cms.der_oid(cms.ID_DATA)),
             cms.attribute(cms.ID_SIGNING_TIME, cms.der_time(signing_time or header.time)),
             cms.attribute(cms.ID_MESSAGE_DIGEST,
                           cms.der_octets(hashlib.sha256(message).digest())),
             *_binding(header, time_value=time_value)]
    signed_set = cms.der_set(*attrs)
    signature = key.sign(signed_set, ec.ECDSA(hashes.SHA256()))
    if signer_ski is None:
        version, sid = 1, _issuer_serial(cert)
    else:
        version, sid = 3, cms.tlv(0x80, signer_ski)     # [0] IMPLICIT OCTET STRING
    signer_info = cms.der_seq(cms.der_int(version), sid, cms.alg_id(cms.ID_SHA256),
                              cms.retag(0xA0, signed_set),
                              cms.alg_id(cms.ECDSA_WITH_SHA256), cms.der_octets(signature))
    body = cms.der_seq(cms.der_int(version), cms.der_set(cms.alg_id(cms.ID_SHA256)),
                       cms.der_seq(cms.der_oid(cms.ID_DATA),
                                   cms.der_explicit(0, cms.der_octets(message))),
                       cms.tlv(0xA0, _cert_der(cert)), cms.der_set(signer_info))
    return cms.der_seq(cms.der_oid(cms.ID_SIGNED_DATA), cms.der_explicit(0, body))


@cache
def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _enveloped(inner: bytes, *, to: x509.Certificate | None = None,
               rid: bytes | None = None, recipients: str = "kari") -> bytes:
    """ContentInfo(AuthEnvelopedData) around ``inner`` (RFC 5083, AES-256-GCM), its
    content key wrapped for the key of ``to`` (the recipient's certificate by default)
    as section 7 profiles it (RFC 5753: ECDH, sha256kdf, id-aes256-wrap), that key
    named by ``rid`` (by default the issuerAndSerialNumber of ``to``).

    ``recipients``: ``kari`` for that one KeyAgreeRecipientInfo; ``ktri`` for a single
    KeyTransRecipientInfo instead (RFC 5652 section 6.2.1: the content key encrypted
    with RSA-OAEP to a throw-away RSA key); ``none`` for an empty RecipientInfos."""
    cert = to or world()["nodes"][RECIPIENT].cert
    cek, nonce = os.urandom(32), os.urandom(12)
    if recipients == "kari":
        eph = ec.generate_private_key(ec.SECP256R1())
        public = cert.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        wrap = cms.alg_id(cms.ID_AES256_WRAP)
        kek = X963KDF(algorithm=hashes.SHA256(), length=32,
                      sharedinfo=cms.ecc_cms_shared_info(wrap, None, 256)).derive(
                          eph.exchange(ec.ECDH(), public))
        point = eph.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint)
        originator = cms.der_explicit(0, cms.tlv(0xA1, cms.alg_id(cms.ID_EC_PUBLIC_KEY)
                                                 + cms.der_bits(point)))
        keys = cms.der_seq(cms.der_seq(rid or _issuer_serial(cert),
                                       cms.der_octets(aes_key_wrap(kek, cek))))
        infos = cms.der_set(cms.tlv(0xA1, cms.der_int(3) + originator
                                    + cms.alg_id(cms.DH_STD_SHA256KDF, wrap) + keys))
    elif recipients == "ktri":
        encrypted = _rsa_key().public_key().encrypt(cek, padding.OAEP(
            mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        infos = cms.der_set(cms.der_seq(cms.der_int(0), _issuer_serial(cert),
                                        cms.alg_id(ID_RSA_ENCRYPTION, b"\x05\x00"),
                                        cms.der_octets(encrypted)))
    else:
        infos = cms.der_set()
    sealed = AESGCM(cek).encrypt(nonce, inner, None)
    content = cms.der_seq(cms.der_oid(cms.ID_DATA),
                          cms.alg_id(cms.ID_AES256_GCM, cms.der_seq(cms.der_octets(nonce),
                                                                    cms.der_int(16))),
                          cms.tlv(0x80, sealed[:-16]))
    body = cms.der_seq(cms.der_int(0), infos, content, cms.der_octets(sealed[-16:]))
    return cms.der_seq(cms.der_oid(cms.ID_AUTH_ENVELOPED_DATA), cms.der_explicit(0, body))


def _fraction_time(header: PduHeader) -> bytes:
    """GeneralizedTime ``YYYYMMDDHHMMSS.5Z``: half a second after the header time, in
    DER (X.690 section 11.7: a fraction without trailing zeros, and 'Z')."""
    return cms.tlv(0x18, header.time.strftime("%Y%m%d%H%M%S.5Z").encode("ascii"))


@cache
def _signer_of_invalid_node() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The sender's node, certified by the network CA, but its subjectAltName URI and
    common name name local government code 271005, whose check digit is wrong (the
    right one is 271004, spec/identifiers.md)."""
    key = pki.generate_key()
    return key, _node_certificate(key, urn="urn:juki:node:municipality:271005",
                                  common_name="municipality:271005", serial=41)


def _near_recipient_ski(delta: int) -> bytes:
    """The recipient certificate's key identifier, read as a big-endian number, plus
    ``delta``: an identifier of no certificate, just below or above the right one in
    octet order (so that an ordering comparison in place of equality matches it)."""
    public = world()["nodes"][RECIPIENT].cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    ski = _ski(public)
    return (int.from_bytes(ski, "big") + delta).to_bytes(len(ski), "big")


def _other_ski() -> bytes:
    """The key identifier of a key no certificate of the run holds."""
    return _ski(ec.generate_private_key(ec.SECP256R1()).public_key())


Build = Callable[[bytes, PduHeader], bytes]


def _refused(build: Build, code: ErrorCode, *,
             credential: tuple[Any, x509.Certificate] | None = None
             ) -> Callable[[AdapterSut], Outcome]:
    """The ``open`` of ``build``'s envelope, with its clear header, must be refused with
    ``code``; ``credential`` replaces the recipient's key and certificate."""
    def run(sut: AdapterSut) -> Outcome:
        header = sample_header()
        message = codec.encode(example("IdentityInfoUpdate", "conformance",
                                       Profile.CURRENT))
        request = open_request(build(message, header), header)
        if credential is not None:
            key, cert = credential
            request = {**request, "credentials": [{
                "certificate": pki.cert_pem(cert).decode(),
                "privateKey": pki.key_pem(key).decode()}]}
        return expect_error(sut.request("open", **request), int(code))
    return run


def _without_ski(message: bytes, header: PduHeader) -> bytes:
    _, cert = _recipient_without_ski()
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return _enveloped(_signed(message, header), to=cert,
                      rid=cms.tlv(0xA0, cms.der_octets(_ski(public))))


def _variants() -> list[tuple[str, str, tuple[str, ...], Callable[[AdapterSut], Outcome]]]:
    return [
        ("binding-time-fractional-second",
         "a juki-time half a second after the header time (a DER GeneralizedTime with a "
         "fraction) differs from the header: refused 2004", ("R-PDU-31",),
         _refused(lambda m, h: _enveloped(_signed(m, h, time_value=_fraction_time(h))),
                  ErrorCode.HEADER_BINDING_MISMATCH)),
        *((f"signing-time-{side}-header-time",
           f"a signingTime one second {side} the header time, every header-binding "
           "value equal to the header: refused 2004", ("R-PDU-31",),
           _refused(lambda m, h, d=delta: _enveloped(_signed(  # type: ignore[misc]  # a lambda binding a loop value
               m, h, signing_time=h.time + dt.timedelta(seconds=d))),
               ErrorCode.HEADER_BINDING_MISMATCH))
          for side, delta in (("before", -1), ("after", 1))),
        ("signer-key-id-names-no-certificate",
         "a SignerInfo naming its signer by a subjectKeyIdentifier that no included "
         "certificate has leaves the signer's certificate out: refused 2007",
         ("R-PDU-31",),
         _refused(lambda m, h: _enveloped(_signed(m, h, signer_ski=_other_ski())),
                  ErrorCode.ENVELOPE_MALFORMED)),
        ("signer-certificate-invalid-node-id",
         "a signer certificate of the network CA whose node URI names an invalid local "
         "government code (271005) names no node: refused 2017", ("R-PDU-31",),
         _refused(lambda m, h: _enveloped(_signed(m, h, signer=_signer_of_invalid_node())),
                  ErrorCode.CERT_INVALID)),
        *(("recipient-key-id-" + side,
           f"a KeyAgreeRecipientInfo naming the recipient by rKeyId with a key identifier "
           f"one {side} its certificate's (the content key wrapped for the recipient) "
           "names none of its certificates: refused 2006", ("R-PDU-29",),
           _refused(lambda m, h, d=delta: _enveloped(_signed(m, h), rid=cms.tlv(  # type: ignore[misc]  # a lambda binding a loop value
               0xA0, cms.der_octets(_near_recipient_ski(d)))),
               ErrorCode.NO_MATCHING_RECIPIENT))
          for side, delta in (("below", -1), ("above", 1))),
        ("recipient-key-id-certificate-without-ski",
         "an rKeyId can name no certificate without a SubjectKeyIdentifier extension, "
         "even one whose key the content key is wrapped for: refused 2006",
         ("R-PDU-29",),
         _refused(_without_ski, ErrorCode.NO_MATCHING_RECIPIENT,
                  credential=_recipient_without_ski())),
        ("key-transport-recipient-only",
         "an AuthEnvelopedData whose only RecipientInfo is a KeyTransRecipientInfo "
         "(RSA) uses key management outside the profile: refused 2005",
         ("R-PDU-29", "R-PDU-30"),
         _refused(lambda m, h: _enveloped(_signed(m, h), recipients="ktri"),
                  ErrorCode.ALGORITHM_UNSUPPORTED)),
        ("no-recipient-info",
         "an AuthEnvelopedData with an empty RecipientInfos (SET SIZE (1..MAX), RFC 5652 "
         "section 6.1) is malformed: refused 2007", ("R-PDU-29",),
         _refused(lambda m, h: _enveloped(_signed(m, h), recipients="none"),
                  ErrorCode.ENVELOPE_MALFORMED)),
    ]


def envelope_path_cases() -> list[Case]:
    """The cases of this module, in a stable order."""
    return [Case(id=f"pdu/envelope/paths/{slug}", title=title, clause="pdu",
                 requirements=(*reqs, "R-CONF-11"), level="MUST", remediation=REMEDIATION,
                 mode="codec", ops=("open",), run=run)
            for slug, title, reqs, run in _variants()]


__all__ = ["envelope_path_cases"]
