"""A reference node with one deliberate fault, chosen by ``--fault NAME``.

Each fault mimics a real node mistake. ``tests/test_conformance_node.py`` runs the node
cases against every fault and checks that they fail exactly on the cases named in
:data:`EXPECTED`. The remaining arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_node --fault no-sender-check --role ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import Any

from juki_protocol.codec import der
from juki_protocol.endpoint import Answer, Endpoint, Step
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.card import ChipAction, VirtualCard
from juki_protocol.machines.common import Effect, Inbound, Send, random_ids
from juki_protocol.messages.common import NodeId
from juki_protocol.messages.pdu import ErrorReport, PduHeader
from juki_protocol.messages.provision import ProvisionRequest
from juki_protocol.messages.wide_area import WideAreaIssuanceResponse
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.transport import Connection
from juki_protocol.node.upper_tester import CARD_DESKS, CardDesk
from juki_protocol.tools import cli_node
from juki_protocol.tools.vectors.vector_cases import replace_at


class _NoSenderCheck(Endpoint):
    def check_header(self, header: PduHeader, peer: NodeId, now: dt.datetime,
                     sealed: bool) -> None:
        super().check_header(header, header.sender, now, sealed)


class NoSenderCheck(Node):
    """Believes the header sender: never compares it with the TLS peer (R-PDU-11)."""

    endpoint_class = _NoSenderCheck


class NoReplayCheck(Node):
    """Keeps no memory of processed message ids: a resent message id with other
    content is processed as a new message (R-PDU-24)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        conn = self.storage.conn

        def seen(sender: str, message_id: bytes) -> bytes | None:
            return None

        def mark_processed(sender: str, message_id: bytes, digest: bytes,
                           message_type: str, now: dt.datetime) -> None:
            # Without that memory an id comes again: keep the last digest only.
            conn.execute("INSERT INTO processed VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                         "(sender, message_id) DO UPDATE SET digest = excluded.digest",
                         (sender, message_id, digest, message_type, now.isoformat()))

        self.storage.seen = seen  # type: ignore[method-assign]
        self.storage.mark_processed = mark_processed  # type: ignore[method-assign]


class NoTimeWindow(Node):
    """Accepts any header time (R-PDU-16): its window is ten years."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        config.time_window = dt.timedelta(days=3650)
        super().__init__(config, **kw)


class ClosesOnGarbage(Node):
    """Ends the connection after a read with a frame it cannot decode (R-NODE-01)."""

    async def _take(self, conn: Connection, frames: list[bytes]) -> None:
        await super()._take(conn, frames)
        if any(not f.startswith(b"\x7e") for f in frames):  # not a JukiPdu (APPLICATION 30)
            await conn.close()


class _AnyBodySchedule:
    """Schedule 1 as a node that defaults to "allow" reads it: a body it does not list
    passes; a listed body's purposes and legal bases are still checked."""

    def __init__(self, schedule: Any) -> None:
        self.schedule = schedule

    def authorise(self, body_code: str, purpose_code: str, legal_basis: Any) -> Any:
        try:
            return self.schedule.authorise(body_code, purpose_code, legal_basis)
        except JukiError as exc:
            if exc.error_code != ErrorCode.UNKNOWN_BODY:
                raise
            return None

    def body(self, body_code: str) -> Any:
        try:
            return self.schedule.body(body_code)
        except JukiError as exc:
            if exc.error_code != ErrorCode.UNKNOWN_BODY:
                raise
            return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.schedule, name)


class ProvidesToAnyBody(Node):
    """Skips the schedule 1 check of the body: provides to an agency that schedule 1
    does not list (R-30-7-3-01)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        reload = handler.reload

        def permissive() -> None:
            reload()
            handler.provider.schedule = _AnyBodySchedule(handler.provider.schedule)

        handler.reload = permissive
        handler.provider.schedule = _AnyBodySchedule(handler.provider.schedule)


class StoresExtensions(Node):
    """Skips unknown extension additions in identity info updates as an ordinary
    receiver would, and stores the update instead of refusing it (R-30-5-0-08)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        receive = handler.receive

        def lenient(inbound: Inbound, now: dt.datetime) -> Any:
            return receive(dataclasses.replace(inbound, unknown_elements=False), now)

        handler.receive = lenient


class NoRevocationCheck(Node):
    """Ignores the revocation list it was started with (R-PDU-10)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        config.crl = None
        config.no_crl = True            # as if its operator had opted out
        super().__init__(config, **kw)


class _IgnoresVersion(Endpoint):
    def check_header(self, header: PduHeader, peer: NodeId, now: dt.datetime,
                     sealed: bool) -> None:
        super().check_header(dataclasses.replace(header, version=1), peer, now, sealed)


class IgnoresVersion(Node):
    """Reads a PDU of any version as version 1 (R-PDU-14)."""

    endpoint_class = _IgnoresVersion


class _TellsEnvelopeCause(Endpoint):
    def peer_report(self, exc: JukiError, refers_to: bytes) -> ErrorReport:
        return ErrorReport(error_code=int(exc.error_code), refers_to=refers_to,
                           detail=str(exc)[:200])


class TellsEnvelopeCause(Node):
    """Tells the peer which envelope check failed, with its code and message, instead
    of the opaque 2001 (R-PDU-32)."""

    endpoint_class = _TellsEnvelopeCause


class _AnswersAnswers(Endpoint):
    def apply_answer(self, tx: Any, item: Answer, taken: list[bytes]) -> list[Any]:
        owned = super().apply_answer(tx, item, taken)
        ref = item.refers_to
        if ref is not None and self.waiting.get(ref) is None:
            owned.append((None, Send(recipient=item.header.sender.code,
                                     message_id=random_ids(),
                                     message=ErrorReport(
                                         error_code=int(ErrorCode.UNKNOWN_CORRELATION),
                                         refers_to=item.header.message_id))))
        return owned


class AnswersAnswers(Node):
    """Answers an acknowledgement or error report that refers to nothing with an error
    report of its own (R-PDU-25)."""

    endpoint_class = _AnswersAnswers


class AnyRequester(Node):
    """Believes the requesting body a provision request names, whoever sent it
    (R-30-7-3-04)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        receive = handler.receive

        def believing(inbound: Inbound, now: dt.datetime) -> Any:
            msg = inbound.message
            if isinstance(msg, ProvisionRequest):
                inbound = dataclasses.replace(inbound, sender=msg.requester.code)
            return receive(inbound, now)

        handler.receive = believing


class StopsWhenOverloaded(Node):
    """Takes 9001, 9002 and 9003 for final refusals: the update sender stops instead of
    resending later (R-30-5-0-10)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        answered = handler.answered

        def final(owner: Any, inbound: Inbound, now: dt.datetime) -> Any:
            msg = inbound.message
            if isinstance(msg, ErrorReport) and msg.error_code in (9001, 9002, 9003):
                msg = dataclasses.replace(msg, error_code=int(ErrorCode.UNEXPECTED_MESSAGE))
                inbound = dataclasses.replace(inbound, message=msg)
            return answered(owner, inbound, now)

        handler.answered = final


class _Unbounded(Node):
    """A node with one limit of spec/node.md section 6 effectively removed."""

    field = ""
    value: float = 0

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        setattr(config, self.field, self.value)
        super().__init__(config, **kw)


class NoHandshakeTimeout(_Unbounded):
    """Waits an hour for a TLS handshake (R-NODE-14)."""

    field, value = "handshake_timeout", 3600.0


class NoFrameTimeout(_Unbounded):
    """Waits an hour for the rest of a frame (R-NODE-15)."""

    field, value = "frame_timeout", 3600.0


class NoConnectionLimit(_Unbounded):
    """Takes any number of connections from one peer (R-NODE-12)."""

    field, value = "max_peer_connections", 10**6


#: 本籍・筆頭者 as a node that keeps the family register in its resident record might
#: append it: an element of the copy after the eight items ([29] IMPLICIT UTF8String).
FAMILY_REGISTER = "本籍 大阪府大阪市北区中之島一丁目3番 筆頭者 大阪太郎".encode()


def _with_family_register(copy: bytes) -> bytes:
    tlv = der.parse(copy)
    extra = b"\x9d" + _length(len(FAMILY_REGISTER)) + FAMILY_REGISTER
    content = copy[tlv.content_start:tlv.end] + extra
    return b"\x30" + _length(len(content)) + content


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


class _LeaksFamilyRegister(Endpoint):
    """Appends the family register to every copy of a wide-area issuance response it
    encodes."""

    def encode(self, message: object) -> bytes:
        data = super().encode(message)
        if isinstance(message, WideAreaIssuanceResponse) and message.copies:
            for i in range(len(message.copies)):
                data = replace_at(data, [2, 0, i], _with_family_register)
        return data


class ReturnsFamilyRegister(Node):
    """Sends the family register (本籍・筆頭者) with each copy of Art. 12-2(3), as an
    element after the eight items (R-12-2-3-03)."""

    endpoint_class = _LeaksFamilyRegister


class _NeverLockingCard(VirtualCard):
    """A chip whose retry counter never reaches zero: a wrong PIN leaves at least one
    try."""

    def _act(self, action: ChipAction, now: dt.datetime, payload: object) -> list[Effect]:
        if action is ChipAction.PIN_WRONG and self.tries_left <= 1:
            self.tries_left = 2
        return super()._act(action, now, payload)


class NeverLocksCard(Node):
    """Issues resident cards that never lock after wrong PINs (R-CARD-01)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        CARD_DESKS[self] = CardDesk(config.code, card_class=_NeverLockingCard)


class _RemembersShed(Endpoint):
    def shed(self, peer: NodeId, shed: list[tuple[bytes, str]],
             now: dt.datetime) -> list[Step]:
        steps = super().shed(peer, shed, now)
        with self.store.transaction():
            for mid, mtype in shed:
                self.store.mark_processed(str(peer), mid, b"shed", mtype, now)
        return steps


class RemembersShed(Node):
    """Marks a PDU it shed for load as processed (R-NODE-13): its retry with the same
    message id is then taken for a replay instead of being processed."""

    endpoint_class = _RemembersShed


FAULTS: dict[str, type[Node]] = {
    "no-sender-check": NoSenderCheck, "no-replay-check": NoReplayCheck,
    "no-time-window": NoTimeWindow, "closes-on-garbage": ClosesOnGarbage,
    "provides-to-any-body": ProvidesToAnyBody, "stores-extensions": StoresExtensions,
    "no-revocation-check": NoRevocationCheck,
    "returns-family-register": ReturnsFamilyRegister, "never-locks-card": NeverLocksCard,
    "no-handshake-timeout": NoHandshakeTimeout, "no-frame-timeout": NoFrameTimeout,
    "no-connection-limit": NoConnectionLimit, "ignores-version": IgnoresVersion,
    "tells-envelope-cause": TellsEnvelopeCause, "answers-answers": AnswersAnswers,
    "any-requester": AnyRequester, "stops-when-overloaded": StopsWhenOverloaded,
    "remembers-shed": RemembersShed,
}

#: The role each fault's node is run as (default: prefecture).
FAULT_ROLES: dict[str, str] = {"returns-family-register": "municipality",
                               "never-locks-card": "municipality",
                               "stops-when-overloaded": "municipality"}

#: The node cases each fault must fail (globs); every other case must pass.
EXPECTED: dict[str, list[str]] = {
    "no-sender-check": ["pdu/node/header/sender-not-tls-peer"],
    "no-replay-check": ["pdu/node/replay/same-id-other-content"],
    "no-time-window": ["pdu/node/header/stale-time"],
    "closes-on-garbage": ["pdu/node/frame/garbage-der-keeps-serving",
                          "node/node/limits/refusals-close"],
    "provides-to-any-body": ["30-7/node/provision/unlisted-body-refused"],
    "stores-extensions": ["30-5/node/minimisation/unknown-extension-refused"],
    "no-revocation-check": ["pdu/node/tls/revoked-certificate-refused"],
    "returns-family-register": ["12-2/node/wide-area/copy-without-family-register"],
    "never-locks-card": ["card/node/pin/three-wrong-pins-lock",
                         "card/node/pin/unlock-only-by-municipality"],
    "no-handshake-timeout": ["node/node/limits/handshake-timeout"],
    "no-frame-timeout": ["node/node/limits/stalled-frame",
                         "node/node/limits/frame-in-pieces"],
    "no-connection-limit": ["node/node/limits/connections-per-peer"],
    "ignores-version": ["pdu/node/header/unsupported-version"],
    "tells-envelope-cause": ["pdu/node/envelope/failure-is-opaque"],
    "answers-answers": ["pdu/node/answers/never-answered"],
    "any-requester": ["30-7/node/provision/requester-not-sender"],
    "stops-when-overloaded": ["30-5/node/update/resent-after-overloaded"],
    "remembers-shed": ["node/node/limits/shed-not-processed"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for :class:`NodeSut`)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_node", "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_node --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_node")


if __name__ == "__main__":
    main()
