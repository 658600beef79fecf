"""A reference municipality node (271004) with one deliberate fault in the flows between
municipalities, chosen by ``--fault NAME``.

Each fault mimics a real mistake of a municipality's counter or communication server
on one side of Arts. 12-2, 24-2 and 9(1) (spec/wide_area.md, spec/special_move.md).
``tests/test_conformance_flows.py`` runs the flow cases against every fault and checks
that they fail exactly on the cases named in :data:`EXPECTED`. The remaining arguments
are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_flows --fault splits-movers --role municipality ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import sys
from typing import Any

from juki_protocol.errors import ErrorCode, ProtocolError
from juki_protocol.machines import special_move, special_move_in
from juki_protocol.machines.card import IdentityCheck
from juki_protocol.machines.common import ArmTimer, Effect, Event, Inbound, Send
from juki_protocol.machines.move_in import IdentityChange, OrdinaryMoveIn
from juki_protocol.messages.common import ChangeInfo, ChangeReason
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, MessageType
from juki_protocol.messages.special_move import (
    MoveInNotice,
    MoveOutCertificate,
    SpecialMoveInNotice,
)
from juki_protocol.messages.wide_area import WideAreaIssuanceRequest, WideAreaIssuanceResponse
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import Owned
from juki_protocol.tools import cli_node


def _filter_receive(node: Node, kind: type,
                    keep: Any) -> None:
    """Wrap the role's ``receive``: for a message of ``kind``, keep only the owned
    effects for which ``keep(effect)`` is true (or replace them with what it returns)."""
    handler: Any = node.handler
    receive = handler.receive

    def filtered(inbound: Inbound, now: dt.datetime) -> list[Owned]:
        owned = receive(inbound, now)
        if not isinstance(inbound.message, kind):
            return list(owned)
        out: list[Owned] = []
        for owner, eff in owned:
            kept = keep(eff)
            if kept is True:
                out.append((owner, eff))
            elif kept is not False:
                out.append((owner, kept))
        return out

    handler.receive = filtered


class SendsAfterFailedCheck(Node):
    """Sends the wide-area request whatever the counter's identity check said: the check
    is only logged (R-12-2-1-01)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        apply = handler.apply_wide_area

        def trusting(check: IdentityCheck, request: WideAreaIssuanceRequest,
                     now: dt.datetime) -> Any:
            return apply(dataclasses.replace(check, confirmed=True, failure=None),
                         request, now)

        handler.apply_wide_area = trusting


class LeavesResponseUnacknowledged(Node):
    """Issues the copies of a wide-area response and never acknowledges it (R-PDU-22)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        _filter_receive(self, WideAreaIssuanceResponse, lambda eff: not (
            isinstance(eff, Send) and isinstance(eff.message, Acknowledgement)))


class _NoDeadline:
    """``check_deadline`` as a counter that forgot Art. 22(1) calls it."""

    @staticmethod
    def check(notice: SpecialMoveInNotice) -> None:
        return None


class SendsLateMoveIn(Node):
    """Accepts a move-in filed with the card whenever it is filed and sends the notice,
    leaving the 14 days to the former municipality (R-24-2-1-02, new side)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        setattr(special_move_in, "check_deadline", _NoDeadline.check)  # noqa: B010


class CertifiesLateNotice(Node):
    """Certifies a special move-in notice without checking its filing date against the
    move (R-24-2-1-02, former side)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        setattr(special_move, "check_deadline", _NoDeadline.check)  # noqa: B010


class SplitsMovers(Node):
    """Lists only the card holder in the special move-in notice; the household members
    are left to file their own move-ins (R-24-2-1-03)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        move_in = handler.special_move_in

        def holder_only(check: IdentityCheck, notice: SpecialMoveInNotice,
                        now: dt.datetime) -> Any:
            mine = tuple(m for m in notice.movers if m.resident_code == check.resident_code)
            return move_in(check, dataclasses.replace(notice, movers=mine or notice.movers),
                           now)

        handler.special_move_in = holder_only


class NoMoveInNotice(Node):
    """Records the movers from the certificate and never sends the Art. 9(1) notice
    (R-9-1-01)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)

        def keep(eff: Effect) -> bool:
            if isinstance(eff, Send) and isinstance(eff.message, MoveInNotice):
                return False
            return not isinstance(eff, ArmTimer)     # nor its retry
        _filter_receive(self, MoveOutCertificate, keep)


class CertificateWithoutCorrelation(Node):
    """Sends the move-out certificate as a message of its own, without the notice's
    message id as correlationId (R-24-2-4-01)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)

        def uncorrelated(eff: Effect) -> Effect | bool:
            if isinstance(eff, Send) and isinstance(eff.message, MoveOutCertificate):
                return dataclasses.replace(eff, correlation_id=None)
            return True
        _filter_receive(self, SpecialMoveInNotice, uncorrelated)


class _Unreported:
    """An identity updater that reports nothing (it keeps the real one's retired codes,
    which the role stores after every message)."""

    def __init__(self, real: Any) -> None:
        self.retired = real.retired
        self.outbox: list[Any] = []

    def change(self, *args: Any) -> list[Effect]:
        return []


class NoEraseUpdate(Node):
    """Finalises the move-out on the MoveInNotice but reports none of the erasures to
    the prefecture (R-9-1-04)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        receive = handler.receive

        def unreported(inbound: Inbound, now: dt.datetime) -> list[Owned]:
            if not isinstance(inbound.message, MoveInNotice):
                return list(receive(inbound, now))
            real = handler.updater
            handler.updater = _Unreported(real)
            try:
                return list(receive(inbound, now))
            finally:
                handler.updater = real

        handler.receive = unreported


def _ordinary(inbound: Inbound) -> bool:
    """Whether ``inbound`` is an ordinary move's MoveInNotice (no correlationId)."""
    return isinstance(inbound.message, MoveInNotice) and inbound.correlation_id is None


class RefusesUncorrelatedNotice(Node):
    """Knows only the special move's MoveInNotice: one without a correlationId is
    refused with 4002 UNKNOWN_CORRELATION, as before the ordinary move was supported
    (R-MOVE-02)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        receive = handler.receive

        def special_only(inbound: Inbound, now: dt.datetime) -> list[Owned]:
            if _ordinary(inbound):
                raise ProtocolError("the move-in notice refers to no open flow",
                                    code=ErrorCode.UNKNOWN_CORRELATION)
            return list(receive(inbound, now))

        handler.receive = special_only


class ReportsErasedAgain(Node):
    """On an ordinary MoveInNotice reports an erasure (moveOut) for every resident,
    also for a record it already erased and reported when the move-out was filed
    (R-MOVE-02, R-9-1-04)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        receive = handler.receive

        def again(inbound: Inbound, now: dt.datetime) -> list[Owned]:
            if not _ordinary(inbound):
                return list(receive(inbound, now))
            desk, real = handler.desk, handler.desk.receive

            def every_resident(inb: Inbound, at: dt.datetime) -> list[Effect]:
                effects = real(inb, at)
                msg = inb.message
                assert isinstance(msg, MoveInNotice)
                out: list[Effect] = []
                for eff in effects:
                    if isinstance(eff, Event) and eff.name == "move_out_finalised":
                        assert isinstance(eff.data, tuple)
                        done = {c.identity_info.resident_code for c in eff.data}
                        extra = tuple(IdentityChange(
                            operation=UpdateOperation.ERASE,
                            identity_info=desk.register.records[
                                p.resident_code].identity_info(handler.profile),
                            change_info=ChangeInfo(change_reason=ChangeReason.MOVE_OUT,
                                                   change_date=msg.moved_date))
                            for p in msg.residents if p.resident_code not in done)
                        eff = dataclasses.replace(eff, data=(*eff.data, *extra))
                    out.append(eff)
                return out

            desk.receive = every_resident
            try:
                return list(receive(inbound, now))
            finally:
                desk.receive = real

        handler.receive = again


class DuplicateTakenAsNew(Node):
    """Keeps no record of the ordinary MoveInNotices it took: the same notice again is
    matched afresh (and refused, the move-out being final), and so is its message id
    with other content (R-MOVE-04, R-PDU-24)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        receive = handler.receive
        mark = self.storage.mark_processed

        def afresh(inbound: Inbound, now: dt.datetime) -> list[Owned]:
            if _ordinary(inbound):
                handler.desk.receipts = [r for r in handler.desk.receipts
                                         if r.notice_id != inbound.message_id]
            return list(receive(inbound, now))

        def forgetful(sender: str, mid: bytes, digest: bytes, mtype: str,
                      now: dt.datetime) -> None:
            if mtype != MessageType.MOVE_IN_NOTICE.value:
                mark(sender, mid, digest, mtype, now)

        handler.receive = afresh
        setattr(self.storage, "mark_processed", forgetful)  # noqa: B010


def _wrap_ordinary_move_in(node: Node, change: Any) -> None:
    """Wrap the role's ``ordinary_move_in``: ``change(notifier, owned)`` returns the
    owned effects to keep."""
    handler: Any = node.handler
    move_in = handler.ordinary_move_in

    def changed(request: OrdinaryMoveIn, now: dt.datetime) -> Any:
        notifier, owned = move_in(request, now)
        return notifier, change(notifier, owned)

    handler.ordinary_move_in = changed


class CorrelatesOrdinaryNotice(Node):
    """Sends the ordinary move's MoveInNotice with a correlationId of its own making,
    as if it were a special move's (R-MOVE-01)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)

        def correlated(notifier: Any, owned: list[Owned]) -> list[Owned]:
            out: list[Owned] = []
            for owner, eff in owned:
                if isinstance(eff, Send) and isinstance(eff.message, MoveInNotice):
                    eff = dataclasses.replace(eff, correlation_id=secrets.token_bytes(16))
                    notifier.notice = eff           # resent as sent
                out.append((owner, eff))
            return out
        _wrap_ordinary_move_in(self, correlated)


class NeverResendsOrdinaryNotice(Node):
    """Sends the ordinary move's MoveInNotice once and never again, answered or not
    (R-MOVE-05, R-PDU-23)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)

        def once(notifier: Any, owned: list[Owned]) -> list[Owned]:
            notifier.timers.clear()
            return [(o, e) for o, e in owned if not isinstance(e, ArmTimer)]
        _wrap_ordinary_move_in(self, once)


FAULTS: dict[str, type[Node]] = {
    "sends-after-failed-check": SendsAfterFailedCheck,
    "leaves-response-unacknowledged": LeavesResponseUnacknowledged,
    "sends-late-move-in": SendsLateMoveIn,
    "certifies-late-notice": CertifiesLateNotice,
    "splits-movers": SplitsMovers,
    "no-move-in-notice": NoMoveInNotice,
    "certificate-without-correlation": CertificateWithoutCorrelation,
    "no-erase-update": NoEraseUpdate,
    "refuses-uncorrelated-notice": RefusesUncorrelatedNotice,
    "reports-erased-again": ReportsErasedAgain,
    "duplicate-taken-as-new": DuplicateTakenAsNew,
    "correlates-ordinary-notice": CorrelatesOrdinaryNotice,
    "never-resends-ordinary-notice": NeverResendsOrdinaryNotice,
}

#: The flow cases each fault must fail; every other flow case must pass.
EXPECTED: dict[str, list[str]] = {
    "sends-after-failed-check": ["12-2/1/node/wide-area/issuing/no-request-unless-confirmed"],
    "leaves-response-unacknowledged": [
        "12-2/2/node/wide-area/issuing/request-sent-response-taken"],
    "sends-late-move-in": ["24-2/1/node/special-move/new/late-move-in-not-sent"],
    "certifies-late-notice": ["24-2/1/node/special-move/former/late-notice-refused"],
    "splits-movers": ["24-2/3/node/special-move/new/one-notice-with-household"],
    "no-move-in-notice": ["9/1/node/special-move/new/move-in-notice-after-recording"],
    # Only the first sending loses the correlationId; the resend the retry timer makes
    # keeps it, so it is not the same message as the first (R-PDU-23).
    "certificate-without-correlation": [
        "24-2/4/node/special-move/former/certificate-per-mover",
        "24-2/4/node/special-move/former/certificate-resent-until-acknowledged"],
    "no-erase-update": ["9/1/node/special-move/former/move-out-finalised-and-reported"],
    "refuses-uncorrelated-notice": [
        "9/1/node/ordinary-move/former/erased-records-matched",
        "9/1/node/ordinary-move/former/refusals-change-nothing",
        "9/1/node/ordinary-move/former/annotated-move-out-refused",
        "9/1/node/ordinary-move/former/duplicate-and-replay"],
    "reports-erased-again": ["9/1/node/ordinary-move/former/erased-records-matched",
                             "9/1/node/ordinary-move/former/refusals-change-nothing"],
    "duplicate-taken-as-new": ["9/1/node/ordinary-move/former/duplicate-and-replay"],
    "correlates-ordinary-notice": [
        "9/1/node/ordinary-move/new/notice-without-correlation"],
    "never-resends-ordinary-notice": [
        "9/1/node/ordinary-move/new/notice-resent-until-acknowledged"],
}


def command(fault: str) -> list[str]:
    """The serve command of the municipality with ``fault`` (for :class:`NodeSut`)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_flows", "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_flows --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_flows")


if __name__ == "__main__":
    main()
