"""The identity updater held while a municipality's feed is stopped (spec/suspension.md,
R-SUSP-05, R-SUSP-06): nothing goes on the wire, changes are numbered and queued, an
update already on the wire may still be answered, and on release the queue goes out in
order from the first unacknowledged update, through the prefecture's receiver."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from conftest import NOW, households

from juki_protocol.errors import ErrorCode, ProtocolError
from juki_protocol.fixtures.samples import HOME
from juki_protocol.machines.common import (
    ArmTimer,
    CancelTimer,
    Effect,
    Inbound,
    counter_ids,
    sends,
)
from juki_protocol.machines.identity import (
    RETRY_AFTER,
    RETRY_TIMER,
    IdentityUpdater,
    PrefectureReceiver,
    SenderState,
)
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport

PEOPLE = [m for h in households() for m in h.members]
LATER = NOW + RETRY_AFTER + dt.timedelta(seconds=1)


def change(u: IdentityUpdater, i: int, now: dt.datetime = NOW) -> list[Effect]:
    p = PEOPLE[i]
    return list(u.change(UpdateOperation.RECORD, p.identity_info(Profile.CURRENT),
                         ChangeInfo(change_reason=ChangeReason.BIRTH,
                                    change_date=p.birth_date), now))


def ack(mid: bytes) -> Inbound:
    return Inbound(message=Acknowledgement(acknowledged_id=mid, status=AckStatus.ACCEPTED),
                   message_id=b"a" * 16, sender="270008")


def test_held_from_idle_nothing_is_sent_then_released_in_order() -> None:
    u = IdentityUpdater(HOME, ids=counter_ids())
    assert u.hold(NOW) == [CancelTimer(name=RETRY_TIMER)]
    assert u.state is SenderState.HELD
    for i in range(3):
        assert sends(change(u, i)) == []
    assert [m.update_sequence for _, m in u.outbox] == [1, 2, 3]
    assert u.timeout(RETRY_TIMER, LATER) == []          # no resend while held
    # An answer while nothing is on the wire refers to nothing of ours.
    with pytest.raises(ProtocolError) as exc:
        u.receive(ack(u.outbox[0][0]), NOW)
    assert exc.value.error_code is ErrorCode.UNKNOWN_CORRELATION
    out = u.release(LATER)
    assert [s.message.update_sequence for s in sends(out)] == [1]   # window 1
    assert any(isinstance(e, ArmTimer) for e in out)
    assert u.state is SenderState.AWAITING_ACK


def test_an_update_on_the_wire_is_answered_while_held() -> None:
    u = IdentityUpdater(HOME, ids=counter_ids())
    first = sends(change(u, 0))[0]
    u.hold(NOW)
    assert sends(change(u, 1)) == []
    assert u.receive(ack(first.message_id), NOW) == []   # retired, nothing sent
    assert u.state is SenderState.HELD and len(u.outbox) == 1
    second = sends(u.release(NOW))
    assert [s.message.update_sequence for s in second] == [2]


def test_a_transient_refusal_while_held_is_resent_only_on_release() -> None:
    u = IdentityUpdater(HOME, ids=counter_ids())
    first = sends(change(u, 0))[0]
    u.hold(NOW)
    busy = Inbound(message=ErrorReport(error_code=9002, refers_to=first.message_id),
                   message_id=b"e" * 16, sender="270008")
    assert u.receive(busy, NOW) == []
    assert [s.message_id for s in sends(u.release(NOW))] == [first.message_id]


def test_release_with_nothing_queued_is_idle_and_hold_twice_is_harmless() -> None:
    u = IdentityUpdater(HOME, ids=counter_ids())
    u.hold(NOW)
    assert u.hold(NOW) == []
    assert u.release(NOW) == [] and u.state is SenderState.IDLE


def test_restored_held_then_released_through_the_prefecture() -> None:
    """After a restart the updater comes back held with its queue; released, the
    prefecture applies every held update in order, numbered without a gap."""
    u = IdentityUpdater(HOME, ids=counter_ids())
    u.hold(NOW)
    for i in range(3):
        change(u, i)
    kept = list(u.outbox)
    again = IdentityUpdater(HOME, ids=counter_ids(7))
    again.restore(3, kept, held=True)
    assert again.state is SenderState.HELD and again.next_sequence == 4
    pref = PrefectureReceiver("270008", ids=counter_ids(9))
    pending = sends(again.release(NOW))
    applied: list[int] = []
    while pending:
        s = pending.pop(0)
        for answer in sends(pref.receive(Inbound(message=s.message, message_id=s.message_id,
                                                 sender=HOME), NOW)):
            if isinstance(answer.message, Acknowledgement):
                applied.append(s.message.update_sequence)
                pending += sends(again.receive(Inbound(
                    message=answer.message, message_id=answer.message_id,
                    sender="270008"), NOW))
    assert applied == [1, 2, 3] and pref.last[HOME] == 3
    assert again.state is SenderState.IDLE


def test_a_window_keeps_its_order_across_a_hold() -> None:
    u = IdentityUpdater(HOME, ids=counter_ids(), window=3)
    on_wire = sends(change(u, 0)) + sends(change(u, 1))
    assert len(on_wire) == 2
    u.hold(NOW)
    assert sends(change(u, 2)) == []
    u.receive(ack(on_wire[0].message_id), NOW)
    out = sends(u.release(NOW))
    assert [s.message.update_sequence for s in out] == [2, 3]


def test_an_update_is_unchanged_by_the_hold() -> None:
    u = IdentityUpdater(HOME, ids=counter_ids())
    v = IdentityUpdater(HOME, ids=counter_ids())
    v.hold(NOW)
    sent, held = sends(change(u, 0))[0], None
    change(v, 0)
    held = sends(v.release(NOW))[0]
    assert dataclasses.astuple(sent) == dataclasses.astuple(held)
    assert isinstance(held.message, IdentityInfoUpdate)
