"""Node-mode cases (being written)."""

from __future__ import annotations

from conformance.model import Case


def flow_cases() -> list[Case]:
    """The cases of this module."""
    return []
