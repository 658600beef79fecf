"""Node-mode cases of a municipality's register and card desk (spec/node.md sections 4.2
and 4.6): deaths, move-outs and erasures reported to the prefecture as erasures
(Art. 30-5), resident code changes with random new codes that are never assigned
again (spec/identifiers.md), and cards that are after a restart as they were before.

The runner plays the prefecture (270008): it reads each update the node sends, checks
it against the household it registered (``register_resident`` with a fresh seed, which
it regenerates with :func:`juki_protocol.fixtures.synth.generate_households`) and acknowledges
it. As every node case, each starts by acknowledging what earlier cases left
unacknowledged and numbers from the node's ``status``, so the cases run in any order
against one long-running node. The restart cases need ``ixit.restart``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, HarnessError, SutFault
from juki_protocol.errors import ErrorCode, JukiError
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.identifiers import validate_resident_code
from juki_protocol.messages.common import ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import JukiPdu, MessageType

PIN, WRONG_PIN = "4821", "9999"
#: Where the move-out case's resident moves to (Tokyo, Chiyoda: another municipality).
DESTINATION = {"local_gov_code": "131016", "text": "東京都千代田区千代田1番1号"}
#: How many codes the randomness case has the node assign (R-ID-02).
CODES = 40
#: A pair of consecutive codes whose data digits are this close counts as sequential;
#: two random codes are this close with probability 2e-4.
NEAR = 10 ** 6
#: The chi-square of the 400 data digits' frequencies above which they are not
#: uniform (9 degrees of freedom; a random source exceeds it with probability 1e-6).
CHI_SQUARE = 45.0


# Helpers ----------------------------------------------------------------------------------

def _sut(sut: AdapterSut) -> NodeSut:
    if not isinstance(sut, NodeSut):
        raise HarnessError("a node-mode case needs a node SUT")
    return sut


def _said(answer: dict[str, Any]) -> str:
    """An upper tester answer, in words."""
    if answer.get("ok"):
        return "ok"
    error = answer.get("error") or {}
    return f"error {error.get('code')} {error.get('name', '')}".rstrip()


def _household(node: NodeSut) -> tuple[SyntheticResident, ...]:
    """A fresh synthetic household registered in the node (a preamble): its members,
    as generated from the seed."""
    return _registered(node)[1]


def _registered(node: NodeSut) -> tuple[str, tuple[SyntheticResident, ...]]:
    """As :func:`_household`, with the seed."""
    seed = f"conformance:{secrets.token_hex(8)}"
    codes = node.ok("register_resident", seed=seed).get("residentCodes")
    members = generate_households(1, seed, municipalities=[node.code])[0].members
    if codes != [m.resident_code for m in members]:
        raise SutFault("register_resident did not register the household that "
                       f"generate_households makes from seed {seed!r}")
    return seed, members


def _settled(node: NodeSut) -> int:
    """The node's last update number once nothing is unacknowledged (the runner, as the
    prefecture, acknowledges what earlier cases left unanswered)."""
    deadline = time.monotonic() + node.timeout
    while True:
        updates = node.status().get("updates")
        if not isinstance(updates, dict):
            raise SutFault("status has no updates object")
        if not updates.get("unacknowledged"):
            return int(updates.get("lastSequence", 0))
        got = node.sent_to_peer(0.2)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        if time.monotonic() > deadline:
            raise SutFault(f"{updates.get('unacknowledged')} update(s) stay unacknowledged")


def _update(node: NodeSut, seq: int, what: str
            ) -> tuple[PeerConnection, JukiPdu, IdentityInfoUpdate] | str:
    """Update ``seq``, which the node sends its prefecture, opened and acknowledged
    (earlier numbers resent late are passed over); or what came instead."""
    while True:
        got = node.sent_to_peer()
        if got is None:
            return f"no {what} within {node.timeout:g} s"
        conn, pdu = got
        if pdu.sealed is None or \
                pdu.header.message_type is not MessageType.IDENTITY_INFO_UPDATE:
            return f"a {pdu.header.message_type.value} instead of the {what}"
        message = node.opened(pdu, node.prefecture)
        if not isinstance(message, IdentityInfoUpdate):
            return f"a {type(message).__name__} instead of the {what}"
        if message.update_sequence < seq:
            continue
        node.acknowledge(conn, pdu, node.prefecture)
        if message.update_sequence != seq:
            return f"update {message.update_sequence} instead of {seq} as the {what}"
        return conn, pdu, message


def _state(node: NodeSut, code: str) -> str:
    """The ``resident`` op's answer for ``code``, in words (``erased:death``...)."""
    answer = node.request("resident", residentCode=code)
    if not answer.get("ok"):
        return _said(answer)
    reason = answer.get("reason")
    return f"{answer.get('state')}" + (f":{reason}" if reason else "")


# Erasures (R-NODE-50, R-30-5-0-01, R-30-5-0-03) --------------------------------------------

def _erased(op: str, reason: ChangeReason, **fields: Any) -> Callable[[AdapterSut], Outcome]:
    """A case: the local event ``op`` erases a resident's record; the node must report
    it as update m + 1, operation ``erase``, reason ``reason``, the event's date, the
    identity info as recorded, and then hold the record as erased for ``reason``."""
    def run(sut: AdapterSut) -> Outcome:
        node = _sut(sut)
        expected = (f"{op} reported as update m + 1: operation erase, reason "
                    f"{reason.value}, the event's date and the identity info as recorded; "
                    f"the record then erased for {reason.value}")
        last = _settled(node)
        person = _household(node)[0]
        day = node.node_now().date() - dt.timedelta(days=1)
        answer = node.request(op, residentCode=person.resident_code,
                              date=day.isoformat(), **fields)
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"{op} answered {_said(answer)}")
        got = _update(node, last + 1, f"update reporting {op}")
        if isinstance(got, str):
            return Outcome(Verdict.FAIL, expected, got)
        _, pdu, update = got
        said = (f"update {update.update_sequence}: {update.operation.value}, "
                f"{update.change_info.change_reason.value}")
        if (update.operation, update.change_info.change_reason) != (
                UpdateOperation.ERASE, reason):
            return Outcome(Verdict.FAIL, expected, said)
        if update.change_info.change_date != day:
            return Outcome(Verdict.FAIL, expected, f"{said}, change date "
                           f"{update.change_info.change_date}, not the event's {day}")
        if update.identity_info != person.identity_info(Profile.CURRENT) or \
                update.municipality != node.code:
            return Outcome(Verdict.FAIL, expected, f"{said}, but its identity info or "
                           "municipality is not the record as it was recorded")
        if answer.get("messageId") != pdu.header.message_id.hex():
            return Outcome(Verdict.FAIL, expected, f"{said}, but {op} reported another "
                           "message id")
        state = _state(node, person.resident_code)
        if state != f"erased:{reason.value}":
            return Outcome(Verdict.FAIL, expected, f"{said}; the record is then {state}")
        return Outcome(Verdict.PASS, expected, f"{said}; the record erased")
    return run


def _malformed_refused(sut: AdapterSut) -> Outcome:
    """R-NODE-87: erasing events whose fields are malformed are refused 1030 and change
    nothing: the resident stays current and no update is sent."""
    node = _sut(sut)
    expected = ("each erasing event with a missing or malformed field answered 1030 "
                "INVALID_JSON; the resident still current and no update sent")
    last = _settled(node)
    code = _household(node)[0].resident_code
    town, text = DESTINATION["local_gov_code"], DESTINATION["text"]
    bad: list[tuple[str, dict[str, Any]]] = [
        ("record_move_out", {"destination": {"text": text}}),
        ("record_move_out", {"destination": {**DESTINATION, "building": "2F"}}),
        ("record_move_out", {"destination": {"local_gov_code": int(town), "text": text}}),
        ("record_move_out", {"destination": f"{town} {text}"}),
        ("record_move_out", {"destination": [town, text]}),
        ("record_death", {"date": "2020-02-30"}),
        ("erase", {"reason": "birth"}),
    ]
    for op, fields in bad:
        answer = node.request(op, residentCode=code, **fields)
        said = _said(answer)
        if said != f"error {int(ErrorCode.INVALID_JSON)} INVALID_JSON":
            return Outcome(Verdict.FAIL, expected, f"{op} with {fields} answered {said}")
        state = _state(node, code)
        if state != "current":
            return Outcome(Verdict.FAIL, expected, f"{op} with {fields} answered {said}, "
                           f"but the record is then {state}")
    got = node.sent_to_peer(0.5)
    if got is not None and got[1].sealed is not None:
        node.acknowledge(got[0], got[1], node.prefecture)
        return Outcome(Verdict.FAIL, expected, f"the node sent a "
                       f"{got[1].header.message_type.value} after the refused events")
    if _settled(node) != last:
        return Outcome(Verdict.FAIL, expected, f"the last update number moved from {last}")
    return Outcome(Verdict.PASS, expected, f"{len(bad)} malformed events refused 1030; "
                   "the record current, nothing sent")


# Erased records (R-NODE-91) ---------------------------------------------------------------

def _erased_record_refused(sut: AdapterSut) -> Outcome:
    """R-NODE-91: a record erased on a death and one erased on a move-out; each op that
    needs a current record (a card, another erasure, a code change) is refused with the
    code of the erasure, and sends nothing."""
    node = _sut(sut)
    deceased, moved = ErrorCode.RECORD_DECEASED, ErrorCode.RECORD_MOVED_OUT
    expected = (f"card_issue, record_death, record_move_out, erase and change_resident_code "
                f"answered {int(deceased)} {deceased.name} for a record erased on a death "
                f"and {int(moved)} {moved.name} for one erased on a move-out; no update sent")
    _settled(node)
    dead, gone = _household(node)[0].resident_code, _household(node)[0].resident_code
    node.ok("record_death", residentCode=dead)
    node.ok("record_move_out", residentCode=gone, destination=DESTINATION)
    last = _settled(node)
    ops: list[tuple[str, dict[str, Any]]] = [
        ("card_issue", {"pin": PIN}), ("record_death", {}),
        ("record_move_out", {"destination": DESTINATION}), ("erase", {}),
        ("change_resident_code", {})]
    for code, want in ((dead, deceased), (gone, moved)):
        for op, fields in ops:
            answer = node.request(op, residentCode=code, **fields)
            if answer.get("ok") or (answer.get("error") or {}).get("code") != int(want):
                return Outcome(Verdict.FAIL, expected, f"{op} of the record erased on "
                               f"{'a death' if want is deceased else 'a move-out'} "
                               f"answered {_said(answer)}")
    if _settled(node) != last:
        return Outcome(Verdict.FAIL, expected, "refused, but an update was sent")
    return Outcome(Verdict.PASS, expected, f"{int(deceased)} five times, {int(moved)} five "
                   "times; no update")


# Resident codes (R-ID-01, R-ID-02, R-ID-03, R-NODE-51, R-30-5-0-04) ------------------------

def _change(node: NodeSut, code: str, seq: int) -> tuple[str, IdentityInfoUpdate] | str:
    """Change ``code``: (the new code, its update m + 1), or what went wrong."""
    answer = node.request("change_resident_code", residentCode=code)
    if not answer.get("ok"):
        return f"change_resident_code answered {_said(answer)}"
    got = _update(node, seq, "update reporting the code change")
    if isinstance(got, str):
        return got
    new = answer.get("residentCode")
    if new != got[2].identity_info.resident_code:
        return (f"change_resident_code answered {new!r}, the update carries another "
                "code")
    return str(new), got[2]


def _change_reported(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("update m + 1: operation correct, reason residentCodeChange, the new code "
                "(valid, not the old) in the identity info and the old one in "
                "previousResidentCode; the old code then retired")
    last = _settled(node)
    person = _household(node)[0]
    old = person.resident_code
    got = _change(node, old, last + 1)
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    new, update = got
    said = (f"update {update.update_sequence}: {update.operation.value}, "
            f"{update.change_info.change_reason.value}")
    if (update.operation, update.change_info.change_reason, update.previous_resident_code
            ) != (UpdateOperation.CORRECT, ChangeReason.RESIDENT_CODE_CHANGE, old):
        which = "the old code" if update.previous_resident_code == old else "not the old code"
        return Outcome(Verdict.FAIL, expected, f"{said}, previousResidentCode {which}")
    try:
        validate_resident_code(new)
    except JukiError:
        return Outcome(Verdict.FAIL, expected, f"{said}, but the new code's check digit "
                       "is wrong (R-ID-01)")
    if new == old:
        return Outcome(Verdict.FAIL, expected, f"{said}, but the new code is the old one")
    if update.identity_info != dataclasses.replace(
            person.identity_info(Profile.CURRENT), resident_code=new):
        return Outcome(Verdict.FAIL, expected, f"{said}, but the identity info changed "
                       "beyond the code")
    states = _state(node, old), _state(node, new)
    if states != ("retired", "current"):
        return Outcome(Verdict.FAIL, expected, f"{said}; then the old code is "
                       f"{states[0]} and the new one {states[1]}")
    return Outcome(Verdict.PASS, expected, f"{said}, the old code retired")


def _not_random(codes: list[str]) -> str | None:
    """Why ``codes`` (in the order assigned) do not look like random data digits and a
    check digit, or None. Each test fails a random source with probability < 1e-5."""
    for code in codes:
        try:
            validate_resident_code(code)
        except JukiError:
            return "a code's check digit is wrong (R-ID-01)"
    if len(set(codes)) != len(codes):
        return f"{len(codes) - len(set(codes))} code(s) assigned twice"
    data = [int(c[:10]) for c in codes]
    near = sum(1 for a, b in itertools.pairwise(data) if abs(a - b) <= NEAR)
    if near >= 3:
        return (f"{near} of {len(codes) - 1} consecutive codes are within {NEAR:,} of "
                "each other: sequential")
    for pos in range(10):
        if len({c[pos] for c in codes}) < 4:
            return f"data digit {pos + 1} takes fewer than 4 values in {len(codes)} codes"
    digits = "".join(c[:10] for c in codes)
    mean = len(digits) / 10
    chi = sum((digits.count(d) - mean) ** 2 / mean for d in "0123456789")
    if chi > CHI_SQUARE:
        return f"the data digits are not uniform (chi-square {chi:.1f} > {CHI_SQUARE:g})"
    return None


def _codes_random(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = (f"{CODES} successive codes of one person valid and distinct, their data "
                "digits neither sequential, nor fixed in any position, nor far from "
                "uniform")
    last = _settled(node)
    person = _household(node)[0]
    code, codes = person.resident_code, []
    for i in range(CODES):
        got = _change(node, code, last + 1 + i)
        if isinstance(got, str):
            return Outcome(Verdict.FAIL, expected, f"change {i + 1}: {got}")
        code = got[0]
        codes.append(code)
    problem = _not_random([person.resident_code, *codes])
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, f"{CODES} codes, no pattern found")


def _retired_refused(restart: bool) -> Callable[[AdapterSut], Outcome]:
    """A case: a code retired by a change (and a restart, if ``restart``) offered to
    ``record_resident`` for the same person and for another must be refused with 5021
    and nothing reported."""
    def run(sut: AdapterSut) -> Outcome:
        node = _sut(sut)
        after = " after a restart" if restart else ""
        expected = (f"the retired code refused{after} with 5021 for the same person and "
                    "for another; nothing recorded or reported")
        last = _settled(node)
        seed, members = _registered(node)
        old = members[0].resident_code
        got = _change(node, old, last + 1)
        if isinstance(got, str):
            raise SutFault(f"the preamble's code change: {got}")
        if restart:
            node.restart()
        # The household's seed makes the same person again (its head); a fresh seed
        # makes another.
        for who, with_seed in (("the same person", seed),
                               ("another person", f"conformance:{secrets.token_hex(8)}")):
            before = node.status().get("updates")
            answer = node.request("record_resident", seed=with_seed, residentCode=old)
            if answer.get("ok"):
                _settled(node)
                return Outcome(Verdict.FAIL, expected, f"the retired code{after} was "
                               f"recorded for {who}")
            code = (answer.get("error") or {}).get("code")
            if code != int(ErrorCode.RESIDENT_CODE_RETIRED):
                return Outcome(Verdict.FAIL, expected, f"recording it for {who} answered "
                               f"{_said(answer)}")
            if node.status().get("updates") != before:
                return Outcome(Verdict.FAIL, expected, f"5021 for {who}, but an update "
                               "was queued")
        return Outcome(Verdict.PASS, expected, "5021 both times, nothing reported")
    return run


# Cards across a restart (R-CARD-01, R-CARD-02, R-24-2-1-01, R-NODE-52) ----------------------

def _card(node: NodeSut) -> str:
    head = _household(node)[0]
    return str(node.ok("card_issue", residentCode=head.resident_code, pin=PIN)["serial"])


def _pins(node: NodeSut, serial: str, steps: list[tuple[str, str, bool]],
          when: str) -> str | None:
    """Present ``(pin, status word, confirmed)`` in turn; None if every answer was as
    expected, else the first that was not (an unknown card included)."""
    for i, (pin, sw, confirmed) in enumerate(steps, 1):
        got = node.request("card_verify", serial=serial, pin=pin)
        if not got.get("ok"):
            return f"{when}, card_verify answered {_said(got)}"
        if str(got.get("sw", "")).upper() != sw or bool(got.get("confirmed")) != confirmed:
            kind = "right" if pin == PIN else "wrong"
            return (f"{when}, PIN {i} ({kind}) answered {got.get('sw')}, confirmed "
                    f"{got.get('confirmed')}; expected {sw}, confirmed {confirmed}")
    return None


def _count_survives(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("63C2, 63C1; restart; the third wrong PIN 63C0 and the right one 6983, "
                "refused")
    serial = _card(node)
    problem = _pins(node, serial, [(WRONG_PIN, "63C2", False), (WRONG_PIN, "63C1", False)],
                    "before the restart")
    if problem:
        raise SutFault(f"the preamble: {problem}")
    node.restart()
    problem = _pins(node, serial, [(WRONG_PIN, "63C0", False), (PIN, "6983", False)],
                    "after the restart")
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "the count went on across the restart")


def _block_survives(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("a card blocked before the restart: the right PIN 6983 after it; the "
                "municipality's reset 9000, then the right PIN confirmed")
    serial = _card(node)
    problem = _pins(node, serial, [(WRONG_PIN, "63C2", False), (WRONG_PIN, "63C1", False),
                                   (WRONG_PIN, "63C0", False)], "before the restart")
    if problem:
        raise SutFault(f"the preamble: {problem}")
    node.restart()
    problem = _pins(node, serial, [(PIN, "6983", False)], "after the restart")
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    reset = node.request("card_unlock", serial=serial, by="municipality")
    if not reset.get("ok") or reset.get("sw") != "9000":
        return Outcome(Verdict.FAIL, expected, "blocked after the restart, but the "
                       f"municipality's reset answered {reset.get('sw') or _said(reset)}")
    problem = _pins(node, serial, [(PIN, "9000", True)], "after the reset")
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "blocked across the restart, then reset")


def _suspension_survives(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("a card suspended before the restart refused with the right PIN after "
                "it; after resume the right PIN confirmed")
    serial = _card(node)
    node.ok("card_suspend", serial=serial)
    node.restart()
    used = node.request("card_verify", serial=serial, pin=PIN)
    if not used.get("ok"):
        return Outcome(Verdict.FAIL, expected, f"after the restart card_verify answered "
                       f"{_said(used)}")
    if used.get("confirmed") is not False:
        return Outcome(Verdict.FAIL, expected, "after the restart the suspended card "
                       f"confirmed the holder ({used.get('cardState')})")
    resumed = node.request("card_resume", serial=serial)
    if not resumed.get("ok"):
        return Outcome(Verdict.FAIL, expected, f"card_resume answered {_said(resumed)}")
    problem = _pins(node, serial, [(PIN, "9000", True)], "after resume")
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    return Outcome(Verdict.PASS, expected, "suspended across the restart, then resumed")


def _suspended_refused(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("the suspended card refused at the counter with the right PIN; after resume "
                "the right PIN confirms the holder")
    serial = _card(node)
    node.ok("card_suspend", serial=serial)
    used = node.request("card_verify", serial=serial, pin=PIN)
    if used.get("ok") and used.get("confirmed") is not False:
        return Outcome(Verdict.FAIL, expected,
                       f"the suspended card confirmed the holder ({used.get('cardState')})")
    node.ok("card_resume", serial=serial)
    again = node.request("card_verify", serial=serial, pin=PIN)
    if not again.get("ok") or again.get("confirmed") is not True:
        return Outcome(Verdict.FAIL, expected,
                       f"after resume the right PIN was not accepted: {again}")
    return Outcome(Verdict.PASS, expected, "refused while suspended, accepted after resume")


REM_SUSPEND = ("Keep the municipality's record of each card: refuse a suspended card at the "
               "counter (4011 CARD_SUSPENDED, never a confirmed holder) and accept it again "
               "only after the municipality lifts the suspension.")
REM_ERASE = ("Report every erasure of a record to the prefecture at once, in one update "
             "with operation erase, the change reason of the event (death, moveOut, "
             "erasedExOfficio), the event's date and the identity info as it was recorded "
             "(R-30-5-0-01, R-NODE-50); a move-out is reported when it is filed, not only "
             "when a move-in notice finalises it.")
REM_ERASED = ("Look the resident up before a card, an erasure or a code change: a record "
              "erased on a death is 5003 RECORD_DECEASED, one erased otherwise 5002 "
              "RECORD_MOVED_OUT, before anything is issued, erased or reported "
              "(R-NODE-91).")
REM_CODES = ("Draw the ten data digits of every new resident code from a random source "
             "(not a counter, not the person's data), add the check digit of "
             "spec/identifiers.md, keep every retired code for good in durable storage and "
             "refuse to record one (5021 RESIDENT_CODE_RETIRED); report a change with "
             "reason residentCodeChange and the old code in previousResidentCode.")
REM_CARDS = ("Keep each card's record (state, consecutive wrong PINs, suspension) in "
             "durable storage, committed before the counter answers, and the keys that "
             "authenticate and unblock the cards issued (R-NODE-52).")


def register_cases() -> list[Case]:
    """The cases of this module."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="municipality", needs=needs)
    return [
        case("card/node/card/suspended-refused-until-resumed",
             "a card suspended on loss or theft is refused at the counter and accepted "
             "again after the municipality resumes it", "card", ("R-24-2-1-01",),
             REM_SUSPEND, _suspended_refused),
        case("30-5/node/erase/death-reported",
             "a death is reported to the prefecture as an erasure with reason death",
             "30-5", ("R-NODE-50", "R-30-5-0-01", "R-30-5-0-03"), REM_ERASE,
             _erased("record_death", ChangeReason.DEATH)),
        case("30-5/node/erase/move-out-reported",
             "a move-out to another municipality is reported when it is recorded, as an "
             "erasure with reason moveOut", "30-5",
             ("R-NODE-50", "R-30-5-0-01", "R-30-5-0-03"), REM_ERASE,
             _erased("record_move_out", ChangeReason.MOVE_OUT, destination=DESTINATION)),
        case("30-5/node/erase/malformed-event-refused",
             "an erasing event with a missing or malformed field is refused 1030 and "
             "erases and sends nothing", "30-5", ("R-NODE-87", "R-JSON-02"),
             "Read each field of an upper tester op as its table says (an Address as its "
             "JSON form, exactly local_gov_code and text, both strings; dates YYYY-MM-DD; "
             "the reasons the op allows) before the event changes anything, and answer "
             "1030 INVALID_JSON otherwise.", _malformed_refused),
        case("30-5/node/erase/erased-record-refused",
             "a card, an erasure or a code change of a record already erased is refused "
             "with 5003 after a death, 5002 after a move-out, and sends nothing", "30-5",
             ("R-NODE-91", "R-NODE-50"), REM_ERASED, _erased_record_refused),
        case("30-5/node/erase/ex-officio-reported",
             "an erasure by the municipality's own authority is reported with reason "
             "erasedExOfficio", "30-5", ("R-NODE-50", "R-30-5-0-01", "R-30-5-0-03"),
             REM_ERASE, _erased("erase", ChangeReason.ERASED_EX_OFFICIO)),
        case("id/node/resident-code/change-reported",
             "a resident code change is reported as a correction carrying the new code "
             "and the retired one", "id", ("R-NODE-51", "R-30-5-0-04", "R-ID-01"),
             REM_CODES, _change_reported),
        case("id/node/resident-code/new-codes-random",
             f"{CODES} new codes assigned to one person are valid, distinct and show no "
             "sequence or pattern", "id", ("R-ID-02", "R-NODE-51"), REM_CODES,
             _codes_random),
        case("id/node/resident-code/retired-code-refused",
             "recording a retired code, for its person or another, is refused with 5021",
             "id", ("R-ID-03",), REM_CODES, _retired_refused(False)),
        case("id/node/resident-code/retired-code-refused-after-restart",
             "a code retired before a restart is refused with 5021 after it", "id",
             ("R-ID-03", "R-NODE-52", "R-NODE-17"), REM_CODES, _retired_refused(True),
             "ixit.restart"),
        case("card/node/restart/pin-count-survives",
             "two wrong PINs, a restart, and the third wrong PIN blocks the card", "card",
             ("R-CARD-01", "R-NODE-52", "R-NODE-17"), REM_CARDS, _count_survives,
             "ixit.restart"),
        case("card/node/restart/blocked-card-stays-blocked",
             "a blocked card stays blocked across a restart until the municipality "
             "resets it", "card", ("R-CARD-01", "R-CARD-02", "R-NODE-52"), REM_CARDS,
             _block_survives, "ixit.restart"),
        case("card/node/restart/suspended-card-stays-suspended",
             "a suspended card stays suspended across a restart until resumed", "card",
             ("R-24-2-1-01", "R-NODE-52", "R-NODE-17"), REM_CARDS, _suspension_survives,
             "ixit.restart"),
    ]


__all__ = ["register_cases"]
