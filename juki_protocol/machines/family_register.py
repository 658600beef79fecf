"""The notice of family register entries between municipalities (Art. 9(2)).

Theory of operation
-------------------
When the municipality that keeps a person's family register (本籍地) accepts a
notification concerning it or makes an entry ex officio, and the person lives in
another municipality, it tells that municipality (住所地) what to record, erase or
change in the resident record, without delay (spec/family_register.md):

* :class:`FamilyRegisterNotifier` (the municipality of the family register) sends one
  ``FamilyRegisterNotice`` (R-9-2-01) and resends it under the same message id, with
  the same content, whenever the retry timer fires, until it is acknowledged or
  refused (R-9-2-09). A refusal that only says "not now" (9001, 9002, 9003: the
  receiver stored nothing) leaves the notice to the next resend; any other refusal
  ends the flow with an :class:`~juki_protocol.machines.common.Event` ``failed`` for
  the operator, who finds the person's address in the family register's supplement
  (戸籍の附票) outside this protocol.
* :class:`FamilyRegisterReceiver` (the residence municipality) takes one notice. It
  checks the whole notice against its register before changing anything (R-9-2-03 to
  R-9-2-05, R-9-2-07): the recipient and sender, the person (resident code, name and
  birth date of a current record that has a family register, never a foreign
  resident's) or, for a birth, the household and that the child is not recorded yet.
  Then it records the child, erases the record of a death or changes the items the
  notice gives, and returns an acknowledgement with an :class:`Event`
  ``family_register_applied`` carrying one :class:`~juki_protocol.machines.move_in.
  IdentityChange` for each change of identity info that Art. 30-5 reports (record and
  ``birth``, erase and ``death``, or correct with :data:`CHANGE_REASONS`); a change of
  the relationship or the family register alone carries none (R-9-2-06). The same
  notice again is acknowledged ``duplicate`` and changes nothing; its message id with
  other content is 2021 REPLAY (R-9-2-08).

The receiver's register is shared with the municipality's other machines, as the
former municipality's desk shares it (:mod:`juki_protocol.machines.special_move`); the
node layer stores the changed records, the updates and the acknowledgement in one
transaction (R-PDU-22).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Collection
from enum import Enum

from juki_protocol.errors import BusinessError, ErrorCode, ProtocolError, ValidationError
from juki_protocol.identifiers import new_individual_number, new_resident_code
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
from juki_protocol.machines.identity import TRANSIENT_CODES
from juki_protocol.machines.move_in import RETRY, RETRY_AFTER, IdentityChange, acknowledge
from juki_protocol.machines.stores import Register
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.family_register import FamilyRegisterEvent, FamilyRegisterNotice
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.record import ResidentRecord

#: The change reason of an update (Art. 30-5) that reports a changed name, birth date
#: or sex (operation ``correct``), by the notice's event (R-9-2-06).
CHANGE_REASONS: dict[FamilyRegisterEvent, ChangeReason] = {
    FamilyRegisterEvent.MARRIAGE: ChangeReason.NAME_CHANGE,
    FamilyRegisterEvent.DIVORCE: ChangeReason.NAME_CHANGE,
    FamilyRegisterEvent.ADOPTION: ChangeReason.NAME_CHANGE,
    FamilyRegisterEvent.ADOPTION_DISSOLUTION: ChangeReason.NAME_CHANGE,
    FamilyRegisterEvent.NAME_CHANGE: ChangeReason.NAME_CHANGE,
    FamilyRegisterEvent.SEX_CHANGE: ChangeReason.SEX_CHANGE,
    FamilyRegisterEvent.CORRECTION: ChangeReason.CORRECTION,
}
#: The items of identity info that a family register entry can change (Art. 30-5).
IDENTITY_ITEMS = ("name", "birth_date", "sex")
APPLIED = "family_register_applied"


def current_record(register: Register, resident_code: str, what: str) -> ResidentRecord:
    """The current record of ``resident_code``: 5001 if none, 5002 or 5003 if erased."""
    rec = register.get(resident_code)                     # 5001 NO_SUCH_RESIDENT
    if rec.status == "deceased":
        raise BusinessError(f"{what}: the record was erased on death",
                            code=ErrorCode.RECORD_DECEASED)
    if rec.status != "current":
        raise BusinessError(f"{what}: the record was erased on a move-out",
                            code=ErrorCode.RECORD_MOVED_OUT)
    return rec


# The residence municipality ------------------------------------------------------------

class ReceiptState(Enum):
    """States of one notice at the residence municipality."""

    NEW = "new"
    APPLIED = "applied"


class ReceiptInput(Enum):
    """Inputs of a notice receiver."""

    NOTICE = "notice"                  # the FamilyRegisterNotice
    NOTICE_REPLAY = "notice_replay"    # the accepted notice again (same id and content)
    CONFLICT = "conflict"              # its message id with other content


class ReceiptAction(Enum):
    """Side effects of a notice receiver."""

    APPLY = "apply"
    ACK_DUPLICATE = "ack_duplicate"


_RS, _RI, _RA = ReceiptState, ReceiptInput, ReceiptAction
RECEIPT_TABLE: Table[ReceiptState, ReceiptInput, ReceiptAction] = Table(
    name="family-register-residence",
    title="Family register notice: residence municipality (Art. 9(2))",
    states=ReceiptState, inputs=ReceiptInput, initial=_RS.NEW,
    rows={
        (_RS.NEW, _RI.NOTICE): (_RA.APPLY, _RS.APPLIED),
        (_RS.APPLIED, _RI.NOTICE_REPLAY): (_RA.ACK_DUPLICATE, _RS.APPLIED),
    },
    errors={_RI.CONFLICT: ErrorCode.REPLAY},
)


@register
class FamilyRegisterReceiver(Machine[ReceiptState, ReceiptInput, ReceiptAction]):
    """One ``FamilyRegisterNotice`` at the residence municipality (R-9-2-03 to
    R-9-2-08).

    register: the municipality's register, which the notice changes; retired: the
    resident codes retired by code changes, never given to a newborn (R-ID-03); rng:
    where a newborn's resident code and individual number come from (default: the
    operating system's random source, R-ID-02).
    """

    TABLE = RECEIPT_TABLE

    def __init__(self, register: Register, *, retired: Collection[str] = (),
                 ids: IdSource = random_ids, profile: Profile = Profile.CURRENT,
                 rng: random.Random | None = None) -> None:
        super().__init__()
        self.register = register
        self.retired = retired
        self.ids = ids
        self.profile = profile
        self.rng = rng if rng is not None else random.SystemRandom()
        self.notice: FamilyRegisterNotice | None = None
        self.notice_id: bytes | None = None
        #: The resident code the notice recorded, changed or erased.
        self.resident_code: str | None = None

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """The notice, or the same message id again."""
        return self._step(self.classify(inbound), now, inbound)

    def classify(self, inbound: Inbound) -> ReceiptInput:
        """The table input for ``inbound``."""
        msg = inbound.message
        if not isinstance(msg, FamilyRegisterNotice):
            raise ProtocolError("not a family register notice",
                                code=ErrorCode.UNEXPECTED_MESSAGE)
        if self.notice_id is not None and inbound.message_id == self.notice_id:
            return ReceiptInput.NOTICE_REPLAY if msg == self.notice else ReceiptInput.CONFLICT
        return ReceiptInput.NOTICE

    def _act(self, action: ReceiptAction, now: dt.datetime, payload: object) -> list[Effect]:
        assert isinstance(payload, Inbound)
        if action is ReceiptAction.APPLY:
            return self._apply(payload)
        return [acknowledge(payload, self.ids, AckStatus.DUPLICATE)]   # ACK_DUPLICATE

    def _apply(self, inbound: Inbound) -> list[Effect]:
        msg = inbound.message
        assert isinstance(msg, FamilyRegisterNotice)
        if msg.residence_municipality != self.register.local_gov_code:   # R-9-2-03
            raise ProtocolError("the notice is for another municipality",
                                code=ErrorCode.WRONG_RECIPIENT)
        if msg.register_municipality != inbound.sender:                  # R-PDU-21
            raise ValidationError("register_municipality is not the header sender",
                                  field="register_municipality")
        new: ResidentRecord | None
        change: IdentityChange | None
        if msg.event is FamilyRegisterEvent.BIRTH:
            new, change = self._birth(msg)
        else:
            new, change = self._change(msg)
        # Commit: nothing above changed any data (R-9-2-07).
        if new is not None:
            self.register.add(new)
            self.resident_code = new.resident_code
        elif msg.person is not None:
            self.resident_code = msg.person.resident_code
        self.notice, self.notice_id = msg, inbound.message_id
        changes = () if change is None else (change,)
        return [acknowledge(inbound, self.ids, AckStatus.ACCEPTED),
                Event(name=APPLIED, data=changes)]

    def _birth(self, msg: FamilyRegisterNotice
               ) -> tuple[ResidentRecord, IdentityChange]:
        """The child's new record, in the household of ``msg.household`` (R-9-2-04)."""
        assert msg.household is not None
        member = current_record(self.register, msg.household, "household")
        items = msg.items
        assert items.name is not None and items.birth_date is not None
        assert items.sex is not None and items.relationship is not None
        for rec in self.register.records.values():
            if rec.household_id == member.household_id and rec.status == "current" and \
                    (rec.name, rec.birth_date) == (items.name, items.birth_date):
                raise BusinessError("the household already holds the child's record",
                                    code=ErrorCode.ALREADY_RECORDED)
        child = ResidentRecord(
            resident_code=self._new_code(), individual_number=self._new_number(),
            name=items.name, birth_date=items.birth_date, sex=items.sex,
            address=member.address, household_id=member.household_id,
            relationship=items.relationship, resident_since=items.birth_date,
            address_notification_date=msg.entry_date, previous_address=None,
            family_register=items.family_register)
        return child, IdentityChange(
            operation=UpdateOperation.RECORD, identity_info=child.identity_info(self.profile),
            change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                   change_date=msg.event_date))

    def _change(self, msg: FamilyRegisterNotice
                ) -> tuple[ResidentRecord | None, IdentityChange | None]:
        """The changed record of ``msg.person`` and its update, if any (R-9-2-04 to
        R-9-2-06)."""
        person = msg.person
        assert person is not None
        rec = self.register.get(person.resident_code)         # 5001 NO_SUCH_RESIDENT
        if (rec.name, rec.birth_date) != (person.name, person.birth_date):
            raise BusinessError("person does not match the record",
                                code=ErrorCode.NO_SUCH_RESIDENT)
        rec = current_record(self.register, person.resident_code, "person")
        if rec.family_register is None:                        # R-9-2-05, Art. 30-45
            raise BusinessError("the person is a foreign resident, whose record has no "
                                "family register",
                                code=ErrorCode.FOREIGN_RESIDENT_NO_FAMILY_REGISTER)
        when = msg.event_date
        if msg.event is FamilyRegisterEvent.DEATH:
            dead = dataclasses.replace(rec, status="deceased")
            return dead, IdentityChange(
                operation=UpdateOperation.ERASE, identity_info=rec.identity_info(self.profile),
                change_info=ChangeInfo(change_reason=ChangeReason.DEATH, change_date=when))
        given = {n: getattr(msg.items, n) for n in msg.items.given()}
        new = dataclasses.replace(rec, **given)
        if new == rec:
            return None, None          # the record already holds the items
        if all(getattr(new, n) == getattr(rec, n) for n in IDENTITY_ITEMS):
            return new, None           # relationship or family register only
        return new, IdentityChange(
            operation=UpdateOperation.CORRECT, identity_info=new.identity_info(self.profile),
            change_info=ChangeInfo(change_reason=CHANGE_REASONS[msg.event], change_date=when))

    def _new_code(self) -> str:
        """A random resident code held by no record and never retired (R-ID-02, 03)."""
        while True:
            code = new_resident_code(self.rng)
            if code not in self.register.records and code not in self.retired:
                return code

    def _new_number(self) -> str:
        """A random individual number held by no record of the register."""
        held = {r.individual_number for r in self.register.records.values()}
        while True:
            number = new_individual_number(self.rng)
            if number not in held:
                return number


# The municipality of the family register ---------------------------------------------

class NotifierState(Enum):
    """States of one notice at the municipality of the family register."""

    NEW = "new"
    NOTIFIED = "notified"
    DONE = "done"
    FAILED = "failed"


class NotifierInput(Enum):
    """Inputs of the notifier."""

    NOTIFY = "notify"        # the register entry was made (local)
    ACK = "ack"              # the notice acknowledged
    BUSY = "busy"            # refused with 9001, 9002 or 9003: resend at the retry
    ERROR = "error"          # refused with any other code
    RETRY_DUE = "retry_due"  # the retry timer fired


class NotifierAction(Enum):
    """Side effects of the notifier."""

    SEND = "send"
    RESEND = "resend"
    CLOSE = "close"
    REPORT_FAILURE = "report_failure"


_NS, _NI, _NA = NotifierState, NotifierInput, NotifierAction
NOTIFIER_TABLE: Table[NotifierState, NotifierInput, NotifierAction] = Table(
    name="family-register-register",
    title="Family register notice: municipality of the family register (Art. 9(2))",
    states=NotifierState, inputs=NotifierInput, initial=_NS.NEW,
    rows={
        (_NS.NEW, _NI.NOTIFY): (_NA.SEND, _NS.NOTIFIED),
        (_NS.NOTIFIED, _NI.RETRY_DUE): (_NA.RESEND, _NS.NOTIFIED),
        (_NS.NOTIFIED, _NI.BUSY): (None, _NS.NOTIFIED),
        (_NS.NOTIFIED, _NI.ACK): (_NA.CLOSE, _NS.DONE),
        (_NS.NOTIFIED, _NI.ERROR): (_NA.REPORT_FAILURE, _NS.FAILED),
        (_NS.DONE, _NI.ACK): (None, _NS.DONE),
    },
    errors={_NI.ACK: ErrorCode.UNKNOWN_CORRELATION,
            _NI.BUSY: ErrorCode.UNKNOWN_CORRELATION,
            _NI.ERROR: ErrorCode.UNKNOWN_CORRELATION},
)


@register
class FamilyRegisterNotifier(Machine[NotifierState, NotifierInput, NotifierAction]):
    """One notice from the municipality of the family register (R-9-2-01, R-9-2-09).

    municipality: the sending municipality's code, the notice's register municipality.
    """

    TABLE = NOTIFIER_TABLE

    def __init__(self, municipality: str, *, ids: IdSource = random_ids) -> None:
        super().__init__()
        self.municipality = municipality
        self.ids = ids
        self.notice: Send | None = None
        self.outcome: int | None = None

    def notify(self, notice: FamilyRegisterNotice, now: dt.datetime) -> list[Effect]:
        """Send ``notice`` to its residence municipality."""
        return self._step(NotifierInput.NOTIFY, now, notice)

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """The answer to the notice."""
        msg = inbound.message
        if not isinstance(msg, (Acknowledgement, ErrorReport)) or self.notice is None or \
                answered_id(msg) != self.notice.message_id:
            raise ProtocolError("the message refers to no notice of ours",
                                code=ErrorCode.UNKNOWN_CORRELATION)
        if isinstance(msg, Acknowledgement):
            inp = NotifierInput.ACK
        elif msg.error_code in TRANSIENT_CODES:
            inp = NotifierInput.BUSY
        else:
            inp = NotifierInput.ERROR
        return self._step(inp, now, inbound)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """The ``retry`` timer fired: resend the notice."""
        return self._fire(NotifierInput.RETRY_DUE, name, now)

    def _act(self, action: NotifierAction, now: dt.datetime, payload: object) -> list[Effect]:
        A = NotifierAction
        retry = ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))
        if action is A.SEND:
            assert isinstance(payload, FamilyRegisterNotice)
            if payload.register_municipality != self.municipality:
                raise ValidationError("the notice's register municipality is not this "
                                      "municipality", field="register_municipality")
            self.notice = Send(recipient=payload.residence_municipality, message=payload,
                               message_id=self.ids())
            return [self.notice, retry]
        if action is A.RESEND:
            assert self.notice is not None
            return [self.notice, retry]
        if action is A.CLOSE:
            return [CancelTimer(name=RETRY), Event(name="family_register_notified")]
        assert isinstance(payload, Inbound) and isinstance(payload.message, ErrorReport)
        code = payload.message.error_code                   # REPORT_FAILURE
        self.outcome = code
        return [CancelTimer(name=RETRY), Event(
            name="failed", code=ErrorCode(code) if code in ErrorCode._value2member_map_
            else ErrorCode.INTERNAL_ERROR)]


__all__ = ["APPLIED", "CHANGE_REASONS", "IDENTITY_ITEMS", "NOTIFIER_TABLE",
           "RECEIPT_TABLE", "FamilyRegisterNotifier", "FamilyRegisterReceiver",
           "NotifierAction", "NotifierInput", "NotifierState", "ReceiptAction",
           "ReceiptInput", "ReceiptState", "current_record"]
