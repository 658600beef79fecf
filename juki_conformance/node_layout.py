"""The test network around a node under test: which node the runner tests for each
role, the peers the lower tester plays (and which of them it plays by listening), the
network PKI of a run with its revoked, expired and not-yet-valid certificates, the
operators file, and the options of ``juki node serve`` for the node. The runner
launches the reference node with them (:class:`juki_conformance.node_sut.NodeSut`);
``juki-conformance prepare-node`` writes them for a vendor's node.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from juki_conformance.ics import (
    REFERENCE_IXIT,
    REFERENCE_LOCAL_PURPOSES,
    TEST_RETENTION_SECONDS,
)
from juki_protocol.envelope import pki
from juki_protocol.envelope.ca import (
    CertificateAuthority,
    RevokedCertificate,
    build_crl,
    issue_node_certificate,
)
from juki_protocol.identifiers import prefecture_of
from juki_protocol.node.network import create_pki
from juki_protocol.node.operator_issue import write_operators_file
from juki_protocol.node.operators import DEFAULT_ROLES

#: The reference node's ``serve`` command; the runner appends the node's options.
REFERENCE_NODE = [sys.executable, "-m", "juki_protocol.tools.cli_node", "node", "serve"]
#: The SUT (a prefecture by default) and the peers the lower tester plays.
SUT_ROLE, SUT_CODE = "prefecture", "270008"
#: The node the runner launches for each role it can test.
SUT_CODES = {"prefecture": SUT_CODE, "municipality": "271004", "national": "DC01",
             "agency": "AG0001"}
PEERS: tuple[tuple[str, str], ...] = (("municipality", "271004"),
                                      ("municipality", "272035"), ("municipality", "272051"),
                                      ("municipality", "131016"),
                                      ("prefecture", "130001"), ("national", "DC01"),
                                      ("agency", "AG0001"), ("agency", "AG9999"))
#: The agencies the lower tester plays when it asks for provision (Art. 30-7(3)): one
#: of schedule 1 and one that is not, and the operator the launched node registers for
#: each (``--operator BODY=OP``), so that only the schedule can refuse AG9999.
AGENCY, UNLISTED_AGENCY = "AG0001", "AG9999"
OPERATORS: dict[str, str] = {AGENCY: "op-conformance", UNLISTED_AGENCY: "op-conformance",
                             "271004": "op-conformance", "130001": "op-conformance"}
#: The purposes the launched prefecture serves to local bodies (set by local ordinance,
#: Arts. 30-7(4) to (6)): ``--local-purpose KIND=PURPOSE``.
LOCAL_PURPOSES: dict[str, str] = REFERENCE_LOCAL_PURPOSES
START_TIMEOUT = 20.0


def other_municipality(code: str) -> str:
    """The municipality the runner plays beside a municipality SUT ``code``."""
    return "272035" if code != "272035" else "271004"


def listened_as(role: str, code: str) -> list[str]:
    """The peers the runner plays by listening: those to which node ``code`` of
    ``role`` opens connections (its prefecture and the other municipality for a
    municipality, the national centre for a prefecture's relays, the providers for an
    agency); the first is :attr:`NodeSut.listener`."""
    if role == "municipality":
        # DC01: the card register's notices and queries (spec/card_register.md).
        return [prefecture_of(code), other_municipality(code), "DC01"]
    if role == "prefecture":
        return ["DC01"]
    if role == "agency":
        return [SUT_CODE, "DC01"]
    return []


def peers_of(role: str, code: str) -> list[tuple[str, str]]:
    """The nodes whose credentials the runner needs beside SUT ``code`` of ``role``."""
    nodes = [p for p in PEERS if p[1] != code]
    for peer in [prefecture_of(code)] if role == "municipality" else []:
        if peer not in {c for _, c in nodes}:
            nodes.append(("prefecture", peer))
    if role != "prefecture" and SUT_CODE not in {c for _, c in nodes}:
        nodes.append(("prefecture", SUT_CODE))
    return nodes


def revoked_peer_of(role: str, code: str) -> str:
    """The peer whose bad certificates ``pki/revoked/``, ``pki/expired/`` and
    ``pki/future/`` hold (revoked by the CRL, expired, not yet valid): the municipality
    the runner plays beside a prefecture or a municipality, the prefecture 270008 beside
    the national centre or an agency."""
    if role in ("national", "agency"):
        return SUT_CODE
    return "271004" if role == "prefecture" else other_municipality(code)


#: How long the credentials and CRL of a node the runner launches are valid.
LAUNCHED_PKI_DAYS = 400


def prepare_pki(directory: Path, role: str, code: str, now: dt.datetime, *,
                days: int = 2) -> Path:
    """The network PKI of a node-mode run, in the layout of ``juki pki``: the CA, the
    SUT's and every peer's credentials, and ``crl.pem`` revoking a second certificate
    of one peer (``revoked/<ID>.pem`` and ``.key``) for the revoked-certificate case."""
    create_pki(directory, [(role, code), *peers_of(role, code)], now, days=days)
    peer = revoked_peer_of(role, code)
    ca = CertificateAuthority(
        pki.load_private_key((directory / "ca.key").read_bytes()),
        pki.load_certificate((directory / "ca.pem").read_bytes()))
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(days=days)
    key = pki.generate_key()
    serial = 1000
    cert = issue_node_certificate(ca, key.public_key(),
                                  pki.node_of_certificate(pki.load_certificate(
                                      (directory / f"{peer}.pem").read_bytes())),
                                  not_before=start, not_after=end, serial=serial)
    (directory / "revoked").mkdir(exist_ok=True)
    (directory / "revoked" / f"{peer}.pem").write_bytes(pki.cert_pem(cert))
    pki.write_private_file(directory / "revoked" / f"{peer}.key", pki.key_pem(key))
    # The same peer's certificates outside their validity: expired a day ago, and valid
    # only from tomorrow (a key of their own each; the CRL does not name them).
    for name, (begin, until), number in (
            ("expired", (now - dt.timedelta(days=3), now - dt.timedelta(days=1)), 1001),
            ("future", (now + dt.timedelta(days=1), now + dt.timedelta(days=3)), 1002)):
        other = pki.generate_key()
        made = issue_node_certificate(ca, other.public_key(), pki.node_of_certificate(
            cert), not_before=begin, not_after=until, serial=number)
        (directory / name).mkdir(exist_ok=True)
        (directory / name / f"{peer}.pem").write_bytes(pki.cert_pem(made))
        pki.write_private_file(directory / name / f"{peer}.key", pki.key_pem(other))
    crl = build_crl(ca, [RevokedCertificate(serial=serial, revoked_at=start)],
                    this_update=start, next_update=end, number=2)
    (directory / "crl.pem").write_bytes(pki.crl_pem(crl))
    return directory


def write_test_operators(path: Path, pki_dir: Path, code: str, operator: dict[str, Any],
                         *, days: int) -> Path:
    """The operators file of node ``code`` (credential in ``pki_dir``) for a run: the
    IXIT's ``operator`` with every role, and its ``restricted`` operator with the
    administrator's role only (spec/node.md section 4.8; spec/conformance.md section 6)."""
    write_operators_file(path, pki.Credential(
        pki.load_private_key((pki_dir / f"{code}.key").read_bytes()),
        pki.load_certificate((pki_dir / f"{code}.pem").read_bytes())),
        code, [(str(operator["id"]), tuple(DEFAULT_ROLES), str(operator["pin"])),
               *((str(r["id"]), ("admin",), str(r["pin"])) for r in
                 [operator.get("restricted")] if isinstance(r, dict))],
        dt.datetime.now(dt.UTC), days=days)
    return path


#: The ``juki node serve`` option of each ICS limit.
LIMIT_OPTIONS = {"handshakeTimeoutSeconds": "--handshake-timeout",
                 "frameTimeoutSeconds": "--frame-timeout",
                 "maxConnections": "--max-connections",
                 "maxPeerConnections": "--max-peer-connections",
                 "maxInflight": "--max-inflight",
                 "maxHandshakes": "--max-handshakes",
                 "maxAddressHandshakes": "--max-address-handshakes",
                 "knownReserve": "--known-reserve",
                 "maxRefusals": "--max-refusals",
                 "handshakeRate": "--handshake-rate",
                 "crlReloadSeconds": "--crl-reload-interval",
                 "sendWindow": "--send-window"}


def serve_options(role: str, code: str, pki_dir: Path, *, listen: str, upper_tester: str,
                  limits: dict[str, float], directory: Path | None = None,
                  runner_host: str = "127.0.0.1") -> list[str]:
    """The options of ``juki node serve`` (option, value, option, value...) for node
    ``code`` under test with the PKI of :func:`prepare_pki`: its credential, the CRL,
    its limits, the test clock and fault injection (IXIT ``clock``, ``faultInjection``),
    for a provider (prefecture, national) the operators and local purposes of the peers
    the runner plays, and the ``directory`` naming the runner as the peers it plays by
    listening (:func:`listened_as`). ``runner_host``: the address the runner connects
    from, as its peers': a known address (R-NODE-46), whose handshakes the node does not
    rate-limit. The runner launches the reference node with them; ``prepare-node``
    prints them for a vendor's node."""
    p = pki_dir
    args = ["--role", role, "--node", code, "--cert", str(p / f"{code}.pem"),
            "--key", str(p / f"{code}.key"), "--trust", str(p / "ca.pem"),
            "--crl", str(p / "crl.pem"), "--listen", listen, "--upper-tester", upper_tester,
            "--known-address", runner_host]
    for name, value in limits.items():
        args += [LIMIT_OPTIONS[name], f"{value:g}"]
    args += ["--test-clock", "now", "--fault-injection"]
    if role in ("prefecture", "national"):
        args += ["--retention-seconds", str(TEST_RETENTION_SECONDS)]
        for body, operator in OPERATORS.items():
            args += ["--operator", f"{body}={operator}"]
        for kind, purpose in LOCAL_PURPOSES.items():
            args += ["--local-purpose", f"{kind}={purpose}"]
    for pref in REFERENCE_IXIT["delegatingPrefectures"] if role == "national" else ():
        args += ["--delegated-by", pref]      # spec/provision.md section 6
    if directory is not None:
        args += ["--directory", str(directory)]
    return args


__all__ = [
    "AGENCY",
    "LAUNCHED_PKI_DAYS",
    "LIMIT_OPTIONS",
    "LOCAL_PURPOSES",
    "OPERATORS",
    "PEERS",
    "REFERENCE_NODE",
    "START_TIMEOUT",
    "SUT_CODE",
    "SUT_CODES",
    "SUT_ROLE",
    "UNLISTED_AGENCY",
    "listened_as",
    "other_municipality",
    "peers_of",
    "prepare_pki",
    "revoked_peer_of",
    "serve_options",
    "write_test_operators",
]
