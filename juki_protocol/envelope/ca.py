"""The network CA's side of the PKI: making the root and intermediate CAs, issuing node
certificates and signing revocation lists (spec/pdu.md section 1).

A node never issues: it loads its certificate, the CA certificates and the CRLs as PEM
files and checks them (:mod:`juki_protocol.envelope.pki`, the node-certificate profile
described there; :mod:`juki_protocol.envelope.revocation`). What is here runs in the
CA's tools (``juki pki``), in ``juki network up``, in the vector generators, in the
conformance runner's lower tester and in tests.

Everything here is sans-I/O: times and serial numbers are explicit arguments; nothing
reads a clock or a file. ``deterministic=True`` signs with RFC 6979 nonces, for vectors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from juki_protocol.envelope.keys import require_p256
from juki_protocol.envelope.pki import NODE_URN_PREFIX, as_utc
from juki_protocol.messages.common import NodeId

ORGANIZATION = "Juki Network"


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA: its private key and its certificate (root or intermediate)."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
                issuer_public_key: ec.EllipticCurvePublicKey, not_before: dt.datetime,
                not_after: dt.datetime, serial: int,
                path_length: int | None) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(serial)
            .not_valid_before(as_utc(not_before, "not_before"))
            .not_valid_after(as_utc(not_after, "not_after"))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length),
                           critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_public_key), critical=False))


def create_root_ca(key: ec.EllipticCurvePrivateKey, *, common_name: str,
                   not_before: dt.datetime, not_after: dt.datetime, serial: int,
                   deterministic: bool = False) -> CertificateAuthority:
    """A self-signed root CA certificate for ``key`` (the offline network CA)."""
    require_p256(key, "the CA key")
    name = _ca_name(common_name)
    builder = _ca_builder(name, name, key.public_key(), key.public_key(), not_before,
                          not_after, serial, None)
    cert = builder.sign(key, hashes.SHA256(), ecdsa_deterministic=deterministic)
    return CertificateAuthority(key, cert)


def create_intermediate_ca(issuer: CertificateAuthority, key: ec.EllipticCurvePrivateKey,
                           *, common_name: str, not_before: dt.datetime,
                           not_after: dt.datetime, serial: int,
                           deterministic: bool = False) -> CertificateAuthority:
    """An issuing intermediate CA under ``issuer`` (pathLenConstraint 0)."""
    require_p256(key, "the CA key")
    issuer_key = issuer.certificate.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    builder = _ca_builder(_ca_name(common_name), issuer.certificate.subject,
                          key.public_key(), issuer_key, not_before, not_after, serial, 0)
    cert = builder.sign(issuer.key, hashes.SHA256(), ecdsa_deterministic=deterministic)
    return CertificateAuthority(key, cert)


def node_urn(node: NodeId) -> str:
    """The subjectAltName URI that names ``node``: ``urn:juki:node:<role>:<id>``."""
    return f"{NODE_URN_PREFIX}{node.role.value}:{node.code}"


def issue_node_certificate(issuer: CertificateAuthority, public_key: ec.EllipticCurvePublicKey,
                           node: NodeId, *, not_before: dt.datetime, not_after: dt.datetime,
                           serial: int, digital_signature: bool = True,
                           key_agreement: bool = True,
                           deterministic: bool = False) -> x509.Certificate:
    """Issue a node certificate naming ``node`` (see the module docstring).

    ``digital_signature`` and ``key_agreement`` exist so tests and vectors can make
    certificates that lack a key usage; the network issues both.
    """
    require_p256(public_key, "the node key")
    issuer_key = issuer.certificate.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                         x509.NameAttribute(NameOID.COMMON_NAME, str(node))])
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer.certificate.subject)
               .public_key(public_key).serial_number(serial)
               .not_valid_before(as_utc(not_before, "not_before"))
               .not_valid_after(as_utc(not_after, "not_after"))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                              critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=digital_signature, content_commitment=False,
                   key_encipherment=False, data_encipherment=False,
                   key_agreement=key_agreement, key_cert_sign=False, crl_sign=False,
                   encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectAlternativeName(
                   [x509.UniformResourceIdentifier(node_urn(node))]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key), critical=False))
    return builder.sign(issuer.key, hashes.SHA256(), ecdsa_deterministic=deterministic)


@dataclass(frozen=True, slots=True)
class RevokedCertificate:
    """A revocation: the certificate's serial number and when it was revoked."""

    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags | None = None


def build_crl(issuer: CertificateAuthority, revoked: Iterable[RevokedCertificate], *,
              this_update: dt.datetime, next_update: dt.datetime, number: int,
              deterministic: bool = False) -> x509.CertificateRevocationList:
    """A v2 CRL (RFC 5280 section 5) signed by ``issuer``, with a CRL number and the
    authority key identifier, listing ``revoked`` in serial order."""
    issuer_key = issuer.certificate.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(issuer.certificate.subject)
               .last_update(as_utc(this_update, "this_update"))
               .next_update(as_utc(next_update, "next_update"))
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key), critical=False))
    for entry in sorted(revoked, key=lambda r: r.serial):
        rb = (x509.RevokedCertificateBuilder().serial_number(entry.serial)
              .revocation_date(as_utc(entry.revoked_at, "revoked_at")))
        if entry.reason is not None:
            rb = rb.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(rb.build())
    return builder.sign(issuer.key, hashes.SHA256(), ecdsa_deterministic=deterministic)


__all__ = ["ORGANIZATION", "CertificateAuthority", "RevokedCertificate", "build_crl",
           "create_intermediate_ca", "create_root_ca", "issue_node_certificate", "node_urn"]
