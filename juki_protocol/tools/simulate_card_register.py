"""``juki simulate card-register``: the card across municipalities, in memory
(spec/card_register.md).

Osaka city (271004) registers an application with the designated centre, hands the
card over and tells the centre; a second application for the same resident is refused
(5027). Chiyoda ward (131016), which never saw the card, asks the centre when it is
presented there: valid. Osaka suspends it on a report of loss (一時停止): Chiyoda's
counter refuses it (4011); reported lost for good, 4014. The resident code is synthetic
and masked in the output.
"""

from __future__ import annotations

import datetime as dt

import click

from juki_protocol.errors import JukiError
from juki_protocol.fixtures.samples import AWAY, HOME
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.identifiers import mask
from juki_protocol.machines.card_notices import CardNotifier, MemoryCardOutbox
from juki_protocol.machines.card_register import (
    CardRegisterDesk,
    MemoryCardLedger,
    jst_date,
)
from juki_protocol.machines.common import Effect, Inbound, Send, counter_ids, sends
from juki_protocol.messages.card import (
    CardApplication,
    CardIssueNotice,
    CardStatusAnswer,
    CardStatusChange,
    CardStatusNotice,
    CardStatusQuery,
)
from juki_protocol.messages.pdu import Acknowledgement, ErrorReport

NOW = dt.datetime(2026, 4, 1, 0, 30, tzinfo=dt.UTC)
CENTRE = "DC01"
ARTICLE = ("Art. 30-44 (the card across municipalities: the centre's card register, "
           "protocol design, spec/card_register.md)")


def describe(msg: object) -> str | None:
    """One masked line for a card register message (None: not one)."""
    if isinstance(msg, (CardApplication, CardIssueNotice, CardStatusNotice,
                        CardStatusQuery)):
        extra = f", {msg.change.value}" if isinstance(msg, CardStatusNotice) else ""
        return (f"{type(msg).__name__}({msg.municipality}, {msg.card_serial}, "
                f"{mask(msg.resident_code)}{extra})")
    if isinstance(msg, CardStatusAnswer):
        return f"CardStatusAnswer({msg.card_serial}, {msg.status.value})"
    return None


def _in(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def card_register(seed: int) -> None:
    """Run the flow (see the module docstring)."""
    from juki_protocol.tools.cli_simulate import show  # the shared printer

    holder = generate_households(1, f"sim:{seed}", municipalities=[HOME])[0].head
    centre = CardRegisterDesk(CENTRE, MemoryCardLedger(), ids=counter_ids(seed))
    home = CardNotifier(HOME, CENTRE, MemoryCardOutbox(), ids=counter_ids(seed + 1))
    away = CardNotifier(AWAY, CENTRE, MemoryCardOutbox(), ids=counter_ids(seed + 2))
    code, today = holder.resident_code, jst_date(NOW)

    def deliver(who: str, node: CardNotifier, effects: list[Effect]) -> None:
        """``node``'s messages to the centre, the centre's answers back to ``node``."""
        show(who, effects)
        for send in sends(effects):
            if isinstance(send.message, (Acknowledgement, ErrorReport)):
                continue
            try:
                answer = centre.receive(_in(send, who), NOW)
            except JukiError as exc:               # a refusal: an ErrorReport back
                report = ErrorReport(error_code=int(exc.error_code),
                                     refers_to=send.message_id)
                show(CENTRE, [Send(recipient=who, message=report, message_id=b"\0" * 16)])
                show(who, node.receive(Inbound(message=report, message_id=b"\0" * 16,
                                               sender=CENTRE), NOW))
                continue
            show(CENTRE, answer)
            for back in sends(answer):
                show(who, node.receive(_in(back, CENTRE), NOW))

    serial = f"{HOME}-000001"
    deliver(HOME, home, home.apply(serial, code, NOW, today))
    deliver(HOME, home, home.apply(f"{HOME}-000002", code, NOW, today))   # 5027
    deliver(HOME, home, home.issued(serial, code, today,
                                    today + dt.timedelta(days=3652), NOW))
    for change in (None, CardStatusChange.SUSPENDED, CardStatusChange.LOST):
        if change is not None:
            deliver(HOME, home, home.changed(serial, code, change, today, NOW))
        effects = away.query(serial, code, NOW)
        deliver(AWAY, away, effects)
        query = sends(effects)[0].message_id
        state, refusal = away.verdict(query)
        click.echo(f"  {AWAY:>8} :: counter: card {state}, "
              + ("taken" if refusal is None else f"refused {int(refusal)} {refusal.name}"))


__all__ = ["ARTICLE", "card_register", "describe"]
