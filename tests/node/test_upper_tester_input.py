"""The upper tester answers any request line with one registered answer and keeps its
node unchanged by refused requests (R-NODE-09; issue 7, untrusted input)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from node_helpers import run, shared_pki, start

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.node import upper_tester
from juki_protocol.node.upper_ops import date, day

HOSTILE = [
    b"[" * 200_000 + b"]" * 200_000,          # nesting past the C stack
    b"\xff\xfe\x00",                           # not UTF-8
    b'{"op": "status", "id": ' + b"9" * 100_000 + b"}",   # an over-long integer
    b'{"op": 5}', b"[]", b"null", b"",
    b'{"op": "record_change", "id": 1, "residentCode": {"a": []}}',
    b'{"op": "card_verify", "id": 1, "serial": null, "pin": 12}',
    b'{"op": "register_resident", "id": 1, "seed": ["x"]}',
]


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def test_any_line_gets_one_registered_answer(tmp_path: Path, pki_dir: Path) -> None:
    lines = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      st.dictionaries(st.sampled_from(["op", "id", "seed", "residentCode",
                                                       "serial", "pin", "by"]),
                                      st.none() | st.integers() | st.text(max_size=10)
                                      | st.sampled_from(sorted(upper_tester.OPS)),
                                      max_size=5).map(lambda d: json.dumps(d).encode()))

    async def body() -> None:
        net = await start(tmp_path, pki_dir, [("municipality", "271004")])
        node = net.nodes["271004"]
        try:
            before = (await upper_tester.handle_line(node, b'{"op": "status"}'))
            # Hypothesis draws the lines; the node answers them in this event loop.
            drawn: list[bytes] = []

            @settings(max_examples=120, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])
            @given(lines)
            def draw(line: bytes) -> None:
                drawn.append(line)

            draw()
            # A refused request leaves the node as it was; an accepted one (a drawn line
            # may be a well-formed op, such as record_resident) may change it.
            answers, changed_by_refusal = [], []
            state = before
            for line in [*HOSTILE, *drawn]:
                answer = await upper_tester.handle_line(node, line)
                answers.append(answer)
                now = await upper_tester.handle_line(node, b'{"op": "status"}')
                if answer.get("ok") is not True and now != state:
                    changed_by_refusal.append(line)
                state = now
        finally:
            await net.stop()
        for answer in answers:
            json.dumps(answer)
            if answer.get("ok") is not True:
                code = answer["error"]["code"]
                assert code in {int(c) for c in ErrorCode}, answer
                assert code != int(ErrorCode.INTERNAL_ERROR), answer
        for answer in answers[:len(HOSTILE)]:
            assert answer.get("ok") is not True, answer
        assert changed_by_refusal == []       # refused requests left the node as it was

    run(body(), timeout=120)


def test_a_date_field_is_exactly_yyyy_mm_dd() -> None:
    """R-NODE-87: the basic form and a week date, which date.fromisoformat takes, are
    1030 like any malformed date."""
    default = dt.date(2026, 1, 1)
    assert day("2026-02-28", "date") == dt.date(2026, 2, 28)
    assert date({}, "date", default) is default
    for value in ("20260228", "2026-W09-6", "2026-02-30", "2026-2-28", " 2026-02-28", 20260228,
                  None):
        with pytest.raises(JukiError) as caught:
            date({"date": value}, "date", default)
        assert caught.value.error_code == ErrorCode.INVALID_JSON, value
        assert "date must be a date YYYY-MM-DD" in str(caught.value)
