"""Special move: the new municipality's counter (Arts. 24-2(1)(3), 9(1)).

Theory of operation
-------------------
:class:`SpecialMoveInCounter` runs one special move-in at the new municipality; the
former municipality's side and the flow as a whole are described in
:mod:`juki_protocol.machines.special_move`. In order:

1. the counter's identity check with the card (R-24-2-1-01): only a confirmed check
   with a card method (:data:`~juki_protocol.machines.special_move.CARD_METHODS`) opens
   the move-in; a locked, suspended or inactive card reports its 4010/4011/4012 and a
   later submit is 5022 IDENTITY_CHECK_FAILED;
2. the move-in filed with the card: the notice must name this municipality and the card
   holder among its movers, and is refused with 5020 DEADLINE_PASSED, before anything is
   sent, when it was filed more than 14 days after the move (R-24-2-1-02);
3. the ``SpecialMoveInNotice`` (Art. 24-2(3)) is resent until acknowledged (R-PDU-23);
   the certificate must arrive before :data:`CERTIFICATE_DEADLINE` (4005 FLOW_TIMED_OUT);
   an ``ErrorReport`` from the former municipality ends the move-in ``refused``;
4. the ``MoveOutCertificate`` is checked against the notice (R-24-2-4-01), acknowledged,
   the residents are recorded (an :class:`Event` ``residents_recorded`` carries their
   ``record``/``moveIn`` identity changes for the identity updater, Art. 30-5), and the
   ``MoveInNotice`` (Art. 9(1)) is sent without delay (R-9-1-01) and resent until
   acknowledged. A replayed certificate is acknowledged as ``duplicate``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum

from juki_protocol.errors import BusinessError, ErrorCode, ProtocolError, ValidationError
from juki_protocol.machines.card import IdentityCheck
from juki_protocol.machines.common import (
    ArmTimer,
    CancelTimer,
    Effect,
    Event,
    IdSource,
    Inbound,
    Machine,
    Send,
    Table,
    Timer,
    answered_id,
    random_ids,
    register,
)
from juki_protocol.machines.move_in import RETRY, RETRY_AFTER, IdentityChange, acknowledge
from juki_protocol.machines.special_move import (
    CARD_METHODS,
    CERTIFICATE_DEADLINE,
    DEADLINE,
    check_deadline,
)
from juki_protocol.machines.stores import Register
from juki_protocol.messages.common import ChangeInfo, ChangeReason, IdentityInfo
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.record import ResidentRecord
from juki_protocol.messages.special_move import (
    MoveInNotice,
    MoveOutCertificate,
    MoveOutCertificateEntry,
    SpecialMoveInNotice,
)

# The counter --------------------------------------------------------------------

class MoveInState(Enum):
    """States of one special move-in at the new municipality's counter."""

    NEW = "new"
    IDENTIFIED = "identified"
    IDENTITY_FAILED = "identity_failed"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    RECORDED = "recorded"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


class MoveInInput(Enum):
    """Inputs of the move-in counter."""

    IDENTITY_OK = "identity_ok"
    IDENTITY_NG = "identity_ng"
    SUBMIT = "submit"
    NOTICE_ACK = "notice_ack"
    NOTICE_ERROR = "notice_error"
    CERTIFICATE = "certificate"
    CERT_REPLAY = "cert_replay"
    CONFLICT = "conflict"
    MOVE_IN_ACK = "move_in_ack"
    MOVE_IN_ERROR = "move_in_error"
    RETRY_DUE = "retry_due"
    DEADLINE = "deadline"


class MoveInAction(Enum):
    """Side effects of the move-in counter."""

    RECORD_IDENTITY = "record_identity"
    REPORT_IDENTITY_FAILURE = "report_identity_failure"
    SEND_NOTICE = "send_notice"
    STOP_RETRY = "stop_retry"
    RESEND = "resend"
    REPORT_REFUSAL = "report_refusal"
    RECORD_RESIDENTS = "record_residents"
    ACK_DUPLICATE = "ack_duplicate"
    REPORT_TIMEOUT = "report_timeout"
    CLOSE = "close"
    REPORT_FAILURE = "report_failure"


_NS, _NI, _NA = MoveInState, MoveInInput, MoveInAction
_nrows: dict[tuple[MoveInState, MoveInInput], tuple[MoveInAction | None, MoveInState]] = {
    (_NS.NEW, _NI.IDENTITY_OK): (_NA.RECORD_IDENTITY, _NS.IDENTIFIED),
    (_NS.NEW, _NI.IDENTITY_NG): (_NA.REPORT_IDENTITY_FAILURE, _NS.IDENTITY_FAILED),
    (_NS.IDENTIFIED, _NI.SUBMIT): (_NA.SEND_NOTICE, _NS.NOTIFIED),
    (_NS.NOTIFIED, _NI.NOTICE_ACK): (_NA.STOP_RETRY, _NS.ACKNOWLEDGED),
    (_NS.NOTIFIED, _NI.RETRY_DUE): (_NA.RESEND, _NS.NOTIFIED),
    (_NS.ACKNOWLEDGED, _NI.NOTICE_ACK): (None, _NS.ACKNOWLEDGED),
    (_NS.RECORDED, _NI.NOTICE_ACK): (None, _NS.RECORDED),
    (_NS.RECORDED, _NI.CERT_REPLAY): (_NA.ACK_DUPLICATE, _NS.RECORDED),
    (_NS.RECORDED, _NI.RETRY_DUE): (_NA.RESEND, _NS.RECORDED),
    (_NS.RECORDED, _NI.MOVE_IN_ACK): (_NA.CLOSE, _NS.DONE),
    (_NS.RECORDED, _NI.MOVE_IN_ERROR): (_NA.REPORT_FAILURE, _NS.FAILED),
    (_NS.DONE, _NI.NOTICE_ACK): (None, _NS.DONE),
    (_NS.DONE, _NI.CERT_REPLAY): (_NA.ACK_DUPLICATE, _NS.DONE),
    (_NS.DONE, _NI.MOVE_IN_ACK): (None, _NS.DONE),
}
for _s in (_NS.NOTIFIED, _NS.ACKNOWLEDGED):
    _nrows[(_s, _NI.NOTICE_ERROR)] = (_NA.REPORT_REFUSAL, _NS.REFUSED)
    _nrows[(_s, _NI.CERTIFICATE)] = (_NA.RECORD_RESIDENTS, _NS.RECORDED)
    _nrows[(_s, _NI.DEADLINE)] = (_NA.REPORT_TIMEOUT, _NS.TIMED_OUT)

MOVE_IN_TABLE: Table[MoveInState, MoveInInput, MoveInAction] = Table(
    name="special-move-new",
    title="Special move: new municipality (Arts. 24-2(1)(3), 9(1))",
    states=MoveInState, inputs=MoveInInput, initial=_NS.NEW, rows=_nrows,
    errors={_NS.TIMED_OUT: ErrorCode.FLOW_TIMED_OUT,
            (_NS.NEW, _NI.SUBMIT): ErrorCode.IDENTITY_CHECK_FAILED,
            (_NS.IDENTITY_FAILED, _NI.SUBMIT): ErrorCode.IDENTITY_CHECK_FAILED,
            (_NS.RECORDED, _NI.CERTIFICATE): ErrorCode.UNEXPECTED_MESSAGE,
            (_NS.DONE, _NI.CERTIFICATE): ErrorCode.UNEXPECTED_MESSAGE,
            _NI.CONFLICT: ErrorCode.REPLAY,
            _NI.NOTICE_ACK: ErrorCode.UNKNOWN_CORRELATION,
            _NI.NOTICE_ERROR: ErrorCode.UNKNOWN_CORRELATION,
            _NI.CERTIFICATE: ErrorCode.UNKNOWN_CORRELATION,
            _NI.MOVE_IN_ACK: ErrorCode.UNKNOWN_CORRELATION,
            _NI.MOVE_IN_ERROR: ErrorCode.UNKNOWN_CORRELATION},
)


@register
class SpecialMoveInCounter(Machine[MoveInState, MoveInInput, MoveInAction]):
    """One special move-in at the new municipality's counter.

    register: the new municipality's register; the residents are recorded in it when
    the certificate carries their individual numbers (a :class:`ResidentRecord`
    record needs one), and always reported in the ``residents_recorded`` event.
    """

    TABLE = MOVE_IN_TABLE

    def __init__(self, municipality: str, *, register: Register | None = None,
                 ids: IdSource = random_ids) -> None:
        super().__init__()
        self.municipality = municipality
        self.register = register
        self.ids = ids
        self.check: IdentityCheck | None = None
        self.notice: SpecialMoveInNotice | None = None
        self.notice_id: bytes | None = None
        self.certificate: MoveOutCertificate | None = None
        self.certificate_id: bytes | None = None
        self.move_in: Send | None = None
        self.outcome: int | None = None

    def identify(self, check: IdentityCheck, now: dt.datetime) -> list[Effect]:
        """The counter's identity check with the card (R-24-2-1-01)."""
        ok = check.confirmed and check.method in CARD_METHODS
        return self._step(MoveInInput.IDENTITY_OK if ok else MoveInInput.IDENTITY_NG,
                          now, check)

    def submit(self, notice: SpecialMoveInNotice, now: dt.datetime) -> list[Effect]:
        """Accept the move-in and notify the former municipality (Art. 24-2(3))."""
        return self._step(MoveInInput.SUBMIT, now, notice)

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """An answer to the notice or the MoveInNotice, or the certificate."""
        return self._step(self.classify(inbound), now, inbound)

    def classify(self, inbound: Inbound) -> MoveInInput:
        """The table input for ``inbound``; 4002 for what refers to nothing of ours."""
        msg = inbound.message
        if isinstance(msg, (Acknowledgement, ErrorReport)):
            ack = isinstance(msg, Acknowledgement)
            ref = answered_id(msg)
            if self.notice_id is not None and ref == self.notice_id:
                return MoveInInput.NOTICE_ACK if ack else MoveInInput.NOTICE_ERROR
            if self.move_in is not None and ref == self.move_in.message_id:
                return MoveInInput.MOVE_IN_ACK if ack else MoveInInput.MOVE_IN_ERROR
            raise ProtocolError("the answer refers to no message of ours",
                                code=ErrorCode.UNKNOWN_CORRELATION)
        if isinstance(msg, MoveOutCertificate):
            if self.notice_id is None or inbound.correlation_id != self.notice_id:
                raise ProtocolError("the certificate refers to no open notice",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
            if inbound.message_id == self.certificate_id:
                return (MoveInInput.CERT_REPLAY if msg == self.certificate
                        else MoveInInput.CONFLICT)
            return MoveInInput.CERTIFICATE
        raise ProtocolError(f"{type(msg).__name__} is not part of a special move",
                            code=ErrorCode.UNEXPECTED_MESSAGE)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """A timer fired: ``retry`` resends, ``deadline`` ends the move-in."""
        inp = MoveInInput.RETRY_DUE if name == RETRY else MoveInInput.DEADLINE
        return self._fire(inp, name, now)

    # Actions ---------------------------------------------------------------------------

    def _send_notice(self, notice: SpecialMoveInNotice, now: dt.datetime) -> list[Effect]:
        assert self.check is not None
        if notice.new_municipality != self.municipality:
            raise ValidationError("new_municipality is not this municipality",
                                  field="new_municipality")
        codes = [m.resident_code for m in notice.movers]
        if self.check.resident_code is not None and self.check.resident_code not in codes:
            raise BusinessError("the card holder is not among the movers",
                                code=ErrorCode.IDENTITY_CHECK_FAILED)
        check_deadline(notice)                              # R-24-2-1-02
        self.notice, self.notice_id = notice, self.ids()
        return [*self._wire_notice(now),
                ArmTimer(timer=Timer(name=DEADLINE, deadline=now + CERTIFICATE_DEADLINE))]

    def _wire_notice(self, now: dt.datetime) -> list[Effect]:
        assert self.notice is not None and self.notice_id is not None
        return [Send(recipient=self.notice.former_municipality, message=self.notice,
                     message_id=self.notice_id),
                ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))]

    def _record(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        cert, notice = inbound.message, self.notice
        assert isinstance(cert, MoveOutCertificate) and notice is not None
        if (cert.former_municipality, cert.new_municipality) != (
                notice.former_municipality, notice.new_municipality) or \
                cert.former_municipality != inbound.sender:
            raise ValidationError("the certificate names other municipalities",
                                  field="former_municipality")
        if len(cert.entries) != len(notice.movers):          # R-24-2-4-01
            raise ValidationError("R-24-2-4-01: one entry per mover", field="entries")
        by_code = {e.resident_code: e for e in cert.entries}
        for i, mover in enumerate(notice.movers):
            entry = by_code.get(mover.resident_code)
            if entry is None or (entry.name, entry.birth_date) != (mover.name,
                                                                   mover.birth_date):
                raise ValidationError("R-24-2-4-01: an entry does not match its mover",
                                      field=f"entries[{i}]")
        move_in = MoveInNotice(new_municipality=notice.new_municipality,
                               former_municipality=notice.former_municipality,
                               residents=notice.movers, moved_date=notice.moved_date,
                               recorded_date=max(now.date(), notice.move_in_filed_date),
                               new_address=notice.new_address)
        entries = [by_code[m.resident_code] for m in notice.movers]
        changes = tuple(IdentityChange(
            operation=UpdateOperation.RECORD,
            identity_info=IdentityInfo(resident_code=e.resident_code, name=e.name,
                                       birth_date=e.birth_date, sex=e.sex,
                                       address=notice.new_address,
                                       individual_number=e.individual_number),
            change_info=ChangeInfo(change_reason=ChangeReason.MOVE_IN,
                                   change_date=notice.moved_date)) for e in entries)
        records = [self._resident(e, inbound.message_id) for e in entries
                   if e.individual_number is not None]
        # Commit: nothing above changed any data.
        if self.register is not None:
            for rec in records:
                self.register.add(rec)
        self.certificate, self.certificate_id = cert, inbound.message_id
        self.move_in = Send(recipient=notice.former_municipality, message=move_in,
                            message_id=self.ids(), correlation_id=self.notice_id)
        return [CancelTimer(name=RETRY), CancelTimer(name=DEADLINE),
                acknowledge(inbound, self.ids, AckStatus.ACCEPTED),
                Event(name="residents_recorded", data=changes), self.move_in,
                ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))]

    def _resident(self, e: MoveOutCertificateEntry, mid: bytes) -> ResidentRecord:
        notice = self.notice
        assert notice is not None and e.individual_number is not None
        return ResidentRecord(
            resident_code=e.resident_code, individual_number=e.individual_number,
            name=e.name, birth_date=e.birth_date, sex=e.sex, address=notice.new_address,
            household_id=f"{self.municipality}-sm{mid.hex()[:8]}",
            relationship=e.relationship, resident_since=notice.moved_date,
            address_notification_date=notice.move_in_filed_date,
            previous_address=e.address, family_register=e.family_register,
            # Art. 30-45: a foreign resident becomes a resident of this municipality on
            # the day of the move, which is then 外国人住民となった年月日
            # (spec/foreign_residents.md section 3).
            foreign_resident=None if e.foreign_resident is None else dataclasses.replace(
                e.foreign_resident, foreign_resident_since=notice.moved_date))

    def _act(self, action: MoveInAction, now: dt.datetime, payload: object) -> list[Effect]:
        A = MoveInAction
        if action is A.RECORD_IDENTITY:
            assert isinstance(payload, IdentityCheck)
            self.check = payload
            return []
        if action is A.REPORT_IDENTITY_FAILURE:
            assert isinstance(payload, IdentityCheck)
            self.check = payload
            return [Event(name="identity_check_failed",
                          code=payload.failure or ErrorCode.IDENTITY_CHECK_FAILED)]
        if action is A.SEND_NOTICE:
            assert isinstance(payload, SpecialMoveInNotice)
            return self._send_notice(payload, now)
        if action is A.RESEND:
            if self.move_in is not None:
                return [self.move_in,
                        ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))]
            return self._wire_notice(now)
        if action is A.STOP_RETRY:
            return [CancelTimer(name=RETRY)]
        if action is A.REPORT_TIMEOUT:
            self.outcome = int(ErrorCode.FLOW_TIMED_OUT)
            return [CancelTimer(name=RETRY),
                    Event(name="timed_out", code=ErrorCode.FLOW_TIMED_OUT)]
        assert isinstance(payload, Inbound)
        if action is A.RECORD_RESIDENTS:
            return self._record(payload, now)
        if action is A.ACK_DUPLICATE:
            return [acknowledge(payload, self.ids, AckStatus.DUPLICATE)]
        if action is A.CLOSE:
            return [CancelTimer(name=RETRY), Event(name="move_in_completed")]
        msg = payload.message
        assert isinstance(msg, ErrorReport)
        self.outcome = msg.error_code
        code = (ErrorCode(msg.error_code) if msg.error_code in ErrorCode._value2member_map_
                else ErrorCode.INTERNAL_ERROR)
        done: list[Effect] = [CancelTimer(name=RETRY)]
        if action is A.REPORT_REFUSAL:
            return [*done, CancelTimer(name=DEADLINE), Event(name="refused", code=code)]
        return [*done, Event(name="failed", code=code)]   # REPORT_FAILURE


__all__ = ["CERTIFICATE_DEADLINE", "MOVE_IN_TABLE", "MoveInAction", "MoveInInput",
           "MoveInState", "SpecialMoveInCounter"]
