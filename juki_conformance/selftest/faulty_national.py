"""A reference national centre (DC01) with one deliberate fault, chosen by ``--fault NAME``.

Each fault mimics a real mistake of a designated centre's node: in numbering the relays
of Art. 30-11 (R-30-11-0-02), in data minimisation (R-30-11-0-03), in the routing table
(R-PDU-20), over a restart (R-NODE-03) and in provision under Art. 30-10
(spec/provision.md). ``tests/test_conformance_national.py`` runs the national cases
against every fault and checks that they fail exactly on the cases named in
:data:`EXPECTED`. The remaining arguments are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_national --fault accepts-gaps --role national ...

A fault is a change to the reference classes made in the faulty node's own process
(before the node builds its machines, and again in the process a restart starts), so
that the machines the node rebuilds from its database carry it too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable
from typing import Any, cast

from juki_protocol.endpoint.endpoint import Endpoint
from juki_protocol.envelope import pki
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.common import Effect, Inbound, Send
from juki_protocol.machines.identity import NationalReceiver, ReceiverInput
from juki_protocol.machines.provision import Provider
from juki_protocol.machines.schedule import Purpose, Schedule
from juki_protocol.messages.common import NodeRole
from juki_protocol.messages.identity import IdentityInfoRelay, IdentityInfoUpdate
from juki_protocol.messages.pdu import MessageType
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvidedIdentity,
    ProvisionRequest,
)
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import CentralRole
from juki_protocol.node.storage import NodeStorage
from juki_protocol.tools import cli_node

_RI = ReceiverInput
#: The reference methods, kept before a fault replaces them.
CLASSIFY = NationalReceiver.classify
RECEIVE = NationalReceiver.receive
AUTHORISE = Provider.authorise
LOOKUP = Provider.lookup
APPLY_IDENTITY = NodeStorage.apply_identity
RELOAD = CentralRole.reload
REQUEST_CHECKS = ProvisionRequest.__post_init__
SCHEDULE_AUTHORISE = Schedule.authorise
CHECK_HEADER = Endpoint.check_header


def _reclassify(change: Callable[[NationalReceiver, Inbound, ReceiverInput],
                                 ReceiverInput]) -> None:
    """Make the centre's receiver classify a relay as ``change`` says, given the
    reference's classification."""
    def classify(self: NationalReceiver, inbound: Inbound) -> ReceiverInput:
        return change(self, inbound, CLASSIFY(self, inbound))
    setattr(NationalReceiver, "classify", classify)  # noqa: B010 (this process only)


class _Faulty(Node):
    """A reference node whose classes :meth:`patch` changes first."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        self.patch()
        super().__init__(config, **kw)

    def patch(self) -> None:
        raise NotImplementedError


# Art. 30-11: numbering ---------------------------------------------------------------------

class AcceptsGaps(_Faulty):
    """Applies any relay numbered above the last one, taking a gap for relays lost on
    the way that will never come (R-30-11-0-02)."""

    def patch(self) -> None:
        _reclassify(lambda r, i, got: _RI.NEXT if got is _RI.GAP else got)


class ReappliesResentRelay(_Faulty):
    """Knows a resend only by its message id: the same relay resealed under a new id is
    applied again as an upsert, adding a version (R-30-11-0-02)."""

    def patch(self) -> None:
        _reclassify(lambda r, i, got: _RI.NEXT if got is _RI.DUPLICATE else got)

        def upsert(storage: NodeStorage, source: str, sequence: int, message_id: bytes,
                   update: Any, now: dt.datetime) -> int:
            storage.conn.execute("DELETE FROM applied WHERE source = ? AND sequence = ?",
                                 (source, sequence))
            return APPLY_IDENTITY(storage, source, sequence, message_id, update, now)
        setattr(NodeStorage, "apply_identity", upsert)  # noqa: B010


class NumberOnlyDuplicate(_Faulty):
    """Compares only the number of a relay it already applied, not its content: a
    different relay under an old number is acknowledged duplicate (R-30-11-0-02)."""

    def patch(self) -> None:
        _reclassify(lambda r, i, got: _RI.DUPLICATE if got is _RI.CONFLICT else got)


class OneCounterForAll(_Faulty):
    """Checks each relay's number against the last relay applied from any prefecture,
    as if the centre numbered relays, not each prefecture (R-30-11-0-02)."""

    def patch(self) -> None:
        def change(r: NationalReceiver, inbound: Inbound, got: ReceiverInput
                   ) -> ReceiverInput:
            msg = inbound.message
            if got not in (_RI.NEXT, _RI.GAP, _RI.DUPLICATE, _RI.CONFLICT) \
                    or not isinstance(msg, IdentityInfoRelay):
                return got
            top, seq = max(r.last.values(), default=0), msg.relay_sequence
            if seq == top + 1:
                return _RI.NEXT
            if seq > top + 1:
                return _RI.GAP
            same = r.applied.get((msg.prefecture, seq)) == msg
            return _RI.DUPLICATE if same else _RI.CONFLICT
        _reclassify(change)


class TrustsRelayPrefecture(_Faulty):
    """Files a relay under the prefecture it names, without comparing it with the header
    sender (R-30-11-0-01)."""

    def patch(self) -> None:
        def key_seq(r: NationalReceiver, message: object, inbound: Inbound
                    ) -> tuple[str, int]:
            assert isinstance(message, IdentityInfoRelay)
            return message.prefecture, message.relay_sequence
        setattr(NationalReceiver, "_key_seq", key_seq)  # noqa: B010


class NumberingInMemory(_Faulty):
    """Writes each prefecture's last relay number to its database but keeps the copy it
    works with in memory only: after a restart it starts again from nothing
    (R-NODE-03)."""

    def patch(self) -> None:
        def reload(role: CentralRole) -> None:
            RELOAD(role)
            if isinstance(role.receiver, NationalReceiver):
                role.receiver.last, role.receiver.applied = {}, {}
        setattr(CentralRole, "reload", reload)  # noqa: B010


# R-30-11-0-03 and R-PDU-20 ------------------------------------------------------------------

class SkipsUnknownExtensions(_Faulty):
    """Skips unknown extension additions in a relay, as receivers elsewhere do
    (R-DER-08), and applies the rest (R-30-11-0-03)."""

    def patch(self) -> None:
        def classify(self: NationalReceiver, inbound: Inbound) -> ReceiverInput:
            return CLASSIFY(self, dataclasses.replace(inbound, unknown_elements=False))
        setattr(NationalReceiver, "classify", classify)  # noqa: B010


class TakesUpdatesDirectly(_Faulty):
    """Takes a municipality's identity info update as if its prefecture had relayed it,
    to shorten the path (R-PDU-20): the routing table lets updates reach the centre."""

    def patch(self) -> None:
        routes = cast(dict[Any, pki.Route], pki.ROUTES)
        route = routes[MessageType.IDENTITY_INFO_UPDATE]
        routes[MessageType.IDENTITY_INFO_UPDATE] = dataclasses.replace(
            route, recipients=route.recipients | {NodeRole.NATIONAL})

        def receive(r: NationalReceiver, inbound: Inbound, now: dt.datetime
                    ) -> list[Effect]:
            msg = inbound.message
            if not isinstance(msg, IdentityInfoUpdate):
                return RECEIVE(r, inbound, now)
            pref = prefecture_of(msg.municipality)
            relay = IdentityInfoRelay(prefecture=pref,
                                      relay_sequence=r.last.get(pref, 0) + 1, update=msg)
            effects = RECEIVE(r, dataclasses.replace(inbound, message=relay, sender=pref),
                              now)
            return [dataclasses.replace(e, recipient=inbound.sender)
                    if isinstance(e, Send) else e for e in effects]
        setattr(NationalReceiver, "receive", receive)  # noqa: B010


class RoutesByRecipientOnly(_Faulty):
    """Checks only that its own role may receive a message type, not that the sender's
    role may send it (R-PDU-20)."""

    def patch(self) -> None:
        routes = cast(dict[Any, pki.Route], pki.ROUTES)
        for mtype, route in list(routes.items()):
            routes[mtype] = dataclasses.replace(route, senders=frozenset(NodeRole))


# Art. 30-10: provision ----------------------------------------------------------------------

class ProvidesHistory(_Faulty):
    """Provides every version it keeps of each person asked for, the superseded ones
    first, not only the current one (R-30-7-3-09, R-30-7-3-11)."""

    def patch(self) -> None:
        def lookup(p: Provider, req: ProvisionRequest, now: dt.datetime
                   ) -> tuple[ProvidedIdentity, ...]:
            found = LOOKUP(p, req, now)
            codes = set(req.by_resident_code or ())
            old = tuple(ProvidedIdentity(identity_info=h.identity_info,
                                         change_info=h.change_info)
                        for h in p.store.history if h.identity_info.resident_code in codes)
            return old + found
        setattr(Provider, "lookup", lookup)  # noqa: B010


class ServesPrefOwnUse(_Faulty):
    """Keeps a prefecture's table of legal bases: serves a prefectural organ under
    prefOwnUse the purposes it serves its prefecture (R-30-8-2-01)."""

    def patch(self) -> None:
        def authorise(p: Provider, req: ProvisionRequest) -> None:
            if req.legal_basis is LegalBasis.PREF_OWN_USE \
                    and req.requester.kind is BodyKind.PREFECTURE_ORGAN \
                    and req.purpose_code in p.local_purposes.get(BodyKind.PREFECTURE, ()):
                return
            AUTHORISE(p, req)
        setattr(Provider, "authorise", authorise)  # noqa: B010


def _mismatch(exc: JukiError) -> bool:
    return exc.error_code == ErrorCode.LEGAL_BASIS_MISMATCH


class IgnoresProviderOfBasis(_Faulty):
    """Checks that a legal basis serves the body's kind, not that it is one of the
    centre's: an agency is served under prefToAgency (R-30-7-3-03)."""

    def patch(self) -> None:
        def authorise(p: Provider, req: ProvisionRequest) -> None:
            try:
                AUTHORISE(p, req)
            except JukiError as exc:
                if not (_mismatch(exc)
                        and req.requester.kind in req.legal_basis.body_kinds):
                    raise
        setattr(Provider, "authorise", authorise)  # noqa: B010


class CentreBasesOnly(_Faulty):
    """Checks only that a local body's legal basis is one of the centre's, not that it
    serves the body's kind, and decodes a request without that rule (R-30-7-3-03)."""

    def patch(self) -> None:
        def checks(req: ProvisionRequest) -> None:
            try:
                REQUEST_CHECKS(req)
            except JukiError as exc:
                if not _mismatch(exc):
                    raise

        def authorise(p: Provider, req: ProvisionRequest) -> None:
            try:
                AUTHORISE(p, req)
            except JukiError as exc:
                if not (_mismatch(exc) and req.requester.kind is not BodyKind.AGENCY
                        and req.legal_basis.by_center == p.national):
                    raise
        setattr(ProvisionRequest, "__post_init__", checks)  # noqa: B010
        setattr(Provider, "authorise", authorise)  # noqa: B010


class AnySchedulePurpose(_Faulty):
    """Checks that an agency's purpose is in schedule 1, not that it is a purpose of
    that agency (R-30-7-3-02)."""

    def patch(self) -> None:
        def authorise(s: Schedule, body_code: str, purpose_code: str,
                      legal_basis: LegalBasis | str) -> Purpose:
            try:
                return SCHEDULE_AUTHORISE(s, body_code, purpose_code, legal_basis)
            except JukiError as exc:
                listed = [q for q in s.purposes if q.code == purpose_code]
                if exc.error_code != ErrorCode.PURPOSE_NOT_ALLOWED or not listed:
                    raise
                return SCHEDULE_AUTHORISE(s, listed[0].body, purpose_code, legal_basis)
        setattr(Schedule, "authorise", authorise)  # noqa: B010


# Profiles -----------------------------------------------------------------------------------

class TakesAnyProfile(_Faulty):
    """Checks an opened message against the profile its header names only, never
    against its network's: a relay well formed in p2002 is stored in a current network,
    without the individual number the centre must hold (R-PDU-50)."""

    def patch(self) -> None:
        def check_header(endpoint: Endpoint, header: Any, peer: Any, now: dt.datetime,
                         sealed: bool) -> None:
            CHECK_HEADER(endpoint, dataclasses.replace(
                header, profile=endpoint.numbering.profile), peer, now, sealed)
        setattr(Endpoint, "check_header", check_header)  # noqa: B010


FAULTS: dict[str, type[Node]] = {
    "accepts-gaps": AcceptsGaps,
    "reapplies-resent-relay": ReappliesResentRelay,
    "number-only-duplicate": NumberOnlyDuplicate,
    "one-counter-for-all": OneCounterForAll,
    "trusts-relay-prefecture": TrustsRelayPrefecture,
    "numbering-in-memory": NumberingInMemory,
    "skips-unknown-extensions": SkipsUnknownExtensions,
    "takes-updates-directly": TakesUpdatesDirectly,
    "routes-by-recipient-only": RoutesByRecipientOnly,
    "provides-history": ProvidesHistory,
    "serves-pref-own-use": ServesPrefOwnUse,
    "ignores-provider-of-basis": IgnoresProviderOfBasis,
    "centre-bases-only": CentreBasesOnly,
    "any-schedule-purpose": AnySchedulePurpose,
    "takes-any-profile": TakesAnyProfile,
}

#: The national cases each fault must fail; every other national case must give the
#: reference's verdict (pass, or acceptable where the reference chose the other way).
EXPECTED: dict[str, list[str]] = {
    "accepts-gaps": ["30-11/node/relay/sequence-gap"],
    # The restart case resends the last relay resealed, as a prefecture may.
    "reapplies-resent-relay": ["30-11/node/relay/duplicate-acknowledged",
                               "30-11/node/restart/relay-numbering-continues"],
    "number-only-duplicate": ["30-11/node/relay/conflicting-number-refused"],
    "one-counter-for-all": ["30-11/node/relay/applied-per-prefecture"],
    "trusts-relay-prefecture": ["30-11/node/relay/prefecture-not-sender"],
    "numbering-in-memory": ["30-11/node/restart/relay-numbering-continues"],
    "skips-unknown-extensions": [
        "30-11/node/minimisation/unknown-extension-in-relay",
        "30-11/node/minimisation/unknown-extension-in-identity-info"],
    "takes-updates-directly": ["pdu/node/routing/update-to-centre"],
    # An update that passes the routing check is still refused 3003 by the centre's
    # machine, which takes relays only; a relay from a municipality is not.
    "routes-by-recipient-only": ["pdu/node/routing/relay-from-municipality-to-centre"],
    "provides-history": ["30-10/node/provision/agency-provided"],
    "serves-pref-own-use": ["30-10/node/provision/pref-own-use-refused"],
    # Without the provider's check, prefOwnUse reaches the purpose check (3011).
    "ignores-provider-of-basis": ["30-10/node/provision/prefecture-basis-refused",
                                  "30-10/node/provision/pref-own-use-refused"],
    "centre-bases-only": ["30-10/node/provision/body-of-wrong-kind-refused"],
    "any-schedule-purpose": ["30-10/node/provision/purpose-not-allowed"],
    "takes-any-profile": ["pdu/node/header/relay-of-another-network"],
}


def command(fault: str) -> list[str]:
    """The serve command of the national centre with ``fault`` (for ``NodeSut``)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_national", "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_national --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_national")


if __name__ == "__main__":
    main()
