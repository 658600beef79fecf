"""tools/wireshark/juki.lua: tshark shows our own captures' frames and PDUs by name.

Every capture here is made by the project's own code (``juki fixtures capture``'s
:func:`~juki_protocol.tools.capture.capture.write_capture`, the conformance runner's
:func:`~juki_conformance.lower_tester.write_case_captures`, or the TCP crafting of
:mod:`juki_protocol.tools.capture.scapy_layer`); tshark, with the Lua dissector loaded, must give back
the fields that the Python codec put there, and malformed frames must give an expert
item, never a Lua error.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from scapy.utils import rdpcap

from juki_conformance.lower_tester import Frame, capture_name, write_case_captures
from juki_conformance.model import Case, CaseResult, Outcome, Verdict
from juki_protocol.codec import codec
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    ErrorReport,
    JukiPdu,
    MessageType,
    PduHeader,
)
from juki_protocol.tools.capture.capture import (
    NOW,
    capture_packets,
    flow_pdus,
    node_of,
    write_capture,
    write_pcapng,
)
from juki_protocol.tools.capture.scapy_layer import (
    JUKI_PORT,
    Endpoint,
    TcpConnection,
    frame_bytes,
    frames_from_pcap,
    isn_of,
)

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "tools" / "wireshark" / "juki.lua"
SEED = 3
NETWORK_FLOWS = ("wide-area", "special-move", "identity-update", "provision")

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None,
                                reason="tshark is not installed (.ci/run installs it)")


# Running tshark ---------------------------------------------------------------------------

def _assert_no_lua_error(res: subprocess.CompletedProcess[str]) -> None:
    # tshark reports a script that does not load on stderr ("tshark: Lua: ...") and an
    # error raised while dissecting as a "Lua Error:" item (field _ws.lua.error).
    assert "Lua" not in res.stderr, res.stderr
    assert "Lua Error" not in res.stdout, res.stdout


def tshark(path: Path, *args: str, script: Path = LUA) -> str:
    res = subprocess.run(["tshark", "-X", f"lua_script:{script}", "-r", str(path), *args],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    _assert_no_lua_error(res)
    return res.stdout


def fields(path: Path, names: list[str], display_filter: str = "juki") -> list[list[str]]:
    """One row per packet that matches, one column per field ("" when absent)."""
    args = ["-Y", display_filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    for name in names:
        args += ["-e", name]
    out = tshark(path, *args)
    return [line.split("\t") for line in out.splitlines()]


_BYTES_FIELDS = {"juki.message_id", "juki.correlation_id", "juki.ack.acknowledged_id",
                 "juki.error.refers_to", "juki.sealed"}


def per_pdu(path: Path, names: list[str], display_filter: str = "juki") -> list[tuple[str, ...]]:
    """One tuple per Juki frame in capture order (a packet may carry several), with the
    first value of each field inside that frame's tree ("" when absent), from PDML."""
    root = ElementTree.fromstring(tshark(path, "-Y", display_filter, "-T", "pdml"))
    out: list[tuple[str, ...]] = []
    for proto in root.iter("proto"):
        if proto.get("name") != "juki":
            continue
        row = []
        for name in names:
            found = next((f for f in proto.iter("field") if f.get("name") == name), None)
            show = "" if found is None else found.get("show", "")
            row.append(show.replace(":", "") if name in _BYTES_FIELDS else show)
        out.append(tuple(row))
    return out


def no_lua_errors(path: Path, script: Path = LUA) -> None:
    assert tshark(path, "-Y", "_ws.lua.error", script=script) == ""


# Captures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def flow_captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("flows")
    paths = {}
    for flow in NETWORK_FLOWS:
        paths[flow] = out / f"{flow}.pcapng"
        write_capture(flow, SEED, paths[flow])
    return paths


def _header(message_type: MessageType, seq: int, *, correlation: bytes | None = None,
            message_id: bytes = bytes(range(16))) -> PduHeader:
    return PduHeader(version=1, message_id=message_id, correlation_id=correlation,
                     message_type=message_type, sender=node_of("270008"),
                     recipient=node_of("271004"), time=NOW, sequence_number=seq,
                     profile=Profile.CURRENT)


def error_report(code: int, seq: int, detail: str | None = None) -> JukiPdu:
    return JukiPdu(header=_header(MessageType.ERROR_REPORT, seq,
                                  correlation=bytes(range(16, 32)),
                                  message_id=bytes([seq]) * 16),
                   error_report=ErrorReport(error_code=code, refers_to=bytes(range(16, 32)),
                                            detail=detail))


def acknowledgement(seq: int) -> JukiPdu:
    return JukiPdu(header=_header(MessageType.ACKNOWLEDGEMENT, seq,
                                  message_id=bytes([0x80 + seq]) * 16),
                   acknowledgement=Acknowledgement(acknowledged_id=bytes(range(16, 32)),
                                                   status=AckStatus.DUPLICATE))


def _connection(port: int = JUKI_PORT) -> TcpConnection:
    start = NOW.timestamp()
    ticks = iter(range(1 << 20))
    return TcpConnection(client=Endpoint("00:00:5e:00:53:01", "192.0.2.1", 49152),
                         server=Endpoint("00:00:5e:00:53:02", "192.0.2.2", port),
                         client_isn=isn_of("wireshark/client"),
                         server_isn=isn_of("wireshark/server"),
                         clock=lambda: round(start + next(ticks) * 0.001, 6))


def _stream_capture(path: Path, chunks: list[bytes], *, port: int = JUKI_PORT) -> Path:
    """One connection; each chunk of octets is sent by the client as it is."""
    conn = _connection(port)
    conn.open()
    for chunk in chunks:
        conn.send(True, chunk)
    conn.close()
    write_pcapng(path, conn.packets, comment="test_wireshark")
    return path


# The generated tables ---------------------------------------------------------------------

def _generator() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("juki_wireshark_generate",
                                                  LUA.with_name("generate.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_tables_equal_a_fresh_generation() -> None:
    gen = _generator()
    current = LUA.read_text(encoding="utf-8")
    fresh = gen.generate()
    assert gen.splice(current, fresh) == current, "run python tools/wireshark/generate.py"
    assert gen.main(["--check"]) == 0
    # The check notices a stale block.
    assert gen.splice(current, fresh.replace('"ENVELOPE_INVALID"', '"X"')) != current


def test_tables_hold_every_message_type_and_registered_error() -> None:
    import json

    text = LUA.read_text(encoding="utf-8")
    for mtype in MessageType:
        assert f'= "{mtype.value}",' in text
    for entry in json.loads((ROOT / "spec" / "errors.json").read_text())["errors"]:
        assert f'[{entry["code"]}] = "{entry["name"]}",' in text


def test_generator_script_runs_standalone() -> None:
    import sys

    res = subprocess.run([sys.executable, str(LUA.with_name("generate.py")), "--check"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr


# Flows ------------------------------------------------------------------------------------

HEADER_FIELDS = ["juki.message_type", "juki.sender", "juki.recipient", "juki.sequence_number",
                 "juki.message_id", "juki.correlation_id", "juki.version", "juki.time",
                 "juki.profile", "juki.body"]


def _expected_header(pdu: JukiPdu) -> tuple[str, ...]:
    h = pdu.header
    body = ("sealed" if pdu.sealed is not None else
            "acknowledgement" if pdu.acknowledgement is not None else "errorReport")
    return (h.message_type.value, str(h.sender), str(h.recipient), str(h.sequence_number),
            h.message_id.hex(), "" if h.correlation_id is None else h.correlation_id.hex(),
            str(h.version), h.time.strftime("%Y-%m-%dT%H:%M:%SZ"), h.profile.value, body)


@pytest.mark.parametrize("flow", NETWORK_FLOWS)
def test_every_pdu_of_a_flow_is_shown_by_name(flow: str,
                                              flow_captures: dict[str, Path]) -> None:
    expected = [_expected_header(c.pdu) for c in flow_pdus(flow, SEED)[0]]
    assert expected
    got = per_pdu(flow_captures[flow], HEADER_FIELDS)
    assert got == expected
    no_lua_errors(flow_captures[flow])
    # No expert item of the dissector on a valid capture.
    assert fields(flow_captures[flow], ["frame.number"],
                  "juki.malformed || juki.too_large || juki.constraint || juki.extension") == []


def test_sender_and_recipient_parts_and_sealed_length(flow_captures: dict[str, Path]) -> None:
    pdus = [c.pdu for c in flow_pdus("special-move", SEED)[0]]
    got = per_pdu(flow_captures["special-move"],
                  ["juki.sender.role", "juki.sender.code", "juki.recipient.role",
                   "juki.recipient.code", "juki.sealed_length", "juki.length"])
    assert got == [(p.header.sender.role.value, p.header.sender.code,
                    p.header.recipient.role.value, p.header.recipient.code,
                    "" if p.sealed is None else str(len(p.sealed)),
                    str(len(codec.encode(p, profile=None)))) for p in pdus]
    # Sealed bodies span several TCP segments: shown once, reassembled.
    assert any(p.sealed is not None and len(p.sealed) > 1460 for p in pdus)


def test_display_filter_on_the_message_type(flow_captures: dict[str, Path]) -> None:
    path = flow_captures["identity-update"]
    pdus = [c.pdu for c in flow_pdus("identity-update", SEED)[0]]
    want = [p.header.message_id.hex() for p in pdus
            if p.header.message_type is MessageType.IDENTITY_INFO_UPDATE]
    assert want
    got = per_pdu(path, ["juki.message_id"], 'juki.message_type == "identityInfoUpdate"')
    assert [g[0] for g in got] == want
    assert fields(path, ["frame.number"], 'juki.message_type == "provisionRequest"') == []
    # The packet list's Info column names the PDU.
    listing = tshark(path, "-Y", 'juki.message_type == "identityInfoUpdate"')
    assert "identityInfoUpdate municipality:" in listing and "JUKI" in listing


def test_another_port_by_preference_or_decode_as(tmp_path: Path) -> None:
    pdus, _ = flow_pdus("provision", SEED)
    path = tmp_path / "other-port.pcapng"
    write_pcapng(path, capture_packets(pdus, port=8443))
    want = [_expected_header(c.pdu) for c in pdus]
    assert fields(path, ["frame.number"]) == []         # not on the default port
    for option in (["-o", "juki.tcp_port:8443"], ["-d", "tcp.port==8443,juki"]):
        res = subprocess.run(["tshark", "-X", f"lua_script:{LUA}", *option, "-r", str(path),
                              "-Y", "juki", "-T", "fields", "-E", "occurrence=a", "-e",
                              "juki.message_type", "-e", "juki.message_id"],
                             capture_output=True, text=True, timeout=120, check=True)
        _assert_no_lua_error(res)
        got = [tuple(line.split("\t")) for line in res.stdout.splitlines()]
        assert got == [(w[0], w[4]) for w in want], option


def test_without_reassembly_a_split_frame_is_flagged_not_an_error(
        flow_captures: dict[str, Path]) -> None:
    path = flow_captures["special-move"]
    res = subprocess.run(["tshark", "-X", f"lua_script:{LUA}", "-o",
                          "tcp.desegment_tcp_streams:FALSE", "-r", str(path), "-Y",
                          "juki.partial", "-T", "fields", "-e", "_ws.expert.message"],
                         capture_output=True, text=True, timeout=120, check=True)
    _assert_no_lua_error(res)
    assert "not reassembled" in res.stdout
    assert "Lua Error" not in subprocess.run(
        ["tshark", "-X", f"lua_script:{LUA}", "-o", "tcp.desegment_tcp_streams:FALSE", "-r",
         str(path), "-V"], capture_output=True, text=True, timeout=120, check=True).stdout


# Acknowledgements and error reports -------------------------------------------------------

def test_error_reports_and_acknowledgements_by_name(tmp_path: Path) -> None:
    reports = [error_report(2001, 1), error_report(3002, 2, detail="addressed to 271004"),
               error_report(9002, 3)]
    # Two frames in one segment, then one frame over three segments (a long detail).
    big = error_report(1024, 4, detail="x" * 256)
    chunks = [frame_bytes(reports[0]) + frame_bytes(acknowledgement(5)),
              frame_bytes(reports[1]) + frame_bytes(reports[2]), frame_bytes(big)]
    path = _stream_capture(tmp_path / "errors.pcapng", chunks)
    got = per_pdu(path, ["juki.message_type", "juki.error_code", "juki.error_name",
                         "juki.error.detail", "juki.ack.status", "juki.ack.acknowledged_id",
                         "juki.error.refers_to"])
    refers = bytes(range(16, 32)).hex()
    assert got == [
        ("errorReport", "2001", "ENVELOPE_INVALID", "", "", "", refers),
        ("acknowledgement", "", "", "", "duplicate", refers, ""),
        ("errorReport", "3002", "WRONG_RECIPIENT", "addressed to 271004", "", "", refers),
        ("errorReport", "9002", "OVERLOADED", "", "", "", refers),
        ("errorReport", "1024", "INVALID_FIELD", "x" * 256, "", "", refers),
    ]
    assert [r[0] for r in fields(path, ["juki.error_code"], "juki.error_code == 2001")] \
        == ["2001"]
    # A display filter selects packets: the first packet also carries the acknowledgement.
    assert per_pdu(path, ["juki.message_type"], "juki.error_code >= 9000") \
        == [("errorReport",), ("errorReport",)]
    verbose = tshark(path, "-V", "-Y", "juki.error_code == 2001")
    assert "errorCode: 2001 (ENVELOPE_INVALID)" in verbose
    assert "status: duplicate" in verbose
    no_lua_errors(path)


# pcapng with the case id ------------------------------------------------------------------

def _case(case_id: str) -> Case:
    def run(_: object) -> Outcome:
        raise AssertionError("not run")

    return Case(id=case_id, title="t", clause="spec/pdu.md", requirements=("R-PDU-12",),
                level="MUST", remediation="r", mode="node", run=run)


def test_conformance_case_capture_is_pcapng_commented_with_the_case_id(tmp_path: Path) -> None:
    pdus = flow_pdus("identity-update", SEED)[0]
    update = next(c.pdu for c in pdus if c.pdu.sealed is not None)
    answer = error_report(2003, 0)
    at = NOW.timestamp()
    frames = (Frame(connection=1, runner_port=50000, node_port=JUKI_PORT, runner_opened=True,
                    from_runner=True, data=frame_bytes(update), at=at),
              Frame(connection=1, runner_port=50000, node_port=JUKI_PORT, runner_opened=True,
                    from_runner=False, data=frame_bytes(answer), at=at + 0.5))
    failing, passing = "node/identity/update-bad-signature", "node/identity/ok"
    results = [CaseResult(case=_case(failing), outcome=Outcome(Verdict.FAIL, "2003", "none"),
                          seconds=1.0, frames=frames),
               CaseResult(case=_case(passing), outcome=Outcome(Verdict.PASS, "x", "x"),
                          seconds=1.0, frames=frames)]
    directory = tmp_path / "captures"
    directory.mkdir()
    (directory / "stale.pcap").write_bytes(b"old")
    written = write_case_captures(results, directory)
    assert written == [directory / capture_name(failing)]
    assert sorted(p.name for p in directory.iterdir()) == [capture_name(failing)]
    path = written[0]
    assert path.suffix == ".pcapng"
    assert path.read_bytes()[:4] == bytes.fromhex("0a0d0d0a")      # a Section Header Block
    comment = f"conformance case {failing}"
    rows = fields(path, ["frame.number", "frame.comment"], "frame.comment")
    assert rows == [["1", comment]]
    assert fields(path, ["frame.number"], f'frame.comment contains "{failing}"') == [["1"]]
    capinfos = subprocess.run(["capinfos", str(path)], capture_output=True, text=True,
                              timeout=60, check=True)
    assert f"Capture comment:     {comment}" in capinfos.stdout
    assert "pcapng" in capinfos.stdout
    # The frames are dissected by name, and read back by our own reader.
    assert per_pdu(path, ["juki.message_type", "juki.error_name"]) == [
        (update.header.message_type.value, ""), ("errorReport", "SIGNATURE_INVALID")]
    assert frames_from_pcap(path) == [update, answer]
    assert [p.comment for p in rdpcap(str(path))][:2] == [comment.encode(), None]


def test_fixture_capture_is_commented_with_flow_and_seed(flow_captures: dict[str, Path]) -> None:
    path = flow_captures["provision"]
    rows = fields(path, ["frame.number", "frame.comment"], "frame.comment")
    assert rows == [["1", f"juki fixtures capture --flow provision --seed {SEED}"]]


def test_classic_pcap_is_still_dissected(tmp_path: Path) -> None:
    path = tmp_path / "old.pcap"
    write_capture("wide-area", SEED, path)
    assert path.read_bytes()[:4] == bytes.fromhex("d4c3b2a1")
    assert per_pdu(path, HEADER_FIELDS) == [_expected_header(c.pdu)
                                            for c in flow_pdus("wide-area", SEED)[0]]


# Malformed frames -------------------------------------------------------------------------

def _good() -> bytes:
    return codec.encode(error_report(2001, 1), profile=None)


def _header_without_version(der: bytes) -> bytes:
    # The header's first component, version [0] = 80 01 01, removed, lengths adjusted.
    assert der[2] == 0xA0 and der[4:7] == bytes.fromhex("800101")
    inner = der[2:3] + bytes([der[3] - 3]) + der[7:]
    return bytes([der[0], der[1] - 3]) + inner


MALFORMED: dict[str, tuple[Callable[[], bytes], str]] = {
    "not a JukiPdu": (lambda: bytes.fromhex("3000"), "1013 DER_UNEXPECTED_TAG"),
    "garbage": (lambda: b"\xff" * 7, "1010 DER_MALFORMED"),
    "indefinite length": (lambda: bytes.fromhex("7e800000"), "1011 DER_NON_CANONICAL"),
    "long-form short length": (lambda: bytes.fromhex("7e810100"), "1011 DER_NON_CANONICAL"),
    "value runs past the frame": (lambda: _good()[:-1], "1010 DER_MALFORMED"),
    "trailing octets": (lambda: _good() + b"\x00", "1012 DER_TRAILING_DATA"),
    "missing version": (lambda: _header_without_version(_good()), "1010 DER_MALFORMED"),
    "short message id": (lambda: _short_message_id(), "1015 CONSTRAINT_VIOLATION"),
    "non-minimal integer": (lambda: _non_minimal(), "1011 DER_NON_CANONICAL"),
    "empty frame": (lambda: b"", "1010 DER_MALFORMED"),
}


def _short_message_id() -> bytes:
    der = _good()
    mid = bytes([1]) * 16
    i = der.index(bytes.fromhex("8110") + mid)
    # messageId [1] of 15 octets: every enclosing length shrinks by one.
    body = der[:i] + bytes.fromhex("810f") + mid[:15] + der[i + 18:]
    return bytes([body[0], body[1] - 1, body[2], body[3] - 1]) + body[4:]


def _non_minimal() -> bytes:
    der = _good()
    # version [0] INTEGER 1 written as 00 01: each enclosing length grows by one.
    assert der[4:7] == bytes.fromhex("800101")
    body = der[:4] + bytes.fromhex("80020001") + der[7:]
    return bytes([body[0], body[1] + 1, body[2], body[3] + 1]) + body[4:]


def test_malformed_frames_give_one_expert_item_each_and_no_lua_error(tmp_path: Path) -> None:
    names = list(MALFORMED)
    chunks = [frame_bytes(MALFORMED[n][0]()) for n in names]
    # A frame over the maximum: its length prefix alone, then the connection closes.
    chunks.append((2 * 1024 * 1024).to_bytes(4, "big") + b"\x7e\x00")
    path = _stream_capture(tmp_path / "malformed.pcapng", chunks)
    rows = fields(path, ["_ws.expert.message"], "juki.malformed || juki.too_large")
    messages = [r[0] for r in rows]
    assert len(messages) == len(names) + 1
    for name, message in zip(names, messages, strict=False):
        assert message.startswith(MALFORMED[name][1] + ":"), (name, message)
    assert messages[-1].startswith("1001 FRAME_TOO_LARGE: a frame of 2097152 octets")
    assert "could not read" not in "\n".join(messages)
    verbose = tshark(path, "-V")
    assert "Malformed" in verbose
    no_lua_errors(path)


def test_a_lua_error_would_be_noticed(tmp_path: Path) -> None:
    # The checks above would see a Lua error: a copy of the dissector that raises one
    # outside its own protection is caught by them.
    broken = tmp_path / "broken.lua"
    text = LUA.read_text(encoding="utf-8")
    marker = "local function dissect_frame(tvb, pinfo, tree)\n"
    assert marker in text
    broken.write_text(text.replace(marker, marker + '    error("boom")\n'), encoding="utf-8")
    path = _stream_capture(tmp_path / "one.pcapng", [frame_bytes(acknowledgement(1))])
    with pytest.raises(AssertionError):
        tshark(path, "-V", script=broken)
    with pytest.raises(AssertionError):
        no_lua_errors(path, script=broken)


def test_capture_time_is_the_packet_time(flow_captures: dict[str, Path]) -> None:
    rows = fields(flow_captures["wide-area"], ["frame.time_epoch"], "frame.number == 1")
    assert float(rows[0][0]) == NOW.timestamp()
    assert NOW.tzinfo is not None and NOW.utcoffset() == dt.timedelta(0)


def test_a_real_conformance_run_capture_names_its_case(tmp_path: Path) -> None:
    # A small conformance run against a faulty node: its failing case's capture is a
    # pcapng commented with the case id, and tshark shows the frames the runner logged.
    import sys

    from click.testing import CliRunner

    from juki_conformance.cli import main

    case = "12-2/node/wide-area/copy-without-family-register"
    faulty = f"{sys.executable} -m juki_conformance.selftest.faulty_node " \
             "--fault returns-family-register"
    res = CliRunner().invoke(main, [
        "run", "--quiet", "--vectors", str(ROOT / "vectors"), "--cases", "12-2/node/*",
        "--node-command", faulty, "--out", str(tmp_path / "report")])
    assert res.exit_code == 1, res.output
    path = tmp_path / "report" / "captures" / capture_name(case)
    assert path.is_file() and path.suffix == ".pcapng"
    assert fields(path, ["frame.comment"], "frame.comment") == [[f"conformance case {case}"]]
    got = per_pdu(path, ["juki.message_type", "juki.sender.role", "juki.recipient.role",
                         "juki.body"])
    assert [g[0] for g in got] == ["wideAreaIssuanceRequest", "acknowledgement",
                                   "wideAreaIssuanceResponse", "acknowledgement"]
    assert all(g[1] and g[2] for g in got)
    assert [g[3] for g in got] == ["sealed", "acknowledgement", "sealed", "acknowledgement"]
    assert [(p.header.message_type.value, p.header.message_id.hex())
            for p in frames_from_pcap(path)] == [
        (m, i) for m, i in per_pdu(path, ["juki.message_type", "juki.message_id"])]
    no_lua_errors(path)


def test_readme_wireshark_commands_run_as_written(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### Captures in Wireshark", 1)[1].split("```sh", 1)[1]
    commands = block.split("```", 1)[0].replace("\\\n", " ").strip().splitlines()
    assert len(commands) == 2 and all(c.startswith("tshark -X lua_script:") for c in commands)
    write_capture("identity-update", SEED, tmp_path / "capture.pcapng")
    (tmp_path / "tools").symlink_to(ROOT / "tools")
    outputs = []
    for command in commands:
        res = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True,
                             timeout=120, check=False)
        assert res.returncode == 0, res.stderr
        _assert_no_lua_error(res)
        outputs.append(res.stdout)
    assert "JUKI" in outputs[0] and "identityInfoUpdate" in outputs[0]
    rows = [line.split("\t") for line in outputs[1].splitlines()]
    assert rows and all(r[1] == "identityInfoUpdate" for r in rows)


def test_mutated_pdus_never_raise_a_lua_error(tmp_path: Path) -> None:
    # Deterministic mutations of valid PDUs (a flipped, dropped or inserted octet, a cut):
    # every frame is shown, with or without an expert item, and none is unreadable.
    import random

    rng = random.Random(15)
    seeds = [codec.encode(p, profile=None) for p in
             (error_report(2001, 1, detail="d"), acknowledgement(2),
              flow_pdus("identity-update", SEED)[0][0].pdu)]
    mutants = []
    for i in range(240):
        der = bytearray(seeds[i % len(seeds)][:400])
        at = rng.randrange(len(der))
        kind = i % 4
        if kind == 0:
            der[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del der[at]
        elif kind == 2:
            der.insert(at, rng.randrange(256))
        else:
            del der[at:]
        mutants.append(frame_bytes(bytes(der) or b"\x00"))
    path = _stream_capture(tmp_path / "mutants.pcapng",
                           [b"".join(mutants[i:i + 8]) for i in range(0, len(mutants), 8)])
    shown = per_pdu(path, ["juki.length", "_ws.expert.message"])
    assert len(shown) == len(mutants)
    assert not [s for s in shown if "could not read" in s[1]]
    assert sum(1 for s in shown if s[1]) > len(mutants) // 2      # most are malformed
    no_lua_errors(path)
