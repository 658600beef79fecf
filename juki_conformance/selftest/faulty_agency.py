"""A reference agency node (AG0001) with one deliberate fault, chosen by ``--fault NAME``.

Each fault mimics a real mistake of a provision client (spec/provision.md, Arts.
30-7(3), 30-10(1)(iii)). ``tests/test_conformance_agency.py`` runs the agency cases
against every fault and checks that they fail exactly on the cases named in
:data:`EXPECTED`. The remaining arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_agency --fault reuses-message-id --role agency ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import sys
from typing import Any

from juki_protocol.machines.common import Inbound, random_ids
from juki_protocol.machines.provision import ClientState, ProvisionClient
from juki_protocol.messages.pdu import ErrorReport
from juki_protocol.messages.provision import ProvisionRequest, RequestingBody
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import Owned, own
from juki_protocol.tools import cli_node

#: The body code a misconfigured agency names instead of its own (another schedule 1
#: body: the ministry that supervises it, say).
PARENT_BODY = "AG0004"


def _submit(handler: Any, client: ProvisionClient, request: ProvisionRequest,
            now: dt.datetime) -> tuple[ProvisionClient, list[Owned]]:
    """What ``AgencyRole.request`` does after its schedule check."""
    owned = own(client, client.submit(request, now))
    assert client.request_id is not None
    handler.clients[client.request_id] = client
    return client, owned


class AcceptsUnknownCorrelation(Node):
    """Takes a response whose correlationId matches no request for the answer to the
    latest open request (R-PDU-18, R-30-7-3-21)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        receive = handler.receive

        def lenient(inbound: Inbound, now: dt.datetime) -> Any:
            if (inbound.correlation_id or b"") not in handler.clients:
                open_ = [c for c in handler.clients.values()
                         if c.state in (ClientState.REQUESTED, ClientState.ACKNOWLEDGED)]
                if open_:
                    inbound = dataclasses.replace(inbound,
                                                  correlation_id=open_[-1].request_id)
            return receive(inbound, now)

        handler.receive = lenient


class AnyProviderAnswers(Node):
    """Takes a response correlated with an open request from whichever node sends it,
    not only from the provider asked (R-30-7-3-21)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        receive = handler.receive

        def believing(inbound: Inbound, now: dt.datetime) -> Any:
            client = handler.clients.get(inbound.correlation_id or b"")
            if client is None:
                return receive(inbound, now)
            asked, client.provider = client.provider, inbound.sender
            try:
                return receive(inbound, now)
            finally:
                client.provider = asked

        handler.receive = believing


class NamesOtherBody(Node):
    """Names its parent ministry's schedule 1 code as the requesting body, from a
    configuration shared by the ministry's systems (R-30-7-3-04)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler

        def request(body: RequestingBody, provider: str, req: ProvisionRequest,
                    now: dt.datetime) -> tuple[ProvisionClient, list[Owned]]:
            handler.schedule.authorise(body.code, req.purpose_code, req.legal_basis)
            other = dataclasses.replace(body, code=PARENT_BODY)
            return _submit(handler, ProvisionClient(other, provider),
                           dataclasses.replace(req, requester=other), now)

        handler.request = request


class ReusesMessageId(Node):
    """Derives a request's message id from the provider, purpose and operator (an
    "idempotency key"), so that two requests alike but for their query share one id
    (R-PDU-15)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler

        def request(body: RequestingBody, provider: str, req: ProvisionRequest,
                    now: dt.datetime) -> tuple[ProvisionClient, list[Owned]]:
            handler.schedule.authorise(body.code, req.purpose_code, req.legal_basis)
            key = hashlib.sha256(f"{provider}|{req.purpose_code}|{req.operator_id}"
                                 .encode()).digest()[:16]
            first = [key]

            def ids() -> bytes:
                return first.pop() if first else random_ids()
            return _submit(handler, ProvisionClient(body, provider, ids=ids), req, now)

        handler.request = request


class _AnyPurpose:
    """Schedule 1 as a client that leaves the check to the provider reads it."""

    def authorise(self, body_code: str, purpose_code: str, legal_basis: Any) -> None:
        return None


class AsksAnyPurpose(Node):
    """Sends a request for any purpose and leaves the schedule 1 check to the provider
    (R-30-7-3-20)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        handler.schedule = _AnyPurpose()


class NewIdAfterOverloaded(Node):
    """Answers a request's 9002 by asking again at once as a new request, under a new
    message id (R-30-7-3-23)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        handler: Any = self.handler
        answered = handler.answered

        def again(owner: Any, inbound: Inbound, now: dt.datetime) -> Any:
            owned = list(answered(owner, inbound, now))
            msg = inbound.message
            if isinstance(owner, ProvisionClient) and isinstance(msg, ErrorReport) \
                    and msg.error_code == 9002 and owner.request is not None:
                owned += handler.request(owner.body, owner.provider, owner.request, now)[1]
            return owned

        handler.answered = again


FAULTS: dict[str, type[Node]] = {
    "accepts-unknown-correlation": AcceptsUnknownCorrelation,
    "any-provider-answers": AnyProviderAnswers,
    "names-other-body": NamesOtherBody,
    "reuses-message-id": ReusesMessageId,
    "asks-any-purpose": AsksAnyPurpose,
    "new-id-after-overloaded": NewIdAfterOverloaded,
}

#: The agency cases each fault must fail; every other agency case must pass (or be
#: acceptable).
EXPECTED: dict[str, list[str]] = {
    "accepts-unknown-correlation": ["30-7/node/agency/unknown-correlation-refused"],
    "any-provider-answers": ["30-7/node/agency/response-from-other-node-refused"],
    "names-other-body": ["30-7/node/agency/request-well-formed"],
    "reuses-message-id": ["30-7/node/agency/request-well-formed"],
    "asks-any-purpose": ["30-7/node/agency/unlisted-purpose-not-sent"],
    "new-id-after-overloaded": ["30-7/node/agency/resent-or-failed-after-overloaded"],
}


def command(fault: str) -> list[str]:
    """The serve command of the agency with ``fault`` (for :class:`NodeSut`)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_agency", "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_agency --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_agency")


if __name__ == "__main__":
    main()
