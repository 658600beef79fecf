"""The reference's upper tester refuses a field missing or of another JSON type with
1030 before any lookup, and a resident code of section 4.6 that fails R-ID-01 with 1020
(spec/node.md R-NODE-98, section 4.6), changing nothing: the faults that
juki_conformance/cases_node_upper_fields.py found (a card issued for a null serial, 5001
for a missing serial or resident code, a 15-octet message id taken as unknown, a
special move-in or a provision request sent for an optional field of null)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import run, shared_pki, start

from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.node import upper_tester
from juki_protocol.node.node import Node

BAD = int(ErrorCode.INVALID_JSON)


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await upper_tester.handle_line(node, json.dumps({"id": 1, **req}).encode())


def _code(answer: dict[str, Any]) -> int | None:
    return None if answer.get("ok") else int(answer["error"]["code"])


def test_card_and_register_ops_refuse_missing_and_mistyped_fields(
        tmp_path: Path, pki_dir: Path) -> None:
    async def body() -> list[tuple[str, int | None]]:
        net = await start(tmp_path, pki_dir, [("municipality", "271004")])
        node = net.nodes["271004"]
        try:
            codes = (await _op(node, op="register_resident", seed="fields"))["residentCodes"]
            code = codes[0]
            serial = (await _op(node, op="card_issue", residentCode=code, pin="1234"))["serial"]
            broken = code[:10] + str((int(code[10]) + 1) % 10)
            before = await _op(node, op="status")
            got: list[tuple[str, int | None]] = []
            tries: list[tuple[str, dict[str, Any]]] = [
                ("card_issue serial null", {"op": "card_issue", "residentCode": code,
                                            "pin": "1234", "serial": None}),
                ("card_issue residentCode missing", {"op": "card_issue", "pin": "1234"}),
                ("card_issue residentCode 7", {"op": "card_issue", "residentCode": 7,
                                               "pin": "1234"}),
                ("record_change residentCode missing", {"op": "record_change"}),
                ("record_change residentCode list", {"op": "record_change",
                                                     "residentCode": [code]}),
                ("record_items items missing", {"op": "record_items",
                                                "residentCode": code}),
                *((f"{op} serial missing", {"op": op, "pin": "1234"})
                  for op in ("card_verify", "card_unlock", "card_suspend", "card_resume",
                             "card_state", "card_revoke", "card_report_lost")),
                *((f"{op} serial 7", {"op": op, "serial": 7, "pin": "1234"})
                  for op in ("card_verify", "card_unlock", "card_suspend", "card_state")),
            ]
            for label, req in tries:
                got.append((label, _code(await _op(node, **req))))
            for op in ("record_death", "erase", "change_resident_code", "resident"):
                got.append((f"{op} broken code", _code(await _op(
                    node, op=op, residentCode=broken))))
            got.append(("status unchanged", None if await _op(node, op="status") == before
                        else -1))
            got.append(("card still active", None if (await _op(
                node, op="card_state", serial=serial)).get("cardState") == "active"
                else -1))
            return got
        finally:
            await net.stop()
    got = run(body())
    want = [(label, BAD) for label, _ in got[:-6]] + \
        [(label, int(ErrorCode.INVALID_RESIDENT_CODE)) for label, _ in got[-6:-2]] + \
        [("status unchanged", None), ("card still active", None)]
    assert got == want


def test_agency_ops_refuse_a_short_message_id_and_optional_fields_of_null(
        tmp_path: Path, pki_dir: Path) -> None:
    """provision_result of 15 or 17 octets is malformed, not unknown; provision_request
    with an optional field of null is malformed, not a request without it."""
    code = generate_households(1, "agency-null", municipalities=["271004"])[0].head
    base = {"op": "provision_request", "provider": "270008", "purposeCode": "S1-KENCHIKUSHI",
            "operatorId": "op-1", "byResidentCode": [code.resident_code]}

    async def body() -> list[int | None]:
        net = await start(tmp_path, pki_dir, [("agency", "AG0001")])
        try:
            agency = net.nodes["AG0001"]
            got = [_code(await _op(agency, op="provision_result", messageId=mid))
                   for mid in ("00" * 15, "00" * 17, "00" * 16)]
            for name in ("delegatingPrefecture", "byFourItems", "legalBasis"):
                got.append(_code(await _op(agency, **base, **{name: None})))
            return got
        finally:
            await net.stop()
    assert run(body()) == [BAD, BAD, int(ErrorCode.UNKNOWN_CORRELATION), BAD, BAD, BAD]


def test_special_move_in_refuses_a_card_check_of_null(tmp_path: Path, pki_dir: Path) -> None:
    """An optional field given as null is of another JSON type, not absent: the
    reference took cardCheck null as no check and sent the notice."""
    async def body() -> tuple[int | None, int | None]:
        net = await start(tmp_path, pki_dir, [("municipality", "271004")])
        node = net.nodes["271004"]
        try:
            people = generate_households(1, "card-check-null",
                                         municipalities=["272035"])[0].members
            today = node.now().date().isoformat()
            fields = {"op": "special_move_in", "cardHolder": people[0].resident_code,
                      "formerMunicipality": "272035", "movedDate": today,
                      "movers": [codec.to_json(p.person_ref()) for p in people],
                      "newAddress": {"local_gov_code": "271004", "text": "大阪市北区"}}
            before = await _op(node, op="status")
            refused = _code(await _op(node, **fields, cardCheck=None))
            unchanged = None if await _op(node, op="status") == before else -1
            return refused, unchanged
        finally:
            await net.stop()
    assert run(body()) == (BAD, None)
