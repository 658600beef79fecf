"""Numbered messages over real TLS with a sender window (``send_window`` > 1): the node
puts them on the wire in the order its machines produced them, so none overtakes another
(no 4004 OUT_OF_ORDER, spec/identity.md section 2); and a prefecture that sheds load
(9002, R-NODE-13) still gets every update exactly once, since the municipality treats
9002 as "retry later" (R-30-5-0-10)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from node_helpers import node_db, residents, run, shared_pki, verify_node

from juki_protocol.fixtures.synth import SyntheticResident
from juki_protocol.machines.identity import SenderState
from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.node.network import Network, node_config
from juki_protocol.tools import audit_verify

PREF = "270008"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _burst(net: Network, code: str, people: list[SyntheticResident],
                 count: int) -> None:
    """``count`` local events at ``code`` as fast as they commit (the residents again
    and again: each record supersedes the previous version)."""
    muni = net.role(code)
    for i in range(count):
        person = people[i % len(people)]
        change = ChangeInfo(change_reason=ChangeReason.BIRTH, change_date=person.birth_date)
        await net.nodes[code].local(lambda now, p=person, c=change: muni.record(p, c, now))


def _results(db: Path, direction: str) -> list[str]:
    return [str(r["result"]) for r in audit_verify.rows(db) if r["direction"] == direction]


def test_window_of_8_keeps_a_burst_in_order_over_tls(tmp_path: Path, pki_dir: Path) -> None:
    """Two municipalities of one prefecture, 50 updates each at once, windows of 8 at
    both hops: the prefecture's two connections interleave, and its relays to the
    centre must still leave in the order of their numbers."""
    munis = ("271004", "272035")
    people = {m: residents(m, 3) for m in munis}
    count = 50

    async def body() -> None:
        net = Network()
        await net.start([node_config(tmp_path, pki_dir, role, code, send_window=8,
                                     residents=tuple(people.get(code, ())))
                         for role, code in [("national", "DC01"), ("prefecture", PREF),
                                            *(("municipality", m) for m in munis)]])
        try:
            assert net.role(munis[0]).updater.window == 8
            assert net.role(PREF).receiver.relays.window == 8
            # As on a busy link: each write waits until TLS has taken it, so the
            # coroutines of a node yield between their sends and could overtake.
            for code, peer in [(PREF, "DC01"), *((m, PREF) for m in munis)]:
                conn = await net.nodes[code].connection(peer)
                conn.writer.transport.set_write_buffer_limits(high=0)
            await asyncio.gather(*(_burst(net, m, people[m], count) for m in munis))
            national = net.role("DC01").receiver
            await net.nodes["DC01"].wait_until(
                lambda: sum(national.last.values()) >= 2 * count, timeout=40)
            await net.quiet(10)
            assert net.role(PREF).receiver.last == {m: count for m in munis}
            assert national.last == {PREF: 2 * count}
            for m in munis:
                assert [s for s, _ in net.nodes[m].storage.updates("acked")] == \
                    list(range(1, count + 1))
        finally:
            await net.stop()

    run(body(), timeout=90)
    for code in ("DC01", PREF):
        refused = _results(node_db(tmp_path, code), "refused")
        assert not any(r.startswith("4004") for r in refused), (code, refused[:5])
        assert verify_node(tmp_path, code).ok


def test_a_prefecture_that_sheds_still_gets_every_update_once(
        tmp_path: Path, pki_dir: Path) -> None:
    """The prefecture holds at most 2 PDUs in hand; the municipality's window of 8
    overruns it, so it answers 9002 to some updates. The municipality keeps them and
    resends after its back-off: all arrive, each applied exactly once, in order."""
    muni = "271004"
    people = residents(muni, 3)
    count = 24

    async def body() -> None:
        net = Network()
        await net.start([
            node_config(tmp_path, pki_dir, "national", "DC01"),
            node_config(tmp_path, pki_dir, "prefecture", PREF, max_inflight=2),
            node_config(tmp_path, pki_dir, "municipality", muni, send_window=8,
                        residents=tuple(people))])
        try:
            updater = net.role(muni).updater
            updater.backoff = dt.timedelta(milliseconds=50)   # the test's patience
            await _burst(net, muni, people, count)
            pref = net.role(PREF)
            await net.nodes[PREF].wait_until(
                lambda: pref.receiver.last.get(muni, 0) >= count, timeout=40)
            await net.quiet(20)
            assert updater.state is SenderState.IDLE and "stalled" not in \
                net.nodes[muni].event_names()
            assert [s for s, _ in net.nodes[muni].storage.updates("acked")] == \
                list(range(1, count + 1))
            # Exactly once: one version per update at the prefecture and the centre.
            assert pref.receiver.last == {muni: count}
            assert net.nodes[PREF].storage.count_identity(current_only=False) == count
            assert net.nodes["DC01"].storage.count_identity(current_only=False) == count
        finally:
            await net.stop()

    run(body(), timeout=90)
    refused = _results(node_db(tmp_path, PREF), "refused")
    assert any(r == "9002 OVERLOADED" for r in refused), "the prefecture never shed"
    accepted = [r for r in audit_verify.rows(node_db(tmp_path, PREF))
                if r["direction"] == "received" and r["result"] == "accepted"
                and r["message_type"] == "identityInfoUpdate"]
    assert len(accepted) == count
    assert verify_node(tmp_path, PREF).ok
