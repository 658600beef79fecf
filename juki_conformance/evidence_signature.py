"""The evidence bundle's signature (spec/evidence.md): a detached CMS SignedData over
``manifest.json``, made by a certifying body's evidence-signing key, and checked offline.

:func:`sign_detached` and :func:`verify_detached` are the two sides (RFC 5652 section 5.2:
no eContent), ECDSA P-256 with SHA-256; :func:`issue_signer_certificate` makes the
signer's end-entity certificate, :func:`certificate_problem` checks it against a trust
anchor. :mod:`juki_conformance.evidence` writes and verifies the bundle around them.
``cms.build_signed_data`` always attaches the content, so the detached form is built
here from the same primitives.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from juki_protocol.envelope import cms, pki
from juki_protocol.envelope import envelope as env
from juki_protocol.envelope.ca import CertificateAuthority
from juki_protocol.errors import JukiError


def _cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def sign_detached(content: bytes, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate,
                  *, signing_time: dt.datetime,
                  extra_certs: Sequence[x509.Certificate] = ()) -> bytes:
    """DER ContentInfo(SignedData) over ``content`` without the content (detached).

    RFC 5652 section 5: version 1, SHA-256, one SignerInfo named by issuerAndSerialNumber
    with the signed attributes contentType, signingTime and messageDigest (section 11),
    ECDSA P-256 with SHA-256 (RFC 5758 section 3.2) using RFC 6979 deterministic
    signatures, so equal inputs give equal octets. Section 5.2: a detached signature
    omits eContent from EncapsulatedContentInfo.
    """
    pki.require_p256(key, "the signing key")
    attributes = (
        cms.attribute(cms.ID_CONTENT_TYPE, cms.der_oid(cms.ID_DATA)),
        cms.attribute(cms.ID_SIGNING_TIME,
                      cms.der_time(pki.as_utc(signing_time, "signing_time"))),
        cms.attribute(cms.ID_MESSAGE_DIGEST,
                      cms.der_octets(hashlib.sha256(content).digest())))
    cert_der = _cert_der(cert)
    sid = cms.issuer_and_serial(cms.certificate_issuer_der(cert_der), cert.serial_number)
    return cms.build_signed_data(
        content, attributes, sid=sid, detached=True,
        sign=lambda data: key.sign(data, ec.ECDSA(hashes.SHA256(),
                                                  deterministic_signing=True)),
        certificates=sorted({cert_der, *map(_cert_der, extra_certs)}))


def issue_signer_certificate(issuer: CertificateAuthority,
                             public_key: ec.EllipticCurvePublicKey, *, organization: str,
                             common_name: str, not_before: dt.datetime,
                             not_after: dt.datetime, serial: int,
                             deterministic: bool = False) -> x509.Certificate:
    """An end-entity certificate for a certifying body's evidence-signing key.

    Node certificates (:func:`juki_protocol.envelope.ca.issue_node_certificate`) name a network
    node and a role, which a certifying body is not, and carry keyAgreement; this one
    has basicConstraints CA:FALSE and keyUsage digitalSignature and nonRepudiation
    (both critical, RFC 5280 section 4.2.1.3) and no extendedKeyUsage, which is what
    ``openssl cms -verify`` requires of a signer under its default S/MIME purpose.
    """
    pki.require_p256(public_key, "the signer key")
    issuer_key = issuer.certificate.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                         x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer.certificate.subject)
               .public_key(public_key).serial_number(serial)
               .not_valid_before(pki.as_utc(not_before, "not_before"))
               .not_valid_after(pki.as_utc(not_after, "not_after"))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                              critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=True, key_encipherment=False,
                   data_encipherment=False, key_agreement=False, key_cert_sign=False,
                   crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key), critical=False))
    return builder.sign(issuer.key, hashes.SHA256(), ecdsa_deterministic=deterministic)


def verify_detached(p7s: bytes, content: bytes, content_name: str
                    ) -> tuple[x509.Certificate, tuple[x509.Certificate, ...],
                               dt.datetime | None]:
    """Check the detached SignedData ``p7s`` over ``content`` (the file
    ``content_name``, named in a problem); raise ValueError naming the problem.
    Returns the signer's certificate, the other certificates and the signingTime. The
    signer's certificate is not validated here: :func:`certificate_problem` does that."""
    try:
        sd = cms.parse_signed_data(p7s)
    except JukiError as exc:
        raise ValueError(f"not a CMS SignedData ({exc.args[0]})") from None
    if len(sd.signers) != 1:
        raise ValueError(f"{len(sd.signers)} signers; exactly 1 is required")
    si = sd.signers[0]
    if sd.content is not None:
        raise ValueError("the content is attached; the signature must be detached")
    if sd.content_type != cms.ID_DATA:
        raise ValueError(f"eContentType {sd.content_type} is not id-data")
    if si.digest_oid != cms.ID_SHA256 or si.signature_oid != cms.ECDSA_WITH_SHA256:
        raise ValueError(f"algorithm {si.signature_oid} with digest {si.digest_oid} is "
                         f"not ECDSA with SHA-256")
    if si.signed_attrs_der is None:
        raise ValueError("no signed attributes")
    attrs: dict[str, tuple[bytes, ...]] = {}
    for a in si.attributes:
        if a.oid in attrs or len(a.values) != 1:
            raise ValueError(f"signed attribute {a.oid} repeats or is not single-valued")
        attrs[a.oid] = a.values
    try:
        certs = tuple(x509.load_der_x509_certificate(c) for c in sd.certificates)
        signer = next((c for c in certs if env.cert_id_matches(si.sid, c)), None)
        if signer is None:
            raise ValueError("the signer's certificate is not included")
        if cms.ID_CONTENT_TYPE not in attrs or cms.ID_MESSAGE_DIGEST not in attrs:
            raise ValueError("the contentType or messageDigest attribute is missing")
        # RFC 5652 sections 11.1-11.2.
        if cms.read_oid(attrs[cms.ID_CONTENT_TYPE][0]) != cms.ID_DATA:
            raise ValueError("the contentType attribute is not id-data")
        if cms.read_octets(attrs[cms.ID_MESSAGE_DIGEST][0]) != \
                hashlib.sha256(content).digest():
            raise ValueError(f"the messageDigest attribute does not match {content_name}")
        key = signer.public_key()
        pki.require_p256(key, "the signer's key")
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(si.signature, si.signed_attrs_der, ec.ECDSA(hashes.SHA256()))
        signing_time = attrs.get(cms.ID_SIGNING_TIME)
        when = None if signing_time is None else cms.read_time(signing_time[0])
    except InvalidSignature:
        raise ValueError("the signature does not verify") from None
    except (JukiError, UnsupportedAlgorithm) as exc:
        raise ValueError(str(exc.args[0] if exc.args else exc)) from None
    return signer, tuple(c for c in certs if c is not signer), when


def certificate_problem(signer: x509.Certificate, others: Sequence[x509.Certificate],
                        anchors: tuple[x509.Certificate, ...], at: dt.datetime) -> str | None:
    """Why ``signer`` is not a valid evidence signer at ``at`` (a path through
    ``others`` to one of ``anchors``, validity, key usage, end entity), or None."""
    try:
        path = pki.build_path(signer, pki.TrustStore(anchors=anchors), others)
        for c in path:
            pki.check_validity_period(c, at)
        pki.check_key_usage(signer, pki.KeyPurpose.SIGNING)
        bc = signer.extensions.get_extension_for_class(x509.BasicConstraints).value
        if bc.ca:
            return "the signer's certificate is a CA certificate"
    except x509.ExtensionNotFound:
        return None
    except (JukiError, ValueError) as exc:
        return str(exc.args[0] if exc.args else exc)
    return None


__all__ = ["certificate_problem", "issue_signer_certificate", "sign_detached",
           "verify_detached"]
