"""Scapy dissection and crafting of Juki frames (``spec/pdu.md`` section 2).

A frame is a 4-octet big-endian length N, then the N octets of the DER of one
``JukiPdu``. :class:`JukiFrame` is a scapy layer with exactly those two wire fields,
``length`` and ``der``; on dissection it also decodes the PDU's clear header with
:mod:`juki_protocol.codec.codec` into display-only fields (they add nothing to the wire):

=================  ==================================================================
field              content
=================  ==================================================================
``note``           why the frame could not be read (a truncated frame, a frame over
                   the default maximum, or the codec's error code and field path);
                   ``None`` when the PDU decoded
``version``        ``PduHeader.version``
``message_type``   ``PduHeader.messageType`` (``wideAreaIssuanceRequest``, ...)
``message_id``     ``PduHeader.messageId`` in hex
``correlation_id`` ``PduHeader.correlationId`` in hex, or ``None``
``sender``         ``PduHeader.sender`` as ``<role>:<code>``
``recipient``      ``PduHeader.recipient`` as ``<role>:<code>``
``header_time``    ``PduHeader.time``, ISO 8601 UTC (``2026-04-01T09:00:00Z``); the
                   name avoids scapy's ``Packet.time``, the capture time
``sequence_number`` ``PduHeader.sequenceNumber``
``profile``        ``p2002`` or ``current``
``body_kind``      ``sealed``, ``acknowledgement`` or ``errorReport``
``error_code``     the ``ErrorReport.errorCode`` of an error report body, else ``None``
=================  ==================================================================

Dissection never raises on bad bytes: malformed DER leaves the octets in ``der`` and the
reason in ``note``; fewer than 4 octets (the start of a length prefix) dissect as
:class:`JukiFragment`. Octets after a frame dissect as the next :class:`JukiFrame`, so
one TCP segment carrying several frames shows all of them. A single segment only shows
what it carries: use :func:`frames_from_pcap` (or scapy's ``TCPSession``, through
:meth:`JukiFrame.tcp_reassemble`) for frames split across segments.

Port
----
:data:`JUKI_PORT` (47830) is the default TCP port of a node's listener; it is the port
to which the layer is bound (source or destination), and the one used by synthetic
captures (:mod:`juki_protocol.tools.capture.capture`). It lies in the IANA registered range and is
not assigned by IANA; a deployment may configure another port (bind it with
``bind_layers(TCP, JukiFrame, dport=...)`` and ``sport=...``). On the real network the
frames travel inside TLS 1.3 (R-PDU-10); a capture of them is a capture of the
decrypted stream, as synthetic captures show it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from scapy.fields import Field, FieldLenField, XStrLenField
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw, bind_layers
from scapy.utils import rdpcap

from juki_protocol.codec import codec, wire
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.messages.pdu import JukiPdu

#: The default TCP port of a Juki node's listener (spec/pdu.md section 1).
JUKI_PORT = 47830
#: The default maximum frame size, the N octets after the prefix (spec/pdu.md section 2).
DEFAULT_MAX_FRAME = wire.DEFAULT_MAX_FRAME
#: The TCP maximum segment size used when crafting segments (Ethernet, IPv4, no options).
DEFAULT_MSS = 1460
PREFIX_SIZE = 4
#: How a note starts when the codec raised something other than a JukiError (a bug).
INTERNAL_ERROR_NOTE = "internal decoder error"
#: How a note starts when the octets cannot be the start of a frame.
NO_FRAME_START_NOTE = "no frame start"
_JUKI_PDU_TAG = 0x7E       # [APPLICATION 30] IMPLICIT SEQUENCE, constructed

_HEADER_FIELDS = ("version", "message_type", "message_id", "correlation_id", "sender",
                  "recipient", "header_time", "sequence_number", "profile", "body_kind",
                  "error_code")


class _Info(Field):  # type: ignore[type-arg]
    """A display-only field: set by :meth:`JukiFrame.do_dissect`, absent from the wire."""

    def __init__(self, name: str) -> None:
        super().__init__(name, None, fmt="B")

    def addfield(self, pkt: Packet, s: bytes, val: Any) -> bytes:
        return s

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, Any]:
        return s, None

    def i2len(self, pkt: Packet, x: Any) -> int:
        return 0

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        return "-" if x is None else str(x)

    def randval(self) -> Any:
        return None


@dataclass(frozen=True, slots=True)
class HeaderView:
    """What dissection reads from one frame's DER (the display-only fields)."""

    note: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


def _error_note(exc: JukiError) -> str:
    # The codec's message may quote decoded values; the note keeps only the code and
    # where it was found, so that a dissection never shows personal data by accident.
    code = exc.error_code
    where = []
    if getattr(exc, "field", None):
        where.append(f"field {exc.field}")
    offset = getattr(exc, "offset", None)
    if offset is not None:
        where.append(f"offset {offset}")
    return f"{int(code)} {code.name}" + (f" at {', '.join(where)}" if where else "")


def _notes(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def read_header(der: bytes, length: int | None = None) -> HeaderView:
    """Decode the clear header of a frame's DER; never raises.

    ``length``: the frame's length prefix; when ``der`` is shorter, the frame is
    truncated (it continues in later segments, or the connection ended inside it).
    """
    if (length is not None and (len(der) < length or length > DEFAULT_MAX_FRAME)
            and der and der[0] != _JUKI_PDU_TAG):
        # A TCP segment that continues a frame of earlier segments starts inside the
        # DER: its first four octets are no length prefix.
        return HeaderView(note=f"{NO_FRAME_START_NOTE}: the DER does not begin with "
                               f"APPLICATION 30 (0x7e) and the length does not fit; a "
                               f"segment continuing an earlier frame, or not Juki")
    too_large = None
    if length is not None and length > DEFAULT_MAX_FRAME:
        # Checked first, as a receiver does (spec/pdu.md section 8, step 1).
        too_large = (f"{int(ErrorCode.FRAME_TOO_LARGE)} FRAME_TOO_LARGE: {length} octets, "
                     f"over the default maximum of {DEFAULT_MAX_FRAME}")
    if length is not None and len(der) < length:
        truncated = (f"{int(ErrorCode.FRAME_TRUNCATED)} FRAME_TRUNCATED: {len(der)} of "
                     f"{length} octets here")
        return HeaderView(note=_notes(too_large, truncated))
    if not der:
        return HeaderView(note=_notes(too_large, f"{int(ErrorCode.DER_MALFORMED)} "
                                                 f"DER_MALFORMED: empty frame"))
    try:
        pdu = codec.decode(der, "JukiPdu")
    except JukiError as exc:
        return HeaderView(note=_notes(too_large, _error_note(exc)))
    except Exception as exc:   # the dissector must never raise; a codec bug shows here
        return HeaderView(note=_notes(too_large, f"{INTERNAL_ERROR_NOTE} "
                                                 f"{type(exc).__name__}"))
    h = pdu.header
    kind = ("sealed" if pdu.sealed is not None else "acknowledgement"
            if pdu.acknowledgement is not None else "errorReport")
    values: dict[str, Any] = {
        "version": h.version,
        "message_type": h.message_type.value,
        "message_id": h.message_id.hex(),
        "correlation_id": None if h.correlation_id is None else h.correlation_id.hex(),
        "sender": str(h.sender),
        "recipient": str(h.recipient),
        "header_time": h.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sequence_number": h.sequence_number,
        "profile": h.profile.value,
        "body_kind": kind,
        "error_code": None if pdu.error_report is None else pdu.error_report.error_code,
    }
    return HeaderView(note=too_large, values=values)


class JukiFrame(Packet):
    """One Juki frame: a 4-octet big-endian length and the DER of one ``JukiPdu``."""

    name = "Juki frame"
    fields_desc = [  # noqa: RUF012 - scapy's declaration style
        FieldLenField("length", None, fmt="!I", length_of="der"),
        XStrLenField("der", b"", length_from=lambda pkt: pkt.length),
        _Info("note"),
        *(_Info(name) for name in _HEADER_FIELDS),
    ]

    @classmethod
    def dispatch_hook(cls, _pkt: bytes | None = None, *args: Any,
                      **kargs: Any) -> type[Packet]:
        if _pkt is not None and len(_pkt) < PREFIX_SIZE:
            return JukiFragment
        return cls

    def do_dissect(self, s: bytes) -> bytes:
        rest = super().do_dissect(s)
        # The display-only fields are written straight into ``fields`` so that the raw
        # octets stay cached: building the packet again gives exactly what was read.
        view = read_header(self.fields["der"], self.fields["length"])
        self.fields["note"] = view.note
        for name in _HEADER_FIELDS:
            self.fields[name] = view.values.get(name)
        return rest

    def guess_payload_class(self, payload: bytes) -> type[Packet]:
        # The octets after a frame are the next frame (several frames in one segment).
        return JukiFrame

    def mysummary(self) -> str:
        if self.fields.get("message_type") is None:
            return f"Juki frame ({self.fields.get('note')})"
        return (f"Juki {self.fields['message_type']} {self.fields['sender']} > "
                f"{self.fields['recipient']} seq={self.fields['sequence_number']}")

    @classmethod
    def tcp_reassemble(cls, data: bytes, metadata: dict[str, Any],
                       session: dict[str, Any]) -> Packet | None:
        """Scapy ``TCPSession`` hook: a packet once the buffered frames are complete."""
        if len(data) < PREFIX_SIZE:
            return None
        pos = 0
        while pos + PREFIX_SIZE <= len(data):
            n = int.from_bytes(data[pos:pos + PREFIX_SIZE], "big")
            pos += PREFIX_SIZE + n
        return cls(data) if pos == len(data) else None


class JukiFragment(Packet):
    """Fewer than 4 octets where a frame's length prefix should start."""

    name = "Juki frame fragment"
    fields_desc = [  # noqa: RUF012 - scapy's declaration style
        XStrLenField("data", b"", length_from=lambda pkt: PREFIX_SIZE - 1),
    ]

    def guess_payload_class(self, payload: bytes) -> type[Packet]:
        return cast("type[Packet]", Raw)


bind_layers(TCP, JukiFrame, dport=JUKI_PORT)
bind_layers(TCP, JukiFrame, sport=JUKI_PORT)


# Crafting -------------------------------------------------------------------------------

def frame_bytes(pdu: JukiPdu | bytes) -> bytes:
    """The octets of one frame: the length prefix and the DER (a ``JukiPdu`` is encoded
    with :func:`juki_protocol.codec.codec.encode`; bytes are taken as the DER as they are).

    Unlike :func:`juki_protocol.codec.wire.encode_frame` it refuses nothing: tests craft empty
    and oversized frames with it on purpose."""
    der = pdu if isinstance(pdu, bytes) else codec.encode(pdu, profile=None)
    return len(der).to_bytes(PREFIX_SIZE, "big") + der


def craft_frame(pdu: JukiPdu | bytes) -> JukiFrame:
    """A dissected :class:`JukiFrame` of ``pdu`` (or of raw DER, valid or not)."""
    return JukiFrame(frame_bytes(pdu))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a TCP connection: MAC address, IPv4 address and port."""

    mac: str
    ip: str
    port: int


@dataclass(slots=True)
class TcpConnection:
    """Crafts the segments of one TCP connection with consistent seq/ack numbers.

    ``clock`` gives each new packet's capture time (seconds since the epoch). Packets
    accumulate in ``packets``: :meth:`open` (three-way handshake), :meth:`send` (data
    split at ``mss``, PSH on the last segment, then a pure ACK from the peer) and
    :meth:`close` (FIN from each side and the final ACK).
    """

    client: Endpoint
    server: Endpoint
    client_isn: int
    server_isn: int
    clock: Callable[[], float]
    mss: int = DEFAULT_MSS
    window: int = 65535
    packets: list[Packet] = field(default_factory=list)
    _next: dict[bool, int] = field(default_factory=dict)

    def _segment(self, from_client: bool, flags: str, payload: bytes = b"",
                 options: Sequence[tuple[str, Any]] = ()) -> None:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        seq = self._next.get(from_client, self.client_isn if from_client else self.server_isn)
        ack = self._next.get(not from_client, 0) if "A" in flags else 0
        pkt = (Ether(src=src.mac, dst=dst.mac)
               / IP(src=src.ip, dst=dst.ip, id=0, flags="DF", ttl=64)
               / TCP(sport=src.port, dport=dst.port, seq=seq % 2**32, ack=ack % 2**32,
                     flags=flags, window=self.window, options=list(options)))
        if payload:
            pkt = pkt / Raw(payload)
        # Build once so that the checksums and lengths are fixed in the packet.
        pkt = Ether(bytes(pkt))
        pkt.time = self.clock()
        self.packets.append(pkt)
        used = len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        self._next[from_client] = (seq + used) % 2**32

    def open(self) -> None:
        """The three-way handshake (SYN, SYN-ACK, ACK), announcing ``mss``."""
        self._segment(True, "S", options=[("MSS", self.mss)])
        self._segment(False, "SA", options=[("MSS", self.mss)])
        self._segment(True, "A")

    def send(self, from_client: bool, data: bytes) -> None:
        """``data`` in segments of at most ``mss`` octets, then the peer's ACK."""
        chunks = [data[i:i + self.mss] for i in range(0, len(data), self.mss)] or [b""]
        for i, chunk in enumerate(chunks):
            self._segment(from_client, "PA" if i == len(chunks) - 1 else "A", chunk)
        self._segment(not from_client, "A")

    def close(self) -> None:
        """The client closes: FIN-ACK, the server's FIN-ACK, the client's ACK."""
        self._segment(True, "FA")
        self._segment(False, "FA")
        self._segment(True, "A")


def isn_of(label: str) -> int:
    """A deterministic initial sequence number derived from ``label``."""
    return int.from_bytes(hashlib.sha256(b"juki-isn/" + label.encode()).digest()[:4], "big")


# Reading captures -----------------------------------------------------------------------

@dataclass(slots=True)
class _Direction:
    first_seen: int
    base: int | None = None          # the sequence number of the first data octet
    segments: list[tuple[int, bytes, float]] = field(default_factory=list)


def _tcp_payload(pkt: Packet) -> bytes:
    tcp = pkt[TCP]
    raw = bytes(tcp)
    start = int(tcp.dataofs or 5) * 4
    if IP in pkt and pkt[IP].len is not None:
        ip = pkt[IP]
        size = int(ip.len) - int(ip.ihl) * 4 - start
        return raw[start:start + max(size, 0)]
    if IPv6 in pkt and pkt[IPv6].nh == 6 and pkt[IPv6].plen is not None:
        return raw[start:int(pkt[IPv6].plen)]
    return raw[start:]


def _stream_bytes(d: _Direction) -> tuple[bytes, list[tuple[int, float]]]:
    """The contiguous octets of one direction and when each run of them arrived."""
    base = d.base if d.base is not None else min(s for s, _, _ in d.segments)
    ordered = sorted(((seq - base) % 2**32, data, t) for seq, data, t in d.segments)
    buf = bytearray()
    arrivals: list[tuple[int, float]] = []    # (end offset, time) of each placed run
    for off, data, t in ordered:
        if off > len(buf):
            break                             # a gap: the rest was not captured
        if off + len(data) <= len(buf):
            continue                          # a retransmission of octets we have
        buf += data[len(buf) - off:]
        arrivals.append((len(buf), t))
    return bytes(buf), arrivals


def der_frames_from_pcap(path: str | os.PathLike[str], *,
                         port: int | None = JUKI_PORT) -> list[tuple[float, bytes]]:
    """The DER of every complete frame in the capture at ``path``, with the capture time
    of the segment that completed it, in time order.

    TCP payloads are reassembled per direction of each connection (by sequence number,
    so reordered and retransmitted segments are handled); a frame that the capture ends
    inside is left out (spec/pdu.md section 2). ``port``: only connections with this
    port at one end (None: every TCP connection).
    """
    streams: dict[tuple[str, int, str, int], _Direction] = {}
    for pkt in rdpcap(os.fspath(path)):
        if TCP not in pkt or (IP not in pkt and IPv6 not in pkt):
            continue
        tcp = pkt[TCP]
        if port is not None and port not in (tcp.sport, tcp.dport):
            continue
        net = pkt[IP] if IP in pkt else pkt[IPv6]
        key = (str(net.src), int(tcp.sport), str(net.dst), int(tcp.dport))
        d = streams.setdefault(key, _Direction(first_seen=len(streams)))
        flags = int(tcp.flags)
        seq = int(tcp.seq)
        if flags & 0x02:                      # SYN: data starts after it
            d.base = (seq + 1) % 2**32
            seq = d.base
        payload = _tcp_payload(pkt)
        if payload:
            d.segments.append((seq, payload, float(pkt.time)))
    found: list[tuple[float, int, int, bytes]] = []
    for d in streams.values():
        if not d.segments:
            continue
        data, arrivals = _stream_bytes(d)
        pos = index = 0
        while pos + PREFIX_SIZE <= len(data):
            n = int.from_bytes(data[pos:pos + PREFIX_SIZE], "big")
            end = pos + PREFIX_SIZE + n
            if end > len(data):
                break
            when = next(t for stop, t in arrivals if stop >= end)
            found.append((when, d.first_seen, index, data[pos + PREFIX_SIZE:end]))
            pos, index = end, index + 1
    found.sort(key=lambda f: (f[0], f[1], f[2]))
    return [(when, der) for when, _, _, der in found]


def frames_from_pcap(path: str | os.PathLike[str], *,
                     port: int | None = JUKI_PORT) -> list[JukiPdu]:
    """Every complete frame of the capture at ``path``, decoded, in time order.

    See :func:`der_frames_from_pcap`. A frame that does not decode raises the codec's
    :class:`~juki_protocol.errors.DecodeError` (or ValidationError).
    """
    return [cast("JukiPdu", codec.decode(der, "JukiPdu"))
            for _, der in der_frames_from_pcap(path, port=port)]


def dissect(data: bytes) -> list[JukiFrame]:
    """Every :class:`JukiFrame` layer of a stream's octets (for tests and tools)."""
    pkt = JukiFrame(data)
    out: list[JukiFrame] = []
    layer: Any = pkt
    while isinstance(layer, JukiFrame):
        out.append(layer)
        layer = layer.payload
    return out


def stream_octets(pdus: Iterable[JukiPdu | bytes]) -> bytes:
    """The octets of several frames back to back (one direction of a connection)."""
    return b"".join(frame_bytes(p) for p in pdus)


__all__ = ["DEFAULT_MAX_FRAME", "DEFAULT_MSS", "INTERNAL_ERROR_NOTE", "JUKI_PORT",
           "NO_FRAME_START_NOTE", "Endpoint", "HeaderView",
           "JukiFragment", "JukiFrame", "TcpConnection", "craft_frame",
           "der_frames_from_pcap", "dissect", "frame_bytes", "frames_from_pcap", "isn_of",
           "read_header", "stream_octets"]
