"""Node-mode cases on operators (spec/node.md section 4.8): a local action without an
authenticated operator session is refused with a registered code and does nothing; a
wrong PIN is refused and counted, a right one opens a session; the audit log names the
operator of the action.

The cases need the IXIT's ``operator`` (its id and PIN), the operator the runner logs in
as; they run on a municipality, whose register events are local actions. A wrong PIN is
tried once only, followed by the right one, so the operator is never locked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, node_sut
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut, HarnessError

REMEDIATION = ("Serve a local action (spec/node.md section 4.8) only within an operator "
               "session opened by operator_login, and answer one without a valid session "
               "3022 OPERATOR_SESSION_REQUIRED before it does anything; write an audit "
               "row (direction local) naming the session's operator.")
REMEDIATION_ID = ("Check an operatorId as operator_login and operator_unlock read it: "
                  "1 to 32 ASCII letters, digits, '-', '_' or '.', nothing else (no "
                  "trimming or folding); answer any other 1030 INVALID_JSON before "
                  "looking the operator up (R-NODE-92).")
EXPECTED = ("register_resident without a session or with an unknown one: 3022 and "
            "nothing recorded; by an operator whose roles do not allow it: 3023; a wrong "
            "PIN: 3024; the right PIN: a session within which register_resident is "
            "accepted and audited (direction local) with the operator")


def _code(answer: dict[str, Any]) -> int | None:
    error = answer.get("error")
    return None if answer.get("ok") else int(error.get("code", 0)) \
        if isinstance(error, dict) else 0


def _needs_operator(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    operator = node.ixit.get("operator") or {}
    seed = f"operators-{secrets.token_hex(4)}"
    before = node.status().get("residents")
    for session in (None, "not-a-session-" + secrets.token_hex(8)):
        answer = node.request("register_resident", seed=seed, session=session)
        if _code(answer) != 3022:
            return Outcome(Verdict.FAIL, EXPECTED,
                           f"register_resident with session {session!r} "
                           f"was answered {answer.get('error') or 'ok'}, not 3022")
    restricted = operator.get("restricted")
    if isinstance(restricted, dict):          # R-NODE-81: a role that does not allow it
        login = node.request("operator_login", operatorId=restricted.get("id"),
                             pin=restricted.get("pin"))
        if not login.get("ok"):
            raise HarnessError(f"the IXIT's restricted operator cannot log in: "
                               f"{login.get('error')}")
        answer = node.request("register_resident", seed=seed, session=login["session"])
        if _code(answer) != 3023:
            return Outcome(Verdict.FAIL, EXPECTED, f"register_resident by an operator whose "
                           f"roles do not allow it was answered "
                           f"{answer.get('error') or 'ok'}, not 3023")
    if node.status().get("residents") != before:     # nothing recorded by the refusals
        return Outcome(Verdict.FAIL, EXPECTED, "a refused local action changed the register")
    pin = str(operator.get("pin", ""))
    wrong = ("1" if pin[:1] != "1" else "2") + pin[1:]
    answer = node.request("operator_login", operatorId=operator.get("id"), pin=wrong)
    if _code(answer) != 3024:
        return Outcome(Verdict.FAIL, EXPECTED, f"a wrong PIN was answered "
                       f"{answer.get('error') or 'ok'}, not 3024")
    node.login()                              # the right PIN: a session, the count reset
    done = node.request("register_resident", seed=seed)
    if not done.get("ok"):
        return Outcome(Verdict.FAIL, EXPECTED, f"register_resident within the session was "
                       f"refused: {done.get('error')}")
    rows: list[dict[str, Any]] = []
    after = 0
    while True:                               # the last rows of the log
        page = node.request("audit_log", after=after, limit=10_000).get("rows") or []
        if not page:
            break
        rows, after = (rows + page)[-200:], int(page[-1].get("seq", after + len(page)))
    locals_ = [r for r in rows if r.get("direction") == "local"
               and r.get("messageType") == "register_resident"]
    if not any(r.get("operator") == operator.get("id") and r.get("result") == "accepted"
               for r in locals_):
        return Outcome(Verdict.FAIL, EXPECTED, "no audit row (direction local) names the "
                       "operator "
                       "of the accepted register_resident")
    return Outcome(Verdict.PASS, EXPECTED, "as expected")


def _malformed_ids(oid: str) -> tuple[str, ...]:
    """Operator ids that are not 1 to 32 letters, digits, '-', '_' or '.' (R-NODE-92):
    the IXIT's own id with one character no id may hold (a space, a non-ASCII letter,
    '/', ';'), so that a node that drops or folds the character would find the
    operator; the empty id and one of 33 characters."""
    base = oid[:31] or "op"
    return (*(base + c for c in (" ", "\u00e9", "/", ";")), " " + base, "",
            (base * 33)[:33])


def _id_form(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    operator = node.ixit.get("operator") or {}
    expected = ("operator_login (with the operator's right PIN) and operator_unlock whose "
                "operatorId is not 1 to 32 letters, digits, '-', '_' or '.' (a space, "
                "a non-ASCII letter, '/', ';', empty, 33 characters) answered 1030 "
                "INVALID_JSON")
    unlock_checked = True
    for bad in _malformed_ids(str(operator.get("id", ""))):
        answer = node.request("operator_login", operatorId=bad, pin=operator.get("pin"))
        if _code(answer) != 1030:
            return Outcome(Verdict.FAIL, expected, f"operator_login with operatorId "
                           f"{bad!r} was answered {answer.get('error') or 'ok'}, not 1030")
        # In the runner's session; an operator whose roles do not allow operator_admin
        # is refused 3023 before the id is read, and then only the login is judged.
        answer = node.request("operator_unlock", operatorId=bad)
        if _code(answer) == 3023:
            unlock_checked = False
        elif _code(answer) != 1030:
            return Outcome(Verdict.FAIL, expected, f"operator_unlock of operatorId "
                           f"{bad!r} was answered {answer.get('error') or 'ok'}, not 1030")
    return Outcome(Verdict.PASS, expected, "as expected" if unlock_checked else
                   "as expected (operator_login only: the IXIT's operator may not unlock)")


def operator_cases() -> list[Case]:
    """The cases of this module."""
    def case(cid: str, title: str, reqs: tuple[str, ...],
             run: Callable[[AdapterSut], Outcome], rem: str = REMEDIATION) -> Case:
        return NodeCase(id=cid, title=title, clause="node", requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(),
                        run=run, role="municipality", needs="ixit.operator")
    return [
        case("node/node/operators/local-action-needs-operator",
             "a local action without an operator session is refused 3022 and does "
             "nothing; a wrong PIN 3024; within the session it is accepted and audited",
             ("R-NODE-80", "R-NODE-81", "R-NODE-82", "R-NODE-83"), _needs_operator),
        case("node/node/operators/operator-id-form",
             "an operatorId that is not 1 to 32 letters, digits, '-', '_' or '.' is "
             "refused 1030 by operator_login and operator_unlock",
             ("R-NODE-92",), _id_form, REMEDIATION_ID),
    ]


__all__ = ["operator_cases"]
