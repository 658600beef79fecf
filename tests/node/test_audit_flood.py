"""Refusals cannot fill the disk through the audit log (R-NODE-27, R-NODE-28).

An authenticated peer sends 500 garbage frames to a real prefecture node over TLS. Each
one is still answered with an error report, but the audit log gets the first
``refusals_in_full`` refusals of that peer and result as rows, and ONE summary row with
the count of the rest; rows stay numbered without gaps and the chain verifies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from node_helpers import Peer, node_db, residents, run, shared_pki, start, update_of, verify_node

from juki_protocol.codec.wire import encode_frame
from juki_protocol.node import audit
from juki_protocol.tools import audit_verify

PREFECTURE = "270008"
FRAMES = 500
IN_FULL = 20


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def test_garbage_flood_is_counted_not_written(tmp_path: Path, pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", PREFECTURE)],
                          audit=audit.AuditPolicy(refusals_in_full=IN_FULL),
                          max_refusals=FRAMES + 1)
        try:
            peer = await Peer(pki_dir, "271004").connect(net.directory[PREFECTURE])
            garbage = encode_frame(b"\x30\x03garbage")
            for _ in range(FRAMES // 50):
                await peer.send_raw(garbage * 50)
            for i in range(FRAMES):
                got = await peer.read()
                assert got is not None and got.error_report is not None, \
                    f"frame {i} was not answered with an error report: {got}"
            # A valid update after the flood is still recorded in full.
            person = residents("271004", 1)[0]
            await peer.send(peer.sealed(update_of(person, 1), PREFECTURE))
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None, got
            await peer.close()
        finally:
            await net.stop()
    run(body())
    rows = audit_verify.rows(node_db(tmp_path, PREFECTURE))
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1)), "R-NODE-20: a gap"
    refused = [r for r in rows if r["direction"] == "refused" and r["peer"] == "271004"]
    summaries = [r for r in refused if "more refusals counted" in str(r["result"])]
    assert len(refused) <= IN_FULL + 1, f"{len(refused)} refusal rows for {FRAMES} frames"
    assert len(summaries) == 1, [r["result"] for r in summaries]
    found = re.search(r"; (\d+) more refusals", str(summaries[0]["result"]))
    assert found is not None
    assert int(found.group(1)) + len(refused) - 1 == FRAMES, "the count is lost"
    assert any(r["direction"] == "received" and r["result"] == "accepted" for r in rows)
    assert verify_node(tmp_path, PREFECTURE).ok
