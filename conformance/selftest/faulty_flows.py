"""A reference municipality node (271004) with one deliberate fault in the flows between
municipalities, chosen by ``--fault NAME``.

Each fault mimics a real mistake of a municipality's counter or communication server
on one side of Arts. 12-2, 24-2 and 9(1) (spec/wide_area.md, spec/special_move.md).
``tests/test_conformance_flows.py`` runs the flow cases against every fault and checks
that they fail exactly on the cases named in :data:`EXPECTED`. The remaining arguments
are those of ``juki node serve``:

    python -m conformance.selftest.faulty_flows --fault splits-movers --role municipality ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import Any

from juki_protocol.machines import special_move, special_move_in
from juki_protocol.machines.card import IdentityCheck
from juki_protocol.machines.common import ArmTimer, Effect, Inbound, Send
from juki_protocol.messages.pdu import Acknowledgement
from juki_protocol.messages.special_move import (
    MoveInNotice,
    MoveOutCertificate,
    SpecialMoveInNotice,
)
from juki_protocol.messages.wide_area import WideAreaIssuanceRequest, WideAreaIssuanceResponse
from juki_protocol.node import cli_node
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import Owned


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


FAULTS: dict[str, type[Node]] = {
    "sends-after-failed-check": SendsAfterFailedCheck,
    "leaves-response-unacknowledged": LeavesResponseUnacknowledged,
    "sends-late-move-in": SendsLateMoveIn,
    "certifies-late-notice": CertifiesLateNotice,
    "splits-movers": SplitsMovers,
    "no-move-in-notice": NoMoveInNotice,
    "certificate-without-correlation": CertificateWithoutCorrelation,
    "no-erase-update": NoEraseUpdate,
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
    "certificate-without-correlation": [
        "24-2/4/node/special-move/former/certificate-per-mover"],
    "no-erase-update": ["9/1/node/special-move/former/move-out-finalised-and-reported"],
}


def command(fault: str) -> list[str]:
    """The serve command of the municipality with ``fault`` (for :class:`NodeSut`)."""
    return [sys.executable, "-m", "conformance.selftest.faulty_flows", "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_flows --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_flows")


if __name__ == "__main__":
    main()
