"""Command-line tools for the network PKI and the envelope: ``juki pki`` and
``juki envelope`` (click groups, registered on the main ``juki`` command).

This module is an I/O edge: it reads and writes files and reads the clock (unless
``--now`` is given), then calls the sans-I/O library (:mod:`juki_protocol.envelope.pki`,
:mod:`juki_protocol.envelope.envelope`). Every failure is one line on stderr and a non-zero exit
status (1), never a traceback.

CA directory layout (``--dir D``), all standard PEM that ``openssl`` reads::

    D/ca.pem  D/ca.key         the network root CA (the key is written mode 0600)
    D/<ID>.pem  D/<ID>.key     a node's current certificate and key (or in ``--out``)
    D/<ID>.<serial>.pem/.key   a node's previous pair, kept by ``issue`` (key rotation)
    D/crl.pem                  the revocation list written by ``crl``
    D/ca-db.json               the CA's register of issued and revoked certificates

Keys at rest (spec/node.md R-NODE-71, R-NODE-72): the CA directory is the CA's, not a
node's: ``issue --out NODE_DIR`` writes the node's pair into the node's own directory
(created mode 0700), so that the CA key is never beside a key a node reads. Private keys
may be encrypted (PKCS #8, :func:`juki_protocol.envelope.pki.key_pem`): the CA key with
``--ca-passphrase-file FILE`` or ``--ca-passphrase-env NAME`` (``init-ca`` encrypts it,
``issue`` and ``crl`` decrypt it), a node's key with ``--key-passphrase-file`` or
``--key-passphrase-env`` (``issue`` encrypts it; ``envelope seal``/``open`` decrypt
it). A passphrase is never an argument itself: a command line is visible to every user
of the machine (``ps``). A file's content is used without one final line break.

``openssl verify -CAfile D/ca.pem [-CRLfile D/crl.pem -crl_check] D/<ID>.pem`` accepts
an issued certificate, and rejects it once it is revoked and ``crl`` has run.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from juki_protocol import PROTOCOL_VERSION
from juki_protocol.cli_errors import CliError, ErrorHandlingGroup
from juki_protocol.codec.schema import APPLICATION_TAGS, identify
from juki_protocol.envelope import envelope, pki
from juki_protocol.envelope.ca import (
    CertificateAuthority,
    RevokedCertificate,
    build_crl,
    create_root_ca,
    issue_node_certificate,
)
from juki_protocol.errors import ErrorCode, JukiError, SecurityError
from juki_protocol.identifiers import Role, validate_node_id
from juki_protocol.messages.base import from_form, to_form
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import MessageType, PduHeader

F = TypeVar("F", bound=Callable[..., Any])

DB_FILE = "ca-db.json"
DEFAULT_CA_DAYS = 3650
DEFAULT_NODE_DAYS = 825
DEFAULT_CRL_DAYS = 7


def _cli_errors(func: F) -> F:
    """Let coded errors, file errors and click's own reach the ``juki`` group, which
    prints them as one line (:mod:`juki_protocol.cli_errors`); a ``ValueError``,
    ``TypeError`` or ``KeyError`` from reading a file becomes ``error: [input] ...``
    without Python's class names."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, JukiError, OSError):
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise CliError(str(exc) or type(exc).__name__) from None
    return wrapper  # type: ignore[return-value]


#: ``--inform PEM|DER``, as openssl's ``-inform``: the encoding of the certificates,
#: keys, revocation lists and envelopes a command reads (default: each file's own).
INFORM = click.option(
    "--inform", "inform", type=click.Choice(["PEM", "DER"], case_sensitive=False),
    default=None, help="The encoding of the certificates, keys, CRLs and envelope read "
    "(openssl's -inform; default: each file's own, PEM or DER).")


def _is_pem(data: bytes) -> bool:
    return data.lstrip().startswith(b"-----BEGIN ")


def _check_inform(data: bytes, inform: str | None, path: Path, code: ErrorCode) -> bool:
    """Whether ``data`` is PEM; refuse it if ``--inform`` says otherwise."""
    pem = _is_pem(data)
    if inform is not None and pem != (inform.upper() == "PEM"):
        raise SecurityError(f"{path}: --inform {inform.upper()}, but the file is "
                            f"{'PEM' if pem else 'not PEM'}", code=code)
    return pem


def read_certificates_pem(path: Path, inform: str | None = None) -> bytes:
    """The certificate(s) in ``path`` as PEM text; a DER file holds one certificate."""
    data = path.read_bytes()
    if _check_inform(data, inform, path, ErrorCode.CERT_INVALID):
        return data
    try:
        return pki.cert_pem(x509.load_der_x509_certificate(data))
    except ValueError as exc:
        raise SecurityError(f"{path}: not a readable DER certificate: {exc}",
                            code=ErrorCode.CERT_INVALID) from None


def read_certificate(path: Path, inform: str | None = None) -> x509.Certificate:
    """Exactly one certificate from ``path`` (PEM or DER)."""
    return pki.load_certificate(read_certificates_pem(path, inform))


def _read_crl_pem(path: Path, inform: str | None) -> bytes:
    data = path.read_bytes()
    if _check_inform(data, inform, path, ErrorCode.CRL_INVALID):
        return data
    try:
        return pki.crl_pem(x509.load_der_x509_crl(data))
    except ValueError as exc:
        raise SecurityError(f"{path}: not a readable DER revocation list: {exc}",
                            code=ErrorCode.CRL_INVALID) from None


def _read_key(path: Path, inform: str | None, passphrase: bytes | None
              ) -> Any:
    """A private key from ``path`` (PEM, or DER: PKCS #8, encrypted or not, or SEC 1),
    with the rules of :func:`juki_protocol.envelope.pki.load_private_key`."""
    data = path.read_bytes()
    if _check_inform(data, inform, path, ErrorCode.CERT_INVALID):
        return pki.load_private_key(data, passphrase)
    try:
        key = serialization.load_der_private_key(data, password=None)
    except TypeError:            # encrypted: keep it so, load_private_key decrypts it
        body = base64.encodebytes(data).decode("ascii")
        pem = f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{body}" \
              f"-----END ENCRYPTED PRIVATE KEY-----\n".encode("ascii")
        return pki.load_private_key(pem, passphrase)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SecurityError(f"{path}: not a readable DER private key: {exc}",
                            code=ErrorCode.CERT_INVALID) from None
    return pki.load_private_key(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), passphrase)


def _read_envelope(path: Path, inform: str | None) -> bytes:
    """The envelope's DER from ``path`` (DER, or PEM as ``openssl cms -outform PEM``
    writes it)."""
    data = path.read_bytes()
    if not _check_inform(data, inform, path, ErrorCode.ENVELOPE_MALFORMED):
        return data
    lines = data.decode("ascii", "replace").strip().splitlines()
    if len(lines) < 2 or not lines[-1].startswith("-----END "):
        raise SecurityError(f"{path}: not a complete PEM block",
                            code=ErrorCode.ENVELOPE_MALFORMED)
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except ValueError as exc:
        raise SecurityError(f"{path}: the PEM block is not base64: {exc}",
                            code=ErrorCode.ENVELOPE_MALFORMED) from None


def _now(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--now") \
            from None
    if value.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2025-04-01T09:00:00Z",
                                 param_hint="--now")
    return value.astimezone(dt.UTC)




def read_passphrase(file: Path | None, env: str | None, what: str) -> bytes | None:
    """The passphrase of a private key from ``file`` or the environment variable
    ``env`` (at most one of them; None if neither): never from the command line
    (R-NODE-72). ``what`` names the options in the error messages, e.g.
    ``--key-passphrase``."""
    if file is not None and env is not None:
        raise click.UsageError(f"give {what}-file or {what}-env, not both")
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise click.BadParameter(f"{file}: {exc.strerror or exc}",
                                     param_hint=f"{what}-file") from None
        if data.endswith(b"\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n"):
            data = data[:-1]
        if not data:
            raise click.BadParameter(f"{file} is empty", param_hint=f"{what}-file")
        return data
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise click.BadParameter(f"the environment variable {env} is not set or "
                                     f"empty", param_hint=f"{what}-env")
        return value.encode()
    return None


def passphrase_options(prefix: str, whose: str) -> Callable[[F], F]:
    """The options ``--<prefix>-passphrase-file FILE`` and ``--<prefix>-passphrase-env
    NAME`` of the passphrase of ``whose`` private key."""
    def decorate(func: F) -> F:
        func = click.option(f"--{prefix}-passphrase-env", f"{prefix}_passphrase_env",
                            metavar="NAME", help=f"The environment variable holding the "
                            f"passphrase of {whose} private key.")(func)
        return click.option(f"--{prefix}-passphrase-file", f"{prefix}_passphrase_file",
                            type=click.Path(exists=True, dir_okay=False, path_type=Path),
                            help=f"A file holding the passphrase of {whose} private key "
                            f"(encrypted PKCS #8); never give it on the command line."
                            )(func)
    return decorate


_DIR = click.option("--dir", "directory", required=True,
                    type=click.Path(file_okay=False, path_type=Path),
                    help="The CA directory.")
_NOW = click.option("--now", "now_text", metavar="ISO-TIME",
                    help="Use this time instead of the clock (e.g. 2025-04-01T09:00:00Z).")


# juki pki ------------------------------------------------------------------------------

@click.group("pki", cls=ErrorHandlingGroup)
def pki_group() -> None:
    """Network CA: create it, issue and revoke node certificates, publish the CRL."""


def _load_db(directory: Path) -> dict[str, Any]:
    if not (directory / "ca.key").is_file():
        raise click.ClickException(f"{directory} holds no CA; run `juki pki init-ca "
                                   f"--dir {directory}` first")
    db_path = directory / DB_FILE
    db: dict[str, Any] = json.loads(db_path.read_text(encoding="utf-8")) \
        if db_path.is_file() else {"certificates": [], "revoked": [], "crl_number": 0}
    return db


def _load_ca(directory: Path, passphrase: bytes | None
             ) -> tuple[CertificateAuthority, dict[str, Any]]:
    db = _load_db(directory)
    key = pki.load_private_key((directory / "ca.key").read_bytes(), passphrase)
    cert = pki.load_certificate((directory / "ca.pem").read_bytes())
    return CertificateAuthority(key, cert), db


def _save_db(directory: Path, db: dict[str, Any]) -> None:
    tmp = directory / (DB_FILE + ".tmp")
    tmp.write_text(json.dumps(db, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(directory / DB_FILE)


@pki_group.command("init-ca")
@_DIR
@click.option("--name", default="Juki Network Root CA", show_default=True,
              help="The CA's common name.")
@click.option("--days", default=DEFAULT_CA_DAYS, show_default=True,
              type=click.IntRange(1, 36500), help="Validity in days.")
@click.option("--force", is_flag=True, help="Replace an existing CA in the directory.")
@passphrase_options("ca", "the CA's")
@_NOW
@_cli_errors
def init_ca(directory: Path, name: str, days: int, force: bool,
            ca_passphrase_file: Path | None, ca_passphrase_env: str | None,
            now_text: str | None) -> None:
    """Create the network root CA: writes D/ca.pem and D/ca.key (encrypted with a
    passphrase if one is given)."""
    if (directory / "ca.key").exists() and not force:
        raise click.ClickException(f"{directory / 'ca.key'} exists; use --force to "
                                   f"replace the CA")
    passphrase = read_passphrase(ca_passphrase_file, ca_passphrase_env, "--ca-passphrase")
    now = _now(now_text)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = create_root_ca(pki.generate_key(), common_name=name,
                        not_before=now - dt.timedelta(minutes=5),
                        not_after=now + dt.timedelta(days=days),
                        serial=x509.random_serial_number())
    pki.write_private_file(directory / "ca.key", pki.key_pem(ca.key, passphrase))
    (directory / "ca.pem").write_bytes(pki.cert_pem(ca.certificate))
    _save_db(directory, {"certificates": [], "revoked": [], "crl_number": 0})
    click.echo(f"wrote {directory / 'ca.pem'} and {directory / 'ca.key'}")


@pki_group.command("issue")
@_DIR
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="The node's role.")
@click.option("--node", "node_code", required=True,
              help="The node id: local government code, DCnn or AGnnnn.")
@click.option("--days", default=DEFAULT_NODE_DAYS, show_default=True,
              type=click.IntRange(1, 36500), help="Validity in days.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The node's directory for ID.pem and ID.key (created mode 0700), "
              "apart from the CA's key; default: the CA directory.")
@passphrase_options("ca", "the CA's")
@passphrase_options("key", "the node's")
@_NOW
@_cli_errors
def issue(directory: Path, role: str, node_code: str, days: int, out_dir: Path | None,
          ca_passphrase_file: Path | None, ca_passphrase_env: str | None,
          key_passphrase_file: Path | None, key_passphrase_env: str | None,
          now_text: str | None) -> None:
    """Issue a node certificate and key: writes ID.pem and ID.key in --out (default D),
    the key encrypted if a --key-passphrase is given.

    An existing pair for the node is kept as ID.<serial>.pem/.key (key rotation).
    """
    validate_node_id(Role(role), node_code, "node")
    node = pki.node_id(role, node_code)
    ca, db = _load_ca(directory, read_passphrase(ca_passphrase_file, ca_passphrase_env,
                                                 "--ca-passphrase"))
    node_passphrase = read_passphrase(key_passphrase_file, key_passphrase_env,
                                      "--key-passphrase")
    target = directory if out_dir is None else out_dir
    if out_dir is not None:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = _now(now_text)
    key = pki.generate_key()
    serial = x509.random_serial_number()
    cert = issue_node_certificate(ca, key.public_key(), node,
                                  not_before=now - dt.timedelta(minutes=5),
                                  not_after=now + dt.timedelta(days=days), serial=serial)
    pem_path, key_path = target / f"{node_code}.pem", target / f"{node_code}.key"
    if pem_path.exists():
        old = pki.load_certificate(pem_path.read_bytes())
        stem = f"{node_code}.{old.serial_number:x}"
        pem_path.replace(target / f"{stem}.pem")
        if key_path.exists():
            key_path.replace(target / f"{stem}.key")
        click.echo(f"kept the previous pair as {target / stem}.pem/.key")
    pki.write_private_file(key_path, pki.key_pem(key, node_passphrase))
    pem_path.write_bytes(pki.cert_pem(cert))
    db["certificates"].append({"serial": f"{serial:x}", "role": role, "node": node_code,
                               "not_after": cert.not_valid_after_utc.isoformat()})
    _save_db(directory, db)
    click.echo(f"wrote {pem_path} and {key_path} for {node} (serial {serial:x})")


@pki_group.command("revoke")
@_DIR
@click.option("--node", "node_code", required=True, help="The node whose certificates to revoke.")
@click.option("--serial", help="Revoke only this certificate (hex serial); default: all of "
              "the node's unrevoked certificates.")
@click.option("--reason", type=click.Choice(["keyCompromise", "affiliationChanged",
                                             "superseded", "cessationOfOperation"]),
              help="The CRL reason code.")
@_NOW
@_cli_errors
def revoke(directory: Path, node_code: str, serial: str | None, reason: str | None,
           now_text: str | None) -> None:
    """Record the revocation of a node's certificates (publish it with `crl`)."""
    db = _load_db(directory)
    revoked = {r["serial"] for r in db["revoked"]}
    try:
        wanted = None if serial is None else f"{int(serial, 16):x}"
    except ValueError:
        raise click.BadParameter(f"{serial!r} is not a hexadecimal serial number",
                                 param_hint="--serial") from None
    targets = [c for c in db["certificates"] if c["node"] == node_code
               and c["serial"] not in revoked and wanted in (None, c["serial"])]
    if not targets:
        raise click.ClickException(f"no unrevoked certificate of node {node_code}"
                                   + (f" with serial {serial}" if serial else "")
                                   + f" in {directory / DB_FILE}")
    now = _now(now_text)
    for c in targets:
        db["revoked"].append({"serial": c["serial"], "node": node_code,
                              "revoked_at": now.isoformat(), "reason": reason})
        click.echo(f"revoked serial {c['serial']} of {c['role']}:{node_code}")
    _save_db(directory, db)


@pki_group.command("crl")
@_DIR
@click.option("--days", default=DEFAULT_CRL_DAYS, show_default=True,
              type=click.IntRange(1, 3650), help="Days until the next update.")
@passphrase_options("ca", "the CA's")
@_NOW
@_cli_errors
def crl(directory: Path, days: int, ca_passphrase_file: Path | None,
        ca_passphrase_env: str | None, now_text: str | None) -> None:
    """Write the revocation list D/crl.pem."""
    ca, db = _load_ca(directory, read_passphrase(ca_passphrase_file, ca_passphrase_env,
                                                 "--ca-passphrase"))
    now = _now(now_text)
    db["crl_number"] = int(db.get("crl_number", 0)) + 1
    entries = [RevokedCertificate(
        serial=int(r["serial"], 16), revoked_at=dt.datetime.fromisoformat(r["revoked_at"]),
        reason=x509.ReasonFlags[_REASONS[r["reason"]]] if r.get("reason") else None)
        for r in db["revoked"]]
    revocation_list = build_crl(ca, entries, this_update=now - dt.timedelta(minutes=5),
                                next_update=now + dt.timedelta(days=days),
                                number=db["crl_number"])
    (directory / "crl.pem").write_bytes(pki.crl_pem(revocation_list))
    _save_db(directory, db)
    click.echo(f"wrote {directory / 'crl.pem'} (number {db['crl_number']}, "
               f"{len(entries)} revoked)")


_REASONS = {"keyCompromise": "key_compromise", "affiliationChanged": "affiliation_changed",
            "superseded": "superseded", "cessationOfOperation": "cessation_of_operation"}


# juki envelope -------------------------------------------------------------------------

@click.group("envelope", cls=ErrorHandlingGroup)
def envelope_group() -> None:
    """Seal and open end-to-end envelopes (CMS, readable by `openssl cms`)."""


def _message_type(text: str | None, message_der: bytes) -> MessageType:
    """The message type of ``message_der``: its APPLICATION tag's, which ``--type``
    (when given) must name; a message of another type is refused, naming both."""
    wanted = None
    if text is not None:
        wanted = next((mt for mt in MessageType if text in (mt.value, mt.type_name)), None)
        if wanted is None:
            raise click.BadParameter(f"{text!r} is not a message type; known: "
                                     f"{', '.join(m.value for m in MessageType)}",
                                     param_hint="--type")
    try:
        name = identify(message_der)
    except JukiError as exc:
        raise JukiError(f"the message is not a DER message of any type ({exc.args[0]})"
                        + ("" if wanted is None else f"; --type {wanted.value} expects "
                           f"[APPLICATION {APPLICATION_TAGS[wanted.type_name]}]"),
                        code=ErrorCode.DER_UNEXPECTED_TAG) from None
    found = next((mt for mt in MessageType if mt.type_name == name), None)
    if found is None:
        raise JukiError(f"the message is a {name}, which is not sealed in an envelope",
                        code=ErrorCode.DER_UNEXPECTED_TAG)
    if wanted is not None and found is not wanted:
        raise JukiError(f"--type {wanted.value} but the message's tag is "
                        f"[APPLICATION {APPLICATION_TAGS[name]}], a {found.value}",
                        code=ErrorCode.DER_UNEXPECTED_TAG)
    return found


def _read_header(path: Path) -> PduHeader:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JukiError(f"{path}: not valid JSON: {exc}", code=ErrorCode.INVALID_JSON) \
            from None
    return from_form(PduHeader, obj, json=True)


@envelope_group.command("seal")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The sender's private key (PEM).")
@click.option("--cert", "cert_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The sender's certificate (PEM).")
@click.option("--to", "to_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The recipient's certificate (PEM).")
@click.option("--type", "type_text", help="The message type (e.g. identityInfoUpdate); "
              "default: from the message's APPLICATION tag.")
@click.option("--in", "in_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The message DER.")
@click.option("--out", "out_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the envelope DER.")
@click.option("--header-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the bound PDU header as JSON.")
@click.option("--trust", "trust_path", type=click.Path(dir_okay=False, path_type=Path),
              help="CA certificate(s) (PEM) to validate both certificates against.")
@click.option("--sequence", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1),
              help="The header's sequence number.")
@click.option("--profile", "profile_text", default="current", show_default=True,
              type=click.Choice(["current", "2002"]), help="The header's profile.")
@passphrase_options("key", "the sender's")
@INFORM
@_NOW
@_cli_errors
def seal_command(key_path: Path, cert_path: Path, to_path: Path, type_text: str | None,
                 in_path: Path, out_path: Path, header_out: Path | None,
                 trust_path: Path | None, sequence: int, profile_text: str,
                 key_passphrase_file: Path | None, key_passphrase_env: str | None,
                 inform: str | None, now_text: str | None) -> None:
    """Sign MSG.der and encrypt it to the recipient: writes ENV.der.

    --inform applies to the key and the certificates; the message is always DER, and
    its APPLICATION tag must be that of --type when --type is given."""
    key = _read_key(key_path, inform, read_passphrase(
        key_passphrase_file, key_passphrase_env, "--key-passphrase"))
    cert = read_certificate(cert_path, inform)
    recipient = read_certificate(to_path, inform)
    message_der = in_path.read_bytes()
    now = _now(now_text)
    header = from_form(PduHeader, {
        "version": PROTOCOL_VERSION, "message_id": uuid.uuid4().hex,
        "message_type": _message_type(type_text, message_der).value,
        "sender": to_form(pki.node_of_certificate(cert), json=True),
        "recipient": to_form(pki.node_of_certificate(recipient), json=True),
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "sequence_number": sequence,
        "profile": Profile.parse(profile_text).value}, json=True)
    trust = pki.TrustStore.from_pem(read_certificates_pem(trust_path, inform)) \
        if trust_path else None
    sealed = envelope.seal(header, message_der, key, cert, recipient, now, trust=trust)
    out_path.write_bytes(sealed)
    if header_out is not None:
        header_out.write_text(json.dumps(to_form(header, json=True), indent=2) + "\n",
                              encoding="utf-8")
    click.echo(f"sealed {len(message_der)} octets from {header.sender} to "
               f"{header.recipient} as {header.message_type.value}, message id "
               f"{header.message_id.hex()}")


@envelope_group.command("open")
@click.option("--key", "key_paths", required=True, multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Our private key (PEM); repeat with --cert for each pair while rotating.")
@click.option("--cert", "cert_paths", required=True, multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Our certificate (PEM), in the same order as --key.")
@click.option("--trust", "trust_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The network CA certificate(s) (PEM).")
@click.option("--crl", "crl_paths", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), help="A revocation list (PEM).")
@click.option("--require-crl", is_flag=True, help="Fail unless each CA has a --crl.")
@click.option("--in", "in_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The envelope DER.")
@click.option("--out", "out_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the message DER.")
@click.option("--header", "header_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The PDU header (JSON): check the binding, the time window and the route.")
@click.option("--window", default=int(envelope.TIME_WINDOW.total_seconds()),
              show_default=True, type=click.IntRange(0),
              help="Accepted distance in seconds between the header's time and now.")
@passphrase_options("key", "our")
@INFORM
@_NOW
@_cli_errors
def open_command(key_paths: tuple[Path, ...], cert_paths: tuple[Path, ...], trust_path: Path,
                 crl_paths: tuple[Path, ...], require_crl: bool, in_path: Path,
                 out_path: Path, header_path: Path | None, window: int,
                 key_passphrase_file: Path | None, key_passphrase_env: str | None,
                 inform: str | None, now_text: str | None) -> None:
    """Decrypt and verify ENV.der: writes MSG.der and prints the signer.

    --inform applies to the envelope, the keys, the certificates and the CRLs."""
    if len(key_paths) != len(cert_paths):
        raise click.UsageError("give one --cert for each --key")
    passphrase = read_passphrase(key_passphrase_file, key_passphrase_env,
                                 "--key-passphrase")
    credentials = [pki.Credential(_read_key(k, inform, passphrase),
                                  read_certificate(c, inform))
                   for k, c in zip(key_paths, cert_paths, strict=True)]
    trust = pki.TrustStore.from_pem(read_certificates_pem(trust_path, inform),
                                    crls=[_read_crl_pem(p, inform) for p in crl_paths],
                                    require_crl=require_crl)
    header = _read_header(header_path) if header_path else None
    opened = envelope.open_envelope(_read_envelope(in_path, inform), credentials, trust,
                                    _now(now_text), header=header,
                                    time_window=dt.timedelta(seconds=window))
    out_path.write_bytes(opened.message_der)
    click.echo(f"signer: {opened.signer}")
    if opened.bound is not None:
        click.echo(f"message: {opened.bound.message_type.value} {opened.bound.message_id.hex()}"
                   f" to {opened.bound.recipient} at "
                   f"{opened.bound.time.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    click.echo(f"wrote {len(opened.message_der)} octets to {out_path}")


__all__ = ["INFORM", "envelope_group", "passphrase_options", "pki_group", "read_certificate",
           "read_certificates_pem", "read_passphrase"]
