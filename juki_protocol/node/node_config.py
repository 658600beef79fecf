"""A node's identity from its code, and what a node needs to run (:class:`NodeConfig`,
the options of ``juki node serve``)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

from juki_protocol.codec.wire import DEFAULT_MAX_FRAME
from juki_protocol.envelope import pki
from juki_protocol.envelope.envelope import TIME_WINDOW
from juki_protocol.identifiers import is_prefecture_code
from juki_protocol.messages.common import NodeId, NodeRole, Profile
from juki_protocol.messages.record import ResidentRecord
from juki_protocol.node import audit
from juki_protocol.node.metrics import NodeMetrics


def role_of_code(code: str) -> NodeRole:
    """The role a node id belongs to (spec/README.md section 3)."""
    if code.startswith("DC"):
        return NodeRole.NATIONAL
    if code.startswith("AG"):
        return NodeRole.AGENCY
    return NodeRole.PREFECTURE if is_prefecture_code(code) else NodeRole.MUNICIPALITY


@functools.lru_cache(maxsize=4096)
def node_of_code(code: str) -> NodeId:
    """The validated :class:`NodeId` of a node id (a frozen value, so cached)."""
    return pki.node_id(role_of_code(code), code)


@dataclass
class NodeConfig:
    """What a node needs to run (``juki node serve`` options).

    directory: node id -> (host, port) of the nodes this node may connect to.
    retention: the retention period (保存期間) of superseded identity info (R-30-5-0-09);
    duplicate_window: how long processed message ids are kept (R-PDU-24).
    residents: the municipality's initial register (only used while it is empty).
    operators: the operator ids registered per requesting body (providers).

    Limits (spec/node.md section 6): max_connections inbound TLS connections at once,
    at most max_peer_connections of them from one node; a connection beyond either is
    answered with one ErrorReport 9002 OVERLOADED and closed (R-NODE-12).
    max_inflight: PDUs read from the connections and not yet answered; a sealed PDU
    read beyond it is answered 9002 referring to its id and not processed (R-NODE-13).
    handshake_timeout: seconds for the TLS handshake (R-NODE-14); frame_timeout:
    seconds for a begun frame to arrive, or for the peer to take one we send
    (R-NODE-15); idle_timeout: seconds of silence between frames after which a
    connection is closed, None for never (R-NODE-16).
    send_window: how many numbered messages (identity info updates, relays) the
    node's sequenced sender keeps on the wire at once, in order (1: one at a time).
    """

    role: str
    code: str
    #: The SQLite database, or with ``database`` the stem of the node's local files
    #: (audit checkpoints, the disclosure log's key).
    db: Path
    cert: Path
    key: Path
    trust: Path
    crl: Path | None = None
    listen: tuple[str, int] | None = ("127.0.0.1", 0)
    directory: dict[str, tuple[str, int]] = field(default_factory=dict)
    profile: Profile = Profile.CURRENT
    max_frame: int = DEFAULT_MAX_FRAME
    time_window: dt.timedelta = TIME_WINDOW
    residents: tuple[ResidentRecord, ...] = ()
    operators: dict[str, set[str]] = field(default_factory=dict)
    #: The node's own operators (spec/node.md section 4.8, juki_protocol.node.operators):
    #: with a file, every local action of the upper tester needs an operator session.
    operators_file: Path | None = None
    #: Providers: purposes served to municipalities and prefectures, by body kind
    #: (``municipality``, ``prefecture``, ``prefectureOrgan``; local ordinance).
    local_purposes: dict[str, set[str]] = field(default_factory=dict)
    #: The centre: the prefectures that delegated their provision to it (Art. 30-10(1)).
    delegations: tuple[str, ...] = ()
    national: str = "DC01"
    retention: dt.timedelta = dt.timedelta(days=150 * 365)
    duplicate_window: dt.timedelta = dt.timedelta(hours=24)
    max_connections: int = 256
    max_peer_connections: int = 8
    #: Pending TLS handshakes (R-NODE-46): from addresses that are not known, of them
    #: from one source address, and the reserve of the known addresses (the hosts of
    #: ``directory`` and ``known_addresses``); beyond a bound the oldest is dropped.
    max_handshakes: int = 256
    max_address_handshakes: int = 32
    known_reserve: int = 64
    known_addresses: tuple[str, ...] = ()
    #: New TLS handshakes a second from one unknown address (bursts of
    #: ``max_address_handshakes``); beyond it, closed before any TLS work (R-NODE-46).
    handshake_rate: float = 20.0
    #: Refusals in a row after which a connection is closed (R-NODE-48).
    max_refusals: int = 64
    max_inflight: int = 256
    #: A ``postgresql://`` URL: the node's tables are in that database, in schema
    #: ``n<code>`` (spec/node.md section 2), instead of the SQLite file ``db``.
    database: str | None = None
    handshake_timeout: float = 10.0
    frame_timeout: float = 30.0
    idle_timeout: float | None = 900.0
    send_window: int = 1
    #: Whether the upper tester may make commits fail (``fail_next_commit``).
    fault_injection: bool = False
    #: The audit log's refusal limit, checkpoints and retention (R-NODE-22..28).
    audit: audit.AuditPolicy = field(default_factory=audit.AuditPolicy)
    #: Revocation (spec/pdu.md R-PDU-40, R-PDU-41): ``crl`` is required unless the
    #: operator opts out with ``no_crl`` (logged); the CRL file is looked at every
    #: ``crl_reload_interval`` seconds and a new usable list is used at once.
    no_crl: bool = False
    crl_reload_interval: float = 60.0
    # -- Data at rest (spec/node.md section 2.1, R-NODE-70 to R-NODE-74) -----------------
    #: The passphrase of an encrypted ``key`` (PKCS #8), read by ``juki node serve``
    #: from a file or an environment variable, never from its command line (R-NODE-72).
    key_passphrase: bytes | None = field(default=None, repr=False)
    #: The file of the disclosure log's key (providers), apart from the database
    #: (R-NODE-73); None: ``<key's stem>.disclosure-key`` beside ``key``.
    disclosure_key: Path | None = None
    #: Counters of the PDUs received, latencies and commit times (``--metrics``).
    metrics: NodeMetrics | None = field(default=None, repr=False, compare=False)

    def disclosure_key_path(self) -> Path:
        """Where the disclosure log's key is kept (:attr:`disclosure_key` or its
        default beside the node's key)."""
        if self.disclosure_key is not None:
            return self.disclosure_key
        return self.key.with_name(f"{self.key.stem}.disclosure-key")
    # -- end of data at rest ---------------------------------------------------------


__all__ = ["NodeConfig", "node_of_code", "role_of_code"]
