"""Identity info updates and their relay, Arts. 30-5 and 30-11.

Theory of operation
-------------------
Three machines, both ends of both hops (spec/identity.md):

* :class:`IdentityUpdater` (municipality, Art. 30-5) turns every record, erase and
  correction of the five items into exactly one :class:`IdentityInfoUpdate`, numbered
  1, 2, 3... (R-30-5-0-05). It sends one update at a time and keeps the rest queued, so
  the order on the wire is the order of the changes; an unacknowledged update is resent
  with the same message id and content when its retry timer fires or the prefecture
  answers 4004 OUT_OF_ORDER. A refusal that only says "not now" (9001 INTERNAL_ERROR,
  9002 OVERLOADED, 9003 STORAGE_FAILURE: the receiver stored nothing) keeps the update
  and brings its resend forward to a short back-off, 1 s doubling up to the retry
  interval and reset by the next acknowledgement (R-30-5-0-10); any other refusal
  stalls the sender for the operator. A resident code change retires the old code for
  good.
  Optionally (``window`` > 1, not the default) up to ``window`` updates are on the wire
  at once, still in order: the receiver applies them in order over the one connection
  and acknowledges them in order; a retry or 4004 resends every update on the wire
  from the first unacknowledged one (R-30-5-0-05), and an answer to any but the first
  is not taken (the first is answered first).
  A municipality that stops feeding the network (spec/suspension.md) puts its updater
  in state ``held``: it sends nothing, not even a resend; a change is still numbered
  and queued (and so stored by the node); an answer to an update that was on the wire
  before the stop is taken as usual. On resumption it puts its queue on the wire from
  the first unacknowledged update, in order (R-SUSP-05).
* :class:`PrefectureReceiver` (prefecture) applies update m + 1, acknowledges an
  identical update numbered m or less as ``duplicate`` and changes nothing, and rejects
  anything else with 4004 OUT_OF_ORDER (R-30-5-0-06). Each applied update is relayed
  once, in order, through its own :class:`RelaySender` (Art. 30-11, R-30-11-0-01).
* :class:`NationalReceiver` (designated centre) applies relays by the same rule per
  prefecture (R-30-11-0-02).

:class:`IdentityUpdater` and :class:`RelaySender` share the table ``sequenced-sender``;
the two receivers share ``sequenced-receiver``. Prefecture and national nodes refuse,
before classification into the table's inputs, any message that is not theirs: a
municipality-to-municipality message is 3003 ROLE_NOT_ALLOWED (R-12-2-2-02,
R-24-2-4-03), and a message with unknown extension additions is 5010
DATA_MINIMISATION (R-30-5-0-08, R-30-11-0-03); both are inputs of the table with no
row, so the diagrams show them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import Enum
from typing import Generic, TypeVar

from juki_protocol.errors import BusinessError, ErrorCode, ProtocolError, ValidationError
from juki_protocol.identifiers import prefecture_of
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
    random_ids,
    register,
)
from juki_protocol.machines.memory_store import IdentityStore
from juki_protocol.machines.stores import IdentityHolder
from juki_protocol.messages.common import ChangeInfo, ChangeReason, IdentityInfo
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport

#: R-TIME-02 (spec/deadlines.md): how long a sender waits for an acknowledgement before
#: resending (R-PDU-23).
RETRY_AFTER = dt.timedelta(seconds=60)
RETRY_TIMER = "retry"
#: R-TIME-03 (spec/deadlines.md): the first back-off after a transient refusal; it
#: doubles up to RETRY_AFTER (R-30-5-0-10).
BACK_OFF = dt.timedelta(seconds=1)
#: Refusals that mean "retry later": the receiver stored nothing of the message
#: (spec/errors.md; R-NODE-13, R-PDU-22), so a resend of the same message is new to it.
TRANSIENT_CODES = frozenset({ErrorCode.INTERNAL_ERROR, ErrorCode.OVERLOADED,
                             ErrorCode.STORAGE_FAILURE})

#: Message types that only municipalities exchange (Arts. 9(1)(2), 12-2, 24-2).
M2M_TYPES = frozenset({"MoveInNotice", "WideAreaIssuanceRequest", "WideAreaIssuanceResponse",
                       "SpecialMoveInNotice", "MoveOutCertificate", "FamilyRegisterNotice"})


# The sending side (IdentityUpdater, RelaySender) ----------------------------------------

class SenderState(Enum):
    """A sequenced sender: nothing outstanding, one message unacknowledged, stopped by
    a refusal, or held by its operator (spec/suspension.md)."""

    IDLE = "idle"
    AWAITING_ACK = "awaiting_ack"
    STALLED = "stalled"
    HELD = "held"


class SenderInput(Enum):
    """What a sequenced sender reacts to."""

    SUBMIT = "submit"              # a new change to send (local)
    ACK_LAST = "ack_last"          # the outstanding message acknowledged, queue empty
    ACK_MORE = "ack_more"          # the outstanding message acknowledged, more queued
    OUT_OF_ORDER = "out_of_order"  # the peer answered 4004 OUT_OF_ORDER
    BUSY = "busy"                  # the peer answered 9001, 9002 or 9003: retry later
    REFUSED = "refused"            # the peer refused with any other code
    RETRY_DUE = "retry_due"        # the retry timer fired
    HOLD = "hold"                  # the operator stopped the feed (local)
    RELEASE = "release"            # the feed resumed, messages queued (local)
    RELEASE_EMPTY = "release_empty"  # the feed resumed, nothing queued (local)


class SenderAction(Enum):
    """The side effects of a sequenced sender."""

    SEND = "send"
    QUEUE = "queue"
    SEND_NEXT = "send_next"
    DRAIN = "drain"
    RESEND = "resend"
    BACK_OFF = "back_off"
    STALL = "stall"
    HOLD = "hold"
    RETIRE = "retire"


_SS, _SI, _SA = SenderState, SenderInput, SenderAction
SENDER_TABLE: Table[SenderState, SenderInput, SenderAction] = Table(
    name="sequenced-sender",
    title="Sequenced sender: IdentityUpdater (Art. 30-5) and RelaySender (Art. 30-11)",
    states=SenderState, inputs=SenderInput, initial=_SS.IDLE,
    rows={
        (_SS.IDLE, _SI.SUBMIT): (_SA.SEND, _SS.AWAITING_ACK),
        (_SS.AWAITING_ACK, _SI.SUBMIT): (_SA.QUEUE, _SS.AWAITING_ACK),
        (_SS.AWAITING_ACK, _SI.ACK_MORE): (_SA.SEND_NEXT, _SS.AWAITING_ACK),
        (_SS.AWAITING_ACK, _SI.ACK_LAST): (_SA.DRAIN, _SS.IDLE),
        (_SS.AWAITING_ACK, _SI.OUT_OF_ORDER): (_SA.RESEND, _SS.AWAITING_ACK),
        (_SS.AWAITING_ACK, _SI.RETRY_DUE): (_SA.RESEND, _SS.AWAITING_ACK),
        (_SS.AWAITING_ACK, _SI.BUSY): (_SA.BACK_OFF, _SS.AWAITING_ACK),
        (_SS.AWAITING_ACK, _SI.REFUSED): (_SA.STALL, _SS.STALLED),
        (_SS.STALLED, _SI.SUBMIT): (_SA.QUEUE, _SS.STALLED),
        # spec/suspension.md: the feed stopped and resumed (R-SUSP-05).
        (_SS.IDLE, _SI.HOLD): (_SA.HOLD, _SS.HELD),
        (_SS.AWAITING_ACK, _SI.HOLD): (_SA.HOLD, _SS.HELD),
        (_SS.HELD, _SI.HOLD): (None, _SS.HELD),
        (_SS.HELD, _SI.SUBMIT): (_SA.QUEUE, _SS.HELD),
        (_SS.HELD, _SI.ACK_LAST): (_SA.RETIRE, _SS.HELD),
        (_SS.HELD, _SI.ACK_MORE): (_SA.RETIRE, _SS.HELD),
        (_SS.HELD, _SI.OUT_OF_ORDER): (None, _SS.HELD),
        (_SS.HELD, _SI.BUSY): (None, _SS.HELD),
        (_SS.HELD, _SI.REFUSED): (_SA.STALL, _SS.STALLED),
        (_SS.HELD, _SI.RETRY_DUE): (None, _SS.HELD),
        (_SS.HELD, _SI.RELEASE): (_SA.RESEND, _SS.AWAITING_ACK),
        (_SS.HELD, _SI.RELEASE_EMPTY): (None, _SS.IDLE),
        # A stalled sender waits for its operator, held or not.
        (_SS.STALLED, _SI.HOLD): (None, _SS.STALLED),
        (_SS.STALLED, _SI.RELEASE): (None, _SS.STALLED),
        (_SS.STALLED, _SI.RELEASE_EMPTY): (None, _SS.STALLED),
    },
    errors={_SI.ACK_LAST: ErrorCode.UNKNOWN_CORRELATION,
            _SI.ACK_MORE: ErrorCode.UNKNOWN_CORRELATION,
            _SI.OUT_OF_ORDER: ErrorCode.UNKNOWN_CORRELATION,
            _SI.BUSY: ErrorCode.UNKNOWN_CORRELATION,
            _SI.REFUSED: ErrorCode.UNKNOWN_CORRELATION},
)

M = TypeVar("M", IdentityInfoUpdate, IdentityInfoRelay)


class _SequencedSender(Machine[SenderState, SenderInput, SenderAction], Generic[M]):
    """Sends numbered messages in order, resending until acknowledged: one at a time,
    or up to ``window`` at once.

    ``outbox`` holds ``(message_id, message)`` pairs: the first ``in_flight`` (at least
    the first) are on the wire. With a window, the table's ``QUEUE`` also puts the
    message on the wire if the window has room, and ``SEND_NEXT`` refills the window.
    ``BACK_OFF`` (a transient refusal of the first) sends nothing: it brings the retry
    timer forward to ``backoff``, doubled for each transient refusal in a row, at most
    :data:`RETRY_AFTER`; the timer then resends as ``RESEND`` does.
    """

    TABLE = SENDER_TABLE

    def __init__(self, peer: str, *, ids: IdSource = random_ids, window: int = 1) -> None:
        super().__init__()
        if window < 1:
            raise ValueError("the window is at least 1")
        self.peer = peer
        self.ids = ids
        self.window = window
        self.next_sequence = 1
        self.outbox: list[tuple[bytes, M]] = []
        self.in_flight = 0
        self.backoff = BACK_OFF
        self.busy = 0          # transient refusals in a row (R-30-5-0-10)

    def _submit(self, message: M, now: dt.datetime) -> list[Effect]:
        return self._step(SenderInput.SUBMIT, now, message)

    def restore(self, last: int, pending: Sequence[tuple[bytes, M]], *,
                held: bool = False, stalled: bool = False) -> None:
        """Take back what a store kept of this sender (at a start, or after a reload):
        ``last`` is the last number used; ``pending`` the unacknowledged messages
        (message id, message), in order. None is on the wire until :meth:`resume` or a
        :meth:`release`; ``held``: the feed was stopped (R-SUSP-06); ``stalled``: the
        sender this one replaces after a reload was stopped by a final refusal of the
        first message, which a reload does not lift (R-30-5-0-12)."""
        self.next_sequence = last + 1
        self.outbox = list(pending)
        self.in_flight = 0
        self.state = SenderState.STALLED if stalled and self.outbox else \
            SenderState.HELD if held else \
            SenderState.AWAITING_ACK if self.outbox else SenderState.IDLE

    def resume(self, now: dt.datetime) -> list[Effect]:
        """Resend the first unacknowledged message and arm the retry timer, as at a
        start (R-PDU-23); the rest follow as the first is acknowledged. Nothing while
        the sender is held (spec/suspension.md) or stalled (R-30-5-0-12)."""
        if not self.outbox or self.state in (SenderState.HELD, SenderState.STALLED):
            return []
        mid, message = self.outbox[0]
        timer = Timer(name=RETRY_TIMER, deadline=now + RETRY_AFTER)
        self.timers[RETRY_TIMER] = timer
        return [Send(recipient=self.peer, message=message, message_id=mid),
                ArmTimer(timer=timer)]

    def hold(self, now: dt.datetime) -> list[Effect]:
        """Stop sending (the feed stopped, spec/suspension.md): nothing more goes on
        the wire, not even a resend, until :meth:`release`."""
        return self._step(SenderInput.HOLD, now)

    def release(self, now: dt.datetime) -> list[Effect]:
        """The feed resumed: put the queue on the wire from the first unacknowledged
        message, in order (R-SUSP-05)."""
        return self._step(SenderInput.RELEASE if self.outbox else SenderInput.RELEASE_EMPTY,
                          now)

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """An Acknowledgement or ErrorReport from the peer for the outstanding message."""
        msg = inbound.message
        if isinstance(msg, Acknowledgement):
            inp = SenderInput.ACK_MORE if len(self.outbox) > 1 else SenderInput.ACK_LAST
            if self.outbox and msg.acknowledged_id != self.outbox[0][0]:
                raise ProtocolError("acknowledgement of no outstanding message",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
        elif isinstance(msg, ErrorReport):
            if msg.error_code == ErrorCode.OUT_OF_ORDER:
                inp = SenderInput.OUT_OF_ORDER
            elif msg.error_code in TRANSIENT_CODES:
                inp = SenderInput.BUSY
            else:
                inp = SenderInput.REFUSED
            if self.outbox and msg.refers_to != self.outbox[0][0]:
                raise ProtocolError("error report for no outstanding message",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
        else:
            raise ProtocolError(f"{type(msg).__name__} is not an answer to this sender",
                                code=ErrorCode.UNEXPECTED_MESSAGE)
        if self.state is SenderState.HELD and not self.in_flight:
            raise ProtocolError("an answer while held, with nothing on the wire",
                                code=ErrorCode.UNKNOWN_CORRELATION)
        return self._step(inp, now, msg)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """The retry timer fired: resend the outstanding message."""
        if self.state is SenderState.AWAITING_ACK:
            self._due(name, now)
        return self._step(SenderInput.RETRY_DUE, now)

    def _wire(self, now: dt.datetime, start: int = 0) -> list[Effect]:
        """Put ``outbox[start:]`` on the wire up to the window (from the first
        unacknowledged message when ``start`` is 0), with the retry timer."""
        stop = min(len(self.outbox), max(self.window, 1))
        self.in_flight = max(self.in_flight, stop)
        wire: list[Effect] = [Send(recipient=self.peer, message=message, message_id=mid)
                              for mid, message in self.outbox[start:stop]]
        wire.append(ArmTimer(timer=Timer(name=RETRY_TIMER, deadline=now + RETRY_AFTER)))
        return wire

    def _act(self, action: SenderAction, now: dt.datetime, payload: object) -> list[Effect]:
        if action in (SenderAction.SEND, SenderAction.QUEUE):
            self.outbox.append((self.ids(), payload))  # type: ignore[arg-type]
            self.next_sequence += 1
            if action is SenderAction.SEND:
                self.in_flight = 0
                return self._wire(now)
            on_wire = max(self.in_flight, 1)    # Awaiting: at least the first is.
            if self.state is SenderState.AWAITING_ACK and on_wire < self.window \
                    and on_wire == len(self.outbox) - 1:
                self.in_flight = on_wire + 1    # Room in the window: on the wire now.
                mid, message = self.outbox[-1]
                return [Send(recipient=self.peer, message=message, message_id=mid)]
            return []
        if action is SenderAction.RESEND:
            return self._wire(now)
        if action is SenderAction.HOLD:
            if self.state is SenderState.AWAITING_ACK:
                self.in_flight = max(self.in_flight, 1)   # the first is on the wire
            return [CancelTimer(name=RETRY_TIMER)]
        if action is SenderAction.RETIRE:
            # Held: an update sent before the stop is answered; nothing else is sent.
            self.outbox.pop(0)
            self.in_flight -= 1
            self.busy = 0
            return []
        if action is SenderAction.BACK_OFF:
            # R-30-5-0-10: kept, same id and content; resent when the timer fires.
            delay = min(self.backoff * 2 ** min(self.busy, 16), RETRY_AFTER)
            self.busy += 1
            return [ArmTimer(timer=Timer(name=RETRY_TIMER, deadline=now + delay))]
        # An acknowledgement or a refusal retires the outstanding message.
        self.busy = 0
        done = self.outbox.pop(0)
        self.in_flight = max(self.in_flight, 1) - 1
        if action is SenderAction.SEND_NEXT and self.outbox:
            # The rest of the window is on the wire already: refill it.
            return self._wire(now, start=self.in_flight)
        if action in (SenderAction.DRAIN, SenderAction.SEND_NEXT):
            self.in_flight = 0
            return [CancelTimer(name=RETRY_TIMER)]
        code = ErrorCode(payload.error_code) if isinstance(payload, ErrorReport) and \
            payload.error_code in ErrorCode._value2member_map_ else ErrorCode.INTERNAL_ERROR
        self.outbox.insert(0, done)   # Kept for the operator: it was not applied.
        self.in_flight = 0
        return [CancelTimer(name=RETRY_TIMER),
                Event(name="stalled", code=code, data=done[0])]


@register
class IdentityUpdater(_SequencedSender[IdentityInfoUpdate]):
    """Municipality side of Art. 30-5: one update per change, in order, idempotent."""

    def __init__(self, municipality: str, *, ids: IdSource = random_ids,
                 window: int = 1) -> None:
        super().__init__(prefecture_of(municipality), ids=ids, window=window)
        self.municipality = municipality
        self.retired: set[str] = set()

    def change(self, operation: UpdateOperation, identity_info: IdentityInfo,
               change_info: ChangeInfo, now: dt.datetime, *,
               previous_resident_code: str | None = None) -> list[Effect]:
        """Report one record, erase or correction (R-30-5-0-01).

        A resident code change retires ``previous_resident_code``; a retired code is
        never used again (5021 RESIDENT_CODE_RETIRED).
        """
        if identity_info.resident_code in self.retired:
            raise BusinessError("the resident code was retired and is never reused",
                                code=ErrorCode.RESIDENT_CODE_RETIRED)
        update = IdentityInfoUpdate(
            municipality=self.municipality, update_sequence=self.next_sequence,
            operation=operation, identity_info=identity_info, change_info=change_info,
            previous_resident_code=previous_resident_code)
        effects = self._submit(update, now)
        if change_info.change_reason is ChangeReason.RESIDENT_CODE_CHANGE:
            assert previous_resident_code is not None
            self.retired.add(previous_resident_code)
        return effects


@register
class RelaySender(_SequencedSender[IdentityInfoRelay]):
    """Prefecture side of Art. 30-11: one relay per applied update, in order."""

    def __init__(self, prefecture: str, national: str = "DC01", *,
                 ids: IdSource = random_ids, window: int = 1) -> None:
        super().__init__(national, ids=ids, window=window)
        self.prefecture = prefecture

    def relay(self, update: IdentityInfoUpdate, now: dt.datetime) -> list[Effect]:
        """Queue the relay of an applied update (R-30-11-0-01)."""
        return self._submit(IdentityInfoRelay(prefecture=self.prefecture,
                                              relay_sequence=self.next_sequence,
                                              update=update), now)


# The receiving side (PrefectureReceiver, NationalReceiver) ------------------------------

class ReceiverState(Enum):
    """A sequenced receiver is always ready; its data is the last number per sender."""

    READY = "ready"


class ReceiverInput(Enum):
    """How a received message is classified."""

    NEXT = "next"              # number m + 1
    DUPLICATE = "duplicate"    # number <= m, identical to the one applied
    GAP = "gap"                # number > m + 1
    CONFLICT = "conflict"      # number <= m, different content
    FOREIGN = "foreign"        # a municipality-to-municipality message type
    EXTENDED = "extended"      # carries unknown extension additions
    OTHER = "other"            # any other message


class ReceiverAction(Enum):
    """The side effects of a sequenced receiver."""

    APPLY = "apply"
    ACK_DUPLICATE = "ack_duplicate"


_RS, _RI, _RA = ReceiverState, ReceiverInput, ReceiverAction
RECEIVER_TABLE: Table[ReceiverState, ReceiverInput, ReceiverAction] = Table(
    name="sequenced-receiver",
    title="Sequenced receiver: prefecture (Art. 30-5) and national (Art. 30-11) nodes",
    states=ReceiverState, inputs=ReceiverInput, initial=_RS.READY,
    rows={
        (_RS.READY, _RI.NEXT): (_RA.APPLY, _RS.READY),
        (_RS.READY, _RI.DUPLICATE): (_RA.ACK_DUPLICATE, _RS.READY),
    },
    errors={_RI.GAP: ErrorCode.OUT_OF_ORDER, _RI.CONFLICT: ErrorCode.OUT_OF_ORDER,
            _RI.FOREIGN: ErrorCode.ROLE_NOT_ALLOWED,
            _RI.EXTENDED: ErrorCode.DATA_MINIMISATION},
)


class _SequencedReceiver(Machine[ReceiverState, ReceiverInput, ReceiverAction]):
    """Applies numbered messages per sender: m + 1 applied, replays acknowledged."""

    TABLE = RECEIVER_TABLE
    ACCEPTS: type

    def __init__(self, code: str, store: IdentityHolder | None = None, *,
                 ids: IdSource = random_ids) -> None:
        super().__init__()
        self.code = code
        self.store = store if store is not None else IdentityStore()
        self.ids = ids
        self.last: dict[str, int] = {}
        self.applied: dict[tuple[str, int], object] = {}

    def _key_seq(self, message: object, inbound: Inbound) -> tuple[str, int]:
        raise NotImplementedError

    def classify(self, inbound: Inbound) -> ReceiverInput:
        """The table input for ``inbound`` (it validates routing first)."""
        msg = inbound.message
        if type(msg).__name__ in M2M_TYPES:
            return ReceiverInput.FOREIGN
        if type(msg) is not self.ACCEPTS:
            return ReceiverInput.OTHER
        if inbound.unknown_elements:
            return ReceiverInput.EXTENDED
        key, seq = self._key_seq(msg, inbound)
        last = self.last.get(key, 0)
        if seq == last + 1:
            return ReceiverInput.NEXT
        if seq > last + 1:
            return ReceiverInput.GAP
        same = self.applied.get((key, seq)) == msg
        return ReceiverInput.DUPLICATE if same else ReceiverInput.CONFLICT

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """Apply, acknowledge as duplicate, or raise (4004, 3003, 5010, 4001, 1024)."""
        return self._step(self.classify(inbound), now, inbound)

    def _ack(self, inbound: Inbound, status: AckStatus) -> Send:
        return Send(recipient=inbound.sender, message_id=self.ids(),
                    message=Acknowledgement(acknowledged_id=inbound.message_id,
                                            status=status))

    def _update_of(self, message: object) -> IdentityInfoUpdate:
        raise NotImplementedError

    def _after_apply(self, update: IdentityInfoUpdate, now: dt.datetime) -> list[Effect]:
        return []

    def _act(self, action: ReceiverAction, now: dt.datetime, payload: object) -> list[Effect]:
        assert isinstance(payload, Inbound)
        if action is ReceiverAction.ACK_DUPLICATE:
            return [self._ack(payload, AckStatus.DUPLICATE)]
        key, seq = self._key_seq(payload.message, payload)
        update = self._update_of(payload.message)
        self.store.check(update)                       # Raises before any change.
        self.store.apply(update, now)
        self.last[key] = seq
        self.applied[(key, seq)] = payload.message
        effects: list[Effect] = [Event(name="applied", data=(key, seq))]
        effects += self._after_apply(update, now)
        # R-30-5-0-07: the acknowledgement comes after the relay is queued; the node
        # stores both effects durably before it sends either.
        effects.append(self._ack(payload, AckStatus.ACCEPTED))
        return effects


@register
class PrefectureReceiver(_SequencedReceiver):
    """Prefecture side of Art. 30-5, relaying each applied update (Art. 30-11)."""

    ACCEPTS = IdentityInfoUpdate

    def __init__(self, prefecture: str, store: IdentityHolder | None = None, *,
                 national: str = "DC01", ids: IdSource = random_ids,
                 window: int = 1) -> None:
        super().__init__(prefecture, store, ids=ids)
        self.relays = RelaySender(prefecture, national, ids=ids, window=window)

    def _key_seq(self, message: object, inbound: Inbound) -> tuple[str, int]:
        assert isinstance(message, IdentityInfoUpdate)
        # R-30-5-0-02: the update's municipality is the sender and lies in this prefecture.
        if message.municipality != inbound.sender:
            raise ValidationError("update.municipality is not the header sender",
                                  field="municipality")
        if prefecture_of(message.municipality) != self.code:
            raise ValidationError("update.municipality is not in this prefecture",
                                  field="municipality")
        return message.municipality, message.update_sequence

    def _update_of(self, message: object) -> IdentityInfoUpdate:
        assert isinstance(message, IdentityInfoUpdate)
        return message

    def _after_apply(self, update: IdentityInfoUpdate, now: dt.datetime) -> list[Effect]:
        return self.relays.relay(update, now)

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """As every receiver; the relay sender's timers that pass through (its retry
        timer) stay the relay sender's, never this machine's: the receiver arms none
        of its own, and a timer it held would fire on a machine with no timeout."""
        effects = super().receive(inbound, now)
        self.timers.clear()
        return effects


@register
class NationalReceiver(_SequencedReceiver):
    """Designated centre side of Art. 30-11: relays applied per prefecture."""

    ACCEPTS = IdentityInfoRelay

    def _key_seq(self, message: object, inbound: Inbound) -> tuple[str, int]:
        assert isinstance(message, IdentityInfoRelay)
        if message.prefecture != inbound.sender:
            raise ValidationError("relay.prefecture is not the header sender",
                                  field="prefecture")
        return message.prefecture, message.relay_sequence

    def _update_of(self, message: object) -> IdentityInfoUpdate:
        assert isinstance(message, IdentityInfoRelay)
        return message.update


__all__ = [
    "BACK_OFF", "M2M_TYPES", "RECEIVER_TABLE", "RETRY_AFTER", "SENDER_TABLE",
    "TRANSIENT_CODES", "IdentityUpdater",
    "NationalReceiver", "PrefectureReceiver", "ReceiverInput",
    "ReceiverState", "RelaySender", "SenderInput", "SenderState",
]
