"""Attach mode as a vendor uses it: ``juki-conformance prepare-node`` writes the PKI,
the ICS and the directory; the vendor's node (here the reference node, started by hand
as a vendor would start theirs) runs with those files; the suite attaches through the
ICS ``endpoint`` and every node case of the role passes."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cases_node import node_cases
from conformance.cases_node_municipality import municipality_cases
from conformance.cli import main
from conformance.model import Verdict

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the node exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.parametrize("role", ["prefecture", "municipality"])
def test_prepare_node_then_attach_to_a_node_started_by_hand(tmp_path: Path, role: str) -> None:
    ports = [_free_port() for _ in range(3)]
    addresses = [f"127.0.0.1:{p}" for p in ports]
    out = tmp_path / "prepared"
    res = CliRunner().invoke(main, ["prepare-node", "--role", role, "--out", str(out),
                                    "--address", addresses[0],
                                    "--upper-tester", addresses[1],
                                    "--lower-tester", addresses[2]])
    assert res.exit_code == 0, res.output
    ics = json.loads((out / "ics.json").read_text(encoding="utf-8"))
    assert ics["role"] == role and ics["endpoint"]["address"] == addresses[0]
    # The printed settings are exactly what the vendor's node is started with.
    start = res.output.split("'juki node serve'):", 1)[1].split("3. ", 1)[0]
    options = shlex.split(start.replace("\\\n", " "))
    node = subprocess.Popen([sys.executable, "-m", "juki_protocol.node.cli_node", "node",
                             "serve", "--db", str(tmp_path / "vendor.db"), *options],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=(tmp_path / "vendor.log").open("wb"))
    try:
        _wait_listening(ports[1], node)
        res = CliRunner().invoke(main, ["run", "--quiet", "--ics", str(out / "ics.json"),
                                        "--cases", "*/node/*", "--out",
                                        str(tmp_path / "report")])
    finally:
        node.terminate()
        node.wait(10)
    assert res.exit_code == 0, res.output + (tmp_path / "vendor.log").read_text()[-2000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    ran = [c for c in report["cases"] if c["verdict"] != Verdict.NOT_APPLICABLE.value]
    expected = node_cases() if role == "prefecture" else municipality_cases()
    assert sorted(c["id"] for c in ran) == sorted(c.id for c in expected)
    assert all(c["verdict"] in ("pass", "acceptable") for c in ran), ran


def test_prepare_node_refuses_a_bad_node_id_and_a_used_directory(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["prepare-node", "--role", "prefecture", "--node",
                                    "999999", "--out", str(tmp_path / "a")])
    assert res.exit_code == 2 and "check digit" in res.output
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("keep")
    res = CliRunner().invoke(main, ["prepare-node", "--role", "prefecture",
                                    "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "not empty" in res.output
    assert (tmp_path / "b" / "x").read_text() == "keep"
