"""The lower tester's connections: framed PDUs over mutual TLS, and their frame log.

A :class:`PeerConnection` is one blocking TLS connection between the runner, playing a
peer of the node under test, and that node: the runner opened it (:meth:`NodeSut.connect`)
or the node did (:class:`Listener`, when the node sends to a peer the runner plays, for
example a municipality's identity info update to its prefecture). Every frame it sends
and every frame it reads is appended to a :class:`FrameLog`, so that the runner can put
the frames a failing case exchanged into the evidence bundle as a pcapng commented with
the case id (:func:`write_pcap`, spec/conformance.md section 5).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import queue
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from juki_conformance.sut import SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import JukiError
from juki_protocol.messages.pdu import JukiPdu

if TYPE_CHECKING:
    from juki_conformance.model import CaseResult

#: The largest frame the runner reads from a node (the maximum frame size and a margin).
MAX_READ = 16 * 1024 * 1024 + 65536
_CONNECTION_IDS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame on one lower tester connection, as it was inside TLS.

    connection: the connection's number in this run; runner_port, node_port: its TCP
    ports; runner_opened: whether the runner opened it; from_runner: the direction;
    data: the frame (length prefix and body; what the runner sent raw, as sent);
    at: the time it was sent or read (seconds since the epoch).
    """

    connection: int
    runner_port: int
    node_port: int
    runner_opened: bool
    from_runner: bool
    data: bytes
    at: float


@dataclass(slots=True)
class FrameLog:
    """The frames of every lower tester connection since the last :meth:`clear`."""

    frames: list[Frame] = field(default_factory=list)

    def clear(self) -> None:
        self.frames = []

    def snapshot(self) -> tuple[Frame, ...]:
        return tuple(self.frames)


class PeerConnection:
    """One lower tester connection: framed PDUs over mutual TLS (blocking)."""

    def __init__(self, sock: ssl.SSLSocket, timeout: float, *, log: FrameLog | None = None,
                 runner_opened: bool = True) -> None:
        self.sock = sock
        self.timeout = timeout
        self.buffer = b""
        self.log = log
        self.id = next(_CONNECTION_IDS)
        self.runner_opened = runner_opened
        try:
            self.ports = (int(sock.getsockname()[1]), int(sock.getpeername()[1]))
        except (OSError, IndexError, TypeError):
            self.ports = (0, 0)

    def _record(self, from_runner: bool, data: bytes) -> None:
        if self.log is not None:
            self.log.frames.append(Frame(self.id, self.ports[0], self.ports[1],
                                         self.runner_opened, from_runner, data, time.time()))

    def send_raw(self, data: bytes) -> None:
        self._record(True, data)
        self.sock.sendall(data)

    def send(self, pdu_der: bytes) -> None:
        """Send one frame (R-PDU-12)."""
        self.send_raw(len(pdu_der).to_bytes(4, "big") + pdu_der)

    def _fill(self, n: int, deadline: float) -> bool:
        while len(self.buffer) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            try:
                # Inside the try: a connection a case closed (its socket gone) reads
                # as closed, so that the next case takes the node's next connection.
                self.sock.settimeout(left)
                chunk = self.sock.recv(65536)
            except (ConnectionError, ssl.SSLError, OSError) as exc:
                if isinstance(exc, (socket.timeout, TimeoutError)):
                    raise TimeoutError from exc
                return False
            if not chunk:
                return False
            self.buffer += chunk
        return True

    def read(self, timeout: float | None = None) -> JukiPdu | None:
        """The next PDU; None when the node closed the connection. Raises TimeoutError
        when nothing came in time and SutFault when the node sent something that is not
        a frame with a valid PDU."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        if not self._fill(4, deadline):
            return None
        n = int.from_bytes(self.buffer[:4], "big")
        if n > MAX_READ:
            self._record(False, self.buffer)
            raise SutFault(f"the node sent a frame of {n} octets")
        if not self._fill(4 + n, deadline):
            return None
        frame, self.buffer = self.buffer[:4 + n], self.buffer[4 + n:]
        self._record(False, frame)
        try:
            pdu = codec.decode(frame[4:], "JukiPdu")
        except JukiError as exc:
            raise SutFault(f"the node sent a PDU that does not decode: {exc}") from exc
        assert isinstance(pdu, JukiPdu)
        return pdu

    def answer_to(self, message_id: bytes | None, timeout: float | None = None
                  ) -> JukiPdu | None:
        """The acknowledgement or error report referring to ``message_id`` (None: one
        that refers to nothing); None when the node closed the connection. A missing
        answer is the SUT's fault (R-PDU-22): SutFault after ``timeout`` seconds."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            try:
                pdu = self.read(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise SutFault(f"no answer within {limit:g} s") from None
            if pdu is None:
                return None
            ref = (pdu.acknowledgement.acknowledged_id if pdu.acknowledgement is not None
                   else pdu.error_report.refers_to if pdu.error_report is not None else b"")
            if ref == message_id:
                return pdu

    def closed_within(self, timeout: float) -> bool:
        """True if the node closes the connection within ``timeout`` seconds (PDUs it
        sends before are skipped)."""
        try:
            while self.read(timeout) is not None:
                pass
        except TimeoutError:
            return False
        except SutFault:
            return True
        return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Listener:
    """Where the runner, playing one peer, accepts the connections the node opens to it.

    A thread accepts and completes the TLS handshakes (a node may wait for its
    connection while the runner waits for the node's upper tester); the runner reads
    the PDUs in its own thread.
    """

    def __init__(self, context: ssl.SSLContext, address: tuple[str, int], timeout: float,
                 log: FrameLog) -> None:
        self.context = context
        self.timeout = timeout
        self.log = log
        self.sock = socket.create_server(address)
        self.sock.settimeout(0.2)
        self.address: tuple[str, int] = self.sock.getsockname()[:2]
        self.current: PeerConnection | None = None
        self.accepted: queue.Queue[PeerConnection] = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True,
                                       name="juki-conformance-listener")
        self.thread.start()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                raw, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.settimeout(self.timeout)
            try:
                tls = self.context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()
                continue
            self.accepted.put(PeerConnection(tls, self.timeout, log=self.log,
                                             runner_opened=False))

    def _fresh(self, timeout: float) -> PeerConnection | None:
        try:
            return self.accepted.get(timeout=timeout) if timeout > 0 \
                else self.accepted.get_nowait()
        except queue.Empty:
            return None

    def next_pdu(self, timeout: float) -> tuple[PeerConnection, JukiPdu] | None:
        """The next PDU the node sends to this peer, on its open connection or on a new
        one; None when nothing comes within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.current is None:
                self.current = self._fresh(min(0.25, deadline - time.monotonic()))
                continue
            try:
                pdu = self.current.read(min(0.25, max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                # A node may have given up the old connection and opened another.
                fresh = self._fresh(0)
                if fresh is not None:
                    self.current.close()
                    self.current = fresh
                continue
            if pdu is None:
                self.current.close()
                self.current = None
                continue
            return self.current, pdu
        return None

    def drain(self, quiet: float = 0.3) -> int:
        """Read and drop what the node sends to this peer until it has been silent
        for ``quiet`` seconds (what earlier cases left); how many PDUs were dropped."""
        dropped = 0
        while self.next_pdu(quiet) is not None:
            dropped += 1
        return dropped

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()
        self.thread.join(2)
        if self.current is not None:
            self.current.close()
            self.current = None
        while (conn := self._fresh(0)) is not None:
            conn.close()


# Captures ---------------------------------------------------------------------------------

RUNNER_IP, NODE_IP = "192.0.2.1", "192.0.2.2"      # RFC 5737 documentation addresses
RUNNER_MAC, NODE_MAC = "00:00:5e:00:53:01", "00:00:5e:00:53:02"


def write_pcap(path: Path, frames: tuple[Frame, ...] | list[Frame], *,
               case_id: str | None = None) -> Path:
    """Write ``frames`` as a pcapng (a classic pcap if ``path`` ends in ``.pcap``): one
    TCP connection per lower tester connection (three-way handshake, the frames in
    order, FIN exchange), between documentation addresses, the node on
    :data:`~juki_protocol.tools.capture.scapy_layer.JUKI_PORT` when the runner opened the connection.
    The frames are shown as they were inside TLS. ``case_id``, when given, is the
    comment of the section and of the first packet (``conformance case <id>``)."""
    from juki_protocol.tools.capture.capture import write_packets as write
    from juki_protocol.tools.capture.scapy_layer import JUKI_PORT, Endpoint, TcpConnection, isn_of

    now = [frames[0].at if frames else dt.datetime.now(dt.UTC).timestamp()]

    def clock() -> float:
        now[0] += 0.000001
        return round(now[0], 6)

    packets: list[Any] = []
    connections: dict[int, TcpConnection] = {}
    for f in frames:
        conn = connections.get(f.connection)
        if conn is None:
            node_port = JUKI_PORT if f.runner_opened else (f.node_port or 49152)
            runner_port = f.runner_port if f.runner_opened else JUKI_PORT
            runner = Endpoint(mac=RUNNER_MAC, ip=RUNNER_IP, port=runner_port or 49152)
            node = Endpoint(mac=NODE_MAC, ip=NODE_IP, port=node_port)
            client, server = (runner, node) if f.runner_opened else (node, runner)
            label = f"juki_conformance/{f.connection}"
            conn = TcpConnection(client=client, server=server,
                                 client_isn=isn_of(f"{label}/client"),
                                 server_isn=isn_of(f"{label}/server"), clock=clock,
                                 packets=packets)
            connections[f.connection] = conn
            now[0] = max(now[0], f.at)
            conn.open()
        now[0] = max(now[0], f.at)
        conn.send(f.from_runner == f.runner_opened, f.data)
    for conn in connections.values():
        conn.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, packets, comment=None if case_id is None else f"conformance case {case_id}")
    return path


def capture_name(case_id: str) -> str:
    """The file name of a case's capture: the id made safe, and a short digest so that
    two ids never share a name."""
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in case_id).strip("._-")
    digest = hashlib.sha256(case_id.encode("utf-8")).hexdigest()[:8]
    return f"{safe[:100]}-{digest}.pcapng"


def write_case_captures(results: Sequence[CaseResult], directory: Path) -> list[Path]:
    """A pcapng in ``directory``, commented with the case id, for every failing case
    that exchanged frames (the captures an earlier run left there are removed first)."""
    from juki_conformance.model import Verdict

    for old in directory.glob("*.pcap*") if directory.is_dir() else ():
        if old.suffix in (".pcap", ".pcapng"):
            old.unlink()
    out = []
    for r in results:
        if r.outcome.verdict is Verdict.FAIL and r.frames:
            out.append(write_pcap(directory / capture_name(r.case.id), r.frames,
                                  case_id=r.case.id))
    return out


__all__ = ["Frame", "FrameLog", "Listener", "PeerConnection", "capture_name",
           "write_case_captures", "write_pcap"]
