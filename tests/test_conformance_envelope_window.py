"""The envelope cases at the time window's edges (juki_conformance/cases_envelope_window.py):
the reference adapter passes them all; an opener that refuses a header time exactly 300 s
from now, or one that forgets an opened message id once its time plus the window
reaches now (instead of when it has passed), fails the cases of that edge."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import pytest

from juki_conformance.cases_envelope_window import envelope_window_cases
from juki_conformance.model import Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.envelope import envelope as env
from juki_protocol.tools import adapter

REFERENCE = [sys.executable, "-m", "juki_protocol.tools.adapter"]


class InProcess:
    """The reference adapter's ops called in this process (so that a test can patch
    the library under them), answering as the adapter protocol does."""

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        return adapter.handle_line(json.dumps({"id": 1, "op": op, **fields}))


def _verdicts(sut: object) -> dict[str, Verdict]:
    return {c.id: c.run(sut).verdict for c in envelope_window_cases()}  # type: ignore[arg-type]


def test_the_reference_adapter_passes_every_case() -> None:
    sut = AdapterSut(REFERENCE)
    try:
        verdicts = _verdicts(sut)
    finally:
        sut.stop()
    assert len(verdicts) == 6
    assert set(verdicts.values()) == {Verdict.PASS}, verdicts


def test_in_process_the_same() -> None:
    assert set(_verdicts(InProcess()).values()) == {Verdict.PASS}


def test_an_opener_refusing_at_300_s_fails_the_edge_cases(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = env.open_envelope

    def strict(data: bytes, creds: Any, trust: Any, now: dt.datetime, **kw: Any) -> Any:
        kw["time_window"] = kw["time_window"] - dt.timedelta(seconds=1)
        return real(data, creds, trust, now, **kw)
    monkeypatch.setattr(env, "open_envelope", strict)
    failed = {cid for cid, v in _verdicts(InProcess()).items() if v is Verdict.FAIL}
    assert failed == {c.id for c in envelope_window_cases()}


def test_an_opener_forgetting_ids_at_the_edge_fails_the_past_edge_cases(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def prune(self: env.ReplayCache, now: dt.datetime) -> None:
        for mid in [m for m, (_, until) in self._seen.items() if until <= now]:
            del self._seen[mid]
    monkeypatch.setattr(env.ReplayCache, "prune", prune)
    failed = {cid for cid, v in _verdicts(InProcess()).items() if v is Verdict.FAIL}
    assert failed == {"pdu/envelope/window/duplicate-at-the-past-edge",
                      "pdu/envelope/window/replay-at-the-past-edge"}
