"""A reference node: the machines of one role behind mutual TLS, with storage and audit.

Theory of operation
-------------------
A :class:`Node` listens (and connects) with TLS 1.3 and mutual certificate
authentication (:mod:`juki_protocol.node.transport`), reads frames
(:mod:`juki_protocol.codec.wire`) and checks each PDU in the order of spec/pdu.md section 8:

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

Group commit: the sealed messages and the answers of one read of a connection are
applied in ONE transaction (one fsync), each message in a savepoint of its own, and
answered once it is committed. The steps above, the group, the header numbering, seal
and open, correlation and role dispatch are the sans-I/O
:class:`~juki_protocol.endpoint.endpoint.Endpoint` (``Node.endpoint``): the node hands it
the frames of each read and acts on the steps it returns; it keeps only sockets, timers,
the event loop and the storage adapter (:mod:`juki_protocol.node.endpoint_store`).
The audit rows of the messages a transaction makes the machines send
are written in that same transaction, with the result ``sending``, so a send costs no
commit of its own; a send that then fails adds a row ``failed: ...``.

Every refusal is answered with an ``ErrorReport`` carrying a registered code and, when
it could be read, the message id in ``refersTo``; acknowledgements and error reports are
never answered (R-PDU-25). A malformed frame does not end the connection, except a
frame that is too large: the framing is then lost, so the node reports 1001 and closes.

Limits (spec/node.md section 6): inbound connections in total and per peer node beyond
the bounds get one 9002 and are closed (R-NODE-12); a sealed PDU read beyond the bound
on PDUs in hand gets 9002 and is not processed (R-NODE-13); the TLS handshake, a begun
frame, a frame the peer must take and the silence between frames are timed
(R-NODE-14 to R-NODE-16). These are the fields of :class:`NodeConfig`.

Order: the messages to one recipient are put on the wire in the order the machines
produced them (the order of the commits), even when several coroutines of the node
send at once: :meth:`Node.dispatch` takes each message's place in its recipient's send
order before anything yields, and a send waits for the one before it to be written.
So a sequenced sender can keep ``send_window`` numbered messages on the wire
(spec/identity.md section 2) without one overtaking another.

A failed commit (or the retention purge) reloads the machines from the database; the
sequenced senders it replaced lose their awaited answers and timers, and the new ones
resend their first unacknowledged message at once, as at a start (R-PDU-23), unless a
final refusal had stalled the one replaced (R-30-5-0-12).

Timers: the machines' :class:`ArmTimer` effects become ``loop.call_later`` handles that
call the machine's ``timeout`` (or the special move desk's ``tick``) when they are due.
This module is the only place, with :mod:`transport`, that touches sockets and clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from juki_protocol.codec.wire import FrameError
from juki_protocol.endpoint.endpoint import Endpoint, Refusal, Refused, Reloaded, Step, Taken
from juki_protocol.endpoint.frames import PROTOCOL_VERSION, message_type_of, result_text
from juki_protocol.envelope import pki
from juki_protocol.errors import ErrorCode, JukiError, SecurityError
from juki_protocol.machines.common import ArmTimer, CancelTimer, Effect, Event, Send
from juki_protocol.messages.pdu import ErrorReport
from juki_protocol.node import audit, logjson
from juki_protocol.node.admission import HandshakeGate, slot_for
from juki_protocol.node.clock import system_clock
from juki_protocol.node.endpoint_store import EndpointStore
from juki_protocol.node.metrics import NodeMetrics
from juki_protocol.node.node_config import NodeConfig, node_of_code, role_of_code
from juki_protocol.node.refusal_log import RepeatFilter, quiet_accept_errors
from juki_protocol.node.roles import Owned, RoleHandler, make_role
from juki_protocol.node.storage import NodeStorage, open_storage
from juki_protocol.node.transport import (
    Connection,
    FrameStalled,
    TrustSource,
    accept_tls,
    connect_tls,
)

logger = logging.getLogger(__name__)
#: Admission refusals (handshakes dropped, connections shed or closed): one line per
#: interval with the count of the rest (R-NODE-49).
_admission_log = logging.getLogger(f"{__name__}.admission")
_admission_log.addFilter(RepeatFilter(10.0))
HOUSEKEEPING_EVERY = 3600.0
#: The listener's backlog, which asyncio also uses as the number of sockets it accepts
#: in one go: with the bounds of section 6 (256 + 64 pending handshakes, 256 slots), a
#: node stays within a 1,024-descriptor limit under a flood (spec/node.md section 6).
ACCEPT_BACKLOG = 256


class _Gated(asyncio.StreamReaderProtocol):
    """The listener's protocol: a connection that the handshake gate's rate limit
    refuses is aborted as it is accepted, before any stream, task or TLS state is made
    for it (R-NODE-46); the others are served by :meth:`Node._on_client`."""

    def __init__(self, node: Node) -> None:
        self._node = node
        super().__init__(asyncio.StreamReader(), node._on_client)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else "unknown"
        if not self._node.gate.allow_new(address):
            self._node._say_refused(f"a connection from {address}: new TLS handshakes "
                                    f"from it beyond {self._node.gate.rate:g} a second")
            assert isinstance(transport, asyncio.Transport)
            transport.abort()
            return
        super().connection_made(transport)


class Node:
    """One running node (see the module docstring)."""

    #: The endpoint the node wraps (a subclass may add or relax a rule, as the
    #: conformance suite's faulty nodes do).
    endpoint_class: type[Endpoint] = Endpoint

    def __init__(self, config: NodeConfig, *,
                 clock: Callable[[], dt.datetime] = system_clock) -> None:
        self.config = config
        self.clock = clock
        self.node = pki.node_id(config.role, config.code)
        # Data at rest (R-NODE-72, R-NODE-73): the key may be encrypted; the disclosure
        # log's key is kept in a file of its own, apart from the database.
        self.credential = pki.Credential(
            pki.load_private_key(config.key.read_bytes(), config.key_passphrase),
            pki.load_certificate(config.cert.read_bytes()))
        named = pki.node_of_certificate(self.credential.certificate)
        if named != self.node:
            raise SecurityError(f"the certificate names {named}, not {self.node}",
                                code=ErrorCode.CERT_SENDER_MISMATCH)
        # The trust store and TLS contexts come from the trust source, which reloads
        # the CRL while the node runs (R-PDU-40, R-PDU-41; see _use_trust).
        self.tls = TrustSource(config.cert, config.key, config.trust, config.crl,
                               no_crl=config.no_crl, local=self.node,
                               passphrase=config.key_passphrase)
        self.storage: NodeStorage = open_storage(
            config.database or config.db, config.role, config.code,
            key_file=config.disclosure_key_path(), local=config.db)
        self.anchor = audit.Anchor(self.storage.conn, self.storage.transaction, config.db,
                                   str(self.node), self.credential, config.audit)
        self.handler: RoleHandler = make_role(
            config.role, config.code, self.storage, residents=config.residents,
            operators=config.operators, national=config.national, profile=config.profile,
            retention=config.retention, window=config.send_window,
            local_purposes=config.local_purposes, delegations=config.delegations)
        self.endpoint = self.endpoint_class(
            self.node, self.credential, self.tls.store,
            EndpointStore(self.storage, config.metrics), self.handler,
            profile=config.profile, time_window=config.time_window, observer=self._outcome)
        self.endpoint.acting_operator = audit.ACTING_OPERATOR.get
        self._use_trust()
        self.connections: dict[str, Connection] = {}
        self.events: list[tuple[Any, Event]] = []
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._timers: dict[tuple[int, str], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connect_locks: dict[str, asyncio.Lock] = {}
        self._inbound: set[Connection] = set()     # accepted and admitted (R-NODE-12)
        known = {host for host, _ in config.directory.values()} | set(config.known_addresses)
        self.gate = HandshakeGate(config.max_handshakes, config.max_address_handshakes,
                                  config.known_reserve, known.__contains__,
                                  rate=config.handshake_rate)
        self._inflight = 0                         # PDUs read, not yet answered (R-NODE-13)
        self._turns: dict[str, asyncio.Future[None]] = {}   # the last send, per recipient

    # Life cycle ----------------------------------------------------------------------

    def _use_trust(self) -> None:
        """Use the trust store and TLS contexts of the trust source's current CRL (at
        start and after each reload: the next handshake and validation use them)."""
        self.trust = self.endpoint.trust = self.tls.store
        self.server_ctx = self.tls.server
        self.client_ctx = self.tls.client

    def now(self) -> dt.datetime:
        """The node's clock (aware UTC)."""
        return self.clock().astimezone(dt.UTC)

    @property
    def waiting(self) -> dict[bytes, Any]:
        """The machine waiting for the answer to each message id sent."""
        return self.endpoint.waiting

    @property
    def metrics(self) -> NodeMetrics | None:
        """The node's metrics (``juki node serve --metrics``), if any."""
        metrics: NodeMetrics | None = self.config.metrics
        return metrics

    def _outcome(self, event: str, peer: str, mtype: str, mid: bytes | None, result: str,
                 code: int | None = None) -> None:
        """The endpoint's observer: log (one structured line, :mod:`logjson`) and count
        (:mod:`metrics`) what became of one PDU received."""
        if logger.isEnabledFor(logging.INFO):        # -v: every PDU (R-NODE-49 aside)
            logger.info("%s: %s %s %s from %s: %s", self.node, event[4:], mtype or "-",
                        mid.hex() if mid else "-", peer, result,
                        extra=logjson.fields(event, self.node, peer=peer, message_id=mid,
                                             code=code))
        if self.metrics is not None:
            self.metrics.received(mtype, result if code is None else str(code))

    async def start(self) -> None:
        """Purge what the retention allows, listen (if configured) and resend what was
        unacknowledged at the last stop. The first housekeeping runs before anything is
        served, so that no peer or upper-tester query sees what a restart purges."""
        self.housekeep()
        if self.config.listen is not None:
            host, port = self.config.listen
            quiet_accept_errors()          # R-NODE-49: EMFILE must not flood the log
            # The TLS handshake runs in _on_client with the context of the CRL in use
            # (R-PDU-41), and a refusal in it is logged (R-PDU-44). The backlog holds a
            # burst of new connections beyond the limit, so that they are told 9002
            # (R-NODE-12) rather than left to the kernel's SYN retries; it is also how
            # many sockets asyncio accepts at once before any is looked at, so it is
            # kept within the descriptor budget of section 6 (R-NODE-46, R-NODE-49).
            self._server = await asyncio.get_running_loop().create_server(
                lambda: _Gated(self), host, port, backlog=ACCEPT_BACKLOG)
            self.port = self._server.sockets[0].getsockname()[1]
        await self._resume()
        self._spawn(self._housekeeping())
        self._spawn(self.anchor.run(self.now))     # audit checkpoints (R-NODE-23)
        self._spawn(self.tls.watch(self.now, self.config.crl_reload_interval,
                                   self._use_trust))     # R-PDU-40 to R-PDU-43

    async def _resume(self) -> None:
        """Resend what the machines have outstanding (unacknowledged numbered messages)
        and arm their retry timers, as at a start (R-PDU-23)."""
        await self.dispatch(self.endpoint.pending(self.now()), None)

    def _reload(self) -> None:
        """Rebuild the machines from the database (after a failed commit), then see to
        the sequenced senders that were replaced (:meth:`_reloaded`)."""
        self._reloaded(self.endpoint.reload())

    def _reloaded(self, step: Reloaded) -> None:
        """After a reload: forget the timers of the sequenced senders replaced (the
        endpoint has forgotten the answers they awaited), and have the new ones resend
        their first unacknowledged message (R-PDU-23). Other flows keep their machines
        and timers."""
        if not step.stale:
            return
        for key in [k for k in self._timers if k[0] in step.stale]:
            self._timers.pop(key).cancel()

        async def resume() -> None:
            try:
                await self._resume()
            except JukiError as exc:
                logger.error("%s: could not resume after a reload: %s", self.node, exc)
        self._spawn(resume())

    def housekeep(self) -> None:
        """Erase identity info past retention (R-30-5-0-09) and forget processed
        message ids older than the duplicate window (R-PDU-24); hourly, and whenever a
        test clock moves (spec/node.md section 4)."""
        try:
            step = self.endpoint.housekeep(self.now(), self.config.duplicate_window)
            if step is not None:
                self._reloaded(step)
        except JukiError as exc:
            logger.error("%s: housekeeping failed: %s", self.node, exc)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_EVERY)
            self.housekeep()

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
        self.anchor.close(self.now())      # summary rows, a last checkpoint (R-NODE-23)
        self.storage.close()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Local events (the upper tester) --------------------------------------------------

    async def local(self, action: Callable[[dt.datetime], list[Owned]]) -> list[Owned]:
        """Run a local event (``action(now)`` returns owned effects) in one transaction,
        then send what it produced."""
        owned = self.endpoint.local(action, self.now())
        await self.dispatch(owned, None)
        return owned

    async def fire_due_timers(self) -> None:
        """Fire every machine timer that is due now (also done by the loop's handles)."""
        for machine, name in self.endpoint.due_timers(self.now()):
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
                                 idle_timeout=self.config.idle_timeout,
                                 refusals=self.tls.refusals)

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        # R-NODE-46: bounded pending handshakes, the oldest dropped for the newest.
        # R-NODE-14: a peer that does not complete the TLS handshake in time is
        # dropped. Nothing may read the stream before the handshake starts.
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else "unknown"
        task = asyncio.current_task()
        dropped: list[bool] = []

        def drop() -> None:       # the gate makes room: end this handshake
            dropped.append(True)
            if task is not None:
                task.cancel()

        ticket = self.gate.admit(address, drop, rate_checked=True)
        if ticket is None:
            self._say_refused(f"a connection from {address}: {len(self.gate)} TLS "
                              "handshakes pending, the limit")
            writer.transport.abort()
            return
        try:
            shaken = await accept_tls(writer, self.server_ctx,
                                      self.config.handshake_timeout, self.tls.refusals)
        except asyncio.CancelledError:
            if not dropped:
                raise
            self._say_refused(f"dropped the oldest pending TLS handshake from {address}")
            writer.transport.abort()
            return
        finally:
            self.gate.done(ticket)
        if not shaken:
            return
        try:
            conn = self._accept(reader, writer)
        except (JukiError, ValueError) as exc:
            logger.info("%s: refused a connection: %s", self.node, exc)   # R-PDU-44 logged
            writer.close()
            return
        slot = slot_for(conn.peer_key, self._inbound, self.config.max_connections,
                        self.config.max_peer_connections)
        if not slot.admit:         # R-NODE-12: one 9002, then the connection closes.
            self._say_refused(f"shed a connection from {conn.peer}: {slot.reason}")
            await self._refuse(conn, ErrorCode.OVERLOADED)
            await conn.close()
            return
        # The slot is the newcomer's at once, before anything is awaited (R-NODE-12): a
        # newcomer arriving while the victim is told and closed must find it taken.
        self._inbound.add(conn)
        try:
            if slot.evict is not None:     # R-NODE-47: a fair share; refusers go first
                victim = slot.evict
                assert isinstance(victim, Connection)
                self._say_refused(f"closed a connection from {victim.peer}: {slot.reason}")
                self._inbound.discard(victim)
                await self._refuse(victim, ErrorCode.OVERLOADED)
                await victim.close()
            self.connections[conn.peer.code] = conn
            await self._serve(conn)
        finally:
            self._inbound.discard(conn)

    def _say_refused(self, text: str) -> None:
        """Log an admission refusal, at most once per interval with a count of the
        rest (R-NODE-49: a flood must not flood the log)."""
        _admission_log.warning("%s: %s", self.node, text)

    def _refusing(self, conn: Connection) -> bool:
        """Whether ``conn`` has sent only refusals for too long: ``max_refusals`` in a
        row, or nothing but refusals for the idle timeout (R-NODE-48)."""
        if not conn.refused_in_a_row:
            return False
        idle = self.config.idle_timeout
        if conn.refused_in_a_row >= self.config.max_refusals or (
                idle is not None and time.monotonic() - conn.useful_at > idle):
            self._say_refused(f"closed a connection from {conn.peer}: "
                              f"{conn.refused_in_a_row} refusals in a row")
            return True
        return False

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
            reader, writer = await connect_tls(address[0], address[1], self.client_ctx,
                                               self.tls.refusals, peer=f"node {code}")
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
                        await self._refuse(conn, exc.error_code)
                    break
                if frames is None:
                    break
                await self._take(conn, frames)
                if self._refusing(conn):
                    break
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            logger.info("%s: connection with %s ended: %s", self.node, conn.peer, exc)
        finally:
            await conn.close()
            if self.connections.get(conn.peer.code) is conn:
                del self.connections[conn.peer.code]

    # Receiving -----------------------------------------------------------------------

    async def _take(self, conn: Connection, frames: list[bytes]) -> None:
        """Hand the frames of one read to the endpoint within the node's bound on PDUs
        in hand (R-NODE-13: the endpoint sheds what does not fit), then act on its
        steps."""
        started = time.monotonic()
        room = max(0, self.config.max_inflight - self._inflight)
        held = min(room, len(frames))
        self._inflight += held
        try:
            await self._act(conn, self.endpoint.receive(conn.peer, frames, self.now(), room))
        finally:
            self._inflight -= held
        if self.metrics is not None:
            self.metrics.handled(len(frames), time.monotonic() - started)

    async def _act(self, conn: Connection, steps: list[Step]) -> None:
        """Act on the endpoint's steps, in order: error reports, the machines' effects
        (their places in the per-recipient send order taken at once, before anything
        yields), reloads."""
        plans: list[list[_Planned] | Refused | Reloaded] = [
            self._plan(s.owned) if isinstance(s, Taken) else s for s in steps]
        try:
            for plan in plans:
                if isinstance(plan, Refused):
                    if plan.counts:
                        conn.refused()           # R-NODE-48
                    if plan.report is not None:
                        await self._report(conn, plan.report)
                elif isinstance(plan, Reloaded):
                    self._reloaded(plan)
                else:
                    conn.useful()                # R-NODE-48
                    if plan:
                        await self._run(plan, conn)
        finally:
            for plan in plans:
                if isinstance(plan, list):
                    self._release(plan)

    async def _refuse(self, conn: Connection, code: ErrorCode) -> None:
        """Refuse what ``conn`` sent before any PDU could be read (an admission limit,
        a frame too large or stalled): an error report referring to nothing."""
        refusal = Refusal(code, None, "-", self.now())
        await self._act(conn, [self.endpoint.refusal(conn.peer, refusal)])

    async def _report(self, conn: Connection, report: ErrorReport) -> None:
        """Send an error report (R-PDU-26); a failure to send it is only logged."""
        try:
            await conn.send(self.endpoint.answer_frame(conn.peer, report, self.now()))
        except (ConnectionError, OSError, JukiError) as exc:
            logger.info("%s: could not send the error report: %s", self.node, exc)

    # Sending ---------------------------------------------------------------------------

    def _plan(self, owned: list[Owned]) -> list[_Planned]:
        """Take each message's place in its recipient's send order, now (this does not
        yield, so the order is that of the calls: the order of the commits)."""
        loop = asyncio.get_running_loop()
        plan: list[_Planned] = []
        for owner, eff in owned:
            turn = None
            if isinstance(eff, Send):
                done: asyncio.Future[None] = loop.create_future()
                turn = _Turn(self._turns.get(eff.recipient), done)
                self._turns[eff.recipient] = done
            plan.append((owner, eff, turn))
        return plan

    @staticmethod
    def _release(plan: list[_Planned]) -> None:
        """Give up the places of ``plan`` still held (after its sends, or on an error)."""
        for _, _, turn in plan:
            if turn is not None and not turn.done.done():
                turn.done.set_result(None)

    async def dispatch(self, owned: list[Owned], reply: Connection | None) -> None:
        """Act on the effects of the machines (after their commit). Messages to one
        recipient go on the wire in the order of the calls (see the module docstring)."""
        await self._run(self._plan(owned), reply)

    async def _run(self, plan: list[_Planned], reply: Connection | None) -> None:
        try:
            for owner, eff, turn in plan:
                if isinstance(eff, Send):
                    await self._send(owner, eff, reply, turn)
                elif isinstance(eff, ArmTimer):
                    self._arm(owner, eff.timer.name, eff.timer.deadline)
                elif isinstance(eff, CancelTimer):
                    handle = self._timers.pop((id(owner), eff.name), None)
                    if handle is not None:
                        handle.cancel()
                elif isinstance(eff, Event):
                    self.events.append((owner, eff))
                    logger.info("%s: event %s%s", self.node, eff.name,
                                f" [{result_text(eff.code)}]" if eff.code else "")
        finally:
            self._release(plan)

    async def _send(self, owner: Any, send: Send, reply: Connection | None,
                    turn: _Turn | None = None) -> None:
        """Seal and write one message (its audit row is already committed), once the
        message before it to the same recipient is written (``turn``)."""
        try:
            if turn is not None and turn.after is not None and not turn.after.done():
                await asyncio.shield(turn.after)
            await self._write(owner, send, reply)
        finally:
            if turn is not None and not turn.done.done():
                turn.done.set_result(None)

    async def _write(self, owner: Any, send: Send, reply: Connection | None) -> None:
        now = self.now()
        try:
            recipient = node_of_code(send.recipient)
            if reply is not None and not reply.closed and reply.peer == recipient:
                conn = reply
            else:
                conn = await self.connection(send.recipient)
            await conn.send(self.endpoint.frame(owner, send, recipient, conn.peer_cert, now))
        except (OSError, TimeoutError, JukiError, ssl.SSLError) as exc:
            logger.warning("%s: could not send to %s: %s", self.node, send.recipient, exc)
            self.endpoint.send_failed(send, type(exc).__name__, now)

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
        try:
            owned = self.endpoint.fire(owner, name, self.now())
        except JukiError as exc:
            logger.warning("%s: timer %s failed: %s", self.node, name, exc)
            return
        await self.dispatch(owned, None)


@dataclass(slots=True)
class _Turn:
    """A message's place in its recipient's send order: ``after`` is done when the
    message before it is written; ``done`` when this one is (or failed)."""

    after: asyncio.Future[None] | None
    done: asyncio.Future[None]


_Planned = tuple[Any, Effect, _Turn | None]


__all__ = ["PROTOCOL_VERSION", "Node", "NodeConfig", "message_type_of", "node_of_code",
           "role_of_code"]
