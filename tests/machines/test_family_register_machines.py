"""Art. 9(2) in memory: the municipality of the family register (131016) notifies the
residence municipality (271004), whose register changes and whose identity updater
reports the identity changes (spec/family_register.md). Real machines on both sides."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest
from conftest import NOW

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.samples import AWAY, HOME, family_register_notices
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.machines.common import (
    Event,
    Inbound,
    Send,
    counter_ids,
    events,
    sends,
)
from juki_protocol.machines.family_register import (
    APPLIED,
    FamilyRegisterNotifier,
    FamilyRegisterReceiver,
    NotifierState,
    ReceiptState,
)
from juki_protocol.machines.identity import IdentityUpdater
from juki_protocol.machines.move_in import RETRY, RETRY_AFTER, report_identity_changes
from juki_protocol.machines.stores import Register
from juki_protocol.messages.common import ChangeReason, PersonName, Profile
from juki_protocol.messages.family_register import (
    FamilyRegisterEvent,
    FamilyRegisterItems,
    FamilyRegisterNotice,
)
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport

E = FamilyRegisterEvent
NOTICES = {s.message.event: s.message for s in family_register_notices()}


def _people() -> list[SyntheticResident]:
    """The residents of HOME the sample notices name (samples' seed 0)."""
    homes = generate_households(4, "0:home", municipalities=[HOME],
                                today=dt.date(2026, 4, 1))
    return [m for h in homes for m in h.members]


def _receiver(register: Register, **kw: object) -> FamilyRegisterReceiver:
    return FamilyRegisterReceiver(register, ids=counter_ids(7), rng=random.Random(3),
                                  **kw)  # type: ignore[arg-type]


def _in(notice: FamilyRegisterNotice, mid: bytes = b"n" * 16,
        sender: str = AWAY) -> Inbound:
    return Inbound(message=notice, message_id=mid, sender=sender)


def _apply(register: Register, notice: FamilyRegisterNotice
           ) -> tuple[FamilyRegisterReceiver, list[IdentityInfoUpdate]]:
    """Deliver ``notice``; the receiver and the updates its changes give."""
    receiver = _receiver(register)
    effects = receiver.receive(_in(notice), NOW)
    (ack,) = sends(effects)
    assert isinstance(ack.message, Acknowledgement)
    assert ack.message.status is AckStatus.ACCEPTED and ack.recipient == AWAY
    (applied,) = [e for e in events(effects) if e.name == APPLIED]
    updater = IdentityUpdater(HOME, ids=counter_ids(9))
    out = report_identity_changes(updater, applied.data, NOW)
    return receiver, [s.message for s in sends(out)]  # type: ignore[misc]


@pytest.mark.parametrize("event, operation, reason", [
    (E.BIRTH, UpdateOperation.RECORD, ChangeReason.BIRTH),
    (E.DEATH, UpdateOperation.ERASE, ChangeReason.DEATH),
    (E.MARRIAGE, UpdateOperation.CORRECT, ChangeReason.NAME_CHANGE),
    (E.NAME_CHANGE, UpdateOperation.CORRECT, ChangeReason.NAME_CHANGE),
    (E.SEX_CHANGE, UpdateOperation.CORRECT, ChangeReason.SEX_CHANGE),
    (E.CORRECTION, UpdateOperation.CORRECT, ChangeReason.CORRECTION),
])
def test_identity_changes_are_reported(event: FamilyRegisterEvent,
                                       operation: UpdateOperation,
                                       reason: ChangeReason) -> None:
    register = Register(HOME, _people())
    notice = NOTICES[event]
    receiver, updates = _apply(register, notice)
    (update,) = updates
    assert (update.operation, update.change_info.change_reason,
            update.change_info.change_date) == (operation, reason, notice.event_date)
    rec = register.records[update.identity_info.resident_code]
    assert receiver.resident_code == rec.resident_code
    if event is E.DEATH:
        assert rec.status == "deceased"
        assert update.identity_info == dataclasses.replace(
            rec, status="current").identity_info(Profile.CURRENT)
    else:
        assert update.identity_info == rec.identity_info(Profile.CURRENT)
        for name in notice.items.given():
            assert getattr(rec, name) == getattr(notice.items, name)


def test_a_birth_joins_the_household_with_a_new_code() -> None:
    people = _people()
    register = Register(HOME, people)
    notice = NOTICES[E.BIRTH]
    receiver, _ = _apply(register, notice)
    assert receiver.resident_code is not None
    child = register.records[receiver.resident_code]
    parent = register.records[notice.household or ""]
    assert receiver.resident_code not in {p.resident_code for p in people}
    assert (child.household_id, child.address, child.resident_since,
            child.address_notification_date, child.previous_address) == (
        parent.household_id, parent.address, notice.event_date, notice.entry_date, None)
    assert child.individual_number not in {p.individual_number for p in people}


def test_a_retired_code_is_never_given_to_a_newborn() -> None:
    register = Register(HOME, _people())
    first = _receiver(Register(HOME, _people()))
    first.receive(_in(NOTICES[E.BIRTH]), NOW)
    retired = {first.resident_code or ""}
    again = _receiver(register, retired=retired)
    again.receive(_in(NOTICES[E.BIRTH]), NOW)
    assert again.resident_code not in retired


@pytest.mark.parametrize("event", [E.DIVORCE, E.ADOPTION, E.ADOPTION_DISSOLUTION,
                                   E.DOMICILE_CHANGE])
def test_relationship_or_register_alone_is_not_reported(event: FamilyRegisterEvent) -> None:
    register = Register(HOME, _people())
    notice = NOTICES[event]
    _, updates = _apply(register, notice)
    assert updates == []
    assert notice.person is not None
    rec = register.records[notice.person.resident_code]
    for name in notice.items.given():
        assert getattr(rec, name) == getattr(notice.items, name)


def test_items_the_record_already_holds_change_nothing() -> None:
    people = _people()
    register = Register(HOME, people)
    person = NOTICES[E.DEATH].person
    assert person is not None
    rec = register.get(person.resident_code)
    notice = dataclasses.replace(NOTICES[E.NAME_CHANGE],
                                 items=FamilyRegisterItems(name=rec.name))
    before = dict(register.records)
    _, updates = _apply(register, notice)
    assert updates == [] and register.records == before


def _refused(register: Register, notice: FamilyRegisterNotice, code: ErrorCode, *,
             sender: str = AWAY) -> None:
    receiver = _receiver(register)
    before, snapshot = dict(register.records), receiver.snapshot()
    with pytest.raises(JukiError) as err:
        receiver.receive(_in(notice, sender=sender), NOW)
    assert err.value.error_code is code
    assert register.records == before and receiver.snapshot() == snapshot
    assert receiver.state is ReceiptState.NEW


def test_refusals_change_nothing() -> None:
    people = _people()
    register = Register(HOME, people)
    death = NOTICES[E.DEATH]
    assert death.person is not None
    code = death.person.resident_code
    stranger = generate_households(1, "stranger", municipalities=[HOME])[0].head
    _refused(register, dataclasses.replace(death, residence_municipality="131041"),
             ErrorCode.WRONG_RECIPIENT)
    _refused(register, death, ErrorCode.INVALID_FIELD, sender="272035")
    _refused(register, dataclasses.replace(death, person=stranger.person_ref()),
             ErrorCode.NO_SUCH_RESIDENT)
    _refused(register, dataclasses.replace(death, person=dataclasses.replace(
        death.person, name=PersonName(kanji="別人　太郎"))), ErrorCode.NO_SUCH_RESIDENT)
    birth = NOTICES[E.BIRTH]
    _refused(register, dataclasses.replace(birth, household=stranger.resident_code),
             ErrorCode.NO_SUCH_RESIDENT)
    # An erased record: 5003 after a death, 5002 after a move-out.
    register.set_status(code, "deceased")
    _refused(register, death, ErrorCode.RECORD_DECEASED)
    register.set_status(code, "moved_out")
    _refused(register, death, ErrorCode.RECORD_MOVED_OUT)
    assert birth.household is not None
    register.set_status(birth.household, "moved_out")
    _refused(register, birth, ErrorCode.RECORD_MOVED_OUT)


def test_a_birth_already_recorded_is_refused() -> None:
    register = Register(HOME, _people())
    notice = NOTICES[E.BIRTH]
    _apply(register, notice)
    _refused(register, notice, ErrorCode.ALREADY_RECORDED)


def test_a_foreign_residents_record_is_refused() -> None:
    foreign = generate_households(1, "foreign", municipalities=[HOME],
                                  foreign_share=1.0)[0].head
    assert foreign.family_register is None
    register = Register(HOME, [foreign])
    for event in (E.NAME_CHANGE, E.DEATH, E.SEX_CHANGE):
        notice = dataclasses.replace(NOTICES[event], person=foreign.person_ref())
        _refused(register, notice, ErrorCode.FOREIGN_RESIDENT_NO_FAMILY_REGISTER)


def test_the_same_notice_again_is_a_duplicate_and_other_content_a_replay() -> None:
    register = Register(HOME, _people())
    receiver = _receiver(register)
    notice = NOTICES[E.MARRIAGE]
    first = receiver.receive(_in(notice), NOW)
    assert events(first)[0].data
    after = dict(register.records)
    again = receiver.receive(_in(notice), NOW)
    (ack,) = sends(again)
    assert isinstance(ack.message, Acknowledgement)
    assert ack.message.status is AckStatus.DUPLICATE and not events(again)
    assert register.records == after
    with pytest.raises(JukiError) as err:
        receiver.receive(_in(dataclasses.replace(notice, entry_date=notice.event_date)), NOW)
    assert err.value.error_code is ErrorCode.REPLAY


def _notifier() -> tuple[FamilyRegisterNotifier, Send]:
    notifier = FamilyRegisterNotifier(AWAY, ids=counter_ids(4))
    out = notifier.notify(NOTICES[E.DEATH], NOW)
    (send,) = sends(out)
    assert send.recipient == HOME and send.correlation_id is None
    assert notifier.timers[RETRY].deadline == NOW + RETRY_AFTER
    return notifier, send


def _answer(msg: object) -> Inbound:
    return Inbound(message=msg, message_id=b"a" * 16, sender=HOME)


def test_the_notifier_resends_until_acknowledged() -> None:
    notifier, send = _notifier()
    later = NOW + RETRY_AFTER
    (again,) = sends(notifier.timeout(RETRY, later))
    assert again == send
    # A transient refusal leaves the notice to the next resend.
    busy = notifier.receive(_answer(ErrorReport(error_code=9002,
                                                refers_to=send.message_id)), later)
    assert busy == [] and notifier.state is NotifierState.NOTIFIED
    done = notifier.receive(_answer(Acknowledgement(acknowledged_id=send.message_id,
                                                    status=AckStatus.ACCEPTED)), later)
    assert notifier.state is NotifierState.DONE and RETRY not in notifier.timers
    assert [e.name for e in events(done)] == ["family_register_notified"]


def test_the_notifier_reports_a_refusal() -> None:
    notifier, send = _notifier()
    out = notifier.receive(_answer(ErrorReport(error_code=5001, refers_to=send.message_id)),
                           NOW)
    assert notifier.state is NotifierState.FAILED and notifier.outcome == 5001
    assert [(e.name, e.code) for e in events(out)] == [("failed",
                                                       ErrorCode.NO_SUCH_RESIDENT)]


def test_the_notifier_refuses_what_is_not_its_own() -> None:
    notifier, _ = _notifier()
    with pytest.raises(JukiError) as err:
        notifier.receive(_answer(Acknowledgement(acknowledged_id=b"z" * 16,
                                                 status=AckStatus.ACCEPTED)), NOW)
    assert err.value.error_code is ErrorCode.UNKNOWN_CORRELATION
    other = FamilyRegisterNotifier("272035")
    with pytest.raises(JukiError) as err:
        other.notify(NOTICES[E.DEATH], NOW)
    assert err.value.error_code is ErrorCode.INVALID_FIELD and not other.timers


def test_both_sides_end_to_end() -> None:
    register = Register(HOME, _people())
    notifier, send = _notifier()
    receiver = _receiver(register)
    got = receiver.receive(Inbound(message=send.message, message_id=send.message_id,
                                   sender=AWAY), NOW)
    for ack in sends(got):
        notifier.receive(_answer(ack.message), NOW)
    assert (notifier.state, receiver.state) == (NotifierState.DONE, ReceiptState.APPLIED)
    assert any(isinstance(e, Event) and e.name == APPLIED for e in got)
