"""The ordinary move between municipalities and its move-in notice (Art. 9(1)).

Theory of operation
-------------------
In an ordinary move the resident files a move-out (転出届) at the former municipality's
counter and receives a paper move-out certificate (転出証明書); no message crosses the
network until the resident files the move-in (転入届) with that certificate at the new
municipality. Then (spec/special_move.md section 4):

* :class:`MoveInNotifier` (new municipality) runs one ordinary move-in: the residents are
  recorded (an :class:`Event` ``residents_recorded`` carries their ``record``/``moveIn``
  identity changes for the identity updater, Art. 30-5) and the ``MoveInNotice`` is sent
  to the former municipality without delay (R-9-1-01) with no ``correlationId``
  (R-MOVE-01), resent under the same message id until acknowledged (R-MOVE-05).
* :class:`MoveInNoticeReceiver` (former municipality) takes one such notice. The
  notice is matched resident by resident, by resident code, name and birth date, to an
  ordinary move-out on file (:class:`OrdinaryMoveOut`, recorded at the counter by
  :meth:`~juki_protocol.machines.special_move.MoveOutDesk.record_move_out`) or to a
  record the municipality already erased for the move-out (R-MOVE-02). Accepting it
  finalises the move-out: the records still current are erased and an :class:`Event`
  ``move_out_finalised`` carries one ``erase``/``moveOut`` :class:`IdentityChange` each,
  as in the special move (R-9-1-04). The refusals of R-MOVE-03 change nothing; the same
  notice again is acknowledged ``duplicate`` with no second erasure (R-MOVE-04).

The former municipality's desk (:class:`~juki_protocol.machines.special_move.
MoveOutDesk`) routes a ``MoveInNotice`` with a ``correlationId`` to its special move and
one without to a :class:`MoveInNoticeReceiver`. This module also holds what both kinds
of move share: :class:`IdentityChange`, :func:`report_identity_changes`,
:func:`acknowledge` and the retry interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from juki_protocol.errors import BusinessError, ErrorCode, ProtocolError, ValidationError
from juki_protocol.identifiers import validate_resident_code
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
from juki_protocol.machines.identity import IdentityUpdater
from juki_protocol.machines.stores import Register
from juki_protocol.messages.common import Address, ChangeInfo, ChangeReason, IdentityInfo, Profile
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.record import ResidentRecord
from juki_protocol.messages.special_move import MoveInNotice

#: R-TIME-02 (spec/deadlines.md): how long a sender waits for an acknowledgement before
#: it resends (R-PDU-23).
RETRY_AFTER = dt.timedelta(seconds=60)
RETRY = "retry"


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityChange:
    """One change to report to the prefecture (Art. 30-5) after a move."""

    operation: UpdateOperation
    identity_info: IdentityInfo
    change_info: ChangeInfo


def report_identity_changes(updater: IdentityUpdater, changes: object,
                            now: dt.datetime) -> list[Effect]:
    """Hand the changes of a ``move_out_finalised`` or ``residents_recorded`` event to
    the municipality's identity updater (R-9-1-04, Art. 30-5); returns its effects."""
    assert isinstance(changes, tuple)
    effects: list[Effect] = []
    for change in changes:
        assert isinstance(change, IdentityChange)
        effects += updater.change(change.operation, change.identity_info,
                                  change.change_info, now)
    return effects


def acknowledge(inbound: Inbound, ids: IdSource, status: AckStatus) -> Send:
    """The acknowledgement of ``inbound`` with ``status``."""
    return Send(recipient=inbound.sender, message_id=ids(),
                message=Acknowledgement(acknowledged_id=inbound.message_id, status=status))


# Former municipality -----------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class OrdinaryMoveOut:
    """A move-out filed at the counter (転出届, Art. 24) for which the former
    municipality issued a paper move-out certificate (転出証明書).

    movers: resident codes of the persons on the certificate (1 to 20, distinct);
    destination: the planned new address (転出先), in another municipality;
    planned_move_date: 転出の予定年月日. The resident may move in elsewhere than planned:
    the ``MoveInNotice`` is matched by resident code, never by destination (R-MOVE-02).
    """

    movers: tuple[str, ...]
    destination: Address
    planned_move_date: dt.date

    def __post_init__(self) -> None:
        if not 1 <= len(self.movers) <= 20 or len(set(self.movers)) != len(self.movers):
            raise ValidationError("must list 1 to 20 distinct persons", field="movers")
        for i, code in enumerate(self.movers):
            validate_resident_code(code, f"movers[{i}]")


class MoveOutFile:
    """The former municipality's ordinary move-outs: those on file (recorded at the
    counter, not yet final) and those an accepted ``MoveInNotice`` made final.

    Shared by the desk and its receivers, like the register they are given.
    """

    def __init__(self) -> None:
        self.on_file: dict[str, OrdinaryMoveOut] = {}
        #: resident code -> message id of the MoveInNotice that made the move-out final.
        self.finalised: dict[str, bytes] = {}


class ReceiptState(Enum):
    """States of one ordinary ``MoveInNotice`` at the former municipality."""

    NEW = "new"
    FINALISED = "finalised"


class ReceiptInput(Enum):
    """Inputs of a notice receiver."""

    NOTICE = "notice"                  # the MoveInNotice
    NOTICE_REPLAY = "notice_replay"    # the accepted notice again (same id and content)
    CONFLICT = "conflict"              # its message id with other content


class ReceiptAction(Enum):
    """Side effects of a notice receiver."""

    FINALISE = "finalise"
    ACK_DUPLICATE = "ack_duplicate"


_RS, _RI, _RA = ReceiptState, ReceiptInput, ReceiptAction
RECEIPT_TABLE: Table[ReceiptState, ReceiptInput, ReceiptAction] = Table(
    name="ordinary-move-former",
    title="Ordinary move: former municipality (Art. 9(1))",
    states=ReceiptState, inputs=ReceiptInput, initial=_RS.NEW,
    rows={
        (_RS.NEW, _RI.NOTICE): (_RA.FINALISE, _RS.FINALISED),
        (_RS.FINALISED, _RI.NOTICE_REPLAY): (_RA.ACK_DUPLICATE, _RS.FINALISED),
    },
    errors={_RI.CONFLICT: ErrorCode.REPLAY},
)


@register
class MoveInNoticeReceiver(Machine[ReceiptState, ReceiptInput, ReceiptAction]):
    """One ordinary ``MoveInNotice`` (no ``correlationId``) at the former municipality:
    matches it to the move-outs on file and finalises them (R-9-1-04, R-MOVE-02 to
    R-MOVE-04)."""

    TABLE = RECEIPT_TABLE

    def __init__(self, register: Register, moves: MoveOutFile, *,
                 ids: IdSource = random_ids, profile: Profile = Profile.CURRENT) -> None:
        super().__init__()
        self.register = register
        self.moves = moves
        self.ids = ids
        self.profile = profile
        self.notice: MoveInNotice | None = None
        self.notice_id: bytes | None = None

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """The notice, or the same message id again."""
        return self._step(self.classify(inbound), now, inbound)

    def classify(self, inbound: Inbound) -> ReceiptInput:
        """The table input for ``inbound``."""
        msg = inbound.message
        if not isinstance(msg, MoveInNotice) or inbound.correlation_id is not None:
            raise ProtocolError("not an ordinary move-in notice",
                                code=ErrorCode.UNEXPECTED_MESSAGE)
        if self.notice_id is not None and inbound.message_id == self.notice_id:
            return ReceiptInput.NOTICE_REPLAY if msg == self.notice else ReceiptInput.CONFLICT
        return ReceiptInput.NOTICE

    def _act(self, action: ReceiptAction, now: dt.datetime, payload: object) -> list[Effect]:
        assert isinstance(payload, Inbound)
        if action is ReceiptAction.FINALISE:
            return self._finalise(payload)
        return [acknowledge(payload, self.ids, AckStatus.DUPLICATE)]   # ACK_DUPLICATE

    def _finalise(self, inbound: Inbound) -> list[Effect]:
        msg = inbound.message
        assert isinstance(msg, MoveInNotice)
        if msg.former_municipality != self.register.local_gov_code:
            raise ProtocolError("the notice is for another municipality",
                                code=ErrorCode.WRONG_RECIPIENT)
        if msg.new_municipality != inbound.sender:          # R-PDU-21
            raise ValidationError("new_municipality is not the header sender",
                                  field="new_municipality")
        changes = []
        for i, person in enumerate(msg.residents):          # R-MOVE-02, R-MOVE-03
            rec = self.register.get(person.resident_code)   # 5001 NO_SUCH_RESIDENT
            if (rec.name, rec.birth_date) != (person.name, person.birth_date):
                raise BusinessError(f"residents[{i}] does not match the record",
                                    code=ErrorCode.NO_SUCH_RESIDENT)
            if rec.status == "deceased":
                raise BusinessError(f"residents[{i}]: the record was erased on death",
                                    code=ErrorCode.RECORD_DECEASED)
            if person.resident_code in self.moves.finalised:
                raise ProtocolError(f"residents[{i}]: the move-out is already final",
                                    code=ErrorCode.UNEXPECTED_MESSAGE)
            if rec.status == "current":
                if person.resident_code not in self.moves.on_file:
                    raise ProtocolError(f"residents[{i}] has no move-out on file",
                                        code=ErrorCode.UNEXPECTED_MESSAGE)
                changes.append(IdentityChange(                # R-9-1-04
                    operation=UpdateOperation.ERASE,
                    identity_info=rec.identity_info(self.profile),
                    change_info=ChangeInfo(change_reason=ChangeReason.MOVE_OUT,
                                           change_date=msg.moved_date)))
        # Commit: nothing above changed any data.
        for change in changes:
            self.register.set_status(change.identity_info.resident_code, "moved_out")
        for person in msg.residents:
            self.moves.on_file.pop(person.resident_code, None)
            self.moves.finalised[person.resident_code] = inbound.message_id
        self.notice, self.notice_id = msg, inbound.message_id
        return [acknowledge(inbound, self.ids, AckStatus.ACCEPTED),
                Event(name="move_out_finalised", data=tuple(changes))]


# New municipality --------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class OrdinaryMoveIn:
    """A move-in filed with a paper move-out certificate (転入届, Art. 22).

    residents: the new records, as the new municipality writes them from the certificate
    (1 to 20, distinct codes): the same resident codes, one new address in the new
    municipality, one ``resident_since`` (the day they moved in) and one
    ``previous_address`` in the former municipality.
    """

    residents: tuple[ResidentRecord, ...]

    def __post_init__(self) -> None:
        people = self.residents
        if not 1 <= len(people) <= 20 or \
                len({p.resident_code for p in people}) != len(people):
            raise ValidationError("must list 1 to 20 distinct persons", field="residents")
        first = people[0]
        if first.previous_address is None:
            raise ValidationError("a move-in needs the previous address",
                                  field="residents[0].previous_address")
        for i, p in enumerate(people):
            if (p.address, p.resident_since, p.previous_address) != (
                    first.address, first.resident_since, first.previous_address):
                raise ValidationError("the residents move in together: one address, one "
                                      "day, one former municipality", field=f"residents[{i}]")

    @property
    def former_municipality(self) -> str:
        """The municipality that issued the move-out certificate."""
        previous = self.residents[0].previous_address
        assert previous is not None
        return previous.local_gov_code

    @property
    def new_address(self) -> Address:
        return self.residents[0].address

    @property
    def moved_date(self) -> dt.date:
        """転入をした年月日."""
        return self.residents[0].resident_since


class NotifierState(Enum):
    """States of one ordinary move-in at the new municipality."""

    NEW = "new"
    NOTIFIED = "notified"
    DONE = "done"
    FAILED = "failed"


class NotifierInput(Enum):
    """Inputs of the move-in notifier."""

    RECORD = "record"        # the move-in is recorded (local)
    ACK = "ack"              # the MoveInNotice acknowledged
    ERROR = "error"          # the MoveInNotice refused
    RETRY_DUE = "retry_due"  # the retry timer fired


class NotifierAction(Enum):
    """Side effects of the move-in notifier."""

    RECORD_AND_NOTIFY = "record_and_notify"
    RESEND = "resend"
    CLOSE = "close"
    REPORT_FAILURE = "report_failure"


_NS, _NI, _NA = NotifierState, NotifierInput, NotifierAction
NOTIFIER_TABLE: Table[NotifierState, NotifierInput, NotifierAction] = Table(
    name="ordinary-move-new",
    title="Ordinary move: new municipality (Art. 9(1))",
    states=NotifierState, inputs=NotifierInput, initial=_NS.NEW,
    rows={
        (_NS.NEW, _NI.RECORD): (_NA.RECORD_AND_NOTIFY, _NS.NOTIFIED),
        (_NS.NOTIFIED, _NI.RETRY_DUE): (_NA.RESEND, _NS.NOTIFIED),
        (_NS.NOTIFIED, _NI.ACK): (_NA.CLOSE, _NS.DONE),
        (_NS.NOTIFIED, _NI.ERROR): (_NA.REPORT_FAILURE, _NS.FAILED),
        (_NS.DONE, _NI.ACK): (None, _NS.DONE),
    },
    errors={_NI.ACK: ErrorCode.UNKNOWN_CORRELATION,
            _NI.ERROR: ErrorCode.UNKNOWN_CORRELATION},
)


@register
class MoveInNotifier(Machine[NotifierState, NotifierInput, NotifierAction]):
    """One ordinary move-in at the new municipality: record, then notify (R-9-1-01).

    register: the new municipality's register, into which the residents are recorded.
    """

    TABLE = NOTIFIER_TABLE

    def __init__(self, register: Register, *, ids: IdSource = random_ids,
                 profile: Profile = Profile.CURRENT) -> None:
        super().__init__()
        self.register = register
        self.municipality = register.local_gov_code
        self.ids = ids
        self.profile = profile
        self.move_in: OrdinaryMoveIn | None = None
        self.notice: Send | None = None
        self.outcome: int | None = None

    def record(self, move_in: OrdinaryMoveIn, now: dt.datetime) -> list[Effect]:
        """Record the residents of ``move_in`` and notify the former municipality."""
        return self._step(NotifierInput.RECORD, now, move_in)

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """The answer to the ``MoveInNotice``."""
        msg = inbound.message
        if not isinstance(msg, (Acknowledgement, ErrorReport)) or self.notice is None or \
                answered_id(msg) != self.notice.message_id:
            raise ProtocolError("the message refers to no notice of ours",
                                code=ErrorCode.UNKNOWN_CORRELATION)
        inp = NotifierInput.ACK if isinstance(msg, Acknowledgement) else NotifierInput.ERROR
        return self._step(inp, now, inbound)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """The ``retry`` timer fired: resend the notice."""
        return self._fire(NotifierInput.RETRY_DUE, name, now)

    def _act(self, action: NotifierAction, now: dt.datetime, payload: object) -> list[Effect]:
        A = NotifierAction
        if action is A.RECORD_AND_NOTIFY:
            assert isinstance(payload, OrdinaryMoveIn)
            return self._record(payload, now)
        if action is A.RESEND:
            assert self.notice is not None
            return [self.notice, ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))]
        if action is A.CLOSE:
            return [CancelTimer(name=RETRY), Event(name="move_in_notified")]
        assert isinstance(payload, Inbound) and isinstance(payload.message, ErrorReport)
        code = payload.message.error_code                   # REPORT_FAILURE
        self.outcome = code
        return [CancelTimer(name=RETRY), Event(
            name="failed", code=ErrorCode(code) if code in ErrorCode._value2member_map_
            else ErrorCode.INTERNAL_ERROR)]

    def _record(self, move_in: OrdinaryMoveIn, now: dt.datetime) -> list[Effect]:
        if move_in.new_address.local_gov_code != self.municipality:
            raise ValidationError("the new address is not in this municipality",
                                  field="residents[0].address")
        for i, p in enumerate(move_in.residents):
            held = self.register.records.get(p.resident_code)
            if held is not None and held.status == "current":
                raise ValidationError("the resident code is held by a current record",
                                      field=f"residents[{i}].resident_code")
            if p.status != "current":
                raise ValidationError("a new record is current", field=f"residents[{i}]")
        notice = MoveInNotice(
            new_municipality=self.municipality,
            former_municipality=move_in.former_municipality,
            residents=tuple(p.person_ref() for p in move_in.residents),
            moved_date=move_in.moved_date,
            recorded_date=max(now.date(), move_in.moved_date),
            new_address=move_in.new_address)
        changes = tuple(IdentityChange(
            operation=UpdateOperation.RECORD, identity_info=p.identity_info(self.profile),
            change_info=ChangeInfo(change_reason=ChangeReason.MOVE_IN,
                                   change_date=move_in.moved_date))
            for p in move_in.residents)
        # Commit: nothing above changed any data.
        for p in move_in.residents:
            self.register.add(p)
        self.move_in = move_in
        self.notice = Send(recipient=notice.former_municipality, message=notice,
                           message_id=self.ids())                 # R-MOVE-01: no correlation
        return [Event(name="residents_recorded", data=changes), self.notice,
                ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))]


__all__ = [
    "NOTIFIER_TABLE", "RECEIPT_TABLE", "RETRY", "RETRY_AFTER", "IdentityChange",
    "MoveInNoticeReceiver", "MoveInNotifier", "MoveOutFile", "NotifierAction",
    "NotifierInput", "NotifierState", "OrdinaryMoveIn", "OrdinaryMoveOut", "ReceiptAction",
    "ReceiptInput", "ReceiptState", "acknowledge", "report_identity_changes",
]
