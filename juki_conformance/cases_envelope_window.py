"""Envelope cases in codec mode at the edges of the time window (spec/pdu.md R-PDU-16:
refused only when the header time differs from the clock by *more* than 300 s) and of
the replay checks there (R-PDU-24, within one ``open`` request as R-CONF-12 has it).

The vectors test a header time 301 s either side of ``now`` (refused, 2020) and the
replay checks with the header time at ``now``. An opener that refuses at 300 s itself,
or one that forgets the message ids it holds as soon as their time plus the window
*reaches* ``now`` instead of when it has passed, passes them all. Here the header time
is exactly 300 s before (and after) ``now``: the envelope opens; the same envelope
opened after it in the same request is a duplicate (4003), and another message under
its message id a replay (2021): the first is still within the window, so its id is
still held.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_codec import expect_error
from juki_conformance.cases_envelope_backlog import open_request
from juki_conformance.cases_envelope_profile import (
    RECIPIENT,
    SENDER,
    opened_to,
    sample_header,
    world,
)
from juki_conformance.model import Case, Outcome, strongest_level
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.envelope import envelope as env
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages.pdu import PduHeader, Profile

WINDOW = 300


def _sealed(header: PduHeader, variant: str = "conformance") -> tuple[bytes, bytes]:
    """The message and its envelope from the sender to the recipient under ``header``."""
    w = world()["nodes"]
    message = codec.encode(example("IdentityInfoUpdate", variant, Profile.CURRENT))
    return message, env.seal(header, message, w[SENDER].key, w[SENDER].cert,
                             w[RECIPIENT].cert, header.time)


def _request(envelope: bytes, header: PduHeader, now: dt.datetime,
             preceding: list[tuple[bytes, PduHeader]]) -> dict[str, Any]:
    request = open_request(envelope, header)
    request["now"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    request["preceding"] = [{"envelope": e.hex(), "header": codec.to_json(h)}
                            for e, h in preceding]
    return request


def _opens_at(offset: int) -> Callable[[AdapterSut], Outcome]:
    """The header time ``offset`` s from ``now`` (the edge; negative: before it): the
    envelope opens."""
    def run(sut: AdapterSut) -> Outcome:
        header = sample_header()
        message, envelope = _sealed(header)
        now = header.time - dt.timedelta(seconds=offset)
        answer = sut.request("open", **_request(envelope, header, now, []))
        return opened_to(answer, message,
                         f"a header time {offset:+d} s from now (the window's edge) opened")
    return run


def _again_at_edge(offset: int, other: bool) -> Callable[[AdapterSut], Outcome]:
    """An envelope whose header time is ``offset`` s from ``now`` opened first; then the
    same envelope (``other`` false: 4003) or another message under its message id
    (``other`` true: 2021)."""
    def run(sut: AdapterSut) -> Outcome:
        header = sample_header()
        _, first = _sealed(header)
        now = header.time - dt.timedelta(seconds=offset)
        if other:
            second_header = dataclasses.replace(header, sequence_number=1)
            _, second = _sealed(second_header, "conformance-2")
        else:
            second_header, second = header, first
        answer = sut.request("open", **_request(second, second_header, now,
                                                [(first, header)]))
        code = ErrorCode.REPLAY if other else ErrorCode.DUPLICATE_MESSAGE
        return expect_error(answer, int(code))
    return run


def envelope_window_cases() -> list[Case]:
    """The cases of this module."""
    edge = ("R-PDU-16", "R-PDU-31")
    again = ("R-PDU-24", "R-CONF-12", "R-CONF-11")
    rem_edge = ("Refuse a header time with 2020 STALE_TIME only when it differs from now "
                "by more than 300 s: at 300 s exactly, either side, open the envelope.")
    rem_again = ("Hold each message id opened until its header time plus the window has "
                 "passed (not reached): a copy at the window's edge is a duplicate (4003), "
                 "another message under the id a replay (2021).")
    cases = []
    for offset, side in ((-WINDOW, "past"), (WINDOW, "future")):
        cases.append(Case(
            id=f"pdu/envelope/window/{side}-edge-opens",
            title=f"open: a header time 300 s in the {side} (the window's edge) opens",
            clause="pdu", requirements=edge, level=strongest_level(edge),
            remediation=rem_edge, mode="codec", ops=("open",), run=_opens_at(offset)))
    for other, what in ((False, "duplicate"), (True, "replay")):
        for offset, side in ((-WINDOW, "past"), (WINDOW, "future")):
            cases.append(Case(
                id=f"pdu/envelope/window/{what}-at-the-{side}-edge",
                title=f"open: at the window's {side} edge the same message id again is a "
                      f"{what}", clause="pdu", requirements=again,
                level=strongest_level(again), remediation=rem_again, mode="codec",
                ops=("open",), run=_again_at_edge(offset, other)))
    return cases


__all__ = ["envelope_window_cases"]
