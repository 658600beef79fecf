"""Deterministic ids and comparable snapshots of machines, for tests and ``juki
simulate``: a node draws random message ids and never snapshots a machine. No part of
what a node runs, so the mutation measurement leaves this module out
(juki_conformance/mutation_targets.py); :mod:`juki_protocol.machines.common` re-exports
both names, where they were until seed 9.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import is_dataclass
from enum import Enum


def counter_ids(seed: int = 0) -> Callable[[], bytes]:
    """A deterministic id source for tests and simulations: ``seed`` then 1, 2, 3..."""
    state = {"n": 0}

    def nxt() -> bytes:
        state["n"] += 1
        return seed.to_bytes(8, "big") + state["n"].to_bytes(8, "big")
    return nxt


def plain_copy(obj: object) -> object:
    """A deep copy of ``obj`` made of plain values (dicts, lists, states of random
    generators; sets as sorted reprs; no callables), comparable with ``==``: what
    :meth:`Machine.snapshot` returns, public for machines that snapshot only part of
    themselves (the provider leaves out its read-only schedule)."""
    if isinstance(obj, random.Random):
        return obj.getstate()
    if isinstance(obj, dict):
        return {k: plain_copy(v) for k, v in obj.items() if not callable(v)}
    if isinstance(obj, (list, tuple)):
        return [plain_copy(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(repr(v) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, (Enum, type)) and \
            not is_dataclass(obj):
        return {k: plain_copy(v) for k, v in vars(obj).items() if not callable(v)}
    return copy.deepcopy(obj)


__all__ = ["counter_ids", "plain_copy"]
