"""Node-mode cases of the notice of family register entries, Art. 9(2)
(spec/family_register.md), with a municipality SUT (271004) on both sides.

* The node as the RESIDENCE municipality: the runner plays the municipality of the
  family register (272035) and sends notices about households it put into the node's
  register (``register_resident``). A marriage changes the name and is reported
  (correct, nameChange), a birth makes a new record (record, birth), a death erases one
  (erase, death), a change of domicile alone is applied and not reported; refusals of
  another recipient, another sender, unknown, mismatched or erased persons, an unknown
  household and a child already recorded change nothing; a foreign resident is refused
  (5025); the same notice again is a duplicate, its id with other content a replay; a
  prefecture may not send the notice. ``record_items`` reads whether a record holds the
  items, without showing them.
* The node as the municipality of the FAMILY REGISTER: ``family_register_notice`` sends
  a notice to 272035, which the runner reads, answers, or leaves unanswered to see it
  resent; ``family_register_result`` reads the outcome.

Every case uses fresh synthetic households and acknowledges the updates the node sends
its prefecture, so that the cases run in any order against one node.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe, node_sut, upper_ok
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import ChangeReason, PersonName, PersonRef, Sex
from juki_protocol.messages.family_register import (
    FamilyRegisterEvent,
    FamilyRegisterItems,
    FamilyRegisterNotice,
)
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.special_move import FamilyRegister

E = FamilyRegisterEvent
#: A municipality that is neither the node nor the runner's, and one the runner plays.
ELSEWHERE, THIRD = "011002", "131016"
#: How long the runner listens to be sure the node sent nothing.
QUIET = 1.0
Got = tuple[PeerConnection, JukiPdu]


# Helpers -----------------------------------------------------------------------------

def _today(node: NodeSut) -> dt.date:
    return node.clock_now().date() if node.offers("clock") else dt.date.today()


def _registered(node: NodeSut, minimum: int = 1, *, foreign: bool = False
                ) -> tuple[SyntheticResident, ...]:
    """A fresh household of at least ``minimum`` put into the node's register."""
    share = 1.0 if foreign else 0.0
    while True:
        seed = f"conformance:family-register:{secrets.token_hex(8)}"
        members = generate_households(1, seed, municipalities=[node.code],
                                      foreign_share=share)[0].members
        if len(members) >= minimum:
            break
    fields: dict[str, Any] = {"foreignResident": True} if foreign else {}
    answer = upper_ok(node, "register_resident", seed=seed, **fields)
    if answer.get("residentCodes") != [m.resident_code for m in members]:
        raise SutFault("register_resident did not register the household that "
                       f"generate_households makes from seed {seed!r}")
    return members


def _sealed(mtype: MessageType, mid: bytes | None = None) -> Callable[[JukiPdu], bool]:
    return lambda p: p.sealed is not None and p.header.message_type is mtype and (
        mid is None or p.header.message_id == mid)


def _first(node: NodeSut, peer: str, match: Callable[[JukiPdu], bool],
           timeout: float) -> Got | None:
    """The first PDU the node sends ``peer`` that ``match``es, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left, peer=peer)
        if got is None:
            return None
        if match(got[1]):
            return got
    return None


def _settle(node: NodeSut) -> int:
    """Acknowledge the updates the node sends its prefecture until none is open; the
    last update number."""
    deadline = time.monotonic() + node.timeout
    while True:
        updates = node.status().get("updates")
        if not isinstance(updates, dict):
            raise SutFault("status has no updates object")
        if not updates.get("unacknowledged"):
            return int(updates.get("lastSequence", 0))
        got = node.sent_to_peer(0.2, peer=node.prefecture)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        if time.monotonic() > deadline:
            raise SutFault(f"{updates.get('unacknowledged')} update(s) stay unacknowledged")


def _update(node: NodeSut, sequence: int) -> IdentityInfoUpdate | str:
    """Read and acknowledge update ``sequence`` (the next the node sends its
    prefecture); what went wrong otherwise."""
    got = _first(node, node.prefecture, _sealed(MessageType.IDENTITY_INFO_UPDATE),
                 node.timeout)
    if got is None:
        return f"no IdentityInfoUpdate reached {node.prefecture}"
    update = node.opened(got[1], node.prefecture)
    node.acknowledge(got[0], got[1], node.prefecture)
    if not isinstance(update, IdentityInfoUpdate) or update.update_sequence != sequence:
        _settle(node)
        return f"the next update sent to {node.prefecture} is not number {sequence}"
    return update


def _no_update(node: NodeSut) -> str | None:
    """None when the node sends its prefecture no update for :data:`QUIET` seconds."""
    got = _first(node, node.prefecture, _sealed(MessageType.IDENTITY_INFO_UPDATE), QUIET)
    if got is None:
        return None
    update = node.opened(got[1], node.prefecture)
    node.acknowledge(got[0], got[1], node.prefecture)
    _settle(node)
    if isinstance(update, IdentityInfoUpdate):
        return (f"an IdentityInfoUpdate ({update.operation.value}, "
                f"{update.change_info.change_reason.value}) was sent to {node.prefecture}")
    return f"a {type(update).__name__} was sent to {node.prefecture}"


def _notice(node: NodeSut, event: FamilyRegisterEvent, items: FamilyRegisterItems, *,
            person: SyntheticResident | PersonRef | None = None,
            household: str | None = None,
            when: dt.date | None = None) -> FamilyRegisterNotice:
    """A notice from the runner's municipality to the node."""
    today = _today(node)
    return FamilyRegisterNotice(
        register_municipality=node.peer_municipality, residence_municipality=node.code,
        event=event, event_date=when or today - dt.timedelta(days=2), entry_date=today,
        person=person.person_ref() if isinstance(person, SyntheticResident) else person,
        household=household,
        items=items)


def _send(node: NodeSut, notice: FamilyRegisterNotice, *, message_id: bytes | None = None,
          sender: str | None = None) -> tuple[bytes, bytes, JukiPdu | None]:
    """Send ``notice`` sealed by ``sender`` (the runner's municipality); its message id,
    its PDU and the node's answer."""
    peer = sender or node.peer_municipality
    mid, pdu = node.sealed(notice, sender=peer, message_id=message_id)
    conn = node.connect(peer)
    try:
        conn.send(pdu)
        return mid, pdu, conn.answer_to(mid)
    finally:
        conn.close()


def _accepted(pdu: JukiPdu | None, status: AckStatus = AckStatus.ACCEPTED) -> bool:
    return pdu is not None and pdu.acknowledgement is not None \
        and pdu.acknowledgement.status is status


def _is_error(pdu: JukiPdu | None, code: ErrorCode) -> bool:
    return pdu is not None and pdu.error_report is not None \
        and pdu.error_report.error_code == int(code)


def _holds(node: NodeSut, code: str, items: FamilyRegisterItems,
           state: str = "current") -> str | None:
    """None when the node's record of ``code`` holds ``items`` and is in ``state``
    (``record_items``, spec/family_register.md section 5)."""
    answer = upper_ok(node, "record_items", residentCode=code, items=codec.to_json(items))
    if answer.get("matches") is not True:
        return f"the record does not hold the notice's items: {answer.get('differs')}"
    if answer.get("state") != state:
        return f"record_items says the record is {answer.get('state')!r}, not {state!r}"
    return None


def _reported(update: IdentityInfoUpdate | str, operation: UpdateOperation,
              reason: ChangeReason, when: dt.date) -> str | None:
    if isinstance(update, str):
        return update
    if (update.operation, update.change_info.change_reason,
            update.change_info.change_date) != (operation, reason, when):
        return (f"the update is ({update.operation.value}, "
                f"{update.change_info.change_reason.value}, "
                f"{update.change_info.change_date}), not ({operation.value}, "
                f"{reason.value}, {when})")
    return None


def _married(person: SyntheticResident) -> PersonName:
    given = person.name.kanji.split("\u3000")[-1]
    return PersonName(kanji=f"豊中\u3000{given}")


def _register(node: NodeSut) -> FamilyRegister:
    return FamilyRegister(permanent_domicile="大阪府豊中市中桜塚三丁目1番",
                          head_name=f"豊中\u3000{secrets.token_hex(2)}")


# The node as residence municipality ---------------------------------------------------

def _name_change(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a marriage's notice acknowledged (accepted), the record holding the new "
                f"name and family register, and one update to {node.prefecture}: correct, "
                "nameChange, the event's date, the new name, the same address")
    last = _settle(node)
    person = _registered(node, 2)[1]
    items = FamilyRegisterItems(name=_married(person), family_register=_register(node))
    notice = _notice(node, E.MARRIAGE, items, person=person)
    _, _, answer = _send(node, notice)
    if not _accepted(answer):
        return Outcome(Verdict.FAIL, expected, f"the notice got {describe(answer)}")
    update = _update(node, last + 1)
    problem = _reported(update, UpdateOperation.CORRECT, ChangeReason.NAME_CHANGE,
                        notice.event_date)
    if problem is None and isinstance(update, IdentityInfoUpdate):
        info = update.identity_info
        if (info.resident_code, info.name, info.address, info.birth_date, info.sex) != (
                person.resident_code, items.name, person.address, person.birth_date,
                person.sex):
            problem = "the update does not carry the person's identity info after the change"
    problem = problem or _holds(node, person.resident_code, items)
    _settle(node)
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, f"accepted; update {last + 1} correct, nameChange")


def _birth(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a birth's notice acknowledged, and one update: record, birth, a new "
                "resident code, the child's name, birth date and sex at the household's "
                "address; the new record current and holding the notice's items; then a "
                "death's notice for the child: update erase, death, the record erased "
                "for death")
    last = _settle(node)
    people = _registered(node)
    head = people[0]
    born = _today(node) - dt.timedelta(days=6)
    items = FamilyRegisterItems(
        name=PersonName(kanji=head.name.kanji.split("\u3000")[0] + "\u3000陽向"),
        birth_date=born, sex=Sex.FEMALE, relationship="子",
        family_register=head.family_register)
    notice = _notice(node, E.BIRTH, items, household=head.resident_code, when=born)
    _, _, answer = _send(node, notice)
    if not _accepted(answer):
        return Outcome(Verdict.FAIL, expected, f"the notice got {describe(answer)}")
    update = _update(node, last + 1)
    problem = _reported(update, UpdateOperation.RECORD, ChangeReason.BIRTH, born)
    if problem is None and isinstance(update, IdentityInfoUpdate):
        info = update.identity_info
        if info.resident_code in {p.resident_code for p in people} or (
                info.name, info.birth_date, info.sex, info.address) != (
                items.name, born, Sex.FEMALE, head.address):
            problem = "the update does not record a new person with the child's items"
        else:
            state = upper_ok(node, "resident", residentCode=info.resident_code)
            problem = None if state.get("state") == "current" else \
                f"the new record is {state.get('state')}"
            problem = problem or _holds(node, info.resident_code, items)
            # The new record is a record like any other: a death erases it (R-9-2-06).
            problem = problem or _child_died(node, PersonRef(
                resident_code=info.resident_code, name=info.name, birth_date=born), last + 2)
    _settle(node)
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, f"accepted; update {last + 1} record, birth, "
                   f"update {last + 2} erase, death")


def _child_died(node: NodeSut, child: PersonRef, sequence: int) -> str | None:
    """None when a death's notice for ``child`` is accepted, reported as update
    ``sequence`` (erase, death) and leaves the record erased for death."""
    notice = _notice(node, E.DEATH, FamilyRegisterItems(), person=child)
    _, _, answer = _send(node, notice)
    if not _accepted(answer):
        return f"the child's death notice got {describe(answer)}"
    problem = _reported(_update(node, sequence), UpdateOperation.ERASE, ChangeReason.DEATH,
                        notice.event_date)
    state = upper_ok(node, "resident", residentCode=child.resident_code)
    if problem is None and (state.get("state"), state.get("reason")) != ("erased", "death"):
        problem = f"after the child's death the record is {state.get('state')} " \
                  f"({state.get('reason')}), not erased (death)"
    return problem


def _death(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a death's notice acknowledged, one update erase, death with the person's "
                "identity info, and the record erased for death")
    last = _settle(node)
    person = _registered(node)[0]
    notice = _notice(node, E.DEATH, FamilyRegisterItems(), person=person)
    _, _, answer = _send(node, notice)
    if not _accepted(answer):
        return Outcome(Verdict.FAIL, expected, f"the notice got {describe(answer)}")
    update = _update(node, last + 1)
    problem = _reported(update, UpdateOperation.ERASE, ChangeReason.DEATH,
                        notice.event_date)
    if problem is None and isinstance(update, IdentityInfoUpdate) and \
            update.identity_info.resident_code != person.resident_code:
        problem = "the erasure names another resident code"
    if problem is None:
        state = upper_ok(node, "resident", residentCode=person.resident_code)
        if (state.get("state"), state.get("reason")) != ("erased", "death"):
            problem = f"the record is {state.get('state')} ({state.get('reason')})"
        problem = problem or _holds(node, person.resident_code, FamilyRegisterItems(),
                                    "erased")
    _settle(node)
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, f"accepted; update {last + 1} erase, death")


def _register_only(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a change of domicile acknowledged and applied to the record, with no "
                f"update to {node.prefecture} (no identity item changed)")
    _settle(node)
    person = _registered(node)[0]
    items = FamilyRegisterItems(family_register=_register(node))
    _, _, answer = _send(node, _notice(node, E.DOMICILE_CHANGE, items, person=person))
    if not _accepted(answer):
        return Outcome(Verdict.FAIL, expected, f"the notice got {describe(answer)}")
    problem = _no_update(node) or _holds(node, person.resident_code, items)
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "accepted, applied, no update")


def _refusals(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    C = ErrorCode
    expected = ("3002 for another residenceMunicipality, 1024 for a registerMunicipality "
                "that is not the sender, 5001 for an unknown person, another name or birth "
                "date and an unknown household, 5003 and 5002 for erased records, 5026 for "
                "a child already recorded; nothing changed or reported, then the person's "
                "own notice accepted")
    _settle(node)
    people = _registered(node, 2)
    person, child = people[0], people[-1]
    dead, gone = _registered(node)[0], _registered(node)[0]
    upper_ok(node, "record_death", residentCode=dead.resident_code)
    upper_ok(node, "record_move_out", residentCode=gone.resident_code,
             destination={"local_gov_code": ELSEWHERE, "text": "北海道札幌市"})
    _settle(node)
    stranger = generate_households(1, f"stranger:{secrets.token_hex(6)}",
                                   municipalities=[node.code])[0].head
    items = FamilyRegisterItems(name=_married(person))
    change = _notice(node, E.NAME_CHANGE, items, person=person)
    ref = change.person
    assert ref is not None
    born = FamilyRegisterItems(name=child.name, birth_date=child.birth_date, sex=child.sex,
                               relationship="子", family_register=person.family_register)
    birth = _notice(node, E.BIRTH, born, household=person.resident_code,
                    when=child.birth_date)
    tries: tuple[tuple[str, ErrorCode, FamilyRegisterNotice], ...] = (
        ("another residenceMunicipality", C.WRONG_RECIPIENT,
         dataclasses.replace(change, residence_municipality=ELSEWHERE)),
        ("a registerMunicipality that is not the sender", C.INVALID_FIELD,
         dataclasses.replace(change, register_municipality=THIRD)),
        ("an unknown person", C.NO_SUCH_RESIDENT,
         dataclasses.replace(change, person=stranger.person_ref())),
        ("another name", C.NO_SUCH_RESIDENT, dataclasses.replace(
            change, person=dataclasses.replace(ref, name=stranger.name))),
        ("another birth date", C.NO_SUCH_RESIDENT, dataclasses.replace(
            change, person=dataclasses.replace(
                ref, birth_date=ref.birth_date - dt.timedelta(days=1)))),
        ("a deceased person", C.RECORD_DECEASED,
         _notice(node, E.NAME_CHANGE, items, person=dead)),
        ("a person who moved out", C.RECORD_MOVED_OUT,
         _notice(node, E.NAME_CHANGE, items, person=gone)),
        ("an unknown household", C.NO_SUCH_RESIDENT,
         dataclasses.replace(birth, household=stranger.resident_code)),
        ("a child the household already holds", C.ALREADY_RECORDED, birth))
    for label, code, notice in tries:
        _, _, answer = _send(node, notice)
        if not _is_error(answer, code):
            _settle(node)
            return Outcome(Verdict.FAIL, expected, f"for {label} the notice got "
                           f"{describe(answer)}")
    problem = _no_update(node) or _holds(node, person.resident_code,
                                         FamilyRegisterItems(name=person.name))
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, f"refused each time, but {problem}")
    register = FamilyRegisterItems(family_register=_register(node))
    _, _, answer = _send(node, _notice(node, E.DOMICILE_CHANGE, register, person=person))
    if not _accepted(answer):
        return Outcome(Verdict.FAIL, expected, "refused each time, but then the person's "
                       f"own notice got {describe(answer)}")
    return Outcome(Verdict.PASS, expected, f"{len(tries)} refusals with their codes, "
                   "nothing changed, then accepted")


def _foreign(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    code = ErrorCode.FOREIGN_RESIDENT_NO_FAMILY_REGISTER
    expected = (f"a change of name and a death of a foreign resident each refused with "
                f"error {int(code)} {code.name}; the record unchanged and current, no update")
    _settle(node)
    person = _registered(node, foreign=True)[0]
    if person.family_register is not None:
        raise SutFault("the synthetic foreign household has a family register")
    for event, items in ((E.NAME_CHANGE, FamilyRegisterItems(name=_married(person))),
                         (E.DEATH, FamilyRegisterItems())):
        _, _, answer = _send(node, _notice(node, event, items, person=person))
        if not _is_error(answer, code):
            _settle(node)
            return Outcome(Verdict.FAIL, expected,
                           f"the {event.value} notice got {describe(answer)}")
    problem = _no_update(node) or _holds(node, person.resident_code,
                                         FamilyRegisterItems(name=person.name))
    state = upper_ok(node, "resident", residentCode=person.resident_code)
    if problem is None and state.get("state") != "current":
        problem = f"the record is {state.get('state')}"
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, f"refused, but {problem}")
    return Outcome(Verdict.PASS, expected, f"both refused with {int(code)}; unchanged")


def _duplicate(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("an accepted notice sent again acknowledged as duplicate, its id with "
                "other content refused 2021 REPLAY, nothing reported and the record as "
                "the first notice left it")
    _settle(node)
    person = _registered(node)[0]
    items = FamilyRegisterItems(family_register=_register(node))
    notice = _notice(node, E.DOMICILE_CHANGE, items, person=person)
    mid, pdu, first = _send(node, notice)
    if not _accepted(first):
        return Outcome(Verdict.FAIL, expected, f"the notice got {describe(first)}")
    conn = node.connect(node.peer_municipality)
    try:
        conn.send(pdu)
        again = conn.answer_to(mid)
    finally:
        conn.close()
    if not _accepted(again, AckStatus.DUPLICATE):
        return Outcome(Verdict.FAIL, expected, f"sent again it got {describe(again)}")
    other = dataclasses.replace(notice, items=FamilyRegisterItems(
        family_register=_register(node)))
    _, _, replay = _send(node, other, message_id=mid)
    if not _is_error(replay, ErrorCode.REPLAY):
        return Outcome(Verdict.FAIL, expected, "duplicate; then the same id with other "
                       f"content got {describe(replay)}")
    problem = _no_update(node) or _holds(node, person.resident_code, items)
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, f"duplicate and 2021, but {problem}")
    return Outcome(Verdict.PASS, expected, "duplicate, then 2021 REPLAY; no update")


def _from_a_prefecture(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    code = ErrorCode.ROLE_NOT_ALLOWED
    expected = f"a notice sealed by the prefecture {node.prefecture} refused {int(code)}"
    _settle(node)
    person = _registered(node)[0]
    notice = _notice(node, E.DEATH, FamilyRegisterItems(), person=person)
    _, _, answer = _send(node, notice, sender=node.prefecture)
    state = upper_ok(node, "resident", residentCode=person.resident_code)
    if not _is_error(answer, code) or state.get("state") != "current":
        _settle(node)
        return Outcome(Verdict.FAIL, expected, f"the notice got {describe(answer)}, the "
                       f"record is {state.get('state')}")
    return Outcome(Verdict.PASS, expected, f"refused {int(code)}, the record current")


# The node as municipality of the family register --------------------------------------

def _start(node: NodeSut) -> tuple[str, FamilyRegisterNotice]:
    """Start a notice at the node's counter for a person of the runner's municipality;
    its message id and the notice the node must send."""
    peer = node.peer_municipality
    person = generate_households(1, f"conformance:family-register:{secrets.token_hex(8)}",
                                 municipalities=[peer])[0].head
    items = FamilyRegisterItems(name=_married(person),
                                family_register=FamilyRegister(
                                    permanent_domicile="大阪府大阪市北区中之島一丁目3番",
                                    head_name=_married(person).kanji))
    today = _today(node)
    notice = FamilyRegisterNotice(
        register_municipality=node.code, residence_municipality=peer, event=E.MARRIAGE,
        event_date=today - dt.timedelta(days=1), entry_date=today,
        person=person.person_ref(), items=items)
    answer = upper_ok(node, "family_register_notice", residenceMunicipality=peer,
                      event=notice.event.value, eventDate=notice.event_date.isoformat(),
                      entryDate=today.isoformat(), person=codec.to_json(notice.person),
                      items=codec.to_json(items))
    return str(answer["messageId"]), notice


def _result(node: NodeSut, mid: str, outcome: str) -> dict[str, Any]:
    """``family_register_result`` until its outcome is ``outcome`` or the timeout."""
    deadline = time.monotonic() + node.timeout
    while True:
        result = upper_ok(node, "family_register_result", messageId=mid)
        if result.get("outcome") == outcome or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def _sent_notice(node: NodeSut, mid: str) -> Got | None:
    return _first(node, node.peer_municipality,
                  _sealed(MessageType.FAMILY_REGISTER_NOTICE, bytes.fromhex(mid)),
                  node.timeout)


def _notice_sent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    expected = (f"one FamilyRegisterNotice from municipality:{node.code} to "
                f"municipality:{peer}, no correlationId, with the fields asked; pending "
                "until acknowledged, then completed")
    node.drain(peer)
    mid, want = _start(node)
    got = _sent_notice(node, mid)
    if got is None:
        return Outcome(Verdict.FAIL, expected, f"no FamilyRegisterNotice {mid[:8]}... "
                       f"reached {peer}")
    conn, pdu = got
    h = pdu.header
    pending = upper_ok(node, "family_register_result", messageId=mid)
    problem = None
    if (h.sender.code, h.recipient.code, h.correlation_id) != (node.code, peer, None):
        problem = (f"the notice went from {h.sender} to {h.recipient} "
                   f"(correlation {h.correlation_id!r})")
    elif node.opened(pdu, peer) != want:
        problem = "the notice does not carry the fields asked"
    elif pending.get("outcome") != "pending":
        problem = f"before the acknowledgement the outcome is {pending.get('outcome')!r}"
    node.acknowledge(conn, pdu, peer)
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, problem)
    done = _result(node, mid, "completed")
    if done.get("outcome") != "completed":
        return Outcome(Verdict.FAIL, expected,
                       f"after the acknowledgement the outcome is {done.get('outcome')!r}")
    return Outcome(Verdict.PASS, expected, "sent as asked, completed once acknowledged")


def _refusal_reported(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    code = ErrorCode.NO_SUCH_RESIDENT
    expected = f"the notice refused by {peer} with {int(code)} reported as failed:{int(code)}"
    node.drain(peer)
    mid, _ = _start(node)
    got = _sent_notice(node, mid)
    if got is None:
        return Outcome(Verdict.FAIL, expected, f"no FamilyRegisterNotice reached {peer}")
    node.report_error(got[0], got[1], peer, int(code))
    done = _result(node, mid, f"failed:{int(code)}")
    if done.get("outcome") != f"failed:{int(code)}":
        return Outcome(Verdict.FAIL, expected, f"the outcome is {done.get('outcome')!r}")
    return Outcome(Verdict.PASS, expected, f"failed:{int(code)}")


def _resent(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.peer_municipality
    retry = node.retry_interval
    busy = ErrorCode.OVERLOADED
    expected = (f"the notice answered {int(busy)} stays pending and, unanswered, is sent "
                f"again after the retry interval ({retry:g} s) under the same message id "
                "with the same content; completed once acknowledged")
    node.drain(peer)
    mid, _ = _start(node)
    first = _sent_notice(node, mid)
    if first is None:
        return Outcome(Verdict.FAIL, expected, f"no FamilyRegisterNotice reached {peer}")
    conn, pdu = first
    node.report_error(conn, pdu, peer, int(busy))
    time.sleep(0.2)
    pending = upper_ok(node, "family_register_result", messageId=mid)
    again: Got | None = None
    try:
        if pending.get("outcome") != "pending":
            return Outcome(Verdict.FAIL, expected, f"after {int(busy)} the outcome is "
                           f"{pending.get('outcome')!r}")
        node.clock_advance(retry + 1)
        again = _sent_notice(node, mid)
        if again is None:
            return Outcome(Verdict.FAIL, expected, f"not sent again {retry + 1:g} s later")
        if node.opened(again[1], peer) != node.opened(pdu, peer):
            return Outcome(Verdict.FAIL, expected, "sent again with other content")
    finally:
        last_conn, last_pdu = again if again is not None else (conn, pdu)
        node.acknowledge(last_conn, last_pdu, peer)
    done = _result(node, mid, "completed")
    if done.get("outcome") != "completed":
        return Outcome(Verdict.FAIL, expected,
                       f"after the acknowledgement the outcome is {done.get('outcome')!r}")
    return Outcome(Verdict.PASS, expected, "pending after 9002, sent again, completed")


# The cases -----------------------------------------------------------------------------

REM_APPLY = (
    "On a FamilyRegisterNotice, record, erase or change the resident record as "
    "spec/family_register.md section 2 gives for the event, and report each change of "
    "the name, birth date or sex (record/birth, erase/death, correct with nameChange, "
    "sexChange or correction) with the event date, in the same transaction as the "
    "acknowledgement; report nothing for the relationship or family register alone "
    "(R-9-2-06, R-9-2-07).")
REM_REFUSE = (
    "Check the whole notice before changing anything: 3002 for another recipient, 1024 "
    "when registerMunicipality is not the sender, 5001/5002/5003 for a person or household "
    "that is not a current record matching resident code, name and birth date, 5026 for "
    "a child already recorded; change and report nothing (R-9-2-03, R-9-2-04, R-9-2-07).")
REM_FOREIGN = ("A foreign resident's record has no family register: refuse any "
               "FamilyRegisterNotice naming one with 5025 and change nothing (R-9-2-05).")
REM_DUP = ("Keep the message id and digest of an accepted notice: the same notice again "
           "is acknowledged duplicate and changes nothing; the same id with other content "
           "is 2021 REPLAY (R-9-2-08, R-PDU-24).")
REM_ROLE = ("Refuse on the header alone, with 3003, a FamilyRegisterNotice that a node of "
            "another role than a municipality sends (R-9-2-10, R-PDU-20).")
REM_SEND = ("Send the residence municipality one FamilyRegisterNotice per entry, with the "
            "fields of the entry and no correlationId, and report its outcome as "
            "family_register_result gives it (R-9-2-01, R-FAMREG-01, R-FAMREG-02).")
REM_RESEND = ("Keep an unacknowledged notice and resend it under the same message id with "
              "the same content whenever the retry interval passes; a 9001, 9002 or 9003 "
              "refusal does not end it, any other is reported (R-9-2-09, R-PDU-23).")


def family_register_cases() -> list[Case]:
    """The Art. 9(2) cases of a municipality, both sides."""
    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], needs: str = "") -> Case:
        return NodeCase(id=f"9/2/node/family-register/{cid}", title=title, clause="9/2",
                        requirements=reqs, level="MUST", remediation=rem, mode="node",
                        ops=(), run=run, role="municipality", needs=needs)
    return [
        case("residence/name-change-applied-and-reported", "a marriage's new name is "
             "applied and reported as correct, nameChange",
             ("R-9-2-06", "R-9-2-07", "R-30-5-0-01", "R-FAMREG-03"), REM_APPLY,
             _name_change),
        case("residence/birth-recorded-and-reported", "a birth makes a new record in the "
             "household, reported as record, birth; a later death erases it for death",
             ("R-9-2-06", "R-9-2-04", "R-ID-03"),
             REM_APPLY, _birth),
        case("residence/death-erased-and-reported", "a death erases the record, reported "
             "as erase, death", ("R-9-2-06", "R-30-5-0-01"), REM_APPLY, _death),
        case("residence/register-only-change-not-reported", "a change of domicile alone "
             "is applied and not reported", ("R-9-2-06", "R-FAMREG-03"), REM_APPLY,
             _register_only),
        case("residence/refusals-change-nothing", "notices for another recipient, from "
             "another sender, for unknown, mismatched or erased persons, an unknown "
             "household or a child already recorded are refused with their codes",
             ("R-9-2-03", "R-9-2-04", "R-9-2-07", "R-PDU-21"), REM_REFUSE, _refusals),
        case("residence/foreign-resident-refused", "a notice naming a foreign resident is "
             "refused with 5025 and changes nothing", ("R-9-2-05", "R-9-2-07"),
             REM_FOREIGN, _foreign),
        case("residence/duplicate-and-replay", "an accepted notice sent again is a "
             "duplicate; its id with other content is 2021", ("R-9-2-08", "R-PDU-24"),
             REM_DUP, _duplicate),
        case("residence/not-from-a-prefecture", "a notice sealed by a prefecture is "
             "refused 3003", ("R-9-2-10", "R-PDU-20"), REM_ROLE, _from_a_prefecture),
        case("register/notice-sent", "an entry at the node's counter sends one notice to "
             "the residence municipality; completed once acknowledged",
             ("R-9-2-01", "R-FAMREG-01", "R-FAMREG-02"), REM_SEND, _notice_sent),
        case("register/refusal-reported", "a refused notice is reported failed with the "
             "refusal's code", ("R-9-2-09", "R-FAMREG-02"), REM_SEND, _refusal_reported),
        case("register/notice-resent-until-acknowledged", "a notice answered 9002 stays "
             "pending and is sent again after the retry interval", ("R-9-2-09",
                                                                     "R-PDU-23"),
             REM_RESEND, _resent, needs="ixit.clock"),
    ]


__all__ = ["family_register_cases"]
