"""Node-mode cases on a final refusal of a numbered message, Arts. 30-5 and 30-11
(spec/identity.md, R-30-5-0-12): an error report other than 4004 OUT_OF_ORDER and the
transient 9001, 9002 and 9003 stops the sender until an operator intervenes.

- The municipality under test (271004): the runner plays its prefecture 270008. Two
  changes are recorded (with a send window of 2 or more, R-30-5-0-13, both are on the
  wire before the answer); the first update is refused with a final code (1024
  INVALID_FIELD, below 4004, and 5021 RESIDENT_CODE_RETIRED, above it). For a few
  seconds, after the clock has moved past the retry interval, and after a third change,
  nothing more may come: no resend of the refused update and no later update in its
  place (a gap the prefecture would refuse for ever); the status still shows the three
  updates unacknowledged. At a restart the refused update is resent first with its
  message id and content (R-NODE-03), and the two behind it follow in order once it is
  acknowledged (each after the one before, or together as the send window allows).
- The prefecture under test (270008): the same for its relays to the designated centre
  DC01, which the runner plays (1024 INVALID_FIELD and 5010 DATA_MINIMISATION).

The restart is also how each case leaves the node able to send again: the upper tester
has no op for the operator's intervention.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node_retention import settle_relays
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.node_steps import (
    error_text,
    expect_ack,
    is_error,
    last_sequence,
    next_relay,
    next_update,
    node_sut,
    send_window,
    settle_by_clock,
    upper_ok,
)
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import AckStatus, JukiPdu

MUNICIPALITY, NATIONAL = "271004", "DC01"
#: Seconds the runner listens, on the wall clock, for anything the node sends after the
#: refusal: longer than the first back-off of a sender that took it for transient
#: (R-TIME-03: 1 s), before and again after the clock moved past the retry interval.
QUIET = 3.0
#: Seconds beyond the node's retry interval the clock moves (R-NODE-63).
PAST_RETRY = 5.0

#: The requirements of the municipality's and of the prefecture's cases: the stall, the
#: resend at a restart and the numbering without a gap.
REQS_UPDATES = ("R-30-5-0-12", "R-NODE-03", "R-30-5-0-05")
REQS_RELAYS = ("R-30-5-0-12", "R-NODE-03", "R-30-11-0-02")
REM_UPDATES = ("Take an error report on your first unacknowledged update with any code "
               "but 4004 and 9001-9003 as final: keep that update and the ones behind it "
               "unacknowledged, send nothing more to the prefecture (no resend, no later "
               "number) until an operator intervenes; at a restart resend that update "
               "first, with its message id (R-30-5-0-12, R-NODE-03).")
REM_RELAYS = ("Take an error report on your first unacknowledged relay with any code but "
              "4004 and 9001-9003 as final: keep that relay and the ones behind it "
              "unacknowledged, send nothing more to the centre (no resend, no later "
              "number) until an operator intervenes; at a restart resend that relay "
              "first, with its message id (R-30-5-0-12, R-NODE-03).")

#: What the node sent a peer: the connection, the PDU and the opened message.
Sent = tuple[PeerConnection, JukiPdu, object]


def _next_update(node: NodeSut, timeout: float) -> Sent | None:
    """The next update the municipality under test sends its prefecture within
    ``timeout`` seconds, opened; other PDUs are passed over."""
    got = next_update(node, timeout)
    return None if got is None else (got[0], got[1], node.opened(got[1], node.prefecture))


class SenderFlow:
    """One sequenced sender under test (the municipality's updates, or with ``relays``
    the prefecture's relays): how its messages are made, read, numbered and counted."""

    def __init__(self, node: NodeSut, relays: bool) -> None:
        self.node = node
        self.relays = relays
        self.peer = NATIONAL if relays else node.prefecture
        self.what = "relay" if relays else "update"

    @property
    def window(self) -> int:
        """The send window the ICS declares (``limits.sendWindow``, R-30-5-0-13): how
        many messages the node may have on the wire unacknowledged; 1 when undeclared."""
        return send_window(self.node)

    @staticmethod
    def number(sent: Sent) -> int:
        """The sequence number of a message the node sent (update or relay)."""
        message = sent[2]
        if isinstance(message, IdentityInfoRelay):
            return message.relay_sequence
        assert isinstance(message, IdentityInfoUpdate)
        return message.update_sequence

    def settle(self) -> None:
        if self.relays:
            settle_relays(self.node)
        else:
            settle_by_clock(self.node, self.node.retry_interval + PAST_RETRY)

    def unacknowledged(self) -> object:
        held = self.node.status().get("relays" if self.relays else "updates") or {}
        return held.get("unacknowledged")

    def next(self, timeout: float) -> Sent | None:
        if self.relays:
            return next_relay(self.node, timeout)
        return _next_update(self.node, timeout)

    def make(self, count: int, failed_commit: bool = False) -> None:
        """Make the node number ``count`` more messages (each queued behind the one
        before): changes recorded, or updates applied at the prefecture; with
        ``failed_commit`` (prefecture), the first update is sent once before, to fail
        with 9003 STORAGE_FAILURE as the node's commit fails (R-PDU-22)."""
        node = self.node
        seed = f"conformance:final-refusal:{secrets.token_hex(8)}"
        if not self.relays:
            codes = [(upper_ok(node, "register_resident", seed=f"{seed}:{i}")
                      .get("residentCodes") or [None])[0] for i in range(count)]
            if None in codes:
                raise Inconclusive("register_resident gave no resident codes")
            for code in codes:
                upper_ok(node, "record_change", residentCode=str(code), reason="moveIn")
            return
        first = last_sequence(node.status(), MUNICIPALITY) + 1
        people = [h.head for h in generate_households(count, seed,
                                                      municipalities=[MUNICIPALITY])]
        conn = node.connect(MUNICIPALITY)
        try:
            for i, person in enumerate(people):
                update = IdentityInfoUpdate(
                    municipality=MUNICIPALITY, update_sequence=first + i,
                    operation=UpdateOperation.RECORD,
                    identity_info=person.identity_info(Profile.CURRENT),
                    change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                           change_date=person.birth_date))
                if failed_commit and not i:
                    node.fail_next_commit()
                    mid, sealed = node.sealed(update, sender=MUNICIPALITY)
                    conn.send(sealed)
                    if not is_error(conn.answer_to(mid), ErrorCode.STORAGE_FAILURE):
                        raise Inconclusive(f"update {first} was not refused 9003 as the "
                                           "node's commit failed")
                mid, sealed = node.sealed(update, sender=MUNICIPALITY)
                conn.send(sealed)
                wrong = expect_ack(conn.answer_to(mid), AckStatus.ACCEPTED)
                if wrong:
                    raise Inconclusive(f"update {first + i} got {wrong}")
        finally:
            conn.close()


def _quiet(flow: SenderFlow, refused: Sent, after: str) -> str | None:
    """None when nothing numbered comes within :data:`QUIET` seconds; else what came."""
    got = flow.next(QUIET)
    if got is None:
        return None
    if got[1].header.message_id == refused[1].header.message_id:
        return f"the refused {flow.what} was resent {after}"
    return f"another {flow.what} was sent {after}, the refused one not acknowledged"


def _stalls(code: ErrorCode, relays: bool, failed_commit: bool = False
            ) -> Callable[[AdapterSut], Outcome]:
    """A case: the first of two messages refused with the final ``code``; nothing
    more sent, not even a third message numbered after the refusal, the three kept
    unacknowledged; at a restart the refused one first, then the others in turn."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        flow = SenderFlow(node, relays)
        what = flow.what
        expected = (f"the first of two {what}s refused with {error_text(code)}: nothing "
                    f"more sent to {flow.peer} within {QUIET:g} s nor after the clock "
                    "moved past the retry interval nor after a third one was numbered "
                    f"(no resend, no later number), the status showing the three {what}s "
                    f"unacknowledged; after a restart the refused {what} resent first "
                    "with its message id and content, each next one once the one before "
                    "is acknowledged")
        flow.settle()
        node.drain(flow.peer)
        flow.make(2)
        problem: str | None = None
        try:
            first = flow.next(node.timeout)
            if first is None:
                raise Inconclusive(f"no {what} reached {flow.peer}")
            # With a send window of 2 or more the second is on the wire too before the
            # refusal (R-30-5-0-13): read, not answered.
            for _ in range(min(flow.window, 2) - 1):
                flow.next(QUIET)
            node.report_error(first[0], first[1], flow.peer, int(code))
            problem = _quiet(flow, first, f"after {error_text(code)}")
            if problem is None:
                node.clock_advance(node.retry_interval + PAST_RETRY)
                problem = _quiet(flow, first, "once the retry interval had passed")
            if problem is None:
                # A message numbered after the refusal is queued behind it, not sent.
                flow.make(1, failed_commit)
                problem = _quiet(flow, first, "for a change made after the refusal" + (
                    " (the first try of its update failed 9003)" if failed_commit else ""))
            if problem is None and flow.unacknowledged() != 3:
                problem = (f"after the refusal the status shows {flow.unacknowledged()} "
                           f"{what}s unacknowledged, not 3: the refused {what} or one "
                           "behind it was dropped")
            if problem is None:
                problem = _after_restart(flow, first, 2)
        finally:
            try:
                flow.settle()
            except (Inconclusive, SutFault):
                # A node that failed the case may never settle: the failure stands.
                if problem is None:
                    raise
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        return Outcome(Verdict.PASS, expected, "nothing sent after the refusal, the "
                       "three kept; after the restart the refused one first, then the rest")
    return run


def _after_restart(flow: SenderFlow, refused: Sent, behind: int) -> str | None:
    """Restart the node: the refused message must come first, unchanged, and each of
    the ``behind`` messages queued after it only once the one before is acknowledged,
    in order; None if so."""
    node = flow.node
    node.restart()
    seen = [refused[1].header.message_id]
    for i in range(behind + 1):
        got = flow.next(node.timeout)
        if got is None:
            node.clock_advance(node.retry_interval + PAST_RETRY)
            got = flow.next(node.timeout)
        if got is None:
            return (f"after the restart the refused {flow.what} was never resent" if not i
                    else f"after the restart {flow.what} {i + 1} of {behind + 1} did not "
                    "follow the acknowledgement of the one before")
        mid = got[1].header.message_id
        if not i and mid != seen[0]:
            return (f"after the restart another {flow.what} came before the refused one "
                    "(a gap)")
        if not i and got[2] != refused[2]:
            return f"after the restart the refused {flow.what} came with other content"
        if i and mid in seen:
            return (f"after the restart an acknowledged {flow.what} came again in place "
                    f"of {flow.what} {i + 1} of {behind + 1}")
        if i:
            seen.append(mid)
        node.acknowledge(got[0], got[1], flow.peer)
    return None


def final_refusal_cases() -> list[Case]:
    """The cases of this module (municipality and prefecture SUTs)."""
    def case(clause: str, role: str, code: ErrorCode, failed_commit: bool = False) -> Case:
        relays = role == "prefecture"
        what = "relay" if relays else "update"
        reqs = REQS_RELAYS if relays else REQS_UPDATES
        ending = "stalled-through-failed-commit" if failed_commit \
            else f"stalls-after-{int(code)}"
        return NodeCase(
            id=f"{clause}/node/final-refusal/{role}/{ending}",
            title=f"the first of two {what}s refused {int(code)} {code.name}: nothing "
                  "more sent, even for a third"
                  + (" after a failed commit" if failed_commit else "")
                  + ", all kept unacknowledged; the refused one resent first at a restart",
            clause=clause, requirements=reqs, level=strongest_level(reqs),
            remediation=REM_RELAYS if relays else REM_UPDATES, mode="node", ops=(),
            run=_stalls(code, relays, failed_commit), role=role,
            needs="ixit.restart ixit.clock" + (" ixit.faultInjection" if failed_commit
                                                else ""))
    return [case("30-5", "municipality", ErrorCode.INVALID_FIELD),
            case("30-5", "municipality", ErrorCode.RESIDENT_CODE_RETIRED),
            case("30-11", "prefecture", ErrorCode.INVALID_FIELD),
            case("30-11", "prefecture", ErrorCode.DATA_MINIMISATION),
            case("30-11", "prefecture", ErrorCode.INVALID_FIELD, failed_commit=True)]


__all__ = ["SenderFlow", "Sent", "final_refusal_cases"]
