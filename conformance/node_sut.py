"""The system under test in node mode: a node's endpoint and its upper tester.

The runner plays the node's peers (the lower tester) over mutual TLS with real frames
and real sealed envelopes, and reads outcomes through the node's upper tester
(spec/node.md section 4). :class:`NodeSut` either launches a node (by default our
reference prefecture 270008, ``juki node serve --upper-tester``) on 127.0.0.1 with a
fresh network PKI in a temporary directory, or attaches to a running node named by the
ICS ``endpoint`` (its ``pki`` directory holds the network CA certificate, the SUT's
certificate and the lower tester's credentials in the layout of ``juki pki``).

It subclasses :class:`~conformance.sut.AdapterSut` so that the runner drives it like
an adapter: ``start`` returns the upper tester's hello, ``request`` sends one upper
tester op, ``stop`` ends the node. Lower tester connections are blocking sockets.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import selectors
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from conformance.sut import AdapterSut, HarnessError, SutFault
from juki_protocol import codec, pki
from juki_protocol.envelope import _seal_from_parts, open_envelope, seal
from juki_protocol.errors import JukiError
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, JukiPdu, PduHeader
from juki_protocol.node.network import create_pki
from juki_protocol.node.node import message_type_of, node_of_code
from juki_protocol.node.transport import client_context

#: The reference node's ``serve`` command; the runner appends the node's options.
REFERENCE_NODE = [sys.executable, "-m", "juki_protocol.node.cli_node", "node", "serve"]
#: The SUT (a prefecture) and the peers the lower tester plays.
SUT_ROLE, SUT_CODE = "prefecture", "270008"
PEERS: tuple[tuple[str, str], ...] = (("municipality", "271004"),
                                      ("municipality", "272035"),
                                      ("prefecture", "130001"), ("national", "DC01"),
                                      ("agency", "AG0001"), ("agency", "AG9999"))
#: The agencies the lower tester plays when it asks for provision (Art. 30-7(3)): one
#: of schedule 1 and one that is not, and the operator the launched node registers for
#: each (``--operator BODY=OP``), so that only the schedule can refuse AG9999.
AGENCY, UNLISTED_AGENCY = "AG0001", "AG9999"
OPERATORS: dict[str, str] = {AGENCY: "op-conformance", UNLISTED_AGENCY: "op-conformance"}
START_TIMEOUT = 20.0


def _address(text: str) -> tuple[str, int]:
    host, _, port = str(text).rpartition(":")
    if not host or not port.isdigit():
        raise HarnessError(f"{text!r} is not HOST:PORT")
    return host, int(port)


class PeerConnection:
    """One lower tester connection: framed PDUs over mutual TLS (blocking)."""

    def __init__(self, sock: ssl.SSLSocket, timeout: float) -> None:
        self.sock = sock
        self.timeout = timeout
        self.buffer = b""

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, pdu_der: bytes) -> None:
        """Send one frame (R-PDU-12)."""
        self.send_raw(len(pdu_der).to_bytes(4, "big") + pdu_der)

    def _fill(self, n: int, deadline: float) -> bool:
        while len(self.buffer) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionError, ssl.SSLError, OSError) as exc:
                if isinstance(exc, (socket.timeout, TimeoutError)):
                    raise TimeoutError from exc
                return False
            if not chunk:
                return False
            self.buffer += chunk
        return True

    def read(self, timeout: float | None = None) -> JukiPdu | None:
        """The next PDU; None when the node closed the connection. Raises TimeoutError
        when nothing came in time and SutFault when the node sent something that is not
        a frame with a valid PDU."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        if not self._fill(4, deadline):
            return None
        n = int.from_bytes(self.buffer[:4], "big")
        if n > 16 * 1024 * 1024 + 65536:
            raise SutFault(f"the node sent a frame of {n} octets")
        if not self._fill(4 + n, deadline):
            return None
        body, self.buffer = self.buffer[4:4 + n], self.buffer[4 + n:]
        try:
            pdu = codec.decode(body, "JukiPdu")
        except JukiError as exc:
            raise SutFault(f"the node sent a PDU that does not decode: {exc}") from exc
        assert isinstance(pdu, JukiPdu)
        return pdu

    def answer_to(self, message_id: bytes | None, timeout: float | None = None
                  ) -> JukiPdu | None:
        """The acknowledgement or error report referring to ``message_id`` (None: one
        that refers to nothing); None when the node closed the connection. A missing
        answer is the SUT's fault (R-PDU-22): SutFault after ``timeout`` seconds."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            try:
                pdu = self.read(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise SutFault(f"no answer within {limit:g} s") from None
            if pdu is None:
                return None
            ref = (pdu.acknowledgement.acknowledged_id if pdu.acknowledgement is not None
                   else pdu.error_report.refers_to if pdu.error_report is not None else b"")
            if ref == message_id:
                return pdu

    def closed_within(self, timeout: float) -> bool:
        """True if the node closes the connection within ``timeout`` seconds (PDUs it
        sends before are skipped)."""
        try:
            while self.read(timeout) is not None:
                pass
        except TimeoutError:
            return False
        except SutFault:
            return True
        return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class NodeSut(AdapterSut):
    """A node under test (see the module docstring)."""

    def __init__(self, command: list[str] | None = None, *, timeout: float = 10.0,
                 endpoint: dict[str, Any] | None = None) -> None:
        super().__init__(command or REFERENCE_NODE, timeout=timeout)
        self.endpoint = endpoint
        self.workdir: Path | None = None
        self.pki_dir = Path()
        self.rogue_dir = Path()
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self.upper_address: tuple[str, int] = ("127.0.0.1", 0)
        self.code = SUT_CODE
        self.upper: ssl.SSLSocket | None = None
        self.upper_file: Any = None
        self.sequence = 0

    # Life cycle ----------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        """Launch (or attach to) the node, connect to its upper tester, say hello."""
        self.stop()
        self.workdir = Path(tempfile.mkdtemp(prefix="juki-conformance-node-"))
        now = dt.datetime.now(dt.UTC)
        self.rogue_dir = create_pki(self.workdir / "rogue", [("municipality", "271004")],
                                    now, days=2)
        if self.endpoint is None:
            self.pki_dir = create_pki(self.workdir / "pki", [(SUT_ROLE, SUT_CODE), *PEERS],
                                      now, days=2)
            self._launch()
        else:
            self.pki_dir = Path(str(self.endpoint["pki"]))
            self.code = str(self.endpoint.get("node", SUT_CODE))
            self.address = _address(self.endpoint["address"])
            self.upper_address = _address(self.endpoint["upperTester"])
        try:
            self._connect_upper()
            self.hello = self.request("hello")
        except (OSError, ssl.SSLError, SutFault) as exc:
            self.stop()
            raise HarnessError(f"the node's upper tester did not answer hello: {exc}"
                               ) from exc
        if not self.hello.get("ok"):
            raise HarnessError(f"the node's upper tester refused hello: {self.hello}")
        return self.hello

    def _launch(self) -> None:
        assert self.workdir is not None
        p = self.pki_dir
        args = [*self.command, "--role", SUT_ROLE, "--node", SUT_CODE,
                "--db", str(self.workdir / f"{SUT_CODE}.db"), "--cert", str(p / f"{SUT_CODE}.pem"),
                "--key", str(p / f"{SUT_CODE}.key"), "--trust", str(p / "ca.pem"),
                "--crl", str(p / "crl.pem"), "--listen", "127.0.0.1:0",
                "--upper-tester", "127.0.0.1:0"]
        for body, operator in OPERATORS.items():
            args += ["--operator", f"{body}={operator}"]
        log = (self.workdir / "node.log").open("wb")
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=log)
        except OSError as exc:
            raise HarnessError(f"cannot start the node {args[:4]!r}: {exc}") from exc
        finally:
            log.close()
        lines = self._startup_lines(2)
        self.address = _address(lines[0].split(" listening on ")[-1])
        self.upper_address = _address(lines[1].split(" listening on ")[-1])

    def _startup_lines(self, count: int) -> list[str]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        buf = b""
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while buf.count(b"\n") < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not sel.select(0)):
                    self.stop()
                    raise HarnessError(f"the node did not start: {self.node_log()[-500:]}")
                if sel.select(min(left, 0.2)):
                    chunk = os.read(fd, 4096)
                    if not chunk and self.proc.poll() is not None:
                        self.stop()
                        raise HarnessError(f"the node exited: {self.node_log()[-500:]}")
                    buf += chunk
        return [x for x in buf.decode("utf-8", "replace").splitlines()
                if " listening on " in x][:count]

    def node_log(self) -> str:
        """What the launched node wrote on its standard error."""
        path = self.workdir / "node.log" if self.workdir else None
        return path.read_text("utf-8", "replace") if path and path.exists() else ""

    def stop(self) -> None:
        if self.upper is not None:
            try:
                self.upper_file.close()
                self.upper.close()
            except OSError:
                pass
            self.upper = None
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # The upper tester ------------------------------------------------------------------

    def _tls(self, address: tuple[str, int], code: str, *, cert: Path | None = None,
             key: Path | None = None) -> ssl.SSLSocket:
        ctx = client_context(cert or self.pki_dir / f"{code}.pem",
                             key or self.pki_dir / f"{code}.key", self.pki_dir / "ca.pem")
        raw = socket.create_connection(address, timeout=self.timeout)
        try:
            return ctx.wrap_socket(raw)
        except BaseException:
            raw.close()
            raise

    def _connect_upper(self) -> None:
        # The runner presents the certificate of the municipality it plays (any
        # certificate of the network CA is accepted, spec/node.md section 4).
        self.upper = self._tls(self.upper_address, "271004")
        self.upper_file = self.upper.makefile("rwb")

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """One upper tester op; SutFault when the node does not answer as specified."""
        if self.upper is None:
            raise HarnessError("the upper tester is not connected")
        self.next_id += 1
        rid = self.next_id
        line = json.dumps({"id": rid, "op": op, **fields}, ensure_ascii=False) + "\n"
        try:
            self.upper.settimeout(self.timeout)
            self.upper_file.write(line.encode("utf-8"))
            self.upper_file.flush()
            answer = self.upper_file.readline(16 * 1024 * 1024)
        except (OSError, ssl.SSLError) as exc:
            raise SutFault(f"upper tester {op}: {exc or type(exc).__name__}") from exc
        try:
            obj = json.loads(answer)
        except ValueError as exc:
            raise SutFault(f"upper tester {op}: not a JSON line: {answer[:200]!r}") from exc
        if not isinstance(obj, dict) or obj.get("id") != rid or "ok" not in obj:
            raise SutFault(f"upper tester {op}: answer does not follow the protocol: "
                           f"{str(obj)[:200]}")
        return obj

    def status(self) -> dict[str, Any]:
        """The upper tester's ``status``; SutFault unless it succeeds."""
        answer = self.request("status")
        if not answer.get("ok"):
            raise SutFault(f"upper tester status failed: {answer.get('error')}")
        return answer

    # The lower tester ------------------------------------------------------------------

    def connect(self, code: str, *, cert: Path | None = None, key: Path | None = None
                ) -> PeerConnection:
        """A connection to the node as peer ``code`` (its certificate, or ``cert``)."""
        return PeerConnection(self._tls(self.address, code, cert=cert, key=key),
                              self.timeout)

    def sealed(self, message: object, *, sender: str, recipient: str | None = None,
               signer: str | None = None, message_id: bytes | None = None,
               time_offset: dt.timedelta = dt.timedelta(0), der: bytes | None = None
               ) -> tuple[bytes, bytes]:
        """A sealed PDU carrying ``message`` from ``sender`` (signed by ``signer``,
        default the sender) to the SUT (header recipient ``recipient``, default the
        SUT); returns (message id, PDU DER). Forged PDUs are sealed all the same.
        ``der``: the message's encoding, made by hand (default: ``message`` encoded)."""
        now = (dt.datetime.now(dt.UTC) + time_offset).replace(microsecond=0)
        mid = message_id or secrets.token_bytes(16)
        self.sequence += 1
        header = PduHeader(version=1, message_id=mid, message_type=message_type_of(message),
                           sender=node_of_code(sender),
                           recipient=node_of_code(recipient or self.code), time=now,
                           sequence_number=self.sequence, profile=Profile.CURRENT)
        who = signer or sender
        key = pki.load_private_key((self.pki_dir / f"{who}.key").read_bytes())
        cert = pki.load_certificate((self.pki_dir / f"{who}.pem").read_bytes())
        to = pki.load_certificate((self.pki_dir / f"{self.code}.pem").read_bytes())
        der = codec.encode(message) if der is None else der
        try:
            envelope = seal(header, der, key, cert, to, now)
        except JukiError:       # the sealer refuses forgeries; the lower tester makes them
            envelope = _seal_from_parts(header, der, key, cert, to,
                                        ephemeral_key=pki.generate_key(),
                                        cek=os.urandom(32), iv=os.urandom(12), now=now,
                                        deterministic=False)
        return mid, codec.encode(JukiPdu(header=header, sealed=envelope), profile=None)

    def opened(self, pdu: JukiPdu, recipient: str) -> object:
        """The message of a sealed PDU the node sent to peer ``recipient``, opened with
        that peer's key; SutFault when it does not open or decode."""
        if pdu.sealed is None:
            raise SutFault("the node sent an answer, not a sealed message")
        credential = pki.Credential(
            pki.load_private_key((self.pki_dir / f"{recipient}.key").read_bytes()),
            pki.load_certificate((self.pki_dir / f"{recipient}.pem").read_bytes()))
        trust = pki.TrustStore.from_pem((self.pki_dir / "ca.pem").read_bytes())
        try:
            opened = open_envelope(pdu.sealed, [credential], trust, dt.datetime.now(dt.UTC),
                                   header=pdu.header)
            return codec.decode(opened.message_der, pdu.header.message_type.type_name,
                                profile=pdu.header.profile)
        except JukiError as exc:
            raise SutFault(f"the node's {pdu.header.message_type.value} does not open: "
                           f"{exc}") from exc

    def acknowledge(self, conn: PeerConnection, pdu: JukiPdu, sender: str) -> None:
        """Acknowledge the sealed ``pdu`` the node sent, as peer ``sender``."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        ack = Acknowledgement(acknowledged_id=pdu.header.message_id,
                              status=AckStatus.ACCEPTED)
        self.sequence += 1
        header = PduHeader(version=1, message_id=secrets.token_bytes(16),
                           message_type=message_type_of(ack), sender=node_of_code(sender),
                           recipient=node_of_code(self.code), time=now,
                           sequence_number=self.sequence, profile=Profile.CURRENT)
        conn.send(codec.encode(JukiPdu(header=header, acknowledgement=ack), profile=None))


__all__ = ["AGENCY", "OPERATORS", "REFERENCE_NODE", "UNLISTED_AGENCY", "NodeSut",
           "PeerConnection"]
