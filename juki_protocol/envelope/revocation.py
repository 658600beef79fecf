"""Revocation lists in service (spec/pdu.md section 1, R-PDU-40 to R-PDU-44): why a
peer's certificate was refused, in the words the log uses; whether a new CRL was signed
by a trusted CA and does not replace a newer one; and when to warn that the CRL in use
lapses. :func:`juki_protocol.envelope.pki.validate_certificate` checks a certificate against the
CRLs; the node's transport (:mod:`juki_protocol.node.transport`) uses these to keep
them current.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from juki_protocol.envelope.pki import CrlLapsed
from juki_protocol.errors import ErrorCode, JukiError, SecurityError

#: The reason a refusal of a peer's certificate is logged with, by error code.
REFUSAL_REASONS: Mapping[ErrorCode, str] = {
    ErrorCode.CERT_REVOKED: "revoked",
    ErrorCode.CERT_EXPIRED: "expired",
    ErrorCode.CERT_NOT_YET_VALID: "not yet valid",
    ErrorCode.CERT_UNTRUSTED: "unknown CA",
    ErrorCode.CRL_INVALID: "CRL invalid",
    ErrorCode.CERT_KEY_USAGE: "key usage",
    ErrorCode.CERT_INVALID: "not a node certificate",
}


def refusal_reason(exc: JukiError) -> str:
    """The reason a refused certificate is logged with: "revoked", "expired", "not yet
    valid", "unknown CA", "CRL lapsed"... (R-PDU-44)."""
    if isinstance(exc, CrlLapsed):
        return "CRL lapsed"
    code = exc.error_code
    return REFUSAL_REASONS.get(code, "refused") if isinstance(code, ErrorCode) \
        else "refused"


def crl_signer(crl: x509.CertificateRevocationList,
               cas: Sequence[x509.Certificate]) -> x509.Certificate:
    """The CA among ``cas`` that issued and signed ``crl`` (RFC 5280 section 6.3.3);
    CRL_INVALID when none did. A node checks a new CRL this way before it uses it."""
    for ca in cas:
        key = ca.public_key()
        try:
            if crl.issuer == ca.subject and isinstance(key, ec.EllipticCurvePublicKey) \
                    and crl.is_signature_valid(key):
                return ca
        except (TypeError, ValueError, UnsupportedAlgorithm):
            continue
    raise SecurityError(f"the revocation list issued by {crl.issuer.rfc4514_string()} "
                        f"is not signed by a trusted CA", code=ErrorCode.CRL_INVALID)


def _crl_number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except (x509.ExtensionNotFound, ValueError):
        return None


def check_crl_replaces(new: x509.CertificateRevocationList,
                       old: x509.CertificateRevocationList) -> None:
    """Raise CRL_INVALID when ``new`` is older than ``old`` (an earlier thisUpdate or a
    lower CRL number, RFC 5280 section 5.2.3): a list is never replaced by an older one
    of the same CA, which could un-revoke a certificate (R-PDU-41)."""
    if new.issuer != old.issuer:
        return
    a, b = _crl_number(new), _crl_number(old)
    if new.last_update_utc < old.last_update_utc or (a is not None and b is not None
                                                     and a < b):
        raise SecurityError(f"the revocation list number {a} of "
                            f"{new.last_update_utc.isoformat()} is older than the one in "
                            f"use (number {b} of {old.last_update_utc.isoformat()})",
                            code=ErrorCode.CRL_INVALID)


__all__ = ["REFUSAL_REASONS", "check_crl_replaces", "crl_signer",
           "refusal_reason"]
