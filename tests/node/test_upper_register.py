"""The card desk's upper tester ops (spec/node.md section 4.2): suspension on loss or
theft, its lifting by the municipality, and the record's state and PIN tries left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import run, shared_pki, start

from juki_protocol.node.node import Node
from juki_protocol.node.upper_tester import handle_line


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
            assert (await _op(node, op="card_verify", serial=serial,
                              pin="9999"))["confirmed"] is False
            assert (await _op(node, op="card_state", serial=serial))["retriesLeft"] == 2
            assert (await _op(node, op="card_suspend",
                              serial=serial))["cardState"] == "suspended"
            used = await _op(node, op="card_verify", serial=serial, pin="1234")
            assert used["confirmed"] is False and used["cardState"] == "suspended"
            again = await _op(node, op="card_suspend", serial=serial)
            assert again["ok"] is False, again
            assert (await _op(node, op="card_resume",
                              serial=serial))["cardState"] == "active"
            assert (await _op(node, op="card_verify", serial=serial,
                              pin="1234"))["confirmed"] is True
            missing = await _op(node, op="card_state", serial="271004-999999")
            assert missing["error"]["code"] == 5001
        finally:
            await net.stop()
    run(go())
