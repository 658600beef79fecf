"""The scapy layer: header dissection, crafting, TCP binding, reassembly, bad bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.sendrecv import sniff
from scapy.sessions import TCPSession
from scapy.utils import wrpcap

from juki_protocol.codec import codec
from juki_protocol.messages.base import from_form
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    ErrorReport,
    JukiPdu,
    PduHeader,
)
from juki_protocol.tools.capture.scapy_layer import (
    DEFAULT_MAX_FRAME,
    INTERNAL_ERROR_NOTE,
    JUKI_PORT,
    NO_FRAME_START_NOTE,
    Endpoint,
    JukiFragment,
    JukiFrame,
    TcpConnection,
    craft_frame,
    der_frames_from_pcap,
    dissect,
    frame_bytes,
    frames_from_pcap,
    stream_octets,
)

MID = bytes(range(16))
CID = bytes(range(16, 32))


def header(message_type: str, *, seq: int = 7, correlation: bytes | None = CID,
           sender: tuple[str, str] = ("municipality", "271004"),
           recipient: tuple[str, str] = ("prefecture", "270008"),
           message_id: bytes = MID) -> PduHeader:
    form: dict[str, Any] = {
        "version": 1, "message_id": message_id.hex(), "message_type": message_type,
        "sender": {"role": sender[0], "code": sender[1]},
        "recipient": {"role": recipient[0], "code": recipient[1]},
        "time": "2026-04-01T09:00:05Z", "sequence_number": seq, "profile": "current"}
    if correlation is not None:
        form["correlation_id"] = correlation.hex()
    return from_form(PduHeader, form, json=True)


def error_pdu(code: int = 3002) -> JukiPdu:
    return JukiPdu(header=header("errorReport"),
                   error_report=ErrorReport(error_code=code, refers_to=CID))


def ack_pdu(seq: int = 0, message_id: bytes = MID) -> JukiPdu:
    return JukiPdu(header=header("acknowledgement", seq=seq, correlation=None,
                                 message_id=message_id),
                   acknowledgement=Acknowledgement(acknowledged_id=CID,
                                                   status=AckStatus.ACCEPTED))


def sealed_pdu(size: int = 40, seq: int = 1) -> JukiPdu:
    return JukiPdu(header=header("identityInfoUpdate", seq=seq, correlation=None),
                   sealed=bytes(i % 251 for i in range(size)))


# Header fields ---------------------------------------------------------------------------

def test_error_report_dissects_every_header_field() -> None:
    f = craft_frame(error_pdu())
    der = codec.encode(error_pdu(), profile=None)
    assert f.length == len(der)
    assert f.der == der
    assert f.note is None
    assert f.version == 1
    assert f.message_type == "errorReport"
    assert f.message_id == MID.hex()
    assert f.correlation_id == CID.hex()
    assert f.sender == "municipality:271004"
    assert f.recipient == "prefecture:270008"
    assert f.header_time == "2026-04-01T09:00:05Z"
    assert f.sequence_number == 7
    assert f.profile == "current"
    assert f.body_kind == "errorReport"
    assert f.error_code == 3002


def test_acknowledgement_and_sealed_body_kinds() -> None:
    ack = craft_frame(ack_pdu())
    assert (ack.body_kind, ack.message_type, ack.error_code) == \
        ("acknowledgement", "acknowledgement", None)
    assert ack.correlation_id is None
    sealed = craft_frame(sealed_pdu())
    assert (sealed.body_kind, sealed.message_type, sealed.error_code) == \
        ("sealed", "identityInfoUpdate", None)


def test_summary_and_show_name_the_message() -> None:
    f = craft_frame(error_pdu())
    assert "errorReport municipality:271004 > prefecture:270008" in f.summary()
    text = f.show(dump=True)
    assert isinstance(text, str)
    assert "sequence_number= 7" in text and "error_code= 3002" in text


def test_build_gives_the_frame_octets() -> None:
    pdu = error_pdu()
    der = codec.encode(pdu, profile=None)
    assert bytes(craft_frame(pdu)) == frame_bytes(pdu) == len(der).to_bytes(4, "big") + der
    # The length prefix is computed when it is left out.
    assert bytes(JukiFrame(der=der)) == frame_bytes(pdu)
    # Display-only fields add nothing to the wire.
    assert bytes(JukiFrame(der=der, sender="x", error_code=1)) == frame_bytes(pdu)


def test_several_frames_in_one_buffer() -> None:
    frames = dissect(stream_octets([error_pdu(), ack_pdu(), sealed_pdu()]))
    assert [f.body_kind for f in frames] == ["errorReport", "acknowledgement", "sealed"]


# TCP binding -------------------------------------------------------------------------------

@pytest.mark.parametrize("ports", [(50000, JUKI_PORT), (JUKI_PORT, 50000)])
def test_tcp_port_binding(ports: tuple[int, int]) -> None:
    raw = bytes(Ether() / IP(src="192.0.2.1", dst="192.0.2.2")
                / TCP(sport=ports[0], dport=ports[1], flags="PA") / Raw(frame_bytes(ack_pdu())))
    pkt = Ether(raw)
    assert JukiFrame in pkt
    assert pkt[JukiFrame].body_kind == "acknowledgement"


def test_other_ports_are_not_dissected() -> None:
    pkt = Ether(bytes(Ether() / IP() / TCP(sport=50000, dport=443)
                      / Raw(frame_bytes(ack_pdu()))))
    assert JukiFrame not in pkt


# Bad bytes ----------------------------------------------------------------------------------

def test_truncated_frame_is_noted() -> None:
    data = frame_bytes(error_pdu())
    f = JukiFrame(data[:30])
    assert f.note is not None and f.note.startswith("1002 FRAME_TRUNCATED")
    assert f.message_type is None
    assert bytes(f) == data[:30]


def test_a_continuation_segment_is_no_frame_start() -> None:
    data = frame_bytes(sealed_pdu(size=600))
    f = JukiFrame(data[300:])
    assert f.note is not None and f.note.startswith(NO_FRAME_START_NOTE)


def test_too_large_length_is_noted() -> None:
    f = JukiFrame((DEFAULT_MAX_FRAME + 1).to_bytes(4, "big") + b"\x7e\x00")
    assert f.note is not None and f.note.startswith("1001 FRAME_TOO_LARGE")


@pytest.mark.parametrize("der, code", [
    (b"\x30\x03\x02\x01\x01", "1031"),   # a SEQUENCE, not APPLICATION 30
    (b"\x7e\x05\x30", "1010"),            # the length runs past the end
    (b"", "1010"),                        # an empty frame
])
def test_malformed_der_is_raw_with_a_note(der: bytes, code: str) -> None:
    f = JukiFrame(len(der).to_bytes(4, "big") + der)
    assert f.der == der
    assert f.note is not None and f.note.split()[0] == code
    assert f.message_type is None
    assert not f.note.startswith(INTERNAL_ERROR_NOTE)


def test_wrong_message_tag_names_the_code() -> None:
    der = codec.encode(ErrorReport(error_code=1001), profile=None)   # APPLICATION 21
    f = JukiFrame(len(der).to_bytes(4, "big") + der)
    assert f.note is not None and f.note.split()[0] in {"1012", "1013"}


def test_short_octets_are_a_fragment() -> None:
    f = JukiFrame(b"\x00\x01")
    assert isinstance(f, JukiFragment)
    assert bytes(f) == b"\x00\x01"
    trailing = dissect(frame_bytes(ack_pdu()) + b"\x00\x00")
    assert len(trailing) == 1 and JukiFragment in trailing[0]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    f = JukiFrame(data)
    assert bytes(f) == data
    layer: Any = f
    while layer:
        note = getattr(layer, "note", None)
        assert not (note or "").startswith(INTERNAL_ERROR_NOTE), note
        layer = layer.payload
    pkt = Ether(bytes(Ether() / IP() / TCP(sport=50000, dport=JUKI_PORT) / Raw(data)))
    assert bytes(pkt[TCP].payload) == data if data else True


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_frames_never_raise(data: st.DataObject) -> None:
    frame = bytearray(frame_bytes(error_pdu()))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(4, len(frame) - 1))
        frame[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(frame)))
    f = JukiFrame(bytes(frame[:cut]))
    assert bytes(f) == bytes(frame[:cut])
    note = getattr(f, "note", None)
    assert not (note or "").startswith(INTERNAL_ERROR_NOTE), note
    if note is None and isinstance(f, JukiFrame):
        assert f.message_type is not None


# Reassembly -----------------------------------------------------------------------------------

def _ticks() -> Any:
    state = {"t": 1_775_034_000.0}

    def clock() -> float:
        state["t"] = round(state["t"] + 0.001, 6)
        return state["t"]
    return clock


def _connection(mss: int, client_isn: int = 0xFFFFFF00) -> TcpConnection:
    return TcpConnection(client=Endpoint("00:00:5e:00:53:0a", "192.0.2.10", 49152),
                         server=Endpoint("00:00:5e:00:53:0b", "192.0.2.11", JUKI_PORT),
                         client_isn=client_isn, server_isn=1000, clock=_ticks(), mss=mss)


def test_frame_split_across_segments_reassembles(tmp_path: Path) -> None:
    pdus = [sealed_pdu(size=700, seq=0), ack_pdu(seq=0, message_id=CID),
            sealed_pdu(size=300, seq=1)]
    conn = _connection(mss=100)      # every frame spans several segments; seq wraps 2**32
    conn.open()
    conn.send(True, frame_bytes(pdus[0]))
    conn.send(False, frame_bytes(pdus[1]))
    conn.send(True, frame_bytes(pdus[2]))
    conn.close()
    data_segments = [p for p in conn.packets if len(p[TCP].payload)]
    assert len(data_segments) > 10
    # Each single segment shows only part of a frame.
    assert any((p[JukiFrame].note or "").startswith("1002") for p in data_segments
               if JukiFrame in p)
    path = tmp_path / "split.pcap"
    wrpcap(str(path), conn.packets)
    assert frames_from_pcap(path) == pdus


def test_reordered_and_retransmitted_segments(tmp_path: Path) -> None:
    pdus = [sealed_pdu(size=500, seq=0), sealed_pdu(size=90, seq=1)]
    conn = _connection(mss=64)
    conn.open()
    for p in pdus:
        conn.send(True, frame_bytes(p))
    packets = list(conn.packets)
    data = [i for i, p in enumerate(packets) if len(p[TCP].payload)]
    packets[data[1]], packets[data[2]] = packets[data[2]], packets[data[1]]
    packets.insert(data[4], packets[data[3]].copy())       # a retransmission
    path = tmp_path / "reordered.pcap"
    wrpcap(str(path), packets)
    assert frames_from_pcap(path) == pdus


def test_a_frame_the_capture_ends_inside_is_left_out(tmp_path: Path) -> None:
    conn = _connection(mss=50)
    conn.open()
    conn.send(True, frame_bytes(ack_pdu()))
    conn.send(True, frame_bytes(sealed_pdu(size=400)))
    packets = conn.packets
    payload_ends = [i for i, p in enumerate(packets) if len(p[TCP].payload)]
    path = tmp_path / "cut.pcap"
    wrpcap(str(path), packets[:payload_ends[-1]])           # the last segment is lost
    got = der_frames_from_pcap(path)
    assert [codec.decode(der) for _, der in got] == [ack_pdu()]


def test_other_ports_are_ignored_by_frames_from_pcap(tmp_path: Path) -> None:
    conn = _connection(mss=1460)
    conn.server = Endpoint("00:00:5e:00:53:0b", "192.0.2.11", 8443)
    conn.open()
    conn.send(True, frame_bytes(ack_pdu()))
    path = tmp_path / "other.pcap"
    wrpcap(str(path), conn.packets)
    assert frames_from_pcap(path) == []
    assert frames_from_pcap(path, port=8443) == [ack_pdu()]
    assert frames_from_pcap(path, port=None) == [ack_pdu()]


def test_scapy_tcp_session_uses_tcp_reassemble(tmp_path: Path) -> None:
    pdus = [sealed_pdu(size=900, seq=0), ack_pdu(seq=0)]
    # Scapy's TCPSession does not follow a sequence number across 2**32: no wrap here.
    conn = _connection(mss=200, client_isn=5000)
    conn.open()
    conn.send(True, frame_bytes(pdus[0]))
    conn.send(False, frame_bytes(pdus[1]))
    path = tmp_path / "session.pcap"
    wrpcap(str(path), conn.packets)
    got = [p[JukiFrame] for p in sniff(offline=str(path), session=TCPSession)
           if JukiFrame in p]
    assert [(f.body_kind, f.note) for f in got] == [("sealed", None),
                                                     ("acknowledgement", None)]
