"""Crash safety: a prefecture node killed with SIGKILL during a stream of updates loses
no acknowledged update and applies none twice once restarted (R-PDU-22, R-PDU-24,
R-30-5-0-06, R-30-5-0-07), and its audit log still verifies and holds every
acknowledgement it sent (R-NODE-06)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from node_helpers import node_db, residents, run, shared_pki

from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.node.network import node_config
from juki_protocol.node.node import Node
from juki_protocol.node.roles import MunicipalityRole
from juki_protocol.tools import audit_verify


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _spawn_prefecture(db: Path, pki_dir: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "juki_protocol.tools.cli_node", "node", "serve",
           "--role", "prefecture", "--node", "270008", "--db", str(db),
           "--cert", str(pki_dir / "270008.pem"), "--key", str(pki_dir / "270008.key"),
           "--trust", str(pki_dir / "ca.pem"), "--crl", str(pki_dir / "crl.pem"),
           "--listen", f"127.0.0.1:{port}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
    assert b"listening on" in line, line
    return proc


def test_kill_9_during_a_stream_of_updates(tmp_path: Path, pki_dir: Path) -> None:
    people = residents("271004", 12, seed="crash")
    total = len(people)
    db = tmp_path / "270008.db"
    port = _free_port()
    offset = [dt.timedelta(0)]
    acked_at_kill: list[int] = []

    def clock() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + offset[0]

    async def body() -> None:
        proc = await _spawn_prefecture(db, pki_dir, port)
        config = node_config(tmp_path, pki_dir, "municipality", "271004",
                             residents=tuple(people), listen=None,
                             directory={"270008": ("127.0.0.1", port)})
        muni = Node(config, clock=clock)
        await muni.start()
        role = muni.handler
        assert isinstance(role, MunicipalityRole)
        try:
            for p in people:
                change = ChangeInfo(change_reason=ChangeReason.BIRTH,
                                    change_date=p.birth_date)
                await muni.local(lambda now, p=p, c=change: role.record(p, c, now))
            # Kill the prefecture in the middle of the stream.
            await muni.wait_until(lambda: len(muni.storage.updates("acked")) >= total // 3,
                                  20)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            acked_at_kill.extend(s for s, _ in muni.storage.updates("acked"))
            assert 0 < len(acked_at_kill) < total, "the kill did not hit the stream"
            proc = await _spawn_prefecture(db, pki_dir, port)
            # The municipality resends its unacknowledged update when its retry timer
            # fires (R-PDU-23); move its clock past RETRY_AFTER instead of waiting.
            for _ in range(4):
                if not role.updater.outbox:
                    break
                offset[0] += dt.timedelta(seconds=61)
                await muni.fire_due_timers()
                try:
                    await muni.wait_until(lambda: not role.updater.outbox, 5)
                except TimeoutError:
                    continue
            assert not role.updater.outbox
            assert [s for s, _ in muni.storage.updates("acked")] == list(range(1, total + 1))
        finally:
            await muni.stop()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    run(body(), timeout=60)
    with sqlite3.connect(db) as c:
        applied = [r[0] for r in c.execute("SELECT sequence FROM applied WHERE source = "
                                           "'271004' ORDER BY sequence")]
        versions = c.execute("SELECT COUNT(*), COUNT(DISTINCT update_sequence) FROM "
                             "identity_info WHERE municipality = '271004'").fetchone()
        relays = [r[0] for r in c.execute("SELECT relay_sequence FROM relay_outbox "
                                          "ORDER BY relay_sequence")]
    assert applied == list(range(1, total + 1))        # every update, once, in order
    assert set(acked_at_kill) <= set(applied)          # nothing acknowledged was lost
    assert versions == (total, total)                  # none applied twice
    assert relays == list(range(1, total + 1))         # one relay each (R-30-11-0-01)
    result = audit_verify.verify(db)
    assert result.ok, result
    # R-NODE-06 across the crash: every acknowledgement the municipality received is
    # in the prefecture's log (its row is committed before it is sent).
    acks = {r["message_id"] for r in audit_verify.rows(node_db(tmp_path, "271004"))
            if r["direction"] == "received" and r["message_type"] == "acknowledgement"}
    sent = {r["message_id"] for r in audit_verify.rows(db) if r["direction"] == "sent"}
    assert acks and acks <= sent
