"""The audit chain is anchored outside the database (R-NODE-22 to R-NODE-26).

A real prefecture node behind TLS writes audit rows for the updates a peer sends; at
shutdown it writes a signed checkpoint to ``<db>.audit-checkpoints``. ``juki audit
verify`` must then report as tampered a log whose tail was deleted and head moved, a log
emptied, a rewritten checkpoint line, and rows purged at the front beyond what a
checkpoint records; the intact log and a purge the node made itself verify."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from node_helpers import (
    Peer,
    node_database,
    node_db,
    residents,
    run,
    shared_pki,
    start,
    update_of,
    verify_node,
)

from juki_protocol.node import audit
from juki_protocol.tools import audit_verify
from juki_protocol.tools.cli_node import audit_group

PREFECTURE = "270008"
UPDATES = 6


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _node_with_rows(tmp: Path, pki_dir: Path,
                    policy: audit.AuditPolicy | None = None) -> Path:
    """Run a prefecture, have municipality 271004 send UPDATES updates, stop it; the
    directory of its files (its database: node_db)."""
    async def body() -> None:
        net = await start(tmp, pki_dir, [("prefecture", PREFECTURE)],
                          audit=policy or audit.AuditPolicy())
        try:
            peer = await Peer(pki_dir, "271004").connect(net.directory[PREFECTURE])
            people = residents("271004", 8)
            for seq in range(1, UPDATES + 1):
                await peer.send(peer.sealed(update_of(people[seq - 1], seq), PREFECTURE))
                got = await peer.read()
                assert got is not None and got.acknowledgement is not None, got
            await peer.close()
            if policy is not None and policy.retention is not None:
                node = net.nodes[PREFECTURE]
                await node.wait_until(lambda: audit_verify.verify_connection(
                    node.storage.conn).base > 0)
        finally:
            await net.stop()
    run(body())
    return tmp


def _verify(tmp: Path, *args: str) -> tuple[int, str]:
    """``juki audit verify`` of the prefecture's log (its file, or its schema's URL)."""
    cp = audit.checkpoint_path(tmp / f"{PREFECTURE}.db")
    result = CliRunner().invoke(audit_group, ["verify", str(node_db(tmp, PREFECTURE)),
                                              "--checkpoints", str(cp), *args])
    return result.exit_code, result.output


def _head(tmp: Path) -> tuple[int, str]:
    with node_database(tmp, PREFECTURE) as c:
        seq, digest = c.execute("SELECT seq, hash FROM audit_head").fetchone()
    return int(seq), str(digest)


def _chain_ok(tmp: Path) -> bool:
    with node_database(tmp, PREFECTURE) as c:
        return audit_verify.verify_connection(c).ok


def test_intact_log_verifies_against_its_checkpoints(tmp_path: Path,
                                                     pki_dir: Path) -> None:
    db = _node_with_rows(tmp_path, pki_dir)
    cp = audit.checkpoint_path(db / f"{PREFECTURE}.db")
    assert cp.is_file(), "R-NODE-23: no checkpoint written at shutdown"
    assert stat.S_IMODE(cp.stat().st_mode) == 0o600, "R-NODE-24: not private"
    last = json.loads(cp.read_text().splitlines()[-1])
    assert (last["seq"], last["head"]) == _head(db), "the last checkpoint is not the head"
    assert last["node"] == f"prefecture:{PREFECTURE}"
    code, out = _verify(db, "--cert", str(pki_dir / f"{PREFECTURE}.pem"))
    assert code == 0, out
    assert "signed checkpoints match" in out


def test_cut_tail_with_moved_head_is_tampered(tmp_path: Path, pki_dir: Path) -> None:
    db = _node_with_rows(tmp_path, pki_dir)
    last, _ = _head(db)
    keep = last - 3
    with node_database(db, PREFECTURE) as c:
        digest = c.execute("SELECT hash FROM audit WHERE seq = ?", (keep,)).fetchone()[0]
        c.execute("DELETE FROM audit WHERE seq > ?", (keep,))
        c.execute("UPDATE audit_head SET seq = ?, hash = ?", (keep, digest))
    assert _chain_ok(db), \
        "the chain alone cannot see this cut (the point of the checkpoints)"
    code, out = _verify(db)
    assert code == 1, out
    assert "TAMPERED" in out and f"covers row {last}" in out


def test_emptied_log_is_tampered(tmp_path: Path, pki_dir: Path) -> None:
    db = _node_with_rows(tmp_path, pki_dir)
    with node_database(db, PREFECTURE) as c:
        c.execute("DELETE FROM audit")
        c.execute("DELETE FROM audit_head")
    code, out = _verify(db)
    assert code == 1, out
    assert "TAMPERED" in out and "ends at row 0" in out


def test_rewritten_log_with_same_length_is_tampered(tmp_path: Path,
                                                    pki_dir: Path) -> None:
    """A log rebuilt with recomputed hashes and as many rows does not match the hash
    the checkpoint signed."""
    db = _node_with_rows(tmp_path, pki_dir)
    with node_database(db, PREFECTURE) as c:
        rows = c.execute("SELECT * FROM audit ORDER BY seq").fetchall()
        c.execute("DELETE FROM audit")
        c.execute("DELETE FROM audit_head")
    with node_database(db, PREFECTURE) as c:
        for r in rows:
            audit.append(c, at=dt.datetime.now(dt.UTC), direction="received",
                         peer=str(r[4]), message_type=str(r[5]), message_id=None,
                         result="accepted")
    code, out = _verify(db)
    assert code == 1, out
    assert "does not match the checkpoint" in out


def test_forged_checkpoint_line_is_tampered(tmp_path: Path, pki_dir: Path) -> None:
    db = _node_with_rows(tmp_path, pki_dir)
    cp = audit.checkpoint_path(db / f"{PREFECTURE}.db")
    lines = cp.read_text().splitlines()
    forged = json.loads(lines[-1])
    forged["seq"] = 1
    cp.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    code, out = _verify(db)
    assert code == 1, out
    assert "not a checkpoint signed by its node" in out


def test_purge_after_retention_verifies_and_front_cut_does_not(tmp_path: Path,
                                                               pki_dir: Path) -> None:
    """A retention that every row has passed (negative, so that the rows of this very
    second count): every row but the last is purged once a checkpoint records it; the
    log still verifies. Deleting further rows at the front is tampering."""
    db = _node_with_rows(tmp_path, pki_dir, audit.AuditPolicy(
        retention=dt.timedelta(minutes=-1), poll_seconds=0.05))
    result = verify_node(db, PREFECTURE)
    assert result.ok, result.reason
    assert result.base > 0 and result.checkpoints, "nothing was purged"
    with node_database(db, PREFECTURE) as c:
        first = c.execute("SELECT min(seq) FROM audit").fetchone()[0]
        assert first == result.base + 1
        digest = c.execute("SELECT hash FROM audit WHERE seq = ?", (first,)).fetchone()[0]
        c.execute("DELETE FROM audit WHERE seq = ?", (first,))
        c.execute("UPDATE audit_base SET seq = ?, hash = ?", (first, digest))
    code, out = _verify(db)
    assert code == 1, out
    assert "deleted at the front" in out
