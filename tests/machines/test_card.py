"""The resident card: lifecycle, virtual chip (APDU), PIN lockout and unlock."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from conftest import NOW

from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.machines.card import (
    AID,
    SW_OK,
    VALIDITY,
    Actor,
    CardRecord,
    CardState,
    IdentityCheck,
    VirtualCard,
    apdu,
    auth_mac,
    derive_key,
    set_password,
    unblock,
)
from juki_protocol.machines.card_counter import identify_with_card
from juki_protocol.messages.wide_area import IdentityCheckMethod

MASTER = b"k" * 32
CODE = "12345678903"
OK = IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT, confirmed=True)


def active() -> tuple[VirtualCard, CardRecord, random.Random]:
    rng = random.Random(7)
    card = VirtualCard("SN42", CODE, MASTER, "87654321", rng=rng)
    rec = CardRecord("SN42", CODE)
    rec.register(NOW)
    rec.write(NOW)
    rec.issue(OK, NOW)
    assert set_password(card, "87654321", "2468", MASTER, NOW, rng=rng)
    rec.set_password(NOW)
    return card, rec, rng


def test_lifecycle_happy_path() -> None:
    card, rec, rng = active()
    assert rec.state is CardState.ACTIVE
    check = identify_with_card(card, "2468", MASTER, NOW, rng=rng, record=rec)
    assert check.confirmed and check.resident_code == CODE


def test_three_wrong_pins_lock_and_correct_pin_resets() -> None:
    card, rec, rng = active()
    for _ in range(2):
        assert not identify_with_card(card, "0000", MASTER, NOW, rng=rng, record=rec).confirmed
    assert card.tries_left == 1 and rec.failures == 2
    assert identify_with_card(card, "2468", MASTER, NOW, rng=rng, record=rec).confirmed
    assert card.tries_left == 3 and rec.failures == 0
    for _ in range(3):
        res = identify_with_card(card, "0000", MASTER, NOW, rng=rng, record=rec)
    assert res.failure is ErrorCode.CARD_LOCKED
    assert rec.state is CardState.LOCKED and card.tries_left == 0
    # Even the right PIN no longer works: the chip answers 6983, the record 4010.
    res = identify_with_card(card, "2468", MASTER, NOW, rng=rng, record=rec)
    assert not res.confirmed and res.failure is ErrorCode.CARD_LOCKED
    res = identify_with_card(card, "2468", MASTER, NOW, rng=rng)
    assert res.failure is ErrorCode.CARD_LOCKED
    # The holder cannot unlock; the municipality can.
    with pytest.raises(ProtocolError) as exc:
        rec.unlock(Actor.HOLDER, NOW)
    assert exc.value.error_code is ErrorCode.ROLE_NOT_ALLOWED
    assert rec.state is CardState.LOCKED
    assert unblock(card, MASTER, NOW, rng=rng)
    rec.unlock(Actor.MUNICIPALITY, NOW)
    assert identify_with_card(card, "2468", MASTER, NOW, rng=rng, record=rec).confirmed


def test_counter_key_cannot_reset_the_retry_counter() -> None:
    card, _, rng = active()
    key = derive_key(MASTER, "SN42", 1)
    assert card.process(apdu(0xA4, data=AID), NOW) == SW_OK
    rnd_c = card.process(apdu(0x84, le=8), NOW)[:8]
    rnd_t = rng.randbytes(8)
    assert card.process(apdu(0x82, 1, rnd_t + auth_mac(key, b"T", rnd_c, rnd_t)), NOW) == SW_OK
    assert card.process(apdu(0x2C, 0x81), NOW) == b"\x69\x82"


def test_read_binary_needs_authentication_and_pin() -> None:
    card, _, rng = active()
    assert card.process(apdu(0xB0, le=11), NOW) == b"\x69\x82"      # no PIN yet
    assert card.process(apdu(0xA4, data=AID), NOW) == SW_OK
    assert card.process(apdu(0xB0, le=11), NOW) == b"\x69\x82"      # no PIN
    assert card.process(apdu(0x20, 0x81, b"2468"), NOW) == SW_OK
    assert card.process(apdu(0xB0, le=11), NOW) == b"\x69\x85"      # not authenticated
    # A forged terminal proof is refused and consumes the challenge.
    rnd_c = card.process(apdu(0x84, le=8), NOW)[:8]
    forged = derive_key(b"x" * 32, "SN42", 1)
    rnd_t = rng.randbytes(8)
    assert card.process(apdu(0x82, 1, rnd_t + auth_mac(forged, b"T", rnd_c, rnd_t)),
                        NOW) == b"\x63\x00"
    assert card.process(apdu(0x82, 1, rnd_t + auth_mac(forged, b"T", rnd_c, rnd_t)),
                        NOW) == b"\x69\x85"
    assert card.process(b"\x00\xee\x00\x00", NOW) == b"\x6d\x00"


def test_wrong_pin_status_words() -> None:
    card, _, _ = active()
    card.process(apdu(0xA4, data=AID), NOW)
    assert card.process(apdu(0x20, 0x81, b"1111"), NOW) == b"\x63\xc2"
    assert card.process(apdu(0x20, 0x81, b"1111"), NOW) == b"\x63\xc1"
    assert card.process(apdu(0x20, 0x81, b"1111"), NOW) == b"\x63\xc0"
    assert card.process(apdu(0x20, 0x81, b"2468"), NOW) == b"\x69\x83"


def test_transport_key_card_is_not_active() -> None:
    rng = random.Random(3)
    card = VirtualCard("SN1", CODE, MASTER, "11112222", rng=rng)
    card.process(apdu(0xA4, data=AID), NOW)
    assert card.process(apdu(0x20, 0x81, b"11112222"), NOW) == b"\x69\x85"


@pytest.mark.parametrize("step, code", [
    ("suspended", ErrorCode.CARD_SUSPENDED), ("revoked", ErrorCode.CARD_NOT_ACTIVE),
    ("expired", ErrorCode.CARD_NOT_ACTIVE)])
def test_unusable_cards(step: str, code: ErrorCode) -> None:
    card, rec, rng = active()
    if step == "suspended":
        rec.report_loss(NOW)
    elif step == "revoked":
        rec.revoke(NOW)
    else:
        with pytest.raises(ProtocolError):
            rec.timeout("validity", NOW + VALIDITY - dt.timedelta(days=1))
        rec.timeout("validity", NOW + VALIDITY)
    res = identify_with_card(card, "2468", MASTER, NOW, rng=rng, record=rec)
    assert res.failure is code
    if step == "suspended":
        # A suspended card still counts the PINs tried on it, as its chip does
        # (R-CARD-04), and stays unusable.
        rec.pin_result(False, NOW)
        assert (rec.state, rec.failures) == (CardState.SUSPENDED, 1)
        with pytest.raises(ProtocolError) as exc:
            rec.require_active()
    else:
        with pytest.raises(ProtocolError) as exc:
            rec.pin_result(True, NOW)
    assert exc.value.error_code is code


def test_a_suspension_keeps_the_pin_count() -> None:
    _card, rec, _rng = active()
    rec.pin_result(False, NOW)
    rec.report_loss(NOW)
    rec.recover(NOW)
    assert (rec.state, rec.failures) == (CardState.ACTIVE, 1)
    rec.unlock(Actor.MUNICIPALITY, NOW)           # the reset of an active card
    assert (rec.state, rec.failures) == (CardState.ACTIVE, 0)
    for _ in range(3):
        rec.pin_result(False, NOW)
    rec.report_loss(NOW)
    rec.recover(NOW)                              # blocked before: locked again
    assert (rec.state, rec.failures) == (CardState.LOCKED, 3)
    rec.report_loss(NOW)
    for _ in range(2):                            # counted while suspended
        rec.pin_result(False, NOW)
    rec.recover(NOW)
    assert rec.state is CardState.LOCKED


def test_issue_requires_confirmed_identity() -> None:
    rec = CardRecord("SN9", CODE)
    rec.register(NOW)
    rec.write(NOW)
    before = rec.snapshot()
    with pytest.raises(JukiError) as exc:
        rec.issue(IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT,
                                confirmed=False), NOW)
    assert exc.value.error_code is ErrorCode.IDENTITY_CHECK_FAILED
    assert rec.snapshot() == before
