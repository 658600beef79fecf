"""Attach mode as a vendor uses it: ``juki-conformance prepare-node`` writes the PKI,
the ICS, the IXIT and the directory; the vendor's node (here the reference node, started
with the printed command as a vendor would start theirs) runs with those files; the
suite attaches through the IXIT ``endpoint`` and every node case of the role passes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from juki_conformance.cli import all_node_cases, main
from juki_conformance.model import Verdict

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


def _free_ports(count: int) -> list[int]:
    """``count`` consecutive free ports (the lower tester's peers take base, base + 1)."""
    for _ in range(50):
        base = _free_port()
        try:
            socks = []
            for p in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return list(range(base, base + count))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no consecutive free ports")


@pytest.mark.parametrize("role", ["prefecture", "municipality", "national", "agency"])
def test_prepare_node_then_attach_to_a_node_started_by_hand(tmp_path: Path, role: str) -> None:
    """The Done-when of the reach issue: the printed start command, pasted as it is into
    a shell, starts a node that the suite then passes, restart and clock cases
    included (through the upper tester, as the IXIT says)."""
    ports = [_free_port(), _free_port(), *_free_ports(2)]
    addresses = [f"127.0.0.1:{p}" for p in ports]
    out = tmp_path / "prepared"
    res = CliRunner().invoke(main, ["prepare-node", "--role", role, "--out", str(out),
                                    "--address", addresses[0],
                                    "--upper-tester", addresses[1],
                                    "--lower-tester", addresses[2]])
    assert res.exit_code == 0, res.output
    ics = json.loads((out / "ics.json").read_text(encoding="utf-8"))
    ixit = json.loads((out / "ixit.json").read_text(encoding="utf-8"))
    assert ics["role"] == role and ics["ixit"] == "ixit.json"
    assert ixit["endpoint"]["address"] == addresses[0]
    assert ixit["restart"] == {"method": "upperTester"}
    # The printed command, pasted as it is.
    command = res.output.split("starts with this command:\n", 1)[1].split("\n3. ", 1)[0]
    assert command.lstrip().startswith("juki node serve")
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    node = subprocess.Popen(["bash", "-c", command], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=(tmp_path / "vendor.log").open("wb"),
                            start_new_session=True)
    try:
        _wait_listening(ports[1], node)
        res = CliRunner().invoke(main, ["run", "--quiet", "--ics", str(out / "ics.json"),
                                        "--cases", "*/node/*", "--out",
                                        str(tmp_path / "report")])
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(10)
    assert res.exit_code == 0, res.output + (tmp_path / "vendor.log").read_text()[-2000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    ran = [c for c in report["cases"] if c["verdict"] != Verdict.NOT_APPLICABLE.value]
    expected = [c for c in all_node_cases() if getattr(c, "role", None) == role]
    assert sorted(c["id"] for c in ran) == sorted(c.id for c in expected)
    assert all(c["verdict"] in ("pass", "acceptable") for c in ran), ran
    needing = [c.id for c in expected if "ixit.restart" in getattr(c, "needs", "")
               or "ixit.clock" in getattr(c, "needs", "")]
    assert role not in ("prefecture", "municipality") or needing


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
