"""The upper tester's wire form: JSON lines over mutual TLS (spec/node.md section 4).

Theory of operation
-------------------
A conformance runner in node mode plays the node's peers over the network (the lower
tester) and, through this interface, triggers the node's local events and reads what
the node holds (the upper tester, ISO/IEC 9646). :class:`UpperTester` listens on its own
address, normally loopback, with the node's own TLS server context: TLS 1.3, and the
client must present a certificate issued by the network CA (any role; the runner uses
the certificate of one of the peers it plays). It is a test interface, off unless the
operator starts it (``juki node serve --upper-tester HOST:PORT``).

Each request is one UTF-8 JSON object on one line, ``{"id": ..., "op": ..., ...}``;
each answer is one line with the same ``id`` and ``"ok": true`` and the op's fields, or
``"ok": false`` and ``error: {code, name, message}`` with a registered code
(spec/errors.md), as in the codec adapter protocol (spec/conformance.md). Local events
run through :meth:`Node.local`, so their effects are committed before anything is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import logging
import random
import secrets
import ssl
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from juki_protocol import __version__, pki
from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.machines.card import (
    KEY_COUNTER,
    SW_OK,
    Actor,
    CardRecord,
    CardState,
    IdentityCheck,
    VirtualCard,
    _mutual_auth,
    apdu,
    set_password,
    unblock,
)
from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.messages.wide_area import IdentityCheckMethod
from juki_protocol.node.node import Node
from juki_protocol.node.roles import CentralRole, MunicipalityRole, Owned
from juki_protocol.node.transport import peer_certificate
from juki_protocol.synth import generate_households

logger = logging.getLogger(__name__)
#: The longest request line the upper tester reads.
MAX_LINE = 1024 * 1024

Handler = Callable[[Node, dict[str, Any]], Awaitable[dict[str, Any]]]


def _error(code: ErrorCode, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": int(code), "name": code.name, "message": message}}


def _municipality(node: Node) -> MunicipalityRole:
    if not isinstance(node.handler, MunicipalityRole):
        raise JukiError(f"{node.node} is not a municipality", code=ErrorCode.ROLE_NOT_ALLOWED)
    return node.handler


async def op_hello(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Who the node is and what it offers."""
    return {"implementation": "juki-protocol reference node", "version": __version__,
            "node": str(node.node), "role": node.config.role, "ops": sorted(OPS),
            "maxFrame": node.config.max_frame,
            "timeWindowSeconds": int(node.config.time_window.total_seconds())}


async def op_status(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """What the node holds: identity info and numbering (prefecture, national), or the
    register and the updates sent (municipality)."""
    h = node.handler
    out: dict[str, Any] = {"node": str(node.node), "role": node.config.role}
    if isinstance(h, CentralRole):
        last, _ = node.storage.applied_updates()
        out["identityInfo"] = {"current": node.storage.count_identity(),
                               "versions": node.storage.count_identity(False)}
        out["lastSequence"] = dict(sorted(last.items()))
        relays = getattr(h.receiver, "relays", None)
        if relays is not None:
            out["relays"] = {"lastSequence": relays.next_sequence - 1,
                             "unacknowledged": len(relays.outbox)}
    elif isinstance(h, MunicipalityRole):
        out["residents"] = len(h.register.records)
        out["updates"] = {"lastSequence": h.updater.next_sequence - 1,
                          "unacknowledged": len(h.updater.outbox)}
    return out


async def op_register_resident(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Put one synthetic household, generated from ``seed``, into the register without
    reporting it (as if it had been registered before the node joined the network)."""
    role = _municipality(node)
    seed = req.get("seed")
    if not isinstance(seed, str) or not seed:
        raise JukiError("register_resident needs a non-empty string seed",
                        code=ErrorCode.INVALID_JSON)
    members = generate_households(1, seed, municipalities=[role.code])[0].members

    def action(now: dt.datetime) -> list[Owned]:
        node.storage.save_residents(list(members))
        for m in members:
            role.register.add(m)
        return []
    await node.local(action)
    return {"residentCodes": [m.resident_code for m in members]}


async def op_record_change(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Record a registered resident's change (default: ``moveIn``) and report it to the
    prefecture with one identity info update (Art. 30-5)."""
    role = _municipality(node)
    code = req.get("residentCode")
    resident = role.register.records.get(code) if isinstance(code, str) else None
    if resident is None:
        raise JukiError("no such resident in the register", code=ErrorCode.NO_SUCH_RESIDENT)
    try:
        reason = ChangeReason(req.get("reason", "moveIn"))
        date = dt.date.fromisoformat(req["changeDate"]) if "changeDate" in req \
            else resident.resident_since
    except (ValueError, TypeError) as exc:
        raise JukiError(f"bad reason or changeDate: {exc}",
                        code=ErrorCode.INVALID_JSON) from None
    change = ChangeInfo(change_reason=reason, change_date=date)
    await node.local(lambda now: role.record(resident, change, now))
    mid, update = role.updater.outbox[-1]
    return {"messageId": mid.hex(), "updateSequence": update.update_sequence}


# The resident card (spec/node.md section 4.2) --------------------------------------------

class CardDesk:
    """A municipality's card terminal as the upper tester drives it: virtual resident
    cards (:class:`~juki_protocol.machines.card.VirtualCard`) with the municipality's
    record of each (:class:`~juki_protocol.machines.card.CardRecord`), in memory.

    card_class: the chip to issue (a test may give a faulty one).
    """

    def __init__(self, code: str, card_class: type[VirtualCard] = VirtualCard) -> None:
        self.code = code
        self.card_class = card_class
        self.master = secrets.token_bytes(32)      # the terminal's secure module key
        self.rng = random.Random(secrets.randbits(64))
        self.serials = itertools.count(1)
        self.cards: dict[str, tuple[VirtualCard, CardRecord]] = {}

    def issue(self, resident_code: str, pin: str, now: dt.datetime) -> str:
        """Register, write, hand over and activate a card with ``pin``; its serial."""
        serial = f"{self.code}-{next(self.serials):06d}"
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
        if not _mutual_auth(card, self.master, KEY_COUNTER, self.rng, now):
            return {"sw": "6982", "confirmed": False, "cardState": record.state.value}
        sw = card.process(apdu(0x20, 0x81, pin.encode("ascii")), now)
        if sw != b"\x69\x83":
            try:
                record.pin_result(sw == SW_OK, now)
            except ProtocolError:
                pass                     # the record is not active: the counter refuses
        return {"sw": sw.hex().upper(),
                "confirmed": sw == SW_OK and record.state is CardState.ACTIVE,
                "cardState": record.state.value}

    def unlock(self, serial: object, by: Actor, now: dt.datetime) -> dict[str, Any]:
        """RESET RETRY COUNTER: with the administration key (the municipality) or with
        the counter key (anyone else, which the chip refuses)."""
        card, record = self.get(serial)
        if by is Actor.MUNICIPALITY:
            sw = SW_OK if unblock(card, self.master, now, rng=self.rng) else b"\x69\x82"
        elif _mutual_auth(card, self.master, KEY_COUNTER, self.rng, now):
            sw = card.process(apdu(0x2C, 0x81), now)
        else:
            sw = b"\x69\x82"
        if sw == SW_OK and record.state is CardState.LOCKED:
            record.unlock(by, now)
        return {"sw": sw.hex().upper(), "cardState": record.state.value}


#: The card desk of each municipality node (made on first use).
CARD_DESKS: weakref.WeakKeyDictionary[Node, CardDesk] = weakref.WeakKeyDictionary()


def _desk(node: Node) -> CardDesk:
    role = _municipality(node)
    desk = CARD_DESKS.get(node)
    if desk is None:
        desk = CARD_DESKS[node] = CardDesk(role.code)
    return desk


def _pin(req: dict[str, Any]) -> str:
    pin = req.get("pin")
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit():
        raise JukiError("pin must be a string of digits", code=ErrorCode.INVALID_JSON)
    return pin


async def op_card_issue(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Issue an activated resident card with PIN ``pin`` to a registered resident."""
    desk = _desk(node)
    code = req.get("residentCode")
    if not isinstance(code, str) or code not in _municipality(node).register.records:
        raise JukiError("no such resident in the register", code=ErrorCode.NO_SUCH_RESIDENT)
    return {"serial": desk.issue(code, _pin(req), node.now())}


async def op_card_verify(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Present card ``serial`` at the counter with ``pin``."""
    return _desk(node).verify(req.get("serial"), _pin(req), node.now())


async def op_card_unlock(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Reset the PIN retry counter of card ``serial``, ``by`` the municipality (default)
    or the holder."""
    try:
        by = Actor(req.get("by", "municipality"))
    except ValueError:
        raise JukiError("by must be municipality or holder",
                        code=ErrorCode.INVALID_JSON) from None
    return _desk(node).unlock(req.get("serial"), by, node.now())


async def op_fire_timers(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    """Fire every machine timer that is due now."""
    await node.fire_due_timers()
    return {}


OPS: dict[str, Handler] = {
    "hello": op_hello, "status": op_status, "register_resident": op_register_resident,
    "record_change": op_record_change, "fire_timers": op_fire_timers,
    "card_issue": op_card_issue, "card_verify": op_card_verify,
    "card_unlock": op_card_unlock,
}


async def handle_line(node: Node, line: bytes) -> dict[str, Any]:
    """The answer to one request line (never raises)."""
    try:
        req = json.loads(line)
    except (ValueError, RecursionError):     # also bad UTF-8, deep nesting
        return _error(ErrorCode.INVALID_JSON, "the request is not JSON")
    if not isinstance(req, dict):
        return _error(ErrorCode.INVALID_JSON, "the request is not a JSON object")
    rid = req.get("id")
    op = req.get("op")
    handler = OPS.get(op) if isinstance(op, str) else None
    if handler is None:
        return {"id": rid, **_error(ErrorCode.INVALID_JSON, f"unknown op {op!r}")}
    try:
        return {"id": rid, "ok": True, **await handler(node, req)}
    except JukiError as exc:
        code = exc.error_code if isinstance(exc.error_code, ErrorCode) \
            else ErrorCode.INTERNAL_ERROR
        return {"id": rid, **_error(code, str(exc))}
    except Exception as exc:  # the interface keeps serving; the log has the trace
        logger.exception("%s: upper tester op %s failed", node.node, req.get("op"))
        return {"id": rid, **_error(ErrorCode.INTERNAL_ERROR, type(exc).__name__)}


class UpperTester:
    """The upper tester of ``node``, listening on ``host:port`` (port 0: any)."""

    def __init__(self, node: Node, host: str = "127.0.0.1", port: int = 0) -> None:
        self.node = node
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the port."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port,
                                                  ssl=self.node.server_ctx, limit=MAX_LINE)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _on_client(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        try:
            # The handshake already required a certificate of the network CA; check it
            # against the network profile as for a peer node.
            who = pki.validate_certificate(peer_certificate(writer), self.node.trust,
                                           self.node.now(), pki.KeyPurpose.SIGNING)
        except (JukiError, ValueError) as exc:
            logger.warning("%s: upper tester refused a client: %s", self.node.node, exc)
            writer.close()
            return
        logger.info("%s: upper tester client %s", self.node.node, who)
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    break
                except asyncio.LimitOverrunError:
                    writer.write((json.dumps(_error(ErrorCode.INVALID_JSON,
                                                    "request line too long")) + "\n")
                                 .encode())
                    break
                if not line.strip():
                    continue
                answer = await handle_line(self.node, line)
                writer.write((json.dumps(answer, ensure_ascii=False) + "\n").encode("utf-8"))
                await writer.drain()
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            logger.info("%s: upper tester connection ended: %s", self.node.node, exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)


__all__ = ["CARD_DESKS", "OPS", "CardDesk", "UpperTester", "handle_line"]
