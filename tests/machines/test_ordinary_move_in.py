"""Ordinary move (Art. 9(1)): the new municipality records a move-in filed with a paper
move-out certificate and notifies the former municipality, which finalises the move-out.
Real machines on both sides, in memory."""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum
from typing import Any

import pytest
from conftest import NOW

from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.fixtures.samples import AWAY, HOME
from juki_protocol.fixtures.synth import Household, SyntheticResident
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.card import IdentityCheck
from juki_protocol.machines.common import (
    Effect,
    Event,
    Inbound,
    Machine,
    Send,
    counter_ids,
    events,
    sends,
)
from juki_protocol.machines.identity import IdentityUpdater
from juki_protocol.machines.move_in import (
    RETRY,
    RETRY_AFTER,
    IdentityChange,
    MoveInNotifier,
    NotifierState,
    OrdinaryMoveIn,
    ReceiptState,
)
from juki_protocol.machines.special_move import (
    AnnotatedMoveOut,
    MoveOutDesk,
    OrdinaryMoveOut,
    report_identity_changes,
)
from juki_protocol.machines.special_move_in import SpecialMoveInCounter
from juki_protocol.machines.stores import Register
from juki_protocol.messages.common import Address, ChangeReason
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.special_move import MoveInNotice, SpecialMoveInNotice
from juki_protocol.messages.wide_area import IdentityCheckMethod

NEW_ADDRESS = Address(local_gov_code=AWAY, text="東京都千代田区千代田一丁目1番1号")
MOVED = NOW.date() - dt.timedelta(days=3)


def to(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def move_out(people: tuple[SyntheticResident, ...]) -> OrdinaryMoveOut:
    return OrdinaryMoveOut(movers=tuple(p.resident_code for p in people),
                           destination=NEW_ADDRESS, planned_move_date=MOVED)


def arrived(people: tuple[SyntheticResident, ...]) -> OrdinaryMoveIn:
    """The new records the new municipality writes from the paper certificate."""
    return OrdinaryMoveIn(residents=tuple(dataclasses.replace(
        p, address=NEW_ADDRESS, previous_address=p.address, resident_since=MOVED,
        address_notification_date=NOW.date()) for p in people))


def notice_of(people: tuple[SyntheticResident, ...]) -> MoveInNotice:
    return MoveInNotice(new_municipality=AWAY, former_municipality=HOME,
                        residents=tuple(p.person_ref() for p in people), moved_date=MOVED,
                        recorded_date=NOW.date(), new_address=NEW_ADDRESS)


def finalised(effects: list[Effect]) -> tuple[IdentityChange, ...]:
    """The changes of the one ``move_out_finalised`` event of ``effects``."""
    (done,) = [e for e in effects if isinstance(e, Event) and e.name == "move_out_finalised"]
    assert isinstance(done.data, tuple)
    return done.data


def state(machine: Machine[Any, Any, Any]) -> Enum:
    """The machine's state, unnarrowed (mypy keeps the state an earlier assert saw)."""
    found: Enum = machine.state
    return found


def test_ordinary_move_end_to_end(homes: list[Household], register: Register) -> None:
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    out = desk.record_move_out(move_out(family), NOW)
    assert [e.name for e in events(out)] == ["move_out_recorded"]
    # The records stay current until the move-in notice arrives.
    assert all(register.get(m.resident_code).status == "current" for m in family)

    new_register = Register(AWAY)
    notifier = MoveInNotifier(new_register, ids=counter_ids(2))
    sent = notifier.record(arrived(family), NOW)
    assert notifier.state is NotifierState.NOTIFIED
    recorded = next(e for e in events(sent) if e.name == "residents_recorded")
    assert isinstance(recorded.data, tuple)
    assert [(c.operation, c.change_info.change_reason) for c in recorded.data] == [
        (UpdateOperation.RECORD, ChangeReason.MOVE_IN)] * len(family)
    assert set(new_register.records) == {m.resident_code for m in family}
    (notice,) = sends(sent)
    # R-9-1-01, R-MOVE-01: to the former municipality, without a correlation id.
    assert notice.recipient == HOME and notice.correlation_id is None
    assert isinstance(notice.message, MoveInNotice)
    assert [r.resident_code for r in notice.message.residents] == [
        m.resident_code for m in family]
    assert notice.message.moved_date == MOVED

    fin = desk.receive(to(notice, AWAY), NOW)
    (ack,) = sends(fin)
    assert ack.message == Acknowledgement(acknowledged_id=notice.message_id,
                                          status=AckStatus.ACCEPTED)
    assert all(register.get(m.resident_code).status == "moved_out" for m in family)
    assert desk.moves.on_file == {}
    assert desk.receipts[0].state is ReceiptState.FINALISED
    # R-9-1-04: one erase/moveOut change per record, reported under Art. 30-5.
    updater = IdentityUpdater(HOME, ids=counter_ids(3))
    (upd,) = sends(report_identity_changes(updater, finalised(fin), NOW))
    assert isinstance(upd.message, IdentityInfoUpdate)
    assert upd.recipient == prefecture_of(HOME)
    assert upd.message.operation is UpdateOperation.ERASE
    assert upd.message.change_info.change_reason is ChangeReason.MOVE_OUT
    assert upd.message.change_info.change_date == MOVED
    assert [o[1].identity_info.resident_code for o in updater.outbox] == [
        m.resident_code for m in family]

    closed = notifier.receive(to(ack, HOME), NOW)
    assert state(notifier) is NotifierState.DONE
    assert [e.name for e in events(closed)] == ["move_in_notified"]
    assert notifier.timers == {}


def test_move_out_erased_at_the_counter_is_finalised_without_second_erase(
        homes: list[Household], register: Register) -> None:
    """A record the municipality erased for the move-out when it was filed: the notice
    is accepted and erases nothing more (R-9-1-04, R-MOVE-02)."""
    person = homes[1].members[0]
    register.set_status(person.resident_code, "moved_out")
    desk = MoveOutDesk(register, ids=counter_ids(1))
    fin = desk.receive(Inbound(message=notice_of((person,)), message_id=b"o" * 16,
                               sender=AWAY), NOW)
    (ack,) = sends(fin)
    assert isinstance(ack.message, Acknowledgement) and ack.message.status is AckStatus.ACCEPTED
    assert finalised(fin) == ()


def test_partial_household_finalises_only_those_named(homes: list[Household],
                                                      register: Register) -> None:
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.record_move_out(move_out(family), NOW)
    fin = desk.receive(Inbound(message=notice_of(family[:1]), message_id=b"o" * 16,
                               sender=AWAY), NOW)
    assert len(finalised(fin)) == 1
    assert register.get(family[0].resident_code).status == "moved_out"
    assert all(register.get(m.resident_code).status == "current" for m in family[1:])
    assert set(desk.moves.on_file) == {m.resident_code for m in family[1:]}


def test_resident_not_in_register_is_no_such_resident(
        homes: list[Household], register: Register,
        away_resident: SyntheticResident) -> None:
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.record_move_out(move_out(family), NOW)
    before = (dict(register.records), dict(desk.moves.on_file))
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=notice_of((*family, away_resident)),
                             message_id=b"o" * 16, sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.NO_SUCH_RESIDENT
    assert (dict(register.records), dict(desk.moves.on_file)) == before
    assert desk.receipts == []


def test_name_mismatch_is_no_such_resident(homes: list[Household],
                                           register: Register) -> None:
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.record_move_out(move_out(family), NOW)
    wrong = dataclasses.replace(family[0], name=family[1].name)
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=notice_of((wrong,)), message_id=b"o" * 16,
                             sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.NO_SUCH_RESIDENT
    assert register.get(family[0].resident_code).status == "current"


def test_resident_not_moved_out_is_unexpected(homes: list[Household],
                                              register: Register) -> None:
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.record_move_out(move_out(homes[0].members), NOW)
    stay = homes[1].members
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=notice_of((homes[0].members[0], *stay)),
                             message_id=b"o" * 16, sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.UNEXPECTED_MESSAGE
    assert all(register.get(m.resident_code).status == "current"
               for m in (*homes[0].members, *stay))
    assert len(desk.moves.on_file) == len(homes[0].members)


def test_deceased_record_is_refused(homes: list[Household], register: Register) -> None:
    person = homes[2].members[0]
    register.set_status(person.resident_code, "deceased")
    desk = MoveOutDesk(register, ids=counter_ids(1))
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=notice_of((person,)), message_id=b"o" * 16,
                             sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.RECORD_DECEASED


def test_annotated_move_out_without_correlation_is_unexpected(
        homes: list[Household], register: Register) -> None:
    """A resident on an open special move has no ordinary move-out on file."""
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(AnnotatedMoveOut(
        movers=tuple(m.resident_code for m in family), destination=NEW_ADDRESS,
        planned_move_date=MOVED), NOW)
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=notice_of(family), message_id=b"o" * 16,
                             sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.UNEXPECTED_MESSAGE
    # And the counter cannot file an ordinary move-out over the annotated one.
    with pytest.raises(ProtocolError) as exc:
        desk.record_move_out(move_out(family), NOW)
    assert exc.value.error_code is ErrorCode.UNEXPECTED_MESSAGE


def test_duplicate_is_acknowledged_without_second_erase(homes: list[Household],
                                                        register: Register) -> None:
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.record_move_out(move_out(family), NOW)
    inbound = Inbound(message=notice_of(family), message_id=b"o" * 16, sender=AWAY)
    first = desk.receive(inbound, NOW)
    assert len(finalised(first)) == len(family)
    again = desk.receive(inbound, NOW)
    (ack,) = sends(again)
    assert ack.message == Acknowledgement(acknowledged_id=b"o" * 16,
                                          status=AckStatus.DUPLICATE)
    assert events(again) == []               # no move_out_finalised, so no second update
    assert len(desk.receipts) == 1
    # The same id with other content is a replay (R-PDU-24).
    other = dataclasses.replace(notice_of(family), recorded_date=NOW.date()
                                + dt.timedelta(days=1))
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=other, message_id=b"o" * 16, sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.REPLAY
    # Another notice for a move-out already final is unexpected.
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=notice_of(family), message_id=b"p" * 16,
                             sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.UNEXPECTED_MESSAGE


def test_wrong_recipient_and_sender(homes: list[Household], register: Register) -> None:
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.record_move_out(move_out(family), NOW)
    other = dataclasses.replace(notice_of(family), former_municipality="131041")
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=other, message_id=b"o" * 16, sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.WRONG_RECIPIENT
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=notice_of(family), message_id=b"o" * 16,
                             sender="130001"), NOW)
    assert exc.value.error_code is ErrorCode.INVALID_FIELD
    assert all(register.get(m.resident_code).status == "current" for m in family)


def test_record_move_out_refusals(homes: list[Household], register: Register,
                                  away_resident: SyntheticResident) -> None:
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    with pytest.raises(JukiError) as exc:
        desk.record_move_out(move_out((away_resident,)), NOW)
    assert exc.value.error_code is ErrorCode.NO_SUCH_RESIDENT
    with pytest.raises(JukiError) as exc:
        desk.record_move_out(dataclasses.replace(move_out(family),
                                                 destination=family[0].address), NOW)
    assert exc.value.error_code is ErrorCode.INVALID_FIELD
    desk.record_move_out(move_out(family[:1]), NOW)
    with pytest.raises(ProtocolError) as exc:
        desk.record_move_out(move_out(family), NOW)
    assert exc.value.error_code is ErrorCode.UNEXPECTED_MESSAGE
    assert set(desk.moves.on_file) == {family[0].resident_code}


def test_notifier_resends_until_acknowledged_and_reports_refusal(
        homes: list[Household]) -> None:
    family = homes[0].members
    notifier = MoveInNotifier(Register(AWAY), ids=counter_ids(2))
    (notice,) = sends(notifier.record(arrived(family), NOW))
    later = NOW + RETRY_AFTER
    assert notifier.due_timers(later) == [RETRY]
    (again,) = sends(notifier.timeout(RETRY, later))
    assert again == notice                   # the same message id (R-PDU-23)
    with pytest.raises(ProtocolError) as exc:   # an answer to something else
        notifier.receive(Inbound(message=Acknowledgement(
            acknowledged_id=b"x" * 16, status=AckStatus.ACCEPTED),
            message_id=b"a" * 16, sender=HOME), later)
    assert exc.value.error_code is ErrorCode.UNKNOWN_CORRELATION
    out = notifier.receive(Inbound(message=ErrorReport(error_code=4001,
                                                       refers_to=notice.message_id),
                                   message_id=b"e" * 16, sender=HOME), later)
    assert state(notifier) is NotifierState.FAILED and notifier.outcome == 4001
    assert [(e.name, e.code) for e in events(out)] == [
        ("failed", ErrorCode.UNEXPECTED_MESSAGE)]
    assert notifier.timers == {}


def test_notifier_refuses_a_current_code_and_changes_nothing(homes: list[Household]) -> None:
    family = homes[0].members
    held = arrived(family).residents[0]
    new_register = Register(AWAY, [held])
    notifier = MoveInNotifier(new_register, ids=counter_ids(2))
    before = notifier.snapshot()
    with pytest.raises(JukiError) as exc:
        notifier.record(arrived(family), NOW)
    assert exc.value.error_code is ErrorCode.INVALID_FIELD
    assert notifier.snapshot() == before and notifier.state is NotifierState.NEW


def test_move_in_must_be_one_household_from_one_municipality(
        homes: list[Household]) -> None:
    a, b = arrived(homes[0].members).residents[:2]
    with pytest.raises(JukiError):
        OrdinaryMoveIn(residents=(a, dataclasses.replace(b, resident_since=NOW.date())))
    with pytest.raises(JukiError):
        OrdinaryMoveIn(residents=(dataclasses.replace(a, previous_address=None),))


def test_special_move_already_final_is_unexpected(homes: list[Household],
                                                  register: Register) -> None:
    """After a special move finalised by its correlated notice, an uncorrelated notice
    for the same residents is refused and erases nothing more (R-MOVE-03)."""
    family = homes[1].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(AnnotatedMoveOut(
        movers=tuple(m.resident_code for m in family), destination=NEW_ADDRESS,
        planned_move_date=MOVED), NOW)
    counter = SpecialMoveInCounter(AWAY, register=Register(AWAY), ids=counter_ids(2))
    counter.identify(IdentityCheck(method=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN,
                                   confirmed=True, resident_code=family[0].resident_code),
                     NOW)
    pending = [(s, AWAY) for s in sends(counter.submit(SpecialMoveInNotice(
        new_municipality=AWAY, former_municipality=HOME,
        movers=tuple(p.person_ref() for p in family), moved_date=MOVED,
        move_in_filed_date=NOW.date(), new_address=NEW_ADDRESS), NOW))]
    while pending:
        send, frm = pending.pop(0)
        got = (desk if frm == AWAY else counter).receive(to(send, frm), NOW)
        pending += [(s, HOME if frm == AWAY else AWAY) for s in sends(got)]
    assert all(register.get(m.resident_code).status == "moved_out" for m in family)
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=notice_of(family), message_id=b"o" * 16,
                             sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.UNEXPECTED_MESSAGE
    assert desk.receipts == []
