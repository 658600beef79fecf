"""A municipality's side of the card register (spec/card_register.md).

Theory of operation
-------------------
:class:`CardNotifier` is the one machine of a municipality for the centre's card
register. It is always ``ready``; its data are in a :class:`CardOutbox` (in memory:
:class:`MemoryCardOutbox`; in the node's database: :mod:`juki_protocol.node.card_store`).

* As the **issuing** municipality it registers each application with the centre
  (:meth:`~CardNotifier.apply`, a ``CardApplication``) and issues the card only when the
  centre acknowledged it (:meth:`~CardNotifier.registered`, R-CARDREG-01); it tells the
  centre of each handover (:meth:`~CardNotifier.issued`, a ``CardIssueNotice``) and of
  each change of a card's state (:meth:`~CardNotifier.changed`, a
  ``CardStatusNotice``: suspended, resumed, lost, revoked; R-CARDREG-03). Each is stored
  before it is sent and resent with the same message id until the centre acknowledges
  or refuses it (R-PDU-23). A refusal is kept with its code (``refused:5027`` for a
  duplicate application) and reported as an event: the card desk then issues nothing,
  or, for a refused issue notice, revokes the card it handed over (R-CARDREG-02).
* As the municipality where a card is **presented** it asks the centre
  (:meth:`~CardNotifier.query`, a ``CardStatusQuery``) and takes the card only on the
  centre's answer ``valid`` (R-CARDREG-07): its own memory of cards is not consulted, so
  a card that another municipality suspended is refused here too (4011, 4014 for a lost
  card, 4012 otherwise). The answer is acknowledged and kept with its query.

The outbox holds each sent message with its kind, serial and state; the answers to
queries are in the same store, so that a restart loses neither (:meth:`resume` resends
what is pending).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from juki_protocol.errors import ErrorCode, ProtocolError
from juki_protocol.machines.card_register import refusal_of
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
from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatusAnswer,
    CardStatusChange,
    CardStatusNotice,
    CardStatusQuery,
)
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport

#: R-TIME-02 (spec/deadlines.md): the resend interval.
RETRY_AFTER = dt.timedelta(seconds=60)
CardMessage = CardApplication | CardIssueNotice | CardStatusNotice | CardStatusQuery
PENDING, ACKED, ANSWERED = "pending", "acked", "answered"


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """One message the municipality sent to the centre, and what became of it.

    state: ``pending`` (resent), ``acked``, ``answered`` (a query with its answer),
    ``refused:<code>``; answer: the centre's answer to a query.
    """

    message_id: bytes
    message: CardMessage
    state: str = PENDING
    answer: CardStatusAnswer | None = None

    @property
    def serial(self) -> str:
        return self.message.card_serial


class CardOutbox(Protocol):
    """What a municipality keeps of its card messages to the centre."""

    def add(self, item: Outgoing, now: dt.datetime) -> None: ...
    def get(self, message_id: bytes) -> Outgoing | None: ...
    def settle(self, message_id: bytes, state: str,
               answer: CardStatusAnswer | None = None) -> None: ...
    def pending(self) -> list[Outgoing]: ...
    def of_serial(self, serial: str) -> list[Outgoing]: ...


class MemoryCardOutbox:
    """The outbox in memory, in the order sent."""

    def __init__(self) -> None:
        self.items: dict[bytes, Outgoing] = {}

    def add(self, item: Outgoing, now: dt.datetime) -> None:
        self.items[item.message_id] = item

    def get(self, message_id: bytes) -> Outgoing | None:
        return self.items.get(message_id)

    def settle(self, message_id: bytes, state: str,
               answer: CardStatusAnswer | None = None) -> None:
        item = self.items[message_id]
        self.items[message_id] = Outgoing(message_id=message_id, message=item.message,
                                          state=state, answer=answer)

    def pending(self) -> list[Outgoing]:
        return [i for i in self.items.values() if i.state == PENDING]

    def of_serial(self, serial: str) -> list[Outgoing]:
        return [i for i in self.items.values() if i.serial == serial]


class NotifierState(Enum):
    """A municipality's card notifier is always ready; its data are in its outbox."""

    READY = "ready"


class NotifierInput(Enum):
    """What the notifier is given or receives."""

    SEND = "send"                  # an application, notice or query (local)
    ACK = "ack"                    # the centre acknowledged one
    REFUSED = "refused"            # the centre refused one
    ANSWER = "answer"              # the centre's answer to a query of ours
    STRAY_ANSWER = "stray_answer"  # an answer to no query of ours, or not for its card
    RETRY_DUE = "retry_due"        # a retry timer fired
    OTHER = "other"                # any other message


class NotifierAction(Enum):
    """Side effects of the notifier."""

    SEND = "send"
    SETTLE = "settle"
    TAKE_ANSWER = "take_answer"
    RESEND = "resend"


_NS, _NI, _NA = NotifierState, NotifierInput, NotifierAction
NOTIFIER_TABLE: Table[NotifierState, NotifierInput, NotifierAction] = Table(
    name="card-notifier", title="Card register: the municipality's notices and queries",
    states=NotifierState, inputs=NotifierInput, initial=_NS.READY,
    rows={
        (_NS.READY, _NI.SEND): (_NA.SEND, _NS.READY),
        (_NS.READY, _NI.ACK): (_NA.SETTLE, _NS.READY),
        (_NS.READY, _NI.REFUSED): (_NA.SETTLE, _NS.READY),
        (_NS.READY, _NI.ANSWER): (_NA.TAKE_ANSWER, _NS.READY),
        (_NS.READY, _NI.RETRY_DUE): (_NA.RESEND, _NS.READY),
    },
    errors={_NI.STRAY_ANSWER: ErrorCode.UNKNOWN_CORRELATION},
)


def _retry_name(message_id: bytes) -> str:
    return f"retry:{message_id.hex()}"


@register
class CardNotifier(Machine[NotifierState, NotifierInput, NotifierAction]):
    """Municipality ``code``'s notices and queries to the centre ``national``."""

    TABLE = NOTIFIER_TABLE

    def __init__(self, code: str, national: str, outbox: CardOutbox, *,
                 ids: IdSource = random_ids) -> None:
        super().__init__()
        self.code = code
        self.national = national
        self.outbox = outbox
        self.ids = ids

    # Local events -----------------------------------------------------------------------

    def apply(self, serial: str, resident_code: str, now: dt.datetime,
              filed: dt.date) -> list[Effect]:
        """Register an application for card ``serial`` with the centre."""
        return self._step(NotifierInput.SEND, now, CardApplication(
            municipality=self.code, card_serial=serial, resident_code=resident_code,
            application_date=filed))

    def issued(self, serial: str, resident_code: str, issued: dt.date,
               valid_until: dt.date, now: dt.datetime) -> list[Effect]:
        """Tell the centre that card ``serial`` was handed over."""
        return self._step(NotifierInput.SEND, now, CardIssueNotice(
            municipality=self.code, card_serial=serial, resident_code=resident_code,
            issue_date=issued, valid_until=valid_until))

    def changed(self, serial: str, resident_code: str, change: CardStatusChange,
                day: dt.date, now: dt.datetime) -> list[Effect]:
        """Tell the centre of a change of card ``serial``'s state."""
        return self._step(NotifierInput.SEND, now, CardStatusNotice(
            municipality=self.code, card_serial=serial, resident_code=resident_code,
            change=change, change_date=day))

    def query(self, serial: str, resident_code: str, now: dt.datetime) -> list[Effect]:
        """Ask the centre whether card ``serial``, holding ``resident_code``, may be used."""
        return self._step(NotifierInput.SEND, now, CardStatusQuery(
            municipality=self.code, card_serial=serial, resident_code=resident_code))

    def registered(self, serial: str) -> bool:
        """Whether the centre acknowledged an application for ``serial`` (R-CARDREG-01)."""
        return any(isinstance(i.message, CardApplication) and i.state == ACKED
                   for i in self.outbox.of_serial(serial))

    def issue_refused(self, serial: str) -> bool:
        """Whether the centre refused the ``CardIssueNotice`` of ``serial``
        (R-CARDREG-08)."""
        return any(isinstance(i.message, CardIssueNotice) and i.state.startswith("refused")
                   for i in self.outbox.of_serial(serial))

    def verdict(self, message_id: bytes) -> tuple[str, ErrorCode | None]:
        """The state of query ``message_id`` and, once answered, the code the counter
        refuses the card with (None: the card may be used, R-CARDREG-07)."""
        item = self.outbox.get(message_id)
        if item is None or not isinstance(item.message, CardStatusQuery):
            raise ProtocolError("no such card query", code=ErrorCode.UNKNOWN_CORRELATION)
        if item.answer is None:
            return item.state, None
        return item.state, refusal_of(item.answer.status)

    # Received ---------------------------------------------------------------------------

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """An acknowledgement, a refusal or an answer of the centre."""
        return self._step(self.classify(inbound), now, inbound)

    def classify(self, inbound: Inbound) -> NotifierInput:
        """The table input for ``inbound``; 4002 for an answer to nothing of ours."""
        msg = inbound.message
        if isinstance(msg, (Acknowledgement, ErrorReport)):
            item = self.outbox.get(answered_id(msg) or b"")
            if item is None or item.state != PENDING:
                raise ProtocolError("the answer refers to no pending message of ours",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
            return NotifierInput.ACK if isinstance(msg, Acknowledgement) \
                else NotifierInput.REFUSED
        if not isinstance(msg, CardStatusAnswer):
            return NotifierInput.OTHER
        item = self.outbox.get(inbound.correlation_id or b"")
        # R-PDU-18: an answer names the query it answers, from the centre asked, about
        # the card asked about.
        if item is None or not isinstance(item.message, CardStatusQuery) or \
                item.answer is not None or inbound.sender != self.national or \
                msg.card_serial != item.serial:
            return NotifierInput.STRAY_ANSWER
        return NotifierInput.ANSWER

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """A retry timer fired: resend its message."""
        self._due(name, now)
        return self._step(NotifierInput.RETRY_DUE, now, name)

    def resume(self, now: dt.datetime) -> list[Effect]:
        """After a start: resend every message not yet acknowledged (R-PDU-23)."""
        effects: list[Effect] = []
        for item in self.outbox.pending():
            effects += [self._send(item), self._retry(item.message_id, now)]
            self.timers[_retry_name(item.message_id)] = Timer(
                name=_retry_name(item.message_id), deadline=now + RETRY_AFTER)
        return effects

    # Actions ---------------------------------------------------------------------------

    def _send(self, item: Outgoing) -> Send:
        return Send(recipient=self.national, message=item.message,
                    message_id=item.message_id)

    def _retry(self, message_id: bytes, now: dt.datetime) -> ArmTimer:
        return ArmTimer(timer=Timer(name=_retry_name(message_id),
                                    deadline=now + RETRY_AFTER))

    def _act(self, action: NotifierAction, now: dt.datetime,
             payload: object) -> list[Effect]:
        if action is NotifierAction.SEND:
            item = Outgoing(message_id=self.ids(), message=payload)  # type: ignore[arg-type]
            self.outbox.add(item, now)          # stored before it leaves
            return [self._send(item), self._retry(item.message_id, now)]
        if action is NotifierAction.RESEND:
            for item in self.outbox.pending():
                if _retry_name(item.message_id) == payload:
                    return [self._send(item), self._retry(item.message_id, now)]
            return [CancelTimer(name=str(payload))]
        assert isinstance(payload, Inbound)
        msg = payload.message
        if action is NotifierAction.TAKE_ANSWER:
            assert isinstance(msg, CardStatusAnswer) and payload.correlation_id
            query = self.outbox.get(payload.correlation_id)
            assert query is not None
            self.outbox.settle(query.message_id, ANSWERED, msg)
            code = refusal_of(msg.status)
            return [CancelTimer(name=_retry_name(query.message_id)),
                    Send(recipient=payload.sender, message_id=self.ids(),
                         message=Acknowledgement(acknowledged_id=payload.message_id,
                                                 status=AckStatus.ACCEPTED)),
                    Event(name="card_checked", code=code,
                          data=(query.message_id, msg.status.value))]
        ref = answered_id(msg)
        assert ref is not None
        sent = self.outbox.get(ref)
        assert sent is not None
        kind = type(sent.message).__name__
        if isinstance(msg, ErrorReport):
            self.outbox.settle(ref, f"refused:{msg.error_code}")
            code = ErrorCode(msg.error_code) if msg.error_code in \
                ErrorCode._value2member_map_ else ErrorCode.INTERNAL_ERROR
            return [CancelTimer(name=_retry_name(ref)),
                    Event(name="card_notice_refused", code=code, data=(kind, sent.serial))]
        # A query's acknowledgement only says it arrived: its answer is still to come,
        # so its retry stops but it waits for the answer (state acked).
        self.outbox.settle(ref, ACKED)
        return [CancelTimer(name=_retry_name(ref)),
                Event(name="card_notice_acked", data=(kind, sent.serial))]


__all__ = ["ACKED", "ANSWERED", "NOTIFIER_TABLE", "PENDING", "RETRY_AFTER", "CardNotifier",
           "CardOutbox", "MemoryCardOutbox", "NotifierInput", "NotifierState", "Outgoing"]
