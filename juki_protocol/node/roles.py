"""The machines each role runs, how received messages reach them, and what is stored.

Theory of operation
-------------------
A role object holds the sans-I/O machines of one node and its :class:`NodeStorage`.
:meth:`RoleHandler.receive` takes an opened, decoded message (an
:class:`~juki_protocol.machines.common.Inbound`), feeds it to the machine it belongs to,
writes what changed to the database, and returns the effects, each with the machine
that owns it (its timers fire back into that machine; answers to its messages are
routed back to it). The node calls it inside one transaction and sends nothing until
that transaction is committed (R-PDU-22, R-30-5-0-07).

=============  ============================================================================
role           machines
=============  ============================================================================
municipality   IdentityUpdater (Art. 30-5, held while the feed is stopped:
               spec/suspension.md); IssuingCounter and ResidenceResponder
               (Art. 12-2); MoveOutDesk and SpecialMoveInCounter (Arts. 24-2, 9);
               MoveInNotifier, one per ordinary move-in (Art. 9(1));
               FamilyRegisterReceiver and FamilyRegisterNotifier, one per notice
               (Art. 9(2)); MunicipalityCodes (Art. 30-7(1)); CardNotifier
               (spec/card_register.md)
prefecture     PrefectureReceiver with its RelaySender (Arts. 30-5, 30-11); Provider
               (Arts. 30-7, 30-8), with the suspended bodies (spec/suspension.md);
               PrefectureDesignations (Art. 30-7(1)(2))
national       NationalReceiver (Art. 30-11); Provider (Art. 30-10, also on the
               prefectures' delegation), with the suspended bodies;
               CardRegisterDesk (spec/card_register.md)
agency         ProvisionClient, one per request (Arts. 30-7(3), 30-10(1)(iii))
=============  ============================================================================

On start the durable state is loaded back into the machines: the register, the
identity updater's numbering and unacknowledged updates, the receivers' last numbers
and applied updates, the relay sender's numbering and unacknowledged relays, the
identity store and the disclosure log. The flows of Arts. 12-2 and 24-2 between
municipalities are kept in memory only: after a restart they are not resumed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from juki_protocol.errors import BusinessError, ErrorCode, ProtocolError
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.card import IdentityCheck
from juki_protocol.machines.card_notices import CardNotifier
from juki_protocol.machines.card_register import CARD_MESSAGES, CardRegisterDesk
from juki_protocol.machines.common import (
    ArmTimer,
    CancelTimer,
    Effect,
    Event,
    Inbound,
    Send,
)
from juki_protocol.machines.designation import (
    DesignationCheckedStore,
    MunicipalityCodes,
    PrefectureDesignations,
)
from juki_protocol.machines.family_register import (
    APPLIED,
    FamilyRegisterNotifier,
    FamilyRegisterReceiver,
)
from juki_protocol.machines.identity import (
    IdentityUpdater,
    NationalReceiver,
    PrefectureReceiver,
    SenderState,
)
from juki_protocol.machines.move_in import MoveInNotifier, OrdinaryMoveIn
from juki_protocol.machines.provision import DisclosureLog, Provider, ProvisionClient
from juki_protocol.machines.schedule import load_schedule_1
from juki_protocol.machines.special_move import (
    AnnotatedMoveOut,
    MoveOutDesk,
    OrdinaryMoveOut,
    report_identity_changes,
)
from juki_protocol.machines.special_move_in import SpecialMoveInCounter
from juki_protocol.machines.stores import Register
from juki_protocol.machines.wide_area import IssuingCounter, ResidenceResponder
from juki_protocol.messages.card import CardStatusAnswer
from juki_protocol.messages.common import ChangeInfo, Profile
from juki_protocol.messages.designation import CodeDesignation, CodeDesignationRequest
from juki_protocol.messages.family_register import FamilyRegisterNotice
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import Acknowledgement, ErrorReport
from juki_protocol.messages.provision import (
    BodyKind,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)
from juki_protocol.messages.record import ResidentRecord
from juki_protocol.messages.special_move import (
    MoveInNotice,
    MoveOutCertificate,
    SpecialMoveInNotice,
)
from juki_protocol.messages.wide_area import WideAreaIssuanceRequest, WideAreaIssuanceResponse
from juki_protocol.node.card_store import SqlCardLedger, SqlCardOutbox
from juki_protocol.node.designation_store import SqlLedger, SqlPool
from juki_protocol.node.storage import NodeStorage
from juki_protocol.node.stored_identity import AppliedUpdates, StoredIdentities
from juki_protocol.node.suspension import Suspensions

#: An effect and the machine (or desk) that owns it.
Owned = tuple[Any, Effect]
DEFAULT_RETENTION = dt.timedelta(days=150 * 365)


def own(owner: object, effects: Iterable[Effect]) -> list[Owned]:
    """Attribute ``effects`` to ``owner``."""
    return [(owner, e) for e in effects]


def _unknown_correlation(what: str) -> ProtocolError:
    return ProtocolError(f"the {what} refers to no flow of this node",
                         code=ErrorCode.UNKNOWN_CORRELATION)


class RoleHandler:
    """Base of the four roles (see the module docstring)."""

    role = ""

    def __init__(self, code: str, storage: NodeStorage) -> None:
        self.code = code
        self.storage = storage

    def machines(self) -> list[Any]:
        """Every machine (or desk) whose timers the node drives."""
        raise NotImplementedError

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Owned]:
        """Feed a statutory message to its machine and store the result."""
        raise NotImplementedError

    def answered(self, owner: Any, inbound: Inbound, now: dt.datetime) -> list[Owned]:
        """Feed an acknowledgement or error report to ``owner``, which sent the message
        it answers, and store the result."""
        return own(owner, owner.receive(inbound, now))

    def pending(self, now: dt.datetime) -> list[Owned]:
        """Messages to resend after a start (unacknowledged numbered messages)."""
        return []

    def reload(self) -> None:
        """Rebuild the machines from the database (after a failed commit)."""

    def persist(self, now: dt.datetime) -> None:
        """Store what a timer changed (inside a transaction)."""


# Municipality ---------------------------------------------------------------------------

class MunicipalityRole(RoleHandler):
    """A municipality (市区町村): register, Art. 30-5 updates, Arts. 12-2, 24-2, 9(1)(2)."""

    role = "municipality"

    def __init__(self, code: str, storage: NodeStorage, *,
                 residents: Iterable[ResidentRecord] = (),
                 profile: Profile = Profile.CURRENT, window: int = 1,
                 national: str = "DC01") -> None:
        super().__init__(code, storage)
        self.profile = profile
        self.window = window
        seed = [r for r in residents if r.address.local_gov_code == code]
        if seed and not storage.load_register():
            with storage.transaction():
                storage.save_residents(seed)
        #: Whether the feed to the prefecture is stopped (spec/suspension.md).
        self.suspensions = Suspensions(storage.conn, storage.transaction, code)
        self.counters: dict[bytes, IssuingCounter] = {}
        self.responders: dict[bytes, ResidenceResponder] = {}
        self.move_ins: dict[bytes, SpecialMoveInCounter] = {}
        #: Ordinary move-ins at this (new) municipality, by their MoveInNotice's id.
        self.ordinary_move_ins: dict[bytes, MoveInNotifier] = {}
        #: Art. 9(2) notices: received (by message id) and sent (by message id).
        self.family_register_receipts: dict[bytes, FamilyRegisterReceiver] = {}
        self.family_register_notices: dict[bytes, FamilyRegisterNotifier] = {}
        #: The codes designated to it (Art. 30-7(1)); all its data in the database.
        self.codes = MunicipalityCodes(code, SqlPool(storage))
        #: Its notices and queries to the centre's card register (spec/card_register.md).
        self.cards = CardNotifier(code, national, SqlCardOutbox(storage))
        self.reload()

    def reload(self) -> None:
        self.register = Register(self.code, self.storage.load_register().values())
        self._saved = dict(self.register.records)
        # A reload (after a failed commit) keeps a stall; a start lifts it (R-30-5-0-12).
        stalled = getattr(getattr(self, "updater", None), "state", None) is SenderState.STALLED
        self.updater = IdentityUpdater(self.code, window=self.window)
        last, pending = self.storage.pending_updates()
        self.updater.restore(last, [(p.message_id, p.message) for p in pending],  # type: ignore[misc]
                             held=self.suspensions.feed_stop() is not None,   # R-SUSP-06
                             stalled=stalled)
        self.updater.retired = self.storage.retired()
        self._queued = {mid for mid, _ in self.updater.outbox}
        self.desk = MoveOutDesk(self.register, profile=self.profile)

    def machines(self) -> list[Any]:
        return [self.updater, self.desk, self.codes, self.cards, *self.counters.values(),
                *self.responders.values(), *self.move_ins.values(),
                *self.ordinary_move_ins.values(),
                *self.family_register_notices.values()]

    def pending(self, now: dt.datetime) -> list[Owned]:
        return own(self.updater, self.updater.resume(now)) + own(
            self.codes, self.codes.resume(now)) + own(self.cards, self.cards.resume(now))

    def persist(self, now: dt.datetime) -> None:
        self._persist(now)

    def _persist(self, now: dt.datetime) -> None:
        changed = [r for c, r in self.register.records.items() if self._saved.get(c) != r]
        if changed:
            self.storage.save_residents(changed)
            self._saved = dict(self.register.records)
        for mid, update in self.updater.outbox:
            if mid not in self._queued:
                self.storage.add_update(self.updater.peer, mid, update, now)
                self._queued.add(mid)
        self.storage.retire(self.updater.retired)

    def _identity_changes(self, owned: list[Owned], now: dt.datetime) -> list[Owned]:
        out = list(owned)
        for _, eff in owned:
            if isinstance(eff, Event) and eff.name in ("move_out_finalised",
                                                       "residents_recorded", APPLIED):
                out += own(self.updater, report_identity_changes(self.updater, eff.data, now))
            if isinstance(eff, Event) and eff.name == APPLIED:
                assert isinstance(eff.data, tuple)
                for change in eff.data:           # Art. 9(2): a death's erasure
                    if change.operation is UpdateOperation.ERASE:
                        self.storage.record_erasure(
                            change.identity_info.resident_code,
                            change.change_info.change_reason,
                            change.change_info.change_date, now)
        return out

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Owned]:
        msg = inbound.message
        owned: list[Owned]
        if isinstance(msg, WideAreaIssuanceRequest):
            responder = self.responders.get(inbound.message_id) or \
                ResidenceResponder(self.register)
            owned = own(responder, responder.receive(inbound, now))
            self.responders[inbound.message_id] = responder
        elif isinstance(msg, WideAreaIssuanceResponse):
            counter = self.counters.get(inbound.correlation_id or b"")
            if counter is None:
                raise _unknown_correlation("response")
            owned = own(counter, counter.receive(inbound, now))
        elif isinstance(msg, (SpecialMoveInNotice, MoveInNotice)):
            owned = own(self.desk, self.desk.receive(inbound, now))
        elif isinstance(msg, FamilyRegisterNotice):
            receipt = self.family_register_receipts.get(inbound.message_id) or \
                FamilyRegisterReceiver(self.register, retired=self.updater.retired,
                                       profile=self.profile)
            owned = own(receipt, receipt.receive(inbound, now))
            self.family_register_receipts[inbound.message_id] = receipt
        elif isinstance(msg, MoveOutCertificate):
            move_in = self.move_ins.get(inbound.correlation_id or b"")
            if move_in is None:
                raise _unknown_correlation("certificate")
            owned = own(move_in, move_in.receive(inbound, now))
        elif isinstance(msg, CodeDesignation):
            owned = own(self.codes, self.codes.receive(inbound, now))
        elif isinstance(msg, CardStatusAnswer):
            owned = own(self.cards, self.cards.receive(inbound, now))
        else:
            raise ProtocolError(f"{type(msg).__name__} is not for a municipality",
                                code=ErrorCode.ROLE_NOT_ALLOWED)
        owned = self._identity_changes(owned, now)
        self._persist(now)
        return owned

    def answered(self, owner: Any, inbound: Inbound, now: dt.datetime) -> list[Owned]:
        owned = self._identity_changes(own(owner, owner.receive(inbound, now)), now)
        msg = inbound.message
        if owner is self.updater and isinstance(msg, Acknowledgement):
            self.storage.settle(msg.acknowledged_id, "acked")
        self._persist(now)
        return owned

    # Local events (the upper tester of spec/node.md) ------------------------------

    def record(self, resident: ResidentRecord, change: ChangeInfo,
               now: dt.datetime) -> list[Owned]:
        """Record a resident (birth or move-in) and report it (Art. 30-5)."""
        self.register.add(resident)
        owned = own(self.updater, self.updater.change(
            UpdateOperation.RECORD, resident.identity_info(self.profile), change, now))
        self._persist(now)
        return owned

    def stop_feed(self, reason: str, operator: str, now: dt.datetime) -> list[Owned]:
        """Stop feeding the network (spec/suspension.md): the updates of Art. 30-5 are
        held, numbered and stored, and nothing is sent to the prefecture (R-SUSP-05)."""
        self.suspensions.stop_feed(self.updater.peer, reason, operator, now)
        if self.updater.state is SenderState.HELD:
            return []
        return own(self.updater, self.updater.hold(now))

    def resume_feed(self, operator: str, now: dt.datetime) -> list[Owned]:
        """Resume the feed: the held updates are sent, in order (R-SUSP-05)."""
        held = len(self.updater.outbox)
        self.suspensions.resume_feed(self.updater.peer, held, operator, now)
        if self.updater.state is not SenderState.HELD:
            return []
        return own(self.updater, self.updater.release(now))

    def apply_wide_area(self, check: IdentityCheck, request: WideAreaIssuanceRequest,
                        now: dt.datetime) -> tuple[IssuingCounter, list[Owned]]:
        """An application for a wide-area copy at this (issuing) municipality."""
        counter = IssuingCounter(self.code)
        owned = own(counter, counter.identify(check, now))
        owned += own(counter, counter.submit(request, now))
        assert counter.request_id is not None
        self.counters[counter.request_id] = counter
        return counter, owned

    def annotated_move_out(self, notice: AnnotatedMoveOut, now: dt.datetime) -> list[Owned]:
        """An annotated move-out notice received by post (Art. 24-2(1))."""
        return own(self.desk, self.desk.annotated_move_out(notice, now))

    def ordinary_move_out(self, move_out: OrdinaryMoveOut, now: dt.datetime
                          ) -> list[Owned]:
        """A move-out filed at the counter with a paper certificate (Art. 24): on file
        until a ``MoveInNotice`` finalises it (R-9-1-04)."""
        return own(self.desk, self.desk.record_move_out(move_out, now))

    def special_move_in(self, check: IdentityCheck, notice: SpecialMoveInNotice,
                        now: dt.datetime) -> tuple[SpecialMoveInCounter, list[Owned]]:
        """A move-in filed with the card at this (new) municipality (Art. 24-2(3))."""
        counter = SpecialMoveInCounter(self.code, register=self.register)
        owned = own(counter, counter.identify(check, now))
        owned += own(counter, counter.submit(notice, now))
        assert counter.notice_id is not None
        self.move_ins[counter.notice_id] = counter
        return counter, owned

    def ordinary_move_in(self, move_in: OrdinaryMoveIn, now: dt.datetime
                         ) -> tuple[MoveInNotifier, list[Owned]]:
        """A move-in filed with a paper move-out certificate at this (new)
        municipality: the residents recorded and reported (Art. 30-5, R-MOVE-05) and
        the ``MoveInNotice`` sent to the former municipality (Art. 9(1), R-MOVE-01)."""
        notifier = MoveInNotifier(self.register, profile=self.profile)
        owned = self._identity_changes(own(notifier, notifier.record(move_in, now)), now)
        assert notifier.notice is not None
        self.ordinary_move_ins[notifier.notice.message_id] = notifier
        self._persist(now)
        return notifier, owned

    def family_register_notice(self, notice: FamilyRegisterNotice, now: dt.datetime
                               ) -> tuple[FamilyRegisterNotifier, list[Owned]]:
        """An entry in a family register kept at this municipality for a person living
        in another: the ``FamilyRegisterNotice`` sent to the residence municipality
        (Art. 9(2), R-9-2-01)."""
        notifier = FamilyRegisterNotifier(self.code)
        owned = own(notifier, notifier.notify(notice, now))
        assert notifier.notice is not None
        self.family_register_notices[notifier.notice.message_id] = notifier
        return notifier, owned


# Prefecture and national ----------------------------------------------------------------

class CentralRole(RoleHandler):
    """A prefecture or the designated centre: identity info only, and provision."""

    def __init__(self, code: str, storage: NodeStorage, *, national: str = "DC01",
                 operators: Mapping[str, Iterable[str]] | None = None,
                 retention: dt.timedelta = DEFAULT_RETENTION, window: int = 1,
                 local_purposes: Mapping[str, Iterable[str]] | None = None,
                 delegations: Iterable[str] = ()) -> None:
        super().__init__(code, storage)
        #: The prefectures that delegated their provision to the centre (Art. 30-10(1))
        #: and the bodies whose provision is suspended (spec/suspension.md).
        self.delegations = frozenset(delegations)
        self.suspensions = Suspensions(storage.conn, storage.transaction, code)
        #: The purposes (事務, set by local ordinance) served to municipalities and
        #: prefectures, by body kind (Arts. 30-7(4) to (6), 30-8).
        self.local_purposes = {BodyKind(k): frozenset(v)
                               for k, v in (local_purposes or {}).items()}
        self.role = storage.role
        self.window = window
        self.national = national
        self.operators = {k: set(v) for k, v in (operators or {}).items()}
        self.retention = retention
        #: Art. 30-7(1)(2): a prefecture's designations (all their data in the database).
        self.designations = PrefectureDesignations(code, SqlLedger(storage)) \
            if self.role == "prefecture" else None
        #: spec/card_register.md: the centre's card register (its data in the database).
        self.card_register = CardRegisterDesk(code, SqlCardLedger(storage)) \
            if self.role == "national" else None
        self.reload()

    def reload(self) -> None:
        """Build the machines over the database: the identity info and the applied
        updates are queried, not loaded (juki_protocol.node.stored_identity); only the
        numbering per sender and the unacknowledged relays are read."""
        store: Any = StoredIdentities(self.storage, self.retention)
        if self.designations is not None:       # R-30-7-1-05
            store = DesignationCheckedStore(store, self.designations.ledger)
        self.receiver: PrefectureReceiver | NationalReceiver
        if self.role == "prefecture":
            # A reload keeps a stall of the relays; a start lifts it (R-30-5-0-12).
            relays = getattr(getattr(self, "receiver", None), "relays", None)
            stalled = getattr(relays, "state", None) is SenderState.STALLED
            self.receiver = PrefectureReceiver(self.code, store, national=self.national,
                                               window=self.window)
            last, pending = self.storage.pending_relays()
            self.receiver.relays.restore(last, [(p.message_id, IdentityInfoRelay(
                prefecture=self.code, relay_sequence=p.sequence,
                update=p.message)) for p in pending], stalled=stalled)  # type: ignore[arg-type]
        else:
            self.receiver = NationalReceiver(self.code, store)
        self.receiver.last = self.storage.last_sequences()
        self.receiver.applied = AppliedUpdates(  # type: ignore[assignment]
            self.storage, relays=self.role == "national")
        # The disclosure log is in the database (R-30-7-3-12); the provider's log holds
        # the records of the message being handled until they are stored.
        log = DisclosureLog(self.storage.secret("disclosure-log-key"))
        self.provider = Provider(self.code, store, operators=self.operators, log=log,
                                 local_purposes=self.local_purposes,
                                 suspended=self.suspensions, delegations=self.delegations)

    @property
    def store(self) -> Any:
        return self.receiver.store

    def purge(self, now: dt.datetime) -> int:
        """Erase identity info past its retention period, on disk and in memory
        (R-30-5-0-09); returns how many versions went from the database."""
        gone = self.storage.purge(now, self.retention)
        if gone:
            self.reload()
        return gone

    def machines(self) -> list[Any]:
        relays = [self.receiver.relays] if isinstance(self.receiver, PrefectureReceiver) \
            else []
        designations = [self.designations] if self.designations is not None else []
        cards = [self.card_register] if self.card_register is not None else []
        return [self.receiver, *relays, self.provider, *designations, *cards]

    def pending(self, now: dt.datetime) -> list[Owned]:
        if not isinstance(self.receiver, PrefectureReceiver):
            return []
        assert self.designations is not None
        return own(self.receiver.relays, self.receiver.relays.resume(now)) + own(
            self.designations, self.designations.resume(now))

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Owned]:
        msg = inbound.message
        owned: list[Owned]
        if isinstance(msg, CodeDesignationRequest) and self.designations is not None:
            return own(self.designations, self.designations.receive(inbound, now))
        if isinstance(msg, CARD_MESSAGES) and self.card_register is not None:
            return own(self.card_register, self.card_register.receive(inbound, now))
        if isinstance(msg, ProvisionRequest):
            owned = own(self.provider, self.provider.receive(inbound, now))
            # R-30-7-3-12: the disclosure log is stored before the response is sent.
            self.storage.log_disclosures(list(self.provider.log.take()))
            return owned
        effects = self.receiver.receive(inbound, now)
        owned = []
        relays = getattr(self.receiver, "relays", None)
        for eff in effects:
            to_relays = relays is not None and (
                isinstance(eff, (ArmTimer, CancelTimer))
                or (isinstance(eff, Send) and isinstance(eff.message, IdentityInfoRelay)))
            owned.append((relays if to_relays else self.receiver, eff))
        for eff in effects:
            if isinstance(eff, Event) and eff.name == "applied":
                assert isinstance(eff.data, tuple)
                source, seq = eff.data
                if isinstance(msg, IdentityInfoRelay):
                    update = msg.update
                else:
                    assert isinstance(msg, IdentityInfoUpdate)
                    update = msg
                row = self.storage.apply_identity(source, seq, inbound.message_id, update,
                                                  now)
                if relays is not None:
                    mid, relay = relays.outbox[-1]
                    self.storage.add_relay(relay.relay_sequence, mid, row)
        return owned

    def answered(self, owner: Any, inbound: Inbound, now: dt.datetime) -> list[Owned]:
        owned = own(owner, owner.receive(inbound, now))
        msg = inbound.message
        relays = getattr(self.receiver, "relays", None)
        if owner is relays and isinstance(msg, Acknowledgement):
            self.storage.settle(msg.acknowledged_id, "acked")
        return owned


# Agency ---------------------------------------------------------------------------------

class AgencyRole(RoleHandler):
    """An agency (国の機関等): one provision client per request."""

    role = "agency"

    def __init__(self, code: str, storage: NodeStorage) -> None:
        super().__init__(code, storage)
        self.clients: dict[bytes, ProvisionClient] = {}
        self.schedule = load_schedule_1()

    def machines(self) -> list[Any]:
        return list(self.clients.values())

    def request(self, body: RequestingBody, provider: str, request: ProvisionRequest,
                now: dt.datetime) -> tuple[ProvisionClient, list[Owned]]:
        """Send a provision request to ``provider`` (local event)."""
        if body.kind is BodyKind.AGENCY:
            # R-30-7-3-20: an agency asks only for the purposes schedule 1 lists for it,
            # under their legal bases; anything else is refused here and not sent.
            self.schedule.authorise(body.code, request.purpose_code, request.legal_basis)
        if request.legal_basis.performs is not None and not provider.startswith("DC"):
            # R-30-10-1-07: only the centre acts on a prefecture's delegation.
            raise BusinessError("a delegated legal basis is sent to the national centre "
                                "only", code=ErrorCode.LEGAL_BASIS_MISMATCH)
        client = ProvisionClient(body, provider)
        owned = own(client, client.submit(request, now))
        assert client.request_id is not None
        self.clients[client.request_id] = client
        return client, owned

    def receive(self, inbound: Inbound, now: dt.datetime) -> list[Owned]:
        msg = inbound.message
        if not isinstance(msg, ProvisionResponse):
            raise ProtocolError(f"{type(msg).__name__} is not for an agency",
                                code=ErrorCode.ROLE_NOT_ALLOWED)
        client = self.clients.get(inbound.correlation_id or b"")
        # R-30-7-3-21: only the provider asked answers a request.
        if client is None or client.provider != inbound.sender:
            raise _unknown_correlation("response")
        owned = own(client, client.receive(inbound, now))
        for _, eff in owned:
            if isinstance(eff, Event) and eff.name in ("provided", "refused"):
                persons = eff.data if isinstance(eff.data, int) else 0
                outcome = eff.name if eff.code is None else f"{eff.name}:{int(eff.code)}"
                assert client.request_id is not None
                self.storage.record_provision(client.request_id, client.provider,
                                              outcome, persons, now)
        return owned


def make_role(role: str, code: str, storage: NodeStorage, *,
              residents: Iterable[ResidentRecord] = (),
              operators: Mapping[str, Iterable[str]] | None = None,
              national: str = "DC01", profile: Profile = Profile.CURRENT,
              retention: dt.timedelta = DEFAULT_RETENTION, window: int = 1,
              local_purposes: Mapping[str, Iterable[str]] | None = None,
              delegations: Iterable[str] = ()) -> RoleHandler:
    """The handler of ``role`` for node ``code``; ``window``: how many numbered
    messages its sequenced sender (identity updater, relay sender) keeps on the wire;
    ``local_purposes``: a provider's purposes for other local bodies, by body kind;
    ``delegations``: the prefectures that delegated their provision to the centre."""
    if role == "municipality":
        prefecture_of(code)
        return MunicipalityRole(code, storage, residents=residents, profile=profile,
                                window=window, national=national)
    if role in ("prefecture", "national"):
        return CentralRole(code, storage, national=national, operators=operators,
                           retention=retention, window=window,
                           local_purposes=local_purposes, delegations=delegations)
    if role == "agency":
        return AgencyRole(code, storage)
    raise ValueError(f"unknown role {role!r}")


def is_answer(message: object) -> bool:
    """True for an acknowledgement or error report."""
    return isinstance(message, (Acknowledgement, ErrorReport))


__all__ = ["AgencyRole", "CentralRole", "MunicipalityRole", "Owned", "RoleHandler",
           "is_answer", "make_role", "own"]
