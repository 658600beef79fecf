"""Peers with network credentials that a node must refuse (issue 11 item 6): expired,
not-yet-valid and revoked certificates at the handshake and as envelope signers, on
every role the runner connects to, and a municipality of another prefecture."""

from __future__ import annotations

import pytest

from juki_conformance import ics as ics_mod
from juki_conformance.cases_node_peers import peer_cases
from juki_conformance.model import Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.runner import run_cases
from juki_conformance.selftest.faulty_node import command
from juki_conformance.sut import Inconclusive

ICS = {"implementation": {"name": "reference node", "version": "0.1.0"},
       "profiles": ["current"], "modes": ["node"]}


@pytest.mark.parametrize("role", ["prefecture", "national", "municipality"])
def test_the_reference_refuses_every_bad_peer(role: str) -> None:
    mine = [c for c in peer_cases() if c.role == role]  # type: ignore[attr-defined]
    assert len(mine) >= 5
    result = run_cases(mine, NodeSut(role=role, timeout=5),
                       ics_mod.parse({**ICS, "role": role}))
    verdicts = {r.case.id: r.outcome for r in result.results}
    assert all(o.verdict is Verdict.PASS for o in verdicts.values()), verdicts
    assert result.exit_code == 0


def test_a_node_without_revocation_checks_fails_the_revoked_cases() -> None:
    mine = [c for c in peer_cases() if c.role == "prefecture"]  # type: ignore[attr-defined]
    result = run_cases(mine, NodeSut(command("no-revocation-check"), role="prefecture",
                                     timeout=2), ics_mod.parse({**ICS, "role": "prefecture"}))
    failed = {r.case.id for r in result.results if r.outcome.verdict is Verdict.FAIL}
    assert failed == {"pdu/node/envelope/revoked-signer-refused-by-prefecture"}, \
        {r.case.id: r.outcome for r in result.results}


def test_missing_bad_certificates_make_the_case_inconclusive() -> None:
    case = next(c for c in peer_cases() if c.id.startswith("pdu/node/tls/expired")
                and c.role == "national")  # type: ignore[attr-defined]
    sut = NodeSut(role="national", timeout=5)
    sut.start()
    try:
        for path in (sut.pki_dir / "expired").iterdir():
            path.unlink()
        with pytest.raises(Inconclusive):
            case.run(sut)
    finally:
        sut.stop()


def test_a_connection_a_case_closed_reads_as_closed() -> None:
    """A lower tester connection whose socket an earlier case closed is taken for
    closed (None), not a harness error, so the listener moves on to the node's next."""
    import socket as socket_module

    from juki_conformance.lower_tester import PeerConnection
    left, right = socket_module.socketpair()
    conn = PeerConnection(left, 1.0)  # type: ignore[arg-type]
    conn.close()
    right.close()
    assert conn.read(0.5) is None
