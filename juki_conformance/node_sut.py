"""The system under test in node mode: a node's endpoint and its upper tester.

The runner plays the node's peers (the lower tester) over mutual TLS with real frames
and real sealed envelopes, and reads outcomes through the node's upper tester
(spec/node.md section 4). :class:`NodeSut` either launches a node (by default our
reference prefecture 270008, or with ``role="municipality"`` the reference municipality
271004; ``juki node serve --upper-tester``) on 127.0.0.1 with a fresh network PKI in a
temporary directory, or attaches to a running node named by the ICS ``endpoint`` (its
``pki`` directory holds the network CA certificate, the SUT's certificate and the lower
tester's credentials in the layout of ``juki pki``).

The launched PKI also holds a certificate of one peer that its CRL revokes
(``pki/revoked/<ID>.pem``), for the revoked-certificate case. A municipality sends its
identity info updates to its prefecture: the runner plays that prefecture on a
:class:`~juki_conformance.lower_tester.Listener` whose address the launched node finds in its
``--directory`` (an attached node: at the ICS ``endpoint.lowerTester`` address).

It subclasses :class:`~juki_conformance.sut.AdapterSut` so that the runner drives it like
an adapter: ``start`` returns the upper tester's hello, ``request`` sends one upper
tester op, ``stop`` ends the node. Lower tester connections are blocking sockets; the
frames of each case are logged for its capture (:mod:`juki_conformance.lower_tester`).
The network around the node (codes, peers, PKI, serve options) is
:mod:`juki_conformance.node_layout`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import secrets
import selectors
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from juki_conformance.ics import REFERENCE_IXIT, REFERENCE_LIMITS
from juki_conformance.lower_tester import Frame, FrameLog, Listener, PeerConnection
from juki_conformance.node_layout import (
    AGENCY,
    LAUNCHED_PKI_DAYS,
    LOCAL_PURPOSES,
    OPERATORS,
    REFERENCE_NODE,
    START_TIMEOUT,
    SUT_CODES,
    SUT_ROLE,
    UNLISTED_AGENCY,
    listened_as,
    other_municipality,
    prepare_pki,
    revoked_peer_of,
    serve_options,
    write_test_operators,
)
from juki_conformance.sut import AdapterSut, HarnessError, Inconclusive, SutFault
from juki_protocol.codec import codec
from juki_protocol.envelope import pki
from juki_protocol.envelope.envelope import open_envelope, seal
from juki_protocol.envelope.envelope_parts import seal_from_parts
from juki_protocol.errors import JukiError
from juki_protocol.identifiers import prefecture_of
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    ErrorReport,
    JukiPdu,
    PduHeader,
)
from juki_protocol.node.network import create_pki
from juki_protocol.node.node import message_type_of, node_of_code
from juki_protocol.node.transport import client_context, server_context

#: The resend interval a node keeps unless its ICS declares ``retryIntervalSeconds``
#: (R-TIME-02).
RETRY_INTERVAL = 60.0

#: Seconds to wait before kill -9 when the SUT records coverage (the node's sitecustomize
#: saves every 0.5 s, juki_conformance/mutation.py).
COVERAGE_SAVE_WAIT = 0.7
#: Seconds a node that did not come back from a restart in time (a failed case) is given
#: to start once more, so that the later cases have it (a loaded machine can be slow).
REVIVE_TIMEOUT = 120.0


def _address(text: str) -> tuple[str, int]:
    host, _, port = str(text).rpartition(":")
    if not host or not port.isdigit():
        raise HarnessError(f"{text!r} is not HOST:PORT")
    return host, int(port)


class NodeSut(AdapterSut):
    """A node under test (see the module docstring)."""

    def __init__(self, command: list[str] | None = None, *, timeout: float = 10.0,
                 endpoint: dict[str, Any] | None = None, role: str = SUT_ROLE,
                 limits: dict[str, float] | None = None,
                 local_purposes: dict[str, str] | None = None,
                 ixit: dict[str, Any] | None = None,
                 env: dict[str, str] | None = None) -> None:
        super().__init__(command or REFERENCE_NODE, timeout=timeout, env=env)
        if role not in SUT_CODES:
            raise HarnessError(f"node mode cannot test a {role} node")
        self.endpoint = endpoint
        #: The IXIT (spec/conformance.md section 6): how to restart the node, control
        #: its clock and inject faults; a launched reference node has them all.
        self.ixit: dict[str, Any] = dict(ixit if ixit is not None else (
            REFERENCE_IXIT if endpoint is None else {}))
        self._clock_at: tuple[dt.datetime, float] | None = None
        self.restarts_done = 0
        self.role = role
        #: The node's limits (ICS ``limits``): a launched node is started with them
        #: (default :data:`REFERENCE_LIMITS`); an attached one declares them.
        #: The purpose served per local body kind (ICS ``localPurposes``): a launched
        #: node is started with :data:`LOCAL_PURPOSES`; an attached one declares them.
        self.local_purposes = dict(LOCAL_PURPOSES if local_purposes is None
                                   and endpoint is None else local_purposes or {})
        self.limits = dict(REFERENCE_LIMITS if limits is None and endpoint is None
                           else limits or {})
        self.frames = FrameLog()
        self.listeners: dict[str, Listener] = {}
        self.workdir: Path | None = None
        self.pki_dir = Path()
        self.rogue_dir = Path()
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self.upper_address: tuple[str, int] = ("127.0.0.1", 0)
        self.code = SUT_CODES[role]
        self.upper: ssl.SSLSocket | None = None
        self.upper_file: Any = None
        #: The upper tester's connection failed in an op: the next op reconnects.
        self._upper_lost = False
        self.sequence = 0
        #: The operator session the ops carry (IXIT ``operator``).
        self.session: str | None = None

    # Life cycle ----------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        """Launch (or attach to) the node, connect to its upper tester, say hello."""
        self.stop()
        self.workdir = Path(tempfile.mkdtemp(prefix="juki-conformance-node-"))
        now = dt.datetime.now(dt.UTC)
        self.rogue_dir = create_pki(self.workdir / "rogue", [("municipality", "271004")],
                                    now, days=2)
        if self.endpoint is None:
            # Valid for long enough that the model-based cases' clock steps (a day at a
            # time) never outlive the run's certificates and CRL.
            self.pki_dir = prepare_pki(self.workdir / "pki", self.role, self.code, now,
                                       days=LAUNCHED_PKI_DAYS)
            for peer in listened_as(self.role, self.code):
                self._listen_as(peer, ("127.0.0.1", 0))
            self._launch()
        else:
            self.pki_dir = Path(str(self.endpoint["pki"]))
            self.code = str(self.endpoint.get("node", self.code))
            self.address = _address(self.endpoint["address"])
            self.upper_address = _address(self.endpoint["upperTester"])
            lower = self.endpoint.get("lowerTester")
            if isinstance(lower, str):        # the older form: the prefecture only
                lower = {self.prefecture: lower} if self.role == "municipality" else {}
            for peer, where in (lower or {}).items():
                self._listen_as(str(peer), _address(where))
        try:
            self._connect_upper()
            self.hello = self.request("hello")
        except (OSError, ssl.SSLError, SutFault) as exc:
            self.stop()
            raise HarnessError(f"the node's upper tester did not answer hello: {exc}"
                               ) from exc
        if not self.hello.get("ok"):
            raise HarnessError(f"the node's upper tester refused hello: {self.hello}")
        self.login()
        return self.hello

    def login(self) -> None:
        """Log in as the IXIT's operator (spec/node.md section 4.8), if it declares one:
        later ops carry the session."""
        self.session = None
        operator = self.ixit.get("operator")
        if not isinstance(operator, dict):
            return
        answer = self.request("operator_login", operatorId=operator.get("id"),
                              pin=operator.get("pin"))
        if not answer.get("ok"):
            raise HarnessError(f"the IXIT's operator cannot log in: {answer.get('error')}")
        self.session = str(answer["session"])

    # Peers the runner plays ------------------------------------------------------------

    @property
    def peer_municipality(self) -> str:
        """The municipality the runner plays (271004 beside a prefecture)."""
        return "271004" if self.role == "prefecture" else other_municipality(self.code)

    @property
    def prefecture(self) -> str:
        """The prefecture the runner plays beside a municipality SUT."""
        return prefecture_of(self.code)

    @property
    def revoked_peer(self) -> str:
        """The peer whose certificate ``pki/revoked/`` holds, revoked by the CRL."""
        return revoked_peer_of(self.role, self.code)

    @property
    def listener(self) -> Listener | None:
        """The listener of the first peer of :func:`listened_as` (a municipality's
        prefecture, a prefecture's national centre, an agency's prefecture)."""
        first = listened_as(self.role, self.code)[:1]
        return self.listeners.get(first[0]) if first else None

    def _listen_as(self, code: str, address: tuple[str, int]) -> None:
        """Play peer ``code``: accept the connections the node opens to it."""
        ctx = server_context(self.pki_dir / f"{code}.pem", self.pki_dir / f"{code}.key",
                             self.pki_dir / "ca.pem")
        try:
            self.listeners[code] = Listener(ctx, address, self.timeout, self.frames)
        except OSError as exc:
            raise HarnessError(f"cannot listen on {address} as {code}: {exc}") from exc

    def _launch(self) -> None:
        assert self.workdir is not None
        directory = None
        if self.listeners:
            directory = self.workdir / "directory.json"
            directory.write_text(json.dumps(
                {code: "{}:{}".format(*lst.address) for code, lst in self.listeners.items()}),
                "utf-8")
        self.launch_args = [
            *self.command, "--db", str(self.workdir / f"{self.code}.db"),
            *serve_options(self.role, self.code, self.pki_dir, listen="127.0.0.1:0",
                           upper_tester="127.0.0.1:0", limits=self.limits,
                           directory=directory)]
        operator = self.ixit.get("operator")
        if isinstance(operator, dict):       # spec/node.md section 4.8: the test operator
            path = write_test_operators(self.workdir / "operators.json", self.pki_dir,
                                        self.code, operator, days=LAUNCHED_PKI_DAYS)
            self.launch_args += ["--operators-file", str(path)]
        else:       # no operator to log in as: the node runs without sessions (logged)
            self.launch_args += ["--no-operators"]
        try:
            self._spawn()
        except HarnessError:     # a node that never started leaves no files behind
            self.stop()
            raise

    def _spawn(self, timeout: float | None = None) -> None:
        """Start the launched node's process with :attr:`launch_args` and read where it
        listens (HarnessError, the process ended, when it does not in ``timeout``
        seconds; its files are kept)."""
        assert self.workdir is not None
        args = list(self.launch_args)
        if self._clock_at is not None and "--test-clock" in args:
            # A restarted process starts its test clock where the runner had it, so
            # that what it sends at once (a resent update) is not dated in the past
            # (a clock never goes back, R-NODE-18).
            at, mono = self._clock_at
            want = at + dt.timedelta(seconds=time.monotonic() - mono)
            if want > dt.datetime.now(dt.UTC):
                args[args.index("--test-clock") + 1] = want.isoformat()
        log = (self.workdir / "node.log").open("ab")
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=log,
                                         env={**os.environ, **(self.env or {})})
        except OSError as exc:
            raise HarnessError(f"cannot start the node {args[:4]!r}: {exc}") from exc
        finally:
            log.close()
        lines = self._startup_lines(2, START_TIMEOUT if timeout is None else timeout)
        self.address = _address(lines[0].split(" listening on ")[-1])
        self.upper_address = _address(lines[1].split(" listening on ")[-1])

    def _startup_lines(self, count: int, timeout: float) -> list[str]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while buf.count(b"\n") < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not sel.select(0)):
                    self._end_process()
                    raise HarnessError(f"the node did not start: {self.node_log()[-500:]}")
                if sel.select(min(left, 0.2)):
                    chunk = os.read(fd, 4096)
                    if not chunk and self.proc.poll() is not None:
                        self._end_process()
                        raise HarnessError(f"the node exited: {self.node_log()[-500:]}")
                    buf += chunk
        return [x for x in buf.decode("utf-8", "replace").splitlines()
                if " listening on " in x][:count]

    def node_log(self) -> str:
        """What the launched node wrote on its standard error."""
        path = self.workdir / "node.log" if self.workdir else None
        return path.read_text("utf-8", "replace") if path and path.exists() else ""

    def begin_case(self) -> None:
        self.frames.clear()

    def case_frames(self) -> tuple[Frame, ...]:
        return self.frames.snapshot()

    def stop(self) -> None:
        for listener in self.listeners.values():
            listener.close()
        self.listeners = {}
        self._clock_at = None
        if self.upper is not None:
            try:
                self.upper_file.close()
                self.upper.close()
            except OSError:
                pass
            self.upper = None
        self._end_process()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _end_process(self) -> None:
        """End the launched node's process, keeping its files (its storage and keys)."""
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
        self.upper = self._tls(self.upper_address, self.peer_municipality)
        self.upper_file = self.upper.makefile("rwb")

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """One upper tester op; SutFault when the node does not answer as specified."""
        if self.upper is None and not self._upper_lost:
            raise HarnessError("the upper tester is not connected")
        # The operator session rides on every op but the login (session=None: none).
        injected = self.session is not None and op not in ("hello", "operator_login") \
            and "session" not in fields
        if injected:
            fields["session"] = self.session
        elif fields.get("session", "") is None:
            del fields["session"]
        answer = self._request(op, fields)
        error = answer.get("error")
        if injected and isinstance(error, dict) and error.get("code") == 3022:
            self.login()                   # the session expired on the node's clock
            answer = self._request(op, {**fields, "session": self.session})
        return answer

    def _request(self, op: str, fields: dict[str, Any]) -> dict[str, Any]:
        if self.upper is None and self._upper_lost:
            try:
                self._connect_upper()
                self._upper_lost = False
            except (OSError, ssl.SSLError) as exc:
                raise SutFault(f"upper tester {op}: cannot reconnect: {exc}") from exc
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
            # A stream that timed out is unusable, and a late answer on it would be read
            # as the next op's: the next op opens a fresh connection.
            self._close_upper()
            self._upper_lost = True
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
                              self.timeout, log=self.frames)

    def sealed(self, message: object, *, sender: str, recipient: str | None = None,
               signer: str | None = None, message_id: bytes | None = None,
               time_offset: dt.timedelta = dt.timedelta(0), der: bytes | None = None,
               header_changes: dict[str, Any] | None = None,
               signer_files: tuple[Path, Path] | None = None) -> tuple[bytes, bytes]:
        """A sealed PDU carrying ``message`` from ``sender`` (signed by ``signer``,
        default the sender) to the SUT (header recipient ``recipient``, default the
        SUT); returns (message id, PDU DER). Forged PDUs are sealed all the same.
        ``der``: the message's encoding, made by hand (default: ``message`` encoded);
        ``header_changes``: header fields to set after it is built (e.g. ``version``,
        ``profile``), before the envelope binds it; ``signer_files``: the certificate
        and key (PEM files) that sign, instead of the signer's own."""
        # Header and signing times come from the node's clock as the runner knows it
        # (the test clock it set or moved, or the system clock): a node whose clock a
        # case moved forward still sees the runner's PDUs as fresh.
        now = (self.node_now() + time_offset).replace(microsecond=0)
        mid = message_id or secrets.token_bytes(16)
        self.sequence += 1
        header = PduHeader(version=1, message_id=mid, message_type=message_type_of(message),
                           sender=node_of_code(sender),
                           recipient=node_of_code(recipient or self.code), time=now,
                           sequence_number=self.sequence, profile=Profile.CURRENT)
        if header_changes:
            header = dataclasses.replace(header, **header_changes)
        who = signer or sender
        cert_path, key_path = signer_files or (self.pki_dir / f"{who}.pem",
                                               self.pki_dir / f"{who}.key")
        key = pki.load_private_key(key_path.read_bytes())
        cert = pki.load_certificate(cert_path.read_bytes())
        to = pki.load_certificate((self.pki_dir / f"{self.code}.pem").read_bytes())
        der = codec.encode(message) if der is None else der
        try:
            envelope = seal(header, der, key, cert, to, now)
        except JukiError:       # the sealer refuses forgeries; the lower tester makes them
            envelope = seal_from_parts(header, der, key, cert, to,
                                       ephemeral_key=pki.generate_key(),
                                       cek=os.urandom(32), iv=os.urandom(12), now=now,
                                       deterministic=False)
        return mid, codec.encode(JukiPdu(header=header, sealed=envelope), profile=None)

    def opened(self, pdu: JukiPdu, recipient: str) -> object:
        """The message of a sealed PDU the node sent to peer ``recipient``, opened with
        that peer's key; SutFault when it does not open or decode."""
        return self.opened_full(pdu, recipient).message

    def opened_full(self, pdu: JukiPdu, recipient: str) -> codec.Decoded:
        """As :meth:`opened`, with the count of unknown extension additions."""
        if pdu.sealed is None:
            raise SutFault("the node sent an answer, not a sealed message")
        credential = pki.Credential(
            pki.load_private_key((self.pki_dir / f"{recipient}.key").read_bytes()),
            pki.load_certificate((self.pki_dir / f"{recipient}.pem").read_bytes()))
        trust = pki.TrustStore.from_pem((self.pki_dir / "ca.pem").read_bytes())
        try:
            opened = open_envelope(pdu.sealed, [credential], trust, self.node_now(),
                                   header=pdu.header)
            return codec.decode_full(opened.message_der,
                                     pdu.header.message_type.type_name,
                                     profile=pdu.header.profile)
        except JukiError as exc:
            raise SutFault(f"the node's {pdu.header.message_type.value} does not open: "
                           f"{exc}") from exc

    def acknowledge(self, conn: PeerConnection, pdu: JukiPdu, sender: str) -> bool:
        """Acknowledge the sealed ``pdu`` the node sent, as peer ``sender``, on the
        connection it came on; False when that connection is gone (the node closed it,
        or a restart did): the node then resends, as it must, on a new one."""
        ack = Acknowledgement(acknowledged_id=pdu.header.message_id,
                              status=AckStatus.ACCEPTED)
        try:
            conn.send(self.answer_pdu(ack, sender))
        except (OSError, ssl.SSLError):
            return False
        return True

    def report_error(self, conn: PeerConnection, pdu: JukiPdu, sender: str,
                     code: int) -> None:
        """Answer the sealed ``pdu`` the node sent with error ``code``, as ``sender``."""
        conn.send(self.answer_pdu(ErrorReport(error_code=code,
                                           refers_to=pdu.header.message_id), sender))

    def answer_pdu(self, answer: Acknowledgement | ErrorReport, sender: str) -> bytes:
        """A PDU carrying ``answer`` from peer ``sender`` to the node."""
        now = self.node_now().replace(microsecond=0)
        self.sequence += 1
        header = PduHeader(version=1, message_id=secrets.token_bytes(16),
                           message_type=message_type_of(answer), sender=node_of_code(sender),
                           recipient=node_of_code(self.code), time=now,
                           sequence_number=self.sequence, profile=Profile.CURRENT)
        pdu = (JukiPdu(header=header, acknowledgement=answer)
               if isinstance(answer, Acknowledgement)
               else JukiPdu(header=header, error_report=answer))
        return codec.encode(pdu, profile=None)

    def sent_to_peer(self, timeout: float | None = None, *, peer: str | None = None
                     ) -> tuple[PeerConnection, JukiPdu] | None:
        """The next PDU the node sends to ``peer``, one the runner listens as (default
        the first of :func:`listened_as`: the prefecture of a municipality SUT); None
        when nothing comes within ``timeout`` seconds."""
        listener = self.listeners.get(peer) if peer else self.listener
        if listener is None:
            raise HarnessError(f"the runner does not listen as {peer or 'a peer'} of the "
                               "node (an attached node needs it in the IXIT lowerTester)")
        return listener.next_pdu(self.timeout if timeout is None else timeout)

    def drain(self, peer: str | None = None, quiet: float = 0.3) -> int:
        """Drop what the node sent to the peers the runner listens as (``peer``, or all)
        and what earlier cases left unread; how many PDUs."""
        return sum(lst.drain(quiet) for code, lst in self.listeners.items()
                   if peer in (None, code))

    # Preambles, restart, clock, faults (the IXIT) ---------------------------------------

    def ok(self, op: str, **fields: Any) -> dict[str, Any]:
        """An upper tester op that a case's preamble needs: its answer, or
        :class:`Inconclusive` when the node refuses it (the state was never reached)."""
        answer = self.request(op, **fields)
        if not answer.get("ok"):
            raise Inconclusive(f"upper tester {op} refused: {answer.get('error')}")
        return answer

    def offers(self, capability: str) -> bool:
        """Whether the IXIT declares ``capability`` (``restart``, ``clock``,
        ``faultInjection``)."""
        return bool(self.ixit.get(capability))

    def _need(self, capability: str) -> dict[str, Any]:
        spec = self.ixit.get(capability)
        if not isinstance(spec, dict) or not spec.get("method"):
            raise HarnessError(f"the IXIT declares no {capability} (a case needing it "
                               "should be not_applicable)")
        return spec

    def restart(self) -> None:
        """Restart the node on its own database and keys as the IXIT says: ``process``
        (a node the runner launched: kill -9, then the same command), ``upperTester``
        (op ``restart``) or ``command`` (a shell command the runner runs, which returns
        once the node is back); then reconnect the upper tester and put back a clock
        the runner had set."""
        method = self._need("restart")["method"]
        if method == "process":
            if self.proc is None:
                raise HarnessError("restart by process needs a node the runner launched")
            self._close_upper()
            if "COVERAGE_PROCESS_START" in (self.env or {}):
                # A control run of juki-conformance mutation: the node saves what it
                # ran twice a second (kill -9 leaves no exit handler); let it save once
                # more, or the lines of the case's last half second look never run.
                time.sleep(COVERAGE_SAVE_WAIT)
            self.proc.kill()
            self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            try:
                self._spawn()
            except HarnessError as exc:
                # The same command started the node before: a node that does not come
                # back on its own storage breaks R-NODE-17, which is the SUT's fault.
                # The case fails; the node is started once more, with time to spare,
                # so that one slow start does not leave the later cases without it.
                self._revive()
                raise SutFault(f"the node did not come back after the restart within "
                               f"{START_TIMEOUT:g} s (R-NODE-17): {exc}") from exc
        elif method == "upperTester":
            answer = self.request("restart")
            if not answer.get("ok"):
                raise SutFault(f"upper tester restart failed: {answer.get('error')}")
            self._close_upper()
        elif method == "command":
            command = str(self.ixit["restart"].get("command") or "")
            done = subprocess.run(command, shell=True, check=False, timeout=START_TIMEOUT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  env={**os.environ, **(self.env or {})})
            if done.returncode != 0:
                raise HarnessError(f"the IXIT restart command exited {done.returncode}: "
                                   f"{done.stderr[-300:]!r}")
            self._close_upper()
        else:
            raise HarnessError(f"unknown IXIT restart method {method!r}")
        self.restarts_done += 1
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                self._connect_upper()
                break
            except (OSError, ssl.SSLError) as exc:
                if time.monotonic() > deadline:
                    raise SutFault(f"the upper tester did not come back after the "
                                   f"restart: {exc}") from exc
                time.sleep(0.1)
        if self._clock_at is not None:       # a process restart started a new clock
            at, mono = self._clock_at
            want = at + dt.timedelta(seconds=time.monotonic() - mono)
            # A clock never goes back (R-NODE-18): a new clock already at (or a moment
            # past) the time the runner expects is left as it is.
            if want > self.clock_now() + dt.timedelta(seconds=1):
                self.clock_set(want)

    def _revive(self) -> None:
        """Start the launched node again on its files after a failed restart (up to
        :data:`REVIVE_TIMEOUT` seconds); one that still does not start stays stopped."""
        try:
            self._spawn(REVIVE_TIMEOUT)
            self._connect_upper()
        except (HarnessError, OSError, ssl.SSLError):
            self._end_process()

    def _close_upper(self) -> None:
        if self.upper is not None:
            try:
                self.upper_file.close()
                self.upper.close()
            except OSError:
                pass
            self.upper = None

    def _clock(self, **fields: Any) -> dt.datetime:
        self._need("clock")
        answer = self.request("clock", **fields)
        if not answer.get("ok"):
            raise SutFault(f"upper tester clock failed: {answer.get('error')}")
        try:
            now = dt.datetime.fromisoformat(str(answer.get("now")))
        except ValueError as exc:
            raise SutFault(f"upper tester clock: now is not an ISO time: {exc}") from exc
        self._clock_at = (now, time.monotonic())
        return now

    def clock_now(self) -> dt.datetime:
        """The node's clock (IXIT ``clock``)."""
        return self._clock()

    def clock_set(self, when: dt.datetime) -> dt.datetime:
        """Set the node's test clock to ``when`` (never back); its new time."""
        return self._clock(set=when.astimezone(dt.UTC).isoformat())

    @property
    def retry_interval(self) -> float:
        """Seconds after which the node resends what is unacknowledged: its ICS limit
        ``retryIntervalSeconds``, else 60 (R-TIME-02, R-NODE-63)."""
        return float(self.limits.get("retryIntervalSeconds", RETRY_INTERVAL))

    def clock_advance(self, seconds: float) -> dt.datetime:
        """Move the node's test clock forward; its new time. What fell due runs."""
        return self._clock(advance=seconds)

    def node_now(self) -> dt.datetime:
        """The node's time as the runner best knows it: the test clock it set, moved
        on by the time since, or the system clock."""
        if self._clock_at is None:
            return dt.datetime.now(dt.UTC)
        at, mono = self._clock_at
        return at + dt.timedelta(seconds=time.monotonic() - mono)

    def fail_next_commit(self, count: int = 1) -> None:
        """Make the node's next ``count`` commits fail (IXIT ``faultInjection``)."""
        self._need("faultInjection")
        self.ok("fail_next_commit", count=count)

    def audit_log(self, after: int = 0) -> list[dict[str, Any]]:
        """The node's audit rows numbered above ``after`` (upper tester ``audit_log``)."""
        answer = self.request("audit_log", after=after)
        if not answer.get("ok") or not isinstance(answer.get("rows"), list):
            raise SutFault(f"upper tester audit_log failed: {answer.get('error')}")
        return [r for r in answer["rows"] if isinstance(r, dict)]


#: The names of :mod:`juki_conformance.node_layout` the runner and the cases import from
#: here are re-exported.
__all__ = ["AGENCY", "LOCAL_PURPOSES", "OPERATORS", "REFERENCE_IXIT", "REFERENCE_LIMITS",
           "REFERENCE_NODE", "SUT_CODES", "UNLISTED_AGENCY", "NodeSut", "PeerConnection",
           "listened_as", "other_municipality", "prepare_pki", "serve_options",
           "write_test_operators"]
