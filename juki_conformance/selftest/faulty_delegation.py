"""Reference nodes with one deliberate fault in the centre's provision on a prefecture's
delegation (Art. 30-10(1), spec/provision.md section 6), chosen by ``--fault NAME``.

Each fault mimics a real mistake: a centre that serves a delegation for any prefecture,
or every person it holds, or without the delegating prefecture's rules, or decodes a
delegated request without the prefecture named; a prefecture that serves a delegated
basis as its own; an agency that drops the delegation or sends it to a prefecture.
``tests/test_conformance_delegation.py`` runs the delegation cases against every fault
and checks that they fail exactly on the cases named in :data:`EXPECTED`. The remaining
arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_delegation --fault any-delegating-prefecture ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import Any

from juki_protocol.errors import JukiError
from juki_protocol.machines.common import Effect, Send
from juki_protocol.machines.provision import Provider, ProvisionClient
from juki_protocol.messages.provision import LegalBasis, ProvidedIdentity, ProvisionRequest
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import AgencyRole
from juki_protocol.tools import cli_node

#: The reference methods, kept before a fault replaces them.
AUTHORISE = Provider.authorise
LOOKUP = Provider.lookup
REQUEST_CHECKS = ProvisionRequest.__post_init__
SUBMIT = ProvisionClient.submit


class _Faulty(Node):
    """A reference node whose classes :meth:`patch` changes first."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        self.patch()
        super().__init__(config, **kw)

    def patch(self) -> None:
        raise NotImplementedError


def _own_basis(req: ProvisionRequest) -> ProvisionRequest:
    """``req`` as if asked under the basis its delegated one performs, no prefecture."""
    assert req.legal_basis.performs is not None
    return dataclasses.replace(req, legal_basis=req.legal_basis.performs,
                               delegating_prefecture=None)


class ServesEveryone(_Faulty):
    """On a delegation, provides every person it holds, not only the delegating
    prefecture's residents (R-30-10-1-05)."""

    def patch(self) -> None:
        def lookup(p: Provider, req: ProvisionRequest, now: dt.datetime
                   ) -> tuple[ProvidedIdentity, ...]:
            return LOOKUP(p, _own_basis(req) if req.delegating_prefecture else req, now)
        setattr(Provider, "lookup", lookup)  # noqa: B010


class AnyDelegatingPrefecture(_Faulty):
    """Serves a delegation for whatever prefecture the request names (R-30-10-1-03)."""

    def patch(self) -> None:
        def authorise(p: Provider, req: ProvisionRequest) -> None:
            if req.delegating_prefecture is not None:
                p.delegations = p.delegations | {req.delegating_prefecture}
            AUTHORISE(p, req)
        setattr(Provider, "authorise", authorise)  # noqa: B010


class DelegationAsCentre(_Faulty):
    """Serves a delegated basis as the centre's own one of the same body kind, without
    the delegating prefecture's own or other municipality (R-30-10-1-04)."""

    def patch(self) -> None:
        def authorise(p: Provider, req: ProvisionRequest) -> None:
            if req.legal_basis.performs is None or req.delegating_prefecture not in \
                    p.delegations:
                return AUTHORISE(p, req)
            own = {LegalBasis.DELEGATED_TO_AGENCY: LegalBasis.CENTER_TO_AGENCY,
                   LegalBasis.DELEGATED_TO_OWN_MUNICIPALITY:
                       LegalBasis.CENTER_TO_MUNICIPALITY,
                   LegalBasis.DELEGATED_TO_OTHER_MUNICIPALITY:
                       LegalBasis.CENTER_TO_OTHER_MUNICIPALITY,
                   LegalBasis.DELEGATED_TO_OTHER_PREFECTURE:
                       LegalBasis.CENTER_TO_PREFECTURE}[req.legal_basis]
            return AUTHORISE(p, dataclasses.replace(req, legal_basis=own,
                                                    delegating_prefecture=None))
        setattr(Provider, "authorise", authorise)  # noqa: B010


class DelegatingPrefectureOptional(_Faulty):
    """Decodes a delegated request that names no prefecture, and then refuses it as a
    delegation it does not know, instead of rejecting it while decoding
    (R-30-10-1-01)."""

    def patch(self) -> None:
        def checks(req: ProvisionRequest) -> None:
            try:
                REQUEST_CHECKS(req)
            except JukiError as exc:
                if getattr(exc, "field", None) != "delegating_prefecture":
                    raise
        setattr(ProvisionRequest, "__post_init__", checks)  # noqa: B010


class PrefectureServesDelegation(_Faulty):
    """A prefecture that serves a delegated basis as its own basis of Art. 30-7
    (R-30-10-1-02)."""

    def patch(self) -> None:
        def authorise(p: Provider, req: ProvisionRequest) -> None:
            return AUTHORISE(p, _own_basis(req) if req.legal_basis.performs is not None
                             and not p.national else req)
        setattr(Provider, "authorise", authorise)  # noqa: B010


class AgencyDropsDelegation(_Faulty):
    """An agency that sends a delegated request as the centre's own, dropping the
    delegating prefecture (R-30-10-1-01)."""

    def patch(self) -> None:
        def submit(c: ProvisionClient, request: ProvisionRequest, now: dt.datetime
                   ) -> list[Effect]:
            if request.legal_basis is LegalBasis.DELEGATED_TO_AGENCY:
                request = dataclasses.replace(request, legal_basis=LegalBasis.CENTER_TO_AGENCY,
                                              delegating_prefecture=None)
            return SUBMIT(c, request, now)
        setattr(ProvisionClient, "submit", submit)  # noqa: B010


class AgencyAsksPrefecture(_Faulty):
    """An agency that sends a delegated basis to a prefecture as well (R-30-10-1-07): it
    names the centre as the provider only for its local check."""

    def patch(self) -> None:
        request = AgencyRole.request

        def lenient(role: AgencyRole, body: Any, provider: str, req: ProvisionRequest,
                    now: dt.datetime) -> Any:
            if req.legal_basis.performs is None or provider.startswith("DC"):
                return request(role, body, provider, req, now)
            client, owned = request(role, body, "DC01", req, now)
            client.provider = provider
            owned = [(o, dataclasses.replace(e, recipient=provider)
                      if isinstance(e, Send) and e.recipient == "DC01" else e)
                     for o, e in owned]
            return client, owned
        setattr(AgencyRole, "request", lenient)  # noqa: B010


FAULTS: dict[str, type[Node]] = {
    "serves-everyone": ServesEveryone,
    "any-delegating-prefecture": AnyDelegatingPrefecture,
    "delegation-as-centre": DelegationAsCentre,
    "delegating-prefecture-optional": DelegatingPrefectureOptional,
    "prefecture-serves-delegation": PrefectureServesDelegation,
    "agency-drops-delegation": AgencyDropsDelegation,
    "agency-asks-prefecture": AgencyAsksPrefecture,
}

#: The role each fault's node is run as (default: national).
FAULT_ROLES: dict[str, str] = {"prefecture-serves-delegation": "prefecture",
                               "agency-drops-delegation": "agency",
                               "agency-asks-prefecture": "agency"}

_CASE = "30-10/node/delegation/"
#: The delegation cases of its role each fault must fail; the others must pass.
EXPECTED: dict[str, list[str]] = {
    "serves-everyone": [_CASE + "delegating-prefecture-residents-only"],
    "any-delegating-prefecture": [_CASE + "undelegated-prefecture-refused"],
    "delegation-as-centre": [_CASE + "municipality-of-the-delegating-prefecture"],
    "delegating-prefecture-optional": [_CASE + "delegating-prefecture-missing"],
    "prefecture-serves-delegation": [_CASE + "prefecture-refuses-delegated-basis"],
    "agency-drops-delegation": [_CASE + "agency-names-delegating-prefecture"],
    "agency-asks-prefecture": [_CASE + "agency-keeps-delegated-basis-from-prefecture"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for ``NodeSut``)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_delegation", "--fault",
            fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_delegation --fault {{{','.join(FAULTS)}}} "
                 "SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_delegation")


if __name__ == "__main__":
    main()
