"""The upper tester's control ops (spec/node.md section 4): the test clock, restart on
the node's own storage, fault injection at the next commit and the masked audit log;
each refused with 1032 NOT_OFFERED by a node not started with it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import Peer, run, shared_pki, start, update_of

from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import mask
from juki_protocol.messages.pdu import JukiPdu
from juki_protocol.node.clock import TestClock
from juki_protocol.node.node import Node
from juki_protocol.node.upper_tester import UpperTester, handle_line


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}).encode())


def pdu_id(pdu: bytes) -> str:
    decoded = codec.decode(pdu, "JukiPdu")
    assert isinstance(decoded, JukiPdu)
    return decoded.header.message_id.hex()


def _code(answer: dict[str, Any]) -> int:
    assert answer.get("ok") is False, answer
    return int(answer["error"]["code"])


def test_the_test_clock_only_moves_forward() -> None:
    start_at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    clock = TestClock(start_at)
    assert start_at <= clock() < start_at + dt.timedelta(seconds=5)
    assert clock.advance(3600) >= start_at + dt.timedelta(hours=1)
    # R-NODE-89: an advance of 0 is accepted and moves nothing, however often.
    before = clock()
    for _ in range(100):
        assert before <= clock.advance(0) < before + dt.timedelta(seconds=5)
    with pytest.raises(JukiError):
        clock.set(start_at)
    with pytest.raises(JukiError):
        clock.advance(-1)
    with pytest.raises(JukiError):
        clock.set(dt.datetime(2031, 1, 1))          # no UTC offset


def test_control_ops_are_not_offered_unless_started_with_them(tmp_path: Path,
                                                              pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        node = net.nodes["270008"]
        try:
            assert _code(await _op(node, op="clock")) == ErrorCode.NOT_OFFERED
            assert _code(await _op(node, op="fail_next_commit")) == ErrorCode.NOT_OFFERED
            assert _code(await _op(node, op="restart")) == ErrorCode.NOT_OFFERED
            hello = await _op(node, op="hello")
            assert not {"clock", "fail_next_commit", "restart"} & set(hello["ops"])
        finally:
            await net.stop()
    run(body())


def test_clock_ops_move_the_node_and_refuse_bad_fields(tmp_path: Path, pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        old = net.nodes["270008"]
        node = Node(old.config, clock=TestClock(dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))
        try:
            hello = await _op(node, op="hello")
            assert "clock" in hello["ops"]
            moved = await _op(node, op="clock", advance=86400 * 3)
            assert dt.datetime.fromisoformat(moved["now"]).date() == dt.date(2030, 1, 4)
            assert node.now().date() == dt.date(2030, 1, 4)
            later = await _op(node, op="clock", set="2031-06-01T00:00:00+00:00")
            assert later["now"].startswith("2031-06-01T00:00")
            for bad in ({"advance": -5}, {"advance": "soon"}, {"set": "yesterday"},
                        {"set": "2030-01-01T00:00:00+00:00"}, {"set": "2032-01-01T00:00"},
                        {"set": "2032-01-01T00:00:00+00:00", "advance": 1}):
                assert _code(await _op(node, op="clock", **bad)) in (
                    ErrorCode.INVALID_JSON, ErrorCode.INVALID_FIELD), bad
            assert node.now().year == 2031
        finally:
            node.storage.close()
            await net.stop()
    run(body())


def test_restart_rebuilds_the_node_from_its_storage(tmp_path: Path, pki_dir: Path) -> None:
    """An update acknowledged before the restart is known after it: the restarted node
    answers it as a duplicate and numbers on (R-NODE-02, R-NODE-03)."""
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        node = net.nodes["270008"]
        tester = UpperTester(node)
        person = generate_households(1, "restart", municipalities=["271004"])[0].head
        peer = await Peer(pki_dir, "271004").connect(("127.0.0.1", node.port or 0))
        pdu = peer.sealed(update_of(person, 1), "270008")
        try:
            await peer.send(pdu)
            first = await peer.read()
            assert first is not None and first.acknowledgement is not None
            await peer.close()
            port = node.port
            answer = await handle_line(node, b'{"id": 7, "op": "restart"}',
                                       restart=tester.restart)
            assert answer["ok"] is True, answer
            assert tester.node is not node and tester.node.port == port
            status = await _op(tester.node, op="status")
            assert status["lastSequence"] == {"municipality:271004": 1} or \
                list(status["lastSequence"].values()) == [1]
            peer2 = await Peer(pki_dir, "271004").connect(("127.0.0.1", port or 0))
            await peer2.send(pdu)
            again = await peer2.read()
            await peer2.close()
            assert again is not None and again.acknowledgement is not None
            assert again.acknowledgement.status.value == "duplicate"
        finally:
            await tester.node.stop()
            net.nodes.pop("270008", None)
            await net.stop()
    run(body(), timeout=60)


def test_fail_next_commit_refuses_the_message_and_stores_nothing(tmp_path: Path,
                                                                 pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        old = net.nodes["270008"]
        await old.stop()
        net.nodes.pop("270008")
        node = Node(dataclasses.replace(old.config, fault_injection=True))
        await node.start()
        person = generate_households(1, "fault", municipalities=["271004"])[0].head
        try:
            assert (await _op(node, op="fail_next_commit"))["armed"] == 1
            before = await _op(node, op="status")
            peer = await Peer(pki_dir, "271004").connect(("127.0.0.1", node.port or 0))
            pdu = peer.sealed(update_of(person, 1), "270008")
            await peer.send(pdu)
            refused = await peer.read()
            assert refused is not None and refused.error_report is not None
            assert refused.error_report.error_code == ErrorCode.STORAGE_FAILURE
            assert await _op(node, op="status") == before
            await peer.send(pdu)               # the same message again: now it is stored
            accepted = await peer.read()
            await peer.close()
            assert accepted is not None and accepted.acknowledgement is not None
            assert accepted.acknowledgement.status.value == "accepted"
            rows = (await _op(node, op="audit_log"))["rows"]
            mid = pdu_id(pdu)
            mine = [r for r in rows if r["messageId"] == mid]
            # The refused delivery, then the accepted one; the relay is sent too.
            assert [(r["direction"], r["result"][:4]) for r in mine] == [
                ("refused", "9003"), ("received", "acce")], mine
            assert mine[-1]["messageType"] == "identityInfoUpdate"
            assert mine[-1]["subjects"] == [mask(person.resident_code)]
            assert any(r["direction"] == "sent" and r["messageType"] == "identityInfoRelay"
                       for r in rows)
            assert person.resident_code not in json.dumps(rows)
            assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
            after = (await _op(node, op="audit_log", after=rows[-1]["seq"]))["rows"]
            assert after == []
            assert _code(await _op(node, op="audit_log", after="x")) == ErrorCode.INVALID_JSON
        finally:
            await node.stop()
            await net.stop()
    run(body(), timeout=60)


def test_identity_versions_counts_one_persons_versions(tmp_path: Path,
                                                       pki_dir: Path) -> None:
    """``identity_versions`` counts the versions a prefecture holds of one person and
    says whether one is current; a malformed code is 1030, a municipality 3003."""
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008"),
                                              ("municipality", "271004")])
        node = net.nodes["270008"]
        person = generate_households(1, "versions", municipalities=["271004"])[0].head
        peer = await Peer(pki_dir, "271004").connect(("127.0.0.1", node.port or 0))
        try:
            code = person.resident_code
            assert await _op(node, op="identity_versions", residentCode=code) == \
                {"id": 1, "ok": True, "versions": 0, "current": False}
            await peer.send(peer.sealed(update_of(person, 1), "270008"))
            first = await peer.read()
            assert first is not None and first.acknowledgement is not None
            held = await _op(node, op="identity_versions", residentCode=code)
            assert (held["versions"], held["current"]) == (1, True)
            for bad in ({}, {"residentCode": "12345"}, {"residentCode": 12345678901}):
                assert _code(await _op(node, op="identity_versions", **bad)) == \
                    ErrorCode.INVALID_JSON, bad
            assert _code(await _op(net.nodes["271004"], op="identity_versions",
                                   residentCode=code)) == ErrorCode.ROLE_NOT_ALLOWED
        finally:
            await peer.close()
            await net.stop()
    run(body())
