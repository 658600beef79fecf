"""Transient refusals of the sequenced sender (R-30-5-0-10): 9001, 9002 and 9003 mean
"retry later"; the update is kept, resent with the same id and content after a back-off,
and the numbering goes on. Any other refusal still stalls the sender."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import NOW, households

from juki_protocol.errors import ErrorCode, ProtocolError
from juki_protocol.fixtures.samples import HOME
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.common import ArmTimer, Inbound, Send, counter_ids, sends
from juki_protocol.machines.identity import (
    BACK_OFF,
    RETRY_AFTER,
    RETRY_TIMER,
    IdentityUpdater,
    NationalReceiver,
    PrefectureReceiver,
    SenderState,
)
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, ErrorReport

PREF = prefecture_of(HOME)
TRANSIENT = [ErrorCode.INTERNAL_ERROR, ErrorCode.OVERLOADED, ErrorCode.STORAGE_FAILURE]


def _people() -> list:  # type: ignore[type-arg]
    return [m for h in households() for m in h.members]


def _record(updater: IdentityUpdater, person: object, now: dt.datetime = NOW) -> list[Send]:
    return sends(updater.change(
        UpdateOperation.RECORD, person.identity_info(Profile.CURRENT),  # type: ignore[attr-defined]
        ChangeInfo(change_reason=ChangeReason.BIRTH,
                   change_date=person.birth_date), now))  # type: ignore[attr-defined]


def _refusal(code: ErrorCode, send: Send) -> Inbound:
    return Inbound(message=ErrorReport(error_code=int(code), refers_to=send.message_id),
                   message_id=b"r" * 16, sender=send.recipient)


def _deliver(pref: PrefectureReceiver, send: Send, now: dt.datetime) -> Inbound:
    """The prefecture applies ``send``; its acknowledgement, as the sender sees it."""
    (ack,) = [s for s in sends(pref.receive(
        Inbound(message=send.message, message_id=send.message_id, sender=HOME), now))
        if isinstance(s.message, Acknowledgement)]
    return Inbound(message=ack.message, message_id=ack.message_id, sender=PREF)


@pytest.mark.parametrize("code", TRANSIENT, ids=lambda c: c.name)
def test_transient_refusal_then_retry_is_acknowledged_and_numbering_continues(
        code: ErrorCode) -> None:
    ids = counter_ids(40)
    muni = IdentityUpdater(HOME, ids=ids)
    pref = PrefectureReceiver(PREF, ids=ids)
    ps = _people()
    (first,) = _record(muni, ps[0])
    assert _record(muni, ps[1]) == []
    # The prefecture sheds (or fails to store) the first: nothing sent, nothing lost.
    out = muni.receive(_refusal(code, first), NOW)
    assert sends(out) == [] and muni.state is SenderState.AWAITING_ACK
    assert [e.timer.deadline for e in out if isinstance(e, ArmTimer)] == [NOW + BACK_OFF]
    assert len(muni.outbox) == 2 and muni.outbox[0][0] == first.message_id
    # The back-off is the retry timer brought forward: not due before, due then.
    with pytest.raises(ProtocolError):
        muni.timeout(RETRY_TIMER, NOW + BACK_OFF / 2)
    later = NOW + BACK_OFF
    assert sends(muni.timeout(RETRY_TIMER, later)) == [first]   # same id, same content
    (second,) = sends(muni.receive(_deliver(pref, first, later), later))
    assert second.message.update_sequence == 2  # type: ignore[attr-defined]
    assert sends(muni.receive(_deliver(pref, second, later), later)) == []
    assert muni.state is SenderState.IDLE and pref.last == {HOME: 2}
    (third,) = _record(muni, ps[2], later)
    assert third.message.update_sequence == 3  # type: ignore[attr-defined]


def test_back_off_doubles_up_to_the_retry_interval_and_resets_on_ack() -> None:
    muni = IdentityUpdater(HOME, ids=counter_ids(41))
    pref = PrefectureReceiver(PREF, ids=counter_ids(42))
    ps = _people()
    (first,) = _record(muni, ps[0])
    _record(muni, ps[1])
    now, delays = NOW, []
    for _ in range(9):
        (arm,) = [e for e in muni.receive(_refusal(ErrorCode.OVERLOADED, first), now)
                  if isinstance(e, ArmTimer)]
        delays.append(arm.timer.deadline - now)
        now = arm.timer.deadline
        assert sends(muni.timeout(RETRY_TIMER, now)) == [first]
    assert delays == [BACK_OFF * 2 ** i for i in range(6)] + [RETRY_AFTER] * 3
    (second,) = sends(muni.receive(_deliver(pref, first, now), now))
    (arm,) = [e for e in muni.receive(_refusal(ErrorCode.OVERLOADED, second), now)
              if isinstance(e, ArmTimer)]
    assert arm.timer.deadline == now + BACK_OFF       # a new run of refusals


def test_window_transient_refusal_resends_the_window_from_the_first() -> None:
    muni = IdentityUpdater(HOME, ids=counter_ids(43), window=3)
    pref = PrefectureReceiver(PREF, ids=counter_ids(44))
    first = [s for p in _people()[:4] for s in _record(muni, p)]
    assert len(first) == 3
    # 1 applied, 2 and 3 shed: the refusal of 3 is not the first's, so not taken.
    ack = _deliver(pref, first[0], NOW)
    out = sends(muni.receive(ack, NOW))
    assert [s.message.update_sequence for s in out] == [4]  # type: ignore[attr-defined]
    assert sends(muni.receive(_refusal(ErrorCode.OVERLOADED, first[1]), NOW)) == []
    with pytest.raises(ProtocolError) as exc:
        muni.receive(_refusal(ErrorCode.OVERLOADED, first[2]), NOW)
    assert exc.value.error_code is ErrorCode.UNKNOWN_CORRELATION
    again = sends(muni.timeout(RETRY_TIMER, NOW + BACK_OFF))
    assert again == [first[1], first[2], out[0]]
    later = NOW + BACK_OFF
    for send in again:
        muni.receive(_deliver(pref, send, later), later)
    assert pref.last == {HOME: 4} and muni.state is SenderState.IDLE


def test_relay_sender_treats_storage_failure_as_transient() -> None:
    ids = counter_ids(45)
    pref = PrefectureReceiver(PREF, ids=ids)
    national = NationalReceiver("DC01", ids=ids)
    muni = IdentityUpdater(HOME, ids=ids)
    (update,) = _record(muni, _people()[0])
    relay = next(s for s in sends(pref.receive(Inbound(
        message=update.message, message_id=update.message_id, sender=HOME), NOW))
        if s.recipient == "DC01")
    assert sends(pref.relays.receive(_refusal(ErrorCode.STORAGE_FAILURE, relay), NOW)) == []
    assert pref.relays.state is SenderState.AWAITING_ACK
    assert sends(pref.relays.timeout(RETRY_TIMER, NOW + BACK_OFF)) == [relay]
    national.receive(Inbound(message=relay.message, message_id=relay.message_id,
                             sender=PREF), NOW)
    assert national.last == {PREF: 1}


def test_other_refusals_still_stall() -> None:
    muni = IdentityUpdater(HOME, ids=counter_ids(46))
    (first,) = _record(muni, _people()[0])
    out = muni.receive(_refusal(ErrorCode.INVALID_FIELD, first), NOW)
    assert sends(out) == [] and muni.state is SenderState.STALLED


def test_a_stall_survives_a_reload_but_not_a_start() -> None:
    # R-30-5-0-12: a final refusal stops the sender until an operator intervenes; a
    # reload (after a failed commit) keeps it stopped, a start resends the message.
    muni = IdentityUpdater(HOME, ids=counter_ids(47))
    first, *_ = [*_record(muni, _people()[0]), *_record(muni, _people()[1])]
    muni.receive(_refusal(ErrorCode.RESIDENT_CODE_RETIRED, first), NOW)
    kept = list(muni.outbox)
    assert len(kept) == 2 and kept[0][0] == first.message_id
    reloaded = IdentityUpdater(HOME, ids=counter_ids(48))
    reloaded.restore(2, kept, stalled=True)
    assert reloaded.state is SenderState.STALLED
    assert sends(reloaded.resume(NOW + RETRY_AFTER)) == []
    started = IdentityUpdater(HOME, ids=counter_ids(49))
    started.restore(2, kept)
    assert sends(started.resume(NOW)) == [first]
    empty = IdentityUpdater(HOME, ids=counter_ids(50))
    empty.restore(2, [], stalled=True)
    assert empty.state is SenderState.IDLE
