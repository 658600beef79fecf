"""What a municipality's card desk tells the centre's card register
(spec/card_register.md), as owned effects of a local event.

The card desk of the upper tester (:mod:`juki_protocol.node.upper_card`) changes a
card; these functions give the notice that change owes the centre, from the node's
:class:`~juki_protocol.machines.card_notices.CardNotifier`, to be committed in the same
transaction as the change and sent after it (R-CARDREG-03).
"""

from __future__ import annotations

import datetime as dt

from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.machines.card import EXPIRY_TIMER, CardRecord
from juki_protocol.machines.card_notices import CardNotifier
from juki_protocol.machines.card_register import jst_date
from juki_protocol.messages.card import CardStatusChange
from juki_protocol.node.node import Node
from juki_protocol.node.roles import Owned, own
from juki_protocol.node.upper_ops import municipality


def notifier(node: Node) -> CardNotifier:
    """The municipality's card notifier (3003 for another role)."""
    return municipality(node).cards


def require_registered(node: Node, serial: str) -> None:
    """R-CARDREG-01: 4012 unless the centre acknowledged the application for
    ``serial``."""
    if not notifier(node).registered(serial):
        raise JukiError("the centre has not registered an application for this card "
                        "(spec/card_register.md R-CARDREG-01)",
                        code=ErrorCode.CARD_NOT_ACTIVE)


def require_not_refused(node: Node, serial: object) -> None:
    """R-CARDREG-08: 4012 for a card whose issue notice the centre refused (a one-step
    issuance of a duplicate): it is in no register, so not even its issuer takes it."""
    if isinstance(serial, str) and notifier(node).issue_refused(serial):
        raise JukiError("the centre refused this card's issue notice "
                        "(spec/card_register.md R-CARDREG-08)",
                        code=ErrorCode.CARD_NOT_ACTIVE)


def issued(node: Node, record: CardRecord, now: dt.datetime) -> list[Owned]:
    """The ``CardIssueNotice`` of a card just handed over."""
    cards = notifier(node)
    expiry = record.timers[EXPIRY_TIMER].deadline
    handed = record.issued_at or now
    return own(cards, cards.issued(record.serial, record.resident_code, jst_date(handed),
                                   jst_date(expiry), now))


def changed(node: Node, record: CardRecord, change: CardStatusChange,
            now: dt.datetime) -> list[Owned]:
    """The ``CardStatusNotice`` of a change of ``record``."""
    cards = notifier(node)
    return own(cards, cards.changed(record.serial, record.resident_code, change,
                                    jst_date(now), now))


__all__ = ["changed", "issued", "notifier", "require_not_refused", "require_registered"]
