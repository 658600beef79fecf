"""Designation of resident codes (住民票コードの指定), Art. 30-7(1)(2).

Theory of operation
-------------------
Two machines, the two ends of the flow (spec/designation.md):

* :class:`PrefectureDesignations` (a prefecture, Art. 30-7(1)) designates codes to the
  municipalities of its area: on a :class:`CodeDesignationRequest` of one of them (our
  protocol design) or on its own initiative (:meth:`~PrefectureDesignations.designate`,
  a local event). It chooses the codes at random within its allotment
  (spec/designation.md section 3: the coordination of Art. 30-7(2) fixed in advance),
  never one it designated before to anyone (R-30-7-2-02) and never one its identity
  info holds or held, retired codes included (R-30-7-2-03). It records them in its
  :class:`CodeLedger` *before* the :class:`CodeDesignation` leaves, acknowledges the
  request, and resends the designation with the same message id and content until the
  municipality acknowledges or refuses it (R-PDU-23). A request it cannot cover is
  refused with 5024 CODE_POOL_EXHAUSTED and designates nothing (R-30-7-1-03); one that
  names another municipality than its sender, or a municipality of another prefecture,
  is 1024 (R-30-7-1-02).
* :class:`MunicipalityCodes` (a municipality) takes a designation only from its own
  prefecture and only naming itself (1024 otherwise, R-30-7-1-06), adds its codes to
  its :class:`CodePool` and acknowledges; it asks for more with
  :meth:`~MunicipalityCodes.request` (resent until acknowledged). When it has been
  designated codes, a new resident code (a birth, a resident code change) comes only
  from its pool (:meth:`~MunicipalityCodes.next_code`, :meth:`~MunicipalityCodes.
  check_new`, R-30-7-1-04): 5023 RESIDENT_CODE_NOT_DESIGNATED for any other code, 5024
  when none is left. A municipality never designated any code assigns as before
  (R-ID-02): the rule starts with its first designation.

Both machines are always ``ready``: their data are in the ledger and the pool, which a
node keeps in its database (:mod:`juki_protocol.node.designation_store`) and this module
and :mod:`juki_protocol.machines.designation_memory` keeps in memory. The machines hold no
other state but their retry timers, so a node that rebuilds them (a restart, a reload
after a failed commit or a retention purge) loses nothing (:meth:`resume`).

:func:`check_designated` is the prefecture's check of an identity info update
(R-30-7-1-05): an update of a municipality it has designated codes to, whose change
reason writes a new code (``birth``, ``residentCodeChange``), must carry a code it
designated to that municipality and that no identity info holds yet.
:class:`DesignationCheckedStore` puts it in front of any identity store.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from juki_protocol.errors import BusinessError, ErrorCode, ProtocolError
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
from juki_protocol.machines.identity import M2M_TYPES
from juki_protocol.messages.common import ChangeReason
from juki_protocol.messages.designation import (
    CodeDesignation,
    CodeDesignationRequest,
    new_designated_code,
)
from juki_protocol.messages.identity import IdentityInfoUpdate
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport

#: R-TIME-02 (spec/deadlines.md): the resend interval of a request and a designation.
RETRY_AFTER = dt.timedelta(seconds=60)
RETRY = "retry"
#: The change reasons that write a new resident code into a record (R-30-7-1-04).
NEW_CODE_REASONS = frozenset({ChangeReason.BIRTH, ChangeReason.RESIDENT_CODE_CHANGE})
#: Random draws per code before a prefecture gives up on its allotment (5024).
DRAWS_PER_CODE = 64


def _retry_name(message_id: bytes) -> str:
    return f"{RETRY}:{message_id.hex()}"


# Stores ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Designated:
    """One designation a prefecture sent: its message id, the municipality, the codes
    (in the order sent) and the request it answers (None: on the prefecture's own
    initiative)."""

    message_id: bytes
    municipality: str
    codes: tuple[str, ...]
    correlation_id: bytes | None = None

    @property
    def message(self) -> CodeDesignation:
        """The :class:`CodeDesignation` as sent (and resent)."""
        return CodeDesignation(municipality=self.municipality, codes=self.codes)


class CodeLedger(Protocol):
    """What a prefecture keeps of its designations (in memory:
    :class:`juki_protocol.machines.designation_memory.MemoryLedger`; in a node's
    database: :class:`juki_protocol.node.designation_store.SqlLedger`)."""

    def designated_to(self, code: str) -> str | None: ...
    def designated_count(self, municipality: str) -> int: ...
    def held(self, code: str) -> bool: ...
    def mark_recorded(self, code: str, now: dt.datetime) -> None: ...
    def add(self, designation: Designated, now: dt.datetime) -> None: ...
    def pending(self) -> list[Designated]: ...
    def settle(self, message_id: bytes, outcome: str) -> bool: ...


class CodePool(Protocol):
    """What a municipality keeps of the codes designated to it and of its requests (in
    memory: :class:`juki_protocol.machines.designation_memory.MemoryPool`; in a node's
    database: :class:`juki_protocol.node.designation_store.SqlPool`)."""

    def designated(self) -> int: ...
    def free(self) -> int: ...
    def free_codes(self, limit: int) -> list[str]: ...
    def is_free(self, code: str) -> bool: ...
    def holds(self, code: str) -> bool: ...
    def add(self, codes: tuple[str, ...], message_id: bytes, now: dt.datetime) -> None: ...
    def consume(self, code: str, now: dt.datetime) -> None: ...
    def add_request(self, message_id: bytes, request: CodeDesignationRequest,
                    now: dt.datetime) -> None: ...
    def open_requests(self) -> list[tuple[bytes, CodeDesignationRequest, str]]: ...
    def settle_request(self, message_id: bytes, state: str) -> bool: ...


def check_designated(update: IdentityInfoUpdate, ledger: CodeLedger) -> None:
    """R-30-7-1-05: raise 5023 if ``update`` writes a new code (a birth, a resident code
    change) at a municipality this prefecture designated codes to, and that code was not
    designated to it or is already held (recorded before, retired)."""
    if update.change_info.change_reason not in NEW_CODE_REASONS:
        return
    if not ledger.designated_count(update.municipality):
        return          # Not yet designated: its codes predate the designations.
    code = update.identity_info.resident_code
    if ledger.designated_to(code) != update.municipality or ledger.held(code):
        raise BusinessError("Art. 30-7(1): the new resident code is not one designated "
                            "to the municipality, or it was recorded before",
                            code=ErrorCode.RESIDENT_CODE_NOT_DESIGNATED,
                            field="identity_info.resident_code")


class DesignationCheckedStore:
    """An identity store whose :meth:`check` also applies :func:`check_designated`, and
    whose :meth:`apply` marks a designated code recorded in the ledger (so that it stays
    held after the retention period erased its identity info); every other attribute is
    the wrapped store's."""

    def __init__(self, inner: Any, ledger: CodeLedger) -> None:
        self.inner = inner
        self.ledger = ledger

    def check(self, update: IdentityInfoUpdate) -> None:
        self.inner.check(update)
        check_designated(update, self.ledger)

    def apply(self, update: IdentityInfoUpdate, now: dt.datetime) -> None:
        self.check(update)
        self.inner.apply(update, now)
        code = update.identity_info.resident_code
        if self.ledger.designated_to(code) is not None:
            self.ledger.mark_recorded(code, now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


# The prefecture ----------------------------------------------------------------------

class DesignatorState(Enum):
    """A designating prefecture is always ready; its data are in its ledger."""

    READY = "ready"


class DesignatorInput(Enum):
    """How what a prefecture receives (or does) is classified."""

    REQUEST = "request"            # a request of a municipality of its area
    DESIGNATE = "designate"        # a designation on its own initiative (local)
    EXHAUSTED = "exhausted"        # a request its allotment cannot cover
    MISADDRESSED = "misaddressed"  # a request naming another or a foreign municipality
    ACK = "ack"                    # a designation acknowledged
    REFUSED = "refused"            # a designation refused
    RETRY_DUE = "retry_due"        # a designation's retry timer fired
    FOREIGN = "foreign"            # a municipality-to-municipality message
    OTHER = "other"                # any other message


class DesignatorAction(Enum):
    """Side effects of a designating prefecture."""

    ANSWER = "answer"
    DESIGNATE = "designate"
    CLOSE = "close"
    RESEND = "resend"


_DS, _DI, _DA = DesignatorState, DesignatorInput, DesignatorAction
DESIGNATOR_TABLE: Table[DesignatorState, DesignatorInput, DesignatorAction] = Table(
    name="code-designator",
    title="Resident code designation: prefecture (Art. 30-7(1)(2))",
    states=DesignatorState, inputs=DesignatorInput, initial=_DS.READY,
    rows={
        (_DS.READY, _DI.REQUEST): (_DA.ANSWER, _DS.READY),
        (_DS.READY, _DI.DESIGNATE): (_DA.DESIGNATE, _DS.READY),
        (_DS.READY, _DI.ACK): (_DA.CLOSE, _DS.READY),
        (_DS.READY, _DI.REFUSED): (_DA.CLOSE, _DS.READY),
        (_DS.READY, _DI.RETRY_DUE): (_DA.RESEND, _DS.READY),
    },
    errors={_DI.EXHAUSTED: ErrorCode.CODE_POOL_EXHAUSTED,
            _DI.MISADDRESSED: ErrorCode.INVALID_FIELD,
            _DI.FOREIGN: ErrorCode.ROLE_NOT_ALLOWED},
)


@register
class PrefectureDesignations(Machine[DesignatorState, DesignatorInput, DesignatorAction]):
    """Art. 30-7(1)(2) at prefecture ``code``: see the module docstring.

    rng: where the data digits come from (the operating system's by default, R-ID-02);
    capacity: how many more codes it may designate (None: its whole allotment; a test
    hook, spec/node.md section 4).
    """

    TABLE = DESIGNATOR_TABLE

    def __init__(self, code: str, ledger: CodeLedger, *, ids: IdSource = random_ids,
                 rng: random.Random | None = None) -> None:
        super().__init__()
        if not is_prefecture_code(code):
            raise ValueError("a designating prefecture has a prefecture's own code")
        self.code = code
        self.ledger = ledger
        self.ids = ids
        self.rng = rng if rng is not None else random.SystemRandom()
        self.capacity: int | None = None

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """A request, or the answer to one of our designations."""
        return self._step(self.classify(inbound), now, inbound)

    def designate(self, municipality: str, count: int, now: dt.datetime) -> list[Effect]:
        """Designate ``count`` codes to ``municipality`` on the prefecture's own
        initiative (a local event): 1024 for a municipality outside its area, 5024 when
        the allotment cannot cover it."""
        request = CodeDesignationRequest(municipality=municipality, count=count)
        inp = (DesignatorInput.MISADDRESSED if prefecture_of(municipality) != self.code
               else DesignatorInput.DESIGNATE if self._room(count)
               else DesignatorInput.EXHAUSTED)
        return self._step(inp, now, request)

    def classify(self, inbound: Inbound) -> DesignatorInput:
        """The table input for ``inbound``; 4002 for an answer to nothing of ours."""
        msg = inbound.message
        if type(msg).__name__ in M2M_TYPES:
            return DesignatorInput.FOREIGN
        if isinstance(msg, (Acknowledgement, ErrorReport)):
            ref = answered_id(msg)
            if not any(d.message_id == ref for d in self.ledger.pending()):
                raise ProtocolError("the answer refers to no designation of ours",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
            return (DesignatorInput.ACK if isinstance(msg, Acknowledgement)
                    else DesignatorInput.REFUSED)
        if not isinstance(msg, CodeDesignationRequest):
            return DesignatorInput.OTHER
        if msg.municipality != inbound.sender or \
                prefecture_of(msg.municipality) != self.code:     # R-30-7-1-02
            return DesignatorInput.MISADDRESSED
        return DesignatorInput.REQUEST if self._room(msg.count) else DesignatorInput.EXHAUSTED

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """A designation's retry timer (``retry:<message id>``) fired: resend it."""
        self._due(name, now)
        return self._step(DesignatorInput.RETRY_DUE, now, name)

    def resume(self, now: dt.datetime) -> list[Effect]:
        """After a start or a rebuild: resend every unacknowledged designation, with
        its retry timer (R-PDU-23)."""
        effects: list[Effect] = []
        for d in self.ledger.pending():
            effects += [self._send(d), self._retry(d.message_id, now)]
            self.timers[_retry_name(d.message_id)] = Timer(
                name=_retry_name(d.message_id), deadline=now + RETRY_AFTER)
        return effects

    # Decisions -------------------------------------------------------------------------

    def _room(self, count: int) -> bool:
        return self.capacity is None or count <= self.capacity

    def is_free(self, code: str) -> bool:
        """Whether ``code`` may be designated: never designated (R-30-7-2-02) and never
        held by identity info, current, erased or retired (R-30-7-2-03)."""
        return self.ledger.designated_to(code) is None and not self.ledger.held(code)

    def choose(self, count: int) -> tuple[str, ...]:
        """``count`` fresh codes of the allotment, chosen at random (R-30-7-2-01,
        R-30-7-2-04); 5024 when random draws keep meeting taken codes."""
        chosen: dict[str, None] = {}
        draws = 0
        while len(chosen) < count:
            draws += 1
            if draws > DRAWS_PER_CODE * count:
                raise BusinessError("the allotment has no fresh code left",
                                    code=ErrorCode.CODE_POOL_EXHAUSTED)
            code = new_designated_code(self.rng, self.code)
            if code not in chosen and self.is_free(code):
                chosen[code] = None
        return tuple(chosen)

    # Actions ---------------------------------------------------------------------------

    def _send(self, d: Designated) -> Send:
        return Send(recipient=d.municipality, message=d.message, message_id=d.message_id,
                    correlation_id=d.correlation_id)

    def _retry(self, message_id: bytes, now: dt.datetime) -> ArmTimer:
        return ArmTimer(timer=Timer(name=_retry_name(message_id),
                                    deadline=now + RETRY_AFTER))

    def _act(self, action: DesignatorAction, now: dt.datetime,
             payload: object) -> list[Effect]:
        if action is DesignatorAction.RESEND:
            for d in self.ledger.pending():
                if _retry_name(d.message_id) == payload:
                    return [self._send(d), self._retry(d.message_id, now)]
            # Nothing pending under that name (settled, or its transaction rolled back).
            return [CancelTimer(name=str(payload))]
        if action is DesignatorAction.CLOSE:
            assert isinstance(payload, Inbound)
            msg = payload.message
            ref = answered_id(msg)
            assert ref is not None
            outcome = ("acked" if isinstance(msg, Acknowledgement)
                       else f"refused:{getattr(msg, 'error_code', 0)}")
            self.ledger.settle(ref, outcome)
            effects: list[Effect] = [CancelTimer(name=_retry_name(ref))]
            if isinstance(msg, ErrorReport):
                effects.append(Event(name="designation_refused", data=msg.error_code))
            return effects
        if action is DesignatorAction.ANSWER:
            assert isinstance(payload, Inbound)
            request = payload.message
            correlation: bytes | None = payload.message_id
        else:
            request, correlation = payload, None
        assert isinstance(request, CodeDesignationRequest)
        codes = self.choose(request.count)                  # raises before any change
        d = Designated(message_id=self.ids(), municipality=request.municipality,
                       codes=codes, correlation_id=correlation)
        self.ledger.add(d, now)          # recorded before the designation leaves
        if self.capacity is not None:
            self.capacity -= len(codes)
        effects = []
        if isinstance(payload, Inbound):
            effects.append(Send(recipient=payload.sender, message_id=self.ids(),
                                message=Acknowledgement(acknowledged_id=payload.message_id,
                                                        status=AckStatus.ACCEPTED)))
        return [*effects, self._send(d), self._retry(d.message_id, now),
                Event(name="designated", data=(d.municipality, len(codes)))]


# The municipality ----------------------------------------------------------------------

class PoolState(Enum):
    """A municipality's codes are always ready; their data are in its pool."""

    READY = "ready"


class PoolInput(Enum):
    """How what a municipality receives (or does) about codes is classified."""

    DESIGNATION = "designation"    # codes from its prefecture, for itself
    REQUEST = "request"            # ask for more (local)
    REQUEST_ACK = "request_ack"    # its request acknowledged
    REQUEST_ERROR = "request_error"  # its request refused
    RETRY_DUE = "retry_due"        # a request's retry timer fired
    MISADDRESSED = "misaddressed"  # another municipality's, or another prefecture's
    CONFLICT = "conflict"          # names a code designated to it before
    UNKNOWN_REQUEST = "unknown_request"  # answers no request of its own
    OTHER = "other"                # any other message


class PoolAction(Enum):
    """Side effects of a municipality's codes."""

    ACCEPT = "accept"
    SEND_REQUEST = "send_request"
    STOP_RETRY = "stop_retry"
    REPORT_REFUSAL = "report_refusal"
    RESEND = "resend"


_PS, _PI, _PA = PoolState, PoolInput, PoolAction
POOL_TABLE: Table[PoolState, PoolInput, PoolAction] = Table(
    name="code-pool", title="Resident code designation: municipality (Art. 30-7(1))",
    states=PoolState, inputs=PoolInput, initial=_PS.READY,
    rows={
        (_PS.READY, _PI.DESIGNATION): (_PA.ACCEPT, _PS.READY),
        (_PS.READY, _PI.REQUEST): (_PA.SEND_REQUEST, _PS.READY),
        (_PS.READY, _PI.REQUEST_ACK): (_PA.STOP_RETRY, _PS.READY),
        (_PS.READY, _PI.REQUEST_ERROR): (_PA.REPORT_REFUSAL, _PS.READY),
        (_PS.READY, _PI.RETRY_DUE): (_PA.RESEND, _PS.READY),
    },
    errors={_PI.MISADDRESSED: ErrorCode.INVALID_FIELD, _PI.CONFLICT: ErrorCode.INVALID_FIELD,
            _PI.UNKNOWN_REQUEST: ErrorCode.UNKNOWN_CORRELATION},
)


@register
class MunicipalityCodes(Machine[PoolState, PoolInput, PoolAction]):
    """Art. 30-7(1) at municipality ``code``: see the module docstring."""

    TABLE = POOL_TABLE

    def __init__(self, code: str, pool: CodePool, *, ids: IdSource = random_ids) -> None:
        super().__init__()
        self.code = code
        self.prefecture = prefecture_of(code)
        self.pool = pool
        self.ids = ids

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """A designation, or the answer to one of our requests."""
        return self._step(self.classify(inbound), now, inbound)

    def request(self, count: int, now: dt.datetime) -> list[Effect]:
        """Ask the prefecture for ``count`` more codes (a local event)."""
        return self._step(PoolInput.REQUEST, now, CodeDesignationRequest(
            municipality=self.code, count=count))

    def classify(self, inbound: Inbound) -> PoolInput:
        """The table input for ``inbound``."""
        msg = inbound.message
        if isinstance(msg, (Acknowledgement, ErrorReport)):
            ref = answered_id(msg)
            if not any(mid == ref for mid, _, state in self.pool.open_requests()
                       if state == "pending"):
                raise ProtocolError("the answer refers to no request of ours",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
            return (PoolInput.REQUEST_ACK if isinstance(msg, Acknowledgement)
                    else PoolInput.REQUEST_ERROR)
        if not isinstance(msg, CodeDesignation):
            return PoolInput.OTHER
        if msg.municipality != self.code or inbound.sender != self.prefecture:
            return PoolInput.MISADDRESSED                          # R-30-7-1-06
        if inbound.correlation_id is not None and not any(
                mid == inbound.correlation_id for mid, _, _ in self.pool.open_requests()):
            return PoolInput.UNKNOWN_REQUEST                       # R-PDU-18
        if any(self.pool.holds(c) for c in msg.codes):
            return PoolInput.CONFLICT                              # R-30-7-2-02
        return PoolInput.DESIGNATION

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """A request's retry timer fired: resend it."""
        self._due(name, now)
        return self._step(PoolInput.RETRY_DUE, now, name)

    def resume(self, now: dt.datetime) -> list[Effect]:
        """After a start: resend every request not yet acknowledged (R-PDU-23)."""
        effects: list[Effect] = []
        for mid, req, state in self.pool.open_requests():
            if state == "pending":
                effects += [Send(recipient=self.prefecture, message=req, message_id=mid),
                            self._retry(mid, now)]
                self.timers[_retry_name(mid)] = Timer(name=_retry_name(mid),
                                                      deadline=now + RETRY_AFTER)
        return effects

    # The codes of new records (R-30-7-1-04) -------------------------------------------

    def designated(self) -> bool:
        """Whether any code was ever designated to this municipality."""
        return self.pool.designated() > 0

    def next_code(self) -> str | None:
        """The next free designated code (not yet taken: :meth:`consume` takes it);
        None if no code was ever designated; 5024 if every one is recorded."""
        if not self.designated():
            return None
        free = self.pool.free_codes(1)
        if not free:
            raise BusinessError("every resident code designated to the municipality is "
                                "recorded; ask the prefecture for more",
                                code=ErrorCode.CODE_POOL_EXHAUSTED)
        return free[0]

    def check_new(self, code: str) -> None:
        """Raise 5023 unless ``code`` may be written as a new code: any code before the
        first designation, then only a free designated one."""
        if self.designated() and not self.pool.is_free(code):
            raise BusinessError("Art. 30-7(1): the resident code is not one designated "
                                "to this municipality, or it is recorded already",
                                code=ErrorCode.RESIDENT_CODE_NOT_DESIGNATED,
                                field="resident_code")

    def consume(self, code: str, now: dt.datetime) -> None:
        """``code`` is written into a record: it leaves the pool for good."""
        self.check_new(code)
        self.pool.consume(code, now)

    # Actions ---------------------------------------------------------------------------

    def _retry(self, message_id: bytes, now: dt.datetime) -> ArmTimer:
        return ArmTimer(timer=Timer(name=_retry_name(message_id),
                                    deadline=now + RETRY_AFTER))

    def _act(self, action: PoolAction, now: dt.datetime, payload: object) -> list[Effect]:
        if action is PoolAction.SEND_REQUEST:
            assert isinstance(payload, CodeDesignationRequest)
            mid = self.ids()
            self.pool.add_request(mid, payload, now)
            return [Send(recipient=self.prefecture, message=payload, message_id=mid),
                    self._retry(mid, now)]
        if action is PoolAction.RESEND:
            for mid, req, state in self.pool.open_requests():
                if state == "pending" and _retry_name(mid) == payload:
                    return [Send(recipient=self.prefecture, message=req, message_id=mid),
                            self._retry(mid, now)]
            return [CancelTimer(name=str(payload))]
        assert isinstance(payload, Inbound)
        msg = payload.message
        if action in (PoolAction.STOP_RETRY, PoolAction.REPORT_REFUSAL):
            ref = answered_id(msg)
            assert ref is not None
            effects: list[Effect] = [CancelTimer(name=_retry_name(ref))]
            if isinstance(msg, ErrorReport):
                self.pool.settle_request(ref, f"refused:{msg.error_code}")
                effects.append(Event(name="request_refused",
                                     code=_registered(msg.error_code)))
            else:
                self.pool.settle_request(ref, "acked")
            return effects
        assert isinstance(msg, CodeDesignation)                   # ACCEPT
        self.pool.add(msg.codes, payload.message_id, now)
        if payload.correlation_id is not None:
            self.pool.settle_request(payload.correlation_id, "done")
        return [Send(recipient=payload.sender, message_id=self.ids(),
                     message=Acknowledgement(acknowledged_id=payload.message_id,
                                             status=AckStatus.ACCEPTED)),
                Event(name="codes_designated", data=len(msg.codes))]


def _registered(code: int) -> ErrorCode:
    return ErrorCode(code) if code in ErrorCode._value2member_map_ else \
        ErrorCode.INTERNAL_ERROR


__all__ = [
    "DESIGNATOR_TABLE", "NEW_CODE_REASONS", "POOL_TABLE", "RETRY_AFTER", "CodeLedger",
    "CodePool", "Designated", "DesignationCheckedStore", "DesignatorInput",
    "DesignatorState", "MunicipalityCodes", "PoolInput",
    "PoolState", "PrefectureDesignations", "check_designated",
]
