"""Resident code designation (Art. 30-7(1)(2), spec/designation.md) between real nodes
over mutual TLS: a municipality asks its prefecture, the prefecture designates, the
municipality records births and code changes only with designated codes, and the
prefecture refuses an update whose new code it did not designate (5023). Everything
is in the databases: a restart, a retention purge or a failed commit loses nothing.
Run again on PostgreSQL by tests/storage/test_node_suite_on_postgresql.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from node_helpers import Peer, run, shared_pki, start, update_of

from juki_protocol.codec import codec
from juki_protocol.envelope import pki
from juki_protocol.envelope.envelope import open_envelope
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.designation import CodeDesignation, in_allotment
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    JukiPdu,
    MessageType,
    PduHeader,
)
from juki_protocol.node.node import Node, node_of_code
from juki_protocol.node.upper_tester import handle_line

MUNI, PREF = "272035", "270008"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}).encode())


def _error(answer: dict[str, Any]) -> int:
    assert answer.get("ok") is False, answer
    return int(answer["error"]["code"])


async def _designated(muni: Node, at_least: int) -> dict[str, Any]:
    await muni.wait_until(lambda: muni.handler.codes.pool.free() >= at_least, 10)
    return await _op(muni, op="code_pool")


def test_a_requested_designation_feeds_births_and_code_changes(tmp_path: Path,
                                                              pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("national", "DC01"), ("prefecture", PREF),
                                              ("municipality", MUNI)])
        try:
            muni, pref = net.nodes[MUNI], net.nodes[PREF]
            asked = await _op(muni, op="request_codes", count=5)
            assert asked["ok"], asked
            pool = await _designated(muni, 5)
            assert (pool["designated"], pool["free"]) == (5, 5)
            assert pool["requests"] == [{"messageId": asked["messageId"], "count": 5,
                                         "state": "done"}]
            codes = pool["freeCodes"]
            assert all(in_allotment(c, PREF) for c in codes)
            await pref.wait_until(lambda: not pref.handler.designations.ledger.pending())
            summary = await _op(pref, op="designations", municipality=MUNI)
            assert (summary["designated"], summary["pending"]) == (5, 0)
            # A birth without a code takes the first designated one; the prefecture
            # accepts its update (the code is designated to 272035).
            born = await _op(muni, op="record_resident", seed="designation:1",
                             reason="birth")
            assert born["ok"] and born["residentCode"] == codes[0], born
            changed = await _op(muni, op="change_resident_code",
                                residentCode=codes[0])
            assert changed["ok"] and changed["residentCode"] == codes[1], changed
            await net.quiet()
            assert muni.handler.updater.outbox == []
            assert pref.storage.current_held(codes[1]) is not None
            assert pref.storage.is_retired(codes[0])
            # A code that is not designated (5023), retired (5021) or held (1024):
            # refused at the municipality, nothing sent.
            before = muni.handler.updater.next_sequence
            for code, why in ((codes[0], ErrorCode.RESIDENT_CODE_RETIRED),
                              (codes[1], ErrorCode.INVALID_FIELD),    # held by a record
                              ("12345678903", ErrorCode.RESIDENT_CODE_NOT_DESIGNATED)):
                refused = await _op(muni, op="record_resident", seed="designation:2",
                                    reason="birth", residentCode=code)
                assert _error(refused) == why
            assert muni.handler.updater.next_sequence == before
            # A move-in keeps the code the person had: no designation is asked of it.
            moved = await _op(muni, op="record_resident", seed="designation:3")
            assert moved["ok"], moved
            left = await _op(muni, op="code_pool")
            assert left["free"] == 3 and left["freeCodes"] == codes[2:]
            # The prefecture's own designation, and its refusal beyond its allotment.
            own = await _op(pref, op="designate_codes", municipality=MUNI, count=2)
            assert own["ok"] and not set(own["codes"]) & set(codes), own
            assert _error(await _op(pref, op="designate_codes", municipality="131016",
                                    count=2)) == ErrorCode.INVALID_FIELD
            await _op(pref, op="code_allotment", remaining=1)
            assert _error(await _op(pref, op="designate_codes", municipality=MUNI,
                                    count=2)) == ErrorCode.CODE_POOL_EXHAUSTED
            await _op(pref, op="code_allotment", remaining=None)
            await _designated(muni, 5)
        finally:
            await net.stop()
    run(go())


def _with_code(update: IdentityInfoUpdate, sequence: int, code: str,
               reason: ChangeReason = ChangeReason.BIRTH) -> IdentityInfoUpdate:
    """``update`` numbered ``sequence``, for the person under ``code``, for ``reason``."""
    return IdentityInfoUpdate(
        municipality=update.municipality, update_sequence=sequence,
        operation=UpdateOperation.RECORD,
        identity_info=dataclasses.replace(update.identity_info, resident_code=code),
        change_info=ChangeInfo(change_reason=reason,
                               change_date=update.change_info.change_date))


class _Municipality:
    """The lower tester: municipality 272035 over a raw TLS connection."""

    def __init__(self, pki_dir: Path, peer: Peer) -> None:
        self.pki_dir = pki_dir
        self.peer = peer

    async def answer_to(self, mid: bytes) -> JukiPdu:
        while True:
            pdu = await self.peer.read()
            assert pdu is not None
            ref = (pdu.acknowledgement.acknowledged_id if pdu.acknowledgement
                   else pdu.error_report.refers_to if pdu.error_report else None)
            if ref == mid:
                return pdu

    async def send(self, update: IdentityInfoUpdate) -> JukiPdu:
        mid = secrets.token_bytes(16)
        await self.peer.send(self.peer.sealed(update, PREF, message_id=mid))
        return await self.answer_to(mid)

    async def designation(self) -> CodeDesignation:
        """The next designation the prefecture sends, opened and acknowledged."""
        while True:
            pdu = await self.peer.read()
            assert pdu is not None
            if pdu.sealed is None:
                continue
            credential = pki.Credential(
                pki.load_private_key((self.pki_dir / f"{MUNI}.key").read_bytes()),
                pki.load_certificate((self.pki_dir / f"{MUNI}.pem").read_bytes()))
            trust = pki.TrustStore.from_pem((self.pki_dir / "ca.pem").read_bytes())
            opened = open_envelope(pdu.sealed, [credential], trust,
                                   dt.datetime.now(dt.UTC), header=pdu.header)
            message = codec.decode(opened.message_der, "CodeDesignation")
            assert isinstance(message, CodeDesignation)
            ack = JukiPdu(header=PduHeader(
                version=1, message_id=secrets.token_bytes(16),
                message_type=MessageType.ACKNOWLEDGEMENT, sender=node_of_code(MUNI),
                recipient=node_of_code(PREF),
                time=dt.datetime.now(dt.UTC).replace(microsecond=0), sequence_number=0,
                profile=Profile.CURRENT), acknowledgement=Acknowledgement(
                acknowledged_id=pdu.header.message_id, status=AckStatus.ACCEPTED))
            await self.peer.send(codec.encode(ack, profile=None))
            return message


def test_the_prefecture_refuses_an_undesignated_new_code(tmp_path: Path,
                                                         pki_dir: Path) -> None:
    """R-30-7-1-05: once 272035 has designated codes, a birth it reports with any other
    code is 5023 and nothing is stored, as is one with a designated code recorded
    already; a move-in of a code from before is not checked."""
    people = [m for h in generate_households(3, "designation:pref", municipalities=[MUNI])
              for m in h.members]

    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREF)])
        try:
            pref = net.nodes[PREF]
            assert pref.port is not None
            peer = await Peer(pki_dir, MUNI).connect(("127.0.0.1", pref.port))
            lower = _Municipality(pki_dir, peer)
            # Before any designation the codes of the register pass.
            assert (await lower.send(update_of(people[0], 1))).acknowledgement
            got = await _op(pref, op="designate_codes", municipality=MUNI, count=3)
            codes = got["codes"]
            assert list((await lower.designation()).codes) == codes
            await pref.wait_until(lambda: not pref.handler.designations.ledger.pending())
            held = pref.storage.count_identity()
            refused = await lower.send(update_of(people[1], 2))
            assert refused.error_report is not None
            assert refused.error_report.error_code == ErrorCode.RESIDENT_CODE_NOT_DESIGNATED
            assert pref.storage.count_identity() == held
            birth = _with_code(update_of(people[1], 2), 2, codes[0])
            assert (await lower.send(birth)).acknowledgement
            twice = _with_code(update_of(people[2], 3), 3, codes[0])
            again = await lower.send(twice)                 # recorded already
            assert again.error_report is not None
            assert again.error_report.error_code == ErrorCode.RESIDENT_CODE_NOT_DESIGNATED
            moved = _with_code(update_of(people[2], 3), 3, people[2].resident_code,
                               ChangeReason.MOVE_IN)
            assert (await lower.send(moved)).acknowledgement
            await peer.close()
        finally:
            await net.stop()
    run(go())


def test_designations_survive_a_rebuild_and_a_restart_and_are_resent(
        tmp_path: Path, pki_dir: Path) -> None:
    """A designation the municipality could not be sent is kept across a rebuild of the
    machines (as after a retention purge or a failed commit) and a restart, then sent
    with the same message id and codes once the municipality is up; nothing the
    prefecture designated before is designated again after the restart."""
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREF)])
        try:
            pref = net.nodes[PREF]
            got = await _op(pref, op="designate_codes", municipality=MUNI, count=4)
            assert got["ok"], got
            pref.handler.reload()            # as after a purge or a failed commit
            summary = await _op(pref, op="designations", municipality=MUNI)
            assert (summary["designated"], summary["pending"]) == (4, 1)
        finally:
            await net.stop()
        # The municipality first, so that the prefecture finds it when it resends.
        net = await start(tmp_path, pki_dir, [("municipality", MUNI), ("prefecture", PREF)])
        try:
            muni, pref = net.nodes[MUNI], net.nodes[PREF]
            pool = await _designated(muni, 4)
            assert pool["freeCodes"] == got["codes"]
            await pref.wait_until(lambda: not pref.handler.designations.ledger.pending())
            sent = [e for e in muni.events if e[1].name == "codes_designated"]
            assert len(sent) == 1
            fresh = await _op(pref, op="designate_codes", municipality=MUNI, count=4)
            assert not set(fresh["codes"]) & set(got["codes"])
            await _designated(muni, 8)
        finally:
            await net.stop()
    run(go())
