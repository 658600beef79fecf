"""The upper tester is a test interface that a network certificate must never reach in
production: it listens on loopback only unless the operator explicitly allows another
address for an isolated test network (spec/node.md R-NODE-21, issue 16 item 8). Real
nodes, real sockets."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from node_helpers import run, shared_pki, start

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.node.upper_tester import UpperTester

ROOT = Path(__file__).resolve().parents[2]
PREF = "270008"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _serve(tmp: Path, pki_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "juki_protocol.tools.cli_node", "node", "serve",
            "--role", "prefecture", "--node", PREF, "--db", str(tmp / "n.db"),
            "--cert", str(pki_dir / f"{PREF}.pem"), "--key", str(pki_dir / f"{PREF}.key"),
            "--trust", str(pki_dir / "ca.pem"), "--crl", str(pki_dir / "crl.pem"),
            "--listen", "127.0.0.1:0", *extra]


def _host_address() -> str | None:
    """An address of this host that is not loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))          # TEST-NET-1: nothing is sent
            address = str(s.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@pytest.mark.parametrize("host", ["0.0.0.0", "", "host"])
def test_upper_tester_refuses_an_address_other_than_loopback(tmp_path: Path,
                                                             pki_dir: Path,
                                                             host: str) -> None:
    if host == "host":
        found = _host_address()
        if found is None:
            pytest.skip("this host has no address other than loopback")
        host = found

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREF)])
        tester = UpperTester(net.nodes[PREF], host, 0)
        try:
            with pytest.raises(JukiError) as info:
                await tester.start()
            assert info.value.error_code is ErrorCode.NOT_OFFERED
            assert "--upper-tester-remote" in str(info.value)
            assert tester.port == 0            # nothing was bound
        finally:
            await tester.stop()
            await net.stop()

    run(body())


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_upper_tester_listens_on_loopback(tmp_path: Path, pki_dir: Path,
                                          host: str) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREF)])
        tester = UpperTester(net.nodes[PREF], host, 0)
        try:
            assert await tester.start() > 0
        finally:
            await tester.stop()
            await net.stop()

    run(body())


def test_explicit_flag_allows_another_address_and_is_logged(
        tmp_path: Path, pki_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREF)])
        tester = UpperTester(net.nodes[PREF], "0.0.0.0", 0)
        try:
            assert await tester.start(allow_remote=True) > 0
        finally:
            await tester.stop()
            await net.stop()

    run(body())
    assert any(r.levelno == logging.WARNING and "not on loopback" in r.getMessage()
               for r in caplog.records)


def test_serve_refuses_a_remote_upper_tester_without_the_flag(tmp_path: Path,
                                                               pki_dir: Path) -> None:
    cmd = _serve(tmp_path, pki_dir, "--upper-tester", "0.0.0.0:0", "--no-operators")
    try:
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the node served its upper tester on every interface")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "--upper-tester-remote" in res.stderr
    assert "listening on" not in res.stdout
    assert not (tmp_path / "n.db").exists()


def test_serve_with_the_flag_serves_and_warns(tmp_path: Path, pki_dir: Path) -> None:
    cmd = _serve(tmp_path, pki_dir, "--upper-tester", "0.0.0.0:0", "--upper-tester-remote",
                 "--no-operators")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        assert "listening on" in proc.stdout.readline()
        assert "upper tester listening on 0.0.0.0:" in proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "WARNING" in err and "not on loopback" in err


@pytest.mark.parametrize("operators", [(), ("--no-operators", "--operators-file", "x")])
def test_an_upper_tester_needs_operators_or_the_explicit_opt_out(
        tmp_path: Path, pki_dir: Path, operators: tuple[str, ...]) -> None:
    """R-NODE-80: local actions only within operator sessions; running without them is
    an explicit, logged choice, never the default."""
    if operators:
        (tmp_path / "x").write_text("{}")
        operators = (*operators[:2], str(tmp_path / "x"))
    cmd = _serve(tmp_path, pki_dir, "--upper-tester", "127.0.0.1:0", *operators)
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "--operators-file" in res.stderr and "--no-operators" in res.stderr
    assert "listening on" not in res.stdout


def test_no_operators_is_logged(tmp_path: Path, pki_dir: Path) -> None:
    cmd = _serve(tmp_path, pki_dir, "--upper-tester", "127.0.0.1:0", "--no-operators")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        assert "listening on" in proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "WARNING" in err and "not authenticated" in err
