"""The node tests again with every node's tables in PostgreSQL (JUKI_TEST_BACKEND,
tests/node/node_helpers.py): one command runs the suite on both backends."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_node_test_passes_with_the_nodes_on_postgresql() -> None:
    env = {**os.environ, "JUKI_TEST_BACKEND": "postgresql"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "no:randomly", "tests/node"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=1200, check=False)
    tail = proc.stdout[-3000:]
    assert proc.returncode == 0, tail
    summary = re.search(r"(\d+) passed", tail)
    assert summary and int(summary.group(1)) >= 150, tail
    assert " skipped" not in tail.splitlines()[-1], tail
