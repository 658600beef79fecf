"""Node-mode cases on the identity info flow through its upper tiers, Arts. 30-5 and
30-11 (spec/identity.md): sequences of several updates, resident code changes followed
by uses of the old and the new code at each tier, and transient refusals followed by
the resends.

- The prefecture under test (270008): the runner plays its municipality 271004 (to
  which no case designates codes, so that R-30-7-1-05 checks none of its codes) and
  the designated centre DC01 its relays go to. A code retired by a relayed resident
  code change is refused 5021 in a later update, and the new code is taken
  (R-30-5-0-04); three updates applied are relayed in order, each relay once, and a
  replayed, a conflicting and an early update are not relayed; the first relay is
  refused 9002 and resent with the same id, the others following as each is
  acknowledged (R-30-11-0-01, R-30-11-0-02, R-30-5-0-06, R-30-5-0-10).
- The designated centre under test (DC01): the runner plays the prefecture 270008.
  The same code change, relayed, retires the old code there (R-30-5-0-04 for the
  update a relay carries).
- The municipality under test (271004): the runner plays its prefecture 270008 and
  refuses one update 9002 three times in a row: the waits before the resends SHOULD
  grow, 1 s, 2 s, 4 s, and after an acknowledgement the next refusal SHOULD be waited
  out as the first one (R-30-5-0-11, R-TIME-03); the updates behind it follow, in
  order.
- Both senders (the municipality's updates, the prefecture's relays) with two messages
  unacknowledged across a restart: the first is resent, its acknowledgement taken, and
  the second follows (R-PDU-23, R-30-5-0-05, R-30-11-0-02).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import secrets
import time
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase, describe
from juki_conformance.cases_node_retention import settle_relays
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.node_steps import (
    error_text,
    expect_ack,
    held_state,
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
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.designation import new_designated_code
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import AckStatus, JukiPdu

MUNICIPALITY, PREFECTURE, NATIONAL = "271004", "270008", "DC01"
#: Seconds the runner waits, on the node's own clock, for a resend after a transient
#: refusal before it moves the clock past the retry interval.
RESEND_WAIT = 10.0
#: Seconds the clock moves to let any retry fall due: past R-NODE-63's 60 s.
RETRY_WAIT = 65.0
#: R-TIME-03: the waits after three transient refusals in a row and after one that
#: follows an acknowledgement (1 s, doubling; the first again after an acknowledgement),
#: and how far a measured wait may stray from them: a timer never fires early, but a
#: loaded machine may run it late, so a wait may be up to twice as long plus half a
#: second (still short of the next wait of the schedule plus its own slack).
SCHEDULE = (1.0, 2.0, 4.0, 1.0)
LOW, HIGH, SLACK = 0.75, 2.0, 0.5
_RNG = random.SystemRandom()

REM_RETIRED = ("Retire the old code of every resident code change you apply (an update, "
               "or the update a relay carries), and refuse with 5021 RESIDENT_CODE_RETIRED, "
               "storing nothing, any later update or relay whose resident code is a "
               "retired one; keep taking updates under the new code (R-30-5-0-04, R-ID-03).")
REM_RELAYS = ("Relay every update you apply exactly once, in the order applied, numbered "
              "without a gap; after a transient refusal (9001-9003) of a relay, keep it and "
              "resend it with the same message id, and send each following relay once the "
              "one before is acknowledged (R-30-11-0-01, R-30-11-0-02, R-30-5-0-10).")
REM_BACKOFF = ("After a transient refusal (9001-9003) of an update, wait before resending "
               "it, longer after each further refusal of it in a row (1 s, 2 s, 4 s...), "
               "and start again from the first wait after an acknowledgement "
               "(R-30-5-0-11, R-TIME-03).")
REM_RESTART = ("After a restart, resend the first unacknowledged update or relay at once "
               "with its message id, take its acknowledgement as before the restart, and "
               "then send the next one (R-PDU-23, R-30-5-0-05, R-30-11-0-02).")


# The upper tiers: a code change, then the old and the new code ---------------------------

def _person() -> SyntheticResident:
    seed = f"conformance:identity-paths:{secrets.token_hex(8)}"
    return generate_households(1, seed, municipalities=[MUNICIPALITY])[0].head


def _updates(first: int) -> tuple[str, str, list[IdentityInfoUpdate]]:
    """A person moved in under code R, R changed to X, a second person moved in under
    R, and the first person's correction under X, numbered from ``first``: the old
    code, the new code and the four updates."""
    person, other = _person(), _person()
    info = person.identity_info(Profile.CURRENT)
    old = info.resident_code
    new = new_designated_code(_RNG, MUNICIPALITY)
    when = dt.date(2026, 4, 1)

    def update(seq: int, op: UpdateOperation, reason: ChangeReason, code: str,
               who: SyntheticResident, previous: str | None = None) -> IdentityInfoUpdate:
        return IdentityInfoUpdate(
            municipality=MUNICIPALITY, update_sequence=seq, operation=op,
            identity_info=dataclasses.replace(who.identity_info(Profile.CURRENT),
                                              resident_code=code),
            change_info=ChangeInfo(change_reason=reason, change_date=when),
            previous_resident_code=previous)
    return old, new, [
        update(first, UpdateOperation.RECORD, ChangeReason.MOVE_IN, old, person),
        update(first + 1, UpdateOperation.CORRECT, ChangeReason.RESIDENT_CODE_CHANGE, new,
               person, previous=old),
        update(first + 2, UpdateOperation.RECORD, ChangeReason.MOVE_IN, old, other),
        update(first + 2, UpdateOperation.CORRECT, ChangeReason.CORRECTION, new, person)]


def _retired_refused(national: bool) -> Callable[[AdapterSut], Outcome]:
    """A case: at the prefecture (or the centre, through relays of 270008) a person
    moves in under R, R changes to X; a second person moving in under R is refused
    5021 with nothing stored, and a correction under X is applied."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        tier = "relay" if national else "update"
        expected = (f"the {tier}s recording R and changing R to X acknowledged; a later "
                    f"{tier} recording another person under R refused with "
                    f"{error_text(ErrorCode.RESIDENT_CODE_RETIRED)}, nothing stored; a "
                    f"{tier} correcting the person under X acknowledged")
        source = PREFECTURE if national else MUNICIPALITY
        first = last_sequence(node.status(), source) + 1
        _, _, updates = _updates(1 if national else first)
        conn = node.connect(source)
        try:
            def send(i: int, message: object) -> JukiPdu | None:
                mid, pdu = node.sealed(message, sender=source)
                conn.send(pdu)
                return conn.answer_to(mid)

            def wrap(i: int, seq: int) -> object:
                return IdentityInfoRelay(prefecture=PREFECTURE, relay_sequence=seq,
                                         update=updates[i]) if national else updates[i]
            for i, step in ((0, "recording R"), (1, "changing R to X")):
                wrong = expect_ack(send(i, wrap(i, first + i)), AckStatus.ACCEPTED)
                if wrong:
                    raise Inconclusive(f"the {tier} {step} got {wrong}")
            before = node.status()
            again = send(2, wrap(2, first + 2))
            after = node.status()
            fixed = send(3, wrap(3, first + 2))
        finally:
            conn.close()
        if not is_error(again, ErrorCode.RESIDENT_CODE_RETIRED):
            return Outcome(Verdict.FAIL, expected, f"the {tier} recording another person "
                           f"under the retired code got {describe(again)}")
        if held_state(after) != held_state(before):
            return Outcome(Verdict.FAIL, expected, f"the {tier} under the retired code was "
                           "refused, but the status changed")
        wrong = expect_ack(fixed, AckStatus.ACCEPTED)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"the {tier} correcting the person under "
                           f"the new code got {wrong}")
        return Outcome(Verdict.PASS, expected, "5021 for the old code, the new one taken")
    return run


# The prefecture's relays: several in order, the first refused for now ----------------------



def _relays_in_order(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("three updates applied, relayed as three relays numbered n+1..n+3 in the "
                "order applied, each carrying its update, and no relay of a replayed, "
                "conflicting or early update (acknowledged duplicate, 4004, 4004); the "
                "first relay refused 9002 and "
                "resent with the same message id, each next one sent once the one before "
                "is acknowledged; none sent twice once acknowledged")
    settle_relays(node)
    node.drain(NATIONAL)
    first = last_sequence(node.status(), MUNICIPALITY) + 1
    people = [_person() for _ in range(3)]
    updates = [IdentityInfoUpdate(
        municipality=MUNICIPALITY, update_sequence=first + i,
        operation=UpdateOperation.RECORD, identity_info=p.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.BIRTH, change_date=p.birth_date))
        for i, p in enumerate(people)]
    # Beside the three: a replay of the second (acknowledged duplicate), another update
    # under the second's number (4004) and one beyond the next number (4004), none of
    # which is relayed (R-30-5-0-06, R-30-11-0-01).
    other = _person()
    stray: list[tuple[IdentityInfoUpdate, AckStatus | ErrorCode]] = [
        (updates[1], AckStatus.DUPLICATE),
        (dataclasses.replace(updates[1], identity_info=other.identity_info(
            Profile.CURRENT)), ErrorCode.OUT_OF_ORDER),
        (dataclasses.replace(updates[2], update_sequence=first + 4,
                             identity_info=other.identity_info(Profile.CURRENT)),
         ErrorCode.OUT_OF_ORDER)]
    conn = node.connect(MUNICIPALITY)
    try:
        for update in updates:
            mid, sealed = node.sealed(update, sender=MUNICIPALITY)
            conn.send(sealed)
            wrong = expect_ack(conn.answer_to(mid), AckStatus.ACCEPTED)
            if wrong:
                raise Inconclusive(f"update {update.update_sequence} got {wrong}")
        for update, want in stray:
            mid, sealed = node.sealed(update, sender=MUNICIPALITY)
            conn.send(sealed)
            answer = conn.answer_to(mid)
            wrong = expect_ack(answer, want) if isinstance(want, AckStatus) else (
                None if is_error(answer, want) else describe(answer))
            if wrong:
                return Outcome(Verdict.FAIL, expected, f"update {update.update_sequence} "
                               f"({'a replay' if want is AckStatus.DUPLICATE else 'stray'})"
                               f" got {wrong}")
    finally:
        conn.close()
    got = next_relay(node, node.timeout)
    if got is None:
        return Outcome(Verdict.FAIL, expected, "no relay reached the centre")
    refused = got[1].header.message_id
    # The relays behind the first that the send window puts on the wire with it are
    # read, not answered: after the refusal the first must come first (R-30-5-0-13).
    for _ in range(min(send_window(node), 3) - 1):
        next_relay(node, RESEND_WAIT / 4)
    node.report_error(got[0], got[1], NATIONAL, int(ErrorCode.OVERLOADED))
    seen: list[IdentityInfoRelay] = []
    acked: set[bytes] = set()
    problem = None
    deadline = time.monotonic() + 4 * node.timeout
    while len(seen) < 3 and time.monotonic() < deadline:
        nxt = next_relay(node, RESEND_WAIT)
        if nxt is None:
            node.clock_advance(RETRY_WAIT)
            nxt = next_relay(node, node.timeout)
            if nxt is None:
                problem = f"after {len(seen)} relay(s) acknowledged no next relay came"
                break
        conn_r, pdu, relay = nxt
        if pdu.header.message_id in acked:
            problem = f"relay {relay.relay_sequence} sent again after it was acknowledged"
            break
        if relay.update not in updates:
            problem = f"relay {relay.relay_sequence} carries an update not applied"
            break
        if not seen and pdu.header.message_id != refused:
            problem = ("after 9002 another relay than the refused one came first "
                       f"(relay {relay.relay_sequence})")
            break
        node.acknowledge(conn_r, pdu, NATIONAL)
        acked.add(pdu.header.message_id)
        seen.append(relay)
    if problem is None and len(seen) < 3:
        problem = f"only {len(seen)} of 3 relays came"
    if problem is None:
        numbers = [r.relay_sequence for r in seen]
        if numbers != list(range(numbers[0], numbers[0] + 3)):
            problem = f"relays numbered {numbers}"
        elif [r.update for r in seen] != updates:
            problem = "the relays do not carry the updates as applied, in order"
        elif any(r.prefecture != PREFECTURE for r in seen):
            problem = "a relay names another prefecture"
    if problem is None:
        extra = next_relay(node, 0.5)
        if extra is not None and extra[1].header.message_id in acked:
            problem = f"relay {extra[2].relay_sequence} sent again after it was acknowledged"
        elif extra is not None and extra[2].update not in updates:
            problem = f"relay {extra[2].relay_sequence} carries an update not applied"
        elif extra is not None:
            node.acknowledge(extra[0], extra[1], NATIONAL)
    settle_relays(node)
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, f"relays {seen[0].relay_sequence}.."
                   f"{seen[-1].relay_sequence} in order, the refused one resent")


# The municipality's back-off --------------------------------------------------------------

def _resend_after(node: NodeSut, mid: bytes) -> tuple[float, tuple[PeerConnection, JukiPdu]]:
    """The seconds until ``mid`` comes again (the clock moved past the retry interval
    after :data:`RESEND_WAIT`: counted as that wait plus the move), and the PDU."""
    start = time.monotonic()
    got = next_update(node, RESEND_WAIT)
    waited = time.monotonic() - start
    if got is None:
        node.clock_advance(RETRY_WAIT)
        got = next_update(node, node.timeout)
        waited = RESEND_WAIT + RETRY_WAIT
    if got is None:
        raise SutFault("a refused update was not resent after the retry interval")
    if got[1].header.message_id != mid:
        raise SutFault("another update came in place of the refused one (R-30-5-0-10)")
    return waited, got


def _behind(node: NodeSut, mid: bytes) -> tuple[PeerConnection, JukiPdu] | None:
    """With a send window of 2 or more, the second update ``mid``, which the node puts on
    the wire behind the first (R-30-5-0-13); None with a window of 1."""
    if send_window(node) < 2:
        return None
    got = next_update(node, node.timeout)
    if got is None or got[1].header.message_id != mid:
        raise SutFault("the update behind the first did not come with it, within the "
                       "send window (R-30-5-0-13)")
    return got


def _backoff_grows(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    pref = node.prefecture
    expected = ("an update refused 9002 three times in a row is resent after waits that "
                "grow, about 1 s, 2 s and 4 s (R-TIME-03); acknowledged, the next update "
                "refused 9002 once is resent after about 1 s again; every update sent in "
                "order, with the same message id when resent")
    settle_by_clock(node, RETRY_WAIT)
    node.drain(pref)
    seed = f"conformance:identity-paths:{secrets.token_hex(8)}"
    codes = [(upper_ok(node, "register_resident", seed=f"{seed}:{i}").get("residentCodes")
              or [None])[0] for i in range(2)]
    if None in codes:
        raise Inconclusive("register_resident gave no resident codes")
    ids = [upper_ok(node, "record_change", residentCode=str(code), reason="moveIn")
           for code in codes]
    mids = [bytes.fromhex(str(i.get("messageId"))) for i in ids]
    waits: list[float] = []
    # With a send window of 2 or more the second update goes on the wire with the
    # first, and again behind each resend of the first (R-30-5-0-13): read, not
    # answered; after the acknowledgement of the first it is not sent again.
    behind: tuple[PeerConnection, JukiPdu] | None = None
    try:
        got = next_update(node, node.timeout)
        if got is None or got[1].header.message_id != mids[0]:
            return Outcome(Verdict.FAIL, expected, "the first update did not reach the "
                           "prefecture first")
        behind = _behind(node, mids[1])
        for _ in range(3):
            node.report_error(got[0], got[1], pref, int(ErrorCode.OVERLOADED))
            waited, got = _resend_after(node, mids[0])
            waits.append(waited)
            behind = _behind(node, mids[1])
        node.acknowledge(got[0], got[1], pref)
        nxt = behind or next_update(node, node.timeout)
        if nxt is None or nxt[1].header.message_id != mids[1]:
            came = "nothing" if nxt is None else "another update"
            return Outcome(Verdict.FAIL, expected, "after the acknowledgement the update "
                           f"queued behind did not come next: {came}")
        node.report_error(nxt[0], nxt[1], pref, int(ErrorCode.OVERLOADED))
        waited, nxt = _resend_after(node, mids[1])
        waits.append(waited)
        node.acknowledge(nxt[0], nxt[1], pref)
    finally:
        settle_by_clock(node, RETRY_WAIT)
    said = ", ".join(f"{w:.2f} s" for w in waits)
    for wait, want in zip(waits, SCHEDULE, strict=True):
        if not want * LOW <= wait <= want * HIGH + SLACK:
            return Outcome(Verdict.FAIL, expected, f"waits {said}, not about "
                           f"{', '.join(f'{w:g} s' for w in SCHEDULE)} (R-TIME-03)")
    return Outcome(Verdict.PASS, expected, f"waits {said}")


# A restart with messages unacknowledged: the acknowledgement after it is taken ------------

def _updates_after_restart(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    pref = node.prefecture
    expected = ("two updates unacknowledged across a restart: the first resent with its "
                "message id, and once acknowledged the second sent, then nothing left "
                "unacknowledged")
    settle_by_clock(node, RETRY_WAIT)
    node.drain(pref)
    seed = f"conformance:identity-paths:{secrets.token_hex(8)}"
    codes = [(upper_ok(node, "register_resident", seed=f"{seed}:{i}").get("residentCodes")
              or [None])[0] for i in range(2)]
    if None in codes:
        raise Inconclusive("register_resident gave no resident codes")
    mids = [bytes.fromhex(str(upper_ok(node, "record_change", residentCode=str(code),
                                       reason="moveIn").get("messageId")))
            for code in codes]
    try:
        if next_update(node, node.timeout) is None:
            return Outcome(Verdict.FAIL, expected, "no update reached the prefecture")
        # With a send window of 2 or more the second is on the wire too (R-30-5-0-13).
        for _ in range(min(send_window(node), 2) - 1):
            next_update(node, RESEND_WAIT / 4)
        node.restart()
        problem = _take_in_turn(node, mids, lambda: next_update(node, node.timeout),
                                pref, "update")
        left = (node.status().get("updates") or {}).get("unacknowledged")
    finally:
        settle_by_clock(node, RETRY_WAIT)
    if problem is None and left:
        problem = f"both acknowledged, but status shows {left} unacknowledged"
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "resent, acknowledged, the next one followed")


def _take_in_turn(node: NodeSut, mids: list[bytes],
                  nxt: Callable[[], tuple[PeerConnection, JukiPdu] | None], peer: str,
                  what: str) -> str | None:
    """Acknowledge, as ``peer``, the messages ``mids`` as they come (the clock moved past
    the retry interval once when one does not come); None if they come in turn."""
    for i, mid in enumerate(mids):
        got = nxt()
        if got is None:
            node.clock_advance(RETRY_WAIT)
            got = nxt()
        if got is None:
            return f"{what} {i + 1} of {len(mids)} never came after the restart"
        if got[1].header.message_id != mid:
            before = "the one before again" if i and got[1].header.message_id == mids[
                i - 1] else "another message"
            return (f"in place of {what} {i + 1} of {len(mids)} came {before}: the "
                    "acknowledgement after the restart was not taken")
        node.acknowledge(got[0], got[1], peer)
    return None


def _relays_after_restart(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("two relays unacknowledged across a restart: the first resent with its "
                "message id, and once acknowledged the second sent, then nothing left "
                "unacknowledged")
    settle_relays(node)
    node.drain(NATIONAL)
    first = last_sequence(node.status(), MUNICIPALITY) + 1
    conn = node.connect(MUNICIPALITY)
    try:
        for seq in (first, first + 1):
            p = _person()
            mid, sealed = node.sealed(IdentityInfoUpdate(
                municipality=MUNICIPALITY, update_sequence=seq,
                operation=UpdateOperation.RECORD, identity_info=p.identity_info(
                    Profile.CURRENT), change_info=ChangeInfo(
                    change_reason=ChangeReason.BIRTH, change_date=p.birth_date)),
                sender=MUNICIPALITY)
            conn.send(sealed)
            wrong = expect_ack(conn.answer_to(mid), AckStatus.ACCEPTED)
            if wrong:
                raise Inconclusive(f"update {seq} got {wrong}")
    finally:
        conn.close()
    got = next_relay(node, node.timeout)
    if got is None:
        return Outcome(Verdict.FAIL, expected, "no relay reached the centre")
    # With a send window of 2 or more the second is on the wire too (R-30-5-0-13).
    for _ in range(min(send_window(node), 2) - 1):
        next_relay(node, RESEND_WAIT / 4)
    try:
        node.restart()
        again = next_relay(node, node.timeout)
        if again is None:
            node.clock_advance(RETRY_WAIT)
            again = next_relay(node, node.timeout)
        if again is None or again[1].header.message_id != got[1].header.message_id:
            return Outcome(Verdict.FAIL, expected, "the unacknowledged relay was not "
                           "resent first after the restart")
        node.acknowledge(again[0], again[1], NATIONAL)
        second = next_relay(node, node.timeout)
        if second is None:
            node.clock_advance(RETRY_WAIT)
            second = next_relay(node, node.timeout)
        if second is None or second[1].header.message_id == got[1].header.message_id:
            return Outcome(Verdict.FAIL, expected, "after the acknowledgement the next "
                           "relay did not come: the acknowledgement after the restart "
                           "was not taken")
        if second[2].relay_sequence != again[2].relay_sequence + 1:
            return Outcome(Verdict.FAIL, expected, "the relay after the resent one is "
                           "not numbered one more")
        node.acknowledge(second[0], second[1], NATIONAL)
        left = (node.status().get("relays") or {}).get("unacknowledged")
    finally:
        settle_relays(node)
    if left:
        return Outcome(Verdict.FAIL, expected, f"both acknowledged, but status shows "
                       f"{left} unacknowledged")
    return Outcome(Verdict.PASS, expected, "resent, acknowledged, the next one followed")


def identity_path_cases() -> list[Case]:
    """The cases of this module (prefecture, national and municipality SUTs)."""
    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], role: str, needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause=cid.split("/node/")[0],
                        requirements=reqs, level=strongest_level(reqs), remediation=rem,
                        mode="node", ops=(), run=run, role=role, needs=needs)
    return [
        case("30-5/node/identity-paths/prefecture/retired-code-refused",
             "after a resident code change R to X, an update recording anyone under R is "
             "refused 5021, nothing stored; an update under X is taken",
             ("R-30-5-0-04", "R-30-5-0-06"), REM_RETIRED, _retired_refused(False),
             "prefecture"),
        case("30-11/node/identity-paths/national/retired-code-refused",
             "after a relayed resident code change R to X, a relay recording anyone under "
             "R is refused 5021, nothing stored; a relay under X is taken",
             ("R-30-5-0-04", "R-30-11-0-02"), REM_RETIRED, _retired_refused(True),
             "national"),
        case("30-11/node/identity-paths/prefecture/relays-in-order-after-busy",
             "three applied updates are relayed in order, once each, the first refused "
             "9002 and resent with the same id, the next ones following the acks",
             ("R-30-11-0-01", "R-30-11-0-02", "R-30-5-0-06", "R-30-5-0-10"), REM_RELAYS,
             _relays_in_order,
             "prefecture", "ixit.clock"),
        case("30-5/node/identity-paths/municipality/backoff-grows-and-resets",
             "an update refused 9002 three times in a row is resent after growing waits; "
             "after an acknowledgement the first wait applies again",
             ("R-30-5-0-11", "R-TIME-03"), REM_BACKOFF, _backoff_grows, "municipality",
             "ixit.clock"),
        case("30-5/node/identity-paths/municipality/acked-after-restart-then-next",
             "two updates unacknowledged across a restart: the first resent and "
             "acknowledged, then the second sent",
             ("R-30-5-0-05", "R-PDU-23"), REM_RESTART, _updates_after_restart,
             "municipality", "ixit.restart"),
        case("30-11/node/identity-paths/prefecture/acked-after-restart-then-next",
             "two relays unacknowledged across a restart: the first resent and "
             "acknowledged, then the second sent",
             ("R-30-11-0-02", "R-PDU-23"), REM_RESTART, _relays_after_restart,
             "prefecture", "ixit.restart"),
    ]


__all__ = ["identity_path_cases"]
