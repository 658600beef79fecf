"""Issuing operator credentials and writing a node's operators file
(:mod:`juki_protocol.node.operators`): the acts of ``juki node operators issue``, of the
conformance runner's node layout, of tests and demos. A node only reads the file; as
the network CA's issuing (:mod:`juki_protocol.envelope.ca`), this is no node's rule.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from juki_protocol.envelope import pki
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.node.operators import (
    DEFAULT_ROLES,
    DEFAULT_SESSION_SECONDS,
    OperatorCredential,
    OperatorRegistry,
    check_operator_id,
    check_pin,
)


def save_registry(registry: OperatorRegistry, path: Path) -> None:
    """Write an operators file readable by its owner only (it holds sealed keys)."""
    pki.write_private_file(path, (json.dumps(registry.to_json(), indent=1) + "\n")
                           .encode("utf-8"))


def issue_operator(node: pki.Credential, node_code: str, operator_id: str,
                   roles: Iterable[str], pin: str, now: dt.datetime, *,
                   days: int = 365) -> OperatorCredential:
    """A new operator credential issued by the node ``node`` (its key signs the
    certificate); the private key sealed under ``pin``."""
    check_operator_id(operator_id)
    check_pin(pin)
    roles = sorted(set(roles))
    if not roles:
        raise JukiError("an operator needs at least one role", code=ErrorCode.INVALID_FIELD)
    key = pki.generate_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, operator_id),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, node_code),
                         *(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, r)
                           for r in roles)])
    cert = (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(node.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), True)
            .sign(node.key, hashes.SHA256()))
    sealed = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.BestAvailableEncryption(pin.encode("ascii")))
    return OperatorCredential(operator_id=operator_id, certificate=cert, sealed_key=sealed)


def write_operators_file(path: Path, node: pki.Credential, node_code: str,
                         operators: Iterable[tuple[str, Iterable[str], str]],
                         now: dt.datetime, *, days: int = 30,
                         session_seconds: int = DEFAULT_SESSION_SECONDS) -> OperatorRegistry:
    """Issue a credential for each ``(operator id, roles, PIN)`` and write them as the
    operators file of node ``node_code`` (tests, the conformance runner, demos)."""
    registry = OperatorRegistry(
        node=node_code, roles=dict(DEFAULT_ROLES), session_seconds=session_seconds,
        operators={oid: issue_operator(node, node_code, oid, roles, pin, now, days=days)
                   for oid, roles, pin in operators})
    save_registry(registry, path)
    return registry


__all__ = ["issue_operator", "save_registry", "write_operators_file"]
