"""Operators at a node: credentials, roles and sessions (spec/node.md section 4.8).

Theory of operation
-------------------
The seeds name operators who prove themselves with an IC card and a password before
they touch the network. A node's operator credential is modelled on the resident card
(:mod:`juki_protocol.machines.card`): each operator holds a P-256 key pair whose
certificate the node itself issues, signed with the node's own private key (the node is
its operators' authority), naming the operator (CN), the node (O) and the operator's
roles (one OU each). The private key is kept encrypted under the operator's PIN (PKCS
#8), as a card keeps its key behind the PIN. Everything lives in the node's *operators
file* (JSON, :func:`load_registry`), which also maps each role to the local actions it
allows (:data:`ACTIONS`); editing a role into the file gains nothing, since the roles
used are the certificate's, and a certificate cannot be made without the node's key.

:class:`OperatorDesk` logs an operator in: the PIN unlocks the key (a wrong PIN fails to
decrypt it), the key signs a fresh challenge, the signature is verified with the
operator's certificate, and the certificate with the node's public key, its validity
and its node. Wrong PINs are counted in the node's database; the third consecutive one
locks the credential (4013 OPERATOR_LOCKED), a right PIN before it resets the count,
and only an operator whose role allows ``operator_admin`` unlocks it, as only the
municipality unlocks a resident card (R-CARD-01, R-CARD-02). A login opens a *session*:
a random token, kept in the database as its SHA-256 only, valid for
``sessionSeconds`` of the node's clock; a lock ends the operator's sessions. Every
local action is then checked against the session's roles (3022, 3023).

The counter is the node's, so a PIN can be tried only three times at the node. A copy
of the operators file can be attacked off line, as a card taken apart could: the file
is a secret of the node, kept like its private key (mode 0600).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from juki_protocol.envelope import pki
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.card import MAX_PIN_TRIES
from juki_protocol.node.sql import Database

#: The local actions a role may allow, and the upper tester ops of each.
ACTIONS: dict[str, tuple[str, ...]] = {
    "record": ("register_resident", "record_change", "record_resident", "record_death",
               "record_move_out", "erase", "change_resident_code", "resident",
               "annotated_move_out", "ordinary_move_out", "ordinary_move_in", "special_move_in",
               "move_in_result", "family_register_notice", "family_register_result",
               "record_items", "request_codes", "code_pool", "designate_codes",
               "designations"),
    "wide_area": ("wide_area_request", "wide_area_result"),
    "card": ("card_issue", "card_verify", "card_unlock", "card_suspend", "card_resume",
             "card_state", "card_apply", "card_application", "card_report_lost",
             "card_revoke", "card_check", "card_check_result", "card_entry"),
    "provision": ("provision_request", "provision_result"),
    "operator_admin": ("operator_unlock",),
    # spec/suspension.md: stopping provision to a body and a municipality's feed.
    "suspension": ("suspend_provision", "resume_provision", "stop_feed", "resume_feed"),
}
#: The action of each op (ops not listed need no session: see :data:`OPEN_OPS`).
ACTION_OF_OP: dict[str, str] = {o: a for a, ops in ACTIONS.items() for o in ops}
#: Ops of the test interface and of the session itself, served without a session.
OPEN_OPS = frozenset({"hello", "status", "identity_versions", "fire_timers", "clock",
                      "audit_log", "audit_checkpoints", "fail_next_commit", "restart",
                      "operator_login", "operator_logout", "code_allotment",
                      "provision_suspensions", "feed_state", "disclosures"})
#: The roles of a node whose operators file does not define its own.
DEFAULT_ROLES: dict[str, frozenset[str]] = {
    "clerk": frozenset({"record", "wide_area", "card"}),
    "inquirer": frozenset({"provision"}),
    "admin": frozenset({"operator_admin", "suspension"}),
}
DEFAULT_SESSION_SECONDS = 8 * 3600
#: Operator ids: what may name an operator in the audit log (no personal data).
ID_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operator_state (
    operator_id TEXT PRIMARY KEY, failures INTEGER NOT NULL, locked_at TEXT);
CREATE TABLE IF NOT EXISTS operator_sessions (
    token_hash TEXT PRIMARY KEY, operator_id TEXT NOT NULL, roles TEXT NOT NULL,
    started TEXT NOT NULL, expires TEXT NOT NULL);
"""


def _refused(message: str) -> JukiError:
    return JukiError(message, code=ErrorCode.OPERATOR_CREDENTIAL_REFUSED)


def check_operator_id(value: object) -> str:
    """An operator id: 1 to 32 characters of letters, digits, ``-``, ``_``, ``.``."""
    if not isinstance(value, str) or not 1 <= len(value) <= 32 \
            or not set(value) <= ID_ALPHABET:
        raise JukiError("operatorId must be 1 to 32 letters, digits, '-', '_' or '.'",
                        code=ErrorCode.INVALID_JSON)
    return value


def check_pin(value: object) -> str:
    """A PIN: 4 to 16 digits (as a resident card's)."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() \
            or not 4 <= len(value) <= 16:
        raise JukiError("pin must be a string of 4 to 16 digits",
                        code=ErrorCode.INVALID_JSON)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorCredential:
    """One operator as the operators file holds it.

    operator_id: the id the audit log names; certificate: issued by the node (CN the
    id, O the node, one OU per role); sealed_key: the private key, PKCS #8 PEM
    encrypted under the PIN.
    """

    operator_id: str
    certificate: x509.Certificate
    sealed_key: bytes

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles the certificate names."""
        return tuple(str(a.value) for a in self.certificate.subject.get_attributes_for_oid(
            NameOID.ORGANIZATIONAL_UNIT_NAME))


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorRegistry:
    """A node's operators file: its operators, what each role allows, and how long a
    session lasts."""

    node: str
    operators: dict[str, OperatorCredential]
    roles: dict[str, frozenset[str]]
    session_seconds: int = DEFAULT_SESSION_SECONDS

    def to_json(self) -> dict[str, Any]:
        """The file's JSON form (see :func:`load_registry`)."""
        return {"node": self.node, "sessionSeconds": self.session_seconds,
                "roles": {r: sorted(a) for r, a in sorted(self.roles.items())},
                "operators": [{"id": c.operator_id,
                               "certificate": pki.cert_pem(c.certificate).decode("ascii"),
                               "key": c.sealed_key.decode("ascii")}
                              for c in self.operators.values()]}


def _bad_file(path: object, message: str) -> JukiError:
    return JukiError(f"operators file {path}: {message}", code=ErrorCode.INVALID_JSON)


def parse_registry(raw: object, where: object = "<json>") -> OperatorRegistry:
    """The registry of an operators file's JSON value; 1030 naming the field."""
    if not isinstance(raw, dict):
        raise _bad_file(where, "must be a JSON object")
    node = raw.get("node")
    if not isinstance(node, str) or not node:
        raise _bad_file(where, "node must be the node's id")
    roles: dict[str, frozenset[str]] = dict(DEFAULT_ROLES)
    given = raw.get("roles", {})
    if not isinstance(given, dict):
        raise _bad_file(where, "roles must map a role to a list of actions")
    for role, actions in given.items():
        if not isinstance(actions, list) or not set(actions) <= set(ACTIONS):
            raise _bad_file(where, f"roles.{role} must be a list of actions of "
                                   f"{sorted(ACTIONS)}")
        roles[str(role)] = frozenset(actions)
    seconds = raw.get("sessionSeconds", DEFAULT_SESSION_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 60:
        raise _bad_file(where, "sessionSeconds must be an integer of at least 60")
    operators: dict[str, OperatorCredential] = {}
    items = raw.get("operators", [])
    if not isinstance(items, list):
        raise _bad_file(where, "operators must be a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad_file(where, f"operators[{i}] must be an object")
        try:
            oid = check_operator_id(item.get("id"))
            cert = x509.load_pem_x509_certificate(str(item.get("certificate", "")).encode())
            sealed = str(item.get("key", "")).encode("ascii")
        except (JukiError, ValueError) as exc:
            raise _bad_file(where, f"operators[{i}]: {exc}") from None
        if b"ENCRYPTED PRIVATE KEY" not in sealed:
            raise _bad_file(where, f"operators[{i}].key must be a PKCS #8 key encrypted "
                                   f"under the operator's PIN")
        if oid in operators:
            raise _bad_file(where, f"operators[{i}]: operator {oid} is listed twice")
        operators[oid] = OperatorCredential(operator_id=oid, certificate=cert,
                                            sealed_key=sealed)
    return OperatorRegistry(node=node, operators=operators, roles=roles,
                            session_seconds=seconds)


def load_registry(path: Path) -> OperatorRegistry:
    """Read an operators file (see :meth:`OperatorRegistry.to_json`)."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad_file(path, f"cannot be read as JSON: {exc}") from None
    return parse_registry(raw, path)


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """An open operator session: ``token`` is given to the operator once."""

    token: str
    operator_id: str
    roles: tuple[str, ...]
    expires: dt.datetime


def _t(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


Transaction = Callable[[], AbstractContextManager[Database]]


class OperatorDesk:
    """A node's operator logins and sessions (see the module docstring). ``conn`` and
    ``transaction``: the node's database, where the counts and sessions are kept."""

    def __init__(self, registry: OperatorRegistry, node: pki.Credential,
                 conn: Database, transaction: Transaction) -> None:
        self.registry = registry
        self.node_certificate = node.certificate
        self.conn = conn
        self.transaction = transaction
        conn.create(_SCHEMA)

    # State ---------------------------------------------------------------------------

    def failures(self, operator_id: str) -> tuple[int, bool]:
        """The consecutive wrong PINs counted for an operator and whether it is locked."""
        row = self.conn.execute("SELECT failures, locked_at FROM operator_state WHERE "
                                "operator_id = ?", (operator_id,)).fetchone()
        return (int(row[0]), row[1] is not None) if row else (0, False)

    def _set_failures(self, c: Database, operator_id: str, failures: int,
                      locked: dt.datetime | None) -> None:
        c.execute("INSERT INTO operator_state VALUES (?, ?, ?) ON CONFLICT (operator_id) "
                  "DO UPDATE SET failures = excluded.failures, locked_at = "
                  "excluded.locked_at", (operator_id, failures,
                                         _t(locked) if locked else None))

    # Login -------------------------------------------------------------------------------

    def login(self, operator_id: str, pin: str, now: dt.datetime) -> Session:
        """Open a session (see the module docstring): 3024 for an unknown operator, a
        wrong PIN (with the tries left) or a certificate the node did not issue or that
        is not valid now; 4013 for a locked credential, also at the wrong PIN that
        locks it."""
        cred = self.registry.operators.get(operator_id)
        if cred is None:
            raise _refused(f"no operator {operator_id} at this node")
        failures, locked = self.failures(operator_id)
        if locked:
            raise JukiError(f"operator {operator_id} is locked after {MAX_PIN_TRIES} wrong "
                            f"PINs; an administrator must unlock it",
                            code=ErrorCode.OPERATOR_LOCKED)
        try:
            key = serialization.load_pem_private_key(cred.sealed_key, pin.encode("ascii"))
        except (ValueError, TypeError):
            failures += 1
            lock = now if failures >= MAX_PIN_TRIES else None
            with self.transaction() as c:
                self._set_failures(c, operator_id, failures, lock)
                if lock is not None:
                    c.execute("DELETE FROM operator_sessions WHERE operator_id = ?",
                              (operator_id,))
            if lock is not None:
                raise JukiError(f"wrong PIN: operator {operator_id} is now locked after "
                                f"{MAX_PIN_TRIES} wrong PINs; an administrator must "
                                f"unlock it", code=ErrorCode.OPERATOR_LOCKED) from None
            raise _refused(f"wrong PIN for operator {operator_id}: "
                           f"{MAX_PIN_TRIES - failures} tries left") from None
        self._check_certificate(cred, key, now)
        roles = tuple(r for r in cred.roles if r in self.registry.roles)
        token = secrets.token_urlsafe(24)
        expires = now + dt.timedelta(seconds=self.registry.session_seconds)
        with self.transaction() as c:
            self._set_failures(c, operator_id, 0, None)
            c.execute("DELETE FROM operator_sessions WHERE expires < ?", (_t(now),))
            c.execute("INSERT INTO operator_sessions VALUES (?, ?, ?, ?, ?)",
                      (_hash(token), operator_id, ",".join(roles), _t(now), _t(expires)))
        return Session(token=token, operator_id=operator_id, roles=roles, expires=expires)

    def _check_certificate(self, cred: OperatorCredential, key: Any,
                           now: dt.datetime) -> None:
        """The card's proof: the unlocked key signs a fresh challenge that the
        certificate verifies, and the node's key verifies the certificate."""
        cert = cred.certificate
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise _refused(f"operator {cred.operator_id}: the key is not ECDSA")
        challenge = secrets.token_bytes(32)
        signature = key.sign(challenge, ec.ECDSA(hashes.SHA256()))
        node_key = self.node_certificate.public_key()
        public = cert.public_key()
        try:
            if not isinstance(node_key, ec.EllipticCurvePublicKey) \
                    or not isinstance(public, ec.EllipticCurvePublicKey):
                raise InvalidSignature
            public.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
            assert cert.signature_hash_algorithm is not None
            node_key.verify(cert.signature, cert.tbs_certificate_bytes,
                            ec.ECDSA(cert.signature_hash_algorithm))
        except (InvalidSignature, AssertionError):
            raise _refused(f"operator {cred.operator_id}: the credential was not issued "
                           f"by this node or does not match its key") from None
        names = {str(a.value) for a in cert.subject.get_attributes_for_oid(
            NameOID.COMMON_NAME)}
        nodes = {str(a.value) for a in cert.subject.get_attributes_for_oid(
            NameOID.ORGANIZATION_NAME)}
        if names != {cred.operator_id} or nodes != {self.registry.node} \
                or cert.issuer != self.node_certificate.subject:
            raise _refused(f"operator {cred.operator_id}: the certificate names another "
                           f"operator or node")
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise _refused(f"operator {cred.operator_id}: the certificate is not valid "
                           f"at {now.isoformat()}")

    # Sessions ----------------------------------------------------------------------------

    def session(self, token: object, now: dt.datetime) -> tuple[str, tuple[str, ...]]:
        """The operator and roles of an open session; 3022 when ``token`` is none."""
        if not isinstance(token, str) or not token:
            raise JukiError("a local action needs an operator session (operator_login, "
                            "then the session in each request)",
                            code=ErrorCode.OPERATOR_SESSION_REQUIRED)
        row = self.conn.execute("SELECT operator_id, roles, expires FROM operator_sessions "
                                "WHERE token_hash = ?", (_hash(token),)).fetchone()
        if row is None or dt.datetime.fromisoformat(str(row[2])) < now:
            raise JukiError("the operator session is unknown, ended or expired; log in "
                            "again", code=ErrorCode.OPERATOR_SESSION_REQUIRED)
        return str(row[0]), tuple(r for r in str(row[1]).split(",") if r)

    def authorise(self, token: object, action: str, now: dt.datetime) -> str:
        """The operator of session ``token`` if one of its roles allows ``action``;
        3022 without a valid session, 3023 when no role allows it."""
        operator_id, roles = self.session(token, now)
        if not any(action in self.registry.roles.get(r, frozenset()) for r in roles):
            raise JukiError(f"operator {operator_id} (roles {', '.join(roles) or 'none'}) "
                            f"may not perform {action}",
                            code=ErrorCode.OPERATOR_ROLE_NOT_ALLOWED)
        return operator_id

    def logout(self, token: object) -> bool:
        """End a session; whether there was one."""
        if not isinstance(token, str):
            return False
        with self.transaction() as c:
            return c.execute("DELETE FROM operator_sessions WHERE token_hash = ?",
                             (_hash(token),)).rowcount > 0

    def unlock(self, operator_id: str) -> None:
        """Reset an operator's wrong PINs and lift its lock (an administrator's act;
        the caller has checked the administrator's session)."""
        if operator_id not in self.registry.operators:
            raise _refused(f"no operator {operator_id} at this node")
        with self.transaction() as c:
            self._set_failures(c, operator_id, 0, None)


__all__ = ["ACTIONS", "ACTION_OF_OP", "DEFAULT_ROLES", "OPEN_OPS", "OperatorCredential",
           "OperatorDesk", "OperatorRegistry", "Session", "check_operator_id", "check_pin",
           "load_registry", "parse_registry"]
