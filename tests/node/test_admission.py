"""Admission: pending TLS handshakes are bounded and the oldest are dropped, slots are
shared fairly between nodes, connections that send only refusals are closed, and floods
are not written to the log line by line (spec/node.md section 6, R-NODE-46 to
R-NODE-49). The bookkeeping is tested alone, then on a real node over TLS."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from node_helpers import Peer, residents, run, shared_pki, start, update_of

from juki_protocol.codec.wire import encode_frame
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.pdu import AckStatus
from juki_protocol.node.admission import HandshakeGate, slot_for
from juki_protocol.node.refusal_log import RepeatFilter
from juki_protocol.node.transport import client_context

PREFECTURE = "270008"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


# The handshake gate alone ---------------------------------------------------------------


class _Sockets:
    """Stand-ins for accepted sockets: which were closed, in order."""

    def __init__(self) -> None:
        self.closed: list[str] = []

    def closer(self, name: str):
        return lambda: self.closed.append(name)


def _ticking() -> Callable[[], float]:
    """A clock one second further at each reading: the rate limit never bites."""
    ticks = itertools.count()
    return lambda: float(next(ticks))


def test_the_gate_drops_the_oldest_handshake_of_the_same_address() -> None:
    gate, socks = HandshakeGate(limit=10, per_address=3, reserve=0, clock=_ticking()), \
        _Sockets()
    tickets = [gate.admit("192.0.2.1", socks.closer(f"a{i}")) for i in range(5)]
    assert all(t is not None for t in tickets), "R-NODE-46: the newest is never refused"
    assert socks.closed == ["a0", "a1"], "R-NODE-46: the oldest of the address go first"
    assert gate.pending("192.0.2.1") == 3
    # Another address is untouched by the first one's churn.
    other = gate.admit("198.51.100.7", socks.closer("b0"))
    for i in range(20):
        gate.admit("192.0.2.1", socks.closer(f"c{i}"))
    assert "b0" not in socks.closed and gate.pending("198.51.100.7") == 1
    gate.done(other)
    assert gate.pending("198.51.100.7") == 0, "done() frees the ticket"


def test_a_full_gate_drops_from_the_address_that_holds_the_most() -> None:
    gate, socks = HandshakeGate(limit=4, per_address=3, reserve=0, clock=_ticking()), \
        _Sockets()
    for i in range(3):
        gate.admit("192.0.2.1", socks.closer(f"a{i}"))
    gate.admit("198.51.100.7", socks.closer("b0"))
    assert gate.admit("203.0.113.9", socks.closer("c0")) is not None
    assert socks.closed == ["a0"], "R-NODE-46: the biggest holder gives way"
    # When every pending handshake is from a different address, the oldest of all
    # gives way: the newest is never refused (spec/node.md section 6).
    spread, socks2 = HandshakeGate(limit=2, per_address=2, reserve=0,
                                   clock=_ticking()), _Sockets()
    spread.admit("192.0.2.1", socks2.closer("x"))
    spread.admit("192.0.2.2", socks2.closer("y"))
    assert spread.admit("192.0.2.3", socks2.closer("z")) is not None
    assert socks2.closed == ["x"] and spread.counts.refused == 0


def test_known_addresses_have_a_reserve_that_others_cannot_take() -> None:
    known = {"10.0.0.5"}
    gate = HandshakeGate(limit=2, per_address=2, reserve=2, known=known.__contains__,
                         clock=_ticking())
    socks = _Sockets()
    gate.admit("10.0.0.5", socks.closer("k0"))
    for i in range(50):                       # a flood from elsewhere
        gate.admit(f"192.0.2.{i % 3}", socks.closer(f"u{i}"))
    assert "k0" not in socks.closed, "R-NODE-46: the reserve is kept for known peers"
    assert gate.pending("10.0.0.5") == 1 and len(gate) <= 3


@pytest.mark.parametrize("bounds", [(0, 1, 0), (1, 0, 0), (1, 1, -1)])
def test_the_gate_refuses_bounds_that_make_no_sense(bounds: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="handshake bounds"):
        HandshakeGate(*bounds)


# Slots alone ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Conn:
    peer_key: str
    refused_in_a_row: int = 0
    useful_at: float = 0.0


def test_a_node_with_more_than_its_share_gives_up_its_least_useful_connection() -> None:
    held = [_Conn("A", useful_at=t) for t in (5.0, 1.0, 3.0)] + [_Conn("B", useful_at=2.0)]
    decision = slot_for("C", held, max_connections=4, max_peer_connections=8)
    assert decision.admit and decision.evict is held[1], decision
    # The node holding the most asks again: no one holds more than its share.
    again = slot_for("A", held, max_connections=4, max_peer_connections=8)
    assert not again.admit and again.evict is None and "share" in again.reason
    # Within the bound nothing is taken from anyone.
    assert slot_for("C", held, 5, 8).evict is None
    # The per-node bound holds whatever the total.
    assert not slot_for("A", held, 10, 3).admit


def test_a_connection_that_only_refuses_loses_its_slot_first() -> None:
    held = [_Conn("A", useful_at=1.0), _Conn("B", refused_in_a_row=3, useful_at=9.0),
            _Conn("B", useful_at=0.5)]
    decision = slot_for("B", held, max_connections=3, max_peer_connections=8)
    assert decision.admit and decision.evict is held[1], "R-NODE-47"
    assert "refusals" in decision.reason


def test_repeat_filter_says_a_flood_once_with_its_count() -> None:
    t = [0.0]
    repeat = RepeatFilter(60.0, clock=lambda: t[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, "x", 1, msg, None, None)

    assert repeat.filter(record("socket.accept() out of system resource"))
    assert sum(repeat.filter(record("socket.accept() out of system resource"))
               for _ in range(500)) == 0, "R-NODE-49: repeats are suppressed"
    assert repeat.filter(record("another message")), "other messages are not held back"
    t[0] = 61.0
    later = record("socket.accept() out of system resource")
    assert repeat.filter(later) and "500 more" in later.getMessage()


# On a real node --------------------------------------------------------------------------


def _half_open(address: tuple[str, int]) -> socket.socket:
    """A TCP connection that never starts its TLS handshake."""
    sock = socket.create_connection(address)
    sock.setblocking(False)
    return sock


def _closed_by_node(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


def test_half_open_sockets_are_bounded_and_a_valid_peer_still_gets_in(
        tmp_path: Path, pki_dir: Path) -> None:
    """300 TCP connections that never begin their handshake (a 30 s handshake limit, so
    the timeout does not clear them): the node holds at most its bound of them, drops
    the oldest, and a valid peer from the same address is still served."""
    per_address = 16

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)],
                          handshake_timeout=30.0, max_address_handshakes=per_address,
                          known_reserve=per_address, max_handshakes=64)
        address = net.directory[PREFECTURE]
        socks = []
        try:
            for _ in range(300):
                socks.append(_half_open(address))
                await asyncio.sleep(0)
            node = net.nodes[PREFECTURE]
            await node.wait_until(lambda: node.gate.counts.admitted
                                  + node.gate.counts.refused >= 300, 10)
            await asyncio.sleep(0.3)
            still_open = [s for s in socks if not _closed_by_node(s)]
            assert len(still_open) <= per_address, \
                f"R-NODE-46: {len(still_open)} half-open sockets held, bound {per_address}"
            assert len(node.gate) <= per_address
            peer = await Peer(pki_dir, "271004").connect(address)
            try:
                await peer.send(peer.sealed(update_of(residents("271004", 1)[0], 1),
                                            PREFECTURE))
                got = await peer.read()
                assert got is not None and got.acknowledgement is not None \
                    and got.acknowledgement.status is AckStatus.ACCEPTED, got
            finally:
                await peer.close()
        finally:
            for s in socks:
                s.close()
            await net.stop()

    run(body(), 60)


def test_a_node_holding_every_slot_gives_one_up_to_another_node(
        tmp_path: Path, pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)],
                          max_connections=4, max_peer_connections=8)
        address = net.directory[PREFECTURE]
        hogs = [await Peer(pki_dir, "271004").connect(address) for _ in range(4)]
        node = net.nodes[PREFECTURE]
        await node.wait_until(lambda: len(node._inbound) == 4, 5)
        other = await Peer(pki_dir, "272035").connect(address)
        try:
            await other.send(other.sealed(update_of(residents("272035", 1)[0], 1),
                                          PREFECTURE))
            got = await other.read()
            assert got is not None and got.acknowledgement is not None, \
                f"R-NODE-47: another node was locked out: {got}"
            # One of the hog's connections was told 9002 and closed.
            told = []
            for hog in hogs:
                try:
                    told.append(await hog.read(0.5))
                except TimeoutError:
                    told.append("open")
            reports = [t for t in told if t not in (None, "open")]
            assert len(reports) == 1 and reports[0].error_report is not None \
                and reports[0].error_report.error_code == ErrorCode.OVERLOADED, told
            # The hog asking for one more is refused: it holds its share.
            extra = await Peer(pki_dir, "271004").connect(address)
            got = await extra.read()
            assert got is not None and got.error_report is not None \
                and got.error_report.error_code == ErrorCode.OVERLOADED
            await extra.close()
        finally:
            for p in [*hogs, other]:
                await p.close()
            await net.stop()

    run(body())


def _silent_peer(pki_dir: Path, code: str, address: tuple[str, int]) -> ssl.SSLSocket:
    """A TLS connection of node ``code`` on a blocking socket that the test never reads
    (so it answers no close of the node's)."""
    ctx = client_context(pki_dir / f"{code}.pem", pki_dir / f"{code}.key",
                         pki_dir / "ca.pem", pki_dir / "crl.pem")
    return ctx.wrap_socket(socket.create_connection(address, timeout=5))


def test_a_slot_given_up_is_the_newcomers_while_its_old_holder_closes(
        tmp_path: Path, pki_dir: Path) -> None:
    """R-NODE-12: the bound in total holds while an evicted connection is told 9002 and
    closed (its peer neither reads nor closes: that takes the node seconds). Another
    newcomer meanwhile finds every slot taken and takes another slot of the node holding
    the most; the node never holds more than its bound."""
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)],
                          max_connections=4, max_peer_connections=8)
        address = net.directory[PREFECTURE]
        node = net.nodes[PREFECTURE]
        # Blocking sockets that nobody reads: the node's close of one is not answered.
        hogs = [await asyncio.to_thread(_silent_peer, pki_dir, "271004", address)
                for _ in range(4)]
        newcomers: list[ssl.SSLSocket] = []
        try:
            await node.wait_until(lambda: len(node._inbound) == 4, 5)
            for code in ("272035", "131016"):
                newcomers.append(await asyncio.to_thread(_silent_peer, pki_dir, code,
                                                         address))
                await asyncio.sleep(0.2)
            held = []
            for _ in range(25):                 # while the victims' closes are awaited
                held.append(len(node._inbound))
                await asyncio.sleep(0.1)
            assert max(held) <= 4, f"R-NODE-12: {max(held)} connections held, bound 4"
            assert held[-1] == 4
        finally:
            for sock in [*hogs, *newcomers]:
                sock.close()
            await net.stop()

    run(body())

def test_a_connection_that_sends_only_refusals_is_closed(tmp_path: Path,
                                                         pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)], max_refusals=5)
        address = net.directory[PREFECTURE]
        peer = await Peer(pki_dir, "271004").connect(address)
        garbage = encode_frame(b"\x30\x03garbage")
        try:
            # Four refusals, then a valid update: the count starts again.
            await peer.send_raw(garbage * 4)
            for _ in range(4):
                got = await peer.read()
                assert got is not None and got.error_report is not None
            await peer.send(peer.sealed(update_of(residents("271004", 1)[0], 1), PREFECTURE))
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None, got
            # Five in a row: answered, then the connection is closed.
            for _ in range(5):
                await peer.send_raw(garbage)
                got = await peer.read()
                assert got is not None and got.error_report is not None
            assert await peer.read(3) is None, "R-NODE-48: the connection stays open"
        finally:
            await peer.close()
            await net.stop()

    run(body())


def test_new_handshakes_from_an_unknown_address_are_rate_limited() -> None:
    """R-NODE-46: a token bucket per unknown address (bursts of per_address, then
    ``rate`` a second); known addresses are not limited; other addresses untouched."""
    t = [0.0]
    gate = HandshakeGate(limit=1000, per_address=4, reserve=8, rate=2.0,
                         known={"10.0.0.5"}.__contains__, clock=lambda: t[0])
    socks = _Sockets()
    got = [gate.admit("192.0.2.1", socks.closer(f"a{i}")) for i in range(10)]
    assert sum(g is not None for g in got) == 4 and gate.counts.refused == 6
    assert gate.admit("198.51.100.7", socks.closer("b")) is not None
    assert all(gate.admit("10.0.0.5", socks.closer(f"k{i}")) is not None for i in range(8))
    t[0] = 1.0                                     # two more tokens a second later
    got = [gate.admit("192.0.2.1", socks.closer(f"c{i}")) for i in range(3)]
    assert [g is not None for g in got] == [True, True, False]
