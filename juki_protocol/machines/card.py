"""The resident card (住民基本台帳カード): its lifecycle at the municipality, a virtual card
speaking an ISO/IEC 7816-4 APDU subset, and the terminal's steps.

Theory of operation
-------------------
:class:`CardRecord` is the municipality's record of one card, following the seeds:
applied -> registered -> printed and written with a transport key (輸送鍵) -> issued
after an identity check -> activated when the holder sets a password. A wrong PIN
counts; the third consecutive one locks the card, a correct PIN resets the count, and
only the municipality unlocks (R-24-2-1-01 and the seeds). Loss or theft suspends the
card; the municipality may revoke it; it expires when its validity ends (a timer).
Uses of a card that is not active raise 4010 CARD_LOCKED, 4011 CARD_SUSPENDED or 4012
CARD_NOT_ACTIVE, as the table's error column gives.

:class:`VirtualCard` is the chip. Its table is over the APDU commands it supports:
SELECT (A4), GET CHALLENGE (84), EXTERNAL AUTHENTICATE (82, the terminal proves
itself), INTERNAL AUTHENTICATE (88, the card proves itself), VERIFY (20), READ BINARY
(B0), CHANGE REFERENCE DATA (24) and RESET RETRY COUNTER (2C). A card never raises at
its interface: a table miss becomes a status word (:data:`SW_FOR`), e.g. 6985
"conditions of use not satisfied", 6982 "security status not satisfied" and 6983
"authentication method blocked"; a wrong PIN answers 63Cx with x the retries left.

Authentication uses per-card keys derived from a master key held by the terminal's
secure module: ``k = HMAC-SHA256(master, label || serial)``; the terminal proves
``HMAC(k, "T" || RND.C || RND.T)`` and the card ``HMAC(k, "C" || RND.C || RND.T)``
(16 octets). Key reference 1 is the counter key, 2 the municipality's administration
key, the only one that may reset the retry counter. READ BINARY of the resident code
area needs both a successful external authentication and a verified PIN.

The terminal's steps (:func:`mutual_auth`, :func:`set_password`, :func:`unblock`) are
what a node's card desk runs (:mod:`juki_protocol.node.upper_card`). The whole counter
procedure with its :class:`IdentityCheck`, which ``juki simulate`` and the tests run, is
:func:`juki_protocol.machines.card_counter.identify_with_card`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
from dataclasses import dataclass
from enum import Enum

from juki_protocol.errors import BusinessError, ErrorCode, ProtocolError
from juki_protocol.machines.common import (
    ArmTimer,
    CancelTimer,
    Effect,
    Event,
    Machine,
    Table,
    Timer,
    register,
)
from juki_protocol.messages.wide_area import IdentityCheckMethod

MAX_PIN_TRIES = 3
#: R-TIME-06 (spec/deadlines.md): a card expires ten years after it was handed over.
VALIDITY = dt.timedelta(days=3652)
EXPIRY_TIMER = "validity"
AID = bytes.fromhex("D392F000260100000001")   # The application id of the resident card.
KEY_COUNTER, KEY_ADMIN = 1, 2


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityCheck:
    """The result of the identity check at a counter.

    method: how the applicant was confirmed; confirmed: whether it succeeded;
    resident_code: read from the card, when a card was used; failure: the code of the
    failure (5022 IDENTITY_CHECK_FAILED, 4010 CARD_LOCKED...).
    """

    method: IdentityCheckMethod
    confirmed: bool
    resident_code: str | None = None
    failure: ErrorCode | None = None


class Actor(Enum):
    """Who asks for a card operation."""

    HOLDER = "holder"
    MUNICIPALITY = "municipality"


# The lifecycle -------------------------------------------------------------------------

class CardState(Enum):
    """States of a card in the municipality's records."""

    APPLIED = "applied"
    REGISTERED = "registered"
    WRITTEN = "written"
    ISSUED = "issued"
    ACTIVE = "active"
    LOCKED = "locked"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class CardInput(Enum):
    """Events in a card's life."""

    REGISTER = "register"
    WRITE = "write"
    ISSUE = "issue"
    SET_PASSWORD = "set_password"
    PIN_OK = "pin_ok"
    PIN_WRONG = "pin_wrong"
    PIN_WRONG_LAST = "pin_wrong_last"
    UNLOCK = "unlock"
    UNLOCK_BY_OTHER = "unlock_by_other"
    REPORT_LOSS = "report_loss"
    RECOVER = "recover"
    RECOVER_LOCKED = "recover_locked"    # lifting the suspension of a blocked card
    REVOKE = "revoke"
    EXPIRE = "expire"


class CardAction(Enum):
    """Side effects on a card record."""

    RECORD = "record"
    SET_TRANSPORT_KEY = "set_transport_key"
    HAND_OVER = "hand_over"
    ACTIVATE = "activate"
    RESET_COUNT = "reset_count"
    COUNT = "count"
    LOCK = "lock"
    SUSPEND = "suspend"
    RESUME = "resume"
    REVOKE = "revoke"
    EXPIRE = "expire"


_C, _CI, _CA = CardState, CardInput, CardAction
_rows: dict[tuple[CardState, CardInput], tuple[CardAction | None, CardState]] = {
    (_C.APPLIED, _CI.REGISTER): (_CA.RECORD, _C.REGISTERED),
    (_C.REGISTERED, _CI.WRITE): (_CA.SET_TRANSPORT_KEY, _C.WRITTEN),
    (_C.WRITTEN, _CI.ISSUE): (_CA.HAND_OVER, _C.ISSUED),
    (_C.ISSUED, _CI.SET_PASSWORD): (_CA.ACTIVATE, _C.ACTIVE),
    (_C.ACTIVE, _CI.PIN_OK): (_CA.RESET_COUNT, _C.ACTIVE),
    (_C.ACTIVE, _CI.PIN_WRONG): (_CA.COUNT, _C.ACTIVE),
    (_C.ACTIVE, _CI.PIN_WRONG_LAST): (_CA.LOCK, _C.LOCKED),
    (_C.LOCKED, _CI.UNLOCK): (_CA.RESET_COUNT, _C.ACTIVE),
    # The municipality's reset of a card that is not blocked: three tries again (R-CARD-04).
    (_C.ACTIVE, _CI.UNLOCK): (_CA.RESET_COUNT, _C.ACTIVE),
    # A suspended card still counts the PINs tried on it, as its chip does; lifting the
    # suspension keeps the count, so that a card blocked before or during it is locked
    # again (R-CARD-04).
    (_C.SUSPENDED, _CI.PIN_OK): (_CA.RESET_COUNT, _C.SUSPENDED),
    (_C.SUSPENDED, _CI.PIN_WRONG): (_CA.COUNT, _C.SUSPENDED),
    (_C.SUSPENDED, _CI.PIN_WRONG_LAST): (_CA.LOCK, _C.SUSPENDED),
    (_C.SUSPENDED, _CI.RECOVER): (_CA.RESUME, _C.ACTIVE),
    (_C.SUSPENDED, _CI.RECOVER_LOCKED): (_CA.RESUME, _C.LOCKED),
}
for _s in (_C.ISSUED, _C.ACTIVE, _C.LOCKED):
    _rows[(_s, _CI.REPORT_LOSS)] = (_CA.SUSPEND, _C.SUSPENDED)
for _s in (_C.APPLIED, _C.REGISTERED, _C.WRITTEN, _C.ISSUED, _C.ACTIVE, _C.LOCKED,
           _C.SUSPENDED):
    _rows[(_s, _CI.REVOKE)] = (_CA.REVOKE, _C.REVOKED)
for _s in (_C.ISSUED, _C.ACTIVE, _C.LOCKED, _C.SUSPENDED):
    _rows[(_s, _CI.EXPIRE)] = (_CA.EXPIRE, _C.EXPIRED)

CARD_TABLE: Table[CardState, CardInput, CardAction] = Table(
    name="resident-card", title="Resident card lifecycle (the municipality's record)",
    states=CardState, inputs=CardInput, initial=_C.APPLIED, rows=_rows,
    errors={(_C.LOCKED, _CI.UNLOCK_BY_OTHER): ErrorCode.ROLE_NOT_ALLOWED,
            _C.LOCKED: ErrorCode.CARD_LOCKED, _C.SUSPENDED: ErrorCode.CARD_SUSPENDED,
            _C.REVOKED: ErrorCode.CARD_NOT_ACTIVE, _C.EXPIRED: ErrorCode.CARD_NOT_ACTIVE,
            _CI.PIN_OK: ErrorCode.CARD_NOT_ACTIVE, _CI.PIN_WRONG: ErrorCode.CARD_NOT_ACTIVE,
            _CI.PIN_WRONG_LAST: ErrorCode.CARD_NOT_ACTIVE},
)


@register
class CardRecord(Machine[CardState, CardInput, CardAction]):
    """The municipality's record of one resident card (see the module docstring)."""

    TABLE = CARD_TABLE

    def __init__(self, serial: str, resident_code: str) -> None:
        super().__init__()
        self.serial = serial
        self.resident_code = resident_code
        self.failures = 0
        self.transport_key_set = False
        self.issued_at: dt.datetime | None = None

    def register(self, now: dt.datetime) -> list[Effect]:
        """The application was registered."""
        return self._step(CardInput.REGISTER, now)

    def write(self, now: dt.datetime) -> list[Effect]:
        """The card was printed and written with its transport key."""
        return self._step(CardInput.WRITE, now)

    def issue(self, check: IdentityCheck, now: dt.datetime) -> list[Effect]:
        """Hand the card over after ``check`` confirmed the applicant."""
        return self._step(CardInput.ISSUE, now, check)

    def set_password(self, now: dt.datetime) -> list[Effect]:
        """The holder replaced the transport key with a password: the card is active."""
        return self._step(CardInput.SET_PASSWORD, now)

    def pin_result(self, ok: bool, now: dt.datetime) -> list[Effect]:
        """A PIN was tried at a terminal; the third consecutive failure locks."""
        if ok:
            return self._step(CardInput.PIN_OK, now)
        last = self.failures + 1 >= MAX_PIN_TRIES
        return self._step(CardInput.PIN_WRONG_LAST if last else CardInput.PIN_WRONG, now)

    def unlock(self, by: Actor, now: dt.datetime) -> list[Effect]:
        """Unlock a locked card; only the municipality may."""
        inp = CardInput.UNLOCK if by is Actor.MUNICIPALITY else CardInput.UNLOCK_BY_OTHER
        return self._step(inp, now)

    def report_loss(self, now: dt.datetime) -> list[Effect]:
        """The holder reported the card lost or stolen."""
        return self._step(CardInput.REPORT_LOSS, now)

    def recover(self, now: dt.datetime) -> list[Effect]:
        """The municipality lifts a suspension (the card was found): active again, or
        locked when its PIN was blocked before or during the suspension."""
        blocked = self.failures >= MAX_PIN_TRIES
        return self._step(CardInput.RECOVER_LOCKED if blocked else CardInput.RECOVER, now)

    def revoke(self, now: dt.datetime) -> list[Effect]:
        """The municipality revokes the card for good."""
        return self._step(CardInput.REVOKE, now)

    def timeout(self, name: str, now: dt.datetime) -> list[Effect]:
        """The validity timer fired."""
        if name != EXPIRY_TIMER:
            raise ProtocolError(f"no timer {name}", code=ErrorCode.UNEXPECTED_MESSAGE)
        if self.state in CARD_TABLE.terminal_states():
            return self._step(CardInput.EXPIRE, now)
        self._due(name, now)
        return self._step(CardInput.EXPIRE, now)

    def require_active(self) -> None:
        """Raise 4010/4011/4012 unless the card may be used (R-24-2-1-01)."""
        if self.state is not CardState.ACTIVE:
            raise ProtocolError("the card is not usable",
                                code=CARD_TABLE.error_code(self.state, CardInput.PIN_OK))

    def _act(self, action: CardAction, now: dt.datetime, payload: object) -> list[Effect]:
        if action is CardAction.HAND_OVER:
            assert isinstance(payload, IdentityCheck)
            if not payload.confirmed or payload.resident_code not in (None,
                                                                      self.resident_code):
                raise BusinessError("the applicant's identity was not confirmed",
                                    code=ErrorCode.IDENTITY_CHECK_FAILED)
            self.issued_at = now
            return [ArmTimer(timer=Timer(name=EXPIRY_TIMER, deadline=now + VALIDITY)),
                    Event(name="card_issued")]
        if action is CardAction.SET_TRANSPORT_KEY:
            self.transport_key_set = True
            return [Event(name="card_written")]
        if action is CardAction.COUNT:
            self.failures += 1
            return [Event(name="pin_wrong", data=MAX_PIN_TRIES - self.failures)]
        if action is CardAction.LOCK:
            self.failures = MAX_PIN_TRIES
            return [Event(name="card_locked", code=ErrorCode.CARD_LOCKED)]
        if action in (CardAction.RESET_COUNT, CardAction.ACTIVATE):
            self.failures = 0
            return []
        if action in (CardAction.REVOKE, CardAction.EXPIRE):
            return [CancelTimer(name=EXPIRY_TIMER), Event(name=f"card_{action.value}d")]
        if action is CardAction.SUSPEND:
            return [Event(name="card_suspended", code=ErrorCode.CARD_SUSPENDED)]
        return []


# The chip ------------------------------------------------------------------------------

def derive_key(master: bytes, serial: str, key_ref: int) -> bytes:
    """The per-card key ``key_ref`` (1 counter, 2 administration) of card ``serial``."""
    label = b"juki-card-counter:" if key_ref == KEY_COUNTER else b"juki-card-admin:"
    return hmac.new(master, label + serial.encode("ascii"), hashlib.sha256).digest()


def auth_mac(key: bytes, who: bytes, rnd_card: bytes, rnd_term: bytes) -> bytes:
    """The 16-octet proof of ``who`` (b"T" terminal, b"C" card) over both challenges."""
    return hmac.new(key, who + rnd_card + rnd_term, hashlib.sha256).digest()[:16]


class ChipState(Enum):
    """The chip's security state for the current session."""

    IDLE = "idle"
    SELECTED = "selected"
    CHALLENGED = "challenged"
    AUTHENTICATED = "authenticated"


class Apdu(Enum):
    """The classified command APDUs (ISO/IEC 7816-4)."""

    SELECT = "select"
    GET_CHALLENGE = "get_challenge"
    EXTERNAL_AUTH_OK = "external_auth_ok"
    EXTERNAL_AUTH_BAD = "external_auth_bad"
    INTERNAL_AUTH = "internal_auth"
    VERIFY_OK = "verify_ok"
    VERIFY_WRONG = "verify_wrong"
    VERIFY_BLOCKED = "verify_blocked"
    VERIFY_INACTIVE = "verify_inactive"
    READ_BINARY = "read_binary"
    READ_DENIED = "read_denied"
    CHANGE_OK = "change_ok"
    CHANGE_WRONG = "change_wrong"
    RESET_ADMIN = "reset_admin"
    RESET_DENIED = "reset_denied"
    UNKNOWN = "unknown"


class ChipAction(Enum):
    """The chip's side effects."""

    SELECT = "select"
    CHALLENGE = "challenge"
    AUTHENTICATE = "authenticate"
    REJECT_AUTH = "reject_auth"
    PROVE = "prove"
    PIN_OK = "pin_ok"
    PIN_WRONG = "pin_wrong"
    READ = "read"
    SET_PIN = "set_pin"
    UNBLOCK = "unblock"


_H, _AP, _HA = ChipState, Apdu, ChipAction
_crows: dict[tuple[ChipState, Apdu], tuple[ChipAction | None, ChipState]] = {
    (_H.SELECTED, _AP.GET_CHALLENGE): (_HA.CHALLENGE, _H.CHALLENGED),
    (_H.CHALLENGED, _AP.EXTERNAL_AUTH_OK): (_HA.AUTHENTICATE, _H.AUTHENTICATED),
    (_H.CHALLENGED, _AP.EXTERNAL_AUTH_BAD): (_HA.REJECT_AUTH, _H.SELECTED),
    (_H.AUTHENTICATED, _AP.INTERNAL_AUTH): (_HA.PROVE, _H.AUTHENTICATED),
    (_H.AUTHENTICATED, _AP.READ_BINARY): (_HA.READ, _H.AUTHENTICATED),
    (_H.AUTHENTICATED, _AP.RESET_ADMIN): (_HA.UNBLOCK, _H.AUTHENTICATED),
}
for _h in _H:
    _crows[(_h, _AP.SELECT)] = (_HA.SELECT, _H.SELECTED)
for _h in (_H.SELECTED, _H.AUTHENTICATED):
    _crows[(_h, _AP.VERIFY_OK)] = (_HA.PIN_OK, _h)
    _crows[(_h, _AP.VERIFY_WRONG)] = (_HA.PIN_WRONG, _h)
    _crows[(_h, _AP.CHANGE_OK)] = (_HA.SET_PIN, _h)
    _crows[(_h, _AP.CHANGE_WRONG)] = (_HA.PIN_WRONG, _h)

CHIP_TABLE: Table[ChipState, Apdu, ChipAction] = Table(
    name="virtual-card", title="Virtual resident card: ISO/IEC 7816-4 command subset",
    states=ChipState, inputs=Apdu, initial=_H.IDLE, rows=_crows,
    errors={_AP.VERIFY_BLOCKED: ErrorCode.CARD_LOCKED,
            _AP.READ_DENIED: ErrorCode.IDENTITY_CHECK_FAILED,
            _AP.RESET_DENIED: ErrorCode.IDENTITY_CHECK_FAILED,
            _AP.UNKNOWN: ErrorCode.UNKNOWN_MESSAGE_TYPE,
            _AP.VERIFY_INACTIVE: ErrorCode.CARD_NOT_ACTIVE},
)

#: Status word answered for a table miss, by the miss's error code.
SW_FOR: dict[ErrorCode, bytes] = {
    ErrorCode.UNEXPECTED_MESSAGE: b"\x69\x85",       # conditions of use not satisfied
    ErrorCode.IDENTITY_CHECK_FAILED: b"\x69\x82",    # security status not satisfied
    ErrorCode.CARD_LOCKED: b"\x69\x83",              # authentication method blocked
    ErrorCode.CARD_NOT_ACTIVE: b"\x69\x85",
    ErrorCode.UNKNOWN_MESSAGE_TYPE: b"\x6d\x00",     # instruction not supported
}
SW_OK = b"\x90\x00"


@register
class VirtualCard(Machine[ChipState, Apdu, ChipAction]):
    """A resident card chip: :meth:`process` takes a command APDU, returns data + SW.

    rng: the chip's random source for challenges (sans-I/O: given, never global).
    """

    TABLE = CHIP_TABLE

    def __init__(self, serial: str, resident_code: str, master: bytes, transport_key: str,
                 *, rng: random.Random) -> None:
        super().__init__()
        self.serial = serial
        self.resident_code = resident_code
        self.keys = {ref: derive_key(master, serial, ref) for ref in (KEY_COUNTER, KEY_ADMIN)}
        self.pin = transport_key
        self.activated = False
        self.tries_left = MAX_PIN_TRIES
        self.pin_verified = False
        self.auth_key_ref: int | None = None
        self.rnd_card: bytes | None = None
        self.rng = rng

    def _classify(self, apdu: bytes) -> Apdu:
        if len(apdu) < 4:
            return Apdu.UNKNOWN
        ins, p2, data = apdu[1], apdu[3], apdu[5:] if len(apdu) > 5 else b""
        if ins == 0xA4:
            return Apdu.SELECT if data == AID else Apdu.UNKNOWN
        if ins == 0x84:
            return Apdu.GET_CHALLENGE
        if ins == 0x82:
            key = self.keys.get(p2)
            ok = (key is not None and self.rnd_card is not None and len(data) == 24
                  and hmac.compare_digest(data[8:], auth_mac(key, b"T", self.rnd_card,
                                                              data[:8])))
            return Apdu.EXTERNAL_AUTH_OK if ok else Apdu.EXTERNAL_AUTH_BAD
        if ins == 0x88:
            return Apdu.INTERNAL_AUTH
        if ins in (0x20, 0x24):
            if self.tries_left == 0:
                return Apdu.VERIFY_BLOCKED
            if ins == 0x20:
                if not self.activated:
                    return Apdu.VERIFY_INACTIVE
                good = hmac.compare_digest(data, self.pin.encode())
                return Apdu.VERIFY_OK if good else Apdu.VERIFY_WRONG
            old = data[1:1 + data[0]] if data else b""
            new = data[1 + data[0]:] if data else b""
            good = hmac.compare_digest(old, self.pin.encode()) and 4 <= len(new) <= 16 \
                and new.isdigit()
            return Apdu.CHANGE_OK if good else Apdu.CHANGE_WRONG
        if ins == 0xB0:
            return Apdu.READ_BINARY if self.pin_verified else Apdu.READ_DENIED
        if ins == 0x2C:
            return Apdu.RESET_ADMIN if self.auth_key_ref == KEY_ADMIN else Apdu.RESET_DENIED
        return Apdu.UNKNOWN

    def process(self, apdu: bytes, now: dt.datetime) -> bytes:
        """Run one command APDU; a refusal is a status word, never an exception."""
        try:
            out = self._step(self._classify(apdu), now, apdu)
        except ProtocolError as exc:
            return SW_FOR.get(exc.error_code, b"\x69\x85")
        event = out[0]
        assert isinstance(event, Event) and isinstance(event.data, bytes)
        return event.data

    def _act(self, action: ChipAction, now: dt.datetime, payload: object) -> list[Effect]:
        assert isinstance(payload, bytes)
        data = payload[5:]
        answer = SW_OK
        if action is ChipAction.SELECT:
            self.pin_verified, self.auth_key_ref, self.rnd_card = False, None, None
        elif action is ChipAction.CHALLENGE:
            self.rnd_card = self.rng.randbytes(8)
            answer = self.rnd_card + SW_OK
        elif action is ChipAction.AUTHENTICATE:
            self.auth_key_ref = payload[3]
        elif action is ChipAction.REJECT_AUTH:
            self.rnd_card = None
            answer = b"\x63\x00"
        elif action is ChipAction.PROVE:
            assert self.rnd_card is not None and self.auth_key_ref is not None
            answer = auth_mac(self.keys[self.auth_key_ref], b"C", self.rnd_card,
                              data[:8]) + SW_OK
        elif action is ChipAction.PIN_OK:
            self.tries_left, self.pin_verified = MAX_PIN_TRIES, True
        elif action is ChipAction.PIN_WRONG:
            # Never below 0: the classifier answers a blocked PIN before this row, but
            # the table's own input may come straight (the random walks of the tests).
            self.tries_left = max(0, self.tries_left - 1)
            self.pin_verified = False
            answer = bytes([0x63, 0xC0 | self.tries_left])
        elif action is ChipAction.READ:
            answer = self.resident_code.encode("ascii") + SW_OK
        elif action is ChipAction.SET_PIN:
            new = data[1 + data[0]:]
            self.pin, self.activated = new.decode("ascii"), True
            self.tries_left, self.pin_verified = MAX_PIN_TRIES, False
        elif action is ChipAction.UNBLOCK:
            self.tries_left = MAX_PIN_TRIES
        return [Event(name=action.value, data=answer)]


# The terminal side (counter procedure) ----------------------------------------------------

def apdu(ins: int, p2: int = 0, data: bytes = b"", le: int | None = None) -> bytes:
    """A short command APDU with CLA 00 and P1 00."""
    out = bytes([0x00, ins, 0x00, p2])
    if data:
        out += bytes([len(data)]) + data
    if le is not None:
        out += bytes([le])
    return out


def mutual_auth(card: VirtualCard, master: bytes, key_ref: int, rng: random.Random,
                now: dt.datetime) -> bool:
    """The terminal's half of mutual authentication with key ``key_ref`` (SELECT, GET
    CHALLENGE, EXTERNAL then INTERNAL AUTHENTICATE): True only if every step answered
    90 00 and the card proved it holds the key derived from ``master``. Public for
    terminals that run their own steps after it (the upper tester's card operations)."""
    key = derive_key(master, card.serial, key_ref)
    if card.process(apdu(0xA4, data=AID), now) != SW_OK:
        return False
    resp = card.process(apdu(0x84, le=8), now)
    if resp[-2:] != SW_OK:
        return False
    rnd_c, rnd_t = resp[:8], rng.randbytes(8)
    if card.process(apdu(0x82, key_ref, rnd_t + auth_mac(key, b"T", rnd_c, rnd_t)),
                    now) != SW_OK:
        return False
    proof = card.process(apdu(0x88, key_ref, rnd_t, le=16), now)
    return proof[-2:] == SW_OK and hmac.compare_digest(proof[:-2],
                                                      auth_mac(key, b"C", rnd_c, rnd_t))


def set_password(card: VirtualCard, transport_key: str, new_pin: str, master: bytes,
                 now: dt.datetime, *, rng: random.Random) -> bool:
    """Replace the transport key with the holder's PIN (CHANGE REFERENCE DATA)."""
    if not mutual_auth(card, master, KEY_COUNTER, rng, now):
        return False
    old = transport_key.encode("ascii")
    data = bytes([len(old)]) + old + new_pin.encode("ascii")
    return card.process(apdu(0x24, 0x81, data), now) == SW_OK


def unblock(card: VirtualCard, master: bytes, now: dt.datetime, *,
            rng: random.Random) -> bool:
    """The municipality resets the retry counter (administration key only)."""
    if not mutual_auth(card, master, KEY_ADMIN, rng, now):
        return False
    return card.process(apdu(0x2C, 0x81), now) == SW_OK
