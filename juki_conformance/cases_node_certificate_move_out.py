"""Node-mode cases of a municipality as the former municipality of an ordinary move whose
move-out is still on file (Arts. 24 and 9(1); spec/node.md section 4.5, R-NODE-96;
spec/special_move.md section 4.1, R-MOVE-02, R-9-1-04).

The cases of :mod:`juki_conformance.cases_node_ordinary_move` erase the records at the
counter first (``record_move_out``), so that the notice finds nothing left to erase. A
move-out filed with a paper certificate keeps the records current until the new
municipality's ``MoveInNotice`` arrives; it is put on file with ``ordinary_move_out``:

* the records stay current and nothing is reported while the move-out is on file; a
  notice naming some of its persons erases and reports exactly those (``erase``,
  ``moveOut``, the notice's ``movedDate``), the others stay current until a second
  notice names them;
* ``ordinary_move_out`` refuses, putting nothing on file, a destination in the node's
  own municipality (1024), an unknown code (5001), an erased record (5002, 5003) and a
  person already on a move-out on file, ordinary or annotated (4001), also when only
  one person of several is; and ``annotated_move_out`` refuses a person on an ordinary
  move-out on file (4001).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe
from juki_conformance.cases_node_op_fields import distinct_codes
from juki_conformance.cases_node_ordinary_move import (
    ELSEWHERE,
    no_update,
    ordinary_notice,
    refs_of,
    send_ordinary,
)
from juki_conformance.flow_steps import (
    address_of,
    as_json,
    is_accepted,
    node_today,
    peer_household,
    registered_household,
    settle_updates,
    updates_reported,
)
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import error_text, node_sut, upper_ok
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident
from juki_protocol.messages.common import ChangeReason
from juki_protocol.messages.identity import UpdateOperation


def move_out_fields(node: NodeSut, people: tuple[SyntheticResident, ...],
                    destination: str = ELSEWHERE) -> dict[str, Any]:
    """The fields of an ``ordinary_move_out`` (or ``annotated_move_out``) of ``people``."""
    return {"movers": [p.resident_code for p in people],
            "destination": as_json(address_of(destination)),
            "plannedMoveDate": node_today(node).isoformat()}


def _states(node: NodeSut, people: tuple[SyntheticResident, ...]) -> list[str]:
    """The ``resident`` state of each person (``current``, ``erased``...)."""
    return [str(upper_ok(node, "resident", residentCode=p.resident_code).get("state"))
            for p in people]


def _finalised_by_notices(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("ordinary_move_out of a household of three answered with movers 3, the "
                "records current and nothing reported; a MoveInNotice naming the first "
                "accepted, that record alone erased and reported (erase, moveOut, the "
                "notice's movedDate), the others current; a second notice naming the "
                "others accepted, their records erased and reported")
    people = registered_household(node, 3)[:3]
    last = settle_updates(node)
    answer = upper_ok(node, "ordinary_move_out", **move_out_fields(node, people))
    if answer.get("movers") != len(people):
        return Outcome(Verdict.FAIL, expected, f"ordinary_move_out answered {answer}")
    problem = no_update(node)
    if problem is not None or _states(node, people) != ["current"] * 3:
        return Outcome(Verdict.FAIL, expected, "with the move-out on file "
                       f"{problem or f'the records are {_states(node, people)}'}")
    moved = node_today(node) - dt.timedelta(days=1)
    first, rest = people[:1], people[1:]
    for label, named, seq in (("the first", first, last + 1),
                              ("the others", rest, last + 2)):
        _, _, got = send_ordinary(node, ordinary_notice(node, refs_of(named), moved))
        if not is_accepted(got):
            return Outcome(Verdict.FAIL, expected, f"the notice naming {label} got "
                           f"{describe(got)}")
        problem = updates_reported(node, named, seq, moved,
                                   operation=UpdateOperation.ERASE,
                                   reason=ChangeReason.MOVE_OUT)
        if problem is None:
            problem = no_update(node)
        want = ["erased"] * 3 if named is rest else ["erased", "current", "current"]
        if problem is None and _states(node, people) != want:
            problem = f"the records are then {_states(node, people)}, not {want}"
        if problem is not None:
            return Outcome(Verdict.FAIL, expected, f"after the notice naming {label}: "
                           f"{problem}")
    return Outcome(Verdict.PASS, expected, f"on file, then erased by two notices "
                   f"(updates {last + 1}..{last + 3})")


def _refusals(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    E = ErrorCode
    expected = (f"ordinary_move_out answered {error_text(E.INVALID_FIELD)} for a "
                f"destination in the node, {error_text(E.NO_SUCH_RESIDENT)} for unknown "
                f"codes (one, and 20), {error_text(E.RECORD_MOVED_OUT)} and "
                f"{error_text(E.RECORD_DECEASED)} for erased records, "
                f"{error_text(E.UNEXPECTED_MESSAGE)} for a person on a move-out on file "
                "(ordinary or annotated, alone or beside another), and annotated_move_out "
                f"{error_text(E.UNEXPECTED_MESSAGE)} for a person on an ordinary one; "
                "nothing put on file, nothing reported")
    fresh, on_file, annotated, moved, dead = (registered_household(node)[:1]
                                              for _ in range(5))
    node.ok("record_move_out", residentCode=moved[0].resident_code,
            destination=as_json(address_of(ELSEWHERE)))
    node.ok("record_death", residentCode=dead[0].resident_code)
    node.ok("ordinary_move_out", **move_out_fields(node, on_file))
    node.ok("annotated_move_out", **move_out_fields(node, annotated))
    settle_updates(node)
    stranger = peer_household(node)[:1]
    tries: tuple[tuple[str, str, ErrorCode, dict[str, Any]], ...] = (
        ("ordinary_move_out", "a destination in the node", E.INVALID_FIELD,
         move_out_fields(node, fresh, node.code)),
        ("ordinary_move_out", "an unknown code", E.NO_SUCH_RESIDENT,
         move_out_fields(node, stranger)),
        ("ordinary_move_out", "20 unknown codes (as many as a move-out takes)",
         E.NO_SUCH_RESIDENT, {**move_out_fields(node, stranger),
                              "movers": distinct_codes(20)}),
        ("ordinary_move_out", "a moved-out record", E.RECORD_MOVED_OUT,
         move_out_fields(node, moved)),
        ("ordinary_move_out", "a deceased record", E.RECORD_DECEASED,
         move_out_fields(node, dead)),
        ("ordinary_move_out", "a person on file", E.UNEXPECTED_MESSAGE,
         move_out_fields(node, on_file)),
        ("ordinary_move_out", "a fresh person beside one on file", E.UNEXPECTED_MESSAGE,
         move_out_fields(node, fresh + on_file)),
        ("ordinary_move_out", "a person on an annotated move-out", E.UNEXPECTED_MESSAGE,
         move_out_fields(node, annotated)),
        ("annotated_move_out", "a person on an ordinary move-out", E.UNEXPECTED_MESSAGE,
         move_out_fields(node, on_file)))
    for op, label, code, fields in tries:
        answer = node.request(op, **fields)
        error = answer.get("error") or {}
        if answer.get("ok") or error.get("code") != int(code):
            said = "ok" if answer.get("ok") else f"{error.get('code')} {error.get('name')}"
            return Outcome(Verdict.FAIL, expected, f"{op} of {label} answered {said}")
    problem = no_update(node)
    if problem is not None:
        return Outcome(Verdict.FAIL, expected, f"refused each time, but {problem}")
    if _states(node, fresh + on_file + annotated) != ["current"] * 3:
        return Outcome(Verdict.FAIL, expected, "refused each time, but a record is now "
                       f"{_states(node, fresh + on_file + annotated)}")
    again = node.request("ordinary_move_out", **move_out_fields(node, fresh))
    if not again.get("ok"):
        return Outcome(Verdict.FAIL, expected, "refused each time, but then the fresh "
                       f"person's own move-out answered {again.get('error')} (a refused "
                       "one put it on file)")
    return Outcome(Verdict.PASS, expected, f"{len(tries)} refusals with their codes; "
                   "the fresh person then put on file")


REM_ON_FILE = (
    "Keep a move-out filed at the counter with a certificate on file with the records "
    "current, report nothing until a MoveInNotice names its persons, then erase and "
    "report exactly the persons the notice names (erase, moveOut, the notice's "
    "movedDate) (R-NODE-96, R-9-1-04, R-MOVE-02).")
REM_REFUSE = (
    "Check every mover before putting anything on file: 1024 for a destination in your "
    "municipality, 5001 for a code not in the register, 5002 or 5003 for an erased "
    "record, 4001 for a person already on a move-out on file, ordinary or annotated "
    "(R-NODE-96).")


def certificate_move_out_cases() -> list[Case]:
    """The cases of this module (a municipality SUT)."""
    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause="9/1", requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="municipality")
    return [
        case("9/1/node/ordinary-move/former/certificate-on-file-finalised-by-notices",
             "a move-out filed with a certificate keeps the records current until a "
             "MoveInNotice names them, then erases and reports exactly those",
             ("R-NODE-96", "R-9-1-04", "R-MOVE-02"), REM_ON_FILE, _finalised_by_notices),
        case("9/1/node/ordinary-move/former/certificate-move-out-refusals",
             "ordinary_move_out refuses a destination within, an unknown code, erased "
             "records and persons on file with their codes, putting nothing on file",
             ("R-NODE-96", "R-NODE-91"), REM_REFUSE, _refusals),
    ]


__all__ = ["certificate_move_out_cases", "move_out_fields"]
