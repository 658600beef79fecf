"""The benchmarks run and return sane figures (tiny sizes; no speed is asserted)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.node import percentile, run_node_benchmark
from benchmarks.scale import run_scale_benchmark


def test_node_benchmark_with_a_window_relays_every_update() -> None:
    fig = run_node_benchmark(6, processes=2, window=4)
    assert fig.updates == 24 and fig.municipalities == 4
    assert fig.stored_at_national == 24          # every update relayed and stored
    assert fig.per_second > 0 and fig.cpu_ms_per_update > 0
    for p50, p99 in (fig.pref_ack_ms, fig.national_ack_ms):
        assert 0 < p50 <= p99 and math.isfinite(p99)
    assert fig.pref_ack_ms[0] <= fig.national_ack_ms[0]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_scale_benchmark_runs(engine: str) -> None:
    fig = run_scale_benchmark(3000, queries=50, four_queries=3, engine=engine)
    assert fig.residents == 3000 and fig.engine == engine
    assert fig.load_rows_per_second > 0 and fig.db_bytes > 3000 * 100
    assert 0 < fig.index_bytes < fig.db_bytes or engine == "sqlite"
    for p50, p99 in (fig.sql_code_ms, fig.sql_four_ms, fig.node_code_ms, fig.node_four_ms):
        assert 0 < p50 <= p99
    # The node over the loaded store started and listened.
    assert 0 < fig.start_seconds and fig.start_rss_bytes > 10 * 2**20


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0


def test_quick_run_end_to_end() -> None:
    """``python -m benchmarks.run --quick``: every part, the conformance part on the
    codec-mode cases only; the timeout only guards against a hang (no speed is asserted
    here)."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick"], cwd=root,
                          capture_output=True, text=True, timeout=1200, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for line in ("machine:", "codec ratio", "envelope ratio", "sender window 1",
                 "sender window 16", "SQL lookup (indexed) by the four items",
                 "node lookup by the four items", "conformance: the codec-mode cases"):
        assert line in proc.stdout, line
    assert "(exit 0)" in proc.stdout and "0 fail" in proc.stdout, proc.stdout[-600:]


def test_hostile_benchmark_runs_and_the_bounds_hold() -> None:
    """A small hostile run (benchmarks/hostile.py): every update of the valid peer is
    acknowledged while half-open sockets and garbage-sending connections press on the
    node; the attackers lose sockets to the bounds (R-NODE-46, R-NODE-48). No latency is
    asserted: the published figures are the full run's."""
    from benchmarks.hostile import run_hostile

    fig = run_hostile(half_open=120, connections=20, updates=12, warmup=1.0,
                      reconnect_every=4)
    assert fig.node_alive and not fig.failures, fig.failures
    assert fig.acknowledged == 12 and len(fig.latencies) == 12 and len(fig.connects) == 3
    # With 120 held against a bound of 32 per address, the node dropped the oldest.
    assert fig.half_open_opened > 120, "R-NODE-46: no pending handshake was dropped"
    assert fig.tls_connected >= 20
