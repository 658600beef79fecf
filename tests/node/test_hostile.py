"""Hostile peers are closed cleanly, with the registered code where there is a peer to
tell, and the node keeps serving the others (spec/node.md section 6, R-NODE-01,
R-NODE-12 to R-NODE-16)."""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from node_helpers import Peer, residents, run, shared_pki, start, update_of

from juki_protocol.codec.wire import encode_frame
from juki_protocol.envelope import pki
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.pdu import AckStatus, JukiPdu
from juki_protocol.node.network import Network
from juki_protocol.node.node import node_of_code
from juki_protocol.node.transport import Connection, client_context, server_context

PREFECTURE = "270008"
#: Small limits, so that each case takes well under a second of waiting.
LIMITS: dict[str, Any] = {"handshake_timeout": 0.5, "frame_timeout": 0.5,
                          "idle_timeout": 30.0}


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _error(pdu: JukiPdu | None, rule: str) -> tuple[int, bytes | None]:
    assert pdu is not None, f"{rule}: the node closed the connection without a report"
    assert pdu.error_report is not None, f"{rule}: expected an error report, got {pdu}"
    return pdu.error_report.error_code, pdu.error_report.refers_to


async def _accepted(peer: Peer, der: bytes, rule: str) -> None:
    """Send ``der`` and expect an acknowledgement of status accepted."""
    await peer.send(der)
    got = await peer.read()
    assert got is not None and got.acknowledgement is not None, \
        f"{rule}: the node did not acknowledge a valid update: {got}"
    assert got.acknowledgement.status is AckStatus.ACCEPTED, rule


async def _still_serves(net: Network, pki_dir: Path, sequence: int, rule: str) -> None:
    """A fresh, well-behaved peer gets update ``sequence`` applied."""
    person = residents("271004", 8)[sequence - 1]
    peer = await Peer(pki_dir, "271004").connect(net.directory[PREFECTURE])
    try:
        await _accepted(peer, peer.sealed(update_of(person, sequence), PREFECTURE), rule)
    finally:
        await peer.close()


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> float:
    """How long until the node closed the connection (TimeoutError past ``seconds``)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    try:
        while await asyncio.wait_for(reader.read(4096), seconds):
            pass
    except (ConnectionError, ssl.SSLError):
        pass
    return loop.time() - t0


@pytest.mark.parametrize("opening", [b"", b"\x16\x03\x01\x00\xc8\x01\x00"],
                         ids=["silent", "partial-client-hello"])
def test_tcp_without_a_tls_handshake_is_closed_after_the_handshake_timeout(
        tmp_path: Path, pki_dir: Path, opening: bytes) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)], **LIMITS)
        try:
            host, port = net.directory[PREFECTURE]
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(opening)
            # While the handshake is pending, a good peer is served (R-NODE-14).
            await _still_serves(net, pki_dir, 1, "R-NODE-14 (others served meanwhile)")
            waited = await _closed_within(reader, 5)
            assert waited < 3, "R-NODE-14: the handshake timeout did not close the socket"
            writer.close()
            await _still_serves(net, pki_dir, 2, "R-NODE-14 (served afterwards)")
        finally:
            await net.stop()

    run(body())


def test_plaintext_instead_of_a_handshake_is_closed_at_once(
        tmp_path: Path, pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)], **LIMITS)
        try:
            reader, writer = await asyncio.open_connection(*net.directory[PREFECTURE])
            writer.write(random.Random("plaintext").randbytes(512))
            waited = await _closed_within(reader, 5)
            assert waited < 0.4, "R-PDU-10: a handshake of garbage must fail at once"
            writer.close()
            await _still_serves(net, pki_dir, 1, "R-NODE-14")
        finally:
            await net.stop()

    run(body())


def _tls_client_without_certificate(address: tuple[str, int], ca: Path, frame: bytes
                                    ) -> str:
    """A blocking TLS 1.3 client that trusts the network CA but presents no certificate:
    what it sees after it sends ``frame``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.load_verify_locations(cafile=str(ca))
    with socket.create_connection(address, timeout=5) as raw:
        try:
            # Ragged EOFs are not suppressed: a session the server ended with
            # close_notify reads as b"", one it aborted raises SSLError.
            with ctx.wrap_socket(raw, suppress_ragged_eofs=False) as tls:
                # In TLS 1.3 the client finishes its side of the handshake before the
                # server has checked the (missing) certificate.
                tls.sendall(frame)
                return f"read {tls.recv(4096)!r}"
        except (ssl.SSLError, ConnectionError) as exc:
            return f"aborted: {type(exc).__name__}"


def test_handshake_without_a_client_certificate_is_aborted(
        tmp_path: Path, pki_dir: Path) -> None:
    person = residents("271004", 1)[0]
    frame = encode_frame(Peer(pki_dir, "271004").sealed(update_of(person, 1), PREFECTURE))

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)], **LIMITS)
        try:
            seen = await asyncio.to_thread(_tls_client_without_certificate,
                                           net.directory[PREFECTURE], pki_dir / "ca.pem",
                                           frame)
            assert seen.startswith("aborted"), \
                f"R-PDU-10: the node did not abort the handshake of a peer without a " \
                f"certificate ({seen})"
            assert net.nodes[PREFECTURE].storage.count_identity(False) == 0
            await _still_serves(net, pki_dir, 1, "R-PDU-10 (served afterwards)")
        finally:
            await net.stop()

    run(body())


@pytest.mark.parametrize("how", ["partial", "dribble"])
def test_frame_that_stalls_is_answered_1002_and_closed(tmp_path: Path, pki_dir: Path,
                                                       how: str) -> None:
    person = residents("271004", 1)[0]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)], **LIMITS)
        peer = await Peer(pki_dir, "271004").connect(net.directory[PREFECTURE])
        frame = encode_frame(peer.sealed(update_of(person, 1), PREFECTURE))
        loop = asyncio.get_running_loop()
        dribbler: asyncio.Task[None] | None = None
        try:
            t0 = loop.time()
            if how == "partial":      # the prefix and part of the body, then silence
                await peer.send_raw(frame[:40])
            else:                     # one octet every 0.1 s: never complete in time

                async def dribble() -> None:
                    for octet in frame:
                        await peer.send_raw(bytes([octet]))
                        await asyncio.sleep(0.1)

                dribbler = asyncio.create_task(dribble())
            code, refers_to = _error(await peer.read(5), "R-NODE-15")
            waited = loop.time() - t0
            assert code == ErrorCode.FRAME_TRUNCATED, f"R-NODE-15: got {code}, not 1002"
            assert refers_to is None, "R-NODE-15: 1002 refers to no message"
            assert 0.4 <= waited < 3, f"R-NODE-15: closed after {waited:.2f} s, the " \
                "frame timeout is 0.5 s"
            assert await peer.read(3) is None, "R-NODE-15: the connection stays open"
            assert net.nodes[PREFECTURE].storage.count_identity(False) == 0
            await _still_serves(net, pki_dir, 1, "R-NODE-15 (served afterwards)")
        finally:
            if dribbler is not None:
                dribbler.cancel()
                await asyncio.gather(dribbler, return_exceptions=True)
            await peer.close()
            await net.stop()

    run(body())


def test_silent_connection_is_kept_between_frames_and_a_slow_frame_in_time_is_taken(
        tmp_path: Path, pki_dir: Path) -> None:
    people = residents("271004", 3)

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)],
                          **{**LIMITS, "frame_timeout": 0.3})
        peer = await Peer(pki_dir, "271004").connect(net.directory[PREFECTURE])
        try:
            await _accepted(peer, peer.sealed(update_of(people[0], 1), PREFECTURE),
                            "R-NODE-16")
            # Silent between frames for more than three frame timeouts: kept open.
            await asyncio.sleep(1.0)
            await _accepted(peer, peer.sealed(update_of(people[1], 2), PREFECTURE),
                            "R-NODE-16 (a silent connection was closed)")
            # A frame sent in five pieces within the frame timeout is taken whole.
            frame = encode_frame(peer.sealed(update_of(people[2], 3), PREFECTURE))
            step = -(-len(frame) // 5)
            for i in range(0, len(frame), step):
                await peer.send_raw(frame[i:i + step])
                await asyncio.sleep(0.04)
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None, \
                f"R-NODE-15: a frame completed in time was refused: {got}"
            assert net.nodes[PREFECTURE].storage.count_identity() == 3
        finally:
            await peer.close()
            await net.stop()

    run(body())


def test_connection_idle_past_the_idle_timeout_is_closed_without_a_report(
        tmp_path: Path, pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)],
                          **{**LIMITS, "idle_timeout": 0.5})
        node = net.nodes[PREFECTURE]
        loop = asyncio.get_running_loop()
        peer = await Peer(pki_dir, "271004").connect(net.directory[PREFECTURE])
        try:
            t0 = loop.time()
            assert await peer.read(5) is None, "R-NODE-16: an idle close sends no report"
            waited = loop.time() - t0
            assert 0.4 <= waited < 3, f"R-NODE-16: closed after {waited:.2f} s, the " \
                "idle timeout is 0.5 s"
            await node.wait_until(lambda: "271004" not in node.connections, 2)
            await _still_serves(net, pki_dir, 1, "R-NODE-16 (served afterwards)")
        finally:
            await peer.close()
            await net.stop()

    run(body())


def test_garbage_after_the_handshake_is_refused_and_the_node_keeps_serving(
        tmp_path: Path, pki_dir: Path) -> None:
    rng = random.Random("garbage")
    person = residents("271004", 1)[0]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)], **LIMITS)
        peer = await Peer(pki_dir, "271004").connect(net.directory[PREFECTURE])
        try:
            # Framed random bodies: each refused with a 1xxx code, none referring to a
            # message, and the connection stays open (pdu.md section 8, R-NODE-01).
            for _ in range(20):
                await peer.send(rng.randbytes(rng.randint(1, 300)))
            for _ in range(20):
                code, refers_to = _error(await peer.read(), "R-NODE-01")
                assert 1000 <= code < 2000 and refers_to is None, \
                    f"R-NODE-01: random bytes answered with {code}"
            await _accepted(peer, peer.sealed(update_of(person, 1), PREFECTURE),
                            "R-NODE-01 (the connection stays open)")
            # Unframed random octets: the first four, read as a length prefix, exceed
            # the maximum frame size; 1001, and that connection closes (R-PDU-13).
            await peer.send_raw(b"\x7f" + rng.randbytes(4095))
            code, _ = _error(await peer.read(), "R-PDU-13")
            assert code == ErrorCode.FRAME_TOO_LARGE
            assert await peer.read(3) is None, "R-NODE-01: framing lost, must close"
            await _still_serves(net, pki_dir, 2, "R-NODE-01 (served afterwards)")
        finally:
            await peer.close()
            await net.stop()

    run(body())


def test_connections_beyond_the_per_node_limit_get_9002_without_refers_to(
        tmp_path: Path, pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)],
                          **{**LIMITS, "max_peer_connections": 2})
        address = net.directory[PREFECTURE]
        peers = [await Peer(pki_dir, "271004").connect(address) for _ in range(2)]
        try:
            extra = await Peer(pki_dir, "271004").connect(address)
            code, refers_to = _error(await extra.read(), "R-NODE-12")
            assert code == ErrorCode.OVERLOADED and refers_to is None, "R-NODE-12"
            assert await extra.read(3) is None, "R-NODE-12: the extra connection is closed"
            # Another node is not held back by 271004's connections.
            other = await Peer(pki_dir, "272035").connect(address)
            peers.append(other)
            person = residents("272035", 1)[0]
            await _accepted(other, other.sealed(update_of(person, 1), PREFECTURE),
                            "R-NODE-12 (another node)")
            # Both of 271004's connections are served; when one closes, a new one is
            # admitted.
            mine = residents("271004", 2)
            await _accepted(peers[1], peers[1].sealed(update_of(mine[0], 1), PREFECTURE),
                            "R-NODE-12 (within the limit)")
            await peers[0].close()
            node = net.nodes[PREFECTURE]
            await node.wait_until(lambda: sum(
                1 for c in node._inbound if c.peer.code == "271004") < 2, 3)
            await _still_serves(net, pki_dir, 2, "R-NODE-12 (a slot freed)")
        finally:
            for p in peers:
                await p.close()
            await net.stop()

    run(body())


def test_hostile_peers_at_once_do_not_disturb_a_good_peer(tmp_path: Path,
                                                         pki_dir: Path) -> None:
    """Every kind of hostile peer at the same time, an oversized frame among them,
    while a good peer sends its updates one after another (R-NODE-01, R-NODE-14,
    R-NODE-15)."""
    people = residents("271004", 10)

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)], **LIMITS)
        address = net.directory[PREFECTURE]

        async def loris() -> str:
            reader, writer = await asyncio.open_connection(*address)
            await _closed_within(reader, 5)
            writer.close()
            return "closed"

        async def staller() -> str:
            peer = await Peer(pki_dir, "272035").connect(address)
            await peer.send_raw(b"\x00\x00\x10\x00\x30")
            code, _ = _error(await peer.read(5), "R-NODE-15")
            await peer.close()
            return str(code)

        async def oversized() -> str:
            peer = await Peer(pki_dir, "131016").connect(address)
            results = []
            for _ in range(3):      # garbage first: the connection stays open
                await peer.send(b"\x30\x03\x02\x01")
                results.append(_error(await peer.read(), "R-NODE-01")[0])
            await peer.send_raw((64 * 1024 * 1024).to_bytes(4, "big") + b"\x30")
            results.append(_error(await peer.read(), "R-PDU-13")[0])
            closed = await peer.read(3) is None
            await peer.close()
            return f"{results[-1]} closed={closed} after {len(results) - 1} refusals"

        async def good() -> int:
            peer = await Peer(pki_dir, "271004").connect(address)
            try:
                for seq, person in enumerate(people, 1):
                    await _accepted(peer, peer.sealed(update_of(person, seq), PREFECTURE),
                                    f"R-NODE-01 (update {seq} of the good peer)")
                    await asyncio.sleep(0.05)
            finally:
                await peer.close()
            return len(people)

        try:
            got = await asyncio.gather(loris(), staller(), oversized(), good())
            assert list(got) == ["closed", "1002", "1001 closed=True after 3 refusals",
                                 len(people)]
            assert net.nodes[PREFECTURE].storage.count_identity() == len(people)
        finally:
            await net.stop()

    run(body())


def test_peer_that_stops_reading_loses_the_connection_after_the_frame_timeout(
        pki_dir: Path) -> None:
    """R-NODE-15, the sending side: a frame the peer does not take in time (it stopped
    reading and the buffers are full) aborts the connection instead of blocking."""

    async def body() -> None:
        accepted: asyncio.Queue[Connection] = asyncio.Queue()

        async def on_client(reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            await accepted.put(Connection(
                reader, writer, node_of_code("271004"),
                pki.load_certificate((pki_dir / "271004.pem").read_bytes()),
                frame_timeout=0.3))

        server = await asyncio.start_server(
            on_client, "127.0.0.1", 0, ssl=server_context(
                pki_dir / "270008.pem", pki_dir / "270008.key", pki_dir / "ca.pem"))
        port = server.sockets[0].getsockname()[1]

        def handshake() -> ssl.SSLSocket:
            """A blocking client with a small receive buffer that, once connected,
            never reads."""
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            return client_context(pki_dir / "271004.pem", pki_dir / "271004.key",
                                  pki_dir / "ca.pem").wrap_socket(raw)

        tls = await asyncio.to_thread(handshake)
        conn = await asyncio.wait_for(accepted.get(), 5)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            with pytest.raises(ConnectionError, match="did not take a frame"):
                # 1 MiB of frames, never read: far beyond every buffer on the way.
                for _ in range(16):
                    await conn.send(b"\x30" * (64 * 1024))
            waited = loop.time() - t0
            assert 0.25 <= waited < 3, f"R-NODE-15: gave up after {waited:.2f} s"
            assert conn.closed
        finally:
            tls.close()
            server.close()

    run(body(), timeout=10)
