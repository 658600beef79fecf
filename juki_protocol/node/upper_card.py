"""Upper tester ops of the resident card (spec/node.md sections 4.2 and 4.6): a
municipality's card terminal with virtual cards.

The chips (:class:`~juki_protocol.machines.card.VirtualCard`) stand for the cards the
residents hold; the municipality's record of each card
(:class:`~juki_protocol.machines.card.CardRecord`) is the node's. A desk given the
node's storage keeps both in the table ``cards`` and the terminal's secure module key
in ``meta``, committing each change before it answers, so that a restart finds every
card as it was: its lifecycle state, the wrong PINs counted by the record and by the
chip (R-CARD-01), a suspension (R-24-2-1-01). A desk without storage keeps them in
memory only.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets
import weakref
from collections.abc import Callable
from typing import Any

from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.machines.card import (
    CARD_TABLE,
    EXPIRY_TIMER,
    KEY_COUNTER,
    MAX_PIN_TRIES,
    SW_OK,
    Actor,
    CardInput,
    CardRecord,
    CardState,
    IdentityCheck,
    VirtualCard,
    apdu,
    mutual_auth,
    set_password,
    unblock,
)
from juki_protocol.machines.common import Timer
from juki_protocol.messages.card import CardStatusChange
from juki_protocol.messages.wide_area import IdentityCheckMethod
from juki_protocol.node import card_network
from juki_protocol.node.node import Node
from juki_protocol.node.roles import Owned
from juki_protocol.node.storage import NodeStorage, StorageError, StoredCard
from juki_protocol.node.upper_ops import bad, municipality, op, text

#: The ``meta`` key of the card terminal's secure module key (the master key from
#: which every card's keys are derived).
MASTER_KEY = "card_master_key"

# The resident card (spec/node.md section 4.2) --------------------------------------------

class CardDesk:
    """A municipality's card terminal as the upper tester drives it: virtual resident
    cards (:class:`~juki_protocol.machines.card.VirtualCard`) with the municipality's
    record of each (:class:`~juki_protocol.machines.card.CardRecord`).

    card_class: the chip to issue (a test may give a faulty one); storage: where the
    cards are kept (absent: in memory only, lost at a restart).
    """

    def __init__(self, code: str, card_class: type[VirtualCard] = VirtualCard, *,
                 storage: NodeStorage | None = None) -> None:
        self.code = code
        self.card_class = card_class
        self.storage = storage
        # The terminal's secure module key: without it no card issued before a restart
        # could be authenticated after it.
        self.master = secrets.token_bytes(32) if storage is None \
            else storage.secret(MASTER_KEY)
        self.rng = random.Random(secrets.randbits(64))
        self.cards: dict[str, tuple[VirtualCard, CardRecord]] = {}
        if storage is not None:
            for stored in storage.load_cards():
                self.cards[stored.serial] = self._restore(stored)
        last = max((int(s.rsplit("-", 1)[1]) for s in self.cards), default=0)
        self.serials = itertools.count(last + 1)

    # Durable copy -------------------------------------------------------------------

    def _restore(self, stored: StoredCard) -> tuple[VirtualCard, CardRecord]:
        """A card and its record as :meth:`_stored` kept them. (The machines of
        :mod:`juki_protocol.machines.card` have no ``restore()`` of their own yet, so
        their fields are set here.)"""
        card = self.card_class(stored.serial, stored.resident_code, self.master,
                               stored.chip_pin, rng=self.rng)
        card.activated = stored.chip_activated
        card.tries_left = stored.chip_tries_left
        record = CardRecord(stored.serial, stored.resident_code)
        record.state = CardState(stored.state)
        record.failures = stored.failures
        record.issued_at = stored.issued_at
        record.transport_key_set = record.state not in (CardState.APPLIED,
                                                        CardState.REGISTERED)
        if stored.expires_at is not None:
            record.timers[EXPIRY_TIMER] = Timer(name=EXPIRY_TIMER,
                                                deadline=stored.expires_at)
        return card, record

    def _stored(self, serial: str) -> StoredCard:
        card, record = self.cards[serial]
        expiry = record.timers.get(EXPIRY_TIMER)
        return StoredCard(serial=serial, resident_code=record.resident_code,
                          state=record.state.value, failures=record.failures,
                          issued_at=record.issued_at,
                          expires_at=None if expiry is None else expiry.deadline,
                          chip_pin=card.pin, chip_activated=card.activated,
                          chip_tries_left=card.tries_left)

    def commit(self, serial: str) -> None:
        """Store card ``serial`` as it is now, in one transaction. If the commit fails
        the card is put back as it was stored and the failure (9003) raised."""
        if self.storage is None:
            return
        try:
            with self.storage.transaction():
                self.storage.save_card(self._stored(serial))
        except StorageError:
            kept = {c.serial: c for c in self.storage.load_cards()}.get(serial)
            if kept is None:
                self.cards.pop(serial, None)
            else:
                self.cards[serial] = self._restore(kept)
            raise

    # Counter operations ---------------------------------------------------------------

    def issue(self, resident_code: str, pin: str, now: dt.datetime,
              serial: str | None = None) -> str:
        """Register, write, hand over and activate a card with ``pin``; its serial
        (``serial``: the one its application was registered under)."""
        if serial is None:
            serial = self.new_serial()
        elif serial in self.cards:
            raise JukiError("the card is issued already", code=ErrorCode.CARD_NOT_ACTIVE)
        transport_key = f"{self.rng.randrange(10 ** 6):06d}"
        card = self.card_class(serial, resident_code, self.master, transport_key,
                               rng=self.rng)
        record = CardRecord(serial, resident_code)
        record.register(now)
        record.write(now)
        record.issue(IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT,
                                   confirmed=True, resident_code=resident_code), now)
        if not set_password(card, transport_key, pin, self.master, now, rng=self.rng):
            raise JukiError("the card refused the PIN (4 to 16 digits)",
                            code=ErrorCode.INVALID_JSON)
        record.set_password(now)
        self.cards[serial] = (card, record)
        self.commit(serial)
        return serial

    def new_serial(self, taken: Callable[[str], bool] = lambda s: False) -> str:
        """The next serial of this desk that is not issued nor ``taken`` (applied for)."""
        while True:
            serial = f"{self.code}-{next(self.serials):06d}"
            if serial not in self.cards and not taken(serial):
                return serial

    def get(self, serial: object) -> tuple[VirtualCard, CardRecord]:
        found = self.cards.get(serial) if isinstance(serial, str) else None
        if found is None:
            raise JukiError("no such card", code=ErrorCode.NO_SUCH_RESIDENT)
        return found

    def verify(self, serial: object, pin: str, now: dt.datetime) -> dict[str, Any]:
        """The counter's PIN check: mutual authentication, then VERIFY; the record
        learns the result unless the chip is blocked."""
        card, record = self.get(serial)
        if not mutual_auth(card, self.master, KEY_COUNTER, self.rng, now):
            return {"sw": "6982", "confirmed": False, "cardState": record.state.value}
        sw = card.process(apdu(0x20, 0x81, pin.encode("ascii")), now)
        if sw != b"\x69\x83":
            try:
                record.pin_result(sw == SW_OK, now)
            except ProtocolError:
                pass                     # the record is not active: the counter refuses
        answer: dict[str, Any] = {
            "sw": sw.hex().upper(),
            "confirmed": sw == SW_OK and record.state is CardState.ACTIVE,
            "cardState": record.state.value}
        if answer["confirmed"]:        # the holder's code, read from the chip (R-CARD-03)
            read = card.process(apdu(0xB0, le=11), now)
            if read[-2:] == SW_OK:
                answer["residentCode"] = read[:-2].decode("ascii")
            else:
                answer["confirmed"] = False
        self.commit(card.serial)
        return answer

    def unlock(self, serial: object, by: Actor, now: dt.datetime) -> dict[str, Any]:
        """RESET RETRY COUNTER: with the administration key (the municipality) or with
        the counter key (anyone else, which the chip refuses)."""
        card, record = self.get(serial)
        if record.state not in (CardState.ACTIVE, CardState.LOCKED):
            # A suspended, revoked or expired card is not reset: neither the chip nor
            # the record changes (4011, 4012; R-CARD-04).
            raise ProtocolError("the card's retry counter cannot be reset in its state",
                                code=CARD_TABLE.error_code(record.state, CardInput.UNLOCK))
        if by is Actor.MUNICIPALITY:
            sw = SW_OK if unblock(card, self.master, now, rng=self.rng) else b"\x69\x82"
        elif mutual_auth(card, self.master, KEY_COUNTER, self.rng, now):
            sw = card.process(apdu(0x2C, 0x81), now)
        else:
            sw = b"\x69\x82"
        if sw == SW_OK:             # the record follows the chip (R-CARD-04)
            record.unlock(by, now)
        self.commit(card.serial)
        return {"sw": sw.hex().upper(), "cardState": record.state.value}

    def suspend(self, serial: object, now: dt.datetime) -> CardRecord:
        """The holder reported the card lost or stolen: the municipality suspends it."""
        card, record = self.get(serial)
        record.report_loss(now)
        self.commit(card.serial)
        return record

    def revoke(self, serial: object, now: dt.datetime) -> CardRecord:
        """The municipality ends the card (revoked, or reported lost for good)."""
        card, record = self.get(serial)
        record.revoke(now)
        self.commit(card.serial)
        return record

    def resume(self, serial: object, now: dt.datetime) -> CardRecord:
        """The municipality lifts the suspension (the card was found)."""
        card, record = self.get(serial)
        record.recover(now)
        self.commit(card.serial)
        return record


#: The card desk of each municipality node (made on first use).
CARD_DESKS: weakref.WeakKeyDictionary[Node, CardDesk] = weakref.WeakKeyDictionary()


def desk_of(node: Node) -> CardDesk:
    """The node's card desk, made on first use on the node's storage (a node started
    again finds the cards it issued before)."""
    role = municipality(node)
    desk = CARD_DESKS.get(node)
    if desk is None:
        desk = CARD_DESKS[node] = CardDesk(role.code, storage=node.storage)
    return desk


def _pin(req: dict[str, Any]) -> str:
    pin = req.get("pin")
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit():
        raise JukiError("pin must be a string of digits", code=ErrorCode.INVALID_JSON)
    return pin


@op("card_issue")
async def op_card_issue(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Issue an activated resident card with PIN ``pin`` to a resident whose record is
    current (an erased record is 5002 or 5003, as at the wide-area counter), under
    ``serial`` if given (an application the centre registered, R-CARDREG-01, else
    4012); the ``CardIssueNotice`` is committed with it and sent to the centre."""
    desk = desk_of(node)
    # A field missing or of another JSON type is malformed (1030) before any lookup
    # (R-NODE-98): a missing residentCode is not a code "not in the register", and a
    # null serial is no serial at all, not an absent one.
    code = text(req, "residentCode")
    if "serial" in req and not isinstance(req["serial"], str):
        raise bad("serial must be a string")
    found = municipality(node).register.records.get(code)
    if found is None:
        raise JukiError("no such resident in the register", code=ErrorCode.NO_SUCH_RESIDENT)
    if found.status != "current":
        raise JukiError("the resident's record is erased", code=(
            ErrorCode.RECORD_DECEASED if found.status == "deceased"
            else ErrorCode.RECORD_MOVED_OUT))
    pin, asked = _pin(req), req.get("serial")
    made: list[str] = []

    def action(now: dt.datetime) -> list[Owned]:
        if asked is not None:
            card_network.require_registered(node, asked)
        made.append(desk.issue(found.resident_code, pin, now, serial=asked))
        return card_network.issued(node, desk.get(made[0])[1], now)
    await node.local(action)
    return {"serial": made[0]}


@op("card_verify")
async def op_card_verify(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Present card ``serial`` at the counter with ``pin`` (4012 for a card whose issue
    notice the centre refused, R-CARDREG-08)."""
    serial = text(req, "serial")
    card_network.require_not_refused(node, serial)
    return desk_of(node).verify(serial, _pin(req), node.now())


@op("card_unlock")
async def op_card_unlock(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Reset the PIN retry counter of card ``serial``, ``by`` the municipality (default)
    or the holder."""
    serial = text(req, "serial")
    try:
        by = Actor(req.get("by", "municipality"))
    except ValueError:
        raise JukiError("by must be municipality or holder",
                        code=ErrorCode.INVALID_JSON) from None
    return desk_of(node).unlock(serial, by, node.now())


def _card_state(record: CardRecord) -> dict[str, Any]:
    return {"cardState": record.state.value,
            "retriesLeft": max(MAX_PIN_TRIES - record.failures, 0)}


async def change_card(node: Node, req: dict[str, Any], change: CardStatusChange
                   ) -> dict[str, Any]:
    """Suspend, resume, revoke or report lost card ``serial``, with the
    ``CardStatusNotice`` to the centre in the same transaction (R-CARDREG-03)."""
    desk = desk_of(node)
    serial = text(req, "serial")
    done: list[CardRecord] = []

    def action(now: dt.datetime) -> list[Owned]:
        if change is CardStatusChange.SUSPENDED:
            record = desk.suspend(serial, now)
        elif change is CardStatusChange.RESUMED:
            record = desk.resume(serial, now)
        else:                           # lost or revoked: the card ends here for good
            record = desk.revoke(serial, now)
        done.append(record)
        return card_network.changed(node, record, change, now)
    await node.local(action)
    return _card_state(done[0])


@op("card_suspend")
async def op_card_suspend(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The holder reported card ``serial`` lost or stolen: the municipality suspends it
    (spec/card.md, suspension on loss or theft); a refused transition keeps its code."""
    return await change_card(node, req, CardStatusChange.SUSPENDED)


@op("card_resume")
async def op_card_resume(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The municipality lifts the suspension of card ``serial`` (the card was found)."""
    return await change_card(node, req, CardStatusChange.RESUMED)


@op("card_state")
async def op_card_state(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """The municipality's record of card ``serial``: its state and PIN tries left."""
    _card, record = desk_of(node).get(text(req, "serial"))
    return _card_state(record)


__all__ = ["CARD_DESKS", "MASTER_KEY", "CardDesk", "change_card", "desk_of"]
