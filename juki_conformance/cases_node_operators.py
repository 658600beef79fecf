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

from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node import node_sut as _sut
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut, HarnessError

REMEDIATION = ("Serve a local action (spec/node.md section 4.8) only within an operator "
               "session opened by operator_login, and answer one without a valid session "
               "3022 OPERATOR_SESSION_REQUIRED before it does anything; write an audit "
               "row (direction local) naming the session's operator.")
EXPECTED = ("register_resident without a session or with an unknown one: 3022 and "
            "nothing recorded; by an operator whose roles do not allow it: 3023; a wrong "
            "PIN: 3024; the right PIN: a session within which register_resident is "
            "accepted and audited (direction local) with the operator")


def _code(answer: dict[str, Any]) -> int | None:
    error = answer.get("error")
    return None if answer.get("ok") else int(error.get("code", 0)) \
        if isinstance(error, dict) else 0


def _needs_operator(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
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


def operator_cases() -> list[Case]:
    """The cases of this module."""
    def case(cid: str, title: str, reqs: tuple[str, ...],
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause="node", requirements=reqs,
                        level="MUST", remediation=REMEDIATION, mode="node", ops=(),
                        run=run, role="municipality", needs="ixit.operator")
    return [
        case("node/node/operators/local-action-needs-operator",
             "a local action without an operator session is refused 3022 and does "
             "nothing; a wrong PIN 3024; within the session it is accepted and audited",
             ("R-NODE-80", "R-NODE-81", "R-NODE-82", "R-NODE-83"), _needs_operator),
    ]


__all__ = ["operator_cases"]
