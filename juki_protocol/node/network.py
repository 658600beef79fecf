"""A small network of reference nodes on loopback, in one process (``juki network up``).

It creates a network CA in a directory of its own (``ca/ca.pem``, ``ca/ca.key``: the CA
key is never in the directory the nodes read, spec/node.md R-NODE-71), and one
certificate per node beside the CA certificate and the revocation list the nodes use
(``pki/ca.pem``, ``pki/<ID>.pem``, ``pki/<ID>.key``, ``pki/crl.pem``); it starts every
node on ``127.0.0.1`` with its own database (``<ID>.db``, mode 0600, and the providers'
disclosure log keys ``pki/<ID>.disclosure-key``), and runs each flow of the seeds once
with synthetic residents:

1. identity info updates and their relay (Arts. 30-5, 30-11), from every municipality;
2. a wide-area issuance (Art. 12-2): Tokyo (131016) issues a copy of an Osaka (271004)
   household's record;
3. a special move (Arts. 24-2, 9) from Osaka (271004) to Tokyo (131016), with the
   identity updates it causes at both ends;
4. provision of identity info to the agency AG0001 by the prefecture 270008
   (Art. 30-7(3)) and by the designated centre DC01 (Art. 30-10(1)(iii));
5. an ordinary move (Art. 9(1)): a household of Minato (131041) moves to Toyonaka
   (272035) with a paper move-out certificate; Toyonaka records it and sends the move-in
   notice, and Minato finalises the move-out and reports the erasures;
6. a special move of a household of foreign residents (Arts. 24-2, 9, 30-45) from Osaka
   (271004) to Tokyo (131016): no family register, the items of Art. 30-45 instead;
7. a designation of resident codes (Art. 30-7(1)(2)): Toyonaka (272035) asks Osaka
   prefecture for codes and a newborn is recorded under one of them.

The databases stay in the directory for inspection (``juki audit verify``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from juki_protocol.envelope import pki
from juki_protocol.envelope.ca import build_crl, create_root_ca, issue_node_certificate
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import mask
from juki_protocol.machines.card import IdentityCheck
from juki_protocol.machines.move_in import OrdinaryMoveIn
from juki_protocol.machines.special_move import AnnotatedMoveOut, OrdinaryMoveOut
from juki_protocol.messages.common import Address, ChangeInfo, ChangeReason
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.messages.record import Household, ResidentRecord
from juki_protocol.messages.special_move import SpecialMoveInNotice
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
)
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.roles import AgencyRole, CentralRole, MunicipalityRole, own
from juki_protocol.node.sql import StorageError, connect, redact_url
from juki_protocol.node.sql_postgres import PostgresDatabase

#: The nodes of ``juki network up``: (role, node id).
NODES: tuple[tuple[str, str], ...] = (
    ("national", "DC01"), ("prefecture", "270008"), ("prefecture", "130001"),
    ("municipality", "271004"), ("municipality", "272035"),
    ("municipality", "131016"), ("municipality", "131041"), ("agency", "AG0001"),
)
OSAKA, TOKYO, OSAKA_PREF, AGENCY = "271004", "131016", "270008", "AG0001"
OPERATORS = {AGENCY: {"op-1"}}


def node_serial(i: int) -> int:
    """The serial number of the ``i``-th node certificate of :func:`create_pki`: 3 to 19
    octets long, every other one with the top bit of its first octet set (so that its
    DER INTEGER needs a leading zero octet, at most 20 octets as RFC 5280 section 4.1.2.2
    allows), unique for up to 65,536 nodes. Serials of real CAs look like this (random,
    up to 20 octets); small ones would let a node that encodes or reads serial numbers
    wrongly (a missing leading zero, a length that assumes one octet) pass."""
    if not 0 <= i < 1 << 16:
        raise ValueError(f"node index {i} out of range 0..65535")
    size = 3 + (i // 2) % 17
    first = (0x80 if i % 2 else 0x40) | (i % 64)
    return first << (8 * (size - 1)) | i


def create_pki(directory: Path, nodes: Iterable[tuple[str, str]], now: dt.datetime, *,
               days: int = 30, ca_dir: Path | None = None) -> Path:
    """A network CA, one certificate per node and an empty CRL, as ``juki pki`` lays
    them out; returns the directory (created mode 0700: it holds private keys).

    ``ca_dir``: where the CA's key goes, with a copy of its certificate (created mode
    0700), apart from the nodes' keys (R-NODE-71); None keeps it in ``directory`` as
    ``ca.key`` (test fixtures that go on issuing certificates from the same directory;
    never a directory a node reads in production)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(days=days)
    ca = create_root_ca(pki.generate_key(), common_name="Juki Network Root CA",
                        not_before=start, not_after=end, serial=1)
    (directory / "ca.pem").write_bytes(pki.cert_pem(ca.certificate))
    if ca_dir is not None:
        ca_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (ca_dir / "ca.pem").write_bytes(pki.cert_pem(ca.certificate))
    pki.write_private_file((ca_dir or directory) / "ca.key", pki.key_pem(ca.key))
    for i, (role, code) in enumerate(nodes):
        key = pki.generate_key()
        cert = issue_node_certificate(ca, key.public_key(), pki.node_id(role, code),
                                      not_before=start, not_after=end,
                                      serial=node_serial(i))
        (directory / f"{code}.pem").write_bytes(pki.cert_pem(cert))
        pki.write_private_file(directory / f"{code}.key", pki.key_pem(key))
    crl = build_crl(ca, [], this_update=start, next_update=end, number=1)
    (directory / "crl.pem").write_bytes(pki.crl_pem(crl))
    return directory




def node_config(db_dir: Path, pki_dir: Path, role: str, code: str, **extra: Any
                ) -> NodeConfig:
    """The configuration of node ``code``: its database in ``db_dir``, the certificates
    of ``pki_dir``; ``extra`` sets other :class:`NodeConfig` fields."""
    return NodeConfig(role=role, code=code, db=db_dir / f"{code}.db",
                      cert=pki_dir / f"{code}.pem", key=pki_dir / f"{code}.key",
                      trust=pki_dir / "ca.pem", crl=pki_dir / "crl.pem", **extra)


def _used_schemas(url: str) -> list[str]:
    """The schemas of :data:`NODES` in the database at ``url`` that have tables."""
    used = []
    for _, code in NODES:
        db = connect(url, f"n{code.lower()}")
        try:
            if db.tables():
                used.append(db.schema if isinstance(db, PostgresDatabase) else code)
        finally:
            db.close()
    return used


@dataclass
class Network:
    """Running nodes by id, sharing one directory of addresses."""

    nodes: dict[str, Node] = field(default_factory=dict)
    directory: dict[str, tuple[str, int]] = field(default_factory=dict)

    async def start(self, configs: Iterable[NodeConfig], *,
                    clock: Callable[[], dt.datetime] | None = None) -> None:
        """Start every node, then give each the addresses of all; ``clock``: one clock
        for all (a test clock), else each node's own system clock."""
        for config in configs:
            config.directory = self.directory
            node = Node(config) if clock is None else Node(config, clock=clock)
            await node.start()
            assert node.port is not None
            self.directory[config.code] = ("127.0.0.1", node.port)
            self.nodes[config.code] = node

    async def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes.values():
            await node.stop()

    def role(self, code: str) -> Any:
        """The role handler of node ``code``."""
        return self.nodes[code].handler

    async def quiet(self, timeout: float = 30.0) -> None:
        """Wait until no numbered message (update or relay) is unacknowledged."""
        def idle() -> bool:
            for node in self.nodes.values():
                h = node.handler
                if isinstance(h, MunicipalityRole) and h.updater.outbox:
                    return False
                relays = getattr(getattr(h, "receiver", None), "relays", None)
                if relays is not None and relays.outbox:
                    return False
            return True
        await next(iter(self.nodes.values())).wait_until(idle, timeout)


def households_for(seed: str, nodes: Iterable[tuple[str, str]] = NODES,
                   count: int = 2) -> dict[str, list[Household]]:
    """``count`` synthetic households for each municipality of ``nodes`` (role, code)."""
    return {code: generate_households(count, f"{seed}:{code}", municipalities=[code])
            for role, code in nodes if role == "municipality"}


def _recorder(role: MunicipalityRole, person: ResidentRecord, change: ChangeInfo
              ) -> Callable[[dt.datetime], list[Any]]:
    return lambda now: role.record(person, change, now)


def _has_outcome(machine: Any) -> Callable[[], bool]:
    return lambda: machine.outcome is not None


async def run_flows(net: Network, households: dict[str, list[Household]],
                    say: Callable[[str], None]) -> dict[str, str]:
    """Run the four flows (see the module docstring); returns a summary per flow."""
    summary: dict[str, str] = {}
    today = dt.datetime.now(dt.UTC).date()

    # 1. Arts. 30-5 and 30-11: every resident recorded, reported and relayed.
    say("[1/4] identity info updates (Art. 30-5) and relay (Art. 30-11)")
    count = 0
    for code, houses in households.items():
        role: MunicipalityRole = net.role(code)
        for house in houses:
            for person in house.members:
                reason = (ChangeReason.BIRTH if person.resident_since == person.birth_date
                          else ChangeReason.MOVE_IN)
                change = ChangeInfo(change_reason=reason, change_date=person.resident_since)
                await net.nodes[code].local(_recorder(role, person, change))
                count += 1
    await net.quiet()
    held = {c: net.nodes[c].storage.count_identity() for c in ("270008", "130001", "DC01")}
    summary["identity-update"] = (f"{count} updates acknowledged; identity info held: "
                                  + ", ".join(f"{c}={n}" for c, n in held.items()))
    say(f"      {summary['identity-update']}")

    # 2. Art. 12-2: Tokyo issues a copy of an Osaka household's record.
    say("[2/4] wide-area issuance (Art. 12-2): 131016 <- 271004")
    house = max(_nationals(households[OSAKA]), key=lambda h: len(h.members))
    head = house.head
    check = IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT, confirmed=True)
    request = WideAreaIssuanceRequest(
        issuing_municipality=TOKYO, residence_municipality=OSAKA,
        requester=Requester(name=head.name, birth_date=head.birth_date,
                            address=head.address, identity_check=check.method),
        targets=tuple(TargetPerson(name=m.name, birth_date=m.birth_date)
                      for m in house.members), include_resident_code=True)
    tokyo: MunicipalityRole = net.role(TOKYO)
    holder: list[Any] = []

    def apply(now: dt.datetime) -> list[Any]:
        counter, owned = tokyo.apply_wide_area(check, request, now)
        holder.append(counter)
        return owned
    await net.nodes[TOKYO].local(apply)
    counter = holder[0]
    await net.nodes[TOKYO].wait_until(lambda: counter.outcome is not None, 20)
    outcome = counter.outcome
    summary["wide-area"] = (f"{counter.state.value}: {len(outcome)} copies issued"
                            if isinstance(outcome, tuple) else f"{counter.state.value}: "
                            f"{outcome}")
    say(f"      {summary['wide-area']}")

    # 3. Arts. 24-2 and 9: the other Osaka household moves to Tokyo.
    say("[3/4] special move (Arts. 24-2, 9): 271004 -> 131016")
    movers = min(_nationals(households[OSAKA]), key=lambda h: len(h.members))
    moved = today - dt.timedelta(days=3)
    new_address = Address(local_gov_code=TOKYO, text="東京都千代田区千代田一丁目1番1号")
    osaka: MunicipalityRole = net.role(OSAKA)
    await net.nodes[OSAKA].local(lambda now: osaka.annotated_move_out(AnnotatedMoveOut(
        movers=tuple(m.resident_code for m in movers.members), destination=new_address,
        planned_move_date=moved), now))
    card = IdentityCheck(method=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN, confirmed=True,
                         resident_code=movers.head.resident_code)
    notice = SpecialMoveInNotice(
        new_municipality=TOKYO, former_municipality=OSAKA,
        movers=tuple(m.person_ref() for m in movers.members), moved_date=moved,
        move_in_filed_date=today, new_address=new_address)
    holder.clear()

    def move_in(now: dt.datetime) -> list[Any]:
        mover, owned = tokyo.special_move_in(card, notice, now)
        holder.append(mover)
        return owned
    await net.nodes[TOKYO].local(move_in)
    mover = holder[0]
    await net.nodes[TOKYO].wait_until(lambda: mover.state.value in (
        "done", "refused", "failed", "timed_out", "identity_failed"), 20)
    await net.nodes[OSAKA].wait_until(
        lambda: "move_out_finalised" in net.nodes[OSAKA].event_names(), 20)
    await net.quiet()
    summary["special-move"] = (f"new municipality {mover.state.value}, former "
                               f"municipality {osaka.desk.plans[-1].state.value}; "
                               f"{len(movers.members)} person(s) moved")
    say(f"      {summary['special-move']}")

    # 4. Arts. 30-7(3) and 30-10(1)(iii): provision to the agency.
    say("[4/4] provision (Arts. 30-7(3), 30-10(1)(iii)) to AG0001")
    agency: AgencyRole = net.role(AGENCY)
    body = RequestingBody(kind=BodyKind.AGENCY, code=AGENCY)
    codes = tuple(m.resident_code for m in house.members)
    results = []
    for provider, basis in ((OSAKA_PREF, LegalBasis.PREF_TO_AGENCY),
                            ("DC01", LegalBasis.CENTER_TO_AGENCY)):
        req = ProvisionRequest(requester=body, legal_basis=basis,
                               purpose_code="S1-KENCHIKUSHI", operator_id="op-1",
                               by_resident_code=codes)
        holder.clear()

        def ask(now: dt.datetime, p: str = provider, r: ProvisionRequest = req) -> list[Any]:
            client, owned = agency.request(body, p, r, now)
            holder.append(client)
            return owned
        await net.nodes[AGENCY].local(ask)
        client = holder[0]
        await net.nodes[AGENCY].wait_until(_has_outcome(client), 20)
        provided = client.outcome
        results.append(f"{provider}: {client.state.value} "
                       f"({len(provided) if isinstance(provided, tuple) else provided})")
    summary["provision"] = "; ".join(results)
    say(f"      {summary['provision']}")
    say(f"      persons asked about: {', '.join(mask(c) for c in codes)}")
    summary["ordinary-move"] = await ordinary_move_flow(net, households, say)
    if any(h.head.foreign_resident is not None for h in households[OSAKA]):
        summary["foreign-special-move"] = await foreign_special_move_flow(net, households,
                                                                          say)
    summary["code-designation"] = await designation_flow(net, say)
    return summary


def _nationals(houses: list[Household]) -> list[Household]:
    """The households with a family register (not of foreign residents, Art. 30-45)."""
    return [h for h in houses if h.head.foreign_resident is None]


async def ordinary_move_flow(net: Network, households: dict[str, list[Household]],
                             say: Callable[[str], None]) -> str:
    """Art. 9(1): a household of Minato (131041) moves to Toyonaka (272035) with a paper
    move-out certificate: Toyonaka records the move-in (Art. 30-5 updates to 270008) and
    sends the MoveInNotice, with no correlation; Minato finalises the move-out and
    reports the erasures to 130001."""
    former, new = "131041", "272035"
    say(f"[*] ordinary move (Art. 9(1)): {former} -> {new}; the move-out filed at "
        f"{former}'s counter, the paper certificate brought to {new}")
    house = min(_nationals(households[former]), key=lambda h: len(h.members))
    today = net.nodes[new].now().date()
    moved = today - dt.timedelta(days=2)
    address = Address(local_gov_code=new, text="大阪府豊中市中桜塚三丁目1番1号")
    move_in = OrdinaryMoveIn(residents=tuple(dataclasses.replace(
        m, address=address, resident_since=moved, address_notification_date=today,
        previous_address=m.address, status="current") for m in house.members))
    was: MunicipalityRole = net.role(former)
    await net.nodes[former].local(lambda now: own(was.desk, was.desk.record_move_out(
        OrdinaryMoveOut(movers=tuple(m.resident_code for m in house.members),
                        destination=address, planned_move_date=moved), now)))
    role: MunicipalityRole = net.role(new)
    holder: list[Any] = []

    def action(now: dt.datetime) -> list[Any]:
        notifier, owned = role.ordinary_move_in(move_in, now)
        holder.append(notifier)
        return owned
    await net.nodes[new].local(action)
    await net.nodes[former].wait_until(
        lambda: "move_out_finalised" in net.nodes[former].event_names(), 20)
    await net.quiet()
    held = [net.nodes["130001"].storage.current_held(m.resident_code)
             for m in house.members]
    erased = [h is not None and h.erased_at is not None for h in held]
    text = (f"new municipality {holder[0].state.value}, former municipality finalised; "
            f"{len(house.members)} person(s) moved, "
            f"{'erased' if all(erased) else 'NOT erased'} at 130001")
    say(f"      {text}")
    return text


async def foreign_special_move_flow(net: Network, households: dict[str, list[Household]],
                                    say: Callable[[str], None]) -> str:
    """Arts. 24-2, 9 and 30-45: a household of foreign residents moves from Osaka
    (271004) to Tokyo (131016) with the card: the move-out certificate carries the
    items of Art. 30-45 and no family register."""
    say(f"[*] special move of foreign residents (Arts. 24-2, 9, 30-45): {OSAKA} -> {TOKYO}")
    movers = next(h for h in households[OSAKA] if h.head.foreign_resident is not None)
    today = net.nodes[TOKYO].now().date()
    moved = today - dt.timedelta(days=1)
    new_address = Address(local_gov_code=TOKYO, text="東京都千代田区千代田一丁目2番1号")
    osaka: MunicipalityRole = net.role(OSAKA)
    tokyo: MunicipalityRole = net.role(TOKYO)
    await net.nodes[OSAKA].local(lambda now: osaka.annotated_move_out(AnnotatedMoveOut(
        movers=tuple(m.resident_code for m in movers.members), destination=new_address,
        planned_move_date=moved), now))
    card = IdentityCheck(method=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN, confirmed=True,
                         resident_code=movers.head.resident_code)
    notice = SpecialMoveInNotice(
        new_municipality=TOKYO, former_municipality=OSAKA,
        movers=tuple(m.person_ref() for m in movers.members), moved_date=moved,
        move_in_filed_date=today, new_address=new_address)
    holder: list[Any] = []

    def move_in(now: dt.datetime) -> list[Any]:
        mover, owned = tokyo.special_move_in(card, notice, now)
        holder.append(mover)
        return owned
    await net.nodes[TOKYO].local(move_in)
    mover = holder[0]
    await net.nodes[TOKYO].wait_until(lambda: mover.state.value in (
        "done", "refused", "failed", "timed_out", "identity_failed"), 20)
    await net.quiet()
    recorded = [tokyo.register.records.get(m.resident_code) for m in movers.members]
    foreign = all(r is not None and r.foreign_resident is not None
                  and r.family_register is None for r in recorded)
    text = (f"new municipality {mover.state.value}; {len(movers.members)} foreign "
            f"resident(s) recorded at {TOKYO} "
            f"{'with' if foreign else 'WITHOUT'} the items of Art. 30-45")
    say(f"      {text}")
    return text


async def designation_flow(net: Network, say: Callable[[str], None]) -> str:
    """Art. 30-7(1)(2): Toyonaka (272035) asks Osaka prefecture for codes, the
    prefecture designates them from its allotment, and a newborn is recorded under the
    first, which the prefecture accepts as designated (spec/designation.md)."""
    say("[*] code designation (Art. 30-7(1)(2)): 270008 -> 272035")
    code = "272035"
    role: MunicipalityRole = net.role(code)
    await net.nodes[code].local(lambda now: own(role.codes, role.codes.request(5, now)))
    await net.nodes[code].wait_until(lambda: role.codes.pool.free() >= 5, 20)
    newborn = generate_households(1, "network-up:newborn", municipalities=[code])[0].head
    given = role.codes.next_code()
    assert given is not None
    newborn = dataclasses.replace(newborn, resident_code=given)

    def born(now: dt.datetime) -> list[Any]:
        role.codes.consume(given, now)
        return role.record(newborn, ChangeInfo(change_reason=ChangeReason.BIRTH,
                                               change_date=newborn.birth_date), now)
    await net.nodes[code].local(born)
    await net.quiet()
    held = net.nodes[OSAKA_PREF].storage.current_held(given) is not None
    text = (f"5 codes designated to {code}, a birth recorded under {mask(given)}, "
            f"{'accepted' if held else 'NOT accepted'} by {OSAKA_PREF}; "
            f"{role.codes.pool.free()} codes left")
    say(f"      {text}")
    return text


async def network_up(directory: Path, say: Callable[[str], None], *,
                     seed: str = "network-up", database: str | None = None
                     ) -> dict[str, str]:
    """Create the PKI, start the network, run every flow, stop; returns the summary.
    ``database``: a PostgreSQL URL for every node's tables (a schema each), which must
    not hold them yet (the flows start from fresh registers)."""
    if database is not None:
        used = _used_schemas(database)
        if used:
            raise StorageError(f"{redact_url(database)} already holds the tables of node "
                               f"schema {used[0]}; the flows start from fresh registers, "
                               f"so give a new database")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    pki_dir = directory / "pki"
    if not (pki_dir / "ca.pem").exists():
        # R-NODE-71: the CA key in DIR/ca, not in DIR/pki where the nodes' keys are.
        create_pki(pki_dir, NODES, now, ca_dir=directory / "ca")
        say(f"created the network CA in {directory / 'ca'} and {len(NODES)} node "
            f"certificates in {pki_dir}")
    households = households_for(seed)
    households[OSAKA] = [*households[OSAKA], *generate_households(   # Art. 30-45
        1, f"{seed}:foreign", municipalities=[OSAKA], foreign_share=1.0)]
    residents = tuple(m for houses in households.values() for h in houses
                      for m in h.members)
    configs = [node_config(directory, pki_dir, role, code, residents=residents,
                           database=database,
                           operators={k: set(v) for k, v in OPERATORS.items()})
               for role, code in NODES]
    net = Network()
    await net.start(configs)
    say("started " + ", ".join(f"{c} ({n.config.role}) on 127.0.0.1:{n.port}"
                                for c, n in net.nodes.items()))
    try:
        summary = await run_flows(net, households, say)
        for code, node in net.nodes.items():
            if isinstance(node.handler, CentralRole):
                summary[f"db {code}"] = (f"{node.storage.count_identity()} current / "
                                         f"{node.storage.count_identity(False)} versions")
    finally:
        await net.stop()
    return summary


__all__ = ["NODES", "Network", "create_pki", "designation_flow", "network_up", "node_config",
           "run_flows"]
