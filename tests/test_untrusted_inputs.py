"""Untrusted input never crashes: every JSON entry point answers any value with a result
or a registered error that names the problem (issue 7, robustness).

The DER walker, the codec's DER decoder, the frame decoder, the envelope opener, the
scapy layer and the evidence verifier have their own property tests beside their unit
tests; this file covers the JSON doors: the codec's JSON form, the codec-mode adapter's
request lines and the implementation conformance statement.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juki_conformance import ics as ics_mod
from juki_protocol.codec import codec
from juki_protocol.errors import REGISTRY, ErrorCode, JukiError
from juki_protocol.messages import MESSAGE_TYPES
from juki_protocol.tools import adapter

JSON_LEAVES = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
               | st.floats(allow_nan=False) | st.text(max_size=20))
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=30)

# Keys the decoders actually look at, so that generated objects get past the first check.
FIELD_NAMES = ["header", "messageId", "messageType", "sender", "recipient", "time",
               "resident", "residentCode", "name", "birthDate", "sex", "address",
               "code", "role", "status", "acknowledgedId", "errorCode", "refersTo",
               "sealed", "op", "id", "type", "der", "json", "profile"]
SHAPED = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), inner,
                      max_size=6),
    max_leaves=25)

ALL_TYPES = sorted(MESSAGE_TYPES)

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _registered(code: int) -> bool:
    return any(int(c) == code for c in REGISTRY)


@FUZZ
@given(st.sampled_from(ALL_TYPES), JSON_VALUES | SHAPED)
def test_codec_from_json_gives_a_message_or_a_registered_error(type_name: str,
                                                               obj: Any) -> None:
    try:
        msg = codec.from_json(type_name, obj)
    except JukiError as exc:
        assert isinstance(exc.error_code, ErrorCode)
        assert str(exc)
        return
    # Whatever was accepted is a valid message: it encodes and reads back equal.
    assert codec.decode(codec.encode(msg, profile=None), type_name) == msg


@FUZZ
@given(st.sampled_from(ALL_TYPES), st.text(max_size=200))
def test_codec_from_json_text_any_text(type_name: str, text: str) -> None:
    try:
        codec.from_json_text(type_name, text)
    except JukiError as exc:
        assert isinstance(exc.error_code, ErrorCode)


@pytest.mark.parametrize("text", [
    "[" * 200_000 + "]" * 200_000,                    # nesting far past the C stack
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    '"' + "x" * 2_000_000 + '"',                      # one huge string
    "1" * 100_000,                                    # a huge integer
    "1e999999",
    '{"messageId": "' + "A" * 100_000 + '"}',
])
def test_codec_json_hostile_shapes(text: str) -> None:
    with pytest.raises(JukiError) as info:
        codec.from_json_text("Acknowledgement", text)
    assert isinstance(info.value.error_code, ErrorCode)


def _answer_is_well_formed(line: str, answer: dict[str, Any]) -> None:
    assert set(answer) >= {"id", "ok"}
    json.dumps(answer)                                # always serialisable
    if not answer["ok"]:
        err = answer["error"]
        assert _registered(err["code"]), err
        assert err["code"] != int(ErrorCode.INTERNAL_ERROR), (line, err)
        assert err["message"]


@FUZZ
@given(st.text(max_size=300))
def test_adapter_any_line(line: str) -> None:
    _answer_is_well_formed(line, adapter.handle_line(line))


@FUZZ
@given(st.sampled_from(sorted(adapter.OPS)), st.dictionaries(
    st.sampled_from(FIELD_NAMES), SHAPED, max_size=6))
def test_adapter_any_request_for_each_op(op: str, fields: dict[str, Any]) -> None:
    line = json.dumps({**fields, "op": op, "id": 7})
    answer = adapter.handle_line(line)
    _answer_is_well_formed(line, answer)
    assert answer["id"] == 7


@pytest.mark.parametrize("line", [
    "[" * 200_000 + "]" * 200_000,
    '{"op": "decode", "id": 1, "der": "' + "00" * 500_000 + '"}',
    '{"op": "decode", "id": 1, "der": "zz"}',
    '{"op": "encode", "id": 1, "type": "NoSuchType", "json": {}}',
    '{"op": "open", "id": 1, "der": "3080", "keys": 5}',
    '{"op": "seal", "id": 1, "json": null}',
])
def test_adapter_hostile_lines(line: str) -> None:
    answer = adapter.handle_line(line)
    _answer_is_well_formed(line, answer)
    assert answer["ok"] is False


VALID_ICS = {"implementation": {"name": "x", "version": "1"}, "role": "prefecture",
             "profiles": ["current"], "modes": ["codec"]}


@FUZZ
@given(JSON_VALUES | SHAPED)
def test_ics_any_value_is_an_ics_or_a_named_error(obj: Any) -> None:
    try:
        ics_mod.parse(obj, "ics.json")
    except ValueError as exc:
        assert str(exc).startswith("ics.json:")


@FUZZ
@given(st.sampled_from(sorted(VALID_ICS)), JSON_VALUES)
def test_ics_one_field_replaced(key: str, value: Any) -> None:
    try:
        ics_mod.parse({**VALID_ICS, key: value}, "ics.json")
    except ValueError as exc:
        assert str(exc).startswith("ics.json: field"), exc


def test_ics_valid_example_parses() -> None:
    ics = ics_mod.parse(VALID_ICS)
    assert ics.role == "prefecture"


@pytest.mark.parametrize("content", [b"\xff\xfe{", b"[" * 100_000 + b"]" * 100_000,
                                     b'{"role": 1e999999}'])
def test_ics_file_that_is_not_json_is_named(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "ics.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: "):
        ics_mod.load(path)


@pytest.mark.parametrize("option", ["--known-failures", "--ics"])
def test_conformance_cli_names_an_unreadable_file(tmp_path: Path, option: str) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(b"\xff\xfe not utf-8")
    done = subprocess.run([sys.executable, "-m", "juki_conformance.cli", "run", option, str(path),
                           "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert str(path) in done.stderr and "Traceback" not in done.stderr
