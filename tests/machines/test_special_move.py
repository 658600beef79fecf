"""Special move (Arts. 24-2, 9): former and new municipality in memory."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from conftest import NOW

from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.fixtures.samples import AWAY, HOME
from juki_protocol.fixtures.synth import Household, SyntheticResident
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.card import IdentityCheck
from juki_protocol.machines.common import Inbound, Send, counter_ids, events, sends
from juki_protocol.machines.identity import IdentityUpdater, NationalReceiver, PrefectureReceiver
from juki_protocol.machines.special_move import (
    PLAN_VALIDITY,
    AnnotatedMoveOut,
    MoveOutDesk,
    MoveOutState,
    report_identity_changes,
)
from juki_protocol.machines.special_move_in import (
    CERTIFICATE_DEADLINE,
    MoveInState,
    SpecialMoveInCounter,
)
from juki_protocol.machines.stores import Register
from juki_protocol.messages.common import Address, ChangeReason
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.special_move import (
    MoveInNotice,
    MoveOutCertificate,
    SpecialMoveInNotice,
)
from juki_protocol.messages.wide_area import IdentityCheckMethod

NEW_ADDRESS = Address(local_gov_code=AWAY, text="東京都千代田区千代田一丁目1番1号")
TODAY = NOW.date()
MOVED = TODAY - dt.timedelta(days=3)


def card_check(holder: SyntheticResident) -> IdentityCheck:
    return IdentityCheck(method=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN, confirmed=True,
                         resident_code=holder.resident_code)


def to(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def annotated(people: tuple[SyntheticResident, ...]) -> AnnotatedMoveOut:
    return AnnotatedMoveOut(movers=tuple(p.resident_code for p in people),
                            destination=NEW_ADDRESS, planned_move_date=MOVED)


def notice(people: tuple[SyntheticResident, ...], *, moved: dt.date = MOVED,
           filed: dt.date = TODAY) -> SpecialMoveInNotice:
    return SpecialMoveInNotice(new_municipality=AWAY, former_municipality=HOME,
                               movers=tuple(p.person_ref() for p in people),
                               moved_date=moved, move_in_filed_date=filed,
                               new_address=NEW_ADDRESS)


def code_of(exc: pytest.ExceptionInfo[JukiError]) -> ErrorCode:
    return exc.value.error_code


def opened(register: Register, people: tuple[SyntheticResident, ...]
           ) -> tuple[MoveOutDesk, SpecialMoveInCounter, Send]:
    """An annotated move-out on file and the counter's notice on the wire."""
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(annotated(people), NOW)
    counter = SpecialMoveInCounter(AWAY, register=Register(AWAY), ids=counter_ids(2))
    counter.identify(card_check(people[0]), NOW)
    (sent,) = sends(counter.submit(notice(people), NOW))
    return desk, counter, sent


def test_household_happy_path(homes: list[Household], register: Register) -> None:
    family = homes[0].members
    assert len(family) == 3
    desk, counter, sent = opened(register, family)
    assert isinstance(sent.message, SpecialMoveInNotice) and sent.recipient == HOME
    ack, cert = sends(desk.receive(to(sent, AWAY), NOW))
    assert ack.message == Acknowledgement(acknowledged_id=sent.message_id,
                                          status=AckStatus.ACCEPTED)
    # R-24-2-4-01: one entry per mover, correlated with the notice.
    assert isinstance(cert.message, MoveOutCertificate)
    assert cert.correlation_id == sent.message_id
    assert [e.resident_code for e in cert.message.entries] == [
        m.resident_code for m in family]
    assert all(e.family_register == m.family_register
               for e, m in zip(cert.message.entries, family, strict=True))
    plan = desk.plan_for(family[0].resident_code)
    assert plan is not None and plan.state is MoveOutState.CERTIFIED
    counter.receive(to(ack, HOME), NOW)
    assert counter.state is MoveInState.ACKNOWLEDGED
    out = counter.receive(to(cert, HOME), NOW)
    assert counter.state is MoveInState.RECORDED
    cert_ack, move_in = sends(out)
    assert cert_ack.message.acknowledged_id == cert.message_id
    assert isinstance(move_in.message, MoveInNotice)
    assert move_in.correlation_id == sent.message_id
    recorded = next(e for e in events(out) if e.name == "residents_recorded")
    assert [c.change_info.change_reason for c in recorded.data] == [ChangeReason.MOVE_IN] * 3
    assert counter.register is not None
    assert set(counter.register.records) == {m.resident_code for m in family}
    assert all(r.address == NEW_ADDRESS and r.previous_address == m.address
               for r, m in zip(counter.register.records.values(), family, strict=True))
    desk.receive(to(cert_ack, AWAY), NOW)
    assert plan.state is MoveOutState.CONFIRMED
    # Still on file until the MoveInNotice arrives.
    assert all(register.get(m.resident_code).status == "current" for m in family)
    fin = desk.receive(to(move_in, AWAY), NOW)
    assert plan.state is MoveOutState.FINALISED
    assert all(register.get(m.resident_code).status == "moved_out" for m in family)
    (final_ack,) = sends(fin)
    counter.receive(to(final_ack, HOME), NOW)
    assert counter.state is MoveInState.DONE
    # R-9-1-04: the erasures go to the prefecture through the identity updater.
    (done,) = [e for e in events(fin) if e.name == "move_out_finalised"]
    updater = IdentityUpdater(HOME, ids=counter_ids(3))
    (upd,) = sends(report_identity_changes(updater, done.data, NOW))
    assert isinstance(upd.message, IdentityInfoUpdate)
    assert upd.recipient == prefecture_of(HOME)
    assert upd.message.operation is UpdateOperation.ERASE
    assert upd.message.change_info.change_reason is ChangeReason.MOVE_OUT
    assert [o[1].identity_info.resident_code for o in updater.outbox] == [
        m.resident_code for m in family]


def test_unknown_mover_is_no_such_resident(homes: list[Household], register: Register,
                                           away_resident: SyntheticResident) -> None:
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(annotated(family), NOW)
    stranger = dataclasses.replace(away_resident, address=family[0].address)
    msg = notice((*family, stranger))
    before = desk.plans[0].snapshot()
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=msg, message_id=b"n" * 16, sender=AWAY), NOW)
    assert code_of(exc) is ErrorCode.NO_SUCH_RESIDENT
    assert desk.plans[0].snapshot() == before


def test_mover_without_annotated_move_out_is_unexpected(homes: list[Household],
                                                        register: Register) -> None:
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(annotated(homes[0].members), NOW)
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=notice(homes[1].members), message_id=b"n" * 16,
                             sender=AWAY), NOW)
    assert code_of(exc) is ErrorCode.UNEXPECTED_MESSAGE


def test_partial_household_is_refused(homes: list[Household], register: Register) -> None:
    family = homes[0].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(annotated(family), NOW)
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=notice(family[:2]), message_id=b"n" * 16,
                             sender=AWAY), NOW)
    assert code_of(exc) is ErrorCode.INVALID_FIELD
    assert desk.plans[0].state is MoveOutState.PLANNED


def test_deadline_passed_at_both_ends(homes: list[Household], register: Register) -> None:
    family = homes[1].members
    late = notice(family, moved=TODAY - dt.timedelta(days=15))
    in_time = notice(family, moved=TODAY - dt.timedelta(days=14))
    counter = SpecialMoveInCounter(AWAY, ids=counter_ids(2))
    counter.identify(card_check(family[0]), NOW)
    before = counter.snapshot()
    with pytest.raises(JukiError) as exc:
        counter.submit(late, NOW)            # R-24-2-1-02: nothing is sent.
    assert code_of(exc) is ErrorCode.DEADLINE_PASSED
    assert counter.snapshot() == before and counter.state is MoveInState.IDENTIFIED
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(annotated(family), NOW)
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=late, message_id=b"l" * 16, sender=AWAY), NOW)
    assert code_of(exc) is ErrorCode.DEADLINE_PASSED
    # Day 14 is still in time.
    out = desk.receive(Inbound(message=in_time, message_id=b"t" * 16, sender=AWAY), NOW)
    assert len(sends(out)) == 2 and desk.plans[0].state is MoveOutState.CERTIFIED


def test_wrong_recipient_and_sender(homes: list[Household], register: Register) -> None:
    family = homes[1].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(annotated(family), NOW)
    other = dataclasses.replace(notice(family), former_municipality="131016",
                                new_municipality="131041",
                                new_address=Address(local_gov_code="131041", text="東京都"))
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=other, message_id=b"o" * 16, sender="131041"), NOW)
    assert code_of(exc) is ErrorCode.WRONG_RECIPIENT
    with pytest.raises(JukiError) as exc:     # R-PDU-21: the sender is the new municipality.
        desk.receive(Inbound(message=notice(family), message_id=b"s" * 16,
                             sender="130001"), NOW)
    assert code_of(exc) is ErrorCode.INVALID_FIELD


def test_card_checks(homes: list[Household]) -> None:
    person = homes[2].members[0]
    locked = IdentityCheck(method=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN,
                           confirmed=False, failure=ErrorCode.CARD_LOCKED)
    counter = SpecialMoveInCounter(AWAY, ids=counter_ids(2))
    out = counter.identify(locked, NOW)
    assert [e.code for e in events(out)] == [ErrorCode.CARD_LOCKED]
    with pytest.raises(ProtocolError) as exc:
        counter.submit(notice((person,)), NOW)
    assert code_of(exc) is ErrorCode.IDENTITY_CHECK_FAILED
    # R-24-2-1-01: a photo ID without a card does not open a special move-in.
    photo = IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT, confirmed=True)
    counter = SpecialMoveInCounter(AWAY, ids=counter_ids(2))
    counter.identify(photo, NOW)
    assert counter.state is MoveInState.IDENTITY_FAILED
    # The card holder must be among the movers.
    counter = SpecialMoveInCounter(AWAY, ids=counter_ids(2))
    counter.identify(card_check(homes[3].members[0]), NOW)
    with pytest.raises(JukiError) as exc:
        counter.submit(notice((person,)), NOW)
    assert code_of(exc) is ErrorCode.IDENTITY_CHECK_FAILED


def test_plan_expires(homes: list[Household], register: Register) -> None:
    family = homes[1].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(annotated(family), NOW)
    plan = desk.plans[0]
    expiry = dt.datetime.combine(MOVED, dt.time(0), tzinfo=dt.UTC) + PLAN_VALIDITY
    assert desk.tick(expiry - dt.timedelta(seconds=1)) == []
    with pytest.raises(ProtocolError):
        plan.timeout("expiry", expiry - dt.timedelta(seconds=1))
    out = desk.tick(expiry)
    assert [e.code for e in events(out)] == [ErrorCode.FLOW_TIMED_OUT]
    assert plan.state is MoveOutState.EXPIRED
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=notice(family), message_id=b"n" * 16, sender=AWAY),
                     expiry)
    assert code_of(exc) is ErrorCode.FLOW_TIMED_OUT
    # A plan whose validity already ended is refused at once.
    old = dataclasses.replace(annotated(homes[2].members),
                              planned_move_date=TODAY - dt.timedelta(days=40))
    with pytest.raises(JukiError) as exc:
        desk.annotated_move_out(old, NOW)
    assert code_of(exc) is ErrorCode.DEADLINE_PASSED and len(desk.plans) == 1


def test_cancellation(homes: list[Household], register: Register) -> None:
    family = homes[1].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(annotated(family), NOW)
    out = desk.cancel(family[1].resident_code, NOW)
    assert [e.name for e in events(out)] == ["move_out_cancelled"]
    assert desk.plans[0].state is MoveOutState.CANCELLED and not desk.plans[0].timers
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=notice(family), message_id=b"n" * 16, sender=AWAY),
                     NOW)
    assert code_of(exc) is ErrorCode.FLOW_CANCELLED
    # A new annotated move-out may be filed after a cancelled one.
    desk.annotated_move_out(annotated(family), NOW)
    assert desk.plans[1].state is MoveOutState.PLANNED
    # Once the certificate is sent, the resident can no longer cancel.
    desk.receive(Inbound(message=notice(family), message_id=b"m" * 16, sender=AWAY), NOW)
    with pytest.raises(ProtocolError) as exc:
        desk.cancel(family[0].resident_code, NOW)
    assert code_of(exc) is ErrorCode.UNEXPECTED_MESSAGE
    with pytest.raises(ProtocolError) as exc:
        desk.cancel(homes[3].members[0].resident_code, NOW)
    assert code_of(exc) is ErrorCode.UNEXPECTED_MESSAGE


def test_second_annotated_move_out_while_open(homes: list[Household],
                                              register: Register) -> None:
    desk = MoveOutDesk(register, ids=counter_ids(1))
    desk.annotated_move_out(annotated(homes[1].members), NOW)
    with pytest.raises(ProtocolError) as exc:
        desk.annotated_move_out(annotated(homes[1].members[:1]), NOW)
    assert code_of(exc) is ErrorCode.UNEXPECTED_MESSAGE and len(desk.plans) == 1


def test_duplicates_and_replays(homes: list[Household], register: Register) -> None:
    family = homes[1].members
    desk, counter, sent = opened(register, family)
    plan = desk.plans[0]
    _ack, cert = sends(desk.receive(to(sent, AWAY), NOW))
    before = plan.snapshot()
    (dup,) = sends(desk.receive(to(sent, AWAY), NOW))
    assert dup.message.status is AckStatus.DUPLICATE and plan.snapshot() == before
    forged = Inbound(message=notice(family, moved=TODAY - dt.timedelta(days=1)),
                     message_id=sent.message_id, sender=AWAY)
    with pytest.raises(ProtocolError) as exc:
        desk.receive(forged, NOW)
    assert code_of(exc) is ErrorCode.REPLAY
    # A second, different notice for the same movers is not expected.
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=notice(family), message_id=b"x" * 16, sender=AWAY),
                     NOW)
    assert code_of(exc) is ErrorCode.UNEXPECTED_MESSAGE
    cert_ack, move_in = sends(counter.receive(to(cert, HOME), NOW))
    before = counter.snapshot()
    (again,) = sends(counter.receive(to(cert, HOME), NOW))
    assert again.message.status is AckStatus.DUPLICATE and counter.snapshot() == before
    desk.receive(to(move_in, AWAY), NOW)
    before = plan.snapshot()
    (dup2,) = sends(desk.receive(to(move_in, AWAY), NOW))
    assert dup2.message.status is AckStatus.DUPLICATE and plan.snapshot() == before
    # A late acknowledgement of the certificate changes nothing.
    assert sends(desk.receive(to(cert_ack, AWAY), NOW)) == []


def test_move_in_notice_of_no_flow(homes: list[Household], register: Register) -> None:
    family = homes[1].members
    desk = MoveOutDesk(register, ids=counter_ids(1))
    msg = MoveInNotice(new_municipality=AWAY, former_municipality=HOME,
                       residents=tuple(p.person_ref() for p in family), moved_date=MOVED,
                       recorded_date=TODAY, new_address=NEW_ADDRESS)
    with pytest.raises(ProtocolError) as exc:
        desk.receive(Inbound(message=msg, message_id=b"m" * 16, sender=AWAY,
                             correlation_id=b"?" * 16), NOW)
    assert code_of(exc) is ErrorCode.UNKNOWN_CORRELATION


def test_resident_outside_certificate_is_rejected(homes: list[Household],
                                                  register: Register) -> None:
    family = homes[1].members
    desk, _counter, sent = opened(register, family)
    desk.receive(to(sent, AWAY), NOW)
    msg = MoveInNotice(new_municipality=AWAY, former_municipality=HOME,
                       residents=(homes[0].members[0].person_ref(),), moved_date=MOVED,
                       recorded_date=TODAY, new_address=NEW_ADDRESS)
    before = register.records.copy()
    with pytest.raises(JukiError) as exc:
        desk.receive(Inbound(message=msg, message_id=b"m" * 16, sender=AWAY,
                             correlation_id=sent.message_id), NOW)
    assert code_of(exc) is ErrorCode.INVALID_FIELD
    assert register.records == before


def test_certificate_not_matching_notice(homes: list[Household], register: Register) -> None:
    family = homes[1].members
    desk, counter, sent = opened(register, family)
    _, cert = sends(desk.receive(to(sent, AWAY), NOW))
    assert isinstance(cert.message, MoveOutCertificate)
    short = dataclasses.replace(cert.message, entries=cert.message.entries[:1])
    before = counter.snapshot()
    with pytest.raises(JukiError) as exc:
        counter.receive(Inbound(message=short, message_id=cert.message_id, sender=HOME,
                                correlation_id=sent.message_id), NOW)
    assert code_of(exc) is ErrorCode.INVALID_FIELD and counter.snapshot() == before
    with pytest.raises(ProtocolError) as exc:
        counter.receive(Inbound(message=cert.message, message_id=cert.message_id,
                                sender=HOME, correlation_id=b"?" * 16), NOW)
    assert code_of(exc) is ErrorCode.UNKNOWN_CORRELATION


def test_retry_and_certificate_deadline(homes: list[Household], register: Register) -> None:
    family = homes[2].members
    desk, counter, sent = opened(register, family)
    later = NOW + dt.timedelta(seconds=60)
    (again, _) = counter.timeout("retry", later)
    assert isinstance(again, Send) and again.message_id == sent.message_id
    out = counter.timeout("deadline", NOW + CERTIFICATE_DEADLINE)
    assert [e.code for e in events(out)] == [ErrorCode.FLOW_TIMED_OUT]
    _, cert = sends(desk.receive(to(sent, AWAY), NOW))
    with pytest.raises(ProtocolError) as exc:
        counter.receive(to(cert, HOME), NOW + CERTIFICATE_DEADLINE)
    assert code_of(exc) is ErrorCode.FLOW_TIMED_OUT
    # The former municipality resends its certificate until acknowledged.
    (resent, _) = desk.tick(NOW + dt.timedelta(seconds=60))
    assert isinstance(resent, Send) and resent.message_id == cert.message_id


def test_refusal_ends_the_move_in(homes: list[Household], register: Register) -> None:
    family = homes[2].members
    _, counter, sent = opened(register, family)
    err = ErrorReport(error_code=int(ErrorCode.NO_SUCH_RESIDENT), refers_to=sent.message_id)
    out = counter.receive(Inbound(message=err, message_id=b"e" * 16, sender=HOME), NOW)
    assert counter.state is MoveInState.REFUSED
    assert [e.code for e in events(out)] == [ErrorCode.NO_SUCH_RESIDENT]
    assert not counter.timers


@pytest.mark.parametrize("kind", ["notice", "certificate", "move_in"])
def test_prefecture_and_national_never_take_special_move_messages(
        homes: list[Household], register: Register, kind: str) -> None:
    family = homes[1].members
    desk, counter, sent = opened(register, family)
    _, cert = sends(desk.receive(to(sent, AWAY), NOW))
    _, move_in = sends(counter.receive(to(cert, HOME), NOW))
    msg = {"notice": sent, "certificate": cert, "move_in": move_in}[kind]
    for node in (PrefectureReceiver(prefecture_of(HOME)), NationalReceiver("DC01")):
        before = node.snapshot()
        with pytest.raises(ProtocolError) as exc:
            node.receive(to(msg, HOME), NOW)
        assert code_of(exc) is ErrorCode.ROLE_NOT_ALLOWED
        assert node.snapshot() == before and not node.store.current
