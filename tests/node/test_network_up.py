"""``juki network up`` runs every flow of the seeds over TLS on loopback and exits 0."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from node_helpers import node_database

from juki_protocol.node.network import NODES
from juki_protocol.tools import audit_verify
from juki_protocol.tools.cli_node import network_group


def test_network_up_runs_every_flow(tmp_path: Path) -> None:
    result = CliRunner().invoke(network_group, ["up", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    for step in ("[1/4]", "[2/4]", "[3/4]", "[4/4]", "summary:"):
        assert step in out
    assert "issued:" in out                           # Art. 12-2
    assert "new municipality done, former municipality finalised" in out   # Arts. 24-2, 9
    assert "270008: done (" in out and "DC01: done (" in out                # Art. 30-7, 30-10
    assert "5 codes designated to 272035" in out and "accepted by 270008" in out  # 30-7(1)
    # Art. 9(1): the ordinary move finalised and erased at the former's prefecture.
    assert "3 person(s) moved, erased at 130001" in out
    # Arts. 24-2 and 30-45: foreign residents keep their items, with no family register.
    assert "foreign resident(s) recorded at 131016 with the items of Art. 30-45" in out
    for _, code in NODES:
        db = tmp_path / f"{code}.db"
        assert db.is_file()
        assert audit_verify.verify(db).ok
    # The special move caused an erase at Osaka's prefecture and a record at Tokyo's,
    # both relayed to the designated centre.
    with node_database(tmp_path, "DC01") as c:
        ops = {r[0] for r in c.execute("SELECT operation FROM identity_info")}
        assert {"record", "erase"} <= ops
    with node_database(tmp_path, "270008") as c:
        assert c.execute("SELECT COUNT(*) FROM provision_log WHERE outcome = 'provided'"
                         ).fetchone()[0] == 1
    with node_database(tmp_path, "AG0001") as c:
        assert c.execute("SELECT COUNT(*) FROM provisions").fetchone()[0] == 2


def test_network_up_refuses_a_directory_with_databases(tmp_path: Path) -> None:
    (tmp_path / "270008.db").write_bytes(b"")
    result = CliRunner().invoke(network_group, ["up", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "already holds node databases" in result.output
