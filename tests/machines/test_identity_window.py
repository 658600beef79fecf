"""A sequenced sender with a window (``window`` > 1): several numbered updates on the
wire at once, still in order and numbered without gap (R-30-5-0-05); the receiver's rule
is unchanged (R-30-5-0-06). The default window of 1 is the one-at-a-time sender."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import NOW, households

from juki_protocol.errors import ErrorCode, ProtocolError
from juki_protocol.fixtures.samples import HOME
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.common import Inbound, Send, counter_ids, sends
from juki_protocol.machines.identity import (
    RETRY_AFTER,
    RETRY_TIMER,
    IdentityUpdater,
    PrefectureReceiver,
    SenderState,
)
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport

PREF = prefecture_of(HOME)


def _people() -> list:  # type: ignore[type-arg]
    return [m for h in households() for m in h.members]


def _record(updater: IdentityUpdater, person: object) -> list[Send]:
    return sends(updater.change(
        UpdateOperation.RECORD, person.identity_info(Profile.CURRENT),  # type: ignore[attr-defined]
        ChangeInfo(change_reason=ChangeReason.BIRTH,
                   change_date=person.birth_date), NOW))  # type: ignore[attr-defined]


def _inbound(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender)


def _numbers(out: list[Send]) -> list[int]:
    return [s.message.update_sequence for s in out]  # type: ignore[attr-defined]


def test_window_of_one_is_one_at_a_time() -> None:
    muni = IdentityUpdater(HOME, ids=counter_ids(1))
    ps = _people()
    assert _numbers(_record(muni, ps[0])) == [1]
    assert _record(muni, ps[1]) == [] and _record(muni, ps[2]) == []


def test_window_keeps_order_and_numbering_through_the_receiver() -> None:
    ids = counter_ids(2)
    muni = IdentityUpdater(HOME, ids=ids, window=3)
    pref = PrefectureReceiver(PREF, ids=ids)
    ps = _people()[:7]
    wire: list[Send] = []
    for p in ps:
        wire += _record(muni, p)
    assert _numbers(wire) == [1, 2, 3]            # the window, in order
    assert muni.in_flight == 3 and len(muni.outbox) == 7
    seen: list[int] = []
    while wire:
        upd = wire.pop(0)
        seen.append(upd.message.update_sequence)  # type: ignore[attr-defined]
        (ack,) = [s for s in sends(pref.receive(_inbound(upd, HOME), NOW))
                  if isinstance(s.message, Acknowledgement)]
        wire += sends(muni.receive(_inbound(ack, PREF), NOW))
        assert muni.in_flight <= 3
    assert seen == list(range(1, 8))              # each exactly once, in order
    assert pref.last == {HOME: 7}
    assert muni.state is SenderState.IDLE and not muni.outbox and muni.in_flight == 0


def test_window_resends_from_the_first_unacknowledged() -> None:
    muni = IdentityUpdater(HOME, ids=counter_ids(3), window=3)
    ps = _people()
    first = [s for p in ps[:4] for s in _record(muni, p)]
    assert _numbers(first) == [1, 2, 3]
    # The retry timer resends the whole window, same ids and content (R-PDU-23).
    assert sends(muni.timeout("retry", NOW + RETRY_AFTER)) == first
    # 4004 for the first: the same again, from the first unacknowledged number.
    err = ErrorReport(error_code=int(ErrorCode.OUT_OF_ORDER), refers_to=first[0].message_id)
    assert sends(muni.receive(Inbound(message=err, message_id=b"e" * 16, sender=PREF),
                              NOW)) == first
    # An answer to any but the first is not taken.
    late = ErrorReport(error_code=int(ErrorCode.OUT_OF_ORDER), refers_to=first[1].message_id)
    with pytest.raises(ProtocolError):
        muni.receive(Inbound(message=late, message_id=b"f" * 16, sender=PREF), NOW)


def test_window_stalls_on_a_refusal_and_sends_nothing_more() -> None:
    muni = IdentityUpdater(HOME, ids=counter_ids(4), window=2)
    ps = _people()
    first = [s for p in ps[:3] for s in _record(muni, p)]
    err = ErrorReport(error_code=int(ErrorCode.RESIDENT_CODE_RETIRED),
                      refers_to=first[0].message_id)
    out = muni.receive(Inbound(message=err, message_id=b"g" * 16, sender=PREF), NOW)
    assert sends(out) == [] and muni.state is SenderState.STALLED
    assert _record(muni, ps[3]) == [] and len(muni.outbox) == 4


def test_window_after_a_restart_refills_from_the_first() -> None:
    """As the node restores a sender: the outbox back, only the first resent."""
    muni = IdentityUpdater(HOME, ids=counter_ids(5), window=3)
    ps = _people()
    sent = [s for p in ps[:5] for s in _record(muni, p)]
    restored = IdentityUpdater(HOME, ids=counter_ids(6), window=3)
    restored.restore(muni.next_sequence - 1, muni.outbox)
    assert restored.state is SenderState.AWAITING_ACK
    resent = sends(restored.resume(NOW))
    assert [s.message_id for s in resent] == [sent[0].message_id]
    assert _numbers(resent) == [1] and RETRY_TIMER in restored.timers
    # A new change while only the first is known to be on the wire: queued, not sent
    # ahead of the others.
    assert _record(restored, ps[5]) == []
    ack = Acknowledgement(acknowledged_id=sent[0].message_id, status=AckStatus.ACCEPTED)
    out = sends(restored.receive(Inbound(message=ack, message_id=b"h" * 16, sender=PREF),
                                 NOW + dt.timedelta(seconds=1)))
    assert _numbers(out) == [2, 3, 4]
