"""pytest plugin: synthetic residents, node certificates and a reference network.

Installed as the ``pytest11`` entry point ``juki``; without it, load it with
``-p juki_protocol.tools.pytest_plugin``. Fixtures:

=================  ========  ==============================================================
fixture            scope     gives
=================  ========  ==============================================================
``juki_seed``      session   the seed (``--juki-seed``, default ``juki-pytest``)
``juki_residents`` session   :class:`ResidentFactory`: ``juki_residents(count, seed=...,
                             municipalities=[...])`` -> ``list[SyntheticResident]``
``juki_pki``       session   :class:`JukiPki`: a network CA in a temporary directory and
                             ``issue(role, node_id)`` -> :class:`NodeCredentials`
``juki_network``   session   :class:`JukiNetwork`: the nodes of ``juki network up``
                             listening on 127.0.0.1 for the whole session
=================  ========  ==============================================================

Theory of operation
-------------------
Nothing is started at import or collection time: the protocol modules are imported
inside the fixtures, and the network starts only when a test first asks for
``juki_network``. The network is :class:`juki_protocol.node.network.Network` (the
building block of ``juki network up``) running on its own asyncio event loop in a
daemon thread, so synchronous tests and any event loop of the test suite never share
a loop with the nodes. Every node object, and its SQLite connection, is touched only on
that thread: :meth:`JukiNetwork.call` hands a coroutine to the loop and waits for its
result. The fixture stops every node, then the loop and the thread, at the end of the
session whatever the outcome of the tests.

The certificates of the network are issued by ``juki_pki``, so a test can obtain a
certificate for any other node id from the same CA and connect as that node
(:meth:`JukiNetwork.client`): the nodes trust it (R-PDU-10) and name the peer after it
(R-PDU-11).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import secrets
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import pytest

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    from juki_protocol.envelope import pki as pki_mod
    from juki_protocol.fixtures.synth import Household, SyntheticResident
    from juki_protocol.messages.common import ChangeInfo, NodeId
    from juki_protocol.messages.identity import IdentityInfoUpdate
    from juki_protocol.messages.pdu import JukiPdu
    from juki_protocol.node.network import Network
    from juki_protocol.node.node import Node
    from juki_protocol.node.roles import Owned

__all__ = [
    "DEFAULT_SEED", "JukiClient", "JukiNetwork", "JukiPki", "NodeCredentials", "NodeInfo",
    "ResidentFactory", "UpdateOutcome", "identity_update", "juki_network", "juki_pki",
    "juki_residents", "juki_seed",
]

T = TypeVar("T")
DEFAULT_SEED: Final = "juki-pytest"
LOOPBACK: Final = "127.0.0.1"
PKI_DAYS: Final = 30
HOUSEHOLDS_PER_MUNICIPALITY: Final = 2
_THREAD_NAME: Final = "juki-network"


# Options ---------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    """``--juki-seed``: the seed of ``juki_residents`` and of the network's residents."""
    group = parser.getgroup("juki", "juki-protocol fixtures")
    group.addoption("--juki-seed", default=None, metavar="SEED",
                    help=f"seed of juki_residents and of the residents registered in "
                         f"juki_network (default: {DEFAULT_SEED}).")


def pytest_report_header(config: pytest.Config) -> str | None:
    """Name the seed in the header when it was given, so a run can be repeated."""
    seed = config.getoption("juki_seed", default=None)
    return f"juki: --juki-seed={seed}" if seed is not None else None


@pytest.fixture(scope="session")
def juki_seed(pytestconfig: pytest.Config) -> str:
    """The session's seed: ``--juki-seed``, or :data:`DEFAULT_SEED`."""
    seed = pytestconfig.getoption("juki_seed", default=None)
    return str(seed) if seed is not None else DEFAULT_SEED


# Residents -------------------------------------------------------------------------------

class ResidentFactory:
    """Deterministic synthetic residents (:mod:`juki_protocol.fixtures.synth`).

    The same ``(count, seed, municipalities, today)`` give the same residents in every
    process; ``seed`` defaults to the session's ``juki_seed``.
    """

    def __init__(self, default_seed: int | str) -> None:
        self.default_seed = default_seed

    def __call__(self, count: int, seed: int | str | None = None, *,
                 municipalities: Sequence[str] | None = None,
                 today: dt.date | None = None) -> list[SyntheticResident]:
        """Exactly ``count`` residents, whole households in order (see
        :func:`juki_protocol.fixtures.synth.generate_residents`, which raises for bad arguments)."""
        from juki_protocol.fixtures.synth import DEFAULT_TODAY, generate_residents
        return generate_residents(count, self.default_seed if seed is None else seed,
                                  municipalities=municipalities,
                                  today=DEFAULT_TODAY if today is None else today)

    def households(self, count: int, seed: int | str | None = None, *,
                   municipalities: Sequence[str] | None = None,
                   today: dt.date | None = None) -> list[Household]:
        """``count`` whole households (:func:`juki_protocol.fixtures.synth.generate_households`)."""
        from juki_protocol.fixtures.synth import DEFAULT_TODAY, generate_households
        return generate_households(count, self.default_seed if seed is None else seed,
                                   municipalities=municipalities,
                                   today=DEFAULT_TODAY if today is None else today)


@pytest.fixture(scope="session")
def juki_residents(juki_seed: str) -> ResidentFactory:
    """A factory of synthetic residents: ``juki_residents(5, seed="x",
    municipalities=["131016"])`` returns a list of
    :class:`~juki_protocol.fixtures.synth.SyntheticResident`."""
    return ResidentFactory(juki_seed)


# PKI -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NodeCredentials:
    """A node certificate issued by :class:`JukiPki`, on disk and loaded."""

    node: NodeId
    """The node the certificate names (subjectAltName URI and CN)."""
    cert_path: Path
    """``<directory>/<id>.pem``."""
    key_path: Path
    """``<directory>/<id>.key`` (mode 0600)."""
    certificate: x509.Certificate
    """The certificate."""
    key: ec.EllipticCurvePrivateKey
    """Its P-256 private key."""

    @property
    def role(self) -> str:
        """The node's role (``municipality``, ``prefecture``, ``national``, ``agency``)."""
        return self.node.role.value

    @property
    def code(self) -> str:
        """The node id."""
        return self.node.code

    @property
    def credential(self) -> pki_mod.Credential:
        """Key and certificate as a :class:`juki_protocol.envelope.pki.Credential`."""
        from juki_protocol.envelope import pki
        return pki.Credential(self.key, self.certificate)


class JukiPki:
    """A network CA in ``directory`` laid out as ``juki pki`` does (``ca.pem``,
    ``ca.key``, ``crl.pem`` with no revocation, ``<id>.pem`` and ``<id>.key``).

    Certificates are valid from an hour before creation for :data:`PKI_DAYS` days.
    """

    def __init__(self, directory: Path, *, days: int = PKI_DAYS) -> None:
        from juki_protocol.envelope import pki
        from juki_protocol.envelope.ca import CertificateAuthority
        from juki_protocol.node.network import create_pki
        create_pki(directory, (), dt.datetime.now(dt.UTC), days=days)
        self.directory = directory
        self.ca_cert_path = directory / "ca.pem"
        self.ca_key_path = directory / "ca.key"
        self.crl_path = directory / "crl.pem"
        self.ca = CertificateAuthority(
            pki.load_private_key(self.ca_key_path.read_bytes()),
            pki.load_certificate(self.ca_cert_path.read_bytes()))
        self._issued: dict[str, NodeCredentials] = {}
        self._serials = itertools.count(2)        # Serial 1 is the CA's own.
        self._lock = threading.Lock()

    @property
    def ca_certificate(self) -> x509.Certificate:
        """The network CA certificate (the only trust anchor of the nodes)."""
        return self.ca.certificate

    @property
    def issued(self) -> dict[str, NodeCredentials]:
        """The credentials issued so far, by node id."""
        with self._lock:
            return dict(self._issued)

    def issue(self, role: str, code: str) -> NodeCredentials:
        """The certificate and key of node ``role:code``, issued on first request and
        the same afterwards. Raises as :func:`juki_protocol.envelope.pki.node_id` (ValueError,
        ValidationError 1026) when the role is unknown or the id does not fit it."""
        from juki_protocol.envelope import pki
        from juki_protocol.envelope.ca import issue_node_certificate
        node = pki.node_id(role, code)      # The id fixes the role: the cache is by id.
        with self._lock:
            done = self._issued.get(code)
            if done is not None:
                return done
            key = pki.generate_key()
            cert = issue_node_certificate(
                self.ca, key.public_key(), node, serial=next(self._serials),
                not_before=self.ca.certificate.not_valid_before_utc,
                not_after=self.ca.certificate.not_valid_after_utc)
            cert_path, key_path = self.directory / f"{code}.pem", self.directory / f"{code}.key"
            cert_path.write_bytes(pki.cert_pem(cert))
            pki.write_private_file(key_path, pki.key_pem(key))
            done = NodeCredentials(node=node, cert_path=cert_path, key_path=key_path,
                                   certificate=cert, key=key)
            self._issued[code] = done
            return done

    def __getitem__(self, code: str) -> NodeCredentials:
        """The credentials issued for ``code`` (KeyError if none were)."""
        with self._lock:
            return self._issued[code]




@pytest.fixture(scope="session")
def juki_pki(tmp_path_factory: pytest.TempPathFactory) -> JukiPki:
    """A network CA for the session, and ``issue(role, node_id)`` for node
    certificates (the CA of ``juki_network`` too)."""
    return JukiPki(tmp_path_factory.mktemp("juki-pki"))


# A client of the network -------------------------------------------------------------------

class JukiClient:
    """A blocking mutual-TLS connection to one node, as another node (a lower tester).

    ``send`` seals a message to the peer (the envelope of spec/pdu.md); ``request``
    also waits for the acknowledgement or error report that refers to it.
    """

    def __init__(self, sock: ssl.SSLSocket, me: NodeCredentials, peer: NodeId,
                 peer_certificate: x509.Certificate, timeout: float) -> None:
        from juki_protocol.codec.wire import FrameDecoder
        self.sock = sock
        self.me = me
        self.peer = peer
        self.peer_certificate = peer_certificate
        self.timeout = timeout
        self._decoder = FrameDecoder()
        self._frames: list[bytes] = []
        self._sequence = itertools.count()

    @property
    def tls_version(self) -> str | None:
        """The negotiated TLS version (``TLSv1.3``)."""
        return self.sock.version()

    def send_frame(self, pdu_der: bytes) -> None:
        """Send one framed PDU (R-PDU-12), as given."""
        from juki_protocol.codec.wire import encode_frame
        self.sock.sendall(encode_frame(pdu_der))

    def sealed_pdu(self, message: object, *, message_id: bytes | None = None,
                   correlation_id: bytes | None = None,
                   now: dt.datetime | None = None) -> tuple[bytes, bytes]:
        """``(message_id, DER)`` of a JukiPdu sealing ``message`` to the peer. Raises
        SecurityError when the route does not allow it (:func:`juki_protocol.envelope.pki.
        check_route`)."""
        from juki_protocol.codec import codec
        from juki_protocol.envelope.envelope import seal
        from juki_protocol.messages.common import Profile
        from juki_protocol.messages.pdu import JukiPdu, PduHeader
        from juki_protocol.node.node import PROTOCOL_VERSION, message_type_of
        when = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        mid = message_id or secrets.token_bytes(16)
        header = PduHeader(version=PROTOCOL_VERSION, message_id=mid,
                           message_type=message_type_of(message), sender=self.me.node,
                           recipient=self.peer, time=when,
                           sequence_number=next(self._sequence), profile=Profile.CURRENT,
                           correlation_id=correlation_id)
        envelope = seal(header, codec.encode(message), self.me.key, self.me.certificate,
                        self.peer_certificate, when)
        return mid, codec.encode(JukiPdu(header=header, sealed=envelope), profile=None)

    def send(self, message: object, **header: Any) -> bytes:
        """Seal ``message`` to the peer and send it; returns its message id.
        ``header``: ``message_id``, ``correlation_id`` or ``now`` of :meth:`sealed_pdu`."""
        mid, der = self.sealed_pdu(message, **header)
        self.send_frame(der)
        return mid

    def read_pdu(self, timeout: float | None = None) -> JukiPdu | None:
        """The next PDU from the peer, or None once it closed the connection. Raises
        TimeoutError after ``timeout`` seconds (default: the client's)."""
        from juki_protocol.codec import codec
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        while not self._frames:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                raise TimeoutError(f"no PDU from {self.peer} in time") from None
            except (ConnectionError, ssl.SSLError):
                return None
            if not data:
                return None
            self._frames += self._decoder.feed(data)
        return codec.decode(self._frames.pop(0), "JukiPdu")  # type: ignore[no-any-return]

    def request(self, message: object, timeout: float | None = None,
                **header: Any) -> JukiPdu:
        """Send ``message`` and return the answer PDU (acknowledgement or error report)
        that refers to it; other PDUs that arrive meanwhile are skipped. Raises
        ConnectionError if the peer closes first, TimeoutError if it does not answer."""
        mid = self.send(message, **header)
        while True:
            pdu = self.read_pdu(timeout)
            if pdu is None:
                raise ConnectionError(f"{self.peer} closed the connection unanswered")
            ack, report = pdu.acknowledgement, pdu.error_report
            if (ack is not None and ack.acknowledged_id == mid) or \
                    (report is not None and report.refers_to == mid):
                return pdu

    def close(self) -> None:
        """Close the connection (idempotent)."""
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> JukiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def identity_update(resident: SyntheticResident, sequence: int, *,
                    change: ChangeInfo | None = None) -> IdentityInfoUpdate:
    """A ``record`` IdentityInfoUpdate (Art. 30-5) of ``resident`` from its municipality,
    numbered ``sequence``; ``change`` defaults to birth or move-in as
    :func:`juki_protocol.node.network.run_flows` records."""
    from juki_protocol.messages.common import Profile
    from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
    return IdentityInfoUpdate(
        municipality=resident.address.local_gov_code, update_sequence=sequence,
        operation=UpdateOperation.RECORD, identity_info=resident.identity_info(
            Profile.CURRENT), change_info=change or _change_of(resident))


def _change_of(resident: SyntheticResident) -> ChangeInfo:
    from juki_protocol.messages.common import ChangeInfo, ChangeReason
    reason = (ChangeReason.BIRTH if resident.resident_since == resident.birth_date
              else ChangeReason.MOVE_IN)
    return ChangeInfo(change_reason=reason, change_date=resident.resident_since)


# The network -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A running node of :class:`JukiNetwork`."""

    code: str
    """The node id (``271004``, ``270008``, ``DC01``, ``AG0001``...)."""
    role: str
    """``municipality``, ``prefecture``, ``national`` or ``agency``."""
    host: str
    """Always ``127.0.0.1``."""
    port: int
    """The port it listens on."""
    cert_path: Path
    """Its certificate (issued by ``juki_pki``)."""
    key_path: Path
    """Its private key."""
    db_path: Path
    """Its SQLite database (open while the network runs)."""

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    """What became of an identity info update a municipality node sent (Art. 30-5)."""

    sequence: int
    """update_sequence of the update."""
    message_id: bytes
    """Its message id."""
    acknowledged: bool
    """True once the prefecture acknowledged it (stored as ``acked``)."""
    error_code: int | None = None
    """The refusal code when the prefecture refused it (the updater stalled)."""


class JukiNetwork:
    """The nodes of ``juki network up`` on 127.0.0.1, run by a daemon thread.

    nodes: :class:`NodeInfo` by node id. residents: the synthetic residents each
    municipality's register starts with (not yet reported to the prefectures).
    network: the :class:`~juki_protocol.node.network.Network`; touch it only in
    coroutines given to :meth:`call`.
    """

    def __init__(self, directory: Path, pki: JukiPki, seed: str, *,
                 nodes: Sequence[tuple[str, str]] | None = None,
                 households: int = HOUSEHOLDS_PER_MUNICIPALITY) -> None:
        from juki_protocol.node.network import NODES, Network, households_for
        self.directory = directory
        self.pki = pki
        self.seed = seed
        self.layout = tuple(NODES if nodes is None else nodes)
        self.households: dict[str, list[Household]] = households_for(
            seed, self.layout, households)
        self.residents: dict[str, tuple[SyntheticResident, ...]] = {
            code: tuple(m for h in houses for m in h.members)
            for code, houses in self.households.items()}
        self.network: Network = Network()
        self.nodes: dict[str, NodeInfo] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # Life cycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 30.0) -> None:
        """Issue the certificates, start the loop thread and every node; on failure
        stop what started and raise."""
        from juki_protocol.node.network import OPERATORS, node_config
        for role, code in self.layout:
            self.pki.issue(role, code)
        everyone = tuple(m for people in self.residents.values() for m in people)
        configs = [node_config(self.directory, self.pki.directory, role, code,
                               residents=everyone,
                               operators={k: set(v) for k, v in OPERATORS.items()})
                   for role, code in self.layout]
        loop = asyncio.new_event_loop()
        self.loop = loop
        self._thread = threading.Thread(target=_run_loop, args=(loop,), name=_THREAD_NAME,
                                        daemon=True)
        self._thread.start()
        try:
            self.call(self.network.start(configs), timeout)
        except BaseException:
            self.stop()
            raise
        self.nodes = {
            code: NodeInfo(code=code, role=node.config.role, host=LOOPBACK,
                           port=self.network.directory[code][1], cert_path=node.config.cert,
                           key_path=node.config.key, db_path=node.config.db)
            for code, node in self.network.nodes.items()}

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every node, then the loop and its thread (idempotent)."""
        loop, thread = self.loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if thread.is_alive() and self.network.nodes:
                self.call(self.network.stop(), timeout)
        finally:
            if thread.is_alive():
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive() and not loop.is_closed():
                loop.close()
            self.network.nodes.clear()
            self.loop = self._thread = None

    # Running code on the network's loop --------------------------------------------------

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on the network's loop and return its result (TimeoutError after
        ``timeout`` seconds, the coroutine then cancelled)."""
        loop = self.loop
        if loop is None or not self.running:
            coro.close()
            raise RuntimeError("the juki network is not running")
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, timeout), loop)
        try:
            # The margin covers a loop too busy to notice its own timeout in time.
            return future.result(timeout + 5)
        except TimeoutError:
            future.cancel()
            raise

    def node(self, code: str) -> Node:
        """The :class:`~juki_protocol.node.node.Node` ``code`` (loop thread only)."""
        return self.network.nodes[code]

    def local(self, code: str, action: Callable[[dt.datetime], list[Owned]],
              timeout: float = 10.0) -> list[Owned]:
        """Run a local event at node ``code`` (``Node.local``): ``action(now)`` runs on
        the loop thread with the node's role handler at hand (``network.role(code)``)."""
        return self.call(self.node(code).local(action), timeout)

    def quiet(self, timeout: float = 30.0) -> None:
        """Wait until no update or relay is unacknowledged anywhere."""
        self.call(self.network.quiet(timeout), timeout + 1)

    def run_flows(self, say: Callable[[str], None] = lambda _: None,
                  timeout: float = 60.0) -> dict[str, str]:
        """Run the four flows of ``juki network up`` once
        (:func:`juki_protocol.node.network.run_flows`); they change the registers."""
        from juki_protocol.node.network import run_flows
        return self.call(run_flows(self.network, self.households, say), timeout)

    # Identity info updates -----------------------------------------------------------------

    def record(self, code: str, resident: SyntheticResident, *,
               change: ChangeInfo | None = None, timeout: float = 10.0) -> UpdateOutcome:
        """Record ``resident`` at municipality ``code`` and wait until the update it
        reports to the prefecture (Art. 30-5) is acknowledged or refused."""
        return self.call(self._record(code, resident, change or _change_of(resident),
                                      timeout), timeout + 1)

    async def _record(self, code: str, resident: SyntheticResident, change: ChangeInfo,
                      timeout: float) -> UpdateOutcome:
        from juki_protocol.node.roles import MunicipalityRole
        node = self.node(code)
        role = node.handler
        if not isinstance(role, MunicipalityRole):
            raise ValueError(f"node {code} is a {node.config.role}, not a municipality")
        await node.local(lambda now: role.record(resident, change, now))
        mid, update = role.updater.outbox[-1]
        seq = update.update_sequence

        def stalled() -> int | None:
            for _, event in node.events:
                if event.name == "stalled" and event.data == mid:
                    return int(event.code) if event.code is not None else 0
            return None

        def settled() -> bool:
            return stalled() is not None or (seq, "acked") in node.storage.updates("acked")
        await node.wait_until(settled, timeout)
        code_ = stalled()
        return UpdateOutcome(sequence=seq, message_id=mid, acknowledged=code_ is None,
                             error_code=code_)

    def next_update_sequence(self, municipality: str, prefecture: str | None = None) -> int:
        """The update_sequence the prefecture (default: the municipality's) expects next
        from ``municipality``, for a client that sends updates itself."""
        from juki_protocol.identifiers import prefecture_of
        pref = prefecture or prefecture_of(municipality)

        async def ask() -> int:
            receiver = self.network.role(pref).receiver
            return int(receiver.last.get(municipality, 0)) + 1
        return self.call(ask(), 5)

    # Clients ------------------------------------------------------------------------------

    def client(self, as_node: str | NodeCredentials, to: str, *, role: str | None = None,
               timeout: float = 10.0) -> JukiClient:
        """A mutual-TLS 1.3 connection to node ``to``, as ``as_node``: a node id (its
        certificate is issued by ``juki_pki`` if need be; ``role`` defaults to the role
        the id belongs to) or given credentials. The peer certificate is validated and
        must name ``to``. Connecting as a node of the network replaces that node's own
        connection to ``to`` until the client closes."""
        from cryptography import x509 as x509_mod

        from juki_protocol.envelope import pki
        from juki_protocol.errors import ErrorCode, SecurityError
        from juki_protocol.node.node import role_of_code
        from juki_protocol.node.transport import client_context
        info = self.nodes[to]
        me = as_node if not isinstance(as_node, str) else self.pki.issue(
            role or role_of_code(as_node).value, as_node)
        ctx = client_context(me.cert_path, me.key_path, self.pki.ca_cert_path,
                             self.pki.crl_path)
        raw = socket.create_connection((info.host, info.port), timeout=timeout)
        try:
            sock = ctx.wrap_socket(raw)
            der = sock.getpeercert(binary_form=True)
            if not der:
                raise SecurityError("the node presented no certificate",
                                    code=ErrorCode.CERT_UNTRUSTED)
            cert = x509_mod.load_der_x509_certificate(der)
            trust = pki.TrustStore.from_pem(self.pki.ca_cert_path.read_bytes(),
                                            crls=[self.pki.crl_path.read_bytes()])
            peer = pki.validate_certificate(cert, trust, dt.datetime.now(dt.UTC),
                                            pki.KeyPurpose.SIGNING)
            if peer.code != to:
                raise SecurityError(f"{info.address} presented {peer}, not {to}",
                                    code=ErrorCode.CERT_SENDER_MISMATCH)
        except BaseException:
            raw.close()
            raise
        return JukiClient(sock, me, peer, cert, timeout)


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        # Cancel what the nodes left behind so that closing the loop does not warn.
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        # getaddrinfo runs in the default executor: join its threads too.
        loop.run_until_complete(loop.shutdown_default_executor())


@pytest.fixture(scope="session")
def juki_network(juki_pki: JukiPki, juki_seed: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[JukiNetwork]:
    """The reference network of ``juki network up`` (DC01; prefectures 270008 and
    130001; municipalities 271004, 272035, 131016, 131041; agency AG0001) listening on
    127.0.0.1 from the first test that asks for it to the end of the session, when it
    is stopped whatever the outcome of the tests."""
    net = JukiNetwork(tmp_path_factory.mktemp("juki-network"), juki_pki, juki_seed)
    net.start()
    try:
        yield net
    finally:
        net.stop()
