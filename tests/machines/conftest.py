"""Shared fixtures for the state machine tests: synthetic residents and a clock."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from juki_protocol.fixtures.samples import AWAY, HOME
from juki_protocol.fixtures.synth import Household, generate_households
from juki_protocol.machines.stores import Register

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


def households() -> list[Household]:
    """Four households of Osaka city (HOME), the largest first."""
    hs = generate_households(4, "machines", municipalities=[HOME])
    return sorted(hs, key=lambda h: -len(h.members))


@pytest.fixture
def homes() -> list[Household]:
    return households()


@pytest.fixture
def register(homes: list[Household]) -> Register:
    members = [m for h in homes for m in h.members]
    return Register(HOME, members)


@pytest.fixture
def away_resident() -> object:
    return generate_households(1, "machines-away", municipalities=[AWAY])[0].members[0]


def replace(obj: object, **kw: object) -> object:
    return dataclasses.replace(obj, **kw)  # type: ignore[type-var]
