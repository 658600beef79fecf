"""Sans-I/O state machines for every flow of the protocol and for the resident card.

Importing the package registers every machine in
:data:`juki_protocol.machines.common.MACHINES`; ``spec/machines.md`` is generated from
their tables by :mod:`juki_protocol.machines.diagrams`.
"""

from __future__ import annotations

from juki_protocol.machines import (
    card,
    card_notices,
    card_register,
    designation,
    family_register,
    identity,
    provision,
    special_move,
    special_move_in,
    wide_area,
)
from juki_protocol.machines.common import MACHINES, Effect, Inbound, Machine, Table

__all__ = ["MACHINES", "Effect", "Inbound", "Machine", "Table", "card", "card_notices",
           "card_register", "designation",
           "family_register", "identity", "provision", "special_move", "special_move_in",
           "wide_area"]
