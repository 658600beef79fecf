"""Identity info updates (Art. 30-5) and relays (Art. 30-11): two peers in memory."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from conftest import NOW, households

from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.fixtures.samples import HOME, example
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.common import Inbound, Send, counter_ids, events, sends
from juki_protocol.machines.identity import (
    RETRY_AFTER,
    IdentityUpdater,
    NationalReceiver,
    PrefectureReceiver,
    SenderState,
)
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoRelay, IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.wide_area import WideAreaIssuanceRequest

PREF = prefecture_of(HOME)


def inbound(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def people() -> list:  # type: ignore[type-arg]
    return [m for h in households() for m in h.members]


def record(updater: IdentityUpdater, person: object, now: dt.datetime) -> list:  # type: ignore[type-arg]
    return updater.change(UpdateOperation.RECORD, person.identity_info(Profile.CURRENT),  # type: ignore[attr-defined]
                          ChangeInfo(change_reason=ChangeReason.BIRTH,
                                     change_date=person.birth_date), now)  # type: ignore[attr-defined]


def test_happy_path_three_hops() -> None:
    ids = counter_ids(1)
    muni = IdentityUpdater(HOME, ids=ids)
    pref = PrefectureReceiver(PREF, ids=ids)
    nat = NationalReceiver("DC01", ids=ids)
    ps = people()
    # Three changes: the first goes out, the others queue behind it (one at a time).
    out = record(muni, ps[0], NOW)
    assert [s.message.update_sequence for s in sends(out)] == [1]
    assert sends(record(muni, ps[1], NOW)) == []
    assert sends(record(muni, ps[2], NOW)) == []
    relayed: list[IdentityInfoRelay] = []
    wire = sends(out)
    while wire:
        (upd,) = wire
        got = pref.receive(inbound(upd, HOME), NOW)
        ack = [s for s in sends(got) if isinstance(s.message, Acknowledgement)]
        relay = [s for s in sends(got) if isinstance(s.message, IdentityInfoRelay)]
        assert ack[0].message.status is AckStatus.ACCEPTED
        for r in relay:
            nat_out = nat.receive(inbound(r, PREF), NOW)
            relayed.append(r.message)
            pref.relays.receive(inbound(sends(nat_out)[0], "DC01"), NOW)
        wire = sends(muni.receive(inbound(ack[0], PREF), NOW))
    assert muni.state is SenderState.IDLE and not muni.outbox
    assert [r.relay_sequence for r in relayed] == [1, 2, 3]
    assert pref.last == {HOME: 3}
    assert len(pref.store.current) == 3
    # Flush the relay queue: national acks each in turn.
    while pref.relays.outbox:
        mid, msg = pref.relays.outbox[0]
        got = nat.receive(Inbound(message=msg, message_id=mid, sender=PREF), NOW)
        pref.relays.receive(inbound(sends(got)[0], "DC01"), NOW)
    assert nat.last == {PREF: 3}
    assert set(nat.store.current) == set(pref.store.current)


def test_duplicate_is_idempotent_and_gap_is_out_of_order() -> None:
    pref = PrefectureReceiver(PREF, ids=counter_ids(2))
    muni = IdentityUpdater(HOME, ids=counter_ids(3))
    ps = people()
    first = sends(record(muni, ps[0], NOW))[0]
    pref.receive(inbound(first, HOME), NOW)
    before = pref.snapshot()
    again = pref.receive(inbound(first, HOME), NOW)
    assert [s.message.status for s in sends(again)] == [AckStatus.DUPLICATE]
    assert pref.snapshot() == before
    # A different update under number 1 is not a duplicate.
    other = dataclasses.replace(first.message, identity_info=ps[1].identity_info(Profile.CURRENT))
    with pytest.raises(ProtocolError) as exc:
        pref.receive(Inbound(message=other, message_id=b"x" * 16, sender=HOME), NOW)
    assert exc.value.error_code is ErrorCode.OUT_OF_ORDER
    gap = dataclasses.replace(first.message, update_sequence=3)
    with pytest.raises(ProtocolError) as exc:
        pref.receive(Inbound(message=gap, message_id=b"y" * 16, sender=HOME), NOW)
    assert exc.value.error_code is ErrorCode.OUT_OF_ORDER
    assert pref.snapshot() == before


def test_out_of_order_answer_makes_the_sender_resend_same_id() -> None:
    muni = IdentityUpdater(HOME, ids=counter_ids(4))
    first = sends(record(muni, people()[0], NOW))[0]
    err = ErrorReport(error_code=int(ErrorCode.OUT_OF_ORDER), refers_to=first.message_id)
    again = sends(muni.receive(Inbound(message=err, message_id=b"e" * 16, sender=PREF), NOW))
    assert again == [first]


def test_retry_timer_driven_by_now() -> None:
    muni = IdentityUpdater(HOME, ids=counter_ids(5))
    first = sends(record(muni, people()[0], NOW))[0]
    with pytest.raises(ProtocolError):
        muni.timeout("retry", NOW + RETRY_AFTER - dt.timedelta(seconds=1))
    assert muni.due_timers(NOW + RETRY_AFTER) == ["retry"]
    assert sends(muni.timeout("retry", NOW + RETRY_AFTER)) == [first]


def test_ack_for_unknown_message_is_unknown_correlation() -> None:
    muni = IdentityUpdater(HOME, ids=counter_ids(6))
    record(muni, people()[0], NOW)
    before = muni.snapshot()
    with pytest.raises(ProtocolError) as exc:
        muni.receive(Inbound(message=Acknowledgement(acknowledged_id=b"z" * 16,
                                                     status=AckStatus.ACCEPTED),
                             message_id=b"q" * 16, sender=PREF), NOW)
    assert exc.value.error_code is ErrorCode.UNKNOWN_CORRELATION
    assert muni.snapshot() == before


def test_resident_code_change_retires_the_old_code_forever() -> None:
    pref = PrefectureReceiver(PREF, ids=counter_ids(7))
    muni = IdentityUpdater(HOME, ids=counter_ids(8))
    person = people()[0]
    other = people()[1]
    new_info = dataclasses.replace(person.identity_info(Profile.CURRENT),
                                   resident_code=other.resident_code)
    for out in (record(muni, person, NOW),):
        pref.receive(inbound(sends(out)[0], HOME), NOW)
    ack = Acknowledgement(acknowledged_id=muni.outbox[0][0], status=AckStatus.ACCEPTED)
    muni.receive(Inbound(message=ack, message_id=b"a" * 16, sender=PREF), NOW)
    change = ChangeInfo(change_reason=ChangeReason.RESIDENT_CODE_CHANGE, change_date=NOW.date())
    out = muni.change(UpdateOperation.CORRECT, new_info, change, NOW,
                      previous_resident_code=person.resident_code)
    pref.receive(inbound(sends(out)[0], HOME), NOW)
    assert person.resident_code in pref.store.retired
    assert person.resident_code not in pref.store.current
    # The municipality never reuses it...
    with pytest.raises(JukiError) as exc:
        record(muni, person, NOW)
    assert exc.value.error_code is ErrorCode.RESIDENT_CODE_RETIRED
    # ...and the prefecture refuses it if one tried, storing nothing.
    bad = IdentityInfoUpdate(municipality=HOME, update_sequence=3,
                             operation=UpdateOperation.RECORD,
                             identity_info=person.identity_info(Profile.CURRENT),
                             change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                                    change_date=person.birth_date))
    before = pref.snapshot()
    with pytest.raises(JukiError) as exc:
        pref.receive(Inbound(message=bad, message_id=b"r" * 16, sender=HOME), NOW)
    assert exc.value.error_code is ErrorCode.RESIDENT_CODE_RETIRED
    assert pref.snapshot() == before


def muni_outstanding(muni: IdentityUpdater) -> Send:
    mid, msg = muni.outbox[0]
    return Send(recipient=PREF, message=msg, message_id=mid)


@pytest.mark.parametrize("unknown, message, code", [
    (True, None, ErrorCode.DATA_MINIMISATION),
    (False, "wide", ErrorCode.ROLE_NOT_ALLOWED),
])
def test_prefecture_minimisation(unknown: bool, message: object, code: ErrorCode) -> None:
    pref = PrefectureReceiver(PREF, ids=counter_ids(9))
    muni = IdentityUpdater(HOME, ids=counter_ids(10))
    upd = sends(record(muni, people()[0], NOW))[0]
    msg = example("WideAreaIssuanceRequest") if message == "wide" else upd.message
    assert message != "wide" or isinstance(msg, WideAreaIssuanceRequest)
    before = pref.snapshot()
    with pytest.raises(ProtocolError) as exc:
        pref.receive(Inbound(message=msg, message_id=upd.message_id, sender=HOME,
                             unknown_elements=unknown), NOW)
    assert exc.value.error_code is code
    assert pref.snapshot() == before and not pref.store.current


def test_update_from_a_foreign_municipality_is_refused() -> None:
    pref = PrefectureReceiver("130001", ids=counter_ids(11))
    muni = IdentityUpdater(HOME, ids=counter_ids(12))
    upd = sends(record(muni, people()[0], NOW))[0]
    with pytest.raises(JukiError) as exc:
        pref.receive(inbound(upd, HOME), NOW)
    assert exc.value.error_code is ErrorCode.INVALID_FIELD
    assert events([]) == []


def test_a_relay_timer_belongs_to_the_relay_sender_not_the_receiver() -> None:
    """The relay's retry timer passes through the receiver's effects; only the relay
    sender holds it, so firing every machine's due timers never reaches the receiver
    (which has no timeout: a node's clock op once crashed on it)."""
    ids = counter_ids(21)
    muni = IdentityUpdater(HOME, ids=ids)
    pref = PrefectureReceiver(PREF, ids=ids)
    (upd,) = sends(record(muni, people()[0], NOW))
    pref.receive(inbound(upd, HOME), NOW)
    assert pref.timers == {}
    assert list(pref.relays.timers) == ["retry"]
    later = NOW + dt.timedelta(hours=1)
    assert pref.due_timers(later) == [] and pref.relays.due_timers(later) == ["retry"]
