"""Juki protocol: specification, reference implementation and conformance suite for a
network modelled on Japan's Basic Resident Registration Network (住基ネット)."""

from __future__ import annotations

__version__ = "0.1.0"
PROTOCOL_VERSION = 1
