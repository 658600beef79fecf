"""The card register (spec/card_register.md) between real nodes over mutual TLS: a
municipality registers an application with the centre and issues the card, the centre
refuses a second application for the same resident (5027) from any municipality, a
card suspended or reported lost at its issuing municipality is refused at another
through the centre (4011, 4014) although that municipality never saw the card, and the
register survives a restart of the centre."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import node_database, run, shared_pki, start

from juki_protocol.fixtures.synth import generate_households
from juki_protocol.node.node import Node
from juki_protocol.node.upper_tester import handle_line

A, B, PREF, CENTRE = "271004", "272035", "270008", "DC01"
PIN = "4821"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}).encode())


async def _ok(node: Node, **req: Any) -> dict[str, Any]:
    answer = await _op(node, **req)
    assert answer.get("ok"), answer
    return answer


async def _resident(node: Node, code: str, seed: str) -> str:
    await _ok(node, op="register_resident", seed=seed)
    return generate_households(1, seed, municipalities=[code])[0].head.resident_code


async def _settled(node: Node, serial: str) -> dict[str, Any]:
    def done() -> bool:
        items = node.handler.cards.outbox.of_serial(serial)
        return bool(items) and items[0].state != "pending"
    await node.wait_until(done, 10)
    got = await _ok(node, op="card_application", serial=serial)
    return {k: got[k] for k in ("state", "registered")}


async def _checked(node: Node, serial: str, code: str) -> dict[str, Any]:
    mid = (await _ok(node, op="card_check", serial=serial, residentCode=code))["messageId"]

    def answered() -> bool:
        item = node.handler.cards.outbox.get(bytes.fromhex(mid))
        return item is not None and item.answer is not None
    await node.wait_until(answered, 10)
    return await _ok(node, op="card_check_result", messageId=mid)


async def _entry(centre: Node, serial: str, state: str) -> dict[str, Any]:
    def reached() -> bool:
        entry = centre.handler.card_register.ledger.get(serial)
        return entry is not None and entry.state.value == state
    await centre.wait_until(reached, 10)
    return await _ok(centre, op="card_entry", serial=serial)


def test_a_card_suspended_at_home_is_refused_elsewhere(tmp_path: Path,
                                                      pki_dir: Path) -> None:
    serial = ""

    async def go() -> None:
        nonlocal serial
        net = await start(tmp_path, pki_dir, [("national", CENTRE), ("prefecture", PREF),
                                              ("municipality", A), ("municipality", B)])
        try:
            a, b, centre = net.nodes[A], net.nodes[B], net.nodes[CENTRE]
            holder = await _resident(a, A, "card-register:1")
            applied = await _ok(a, op="card_apply", residentCode=holder)
            serial = applied["serial"]
            assert (await _settled(a, serial)) == {"state": "acked", "registered": True}
            assert (await _entry(centre, serial, "applied"))["status"] == "unknown"
            # A second application for the same resident is refused (5027).
            again = await _ok(a, op="card_apply", residentCode=holder)
            refused = await _settled(a, again["serial"])
            assert refused == {"state": "refused:5027", "registered": False}
            # The card cannot be issued under a serial the centre did not register.
            bad = await _op(a, op="card_issue", residentCode=holder, pin=PIN,
                            serial=again["serial"])
            assert bad["error"]["code"] == 4012
            issued = await _ok(a, op="card_issue", residentCode=holder, pin=PIN,
                               serial=serial)
            assert issued["serial"] == serial
            entry = await _entry(centre, serial, "issued")
            assert entry["status"] == "valid" and entry["municipality"] == A
            # Municipality B has never seen the card: the centre says it is valid.
            got = await _checked(b, serial, holder)
            assert (got["status"], got["usable"], got["refusal"]) == ("valid", True, None)
            # Suspended at A (一時停止): refused at B with 4011 through the centre.
            await _ok(a, op="card_suspend", serial=serial)
            await _entry(centre, serial, "suspended")
            got = await _checked(b, serial, holder)
            assert (got["status"], got["usable"], got["refusal"]) == \
                ("suspended", False, 4011)
            # A read with another resident code is unknown: 4012.
            other = generate_households(1, "card-register:x", municipalities=[B])[0]
            got = await _checked(b, serial, other.head.resident_code)
            assert (got["status"], got["refusal"]) == ("unknown", 4012)
            # Reported lost: 4014 everywhere, and for good.
            await _ok(a, op="card_report_lost", serial=serial)
            await _entry(centre, serial, "lost")
            got = await _checked(b, serial, holder)
            assert (got["status"], got["refusal"]) == ("lost", 4014)
            # A new application is taken now that the card is lost (a duplicate only
            # while a card may still be used).
            renewed = await _ok(a, op="card_apply", residentCode=holder)
            assert (await _settled(a, renewed["serial"]))["registered"] is True
        finally:
            await net.stop()
        # The register survives the centre's restart.
        net = await start(tmp_path, pki_dir, [("national", CENTRE), ("prefecture", PREF),
                                              ("municipality", A), ("municipality", B)])
        try:
            b = net.nodes[B]
            got = await _checked(b, serial, holder)
            assert (got["status"], got["refusal"]) == ("lost", 4014)
            centre = net.nodes[CENTRE]
            assert (await _ok(centre, op="card_entry", serial=serial))["state"] == "lost"
        finally:
            await net.stop()
    run(go(), timeout=90)
    # R-CARDREG-05: of a card the centre keeps its register row, and in it only the
    # serial, the holder's resident code, the issuer, the state, the validity (and when
    # the row last changed): no other table of the centre names the card.
    with node_database(tmp_path, CENTRE) as db:
        assert "card_register" in db.tables()
        found = {t for t in db.tables()
                 if any(serial in repr(tuple(r)) for r in db.execute(f'SELECT * FROM "{t}"'))}
        rows = list(db.execute("SELECT * FROM card_register WHERE serial = ?", (serial,)))
    assert found == {"card_register"}
    assert len(rows) == 1 and len(tuple(rows[0])) == 6


def test_a_one_step_issue_registers_the_card_and_a_duplicate_is_refused(
        tmp_path: Path, pki_dir: Path) -> None:
    """card_issue without a serial: the issue notice is the application too; a second
    card for the same resident is refused by the centre and is unknown to others."""
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("national", CENTRE), ("prefecture", PREF),
                                              ("municipality", A), ("municipality", B)])
        try:
            a, b, centre = net.nodes[A], net.nodes[B], net.nodes[CENTRE]
            holder = await _resident(a, A, "card-register:2")
            first = (await _ok(a, op="card_issue", residentCode=holder, pin=PIN))["serial"]
            await _entry(centre, first, "issued")
            second = (await _ok(a, op="card_issue", residentCode=holder, pin=PIN))["serial"]
            await a.wait_until(lambda: a.handler.cards.outbox.of_serial(second)[0].state
                               != "pending", 10)
            assert a.handler.cards.outbox.of_serial(second)[0].state == "refused:5027"
            assert centre.handler.card_register.ledger.get(second) is None
            # R-CARDREG-08: the issuer does not take the refused card either.
            assert (await _op(a, op="card_verify", serial=second, pin=PIN)
                    )["error"]["code"] == 4012
            assert (await _op(a, op="card_verify", serial=first, pin=PIN)).get("ok")
            got = await _checked(b, second, holder)
            assert (got["status"], got["refusal"]) == ("unknown", 4012)
            # Revoked at A: 4012 at B.
            await _ok(a, op="card_revoke", serial=first)
            await _entry(centre, first, "revoked")
            got = await _checked(b, first, holder)
            assert (got["status"], got["refusal"]) == ("revoked", 4012)
        finally:
            await net.stop()
    run(go(), timeout=60)
