"""The card register at the designated centre (spec/card_register.md).

Theory of operation
-------------------
The designated centre (the ``national`` role) keeps one entry per card that a
municipality applied for or issued: the card serial, the holder's resident code, the
issuing municipality, the entry's state and the last day of validity; nothing else
(upper tiers hold identity info only, DESIGN.md section 3). Two tables:

* :data:`ENTRY_TABLE`, the life of one entry (:class:`RegisterEntry`): applied ->
  issued (valid) -> suspended (一時停止) -> resumed (issued again), lost (紛失届, for
  good) or revoked (廃止). An entry is *expired* when its validity has ended; that is
  computed from ``valid_until`` and the date, never stored, so that no timer has to
  fire for 124 million cards. A change the state does not allow raises the code the
  table gives (4011 for a suspended card suspended again, 4014 for a lost one, 4012
  for a revoked one or one not yet issued).
* :data:`REGISTER_TABLE`, the centre's desk (:class:`CardRegisterDesk`), always
  ``ready``: it classifies each message and answers it. An application or an issue
  notice for a resident who holds a card that may still be used (applied, valid or
  suspended, R-CARDREG-02) is refused with 5027 CARD_ALREADY_ISSUED and registers
  nothing; a notice whose ``municipality`` is not its sender, or whose serial does not
  begin with it, is 1024 (R-CARDREG-01): the serial names the issuer, so only the
  issuing municipality can report a change of its card (R-CARDREG-04). A query is
  acknowledged and answered with a :class:`CardStatusAnswer` (R-CARDREG-06), resent
  until the asker acknowledges it (R-PDU-23).

The entries are in a :class:`CardLedger` (in memory: :class:`MemoryCardLedger`; in a
node's database: :mod:`juki_protocol.node.card_store`), written in the transaction of
the message, before it is acknowledged (R-PDU-22, R-CARDREG-03). The desk holds only its
unanswered answers and their timers, in memory: after a restart the asker, which
received no answer, asks again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum
from typing import Protocol

from juki_protocol.errors import BusinessError, ErrorCode, ProtocolError
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
    CardStatus,
    CardStatusAnswer,
    CardStatusChange,
    CardStatusNotice,
    CardStatusQuery,
    serial_municipality,
)
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport

#: R-TIME-02 (spec/deadlines.md): the resend interval of an answer.
RETRY_AFTER = dt.timedelta(seconds=60)
CARD_MESSAGES = (CardApplication, CardIssueNotice, CardStatusNotice, CardStatusQuery)


def jst_date(now: dt.datetime) -> dt.date:
    """The calendar date in Japan (UTC+9) at ``now``: a card's validity ends at the end
    of its last day there."""
    return (now + dt.timedelta(hours=9)).date()


# One entry ---------------------------------------------------------------------------

class EntryState(Enum):
    """The state of one card in the centre's register (expired is computed)."""

    APPLIED = "applied"
    ISSUED = "issued"
    SUSPENDED = "suspended"
    LOST = "lost"
    REVOKED = "revoked"


class EntryInput(Enum):
    """What the issuing municipality reports of a card."""

    ISSUE = "issue"
    SUSPEND = "suspend"
    RESUME = "resume"
    REPORT_LOST = "report_lost"
    REVOKE = "revoke"


_E, _EI = EntryState, EntryInput
_entry_rows: dict[tuple[EntryState, EntryInput], tuple[None, EntryState]] = {
    (_E.APPLIED, _EI.ISSUE): (None, _E.ISSUED),
    (_E.ISSUED, _EI.SUSPEND): (None, _E.SUSPENDED),
    (_E.SUSPENDED, _EI.RESUME): (None, _E.ISSUED),
    (_E.ISSUED, _EI.REPORT_LOST): (None, _E.LOST),
    (_E.SUSPENDED, _EI.REPORT_LOST): (None, _E.LOST),
}
for _s in (_E.APPLIED, _E.ISSUED, _E.SUSPENDED):
    _entry_rows[(_s, _EI.REVOKE)] = (None, _E.REVOKED)

ENTRY_TABLE: Table[EntryState, EntryInput, Enum] = Table(
    name="card-register-entry", title="Card register: one card at the centre",
    states=EntryState, inputs=EntryInput, initial=_E.APPLIED, rows=_entry_rows,
    errors={_E.SUSPENDED: ErrorCode.CARD_SUSPENDED, _E.LOST: ErrorCode.CARD_LOST,
            _E.REVOKED: ErrorCode.CARD_NOT_ACTIVE, _E.APPLIED: ErrorCode.CARD_NOT_ACTIVE,
            (_E.ISSUED, _EI.ISSUE): ErrorCode.CARD_ALREADY_ISSUED,
            (_E.ISSUED, _EI.RESUME): ErrorCode.UNEXPECTED_MESSAGE},
)

#: The change each status notice reports, as an input of :data:`ENTRY_TABLE`.
CHANGE_INPUT = {CardStatusChange.SUSPENDED: EntryInput.SUSPEND,
                CardStatusChange.RESUMED: EntryInput.RESUME,
                CardStatusChange.LOST: EntryInput.REPORT_LOST,
                CardStatusChange.REVOKED: EntryInput.REVOKE}


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One card in the register: no other personal data than the resident code."""

    serial: str
    resident_code: str
    municipality: str
    state: EntryState
    valid_until: dt.date | None = None

    def status(self, today: dt.date) -> CardStatus:
        """The status a query is answered with on ``today``."""
        if self.state is EntryState.APPLIED:
            return CardStatus.UNKNOWN          # not handed over: no card in circulation
        if self.state in (EntryState.ISSUED, EntryState.SUSPENDED) and \
                self.valid_until is not None and self.valid_until < today:
            return CardStatus.EXPIRED
        return {EntryState.ISSUED: CardStatus.VALID, EntryState.SUSPENDED:
                CardStatus.SUSPENDED, EntryState.LOST: CardStatus.LOST,
                EntryState.REVOKED: CardStatus.REVOKED}[self.state]

    def blocks(self, today: dt.date) -> bool:
        """Whether this card keeps its holder from another (R-CARDREG-02): applied,
        or valid or suspended and not expired."""
        return self.state is EntryState.APPLIED or \
            self.status(today) in (CardStatus.VALID, CardStatus.SUSPENDED)


@register
class RegisterEntry(Machine[EntryState, EntryInput, Enum]):
    """The life of one entry (:data:`ENTRY_TABLE`), built from the stored entry."""

    TABLE = ENTRY_TABLE

    def __init__(self, entry: Entry | None = None) -> None:
        super().__init__()
        if entry is not None:
            self.state = entry.state

    def change(self, inp: EntryInput, now: dt.datetime) -> EntryState:
        """Apply ``inp``; the new state (the table's code if it is not allowed)."""
        self._step(inp, now)
        return self.state


class CardLedger(Protocol):
    """What the centre keeps of the cards (:class:`MemoryCardLedger`, or
    :class:`juki_protocol.node.card_store.SqlCardLedger`)."""

    def get(self, serial: str) -> Entry | None: ...
    def of_resident(self, resident_code: str) -> list[Entry]: ...
    def put(self, entry: Entry, now: dt.datetime) -> None: ...


class MemoryCardLedger:
    """The register in memory."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def get(self, serial: str) -> Entry | None:
        return self.entries.get(serial)

    def of_resident(self, resident_code: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.resident_code == resident_code]

    def put(self, entry: Entry, now: dt.datetime) -> None:
        self.entries[entry.serial] = entry


# The desk ----------------------------------------------------------------------------

class DeskState(Enum):
    """The centre's card desk is always ready; its data are in the ledger."""

    READY = "ready"


class DeskInput(Enum):
    """How a message to the card desk is classified."""

    APPLICATION = "application"      # a new card applied for
    ISSUE = "issue"                  # a card handed over
    CHANGE = "change"                # a change of a card's state, from its issuer
    QUERY = "query"                  # a municipality asks about a card
    DUPLICATE = "duplicate"          # the resident holds a card that may be used
    MISADDRESSED = "misaddressed"    # municipality is not the sender, or not the serial's
    UNKNOWN_CARD = "unknown_card"    # a change of a card the register does not hold
    CONFLICT = "conflict"            # an issue notice that contradicts the application
    ACK = "ack"                      # an answer acknowledged
    REFUSED = "refused"              # an answer refused
    RETRY_DUE = "retry_due"          # an answer's retry timer fired
    OTHER = "other"                  # any other message


class DeskAction(Enum):
    """Side effects of the card desk."""

    REGISTER = "register"
    ISSUE = "issue"
    CHANGE = "change"
    ANSWER = "answer"
    CLOSE = "close"
    RESEND = "resend"


_DS, _DI, _DA = DeskState, DeskInput, DeskAction
REGISTER_TABLE: Table[DeskState, DeskInput, DeskAction] = Table(
    name="card-register", title="Card register: the designated centre's desk",
    states=DeskState, inputs=DeskInput, initial=_DS.READY,
    rows={
        (_DS.READY, _DI.APPLICATION): (_DA.REGISTER, _DS.READY),
        (_DS.READY, _DI.ISSUE): (_DA.ISSUE, _DS.READY),
        (_DS.READY, _DI.CHANGE): (_DA.CHANGE, _DS.READY),
        (_DS.READY, _DI.QUERY): (_DA.ANSWER, _DS.READY),
        (_DS.READY, _DI.ACK): (_DA.CLOSE, _DS.READY),
        (_DS.READY, _DI.REFUSED): (_DA.CLOSE, _DS.READY),
        (_DS.READY, _DI.RETRY_DUE): (_DA.RESEND, _DS.READY),
    },
    errors={_DI.DUPLICATE: ErrorCode.CARD_ALREADY_ISSUED,
            _DI.MISADDRESSED: ErrorCode.INVALID_FIELD,
            _DI.UNKNOWN_CARD: ErrorCode.CARD_NOT_ACTIVE,
            _DI.CONFLICT: ErrorCode.INVALID_FIELD},
)


def _retry_name(message_id: bytes) -> str:
    return f"retry:{message_id.hex()}"


@register
class CardRegisterDesk(Machine[DeskState, DeskInput, DeskAction]):
    """The designated centre's card register (see the module docstring)."""

    TABLE = REGISTER_TABLE

    def __init__(self, code: str, ledger: CardLedger, *,
                 ids: IdSource = random_ids) -> None:
        super().__init__()
        self.code = code
        self.ledger = ledger
        self.ids = ids
        #: Answers sent and not yet acknowledged, by their message id.
        self.answers: dict[bytes, Send] = {}

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Effect]:
        """A card message of a municipality, or the answer to one of our answers."""
        return self._step(self.classify(inbound, now), now, inbound)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """An answer's retry timer fired: resend it."""
        self._due(name, now)
        return self._step(DeskInput.RETRY_DUE, now, name)

    def classify(self, inbound: Inbound, now: dt.datetime) -> DeskInput:
        """The table input for ``inbound``; 4002 for an answer to nothing of ours."""
        msg = inbound.message
        if isinstance(msg, (Acknowledgement, ErrorReport)):
            if answered_id(msg) not in self.answers:
                raise ProtocolError("the answer refers to no answer of ours",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
            return DeskInput.ACK if isinstance(msg, Acknowledgement) else DeskInput.REFUSED
        if not isinstance(msg, CARD_MESSAGES):
            return DeskInput.OTHER
        # R-CARDREG-01: the municipality named is the sender, and its code begins the
        # serial of every card it issues or reports.
        if msg.municipality != inbound.sender:
            return DeskInput.MISADDRESSED
        if isinstance(msg, CardStatusQuery):
            return DeskInput.QUERY
        if serial_municipality(msg.card_serial) != msg.municipality:
            return DeskInput.MISADDRESSED
        entry = self.ledger.get(msg.card_serial)
        today = jst_date(now)
        if isinstance(msg, CardStatusNotice):
            if entry is None:
                return DeskInput.UNKNOWN_CARD
            if entry.resident_code != msg.resident_code:
                return DeskInput.CONFLICT
            return DeskInput.CHANGE
        if entry is not None:
            if entry.resident_code != msg.resident_code:
                return DeskInput.CONFLICT
            if isinstance(msg, CardApplication):
                return DeskInput.DUPLICATE if entry.blocks(today) else DeskInput.CONFLICT
            return DeskInput.ISSUE     # the entry's table decides (applied: issue)
        if any(e.blocks(today) for e in self.ledger.of_resident(msg.resident_code)):
            return DeskInput.DUPLICATE                            # R-CARDREG-02
        return DeskInput.APPLICATION if isinstance(msg, CardApplication) \
            else DeskInput.ISSUE

    def status(self, serial: str, resident_code: str, now: dt.datetime) -> CardStatusAnswer:
        """The answer to a query for ``serial`` read with ``resident_code`` (unknown
        when the register holds no such card for that code: R-CARDREG-06)."""
        entry = self.ledger.get(serial)
        if entry is None or entry.resident_code != resident_code:
            return CardStatusAnswer(card_serial=serial, status=CardStatus.UNKNOWN)
        status = entry.status(jst_date(now))
        if status is CardStatus.UNKNOWN:
            return CardStatusAnswer(card_serial=serial, status=status)
        return CardStatusAnswer(card_serial=serial, status=status,
                                issuing_municipality=entry.municipality,
                                valid_until=entry.valid_until)

    # Actions ---------------------------------------------------------------------------

    def _ack(self, inbound: Inbound) -> Send:
        return Send(recipient=inbound.sender, message_id=self.ids(),
                    message=Acknowledgement(acknowledged_id=inbound.message_id,
                                            status=AckStatus.ACCEPTED))

    def _retry(self, message_id: bytes, now: dt.datetime) -> ArmTimer:
        return ArmTimer(timer=Timer(name=_retry_name(message_id),
                                    deadline=now + RETRY_AFTER))

    def _act(self, action: DeskAction, now: dt.datetime, payload: object) -> list[Effect]:
        if action is DeskAction.RESEND:
            for mid, send in self.answers.items():
                if _retry_name(mid) == payload:
                    return [send, self._retry(mid, now)]
            return [CancelTimer(name=str(payload))]
        assert isinstance(payload, Inbound)
        msg = payload.message
        if action is DeskAction.CLOSE:
            ref = answered_id(msg)
            assert ref is not None
            self.answers.pop(ref, None)
            return [CancelTimer(name=_retry_name(ref))]
        if action is DeskAction.ANSWER:
            assert isinstance(msg, CardStatusQuery)
            answer = self.status(msg.card_serial, msg.resident_code, now)
            send = Send(recipient=payload.sender, message=answer, message_id=self.ids(),
                        correlation_id=payload.message_id)
            self.answers[send.message_id] = send
            return [self._ack(payload), send, self._retry(send.message_id, now),
                    Event(name="card_queried", data=answer.status.value)]
        assert isinstance(msg, (CardApplication, CardIssueNotice, CardStatusNotice))
        entry = self.ledger.get(msg.card_serial)
        if action is DeskAction.REGISTER:
            assert isinstance(msg, CardApplication)
            entry = Entry(serial=msg.card_serial, resident_code=msg.resident_code,
                          municipality=msg.municipality, state=EntryState.APPLIED)
            event = "card_applied"
        elif action is DeskAction.ISSUE:
            assert isinstance(msg, CardIssueNotice)
            if entry is None:        # the notice is the application too (section 3)
                entry = Entry(serial=msg.card_serial, resident_code=msg.resident_code,
                              municipality=msg.municipality, state=EntryState.APPLIED)
            state = RegisterEntry(entry).change(EntryInput.ISSUE, now)
            entry = replace(entry, state=state, valid_until=msg.valid_until)
            event = "card_issued"
        else:
            assert isinstance(msg, CardStatusNotice) and entry is not None
            state = RegisterEntry(entry).change(CHANGE_INPUT[msg.change], now)
            entry = replace(entry, state=state)
            event = f"card_{msg.change.value}"
        self.ledger.put(entry, now)          # stored before it is acknowledged
        return [self._ack(payload), Event(name=event, data=entry.serial)]


def refusal_of(status: CardStatus) -> ErrorCode | None:
    """The code a counter refuses a card with, by the centre's answer (R-CARDREG-07):
    None for a valid card."""
    return {CardStatus.VALID: None, CardStatus.SUSPENDED: ErrorCode.CARD_SUSPENDED,
            CardStatus.LOST: ErrorCode.CARD_LOST}.get(status, ErrorCode.CARD_NOT_ACTIVE)


def require_usable(answer: CardStatusAnswer) -> None:
    """Raise the code of :func:`refusal_of` unless the centre answered ``valid``."""
    code = refusal_of(answer.status)
    if code is not None:
        raise BusinessError(f"the centre's card register says the card is "
                            f"{answer.status.value}", code=code)


__all__ = [
    "CARD_MESSAGES", "CHANGE_INPUT", "ENTRY_TABLE", "REGISTER_TABLE", "RETRY_AFTER",
    "CardLedger", "CardRegisterDesk", "DeskInput", "DeskState", "Entry", "EntryInput",
    "EntryState", "MemoryCardLedger", "RegisterEntry", "jst_date", "refusal_of",
    "require_usable",
]
