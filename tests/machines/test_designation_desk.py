"""The designation machines in memory (Art. 30-7(1)(2), spec/designation.md): the
prefecture's desk and the municipality's codes, both ends of the flow, every state x
input pair of both tables, and the prefecture's check of new codes in updates."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from enum import Enum
from typing import Any

import pytest
from conftest import NOW
from hypothesis import given, settings
from hypothesis import strategies as st

from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.fixtures.samples import example
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.machines.common import Inbound, Send, counter_ids, events, sends
from juki_protocol.machines.designation import (
    DESIGNATOR_TABLE,
    POOL_TABLE,
    RETRY_AFTER,
    DesignationCheckedStore,
    DesignatorInput,
    MunicipalityCodes,
    PoolInput,
    PrefectureDesignations,
    check_designated,
)
from juki_protocol.machines.designation_memory import MemoryLedger, MemoryPool
from juki_protocol.machines.identity import IdentityUpdater, PrefectureReceiver
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.designation import (
    CodeDesignation,
    CodeDesignationRequest,
    in_allotment,
    new_designated_code,
)
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.special_move import MoveInNotice

MUNI, PREF = "271004", "270008"


def _desk(seed: int = 1) -> PrefectureDesignations:
    return PrefectureDesignations(PREF, MemoryLedger(), ids=counter_ids(seed),
                                  rng=random.Random(seed))


def _codes(seed: int = 2) -> MunicipalityCodes:
    return MunicipalityCodes(MUNI, MemoryPool(), ids=counter_ids(seed))


def _in(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def _exchange(desk: PrefectureDesignations, codes: MunicipalityCodes, count: int
              ) -> CodeDesignation:
    """The municipality asks, the prefecture answers, each acknowledges the other."""
    ask = sends(codes.request(count, NOW))[0]
    answer = desk.receive(_in(ask, MUNI), NOW)
    ack, designation = sends(answer)
    assert isinstance(ack.message, Acknowledgement)
    assert ack.message.acknowledged_id == ask.message_id
    assert designation.correlation_id == ask.message_id
    codes.receive(_in(ack, PREF), NOW)
    back = sends(codes.receive(_in(designation, PREF), NOW))[0]
    assert desk.receive(_in(back, MUNI), NOW) != []
    assert isinstance(designation.message, CodeDesignation)
    return designation.message


# The flow ------------------------------------------------------------------------------

def test_a_request_is_answered_with_fresh_codes_of_the_allotment() -> None:
    desk, codes = _desk(), _codes()
    first = _exchange(desk, codes, 5)
    second = _exchange(desk, codes, 7)
    assert first.municipality == MUNI and len(first.codes) == 5 and len(second.codes) == 7
    assert not set(first.codes) & set(second.codes)                   # R-30-7-2-02
    assert all(in_allotment(c, PREF) for c in first.codes + second.codes)   # R-30-7-2-01
    assert codes.pool.free() == 12 and desk.ledger.pending() == []
    assert [s for _, _, s in codes.pool.open_requests()] == []
    assert codes.pool.requests[next(iter(codes.pool.requests))][1] == "done"


def test_the_municipality_takes_new_codes_in_the_order_designated() -> None:
    desk, codes = _desk(), _codes()
    assert codes.next_code() is None                 # before any designation: its own
    codes.check_new("12345678903")
    got = _exchange(desk, codes, 2)
    first = codes.next_code()
    assert first == got.codes[0]
    codes.consume(first, NOW)
    assert codes.next_code() == got.codes[1]
    for code, why in ((first, "recorded"), ("12345678903", "not designated")):
        with pytest.raises(JukiError) as exc:
            codes.check_new(code)
        assert exc.value.error_code is ErrorCode.RESIDENT_CODE_NOT_DESIGNATED, why
    codes.consume(got.codes[1], NOW)
    with pytest.raises(JukiError) as exc:
        codes.next_code()
    assert exc.value.error_code is ErrorCode.CODE_POOL_EXHAUSTED


def test_a_designation_on_the_prefectures_initiative_and_its_resend() -> None:
    desk = _desk()
    out = desk.designate(MUNI, 3, NOW)
    send = sends(out)[0]
    assert send.correlation_id is None and len(send.message.codes) == 3
    assert [e.name for e in events(out)] == ["designated"]
    later = NOW + RETRY_AFTER
    assert desk.due_timers(later) == [f"retry:{send.message_id.hex()}"]
    again = sends(desk.timeout(f"retry:{send.message_id.hex()}", later))
    assert again == [send]                           # same id, same codes (R-PDU-23)
    refused = desk.receive(Inbound(message=ErrorReport(error_code=1024,
                                                       refers_to=send.message_id),
                                   message_id=b"e" * 16, sender=MUNI), later)
    assert [e.name for e in events(refused)] == ["designation_refused"]
    assert desk.ledger.pending() == []
    assert desk.ledger.designated_count(MUNI) == 3   # refused or not, never again


def test_a_retry_timer_of_a_designation_rolled_back_goes_away() -> None:
    """A node whose commit failed keeps the machine, whose timer then names nothing
    pending: firing it sends nothing and disarms it."""
    desk = _desk()
    mid = sends(desk.designate(MUNI, 2, NOW))[0].message_id
    del desk.ledger.sent[mid]                       # as if the transaction rolled back
    later = NOW + RETRY_AFTER
    assert sends(desk.timeout(f"retry:{mid.hex()}", later)) == []
    assert desk.due_timers(later) == []


def test_resume_resends_what_is_unacknowledged() -> None:
    ledger = MemoryLedger()
    first = PrefectureDesignations(PREF, ledger, ids=counter_ids(1), rng=random.Random(1))
    sent = sends(first.designate(MUNI, 2, NOW))[0]
    rebuilt = PrefectureDesignations(PREF, ledger, ids=counter_ids(9), rng=random.Random(9))
    assert sends(rebuilt.resume(NOW)) == [sent]
    assert rebuilt.due_timers(NOW + RETRY_AFTER)
    codes = _codes()
    ask = sends(codes.request(4, NOW))[0]
    again = MunicipalityCodes(MUNI, codes.pool, ids=counter_ids(5))
    assert sends(again.resume(NOW)) == [ask]


def test_refusals_of_the_prefecture_change_nothing() -> None:
    desk = _desk()
    before = desk.snapshot()
    for request, sender, code in (
            (CodeDesignationRequest(municipality="272035", count=2), MUNI,
             ErrorCode.INVALID_FIELD),                      # another municipality
            (CodeDesignationRequest(municipality="131016", count=2), "131016",
             ErrorCode.INVALID_FIELD),                      # another prefecture's
            (example("MoveInNotice"), MUNI, ErrorCode.ROLE_NOT_ALLOWED),
            (example("ProvisionRequest"), MUNI, ErrorCode.UNEXPECTED_MESSAGE)):
        with pytest.raises(JukiError) as exc:
            desk.receive(Inbound(message=request, message_id=b"r" * 16, sender=sender), NOW)
        assert exc.value.error_code is code
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=Acknowledgement(acknowledged_id=b"x" * 16,
                                                     status=AckStatus.ACCEPTED),
                             message_id=b"a" * 16, sender=MUNI), NOW)
    assert exc.value.error_code is ErrorCode.UNKNOWN_CORRELATION
    desk.capacity = 2
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=CodeDesignationRequest(municipality=MUNI, count=3),
                             message_id=b"r" * 16, sender=MUNI), NOW)
    assert exc.value.error_code is ErrorCode.CODE_POOL_EXHAUSTED     # R-30-7-1-03
    desk.capacity = None
    assert desk.snapshot() == before


def test_a_prefecture_never_designates_a_code_held_or_designated() -> None:
    """R-30-7-2-02, R-30-7-2-03: a generator that only ever draws taken codes runs out
    (5024) rather than designate one of them."""
    class Stuck(random.Random):
        def randrange(self, *args: Any, **kw: Any) -> int:   # type: ignore[override]
            return 1234567873

    held = {new_designated_code(Stuck(), PREF)}
    ledger = MemoryLedger(holds=held.__contains__)
    desk = PrefectureDesignations(PREF, ledger, ids=counter_ids(1), rng=Stuck())
    with pytest.raises(JukiError) as exc:
        desk.choose(1)
    assert exc.value.error_code is ErrorCode.CODE_POOL_EXHAUSTED
    fresh = PrefectureDesignations(PREF, ledger, rng=random.Random(5))
    code = fresh.choose(1)[0]
    assert code not in held
    ledger.codes[code] = MUNI
    assert not fresh.is_free(code)


def test_the_municipality_refuses_what_is_not_its_designation() -> None:
    codes = _codes()
    rng = random.Random(6)
    mine = tuple(new_designated_code(rng, MUNI) for _ in range(2))
    cases = ((CodeDesignation(municipality="272035", codes=mine), PREF, None),
             (CodeDesignation(municipality=MUNI, codes=mine), "130001", None),
             (CodeDesignation(municipality=MUNI, codes=mine), PREF, b"q" * 16))
    for message, sender, correlation in cases:
        with pytest.raises(JukiError) as exc:
            codes.receive(Inbound(message=message, message_id=b"d" * 16, sender=sender,
                                  correlation_id=correlation), NOW)
        assert exc.value.error_code in (ErrorCode.INVALID_FIELD,
                                        ErrorCode.UNKNOWN_CORRELATION)
    assert codes.pool.designated() == 0
    codes.receive(Inbound(message=CodeDesignation(municipality=MUNI, codes=mine),
                          message_id=b"d" * 16, sender=PREF), NOW)
    with pytest.raises(JukiError) as exc:                 # a code designated before
        codes.receive(Inbound(message=CodeDesignation(municipality=MUNI, codes=mine[:1]),
                              message_id=b"e" * 16, sender=PREF), NOW)
    assert exc.value.error_code is ErrorCode.INVALID_FIELD
    assert codes.pool.designated() == 2


# The prefecture's check of updates (R-30-7-1-05) ------------------------------------------

def _update(code: str, seq: int, reason: ChangeReason = ChangeReason.BIRTH
            ) -> IdentityInfoUpdate:
    person = generate_households(1, f"desk:{seq}", municipalities=[MUNI])[0].head
    info = person.identity_info(Profile.CURRENT)
    return IdentityInfoUpdate(
        municipality=MUNI, update_sequence=seq, operation=UpdateOperation.RECORD,
        identity_info=type(info)(resident_code=code, name=info.name,
                                 birth_date=info.birth_date, sex=info.sex,
                                 address=info.address,
                                 individual_number=info.individual_number),
        change_info=ChangeInfo(change_reason=reason, change_date=person.birth_date))


def test_the_prefecture_applies_only_designated_new_codes() -> None:
    receiver = PrefectureReceiver(PREF, ids=counter_ids(3))
    inner = receiver.store
    ledger = MemoryLedger(holds=lambda c: c in inner.current or c in inner.retired)
    receiver.store = DesignationCheckedStore(inner, ledger)   # type: ignore[assignment]
    desk = PrefectureDesignations(PREF, ledger, rng=random.Random(8))
    stray = new_designated_code(random.Random(99), PREF)

    def deliver(update: IdentityInfoUpdate) -> ErrorCode | None:
        try:
            receiver.receive(Inbound(message=update, message_id=bytes([update.update_sequence])
                                     * 16, sender=MUNI), NOW)
        except JukiError as exc:
            return exc.error_code
        return None
    assert deliver(_update(stray, 1)) is None          # before any designation
    codes = sends(desk.designate(MUNI, 2, NOW))[0].message.codes
    assert deliver(_update(new_designated_code(random.Random(7), PREF), 2)) is \
        ErrorCode.RESIDENT_CODE_NOT_DESIGNATED
    assert deliver(_update(codes[0], 2)) is None
    assert deliver(_update(codes[0], 3)) is ErrorCode.RESIDENT_CODE_NOT_DESIGNATED
    inner._drop(codes[0])          # as the retention purge would, long after an erasure
    assert deliver(_update(codes[0], 3)) is ErrorCode.RESIDENT_CODE_NOT_DESIGNATED
    assert deliver(_update(stray, 3, ChangeReason.MOVE_IN)) is None   # an old code
    check_designated(_update(codes[1], 4), ledger)


def test_the_updater_and_the_pool_agree_end_to_end() -> None:
    """A birth at the municipality takes the pool's code; the updater reports it."""
    desk, codes = _desk(), _codes()
    got = _exchange(desk, codes, 1)
    code = codes.next_code()
    assert code == got.codes[0]
    codes.consume(code, NOW)
    update = sends(IdentityUpdater(MUNI).change(
        UpdateOperation.RECORD, _update(code, 1).identity_info,
        ChangeInfo(change_reason=ChangeReason.BIRTH, change_date=dt.date(2026, 3, 1)), NOW))
    assert update[0].message.identity_info.resident_code == code


# Every state x input pair (STYLE.md item 2) --------------------------------------------

def _designator_payload(m: PrefectureDesignations, inp: Enum) -> Callable[[], Any]:
    pending = m.ledger.pending()
    ref = pending[0].message_id if pending else b"z" * 16
    I = DesignatorInput  # noqa: E741
    return {
        I.REQUEST: lambda: Inbound(message=CodeDesignationRequest(municipality=MUNI,
                                                                  count=2),
                                   message_id=b"q" * 16, sender=MUNI),
        I.DESIGNATE: lambda: CodeDesignationRequest(municipality=MUNI, count=2),
        I.ACK: lambda: Inbound(message=Acknowledgement(acknowledged_id=ref,
                                                       status=AckStatus.ACCEPTED),
                               message_id=b"a" * 16, sender=MUNI),
        I.REFUSED: lambda: Inbound(message=ErrorReport(error_code=1024, refers_to=ref),
                                   message_id=b"e" * 16, sender=MUNI),
        I.RETRY_DUE: lambda: f"retry:{ref.hex()}",
    }.get(inp, lambda: Inbound(message=MoveInNotice, message_id=b"o" * 16, sender=MUNI))


def _pool_payload(m: MunicipalityCodes, inp: Enum) -> Callable[[], Any]:
    open_ = m.pool.open_requests()
    ref = open_[0][0] if open_ else b"z" * 16
    codes = (new_designated_code(random.Random(len(m.pool.codes)), MUNI),)
    I = PoolInput  # noqa: E741
    return {
        I.DESIGNATION: lambda: Inbound(message=CodeDesignation(municipality=MUNI,
                                                               codes=codes),
                                       message_id=b"d" * 16, sender=PREF),
        I.REQUEST: lambda: CodeDesignationRequest(municipality=MUNI, count=2),
        I.REQUEST_ACK: lambda: Inbound(message=Acknowledgement(acknowledged_id=ref,
                                                               status=AckStatus.ACCEPTED),
                                       message_id=b"a" * 16, sender=PREF),
        I.REQUEST_ERROR: lambda: Inbound(message=ErrorReport(error_code=5024, refers_to=ref),
                                         message_id=b"e" * 16, sender=PREF),
        I.RETRY_DUE: lambda: f"retry:{ref.hex()}",
    }.get(inp, lambda: None)


HARNESS = {"PrefectureDesignations": (_desk, _designator_payload, DESIGNATOR_TABLE),
           "MunicipalityCodes": (_codes, _pool_payload, POOL_TABLE)}


def _step(m: Any, inp: Enum, payload: Callable[[Any, Enum], Callable[[], Any]]) -> None:
    table = m.TABLE
    state, before = m.state, m.snapshot()
    row = table.rows.get((state, inp))
    try:
        m._step(inp, NOW, payload(m, inp)())
    except JukiError as exc:
        assert row is None, f"{table.name}: {state.name} x {inp.name} raised {exc}"
        assert isinstance(exc, ProtocolError)
        assert exc.error_code is table.error_code(state, inp)
        assert m.snapshot() == before, f"{table.name}: {inp.name} changed data"
        return
    assert row is not None and m.state is row[1]


@pytest.mark.parametrize("name", sorted(HARNESS))
def test_every_pair(name: str) -> None:
    make, payload, table = HARNESS[name]
    for inp in table.inputs:
        m = make()
        if table is POOL_TABLE and inp in (PoolInput.REQUEST_ACK, PoolInput.REQUEST_ERROR,
                                           PoolInput.RETRY_DUE):
            m.request(2, NOW)
        if table is DESIGNATOR_TABLE and inp in (DesignatorInput.ACK,
                                                 DesignatorInput.REFUSED,
                                                 DesignatorInput.RETRY_DUE):
            m.designate(MUNI, 2, NOW)
        _step(m, inp, payload)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_walks(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(HARNESS)))
    make, payload, table = HARNESS[name]
    m = make()
    for inp in data.draw(st.lists(st.sampled_from(list(table.inputs)), max_size=12)):
        _step(m, inp, payload)
