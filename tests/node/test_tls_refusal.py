"""Peers that are not who they claim are refused: at the TLS handshake (R-PDU-10) or on
the header and envelope (R-PDU-11, R-PDU-31, R-PDU-32)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from node_helpers import Peer, node_database, residents, run, shared_pki, start, update_of


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _received(tmp: Path, code: str) -> int:
    with node_database(tmp, code) as c:
        return int(c.execute("SELECT COUNT(*) FROM audit WHERE direction = 'received'"
                             ).fetchone()[0])


@pytest.mark.parametrize("who", ["untrusted", "revoked"])
def test_bad_certificate_is_refused_at_the_handshake(tmp_path: Path, pki_dir: Path,
                                                     who: str) -> None:
    if who == "untrusted":      # a certificate for 271004 from another CA
        peer_args = {"code": "271004", "cert": pki_dir / "rogue" / "271004.pem",
                     "key": pki_dir / "rogue" / "271004.key"}
    else:                       # a certificate of 272035 on the network CA's CRL
        peer_args = {"code": "272035", "cert": pki_dir / "272035-revoked.pem",
                     "key": pki_dir / "272035-revoked.key"}
    person = residents(peer_args["code"], 1)[0]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        peer = Peer(pki_dir, peer_args["code"], cert=peer_args["cert"],
                    key=peer_args["key"])
        try:
            try:
                await peer.connect(net.directory["270008"])
                await peer.send(peer.sealed(update_of(person, 1), "270008"))
                answer = await peer.read(3)
            except (ssl.SSLError, ConnectionError, OSError):
                answer = None            # refused during or right after the handshake
            assert answer is None
            assert net.nodes["270008"].storage.count_identity(False) == 0
        finally:
            await peer.close()
            await net.stop()

    run(body())
    assert _received(tmp_path, "270008") == 0


def test_sender_other_than_the_tls_peer_is_refused_2015(tmp_path: Path,
                                                          pki_dir: Path) -> None:
    person = residents("271004", 1)[0]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        peer = await Peer(pki_dir, "272035").connect(net.directory["270008"])
        try:
            # 272035 holds a valid certificate but claims to be 271004 in the header.
            await peer.send(peer.sealed(update_of(person, 1), "270008", sender="271004",
                                        signer=(pki_dir / "271004.pem",
                                                pki_dir / "271004.key")))
            answer = await peer.read()
            assert answer is not None and answer.error_report is not None
            assert answer.error_report.error_code == 2015      # CERT_SENDER_MISMATCH
            assert net.nodes["270008"].storage.count_identity(False) == 0
        finally:
            await peer.close()
            await net.stop()

    run(body())


def test_envelope_signed_by_another_node_is_refused_opaquely_2001(
        tmp_path: Path, pki_dir: Path) -> None:
    person = residents("271004", 1)[0]

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        peer = await Peer(pki_dir, "271004").connect(net.directory["270008"])
        try:
            # The header and TLS peer are 271004, but 272035 signed the envelope.
            await peer.send(peer.sealed(update_of(person, 1), "270008",
                                        signer=(pki_dir / "272035.pem",
                                                pki_dir / "272035.key")))
            answer = await peer.read()
            assert answer is not None and answer.error_report is not None
            assert answer.error_report.error_code == 2001      # ENVELOPE_INVALID only
            assert answer.error_report.detail is None
            assert net.nodes["270008"].storage.count_identity(False) == 0
        finally:
            await peer.close()
            await net.stop()

    run(body())
    with node_database(tmp_path, "270008") as c:
        results = [r[0] for r in c.execute("SELECT result FROM audit WHERE direction = "
                                           "'refused'")]
    assert results == ["2001 ENVELOPE_INVALID (local 2015 CERT_SENDER_MISMATCH)"]
