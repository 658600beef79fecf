"""How a node takes what it reads: the checks of spec/pdu.md section 8 and group commit.

Theory of operation
-------------------
:class:`Receiving` is the receiving half of :class:`~juki_protocol.node.node.Node` (a
mixin: the node is the façade, and the sending half, the connections and the timers are
in :mod:`juki_protocol.node.node`). Each read of a connection hands it a list of frames:

* :meth:`Receiving._take` applies the bound on PDUs in hand (spec/node.md section 6,
  R-NODE-13): the frames that fit are handled; of the rest, a sealed PDU is answered
  9002 OVERLOADED before any other check, and the audit rows of the shed PDUs are
  written in one transaction;
* :meth:`Receiving._handle_batch` checks each frame in the order of spec/pdu.md
  section 8 (steps 1 to 5: the DER of the PDU, the header, the envelope, the message)
  and collects the sealed messages and the answers (acknowledgements and error reports)
  that pass, in the order of the frames, into one *group*;
* :meth:`Receiving._commit_group` applies the group in ONE transaction (one fsync):
  each sealed message in a savepoint of its own (step 6, duplicates and replays; step
  7, the role's machine, the processed id, the audit row), each answer fed to the
  machine that sent the message it answers, the audit rows of the refusals and of the
  messages the machines want sent; only once that transaction is committed are the
  acknowledgements, the error reports and the other messages sent, in the order of the
  frames (R-PDU-22, R-30-5-0-07). A refused message leaves no state and does not disturb
  the others; a failed commit refuses every sealed message of the group (9003), drops
  the answers (the messages they answer are resent by their retry timers) and reloads
  the machines from the database.

A frame that does not pass steps 1 to 3 first commits and answers the group so far, then
is handled alone by :meth:`Receiving._handle`: refused with an ``ErrorReport`` carrying a
registered code and, when it could be read, the message id in ``refersTo`` (R-PDU-26),
or, for an answer, only recorded, since acknowledgements and error reports are never
answered (R-PDU-25).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from juki_protocol import codec, pki
from juki_protocol.envelope import open_envelope, peer_error_report
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.common import Inbound, Send, random_ids
from juki_protocol.messages.common import NodeId
from juki_protocol.messages.pdu import (
    Acknowledgement,
    AckStatus,
    ErrorReport,
    JukiPdu,
    PduHeader,
)
from juki_protocol.messages.provision import ProvisionRequest
from juki_protocol.node import audit, logjson
from juki_protocol.node.metrics import NodeMetrics, timed_commit
from juki_protocol.node.roles import Owned, RoleHandler
from juki_protocol.node.sql import Database
from juki_protocol.node.storage import NodeStorage, StorageError, digest_of
from juki_protocol.node.transport import Connection
from juki_protocol.schema import decode_raw

logger = logging.getLogger("juki_protocol.node.node")
#: Refusals that say nothing about the peer (the node's own load or storage): they do
#: not count towards closing a connection that sends only refusals (R-NODE-48).
_NOT_THE_PEERS = frozenset({int(ErrorCode.OVERLOADED), int(ErrorCode.STORAGE_FAILURE)})
PROTOCOL_VERSION = 1


def result_text(code: ErrorCode | int) -> str:
    """An error code as the audit log writes it: number and name."""
    try:
        return f"{int(code)} {ErrorCode(int(code)).name}"
    except ValueError:
        return str(int(code))


def _peek(frame: bytes) -> tuple[bytes | None, str, str]:
    """(message id, message type, body kind) of a frame read only as far as the schema,
    without the checks of a full decode: for a PDU that failed one, or that is shed
    before any; the id is None and the others "" where they cannot be read."""
    try:
        value = decode_raw("JukiPdu", frame).value
        header = value["header"]
        mid = header["messageId"]
    except (JukiError, KeyError, TypeError):
        return None, "", ""
    body = value.get("body")
    kind = str(body[0]) if isinstance(body, tuple) and body else ""
    ok = isinstance(mid, (bytes, bytearray)) and len(mid) == 16
    return (bytes(mid) if ok else None), str(header.get("messageType", "")), kind


def _peek_id(frame: bytes) -> bytes | None:
    """The header's message id of a PDU that failed a later check, if it is readable."""
    return _peek(frame)[0]


def _peek_version(frame: bytes) -> int | None:
    """The header's version of a PDU that failed a later check, if it is readable."""
    try:
        version = decode_raw("JukiPdu", frame).value["header"]["version"]
    except (JukiError, KeyError, TypeError):
        return None
    return version if isinstance(version, int) else None


def _peek_sealed(frame: bytes) -> tuple[bytes, str] | None:
    """The message id and type of a frame that reads as a sealed PDU, else None."""
    mid, mtype, kind = _peek(frame)
    return (mid, mtype) if mid is not None and kind == "sealed" else None


@dataclass(frozen=True, slots=True)
class _Opened:
    """A sealed message opened and decoded (steps 1 to 5), waiting for its group."""

    header: PduHeader
    message: object
    unknown_elements: bool
    digest: bytes
    now: dt.datetime


@dataclass(frozen=True, slots=True)
class _Refusal:
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
class _Answer:
    """An acknowledgement or error report that passed the header checks."""

    header: PduHeader
    message: Acknowledgement | ErrorReport
    refers_to: bytes | None
    result: str
    now: dt.datetime

    @classmethod
    def of(cls, pdu: JukiPdu, now: dt.datetime) -> _Answer:
        """The answer carried by ``pdu``."""
        if pdu.acknowledgement is not None:
            ack = pdu.acknowledgement
            return cls(pdu.header, ack, ack.acknowledged_id, f"ack {ack.status.value}", now)
        assert pdu.error_report is not None
        err = pdu.error_report
        return cls(pdu.header, err, err.refers_to,
                   f"error {result_text(err.error_code)}", now)


_Item = _Opened | _Refusal | _Answer


class Receiving:
    """The receiving half of a node (see the module docstring)."""

    # Provided by the node (juki_protocol.node.node.Node).
    config: Any
    node: NodeId
    credential: pki.Credential
    trust: pki.TrustStore
    storage: NodeStorage
    handler: RoleHandler
    waiting: dict[bytes, Any]
    _operators: dict[bytes, str]
    _inflight: int

    def now(self) -> dt.datetime:
        raise NotImplementedError

    @property
    def metrics(self) -> NodeMetrics | None:
        """The node's metrics (``juki node serve --metrics``), if any."""
        metrics: NodeMetrics | None = self.config.metrics
        return metrics

    def _outcome(self, event: str, peer: str, mtype: str, mid: bytes | None, result: str,
                 code: int | None = None) -> None:
        """Log (one structured line, :mod:`logjson`) and count (:mod:`metrics`) what
        became of one PDU received: ``pdu.taken`` or ``pdu.refused``."""
        if logger.isEnabledFor(logging.INFO):        # -v: every PDU (R-NODE-49 aside)
            logger.info("%s: %s %s %s from %s: %s", self.node, event[4:], mtype or "-",
                        mid.hex() if mid else "-", peer, result,
                        extra=logjson.fields(event, self.node, peer=peer, message_id=mid,
                                             code=code))
        if self.metrics is not None:
            self.metrics.received(mtype, result if code is None else str(code))

    def _taken(self, peer: str, group: Sequence[_Item],
               results: list[list[Owned] | _Refusal]) -> None:
        """:meth:`_outcome` of the messages and answers of a committed group (its
        refusals are logged and counted as they are sent, by :meth:`_refuse`)."""
        for item, result in zip(group, results, strict=True):
            if isinstance(item, _Opened) and not isinstance(result, _Refusal):
                mid = item.header.message_id
                status = next((e.message.status.value for _, e in result
                               if isinstance(e, Send) and isinstance(e.message, Acknowledgement)
                               and e.message.acknowledged_id == mid), "accepted")
                self._outcome("pdu.taken", peer, item.header.message_type.value, mid, status)
            elif isinstance(item, _Answer):
                answer = item.message
                code, text = (answer.error_code, item.result) \
                    if isinstance(answer, ErrorReport) else (None, answer.status.value)
                self._outcome("pdu.taken", peer, item.header.message_type.value,
                              item.header.message_id, text, code)

    def _answer_pdu(self, peer: NodeId, answer: Acknowledgement | ErrorReport,
                    now: dt.datetime, message_id: bytes | None = None) -> bytes:
        raise NotImplementedError

    def _audit(self, direction: str, peer: str, mtype: str, mid: bytes | None,
               result: str, now: dt.datetime, subjects: str = "",
               operator: str = "system") -> None:
        raise NotImplementedError

    def _audit_sends(self, c: Database, owned: list[Owned],
                     now: dt.datetime) -> None:
        raise NotImplementedError

    def _plan(self, owned: list[Owned]) -> list[Any]:
        raise NotImplementedError

    async def _run(self, plan: list[Any], reply: Connection | None) -> None:
        raise NotImplementedError

    def _release(self, plan: list[Any]) -> None:
        raise NotImplementedError

    def _reload(self) -> None:
        raise NotImplementedError

    # The bound on PDUs in hand ----------------------------------------------------------

    async def _take(self, conn: Connection, frames: list[bytes]) -> None:
        """Handle the frames of one read within the node's bound on PDUs in hand
        (R-NODE-13): those that fit are handled; of the rest, a sealed PDU is answered
        9002 OVERLOADED referring to its message id, before any other check and without
        a trace in storage but the audit entry, so its sender can retry it; an answer or
        an unreadable frame is handled as usual (it is never answered with 9002)."""
        started = time.monotonic()
        room = max(0, self.config.max_inflight - self._inflight)
        taken, rest = frames[:room], frames[room:]
        self._inflight += len(taken)
        try:
            await self._handle_batch(conn, taken)
        finally:
            self._inflight -= len(taken)
        shed: list[tuple[bytes, str]] = []
        for frame in rest:
            sealed = _peek_sealed(frame)
            if sealed is None:
                await self._shed(conn, shed)
                shed = []
                await self._handle_batch(conn, [frame])
            else:
                shed.append(sealed)
        await self._shed(conn, shed)
        if self.metrics is not None:
            self.metrics.handled(len(frames), time.monotonic() - started)

    async def _shed(self, conn: Connection, shed: list[tuple[bytes, str]]) -> None:
        """Answer 9002 to each of ``shed``, their audit rows in one transaction."""
        if not shed:
            return
        logger.warning("%s: shed %d PDUs from %s: %d PDUs in hand, the limit",
                       self.node, len(shed), conn.peer, self.config.max_inflight)
        now = self.now()
        text = result_text(ErrorCode.OVERLOADED)
        audited = True
        try:
            with self.storage.transaction() as c:
                for mid, mtype in shed:
                    audit.append(c, at=now, direction="refused", peer=conn.peer.code,
                                 message_type=mtype, message_id=mid, result=text)
        except StorageError as exc:
            logger.error("%s: audit write failed: %s", self.node, exc)
            audited = False
        for mid, mtype in shed:
            await self._refuse(conn, ErrorCode.OVERLOADED, mid, mtype, now,
                               audited=audited)

    # Receiving -------------------------------------------------------------------------

    def check_header(self, header: PduHeader, peer: NodeId, now: dt.datetime,
                     sealed: bool) -> None:
        """Steps 3 to 6 of spec/pdu.md section 8 (raises JukiError with the code)."""
        if header.version != PROTOCOL_VERSION:
            raise JukiError(f"version {header.version}", code=ErrorCode.UNSUPPORTED_VERSION)
        if header.recipient != self.node:
            raise JukiError(f"addressed to {header.recipient}", code=ErrorCode.WRONG_RECIPIENT)
        if header.sender != peer:
            raise JukiError(f"sender {header.sender} is not the TLS peer {peer}",
                            code=ErrorCode.CERT_SENDER_MISMATCH)
        if abs(now - header.time) > self.config.time_window:
            raise JukiError("header time outside the window", code=ErrorCode.STALE_TIME)
        if sealed:
            route = pki.ROUTES.get(header.message_type)
            if route is None or header.sender.role not in route.senders \
                    or header.recipient.role not in route.recipients:
                raise JukiError(f"{header.message_type.value} from {header.sender.role.value}"
                                f" to {header.recipient.role.value}",
                                code=ErrorCode.ROLE_NOT_ALLOWED)

    async def _handle(self, conn: Connection, frame: bytes) -> None:
        """One frame alone (a frame that failed steps 1 to 3 comes here)."""
        now = self.now()
        try:
            pdu = codec.decode(frame, "JukiPdu")
        except JukiError as exc:
            code = exc.error_code
            if _peek_version(frame) not in (None, PROTOCOL_VERSION):
                # Step 3 of spec/pdu.md section 8: the version before the header's
                # other fields and the body kind (step 7), which decoding checks.
                code = ErrorCode.UNSUPPORTED_VERSION
            await self._refuse(conn, code, _peek_id(frame), "-", now)
            return
        assert isinstance(pdu, JukiPdu)
        header = pdu.header
        sealed = pdu.sealed is not None
        try:
            self.check_header(header, conn.peer, now, sealed)
        except JukiError as exc:
            if sealed:
                await self._refuse(conn, exc.error_code, header.message_id,
                                   header.message_type.value, now)
            else:     # R-PDU-25: never answer an answer; record it only.
                self._audit("refused", conn.peer.code, header.message_type.value,
                            header.message_id, result_text(exc.error_code), now)
                self._outcome("pdu.refused", conn.peer.code, header.message_type.value,
                              header.message_id, result_text(exc.error_code),
                              int(exc.error_code))
                conn.refused()                   # R-NODE-48
            return
        await self._commit_group(conn, [self._open_sealed(pdu, now) if sealed
                                        else _Answer.of(pdu, now)])

    async def _handle_batch(self, conn: Connection, frames: list[bytes]) -> None:
        """Group commit (see the module docstring): the sealed messages and answers of
        one read that pass steps 1 to 5, in order, in ONE transaction; a frame that
        fails steps 1 to 3 first commits and answers the group so far, then is handled
        alone, so answers leave in the order of the frames."""
        group: list[_Item] = []
        for frame in frames:
            now = self.now()
            pdu: object = None
            try:
                pdu = codec.decode(frame, "JukiPdu")
                assert isinstance(pdu, JukiPdu)
                self.check_header(pdu.header, conn.peer, now, pdu.sealed is not None)
            except JukiError:
                pdu = None
            if isinstance(pdu, JukiPdu):
                group.append(self._open_sealed(pdu, now) if pdu.sealed is not None
                             else _Answer.of(pdu, now))
                continue
            await self._commit_group(conn, group)
            group = []
            await self._handle(conn, frame)
        await self._commit_group(conn, group)

    def _open_sealed(self, pdu: JukiPdu, now: dt.datetime) -> _Opened | _Refusal:
        """Steps 4 and 5 of spec/pdu.md section 8: the envelope and the message."""
        header = pdu.header
        mid, mtype = header.message_id, header.message_type.value
        assert pdu.sealed is not None
        try:
            opened = open_envelope(pdu.sealed, [self.credential], self.trust, now,
                                   header=header, time_window=self.config.time_window)
        except JukiError as exc:
            report = peer_error_report(exc, refers_to=mid)     # R-PDU-32: opaque
            return _Refusal(report.error_code, mid, mtype, now, exc.error_code)
        try:
            decoded = codec.decode_full(opened.message_der, header.message_type.type_name,
                                        profile=header.profile)
        except JukiError as exc:
            return _Refusal(exc.error_code, mid, mtype, now)
        return _Opened(header, decoded.message, decoded.unknown_extensions > 0,
                       digest_of(opened.message_der), now)

    def _apply_opened(self, c: Database, item: _Opened) -> list[Owned] | _Refusal:
        """Step 6 and 7 for one message, inside the group's transaction and in a
        savepoint of its own: its effects, processed id and audit row, or nothing."""
        header, now = item.header, item.now
        mid, mtype = header.message_id, header.message_type.value
        sender = str(header.sender)
        seen = self.storage.seen(sender, mid)      # sees the group's earlier messages
        if seen is not None:       # R-PDU-24
            if seen != item.digest:
                return _Refusal(ErrorCode.REPLAY, mid, mtype, now)
            ack = Send(recipient=header.sender.code, message_id=random_ids(),
                       message=Acknowledgement(acknowledged_id=mid,
                                               status=AckStatus.DUPLICATE))
            audit.append(c, at=now, direction="received", peer=header.sender.code,
                         message_type=mtype, message_id=mid, result="duplicate",
                         subjects=audit.masked_subjects(item.message))
            return [(None, ack)]
        message = item.message
        inbound = Inbound(message=message, message_id=mid, sender=header.sender.code,
                          correlation_id=header.correlation_id,
                          unknown_elements=item.unknown_elements)
        operator = "system"
        if isinstance(message, ProvisionRequest):
            operator = message.operator_id
            self._operators[mid] = operator
        c.execute("SAVEPOINT juki_message")
        try:
            owned = self.handler.receive(inbound, now)
            self.storage.mark_processed(sender, mid, item.digest, mtype, now)
            audit.append(c, at=now, direction="received", peer=header.sender.code,
                         message_type=mtype, message_id=mid, result="accepted",
                         subjects=audit.masked_subjects(message), operator=operator)
        except StorageError:
            raise                  # The whole group fails (see _commit_group).
        except JukiError as exc:   # The machines refuse before they change anything.
            c.execute("ROLLBACK TO SAVEPOINT juki_message")
            c.execute("RELEASE SAVEPOINT juki_message")
            return _Refusal(exc.error_code, mid, mtype, now)
        except Exception:
            logger.exception("%s: internal error on %s", self.node, mtype)
            c.execute("ROLLBACK TO SAVEPOINT juki_message")
            c.execute("RELEASE SAVEPOINT juki_message")
            self._reload()         # From the database: the group's earlier messages.
            return _Refusal(ErrorCode.INTERNAL_ERROR, mid, mtype, now)
        c.execute("RELEASE SAVEPOINT juki_message")
        return owned

    def _apply_answer(self, c: Database, item: _Answer,
                      taken: list[bytes]) -> list[Owned]:
        """An answer, inside the group's transaction: fed to the machine that sent the
        message it answers (its effects and the audit row), or recorded as not taken."""
        header, now = item.header, item.now
        peer, mtype, mid = header.sender.code, header.message_type.value, header.message_id
        owner = self.waiting.get(item.refers_to) if item.refers_to is not None else None
        if owner is None:
            logger.info("%s: %s from %s refers to nothing outstanding", self.node,
                        item.result, peer)
            audit.append(c, at=now, direction="received", peer=peer, message_type=mtype,
                         message_id=mid, result=f"{item.result} (unmatched)")
            return []
        inbound = Inbound(message=item.message, message_id=mid, sender=peer,
                          correlation_id=header.correlation_id)
        c.execute("SAVEPOINT juki_answer")
        try:
            owned = self.handler.answered(owner, inbound, now)
        except StorageError:
            raise
        except JukiError as exc:   # The machine refuses before it changes anything.
            c.execute("ROLLBACK TO SAVEPOINT juki_answer")
            c.execute("RELEASE SAVEPOINT juki_answer")
            logger.info("%s: %s not taken: %s", self.node, item.result, exc)
            audit.append(c, at=now, direction="received", peer=peer, message_type=mtype,
                         message_id=mid, result=f"{item.result} (not taken: "
                         f"{result_text(exc.error_code)})")
            return []
        c.execute("RELEASE SAVEPOINT juki_answer")
        audit.append(c, at=now, direction="received", peer=peer, message_type=mtype,
                     message_id=mid, result=item.result)
        assert item.refers_to is not None
        taken.append(item.refers_to)
        return owned

    async def _commit_group(self, conn: Connection, group: Sequence[_Item]) -> None:
        """Apply ``group`` in one transaction, commit, then answer and send in order."""
        if not group:
            return
        results: list[list[Owned] | _Refusal] = []
        taken: list[bytes] = []
        audited = True
        try:
            with timed_commit(self.metrics, self.storage.transaction()) as c:
                for item in group:
                    if isinstance(item, _Opened):
                        results.append(self._apply_opened(c, item))
                    elif isinstance(item, _Answer):
                        results.append(self._apply_answer(c, item, taken))
                    else:
                        results.append(item)
                for result in results:
                    if isinstance(result, _Refusal):
                        audit.append(c, at=result.now, direction="refused",
                                     peer=conn.peer.code, message_type=result.mtype,
                                     message_id=result.message_id, result=result.text())
                    else:
                        self._audit_sends(c, result, self.now())
            self._taken(conn.peer.code, group, results)      # committed
        except StorageError as exc:
            logger.error("%s: storage failed: %s", self.node, exc)
            self._reload()
            audited, taken = False, []
            results = []
            for item in group:
                if isinstance(item, _Opened):
                    results.append(_Refusal(ErrorCode.STORAGE_FAILURE,
                                            item.header.message_id,
                                            item.header.message_type.value, item.now))
                elif isinstance(item, _Refusal):
                    results.append(item)
        for ref in taken:
            self.waiting.pop(ref, None)
        # Committed: now, and only now, the acknowledgements and the other messages, in
        # the order of the frames. Their places in the per-recipient send order are
        # taken now, before anything yields (see Node.dispatch).
        plans: list[list[Any] | _Refusal] = [
            r if isinstance(r, _Refusal) else self._plan(r) for r in results]
        try:
            for plan in plans:
                if isinstance(plan, _Refusal):
                    await self._refuse(conn, plan.code, plan.message_id, plan.mtype,
                                       plan.now, local=plan.local, audited=audited)
                else:
                    conn.useful()                # R-NODE-48
                    if plan:
                        await self._run(plan, conn)
        finally:
            for plan in plans:
                if not isinstance(plan, _Refusal):
                    self._release(plan)

    async def _refuse(self, conn: Connection, code: ErrorCode | int,
                      refers_to: bytes | None, mtype: str, now: dt.datetime, *,
                      local: ErrorCode | None = None, audited: bool = False) -> None:
        """Answer with an ErrorReport (R-PDU-26) and record the refusal (unless the
        caller has ``audited`` it already, in the group's transaction)."""
        text = _Refusal(code, refers_to, mtype, now, local).text()
        if not audited:
            self._audit("refused", conn.peer.code, mtype, refers_to, text, now)
        self._outcome("pdu.refused", conn.peer.code, mtype, refers_to, text, int(code))
        if int(code) not in _NOT_THE_PEERS:
            conn.refused()                       # R-NODE-48
        report = ErrorReport(error_code=int(code), refers_to=refers_to)
        try:
            await conn.send(self._answer_pdu(conn.peer, report, now))
        except (ConnectionError, OSError, JukiError) as exc:
            logger.info("%s: could not send the error report: %s", self.node, exc)


__all__ = ["PROTOCOL_VERSION", "Receiving", "result_text"]
