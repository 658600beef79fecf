"""``juki network up --database URL`` and ``juki node serve --database URL``: every node's
tables in a real PostgreSQL server (tests/pg.py), one schema per node."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/pg.py
import pg

from juki_protocol.node import audit
from juki_protocol.node.network import NODES
from juki_protocol.node.sql import open_database, with_schema
from juki_protocol.tools import audit_verify
from juki_protocol.tools.cli_node import audit_group, network_group


def test_network_up_keeps_every_node_in_postgresql(tmp_path: Path) -> None:
    url = pg.database()
    result = CliRunner().invoke(network_group, ["up", "--dir", str(tmp_path / "net"),
                                                "--database", url])
    assert result.exit_code == 0, result.output
    assert "summary:" in result.output
    assert not list((tmp_path / "net").glob("*.db")), "a SQLite file was written"
    for _, code in NODES:
        target = with_schema(url, f"n{code.lower()}")
        checkpoints = audit.checkpoint_path(tmp_path / "net" / f"{code}.db")
        assert audit_verify.verify(target, checkpoints).ok, code
    db = open_database(with_schema(url, "ndc01"))
    try:
        ops = {r[0] for r in db.execute("SELECT operation FROM identity_info")}
    finally:
        db.close()
    assert {"record", "erase"} <= ops              # the special move, relayed
    # The CLI checks a PostgreSQL node's log by URL, against its checkpoint file.
    shown = CliRunner().invoke(audit_group, [
        "verify", with_schema(url, "n270008"), "--checkpoints",
        str(audit.checkpoint_path(tmp_path / "net" / "270008.db"))])
    assert shown.exit_code == 0, shown.output
    assert "intact" in shown.output and "signed checkpoints match" in shown.output
    # The flows start from fresh registers: the same database again is refused.
    again = CliRunner().invoke(network_group, ["up", "--dir", str(tmp_path / "again"),
                                               "--database", url])
    assert again.exit_code == 1 and "give a new database" in again.output, again.output
