"""The card register's machines (spec/card_register.md) in memory: every state x input
pair of the entry table, the centre's desk (duplicates, misaddressed notices, answers,
expiry) and the municipality's notifier (acknowledgements, refusals, answers, resends);
a refused input changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.card_notices import CardNotifier, MemoryCardOutbox
from juki_protocol.machines.card_register import (
    ENTRY_TABLE,
    CardRegisterDesk,
    Entry,
    EntryInput,
    EntryState,
    MemoryCardLedger,
    RegisterEntry,
    jst_date,
)
from juki_protocol.machines.common import Inbound, Send, counter_ids, events, sends
from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatus,
    CardStatusAnswer,
    CardStatusChange,
    CardStatusNotice,
    CardStatusQuery,
)
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport

NOW = dt.datetime(2026, 4, 1, 3, 0, tzinfo=dt.UTC)
TODAY = jst_date(NOW)
A, B, CODE, OTHER = "271004", "131016", "12345678903", "24727059608"
SERIAL = f"{A}-000001"


def _in(message: object, sender: str, mid: int = 1, corr: bytes | None = None) -> Inbound:
    return Inbound(message=message, message_id=mid.to_bytes(16, "big"), sender=sender,
                   correlation_id=corr)


def _desk() -> CardRegisterDesk:
    return CardRegisterDesk("DC01", MemoryCardLedger(), ids=counter_ids(9))


def _apply(serial: str = SERIAL, code: str = CODE, who: str = A) -> CardApplication:
    return CardApplication(municipality=who, card_serial=serial, resident_code=code,
                           application_date=TODAY)


def _issue(serial: str = SERIAL, code: str = CODE) -> CardIssueNotice:
    return CardIssueNotice(municipality=A, card_serial=serial, resident_code=code,
                           issue_date=TODAY, valid_until=TODAY + dt.timedelta(days=3650))


def _change(change: CardStatusChange) -> CardStatusNotice:
    return CardStatusNotice(municipality=A, card_serial=SERIAL, resident_code=CODE,
                            change=change, change_date=TODAY)


def _answer(desk: CardRegisterDesk, serial: str = SERIAL, code: str = CODE,
            now: dt.datetime = NOW) -> CardStatusAnswer:
    out = sends(desk.receive(_in(CardStatusQuery(municipality=B, card_serial=serial,
                                                 resident_code=code), B, 77), now))
    assert isinstance(out[0].message, Acknowledgement)
    assert out[1].correlation_id == (77).to_bytes(16, "big")
    assert isinstance(out[1].message, CardStatusAnswer)
    return out[1].message


@pytest.mark.parametrize(("state", "inp"), list(ENTRY_TABLE.pairs()))
def test_every_entry_pair(state: EntryState, inp: EntryInput) -> None:
    entry = RegisterEntry(Entry(serial=SERIAL, resident_code=CODE, municipality=A,
                                state=state))
    row = ENTRY_TABLE.rows.get((state, inp))
    if row is None:
        with pytest.raises(JukiError) as err:
            entry.change(inp, NOW)
        assert err.value.error_code == ENTRY_TABLE.error_code(state, inp)
        assert entry.state is state
    else:
        assert entry.change(inp, NOW) is row[1]


def test_an_application_registers_and_a_duplicate_changes_nothing() -> None:
    desk = _desk()
    out = desk.receive(_in(_apply(), A), NOW)
    assert isinstance(sends(out)[0].message, Acknowledgement)
    assert desk.ledger.get(SERIAL).state is EntryState.APPLIED  # type: ignore[union-attr]
    assert _answer(desk).status is CardStatus.UNKNOWN             # not handed over
    before = desk.snapshot()
    for message, who in ((_apply(f"{B}-000009", who=B), B), (_apply(f"{A}-000002"), A),
                         (_issue(f"{A}-000003"), A)):
        with pytest.raises(JukiError) as err:
            desk.receive(_in(message, who, 5), NOW)
        assert err.value.error_code == ErrorCode.CARD_ALREADY_ISSUED
    assert desk.snapshot() == before


def test_a_card_through_its_life_as_another_municipality_sees_it() -> None:
    desk = _desk()
    desk.receive(_in(_issue(), A), NOW)           # the one-step issuance
    answer = _answer(desk)
    assert (answer.status, answer.issuing_municipality) == (CardStatus.VALID, A)
    for change, status in ((CardStatusChange.SUSPENDED, CardStatus.SUSPENDED),
                           (CardStatusChange.RESUMED, CardStatus.VALID),
                           (CardStatusChange.LOST, CardStatus.LOST)):
        desk.receive(_in(_change(change), A, 3), NOW)
        assert _answer(desk).status is status
    with pytest.raises(JukiError) as err:
        desk.receive(_in(_change(CardStatusChange.RESUMED), A, 4), NOW)
    assert err.value.error_code == ErrorCode.CARD_LOST
    assert _answer(desk, code=OTHER).status is CardStatus.UNKNOWN
    # A lost card no longer blocks a new application.
    desk.receive(_in(_apply(f"{A}-000002"), A, 6), NOW)


def test_expiry_is_computed_and_ends_the_block() -> None:
    desk = _desk()
    desk.receive(_in(_issue(), A), NOW)
    later = NOW + dt.timedelta(days=3652)
    assert _answer(desk, now=later).status is CardStatus.EXPIRED
    desk.receive(_in(_apply(f"{A}-000002"), A, 6), later)


def test_misaddressed_and_unknown_notices_are_refused() -> None:
    desk = _desk()
    desk.receive(_in(_issue(), A), NOW)
    before = desk.snapshot()
    for message, who, code in (
            (_change(CardStatusChange.SUSPENDED), B, ErrorCode.INVALID_FIELD),
            (_apply(f"{B}-000001", who=B), A, ErrorCode.INVALID_FIELD),
            (CardStatusNotice(municipality=A, card_serial=f"{A}-000077", resident_code=CODE,
                              change=CardStatusChange.SUSPENDED, change_date=TODAY), A,
             ErrorCode.CARD_NOT_ACTIVE)):
        with pytest.raises(JukiError) as err:
            desk.receive(_in(message, who, 8), NOW)
        assert err.value.error_code == code
    assert desk.snapshot() == before


def test_an_answer_is_resent_until_acknowledged() -> None:
    desk = _desk()
    _answer(desk)
    [name] = desk.timers
    again = sends(desk.timeout(name, NOW + dt.timedelta(seconds=60)))
    assert isinstance(again[0].message, CardStatusAnswer)
    desk.receive(_in(Acknowledgement(acknowledged_id=again[0].message_id,
                                     status=AckStatus.ACCEPTED), B, 9), NOW)
    assert not desk.answers and not desk.timers


def _notifier() -> CardNotifier:
    return CardNotifier(B, "DC01", MemoryCardOutbox(), ids=counter_ids(3))


def test_the_notifier_keeps_what_it_sent_and_what_came_of_it() -> None:
    n = _notifier()
    [sent] = sends(n.apply(f"{B}-000001", CODE, NOW, TODAY))
    assert sent.recipient == "DC01" and not n.registered(f"{B}-000001")
    n.receive(_in(Acknowledgement(acknowledged_id=sent.message_id,
                                  status=AckStatus.ACCEPTED), "DC01"), NOW)
    assert n.registered(f"{B}-000001") and not n.timers
    [other] = sends(n.apply(f"{B}-000002", CODE, NOW, TODAY))
    out = n.receive(_in(ErrorReport(error_code=5027, refers_to=other.message_id),
                        "DC01"), NOW)
    assert events(out)[0].code == ErrorCode.CARD_ALREADY_ISSUED
    assert n.outbox.get(other.message_id).state == "refused:5027"  # type: ignore[union-attr]
    assert not n.registered(f"{B}-000002")


@pytest.mark.parametrize(("status", "refusal"), [
    (CardStatus.VALID, None), (CardStatus.SUSPENDED, ErrorCode.CARD_SUSPENDED),
    (CardStatus.LOST, ErrorCode.CARD_LOST), (CardStatus.REVOKED, ErrorCode.CARD_NOT_ACTIVE),
    (CardStatus.UNKNOWN, ErrorCode.CARD_NOT_ACTIVE)])
def test_the_counter_takes_only_a_card_the_centre_calls_valid(
        status: CardStatus, refusal: ErrorCode | None) -> None:
    n = _notifier()
    [query] = sends(n.query(SERIAL, CODE, NOW))
    assert n.verdict(query.message_id) == ("pending", None)
    known = status is not CardStatus.UNKNOWN
    answer = CardStatusAnswer(card_serial=SERIAL, status=status,
                              issuing_municipality=A if known else None,
                              valid_until=TODAY + dt.timedelta(days=30) if known else None)
    out = n.receive(_in(answer, "DC01", 5, query.message_id), NOW)
    assert isinstance(sends(out)[0].message, Acknowledgement)
    assert n.verdict(query.message_id) == ("answered", refusal)


def test_a_stray_answer_is_refused_and_pending_messages_are_resent() -> None:
    n = _notifier()
    [query] = sends(n.query(SERIAL, CODE, NOW))
    stray = CardStatusAnswer(card_serial=f"{A}-000002", status=CardStatus.UNKNOWN)
    before = n.snapshot()
    for answer, sender, corr in ((stray, "DC01", query.message_id),
                                 (stray, "DC02", query.message_id),
                                 (stray, "DC01", b"\x07" * 16)):
        with pytest.raises(JukiError) as err:
            n.receive(_in(answer, sender, 5, corr), NOW)
        assert err.value.error_code == ErrorCode.UNKNOWN_CORRELATION
    assert n.snapshot() == before
    fresh = CardNotifier(B, "DC01", n.outbox)
    again = [e for e in fresh.resume(NOW) if isinstance(e, Send)]
    assert [s.message_id for s in again] == [query.message_id]
