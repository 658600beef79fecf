"""Two nodes over real TLS on loopback: an identity info update (Art. 30-5) and its
relay (Art. 30-11), acknowledged only once durably stored (R-PDU-22)."""

from __future__ import annotations

from pathlib import Path

import pytest
from node_helpers import (
    node_database,
    node_db,
    record_all,
    residents,
    run,
    shared_pki,
    start,
    verify_node,
)

from juki_protocol.messages.common import ChangeReason
from juki_protocol.tools import audit_verify


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def test_update_and_relay_over_mutual_tls(tmp_path: Path, pki_dir: Path) -> None:
    people = residents("271004", 2)

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("national", "DC01"),
                                              ("prefecture", "270008"),
                                              ("municipality", "271004")],
                          residents=tuple(people))
        try:
            await record_all(net, "271004", people, ChangeReason.BIRTH)
            await net.quiet(15)
            pref, nat = net.nodes["270008"], net.nodes["DC01"]
            assert pref.storage.count_identity() == len(people)
            assert nat.storage.count_identity() == len(people)
            assert net.nodes["271004"].storage.updates("pending") == []
            assert [s for s, _ in net.nodes["271004"].storage.updates("acked")] == \
                list(range(1, len(people) + 1))
            # The connections really are TLS 1.3, and the peers are the certificates' nodes.
            conn = pref.connections.get("271004") or pref.connections["DC01"]
            assert conn.writer.get_extra_info("ssl_object").version() == "TLSv1.3"
            assert str(conn.peer) in ("municipality:271004", "national:DC01")
        finally:
            await net.stop()

    run(body())
    codes = {p.resident_code for p in people}
    for node in ("271004", "270008", "DC01"):
        assert verify_node(tmp_path, node).ok
        rows = audit_verify.rows(node_db(tmp_path, node))
        assert rows, node
        text = repr(rows)
        assert not any(c in text for c in codes), "the audit log holds a full resident code"
    received = [r for r in audit_verify.rows(node_db(tmp_path, "DC01"))
                if r["direction"] == "received" and r["message_type"] == "identityInfoRelay"]
    assert len(received) == len(people)
    assert all(str(r["subjects"]).endswith("*********") for r in received)
    with node_database(tmp_path, "270008") as c:
        assert c.execute("SELECT COUNT(*), MIN(state), MAX(state) FROM relay_outbox"
                         ).fetchone() == (len(people), "acked", "acked")
