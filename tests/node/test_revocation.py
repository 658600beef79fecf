"""Revocation data in service (spec/pdu.md R-PDU-40 to R-PDU-44, issue 16 item 4): a
node needs a CRL or an explicit, logged opt-out; it reloads the CRL file while it runs;
it warns before the list lapses; and every refusal of a peer's certificate is logged
with its reason. Real nodes, real TLS, real files."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from node_helpers import REVOKED_SERIAL, Peer, residents, run, shared_pki, start, update_of

from juki_protocol.envelope import pki
from juki_protocol.envelope.ca import (
    CertificateAuthority,
    RevokedCertificate,
    build_crl,
    create_root_ca,
    issue_node_certificate,
)
from juki_protocol.errors import SecurityError
from juki_protocol.node import refusal_log
from juki_protocol.node.clock import TestClock
from juki_protocol.node.network import Network, node_config
from juki_protocol.node.node import Node, NodeConfig, node_of_code
from juki_protocol.node.transport import TrustSource

ROOT = Path(__file__).resolve().parents[2]
PREF = "270008"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _ca(pki_dir: Path) -> CertificateAuthority:
    return CertificateAuthority(pki.load_private_key((pki_dir / "ca.key").read_bytes()),
                                pki.load_certificate((pki_dir / "ca.pem").read_bytes()))


def _write_crl(path: Path, pki_dir: Path, serials: list[int], *, number: int,
               this_update: dt.datetime, next_update: dt.datetime) -> None:
    """Write a CRL of the network CA revoking ``serials`` (atomically, as an operator's
    tool would: a new file renamed over the old one)."""
    crl = build_crl(_ca(pki_dir), [RevokedCertificate(s, this_update)
                                   for s in serials],
                    this_update=this_update, next_update=next_update, number=number)
    tmp = path.with_suffix(".new")
    tmp.write_bytes(pki.crl_pem(crl))
    tmp.replace(path)


def _config(tmp: Path, pki_dir: Path, role: str, code: str, crl: Path,
            **extra: object) -> NodeConfig:
    """A node's configuration with its own CRL file."""
    config = node_config(tmp, pki_dir, role, code, **extra)
    config.crl = crl
    return config


async def _start(tmp: Path, pki_dir: Path, crl: Path, **extra: object) -> Network:
    """The prefecture, on its own CRL file."""
    net = Network()
    await net.start([_config(tmp, pki_dir, "prefecture", PREF, crl, **extra)])
    return net


def _serial(pem: Path) -> int:
    return pki.load_certificate(pem.read_bytes()).serial_number


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "TLS refusal" in r.getMessage()]


async def _answered(pki_dir: Path, net: Network, code: str = "272035", *,
                    cert: Path | None = None, key: Path | None = None,
                    sequence: int = 1) -> bool:
    """Whether a peer ``code`` gets an answer to an update it sends the prefecture
    (False: refused during or right after the handshake)."""
    peer = Peer(pki_dir, code, cert=cert, key=key)
    person = residents(code, 1, seed=f"revocation-{sequence}")[0]
    try:
        await peer.connect(net.directory[PREF])
        await peer.send(peer.sealed(update_of(person, sequence), PREF))
        return await peer.read(5) is not None
    except (ssl.SSLError, ConnectionError, OSError):
        return False
    finally:
        await peer.close()


# R-PDU-40: revocation data, or an explicit opt-out -------------------------------------

def test_serve_without_crl_or_opt_out_refuses_to_start(tmp_path: Path,
                                                       pki_dir: Path) -> None:
    cmd = [sys.executable, "-m", "juki_protocol.tools.cli_node", "node", "serve",
           "--role", "prefecture", "--node", PREF, "--db", str(tmp_path / "n.db"),
           "--cert", str(pki_dir / f"{PREF}.pem"), "--key", str(pki_dir / f"{PREF}.key"),
           "--trust", str(pki_dir / "ca.pem"), "--listen", "127.0.0.1:0"]
    try:
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the node started without revocation data and kept serving")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "--crl" in res.stderr and "--no-crl" in res.stderr
    assert "listening on" not in res.stdout
    assert not (tmp_path / "n.db").exists()


def test_node_without_crl_or_opt_out_is_not_built(tmp_path: Path, pki_dir: Path) -> None:
    config = node_config(tmp_path, pki_dir, "prefecture", PREF)
    config.crl = None
    with pytest.raises(SecurityError, match="--no-crl"):
        Node(config)


def test_opt_out_is_logged_at_start_and_again(tmp_path: Path, pki_dir: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    source = TrustSource(pki_dir / f"{PREF}.pem", pki_dir / f"{PREF}.key",
                         pki_dir / "ca.pem", None, no_crl=True, local="t")
    source.WARN_EVERY = 0          # the hourly repeat, without waiting an hour
    source.warn(dt.datetime.now(dt.UTC))
    lines = [r.getMessage() for r in caplog.records if "WITHOUT revocation" in
             r.getMessage()]
    assert len(lines) == 2
    assert not source.store.crls and not source.store.require_crl


def test_serve_with_opt_out_warns_on_stderr(tmp_path: Path, pki_dir: Path) -> None:
    cmd = [sys.executable, "-m", "juki_protocol.tools.cli_node", "node", "serve",
           "--role", "prefecture", "--node", PREF, "--db", str(tmp_path / "n.db"),
           "--cert", str(pki_dir / f"{PREF}.pem"), "--key", str(pki_dir / f"{PREF}.key"),
           "--trust", str(pki_dir / "ca.pem"), "--listen", "127.0.0.1:0", "--no-crl"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        assert "listening on" in proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "WARNING" in err and "WITHOUT revocation data" in err


# R-PDU-41: the CRL is reloaded while the node runs --------------------------------------

def test_revocation_written_while_running_refuses_the_next_handshake(
        tmp_path: Path, pki_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    crl = tmp_path / "crl.pem"
    shutil.copy(pki_dir / "crl.pem", crl)
    now = dt.datetime.now(dt.UTC)
    victim = _serial(pki_dir / "272035.pem")

    async def body() -> None:
        net = await _start(tmp_path, pki_dir, crl, crl_reload_interval=0.05)
        node = net.nodes[PREF]
        try:
            assert await _answered(pki_dir, net, sequence=1)
            before = node.trust
            _write_crl(crl, pki_dir, [REVOKED_SERIAL, victim], number=3,
                       this_update=now - dt.timedelta(minutes=1),
                       next_update=now + dt.timedelta(days=2))
            await node.wait_until(lambda: node.trust is not before)
            assert not await _answered(pki_dir, net, sequence=2)
            assert await _answered(pki_dir, net, "271004", sequence=1)  # others still in
            assert node.storage.count_identity(False) == 2
        finally:
            await net.stop()

    run(body())
    assert any('reason "revoked"' in line for line in _refusals(caplog))


@pytest.mark.parametrize("bad", ["garbage", "older", "foreign"])
def test_a_bad_new_crl_keeps_the_one_in_use(tmp_path: Path, pki_dir: Path, bad: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    crl = tmp_path / "crl.pem"
    shutil.copy(pki_dir / "crl.pem", crl)        # number 2, revokes REVOKED_SERIAL
    now = dt.datetime.now(dt.UTC)

    async def body() -> None:
        net = await _start(tmp_path, pki_dir, crl, crl_reload_interval=0.05)
        node = net.nodes[PREF]
        try:
            in_use = node.tls.crl
            if bad == "garbage":
                crl.write_text("not a revocation list\n")
            elif bad == "older":       # number 1, older, and it revokes nothing
                _write_crl(crl, pki_dir, [], number=1,
                           this_update=now - dt.timedelta(hours=3),
                           next_update=now + dt.timedelta(days=2))
            else:                      # signed by the rogue CA
                _write_crl(crl, pki_dir / "rogue", [], number=9,
                           this_update=now, next_update=now + dt.timedelta(days=2))
            await node.wait_until(lambda: any(
                r.levelno == logging.ERROR and "was not loaded" in r.getMessage()
                for r in caplog.records))
            assert node.tls.crl is in_use
            assert not await _answered(pki_dir, net, cert=pki_dir / "272035-revoked.pem",
                                       key=pki_dir / "272035-revoked.key")
        finally:
            await net.stop()

    run(body())


# R-PDU-42, R-PDU-43: a list that lapses soon or has lapsed is logged --------------------

def test_a_crl_that_lapses_soon_is_warned_of(tmp_path: Path, pki_dir: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    crl = tmp_path / "crl.pem"
    now = dt.datetime.now(dt.UTC)
    _write_crl(crl, pki_dir, [], number=5, this_update=now - dt.timedelta(days=1),
               next_update=now + dt.timedelta(minutes=30))

    async def body() -> None:
        net = await _start(tmp_path, pki_dir, crl)
        try:
            await net.nodes[PREF].wait_until(lambda: any(
                "lapses at" in r.getMessage() for r in caplog.records))
        finally:
            await net.stop()

    run(body())
    [record] = [r for r in caplog.records if "lapses at" in r.getMessage()]
    assert record.levelno == logging.WARNING


def test_a_lapsed_crl_is_logged_and_so_is_each_refusal(
        tmp_path: Path, pki_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    crl = tmp_path / "crl.pem"
    now = dt.datetime.now(dt.UTC)
    _write_crl(crl, pki_dir, [], number=5, this_update=now - dt.timedelta(days=1),
               next_update=now - dt.timedelta(minutes=1))

    async def body() -> None:
        net = await _start(tmp_path, pki_dir, crl)
        try:
            assert not await _answered(pki_dir, net)
            await net.nodes[PREF].wait_until(lambda: any(
                "lapsed at" in r.getMessage() for r in caplog.records))
        finally:
            await net.stop()

    run(body())
    assert any(r.levelno == logging.ERROR and "lapsed at" in r.getMessage()
               for r in caplog.records)
    assert any('reason "CRL lapsed"' in line for line in _refusals(caplog))


# R-PDU-44: every refusal is logged with its reason -------------------------------------

def _expired_certificate(pki_dir: Path, tmp: Path) -> tuple[Path, Path]:
    now = dt.datetime.now(dt.UTC)
    key = pki.generate_key()
    cert = issue_node_certificate(_ca(pki_dir), key.public_key(),
                                  node_of_code("272035"),
                                  not_before=now - dt.timedelta(days=3),
                                  not_after=now - dt.timedelta(days=1), serial=7777)
    (tmp / "expired.pem").write_bytes(pki.cert_pem(cert))
    (tmp / "expired.key").write_bytes(pki.key_pem(key))
    return tmp / "expired.pem", tmp / "expired.key"


@pytest.mark.parametrize(("who", "reason"), [("revoked", "revoked"),
                                              ("expired", "expired"),
                                              ("rogue", "unknown CA")])
def test_a_refusal_in_the_handshake_is_logged_with_its_reason(
        tmp_path: Path, pki_dir: Path, who: str, reason: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    code, cert, key = {
        "revoked": ("272035", pki_dir / "272035-revoked.pem",
                    pki_dir / "272035-revoked.key"),
        "expired": ("272035", *_expired_certificate(pki_dir, tmp_path)),
        "rogue": ("271004", pki_dir / "rogue" / "271004.pem",
                  pki_dir / "rogue" / "271004.key"),
    }[who]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREF)])
        try:
            assert not await _answered(pki_dir, net, code, cert=cert, key=key)
        finally:
            await net.stop()

    run(body())
    [line] = _refusals(caplog)
    assert f'reason "{reason}"' in line and "peer address 127.0.0.1:" in line
    assert line.startswith(f"prefecture:{PREF}: ")


def test_a_refusal_after_the_handshake_names_the_node_and_serial(
        tmp_path: Path, pki_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A node on a test clock a year ahead: OpenSSL (on the system clock) lets the peer
    through, the node's own check refuses it as expired and says which certificate."""
    caplog.set_level(logging.WARNING)
    crl = tmp_path / "crl.pem"
    now = dt.datetime.now(dt.UTC)
    _write_crl(crl, pki_dir, [], number=5, this_update=now - dt.timedelta(hours=1),
               next_update=now + dt.timedelta(days=800))
    later = TestClock(now + dt.timedelta(days=365))

    async def body() -> None:
        net = Network()
        config = _config(tmp_path, pki_dir, "prefecture", PREF, crl)
        node = Node(config, clock=later)
        await node.start()
        net.nodes[PREF] = node
        net.directory[PREF] = ("127.0.0.1", node.port or 0)
        try:
            assert not await _answered(pki_dir, net)
        finally:
            await node.stop()

    run(body())
    serial = _serial(pki_dir / "272035.pem")
    [line] = _refusals(caplog)
    assert 'reason "expired"' in line and "municipality:272035" in line
    assert f"certificate serial {serial:x}" in line


def test_a_refused_server_is_logged_by_the_node_that_dialled(
        tmp_path: Path, pki_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The municipality's CRL revokes the prefecture: its connection for the update is
    refused in the handshake, logged with the node it dialled."""
    caplog.set_level(logging.WARNING)
    crl = tmp_path / "muni-crl.pem"
    now = dt.datetime.now(dt.UTC)
    _write_crl(crl, pki_dir, [_serial(pki_dir / f"{PREF}.pem")], number=5,
               this_update=now - dt.timedelta(hours=1),
               next_update=now + dt.timedelta(days=2))

    async def body() -> None:
        net = Network()
        await net.start([node_config(tmp_path, pki_dir, "prefecture", PREF),
                         _config(tmp_path, pki_dir, "municipality", "271004", crl)])
        try:
            with pytest.raises(ssl.SSLCertVerificationError):
                await net.nodes["271004"].connection(PREF)
        finally:
            await net.stop()

    run(body())
    [line] = _refusals(caplog)
    assert 'reason "revoked"' in line and f"peer node {PREF}" in line


def test_lapse_warning_thresholds() -> None:
    now = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)

    def crl(this: dt.timedelta, nxt: dt.timedelta) -> x509.CertificateRevocationList:
        ca = create_root_ca(pki.generate_key(), common_name="t", serial=1,
                            not_before=now - dt.timedelta(days=30),
                            not_after=now + dt.timedelta(days=30))
        return build_crl(ca, [], this_update=now + this, next_update=now + nxt,
                         number=1)

    week = dt.timedelta(days=7)
    assert refusal_log.crl_lapse_warning(crl(-week, week), now) is None
    assert "lapses at" in str(refusal_log.crl_lapse_warning(crl(-week, dt.timedelta(hours=16)),
                                                           now))     # under 10 % of 14 days
    assert refusal_log.crl_lapse_warning(crl(-dt.timedelta(hours=1), dt.timedelta(hours=9)),
                                        now) is None
    assert "lapses at" in str(refusal_log.crl_lapse_warning(
        crl(-dt.timedelta(minutes=10), dt.timedelta(minutes=50)), now))  # under 1 hour
    assert "lapsed at" in str(refusal_log.crl_lapse_warning(crl(-week, -dt.timedelta(seconds=1)),
                                                           now))
