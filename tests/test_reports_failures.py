"""A failing codec-mode case keeps what the adapter was asked and did (issue 15, item
4): its requests and responses, the adapter's exit status and the tail of its stderr,
in report.json (schema-valid), in the JUnit ``system-out`` (parsed with junitparser, as
CI tools read it) and in the HTML report."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from junitparser.xunit2 import JUnitXml

from juki_conformance.cli import main
from juki_conformance.sut import STDERR_TAIL

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "juki_conformance" / "report.schema.json").read_text("utf-8"))

#: An adapter that answers like the reference but, on a decode request for
#: IdentityInfoUpdate, writes more than the kept tail on stderr and then dies (exit 7).
NOISY_CRASHER = '''
import os, sys
from juki_protocol.tools import adapter
def decode(req):
    if req.get("type") == "IdentityInfoUpdate":
        sys.stderr.write("noise " * 2000 + "\\n")
        sys.stderr.write("adapter: giving up on " + req["der"][:16] + "\\n")
        sys.stderr.flush()
        os._exit(7)
    return adapter.op_decode(req)

adapter.serve(sys.stdin, sys.stdout, {**adapter.OPS, "decode": decode})
'''


def _run(out: Path, adapter: str, *cases: str) -> dict[str, Any]:
    args = ["run", "--quiet", "--explore", "0", "--adapter", adapter, "--out", str(out)]
    for case in cases:
        args += ["--cases", case]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1, res.output
    report: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, SCHEMA)
    return report


def _system_out(out: Path) -> dict[str, str]:
    xml = JUnitXml.fromfile(str(out / "junit.xml"))
    return {case.name: case.system_out or "" for suite in xml for case in suite}


def _faulty(fault: str) -> str:
    return f"{shlex.quote(sys.executable)} -m juki_conformance.selftest.faulty_adapter " \
           f"--fault {fault}"


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("crash")
    return out, _run(out, _faulty("crash-on-garbage"), "der/codec/robustness/random-*")


def test_a_crash_keeps_the_request_and_the_exit_status(
        crashed: tuple[Path, dict[str, Any]]) -> None:
    out, report = crashed
    failed = [c for c in report["cases"] if c["verdict"] == "fail"]
    assert failed
    for case in failed:
        record = case["adapter"]
        assert record["exitStatus"] == 3                    # the fault's sys.exit(3)
        last = record["exchanges"][-1]
        request = json.loads(last["request"])
        assert request["op"] == "decode" and request["der"]
        assert last["fault"] == "the adapter exited" and "response" not in last
    # Passing cases carry no record.
    assert all("adapter" not in c for c in report["cases"] if c["verdict"] == "pass")
    outs = _system_out(out)
    for case in failed:
        text = outs[case["id"]]
        assert "adapter exit status: 3" in text
        assert f"request:  {case['adapter']['exchanges'][-1]['request']}" in text
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "exit status: 3" in html and "the adapter exited" in html


def test_a_wrong_answer_keeps_the_request_and_the_response(tmp_path: Path) -> None:
    report = _run(tmp_path, _faulty("wrong-code-for-trailing-data"),
                  "*/one-octet-after-the-value")
    failed = [c for c in report["cases"] if c["verdict"] == "fail"]
    assert failed
    record = failed[0]["adapter"]
    assert record["exitStatus"] is None                     # it answered, and lives on
    last = record["exchanges"][-1]
    response = json.loads(last["response"])
    assert response["ok"] is False and response["error"]["name"] == "DER_MALFORMED"
    assert json.loads(last["request"])["id"] == response["id"]
    text = _system_out(tmp_path)[failed[0]["id"]]
    assert "response: " in text and "DER_MALFORMED" in text
    assert "adapter exit status: none" in text


def test_the_stderr_tail_is_kept_and_bounded(tmp_path: Path) -> None:
    script = tmp_path / "noisy_crasher.py"
    script.write_text(NOISY_CRASHER, encoding="utf-8")
    report = _run(tmp_path / "out", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}",
                  "30-5/codec/*")
    failed = [c for c in report["cases"] if c["verdict"] == "fail" and "adapter" in c]
    assert failed
    for case in failed:
        record = case["adapter"]
        assert record["exitStatus"] == 7
        tail = record["stderrTail"]
        der = json.loads(record["exchanges"][-1]["request"])["der"]
        # The tail of this case's own stderr: its last line names this case's input.
        assert tail.rstrip().endswith(f"adapter: giving up on {der[:16]}")
        assert len(tail.encode()) <= STDERR_TAIL
    text = _system_out(tmp_path / "out")[failed[0]["id"]]
    assert "adapter stderr (tail):" in text and "adapter: giving up on" in text
