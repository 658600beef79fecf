"""Durable storage: acknowledgement only after commit (R-PDU-22), retention
(R-30-5-0-09), and the machines rebuilt from the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
from pathlib import Path
from typing import Any

import pytest
from node_helpers import Peer, residents, run, shared_pki, start, update_of

from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.node.network import Network, node_config
from juki_protocol.node.node import Node
from juki_protocol.node.roles import MunicipalityRole
from juki_protocol.node.storage import SqliteStorage, StorageError
from juki_protocol.node.stored_identity import StoredIdentities


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


T0 = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


def test_failed_commit_is_not_acknowledged_and_leaves_nothing(
        tmp_path: Path, pki_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    person = residents("271004", 1)[0]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        node = net.nodes["270008"]
        peer = await Peer(pki_dir, "271004").connect(net.directory["270008"])
        real = node.storage.mark_processed

        def broken(*args: Any, **kwargs: Any) -> None:
            raise StorageError("disk I/O error")
        try:
            monkeypatch.setattr(node.storage, "mark_processed", broken)
            pdu = peer.sealed(update_of(person, 1), "270008")
            await peer.send(pdu)
            got = await peer.read()
            assert got is not None and got.error_report is not None
            assert got.error_report.error_code == 9003          # STORAGE_FAILURE, no ack
            assert node.storage.count_identity(False) == 0
            assert node.handler.receiver.last == {}            # the machine was rebuilt
            monkeypatch.setattr(node.storage, "mark_processed", real)
            await peer.send(pdu)                                 # the sender's retry
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None
            assert got.acknowledgement.status.value == "accepted"
            assert node.storage.count_identity() == 1
        finally:
            await peer.close()
            await net.stop()

    run(body())


def test_retention_erases_superseded_versions_and_keeps_the_numbering(
        tmp_path: Path) -> None:
    person = residents("271004", 1)[0]
    store = SqliteStorage(tmp_path / "p.db", "prefecture")
    first = update_of(person, 1)
    info = dataclasses.replace(first.identity_info, name=dataclasses.replace(
        first.identity_info.name, kanji="改名　太郎"))
    second = IdentityInfoUpdate(
        municipality="271004", update_sequence=2, operation=UpdateOperation.CORRECT,
        identity_info=info, change_info=ChangeInfo(change_reason=ChangeReason.NAME_CHANGE,
                                                   change_date=T0.date()))
    with store.transaction():
        store.apply_identity("271004", 1, b"\x01" * 16, first, T0)
    with store.transaction():
        store.apply_identity("271004", 2, b"\x02" * 16, second, T0 + dt.timedelta(days=1))
    assert (store.count_identity(), store.count_identity(False)) == (1, 2)
    retention = dt.timedelta(days=30)
    assert store.purge(T0 + dt.timedelta(days=20), retention) == 0
    assert store.purge(T0 + dt.timedelta(days=32), retention) == 1
    assert (store.count_identity(), store.count_identity(False)) == (1, 1)
    assert store.last_sequences() == {"271004": 2}
    assert store.applied_update("271004", 2) == second
    assert store.applied_update("271004", 1) is None          # its version was purged
    held = StoredIdentities(store, retention)
    assert held.current[person.resident_code].identity_info.name.kanji == "改名　太郎"
    assert held.history == []
    store.close()


def test_prefecture_restart_restores_numbering_and_pending_relays(
        tmp_path: Path, pki_dir: Path) -> None:
    people = residents("271004", 2)

    async def body(first: bool) -> None:
        # No DC01 in the directory: relays stay pending across the restart.
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        peer = await Peer(pki_dir, "271004").connect(net.directory["270008"])
        try:
            node = net.nodes["270008"]
            relays = node.handler.receiver.relays
            if first:
                await peer.send(peer.sealed(update_of(people[0], 1), "270008"))
                got = await peer.read()
                assert got is not None and got.acknowledgement is not None
            else:
                assert node.handler.receiver.last == {"271004": 1}
                assert [r.relay_sequence for _, r in relays.outbox] == [1]
                assert relays.next_sequence == 2
                # Update 1 again with a new message id is still a duplicate (R-30-5-0-06).
                await peer.send(peer.sealed(update_of(people[0], 1), "270008"))
                got = await peer.read()
                assert got is not None and got.acknowledgement is not None
                assert got.acknowledgement.status.value == "duplicate"
                # Update 2 with other content would be 4004; update 1 altered is 4004.
                altered = update_of(people[1], 1)
                await peer.send(peer.sealed(altered, "270008"))
                got = await peer.read()
                assert got is not None and got.error_report is not None
                assert got.error_report.error_code == 4004
        finally:
            await peer.close()
            await net.stop()

    run(body(True))
    run(body(False))


def test_municipality_restart_resends_its_unacknowledged_update(
        tmp_path: Path, pki_dir: Path) -> None:
    person = residents("271004", 1)[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])        # nothing listens here yet
    offset = [dt.timedelta(0)]

    def clock() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + offset[0]

    def muni_node() -> Node:
        return Node(node_config(tmp_path, pki_dir, "municipality", "271004",
                                residents=(person,), listen=None,
                                directory={"270008": ("127.0.0.1", port)}), clock=clock)

    async def body() -> None:
        muni = muni_node()
        await muni.start()
        role = muni.handler
        assert isinstance(role, MunicipalityRole)
        change = ChangeInfo(change_reason=ChangeReason.BIRTH, change_date=person.birth_date)
        await muni.local(lambda now: role.record(person, change, now))
        await muni.stop()                      # the prefecture was never reached
        muni = muni_node()
        await muni.start()                     # resends at once; still nobody listening
        role = muni.handler
        assert isinstance(role, MunicipalityRole)
        assert [u.update_sequence for _, u in role.updater.outbox] == [1]
        net = Network()
        config = node_config(tmp_path, pki_dir, "prefecture", "270008",
                             listen=("127.0.0.1", port))
        await net.start([config])
        try:
            offset[0] = dt.timedelta(seconds=61)     # the restored retry timer is due
            await muni.fire_due_timers()
            await muni.wait_until(lambda: not role.updater.outbox, 10)
            assert muni.storage.updates() == [(1, "acked")]
            assert net.nodes["270008"].storage.count_identity() == 1
        finally:
            await muni.stop()
            await net.stop()

    run(body())
