"""`juki node serve --metrics` (issue 15 item 7): a real node, real traffic over mutual
TLS, /metrics scraped over HTTP and parsed with prometheus_client's own parser, /health
read as JSON."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from node_helpers import Peer, residents, run, shared_pki, update_of
from prometheus_client.parser import text_string_to_metric_families
from test_config import node_settings, serve_process

from juki_protocol.errors import ErrorCode
from juki_protocol.node.metrics import MetricsServer, NodeMetrics

PREF = "270008"
STALE = str(int(ErrorCode.STALE_TIME))


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def _get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of GET ``url`` (also for an error status)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as res:
            return res.status, res.headers["Content-Type"], res.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def scrape(address: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics`` at ``address``: (name, sorted labels) -> value."""
    status, kind, body = _get(f"http://{address}/metrics")
    assert status == 200 and kind.startswith("text/plain"), (status, kind)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def _pdus(samples: dict, result: str, mtype: str = "identityInfoUpdate") -> float:
    key = ("juki_pdus_received_total", (("result", result), ("type", mtype)))
    return samples.get(key, 0.0)


async def _traffic(pki_dir: Path, address: str) -> None:
    """Three accepted updates, one duplicate, one stale update and one frame that is
    not a PDU, from municipality 271004."""
    host, port = address.rsplit(":", 1)
    people = residents("271004", 4, seed="metrics")
    peer = await Peer(pki_dir, "271004").connect((host, int(port)))
    try:
        first = b""
        for sequence in (1, 2, 3):
            der = peer.sealed(update_of(people[sequence - 1], sequence), PREF)
            first = first or der
            await peer.send(der)
            got = await peer.read()
            assert got is not None and got.acknowledgement is not None, got
        await peer.send(first)                       # a duplicate
        got = await peer.read()
        assert got is not None and got.acknowledgement is not None
        await peer.send(peer.sealed(update_of(people[3], 4), PREF,
                                    time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)))
        got = await peer.read()
        assert got is not None and got.error_report is not None
        await peer.send(b"\x30\x03\x02\x01\x00")      # DER, but not a JukiPdu
        got = await peer.read()
        assert got is not None and got.error_report is not None
    finally:
        await peer.close()


def test_a_real_node_counts_what_it_receives(tmp_path: Path, pki_dir: Path) -> None:
    settings = node_settings(tmp_path, pki_dir, metrics="127.0.0.1:0")
    with serve_process(tmp_path, settings) as (_, where, _):
        address = where["metrics"]
        assert address.startswith("127.0.0.1:")
        before = scrape(address)
        run(_traffic(pki_dir, where["node"]))
        after = scrape(address)
        status, kind, body = _get(f"http://{address}/health")
        missing = _get(f"http://{address}/nothing")
    assert _pdus(after, "accepted") - _pdus(before, "accepted") == 3
    assert _pdus(after, "duplicate") - _pdus(before, "duplicate") == 1
    assert _pdus(after, STALE) - _pdus(before, STALE) == 1
    refused = [k for k in after if k[0] == "juki_pdus_received_total"
               and ("type", "unknown") in k[1]]
    assert len(refused) == 1 and after[refused[0]] == 1
    handled = after[("juki_pdu_handling_seconds_count", ())] \
        - before.get(("juki_pdu_handling_seconds_count", ()), 0)
    assert handled == 6                                 # one observation per PDU read
    assert after[("juki_pdu_handling_seconds_sum", ())] > 0
    # Five PDUs were committed (the unreadable one is refused before any transaction;
    # the stale one is refused in a transaction of its own audit row, not timed).
    commits = after[("juki_storage_commit_seconds_count", ())] \
        - before.get(("juki_storage_commit_seconds_count", ()), 0)
    assert commits == 4
    assert after[("juki_node_info", (("node", PREF), ("role", "prefecture")))] == 1
    for gauge in ("juki_unacknowledged_messages", "juki_pending_handshakes",
                  "juki_connections"):
        assert (gauge, ()) in after, gauge
    assert after[("juki_pending_handshakes", ())] == 0
    assert status == 200 and kind == "application/json"
    health = json.loads(body)
    assert health["ok"] is True and health["db"] is True
    assert (health["node"], health["role"]) == (PREF, "prefecture")
    assert health["uptime"] > 0
    assert missing[0] == 404


def test_health_is_503_without_a_node_and_a_bad_request_is_400() -> None:
    async def body() -> tuple[tuple[int, str, str], bytes]:
        server = MetricsServer(NodeMetrics(PREF, "prefecture"))
        port = await server.start()
        try:
            health = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/health")
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"nonsense\r\n\r\n")
            await writer.drain()
            raw = await reader.read()
            writer.close()
            return health, raw
        finally:
            await server.stop()
    (status, _, text), raw = run(body())
    assert status == 503 and json.loads(text)["ok"] is False
    assert raw.startswith(b"HTTP/1.1 400 ")


def test_each_node_has_a_registry_of_its_own() -> None:
    one, two = NodeMetrics("271004", "municipality"), NodeMetrics(PREF, "prefecture")
    one.received("identityInfoUpdate", "accepted")
    assert b'result="accepted"' in one.exposition()
    assert b'result="accepted"' not in two.exposition()
