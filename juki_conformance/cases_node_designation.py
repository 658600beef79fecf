"""Node-mode cases of resident code designation, Art. 30-7(1)(2) (spec/designation.md),
on both sides.

The prefecture under test (270008): the runner plays its municipality 272051, which no
other case uses, so that the designations these cases make (after which the prefecture
checks every new code of 272051, R-30-7-1-05) disturb no other case. It asks for codes
on a connection it keeps open and reads the designation on it, as an agency reads its
provision response; for a designation on the prefecture's own initiative it opens that
connection first. The codes designated to 272051 in a run are remembered across the
cases, so that "never designated twice" covers the whole run, not one case.

The municipality under test (271004): the runner plays its prefecture 270008, designates
codes of Osaka's allotment (spec/designation.md section 3) chosen at random, reads the
node's pool through the upper tester (``code_pool``) and the updates it sends, and
acknowledges them. The exhaustion case uses up the pool and then, as its postamble,
designates :data:`TOP_UP` codes again, so that the cases after it (the register's,
which give residents new codes) find codes to use. The node's own request for codes goes
to 270008, and one left unacknowledged is sent again after a restart (R-PDU-23).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import secrets
import ssl
import time
import weakref
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe, node_sut
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.designation import (
    CodeDesignation,
    CodeDesignationRequest,
    in_allotment,
    new_designated_code,
)
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType

#: The municipality the runner plays beside a prefecture under test (only these cases).
PEER = "272051"
PREFECTURE = "270008"
#: The codes the exhaustion case designates again once it is done.
TOP_UP = 64
#: Codes of a designation this close in their data digits count as sequential; two
#: random codes of one allotment are this close with probability 2e-6.
NEAR = 10 ** 4
#: The chi-square of the data digits' frequencies above which they are not uniform (9
#: degrees of freedom; a random source exceeds it with probability 1e-6).
CHI_SQUARE = 45.0
_RNG = random.SystemRandom()
#: The codes each node under test designated to PEER, or was designated by the runner,
#: during this run.
_SEEN: weakref.WeakKeyDictionary[NodeSut, set[str]] = weakref.WeakKeyDictionary()
_RECEIVED: weakref.WeakKeyDictionary[NodeSut, set[bytes]] = weakref.WeakKeyDictionary()

REM_DESIGNATE = ("Designate to a municipality of your area, on its request or on your own "
                 "initiative, fresh codes of your allotment chosen at random, each one "
                 "once in the life of the node, never a code your identity info holds or "
                 "retired; answer a request with an acknowledgement and one "
                 "CodeDesignation of exactly the count asked for, correlated with it "
                 "(spec/designation.md).")
REM_CHECK = ("Once you have designated codes to a municipality, refuse with 5023 an update "
             "of it that writes a new code (birth, residentCodeChange) you did not "
             "designate to it, or that is held already.")
REM_POOL = ("Write a new code (birth, code change) only from the codes designated to you, "
            "each once; refuse any other with 5023 and refuse with 5024 when none is "
            "left; take designations only from your own prefecture, naming you.")


def _seen(node: NodeSut) -> set[str]:
    return _SEEN.setdefault(node, set())


def _received(node: NodeSut) -> set[bytes]:
    """The message ids of the designations the runner took from ``node``."""
    return _RECEIVED.setdefault(node, set())


def _said(answer: dict[str, Any]) -> str:
    if answer.get("ok"):
        return "ok"
    error = answer.get("error") or {}
    return f"error {error.get('code')} {error.get('name', '')}".rstrip()


def _is_error(pdu: JukiPdu | None, code: ErrorCode) -> bool:
    return pdu is not None and pdu.error_report is not None \
        and pdu.error_report.error_code == int(code)


# The prefecture under test -------------------------------------------------------------

def _designation_on(node: NodeSut, conn: PeerConnection, correlation: bytes | None,
                    ) -> CodeDesignation | str:
    """The next CodeDesignation the node sends on ``conn`` (correlated with
    ``correlation`` when given), opened and acknowledged as PEER; or what came."""
    while True:
        try:
            pdu = conn.read(node.timeout)
        except TimeoutError:
            return f"no CodeDesignation within {node.timeout:g} s"
        if pdu is None:
            return "the connection closed without a CodeDesignation"
        if pdu.sealed is None:
            continue
        if pdu.header.message_type is not MessageType.CODE_DESIGNATION:
            return f"a {pdu.header.message_type.value} instead of a CodeDesignation"
        message = node.opened(pdu, PEER)
        node.acknowledge(conn, pdu, PEER)
        if pdu.header.message_id in _received(node):
            continue            # a resend of one taken before (R-PDU-23): acknowledged
        _received(node).add(pdu.header.message_id)
        if not isinstance(message, CodeDesignation):
            return f"a {type(message).__name__} instead of a CodeDesignation"
        if correlation is not None and pdu.header.correlation_id != correlation:
            return "a CodeDesignation whose correlationId is not the request's message id"
        _seen(node).update(message.codes)
        return message


def _ask(node: NodeSut, conn: PeerConnection, count: int, *, sender: str = PEER,
         municipality: str | None = None) -> tuple[JukiPdu | None, CodeDesignation | str]:
    """Ask for ``count`` codes as ``sender``: the answer to the request, and the
    designation (or why there is none: a refusal, or what came instead)."""
    request = CodeDesignationRequest(municipality=municipality or sender, count=count)
    mid, pdu = node.sealed(request, sender=sender)
    conn.send(pdu)
    answer = conn.answer_to(mid)
    if answer is None or answer.acknowledgement is None:
        return answer, f"{describe(answer)} to the request"
    return answer, _designation_on(node, conn, mid)


def _asked(node: NodeSut, conn: PeerConnection, count: int) -> CodeDesignation:
    """A preamble: ``count`` codes designated to PEER (Inconclusive if not)."""
    _, got = _ask(node, conn, count)
    if isinstance(got, str):
        raise Inconclusive(f"asking for {count} codes got {got}")
    return got


def _well_formed(got: CodeDesignation, count: int | None) -> str | None:
    """Why ``got`` is not a designation of ``count`` codes of 272051's allotment."""
    if got.municipality != PEER:
        return f"a CodeDesignation naming {got.municipality}, not {PEER}"
    if count is not None and len(got.codes) != count:
        return f"{len(got.codes)} codes designated, not {count}"
    if not all(in_allotment(c, PEER) for c in got.codes):
        return "a code outside the allotment of prefecture 27"
    return None


def _request_answered(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("an acknowledgement of the request, then one CodeDesignation to 272051 "
                "correlated with it: exactly 5 distinct codes of prefecture 27's allotment")
    conn = node.connect(PEER)
    try:
        _, got = _ask(node, conn, 5)
    finally:
        conn.close()
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    problem = _well_formed(got, 5)
    return Outcome(Verdict.FAIL if problem else Verdict.PASS, expected,
                   problem or "5 codes of the allotment, correlated and acknowledged")


def _designated(node: NodeSut, conn: PeerConnection, count: int
                ) -> tuple[dict[str, Any], CodeDesignation | str]:
    """The prefecture designates ``count`` codes to PEER on its own initiative (upper
    tester), on ``conn`` that PEER opened: its answer and the designation PEER got."""
    _asked(node, conn, 1)          # the connection is the node's way to PEER now
    answer = node.ok("designate_codes", municipality=PEER, count=count)
    return answer, _designation_on(node, conn, None)


def _own_initiative(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "the 3 codes the prefecture designated, notified to 272051 in a CodeDesignation"
    conn = node.connect(PEER)
    try:
        answer, got = _designated(node, conn, 3)
    finally:
        conn.close()
    if isinstance(got, str):
        return Outcome(Verdict.FAIL, expected, got)
    problem = _well_formed(got, 3)
    if problem is None and list(got.codes) != list(answer.get("codes") or []):
        problem = "the codes notified are not those the upper tester reported"
    return Outcome(Verdict.FAIL if problem else Verdict.PASS, expected,
                   problem or "notified as designated")


def _refused_request(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"{int(ErrorCode.INVALID_FIELD)} for a request naming another municipality "
                "than its sender, and for one of another prefecture's municipality; "
                "nothing designated")
    before = node.ok("designations", municipality="271004").get("designated")
    got: list[str] = []
    for sender, named in ((PEER, "271004"), ("131016", "131016")):
        conn = node.connect(sender)
        try:
            answer, _ = _ask(node, conn, 2, sender=sender, municipality=named)
        finally:
            conn.close()
        got.append(describe(answer))
        if not _is_error(answer, ErrorCode.INVALID_FIELD):
            return Outcome(Verdict.FAIL, expected, f"{sender} asking for {named}: "
                           f"{describe(answer)}")
    after = node.ok("designations", municipality="271004").get("designated")
    if after != before:
        return Outcome(Verdict.FAIL, expected, f"refused, but 271004 now has {after} "
                       f"codes designated, not {before}")
    return Outcome(Verdict.PASS, expected, "; ".join(got))


def _birth(node: NodeSut, conn: PeerConnection, code: str,
           reason: ChangeReason = ChangeReason.BIRTH, previous: str | None = None,
           person: Any = None) -> JukiPdu | None:
    """PEER reports a birth (or a code change from ``previous``) under ``code``."""
    status = node.status()
    seq = int((status.get("lastSequence") or {}).get(PEER, 0)) + 1
    who = person or generate_households(1, f"conformance:{secrets.token_hex(8)}",
                                        municipalities=[PEER])[0].head
    info = dataclasses.replace(who.identity_info(Profile.CURRENT), resident_code=code)
    update = IdentityInfoUpdate(
        municipality=PEER, update_sequence=seq,
        operation=UpdateOperation.RECORD if previous is None else UpdateOperation.CORRECT,
        identity_info=info,
        change_info=ChangeInfo(change_reason=reason, change_date=who.birth_date),
        previous_resident_code=previous)
    mid, pdu = node.sealed(update, sender=PEER)
    conn.send(pdu)
    return conn.answer_to(mid)


def _undesignated_refused(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"{int(ErrorCode.RESIDENT_CODE_NOT_DESIGNATED)} for a birth of 272051 under "
                "a code not designated to it, nothing stored; the same birth under a "
                "designated code acknowledged")
    conn = node.connect(PEER)
    try:
        got = _asked(node, conn, 2)
        stray = new_designated_code(_RNG, PEER)
        before = node.status().get("identityInfo")
        refused = _birth(node, conn, stray)
        if not _is_error(refused, ErrorCode.RESIDENT_CODE_NOT_DESIGNATED):
            return Outcome(Verdict.FAIL, expected, f"the undesignated code: "
                           f"{describe(refused)}")
        if node.status().get("identityInfo") != before:
            return Outcome(Verdict.FAIL, expected, "refused, but the status changed")
        ok = _birth(node, conn, got.codes[0])
    finally:
        conn.close()
    if ok is None or ok.acknowledgement is None:
        return Outcome(Verdict.FAIL, expected, f"the designated code: {describe(ok)}")
    return Outcome(Verdict.PASS, expected, "5023, then acknowledged")


def _exhausted_refused(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"{int(ErrorCode.CODE_POOL_EXHAUSTED)} for a request beyond what the "
                "prefecture may still designate, nothing designated; a request within it "
                "answered")
    before = node.ok("designations", municipality=PEER).get("designated")
    node.ok("code_allotment", remaining=2)
    conn = node.connect(PEER)
    try:
        answer, _ = _ask(node, conn, 3)
        middle = node.ok("designations", municipality=PEER).get("designated")
        _, fine = _ask(node, conn, 2)
    finally:
        conn.close()
        node.ok("code_allotment", remaining=None)
    if not _is_error(answer, ErrorCode.CODE_POOL_EXHAUSTED):
        return Outcome(Verdict.FAIL, expected, f"the request for 3: {describe(answer)}")
    if middle != before:
        return Outcome(Verdict.FAIL, expected, f"refused, but {middle} codes are now "
                       f"designated to {PEER}, not {before}")
    if isinstance(fine, str):
        return Outcome(Verdict.FAIL, expected, f"the request for 2 then: {fine}")
    return Outcome(Verdict.PASS, expected, "5024, then 2 codes designated")


def _never_twice(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("no code in two designations: two requests of 20 codes and a designation "
                "of 20 on the prefecture's initiative, disjoint from each other and from "
                "every code designated to 272051 earlier in the run")
    earlier = set(_seen(node))
    conn = node.connect(PEER)
    try:
        batches = [_asked(node, conn, 20).codes, _asked(node, conn, 20).codes]
        _, own = _designated(node, conn, 20)
    finally:
        conn.close()
    if isinstance(own, str):
        return Outcome(Verdict.FAIL, expected, f"the prefecture's designation: {own}")
    batches.append(own.codes)
    union: set[str] = set()
    for i, batch in enumerate(batches):
        again = (set(batch) & union) | (set(batch) & earlier)
        if again or len(set(batch)) != len(batch):
            return Outcome(Verdict.FAIL, expected, f"designation {i + 1} repeats "
                           f"{len(again) or 'its own'} code(s) designated before")
        union |= set(batch)
    return Outcome(Verdict.PASS, expected, f"{len(union)} distinct codes")


def _random(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("100 codes whose data digits look random: no two in a row closer than "
                f"{NEAR}, digits uniform (chi-square at most {CHI_SQUARE:g})")
    conn = node.connect(PEER)
    try:
        got = _asked(node, conn, 100)
    finally:
        conn.close()
    numbers = [int(c[:10]) for c in got.codes]
    near = sum(1 for a, b in itertools.pairwise(numbers) if abs(a - b) < NEAR)
    digits = "".join(c[:10] for c in got.codes)
    chi = sum((digits.count(d) - len(digits) / 10) ** 2 / (len(digits) / 10)
              for d in "0123456789")
    if near or chi > CHI_SQUARE:
        return Outcome(Verdict.FAIL, expected, f"{near} pair(s) in sequence, chi-square "
                       f"{chi:.1f}")
    return Outcome(Verdict.PASS, expected, f"no pair in sequence, chi-square {chi:.1f}")


def _retired_never_designated(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a code recorded by 272051 and then retired by a code change is in no "
                "later designation, and is refused as a new code")
    conn = node.connect(PEER)
    try:
        first, second = _asked(node, conn, 2).codes
        person = generate_households(1, f"conformance:{secrets.token_hex(8)}",
                                     municipalities=[PEER])[0].head
        born = _birth(node, conn, first, person=person)
        if born is None or born.acknowledgement is None:
            return Outcome(Verdict.FAIL, expected, f"the birth under a code just "
                           f"designated: {describe(born)}")
        changed = _birth(node, conn, second, ChangeReason.RESIDENT_CODE_CHANGE,
                         previous=first, person=person)
        if changed is None or changed.acknowledgement is None:
            return Outcome(Verdict.FAIL, expected, f"the code change to a code just "
                           f"designated: {describe(changed)}")
        later = _asked(node, conn, 50).codes
        again = _birth(node, conn, first)
    finally:
        conn.close()
    if first in later:
        return Outcome(Verdict.FAIL, expected, "the retired code was designated again")
    if again is None or again.error_report is None:
        return Outcome(Verdict.FAIL, expected, f"a birth under the retired code: "
                       f"{describe(again)}")
    return Outcome(Verdict.PASS, expected, f"not designated again; a birth under it: "
                   f"{describe(again)}")


# The municipality under test -----------------------------------------------------------

def fresh_codes(node: NodeSut, count: int) -> tuple[str, ...]:
    codes: dict[str, None] = {}
    while len(codes) < count:
        code = new_designated_code(_RNG, node.code)
        if code not in _seen(node):
            codes[code] = None
    _seen(node).update(codes)
    return tuple(codes)


def _answer_on(node: NodeSut, conn: PeerConnection, pdu: bytes, mid: bytes
               ) -> JukiPdu | None:
    """Send ``pdu`` on the connection the node opened to its prefecture and return the
    answer to it; what else the node sends meanwhile (its updates) is acknowledged, as
    its prefecture would. None if the connection is gone."""
    try:
        conn.send(pdu)
        while True:
            got = conn.read(node.timeout)
            if got is None:
                return None
            ref = (got.acknowledgement.acknowledged_id if got.acknowledgement is not None
                   else got.error_report.refers_to if got.error_report is not None
                   else None)
            if ref == mid:
                return got
            if got.sealed is not None:
                node.acknowledge(conn, got, PREFECTURE)
    except TimeoutError:
        raise SutFault(f"no answer to the designation within {node.timeout:g} s") from None
    except (OSError, ssl.SSLError):
        return None


def designate(node: NodeSut, codes: tuple[str, ...], *, sender: str = PREFECTURE,
              municipality: str | None = None, correlation: bytes | None = None
              ) -> JukiPdu | None:
    """The runner, as ``sender``, designates ``codes``; the node's answer.

    As the node's own prefecture the runner sends on the connection the node opened
    to it, when there is one: a connection the runner opened as the prefecture would
    become, for a moment after the runner closes it, the node's way to its prefecture,
    and an update the node sent on it then would be lost until its retry."""
    message = CodeDesignation(municipality=municipality or node.code, codes=codes)
    mid, pdu = node.sealed(message, sender=sender,
                           header_changes={"correlation_id": correlation})
    listener = node.listener if sender == PREFECTURE else None
    if listener is not None and listener.current is not None:
        answer = _answer_on(node, listener.current, pdu, mid)
        if answer is not None:
            return answer
        listener.current.close()            # the node gave it up: a new one is used
        listener.current = None
    conn = node.connect(sender)
    try:
        conn.send(pdu)
        return conn.answer_to(mid)
    finally:
        conn.close()
        time.sleep(0.3)           # let the node see it closed before it sends anything


def _pool(node: NodeSut) -> dict[str, Any]:
    return node.ok("code_pool")


def _settle(node: NodeSut) -> None:
    """Acknowledge what the node has sent its prefecture until nothing is
    unacknowledged (earlier cases', and this case's updates)."""
    deadline = time.monotonic() + node.timeout + 30
    while (node.status().get("updates") or {}).get("unacknowledged"):
        got = node.sent_to_peer(0.2)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], PREFECTURE)
        if time.monotonic() > deadline:
            raise SutFault("updates stay unacknowledged")


def _update_of(node: NodeSut, code: str) -> IdentityInfoUpdate | str:
    """The update the node sends for ``code`` (earlier ones acknowledged and passed)."""
    while True:
        got = node.sent_to_peer()
        if got is None:
            return f"no identity info update within {node.timeout:g} s"
        conn, pdu = got
        if pdu.sealed is None:
            continue
        message = node.opened(pdu, PREFECTURE)
        node.acknowledge(conn, pdu, PREFECTURE)
        if isinstance(message, IdentityInfoUpdate) and \
                message.identity_info.resident_code == code:
            return message


def _codes_used(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("the designation acknowledged; a birth and then a code change each take a "
                "free designated code, reported under it, which leaves the pool")
    _settle(node)
    answer = designate(node, fresh_codes(node, 5))
    if answer is None or answer.acknowledgement is None or \
            answer.acknowledgement.status is not AckStatus.ACCEPTED:
        return Outcome(Verdict.FAIL, expected, f"the designation: {describe(answer)}")
    code = ""
    for step in ("birth", "code change"):
        free = _pool(node).get("freeCodes") or []
        if step == "birth":
            done = node.request("record_resident", seed=secrets.token_hex(8), reason="birth")
        else:
            done = node.request("change_resident_code", residentCode=code)
        code = str(done.get("residentCode"))
        if not done.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"the {step}: {_said(done)}")
        if code not in free:
            return Outcome(Verdict.FAIL, expected, f"the {step} took a code that is not a "
                           "free designated one")
        update = _update_of(node, code)
        if isinstance(update, str):
            return Outcome(Verdict.FAIL, expected, f"the {step}: {update}")
        if code in (_pool(node).get("freeCodes") or []):
            return Outcome(Verdict.FAIL, expected, f"the code of the {step} is still free")
    return Outcome(Verdict.PASS, expected, "both codes taken from the pool")


def _record_refused(node: NodeSut, code: ErrorCode, **fields: Any) -> str | None:
    """None if a birth with ``fields`` is refused with ``code`` and nothing is sent."""
    before = (node.status().get("updates") or {}).get("lastSequence")
    done = node.request("record_resident", seed=secrets.token_hex(8), reason="birth",
                        **fields)
    if done.get("ok") or (done.get("error") or {}).get("code") != int(code):
        return f"the birth: {_said(done)}"
    if (node.status().get("updates") or {}).get("lastSequence") != before:
        return "refused, but an update was reported"
    return None


def _undesignated_local(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"{int(ErrorCode.RESIDENT_CODE_NOT_DESIGNATED)} for a birth under a code "
                "not designated to the municipality; no update")
    _settle(node)
    designate(node, fresh_codes(node, 2))
    stray = new_designated_code(_RNG, node.code)
    problem = _record_refused(node, ErrorCode.RESIDENT_CODE_NOT_DESIGNATED,
                              residentCode=stray)
    return Outcome(Verdict.FAIL if problem else Verdict.PASS, expected,
                   problem or "refused, nothing reported")


def _pool_exhausted(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"once every designated code is recorded, a birth is refused with "
                f"{int(ErrorCode.CODE_POOL_EXHAUSTED)}; no update")
    _settle(node)
    designate(node, fresh_codes(node, 1))
    free = int(_pool(node).get("free", 0))
    if free > 1000:
        raise Inconclusive(f"{free} free codes: too many to use up")
    for _ in range(free):
        node.ok("record_resident", seed=secrets.token_hex(8), reason="birth")
    _settle(node)
    problem = _record_refused(node, ErrorCode.CODE_POOL_EXHAUSTED)
    _settle(node)
    designate(node, fresh_codes(node, TOP_UP))               # the postamble
    return Outcome(Verdict.FAIL if problem else Verdict.PASS, expected,
                   problem or f"{free} births, then 5024")


def _misaddressed(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = (f"{int(ErrorCode.INVALID_FIELD)} for a designation naming another "
                "municipality, one from another prefecture and one repeating a code "
                "designated before; the pool unchanged")
    _settle(node)
    known = fresh_codes(node, 1)
    designate(node, known)
    before = _pool(node).get("designated")
    trials = (("for 272035", dict(municipality="272035")),
              ("from 130001", dict(sender="130001")))
    for what, how in trials:
        answer = designate(node, fresh_codes(node, 2), **how)  # type: ignore[arg-type]
        if not _is_error(answer, ErrorCode.INVALID_FIELD):
            return Outcome(Verdict.FAIL, expected, f"a designation {what}: "
                           f"{describe(answer)}")
    answer = designate(node, (*fresh_codes(node, 1), *known))
    if not _is_error(answer, ErrorCode.INVALID_FIELD):
        return Outcome(Verdict.FAIL, expected, f"a code designated twice: {describe(answer)}")
    if _pool(node).get("designated") != before:
        return Outcome(Verdict.FAIL, expected, "refused, but the pool changed")
    return Outcome(Verdict.PASS, expected, "all three refused with 1024")


def request_on_wire(node: NodeSut) -> tuple[PeerConnection, JukiPdu] | None:
    """The next CodeDesignationRequest the node sends its prefecture (the updates that
    come before it acknowledged), or None."""
    while True:
        got = node.sent_to_peer()
        if got is None:
            return None
        if got[1].sealed is not None and \
                got[1].header.message_type is MessageType.CODE_DESIGNATION_REQUEST:
            return got
        if got[1].sealed is not None:
            node.acknowledge(got[0], got[1], PREFECTURE)


def _request_sent(restart: bool) -> Callable[[AdapterSut], Outcome]:
    """A case: ``request_codes`` sends a CodeDesignationRequest to the node's own
    prefecture; with ``restart``, the node restarted before it is acknowledged must send
    it again, same message id and content (R-PDU-23); the designation answering it
    then ends it."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        again = ", left unacknowledged, resent after a restart with the same id" \
            if restart else ""
        expected = (f"a CodeDesignationRequest of 3 codes for itself, to its own prefecture"
                    f"{again}; the designation correlated with it taken, the request done")
        _settle(node)
        asked = node.ok("request_codes", count=3)
        got = request_on_wire(node)
        if got is None:
            return Outcome(Verdict.FAIL, expected, "no CodeDesignationRequest came")
        conn, pdu = got
        request = node.opened(pdu, PREFECTURE)
        if not isinstance(request, CodeDesignationRequest) or \
                request.municipality != node.code or request.count != 3 or \
                pdu.header.message_id.hex() != asked.get("messageId"):
            return Outcome(Verdict.FAIL, expected, f"{request!r} under message id "
                           f"{pdu.header.message_id.hex()}")
        if restart:
            node.restart()
            got = request_on_wire(node)
            if got is None:
                return Outcome(Verdict.FAIL, expected, "the unacknowledged request was not "
                               f"sent again within {node.timeout:g} s of the restart")
            conn, pdu = got
            if pdu.header.message_id.hex() != asked.get("messageId") or \
                    node.opened(pdu, PREFECTURE) != request:
                return Outcome(Verdict.FAIL, expected, "after the restart a request with "
                               "another message id or content came")
        node.acknowledge(conn, pdu, PREFECTURE)
        answer = designate(node, fresh_codes(node, 3), correlation=pdu.header.message_id)
        if answer is None or answer.acknowledgement is None:
            return Outcome(Verdict.FAIL, expected, f"the designation: {describe(answer)}")
        states = {r.get("messageId"): r.get("state")
                  for r in _pool(node).get("requests") or []}
        if states.get(asked.get("messageId")) != "done":
            return Outcome(Verdict.FAIL, expected, f"the request is "
                           f"{states.get(asked.get('messageId'))!r}, not done")
        return Outcome(Verdict.PASS, expected, "asked, " + ("resent after the restart, "
                       if restart else "") + "designated, done")
    return run


def designation_cases() -> list[Case]:
    """The designation cases: the prefecture's first, then the municipality's."""
    def case(cid: str, title: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], role: str = "prefecture",
             needs: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause=cid.split("/node/")[0],
                        requirements=reqs, level="MUST", remediation=rem, mode="node",
                        ops=(), run=run, role=role, needs=needs)
    return [
        case("30-7/1/node/designation/request-answered",
             "a municipality's request for 5 codes is acknowledged and answered with one "
             "correlated CodeDesignation of 5 codes of the allotment",
             ("R-30-7-1-01", "R-30-7-1-02", "R-30-7-2-01"), REM_DESIGNATE,
             _request_answered),
        case("30-7/1/node/designation/own-initiative",
             "codes the prefecture designates on its own initiative are notified to the "
             "municipality", ("R-30-7-1-01",), REM_DESIGNATE, _own_initiative),
        case("30-7/1/node/designation/misaddressed-request-refused",
             "a request naming another municipality, or from another prefecture's, is "
             "refused with 1024", ("R-30-7-1-02",), REM_DESIGNATE, _refused_request),
        case("30-7/1/node/designation/undesignated-code-refused",
             "a birth under a code not designated to the municipality is refused with 5023",
             ("R-30-7-1-05",), REM_CHECK, _undesignated_refused),
        case("30-7/1/node/designation/exhausted-request-refused",
             "a request beyond what the allotment may still give is refused with 5024",
             ("R-30-7-1-03",), REM_DESIGNATE, _exhausted_refused),
        case("30-7/2/node/designation/never-designated-twice",
             "no code is designated twice in a run", ("R-30-7-2-02",), REM_DESIGNATE,
             _never_twice),
        case("30-7/2/node/designation/codes-random",
             "the codes designated are chosen at random", ("R-30-7-2-04",),
             REM_DESIGNATE, _random),
        case("30-7/2/node/designation/retired-code-never-designated",
             "a retired code is never designated again", ("R-30-7-2-03", "R-ID-03"),
             REM_DESIGNATE, _retired_never_designated),
        case("30-7/1/node/pool/designated-codes-used",
             "a birth and a code change take free designated codes", ("R-30-7-1-04",
                                                                       "R-30-7-1-06"),
             REM_POOL, _codes_used, "municipality"),
        case("30-7/1/node/pool/undesignated-code-refused",
             "a birth under a code not designated is refused with 5023, nothing reported",
             ("R-30-7-1-04",), REM_POOL, _undesignated_local, "municipality"),
        case("30-7/1/node/pool/exhausted-refused",
             "with every designated code recorded, a birth is refused with 5024",
             ("R-30-7-1-04",), REM_POOL, _pool_exhausted, "municipality"),
        case("30-7/1/node/pool/misaddressed-designation-refused",
             "a designation for another municipality, from another prefecture or repeating "
             "a code is refused with 1024", ("R-30-7-1-06",), REM_POOL, _misaddressed,
             "municipality"),
        case("30-7/1/node/pool/request-to-own-prefecture",
             "a request for codes goes to the municipality's own prefecture, naming it",
             ("R-30-7-1-07", "R-PDU-18"), REM_POOL, _request_sent(False), "municipality"),
        case("30-7/1/node/pool/request-resent-after-restart",
             "a request for codes left unacknowledged is sent again after a restart, same "
             "id and content", ("R-PDU-23", "R-30-7-1-07", "R-NODE-17"),
             "Keep a sent CodeDesignationRequest in durable storage until it is "
             "acknowledged, and on start resend every one not yet acknowledged with the "
             "same message id and content (R-PDU-23).", _request_sent(True),
             "municipality", "ixit.restart"),
    ]


__all__ = ["PEER", "PREFECTURE", "TOP_UP", "designate", "designation_cases", "fresh_codes",
           "request_on_wire"]
