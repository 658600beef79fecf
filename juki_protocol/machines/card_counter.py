"""The counter's identity check with a resident card, both sides in memory: what
``juki simulate`` and the tests run at a wide-area or special-move counter.

:func:`identify_with_card` drives the APDU exchange with a
:class:`~juki_protocol.machines.card.VirtualCard` (mutual authentication, VERIFY, READ
BINARY of the resident code) and returns an
:class:`~juki_protocol.machines.card.IdentityCheck`. No node runs it: a node's card desk
(:mod:`juki_protocol.node.upper_card`) runs the terminal's steps of
:mod:`juki_protocol.machines.card` itself, and its counters receive the identity check
as the upper tester states it.
"""

from __future__ import annotations

import datetime as dt
import random

from juki_protocol.errors import ErrorCode, ProtocolError
from juki_protocol.machines.card import (
    KEY_COUNTER,
    SW_OK,
    CardRecord,
    IdentityCheck,
    VirtualCard,
    apdu,
    mutual_auth,
)
from juki_protocol.messages.wide_area import IdentityCheckMethod


def identify_with_card(card: VirtualCard, pin: str, master: bytes, now: dt.datetime, *,
                       rng: random.Random,
                       record: CardRecord | None = None) -> IdentityCheck:
    """The counter's identity check with a resident card and its PIN.

    Mutual authentication, VERIFY, READ BINARY of the resident code. When ``record`` is
    given, the municipality's card record must be active and learns the PIN result.
    """
    method = IdentityCheckMethod.RESIDENT_CARD_WITH_PIN

    def fail(code: ErrorCode) -> IdentityCheck:
        return IdentityCheck(method=method, confirmed=False, failure=code)

    if record is not None:
        try:
            record.require_active()
        except ProtocolError as exc:
            return fail(exc.error_code)
    if not mutual_auth(card, master, KEY_COUNTER, rng, now):
        return fail(ErrorCode.IDENTITY_CHECK_FAILED)
    sw = card.process(apdu(0x20, 0x81, pin.encode("ascii")), now)
    if record is not None and sw != b"\x69\x83":
        record.pin_result(sw == SW_OK, now)
    if sw == b"\x69\x83" or sw == b"\x63\xc0":
        return fail(ErrorCode.CARD_LOCKED)
    if sw != SW_OK:
        return fail(ErrorCode.IDENTITY_CHECK_FAILED)
    resp = card.process(apdu(0xB0, le=11), now)
    if resp[-2:] != SW_OK:
        return fail(ErrorCode.IDENTITY_CHECK_FAILED)
    return IdentityCheck(method=method, confirmed=True,
                         resident_code=resp[:-2].decode("ascii"))


__all__ = ["identify_with_card"]
