"""Node-mode cases on durability: what survives a restart, what depends on the node's
clock, what an injected commit failure leaves, and the audit log (spec/node.md sections
1, 3 and 4.7), for the prefecture and municipality roles.

The cases use the IXIT (spec/conformance.md section 6): ``ixit.restart`` to restart the
node on its own storage, ``ixit.clock`` to read or move its test clock, and
``ixit.faultInjection`` to make its next commit fail. As every node case, each reads the
node's ``status`` first and numbers its messages from what the node holds, so the cases
run in any order against one long-running node. The lower tester writes header times
from the node's clock as the runner knows it (``NodeSut.node_now``), so a case that
moves the clock forward leaves the later cases' PDUs fresh.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import NodeCase, describe
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, HarnessError, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

MUNICIPALITY = "271004"
#: R-PDU-16: the header time window, in seconds.
WINDOW = 300
#: How far inside and outside the window the edge PDUs are: the header time has whole
#: seconds and the PDU takes some milliseconds to arrive.
EDGE = 2
#: A complete resident code: eleven digits (spec/identity.md).
COMPLETE_CODE = re.compile(r"\d{11}")


# Helpers ----------------------------------------------------------------------------------

def _sut(sut: AdapterSut) -> NodeSut:
    if not isinstance(sut, NodeSut):
        raise HarnessError("a node-mode case needs a node SUT")
    return sut


def _acked(pdu: JukiPdu | None, status: AckStatus) -> bool:
    return pdu is not None and pdu.acknowledgement is not None \
        and pdu.acknowledgement.status is status


def _error(pdu: JukiPdu | None, code: ErrorCode) -> bool:
    return pdu is not None and pdu.error_report is not None \
        and pdu.error_report.error_code == int(code)


def _send(node: NodeSut, peer: str, pdu: bytes, mid: bytes) -> JukiPdu | None:
    """Send ``pdu`` as ``peer`` on a new connection; the answer referring to ``mid``."""
    conn = node.connect(peer)
    try:
        conn.send(pdu)
        return conn.answer_to(mid)
    finally:
        conn.close()


def _held(status: dict[str, Any]) -> tuple[Any, Any]:
    return status.get("identityInfo"), status.get("lastSequence")


def _last(status: dict[str, Any]) -> int:
    return int((status.get("lastSequence") or {}).get(MUNICIPALITY, 0))


def _person(code: str = MUNICIPALITY) -> SyntheticResident:
    return generate_households(1, f"conformance:{secrets.token_hex(8)}",
                               municipalities=[code])[0].head


def _update(sequence: int, person: SyntheticResident | None = None) -> IdentityInfoUpdate:
    """A ``record`` update (birth) of ``person`` (default: a fresh synthetic one)."""
    person = person or _person()
    return IdentityInfoUpdate(
        municipality=MUNICIPALITY, update_sequence=sequence,
        operation=UpdateOperation.RECORD,
        identity_info=person.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                               change_date=person.birth_date))


def _apply(node: NodeSut) -> tuple[int, bytes, bytes, IdentityInfoUpdate]:
    """A preamble: one update applied; (its number, message id, PDU, update). A refusal
    makes the case inconclusive (its preamble was never reached)."""
    seq = _last(node.status()) + 1
    update = _update(seq)
    mid, pdu = node.sealed(update, sender=MUNICIPALITY)
    answer = _send(node, MUNICIPALITY, pdu, mid)
    if not _acked(answer, AckStatus.ACCEPTED):
        raise SutFault(f"the preamble's update {seq} got {describe(answer)}")
    return seq, mid, pdu, update


def _audit_head(node: NodeSut) -> int:
    """The number of the node's last audit row (0 when the log is empty)."""
    last = 0
    while True:
        rows = node.audit_log(after=last)
        if not rows:
            return last
        last = max(int(r.get("seq", 0)) for r in rows)


# Refusals in the audit log (R-NODE-27, R-NODE-28) ----------------------------------------

#: Refusals the flood case provokes from one peer; more than any node writes in full
#: per minute, and few enough to send quickly.
FLOOD = 60
_SUMMARY = re.compile(r"; (\d+) more refusals")


def _refusals_bounded(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = (f"{FLOOD} malformed frames from one peer each answered with an error "
                "report; in the audit log fewer entries of their own than refusals, and "
                "after the interval a summary entry whose count makes up the rest, the "
                "entries numbered without gaps")
    head = _audit_head(node)
    codes: set[int] = set()
    # A node closes a connection after its declared number of refusals in a row
    # (R-NODE-48): the frames go on as many connections as that takes. The audit bound
    # is per peer and interval, not per connection.
    limit = node.limits.get("maxRefusals")
    chunk = FLOOD if not isinstance(limit, (int, float)) else max(1, min(FLOOD,
                                                                         int(limit) - 1))
    sent = 0
    while sent < FLOOD:
        count = min(chunk, FLOOD - sent)
        conn = node.connect(MUNICIPALITY)
        try:
            for _ in range(count):
                conn.send(b"\x30\x05\x01\x02")
            for i in range(count):
                answer = conn.answer_to(None)
                if answer is None or answer.error_report is None:
                    return Outcome(Verdict.FAIL, expected,
                                   f"malformed frame {sent + i + 1}: {describe(answer)}")
                codes.add(answer.error_report.error_code)
        finally:
            conn.close()
        sent += count
    # The interval ends on the node's clock; the summary is due at the next entry,
    # checkpoint or shutdown: one valid update makes the next entry.
    node.clock_advance(120)
    _apply(node)
    rows = node.audit_log(after=head)
    numbers = [int(r.get("seq", 0)) for r in rows]
    if numbers != list(range(head + 1, head + 1 + len(rows))):
        return Outcome(Verdict.FAIL, expected, f"entries after {head} numbered "
                       f"{numbers[:20]}")
    mine = [r for r in rows if r.get("direction") == "refused"
            and MUNICIPALITY in str(r.get("peer"))
            and any(str(r.get("result", "")).startswith(str(c)) for c in codes)]
    full = [r for r in mine if not _SUMMARY.search(str(r.get("result", "")))]
    counted = sum(int(m.group(1)) for r in mine
                  if (m := _SUMMARY.search(str(r.get("result", "")))))
    got = (f"{len(full)} entries of their own and {counted} counted in summary entries "
           f"for {FLOOD} refusals")
    if len(full) >= FLOOD:
        return Outcome(Verdict.FAIL, expected, got + ": the refusals are not bounded")
    if len(full) + counted != FLOOD:
        return Outcome(Verdict.FAIL, expected, got + ": refusals lost from the log")
    return Outcome(Verdict.PASS, expected, got)


# Restart (R-NODE-02, R-NODE-03, R-NODE-17) ------------------------------------------------

def _duplicate_after_restart(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("after a restart, the acknowledged update resent is acknowledged as "
                "duplicate and the same message id with other content refused with "
                "2021 REPLAY; nothing changed")
    seq, mid, pdu, _ = _apply(node)
    node.restart()
    middle = node.status()
    again = _send(node, MUNICIPALITY, pdu, mid)
    if not _acked(again, AckStatus.DUPLICATE):
        return Outcome(Verdict.FAIL, expected, f"the resent update got {describe(again)}")
    # R-PDU-24, R-NODE-02: the id and digest came through the restart, so the same id on
    # the next update's content (which would be valid) is a replay.
    _, replay = node.sealed(_update(seq + 1), sender=MUNICIPALITY, message_id=mid)
    other = _send(node, MUNICIPALITY, replay, mid)
    after = node.status()
    if _held(after) != _held(middle):
        return Outcome(Verdict.FAIL, expected, f"{describe(again)}, then {describe(other)}, but "
                       "the status changed", f"before {_held(middle)}, after {_held(after)}")
    if not _error(other, ErrorCode.REPLAY):
        return Outcome(Verdict.FAIL, expected, f"duplicate; then the same id with other "
                       f"content got {describe(other)}")
    return Outcome(Verdict.PASS, expected, "duplicate, then 2021 REPLAY; nothing changed")


def _provision_duplicate_after_restart(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("a provision request answered before a restart, sent again after it, "
                "acknowledged as duplicate and not provided a second time")
    _, _, _, update = _apply(node)
    mid, pdu = node.sealed(_request(update.identity_info.resident_code), sender=AGENCY)
    first = _ask(node, pdu, mid)
    if first != "provided":
        raise SutFault(f"the preamble's provision request got {first}")
    node.restart()
    conn = node.connect(AGENCY)
    try:
        conn.send(pdu)
        answer = conn.answer_to(mid)
        if not _acked(answer, AckStatus.DUPLICATE):
            return Outcome(Verdict.FAIL, expected, f"the request sent again got "
                           f"{describe(answer)}")
        again = _provision_answer(node, conn, mid, wait=1.0)
    finally:
        conn.close()
    if again in ("provided", "refused"):
        return Outcome(Verdict.FAIL, expected, f"duplicate, but processed again: {again}")
    return Outcome(Verdict.PASS, expected, "duplicate; nothing provided again")


def _numbering_after_restart(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = "after a restart, update m + 3 refused with 4004 and m + 1 applied"
    seq, _, _, _ = _apply(node)
    node.restart()
    before = node.status()
    if _last(before) != seq:
        return Outcome(Verdict.FAIL, expected, f"after the restart status lastSequence is "
                       f"{_last(before)}, not {seq}")
    mid, pdu = node.sealed(_update(seq + 3), sender=MUNICIPALITY)
    gap = _send(node, MUNICIPALITY, pdu, mid)
    if not _error(gap, ErrorCode.OUT_OF_ORDER):
        return Outcome(Verdict.FAIL, expected, f"update m + 3 got {describe(gap)}")
    if _held(node.status()) != _held(before):
        return Outcome(Verdict.FAIL, expected, "m + 3 refused, but the status changed")
    mid, pdu = node.sealed(_update(seq + 1), sender=MUNICIPALITY)
    nxt = _send(node, MUNICIPALITY, pdu, mid)
    if not _acked(nxt, AckStatus.ACCEPTED):
        return Outcome(Verdict.FAIL, expected, f"m + 3 refused; then m + 1 got {describe(nxt)}")
    if _last(node.status()) != seq + 1:
        return Outcome(Verdict.FAIL, expected, "m + 1 acknowledged but not stored")
    return Outcome(Verdict.PASS, expected, "4004 for m + 3, m + 1 applied")


# Injected commit failures (R-NODE-19, R-30-5-0-07, R-30-7-3-12) --------------------------

def _commit_fails(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("with the commit failing, the update answered 9003 STORAGE_FAILURE and "
                "nothing stored; the same PDU again then accepted and stored")
    before = node.status()
    seq = _last(before) + 1
    mid, pdu = node.sealed(_update(seq), sender=MUNICIPALITY)
    node.fail_next_commit()
    first = _send(node, MUNICIPALITY, pdu, mid)
    middle = node.status()
    if not _error(first, ErrorCode.STORAGE_FAILURE):
        return Outcome(Verdict.FAIL, expected, f"the update got {describe(first)} although "
                       "its commit failed")
    if _held(middle) != _held(before):
        return Outcome(Verdict.FAIL, expected, "9003, but the status changed",
                       f"before {_held(before)}, after {_held(middle)}")
    second = _send(node, MUNICIPALITY, pdu, mid)
    if not _acked(second, AckStatus.ACCEPTED):
        return Outcome(Verdict.FAIL, expected, f"9003; then the same PDU got "
                       f"{describe(second)} (it must be processed as new)")
    if _last(node.status()) != seq:
        return Outcome(Verdict.FAIL, expected, "9003, then accepted, but not stored")
    return Outcome(Verdict.PASS, expected, "9003 with nothing stored, then accepted")


def _request(resident_code: str) -> ProvisionRequest:
    """A provision request schedule 1 allows, for one resident (Art. 30-7(3))."""
    return ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
        legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code="S1-KENCHIKUSHI",
        operator_id=OPERATORS[AGENCY], by_resident_code=(resident_code,))


def _provision_answer(node: NodeSut, conn: PeerConnection, mid: bytes,
                      wait: float | None = None) -> str:
    """What the node answered provision request ``mid`` with within ``wait`` seconds
    (default the SUT's timeout): ``provided``, ``refused``, ``error NNNN``, ``nothing``
    or what else came."""
    limit = node.timeout if wait is None else wait
    deadline = time.monotonic() + limit
    while True:
        try:
            pdu = conn.read(max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            return "nothing"
        if pdu is None:
            return "the connection closed"
        if pdu.error_report is not None and pdu.error_report.refers_to == mid:
            return f"error {pdu.error_report.error_code}"
        if pdu.sealed is None or pdu.header.correlation_id != mid:
            if time.monotonic() > deadline:
                return "nothing"
            continue
        message = node.opened(pdu, AGENCY)
        node.acknowledge(conn, pdu, AGENCY)
        if not isinstance(message, ProvisionResponse):
            return f"a {type(message).__name__}"
        return "provided" if message.provided else "refused"


def _ask(node: NodeSut, pdu: bytes, mid: bytes) -> str:
    """Send provision request ``pdu`` as the agency; what the node answered."""
    conn = node.connect(AGENCY)
    try:
        conn.send(pdu)
        return _provision_answer(node, conn, mid)
    finally:
        conn.close()


def _provision_commit_fails(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("with the commit of the disclosure log failing, no identity info "
                "provided and error 9003; the same request again then provided")
    _, _, _, update = _apply(node)
    mid, pdu = node.sealed(_request(update.identity_info.resident_code), sender=AGENCY)
    node.fail_next_commit()
    answers = [_ask(node, pdu, mid)]
    answers.append(_ask(node, pdu, mid))
    failed = f"error {int(ErrorCode.STORAGE_FAILURE)}"
    got = f"first {answers[0]}, then {answers[1]}"
    if answers[0] == "provided":
        return Outcome(Verdict.FAIL, expected, got, "R-30-7-3-12: identity info provided "
                       "although its disclosure log was not committed")
    if answers != [failed, "provided"]:
        return Outcome(Verdict.FAIL, expected, got)
    return Outcome(Verdict.PASS, expected, got)


# The audit log (R-NODE-06, R-NODE-07, R-NODE-20) -----------------------------------------

def _personal(person: SyntheticResident) -> list[str]:
    """The items of ``person`` an audit row must not hold (R-NODE-07): the complete
    resident code, the name, the address as written, the birth date and the individual
    number."""
    info = person.identity_info(Profile.CURRENT)
    out = [info.resident_code, info.name.kanji, info.name.kana, info.address.text,
           info.birth_date.isoformat(), info.birth_date.strftime("%Y%m%d")]
    if info.individual_number:
        out.append(info.individual_number)
    return [item for item in out if item]


def _leaks(rows: list[dict[str, Any]], person: SyntheticResident) -> str | None:
    """Why ``rows`` break R-NODE-07, or None."""
    items = _personal(person)
    for row in rows:
        text = json.dumps(row, ensure_ascii=False)
        for item in items:
            if item in text:
                return f"row {row.get('seq')} holds an item of the person in clear"
        for subject in row.get("subjects") or []:
            if COMPLETE_CODE.fullmatch(str(subject)):
                return f"row {row.get('seq')} names a person by a complete resident code"
    return None


def _audit_rows(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("new audit rows numbered on without gaps: the update received (accepted, "
                "its person masked), its acknowledgement sent, the out-of-order update "
                "refused (4004); no complete resident code, name or birth date")
    head = _audit_head(node)
    seq = _last(node.status()) + 1
    person = _person()
    mid, pdu = node.sealed(_update(seq, person), sender=MUNICIPALITY)
    answer = _send(node, MUNICIPALITY, pdu, mid)
    if not _acked(answer, AckStatus.ACCEPTED) or answer is None:
        raise SutFault(f"the update got {describe(answer)}")
    gap_mid, gap = node.sealed(_update(seq + 2), sender=MUNICIPALITY)
    refused = _send(node, MUNICIPALITY, gap, gap_mid)
    if not _error(refused, ErrorCode.OUT_OF_ORDER):
        raise SutFault(f"the out-of-order update got {describe(refused)}")
    rows = node.audit_log(after=head)
    numbers = [int(r.get("seq", 0)) for r in rows]
    if numbers != list(range(head + 1, head + 1 + len(rows))):
        return Outcome(Verdict.FAIL, expected, f"rows after {head} numbered {numbers[:20]}")
    update_type = MessageType.IDENTITY_INFO_UPDATE.value

    def find(**want: str) -> dict[str, Any] | None:
        for row in rows:
            if all(str(row.get(k)) == v for k, v in want.items()):
                return row
        return None
    received = find(direction="received", messageId=mid.hex(), messageType=update_type,
                    peer=MUNICIPALITY, result="accepted")
    if received is None:
        return Outcome(Verdict.FAIL, expected, "no row: update received, accepted, with "
                       "its message id and peer")
    subjects = [str(s) for s in received.get("subjects") or []]
    code = person.resident_code
    if code in subjects:
        return Outcome(Verdict.FAIL, expected, "the received row names its person by the "
                       "complete resident code")
    if len(subjects) != 1 or len(subjects[0]) != len(code):
        return Outcome(Verdict.FAIL, expected, "the received row names its person as "
                       f"{len(subjects)} subject(s), not one masked resident code")
    ack_id = answer.header.message_id.hex()
    if find(direction="sent", messageId=ack_id, peer=MUNICIPALITY,
            messageType=MessageType.ACKNOWLEDGEMENT.value) is None:
        return Outcome(Verdict.FAIL, expected, "no row: the acknowledgement sent, with its "
                       "message id and peer")
    gap_row = find(direction="refused", messageId=gap_mid.hex(), peer=MUNICIPALITY)
    if gap_row is None or not str(gap_row.get("result")).startswith(
            str(int(ErrorCode.OUT_OF_ORDER))):
        return Outcome(Verdict.FAIL, expected, "no row: the update refused with 4004",
                       f"found {gap_row}")
    leak = _leaks(rows, person)
    if leak:
        return Outcome(Verdict.FAIL, expected, leak)
    return Outcome(Verdict.PASS, expected, f"{len(rows)} rows, as expected")


def _audit_after_restart(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = ("after a restart the audit log keeps its rows and numbers the next ones "
                "on from the last, without a gap")
    head = _audit_head(node)
    if head == 0:
        _apply(node)
        head = _audit_head(node)
    node.restart()
    kept = node.audit_log(after=head - 1)
    if not kept or int(kept[0].get("seq", 0)) != head:
        return Outcome(Verdict.FAIL, expected, f"row {head} is gone after the restart")
    seq, mid, _, _ = _apply(node)
    rows = node.audit_log(after=head)
    numbers = [int(r.get("seq", 0)) for r in rows]
    if not numbers or numbers != list(range(head + 1, head + 1 + len(rows))):
        return Outcome(Verdict.FAIL, expected, f"rows after {head}, the last before the "
                       f"restart, are numbered {numbers[:20]}")
    if not any(r.get("messageId") == mid.hex() and r.get("direction") == "received"
               for r in rows):
        return Outcome(Verdict.FAIL, expected, f"no row for update {seq} received after "
                       "the restart")
    return Outcome(Verdict.PASS, expected, f"row {head} kept; rows {numbers[0]}.."
                   f"{numbers[-1]} after the restart")


# Time (R-PDU-16, R-NODE-18) ---------------------------------------------------------------

def _window_edges(sut: AdapterSut) -> Outcome:
    node = _sut(sut)
    expected = (f"by the node's clock, a header time {WINDOW - EDGE} s old accepted and "
                f"one {WINDOW + EDGE} s old refused with 2020 STALE_TIME, nothing stored")
    declared = node.ok("hello").get("timeWindowSeconds")
    node.clock_now()        # The runner now knows the node's clock (R-NODE-18).

    def offset(age: int) -> dt.timedelta:
        return -dt.timedelta(seconds=age)
    before = node.status()
    seq = _last(before) + 1
    mid, pdu = node.sealed(_update(seq + 1), sender=MUNICIPALITY,
                           time_offset=offset(WINDOW + EDGE))
    late = _send(node, MUNICIPALITY, pdu, mid)
    note = f"hello timeWindowSeconds {declared}"
    if not _error(late, ErrorCode.STALE_TIME):
        return Outcome(Verdict.FAIL, expected, f"{WINDOW + EDGE} s old: {describe(late)}",
                       note)
    if _held(node.status()) != _held(before):
        return Outcome(Verdict.FAIL, expected, "2020, but the status changed", note)
    mid, pdu = node.sealed(_update(seq), sender=MUNICIPALITY,
                           time_offset=offset(WINDOW - EDGE) + dt.timedelta(seconds=1))
    inside = _send(node, MUNICIPALITY, pdu, mid)
    if not _acked(inside, AckStatus.ACCEPTED):
        return Outcome(Verdict.FAIL, expected, f"{WINDOW + EDGE} s old: 2020; "
                       f"{WINDOW - EDGE} s old: {describe(inside)}", note)
    return Outcome(Verdict.PASS, expected, "refused outside, accepted inside", note)


# Municipality: updates resent (R-NODE-03, R-PDU-23) ---------------------------------------

def _status_updates(node: NodeSut) -> dict[str, Any]:
    updates = node.status().get("updates")
    if not isinstance(updates, dict):
        raise SutFault("status has no updates object")
    return updates


def _settle(node: NodeSut, nudge: Callable[[NodeSut], None]) -> None:
    """Acknowledge what earlier cases left unacknowledged at the prefecture listener;
    ``nudge`` (the case's own trigger of a resend) once if nothing comes."""
    deadline = time.monotonic() + node.timeout
    nudged = False
    while _status_updates(node).get("unacknowledged"):
        got = node.sent_to_peer(0.2)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        elif not nudged and time.monotonic() > deadline - node.timeout / 2:
            nudge(node)
            nudged = True
        if time.monotonic() > deadline:
            raise SutFault("updates stay unacknowledged")
    node.drain(node.prefecture)


def _update_sent(node: NodeSut, what: str) -> tuple[PeerConnection, JukiPdu,
                                                    IdentityInfoUpdate] | str:
    got = node.sent_to_peer(peer=node.prefecture)
    if got is None:
        return f"no {what} within {node.timeout:g} s"
    conn, pdu = got
    if pdu.sealed is None or pdu.header.message_type is not MessageType.IDENTITY_INFO_UPDATE:
        return f"{describe(pdu)} instead of the {what}"
    message = node.opened(pdu, node.prefecture)
    if not isinstance(message, IdentityInfoUpdate):
        return f"a {type(message).__name__} instead of the {what}"
    return conn, pdu, message


def _resent(trigger: Callable[[NodeSut], None], when: str) -> Callable[[AdapterSut], Outcome]:
    """A case: a recorded change's update is left unacknowledged; after ``trigger``
    the node must send it again with the same message id and content."""
    def run(sut: AdapterSut) -> Outcome:
        node = _sut(sut)
        expected = f"the unacknowledged update resent {when}, same message id and content"
        _settle(node, trigger)
        seed = f"conformance:{secrets.token_hex(8)}"
        codes = node.ok("register_resident", seed=seed).get("residentCodes") or []
        if not codes:
            raise SutFault("register_resident registered nobody")
        op = node.ok("record_change", residentCode=str(codes[0]), reason="moveIn")
        got = _update_sent(node, "update")
        if isinstance(got, str):
            return Outcome(Verdict.FAIL, expected, got)
        _, pdu, update = got
        if pdu.header.message_id.hex() != op.get("messageId"):
            return Outcome(Verdict.FAIL, expected, "the update's message id is not the one "
                           "record_change reported")
        trigger(node)
        again = _update_sent(node, f"update resent {when}")
        if isinstance(again, str):
            return Outcome(Verdict.FAIL, expected, again)
        conn, pdu2, update2 = again
        node.acknowledge(conn, pdu2, node.prefecture)
        if pdu2.header.message_id != pdu.header.message_id:
            return Outcome(Verdict.FAIL, expected, "resent with another message id")
        if update2 != update:
            return Outcome(Verdict.FAIL, expected, "resent with other content")
        return Outcome(Verdict.PASS, expected, f"update {update.update_sequence} resent "
                       "unchanged")
    return run


def _restart(node: NodeSut) -> None:
    node.restart()


def _retry_interval(node: NodeSut) -> None:
    node.clock_advance(node.retry_interval + 1)


REM_DURABLE = ("Commit the processed message id and digest in the transaction of the "
               "message's effects, and rebuild every machine from the database on start: "
               "nothing a peer relies on may live only in memory (spec/node.md section 1).")
REM_COMMIT = ("Acknowledge or answer a message only after its transaction has committed; "
              "when the commit fails, roll back, answer 9003 STORAGE_FAILURE referring "
              "to the message and keep no processed id, so that a retry is new "
              "(R-NODE-19, R-30-5-0-07, R-30-7-3-12).")
REM_AUDIT = ("Append one audit row per message received, refused, sent and provided, "
             "in the transaction of its effects, numbered without gaps, naming persons "
             "by masked resident codes only (spec/node.md section 3).")
REM_RESEND = ("Keep every sent update until it is acknowledged, in durable storage; on "
              "start and whenever its retry timer fires, resend the first unacknowledged "
              "one with the same message id and content (R-PDU-23, R-NODE-03).")


def durability_cases() -> list[Case]:
    """The cases of this module."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], needs: str,
             role: str = "prefecture") -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role=role, needs=needs)
    return [
        case("30-5/node/restart/duplicate-after-restart",
             "after a restart an acknowledged update resent is a duplicate, and its id "
             "on other content a replay", "30-5",
             ("R-NODE-02", "R-NODE-17", "R-PDU-24"), REM_DURABLE,
             _duplicate_after_restart, "ixit.restart"),
        case("30-7/node/restart/provision-duplicate-after-restart",
             "a provision request answered before a restart is a duplicate after it, "
             "not provided again", "30-7", ("R-NODE-02", "R-NODE-17", "R-PDU-24"),
             REM_DURABLE, _provision_duplicate_after_restart, "ixit.restart"),
        case("30-5/node/restart/numbering-continues",
             "after a restart the node applies m + 1 and refuses m + 3", "30-5",
             ("R-NODE-03", "R-NODE-17", "R-30-5-0-06"), REM_DURABLE,
             _numbering_after_restart, "ixit.restart"),
        case("30-5/node/fault/commit-failure-answered-9003",
             "an update whose commit fails is answered 9003, nothing stored, and its "
             "retry is accepted", "30-5", ("R-NODE-19", "R-30-5-0-07", "R-NODE-61"),
             REM_COMMIT, _commit_fails, "ixit.faultInjection"),
        case("30-7/node/fault/disclosure-log-commit-failure",
             "a provision request whose disclosure log commit fails is not provided, "
             "and its retry is", "30-7", ("R-30-7-3-12", "R-NODE-19", "R-NODE-61"),
             REM_COMMIT, _provision_commit_fails, "ixit.faultInjection"),
        case("node/node/audit/rows-received-refused-sent",
             "the audit log has a row for the message received, refused and sent, "
             "persons masked", "node", ("R-NODE-06", "R-NODE-07", "R-NODE-20"),
             REM_AUDIT, _audit_rows, ""),
        case("node/node/audit/refusals-bounded-and-counted",
             f"{FLOOD} refusals of one peer in a minute: a bounded number of audit "
             "entries of their own, the rest counted in one summary entry", "node",
             ("R-NODE-27", "R-NODE-28", "R-NODE-06"),
             "Write at most a fixed number of a peer's refusals per result and interval "
             "as entries of their own, count the rest and write one summary entry with "
             "the count ('; N more refusals counted...', spec/node.md section 3) when "
             "the interval ends.", _refusals_bounded, "ixit.clock"),
        case("node/node/audit/numbering-continues-after-restart",
             "the audit log keeps its rows and numbers on across a restart", "node",
             ("R-NODE-06", "R-NODE-20", "R-NODE-62"), REM_AUDIT, _audit_after_restart,
             "ixit.restart"),
        case("pdu/node/header/time-window-edges",
             f"by the node's clock, header times {WINDOW - EDGE} s and {WINDOW + EDGE} s "
             "old: accepted, then refused with 2020", "pdu", ("R-PDU-16", "R-NODE-18"),
             "Compare the header time with your own clock (the test clock when one is "
             "declared): 300 s apart or less is accepted, more is 2020 STALE_TIME.",
             _window_edges, "ixit.clock"),
        case("30-5/node/restart/unacknowledged-update-resent",
             "an update left unacknowledged is resent after a restart, same id and "
             "content", "30-5", ("R-NODE-03", "R-NODE-17", "R-PDU-23", "R-NODE-60"),
             REM_RESEND, _resent(_restart, "after the restart"), "ixit.restart",
             role="municipality"),
        case("30-5/node/update/resent-when-retry-timer-fires",
             "an update left unacknowledged is resent when the retry interval has "
             "passed on the node's clock", "30-5", ("R-PDU-23", "R-NODE-63", "R-NODE-18"),
             REM_RESEND, _resent(_retry_interval, "after the retry interval"),
             "ixit.clock", role="municipality"),
    ]


__all__ = ["durability_cases"]
