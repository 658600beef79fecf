"""Node-mode cases on the send window of a sequenced sender, Arts. 30-5 and 30-11
(spec/identity.md R-30-5-0-13): a sender keeps at most its declared window ``w`` of
numbered messages (ICS ``limits.sendWindow``; 1 when undeclared) on the wire
unacknowledged, its first unacknowledged ones in order; it sends a queued message as
soon as there is room, and resends from the first unacknowledged one, up to the window.

The runner plays the receiver and answers nothing until it says so: the municipality's
prefecture 270008 for its updates, the designated centre DC01 for the prefecture's relays
(the runner also plays the municipality 271004 whose updates the prefecture applies, so
that it has relays to send). Each case numbers more messages than the window holds:

- ``fills-then-refills``: ``w + 1`` messages: exactly the first ``w`` come, numbered one
  after another, and nothing more while none is acknowledged; the acknowledgement of the
  first brings the ``w + 1``-th and nothing else (no resend of those on the wire,
  R-TIME-08).
- ``resends-from-first``: after that, the retry interval passing, error 4004
  OUT_OF_ORDER and a transient 9002 OVERLOADED (then the retry interval) on the first
  unacknowledged message each bring the ``w`` unacknowledged messages again, from the
  first, in order, with their message ids and content, and nothing more.
- ``restart-refills-from-first``: ``w + 1`` messages, ``w`` on the wire, and a restart:
  the first unacknowledged one comes first (R-NODE-03); one more is numbered, and once
  the first is acknowledged the others follow from the next number on, in order, up to
  the window (the new one not among them).
- ``stalled-window-sends-nothing``: one message on the wire refused finally (1024): a
  message numbered after it is not sent, although the window has room (R-30-5-0-12).
"""

from __future__ import annotations

from collections.abc import Callable

from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node_final_refusal import SenderFlow, Sent
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.node_steps import node_sut
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.errors import ErrorCode

#: Seconds the runner listens, on the wall clock, for a message that must not come.
QUIET = 1.5
#: Seconds beyond the node's retry interval the clock moves (R-NODE-63).
PAST_RETRY = 5.0

#: The requirements of the municipality's and of the prefecture's cases.
REQS_UPDATES = ("R-30-5-0-13", "R-30-5-0-05", "R-TIME-08")
REQS_RELAYS = ("R-30-5-0-13", "R-30-11-0-01", "R-TIME-08")
REQS_RESEND_UPDATES = ("R-30-5-0-13", "R-30-5-0-05", "R-NODE-63", "R-30-5-0-10")
REQS_RESEND_RELAYS = ("R-30-5-0-13", "R-30-11-0-01", "R-NODE-63", "R-30-5-0-10")
REQS_RESTART_UPDATES = ("R-30-5-0-13", "R-NODE-03", "R-30-5-0-05")
REQS_RESTART_RELAYS = ("R-30-5-0-13", "R-NODE-03", "R-30-11-0-01")
REQS_STALL_UPDATES = ("R-30-5-0-13", "R-30-5-0-12")
REQS_STALL_RELAYS = ("R-30-5-0-13", "R-30-5-0-12", "R-30-11-0-01")

REMEDIATION = ("Keep at most your declared send window (limits.sendWindow, 1 when "
               "undeclared) of numbered messages on the wire unacknowledged, your first "
               "unacknowledged ones in order; send the next queued one as soon as an "
               "acknowledgement frees room, without resending those on the wire; resend "
               "from the first unacknowledged one, up to the window, after the retry "
               "interval, 4004 or a transient refusal; send nothing while stalled "
               "(R-30-5-0-13).")


def _label(flow: SenderFlow, sent: Sent) -> str:
    return f"{flow.what} {flow.number(sent)}"


def _window_of(flow: SenderFlow, count: int, timeout: float) -> list[Sent]:
    """Up to ``count`` messages the node sends, each within ``timeout`` seconds of the
    one before; fewer when it sends fewer."""
    got: list[Sent] = []
    while len(got) < count and (one := flow.next(timeout)) is not None:
        got.append(one)
    return got


def _in_order(flow: SenderFlow, sent: list[Sent], count: int, first: int | None = None
              ) -> str | None:
    """None when ``sent`` is ``count`` messages numbered one after another (from
    ``first`` when given), under distinct message ids; else what was wrong."""
    if len(sent) != count:
        return (f"{len(sent)} {flow.what}s came while {count} were due on the wire (send "
                f"window {flow.window})")
    numbers = [flow.number(s) for s in sent]
    start = numbers[0] if first is None else first
    if numbers != list(range(start, start + count)):
        return (f"the {flow.what}s on the wire were numbered {numbers}, not {count} "
                f"numbers one after another from {start}")
    if len({s[1].header.message_id for s in sent}) != count:
        return f"two {flow.what}s on the wire shared a message id"
    return None


def _nothing_more(flow: SenderFlow, known: list[Sent], after: str) -> str | None:
    """None when nothing numbered comes within :data:`QUIET` seconds; else what came
    (a resend of one of ``known``, or another message)."""
    got = flow.next(QUIET)
    if got is None:
        return None
    ids = [s[1].header.message_id for s in known]
    if got[1].header.message_id in ids:
        return f"{_label(flow, got)} was resent {after}"
    return f"{_label(flow, got)} was sent {after}"


def _same(flow: SenderFlow, resent: list[Sent], window: list[Sent], after: str
          ) -> str | None:
    """None when ``resent`` is ``window`` again: the same messages in the same order,
    with their message ids and content; else what differed."""
    problem = _in_order(flow, resent, len(window), flow.number(window[0]))
    if problem:
        return f"{after}: {problem}"
    for old, new in zip(window, resent, strict=True):
        if new[1].header.message_id != old[1].header.message_id or new[2] != old[2]:
            return (f"{after} {_label(flow, new)} came under another message id or with "
                    "other content")
    return None


def _settle(flow: SenderFlow) -> None:
    """Leave the node with nothing unacknowledged, for the next case."""
    try:
        flow.settle()
    except (Inconclusive, SutFault):
        pass


def _start(flow: SenderFlow, count: int) -> list[Sent]:
    """Settle, then make ``count`` messages; what the node put on the wire within the
    node's timeout, up to ``count`` and the window (a message beyond is left for
    :func:`_nothing_more` to find)."""
    flow.settle()
    flow.node.drain(flow.peer)
    flow.make(count)
    got = _window_of(flow, min(count, flow.window), flow.node.timeout)
    if not got:
        raise Inconclusive(f"no {flow.what} reached {flow.peer}")
    return got


def _fills_then_refills(flow: SenderFlow) -> str | None:
    w = flow.window
    sent = _start(flow, w + 1)
    problem = _in_order(flow, sent, w) or _nothing_more(
        flow, sent, f"while {w} were unacknowledged (send window {w})")
    if problem:
        return problem
    node = flow.node
    node.acknowledge(sent[0][0], sent[0][1], flow.peer)
    more = _window_of(flow, 1, node.timeout)
    problem = _in_order(flow, more, 1, flow.number(sent[-1]) + 1)
    if problem:
        return f"after the first was acknowledged: {problem}"
    if more[0][1].header.message_id in {s[1].header.message_id for s in sent}:
        return f"after the first was acknowledged {_label(flow, more[0])} was a resend"
    return _nothing_more(flow, sent + more, "after the first was acknowledged, before "
                         "the retry interval")


def _resends_from_first(flow: SenderFlow) -> str | None:
    w = flow.window
    node = flow.node
    sent = _start(flow, w + 1)
    problem = _in_order(flow, sent, w) or _nothing_more(
        flow, sent, f"while {w} were unacknowledged (send window {w})")
    if problem:
        return problem
    node.acknowledge(sent[0][0], sent[0][1], flow.peer)
    window = sent[1:] + _window_of(flow, 1, node.timeout)
    problem = _in_order(flow, window, w)
    if problem:
        return f"after the first was acknowledged: {problem}"
    for trigger in ("the retry interval passed", "error 4004 OUT_OF_ORDER",
                    "error 9002 OVERLOADED"):
        if trigger.startswith("error"):
            code = ErrorCode.OUT_OF_ORDER if "4004" in trigger else ErrorCode.OVERLOADED
            node.report_error(window[0][0], window[0][1], flow.peer, int(code))
        if not trigger.startswith("error 4004"):
            # The retry timer, or the back-off of a transient refusal, falls due.
            node.clock_advance(node.retry_interval + PAST_RETRY)
        resent = _window_of(flow, w, node.timeout)
        problem = _same(flow, resent, window, f"after {trigger}") or _nothing_more(
            flow, window, f"after {trigger} brought the window again")
        if problem:
            return problem
        window = resent
    return None


def _restart_refills(flow: SenderFlow) -> str | None:
    w = flow.window
    node = flow.node
    sent = _start(flow, w + 1)
    problem = _in_order(flow, sent, w)
    if problem:
        return problem
    node.restart()
    first = flow.next(node.timeout)
    if first is None:
        node.clock_advance(node.retry_interval + PAST_RETRY)
        first = flow.next(node.timeout)
    if first is None:
        return f"after the restart the first unacknowledged {flow.what} was never resent"
    if first[1].header.message_id != sent[0][1].header.message_id or first[2] != sent[0][2]:
        return (f"after the restart {_label(flow, first)} came first, not the first "
                "unacknowledged one with its message id and content")
    # One more numbered now: w + 2 unacknowledged, so it may not go on the wire before
    # the w ahead of it, however many of them the node resent so far.
    flow.make(1)
    node.acknowledge(first[0], first[1], flow.peer)
    rest = _window_of(flow, w, node.timeout)
    problem = _in_order(flow, rest, w, flow.number(sent[0]) + 1)
    if problem:
        return f"after the restart, once the first was acknowledged: {problem}"
    for old, new in zip(sent[1:], rest, strict=False):
        if new[1].header.message_id != old[1].header.message_id or new[2] != old[2]:
            return (f"after the restart {_label(flow, new)} came under another message "
                    "id or with other content")
    return _nothing_more(flow, [first, *rest], "after the restart, beyond the window")


def _stalled_sends_nothing(flow: SenderFlow) -> str | None:
    node = flow.node
    sent = _start(flow, 1)
    node.report_error(sent[0][0], sent[0][1], flow.peer, int(ErrorCode.INVALID_FIELD))
    problem = _nothing_more(flow, sent, "after error 1024 INVALID_FIELD")
    if problem is None:
        flow.make(1)
        problem = _nothing_more(flow, sent, "for a change made after the final refusal, "
                                f"the send window ({flow.window}) having room")
    node.restart()
    return problem


#: Each case: (id ending, what it expects, how it runs, needs).
SCENARIOS: dict[str, tuple[str, Callable[[SenderFlow], str | None], str]] = {
    "fills-then-refills": (
        "{n} {what}s numbered while none is acknowledged: exactly the first {w} on the "
        "wire, numbered one after another, nothing more; the acknowledgement of the first "
        "brings the next number and nothing else", _fills_then_refills, "ixit.clock"),
    "resends-from-first": (
        "{w} {what}s unacknowledged after the first of {n} was acknowledged: the retry "
        "interval, error 4004 and error 9002 on the first each bring the {w} again, from "
        "the first, in order, with their message ids and content, and nothing more",
        _resends_from_first, "ixit.clock"),
    "restart-refills-from-first": (
        "{n} {what}s numbered, {w} on the wire, then a restart: the first unacknowledged "
        "one first, with its message id and content; one more numbered; once the first "
        "is acknowledged the next {w} from the next number on, in order, and no more",
        _restart_refills,
        "ixit.restart ixit.clock"),
    "stalled-window-sends-nothing": (
        "one {what} on the wire refused with error 1024: no resend, and a {what} "
        "numbered after it not sent although the send window has room",
        _stalled_sends_nothing, "ixit.restart ixit.clock"),
}


def _run(scenario: str, relays: bool) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node: NodeSut = node_sut(sut)
        flow = SenderFlow(node, relays)
        w = flow.window
        text, play, _needs = SCENARIOS[scenario]
        expected = text.format(n=w + 1, w=w, what=flow.what) + f" (send window {w})"
        try:
            problem = play(flow)
        finally:
            _settle(flow)
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        return Outcome(Verdict.PASS, expected, f"as expected with a send window of {w}")
    return run


def window_cases() -> list[Case]:
    """The cases of this module (municipality and prefecture SUTs)."""
    cases: list[Case] = []
    for role, clause in (("municipality", "30-5"), ("prefecture", "30-11")):
        relays = role == "prefecture"
        for scenario, (text, _play, needs) in SCENARIOS.items():
            reqs = {"fills-then-refills": REQS_RELAYS if relays else REQS_UPDATES,
                    "resends-from-first": REQS_RESEND_RELAYS if relays
                    else REQS_RESEND_UPDATES,
                    "restart-refills-from-first": REQS_RESTART_RELAYS if relays
                    else REQS_RESTART_UPDATES,
                    "stalled-window-sends-nothing": REQS_STALL_RELAYS if relays
                    else REQS_STALL_UPDATES}[scenario]
            what = "relay" if relays else "update"
            cases.append(NodeCase(
                id=f"{clause}/node/send-window/{role}/{scenario}",
                title=text.format(n="w + 1", w="w", what=what),
                clause=clause, requirements=reqs, level=strongest_level(reqs),
                remediation=REMEDIATION, mode="node", ops=(), run=_run(scenario, relays),
                role=role, needs=needs))
    return cases


__all__ = ["window_cases"]
