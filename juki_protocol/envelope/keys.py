"""Keys and PEM for the network PKI: P-256 keys, and keys, certificates and revocation
lists read from and written to PEM (a private key encrypted under a passphrase when one
is given, R-NODE-72). Every failure to read is a SecurityError with a registered code
that never contains a passphrase. :mod:`juki_protocol.envelope.pki` re-exports every name.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from juki_protocol.errors import ErrorCode, SecurityError


def generate_key() -> ec.EllipticCurvePrivateKey:
    """A new ECDSA/ECDH P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def require_p256(key: object, what: str) -> None:
    """Raise ALGORITHM_UNSUPPORTED unless ``key`` is a P-256 public or private key."""
    if not isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) \
            or not isinstance(key.curve, ec.SECP256R1):
        raise SecurityError(f"{what} is not an ECDSA P-256 key",
                            code=ErrorCode.ALGORITHM_UNSUPPORTED)


def load_private_key(pem: bytes, passphrase: bytes | None = None
                     ) -> ec.EllipticCurvePrivateKey:
    """Load a PEM private key (PKCS #8 or SEC 1); it must be P-256.

    An encrypted key (PKCS #8 ``ENCRYPTED PRIVATE KEY``, as :func:`key_pem` writes it
    with a passphrase) needs ``passphrase``; an unencrypted one must be given none, so
    that a key left unencrypted by mistake is noticed (spec/node.md R-NODE-72). Every
    failure is CERT_INVALID, and its message never contains the passphrase.
    """
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except TypeError:
        # cryptography tells the two mismatches apart with TypeError only.
        if passphrase is None:
            raise SecurityError("the private key is encrypted: give its passphrase "
                                "(--key-passphrase-file FILE or --key-passphrase-env "
                                "NAME)", code=ErrorCode.CERT_INVALID) from None
        raise SecurityError("a passphrase was given, but the private key is not "
                            "encrypted", code=ErrorCode.CERT_INVALID) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        what = ("cannot decrypt the private key: wrong passphrase, or not a readable "
                "PEM private key" if passphrase is not None else
                f"not a readable PEM private key: {exc}")
        raise SecurityError(what, code=ErrorCode.CERT_INVALID) from None
    require_p256(key, "the private key")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_certificates(pem: bytes) -> tuple[x509.Certificate, ...]:
    """Load one or more PEM certificates."""
    try:
        certs = tuple(x509.load_pem_x509_certificates(pem))
    except ValueError as exc:
        raise SecurityError(f"not a readable PEM certificate: {exc}",
                            code=ErrorCode.CERT_INVALID) from None
    return certs


def load_certificate(pem: bytes) -> x509.Certificate:
    """Load exactly one PEM certificate."""
    certs = load_certificates(pem)
    if len(certs) != 1:
        raise SecurityError(f"expected one PEM certificate, found {len(certs)}",
                            code=ErrorCode.CERT_INVALID)
    return certs[0]


def load_received_certificate(der: bytes) -> x509.Certificate:
    """Load a DER certificate received from a peer (one included in a SignedData) and
    read every part that the checks of this module and of the envelope use.

    ``cryptography`` parses some parts only when asked (the public key, the names, the
    extensions) and raises for them then, with exceptions of several kinds
    (InvalidVersion, UnsupportedAlgorithm, DuplicateExtension, ValueError, KeyError for
    a name value of a non-string type). Reading them all here, once, means a certificate
    that loads can be validated, named and formatted in a log line without raising
    anything but SecurityError. Raises ENVELOPE_MALFORMED (spec/errors.md: an envelope
    whose certificates are not well formed) naming only the kind of failure.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
        cert.issuer.rfc4514_string()
        cert.subject.rfc4514_string()
        cert.public_key()
        for _ in cert.extensions:
            pass
        _ = (cert.serial_number, cert.not_valid_before_utc, cert.not_valid_after_utc)
    except Exception as exc:     # the library's exceptions are not a closed set
        raise SecurityError(f"an included certificate is not readable: "
                            f"{type(exc).__name__}", code=ErrorCode.ENVELOPE_MALFORMED) \
            from None
    return cert


def load_crl(pem: bytes) -> x509.CertificateRevocationList:
    """Load a PEM certificate revocation list."""
    try:
        return x509.load_pem_x509_crl(pem)
    except ValueError as exc:
        raise SecurityError(f"not a readable PEM revocation list: {exc}",
                            code=ErrorCode.CRL_INVALID) from None


def key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS #8 PEM of a private key: unencrypted (what ``openssl cms -inkey`` reads
    without ``-passin``), or, with ``passphrase``, encrypted with the library's best
    available encryption (PBES2: PBKDF2-HMAC-SHA256 with 2,048 rounds and AES-256-CBC,
    which ``openssl pkey -passin`` reads; R-NODE-72). The rounds are few, so the
    protection rests on the passphrase: use a long random one (e.g. 32 random octets,
    base64, in a file readable by the node's account only)."""
    if passphrase is not None and not passphrase:
        raise ValueError("the passphrase of a private key must not be empty")
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption() if passphrase is None
        else serialization.BestAvailableEncryption(passphrase))
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8, encryption)


def write_private_file(path: Path, data: bytes) -> None:
    """Write a private key (or any secret) readable by its owner only (mode 0600), also
    when the file already existed with a wider mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(data)


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    """PEM of a revocation list."""
    return crl.public_bytes(serialization.Encoding.PEM)


__all__ = [
    "cert_pem",
    "crl_pem",
    "generate_key",
    "key_pem",
    "load_certificate",
    "load_certificates",
    "load_crl",
    "load_private_key",
    "load_received_certificate",
    "require_p256",
    "write_private_file",
]
