"""`juki node serve` refuses malformed provider settings with the option named, before it
touches a database or a key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from juki_protocol.tools.cli_node import main


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--local-purpose", "agency=S1-X", "--local-purpose"),
    ("--local-purpose", "municipality", "--local-purpose"),
    ("--local-purpose", "village=L-X", "--local-purpose"),
    ("--operator", "AG0001", "--operator"),
])
def test_bad_provider_setting_is_a_usage_error(tmp_path: Path, option: str, value: str,
                                               says: str) -> None:
    files = {name: tmp_path / name for name in ("c.pem", "k.pem", "ca.pem")}
    for path in files.values():
        path.write_text("unused")
    res = CliRunner().invoke(main, [
        "node", "serve", "--role", "prefecture", "--node", "270008",
        "--db", str(tmp_path / "n.db"), "--cert", str(files["c.pem"]),
        "--key", str(files["k.pem"]), "--trust", str(files["ca.pem"]), option, value])
    assert res.exit_code == 2, res.output
    assert says in res.output
    assert not (tmp_path / "n.db").exists()
