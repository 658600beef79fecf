"""Group commit: the sealed messages (and the answers) of one read are applied in one
transaction, each in its own savepoint, and answered only after the commit (R-PDU-22).
A message refused in the middle of the batch leaves no state; the others are applied
and acknowledged in order (R-30-5-0-06, R-PDU-24)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from node_helpers import (
    Peer,
    node_database,
    node_db,
    node_storage,
    residents,
    run,
    shared_pki,
    start,
    update_of,
    verify_node,
    with_unknown_extension,
)

from juki_protocol.codec import codec
from juki_protocol.codec.wire import encode_frame
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    JukiPdu,
    MessageType,
    PduHeader,
)
from juki_protocol.node.node import node_of_code
from juki_protocol.node.storage import SqliteStorage, StorageError
from juki_protocol.tools import audit_verify


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def test_one_read_of_pipelined_frames_is_one_transaction(tmp_path: Path,
                                                         pki_dir: Path) -> None:
    people = residents("271004", 3, seed="group")
    updates = [update_of(p, i) for i, p in enumerate(people[:5], start=1)]
    ids = [secrets.token_bytes(16) for _ in range(6)]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        node = net.nodes["270008"]
        storage = node.storage
        # Record which top-level transaction each processed message was stored in.
        txn = [0]
        marked: list[int] = []
        plain_transaction, plain_mark = storage.transaction, storage.mark_processed

        @contextmanager
        def counting() -> Iterator[Any]:
            if not storage.db.in_transaction:
                txn[0] += 1
            with plain_transaction() as c:
                yield c

        def mark(*args: Any) -> None:
            marked.append(txn[0])
            plain_mark(*args)

        storage.transaction = counting  # type: ignore[method-assign]
        storage.mark_processed = mark  # type: ignore[method-assign]
        peer = await Peer(pki_dir, "271004").connect(net.directory["270008"])
        try:
            frames = [
                peer.sealed(updates[0], "270008", message_id=ids[0]),     # 1: applied
                peer.sealed(updates[1], "270008", message_id=ids[1]),     # 2: applied
                peer.sealed(updates[4], "270008", message_id=ids[2]),     # 5: a gap, 4004
                peer.sealed(updates[1], "270008", message_id=ids[1]),     # 2 again: dup
                peer.sealed(updates[2], "270008", message_id=ids[3]),     # 3: applied
                peer.sealed(updates[3], "270008", message_id=ids[4],      # 4 extended: 5010
                            der=with_unknown_extension(codec.encode(updates[3]))),
                peer.sealed(updates[3], "270008", message_id=ids[5]),     # 4: applied
            ]
            await peer.send_raw(b"".join(encode_frame(f) for f in frames))
            answers = [await peer.read() for _ in frames]
            got = []
            for a in answers:
                assert a is not None
                if a.acknowledgement is not None:
                    got.append(("ack", a.acknowledgement.acknowledged_id,
                                a.acknowledgement.status))
                else:
                    assert a.error_report is not None
                    got.append(("error", a.error_report.refers_to,
                                a.error_report.error_code))
            assert got == [
                ("ack", ids[0], AckStatus.ACCEPTED), ("ack", ids[1], AckStatus.ACCEPTED),
                ("error", ids[2], 4004), ("ack", ids[1], AckStatus.DUPLICATE),
                ("ack", ids[3], AckStatus.ACCEPTED), ("error", ids[4], 5010),
                ("ack", ids[5], AckStatus.ACCEPTED)]
            # The four applied messages were stored in one transaction (one read).
            assert len(marked) == 4 and len(set(marked)) == 1
            # In memory as on disk: 1 to 4 applied, nothing of the refused ones.
            receiver = node.handler.receiver  # type: ignore[attr-defined]
            assert receiver.last == {"271004": 4}
            assert storage.count_identity() == 4
            assert len(receiver.store.current) == 4
        finally:
            await peer.close()
            await net.stop()

    run(body())
    with node_database(tmp_path, "270008") as c:
        assert c.execute("SELECT COUNT(*) FROM processed").fetchone()[0] == 4
        assert {bytes(r[0]) for r in c.execute("SELECT message_id FROM processed")} == \
            {ids[0], ids[1], ids[3], ids[5]}
        assert c.execute("SELECT source, sequence FROM applied ORDER BY sequence"
                         ).fetchall() == [("271004", n) for n in (1, 2, 3, 4)]
        assert c.execute("SELECT last FROM last_sequence").fetchone()[0] == 4
        assert c.execute("SELECT COUNT(*) FROM relay_outbox").fetchone()[0] == 4
    # The node reloaded from disk holds the same state.
    from juki_protocol.node.roles import CentralRole
    again = CentralRole("270008", node_storage(tmp_path, "270008", "prefecture"))
    assert again.receiver.last == {"271004": 4}
    assert len(again.store.current) == 4


def fail_one_commit(storage: SqliteStorage, when: str, armed: bool) -> list[bool]:
    """Make the first outer commit of ``storage`` after which the SQL query ``when``
    returns a true value fail, once, as a full disk would; the returned flag arms it
    (``[True]``) and turns back to False once it has fired."""
    plain_transaction = storage.transaction
    fail = [armed]

    @contextmanager
    def failing() -> Iterator[Any]:
        outer = not storage.db.in_transaction
        with plain_transaction() as c:
            yield c
            if outer and fail[0] and c.execute(when).fetchone()[0]:
                fail[0] = False
                raise StorageError("disk I/O error (simulated)")

    storage.transaction = failing  # type: ignore[method-assign]
    return fail


def test_a_failed_group_commit_refuses_every_message_and_keeps_nothing(
        tmp_path: Path, pki_dir: Path) -> None:
    people = residents("271004", 2, seed="group-fail")
    updates = [update_of(p, i) for i, p in enumerate(people[:2], start=1)]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        node = net.nodes["270008"]
        storage = node.storage
        fail_one_commit(storage, "SELECT COUNT(*) FROM processed", armed=True)
        peer = await Peer(pki_dir, "271004").connect(net.directory["270008"])
        try:
            frames = [peer.sealed(u, "270008") for u in updates]
            await peer.send_raw(b"".join(encode_frame(f) for f in frames))
            answers = [await peer.read() for _ in frames]
            assert [a.error_report.error_code for a in answers  # type: ignore[union-attr]
                    ] == [9003, 9003]
            assert storage.count_identity(False) == 0
            assert node.handler.receiver.last == {}  # type: ignore[attr-defined]
            # Resent, they are applied (nothing was half-applied).
            await peer.send_raw(b"".join(encode_frame(f) for f in frames))
            answers = [await peer.read() for _ in frames]
            assert all(a is not None and a.acknowledgement is not None for a in answers)
            assert storage.count_identity() == 2
        finally:
            await peer.close()
            await net.stop()

    run(body())


def _ack_frame(peer: Peer, recipient: str, acknowledged: bytes) -> bytes:
    """A framed acknowledgement from ``peer`` of ``acknowledged``."""
    header = PduHeader(version=1, message_id=secrets.token_bytes(16),
                       message_type=MessageType.ACKNOWLEDGEMENT,
                       sender=node_of_code(peer.code), recipient=node_of_code(recipient),
                       time=dt.datetime.now(dt.UTC).replace(microsecond=0),
                       sequence_number=0, profile=Profile.CURRENT)
    pdu = JukiPdu(header=header, acknowledgement=Acknowledgement(
        acknowledged_id=acknowledged, status=AckStatus.ACCEPTED))
    return encode_frame(codec.encode(pdu, profile=None))


def test_acknowledgements_of_one_read_are_one_transaction(tmp_path: Path,
                                                          pki_dir: Path) -> None:
    """A municipality with a window of 4 gets the four acknowledgements in one read:
    they are taken in one transaction; and the audit rows of the updates it sent were
    committed with the local events that produced them (R-NODE-06), no commit each."""
    people = residents("271004", 2, seed="group-acks")[:4]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", "271004")],
                          residents=tuple(people), send_window=4)
        node = net.nodes["271004"]
        storage = node.storage
        txn = [0]
        plain_transaction = storage.transaction

        @contextmanager
        def counting() -> Iterator[Any]:
            if not storage.db.in_transaction:
                txn[0] += 1
            with plain_transaction() as c:
                yield c

        storage.transaction = counting  # type: ignore[method-assign]
        # The lower tester plays the prefecture; the node sends over its connection.
        peer = await Peer(pki_dir, "270008").connect(net.directory["271004"])
        try:
            await node.wait_until(lambda: "270008" in node.connections)
            muni = net.role("271004")
            start_count = txn[0]     # after the node's housekeeping
            for p in people:
                change = ChangeInfo(change_reason=ChangeReason.BIRTH,
                                    change_date=p.birth_date)
                await node.local(lambda now, p=p, c=change: muni.record(p, c, now))
            assert txn[0] - start_count == len(people)     # one commit per local event
            updates = [await peer.read() for _ in people]
            ids = [u.header.message_id for u in updates if u is not None]
            assert len(ids) == len(people)
            before = txn[0]
            await peer.send_raw(b"".join(_ack_frame(peer, "271004", i) for i in ids))
            await node.wait_until(lambda: not muni.updater.outbox)
            assert txn[0] - before == 1
            assert [s for s, _ in storage.updates("acked")] == [1, 2, 3, 4]
        finally:
            await peer.close()
            await net.stop()

    run(body())
    rows = audit_verify.rows(node_db(tmp_path, "271004"))
    sent = [r for r in rows if r["direction"] == "sent"]
    assert [r["message_type"] for r in sent] == ["identityInfoUpdate"] * 4
    assert all(r["result"] == "sending" for r in sent)
    acks = [r for r in rows if r["direction"] == "received"]
    assert [r["result"] for r in acks] == ["ack accepted"] * 4
    assert verify_node(tmp_path, "271004").ok


def test_after_a_failed_commit_the_reloaded_sender_goes_on(tmp_path: Path,
                                                           pki_dir: Path) -> None:
    """The commit that takes an acknowledgement fails at the municipality: its machines
    are reloaded from the database. The reloaded updater still has the update, resends
    it (the prefecture answers ``duplicate``) and then sends the updates that follow
    (R-PDU-23, R-30-5-0-05)."""
    people = residents("271004", 2, seed="reload")[:3]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008"),
                                              ("municipality", "271004")],
                          residents=tuple(people))
        node = net.nodes["271004"]
        storage = node.storage
        muni = net.role("271004")
        fail = fail_one_commit(
            storage, "SELECT COUNT(*) > 1 FROM outbox WHERE state = 'acked'", armed=False)

        async def record(p: Any) -> None:
            change = ChangeInfo(change_reason=ChangeReason.BIRTH, change_date=p.birth_date)
            await node.local(lambda now, p=p, c=change: muni.record(p, c, now))

        try:
            await record(people[0])
            await node.wait_until(lambda: len(storage.updates("acked")) == 1)
            fail[0] = True          # The commit that takes the 2nd acknowledgement fails.
            await record(people[1])
            await node.wait_until(lambda: not fail[0])
            await record(people[2])
            await node.wait_until(lambda: len(storage.updates("acked")) == 3, timeout=15)
            assert net.role("270008").receiver.last == {"271004": 3}
        finally:
            await net.stop()

    run(body())
