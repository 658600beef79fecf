"""The common frame of every state machine: transition tables, effects and inputs.

Theory of operation
-------------------
Each machine of this package is *sans-I/O* (STYLE.md item 1): it never reads a clock,
opens a socket or touches a database. The caller hands it events (local events such as
"the counter confirmed the applicant", or messages received, wrapped in
:class:`Inbound`) together with an explicit ``now`` (an aware UTC ``datetime``), and the
machine returns a list of :data:`Effect` values: messages to send (:class:`Send`),
timers to arm or cancel (:class:`ArmTimer`, :class:`CancelTimer`) and events for the
local application (:class:`Event`). The node layer is the only place that acts on them.

Each machine has exactly one :class:`Table` (STYLE.md item 2): a mapping
``(State, Input) -> (Action | None, next_state)`` typed with enums. The machine first
*classifies* what it received into an ``Input`` member, then looks the pair up:

* a pair in the table runs its action (the side effect) and moves to ``next_state``;
* a pair not in the table raises :class:`~juki_protocol.errors.ProtocolError` with the
  code the table registers for it (by default 4001 UNEXPECTED_MESSAGE), and changes
  nothing: not the state, not the machine's data, not the store it was given.

Unlike h11, a table miss does not move the machine to an error state: a stray or forged
message from the network must not be able to end a resident's flow. The node answers it
with an ``ErrorReport`` carrying the exception's code and the flow goes on.

Actions validate everything before they change anything ("check, then commit"), so an
action that refuses (a business rule, a validation error) also leaves all data as it
was. The test-suite checks this with :meth:`Machine.snapshot` on every state x input
pair. The diagrams and tables of ``spec/machines.md`` are generated from the tables by
:mod:`juki_protocol.machines.diagrams`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar

from juki_protocol.errors import ErrorCode, ProtocolError

# Re-exported: tests and juki simulate import them from here.
from juki_protocol.machines.determinism import counter_ids as counter_ids
from juki_protocol.machines.determinism import plain_copy as plain_copy
from juki_protocol.messages.pdu import Acknowledgement, ErrorReport

S = TypeVar("S", bound=Enum)
I = TypeVar("I", bound=Enum)  # noqa: E741
A = TypeVar("A", bound=Enum)

#: Generates 16-octet message ids (R-PDU-15). Tests pass a seeded generator.
IdSource = Callable[[], bytes]


def random_ids() -> bytes:
    """A fresh random 16-octet message id (R-PDU-15)."""
    return secrets.token_bytes(16)


# Effects -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Timer:
    """A timer the caller arms: when ``deadline`` passes it calls ``timeout(name)``."""

    name: str
    deadline: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """Send ``message`` to the node ``recipient`` under ``message_id``.

    correlation_id: the message id of the message that opened the flow (R-PDU-18).
    """

    recipient: str
    message: object
    message_id: bytes
    correlation_id: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmTimer:
    """Arm (or re-arm) ``timer``."""

    timer: Timer


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTimer:
    """Cancel the timer called ``name``; cancelling an unarmed timer is harmless."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something the local application must learn (a copy to print, a failure to log).

    code: the registered error code when the event reports a failure.
    """

    name: str
    code: ErrorCode | None = None
    data: object = None


Effect = Send | ArmTimer | CancelTimer | Event


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """A message received from a peer, after the envelope was opened and checked.

    message_id: the PDU header's message id; correlation_id: its correlation id;
    sender: the header sender's code; unknown_elements: True when the decoder skipped
    unknown extension additions (prefecture and national nodes refuse those, R-30-5-0-08).
    """

    message: object
    message_id: bytes
    sender: str
    correlation_id: bytes | None = None
    unknown_elements: bool = False


# Tables ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Table(Generic[S, I, A]):
    """One machine's transition table.

    rows: ``(state, input) -> (action or None, next_state)``.
    errors: the code raised for a pair not in ``rows``, looked up by ``(state, input)``,
    then ``state``, then ``input``; any other miss raises 4001 UNEXPECTED_MESSAGE.
    """

    name: str
    title: str
    states: type[S]
    inputs: type[I]
    initial: S
    rows: Mapping[tuple[S, I], tuple[A | None, S]]
    errors: Mapping[object, ErrorCode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for (state, inp), (_, nxt) in self.rows.items():
            if not (isinstance(state, self.states) and isinstance(inp, self.inputs)
                    and isinstance(nxt, self.states)):
                raise TypeError(f"{self.name}: bad row {state!r}, {inp!r} -> {nxt!r}")

    def lookup(self, state: S, inp: I) -> tuple[A | None, S]:
        """The transition for ``(state, inp)``; raise ProtocolError if there is none."""
        row = self.rows.get((state, inp))
        if row is None:
            code = self.error_code(state, inp)
            raise ProtocolError(f"{self.name}: input {inp.name} is not allowed in state "
                                f"{state.name}", code=code)
        return row

    def error_code(self, state: S, inp: I) -> ErrorCode:
        """The registered code raised for the pair ``(state, inp)`` not in the table."""
        for key in ((state, inp), state, inp):
            found = self.errors.get(key)
            if found is not None:
                return found
        return ErrorCode.UNEXPECTED_MESSAGE

    def terminal_states(self) -> list[S]:
        """States with no outgoing transition."""
        sources = {s for (s, _) in self.rows}
        return [s for s in self.states if s not in sources]

    def pairs(self) -> Iterator[tuple[S, I]]:
        """Every state x input pair, in enum order."""
        for s in self.states:
            for i in self.inputs:
                yield s, i


class Machine(Generic[S, I, A]):
    """Base of every machine: holds ``state`` and the armed timers, runs the table.

    Subclasses set ``TABLE`` and implement :meth:`_act`, which returns the effects of an
    action and must raise before it changes anything.
    """

    TABLE: ClassVar[Table[Any, Any, Any]]

    def __init__(self) -> None:
        self.state: S = self.TABLE.initial
        self.timers: dict[str, Timer] = {}

    def _step(self, inp: I, now: dt.datetime, payload: object = None) -> list[Effect]:
        require_utc(now)
        action, nxt = self.TABLE.lookup(self.state, inp)
        effects = self._act(action, now, payload) if action is not None else []
        self.state = nxt
        for eff in effects:
            if isinstance(eff, ArmTimer):
                self.timers[eff.timer.name] = eff.timer
            elif isinstance(eff, CancelTimer):
                self.timers.pop(eff.name, None)
        return effects

    def _act(self, action: A, now: dt.datetime, payload: object) -> list[Effect]:
        raise NotImplementedError(action.name)

    def _due(self, name: str, now: dt.datetime) -> None:
        """Raise unless timer ``name`` is armed and due at ``now``."""
        require_utc(now)
        timer = self.timers.get(name)
        if timer is None or timer.deadline > now:
            raise ProtocolError(f"timer {name} is not armed or not yet due",
                                code=ErrorCode.UNEXPECTED_MESSAGE)

    def _fire(self, inp: I, name: str, now: dt.datetime) -> list[Effect]:
        """Run ``inp`` because timer ``name`` fired: a pair outside the table raises
        first, then a timer that is not armed or not due, and only then the step."""
        self.TABLE.lookup(self.state, inp)
        self._due(name, now)
        return self._step(inp, now)

    def due_timers(self, now: dt.datetime) -> list[str]:
        """The names of the armed timers whose deadline is at or before ``now``."""
        return sorted(n for n, t in self.timers.items() if t.deadline <= now)

    def snapshot(self) -> object:
        """A deep, comparable copy of everything the machine holds (and the stores it
        was given), to compare before and after an input."""
        return plain_copy(self)

    @property
    def finished(self) -> bool:
        """True in a terminal state of the table."""
        return self.state in self.TABLE.terminal_states()


def require_utc(now: dt.datetime) -> None:
    """``now`` must be an aware UTC datetime: machines never read the clock."""
    if not isinstance(now, dt.datetime) or now.utcoffset() != dt.timedelta(0):
        raise ValueError("now must be an aware UTC datetime")


def sends(effects: list[Effect]) -> list[Send]:
    """The :class:`Send` effects of ``effects``, in order."""
    return [e for e in effects if isinstance(e, Send)]


def events(effects: list[Effect]) -> list[Event]:
    """The :class:`Event` effects of ``effects``, in order."""
    return [e for e in effects if isinstance(e, Event)]


def refused(exc_code: ErrorCode, text: str) -> ProtocolError:
    """A ProtocolError with ``exc_code`` (helper for actions)."""
    return ProtocolError(text, code=exc_code)


#: Every machine class of the package, registered by each module for the diagrams.
MACHINES: list[type[Machine[Any, Any, Any]]] = []


MT = TypeVar("MT", bound=type)


def register(cls: MT) -> MT:
    """Class decorator: list ``cls`` in :data:`MACHINES`."""
    MACHINES.append(cls)
    return cls


def answered_id(msg: object) -> bytes | None:
    """The message id an acknowledgement or error report answers; None for any other
    message (an error report may also carry none)."""
    if isinstance(msg, Acknowledgement):
        return msg.acknowledged_id
    if isinstance(msg, ErrorReport):
        return msg.refers_to
    return None
