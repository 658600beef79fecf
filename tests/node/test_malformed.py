"""Malformed and refused PDUs get error reports with registered codes, and the node keeps
serving (spec/pdu.md sections 2, 3, 5 and 8)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest
from node_helpers import Peer, residents, run, shared_pki, start, update_of

from juki_protocol.codec import codec
from juki_protocol.errors import REGISTRY, ErrorCode
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    JukiPdu,
    MessageType,
    PduHeader,
)
from juki_protocol.node.node import node_of_code


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _code(pdu: JukiPdu | None) -> int | None:
    assert pdu is not None, "the node closed the connection"
    if pdu.error_report is not None:
        assert ErrorCode(pdu.error_report.error_code) in REGISTRY
        return pdu.error_report.error_code
    return None


def test_refusals_with_registered_codes_and_the_node_keeps_serving(
        tmp_path: Path, pki_dir: Path) -> None:
    people = residents("271004", 2)

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        address = net.directory["270008"]
        peer = await Peer(pki_dir, "271004").connect(address)
        try:
            # Not DER at all: 1010 family, no message id to refer to.
            await peer.send(b"\x30\x05\x01\x02")
            got = await peer.read()
            assert _code(got) in (1010, 1011, 1012, 1013, 1015, 1031)
            assert got is not None and got.error_report is not None
            assert got.error_report.refers_to is None
            # An unknown protocol version: 1016, referring to the message id.
            mid = secrets.token_bytes(16)
            await peer.send(peer.sealed(update_of(people[0], 1), "270008", version=2,
                                        message_id=mid))
            got = await peer.read()
            assert _code(got) == 1016
            assert got is not None and got.error_report is not None
            assert got.error_report.refers_to == mid
            # Addressed to another prefecture: 3002.
            await peer.send(peer.sealed(update_of(people[0], 1), "130001"))
            assert _code(await peer.read()) == 3002
            # Outside the time window: 2020.
            old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
            await peer.send(peer.sealed(update_of(people[0], 1), "270008", time=old))
            assert _code(await peer.read()) == 2020
            # An acknowledgement that refers to nothing is never answered (R-PDU-25) ...
            ack = JukiPdu(header=PduHeader(
                version=1, message_id=secrets.token_bytes(16),
                message_type=MessageType.ACKNOWLEDGEMENT, sender=node_of_code("271004"),
                recipient=node_of_code("270008"),
                time=dt.datetime.now(dt.UTC).replace(microsecond=0), sequence_number=0,
                profile=Profile.CURRENT), acknowledgement=Acknowledgement(
                    acknowledged_id=secrets.token_bytes(16), status=AckStatus.ACCEPTED))
            await peer.send(codec.encode(ack, profile=None))
            # ... so the next answer is the acknowledgement of update 1.
            first = peer.sealed(update_of(people[0], 1), "270008", message_id=mid)
            await peer.send(first)
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None
            assert got.acknowledgement.acknowledged_id == mid
            assert got.acknowledgement.status is AckStatus.ACCEPTED
            # The same message again: a duplicate, not processed twice (R-PDU-24).
            await peer.send(peer.sealed(update_of(people[0], 1), "270008", message_id=mid))
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None
            assert got.acknowledgement.status is AckStatus.DUPLICATE
            # The same message id with other content: 2021 REPLAY.
            await peer.send(peer.sealed(update_of(people[1], 2), "270008", message_id=mid))
            assert _code(await peer.read()) == 2021
            # A gap in the numbering: 4004 OUT_OF_ORDER (R-30-5-0-06).
            await peer.send(peer.sealed(update_of(people[1], 5), "270008"))
            assert _code(await peer.read()) == 4004
            # A frame longer than 1 MiB: 1001 before the body, then the connection closes.
            await peer.send_raw((2 * 1024 * 1024).to_bytes(4, "big") + b"\x30")
            assert _code(await peer.read()) == 1001
            assert await peer.read(3) is None
            await peer.close()
            # A truncated frame on a new connection is dropped without effect ...
            peer = await Peer(pki_dir, "271004").connect(address)
            await peer.send_raw(b"\x00\x00\x01\x00\x30\x82")
            await peer.close()
            # ... and the node still serves: update 2 is applied.
            peer = await Peer(pki_dir, "271004").connect(address)
            await peer.send(peer.sealed(update_of(people[1], 2), "270008"))
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None
            assert got.acknowledgement.status is AckStatus.ACCEPTED
            assert net.nodes["270008"].storage.count_identity() == 2
        finally:
            await peer.close()
            await net.stop()

    run(body())
