"""Every state x input pair of the two Art. 9(2) tables (STYLE.md item 2): a pair in the
table moves to its next state; any other pair raises its registered code and changes no
data (the walk of ``test_tables.py``, for the machines of
``juki_protocol.machines.family_register``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from enum import Enum
from typing import Any

import pytest
from conftest import NOW
from hypothesis import given, settings
from hypothesis import strategies as st

from juki_protocol.errors import JukiError, ProtocolError
from juki_protocol.fixtures.samples import AWAY, HOME, family_register_notices
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.machines.common import Inbound, Machine, counter_ids
from juki_protocol.machines.family_register import (
    FamilyRegisterNotifier,
    FamilyRegisterReceiver,
    NotifierInput,
    ReceiptInput,
)
from juki_protocol.machines.stores import Register
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport

NOTICE = next(s.message for s in family_register_notices() if s.message.event.value ==
              "marriage")
PEOPLE = [m for h in generate_households(4, "0:home", municipalities=[HOME],
                                         today=dt.date(2026, 4, 1)) for m in h.members]


def _receiver() -> FamilyRegisterReceiver:
    return FamilyRegisterReceiver(Register(HOME, PEOPLE), ids=counter_ids(),
                                  rng=random.Random(0))


def receipt_payload(m: Any, inp: Enum) -> object:
    mid = m.notice_id if inp is not ReceiptInput.NOTICE else b"f" * 16
    notice = NOTICE if inp is not ReceiptInput.CONFLICT else \
        dataclasses.replace(NOTICE, entry_date=NOTICE.event_date)
    return Inbound(message=notice, message_id=mid or b"f" * 16, sender=AWAY)


def notifier_payload(m: Any, inp: Enum) -> object:
    ref = m.notice.message_id if m.notice else None
    if inp is NotifierInput.NOTIFY:
        return NOTICE
    if inp is NotifierInput.ACK:
        return Inbound(message=Acknowledgement(acknowledged_id=ref or bytes(16),
                                               status=AckStatus.ACCEPTED),
                       message_id=b"a" * 16, sender=HOME)
    if inp in (NotifierInput.ERROR, NotifierInput.BUSY):
        code = 5001 if inp is NotifierInput.ERROR else 9002
        return Inbound(message=ErrorReport(error_code=code, refers_to=ref),
                       message_id=b"e" * 16, sender=HOME)
    return None


HARNESS: dict[str, tuple[Callable[[], Machine[Any, Any, Any]],
                         Callable[[Any, Enum], object]]] = {
    "FamilyRegisterReceiver": (_receiver, receipt_payload),
    "FamilyRegisterNotifier": (lambda: FamilyRegisterNotifier(AWAY, ids=counter_ids()),
                               notifier_payload),
}


def step(m: Machine[Any, Any, Any], inp: Enum, payload: Callable[[Any, Enum], object]) -> None:
    """Feed ``inp`` and check the table's promise for the pair."""
    table = m.TABLE
    state, before = m.state, m.snapshot()
    row = table.rows.get((state, inp))
    try:
        m._step(inp, NOW, payload(m, inp))
    except JukiError as exc:
        assert row is None, f"{table.name}: {state.name} x {inp.name} raised {exc}"
        assert isinstance(exc, ProtocolError)
        assert exc.error_code is table.error_code(state, inp)
        assert m.snapshot() == before, f"{table.name}: {state.name} x {inp.name} changed data"
        return
    assert row is not None, f"{table.name}: {state.name} x {inp.name} is not in the table"
    assert m.state is row[1]


def reachable(name: str) -> dict[Enum, list[Enum]]:
    """A shortest input path to every state reachable from the initial state."""
    table = HARNESS[name][0]().TABLE
    paths: dict[Enum, list[Enum]] = {table.initial: []}
    frontier = [table.initial]
    while frontier:
        nxt = []
        for state in frontier:
            for (s, inp), (_, to) in table.rows.items():
                if s is state and to not in paths:
                    paths[to] = [*paths[state], inp]
                    nxt.append(to)
        frontier = nxt
    return paths


def replay(name: str, path: list[Enum]) -> Machine[Any, Any, Any]:
    make, payload = HARNESS[name]
    m = make()
    for inp in path:
        m._step(inp, NOW, payload(m, inp))
    return m


PAIRS = [(n, s, i) for n in sorted(HARNESS) for s, path in reachable(n).items()
         for i in replay(n, path).TABLE.inputs]


def test_every_state_is_reachable() -> None:
    for name, (make, _) in HARNESS.items():
        assert set(reachable(name)) == set(make().TABLE.states), name


@pytest.mark.parametrize("name, state, inp", PAIRS,
                         ids=[f"{n}-{s.name}-{i.name}" for n, s, i in PAIRS])
def test_every_pair(name: str, state: Enum, inp: Enum) -> None:
    m = replay(name, reachable(name)[state])
    assert m.state is state
    step(m, inp, HARNESS[name][1])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_walks(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(HARNESS)))
    make, payload = HARNESS[name]
    m = make()
    for inp in data.draw(st.lists(st.sampled_from(list(m.TABLE.inputs)), max_size=12)):
        step(m, inp, payload)
