"""Node-mode cases on the retention of identity info (保存期間, R-30-5-0-09, R-NODE-05) at
a prefecture and at the national centre.

A superseded or erased version of a person's identity info is kept for the retention
period and then erased, except what an unacknowledged relay still has to carry; the
numbering goes on as before. The production period is set by Cabinet Order and is far
too long to wait for, so these cases need a node started for testing with a short one,
declared in the IXIT (``retentionSeconds``, at most an hour; the reference: ``juki node
serve --retention-seconds``), and its test clock (``ixit.clock``): they move the clock
past the period and read, through the upper tester's ``identity_versions``, how many
versions of one synthetic person the node still holds. The lower tester writes header
times from the node's clock, so the later cases' PDUs stay fresh.

At a prefecture the runner also plays the designated centre: it acknowledges the
relays the node sends before it moves the clock, so that only the versions it means to
keep are pinned by an unacknowledged relay.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable

from juki_conformance.cases_node import NodeCase, describe
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import node_sut
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import Address, ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import AckStatus

MUNICIPALITY = "271004"
PREFECTURE = "270008"
NATIONAL = "DC01"
#: Seconds past the retention period the clock is moved, for the node to purge.
MARGIN = 5

REM_PURGE = ("Erase a superseded or erased version of identity info once the retention "
             "period declared for the node has passed on its clock, not before; keep the "
             "current version and the message numbering.")
REM_PINNED = ("Keep a superseded version that an unacknowledged relay still has to carry "
              "until the relay is acknowledged, even past the retention period.")


# Helpers ----------------------------------------------------------------------------------

def _period(node: NodeSut) -> int:
    value = node.ixit.get("retentionSeconds")
    if not isinstance(value, int) or not 1 <= value <= 3600:
        raise Inconclusive("the IXIT declares no retentionSeconds of 1 to 3600")
    return value


def _person() -> SyntheticResident:
    return generate_households(1, f"conformance:{secrets.token_hex(8)}",
                               municipalities=[MUNICIPALITY])[0].head


def _sender(node: NodeSut) -> str:
    """Who sends the node its identity info: the municipality to a prefecture, the
    prefecture to the centre."""
    return MUNICIPALITY if node.role == "prefecture" else PREFECTURE


def _last(node: NodeSut) -> int:
    return int((node.status().get("lastSequence") or {}).get(_sender(node), 0))


def _versions(node: NodeSut, code: str) -> tuple[int, bool]:
    answer = node.request("identity_versions", residentCode=code)
    if not answer.get("ok"):
        raise SutFault(f"upper tester identity_versions failed: {answer.get('error')}")
    versions, current = answer.get("versions"), answer.get("current")
    if not isinstance(versions, int) or not isinstance(current, bool):
        raise SutFault(f"identity_versions answered {answer}")
    return versions, current


def _updates(person: SyntheticResident, first: int, *, erase: bool
             ) -> list[IdentityInfoUpdate]:
    """Two updates of ``person`` numbered from ``first``: recorded, then corrected (a
    new current version supersedes the first) or erased (death)."""
    info = person.identity_info(Profile.CURRENT)
    record = IdentityInfoUpdate(
        municipality=MUNICIPALITY, update_sequence=first, operation=UpdateOperation.RECORD,
        identity_info=info, change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                                                   change_date=person.birth_date))
    if erase:
        second = IdentityInfoUpdate(
            municipality=MUNICIPALITY, update_sequence=first + 1,
            operation=UpdateOperation.ERASE, identity_info=info,
            change_info=ChangeInfo(change_reason=ChangeReason.DEATH,
                                   change_date=person.birth_date))
    else:
        moved = dataclasses.replace(info, address=Address(
            local_gov_code=info.address.local_gov_code,
            text=info.address.text[:190] + "別棟"))
        second = IdentityInfoUpdate(
            municipality=MUNICIPALITY, update_sequence=first + 1,
            operation=UpdateOperation.CORRECT, identity_info=moved,
            change_info=ChangeInfo(change_reason=ChangeReason.ADDRESS_CHANGE_WITHIN,
                                   change_date=person.birth_date))
    return [record, second]


def _deliver(node: NodeSut, updates: list[IdentityInfoUpdate], *, strict: bool = True
             ) -> str | None:
    """Send each update (to a prefecture) or a relay of it (to the centre), numbered on
    from what the node holds. A refusal makes the case inconclusive (``strict``, a
    preamble) or is returned in words."""
    sender = _sender(node)
    last = _last(node)
    for i, update in enumerate(updates, start=1):
        message: object = dataclasses.replace(update, update_sequence=last + i)
        if node.role == "national":
            message = IdentityInfoRelay(prefecture=PREFECTURE, relay_sequence=last + i,
                                        update=dataclasses.replace(update,
                                                                   update_sequence=1))
        mid, pdu = node.sealed(message, sender=sender)
        conn = node.connect(sender)
        try:
            conn.send(pdu)
            answer = conn.answer_to(mid)
        finally:
            conn.close()
        if answer is None or answer.acknowledgement is None \
                or answer.acknowledgement.status is not AckStatus.ACCEPTED:
            if not strict:
                return describe(answer)
            raise Inconclusive(f"the preamble's message {last + i} got {describe(answer)}")
    return None


def settle_relays(node: NodeSut) -> None:
    """At a prefecture, play the centre and acknowledge every relay until none is
    unacknowledged (moving the clock by the retry interval when the node waits). Earlier
    cases may have left many: each gets a few rounds."""
    if node.role != "prefecture":
        return
    relays = node.status().get("relays") or {}
    rounds = 3 * int(relays.get("unacknowledged") or 0) + 10
    for _ in range(rounds):
        relays = node.status().get("relays") or {}
        if not relays.get("unacknowledged"):
            return
        got = node.sent_to_peer(1.0, peer=NATIONAL)
        if got is None:
            node.clock_advance(node.retry_interval + 1)
            continue
        conn, pdu = got
        if pdu.sealed is not None:
            # A connection an earlier case (a restart) left dead is skipped: the node
            # resends on a new one when its retry interval has passed.
            node.acknowledge(conn, pdu, NATIONAL)
    raise Inconclusive("the prefecture's relays were never all acknowledged")


# Cases ------------------------------------------------------------------------------------

def _purged_after_retention(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    period = _period(node)
    expected = (f"a superseded and an erased version kept until the retention period "
                f"({period} s) has passed on the node's clock, then erased, the current "
                "version kept and the numbering going on")
    node.clock_now()
    settle_relays(node)
    changed, died = _person(), _person()
    _deliver(node, _updates(changed, 1, erase=False) + _updates(died, 3, erase=True))
    settle_relays(node)
    before = _versions(node, changed.resident_code), _versions(node, died.resident_code)
    if before != ((2, True), (2, False)):
        return Outcome(Verdict.FAIL, expected,
                       f"before the clock moved the node held {before} (versions, current) "
                       "of a corrected and an erased person instead of (2, True), (2, False)")
    numbered = _last(node)
    node.clock_advance(period // 2)
    half = _versions(node, changed.resident_code), _versions(node, died.resident_code)
    if half != before:
        return Outcome(Verdict.FAIL, expected,
                       f"half the retention period later the node held {half}: erased "
                       "before the period passed")
    node.clock_advance(period - period // 2 + MARGIN)
    after = _versions(node, changed.resident_code), _versions(node, died.resident_code)
    if after != ((1, True), (0, False)):
        return Outcome(Verdict.FAIL, expected,
                       f"{MARGIN} s past the retention period the node held {after} "
                       "(versions, current) instead of (1, True), (0, False)")
    last = _last(node)
    if last != numbered:
        return Outcome(Verdict.FAIL, expected,
                       f"the purge moved the last applied number from {numbered} to {last}")
    answer = _deliver(node, [_updates(_person(), 1, erase=False)[0]], strict=False)
    if answer is not None:
        return Outcome(Verdict.FAIL, expected,
                       f"after the purge message {numbered + 1} got {answer}")
    settle_relays(node)
    return Outcome(Verdict.PASS, expected,
                   f"held {before}, then {half} at half the period, {after} after it; "
                   f"the next message numbered {numbered + 1} applied")


def _pinned_by_relay(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    period = _period(node)
    expected = ("the superseded version that an unacknowledged relay carries kept past "
                f"the retention period ({period} s)")
    node.clock_now()
    settle_relays(node)
    person = _person()
    _deliver(node, _updates(person, 1, erase=False))
    # The first relay (the recorded version, now superseded) is read and not answered.
    if node.sent_to_peer(node.timeout, peer=NATIONAL) is None:
        raise Inconclusive("the prefecture sent no relay of the recorded version")
    node.clock_advance(period + MARGIN)
    held = _versions(node, person.resident_code)
    node.drain(NATIONAL)
    settle_relays(node)
    if held[0] != 2:
        return Outcome(Verdict.FAIL, expected,
                       f"{MARGIN} s past the period, with its relay unacknowledged, the node "
                       f"held {held[0]} version(s) of the person instead of 2")
    return Outcome(Verdict.PASS, expected, "both versions kept while the relay was "
                   "unacknowledged")


def retention_cases() -> list[Case]:
    """The cases of this module."""
    def case(cid: str, title: str, run: Callable[[AdapterSut], Outcome], role: str,
             reqs: tuple[str, ...], remediation: str) -> NodeCase:
        return NodeCase(id=cid, title=title, clause="30-5", requirements=reqs, level="MUST",
                        remediation=remediation, mode="node", ops=(), run=run, role=role,
                        needs="ixit.clock retentionSeconds")
    out: list[Case] = []
    for role, who in (("prefecture", "a prefecture"), ("national", "the centre")):
        out.append(case(f"30-5/node/{role}/retention-purge",
                        f"{who} erases superseded and erased identity info once the "
                        "retention period has passed, not before, and keeps its numbering",
                        _purged_after_retention, role, ("R-30-5-0-09", "R-NODE-05"),
                        REM_PURGE))
    out.append(case("30-5/node/prefecture/retention-keeps-unrelayed",
                    "a prefecture keeps a superseded version past the retention period "
                    "while the relay that carries it is unacknowledged",
                    _pinned_by_relay, "prefecture", ("R-NODE-05",), REM_PINNED))
    return out

