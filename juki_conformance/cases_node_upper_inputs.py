"""Node-mode cases on the input rules of upper tester ops: operators, the audit log,
the request lines, record_items and identity_versions (spec/node.md sections 4.1 and
4.8, spec/family_register.md section 5; R-NODE-09, R-NODE-20, R-NODE-82, R-NODE-92,
R-FAMREG-03), from the mutation backlog (issue 12): each rule on both sides of each
bound and with each wrong JSON type.

- ``operator_login`` takes a ``pin`` of 4 to 16 ASCII digits as a PIN: a wrong PIN of
  4 digits, and one of 16, is refused 3024 and counted, while 3 or 17 digits, a digit
  of another script, a number, a PIN with a space or none at all is 1030 and counts
  nothing (two wrong PINs after all of them are still 3024, not a lock; the right PIN
  then opens a session and resets the count, so that two more wrong PINs are 3024
  again). The case logs in as the IXIT's ``restricted`` operator when it declares one,
  so that a faulty node locks that operator rather than the runner's.
- ``audit_log`` gives at most ``limit`` entries above ``after``, from the first entry
  when ``after`` is absent, answers ``limit`` 1 with one entry, and answers an ``after``
  below 0, a ``limit`` below 1 and either of them of another JSON type with 1030.
- ``record_items`` answers ``state`` ``erased`` for a record erased on a death and for
  one erased by the municipality's own authority, ``current`` for a member of the same
  household left as it was; a ``residentCode`` missing or of another type, or
  ``items`` that are not the JSON form of ``FamilyRegisterItems``, is 1030, and a code
  not in the register 5001 (R-FAMREG-03).
- Lines of white space on the upper tester's connection are no requests: they are not
  answered, and the request after them on the same connection is (R-NODE-09).
- ``identity_versions`` answers a ``residentCode`` of 11 ASCII digits that the node
  does not hold (``versions`` 0, not current) and refuses 10 or 12 digits, digits of
  another script, letters and other JSON types with 1030 (R-NODE-09).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, node_sut
from juki_conformance.flow_steps import registered_household
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, HarnessError, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import resident_code_check_digit
from juki_protocol.messages.family_register import FamilyRegisterItems

BAD = int(ErrorCode.INVALID_JSON)
REFUSED = int(ErrorCode.OPERATOR_CREDENTIAL_REFUSED)
#: PINs that are not 4 to 16 ASCII digits (R-NODE-92): each bound's wrong side, digits
#: of other scripts (which str.isdigit takes), other JSON types, spaces.
MALFORMED_PINS: tuple[Any, ...] = (
    "123", "1" * 17, "", "12a4", "\uff11\uff12\uff13\uff14", "\u0661\u0662\u0663\u0664",
    "\u00b9\u00b2\u00b3\u2074", " 1234", "1234 ", "12 34", "-1234", "+1234", "12.4",
    1234, 12345678, True, None, ["1234"], {"pin": "1234"})
Row = dict[str, Any]


def _code(answer: dict[str, Any]) -> int | None:
    """The error code of an answer, None for a success."""
    if answer.get("ok"):
        return None
    error = answer.get("error")
    return int(error.get("code", 0)) if isinstance(error, dict) else 0


def _said(answer: dict[str, Any]) -> str:
    code = _code(answer)
    return "ok" if code is None else str(code)


def _wrong(pin: str, size: int) -> str:
    """A PIN of ``size`` digits that is not ``pin``."""
    return "0" * size if pin != "0" * size else "1" * size


# The PIN of operator_login (R-NODE-82, R-NODE-92) -----------------------------------------

def _pin_form(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    main = node.ixit.get("operator") or {}
    restricted = main.get("restricted")
    operator = restricted if isinstance(restricted, dict) else main
    oid, pin = operator.get("id"), str(operator.get("pin", ""))
    expected = ("operator_login with a pin of 3 or 17 digits, digits of another script, "
                "a number, a space or none answered 1030 and counted nothing; wrong PINs "
                "of 4 and of 16 digits answered 3024 twice in a row; the right PIN then "
                "opened a session and reset the count")
    try:
        for bad in (*MALFORMED_PINS, "missing"):
            fields = {"operatorId": oid} if bad == "missing" else \
                {"operatorId": oid, "pin": bad}
            answer = node.request("operator_login", **fields)
            if _code(answer) != BAD:
                return Outcome(Verdict.FAIL, expected, f"operator_login with pin "
                               f"{bad!r} answered {_said(answer)}, not {BAD}")
        for round_ in (1, 2):
            for size in (4, 16):
                answer = node.request("operator_login", operatorId=oid,
                                      pin=_wrong(pin, size))
                if _code(answer) != REFUSED:
                    return Outcome(Verdict.FAIL, expected, f"a wrong PIN of {size} digits "
                                   f"(round {round_}, after "
                                   f"{'the malformed ones' if round_ == 1 else 'the right PIN'}"
                                   f") answered {_said(answer)}, not {REFUSED}")
            answer = node.request("operator_login", operatorId=oid, pin=pin)
            if not answer.get("ok") or not answer.get("session"):
                return Outcome(Verdict.FAIL, expected, f"the right PIN after two wrong "
                               f"ones (round {round_}) answered {_said(answer)}")
            node.request("operator_logout", session=answer["session"])
    finally:
        if operator is not main:          # a faulty node may have locked it
            node.request("operator_unlock", operatorId=oid)
    return Outcome(Verdict.PASS, expected, f"{len(MALFORMED_PINS) + 1} malformed PINs "
                   "refused 1030; 4 and 16 digits taken as PINs")


# audit_log's after and limit (R-NODE-20) --------------------------------------------------

def _rows(node: NodeSut, **fields: Any) -> list[Row]:
    answer = node.request("audit_log", **fields)
    if not answer.get("ok") or not isinstance(answer.get("rows"), list):
        raise SutFault(f"audit_log {fields} failed: {answer.get('error')}")
    return [r for r in answer["rows"] if isinstance(r, dict)]


def _seqs(rows: list[Row]) -> list[Any]:
    return [r.get("seq") for r in rows]


def _touch(node: NodeSut) -> None:
    """Have the node write audit entries of its own: local actions (logged, accepted
    or refused, R-NODE-83), or with no operators a refused login (1032 or 3024)."""
    node.request("operator_login", operatorId="nobody-upper-inputs", pin="0000")
    node.request("resident", residentCode="00000000000")


def _audit_inputs(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("audit_log: after and limit as given (limit 1: one entry; limit 2: two; "
                "no after: from the first entry); after below 0, limit below 1 and either "
                "of another JSON type answered 1030")
    for _ in range(3):
        _touch(node)
    first = _rows(node, after=0, limit=3)
    if len(first) < 3:
        return Outcome(Verdict.FAIL, expected, f"audit_log after 0 with limit 3 answered "
                       f"{len(first)} entries; the log holds at least 3")
    start = first[0].get("seq")
    if not isinstance(start, int) or _seqs(first) != [start, start + 1, start + 2]:
        return Outcome(Verdict.FAIL, expected, f"the first entries are numbered "
                       f"{_seqs(first)}")
    checks: list[tuple[str, dict[str, Any], list[Any]]] = [
        ("no after, limit 1", {"limit": 1}, [start]),
        ("no after, limit 2", {"limit": 2}, [start, start + 1]),
        (f"after {start}, limit 1", {"after": start, "limit": 1}, [start + 1]),
        (f"after {start - 1}, limit 2", {"after": start - 1, "limit": 2},
         [start, start + 1])]
    for label, fields, want in checks:
        got = _seqs(_rows(node, **fields))
        if got != want:
            return Outcome(Verdict.FAIL, expected, f"audit_log with {label} answered "
                           f"entries {got[:5]}, not {want}")
    refused: list[tuple[str, Any]] = [
        *(("after", v) for v in (-1, -0.5, "1", True, False, None, [0], {"after": 0})),
        *(("limit", v) for v in (0, -1, 0.5, "2", True, False, None, [1], {"limit": 1}))]
    for name, value in refused:
        answer = node.request("audit_log", **{name: value})
        if _code(answer) != BAD:
            return Outcome(Verdict.FAIL, expected, f"audit_log with {name} {value!r} "
                           f"answered {_said(answer)}, not {BAD}")
    return Outcome(Verdict.PASS, expected, f"{len(checks)} pages as asked; "
                   f"{len(refused)} malformed fields refused 1030")


# record_items: the state of an erased record, and its inputs (R-FAMREG-03) -----------------

def _items_state(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("record_items: erased after record_death and after erase, current for "
                "the member left; residentCode missing or not a string, items not "
                "FamilyRegisterItems: 1030; a code not in the register: 5001")
    dead, struck, kept = registered_household(node, 3)[:3]
    items = codec.to_json(FamilyRegisterItems(name=kept.name))
    node.ok("record_death", residentCode=dead.resident_code)
    node.ok("erase", residentCode=struck.resident_code, reason="erasedExOfficio")
    for person, want in ((dead, "erased"), (struck, "erased"), (kept, "current")):
        answer = node.request("record_items", residentCode=person.resident_code,
                              items=items)
        if not answer.get("ok") or answer.get("state") != want:
            got = answer.get("state") if answer.get("ok") else _said(answer)
            return Outcome(Verdict.FAIL, expected, f"record_items of a record that "
                           f"should be {want} answered {got!r}")
    code = kept.resident_code
    tries: list[tuple[str, dict[str, Any], int]] = [
        *((f"residentCode {v!r}", {"residentCode": v, "items": items}, BAD)
          for v in ("", 12345678901, None, [code], {"code": code}, True)),
        ("residentCode missing", {"items": items}, BAD),
        *((f"items {v!r}", {"residentCode": code, "items": v}, BAD)
          for v in ("x", [items], 5, True, {**items, "unknownKey": "x"}, {"name": 5})),
        ("a code not in the register", {"residentCode": _unknown(code), "items": items},
         int(ErrorCode.NO_SUCH_RESIDENT))]
    for label, fields, want_code in tries:
        answer = node.request("record_items", **fields)
        if _code(answer) != want_code:
            return Outcome(Verdict.FAIL, expected, f"record_items with {label} answered "
                           f"{_said(answer)}, not {want_code}")
    return Outcome(Verdict.PASS, expected, f"states as recorded; {len(tries)} requests "
                   "refused as the rules say")


def _unknown(code: str) -> str:
    """A resident code with its check digit that differs from ``code`` in its first
    digit (not in the register unless the synthetic data made it so)."""
    body = str((int(code[0]) + 5) % 10) + code[1:10]
    return body + str(resident_code_check_digit(body))


# The request lines themselves (R-NODE-09) --------------------------------------------------

def _blank_lines(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("lines of white space not answered; hello and status after them on the "
                "same connection answered with their own ids")
    if node.upper_file is None:
        raise HarnessError("the upper tester is not connected")
    node.upper_file.write(b"\n   \n\t\r\n")
    node.upper_file.flush()
    for op in ("hello", "status"):
        try:
            answer = node.request(op)
        except SutFault as exc:
            return Outcome(Verdict.FAIL, expected, f"{op} after lines of white space: "
                           f"{exc}")
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"{op} after lines of white space "
                           f"answered {_said(answer)}")
    return Outcome(Verdict.PASS, expected, "as expected")


#: Request lines that are not a JSON object, each with what makes it so.
NOT_OBJECTS = ((b"not json", "not JSON"), (b'{"id": 1, "op": "hello"', "cut-off JSON"),
               (b"[1, 2]", "a JSON array"), (b'"hello"', "a JSON string"),
               (b"null", "JSON null"), (b"\xff\xfe{}", "not UTF-8"),
               (b"[" * 100_000 + b"]" * 100_000, "an array nested 100,000 deep"))


def _not_objects(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("each line that is not a JSON object answered with one line, error 1030; "
                "hello after them on the same connection answered with its own id")
    if node.upper_file is None:
        raise HarnessError("the upper tester is not connected")
    for line, what in NOT_OBJECTS:
        try:
            node.upper_file.write(line + b"\n")
            node.upper_file.flush()
            raw = node.upper_file.readline(1024 * 1024)
        except OSError as exc:
            return Outcome(Verdict.FAIL, expected, f"{what}: the connection failed: {exc}")
        try:
            answer = json.loads(raw)
        except ValueError:
            return Outcome(Verdict.FAIL, expected, f"{what}: answered {raw[:120]!r}, not "
                           "one JSON line")
        if not isinstance(answer, dict) or answer.get("ok") is not False or \
                _code(answer) != ErrorCode.INVALID_JSON:
            return Outcome(Verdict.FAIL, expected, f"{what}: answered {_said(answer)}")
    try:
        hello = node.request("hello")
    except SutFault as exc:
        return Outcome(Verdict.FAIL, expected, f"hello after them: {exc}")
    if not hello.get("ok"):
        return Outcome(Verdict.FAIL, expected, f"hello after them answered {_said(hello)}")
    return Outcome(Verdict.PASS, expected, f"{len(NOT_OBJECTS)} lines answered 1030; "
                   "hello answered")


def _versions_input(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    code = _unknown("12345678901")
    expected = (f"identity_versions of a code of 11 digits the node does not hold: "
                f"versions 0, not current; other residentCodes answered {BAD}")
    answer = node.request("identity_versions", residentCode=code)
    if not answer.get("ok") or (answer.get("versions"), answer.get("current")) != (0, False):
        said = (answer.get("versions"), answer.get("current")) if answer.get("ok") \
            else _said(answer)
        return Outcome(Verdict.FAIL, expected, f"identity_versions of a code it does not "
                       f"hold answered {said}")
    wrong: tuple[Any, ...] = (code[:10], code + "0", "", "1234567890a",
                              "\uff11" + code[1:], " " + code[1:], int(code), None,
                              [code], True)
    for value in (*wrong, "missing"):
        fields = {} if value == "missing" else {"residentCode": value}
        answer = node.request("identity_versions", **fields)
        if _code(answer) != BAD:
            return Outcome(Verdict.FAIL, expected, f"identity_versions with residentCode "
                           f"{value!r} answered {_said(answer)}")
    return Outcome(Verdict.PASS, expected, f"{len(wrong) + 1} residentCodes refused 1030")


REMEDIATION_PIN = ("Take a pin of operator_login as a PIN only when it is a string of 4 "
                   "to 16 ASCII digits (4 and 16 included); answer any other 1030 "
                   "INVALID_JSON without counting a wrong PIN (R-NODE-92, R-NODE-82).")
REMEDIATION_LOG = ("Answer audit_log with the entries numbered above 'after' (0 when "
                   "absent), at most 'limit'; refuse an 'after' below 0, a 'limit' below 1 "
                   "and a value that is not a number with 1030 (R-NODE-20).")

REMEDIATION_ITEMS = ("Answer record_items with the record's state (erased once the "
                     "municipality erased it, on a death, a move-out or by its own "
                     "authority, else current); refuse a residentCode or items that are "
                     "not of their form 1030 and a code not in the register 5001 "
                     "(R-FAMREG-03).")

REMEDIATION_LINES = ("Skip a request line of white space without answering it and serve "
                     "the next line; answer identity_versions of 11 ASCII digits, held "
                     "or not, and refuse any other residentCode 1030 (R-NODE-09).")

REMEDIATION_OBJECTS = ("Answer a request line that is not a JSON object (not JSON, not "
                       "UTF-8, nested beyond the parser, an array or a scalar) with one "
                       "answer line, error 1030 INVALID_JSON, and go on serving the "
                       "connection (R-NODE-09).")


def upper_input_cases() -> list[Case]:
    """The cases of this module (a municipality SUT)."""
    def case(cid: str, title: str, reqs: tuple[str, ...], run: Callable[[AdapterSut],
             Outcome], remediation: str, needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause="node", requirements=reqs,
                        level="MUST", remediation=remediation, mode="node", ops=(),
                        run=run, role="municipality", needs=needs)
    return [
        case("node/node/operators/pin-form", "operator_login takes a pin of 4 to 16 "
             "digits as a PIN (wrong: 3024, counted) and refuses any other 1030, counting "
             "nothing", ("R-NODE-92", "R-NODE-82"), _pin_form, REMEDIATION_PIN,
             "ixit.operator"),
        case("node/node/audit/log-after-and-limit", "audit_log answers after and limit on "
             "both sides of their bounds: pages as asked, 1030 below them or of another "
             "type", ("R-NODE-20",), _audit_inputs, REMEDIATION_LOG),
        NodeCase(id="9/2/node/family-register/residence/record-items-state-and-inputs",
                 title="record_items answers erased for records erased on a death or by "
                 "the municipality, current otherwise, and refuses malformed fields 1030",
                 clause="9/2", requirements=("R-FAMREG-03",), level="MUST",
                 remediation=REMEDIATION_ITEMS, mode="node", ops=(), run=_items_state,
                 role="municipality"),
        NodeCase(id="node/node/upper-tester/blank-lines-not-answered",
                 title="lines of white space on the upper tester are not answered, and "
                 "the requests after them are", clause="node",
                 requirements=("R-NODE-09",), level="MUST", remediation=REMEDIATION_LINES,
                 mode="node", ops=(), run=_blank_lines, role="municipality"),
        NodeCase(id="node/node/upper-tester/lines-not-objects-refused",
                 title="upper tester lines that are not a JSON object (not JSON, cut off, "
                 "an array, a string, null, not UTF-8, nested deep) are answered 1030, "
                 "and the interface keeps serving", clause="node",
                 requirements=("R-NODE-09",), level="MUST", remediation=REMEDIATION_OBJECTS,
                 mode="node", ops=(), run=_not_objects, role="prefecture"),
        NodeCase(id="node/node/upper-tester/identity-versions-input",
                 title="identity_versions answers a code of 11 digits it does not hold "
                 "and refuses any other residentCode 1030", clause="node",
                 requirements=("R-NODE-09",), level="MUST", remediation=REMEDIATION_LINES,
                 mode="node", ops=(), run=_versions_input, role="prefecture"),
    ]


__all__ = ["upper_input_cases"]
