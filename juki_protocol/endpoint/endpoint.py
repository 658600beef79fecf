"""The sans-I/O PDU endpoint: frames in, steps out; the checks of spec/pdu.md section 8.

Theory of operation
-------------------
An :class:`Endpoint` is to this protocol what ``h11.Connection`` is to HTTP/1.1: it
owns every rule of the PDU path and none of the I/O. The node around it reads frames
from a connection and hands them to :meth:`Endpoint.receive` with the peer that TLS
authenticated and the time; the endpoint returns a list of *steps*, in the order of the
frames, and the node acts on them:

* :class:`Refused`: answer the peer with the step's ``ErrorReport`` (for a refused
  *answer*, whose report is None, send nothing: R-PDU-25), and count it against the
  peer when ``counts`` (R-NODE-48);
* :class:`Taken`: a message or an answer was taken and committed; act on the machines'
  effects (send the messages, arm and cancel the timers, record the events);
* :class:`Reloaded`: the machines were rebuilt from the store (a failed commit); forget
  the timers of the sequenced senders named in ``stale`` and resend what the new ones
  hold (:meth:`Endpoint.pending`).

Inside :meth:`receive`, each frame goes through the steps of spec/pdu.md section 8 (the
DER of the PDU, the header, the envelope, the message) and the frames that pass are
applied as one *group* in ONE transaction of the :class:`~.interfaces.Store` (one fsync):
each sealed message in a savepoint of its own (duplicates and replays, R-PDU-24; the
role's machine, the processed id, the audit row), each answer fed to the machine that
sent the message it answers. Only committed work becomes a :class:`Taken` step, so the
node sends an acknowledgement only once what it acknowledges is durable (R-PDU-22). A
frame that fails steps 1 to 3 closes the group so far and is handled alone. Frames
beyond ``room`` (the node's bound on PDUs in hand, R-NODE-13) are shed: a sealed PDU is
refused 9002 before any other check.

Sending: :meth:`Endpoint.frame` turns a machine's ``Send`` into the bytes of a PDU (the
header numbered per recipient, spec/pdu.md section 3; a statutory message sealed for
the recipient's certificate), and registers the sender as waiting for its answer.
:meth:`local`, :meth:`fire` and :meth:`pending` run an upper-tester event, a due timer
and the resend at a start in one transaction each, with the audit rows of what they
send. The endpoint never reads a clock, opens a socket or names a database driver.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from juki_protocol.codec import codec
from juki_protocol.endpoint.frames import (
    PROTOCOL_VERSION,
    Numbering,
    message_type_of,
    peek,
    peek_version,
    result_text,
)
from juki_protocol.endpoint.interfaces import Owned, Role, Store, is_storage_failure
from juki_protocol.envelope import pki
from juki_protocol.envelope.envelope import open_envelope, peer_error_report
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.common import Inbound, Send, random_ids
from juki_protocol.machines.identity import IdentityUpdater, RelaySender
from juki_protocol.machines.special_move import MoveOutDesk
from juki_protocol.messages.common import NodeId, Profile
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    ErrorReport,
    JukiPdu,
    MessageType,
    PduHeader,
)
from juki_protocol.messages.provision import ProvisionRequest, ProvisionResponse

logger = logging.getLogger("juki_protocol.endpoint")
#: Refusals that say nothing about the peer (the node's own load or storage): they do
#: not count towards closing a connection that sends only refusals (R-NODE-48).
NOT_THE_PEERS = frozenset({int(ErrorCode.OVERLOADED), int(ErrorCode.STORAGE_FAILURE)})
#: ``observer(event, peer, message_type, message_id, result, code)``: what became of one
#: PDU received (``pdu.taken`` or ``pdu.refused``), for the node's log and metrics.
Observer = Callable[[str, str, str, "bytes | None", str, "int | None"], None]


# Steps: what the node must do -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Refused:
    """Answer the peer with ``report`` (None: a refused answer, never answered)."""

    report: ErrorReport | None
    code: int
    message_id: bytes | None
    message_type: str
    counts: bool


@dataclass(frozen=True, slots=True)
class Taken:
    """Committed: act on ``owned`` (sends, timers, events)."""

    owned: list[Owned]


@dataclass(frozen=True, slots=True)
class Reloaded:
    """The machines were rebuilt: ``stale`` holds ``id()`` of the sequenced senders
    replaced (their timers are void); the new ones must resend (:meth:`pending`)."""

    stale: frozenset[int]


Step = Refused | Taken | Reloaded


# What a frame became before its group is committed --------------------------------------

@dataclass(frozen=True, slots=True)
class Opened:
    """A sealed message opened and decoded (steps 1 to 5), waiting for its group."""

    header: PduHeader
    message: object
    unknown_elements: bool
    digest: bytes
    now: dt.datetime


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal to answer (and record) once the group is committed."""

    code: ErrorCode | int
    message_id: bytes | None
    mtype: str
    now: dt.datetime
    local: ErrorCode | None = None

    def text(self) -> str:
        """The audit log's result."""
        return result_text(self.code) + (f" (local {result_text(self.local)})"
                                          if self.local is not None else "")


@dataclass(frozen=True, slots=True)
class Answer:
    """An acknowledgement or error report that passed the header checks."""

    header: PduHeader
    message: Acknowledgement | ErrorReport
    refers_to: bytes | None
    result: str
    now: dt.datetime

    @classmethod
    def of(cls, pdu: JukiPdu, now: dt.datetime) -> Answer:
        """The answer carried by ``pdu``."""
        if pdu.acknowledgement is not None:
            ack = pdu.acknowledgement
            return cls(pdu.header, ack, ack.acknowledged_id, f"ack {ack.status.value}", now)
        assert pdu.error_report is not None
        err = pdu.error_report
        return cls(pdu.header, err, err.refers_to,
                   f"error {result_text(err.error_code)}", now)


Item = Opened | Refusal | Answer


def digest_of(der: bytes) -> bytes:
    """The digest by which a resent message id is told from a replay (R-PDU-24): the
    SHA-256 of the message's DER."""
    return hashlib.sha256(der).digest()


def sealed_id(frame: bytes) -> tuple[bytes, str] | None:
    """The message id and type of a frame that reads as a sealed PDU, else None."""
    mid, mtype, kind = peek(frame)
    return (mid, mtype) if mid is not None and kind == "sealed" else None


class Endpoint:
    """The PDU rules of one node (see the module docstring)."""

    def __init__(self, local: NodeId, credential: pki.Credential, trust: pki.TrustStore,
                 store: Store, role: Role, *, profile: Profile,
                 time_window: dt.timedelta, observer: Observer | None = None) -> None:
        self.node = local
        self.credential = credential
        #: The trust store in use; the node replaces it when the CRL is reloaded.
        self.trust = trust
        self.store = store
        self.role = role
        self.time_window = time_window
        self.numbering = Numbering(local, profile)
        #: The machine waiting for the answer to each message id sent.
        self.waiting: dict[bytes, Any] = {}
        self.observer = observer
        #: The operator of the local action under way (spec/node.md section 4.8); the
        #: node reads it from its own context.
        self.acting_operator: Callable[[], str] = lambda: "system"
        self._operators: dict[bytes, str] = {}
        self._reloads: list[Reloaded] = []

    # Receiving ----------------------------------------------------------------------

    def receive(self, peer: NodeId, frames: Sequence[bytes], now: dt.datetime,
                room: int | None = None) -> list[Step]:
        """Take the frames of one read from ``peer`` (the node named by its TLS
        certificate): at most ``room`` are handled; of the rest, a sealed PDU is refused
        9002 OVERLOADED before any other check (R-NODE-13) and anything else is handled
        as usual. Returns the steps for the node, in the order of the frames."""
        room = len(frames) if room is None else max(0, room)
        steps = self._batch(peer, frames[:room], now)
        shed: list[tuple[bytes, str]] = []
        for frame in frames[room:]:
            sealed = sealed_id(frame)
            if sealed is None:
                steps += self.shed(peer, shed, now)
                shed = []
                steps += self._batch(peer, [frame], now)
            else:
                shed.append(sealed)
        return steps + self.shed(peer, shed, now)

    def shed(self, peer: NodeId, shed: list[tuple[bytes, str]],
             now: dt.datetime) -> list[Step]:
        """Refuse each of ``shed`` (message id, type) 9002, their audit rows in one
        transaction and no other trace, so that each may be retried."""
        if not shed:
            return []
        logger.warning("%s: shed %d PDUs from %s: too many PDUs in hand",
                       self.node, len(shed), peer)
        text = result_text(ErrorCode.OVERLOADED)
        audited = True
        try:
            with self.store.transaction() as tx:
                for mid, mtype in shed:
                    self.store.audit(tx, at=now, direction="refused", peer=peer.code,
                                     message_type=mtype, message_id=mid, result=text)
        except JukiError as exc:
            logger.error("%s: audit write failed: %s", self.node, exc)
            audited = False
        return [self.refusal(peer, Refusal(ErrorCode.OVERLOADED, mid, mtype, now),
                             audited=audited) for mid, mtype in shed]

    def check_header(self, header: PduHeader, peer: NodeId, now: dt.datetime,
                     sealed: bool) -> None:
        """Steps 3 to 6 of spec/pdu.md section 8 and the profile of step 7 (raises
        JukiError with the code); the body kind of step 7 is the decoder's."""
        if header.version != PROTOCOL_VERSION:
            raise JukiError(f"version {header.version}", code=ErrorCode.UNSUPPORTED_VERSION)
        if header.recipient != self.node:
            raise JukiError(f"addressed to {header.recipient}", code=ErrorCode.WRONG_RECIPIENT)
        if header.sender != peer:
            raise JukiError(f"sender {header.sender} is not the TLS peer {peer}",
                            code=ErrorCode.CERT_SENDER_MISMATCH)
        if abs(now - header.time) > self.time_window:
            raise JukiError("header time outside the window", code=ErrorCode.STALE_TIME)
        if sealed:
            route = pki.ROUTES.get(header.message_type)
            if route is None or header.sender.role not in route.senders \
                    or header.recipient.role not in route.recipients:
                raise JukiError(f"{header.message_type.value} from {header.sender.role.value}"
                                f" to {header.recipient.role.value}",
                                code=ErrorCode.ROLE_NOT_ALLOWED)
            if header.profile is not self.numbering.profile:      # R-PDU-50
                raise JukiError(f"profile {header.profile.value}: this network's is "
                                f"{self.numbering.profile.value}",
                                code=ErrorCode.PROFILE_VIOLATION)

    def peer_report(self, exc: JukiError, refers_to: bytes) -> ErrorReport:
        """What the peer is told of an envelope that did not open (R-PDU-32: 2001
        alone, whatever the cause)."""
        return peer_error_report(exc, refers_to=refers_to)

    def _batch(self, peer: NodeId, frames: Sequence[bytes], now: dt.datetime) -> list[Step]:
        """Group commit: the frames that pass steps 1 to 5, in order, in one
        transaction; a frame that fails steps 1 to 3 closes the group so far and is
        handled alone."""
        steps: list[Step] = []
        group: list[Item] = []
        for frame in frames:
            pdu: object = None
            try:
                pdu = codec.decode(frame, "JukiPdu")
                assert isinstance(pdu, JukiPdu)
                self.check_header(pdu.header, peer, now, pdu.sealed is not None)
            except JukiError:
                pdu = None
            if isinstance(pdu, JukiPdu):
                group.append(self.open_sealed(pdu, now) if pdu.sealed is not None
                             else Answer.of(pdu, now))
                continue
            steps += self._commit(peer, group)
            group = []
            steps += self.handle_alone(peer, frame, now)
        return steps + self._commit(peer, group)

    def handle_alone(self, peer: NodeId, frame: bytes, now: dt.datetime) -> list[Step]:
        """One frame alone (a frame that failed steps 1 to 3 comes here)."""
        try:
            pdu = codec.decode(frame, "JukiPdu")
        except JukiError as exc:
            code = exc.error_code
            if peek_version(frame) not in (None, PROTOCOL_VERSION):
                # Step 3 of spec/pdu.md section 8: the version before the header's
                # other fields and the body kind (step 7), which decoding checks.
                code = ErrorCode.UNSUPPORTED_VERSION
            return [self.refusal(peer, Refusal(code, peek(frame)[0], "-", now))]
        assert isinstance(pdu, JukiPdu)
        header = pdu.header
        sealed = pdu.sealed is not None
        try:
            self.check_header(header, peer, now, sealed)
        except JukiError as exc:
            refusal = Refusal(exc.error_code, header.message_id, header.message_type.value,
                              now)
            # R-PDU-25: never answer an answer; record it only.
            return [self.refusal(peer, refusal, answer=not sealed)]
        return self._commit(peer, [self.open_sealed(pdu, now) if sealed
                                   else Answer.of(pdu, now)])

    def open_sealed(self, pdu: JukiPdu, now: dt.datetime) -> Opened | Refusal:
        """Steps 4 and 5 of spec/pdu.md section 8: the envelope and the message."""
        header = pdu.header
        mid, mtype = header.message_id, header.message_type.value
        assert pdu.sealed is not None
        try:
            opened = open_envelope(pdu.sealed, [self.credential], self.trust, now,
                                   header=header, time_window=self.time_window)
        except JukiError as exc:
            report = self.peer_report(exc, mid)      # R-PDU-32: opaque
            return Refusal(report.error_code, mid, mtype, now, exc.error_code)
        try:
            decoded = codec.decode_full(opened.message_der, header.message_type.type_name,
                                        profile=header.profile)
        except JukiError as exc:
            return Refusal(exc.error_code, mid, mtype, now)
        return Opened(header, decoded.message, decoded.unknown_extensions > 0,
                      digest_of(opened.message_der), now)

    def apply_opened(self, tx: Any, item: Opened) -> list[Owned] | Refusal:
        """Steps 6 and 7 for one message, inside the group's transaction and in a
        savepoint of its own: its effects, processed id and audit row, or nothing."""
        header, now = item.header, item.now
        mid, mtype = header.message_id, header.message_type.value
        sender = str(header.sender)
        seen = self.store.seen(sender, mid)       # sees the group's earlier messages
        if seen is not None:       # R-PDU-24
            if seen != item.digest:
                return Refusal(ErrorCode.REPLAY, mid, mtype, now)
            ack = Send(recipient=header.sender.code, message_id=random_ids(),
                       message=Acknowledgement(acknowledged_id=mid,
                                               status=AckStatus.DUPLICATE))
            self.store.audit(tx, at=now, direction="received", peer=header.sender.code,
                             message_type=mtype, message_id=mid, result="duplicate",
                             message=item.message)
            return [(None, ack)]
        message = item.message
        inbound = Inbound(message=message, message_id=mid, sender=header.sender.code,
                          correlation_id=header.correlation_id,
                          unknown_elements=item.unknown_elements)
        operator = "system"
        if isinstance(message, ProvisionRequest):
            operator = message.operator_id
            self._operators[mid] = operator
        try:
            with self.store.savepoint(tx):
                owned = self.role.receive(inbound, now)
                self.store.mark_processed(sender, mid, item.digest, mtype, now)
                self.store.audit(tx, at=now, direction="received", peer=header.sender.code,
                                 message_type=mtype, message_id=mid, result="accepted",
                                 message=message, operator=operator)
        except JukiError as exc:
            if is_storage_failure(exc):
                raise              # The whole group fails (see _commit).
            return Refusal(exc.error_code, mid, mtype, now)  # refused before any change
        except Exception:
            logger.exception("%s: internal error on %s", self.node, mtype)
            self._reloads.append(self.reload())   # the group's earlier messages stay
            return Refusal(ErrorCode.INTERNAL_ERROR, mid, mtype, now)
        return owned

    def apply_answer(self, tx: Any, item: Answer, taken: list[bytes]) -> list[Owned]:
        """An answer, inside the group's transaction: fed to the machine that sent the
        message it answers (its effects and the audit row), or recorded as not taken.
        The id it answers goes to ``taken`` once it is taken."""
        header, now = item.header, item.now
        peer, mtype, mid = header.sender.code, header.message_type.value, header.message_id
        owner = self.waiting.get(item.refers_to) if item.refers_to is not None else None
        if owner is None:
            logger.info("%s: %s from %s refers to nothing outstanding", self.node,
                        item.result, peer)
            self.store.audit(tx, at=now, direction="received", peer=peer,
                             message_type=mtype, message_id=mid,
                             result=f"{item.result} (unmatched)")
            return []
        inbound = Inbound(message=item.message, message_id=mid, sender=peer,
                          correlation_id=header.correlation_id)
        try:
            with self.store.savepoint(tx):
                owned = self.role.answered(owner, inbound, now)
        except JukiError as exc:
            if is_storage_failure(exc):
                raise
            logger.info("%s: %s not taken: %s", self.node, item.result, exc)
            self.store.audit(tx, at=now, direction="received", peer=peer,
                             message_type=mtype, message_id=mid,
                             result=f"{item.result} (not taken: "
                             f"{result_text(exc.error_code)})")
            return []
        self.store.audit(tx, at=now, direction="received", peer=peer, message_type=mtype,
                         message_id=mid, result=item.result)
        assert item.refers_to is not None
        taken.append(item.refers_to)
        return owned

    def _commit(self, peer: NodeId, group: Sequence[Item]) -> list[Step]:
        """Apply ``group`` in one transaction; the steps of what was committed."""
        if not group:
            return []
        results: list[list[Owned] | Refusal] = []
        taken: list[bytes] = []
        audited = True
        steps: list[Step] = []
        try:
            with self.store.transaction(receiving=True) as tx:
                for item in group:
                    if isinstance(item, Opened):
                        results.append(self.apply_opened(tx, item))
                    elif isinstance(item, Answer):
                        results.append(self.apply_answer(tx, item, taken))
                    else:
                        results.append(item)
                for result in results:
                    if isinstance(result, Refusal):
                        self.store.audit(tx, at=result.now, direction="refused",
                                         peer=peer.code, message_type=result.mtype,
                                         message_id=result.message_id,
                                         result=result.text())
                    else:
                        self.audit_sends(tx, result, group[0].now)
            self._observe_taken(peer, group, results)      # committed
        except JukiError as exc:
            if not is_storage_failure(exc):
                raise
            logger.error("%s: storage failed: %s", self.node, exc)
            steps.append(self.reload())
            audited, taken = False, []
            results = []
            for item in group:
                if isinstance(item, Opened):
                    results.append(Refusal(ErrorCode.STORAGE_FAILURE,
                                           item.header.message_id,
                                           item.header.message_type.value, item.now))
                elif isinstance(item, Refusal):
                    results.append(item)
        for ref in taken:
            self.waiting.pop(ref, None)
        steps += self._reloads
        self._reloads = []
        for result in results:
            steps.append(self.refusal(peer, result, audited=audited)
                         if isinstance(result, Refusal) else Taken(result))
        return steps

    def refusal(self, peer: NodeId, refusal: Refusal, *, audited: bool = False,
                answer: bool = False) -> Refused:
        """The step that answers ``refusal`` with an ErrorReport (R-PDU-26), or, for a
        refused ``answer``, records it only (R-PDU-25); audited unless the caller has
        done so in the group's transaction."""
        text = refusal.text()
        if not audited:
            self.audit_alone("refused", peer.code, refusal.mtype, refusal.message_id,
                             text, refusal.now)
        code = int(refusal.code)
        self._observe("pdu.refused", peer.code, refusal.mtype, refusal.message_id, text,
                      code)
        report = None if answer else ErrorReport(error_code=code,
                                                 refers_to=refusal.message_id)
        return Refused(report, code, refusal.message_id, refusal.mtype,
                       answer or code not in NOT_THE_PEERS)

    # Local events, timers, the start -------------------------------------------------

    def local(self, action: Callable[[dt.datetime], list[Owned]],
              now: dt.datetime) -> list[Owned]:
        """Run a local event (``action(now)`` returns owned effects) in one transaction,
        with the audit rows of what it sends."""
        with self.store.transaction() as tx:
            owned = action(now)
            self.audit_sends(tx, owned, now)
        return owned

    def pending(self, now: dt.datetime) -> list[Owned]:
        """What the machines have outstanding (unacknowledged numbered messages, their
        retry timers), as at a start (R-PDU-23)."""
        return self.local(self.role.pending, now)

    def fire(self, owner: Any, name: str, now: dt.datetime) -> list[Owned]:
        """Timer ``name`` of ``owner``, if it is due: its effects (the special move
        desk is ticked instead)."""
        with self.store.transaction() as tx:
            if isinstance(owner, MoveOutDesk):
                effects = owner.tick(now)
            else:
                timer = owner.timers.get(name)
                if timer is None or timer.deadline > now:
                    return []
                effects = owner.timeout(name, now)
            self.role.persist(now)
            owned: list[Owned] = [(owner, e) for e in effects]
            self.audit_sends(tx, owned, now)
        return owned

    def due_timers(self, now: dt.datetime) -> list[tuple[Any, str]]:
        """Every (machine, timer name) due at ``now`` (a desk is always ticked)."""
        due: list[tuple[Any, str]] = []
        for machine in self.role.machines():
            if isinstance(machine, MoveOutDesk):
                due.append((machine, "tick"))
            else:
                due += [(machine, name) for name in machine.due_timers(now)]
        return due

    def senders(self) -> list[Any]:
        """The role's sequenced senders (identity updater, relay sender)."""
        return [m for m in self.role.machines()
                if isinstance(m, (IdentityUpdater, RelaySender))]

    def reload(self) -> Reloaded:
        """Rebuild the machines from the store (after a failed commit); the answers
        awaited by the sequenced senders replaced are forgotten."""
        before = self.senders()
        self.role.reload()
        return self._stale(before)

    def housekeep(self, now: dt.datetime, duplicate_window: dt.timedelta) -> Reloaded | None:
        """Erase identity info past retention (R-30-5-0-09) and forget processed
        message ids older than the duplicate window (R-PDU-24)."""
        purge = getattr(self.role, "purge", None)
        reloaded = None
        if purge is not None:
            before = self.senders()
            purge(now)                # It reloads the machines if it erased.
            reloaded = self._stale(before)
        self.store.forget_processed(now - duplicate_window)
        return reloaded

    def _stale(self, before: list[Any]) -> Reloaded:
        now_live = {id(m) for m in self.senders()}
        gone = frozenset(id(m) for m in before if id(m) not in now_live)
        for mid in [m for m, owner in self.waiting.items() if id(owner) in gone]:
            del self.waiting[mid]
        return Reloaded(gone)

    # Sending ---------------------------------------------------------------------------

    def frame(self, owner: Any, send: Send, recipient: NodeId, recipient_cert: Any,
              now: dt.datetime) -> bytes:
        """The PDU that carries ``send`` to ``recipient`` (whose TLS certificate is
        ``recipient_cert``): an answer as it is, a statutory message sealed; the sender
        ``owner`` then waits for its answer."""
        message = send.message
        if isinstance(message, (Acknowledgement, ErrorReport)):
            return self.numbering.answer(recipient, message, now, send.message_id)
        frame = self.numbering.sealed(message, recipient, recipient_cert, self.credential,
                                      now, send.message_id, send.correlation_id,
                                      der=self.encode(message))
        self.waiting[send.message_id] = owner
        return frame

    def encode(self, message: object) -> bytes:
        """The DER of a statutory message this endpoint sends (in its profile)."""
        return codec.encode(message, profile=self.numbering.profile)

    def answer_frame(self, peer: NodeId, report: ErrorReport, now: dt.datetime) -> bytes:
        """The PDU of a :class:`Refused` step's report."""
        return self.numbering.answer(peer, report, now)

    def send_failed(self, send: Send, reason: str, now: dt.datetime) -> None:
        """Record that ``send`` (whose ``sending`` row is committed) did not leave; the
        row names the operator of the local action that sent it, as its ``sending`` row
        does (R-NODE-83)."""
        name = type(send.message).__name__
        self.audit_alone("sent", send.recipient, name[:1].lower() + name[1:],
                         send.message_id, f"failed: {reason}", now,
                         operator=self.acting_operator())

    # The audit log ---------------------------------------------------------------------

    def audit_sends(self, tx: Any, owned: list[Owned], now: dt.datetime) -> None:
        """R-NODE-06: the audit rows of the messages of ``owned``, in the transaction
        that produced them, with the result ``sending`` (they are sent only once it is
        committed; a send that fails adds a row of its own, :meth:`send_failed`)."""
        operator = self.acting_operator()
        for _, eff in owned:
            if not isinstance(eff, Send):
                continue
            message = eff.message
            direction, by, subject = "sent", operator, None
            if isinstance(message, Acknowledgement):
                mtype = MessageType.ACKNOWLEDGEMENT.value
            elif isinstance(message, ErrorReport):
                mtype = MessageType.ERROR_REPORT.value
            else:
                mtype = message_type_of(message).value
                subject = message
                if isinstance(message, ProvisionResponse) and message.provided:
                    direction = "provided"
                    by = self._operators.get(eff.correlation_id or b"", "system")
            self.store.audit(tx, at=now, direction=direction, peer=eff.recipient,
                             message_type=mtype, message_id=eff.message_id,
                             result="sending", message=subject, operator=by)

    def audit_alone(self, direction: str, peer: str, mtype: str, mid: bytes | None,
                    result: str, now: dt.datetime, *, operator: str = "system") -> None:
        """One audit row in a transaction of its own (a failure is logged)."""
        try:
            with self.store.transaction() as tx:
                self.store.audit(tx, at=now, direction=direction, peer=peer,
                                 message_type=mtype, message_id=mid, result=result,
                                 operator=operator)
        except JukiError as exc:
            logger.error("%s: audit write failed: %s", self.node, exc)

    # Observing -------------------------------------------------------------------------

    def _observe(self, event: str, peer: str, mtype: str, mid: bytes | None, result: str,
                 code: int | None = None) -> None:
        if self.observer is not None:
            self.observer(event, peer, mtype, mid, result, code)

    def _observe_taken(self, peer: NodeId, group: Sequence[Item],
                       results: list[list[Owned] | Refusal]) -> None:
        """What became of the messages and answers of a committed group (its
        refusals are observed as their steps are made)."""
        for item, result in zip(group, results, strict=True):
            if isinstance(item, Opened) and not isinstance(result, Refusal):
                mid = item.header.message_id
                status = next((e.message.status.value for _, e in result
                               if isinstance(e, Send) and isinstance(e.message, Acknowledgement)
                               and e.message.acknowledged_id == mid), "accepted")
                self._observe("pdu.taken", peer.code, item.header.message_type.value, mid,
                              status)
            elif isinstance(item, Answer):
                answer = item.message
                code, text = (answer.error_code, item.result) \
                    if isinstance(answer, ErrorReport) else (None, answer.status.value)
                self._observe("pdu.taken", peer.code, item.header.message_type.value,
                              item.header.message_id, text, code)


__all__ = ["NOT_THE_PEERS", "Answer", "Endpoint", "Item", "Opened", "Refusal", "Refused",
           "Reloaded", "Step", "Taken", "digest_of", "sealed_id"]
