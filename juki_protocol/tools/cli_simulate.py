"""``juki simulate FLOW``: run a flow between machines in memory and print the messages.

Personal data is masked (:func:`juki_protocol.identifiers.mask`): names and codes show
their first two characters only. The residents are synthetic (:mod:`juki_protocol.fixtures.synth`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import random
from collections.abc import Callable, Iterable, Iterator

import click

from juki_protocol.errors import JukiError
from juki_protocol.fixtures.samples import AWAY, HOME, family_register_notices
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import mask, prefecture_of
from juki_protocol.machines.card import (
    Actor,
    CardRecord,
    IdentityCheck,
    VirtualCard,
    set_password,
    unblock,
)
from juki_protocol.machines.card_counter import identify_with_card
from juki_protocol.machines.common import Effect, Event, Inbound, Send, counter_ids, sends
from juki_protocol.machines.designation import (
    DesignationCheckedStore,
    MunicipalityCodes,
    PrefectureDesignations,
)
from juki_protocol.machines.designation_memory import MemoryLedger, MemoryPool
from juki_protocol.machines.family_register import (
    APPLIED,
    FamilyRegisterNotifier,
    FamilyRegisterReceiver,
)
from juki_protocol.machines.identity import IdentityUpdater, NationalReceiver, PrefectureReceiver
from juki_protocol.machines.memory_store import IdentityStore
from juki_protocol.machines.move_in import MoveInNotifier, OrdinaryMoveIn
from juki_protocol.machines.provision import DisclosureLog, Provider, ProvisionClient
from juki_protocol.machines.special_move import (
    AnnotatedMoveOut,
    MoveOutDesk,
    OrdinaryMoveOut,
    report_identity_changes,
)
from juki_protocol.machines.special_move_in import SpecialMoveInCounter
from juki_protocol.machines.stores import Register
from juki_protocol.machines.wide_area import IssuingCounter, ResidenceResponder
from juki_protocol.messages.common import Address, ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.designation import CodeDesignation, CodeDesignationRequest
from juki_protocol.messages.family_register import FamilyRegisterNotice
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import Acknowledgement, ErrorReport
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)
from juki_protocol.messages.special_move import (
    MoveInNotice,
    MoveOutCertificate,
    SpecialMoveInNotice,
)
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
)
from juki_protocol.tools.simulate_card_register import ARTICLE as CARD_REGISTER_ARTICLE
from juki_protocol.tools.simulate_card_register import card_register
from juki_protocol.tools.simulate_card_register import describe as describe_card
from juki_protocol.tools.simulate_suspension import ARTICLE as SUSPENSION_ARTICLE
from juki_protocol.tools.simulate_suspension import suspension

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
#: The flows ``juki fixtures capture`` also captures (:mod:`juki_protocol.tools.capture.capture`).
FLOWS = ("wide-area", "special-move", "identity-update", "provision", "card")
#: Every flow ``juki simulate`` runs: :data:`FLOWS` and those not captured yet.
SIMULATED = (*FLOWS, "ordinary-move", "family-register", "code-designation", "suspension",
             "card-register")
#: The articles of the Act each flow carries out (``juki simulate --list``).
ARTICLES = {
    "wide-area": "Art. 12-2 (wide-area issuance of resident record copies)",
    "special-move": "Arts. 24-2, 9(1) (special move-out and move-in with the card)",
    "ordinary-move": "Art. 9(1) (move-in notice after a move with a paper certificate)",
    "identity-update": "Arts. 30-5, 30-11 (identity info updates and their relay)",
    "provision": "Arts. 30-7(3)-(6), 30-8, 30-10 (provision of identity info)",
    "card": "Art. 30-44 (the resident card: issue, password, lock)",
    "family-register": "Art. 9(2) (notice of family register entries to the residence "
                       "municipality)",
    "code-designation": "Art. 30-7(1)(2) (resident codes designated to a municipality)",
    "suspension": SUSPENSION_ARTICLE,
    "card-register": CARD_REGISTER_ARTICLE,
}
NOT_YET: tuple[str, ...] = ()


def describe(msg: object) -> str:
    """One masked line describing ``msg``."""
    if isinstance(msg, Acknowledgement):
        return f"Acknowledgement({msg.status.value}, of {msg.acknowledged_id.hex()[-8:]})"
    if isinstance(msg, ErrorReport):
        return f"ErrorReport({msg.error_code})"
    card = describe_card(msg)
    if card is not None:
        return card
    if isinstance(msg, WideAreaIssuanceRequest):
        names = ", ".join(mask(t.name.kanji, 1) for t in msg.targets)
        return (f"WideAreaIssuanceRequest(requester={mask(msg.requester.name.kanji, 1)}, "
                f"targets=[{names}], relationship={msg.include_relationship}, "
                f"resident_code={msg.include_resident_code})")
    if isinstance(msg, WideAreaIssuanceResponse):
        if msg.refusal is not None:
            return f"WideAreaIssuanceResponse(refusal={msg.refusal.value})"
        assert msg.copies is not None
        return "WideAreaIssuanceResponse(copies=[" + ", ".join(
            f"{mask(c.name.kanji, 1)}/{mask(c.resident_code) if c.resident_code else '-'}"
            for c in msg.copies) + "])"
    if isinstance(msg, (SpecialMoveInNotice, MoveInNotice)):
        people = msg.movers if isinstance(msg, SpecialMoveInNotice) else msg.residents
        return (f"{type(msg).__name__}({msg.new_municipality} <- "
                f"{msg.former_municipality}, ["
                + ", ".join(f"{mask(p.name.kanji, 1)}/{mask(p.resident_code)}"
                            for p in people) + "])")
    if isinstance(msg, FamilyRegisterNotice):
        who = mask(msg.person.resident_code) if msg.person else \
            f"household of {mask(msg.household or '')}"
        return (f"FamilyRegisterNotice({msg.residence_municipality} <- "
                f"{msg.register_municipality}, {msg.event.value}, {who}, "
                f"items={list(msg.items.given())})")
    if isinstance(msg, MoveOutCertificate):
        return "MoveOutCertificate([" + ", ".join(
            f"{mask(e.name.kanji, 1)}/{mask(e.resident_code)}" for e in msg.entries) + "])"
    if isinstance(msg, CodeDesignationRequest):
        return f"CodeDesignationRequest({msg.municipality}, count={msg.count})"
    if isinstance(msg, CodeDesignation):
        return (f"CodeDesignation({msg.municipality}, codes=["
                + ", ".join(mask(c) for c in msg.codes) + "])")
    if isinstance(msg, ProvisionRequest):
        codes = ", ".join(mask(c) for c in msg.by_resident_code or ())
        return (f"ProvisionRequest({msg.requester.code}, {msg.legal_basis.value}, "
                f"{msg.purpose_code}, codes=[{codes}])")
    if isinstance(msg, ProvisionResponse):
        if msg.refusal is not None:
            return f"ProvisionResponse(refusal={msg.refusal.value})"
        return "ProvisionResponse(provided=[" + ", ".join(
            f"{mask(p.identity_info.name.kanji, 1)}/{mask(p.identity_info.resident_code)}"
            for p in msg.provided or ()) + "])"
    info = getattr(msg, "identity_info", None) or getattr(
        getattr(msg, "update", None), "identity_info", None)
    if info is not None:
        seq = getattr(msg, "update_sequence", None) or getattr(msg, "relay_sequence", None)
        return (f"{type(msg).__name__}(#{seq}, {mask(info.resident_code)}, "
                f"{mask(info.name.kanji, 1)})")
    return type(msg).__name__


#: Observers of every node's effects during a flow (see :func:`observe`).
_OBSERVERS: list[Callable[[str, list[Effect]], None]] = []


@contextlib.contextmanager
def observe(callback: Callable[[str, list[Effect]], None], *,
            quiet: bool = True) -> Iterator[None]:
    """Call ``callback(node, effects)`` for everything a flow's machines emit while the
    block runs (``juki fixtures capture`` collects the Send effects this way); with
    ``quiet`` the masked printout is dropped."""
    _OBSERVERS.append(callback)
    try:
        if quiet:
            with contextlib.redirect_stdout(io.StringIO()):
                yield
        else:
            yield
    finally:
        _OBSERVERS.remove(callback)


def show(sender: str, effects: Iterable[Effect]) -> None:
    """Print (masked) and hand to the observers what ``sender``'s machines emitted."""
    effects = list(effects)
    for observer in list(_OBSERVERS):
        observer(sender, effects)
    for eff in effects:
        if isinstance(eff, Send):
            click.echo(f"  {sender:>8} -> {eff.recipient:<8} {describe(eff.message)}")
        elif isinstance(eff, Event):
            code = f" [{int(eff.code)} {eff.code.name}]" if eff.code else ""
            click.echo(f"  {sender:>8} :: event {eff.name}{code}")


def _in(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def wide_area(seed: int) -> None:
    house = max(generate_households(3, f"sim:{seed}", municipalities=[HOME]),
                key=lambda h: len(h.members))
    head = house.members[0]
    counter = IssuingCounter(AWAY, ids=counter_ids(seed))
    responder = ResidenceResponder(Register(HOME, house.members), ids=counter_ids(seed + 1))
    check = IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT, confirmed=True)
    show(AWAY, counter.identify(check, NOW))
    req = WideAreaIssuanceRequest(
        issuing_municipality=AWAY, residence_municipality=HOME,
        requester=Requester(name=head.name, birth_date=head.birth_date, address=head.address,
                            identity_check=check.method),
        targets=tuple(TargetPerson(name=m.name, birth_date=m.birth_date)
                      for m in house.members), include_resident_code=True)
    out = counter.submit(req, NOW)
    show(AWAY, out)
    back = responder.receive(_in(sends(out)[0], AWAY), NOW)
    show(HOME, back)
    for s in sends(back):
        final = counter.receive(_in(s, HOME), NOW)
        show(AWAY, final)
        for f in sends(final):
            show(HOME, responder.receive(_in(f, AWAY), NOW))
    click.echo(f"  issuing municipality: {counter.state.value}; "
               f"residence municipality: {responder.state.value}")


def identity_update(seed: int) -> None:
    pref_code = prefecture_of(HOME)
    muni = IdentityUpdater(HOME, ids=counter_ids(seed))
    pref = PrefectureReceiver(pref_code, ids=counter_ids(seed + 1))
    nat = NationalReceiver("DC01", ids=counter_ids(seed + 2))
    people = generate_households(2, f"sim:{seed}", municipalities=[HOME])[0].members
    pending: list[Send] = []
    for p in people:
        out = muni.change(UpdateOperation.RECORD, p.identity_info(Profile.CURRENT),
                          ChangeInfo(change_reason=ChangeReason.BIRTH,
                                     change_date=p.birth_date), NOW)
        show(HOME, out)
        pending += sends(out)
    while pending:
        upd = pending.pop(0)
        got = pref.receive(_in(upd, HOME), NOW)
        show(pref_code, got)
        for s in sends(got):
            if s.recipient == "DC01":
                n = nat.receive(_in(s, pref_code), NOW)
                show("DC01", n)
                show(pref_code, pref.relays.receive(_in(sends(n)[0], "DC01"), NOW))
            else:
                nxt = muni.receive(_in(s, pref_code), NOW)
                show(HOME, nxt)
                pending += sends(nxt)
    click.echo(f"  prefecture holds {len(pref.store.current)}, national holds "
               f"{len(nat.store.current)} identity records")


def code_designation(seed: int) -> None:
    """A municipality asks its prefecture for codes (our design), the prefecture
    designates them from its allotment (Art. 30-7(1)(2)), a birth takes one, and the
    prefecture refuses an update whose new code it did not designate (5023)."""
    pref_code = prefecture_of(HOME)
    receiver = PrefectureReceiver(pref_code, ids=counter_ids(seed + 1))
    ledger = MemoryLedger(holds=lambda c: c in receiver.store.current
                          or c in receiver.store.retired)
    receiver.store = DesignationCheckedStore(receiver.store, ledger)
    desk = PrefectureDesignations(pref_code, ledger, ids=counter_ids(seed + 2),
                                  rng=random.Random(f"sim:{seed}"))
    codes = MunicipalityCodes(HOME, MemoryPool(), ids=counter_ids(seed + 3))
    updater = IdentityUpdater(HOME, ids=counter_ids(seed))
    out = codes.request(3, NOW)
    show(HOME, out)
    answer = desk.receive(_in(sends(out)[0], HOME), NOW)
    show(pref_code, answer)
    for s in sends(answer):
        back = codes.receive(_in(s, pref_code), NOW)
        show(HOME, back)
        for a in sends(back):
            show(pref_code, desk.receive(_in(a, HOME), NOW))
    people = generate_households(2, f"sim:{seed}", municipalities=[HOME])[0].members
    newborn = dataclasses.replace(people[0], resident_code=codes.next_code() or "")
    stray = people[-1]
    for person in (newborn, stray):
        if person is newborn:
            codes.consume(person.resident_code, NOW)
        out = updater.change(UpdateOperation.RECORD, person.identity_info(Profile.CURRENT),
                             ChangeInfo(change_reason=ChangeReason.BIRTH,
                                        change_date=person.birth_date), NOW)
        show(HOME, out)
        try:
            got = receiver.receive(_in(sends(out)[0], HOME), NOW)
        except JukiError as exc:
            show(pref_code, [Send(recipient=HOME, message_id=b"\0" * 16, message=ErrorReport(
                error_code=int(exc.error_code), refers_to=sends(out)[0].message_id))])
            break
        show(pref_code, [e for e in got if not (isinstance(e, Send)
                                                and e.recipient == "DC01")])
        show(HOME, updater.receive(_in(next(s for s in sends(got) if s.recipient == HOME),
                                       pref_code), NOW))
    click.echo(f"  municipality: {codes.pool.designated()} codes designated, "
               f"{codes.pool.free()} free; the stray birth was refused")


def special_move(seed: int) -> None:
    house = max(generate_households(3, f"sim:{seed}", municipalities=[HOME]),
                key=lambda h: len(h.members))
    head, today = house.members[0], NOW.date()
    moved = today - dt.timedelta(days=3)
    new_address = Address(local_gov_code=AWAY, text="東京都千代田区千代田一丁目1番1号")
    desk = MoveOutDesk(Register(HOME, house.members), ids=counter_ids(seed))
    counter = SpecialMoveInCounter(AWAY, register=Register(AWAY),
                                   ids=counter_ids(seed + 1))
    click.echo("  annotated move-out received by post (local event)")
    show(HOME, desk.annotated_move_out(AnnotatedMoveOut(
        movers=tuple(m.resident_code for m in house.members), destination=new_address,
        planned_move_date=moved), NOW))
    check = IdentityCheck(method=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN,
                          confirmed=True, resident_code=head.resident_code)
    show(AWAY, counter.identify(check, NOW))
    out = counter.submit(SpecialMoveInNotice(
        new_municipality=AWAY, former_municipality=HOME,
        movers=tuple(m.person_ref() for m in house.members), moved_date=moved,
        move_in_filed_date=today, new_address=new_address), NOW)
    show(AWAY, out)
    pending = [(s, AWAY) for s in sends(out)]
    updater = IdentityUpdater(HOME, ids=counter_ids(seed + 2))
    while pending:
        send, frm = pending.pop(0)
        node, name = (desk, HOME) if frm == AWAY else (counter, AWAY)
        got = node.receive(_in(send, frm), NOW)
        show(name, got)
        for e in got:
            if isinstance(e, Event) and e.name == "move_out_finalised":
                show(HOME, report_identity_changes(updater, e.data, NOW))
        pending += [(s, name) for s in sends(got)]
    plan = desk.plans[0]
    click.echo(f"  new municipality: {counter.state.value}; "
               f"former municipality: {plan.state.value}")


def ordinary_move(seed: int) -> None:
    """A household moves with a paper move-out certificate: the former municipality
    records the move-out at its counter, the new one records the move-in and sends the
    MoveInNotice (Art. 9(1)); the former finalises and reports the erasures (Art. 30-5)."""
    house = max(generate_households(3, f"sim:{seed}", municipalities=[HOME]),
                key=lambda h: len(h.members))
    moved = NOW.date() - dt.timedelta(days=3)
    new_address = Address(local_gov_code=AWAY, text="東京都千代田区千代田一丁目1番1号")
    desk = MoveOutDesk(Register(HOME, house.members), ids=counter_ids(seed))
    click.echo("  move-out filed at the counter, paper certificate issued (local event)")
    show(HOME, desk.record_move_out(OrdinaryMoveOut(
        movers=tuple(m.resident_code for m in house.members), destination=new_address,
        planned_move_date=moved), NOW))
    click.echo("  move-in filed with the certificate at the new municipality (local event)")
    notifier = MoveInNotifier(Register(AWAY), ids=counter_ids(seed + 1))
    new_updater = IdentityUpdater(AWAY, ids=counter_ids(seed + 3))
    out = notifier.record(OrdinaryMoveIn(residents=tuple(dataclasses.replace(
        m, address=new_address, previous_address=m.address, resident_since=moved,
        address_notification_date=NOW.date()) for m in house.members)), NOW)
    show(AWAY, out)
    for e in out:
        if isinstance(e, Event) and e.name == "residents_recorded":
            show(AWAY, report_identity_changes(new_updater, e.data, NOW))
    updater = IdentityUpdater(HOME, ids=counter_ids(seed + 2))
    for notice in sends(out):
        got = desk.receive(_in(notice, AWAY), NOW)
        show(HOME, got)
        for e in got:
            if isinstance(e, Event) and e.name == "move_out_finalised":
                show(HOME, report_identity_changes(updater, e.data, NOW))
        for ack in sends(got):
            show(AWAY, notifier.receive(_in(ack, HOME), NOW))
    receipt = desk.receipts[0].state.value if desk.receipts else "-"
    click.echo(f"  new municipality: {notifier.state.value}; "
               f"former municipality: {receipt}")


def family_register(seed: int) -> None:
    """Entries in a family register kept at AWAY (本籍地) for residents of HOME (住所地):
    a birth, a marriage and a death, each notified under Art. 9(2); HOME records,
    changes or erases the record and reports the identity changes (Art. 30-5), which
    its prefecture acknowledges."""
    by_event = {s.message.event.value: s.message for s in family_register_notices(seed)}
    homes = generate_households(4, f"{seed}:home", municipalities=[HOME], today=NOW.date())
    register = Register(HOME, [m for h in homes for m in h.members])
    updater = IdentityUpdater(HOME, ids=counter_ids(seed + 2))
    pref_code = prefecture_of(HOME)
    pref = PrefectureReceiver(pref_code, ids=counter_ids(seed + 3))
    for i, event in enumerate(("birth", "marriage", "death")):
        notice = by_event[event]
        if notice.person is not None:     # as the record stands after the earlier ones
            notice = dataclasses.replace(
                notice, person=register.get(notice.person.resident_code).person_ref())
        click.echo(f"  {event} entered in the family register at {AWAY} (local event)")
        notifier = FamilyRegisterNotifier(AWAY, ids=counter_ids(seed + 10 + i))
        out = notifier.notify(notice, NOW)
        show(AWAY, out)
        receiver = FamilyRegisterReceiver(register, ids=counter_ids(seed + 20 + i),
                                          rng=random.Random(seed + i))
        got = receiver.receive(_in(sends(out)[0], AWAY), NOW)
        show(HOME, got)
        for ack in sends(got):
            show(AWAY, notifier.receive(_in(ack, HOME), NOW))
        pending = [s for e in got if isinstance(e, Event) and e.name == APPLIED
                   for s in sends(report_identity_changes(updater, e.data, NOW))]
        for s in pending:
            show(HOME, [s])
            answer = pref.receive(_in(s, HOME), NOW)
            show(pref_code, [a for a in answer if isinstance(a, Send)
                             and isinstance(a.message, Acknowledgement)])
            for a in sends(answer):
                if isinstance(a.message, Acknowledgement):
                    updater.receive(_in(a, pref_code), NOW)
        click.echo(f"  register municipality: {notifier.state.value}; residence "
                   f"municipality: {receiver.state.value}")


def provision(seed: int) -> None:
    people = generate_households(2, f"sim:{seed}", municipalities=[HOME])[0].members
    pref_code = prefecture_of(HOME)
    store = IdentityStore()
    for i, p in enumerate(people):
        store.apply(IdentityInfoUpdate(
            municipality=HOME, update_sequence=i + 1, operation=UpdateOperation.RECORD,
            identity_info=p.identity_info(Profile.CURRENT),
            change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                   change_date=p.birth_date)), NOW)
    body = RequestingBody(kind=BodyKind.AGENCY, code="AG0001")
    prov = Provider(pref_code, store, operators={"AG0001": {"op-1"}},
                    log=DisclosureLog(random.Random(seed).randbytes(32)),
                    ids=counter_ids(seed))
    for i, (purpose, operator) in enumerate((("S1-KENCHIKUSHI", "op-1"),
                                             ("S1-ONKYU", "op-1"),
                                             ("S1-KENCHIKUSHI", "op-9"))):
        client = ProvisionClient(body, pref_code, ids=counter_ids(seed + 1 + i))
        out = client.submit(ProvisionRequest(
            requester=body, legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code=purpose,
            operator_id=operator,
            by_resident_code=tuple(p.resident_code for p in people)), NOW)
        show("AG0001", out)
        got = prov.receive(_in(sends(out)[0], "AG0001"), NOW)
        show(pref_code, got)
        for s in sends(got):
            back = client.receive(_in(s, pref_code), NOW)
            show("AG0001", back)
            for b in sends(back):
                show(pref_code, prov.receive(_in(b, "AG0001"), NOW))
        click.echo(f"  request {i + 1}: {client.state.value}")
    click.echo(f"  disclosure log: {len(prov.log.records)} records; the first person "
               f"was provided to {len(prov.log.for_resident(people[0].resident_code))} "
               f"body/bodies")


def card(seed: int) -> None:
    rng = random.Random(seed)
    master = rng.randbytes(32)
    code = generate_households(1, f"sim:{seed}", municipalities=[HOME])[0].members[0]
    chip = VirtualCard("SN0001", code.resident_code, master, "13572468", rng=rng)
    rec = CardRecord("SN0001", code.resident_code)
    photo = IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT, confirmed=True)
    for label in ("register", "write", "issue"):
        out = (rec.register(NOW) if label == "register" else rec.write(NOW)
               if label == "write" else rec.issue(photo, NOW))
        show("card", out)
        click.echo(f"  {label}: {rec.state.value}")
    set_password(chip, "13572468", "2468", master, NOW, rng=rng)
    rec.set_password(NOW)
    click.echo(f"  password set: {rec.state.value}")
    for pin in ("0000", "2468", "0000", "1111", "9999", "2468"):
        res = identify_with_card(chip, pin, master, NOW, rng=rng, record=rec)
        code_text = mask(res.resident_code) if res.resident_code else "-"
        click.echo(f"  PIN {'*' * len(pin)}: confirmed={res.confirmed} "
                   f"code={code_text} failure={res.failure.name if res.failure else '-'} "
                   f"-> {rec.state.value}, tries left {chip.tries_left}")
    unblock(chip, master, NOW, rng=rng)
    rec.unlock(Actor.MUNICIPALITY, NOW)
    click.echo(f"  municipality unlocks: {rec.state.value}")


@click.command("simulate")
@click.argument("flow", type=click.Choice(SIMULATED), required=False)
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic data.")
@click.option("--list", "list_flows", is_flag=True,
              help="List the flows with the articles they carry out, and exit.")
def simulate(flow: str | None, seed: int, list_flows: bool) -> None:
    """Run FLOW between state machines in memory and print the exchanged messages."""
    if list_flows:
        for name in SIMULATED:
            click.echo(f"{name:<16} {ARTICLES[name]}")
        return
    if flow is None:
        raise click.UsageError("give a FLOW, or --list")
    if flow in NOT_YET:
        raise click.ClickException(f"flow {flow} has no state machines yet")
    click.echo(f"simulate {flow} (seed {seed}, personal data masked)")
    {"wide-area": wide_area, "identity-update": identity_update, "card": card,
     "special-move": special_move, "ordinary-move": ordinary_move,
     "provision": provision, "family-register": family_register,
     "code-designation": code_designation, "suspension": suspension,
     "card-register": card_register}[flow](seed)
