"""The register's and the card desk's upper tester ops (spec/node.md sections 4.2 and
4.6): deaths, move-outs, erasures and resident code changes reported to a real
prefecture node; suspension on loss or theft and its lifting; cards, their PIN counts
and retired codes across a restart; an older database opened with the new tables."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from node_helpers import run, shared_pki, start

from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import validate_resident_code
from juki_protocol.messages.common import ChangeReason
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.node.node import Node
from juki_protocol.node.storage import SqliteStorage, resident_to_json
from juki_protocol.node.upper_tester import UpperTester, handle_line


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}).encode())


def test_a_suspended_card_is_refused_until_resumed(tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", "271004")])
        try:
            node = net.nodes["271004"]
            codes = (await _op(node, op="register_resident", seed="card-desk"))[
                "residentCodes"]
            serial = (await _op(node, op="card_issue", residentCode=codes[0],
                                pin="1234"))["serial"]
            state = await _op(node, op="card_state", serial=serial)
            assert (state["cardState"], state["retriesLeft"]) == ("active", 3)
            wrong = await _op(node, op="card_verify", serial=serial, pin="9999")
            assert wrong["confirmed"] is False and "residentCode" not in wrong
            assert (await _op(node, op="card_state", serial=serial))["retriesLeft"] == 2
            assert (await _op(node, op="card_suspend",
                              serial=serial))["cardState"] == "suspended"
            used = await _op(node, op="card_verify", serial=serial, pin="1234")
            assert used["confirmed"] is False and used["cardState"] == "suspended"
            assert "residentCode" not in used
            again = await _op(node, op="card_suspend", serial=serial)
            assert again["ok"] is False, again
            assert (await _op(node, op="card_resume",
                              serial=serial))["cardState"] == "active"
            right = await _op(node, op="card_verify", serial=serial, pin="1234")
            assert right["confirmed"] is True
            assert right["residentCode"] == codes[0]          # read from the chip
            missing = await _op(node, op="card_state", serial="271004-999999")
            assert missing["error"]["code"] == 5001
        finally:
            await net.stop()
    run(go())


async def _codes(node: Node, seed: str, count: int = 4) -> list[str]:
    """Register households made from ``seed`` until at least ``count`` residents."""
    codes: list[str] = []
    while len(codes) < count:
        codes += (await _op(node, op="register_resident", seed=f"{seed}:{len(codes)}"))[
            "residentCodes"]
    return codes


def _code(answer: dict[str, Any]) -> int:
    assert answer.get("ok") is False, answer
    return int(answer["error"]["code"])


def test_register_events_are_reported_to_the_prefecture(tmp_path: Path,
                                                        pki_dir: Path) -> None:
    """Death, move-out, erasure ex officio and a resident code change each reach the
    prefecture as one update with the right operation, reason and codes (Art. 30-5,
    R-ID-03)."""
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008"),
                                              ("municipality", "271004")])
        try:
            node, pref = net.nodes["271004"], net.nodes["270008"]
            codes = await _codes(node, "register-events")
            for c in codes:
                assert (await _op(node, op="record_change", residentCode=c))["ok"]
            role = net.role("271004")

            async def reported(code: str) -> IdentityInfoUpdate:
                """The prefecture's current version of ``code`` once the municipality
                has every update acknowledged."""
                await node.wait_until(lambda: not role.updater.outbox)
                held = pref.storage.current_identity(code)
                assert held is not None
                return held

            dead = await _op(node, op="record_death", residentCode=codes[0],
                             date="2026-01-02")
            assert dead["ok"] is True and dead["updateSequence"] == len(codes) + 1, dead
            held = await reported(codes[0])
            assert (held.operation, held.change_info.change_reason,
                    held.change_info.change_date) == (UpdateOperation.ERASE,
                                                      ChangeReason.DEATH,
                                                      dt.date(2026, 1, 2))
            assert await _op(node, op="resident", residentCode=codes[0]) == {
                "id": 1, "ok": True, "state": "erased", "reason": "death"}
            assert _code(await _op(node, op="record_death", residentCode=codes[0])) == 5003
            assert _code(await _op(node, op="card_issue", residentCode=codes[0],
                                   pin="1234")) == 5003

            away = {"local_gov_code": "131016", "text": "東京都千代田区"}
            own = {"local_gov_code": "271004", "text": "大阪市"}
            assert _code(await _op(node, op="record_move_out", residentCode=codes[1],
                                   destination=own)) == 1024
            assert _code(await _op(node, op="record_move_out", residentCode=codes[1])) \
                == 1030
            assert (await _op(node, op="record_move_out", residentCode=codes[1],
                              destination=away, date="2026-02-03"))["ok"]
            held = await reported(codes[1])
            assert (held.operation, held.change_info.change_reason) == (
                UpdateOperation.ERASE, ChangeReason.MOVE_OUT)
            assert _code(await _op(node, op="erase", residentCode=codes[1])) == 5002

            assert _code(await _op(node, op="erase", residentCode=codes[2],
                                   reason="birth")) == 1030
            assert (await _op(node, op="erase", residentCode=codes[2]))["ok"]
            held = await reported(codes[2])
            assert held.change_info.change_reason is ChangeReason.ERASED_EX_OFFICIO
            assert (await _op(node, op="resident", residentCode=codes[2]))["reason"] == \
                "erasedExOfficio"

            changed = await _op(node, op="change_resident_code", residentCode=codes[3])
            new = changed["residentCode"]
            assert validate_resident_code(new) == new and new not in codes
            held = await reported(new)
            assert (held.operation, held.change_info.change_reason,
                    held.previous_resident_code) == (
                UpdateOperation.CORRECT, ChangeReason.RESIDENT_CODE_CHANGE, codes[3])
            assert (await _op(node, op="resident", residentCode=codes[3]))["state"] == \
                "retired"
            assert (await _op(node, op="resident", residentCode=new))["state"] == "current"
            before = (await _op(node, op="status"))["updates"]["lastSequence"]
            refused = await _op(node, op="record_resident", seed="register-other",
                                residentCode=codes[3])
            assert _code(refused) == 5021
            assert _code(await _op(node, op="record_resident", seed="register-other",
                                   residentCode=new)) == 1024
            assert _code(await _op(node, op="record_resident", seed="register-other",
                                   residentCode="12345678900")) == 1020
            assert (await _op(node, op="status"))["updates"]["lastSequence"] == before
            other = await _op(node, op="record_resident", seed="register-other")
            assert other["updateSequence"] == before + 1
            assert (await reported(other["residentCode"])).operation is \
                UpdateOperation.RECORD
            assert _code(await _op(node, op="resident", residentCode="12345678903")) == 5001
        finally:
            await net.stop()
    run(go(), timeout=60)


def test_cards_and_retired_codes_survive_a_restart(tmp_path: Path, pki_dir: Path) -> None:
    """A restart on the node's own storage keeps each card's PIN count, its block and
    its suspension (R-CARD-01), the key that unblocks it (R-CARD-02), and the retired
    codes (R-ID-03)."""
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", "271004")])
        tester = UpperTester(net.nodes["271004"])
        try:
            node = tester.node
            codes = await _codes(node, "card-restart")
            counted, blocked, suspended = [
                (await _op(node, op="card_issue", residentCode=c, pin="1234"))["serial"]
                for c in codes[:3]]
            for _ in range(2):
                await _op(node, op="card_verify", serial=counted, pin="0000")
            for _ in range(3):
                await _op(node, op="card_verify", serial=blocked, pin="0000")
            await _op(node, op="card_suspend", serial=suspended)
            old = codes[3]
            await _op(node, op="change_resident_code", residentCode=old)
            restarted = await handle_line(node, b'{"id": 1, "op": "restart"}',
                                          restart=tester.restart)
            assert restarted["ok"] is True, restarted
            node = tester.node
            assert (await _op(node, op="card_state", serial=counted))["retriesLeft"] == 1
            third = await _op(node, op="card_verify", serial=counted, pin="0000")
            assert (third["sw"], third["cardState"]) == ("63C0", "locked")
            right = await _op(node, op="card_verify", serial=blocked, pin="1234")
            assert (right["sw"], right["confirmed"]) == ("6983", False)
            assert (await _op(node, op="card_unlock", serial=blocked))["sw"] == "9000"
            assert (await _op(node, op="card_verify", serial=blocked,
                              pin="1234"))["confirmed"] is True
            used = await _op(node, op="card_verify", serial=suspended, pin="1234")
            assert (used["confirmed"], used["cardState"]) == (False, "suspended")
            fresh = (await _op(node, op="card_issue", residentCode=codes[0],
                               pin="1234"))["serial"]
            assert fresh not in (counted, blocked, suspended)
            assert _code(await _op(node, op="record_resident", seed="card-restart-2",
                                   residentCode=old)) == 5021
        finally:
            await tester.node.stop()
            net.nodes.pop("271004", None)
            await net.stop()
    run(go(), timeout=60)


def test_an_existing_database_gains_the_card_tables(tmp_path: Path) -> None:
    """A municipality database made before the card tables existed opens with its
    register intact and the new tables added (the schema is created IF NOT EXISTS)."""
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE residents (resident_code TEXT PRIMARY KEY, status TEXT NOT NULL, "
        "record TEXT NOT NULL);")
    person = generate_households(1, "old-db", municipalities=["271004"])[0].head
    conn.execute("INSERT INTO residents VALUES (?, ?, ?)",
                 (person.resident_code, "current", resident_to_json(person)))
    conn.commit()
    conn.close()
    storage = SqliteStorage(db, "municipality")
    try:
        assert storage.load_register() == {person.resident_code: person}
        assert storage.load_cards() == [] and storage.erasure(person.resident_code) is None
    finally:
        storage.close()


def test_each_registered_household_is_a_household_of_its_own(tmp_path: Path,
                                                             pki_dir: Path) -> None:
    """The generator numbers each call's households from 0; the register must not make
    every seed's household one (a wide-area request would then serve anyone)."""
    from juki_protocol.node.upper_ops import seeded_household
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", "271004")])
        try:
            node = net.nodes["271004"]
            one = (await _op(node, op="register_resident", seed="house-a"))["residentCodes"]
            two = (await _op(node, op="register_resident", seed="house-b"))["residentCodes"]
            records = net.role("271004").register.records
            assert len({records[c].household_id for c in one}) == 1
            assert {records[c].household_id for c in one}.isdisjoint(
                {records[c].household_id for c in two})
        finally:
            await net.stop()
    run(go())
    assert seeded_household("271004", "x")[0].household_id == \
        seeded_household("271004", "x")[0].household_id
    assert seeded_household("271004", "x")[0].household_id != \
        seeded_household("272035", "x", "271004")[0].household_id
