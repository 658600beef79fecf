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
from collections.abc import Callable
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from juki_conformance.cases_codec import expect_error
from juki_conformance.cases_envelope_backlog import open_request
from juki_conformance.cases_envelope_profile import (
    RECIPIENT,
    auth_enveloped,
    issuer_serial,
    sample_header,
    signed_data,
    world,
)
from juki_conformance.model import Case, Outcome
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.envelope import cms, pki
from juki_protocol.envelope.ca import ORGANIZATION, node_urn
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages import Profile
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


def _signed(message: bytes, header: PduHeader, **changes: Any) -> bytes:
    """:func:`signed_data` with ``changes``; a sid of subjectKeyIdentifier makes the
    SignedData and the SignerInfo version 3 (RFC 5652 sections 5.1 and 5.3)."""
    if changes.get("signer_ski") is not None:
        changes = {"version": 3, "signer_version": 3, **changes}
    return signed_data(message, header, **changes)


@cache
def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_transport_only(cek: bytes) -> bytes:
    """RecipientInfos holding a single KeyTransRecipientInfo (RFC 5652 section 6.2.1):
    the content key encrypted with RSA-OAEP to a throw-away RSA key."""
    encrypted = _rsa_key().public_key().encrypt(cek, padding.OAEP(
        mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return cms.der_set(cms.der_seq(cms.der_int(0),
                                   issuer_serial(world()["nodes"][RECIPIENT].cert),
                                   cms.alg_id(ID_RSA_ENCRYPTION, b"\x05\x00"),
                                   cms.der_octets(encrypted)))


def _no_recipient(cek: bytes) -> bytes:
    """An empty RecipientInfos (the content key goes to nobody)."""
    return cms.der_set()


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
    return auth_enveloped(_signed(message, header), to=cert,
                      rid=cms.tlv(0xA0, cms.der_octets(_ski(public))))


def _variants() -> list[tuple[str, str, tuple[str, ...], Callable[[AdapterSut], Outcome]]]:
    return [
        ("binding-time-fractional-second",
         "a juki-time half a second after the header time (a DER GeneralizedTime with a "
         "fraction) differs from the header: refused 2004", ("R-PDU-31",),
         _refused(lambda m, h: auth_enveloped(_signed(m, h, time_value=_fraction_time(h))),
                  ErrorCode.HEADER_BINDING_MISMATCH)),
        *((f"signing-time-{side}-header-time",
           f"a signingTime one second {side} the header time, every header-binding "
           "value equal to the header: refused 2004", ("R-PDU-31",),
           _refused(lambda m, h, d=delta: auth_enveloped(_signed(  # type: ignore[misc]  # a lambda binding a loop value
               m, h, signing_time=h.time + dt.timedelta(seconds=d))),
               ErrorCode.HEADER_BINDING_MISMATCH))
          for side, delta in (("before", -1), ("after", 1))),
        ("signer-key-id-names-no-certificate",
         "a SignerInfo naming its signer by a subjectKeyIdentifier that no included "
         "certificate has leaves the signer's certificate out: refused 2007",
         ("R-PDU-31",),
         _refused(lambda m, h: auth_enveloped(_signed(m, h, signer_ski=_other_ski())),
                  ErrorCode.ENVELOPE_MALFORMED)),
        ("signer-certificate-invalid-node-id",
         "a signer certificate of the network CA whose node URI names an invalid local "
         "government code (271005) names no node: refused 2017", ("R-PDU-31",),
         _refused(lambda m, h: auth_enveloped(_signed(m, h, signer=_signer_of_invalid_node())),
                  ErrorCode.CERT_INVALID)),
        *(("recipient-key-id-" + side,
           f"a KeyAgreeRecipientInfo naming the recipient by rKeyId with a key identifier "
           f"one {side} its certificate's (the content key wrapped for the recipient) "
           "names none of its certificates: refused 2006", ("R-PDU-29",),
           _refused(lambda m, h, d=delta: auth_enveloped(_signed(m, h), rid=cms.tlv(  # type: ignore[misc]  # a lambda binding a loop value
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
         _refused(lambda m, h: auth_enveloped(_signed(m, h), recipient_infos=_key_transport_only),
                  ErrorCode.ALGORITHM_UNSUPPORTED)),
        ("no-recipient-info",
         "an AuthEnvelopedData with an empty RecipientInfos (SET SIZE (1..MAX), RFC 5652 "
         "section 6.1) is malformed: refused 2007", ("R-PDU-29",),
         _refused(lambda m, h: auth_enveloped(_signed(m, h), recipient_infos=_no_recipient),
                  ErrorCode.ENVELOPE_MALFORMED)),
    ]


def envelope_path_cases() -> list[Case]:
    """The cases of this module, in a stable order."""
    return [Case(id=f"pdu/envelope/paths/{slug}", title=title, clause="pdu",
                 requirements=(*reqs, "R-CONF-11"), level="MUST", remediation=REMEDIATION,
                 mode="codec", ops=("open",), run=run)
            for slug, title, reqs, run in _variants()]


__all__ = ["envelope_path_cases"]
