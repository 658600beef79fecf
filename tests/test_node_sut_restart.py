"""A launched node that does not come back from a restart in time fails that restart
only: the runner keeps the node's files and starts it once more, with time to spare, so
that the cases after it still have a node (juki_conformance/node_sut.py,
``NodeSut.restart``). Before, one slow start on a loaded machine removed the node's
files and left every later case of the run an error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from juki_conformance import node_sut
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import HarnessError, SutFault

#: The reference node, whose start number ``JUKI_SLOW_START`` (counted in a file of
#: ``JUKI_START_COUNT_DIR``) waits ``JUKI_SLOW_SECONDS`` before it starts.
SLOW_START = """
import os, runpy, sys, time
count = os.path.join(os.environ["JUKI_START_COUNT_DIR"], "starts")
with open(count, "a") as f:
    f.write("x")
if os.path.getsize(count) == int(os.environ["JUKI_SLOW_START"]):
    time.sleep(float(os.environ["JUKI_SLOW_SECONDS"]))
runpy.run_module("juki_protocol.tools.cli_node", run_name="__main__")
"""


def _slow_node(tmp_path: Path, start: int, seconds: float) -> NodeSut:
    script = tmp_path / "slow_node.py"
    script.write_text(SLOW_START, encoding="utf-8")
    return NodeSut([sys.executable, str(script), "node", "serve"], role="prefecture",
                   env={"JUKI_START_COUNT_DIR": str(tmp_path), "JUKI_SLOW_START": str(start),
                        "JUKI_SLOW_SECONDS": str(seconds)})


def _without_id(answer: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in answer.items() if k != "id"}


def test_a_restart_too_slow_fails_and_the_node_is_back_for_the_next_case(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_sut, "START_TIMEOUT", 4.0)
    sut = _slow_node(tmp_path, start=2, seconds=8.0)
    sut.start()
    try:
        before = _without_id(sut.status())
        with pytest.raises(SutFault, match=r"did not come back after the restart within 4 s"):
            sut.restart()
        assert sut.proc is not None and sut.workdir is not None and sut.workdir.is_dir()
        # The node came back on its own storage: its upper tester answers as before.
        assert _without_id(sut.status()) == before
        sut.restart()                 # the third start is not slow
        assert _without_id(sut.status()) == before
    finally:
        sut.stop()
    assert (tmp_path / "starts").read_text() == "xxxx"


def test_a_node_that_never_starts_leaves_no_files(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_sut, "START_TIMEOUT", 2.0)
    sut = _slow_node(tmp_path, start=1, seconds=30.0)
    with pytest.raises(HarnessError, match="did not start"):
        sut.start()
    assert sut.proc is None and sut.workdir is None
