"""The upper tester's ``audit_checkpoints`` (spec/node.md section 4.7, R-NODE-29): the
checkpoint file's lines exactly as written, paged with ``after``, and the node's
intervals; across a restart the lines link to each other, as the runner checks them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from node_helpers import run, shared_pki, start

from juki_conformance.cases_node_audit_anchor import GENESIS, link_problem
from juki_protocol.node.node import Node
from juki_protocol.node.upper_tester import UpperTester, handle_line


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


async def _op(node: Node, **req: Any) -> dict[str, Any]:
    return await handle_line(node, json.dumps({"id": 1, **req}).encode())


def test_checkpoints_are_the_file_as_written_and_link_across_a_restart(
        tmp_path: Path, pki_dir: Path) -> None:
    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("prefecture", "270008")])
        node = net.nodes["270008"]
        tester = UpperTester(node)
        try:
            hello = await _op(node, op="hello")
            assert "audit_checkpoints" in hello["ops"]
            node.anchor.checkpoint(node.now(), force=True)
            first = await _op(node, op="audit_checkpoints")
            assert first["ok"] and first["total"] == len(first["lines"]) >= 1
            assert first["everyEntries"] == node.config.audit.checkpoint_rows
            assert first["everySeconds"] == node.config.audit.checkpoint_seconds
            written = node.anchor.path.read_text(encoding="utf-8").splitlines()
            assert first["lines"] == written
            assert json.loads(written[0])["prev"] == GENESIS
            answer = await handle_line(node, b'{"id": 2, "op": "restart"}',
                                       restart=tester.restart)
            assert answer["ok"] is True, answer
            tester.node.anchor.checkpoint(tester.node.now(), force=True)
            after = await _op(tester.node, op="audit_checkpoints")
            assert after["total"] >= first["total"] + 1
            assert link_problem(after["lines"], 0) is None
            paged = await _op(tester.node, op="audit_checkpoints", after=1)
            assert paged["lines"] == after["lines"][1:]
            broken = [*after["lines"][:-1], after["lines"][-1].replace('"prev":"',
                                                                       '"prev":"0')]
            assert link_problem(broken, 0) is not None
            bad = await _op(tester.node, op="audit_checkpoints", after=-1)
            assert bad["ok"] is False and bad["error"]["code"] == 1030
        finally:
            await tester.node.stop()
            net.nodes.pop("270008", None)
            await net.stop()
    run(body(), timeout=60)
