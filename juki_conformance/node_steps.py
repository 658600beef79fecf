"""The steps node-mode cases share: reach the node under test, send a PDU and read the
answer, read what the node holds from its upper tester's ``status``, make a fresh
update, and build the usual cases (a PDU that must be refused, a resident recorded
first).

Every case reads the node's ``status`` first and numbers its updates from the last
sequence the node applied for the municipality (:func:`last_sequence`), so the cases
need no reset and may run in any order or alone. "Nothing stored" means the status after
a refusal equals the status before it (:func:`held_state`; spec/node.md section 4: the
status reports committed state).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.model import Outcome, Verdict
from juki_conformance.node_sut import NodeSut, PeerConnection
from juki_conformance.sut import AdapterSut, HarnessError, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.common import ChangeInfo, ChangeReason, Profile
from juki_protocol.messages.identity import (
    IdentityInfoRelay,
    IdentityInfoUpdate,
    UpdateOperation,
)
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.provision import ProvisionResponse

#: The municipality the lower tester plays, another municipality of the same
#: prefecture, and a node of another prefecture.
MUNICIPALITY, OTHER_MUNICIPALITY, OTHER_PREFECTURE = "271004", "272035", "130001"


def node_sut(sut: AdapterSut) -> NodeSut:
    """The node under test of a node-mode case (HarnessError for any other SUT)."""
    if not isinstance(sut, NodeSut):
        raise HarnessError("a node-mode case needs a node SUT")
    return sut


def upper_ok(node: NodeSut, op: str, **fields: Any) -> dict[str, Any]:
    """The answer of upper-tester ``op``; SutFault when the node refuses it (a case's
    preamble the node should have carried out)."""
    answer = node.request(op, **fields)
    if not answer.get("ok"):
        raise SutFault(f"upper tester {op} failed: {answer.get('error')}")
    return answer


def describe(pdu: JukiPdu | None) -> str:
    """What an answer was, in words, for a case's ``actual``."""
    if pdu is None:
        return "the connection closed without an answer"
    if pdu.acknowledgement is not None:
        return f"an acknowledgement ({pdu.acknowledgement.status.value})"
    if pdu.error_report is not None:
        code = pdu.error_report.error_code
        try:
            return f"error {code} {ErrorCode(code).name}"
        except ValueError:
            return f"error {code} (unregistered)"
    return "a sealed message instead of an answer"


def is_error(answer: JukiPdu | None, code: ErrorCode) -> bool:
    """Whether ``answer`` is an error report with ``code``."""
    return answer is not None and answer.error_report is not None \
        and answer.error_report.error_code == int(code)


def exchange(node: NodeSut, peer: str, pdu: bytes, mid: bytes | None) -> JukiPdu | None:
    """Send ``pdu`` on a new connection as ``peer``; the answer referring to ``mid``
    (None when the node closed the connection first)."""
    conn = node.connect(peer)
    try:
        conn.send(pdu)
        return conn.answer_to(mid)
    finally:
        conn.close()


def next_relay(node: NodeSut, timeout: float, carrying: IdentityInfoUpdate | None = None
               ) -> tuple[PeerConnection, JukiPdu, IdentityInfoRelay] | None:
    """The next relay the prefecture under test sends the centre (DC01) within
    ``timeout`` seconds, not answered; with ``carrying``, the next whose update has that
    update's identity info. Other PDUs are read and passed over."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left, peer="DC01")
        if got is None:
            return None
        conn, pdu = got
        if pdu.sealed is None \
                or pdu.header.message_type is not MessageType.IDENTITY_INFO_RELAY:
            continue
        relay = node.opened(pdu, "DC01")
        if isinstance(relay, IdentityInfoRelay) and (
                carrying is None or relay.update.identity_info == carrying.identity_info):
            return conn, pdu, relay
    return None


def error_text(name: ErrorCode) -> str:
    """An error code as a case's ``expected`` names it: ``error 2021 REPLAY``."""
    return f"error {int(name)} {name.name}"


def held_state(status: dict[str, Any]) -> tuple[Any, Any]:
    """What a ``status`` answer says the node holds (identity info counts and the last
    sequence per sender): equal before and after means nothing was stored."""
    return status.get("identityInfo"), status.get("lastSequence")


def last_sequence(status: dict[str, Any], code: str = MUNICIPALITY) -> int:
    """The last update sequence the node applied for municipality ``code`` (0: none)."""
    return int((status.get("lastSequence") or {}).get(code, 0))


def birth_update(sequence: int, code: str = MUNICIPALITY) -> IdentityInfoUpdate:
    """A ``record`` update (birth) of a fresh synthetic resident of ``code``."""
    person = generate_households(1, f"conformance:{secrets.token_hex(8)}",
                                 municipalities=[code])[0].head
    return IdentityInfoUpdate(
        municipality=code, update_sequence=sequence, operation=UpdateOperation.RECORD,
        identity_info=person.identity_info(Profile.CURRENT),
        change_info=ChangeInfo(change_reason=ChangeReason.BIRTH,
                               change_date=person.birth_date))


def in_p2002(node: NodeSut, message: Any, sender: str) -> tuple[bytes, bytes]:
    """``message`` sealed by ``sender`` as a message of profile ``p2002``, well formed
    in it: the header names p2002 and no identity info carries an individual number
    (R-PDU-03). A node of the ``current`` network refuses it (R-PDU-50)."""
    def strip(value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(strip(v) for v in value)
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            return value
        changes = {f.name: strip(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if "individual_number" in changes:
            changes["individual_number"] = None
        return dataclasses.replace(value, **changes)
    der = codec.encode(strip(message), Profile.P2002)
    return node.sealed(message, sender=sender, der=der,
                       header_changes={"profile": Profile.P2002})


def next_update(node: NodeSut, timeout: float) -> tuple[PeerConnection, JukiPdu] | None:
    """The next identity info update the municipality under test sends its prefecture
    within ``timeout`` seconds; other PDUs are passed over."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        got = node.sent_to_peer(left, peer=node.prefecture)
        if got is None:
            return None
        if got[1].sealed is not None \
                and got[1].header.message_type is MessageType.IDENTITY_INFO_UPDATE:
            return got
    return None


def send_window(node: NodeSut) -> int:
    """The send window the node's ICS declares (``limits.sendWindow``, R-30-5-0-13): how
    many numbered messages (updates, relays) it keeps on the wire unacknowledged at
    once; 1 when undeclared. A case that numbers several messages before it answers
    one reads the others the window puts on the wire before it answers."""
    return int(node.limits.get("sendWindow", 1))


def settle_by_clock(node: NodeSut, advance: float) -> None:
    """Acknowledge what earlier cases left unacknowledged (status ``updates``), moving
    the node's clock on by ``advance`` seconds whenever nothing comes, so that a resend
    falls due; SutFault when some stay unacknowledged past the node's timeout."""
    deadline = time.monotonic() + node.timeout
    while (node.status().get("updates") or {}).get("unacknowledged"):
        got = next_update(node, 0.3)
        if got is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        elif time.monotonic() > deadline:
            raise SutFault("earlier updates stay unacknowledged")
        else:
            node.clock_advance(advance)


#: The duplicate window a node keeps unless its IXIT declares another (spec/pdu.md).
DUPLICATE_WINDOW = 86400.0


def past_window(node: NodeSut) -> None:
    """Move the clock past the duplicate window, a purge of what retention made due
    first (so that the node keeps its state through the long step)."""
    retention = node.ixit.get("retentionSeconds")
    if isinstance(retention, (int, float)) and retention > 0:
        node.clock_advance(float(retention) + 1)
    node.clock_advance(float(node.ixit.get("duplicateWindowSeconds", DUPLICATE_WINDOW))
                       + 60)


def expect_ack(answer: JukiPdu | None, status: AckStatus) -> str | None:
    """None if ``answer`` is an acknowledgement with ``status``, else what it was."""
    if answer is not None and answer.acknowledgement is not None \
            and answer.acknowledgement.status is status:
        return None
    return describe(answer)


def stored_one(before: dict[str, Any], after: dict[str, Any], seq: int) -> str | None:
    """None if the status shows exactly the one new update ``seq``, else why not."""
    b, a = before.get("identityInfo") or {}, after.get("identityInfo") or {}
    if last_sequence(after) != seq:
        return f"status lastSequence[{MUNICIPALITY}] is {last_sequence(after)}, not {seq}"
    if a.get("current") != b.get("current", 0) + 1:
        return f"status identityInfo.current went {b.get('current')} -> {a.get('current')}"
    return None


def refusal_case(send: Callable[[NodeSut, PeerConnection, int], tuple[bytes | None, bytes]],
                 code: ErrorCode, *, peer: str = MUNICIPALITY
                 ) -> Callable[[AdapterSut], Outcome]:
    """A case: ``send`` builds a PDU (given the next sequence number) that the node must
    refuse with ``code``, referring to its message id, storing nothing."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = f"{error_text(code)} referring to the message, nothing stored"
        before = node.status()
        conn = node.connect(peer)
        try:
            mid, pdu = send(node, conn, last_sequence(before) + 1)
            conn.send(pdu)
            answer = conn.answer_to(mid)
        finally:
            conn.close()
        after = node.status()
        got = describe(answer)
        if not is_error(answer, code):
            return Outcome(Verdict.FAIL, expected, got)
        if held_state(after) != held_state(before):
            return Outcome(Verdict.FAIL, expected, f"{got}, but the status changed",
                           f"before {held_state(before)}, after {held_state(after)}")
        return Outcome(Verdict.PASS, expected, got)
    return run


def record_resident(node: NodeSut) -> tuple[IdentityInfoUpdate | None, str]:
    """Store a fresh resident through an update of the municipality; (the update, "")
    or (None, what went wrong)."""
    before = node.status()
    seq = last_sequence(before) + 1
    update = birth_update(seq)
    mid, pdu = node.sealed(update, sender=MUNICIPALITY)
    wrong = expect_ack(exchange(node, MUNICIPALITY, pdu, mid), AckStatus.ACCEPTED)
    problem = wrong or stored_one(before, node.status(), seq)
    return (None, f"recording a resident first failed: {problem}") if problem \
        else (update, "")


def provision_response(node: NodeSut, conn: PeerConnection, mid: bytes, body: str
                       ) -> ProvisionResponse | str:
    """The ProvisionResponse correlated with request ``mid`` (acknowledged as ``body``),
    or what came instead."""
    deadline = node.timeout
    while True:
        try:
            pdu = conn.read(deadline)
        except TimeoutError:
            return f"no ProvisionResponse within {deadline:g} s"
        if pdu is None:
            return "the connection closed without a ProvisionResponse"
        if pdu.error_report is not None and pdu.error_report.refers_to == mid:
            return f"{describe(pdu)} instead of a ProvisionResponse"
        if pdu.sealed is None or pdu.header.correlation_id != mid:
            continue
        message = node.opened(pdu, body)
        node.acknowledge(conn, pdu, body)
        if not isinstance(message, ProvisionResponse):
            return f"a {type(message).__name__} instead of a ProvisionResponse"
        return message


__all__ = [
    "MUNICIPALITY", "OTHER_MUNICIPALITY", "OTHER_PREFECTURE", "birth_update", "describe",
    "error_text", "exchange", "expect_ack", "held_state", "is_error", "last_sequence",
    "next_relay", "node_sut", "provision_response", "record_resident", "refusal_case",
    "send_window", "stored_one", "upper_ok",
]
