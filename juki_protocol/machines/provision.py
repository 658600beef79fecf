"""Provision of identity info (本人確認情報の提供), Arts. 30-7(3)-(6), 30-8, 30-10.

Theory of operation
-------------------
Two machines (spec/provision.md):

* :class:`Provider` (a prefecture or the designated centre) is always ``ready``; its data
  are the answered requests, the pending responses, the :class:`DisclosureLog`, the
  :class:`AnomalyGuard`, the bodies whose provision it suspended and, at the centre, the
  prefectures that delegated their provision to it. A received message is classified
  before the table: a municipality-to-municipality message is 3003 ROLE_NOT_ALLOWED
  (R-24-2-4-03, R-12-2-2-02); a request naming a body other than the header sender is
  1024 INVALID_FIELD (R-30-7-3-04); a request already answered (same sender and message
  id) is acknowledged as ``duplicate`` and its stored response resent, with other
  content it is 2021 REPLAY (R-PDU-24). Every other request is checked in the order of
  spec/provision.md section 2 and answered with the first refusal that applies, as a
  ``ProvisionResponse`` (R-30-7-3-05): the body (3010), its suspension (3030,
  R-SUSP-01), the purpose (3011), the legal basis against the body's kind, the provider,
  the delegation and the purpose (3012, R-30-7-4-01, R-30-7-5-01, R-30-8-2-01,
  R-30-10-1-03, R-30-10-1-04), the operator (3020, R-30-7-3-06), the volume limits
  (3021, R-30-7-3-07). An authorised request is looked up in the identity store
  by resident code (in the query's order, R-30-7-3-09) or by the four items
  (R-30-7-3-10); only identity info within the retention period is provided, and an
  answer reveals nothing of what is past it (R-30-7-3-11); on a delegation, only the
  persons of the delegating prefecture (R-30-10-1-05). Each request, provided or
  refused, is appended to the disclosure log (:mod:`juki_protocol.machines.disclosure`)
  *before* its response is returned (R-30-7-3-12). Responses are resent until
  acknowledged (R-PDU-23).
* :class:`ProvisionClient` (the requesting body: an agency, municipality or
  prefecture) sends one request, resends it until acknowledged, and ends ``done``
  (persons provided, checked against the query), ``refused``, ``failed`` (an
  ``ErrorReport``) or ``timed_out`` (4005 FLOW_TIMED_OUT).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from juki_protocol.errors import BusinessError, ErrorCode, JukiError, ProtocolError, ValidationError
from juki_protocol.identifiers import is_prefecture_code, prefecture_of
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
from juki_protocol.machines.determinism import plain_copy
from juki_protocol.machines.disclosure import (
    PROVIDED,
    DisclosureLog,
    DisclosureRecord,
)
from juki_protocol.machines.identity import M2M_TYPES
from juki_protocol.machines.schedule import Schedule, load_schedule_1
from juki_protocol.machines.stores import IdentityHolder, four_items
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvidedIdentity,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

#: R-TIME-02 (spec/deadlines.md): the resend interval of the request and the response.
RETRY_AFTER = dt.timedelta(seconds=60)
#: R-TIME-05 (spec/deadlines.md): how long a requesting body waits for the response
#: (4005 FLOW_TIMED_OUT).
RESPONSE_DEADLINE = dt.timedelta(minutes=10)
#: R-TIME-07 (spec/deadlines.md): the default sliding window of the volume limits.
VOLUME_WINDOW = dt.timedelta(hours=1)
RETRY, DEADLINE = "retry", "deadline"


# The anomaly guard -------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Volume limits in a sliding window (R-30-7-3-07), declared in the ICS."""

    window: dt.timedelta = VOLUME_WINDOW
    operator_requests: int = 100
    operator_persons: int = 1000
    body_requests: int = 1000
    body_persons: int = 10000


class AnomalyGuard:
    """Counts served requests and persons queried per operator and per body in a sliding
    window; a request beyond a limit is refused with 3021 OPERATOR_THROTTLED."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.served: list[tuple[dt.datetime, str, str, int]] = []

    def _recent(self, now: dt.datetime) -> list[tuple[dt.datetime, str, str, int]]:
        return [s for s in self.served if now - s[0] < self.limits.window]

    def check(self, body: str, operator: str, persons: int, now: dt.datetime) -> None:
        """Raise 3021 if serving this request would pass a limit."""
        lim, recent = self.limits, self._recent(now)
        op = [s for s in recent if (s[1], s[2]) == (body, operator)]
        by_body = [s for s in recent if s[1] == body]
        if (len(op) + 1 > lim.operator_requests
                or sum(s[3] for s in op) + persons > lim.operator_persons
                or len(by_body) + 1 > lim.body_requests
                or sum(s[3] for s in by_body) + persons > lim.body_persons):
            raise BusinessError("volume limit reached", code=ErrorCode.OPERATOR_THROTTLED)

    def record(self, body: str, operator: str, persons: int, now: dt.datetime) -> None:
        """Count a served request (and forget what left the window)."""
        self.served = [*self._recent(now), (now, body, operator, persons)]


# The provider ------------------------------------------------------------------------

class ProviderState(Enum):
    """A provider is always ready; its data are the log, the guard and the answers."""

    READY = "ready"


class ProviderInput(Enum):
    """How a received message (or a timer) is classified."""

    AUTHORISED = "authorised"            # a new request that passes every check
    REFUSED = "refused"                  # a new request refused (3010 .. 3021)
    REPLAY = "replay"                    # an answered request again
    CONFLICT = "conflict"                # an answered message id with other content
    FOREIGN = "foreign"                  # a municipality-to-municipality message
    SENDER_MISMATCH = "sender_mismatch"  # the requesting body is not the header sender
    RESPONSE_ACK = "response_ack"        # our response acknowledged
    RESPONSE_ERROR = "response_error"    # our response refused
    RETRY_DUE = "retry_due"              # a response's retry timer fired
    OTHER = "other"                      # any other message


class ProviderAction(Enum):
    """Side effects of the provider."""

    PROVIDE = "provide"
    REFUSE = "refuse"
    REPEAT = "repeat"
    CLOSE = "close"
    RESEND = "resend"


_PS, _PI, _PA = ProviderState, ProviderInput, ProviderAction
PROVIDER_TABLE: Table[ProviderState, ProviderInput, ProviderAction] = Table(
    name="provision-provider",
    title="Provision: prefecture or designated centre (Arts. 30-7, 30-8, 30-10)",
    states=ProviderState, inputs=ProviderInput, initial=_PS.READY,
    rows={
        (_PS.READY, _PI.AUTHORISED): (_PA.PROVIDE, _PS.READY),
        (_PS.READY, _PI.REFUSED): (_PA.REFUSE, _PS.READY),
        (_PS.READY, _PI.REPLAY): (_PA.REPEAT, _PS.READY),
        (_PS.READY, _PI.RESPONSE_ACK): (_PA.CLOSE, _PS.READY),
        (_PS.READY, _PI.RESPONSE_ERROR): (_PA.CLOSE, _PS.READY),
        (_PS.READY, _PI.RETRY_DUE): (_PA.RESEND, _PS.READY),
    },
    errors={_PI.CONFLICT: ErrorCode.REPLAY, _PI.FOREIGN: ErrorCode.ROLE_NOT_ALLOWED,
            _PI.SENDER_MISMATCH: ErrorCode.INVALID_FIELD},
)

_REFUSAL_OF = {r.error_code: r for r in ProvisionRefusal}


def _retry_name(message_id: bytes) -> str:
    return f"{RETRY}:{message_id.hex()}"


@register
class Provider(Machine[ProviderState, ProviderInput, ProviderAction]):
    """A provider of identity info: a prefecture (its code) or the centre (``DCnn``).

    operators: the operator ids registered per requesting body code; local_purposes: the
    purpose codes this provider serves per non-agency body kind (other schedules and the
    ordinance, declared in the ICS); suspended: the codes of the bodies whose provision
    is suspended (spec/suspension.md; a node passes its stored list, queried at each
    request); delegations: at the centre, the prefectures that delegated their
    provision of Art. 30-7(3)-(6) to it (Art. 30-10(1), spec/provision.md section 6).
    """

    TABLE = PROVIDER_TABLE

    def __init__(self, code: str, store: IdentityHolder, *,
                 operators: Mapping[str, Iterable[str]],
                 local_purposes: Mapping[BodyKind, Iterable[str]] | None = None,
                 schedule: Schedule | None = None, guard: AnomalyGuard | None = None,
                 log: DisclosureLog | None = None, suspended: Container[str] = (),
                 delegations: Iterable[str] = (), ids: IdSource = random_ids) -> None:
        super().__init__()
        self.national = code.startswith("DC")
        if not self.national and not is_prefecture_code(code):
            raise ValueError("a provider is a prefecture (PP000C) or the centre (DCnn)")
        self.code = code
        self.store = store
        self.operators = {k: frozenset(v) for k, v in operators.items()}
        self.local_purposes = {k: frozenset(v) for k, v in (local_purposes or {}).items()}
        self.schedule = schedule if schedule is not None else load_schedule_1()
        self.guard = guard if guard is not None else AnomalyGuard()
        self.log = log if log is not None else DisclosureLog(secrets.token_bytes(32))
        self.suspended = suspended
        self.delegations = frozenset(delegations) if self.national else frozenset()
        self.ids = ids
        self.answered: dict[tuple[str, bytes], tuple[ProvisionRequest, Send]] = {}
        self.pending: dict[bytes, Send] = {}

    def snapshot(self) -> object:
        """As :meth:`Machine.snapshot`, leaving out the read-only schedule."""
        return {k: plain_copy(v) for k, v in vars(self).items()
                if k != "schedule" and not callable(v)}

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """A request, or the answer to one of our responses."""
        return self._step(self.classify(inbound, now), now, inbound)

    def classify(self, inbound: Inbound, now: dt.datetime) -> ProviderInput:
        """The table input for ``inbound``, in the order of spec/pdu.md section 8."""
        msg = inbound.message
        if type(msg).__name__ in M2M_TYPES:
            return ProviderInput.FOREIGN
        if isinstance(msg, (Acknowledgement, ErrorReport)):
            ref = answered_id(msg)
            if not any(s.message_id == ref for _, s in self.answered.values()):
                raise ProtocolError("the answer refers to no response of ours",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
            return (ProviderInput.RESPONSE_ACK if isinstance(msg, Acknowledgement)
                    else ProviderInput.RESPONSE_ERROR)
        if not isinstance(msg, ProvisionRequest):
            return ProviderInput.OTHER
        if msg.requester.code != inbound.sender:
            return ProviderInput.SENDER_MISMATCH
        seen = self.answered.get((inbound.sender, inbound.message_id))
        if seen is not None:
            return ProviderInput.REPLAY if seen[0] == msg else ProviderInput.CONFLICT
        return (ProviderInput.AUTHORISED if self.refusal(msg, now) is None
                else ProviderInput.REFUSED)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """A response's retry timer (``retry:<message id>``) fired: resend it."""
        self._due(name, now)
        return self._step(ProviderInput.RETRY_DUE, now, name)

    # Decisions -------------------------------------------------------------------------

    def refusal(self, req: ProvisionRequest, now: dt.datetime) -> ProvisionRefusal | None:
        """The first refusal of spec/provision.md section 2 that applies, or None."""
        try:
            self.authorise(req)
            body, op = req.requester.code, req.operator_id
            if op not in self.operators.get(body, frozenset()):    # R-30-7-3-06
                raise BusinessError("the operator is not registered for the body",
                                    code=ErrorCode.OPERATOR_UNAUTHENTICATED)
            self.guard.check(body, op, _persons(req), now)        # R-30-7-3-07
        except JukiError as exc:
            if exc.error_code not in _REFUSAL_OF:
                raise
            return _REFUSAL_OF[exc.error_code]
        return None

    def authorise(self, req: ProvisionRequest) -> None:
        """Raise BusinessError with the first refusal of the body, its suspension, the
        legal basis, the delegation and the purpose of ``req`` (spec/provision.md
        section 2, the steps before the operator), or return; :meth:`refusal` runs it
        first. Public so that a faulty node can replace this one decision."""
        body, basis = req.requester, req.legal_basis
        if body.kind is BodyKind.AGENCY:                          # R-30-7-3-01
            self.schedule.body(body.code)
        if body.code in self.suspended:                           # R-SUSP-01
            raise BusinessError("provision to the body is suspended",
                                code=ErrorCode.PROVISION_SUSPENDED)
        if basis.by_center != self.national:        # a basis this provider never serves
            raise BusinessError("the legal basis is not one this provider serves",
                                code=ErrorCode.LEGAL_BASIS_MISMATCH)
        delegator = req.delegating_prefecture                     # R-30-10-1-03
        if basis.performs is not None and delegator not in self.delegations:
            raise BusinessError("the prefecture named has not delegated its provision to "
                                "this centre", code=ErrorCode.LEGAL_BASIS_MISMATCH)
        if body.kind is BodyKind.AGENCY:                          # R-30-7-3-02, -03
            self.schedule.authorise(body.code, req.purpose_code, basis)
        elif req.purpose_code not in self.local_purposes.get(body.kind, frozenset()):
            raise BusinessError("the purpose is not served for this body",
                                code=ErrorCode.PURPOSE_NOT_ALLOWED)
        fits = body.kind in basis.body_kinds and basis.by_center == self.national
        # A prefecture's own bases, or the centre's delegated ones with the delegating
        # prefecture in the provider's place (R-30-10-1-04).
        home = self.code if not self.national else delegator
        if fits and home is not None:
            own_pref = (prefecture_of(body.code) if body.kind is BodyKind.MUNICIPALITY
                        else body.code) == home
            fits = {LegalBasis.PREF_TO_OWN_MUNICIPALITY: own_pref,        # R-30-7-4-01
                    LegalBasis.PREF_TO_OTHER_MUNICIPALITY: not own_pref,
                    LegalBasis.PREF_TO_OTHER_PREFECTURE: not own_pref,    # R-30-7-5-01
                    LegalBasis.PREF_OWN_USE: own_pref,                    # R-30-8-2-01
                    }.get(basis.performs or basis, True)
        if not fits:
            raise BusinessError("the legal basis does not fit the body or the provider",
                                code=ErrorCode.LEGAL_BASIS_MISMATCH)

    def lookup(self, req: ProvisionRequest, now: dt.datetime) -> tuple[ProvidedIdentity, ...]:
        """The identity info within retention that answers ``req`` (R-30-7-3-09..11);
        on a delegation, only the persons of the delegating prefecture, as if the
        centre held no other (R-30-10-1-05)."""
        if req.by_resident_code is not None:
            codes: Iterable[str] = req.by_resident_code
        else:
            assert req.by_four_items is not None                   # R-30-7-3-10
            codes = self.store.by_four_items(four_items(req.by_four_items))
        scope = req.delegating_prefecture
        found = []
        for code in codes:
            h = self.store.within_retention(code, now)
            if h is not None and (scope is None or prefecture_of(
                    h.identity_info.address.local_gov_code) == scope):
                found.append(ProvidedIdentity(identity_info=h.identity_info,
                                              change_info=h.change_info))
        return tuple(found[:100])

    # Actions ---------------------------------------------------------------------------

    def _answer(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        req = inbound.message
        assert isinstance(req, ProvisionRequest)
        refusal = self.refusal(req, now)
        provided = self.lookup(req, now) if refusal is None else ()
        response = (ProvisionResponse(refusal=refusal) if refusal is not None
                    else ProvisionResponse(provided=provided))
        send = Send(recipient=inbound.sender, message=response, message_id=self.ids(),
                    correlation_id=inbound.message_id)
        # R-30-7-3-12: logged before the response leaves.
        self.log.append(DisclosureRecord(
            time=now, message_id=inbound.message_id, body=req.requester,
            legal_basis=req.legal_basis, purpose_code=req.purpose_code,
            operator_id=req.operator_id,
            outcome=PROVIDED if refusal is None else refusal.value,
            resident_keys=tuple(self.log.key_of(p.identity_info.resident_code)
                                for p in provided),
            delegating_prefecture=req.delegating_prefecture))
        if refusal is None:
            self.guard.record(req.requester.code, req.operator_id, _persons(req), now)
        self.answered[(inbound.sender, inbound.message_id)] = (req, send)
        self.pending[send.message_id] = send
        ack = Send(recipient=inbound.sender, message_id=self.ids(),
                   message=Acknowledgement(acknowledged_id=inbound.message_id,
                                           status=AckStatus.ACCEPTED))
        event = (Event(name="provided", data=len(provided)) if refusal is None
                 else Event(name="refused", code=refusal.error_code))
        return [ack, send, self._retry(send, now), event]

    def _retry(self, send: Send, now: dt.datetime) -> ArmTimer:
        return ArmTimer(timer=Timer(name=_retry_name(send.message_id),
                                    deadline=now + RETRY_AFTER))

    def _act(self, action: ProviderAction, now: dt.datetime,
             payload: object) -> list[Effect]:
        if action is ProviderAction.RESEND:
            assert isinstance(payload, str)
            for mid, send in self.pending.items():
                if _retry_name(mid) == payload:
                    return [send, self._retry(send, now)]
            return []
        assert isinstance(payload, Inbound)
        if action in (ProviderAction.PROVIDE, ProviderAction.REFUSE):
            return self._answer(payload, now)
        if action is ProviderAction.REPEAT:
            _, send = self.answered[(payload.sender, payload.message_id)]
            dup = Send(recipient=payload.sender, message_id=self.ids(),
                       message=Acknowledgement(acknowledged_id=payload.message_id,
                                               status=AckStatus.DUPLICATE))
            return [dup, send, self._retry(send, now)] if send.message_id in \
                self.pending else [dup, send]
        msg = payload.message                                     # CLOSE
        ref = answered_id(msg)
        assert ref is not None
        self.pending.pop(ref, None)
        effects: list[Effect] = [CancelTimer(name=_retry_name(ref))]
        if isinstance(msg, ErrorReport):
            effects.append(Event(name="response_refused", data=msg.error_code))
        return effects


def _persons(req: ProvisionRequest) -> int:
    return len(req.by_resident_code) if req.by_resident_code is not None else 1


# The requesting body -----------------------------------------------------------------

class ClientState(Enum):
    """States of one provision request at the requesting body."""

    NEW = "new"
    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


class ClientInput(Enum):
    """Inputs of the requesting body's machine."""

    SUBMIT = "submit"
    ACK = "ack"
    ERROR = "error"
    PROVIDED = "provided"
    REFUSAL = "refusal"
    REPLAY = "replay"
    CONFLICT = "conflict"
    RETRY_DUE = "retry_due"
    DEADLINE = "deadline"


class ClientAction(Enum):
    """Side effects of the requesting body's machine."""

    SEND_REQUEST = "send_request"
    STOP_RETRY = "stop_retry"
    RESEND = "resend"
    ACCEPT = "accept"
    REPORT_REFUSAL = "report_refusal"
    REPORT_ERROR = "report_error"
    REPORT_TIMEOUT = "report_timeout"
    ACK_DUPLICATE = "ack_duplicate"


_CS, _CI, _CA = ClientState, ClientInput, ClientAction
_crows: dict[tuple[ClientState, ClientInput], tuple[ClientAction | None, ClientState]] = {
    (_CS.NEW, _CI.SUBMIT): (_CA.SEND_REQUEST, _CS.REQUESTED),
    (_CS.REQUESTED, _CI.ACK): (_CA.STOP_RETRY, _CS.ACKNOWLEDGED),
    (_CS.REQUESTED, _CI.RETRY_DUE): (_CA.RESEND, _CS.REQUESTED),
    (_CS.ACKNOWLEDGED, _CI.ACK): (None, _CS.ACKNOWLEDGED),
    (_CS.DONE, _CI.REPLAY): (_CA.ACK_DUPLICATE, _CS.DONE),
    (_CS.REFUSED, _CI.REPLAY): (_CA.ACK_DUPLICATE, _CS.REFUSED),
}
for _s in (_CS.REQUESTED, _CS.ACKNOWLEDGED):
    _crows[(_s, _CI.PROVIDED)] = (_CA.ACCEPT, _CS.DONE)
    _crows[(_s, _CI.REFUSAL)] = (_CA.REPORT_REFUSAL, _CS.REFUSED)
    _crows[(_s, _CI.ERROR)] = (_CA.REPORT_ERROR, _CS.FAILED)
    _crows[(_s, _CI.DEADLINE)] = (_CA.REPORT_TIMEOUT, _CS.TIMED_OUT)

CLIENT_TABLE: Table[ClientState, ClientInput, ClientAction] = Table(
    name="provision-client", title="Provision: requesting body (agency, municipality, "
    "prefecture)", states=ClientState, inputs=ClientInput, initial=_CS.NEW, rows=_crows,
    errors={_CS.TIMED_OUT: ErrorCode.FLOW_TIMED_OUT, _CI.CONFLICT: ErrorCode.REPLAY,
            (_CS.NEW, _CI.ACK): ErrorCode.UNKNOWN_CORRELATION,
            (_CS.NEW, _CI.ERROR): ErrorCode.UNKNOWN_CORRELATION,
            (_CS.NEW, _CI.PROVIDED): ErrorCode.UNKNOWN_CORRELATION,
            (_CS.NEW, _CI.REFUSAL): ErrorCode.UNKNOWN_CORRELATION},
)


@register
class ProvisionClient(Machine[ClientState, ClientInput, ClientAction]):
    """One provision request of a requesting body to ``provider`` (a node code)."""

    TABLE = CLIENT_TABLE

    def __init__(self, body: RequestingBody, provider: str, *,
                 ids: IdSource = random_ids) -> None:
        super().__init__()
        self.body = body
        self.provider = provider
        self.ids = ids
        self.request: ProvisionRequest | None = None
        self.request_id: bytes | None = None
        self.response: ProvisionResponse | None = None
        self.response_id: bytes | None = None
        self.outcome: tuple[ProvidedIdentity, ...] | ProvisionRefusal | int | None = None

    def submit(self, request: ProvisionRequest, now: dt.datetime) -> list[Effect]:
        """Send ``request`` (Arts. 30-7(3)-(6), 30-8, 30-10)."""
        return self._step(ClientInput.SUBMIT, now, request)

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """An acknowledgement, error report or the response."""
        return self._step(self.classify(inbound), now, inbound)

    def classify(self, inbound: Inbound) -> ClientInput:
        """The table input for ``inbound``; 4002 for what refers to nothing of ours."""
        msg = inbound.message
        if isinstance(msg, Acknowledgement):
            ref: bytes | None = msg.acknowledged_id
        elif isinstance(msg, ErrorReport):
            ref = msg.refers_to
        elif isinstance(msg, ProvisionResponse):
            ref = inbound.correlation_id
        else:
            raise ProtocolError(f"{type(msg).__name__} is not part of a provision",
                                code=ErrorCode.UNEXPECTED_MESSAGE)
        if self.request_id is None or ref != self.request_id:
            raise ProtocolError("the message refers to no open request",
                                code=ErrorCode.UNKNOWN_CORRELATION)
        if isinstance(msg, Acknowledgement):
            return ClientInput.ACK
        if isinstance(msg, ErrorReport):
            return ClientInput.ERROR
        if inbound.message_id == self.response_id:
            return ClientInput.REPLAY if msg == self.response else ClientInput.CONFLICT
        return ClientInput.PROVIDED if msg.provided is not None else ClientInput.REFUSAL

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """A timer fired: ``retry`` resends, ``deadline`` ends the request."""
        inp = ClientInput.RETRY_DUE if name == RETRY else ClientInput.DEADLINE
        return self._fire(inp, name, now)

    def _check(self, resp: ProvisionResponse) -> None:
        req = self.request
        assert req is not None and resp.provided is not None
        codes = [p.identity_info.resident_code for p in resp.provided]
        if req.by_resident_code is not None:                      # R-30-7-3-09
            asked = list(req.by_resident_code)
            pos = [asked.index(c) if c in asked else -1 for c in codes]
            if -1 in pos or pos != sorted(set(pos)):
                raise ValidationError("R-30-7-3-09: persons not queried or out of order",
                                      field="provided")
            return
        q = req.by_four_items
        assert q is not None
        for i, p in enumerate(resp.provided):                     # R-30-7-3-10
            if four_items(p.identity_info) != four_items(q):
                raise ValidationError("R-30-7-3-10: a person does not match the query",
                                      field=f"provided[{i}]")

    def _act(self, action: ClientAction, now: dt.datetime, payload: object) -> list[Effect]:
        A = ClientAction
        retry = ArmTimer(timer=Timer(name=RETRY, deadline=now + RETRY_AFTER))
        if action is A.SEND_REQUEST:
            assert isinstance(payload, ProvisionRequest)
            if payload.requester != self.body:                    # R-30-7-3-04
                raise ValidationError("the request names another body", field="requester")
            self.request, self.request_id = payload, self.ids()
            return [Send(recipient=self.provider, message=payload,
                         message_id=self.request_id), retry,
                    ArmTimer(timer=Timer(name=DEADLINE, deadline=now + RESPONSE_DEADLINE))]
        if action is A.RESEND:
            assert self.request is not None and self.request_id is not None
            return [Send(recipient=self.provider, message=self.request,
                         message_id=self.request_id), retry]
        if action is A.STOP_RETRY:
            return [CancelTimer(name=RETRY)]
        if action is A.REPORT_TIMEOUT:
            self.outcome = int(ErrorCode.FLOW_TIMED_OUT)
            return [CancelTimer(name=RETRY),
                    Event(name="timed_out", code=ErrorCode.FLOW_TIMED_OUT)]
        assert isinstance(payload, Inbound)
        msg = payload.message
        ack = Send(recipient=payload.sender, message_id=self.ids(),
                   message=Acknowledgement(acknowledged_id=payload.message_id,
                                           status=AckStatus.DUPLICATE
                                           if action is A.ACK_DUPLICATE
                                           else AckStatus.ACCEPTED))
        if action is A.ACK_DUPLICATE:
            return [ack]
        done: list[Effect] = [CancelTimer(name=RETRY), CancelTimer(name=DEADLINE)]
        if action is A.REPORT_ERROR:
            assert isinstance(msg, ErrorReport)
            self.outcome = msg.error_code
            return [*done, Event(name="failed", data=msg.error_code)]
        assert isinstance(msg, ProvisionResponse)
        if action is A.ACCEPT:
            self._check(msg)
            assert msg.provided is not None
            self.outcome = msg.provided
            event = Event(name="provided", data=len(msg.provided))
        else:
            assert msg.refusal is not None
            self.outcome = msg.refusal
            event = Event(name="refused", code=msg.refusal.error_code)
        self.response, self.response_id = msg, payload.message_id
        return [*done, ack, event]


__all__ = [
    "CLIENT_TABLE", "PROVIDER_TABLE", "VOLUME_WINDOW", "AnomalyGuard", "ClientInput",
    "ClientState", "DisclosureLog", "DisclosureRecord", "Limits", "Provider",
    "ProviderInput", "ProviderState", "ProvisionClient",
]
