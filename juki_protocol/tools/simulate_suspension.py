"""``juki simulate suspension``: stopping provision, in memory (spec/suspension.md).

A prefecture suspends provision to the agency AG0001 after its audit found misuse: the
agency's request is refused (3030 PROVISION_SUSPENDED) and served again once the
suspension is lifted. Then a municipality stops feeding the network: the changes it
records are numbered and held, nothing reaches the prefecture, and on resumption the
held updates arrive in order. The residents are synthetic and masked in the output.
"""

from __future__ import annotations

import datetime as dt
import random

import click

from juki_protocol.fixtures.samples import HOME
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import prefecture_of
from juki_protocol.machines.common import Effect, Inbound, Send, counter_ids, sends
from juki_protocol.machines.disclosure import DisclosureLog
from juki_protocol.machines.identity import IdentityUpdater, PrefectureReceiver
from juki_protocol.machines.provision import Provider, ProvisionClient
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import UpdateOperation
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRefusal,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.messages.record import ResidentRecord

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
ARTICLE = ("Arts. 30-5, 30-7, 30-10 (suspension of provision to a body and of a "
           "municipality's feed; protocol design, spec/suspension.md)")


def _in(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def suspension(seed: int) -> None:
    """Run the flow (see the module docstring)."""
    from juki_protocol.tools.cli_simulate import show  # the shared printer

    def step(who: str, effects: list[Effect]) -> list[Send]:
        show(who, effects)
        return sends(effects)

    people = generate_households(3, f"sim:{seed}", municipalities=[HOME])
    first, later = people[0].members, [m for h in people[1:] for m in h.members]
    pref_code = prefecture_of(HOME)
    updater = IdentityUpdater(HOME, ids=counter_ids(seed))
    pref = PrefectureReceiver(pref_code, ids=counter_ids(seed + 1))

    def record(p: ResidentRecord) -> list[Send]:
        return step(HOME, updater.change(
            UpdateOperation.RECORD, p.identity_info(Profile.CURRENT),
            ChangeInfo(change_reason=ChangeReason.BIRTH, change_date=p.birth_date), NOW))

    def deliver(pending: list[Send]) -> None:
        while pending:
            upd = pending.pop(0)
            for s in step(pref_code, pref.receive(_in(upd, HOME), NOW)):
                if s.recipient == HOME:
                    pending += step(HOME, updater.receive(_in(s, pref_code), NOW))

    click.echo("  the municipality reports its residents (Art. 30-5)")
    deliver([s for p in first for s in record(p)])
    suspended: set[str] = set()
    prov = Provider(pref_code, pref.store, operators={"AG0001": {"op-1"}}, suspended=suspended,
                    log=DisclosureLog(random.Random(seed).randbytes(32)),
                    ids=counter_ids(seed + 2))
    body = RequestingBody(kind=BodyKind.AGENCY, code="AG0001")

    def ask(label: str) -> str:
        client = ProvisionClient(body, pref_code, ids=counter_ids(seed + 3 + len(label)))
        out = step("AG0001", client.submit(ProvisionRequest(
            requester=body, legal_basis=LegalBasis.PREF_TO_AGENCY,
            purpose_code="S1-KENCHIKUSHI", operator_id="op-1",
            by_resident_code=tuple(p.resident_code for p in first)), NOW))
        for s in step(pref_code, prov.receive(_in(out[0], "AG0001"), NOW)):
            for b in step("AG0001", client.receive(_in(s, pref_code), NOW)):
                step(pref_code, prov.receive(_in(b, "AG0001"), NOW))
        outcome = client.outcome
        if isinstance(outcome, tuple):
            text = f"{len(outcome)} provided"
        elif isinstance(outcome, ProvisionRefusal):
            text = f"refused: {outcome.value} ({int(outcome.error_code)})"
        else:
            text = f"{client.state.value}: {outcome}"
        click.echo(f"  {label}: {text}")
        return text

    ask("before the suspension")
    click.echo("  270008 suspends provision to AG0001 (reason: misuse; local action)")
    suspended.add("AG0001")
    ask("while suspended")
    click.echo("  270008 lifts the suspension (local action)")
    suspended.discard("AG0001")
    ask("after the suspension")

    click.echo("  271004 stops feeding the network (reason: emergency; local action)")
    step(HOME, updater.hold(NOW))
    held = [s for p in later for s in record(p)]
    click.echo(f"  while stopped: {len(later)} changes recorded, {len(updater.outbox)} "
               f"updates held, {len(held)} sent; prefecture's last number "
               f"{pref.last.get(HOME, 0)}")
    click.echo("  271004 resumes its feed (local action)")
    deliver(step(HOME, updater.release(NOW)))
    click.echo(f"  after the resumption: prefecture's last number {pref.last.get(HOME, 0)}, "
               f"{len(updater.outbox)} updates unacknowledged; updater "
               f"{updater.state.value}")


__all__ = ["ARTICLE", "suspension"]
