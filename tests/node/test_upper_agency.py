"""The agency's upper tester ops (spec/node.md section 4.4): a provision request sent to
a prefecture, its outcome, and the requests refused before anything is sent."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import run, shared_pki, start

from juki_protocol.fixtures.synth import generate_households
from juki_protocol.node.node import Node
from juki_protocol.node.upper_tester import handle_line


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}).encode())


def _codes() -> list[str]:
    return [m.resident_code for m in generate_households(
        1, "upper-agency", municipalities=["271004"])[0].members]


def test_a_request_reaches_the_prefecture_and_its_outcome_is_read(
        tmp_path: Path, pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("agency", "AG0001"),
                                              ("prefecture", "270008")],
                          operators={"AG0001": {"op-1"}})
        try:
            agency = net.nodes["AG0001"]
            sent = await _op(agency, op="provision_request", provider="270008",
                             purposeCode="S1-KENCHIKUSHI", operatorId="op-1",
                             byResidentCode=_codes())
            assert sent["ok"] is True and len(bytes.fromhex(sent["messageId"])) == 16
            result: dict[str, Any] = {}
            for _ in range(200):
                result = await _op(agency, op="provision_result",
                                   messageId=sent["messageId"])
                if result["outcome"] != "pending":
                    break
                await asyncio.sleep(0.05)
            # The prefecture holds none of them: an empty provided list (R-30-7-3-11).
            assert (result["state"], result["outcome"], result["persons"]) == \
                ("done", "provided", 0)
        finally:
            await net.stop()
    run(go())


def test_bad_requests_are_refused_and_nothing_is_sent(tmp_path: Path,
                                                        pki_dir: Path) -> None:
    async def go() -> None:
        net = await start(tmp_path, pki_dir, [("agency", "AG0001"),
                                              ("municipality", "271004")])
        try:
            agency = net.nodes["AG0001"]
            base = {"op": "provision_request", "provider": "270008",
                    "purposeCode": "S1-KENCHIKUSHI", "operatorId": "op-1",
                    "byResidentCode": _codes()}
            changes: tuple[dict[str, Any], ...] = (
                {"provider": "271004"}, {"provider": 270008}, {"operatorId": ""},
                {"byResidentCode": ["123"]}, {"byResidentCode": []},
                {"legalBasis": "nonsense"}, {"byFourItems": {"name": {"kanji": "x"}}},
                {"byResidentCode": None, "byFourItems": {"name": {"kanji": "x"}}},
                {"byResidentCode": None})
            for change in changes:
                req = {k: v for k, v in {**base, **change}.items() if v is not None}
                answer = await _op(agency, **req)
                assert answer["error"]["code"] == 1030, (change, answer)
            other = await _op(agency, **{**base, "purposeCode": "S1-ONKYU"})
            assert other["error"]["code"] == 3011
            basis = await _op(agency, **{**base, "legalBasis": "prefToOwnMunicipality"})
            assert basis["error"]["code"] == 3012, basis
            unknown = await _op(agency, op="provision_result", messageId="00" * 16)
            assert unknown["error"]["code"] == 4002
            assert (await _op(agency, op="provision_result",
                              messageId="xyz"))["error"]["code"] == 1030
            assert agency.storage.conn.execute(
                "SELECT COUNT(*) FROM provisions").fetchone()[0] == 0
            assert not net.role("AG0001").clients
            wrong = await _op(net.nodes["271004"], **base)
            assert wrong["error"]["code"] == 3003
        finally:
            await net.stop()
    run(go())
