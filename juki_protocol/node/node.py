"""A reference node: the machines of one role behind mutual TLS, with storage and audit.

Theory of operation
-------------------
A :class:`Node` listens (and connects) with TLS 1.3 and mutual certificate
authentication (:mod:`juki_protocol.node.transport`), reads frames
(:mod:`juki_protocol.wire`) and checks each PDU in the order of spec/pdu.md section 8:

1. the frame length (1001, then the connection is closed);
2. the strict DER of the ``JukiPdu`` and its header fields (1010-1016, 1023, 1026, 1031);
3. the version (1016), the recipient (3002), the sender against the node named by the
   TLS peer certificate (2015), the time window (2020), the routing table (3003);
4. the envelope, opened with the node's credential (the peer sees only 2001);
5. the message: its tag, DER, schema and profile, and the rules of its clause;
6. duplicates and replays, by sender, message id and digest (R-PDU-24), kept durably;
7. the role's machine (:mod:`juki_protocol.node.roles`), its effects stored, the
   processed id and the audit rows committed in one transaction; then, and only then,
   the acknowledgement and the other messages are sent (R-PDU-22).

Every refusal is answered with an ``ErrorReport`` carrying a registered code and, when
it could be read, the message id in ``refersTo``; acknowledgements and error reports are
never answered (R-PDU-25). A malformed frame does not end the connection, except a
frame that is too large: the framing is then lost, so the node reports 1001 and closes.

Timers: the machines' :class:`ArmTimer` effects become ``loop.call_later`` handles that
call the machine's ``timeout`` (or the special move desk's ``tick``) when they are due.
This module is the only place, with :mod:`transport`, that touches sockets and clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from juki_protocol import codec, pki
from juki_protocol.envelope import TIME_WINDOW, open_envelope, peer_error_report, seal
from juki_protocol.errors import ErrorCode, JukiError, SecurityError
from juki_protocol.identifiers import is_prefecture_code
from juki_protocol.machines.common import ArmTimer, CancelTimer, Event, Inbound, Send, random_ids
from juki_protocol.machines.special_move import MoveOutDesk
from juki_protocol.messages.common import NodeId, NodeRole, Profile
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    ErrorReport,
    JukiPdu,
    MessageType,
    PduHeader,
)
from juki_protocol.messages.provision import ProvisionRequest, ProvisionResponse
from juki_protocol.node import audit
from juki_protocol.node.roles import Owned, RoleHandler, is_answer, make_role
from juki_protocol.node.storage import SqliteStorage, StorageError, digest_of
from juki_protocol.node.transport import (
    Connection,
    FrameStalled,
    client_context,
    server_context,
)
from juki_protocol.schema import decode_raw
from juki_protocol.synth import SyntheticResident
from juki_protocol.wire import DEFAULT_MAX_FRAME, FrameError

logger = logging.getLogger(__name__)
PROTOCOL_VERSION = 1
HOUSEKEEPING_EVERY = 3600.0


def role_of_code(code: str) -> NodeRole:
    """The role a node id belongs to (spec/README.md section 3)."""
    if code.startswith("DC"):
        return NodeRole.NATIONAL
    if code.startswith("AG"):
        return NodeRole.AGENCY
    return NodeRole.PREFECTURE if is_prefecture_code(code) else NodeRole.MUNICIPALITY


def node_of_code(code: str) -> NodeId:
    """The validated :class:`NodeId` of a node id."""
    return pki.node_id(role_of_code(code), code)


def message_type_of(message: object) -> MessageType:
    """The header message type of a message object."""
    name = codec.type_name_of(message)
    return MessageType(name[:1].lower() + name[1:])


def _peek_id(frame: bytes) -> bytes | None:
    """The header's message id of a PDU that failed a later check, if it is readable."""
    try:
        value = decode_raw("JukiPdu", frame).value
        mid = value["header"]["messageId"]
    except (JukiError, KeyError, TypeError):
        return None
    return bytes(mid) if isinstance(mid, (bytes, bytearray)) and len(mid) == 16 else None


def _peek_sealed(frame: bytes) -> tuple[bytes, str] | None:
    """The message id and type of a frame that reads as a sealed PDU, else None."""
    try:
        value = decode_raw("JukiPdu", frame).value
        header, kind = value["header"], value["body"][0]
        mid, mtype = header["messageId"], header["messageType"]
    except (JukiError, KeyError, TypeError, IndexError):
        return None
    if kind != "sealed" or not isinstance(mid, bytes) or len(mid) != 16:
        return None
    return mid, str(mtype)


def _result(code: ErrorCode | int) -> str:
    try:
        return f"{int(code)} {ErrorCode(int(code)).name}"
    except ValueError:
        return str(int(code))


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
    """

    role: str
    code: str
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
    residents: tuple[SyntheticResident, ...] = ()
    operators: dict[str, set[str]] = field(default_factory=dict)
    national: str = "DC01"
    retention: dt.timedelta = dt.timedelta(days=150 * 365)
    duplicate_window: dt.timedelta = dt.timedelta(hours=24)
    max_connections: int = 256
    max_peer_connections: int = 8
    max_inflight: int = 256
    handshake_timeout: float = 10.0
    frame_timeout: float = 30.0
    idle_timeout: float | None = 900.0


def _system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Node:
    """One running node (see the module docstring)."""

    def __init__(self, config: NodeConfig, *,
                 clock: Callable[[], dt.datetime] = _system_clock) -> None:
        self.config = config
        self.clock = clock
        self.node = pki.node_id(config.role, config.code)
        self.credential = pki.Credential(pki.load_private_key(config.key.read_bytes()),
                                         pki.load_certificate(config.cert.read_bytes()))
        named = pki.node_of_certificate(self.credential.certificate)
        if named != self.node:
            raise SecurityError(f"the certificate names {named}, not {self.node}",
                                code=ErrorCode.CERT_SENDER_MISMATCH)
        crls = [config.crl.read_bytes()] if config.crl else []
        self.trust = pki.TrustStore.from_pem(config.trust.read_bytes(), crls=crls)
        self.storage = SqliteStorage(config.db, config.role)
        self.handler: RoleHandler = make_role(
            config.role, config.code, self.storage, residents=config.residents,
            operators=config.operators, national=config.national, profile=config.profile,
            retention=config.retention)
        self.server_ctx = server_context(config.cert, config.key, config.trust, config.crl)
        self.client_ctx = client_context(config.cert, config.key, config.trust, config.crl)
        self.connections: dict[str, Connection] = {}
        self.waiting: dict[bytes, Any] = {}
        self.events: list[tuple[Any, Event]] = []
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._timers: dict[tuple[int, str], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connect_locks: dict[str, asyncio.Lock] = {}
        self._sequence: dict[str, int] = {}
        self._operators: dict[bytes, str] = {}
        self._inbound: set[Connection] = set()     # accepted and admitted (R-NODE-12)
        self._inflight = 0                         # PDUs read, not yet answered (R-NODE-13)

    # Life cycle ----------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The node's clock (aware UTC)."""
        return self.clock().astimezone(dt.UTC)

    async def start(self) -> None:
        """Listen (if configured) and resend what was unacknowledged at the last stop."""
        if self.config.listen is not None:
            host, port = self.config.listen
            # R-NODE-14: a peer that does not complete the TLS handshake in time is
            # dropped by the listener. The backlog holds a burst of new connections
            # well beyond the limit, so that they are told 9002 (R-NODE-12) rather
            # than left to the kernel's SYN retries.
            self._server = await asyncio.start_server(
                self._on_client, host, port, ssl=self.server_ctx,
                ssl_handshake_timeout=self.config.handshake_timeout,
                backlog=max(1024, 2 * self.config.max_connections))
            self.port = self._server.sockets[0].getsockname()[1]
        await self.dispatch(self.handler.pending(self.now()), None)
        self._spawn(self._housekeeping())

    async def _housekeeping(self) -> None:
        """Hourly: erase identity info past retention (R-30-5-0-09) and forget
        processed message ids older than the duplicate window (R-PDU-24)."""
        while True:
            now = self.now()
            try:
                purge = getattr(self.handler, "purge", None)
                if purge is not None:
                    purge(now)
                self.storage.forget_processed(now - self.config.duplicate_window)
            except (JukiError, sqlite3.Error) as exc:
                logger.error("%s: housekeeping failed: %s", self.node, exc)
            await asyncio.sleep(HOUSEKEEPING_EVERY)

    async def stop(self) -> None:
        """Stop listening, close connections, cancel timers, close the database."""
        if self._server is not None:
            self._server.close()
        for handle in self._timers.values():
            handle.cancel()
        for conn in {*self.connections.values(), *self._inbound}:
            await conn.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        self.storage.close()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Local events (the upper tester) --------------------------------------------------

    async def local(self, action: Callable[[dt.datetime], list[Owned]]) -> list[Owned]:
        """Run a local event (``action(now)`` returns owned effects) in one transaction,
        then send what it produced."""
        now = self.now()
        with self.storage.transaction():
            owned = action(now)
        await self.dispatch(owned, None)
        return owned

    async def fire_due_timers(self) -> None:
        """Fire every machine timer that is due now (also done by the loop's handles)."""
        for machine in self.handler.machines():
            if isinstance(machine, MoveOutDesk):
                await self._fire(machine, "tick")
            else:
                for name in machine.due_timers(self.now()):
                    await self._fire(machine, name)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds (TimeoutError after ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise TimeoutError("the condition did not hold in time")
            await asyncio.sleep(0.02)

    def event_names(self) -> list[str]:
        """The names of the machine events so far, in order."""
        return [e.name for _, e in self.events]

    # Connections -----------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                ) -> Connection:
        """A TLS stream as a :class:`Connection` with the node's limits."""
        return Connection.accept(reader, writer, self.trust, self.now(),
                                 max_frame=self.config.max_frame,
                                 frame_timeout=self.config.frame_timeout,
                                 idle_timeout=self.config.idle_timeout)

    def _over_limit(self, peer: NodeId) -> str | None:
        """Why one more inbound connection from ``peer`` is too many, or None."""
        if len(self._inbound) >= self.config.max_connections:
            return f"{len(self._inbound)} connections, the limit"
        mine = sum(1 for c in self._inbound if c.peer == peer)
        if mine >= self.config.max_peer_connections:
            return f"{mine} connections from {peer}, the limit per node"
        return None

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        try:
            conn = self._accept(reader, writer)
        except (JukiError, ValueError) as exc:
            logger.warning("%s: refused a connection: %s", self.node, exc)
            writer.close()
            return
        full = self._over_limit(conn.peer)
        if full is not None:       # R-NODE-12: one 9002, then the connection closes.
            logger.warning("%s: shed a connection from %s: %s", self.node, conn.peer, full)
            await self._refuse(conn, ErrorCode.OVERLOADED, None, "-", self.now())
            await conn.close()
            return
        self._inbound.add(conn)
        self.connections[conn.peer.code] = conn
        try:
            await self._serve(conn)
        finally:
            self._inbound.discard(conn)

    async def connection(self, code: str) -> Connection:
        """An open connection to node ``code`` (opened from the directory if needed)."""
        lock = self._connect_locks.setdefault(code, asyncio.Lock())
        async with lock:
            conn = self.connections.get(code)
            if conn is not None and not conn.closed:
                return conn
            address = self.config.directory.get(code)
            if address is None:
                raise JukiError(f"node {code} is not in the directory",
                                code=ErrorCode.UNKNOWN_RECIPIENT)
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                address[0], address[1], ssl=self.client_ctx), 10)
            try:
                conn = self._accept(reader, writer)
            except JukiError:
                writer.close()
                raise
            if conn.peer.code != code:
                await conn.close()
                raise SecurityError(f"{address} presented {conn.peer}, not {code}",
                                    code=ErrorCode.CERT_SENDER_MISMATCH)
            self.connections[code] = conn
            self._spawn(self._serve(conn))
            return conn

    async def _serve(self, conn: Connection) -> None:
        try:
            while True:
                try:
                    frames = await conn.read_frames()
                except FrameError as exc:
                    logger.warning("%s: %s from %s", self.node, exc, conn.peer)
                    if exc.error_code is ErrorCode.FRAME_TOO_LARGE \
                            or isinstance(exc, FrameStalled):     # R-NODE-15
                        await self._refuse(conn, exc.error_code, None, "-", self.now())
                    break
                if frames is None:
                    break
                await self._take(conn, frames)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            logger.info("%s: connection with %s ended: %s", self.node, conn.peer, exc)
        finally:
            await conn.close()
            if self.connections.get(conn.peer.code) is conn:
                del self.connections[conn.peer.code]

    async def _take(self, conn: Connection, frames: list[bytes]) -> None:
        """Handle the frames of one read within the node's bound on PDUs in hand
        (R-NODE-13): those that fit are handled; of the rest, a sealed PDU is answered
        9002 OVERLOADED referring to its message id, before any other check and without
        a trace in storage but the audit entry, so its sender can retry it; an answer or
        an unreadable frame is handled as usual (it is never answered with 9002)."""
        room = max(0, self.config.max_inflight - self._inflight)
        taken, rest = frames[:room], frames[room:]
        self._inflight += len(taken)
        try:
            await self._handle_batch(conn, taken)
        finally:
            self._inflight -= len(taken)
        for frame in rest:
            sealed = _peek_sealed(frame)
            if sealed is None:
                await self._handle_batch(conn, [frame])
                continue
            logger.warning("%s: shed a %s from %s: %d PDUs in hand, the limit",
                           self.node, sealed[1], conn.peer, self.config.max_inflight)
            await self._refuse(conn, ErrorCode.OVERLOADED, sealed[0], sealed[1], self.now())

    # Receiving -------------------------------------------------------------------------

    def check_header(self, header: PduHeader, peer: NodeId, now: dt.datetime,
                     sealed: bool) -> None:
        """Steps 3 to 6 of spec/pdu.md section 8 (raises JukiError with the code)."""
        if header.version != PROTOCOL_VERSION:
            raise JukiError(f"version {header.version}", code=ErrorCode.UNSUPPORTED_VERSION)
        if header.recipient != self.node:
            raise JukiError(f"addressed to {header.recipient}", code=ErrorCode.WRONG_RECIPIENT)
        if header.sender != peer:
            raise JukiError(f"sender {header.sender} is not the TLS peer {peer}",
                            code=ErrorCode.CERT_SENDER_MISMATCH)
        if abs(now - header.time) > self.config.time_window:
            raise JukiError("header time outside the window", code=ErrorCode.STALE_TIME)
        if sealed:
            route = pki.ROUTES.get(header.message_type)
            if route is None or header.sender.role not in route.senders \
                    or header.recipient.role not in route.recipients:
                raise JukiError(f"{header.message_type.value} from {header.sender.role.value}"
                                f" to {header.recipient.role.value}",
                                code=ErrorCode.ROLE_NOT_ALLOWED)

    async def _handle(self, conn: Connection, frame: bytes) -> None:
        now = self.now()
        try:
            pdu = codec.decode(frame, "JukiPdu")
        except JukiError as exc:
            await self._refuse(conn, exc.error_code, _peek_id(frame), "-", now)
            return
        assert isinstance(pdu, JukiPdu)
        header = pdu.header
        sealed = pdu.sealed is not None
        try:
            self.check_header(header, conn.peer, now, sealed)
        except JukiError as exc:
            if sealed:
                await self._refuse(conn, exc.error_code, header.message_id,
                                   header.message_type.value, now)
            else:     # R-PDU-25: never answer an answer; record it only.
                self._audit("refused", conn.peer.code, header.message_type.value,
                            header.message_id, _result(exc.error_code), now)
            return
        if sealed:
            await self._on_sealed(conn, pdu, now)
        else:
            await self._on_answer(conn, pdu, now)

    async def _on_sealed(self, conn: Connection, pdu: JukiPdu, now: dt.datetime) -> None:
        await self._commit_group(conn, [self._open_sealed(pdu, now)])

    async def _handle_batch(self, conn: Connection, frames: list[bytes]) -> None:
        """Group commit: the sealed messages of one read, in order, are applied in ONE
        transaction (one fsync), each in its own savepoint, and answered only once that
        transaction is committed (R-PDU-22). A refused message leaves no state and does
        not disturb the others; a failed commit refuses them all (9003) and reloads the
        machines. A frame that is not a sealed message passing the header checks (an
        answer, a refusal at steps 1 to 3) first commits and answers the group so far,
        then is handled alone, so answers leave in the order of the frames."""
        group: list[_Opened | _Refusal] = []
        for frame in frames:
            now = self.now()
            pdu: object = None
            try:
                pdu = codec.decode(frame, "JukiPdu")
                assert isinstance(pdu, JukiPdu)
                if pdu.sealed is not None:
                    self.check_header(pdu.header, conn.peer, now, True)
            except JukiError:
                pdu = None
            if isinstance(pdu, JukiPdu) and pdu.sealed is not None:
                group.append(self._open_sealed(pdu, now))
                continue
            await self._commit_group(conn, group)
            group = []
            await self._handle(conn, frame)
        await self._commit_group(conn, group)

    def _open_sealed(self, pdu: JukiPdu, now: dt.datetime) -> _Opened | _Refusal:
        """Steps 4 and 5 of spec/pdu.md section 8: the envelope and the message."""
        header = pdu.header
        mid, mtype = header.message_id, header.message_type.value
        assert pdu.sealed is not None
        try:
            opened = open_envelope(pdu.sealed, [self.credential], self.trust, now,
                                   header=header, time_window=self.config.time_window)
        except JukiError as exc:
            report = peer_error_report(exc, refers_to=mid)     # R-PDU-32: opaque
            return _Refusal(report.error_code, mid, mtype, now, exc.error_code)
        try:
            decoded = codec.decode_full(opened.message_der, header.message_type.type_name,
                                        profile=header.profile)
        except JukiError as exc:
            return _Refusal(exc.error_code, mid, mtype, now)
        return _Opened(header, decoded.message, decoded.unknown_extensions > 0,
                       digest_of(opened.message_der), now)

    def _apply_opened(self, c: sqlite3.Connection, item: _Opened) -> list[Owned] | _Refusal:
        """Step 6 and 7 for one message, inside the group's transaction and in a
        savepoint of its own: its effects, processed id and audit row, or nothing."""
        header, now = item.header, item.now
        mid, mtype = header.message_id, header.message_type.value
        sender = str(header.sender)
        seen = self.storage.seen(sender, mid)      # sees the group's earlier messages
        if seen is not None:       # R-PDU-24
            if seen != item.digest:
                return _Refusal(ErrorCode.REPLAY, mid, mtype, now)
            ack = Send(recipient=header.sender.code, message_id=random_ids(),
                       message=Acknowledgement(acknowledged_id=mid,
                                               status=AckStatus.DUPLICATE))
            audit.append(c, at=now, direction="received", peer=header.sender.code,
                         message_type=mtype, message_id=mid, result="duplicate",
                         subjects=audit.masked_subjects(item.message))
            return [(None, ack)]
        message = item.message
        inbound = Inbound(message=message, message_id=mid, sender=header.sender.code,
                          correlation_id=header.correlation_id,
                          unknown_elements=item.unknown_elements)
        operator = "system"
        if isinstance(message, ProvisionRequest):
            operator = message.operator_id
            self._operators[mid] = operator
        c.execute("SAVEPOINT juki_message")
        try:
            owned = self.handler.receive(inbound, now)
            self.storage.mark_processed(sender, mid, item.digest, mtype, now)
            audit.append(c, at=now, direction="received", peer=header.sender.code,
                         message_type=mtype, message_id=mid, result="accepted",
                         subjects=audit.masked_subjects(message), operator=operator)
        except (StorageError, sqlite3.Error):
            raise                  # The whole group fails (see _commit_group).
        except JukiError as exc:   # The machines refuse before they change anything.
            c.execute("ROLLBACK TO juki_message")
            c.execute("RELEASE juki_message")
            return _Refusal(exc.error_code, mid, mtype, now)
        except Exception:
            logger.exception("%s: internal error on %s", self.node, mtype)
            c.execute("ROLLBACK TO juki_message")
            c.execute("RELEASE juki_message")
            self.handler.reload()  # From the database: the group's earlier messages.
            return _Refusal(ErrorCode.INTERNAL_ERROR, mid, mtype, now)
        c.execute("RELEASE juki_message")
        return owned

    async def _commit_group(self, conn: Connection, group: list[_Opened | _Refusal]
                            ) -> None:
        """Apply ``group`` in one transaction, commit, then answer in order."""
        if not group:
            return
        results: list[list[Owned] | _Refusal] = []
        try:
            with self.storage.transaction() as c:
                for item in group:
                    results.append(self._apply_opened(c, item) if isinstance(item, _Opened)
                                   else item)
        except (StorageError, sqlite3.Error) as exc:
            logger.error("%s: storage failed: %s", self.node, exc)
            self.handler.reload()
            results = [item if isinstance(item, _Refusal) else _Refusal(
                ErrorCode.STORAGE_FAILURE, item.header.message_id,
                item.header.message_type.value, item.now) for item in group]
        # Committed: now, and only now, the acknowledgements and the other messages, in
        # the order of the frames (consecutive effects in one dispatch).
        owned: list[Owned] = []
        for result in results:
            if isinstance(result, _Refusal):
                if owned:
                    await self.dispatch(owned, conn)
                    owned = []
                await self._refuse(conn, result.code, result.message_id, result.mtype,
                                   result.now, local=result.local)
            else:
                owned += result
        if owned:
            await self.dispatch(owned, conn)

    async def _on_answer(self, conn: Connection, pdu: JukiPdu, now: dt.datetime) -> None:
        header = pdu.header
        msg: Acknowledgement | ErrorReport
        ref: bytes | None
        if pdu.acknowledgement is not None:
            msg, ref = pdu.acknowledgement, pdu.acknowledgement.acknowledged_id
            result = f"ack {msg.status.value}"
        else:
            assert pdu.error_report is not None
            msg, ref = pdu.error_report, pdu.error_report.refers_to
            result = f"error {_result(pdu.error_report.error_code)}"
        owner = self.waiting.get(ref) if ref is not None else None
        if owner is None:
            logger.info("%s: %s from %s refers to nothing outstanding", self.node, result,
                        conn.peer)
            self._audit("received", conn.peer.code, header.message_type.value,
                        header.message_id, f"{result} (unmatched)", now)
            return
        inbound = Inbound(message=msg, message_id=header.message_id,
                          sender=header.sender.code, correlation_id=header.correlation_id)
        try:
            with self.storage.transaction() as c:
                owned = self.handler.answered(owner, inbound, now)
                audit.append(c, at=now, direction="received", peer=header.sender.code,
                             message_type=header.message_type.value,
                             message_id=header.message_id, result=result)
        except (StorageError, sqlite3.Error) as exc:
            logger.error("%s: storage failed: %s", self.node, exc)
            self.handler.reload()
            return
        except JukiError as exc:
            logger.info("%s: %s not taken: %s", self.node, result, exc)
            return
        assert ref is not None
        self.waiting.pop(ref, None)
        await self.dispatch(owned, conn)

    async def _refuse(self, conn: Connection, code: ErrorCode | int,
                      refers_to: bytes | None, mtype: str, now: dt.datetime, *,
                      local: ErrorCode | None = None) -> None:
        """Answer with an ErrorReport (R-PDU-26) and record the refusal."""
        text = _result(code) + (f" (local {_result(local)})" if local is not None else "")
        self._audit("refused", conn.peer.code, mtype, refers_to, text, now)
        report = ErrorReport(error_code=int(code), refers_to=refers_to)
        try:
            await conn.send(self._answer_pdu(conn.peer, report, now))
        except (ConnectionError, OSError, JukiError) as exc:
            logger.info("%s: could not send the error report: %s", self.node, exc)

    def _audit(self, direction: str, peer: str, mtype: str, mid: bytes | None,
               result: str, now: dt.datetime, subjects: str = "",
               operator: str = "system") -> None:
        try:
            with self.storage.transaction() as c:
                audit.append(c, at=now, direction=direction, peer=peer, message_type=mtype,
                             message_id=mid, result=result, subjects=subjects,
                             operator=operator)
        except (StorageError, sqlite3.Error) as exc:
            logger.error("%s: audit write failed: %s", self.node, exc)

    # Sending ---------------------------------------------------------------------------

    def _header(self, mtype: MessageType, recipient: NodeId, now: dt.datetime,
                message_id: bytes, correlation_id: bytes | None = None) -> PduHeader:
        seq = self._sequence.get(recipient.code, 0)
        self._sequence[recipient.code] = seq + 1
        return PduHeader(version=PROTOCOL_VERSION, message_id=message_id,
                         message_type=mtype, sender=self.node, recipient=recipient,
                         time=now.replace(microsecond=0), sequence_number=seq,
                         profile=self.config.profile, correlation_id=correlation_id)

    def _answer_pdu(self, peer: NodeId, answer: Acknowledgement | ErrorReport,
                    now: dt.datetime, message_id: bytes | None = None) -> bytes:
        if isinstance(answer, Acknowledgement):
            header = self._header(MessageType.ACKNOWLEDGEMENT, peer, now,
                                  message_id or random_ids())
            pdu = JukiPdu(header=header, acknowledgement=answer)
        else:
            header = self._header(MessageType.ERROR_REPORT, peer, now,
                                  message_id or random_ids())
            pdu = JukiPdu(header=header, error_report=answer)
        return codec.encode(pdu, profile=None)

    async def dispatch(self, owned: list[Owned], reply: Connection | None) -> None:
        """Act on the effects of the machines (after their commit)."""
        for owner, eff in owned:
            if isinstance(eff, Send):
                await self._send(owner, eff, reply)
            elif isinstance(eff, ArmTimer):
                self._arm(owner, eff.timer.name, eff.timer.deadline)
            elif isinstance(eff, CancelTimer):
                handle = self._timers.pop((id(owner), eff.name), None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(eff, Event):
                self.events.append((owner, eff))
                logger.info("%s: event %s%s", self.node, eff.name,
                            f" [{_result(eff.code)}]" if eff.code else "")

    async def _send(self, owner: Any, send: Send, reply: Connection | None) -> None:
        now = self.now()
        message = send.message
        try:
            recipient = node_of_code(send.recipient)
            if reply is not None and not reply.closed and reply.peer == recipient:
                conn = reply
            else:
                conn = await self.connection(send.recipient)
            if is_answer(message):
                assert isinstance(message, (Acknowledgement, ErrorReport))
                await conn.send(self._answer_pdu(recipient, message, now, send.message_id))
                self._audit("sent", send.recipient, type(message).__name__[:1].lower()
                            + type(message).__name__[1:], send.message_id,
                            "sent", now)
                return
            mtype = message_type_of(message)
            der = codec.encode(message, profile=self.config.profile)
            header = self._header(mtype, recipient, now, send.message_id,
                                  send.correlation_id)
            sealed = seal(header, der, self.credential.key, self.credential.certificate,
                          conn.peer_cert, now)
            self.waiting[send.message_id] = owner
            await conn.send(codec.encode(JukiPdu(header=header, sealed=sealed),
                                         profile=None))
        except (OSError, TimeoutError, JukiError, ssl.SSLError) as exc:
            logger.warning("%s: could not send to %s: %s", self.node, send.recipient, exc)
            self._audit("sent", send.recipient, type(message).__name__, send.message_id,
                        f"failed: {type(exc).__name__}", now)
            return
        direction, operator = "sent", "system"
        if isinstance(message, ProvisionResponse) and message.provided:
            direction = "provided"
            operator = self._operators.get(send.correlation_id or b"", "system")
        self._audit(direction, send.recipient, mtype.value, send.message_id, "sent", now,
                    audit.masked_subjects(message), operator)

    # Timers ----------------------------------------------------------------------------

    def _arm(self, owner: Any, name: str, deadline: dt.datetime) -> None:
        key = (id(owner), name)
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, (deadline - self.now()).total_seconds()) + 0.01
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(
            delay, lambda: self._spawn(self._fire(owner, name)))

    async def _fire(self, owner: Any, name: str) -> None:
        self._timers.pop((id(owner), name), None)
        now = self.now()
        try:
            with self.storage.transaction():
                if isinstance(owner, MoveOutDesk):
                    effects = owner.tick(now)
                else:
                    timer = owner.timers.get(name)
                    if timer is None or timer.deadline > now:
                        return
                    effects = owner.timeout(name, now)
                self.handler.persist(now)
        except (JukiError, sqlite3.Error) as exc:
            logger.warning("%s: timer %s failed: %s", self.node, name, exc)
            return
        await self.dispatch([(owner, e) for e in effects], None)


@dataclass(frozen=True, slots=True)
class _Opened:
    """A sealed message opened and decoded (steps 1 to 5), waiting for its group."""

    header: PduHeader
    message: object
    unknown_elements: bool
    digest: bytes
    now: dt.datetime


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A refusal to answer (and record) once the group is committed."""

    code: ErrorCode | int
    message_id: bytes | None
    mtype: str
    now: dt.datetime
    local: ErrorCode | None = None


__all__ = ["PROTOCOL_VERSION", "Node", "NodeConfig", "message_type_of", "node_of_code",
           "role_of_code"]
