"""Deterministic pcapng captures of one flow's frames (``juki fixtures capture``).

Theory of operation
-------------------
1. **Run the flow.** The flow runs between the state machines in memory exactly as
   ``juki simulate FLOW`` wires them (:mod:`juki_protocol.tools.cli_simulate`, reused
   as it is): every :class:`~juki_protocol.machines.common.Send` effect, with the node
   that produced it, is one PDU of the capture, in the order the machines produced them.
   The simulation's own (masked) console output is discarded.
2. **Make the PDUs.** Each message becomes a ``JukiPdu``: header version 1, the Send's
   message id and correlation id, sender and recipient node ids, the flow's fixed time
   (``cli_simulate.NOW``), a sequence number counting the PDUs from that sender to that
   recipient from 0, and profile ``current`` (the flows use identity info with the
   individual number). Statutory messages are sealed to the recipient
   (spec/pdu.md section 7) deterministically, as :mod:`juki_protocol.tools.vectors.envelope_vectors`
   does: every private key, content key, nonce and ephemeral key is derived from the
   seed and a label, certificates are signed with RFC 6979 ECDSA by a capture CA
   (:func:`capture_world`). Acknowledgements and error reports are in the clear.
3. **Write TCP.** Nodes get one documentation address each (RFC 5737,
   ``192.0.2.0/24``, from ``192.0.2.10`` in order of first appearance) and a
   documentation MAC address (RFC 7042, ``00:00:5e:00:53:xx``). One connection per
   pair of nodes, opened by the node that sends first, from port 49152 + n to
   :data:`~juki_protocol.tools.capture.scapy_layer.JUKI_PORT`; PDUs in both directions use it. Each
   connection has a three-way handshake, seq/ack numbers from derived initial numbers,
   segments of at most 1460 octets, an ACK for each frame and a FIN exchange at the end,
   so Wireshark and :func:`~juki_protocol.tools.capture.scapy_layer.frames_from_pcap` reassemble it.
   Packet times start at the flow's time and advance 1 ms per packet.
4. **Write the file.** pcapng (:func:`write_pcapng`), its section and its first packet
   commented with what made it (``juki fixtures capture --flow F --seed S``; a
   conformance case's capture carries the case id the same way); a name ending in
   ``.pcap`` gives a classic pcap, which has no comments. Wireshark shows the frames by
   name with ``tools/wireshark/juki.lua``.

Nothing in the capture is masked: all data is synthetic (:mod:`juki_protocol.fixtures.synth`).
The capture shows the frames as they are inside TLS (R-PDU-10); a real capture of the
network would show TLS records. Nothing personal is printed.

The same flow and seed always give a byte-identical file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from scapy.packet import Packet
from scapy.utils import PcapWriter

from juki_protocol.codec import codec
from juki_protocol.endpoint.frames import Numbering, message_type_of
from juki_protocol.envelope import envelope as env
from juki_protocol.envelope import pki
from juki_protocol.envelope.ca import CertificateAuthority, create_root_ca, issue_node_certificate
from juki_protocol.envelope.envelope_parts import seal_from_parts
from juki_protocol.identifiers import is_prefecture_code
from juki_protocol.machines.common import Effect, Send
from juki_protocol.messages.common import NodeId, Profile
from juki_protocol.messages.pdu import (
    Acknowledgement,
    ErrorReport,
    JukiPdu,
)
from juki_protocol.tools import cli_simulate
from juki_protocol.tools.capture.scapy_layer import (
    JUKI_PORT,
    Endpoint,
    TcpConnection,
    frame_bytes,
    isn_of,
)

#: The flows that can be captured (those of ``juki simulate``).
FLOWS: tuple[str, ...] = cli_simulate.FLOWS
#: Every PDU's header time and the first packet's capture time.
NOW: dt.datetime = cli_simulate.NOW
PROFILE = Profile.CURRENT
LINKTYPE_ETHERNET = 1
FIRST_HOST = 10                  # 192.0.2.10 is the first node
FIRST_CLIENT_PORT = 49152
PACKET_STEP = 0.001              # seconds between consecutive packets
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_NATIONAL = re.compile(r"DC[0-9]{2}\Z")
_AGENCY = re.compile(r"AG[0-9]{4}\Z")

_RUNNERS: dict[str, Callable[[int], None]] = {
    "wide-area": cli_simulate.wide_area,
    "special-move": cli_simulate.special_move,
    "identity-update": cli_simulate.identity_update,
    "provision": cli_simulate.provision,
    "card": cli_simulate.card,
}


# Running a flow -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FlowSend:
    """One message a machine sent: the name of its node and the Send effect."""

    sender: str
    send: Send


@contextlib.contextmanager
def _collecting(into: list[FlowSend]) -> Iterator[None]:
    """Collect the Send effects of a flow run, with the node that made them."""
    def collect(sender: str, effects: list[Effect]) -> None:
        for eff in effects:
            if isinstance(eff, Send):
                into.append(FlowSend(sender, eff))

    with cli_simulate.observe(collect, quiet=True):
        yield


def run_flow(flow: str, seed: int) -> list[FlowSend]:
    """The messages that ``flow`` exchanges with ``seed``, in the order they were sent."""
    if flow not in _RUNNERS:
        raise ValueError(f"unknown flow {flow!r}; known: {', '.join(FLOWS)}")
    sent: list[FlowSend] = []
    with _collecting(sent):
        _RUNNERS[flow](seed)
    return sent


def node_of(name: str) -> NodeId:
    """The node id of a machine's node name (``271004``, ``270008``, ``DC01``, ``AG0001``)."""
    if _NATIONAL.match(name):
        return pki.node_id("national", name)
    if _AGENCY.match(name):
        return pki.node_id("agency", name)
    return pki.node_id("prefecture" if is_prefecture_code(name) else "municipality", name)


# Deterministic keys and certificates ------------------------------------------------------

def _derive(seed: int, label: str, size: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"juki-capture-v1/{seed}/{label}".encode()
                              + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:size]


def _key(seed: int, label: str) -> ec.EllipticCurvePrivateKey:
    scalar = int.from_bytes(_derive(seed, f"key/{label}", 32), "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


@dataclass(frozen=True, slots=True)
class CaptureWorld:
    """The capture CA and one credential per node (keyed by ``str(NodeId)``)."""

    ca: CertificateAuthority
    credentials: dict[str, pki.Credential]

    def trust(self) -> pki.TrustStore:
        """A trust store with the capture CA as its only anchor."""
        return pki.TrustStore.from_pem(pki.cert_pem(self.ca.certificate))


def capture_world(seed: int, nodes: list[NodeId]) -> CaptureWorld:
    """A CA and node certificates derived from ``seed`` (valid a year around NOW)."""
    start, end = NOW - dt.timedelta(days=90), NOW + dt.timedelta(days=365)
    ca = create_root_ca(_key(seed, "root-ca"), common_name="Juki Capture CA (synthetic)",
                        not_before=start, not_after=end, serial=1, deterministic=True)
    creds: dict[str, pki.Credential] = {}
    for i, node in enumerate(nodes):
        key = _key(seed, f"node/{node}")
        cert: x509.Certificate = issue_node_certificate(
            ca, key.public_key(), node, not_before=start, not_after=end, serial=0x1000 + i,
            deterministic=True)
        creds[str(node)] = pki.Credential(key, cert)
    return CaptureWorld(ca=ca, credentials=creds)


# PDUs -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CapturedPdu:
    """One PDU of a capture, its sender and recipient nodes."""

    sender: NodeId
    recipient: NodeId
    pdu: JukiPdu


def flow_pdus(flow: str, seed: int) -> tuple[list[CapturedPdu], CaptureWorld]:
    """The PDUs of ``flow`` (sealed deterministically) and the keys that seal them."""
    sent = run_flow(flow, seed)
    nodes: list[NodeId] = []
    for s in sent:
        for node in (node_of(s.sender), node_of(s.send.recipient)):
            if node not in nodes:
                nodes.append(node)
    world = capture_world(seed, nodes)
    numbering: dict[str, Numbering] = {}    # each sender's, as its endpoint keeps it
    out: list[CapturedPdu] = []
    for index, s in enumerate(sent):
        sender, recipient = node_of(s.sender), node_of(s.send.recipient)
        msg = s.send.message
        header = numbering.setdefault(str(sender), Numbering(sender, PROFILE)).header(
            message_type_of(msg), recipient, NOW, s.send.message_id, s.send.correlation_id)
        if isinstance(msg, Acknowledgement):
            pdu = JukiPdu(header=header, acknowledgement=msg)
        elif isinstance(msg, ErrorReport):
            pdu = JukiPdu(header=header, error_report=msg)
        else:
            signer = world.credentials[str(sender)]
            sealed = seal_from_parts(
                header, codec.encode(msg, profile=PROFILE), signer.key, signer.certificate,
                world.credentials[str(recipient)].certificate,
                ephemeral_key=_key(seed, f"ephemeral/{flow}/{index}"),
                cek=_derive(seed, f"cek/{flow}/{index}", env.CEK_SIZE),
                iv=_derive(seed, f"iv/{flow}/{index}", env.NONCE_SIZE), now=NOW)
            pdu = JukiPdu(header=header, sealed=sealed)
        out.append(CapturedPdu(sender, recipient, pdu))
    return out, world


# Packets ----------------------------------------------------------------------------------

def capture_packets(pdus: list[CapturedPdu], *, port: int = JUKI_PORT) -> list[Packet]:
    """The Ethernet/IPv4/TCP packets carrying ``pdus`` (see the module docstring)."""
    hosts: dict[str, int] = {}
    for p in pdus:
        for node in (p.sender, p.recipient):
            hosts.setdefault(str(node), FIRST_HOST + len(hosts))
    if len(hosts) > 254 - FIRST_HOST:
        raise ValueError("too many nodes for 192.0.2.0/24")
    base = NOW.timestamp()
    ticks = iter(range(1 << 62))

    def clock() -> float:
        return round(base + next(ticks) * PACKET_STEP, 6)

    def endpoint(node: NodeId, node_port: int) -> Endpoint:
        n = hosts[str(node)]
        return Endpoint(mac=f"00:00:5e:00:53:{n:02x}", ip=f"192.0.2.{n}", port=node_port)

    connections: dict[frozenset[str], TcpConnection] = {}
    order: list[TcpConnection] = []
    packets: list[Packet] = []
    for p in pdus:
        key = frozenset((str(p.sender), str(p.recipient)))
        conn = connections.get(key)
        if conn is None:
            label = f"{p.sender}>{p.recipient}"
            conn = TcpConnection(client=endpoint(p.sender, FIRST_CLIENT_PORT + len(order)),
                                 server=endpoint(p.recipient, port),
                                 client_isn=isn_of(f"{label}/client"),
                                 server_isn=isn_of(f"{label}/server"), clock=clock,
                                 packets=packets)
            connections[key] = conn
            order.append(conn)
            conn.open()
        from_client = conn.client.ip == endpoint(p.sender, 0).ip
        conn.send(from_client, frame_bytes(p.pdu))
    for conn in order:
        conn.close()
    return packets


def write_pcap(path: str | os.PathLike[str], packets: list[Packet]) -> None:
    """Write ``packets`` as a little-endian, microsecond pcap (Ethernet link type).

    The classic format has no room for comments: :func:`write_pcapng` is the default."""
    writer = PcapWriter(os.fspath(path), linktype=LINKTYPE_ETHERNET, endianness="<",
                        sync=False)
    try:
        if packets:
            writer.write(packets)
        else:
            writer.write_header(None)
    finally:
        writer.close()


# pcapng (draft-ietf-opsawg-pcapng): a Section Header Block, one Interface Description
# Block (Ethernet, microsecond timestamps, the default if_tsresol) and one Enhanced
# Packet Block per packet, little-endian. Written here rather than with scapy's writer
# so that the section can carry a comment and timestamps are rounded, not truncated.
_SHB, _IDB, _EPB = 0x0A0D0D0A, 1, 6
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_END, _OPT_COMMENT, _SHB_USERAPPL = 0, 1, 4
_SNAPLEN = 262144
PCAPNG_APPLICATION = "juki-protocol"


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _options(options: list[tuple[int, str]]) -> bytes:
    if not options:
        return b""
    out = b""
    for code, text in options:
        value = text.encode("utf-8")
        if len(value) > 0xFFFF:
            raise ValueError(f"pcapng option {code}: {len(value)} octets, at most 65535")
        out += struct.pack("<HH", code, len(value)) + _pad4(value)
    return out + struct.pack("<HH", _OPT_END, 0)


def _block(block_type: int, body: bytes, options: list[tuple[int, str]]) -> bytes:
    body = _pad4(body) + _options(options)
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


def pcapng_bytes(packets: list[Packet], *, comment: str | None = None,
                 packet_comments: Mapping[int, str] | None = None) -> bytes:
    """The pcapng file of ``packets`` (Ethernet): ``comment`` is the section's comment
    (``shb_comment``), ``packet_comments`` maps a packet's index to its ``opt_comment``
    (Wireshark's ``frame.comment``)."""
    notes = dict(packet_comments or {})
    if any(not 0 <= i < len(packets) for i in notes):
        raise ValueError("packet_comments: an index outside the packets")
    shb_options = [(_SHB_USERAPPL, PCAPNG_APPLICATION)]
    if comment is not None:
        shb_options.insert(0, (_OPT_COMMENT, comment))
    out = [_block(_SHB, struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1), shb_options),
           _block(_IDB, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, _SNAPLEN), [])]
    for i, pkt in enumerate(packets):
        data = bytes(pkt)
        micros = round(float(pkt.time) * 1_000_000)
        body = struct.pack("<IIIII", 0, micros >> 32, micros & 0xFFFFFFFF, len(data),
                           len(data)) + data
        out.append(_block(_EPB, body, [(_OPT_COMMENT, notes[i])] if i in notes else []))
    return b"".join(out)


def write_pcapng(path: str | os.PathLike[str], packets: list[Packet], *,
                 comment: str | None = None,
                 packet_comments: Mapping[int, str] | None = None) -> None:
    """Write :func:`pcapng_bytes` of ``packets`` to ``path``."""
    data = pcapng_bytes(packets, comment=comment, packet_comments=packet_comments)
    with open(path, "wb") as f:
        f.write(data)


def write_packets(path: str | os.PathLike[str], packets: list[Packet], *,
                  comment: str | None = None) -> None:
    """Write ``packets`` as pcapng with ``comment`` as the section's comment and the
    first packet's, or as a classic pcap (without it) when ``path`` ends in ``.pcap``."""
    if os.fspath(path).lower().endswith(".pcap"):
        write_pcap(path, packets)
        return
    write_pcapng(path, packets, comment=comment,
                 packet_comments={0: comment} if comment is not None and packets else None)


@dataclass(frozen=True, slots=True)
class CaptureSummary:
    """What :func:`write_capture` wrote (counts and node ids only: nothing personal)."""

    flow: str
    seed: int
    pdus: int
    packets: int
    nodes: tuple[str, ...]


def write_capture(flow: str, seed: int, out: str | os.PathLike[str], *,
                  port: int = JUKI_PORT) -> CaptureSummary:
    """Run ``flow`` with ``seed`` and write its capture to ``out``."""
    pdus, world = flow_pdus(flow, seed)
    packets = capture_packets(pdus, port=port)
    write_packets(out, packets, comment=f"juki fixtures capture --flow {flow} --seed {seed}")
    return CaptureSummary(flow=flow, seed=seed, pdus=len(pdus), packets=len(packets),
                          nodes=tuple(world.credentials))


@click.command("capture")
@click.option("--flow", "flow", required=True, type=click.Choice(FLOWS),
              help="The flow to run (as in `juki simulate`).")
@click.option("--seed", default=1, show_default=True, type=int,
              help="Seed of the synthetic data, keys and randomness.")
@click.option("--out", "out", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="The capture to write: pcapng, or a classic pcap if the name ends "
                   "in .pcap.")
@click.option("--port", default=JUKI_PORT, show_default=True,
              type=click.IntRange(1, 65535), help="The listeners' TCP port.")
def capture(flow: str, seed: int, out: Path, port: int) -> None:
    """Write a deterministic pcapng of FLOW's frames between synthetic nodes.

    Statutory messages are sealed with keys derived from SEED; acknowledgements and
    error reports are in the clear. The same flow and seed give a byte-identical file.
    """
    try:
        summary = write_capture(flow, seed, out, port=port)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from exc
    if summary.pdus == 0:
        click.echo(f"flow {flow} exchanges no PDUs between nodes (the card and the "
                   f"municipality's terminal talk locally): wrote an empty capture to {out}")
        return
    click.echo(f"wrote {summary.pdus} frames in {summary.packets} packets between "
               f"{len(summary.nodes)} nodes ({', '.join(summary.nodes)}) to {out}")


__all__ = ["FLOWS", "PCAPNG_APPLICATION", "CaptureSummary", "CaptureWorld", "CapturedPdu",
           "FlowSend", "capture", "capture_packets", "capture_world", "flow_pdus", "node_of",
           "pcapng_bytes", "run_flow", "write_capture", "write_packets", "write_pcap",
           "write_pcapng"]
