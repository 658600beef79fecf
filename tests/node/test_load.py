"""Load: many connections and a burst of messages against one node on loopback. The node
keeps serving, sheds with 9002 OVERLOADED what is beyond its limits, processes nothing
it shed, and recovers (spec/node.md section 6, R-NODE-12, R-NODE-13)."""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path

import pytest
from node_helpers import Peer, node_db, residents, run, shared_pki, start, update_of, verify_node

from juki_protocol.codec import codec
from juki_protocol.codec.wire import encode_frame
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.pdu import AckStatus, JukiPdu
from juki_protocol.node.node import node_of_code
from juki_protocol.tools import audit_verify

PREFECTURE, MUNICIPALITY = "270008", "271004"
CONNECTIONS = 200
MAX_CONNECTIONS = 40
BURST = 4          # sealed PDUs each admitted connection writes at once
MAX_INFLIGHT = 2
OVERLOADED = str(int(ErrorCode.OVERLOADED))


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _message_id(der: bytes) -> bytes:
    """The message id of a PDU the test built."""
    pdu = codec.decode(der, "JukiPdu")
    assert isinstance(pdu, JukiPdu)
    return pdu.header.message_id


def _answer(pdu: JukiPdu) -> tuple[bytes | None, str]:
    """What an answer refers to, and what it says: "accepted", "duplicate" or the code."""
    if pdu.acknowledgement is not None:
        return pdu.acknowledgement.acknowledged_id, pdu.acknowledgement.status.value
    assert pdu.error_report is not None, f"a sealed PDU where an answer was due: {pdu}"
    return pdu.error_report.refers_to, str(pdu.error_report.error_code)


def test_200_connections_and_a_burst_are_served_or_shed_with_9002_then_recover(
        tmp_path: Path, pki_dir: Path) -> None:
    person, second = residents(MUNICIPALITY, 2)[:2]

    async def body() -> int:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)],
                          max_connections=MAX_CONNECTIONS, max_peer_connections=CONNECTIONS,
                          max_inflight=MAX_INFLIGHT, handshake_timeout=5.0,
                          frame_timeout=5.0, max_address_handshakes=CONNECTIONS,
                          known_reserve=CONNECTIONS)
        node = net.nodes[PREFECTURE]
        address = net.directory[PREFECTURE]
        # 200 connections at once, all with the certificate of one municipality (the
        # node keeps its connections per peer node; several per node must not clash).
        peers = [Peer(pki_dir, MUNICIPALITY) for _ in range(CONNECTIONS)]
        await asyncio.gather(*(p.connect(address) for p in peers))
        # Each writes a burst of the same update numbered 1 under new message ids, so
        # any order of processing gives one "accepted" and then "duplicate"s, or 9002.
        bursts = [[p.sealed(update_of(person, 1), PREFECTURE) for _ in range(BURST)]
                  for p in peers]

        # No connection closes before every one has its answers, so that no slot is
        # freed while the node is still admitting.
        everyone = asyncio.Barrier(CONNECTIONS)

        async def load(peer: Peer, burst: list[bytes]) -> list[tuple[bytes | None, str]]:
            try:
                await peer.send_raw(b"".join(encode_frame(der) for der in burst))
            except (ConnectionError, ssl.SSLError):
                pass           # a shed connection may already be closed
            answers = []
            while (pdu := await peer.read(20)) is not None:
                answers.append(_answer(pdu))
                if len(answers) == BURST:
                    break
            await everyone.wait()
            await peer.close()
            return answers

        results = await asyncio.gather(*(load(p, b) for p, b in zip(peers, bursts, strict=True)))
        ids = [{_message_id(der) for der in burst} for burst in bursts]

        shed_connections, statuses = 0, []
        shed_pdus: list[bytes | None] = []
        for answers, sent in zip(results, ids, strict=True):
            if answers and answers[0] == (None, OVERLOADED):
                # R-NODE-12: exactly one report, then the connection was closed.
                assert answers == [(None, OVERLOADED)], f"R-NODE-12: {answers}"
                shed_connections += 1
                continue
            # R-NODE-13: every PDU of an admitted connection is answered, by an
            # acknowledgement or 9002 referring to it, nothing else.
            assert {ref for ref, _ in answers} == sent, \
                f"R-NODE-13: answers {answers} do not match the burst"
            for ref, what in answers:
                assert what in ("accepted", "duplicate", OVERLOADED), \
                    f"R-NODE-13: a PDU under load was answered {what}"
                if what == OVERLOADED:
                    shed_pdus.append(ref)
                else:
                    statuses.append(what)
        admitted = CONNECTIONS - shed_connections
        assert admitted == MAX_CONNECTIONS, \
            f"R-NODE-12: {admitted} connections admitted, the limit is {MAX_CONNECTIONS}"
        assert shed_pdus, "R-NODE-13: no PDU shed although bursts exceed max_inflight"
        assert statuses.count("accepted") == 1, \
            f"the same update was applied {statuses.count('accepted')} times"
        # Nothing of a shed PDU was processed: no processed message id (R-NODE-13).
        sender = str(node_of_code(MUNICIPALITY))
        assert all(node.storage.seen(sender, mid) is None for mid in shed_pdus
                   if mid is not None), "R-NODE-13: a shed PDU was recorded as processed"
        await node.wait_until(lambda: not node.connections, 5)

        # Recovery: a fresh connection is admitted; a shed message retried with the
        # same id is processed (as the duplicate of the applied update, not a replay),
        # and the next update is applied.
        peer = await Peer(pki_dir, MUNICIPALITY).connect(address)
        try:
            retry = next(der for burst in bursts for der in burst
                         if _message_id(der) == shed_pdus[0])
            await peer.send(retry)
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None, \
                f"R-NODE-13: a retry of a shed PDU was refused: {got}"
            assert got.acknowledgement.status is AckStatus.DUPLICATE
            await peer.send(peer.sealed(update_of(second, 2), PREFECTURE))
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None, \
                f"no recovery after the burst: {got}"
            assert got.acknowledgement.status is AckStatus.ACCEPTED
            assert node.storage.count_identity() == 2
        finally:
            await peer.close()
            await net.stop()
        return len(shed_pdus)

    shed = run(body(), timeout=50)
    check = verify_node(tmp_path, PREFECTURE)
    assert check.ok, f"R-NODE-08: the audit chain broke under load: {check.reason}"
    refused = [r for r in audit_verify.rows(node_db(tmp_path, PREFECTURE))
               if r["direction"] == "refused"]
    assert sum(_refusals(str(r["result"])) for r in refused
               if str(r["result"]).startswith(OVERLOADED)) \
        == CONNECTIONS - MAX_CONNECTIONS + shed, \
        "R-NODE-06: every 9002 is audited, in full or counted in a summary row"


def _refusals(result: str) -> int:
    """How many refusals an audit row stands for: one written in full, or the count of
    a summary row (spec/node.md section 3)."""
    more = re.search(r"; (\d+) more refusals", result)
    return int(more.group(1)) if more else 1


def test_burst_on_one_connection_sheds_the_tail_in_order_and_the_retry_is_applied(
        tmp_path: Path, pki_dir: Path) -> None:
    people = residents(MUNICIPALITY, 6)

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)],
                          max_inflight=2)
        node = net.nodes[PREFECTURE]
        peer = await Peer(pki_dir, MUNICIPALITY).connect(net.directory[PREFECTURE])
        try:
            burst = [peer.sealed(update_of(p, seq), PREFECTURE)
                     for seq, p in enumerate(people[:5], 1)]
            await peer.send_raw(b"".join(encode_frame(der) for der in burst))
            answers = []
            for _ in burst:
                got = await peer.read()
                assert got is not None, "the node closed the connection under a burst"
                answers.append(_answer(got))
            ids = [_message_id(der) for der in burst]
            # One read, two PDUs in hand: the first two applied, the tail shed, and
            # every answer in the order of the PDUs (R-NODE-13).
            assert answers == [(ids[0], "accepted"), (ids[1], "accepted"),
                               (ids[2], OVERLOADED), (ids[3], OVERLOADED), (ids[4], OVERLOADED)], \
                f"R-NODE-13: {answers}"
            assert node.storage.count_identity() == 2
            # The sender retries the shed PDUs, same ids and bytes: each is new to the
            # node and applied in turn.
            for i in (2, 3, 4):
                await peer.send(burst[i])
                got = await peer.read()
                assert got is not None and _answer(got) == (ids[i], "accepted"), \
                    f"R-NODE-13: retry of update {i + 1}: {got}"
            assert node.storage.count_identity() == 5
        finally:
            await peer.close()
            await net.stop()

    run(body())
