"""Node-mode cases on paths of the audit log and of the upper tester's reads that the
other cases leave out (spec/node.md sections 3 and 4; R-NODE-06, R-NODE-07, R-NODE-20,
R-NODE-83), from the mutation backlog (issue 12).

- The whole log, read from its first entry, is numbered without a gap, and
  ``audit_log`` gives at most ``limit`` entries after ``after`` (by default the first
  1000): a node that numbers an entry other than one past the last, or pages wrongly,
  fails however many entries earlier cases left (the case reads what is there before
  it adds its own, and adds entries until the log holds more than 1000).
- A provision request by two resident codes is logged received, and its response
  provided, each naming the two persons once, masked, the provided one with the
  operator the request named (R-NODE-06, R-NODE-07).
- A message a municipality cannot deliver (a family register notice to a municipality
  no address is known for) is logged under its own message type, peer and id in every
  row, also the row of the failed send, naming the operator of the local action that
  sent it (R-NODE-06, R-NODE-83).
- ``record_items`` reads a record after a restart as before it (the records then come
  from durable storage, R-NODE-17).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, node_sut, upper_ok
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import (
    MUNICIPALITY,
    birth_update,
    exchange,
    expect_ack,
    last_sequence,
    provision_response,
)
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.identifiers import new_resident_code
from juki_protocol.messages.common import PersonName
from juki_protocol.messages.family_register import (
    FamilyRegisterEvent,
    FamilyRegisterItems,
)
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, MessageType
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.messages.special_move import FamilyRegister

#: A municipality no node under test knows the address of (neither the node nor a peer
#: the runner plays): a message to it cannot be delivered.
NOWHERE = "011002"
#: The page sizes the paging case asks for.
PAGES = (1, 2)
#: How many entries the paging case adds at least (stray acknowledgements, logged and
#: not answered, R-NODE-06, R-PDU-25); more when the log holds no more than
#: DEFAULT_LIMIT.
ADDED = 3
#: The entries audit_log answers when no 'limit' is given (spec/node.md section 4.1).
DEFAULT_LIMIT = 1000
#: How long the runner waits for entries the node writes after it answered.
SETTLE = 3.0
Row = dict[str, Any]


def _rows(node: NodeSut, after: int = 0, **fields: Any) -> list[Row]:
    """One ``audit_log`` answer (rows above ``after``); SutFault when it fails."""
    answer = node.request("audit_log", after=after, **fields)
    if not answer.get("ok") or not isinstance(answer.get("rows"), list):
        raise SutFault(f"upper tester audit_log failed: {answer.get('error')}")
    return [r for r in answer["rows"] if isinstance(r, dict)]


def _seq(row: Row) -> int:
    try:
        return int(row.get("seq", -1))
    except (TypeError, ValueError):
        return -1


def _whole_log(node: NodeSut) -> list[Row]:
    """Every entry of the log, from its first, page after page."""
    rows: list[Row] = []
    while True:
        page = _rows(node, _seq(rows[-1]) if rows else 0)
        if not page:
            return rows
        if rows and _seq(page[0]) <= _seq(rows[-1]):
            raise SutFault(f"audit_log after {_seq(rows[-1])} answered entry "
                           f"{_seq(page[0])}")
        rows += page


def _gap(rows: list[Row]) -> str | None:
    """None when ``rows`` are numbered one after the other, else where not."""
    for before, row in itertools.pairwise(rows):
        if _seq(row) != _seq(before) + 1:
            return f"entry {_seq(before)} is followed by entry {row.get('seq')!r}"
    return None


def _stray(node: NodeSut, count: int) -> None:
    """``count`` acknowledgements referring to nothing, from the municipality the
    runner plays: each is an audit entry (R-NODE-06), never answered (R-PDU-25)."""
    conn = node.connect(MUNICIPALITY)
    try:
        for _ in range(count):
            conn.send(node.answer_pdu(Acknowledgement(
                acknowledged_id=secrets.token_bytes(16), status=AckStatus.ACCEPTED),
                MUNICIPALITY))
        time.sleep(0.3)
    finally:
        conn.close()


# The whole log, and pages of it (R-NODE-20) ---------------------------------------------

def _numbered_and_paged(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("the whole audit log, read from its first entry, numbered without a gap; "
                f"entries added (at least {ADDED}, and until the log holds more than "
                f"{DEFAULT_LIMIT}); without 'after' and 'limit' audit_log answers the first "
                f"{DEFAULT_LIMIT}; with limit {' and '.join(map(str, PAGES))}"
                " answers exactly that many entries, the next ones after 'after'; none "
                "after the last")
    before = _whole_log(node)
    problem = _gap(before)
    if problem:
        return Outcome(Verdict.FAIL, expected, f"before the case added any: {problem}")
    head = _seq(before[-1]) if before else 0
    added = max(ADDED, DEFAULT_LIMIT + 1 - len(before))
    _stray(node, added)
    deadline = time.monotonic() + SETTLE + added * 0.05
    while len(rows := _whole_log(node)) < len(before) + added \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    problem = _gap(rows)
    if problem:
        return Outcome(Verdict.FAIL, expected, problem)
    if len(rows) < len(before) + added or (before and rows[:len(before)] != before):
        return Outcome(Verdict.FAIL, expected, f"{added} stray acknowledgements added "
                       f"{len(rows) - len(before)} entries after entry {head}, or "
                       "changed earlier ones")
    last = _seq(rows[-1])
    # The defaults: no 'after' is 0, no 'limit' is 1000 (the log now holds more).
    page = node.request("audit_log").get("rows") or []
    want = [_seq(r) for r in rows[:DEFAULT_LIMIT]]
    if [_seq(r) for r in page if isinstance(r, dict)] != want:
        return Outcome(Verdict.FAIL, expected, f"audit_log without 'after' and 'limit' "
                       f"answered {len(page)} entries from "
                       f"{_seq(page[0]) if page and isinstance(page[0], dict) else None}, "
                       f"not the first {DEFAULT_LIMIT} from {_seq(rows[0])}")
    for size in PAGES:
        start = last - ADDED
        page = _rows(node, start, limit=size)
        want = list(range(start + 1, start + 1 + size))
        if [_seq(r) for r in page] != want:
            return Outcome(Verdict.FAIL, expected, f"audit_log after {start} with limit "
                           f"{size} answered entries {[r.get('seq') for r in page][:10]}, "
                           f"not {want}")
    if tail := _rows(node, last):
        return Outcome(Verdict.FAIL, expected, f"audit_log after the last entry {last} "
                       f"answered {len(tail)} entries")
    return Outcome(Verdict.PASS, expected, f"{len(rows)} entries numbered "
                   f"{_seq(rows[0])}..{last} without a gap; pages as asked")


# The persons of a provision (R-NODE-06, R-NODE-07) ---------------------------------------

def _recorded(node: NodeSut, count: int) -> list[str]:
    """``count`` fresh residents recorded through updates of the municipality the
    runner plays; their resident codes."""
    codes: list[str] = []
    for _ in range(count):
        seq = last_sequence(node.status()) + 1
        update = birth_update(seq)
        mid, pdu = node.sealed(update, sender=MUNICIPALITY)
        wrong = expect_ack(exchange(node, MUNICIPALITY, pdu, mid), AckStatus.ACCEPTED)
        if wrong:
            raise SutFault(f"the update recording a resident got {wrong}")
        codes.append(update.identity_info.resident_code)
    return codes


def _persons(row: Row | None, codes: list[str]) -> str | None:
    """None when ``row`` names each of ``codes`` once and masked, else why not."""
    if row is None:
        return "no such entry"
    subjects = [str(s) for s in row.get("subjects") or []]
    if any(code in s for s in subjects for code in codes):
        return "it names a person by the complete resident code"
    if len(subjects) != len(codes):
        return f"it names {len(subjects)} subject(s) for {len(codes)} persons"
    return None


def _provision_rows(unheld: int) -> Callable[[AdapterSut], Outcome]:
    """The case of a provision request by two codes of recorded residents and
    ``unheld`` codes the node does not hold: the entry of the request names every code
    it asks for, that of the response the two persons provided."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        operator = OPERATORS[AGENCY]
        expected = (f"a provision request of {AGENCY} by {2 + unheld} resident codes "
                    f"(two held) logged received naming the {2 + unheld} persons asked "
                    "for, and its response logged provided naming the two persons "
                    f"provided, each once and masked; the provided entry names operator "
                    f"{operator}")
        codes = _recorded(node, 2)
        rng = random.Random(secrets.randbits(64))
        asked = codes + [c for c in (new_resident_code(rng) for _ in range(unheld))
                         if c not in codes]
        head = max((_seq(r) for r in _whole_log(node)), default=0)
        request = ProvisionRequest(
            requester=RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
            legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code="S1-KENCHIKUSHI",
            operator_id=operator, by_resident_code=tuple(asked))
        mid, pdu = node.sealed(request, sender=AGENCY)
        conn = node.connect(AGENCY)
        try:
            conn.send(pdu)
            answer = provision_response(node, conn, mid, AGENCY)
        finally:
            conn.close()
        if isinstance(answer, str) or answer.provided is None or len(answer.provided) != 2:
            raise SutFault(f"the provision request was not provided: "
                           f"{answer if isinstance(answer, str) else answer.refusal}")
        time.sleep(0.2)
        rows = _rows(node, head)
        received = next((r for r in rows if r.get("direction") == "received"
                         and r.get("messageId") == mid.hex()), None)
        problem = _persons(received, asked)
        if problem:
            return Outcome(Verdict.FAIL, expected, f"the entry of the request received: "
                           f"{problem}")
        provided = next((r for r in rows if r.get("direction") == "provided"
                         and r.get("messageType") == MessageType.PROVISION_RESPONSE.value),
                        None)
        problem = _persons(provided, codes)
        if problem:
            return Outcome(Verdict.FAIL, expected, f"the entry of the response provided: "
                           f"{problem}")
        if provided is not None and provided.get("operator") != operator:
            return Outcome(Verdict.FAIL, expected, "the entry of the response provided "
                           f"names operator {provided.get('operator')!r}")
        return Outcome(Verdict.PASS, expected, f"the received entry names the "
                       f"{len(asked)} persons asked for, the provided entry the two "
                       "provided, masked")
    return run


# A message that could not be delivered (R-NODE-06, R-NODE-83) ---------------------------

def _undeliverable(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    operator = (node.ixit.get("operator") or {}).get("id")
    mtype = MessageType.FAMILY_REGISTER_NOTICE.value
    expected = (f"a family register notice to municipality {NOWHERE}, which no address "
                f"is known for: every entry of its message id other than the local "
                f"action's is direction sent, message type {mtype}, peer {NOWHERE}"
                + (f", operator {operator}" if operator else ""))
    head = max((_seq(r) for r in _whole_log(node)), default=0)
    person = generate_households(1, f"conformance:audit-paths:{secrets.token_hex(8)}",
                                 municipalities=[NOWHERE])[0].head
    today = node.clock_now().date() if node.offers("clock") else dt.date.today()
    name = PersonName(kanji=f"豊中\u3000{person.name.kanji.split(chr(0x3000))[-1]}")
    items = FamilyRegisterItems(name=name, family_register=FamilyRegister(
        permanent_domicile="大阪府大阪市北区中之島一丁目3番", head_name=name.kanji))
    answer = upper_ok(node, "family_register_notice", residenceMunicipality=NOWHERE,
                      event=FamilyRegisterEvent.MARRIAGE.value,
                      eventDate=(today - dt.timedelta(days=1)).isoformat(),
                      entryDate=today.isoformat(),
                      person=codec.to_json(person.person_ref()),
                      items=codec.to_json(items))
    mid = str(answer.get("messageId", ""))
    deadline = time.monotonic() + SETTLE
    while True:
        mine = [r for r in _rows(node, head) if r.get("messageId") == mid
                and r.get("direction") != "local"]
        if len(mine) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if not mine:
        return Outcome(Verdict.FAIL, expected, "no entry names the notice's message id")
    for row in mine:
        got = (row.get("direction"), row.get("messageType"), row.get("peer"))
        if got != ("sent", mtype, NOWHERE):
            return Outcome(Verdict.FAIL, expected, f"entry {row.get('seq')} (result "
                           f"{str(row.get('result'))[:40]!r}) is {got}")
        if operator and row.get("operator") != operator:
            return Outcome(Verdict.FAIL, expected, f"entry {row.get('seq')} (result "
                           f"{str(row.get('result'))[:40]!r}) names operator "
                           f"{row.get('operator')!r}")
    return Outcome(Verdict.PASS, expected, f"{len(mine)} entries, each as expected: "
                   + ", ".join(str(r.get("result"))[:30] for r in mine))


# record_items after a restart (R-NODE-17) -----------------------------------------------

def _register(node: NodeSut) -> SyntheticResident:
    seed = f"conformance:audit-paths:{secrets.token_hex(8)}"
    members = generate_households(1, seed, municipalities=[node.code])[0].members
    answer = upper_ok(node, "register_resident", seed=seed)
    if answer.get("residentCodes") != [m.resident_code for m in members]:
        raise SutFault("register_resident did not register the household that "
                       f"generate_households makes from seed {seed!r}")
    return members[0]


def _items_after_restart(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("record_items of a registered resident, with the resident's name: state "
                "current, matches; the same after a restart; another name differs in "
                "'name'")
    person = _register(node)
    same = codec.to_json(FamilyRegisterItems(name=person.name))
    other = codec.to_json(FamilyRegisterItems(name=PersonName(
        kanji=f"{person.name.kanji}\u3000別")))
    for when in ("before the restart", "after the restart"):
        if when.startswith("after"):
            node.restart()
        got = upper_ok(node, "record_items", residentCode=person.resident_code,
                       items=same)
        if (got.get("state"), got.get("matches")) != ("current", True):
            return Outcome(Verdict.FAIL, expected, f"{when}: state {got.get('state')!r}, "
                           f"matches {got.get('matches')!r}, differs {got.get('differs')}")
        got = upper_ok(node, "record_items", residentCode=person.resident_code,
                       items=other)
        if (got.get("matches"), got.get("differs")) != (False, ["name"]):
            return Outcome(Verdict.FAIL, expected, f"{when}, another name: matches "
                           f"{got.get('matches')!r}, differs {got.get('differs')}")
    return Outcome(Verdict.PASS, expected, "current and matching before and after")


REM_NUMBERS = ("Number every audit entry one past the last (without a gap, also after "
               "a purge or restart) and answer audit_log with at most 'limit' entries "
               "numbered above 'after', oldest first (R-NODE-20).")
REM_PERSONS = ("Name in each audit entry every person the message concerns once, by the "
               "masked resident code (the codes of a query by resident code too), and "
               "the operator a provision request named in the entry of its response "
               "(R-NODE-06, R-NODE-07).")
REM_UNSENT = ("Log a message that could not be delivered under its own message type, "
              "id and peer, like its other entries, and name in the entries of what a "
              "local action sends the operator of that action (R-NODE-06, R-NODE-83).")
REM_ITEMS = ("Rebuild the register from durable storage at start, and read a record's "
             "state and items from it as before the restart (R-NODE-17, "
             "spec/family_register.md section 5).")


def audit_path_cases() -> list[Case]:
    """The cases of this module."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], role: str = "prefecture",
             needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role=role, needs=needs)
    return [
        case("node/node/audit/whole-log-numbered-and-paged",
             "the whole audit log is numbered without a gap, and audit_log gives "
             "'limit' entries after 'after'", "node", ("R-NODE-20", "R-NODE-06"),
             REM_NUMBERS, _numbered_and_paged),
        case("node/node/audit/provision-names-each-person",
             "a provision request by two codes and its response are logged naming both "
             "persons once, masked, and the operator", "node",
             ("R-NODE-06", "R-NODE-07"), REM_PERSONS, _provision_rows(0)),
        case("node/node/audit/provision-of-100-codes-names-each-person",
             "a provision request by 100 codes, two of them held, is logged naming all "
             "100 persons asked for, and its response the two provided", "node",
             ("R-NODE-06", "R-NODE-07"), REM_PERSONS, _provision_rows(98)),
        case("node/node/audit/undelivered-message-logged-as-itself",
             "a notice that cannot be delivered is logged under its own type, id and "
             "peer, naming the local action's operator", "node",
             ("R-NODE-06", "R-NODE-83"), REM_UNSENT, _undeliverable,
             role="municipality"),
        case("9/2/node/family-register/residence/record-items-after-restart",
             "record_items reads a record as current and matching after a restart as "
             "before", "9/2", ("R-NODE-17", "R-FAMREG-03"), REM_ITEMS,
             _items_after_restart, role="municipality", needs="ixit.restart"),
    ]


__all__ = ["audit_path_cases"]
