"""Wide-area issuance of resident record copies (住民票の写しの広域交付), Art. 12-2.

Theory of operation
-------------------
One :class:`IssuingCounter` per application at the issuing municipality and one
:class:`ResidenceResponder` per request at the residence municipality (spec/wide_area.md):

* The counter first confirms the applicant (R-12-2-1-01): a resident card with its PIN
  (:func:`juki_protocol.machines.card_counter.identify_with_card`), a card with a photo, or a
  photo ID checked by the clerk, reported as an :class:`IdentityCheck`. A failed check
  ends the application with 5022 IDENTITY_CHECK_FAILED (or the card's 4010/4011/4012)
  and nothing is sent. Then it sends the request, resends it until acknowledged
  (R-PDU-23), and waits for the response until its deadline (4005 FLOW_TIMED_OUT).
  A response is checked against the request (R-12-2-3-02, R-12-2-3-04) before a copy
  is issued.
* The responder answers once: a copy for every target, or the refusal of the first
  refused target (R-12-2-3-02, R-12-2-3-06, R-12-2-3-07), resending the response until
  the issuing municipality acknowledges it. A replayed request (same message id) is
  acknowledged as ``duplicate`` and changes nothing (R-PDU-24).
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

from juki_protocol.errors import ErrorCode, ProtocolError, ValidationError
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
from juki_protocol.machines.stores import Register
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.record import ResidentRecord
from juki_protocol.messages.wide_area import (
    ResidentRecordCopy,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
    WideAreaRefusal,
)

#: R-TIME-02 (spec/deadlines.md): the resend interval of the request and the response.
RETRY_AFTER = dt.timedelta(seconds=60)
#: R-TIME-04 (spec/deadlines.md): how long the issuing municipality waits for the
#: response (4005 FLOW_TIMED_OUT).
RESPONSE_DEADLINE = dt.timedelta(minutes=30)
RETRY, DEADLINE = "retry", "deadline"


def _ack(to: str, inbound: Inbound, ids: IdSource, status: AckStatus) -> Send:
    return Send(recipient=to, message_id=ids(),
                message=Acknowledgement(acknowledged_id=inbound.message_id, status=status))


# Issuing municipality ---------------------------------------------------------------

class IssuingState(Enum):
    """States of one application at the issuing municipality's counter."""

    NEW = "new"
    IDENTIFIED = "identified"
    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"
    ISSUED = "issued"
    REFUSED = "refused"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    IDENTITY_FAILED = "identity_failed"


class IssuingInput(Enum):
    """Inputs of the issuing counter."""

    IDENTITY_OK = "identity_ok"
    IDENTITY_NG = "identity_ng"
    SUBMIT = "submit"
    ACK = "ack"
    ERROR = "error"
    COPIES = "copies"
    REFUSAL = "refusal"
    REPLAY = "replay"
    RETRY_DUE = "retry_due"
    DEADLINE = "deadline"


class IssuingAction(Enum):
    """Side effects of the issuing counter."""

    RECORD_IDENTITY = "record_identity"
    REPORT_IDENTITY_FAILURE = "report_identity_failure"
    SEND_REQUEST = "send_request"
    RESEND = "resend"
    STOP_RETRY = "stop_retry"
    ISSUE = "issue"
    REPORT_REFUSAL = "report_refusal"
    REPORT_ERROR = "report_error"
    REPORT_TIMEOUT = "report_timeout"
    ACK_DUPLICATE = "ack_duplicate"


_IS, _II, _IA = IssuingState, IssuingInput, IssuingAction
_irows: dict[tuple[IssuingState, IssuingInput], tuple[IssuingAction | None, IssuingState]] = {
    (_IS.NEW, _II.IDENTITY_OK): (_IA.RECORD_IDENTITY, _IS.IDENTIFIED),
    (_IS.NEW, _II.IDENTITY_NG): (_IA.REPORT_IDENTITY_FAILURE, _IS.IDENTITY_FAILED),
    (_IS.IDENTIFIED, _II.SUBMIT): (_IA.SEND_REQUEST, _IS.REQUESTED),
    (_IS.REQUESTED, _II.ACK): (_IA.STOP_RETRY, _IS.ACKNOWLEDGED),
    (_IS.REQUESTED, _II.RETRY_DUE): (_IA.RESEND, _IS.REQUESTED),
    (_IS.ISSUED, _II.REPLAY): (_IA.ACK_DUPLICATE, _IS.ISSUED),
    (_IS.REFUSED, _II.REPLAY): (_IA.ACK_DUPLICATE, _IS.REFUSED),
}
for _s in (_IS.REQUESTED, _IS.ACKNOWLEDGED):
    _irows[(_s, _II.COPIES)] = (_IA.ISSUE, _IS.ISSUED)
    _irows[(_s, _II.REFUSAL)] = (_IA.REPORT_REFUSAL, _IS.REFUSED)
    _irows[(_s, _II.ERROR)] = (_IA.REPORT_ERROR, _IS.FAILED)
    _irows[(_s, _II.DEADLINE)] = (_IA.REPORT_TIMEOUT, _IS.TIMED_OUT)

ISSUING_TABLE: Table[IssuingState, IssuingInput, IssuingAction] = Table(
    name="wide-area-issuing", title="Wide-area issuance: issuing municipality (Art. 12-2)",
    states=IssuingState, inputs=IssuingInput, initial=_IS.NEW, rows=_irows,
    errors={_IS.TIMED_OUT: ErrorCode.FLOW_TIMED_OUT,
            (_IS.IDENTITY_FAILED, _II.SUBMIT): ErrorCode.IDENTITY_CHECK_FAILED,
            (_IS.NEW, _II.SUBMIT): ErrorCode.IDENTITY_CHECK_FAILED},
)


@register
class IssuingCounter(Machine[IssuingState, IssuingInput, IssuingAction]):
    """One application for a wide-area copy at the issuing municipality."""

    TABLE = ISSUING_TABLE

    def __init__(self, municipality: str, *, ids: IdSource = random_ids) -> None:
        super().__init__()
        self.municipality = municipality
        self.ids = ids
        self.check: IdentityCheck | None = None
        self.request: WideAreaIssuanceRequest | None = None
        self.request_id: bytes | None = None
        self.response_id: bytes | None = None
        self.outcome: tuple[ResidentRecordCopy, ...] | WideAreaRefusal | int | None = None

    def identify(self, check: IdentityCheck, now: dt.datetime) -> list[Effect]:
        """The counter's identity check of the applicant (R-12-2-1-01)."""
        inp = IssuingInput.IDENTITY_OK if check.confirmed else IssuingInput.IDENTITY_NG
        return self._step(inp, now, check)

    def submit(self, request: WideAreaIssuanceRequest, now: dt.datetime) -> list[Effect]:
        """Send the request for the identified applicant (Art. 12-2(2))."""
        return self._step(IssuingInput.SUBMIT, now, request)

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """An acknowledgement, error report or response from the residence municipality."""
        msg = inbound.message
        if isinstance(msg, Acknowledgement):
            self._correlate(msg.acknowledged_id)
            return self._step(IssuingInput.ACK, now, inbound)
        if isinstance(msg, ErrorReport):
            self._correlate(msg.refers_to)
            return self._step(IssuingInput.ERROR, now, inbound)
        if isinstance(msg, WideAreaIssuanceResponse):
            self._correlate(inbound.correlation_id)
            if inbound.message_id == self.response_id:
                return self._step(IssuingInput.REPLAY, now, inbound)
            inp = IssuingInput.COPIES if msg.copies is not None else IssuingInput.REFUSAL
            return self._step(inp, now, inbound)
        return self._reject(msg)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """A timer fired: ``retry`` resends, ``deadline`` ends the application."""
        inp = IssuingInput.RETRY_DUE if name == RETRY else IssuingInput.DEADLINE
        return self._fire(inp, name, now)

    def _reject(self, msg: object) -> list[Effect]:
        raise ProtocolError(f"{type(msg).__name__} is not part of a wide-area issuance",
                            code=ErrorCode.UNEXPECTED_MESSAGE)

    def _correlate(self, ref: bytes | None) -> None:
        if self.request_id is None or ref != self.request_id:
            raise ProtocolError("the message refers to no open request",
                                code=ErrorCode.UNKNOWN_CORRELATION)

    def _check_copies(self, resp: WideAreaIssuanceResponse) -> None:
        req = self.request
        assert req is not None and resp.copies is not None
        if (resp.residence_municipality, resp.issuing_municipality) != (
                req.residence_municipality, req.issuing_municipality):
            raise ValidationError("the response names other municipalities",
                                  field="residence_municipality")
        if len(resp.copies) != len(req.targets):
            raise ValidationError("R-12-2-3-02: one copy per target", field="copies")
        for i, (copy, target) in enumerate(zip(resp.copies, req.targets, strict=True)):
            if (copy.name, copy.birth_date) != (target.name, target.birth_date):
                raise ValidationError("R-12-2-3-02: copies follow the targets' order",
                                      field=f"copies[{i}]")
            if (copy.relationship is not None) != req.include_relationship:
                raise ValidationError("R-12-2-3-04: relationship only when requested",
                                      field=f"copies[{i}].relationship")
            if (copy.resident_code is not None) != req.include_resident_code:
                raise ValidationError("R-12-2-3-04: resident code only when requested",
                                      field=f"copies[{i}].resident_code")

    def _act(self, action: IssuingAction, now: dt.datetime, payload: object) -> list[Effect]:
        A = IssuingAction
        if action is A.RECORD_IDENTITY:
            assert isinstance(payload, IdentityCheck)
            self.check = payload
            return []
        if action is A.REPORT_IDENTITY_FAILURE:
            assert isinstance(payload, IdentityCheck)
            self.check = payload
            return [Event(name="identity_check_failed",
                          code=payload.failure or ErrorCode.IDENTITY_CHECK_FAILED)]
        if action is A.SEND_REQUEST:
            assert isinstance(payload, WideAreaIssuanceRequest) and self.check is not None
            if payload.issuing_municipality != self.municipality:
                raise ValidationError("issuing_municipality is not this municipality",
                                      field="issuing_municipality")
            if payload.requester.identity_check is not self.check.method or (
                    self.check.resident_code is not None
                    and payload.requester.resident_code not in (None,
                                                                self.check.resident_code)):
                raise ValidationError("the requester is not the identified applicant",
                                      field="requester", code=ErrorCode.IDENTITY_CHECK_FAILED)
            self.request, self.request_id = payload, self.ids()
            deadline = Timer(name=DEADLINE, deadline=now + RESPONSE_DEADLINE)
            return [*self._wire(now), ArmTimer(timer=deadline)]
        if action is A.RESEND:
            return self._wire(now)
        if action is A.STOP_RETRY:
            return [CancelTimer(name=RETRY)]
        assert isinstance(payload, Inbound) or payload is None
        if action is A.REPORT_TIMEOUT:
            self.outcome = int(ErrorCode.FLOW_TIMED_OUT)
            return [CancelTimer(name=RETRY),
                    Event(name="timed_out", code=ErrorCode.FLOW_TIMED_OUT)]
        assert isinstance(payload, Inbound)
        msg = payload.message
        done: list[Effect] = [CancelTimer(name=RETRY), CancelTimer(name=DEADLINE)]
        if action is A.ISSUE:
            assert isinstance(msg, WideAreaIssuanceResponse) and msg.copies is not None
            self._check_copies(msg)
            self.outcome, self.response_id = msg.copies, payload.message_id
            return [*done, _ack(payload.sender, payload, self.ids, AckStatus.ACCEPTED),
                    Event(name="copies_issued", data=msg.copies)]
        if action is A.REPORT_REFUSAL:
            assert isinstance(msg, WideAreaIssuanceResponse) and msg.refusal is not None
            self.outcome, self.response_id = msg.refusal, payload.message_id
            return [*done, _ack(payload.sender, payload, self.ids, AckStatus.ACCEPTED),
                    Event(name="refused", code=msg.refusal.error_code)]
        if action is A.REPORT_ERROR:
            assert isinstance(msg, ErrorReport)
            self.outcome = msg.error_code
            return [*done, Event(name="failed", data=msg.error_code)]
        # ACK_DUPLICATE: a replayed response is acknowledged and changes nothing.
        return [_ack(payload.sender, payload, self.ids, AckStatus.DUPLICATE)]

    def _wire(self, now: dt.datetime) -> list[Effect]:
        assert self.request is not None and self.request_id is not None
        return [Send(recipient=self.request.residence_municipality, message=self.request,
                     message_id=self.request_id),
                ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))]


# Residence municipality -------------------------------------------------------------

class ResidenceState(Enum):
    """States of one request at the residence municipality."""

    NEW = "new"
    RESPONDED = "responded"
    CLOSED = "closed"


class ResidenceInput(Enum):
    """Inputs of the residence responder."""

    REQUEST = "request"
    REPLAY = "replay"          # the answered request again (same id and content)
    CONFLICT = "conflict"      # its message id with other content
    ACK = "ack"
    ERROR = "error"
    RETRY_DUE = "retry_due"


class ResidenceAction(Enum):
    """Side effects of the residence responder."""

    ANSWER = "answer"
    ACK_DUPLICATE = "ack_duplicate"
    RESEND = "resend"
    CLOSE = "close"


_RS, _RI, _RA = ResidenceState, ResidenceInput, ResidenceAction
RESIDENCE_TABLE: Table[ResidenceState, ResidenceInput, ResidenceAction] = Table(
    name="wide-area-residence",
    title="Wide-area issuance: residence municipality (Art. 12-2(3))",
    states=ResidenceState, inputs=ResidenceInput, initial=_RS.NEW,
    rows={
        (_RS.NEW, _RI.REQUEST): (_RA.ANSWER, _RS.RESPONDED),
        (_RS.RESPONDED, _RI.REPLAY): (_RA.ACK_DUPLICATE, _RS.RESPONDED),
        (_RS.RESPONDED, _RI.RETRY_DUE): (_RA.RESEND, _RS.RESPONDED),
        (_RS.RESPONDED, _RI.ACK): (_RA.CLOSE, _RS.CLOSED),
        (_RS.RESPONDED, _RI.ERROR): (_RA.CLOSE, _RS.CLOSED),
        (_RS.CLOSED, _RI.REPLAY): (_RA.ACK_DUPLICATE, _RS.CLOSED),
    },
    errors={(_RS.NEW, _RI.ACK): ErrorCode.UNKNOWN_CORRELATION,
            (_RS.NEW, _RI.ERROR): ErrorCode.UNKNOWN_CORRELATION,
            _RI.CONFLICT: ErrorCode.REPLAY},
)


def decide(register: Register, request: WideAreaIssuanceRequest
           ) -> tuple[ResidentRecordCopy, ...] | WideAreaRefusal:
    """The copies for every target, or the refusal of the first refused target.

    The checks per target, in order: a record exists (noSuchRecord), it is current
    (movedOut, deceased), the target is the requester or in the requester's household
    (notSameHousehold), it is not restricted (restricted). R-12-2-3-02, R-12-2-3-06.
    """
    req = request.requester
    applicant = (register.records.get(req.resident_code) if req.resident_code
                 else register.find(req.name, req.birth_date))
    if applicant is not None and (applicant.name, applicant.birth_date) != (
            req.name, req.birth_date):
        applicant = None
    copies: list[ResidentRecordCopy] = []
    for target in request.targets:
        rec: ResidentRecord | None = (
            register.records.get(target.resident_code) if target.resident_code
            else register.find(target.name, target.birth_date))
        if rec is None or (rec.name, rec.birth_date) != (target.name, target.birth_date):
            return WideAreaRefusal.NO_SUCH_RECORD
        if rec.status == "moved_out":
            return WideAreaRefusal.MOVED_OUT
        if rec.status == "deceased":
            return WideAreaRefusal.DECEASED
        if applicant is None or applicant.status != "current" or (
                rec.household_id != applicant.household_id):
            return WideAreaRefusal.NOT_SAME_HOUSEHOLD
        if rec.resident_code in register.restricted:
            return WideAreaRefusal.RESTRICTED
        # Art. 12-2(3): at most the 8 items; the family register has no field at all.
        copies.append(rec.record_copy(include_relationship=request.include_relationship,
                                      include_resident_code=request.include_resident_code))
    return tuple(copies)


@register
class ResidenceResponder(Machine[ResidenceState, ResidenceInput, ResidenceAction]):
    """One wide-area request at the residence municipality."""

    TABLE = RESIDENCE_TABLE

    def __init__(self, register: Register, *, ids: IdSource = random_ids) -> None:
        super().__init__()
        self.register = register
        self.ids = ids
        self.request_id: bytes | None = None
        self.request: WideAreaIssuanceRequest | None = None
        self.peer: str | None = None
        self.response: Send | None = None

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """A request (or its replay), or the answer to our response."""
        msg = inbound.message
        if isinstance(msg, WideAreaIssuanceRequest):
            replay = self.request_id is not None and inbound.message_id == self.request_id
            inp = ResidenceInput.REPLAY if replay else ResidenceInput.REQUEST
            if replay and msg != self.request:
                # Only past the node's duplicate window (within it R-PDU-24 answers
                # first): other content under the request's id is 2021, no duplicate.
                inp = ResidenceInput.CONFLICT
            return self._step(inp, now, inbound)
        ref = answered_id(msg)
        if ref is None:
            raise ProtocolError(f"{type(msg).__name__} is not part of a wide-area issuance",
                                code=ErrorCode.UNEXPECTED_MESSAGE)
        inp = ResidenceInput.ACK if isinstance(msg, Acknowledgement) else ResidenceInput.ERROR
        if self.response is not None and ref != self.response.message_id:
            raise ProtocolError("the answer refers to no response of ours",
                                code=ErrorCode.UNKNOWN_CORRELATION)
        return self._step(inp, now, inbound)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """The retry timer fired: resend the response."""
        return self._fire(ResidenceInput.RETRY_DUE, name, now)

    def _act(self, action: ResidenceAction, now: dt.datetime,
             payload: object) -> list[Effect]:
        retry = ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))
        if action is ResidenceAction.RESEND:
            assert self.response is not None
            return [self.response, retry]
        assert isinstance(payload, Inbound)
        if action is ResidenceAction.CLOSE:
            return [CancelTimer(name=RETRY), Event(name="closed")]
        if action is ResidenceAction.ACK_DUPLICATE:
            return [_ack(payload.sender, payload, self.ids, AckStatus.DUPLICATE)]
        req = payload.message
        assert isinstance(req, WideAreaIssuanceRequest)
        if req.residence_municipality != self.register.local_gov_code:
            raise ProtocolError("the request is for another municipality",
                                code=ErrorCode.WRONG_RECIPIENT)
        if req.issuing_municipality != payload.sender:
            raise ValidationError("issuing_municipality is not the header sender",
                                  field="issuing_municipality")
        outcome = decide(self.register, req)
        response = (WideAreaIssuanceResponse(residence_municipality=req.residence_municipality,
                                             issuing_municipality=req.issuing_municipality,
                                             refusal=outcome)
                    if isinstance(outcome, WideAreaRefusal) else
                    WideAreaIssuanceResponse(residence_municipality=req.residence_municipality,
                                             issuing_municipality=req.issuing_municipality,
                                             copies=outcome))
        self.request_id, self.request, self.peer = payload.message_id, req, payload.sender
        self.response = Send(recipient=payload.sender, message=response,
                             message_id=self.ids(), correlation_id=payload.message_id)
        return [_ack(payload.sender, payload, self.ids, AckStatus.ACCEPTED),
                self.response, retry]
