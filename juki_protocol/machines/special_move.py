"""Special move-out and move-in (転入転出の特例), Arts. 24-2 and 9.

Theory of operation
-------------------
Two machines per special move, one at each municipality (spec/special_move.md):

* :class:`MoveOutPlan` (former municipality) is opened by a local event: the annotated
  move-out notice (付記転出届) received by post, reported as an :class:`AnnotatedMoveOut`.
  It records a planned move-out for the persons it names (the card holder and the
  household members moving with them) and arms an expiry timer: a plan that no
  ``SpecialMoveInNotice`` completes within :data:`PLAN_VALIDITY` of its planned move date
  expires. Until the certificate is sent the resident may withdraw it (cancellation).
  A ``SpecialMoveInNotice`` (Art. 24-2(3)) is refused with 5001 NO_SUCH_RESIDENT for a
  mover without a record, 4001 UNEXPECTED_MESSAGE for a mover with a record but no
  annotated move-out on file (R-24-2-3-03), 1024 INVALID_FIELD when it does not list
  every person of the annotated move-out (R-24-2-1-03), and 5020 DEADLINE_PASSED when
  the move-in was filed more than :data:`MOVE_IN_DAYS` days after the move
  (R-24-2-1-02); otherwise it is acknowledged and answered with the
  ``MoveOutCertificate`` (Art. 24-2(4), R-24-2-4-01), resent until acknowledged. The
  ``MoveInNotice`` (Art. 9(1)) of the same flow finalises the move-out: the records are
  erased and an :class:`Event` ``move_out_finalised`` carries one
  :class:`IdentityChange` per erased record (operation ``erase``, reason ``moveOut``),
  which the caller hands to its :class:`~juki_protocol.machines.identity.IdentityUpdater`
  with :func:`report_identity_changes` (R-9-1-04, Art. 30-5).
* :class:`~juki_protocol.machines.special_move_in.SpecialMoveInCounter` (new
  municipality, in :mod:`juki_protocol.machines.special_move_in`) is the counter: the card identity
  check (R-24-2-1-01: an activated card only; a locked, suspended or inactive card
  ends the move-in with its 4010/4011/4012), the move-in filed with the card (checked
  against the 14-day deadline before anything is sent), the ``SpecialMoveInNotice``
  (resent until acknowledged, with a deadline for the certificate, 4005
  FLOW_TIMED_OUT), the certificate checked against the notice (R-24-2-4-01), the
  residents recorded (an :class:`Event` ``residents_recorded`` carries the
  ``record``/``moveIn`` identity changes) and the ``MoveInNotice`` sent without delay
  (R-9-1-01), resent until acknowledged.

:class:`MoveOutDesk` is the former municipality's dispatcher: it keeps the plans, routes
each received message to the plan it belongs to and fires due timers. It also keeps the
ordinary move-outs filed at the counter (:meth:`MoveOutDesk.record_move_out`) and hands
a ``MoveInNotice`` without a ``correlationId`` (an ordinary move's, Art. 9(1)) to a
:class:`~juki_protocol.machines.move_in.MoveInNoticeReceiver`
(:mod:`juki_protocol.machines.move_in`, R-MOVE-02). Every message of
the flow is acknowledged; a replay with the same message id and content is acknowledged
as ``duplicate`` and changes nothing, and the same id with other content is 2021 REPLAY
(R-PDU-24). Prefecture and national nodes never see these messages: their receivers
refuse them with 3003 ROLE_NOT_ALLOWED (:mod:`juki_protocol.machines.identity`,
R-24-2-4-03).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from juki_protocol.machines.move_in import (
    RETRY,
    RETRY_AFTER,
    IdentityChange,
    MoveInNoticeReceiver,
    MoveOutFile,
    OrdinaryMoveOut,
    acknowledge,
    report_identity_changes,
)
from juki_protocol.machines.stores import Register
from juki_protocol.messages.common import Address, ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.special_move import (
    InsuranceStatus,
    MoveInNotice,
    MoveOutCertificate,
    MoveOutCertificateEntry,
    PensionCategory,
    PensionStatus,
    SpecialMoveInNotice,
)
from juki_protocol.messages.wide_area import IdentityCheckMethod

#: R-24-2-1-02 (Art. 22(1), spec/deadlines.md): a move-in is filed within 14 days of
#: the move.
MOVE_IN_DAYS = 14
#: R-24-2-1-04 (spec/deadlines.md): an annotated move-out stays on file for 30 days
#: after its planned move date, then expires.
PLAN_VALIDITY = dt.timedelta(days=30)
#: R-TIME-01 (spec/deadlines.md): how long the new municipality waits for the
#: certificate before it ends the flow (4005 FLOW_TIMED_OUT).
CERTIFICATE_DEADLINE = dt.timedelta(hours=1)
DEADLINE, EXPIRY = "deadline", "expiry"

#: R-24-2-1-01: the identity check methods that present a card.
CARD_METHODS = frozenset({IdentityCheckMethod.RESIDENT_CARD_WITH_PIN,
                          IdentityCheckMethod.RESIDENT_CARD_WITH_PHOTO,
                          IdentityCheckMethod.INDIVIDUAL_NUMBER_CARD})


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnotatedMoveOut:
    """The annotated move-out notice (付記転出届, Art. 24-2(1)), received by post.

    movers: resident codes of the card holder and the household members moving with
    them (1 to 20, distinct); destination: the planned new address (転出先), in another
    municipality; planned_move_date: 転出の予定年月日.
    """

    movers: tuple[str, ...]
    destination: Address
    planned_move_date: dt.date

    def __post_init__(self) -> None:
        if not 1 <= len(self.movers) <= 20 or len(set(self.movers)) != len(self.movers):
            raise ValidationError("must list 1 to 20 distinct persons", field="movers")
        for i, code in enumerate(self.movers):
            validate_resident_code(code, f"movers[{i}]")


@dataclass(frozen=True, slots=True, kw_only=True)
class WelfareStatus:
    """The insurance, pension and allowance items of a record (Art. 7(10)-(11)) that the
    move-out certificate carries (Art. 24-2(4))."""

    national_health_insurance: InsuranceStatus = field(
        default_factory=lambda: InsuranceStatus(insured=False))
    long_term_care_insurance: InsuranceStatus = field(
        default_factory=lambda: InsuranceStatus(insured=False))
    national_pension: PensionStatus = field(
        default_factory=lambda: PensionStatus(category=PensionCategory.NONE))
    child_allowance: bool = False


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def check_deadline(notice: SpecialMoveInNotice) -> None:
    """R-24-2-1-02: the move-in was filed within :data:`MOVE_IN_DAYS` of the move."""
    if (notice.move_in_filed_date - notice.moved_date).days > MOVE_IN_DAYS:
        raise BusinessError("the move-in was filed more than 14 days after the move",
                            code=ErrorCode.DEADLINE_PASSED)


def build_certificate(register: Register, notice: SpecialMoveInNotice,
                      planned_move_date: dt.date, *, profile: Profile = Profile.CURRENT,
                      welfare: Mapping[str, WelfareStatus] | None = None
                      ) -> MoveOutCertificate:
    """The move-out certificate data for ``notice``, one entry per mover in the
    notice's order (Art. 24-2(4), R-24-2-4-01)."""
    welfare = welfare or {}
    entries = []
    for mover in notice.movers:
        rec = register.get(mover.resident_code)
        w = welfare.get(rec.resident_code, WelfareStatus())
        entries.append(MoveOutCertificateEntry(
            name=rec.name, birth_date=rec.birth_date, sex=rec.sex,
            relationship=rec.relationship, family_register=rec.family_register,
            address=rec.address, destination=notice.new_address,
            planned_move_date=planned_move_date, resident_code=rec.resident_code,
            national_health_insurance=w.national_health_insurance,
            long_term_care_insurance=w.long_term_care_insurance,
            national_pension=w.national_pension, child_allowance=w.child_allowance,
            individual_number=rec.individual_number if profile is Profile.CURRENT
            else None,
            # R-30-45-0-01: a foreign resident's entry carries the items of Art. 30-45.
            foreign_resident=rec.foreign_resident))
    return MoveOutCertificate(former_municipality=notice.former_municipality,
                              new_municipality=notice.new_municipality,
                              entries=tuple(entries))


# Former municipality -----------------------------------------------------------------

class MoveOutState(Enum):
    """States of one annotated move-out at the former municipality."""

    NEW = "new"
    PLANNED = "planned"
    CERTIFIED = "certified"
    CONFIRMED = "confirmed"
    FINALISED = "finalised"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"


class MoveOutInput(Enum):
    """Inputs of a move-out plan."""

    ANNOTATED = "annotated"            # the annotated move-out arrived (local)
    CANCEL = "cancel"                  # the resident withdraws it (local)
    EXPIRY_DUE = "expiry_due"          # the plan's expiry timer fired
    NOTICE = "notice"                  # a SpecialMoveInNotice
    NOTICE_REPLAY = "notice_replay"    # the accepted notice again
    CONFLICT = "conflict"              # a known message id with other content
    CERT_ACK = "cert_ack"              # the certificate acknowledged
    CERT_ERROR = "cert_error"          # the certificate refused
    RETRY_DUE = "retry_due"            # the certificate's retry timer fired
    MOVE_IN = "move_in"                # the MoveInNotice of the flow
    MOVE_IN_REPLAY = "move_in_replay"  # the accepted MoveInNotice again


class MoveOutAction(Enum):
    """Side effects of a move-out plan."""

    RECORD_PLAN = "record_plan"
    WITHDRAW = "withdraw"
    EXPIRE = "expire"
    CERTIFY = "certify"
    ACK_DUPLICATE = "ack_duplicate"
    STOP_RETRY = "stop_retry"
    REPORT_FAILURE = "report_failure"
    RESEND = "resend"
    FINALISE = "finalise"


_OS, _OI, _OA = MoveOutState, MoveOutInput, MoveOutAction
MOVE_OUT_TABLE: Table[MoveOutState, MoveOutInput, MoveOutAction] = Table(
    name="special-move-former",
    title="Special move: former municipality (Arts. 24-2(4), 9(1))",
    states=MoveOutState, inputs=MoveOutInput, initial=_OS.NEW,
    rows={
        (_OS.NEW, _OI.ANNOTATED): (_OA.RECORD_PLAN, _OS.PLANNED),
        (_OS.PLANNED, _OI.CANCEL): (_OA.WITHDRAW, _OS.CANCELLED),
        (_OS.PLANNED, _OI.EXPIRY_DUE): (_OA.EXPIRE, _OS.EXPIRED),
        (_OS.PLANNED, _OI.NOTICE): (_OA.CERTIFY, _OS.CERTIFIED),
        (_OS.CERTIFIED, _OI.NOTICE_REPLAY): (_OA.ACK_DUPLICATE, _OS.CERTIFIED),
        (_OS.CERTIFIED, _OI.CERT_ACK): (_OA.STOP_RETRY, _OS.CONFIRMED),
        (_OS.CERTIFIED, _OI.CERT_ERROR): (_OA.REPORT_FAILURE, _OS.FAILED),
        (_OS.CERTIFIED, _OI.RETRY_DUE): (_OA.RESEND, _OS.CERTIFIED),
        (_OS.CERTIFIED, _OI.MOVE_IN): (_OA.FINALISE, _OS.FINALISED),
        (_OS.CONFIRMED, _OI.NOTICE_REPLAY): (_OA.ACK_DUPLICATE, _OS.CONFIRMED),
        (_OS.CONFIRMED, _OI.CERT_ACK): (None, _OS.CONFIRMED),
        (_OS.CONFIRMED, _OI.MOVE_IN): (_OA.FINALISE, _OS.FINALISED),
        (_OS.FINALISED, _OI.NOTICE_REPLAY): (_OA.ACK_DUPLICATE, _OS.FINALISED),
        (_OS.FINALISED, _OI.MOVE_IN_REPLAY): (_OA.ACK_DUPLICATE, _OS.FINALISED),
        (_OS.FINALISED, _OI.CERT_ACK): (None, _OS.FINALISED),
    },
    errors={_OS.CANCELLED: ErrorCode.FLOW_CANCELLED,
            _OS.EXPIRED: ErrorCode.FLOW_TIMED_OUT,
            (_OS.FINALISED, _OI.MOVE_IN): ErrorCode.UNEXPECTED_MESSAGE,
            _OI.CONFLICT: ErrorCode.REPLAY,
            _OI.CERT_ACK: ErrorCode.UNKNOWN_CORRELATION,
            _OI.CERT_ERROR: ErrorCode.UNKNOWN_CORRELATION,
            _OI.MOVE_IN: ErrorCode.UNKNOWN_CORRELATION},
)


@register
class MoveOutPlan(Machine[MoveOutState, MoveOutInput, MoveOutAction]):
    """One annotated move-out at the former municipality, until the move-out is final."""

    TABLE = MOVE_OUT_TABLE

    def __init__(self, register: Register, *, ids: IdSource = random_ids,
                 profile: Profile = Profile.CURRENT,
                 welfare: Mapping[str, WelfareStatus] | None = None,
                 plan_validity: dt.timedelta = PLAN_VALIDITY) -> None:
        super().__init__()
        self.register = register
        self.municipality = register.local_gov_code
        self.ids = ids
        self.profile = profile
        self.welfare = dict(welfare or {})
        self.plan_validity = plan_validity
        self.plan: AnnotatedMoveOut | None = None
        self.notice: SpecialMoveInNotice | None = None
        self.notice_id: bytes | None = None
        self.certificate: Send | None = None
        self.move_in: MoveInNotice | None = None
        self.move_in_id: bytes | None = None

    @property
    def movers(self) -> tuple[str, ...]:
        """The resident codes named on the annotated move-out."""
        return self.plan.movers if self.plan is not None else ()

    def annotated_move_out(self, notice: AnnotatedMoveOut, now: dt.datetime) -> list[Effect]:
        """The annotated move-out notice arrived by post (Art. 24-2(1))."""
        return self._step(MoveOutInput.ANNOTATED, now, notice)

    def cancel(self, now: dt.datetime) -> list[Effect]:
        """The resident withdraws the annotated move-out (before the certificate)."""
        return self._step(MoveOutInput.CANCEL, now)

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """A notice, a MoveInNotice, or the answer to the certificate."""
        return self._step(self.classify(inbound), now, inbound)

    def classify(self, inbound: Inbound) -> MoveOutInput:
        """The table input for ``inbound``; 4002 for an answer to nothing of ours."""
        msg = inbound.message
        if isinstance(msg, SpecialMoveInNotice):
            if self.notice_id is not None and inbound.message_id == self.notice_id:
                return (MoveOutInput.NOTICE_REPLAY if msg == self.notice
                        else MoveOutInput.CONFLICT)
            return MoveOutInput.NOTICE
        if isinstance(msg, (Acknowledgement, ErrorReport)):
            ref = answered_id(msg)
            if self.certificate is None or ref != self.certificate.message_id:
                raise ProtocolError("the answer refers to no certificate of ours",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
            return (MoveOutInput.CERT_ACK if isinstance(msg, Acknowledgement)
                    else MoveOutInput.CERT_ERROR)
        if isinstance(msg, MoveInNotice):
            # R-9-1-03: the correlation id is the message id of the flow's notice.
            if self.notice_id is None or inbound.correlation_id != self.notice_id:
                raise ProtocolError("the move-in notice refers to no open flow",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
            if inbound.message_id == self.move_in_id:
                return (MoveOutInput.MOVE_IN_REPLAY if msg == self.move_in
                        else MoveOutInput.CONFLICT)
            return MoveOutInput.MOVE_IN
        raise ProtocolError(f"{type(msg).__name__} is not part of a special move",
                            code=ErrorCode.UNEXPECTED_MESSAGE)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """A timer fired: ``expiry`` ends the plan, ``retry`` resends the certificate."""
        inp = MoveOutInput.EXPIRY_DUE if name == EXPIRY else MoveOutInput.RETRY_DUE
        return self._fire(inp, name, now)

    # Actions ---------------------------------------------------------------------------

    def _record_plan(self, plan: AnnotatedMoveOut, now: dt.datetime) -> list[Effect]:
        if plan.destination.local_gov_code == self.municipality:
            raise ValidationError("the destination must lie in another municipality",
                                  field="destination.local_gov_code")
        for code in plan.movers:
            rec = self.register.get(code)                   # 5001 NO_SUCH_RESIDENT
            if rec.status != "current":
                raise BusinessError("the record is already erased", code=(
                    ErrorCode.RECORD_MOVED_OUT if rec.status == "moved_out"
                    else ErrorCode.RECORD_DECEASED))
        expiry = _midnight(plan.planned_move_date) + self.plan_validity
        if expiry <= now:
            raise BusinessError("the planned move date is too far in the past",
                                code=ErrorCode.DEADLINE_PASSED)
        self.plan = plan
        return [ArmTimer(timer=Timer(name=EXPIRY, deadline=expiry)),
                Event(name="move_out_planned", data=len(plan.movers))]

    def _certify(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        notice = inbound.message
        assert isinstance(notice, SpecialMoveInNotice) and self.plan is not None
        if notice.former_municipality != self.municipality:
            raise ProtocolError("the notice is for another municipality",
                                code=ErrorCode.WRONG_RECIPIENT)
        if notice.new_municipality != inbound.sender:       # R-PDU-21
            raise ValidationError("new_municipality is not the header sender",
                                  field="new_municipality")
        for i, mover in enumerate(notice.movers):           # R-24-2-3-03
            rec = self.register.get(mover.resident_code)
            if (rec.name, rec.birth_date) != (mover.name, mover.birth_date):
                raise BusinessError(f"movers[{i}] does not match the record",
                                    code=ErrorCode.NO_SUCH_RESIDENT)
            if mover.resident_code not in self.plan.movers:
                raise ProtocolError(f"movers[{i}] has no annotated move-out on file",
                                    code=ErrorCode.UNEXPECTED_MESSAGE)
        if {m.resident_code for m in notice.movers} != set(self.plan.movers):
            raise ValidationError("R-24-2-1-03: every person of the annotated move-out "
                                  "moves in the same notice", field="movers")
        check_deadline(notice)                              # R-24-2-1-02
        cert = build_certificate(self.register, notice, self.plan.planned_move_date,
                                 profile=self.profile, welfare=self.welfare)
        self.notice, self.notice_id = notice, inbound.message_id
        self.certificate = Send(recipient=inbound.sender, message=cert,
                                message_id=self.ids(), correlation_id=inbound.message_id)
        return [CancelTimer(name=EXPIRY), acknowledge(inbound, self.ids, AckStatus.ACCEPTED),
                self.certificate,
                ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER)),
                Event(name="certificate_sent", data=len(cert.entries))]

    def _finalise(self, inbound: Inbound) -> list[Effect]:
        msg = inbound.message
        assert isinstance(msg, MoveInNotice) and self.certificate is not None
        assert self.notice is not None
        if msg.former_municipality != self.municipality:
            raise ProtocolError("the notice is for another municipality",
                                code=ErrorCode.WRONG_RECIPIENT)
        if msg.new_municipality != inbound.sender or \
                msg.new_municipality != self.notice.new_municipality:
            raise ValidationError("new_municipality is not the flow's new municipality",
                                  field="new_municipality")
        cert = self.certificate.message
        assert isinstance(cert, MoveOutCertificate)
        certified = {e.resident_code for e in cert.entries}
        for i, r in enumerate(msg.residents):               # R-9-1-03
            if r.resident_code not in certified:
                raise ValidationError("R-9-1-03: a resident is not among the "
                                      "certificate's entries", field=f"residents[{i}]")
        changes = []
        for r in msg.residents:                             # R-9-1-04
            rec = self.register.get(r.resident_code)
            if rec.status == "current":
                changes.append(IdentityChange(
                    operation=UpdateOperation.ERASE,
                    identity_info=rec.identity_info(self.profile),
                    change_info=ChangeInfo(change_reason=ChangeReason.MOVE_OUT,
                                           change_date=msg.moved_date)))
        for change in changes:
            self.register.set_status(change.identity_info.resident_code, "moved_out")
        self.move_in, self.move_in_id = msg, inbound.message_id
        return [CancelTimer(name=RETRY), acknowledge(inbound, self.ids, AckStatus.ACCEPTED),
                Event(name="move_out_finalised", data=tuple(changes))]

    def _act(self, action: MoveOutAction, now: dt.datetime, payload: object) -> list[Effect]:
        A = MoveOutAction
        if action is A.RECORD_PLAN:
            assert isinstance(payload, AnnotatedMoveOut)
            return self._record_plan(payload, now)
        if action is A.WITHDRAW:
            return [CancelTimer(name=EXPIRY), Event(name="move_out_cancelled")]
        if action is A.EXPIRE:
            return [Event(name="move_out_expired", code=ErrorCode.FLOW_TIMED_OUT)]
        if action is A.RESEND:
            assert self.certificate is not None
            return [self.certificate,
                    ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))]
        assert isinstance(payload, Inbound)
        if action is A.CERTIFY:
            return self._certify(payload, now)
        if action is A.FINALISE:
            return self._finalise(payload)
        if action is A.STOP_RETRY:
            return [CancelTimer(name=RETRY)]
        if action is A.REPORT_FAILURE:
            assert isinstance(payload.message, ErrorReport)
            code = payload.message.error_code
            return [CancelTimer(name=RETRY), Event(
                name="certificate_refused",
                code=ErrorCode(code) if code in ErrorCode._value2member_map_
                else ErrorCode.INTERNAL_ERROR)]
        return [acknowledge(payload, self.ids, AckStatus.DUPLICATE)]   # ACK_DUPLICATE


class MoveOutDesk:
    """The former municipality's move-out desk: keeps the special move plans and the
    ordinary move-outs (:class:`~juki_protocol.machines.move_in.MoveOutFile`) and routes
    each received message to the plan or notice receiver it belongs to (not a machine:
    every decision on a received message is a plan's or a receiver's table).

    A ``MoveInNotice`` with a ``correlationId`` belongs to a special move (R-9-1-03);
    one without is an ordinary move's (R-MOVE-01) and goes to a
    :class:`~juki_protocol.machines.move_in.MoveInNoticeReceiver`.
    """

    OPEN = frozenset({MoveOutState.PLANNED, MoveOutState.CERTIFIED, MoveOutState.CONFIRMED})

    def __init__(self, register: Register, *, ids: IdSource = random_ids,
                 profile: Profile = Profile.CURRENT,
                 welfare: Mapping[str, WelfareStatus] | None = None,
                 plan_validity: dt.timedelta = PLAN_VALIDITY) -> None:
        self.register = register
        self.ids = ids
        self.profile = profile
        self.welfare = dict(welfare or {})
        self.plan_validity = plan_validity
        self.plans: list[MoveOutPlan] = []
        self.moves = MoveOutFile()
        self.receipts: list[MoveInNoticeReceiver] = []

    def plan_for(self, resident_code: str) -> MoveOutPlan | None:
        """The latest plan naming ``resident_code``, in any state."""
        for plan in reversed(self.plans):
            if resident_code in plan.movers:
                return plan
        return None

    def annotated_move_out(self, notice: AnnotatedMoveOut, now: dt.datetime) -> list[Effect]:
        """Record an annotated move-out; a person already on an open plan is 4001."""
        for code in notice.movers:
            self._not_on_file(code)
        plan = MoveOutPlan(self.register, ids=self.ids, profile=self.profile,
                           welfare=self.welfare, plan_validity=self.plan_validity)
        effects = plan.annotated_move_out(notice, now)
        self.plans.append(plan)
        return effects

    def _not_on_file(self, code: str) -> None:
        """4001 when ``code`` is on an open plan or an ordinary move-out on file."""
        held = self.plan_for(code)
        if held is not None and held.state in self.OPEN:
            raise ProtocolError("an annotated move-out is already on file",
                                code=ErrorCode.UNEXPECTED_MESSAGE)
        if code in self.moves.on_file:
            raise ProtocolError("a move-out is already on file",
                                code=ErrorCode.UNEXPECTED_MESSAGE)

    def record_move_out(self, move_out: OrdinaryMoveOut, now: dt.datetime) -> list[Effect]:
        """Record an ordinary move-out filed at the counter, for which the paper move-out
        certificate was issued (転出届, Art. 24). The records stay current until the new
        municipality's ``MoveInNotice`` finalises the move-out (R-9-1-04, R-MOVE-02).

        Refused, changing nothing, with 5001 for a code without a record, 5002 or 5003
        for an erased record, 4001 for a person already on file (ordinary or annotated)
        and 1024 for a destination in this municipality.
        """
        if move_out.destination.local_gov_code == self.register.local_gov_code:
            raise ValidationError("the destination must lie in another municipality",
                                  field="destination.local_gov_code")
        for code in move_out.movers:
            rec = self.register.get(code)                   # 5001 NO_SUCH_RESIDENT
            if rec.status != "current":
                raise BusinessError("the record is already erased", code=(
                    ErrorCode.RECORD_MOVED_OUT if rec.status == "moved_out"
                    else ErrorCode.RECORD_DECEASED))
            self._not_on_file(code)
        for code in move_out.movers:
            self.moves.on_file[code] = move_out
            self.moves.finalised.pop(code, None)            # an earlier move, long final
        return [Event(name="move_out_recorded", data=len(move_out.movers))]

    def cancel(self, resident_code: str, now: dt.datetime) -> list[Effect]:
        """The resident withdraws the annotated move-out naming them."""
        plan = self.plan_for(resident_code)
        if plan is None:
            raise ProtocolError("no annotated move-out on file",
                                code=ErrorCode.UNEXPECTED_MESSAGE)
        return plan.cancel(now)

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """Route ``inbound`` to its plan (R-24-2-3-03, R-9-1-03) or, for an ordinary
        ``MoveInNotice``, to its receiver (R-MOVE-02 to R-MOVE-04)."""
        if isinstance(inbound.message, MoveInNotice) and inbound.correlation_id is None:
            return self._ordinary(inbound, now)
        return self._route(inbound).receive(inbound, now)

    def _ordinary(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """An ordinary ``MoveInNotice``: the receiver that took its message id, or a new
        one, kept only when it accepted the notice."""
        for known in self.receipts:
            if known.notice_id == inbound.message_id:
                return known.receive(inbound, now)
        msg = inbound.message
        assert isinstance(msg, MoveInNotice)
        for i, person in enumerate(msg.residents):
            plan = self.plan_for(person.resident_code)
            if plan is not None and plan.state is MoveOutState.FINALISED and \
                    person.resident_code not in self.moves.on_file:
                raise ProtocolError(f"residents[{i}]: the special move-out is already "
                                    "final", code=ErrorCode.UNEXPECTED_MESSAGE)
        receipt = MoveInNoticeReceiver(self.register, self.moves, ids=self.ids,
                                       profile=self.profile)
        effects = receipt.receive(inbound, now)
        self.receipts.append(receipt)
        return effects

    def _route(self, inbound: Inbound) -> MoveOutPlan:
        msg = inbound.message
        if isinstance(msg, SpecialMoveInNotice):
            for known in self.plans:
                if known.notice_id == inbound.message_id:
                    return known
            if msg.former_municipality != self.register.local_gov_code:
                raise ProtocolError("the notice is for another municipality",
                                    code=ErrorCode.WRONG_RECIPIENT)
            found: set[int] = set()
            for i, mover in enumerate(msg.movers):
                self.register.get(mover.resident_code)      # 5001 NO_SUCH_RESIDENT
                held = self.plan_for(mover.resident_code)
                if held is None:
                    raise ProtocolError(f"movers[{i}] has no annotated move-out on file",
                                        code=ErrorCode.UNEXPECTED_MESSAGE)
                found.add(id(held))
            if len(found) != 1:
                raise ValidationError("R-24-2-1-03: the movers are on different annotated "
                                      "move-outs", field="movers")
            chosen = self.plan_for(msg.movers[0].resident_code)
            assert chosen is not None
            return chosen
        if isinstance(msg, (Acknowledgement, ErrorReport)):
            ref = answered_id(msg)
            for plan in self.plans:
                if plan.certificate is not None and plan.certificate.message_id == ref:
                    return plan
            raise ProtocolError("the answer refers to no certificate of ours",
                                code=ErrorCode.UNKNOWN_CORRELATION)
        if isinstance(msg, MoveInNotice):
            for plan in self.plans:
                if plan.notice_id is not None and plan.notice_id == inbound.correlation_id:
                    return plan
            raise ProtocolError("the move-in notice refers to no open flow",
                                code=ErrorCode.UNKNOWN_CORRELATION)
        raise ProtocolError(f"{type(msg).__name__} is not part of a special move",
                            code=ErrorCode.UNEXPECTED_MESSAGE)

    def tick(self, now: dt.datetime) -> list[Effect]:
        """Fire every due timer of every plan (expiry and retries)."""
        effects: list[Effect] = []
        for plan in self.plans:
            for name in plan.due_timers(now):
                effects += plan.timeout(name, now)
        return effects


__all__ = [
    "CARD_METHODS", "CERTIFICATE_DEADLINE", "MOVE_IN_DAYS", "MOVE_OUT_TABLE",
    "PLAN_VALIDITY", "RETRY_AFTER", "AnnotatedMoveOut", "IdentityChange", "MoveOutDesk",
    "MoveOutInput", "MoveOutPlan", "MoveOutState", "OrdinaryMoveOut", "WelfareStatus",
    "build_certificate", "check_deadline", "report_identity_changes",
]
