"""`juki fixtures capture`: deterministic pcapng captures of each flow, read back and
checked (and classic pcap when the file name asks for it)."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from scapy.layers.inet import IP, TCP
from scapy.utils import rdpcap

from juki_protocol.codec import codec
from juki_protocol.envelope import envelope as env
from juki_protocol.tools.capture.capture import (
    FLOWS,
    NOW,
    capture,
    capture_packets,
    flow_pdus,
    pcapng_bytes,
    write_capture,
)
from juki_protocol.tools.capture.scapy_layer import (
    JUKI_PORT,
    NO_FRAME_START_NOTE,
    JukiFrame,
    frames_from_pcap,
)

ROOT = Path(__file__).resolve().parents[1]
NETWORK_FLOWS = tuple(f for f in FLOWS if f != "card")


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("captures")
    paths = {}
    for flow in FLOWS:
        path = out / f"{flow}.pcapng"
        res = CliRunner().invoke(capture, ["--flow", flow, "--seed", "3", "--out", str(path)])
        assert res.exit_code == 0, res.output
        paths[flow] = path
    return paths


@pytest.mark.parametrize("flow", FLOWS)
def test_every_flow_gives_back_its_pdus(flow: str, captures: dict[str, Path]) -> None:
    expected = [c.pdu for c in flow_pdus(flow, 3)[0]]
    assert frames_from_pcap(captures[flow]) == expected
    if flow != "card":
        assert expected, "a network flow exchanges PDUs"


def test_card_flow_is_an_empty_but_valid_capture(captures: dict[str, Path],
                                                 tmp_path: Path) -> None:
    data = captures["card"].read_bytes()
    assert data[:4] == bytes.fromhex("0a0d0d0a")          # a pcapng Section Header Block
    assert len(rdpcap(str(captures["card"]))) == 0
    classic = tmp_path / "card.pcap"
    write_capture("card", 3, classic)
    data = classic.read_bytes()
    assert len(data) == 24 and data[:4] == bytes.fromhex("d4c3b2a1")
    assert len(rdpcap(str(classic))) == 0


# pcapng ----------------------------------------------------------------------------------

def _blocks(data: bytes) -> list[tuple[int, bytes]]:
    """(type, body) of each pcapng block, checking both length fields."""
    out, pos = [], 0
    while pos < len(data):
        kind, total = int.from_bytes(data[pos:pos + 4], "little"), \
            int.from_bytes(data[pos + 4:pos + 8], "little")
        assert total % 4 == 0 and total >= 12
        assert int.from_bytes(data[pos + total - 4:pos + total], "little") == total
        out.append((kind, data[pos + 8:pos + total - 4]))
        pos += total
    assert pos == len(data)
    return out


def test_pcapng_has_the_comment_and_the_same_packets_as_a_pcap(captures: dict[str, Path],
                                                               tmp_path: Path) -> None:
    path = captures["provision"]
    blocks = _blocks(path.read_bytes())
    packets = rdpcap(str(path))
    assert [k for k, _ in blocks] == [0x0A0D0D0A, 1] + [6] * len(packets)
    assert b"juki fixtures capture --flow provision --seed 3" in blocks[0][1]
    assert int.from_bytes(blocks[1][1][:2], "little") == 1            # Ethernet
    assert packets[0].comment == b"juki fixtures capture --flow provision --seed 3"
    assert all(p.comment is None for p in packets[1:])
    classic = tmp_path / "provision.pcap"
    write_capture("provision", 3, classic)
    old = rdpcap(str(classic))
    assert [bytes(p) for p in old] == [bytes(p) for p in packets]
    assert [p.time for p in old] == [p.time for p in packets]
    assert frames_from_pcap(classic) == frames_from_pcap(path)


def test_pcapng_timestamps_are_rounded_to_the_microsecond() -> None:
    pdus = flow_pdus("provision", 3)[0]
    packets = capture_packets(pdus)
    packets[1].time = NOW.timestamp() + 0.000_001 * 7 - 1e-9   # just under 7 us
    blocks = _blocks(pcapng_bytes(packets))
    epb = blocks[3][1]
    micros = (int.from_bytes(epb[4:8], "little") << 32) | int.from_bytes(epb[8:12], "little")
    assert micros == round(NOW.timestamp()) * 1_000_000 + 7


def test_pcapng_refuses_a_comment_on_no_packet() -> None:
    packets = capture_packets(flow_pdus("provision", 3)[0])
    with pytest.raises(ValueError, match="packet_comments"):
        pcapng_bytes(packets, packet_comments={len(packets): "x"})


def test_unknown_flow_is_a_clear_click_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(capture, ["--flow", "nope", "--out", str(tmp_path / "x.pcap")])
    assert res.exit_code == 2
    assert "Invalid value for '--flow'" in res.output
    assert "wide-area" in res.output
    assert not (tmp_path / "x.pcap").exists()


def test_out_is_required(tmp_path: Path) -> None:
    res = CliRunner().invoke(capture, ["--flow", "wide-area"])
    assert res.exit_code == 2 and "--out" in res.output


def test_output_names_no_personal_data(tmp_path: Path) -> None:
    res = CliRunner().invoke(capture, ["--flow", "special-move", "--seed", "3", "--out",
                                       str(tmp_path / "s.pcap")])
    assert res.exit_code == 0
    assert res.output.isascii()
    assert not re.search(r"\d{11}", res.output)     # no resident code or number


_RUN = "from juki_protocol.tools.capture.capture import capture; capture(sys.argv[1:])"


def test_byte_identical_across_processes(tmp_path: Path) -> None:
    outs = []
    for i, hash_seed in enumerate(("1", "2")):
        out = tmp_path / f"run{i}.pcapng"
        env_vars = {**os.environ, "PYTHONHASHSEED": hash_seed,
                    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        subprocess.run([sys.executable, "-c", "import sys; " + _RUN, "--flow", "provision",
                        "--seed", "5", "--out", str(out)], cwd=ROOT, env=env_vars,
                       check=True, capture_output=True, timeout=120)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    other = tmp_path / "other.pcapng"
    assert CliRunner().invoke(capture, ["--flow", "provision", "--seed", "6", "--out",
                                        str(other)]).exit_code == 0
    assert other.read_bytes() != outs[0]


@pytest.mark.parametrize("flow", NETWORK_FLOWS)
def test_sealed_bodies_open_for_their_recipient(flow: str) -> None:
    pdus, world = flow_pdus(flow, 3)
    for c in pdus:
        if c.pdu.sealed is None:
            continue
        opened = env.open_envelope(c.pdu.sealed, [world.credentials[str(c.recipient)]],
                                   world.trust(), NOW, header=c.pdu.header)
        assert opened.signer == c.sender
        msg = codec.decode(opened.message_der, c.pdu.header.message_type.type_name,
                           profile=c.pdu.header.profile)
        assert codec.type_name_of(msg) == c.pdu.header.message_type.type_name


@pytest.mark.parametrize("flow", NETWORK_FLOWS)
def test_pdu_headers_follow_the_flow(flow: str) -> None:
    pdus = [c.pdu for c in flow_pdus(flow, 3)[0]]
    counters: dict[tuple[str, str], int] = {}
    for p in pdus:
        h = p.header
        assert h.version == 1 and h.time == NOW
        pair = (str(h.sender), str(h.recipient))
        assert h.sequence_number == counters.get(pair, 0)
        counters[pair] = h.sequence_number + 1
        assert (p.sealed is None) == (h.message_type.value in ("acknowledgement",
                                                               "errorReport"))
    ids = [p.header.message_id for p in pdus]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("flow", NETWORK_FLOWS)
def test_tcp_is_consistent(flow: str, captures: dict[str, Path]) -> None:
    packets = rdpcap(str(captures[flow]))
    times = [float(p.time) for p in packets]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[0] == NOW.timestamp()
    doc_net = ipaddress.ip_network("192.0.2.0/24")
    next_seq: dict[tuple[str, int], int] = {}
    seen_syn: set[tuple[str, int]] = set()
    for p in packets:
        ip, tcp = p[IP], p[TCP]
        assert ipaddress.ip_address(ip.src) in doc_net and ipaddress.ip_address(ip.dst) in doc_net
        assert JUKI_PORT in (tcp.sport, tcp.dport)
        me, peer = (ip.src, tcp.sport), (ip.dst, tcp.dport)
        flags = str(tcp.flags)
        if "S" in flags:
            assert me not in seen_syn
            seen_syn.add(me)
            assert "A" not in flags or tcp.ack == next_seq[peer]
            next_seq[me] = (tcp.seq + 1) % 2**32
            continue
        assert me in seen_syn, "every connection starts with a handshake"
        assert tcp.seq == next_seq[me]
        assert "A" in flags and tcp.ack == next_seq[peer]
        next_seq[me] = (tcp.seq + len(tcp.payload) + ("F" in flags)) % 2**32
    # Each node has one address, each address one node.
    pdus = flow_pdus(flow, 3)[0]
    nodes = {str(n) for c in pdus for n in (c.sender, c.recipient)}
    addresses = {p[IP].src for p in packets} | {p[IP].dst for p in packets}
    assert len(addresses) == len(nodes)


def test_segments_dissect_as_juki_frames(captures: dict[str, Path]) -> None:
    packets = rdpcap(str(captures["special-move"]))
    frames = [p[JukiFrame] for p in packets if JukiFrame in p]
    complete = [f for f in frames if f.note is None]
    partial = [f for f in frames if f.note is not None]
    assert [f.message_type for f in complete if f.body_kind == "acknowledgement"]
    starts = [f for f in partial if f.note.startswith("1002 FRAME_TRUNCATED")]
    continuations = [f for f in partial if f.note.startswith(NO_FRAME_START_NOTE)]
    assert starts and continuations
    assert len(starts) + len(continuations) == len(partial)
    # Each PDU is one frame: either whole in one segment, or started in one.
    assert len(complete) + len(starts) == len(flow_pdus("special-move", 3)[0])
    assert all(f.sender and f.recipient for f in complete)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
@pytest.mark.parametrize("flow", FLOWS)
def test_tshark_reads_the_capture(flow: str, captures: dict[str, Path]) -> None:
    path = str(captures[flow])
    res = subprocess.run(["tshark", "-r", path, "-o", "tcp.check_checksum:TRUE",
                          "-o", "ip.check_checksum:TRUE", "-q", "-z", "expert"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    assert "Errors (" not in res.stdout and "Warns (" not in res.stdout, res.stdout
    assert "damaged" not in res.stderr and "corrupt" not in res.stderr
    count = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.number"],
                           capture_output=True, text=True, timeout=60, check=True)
    assert len(count.stdout.split()) == len(rdpcap(path))
    flagged = subprocess.run(["tshark", "-r", path, "-Y", "tcp.analysis.flags && "
                              "!tcp.analysis.window_update"], capture_output=True, text=True,
                             timeout=60, check=True)
    assert flagged.stdout.strip() == "", flagged.stdout
