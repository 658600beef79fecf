"""Steps the node-mode cases of the municipality-to-municipality flows share
(spec/node.md section 4.5): fresh households in the node's register or the runner's,
reading what the node sends (to a peer the runner listens as, or on a connection of
the runner's) until every wanted PDU came, waiting for a flow's outcome, and
acknowledging the updates the node sends its prefecture so that the cases run in any
order against one node.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.lower_tester import PeerConnection
from juki_conformance.node_steps import upper_ok
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import SyntheticResident, generate_households
from juki_protocol.messages.common import Address, ChangeReason
from juki_protocol.messages.identity import IdentityInfoUpdate, UpdateOperation
from juki_protocol.messages.pdu import AckStatus, JukiPdu, MessageType
from juki_protocol.messages.special_move import SpecialMoveInNotice

#: A SUT's new address for a special move-in, and the runner's (272035) for a move-out.
ADDRESS_TEXT = {"271004": "大阪府大阪市北区中之島一丁目3番20号",
                "272035": "大阪府豊中市中桜塚三丁目1番1号"}
#: How long the runner listens to be sure the node sent nothing.
QUIET = 1.0
#: The code with which the runner, as former municipality, closes a notice it does not
#: want to follow (a mover without an annotated move-out on file, R-24-2-3-03).
CLOSE_CODE = ErrorCode.UNEXPECTED_MESSAGE
Got = tuple[PeerConnection, JukiPdu]
Reader = Callable[[float], Got | None]


def node_today(node: NodeSut) -> dt.date:
    """The node's date (its test clock when the IXIT declares one)."""
    return node.clock_now().date() if node.offers("clock") else dt.date.today()


def seed_with(code: str, minimum: int) -> tuple[str, tuple[SyntheticResident, ...]]:
    """A fresh seed whose household at ``code`` has at least ``minimum`` members."""
    while True:
        seed = f"conformance:flows:{secrets.token_hex(8)}"
        members = generate_households(1, seed, municipalities=[code])[0].members
        if len(members) >= minimum:
            return seed, members


def registered_household(node: NodeSut, minimum: int = 1) -> tuple[SyntheticResident, ...]:
    """A fresh household put into the node's register (``register_resident``)."""
    seed, members = seed_with(node.code, minimum)
    answer = node.ok("register_resident", seed=seed)
    if answer.get("residentCodes") != [m.resident_code for m in members]:
        raise SutFault("register_resident did not register the household that "
                       f"generate_households makes from seed {seed!r}")
    return members


def peer_household(node: NodeSut, minimum: int = 1) -> tuple[SyntheticResident, ...]:
    """A fresh household of the municipality the runner plays (not in the node)."""
    return seed_with(node.peer_municipality, minimum)[1]


def address_of(code: str) -> Address:
    return Address(local_gov_code=code, text=ADDRESS_TEXT.get(code, "大阪府内"))


def as_json(obj: object) -> dict[str, Any]:
    return codec.to_json(obj)


def listening(node: NodeSut, peer: str) -> Reader:
    """Read what the node sends to ``peer`` (a peer the runner listens as)."""
    return lambda timeout: node.sent_to_peer(timeout, peer=peer)


def reading_on(conn: PeerConnection) -> Reader:
    """Read what the node sends on the runner's connection ``conn``."""
    def read(timeout: float) -> Got | None:
        try:
            pdu = conn.read(timeout)
        except TimeoutError:
            return None
        return None if pdu is None else (conn, pdu)
    return read


def sealed_of(mtype: MessageType, mid: bytes | None = None) -> Callable[[JukiPdu], bool]:
    """Matches a sealed message of ``mtype`` (with message id ``mid``)."""
    return lambda p: p.sealed is not None and p.header.message_type is mtype and (
        mid is None or p.header.message_id == mid)


def answer_of(mid: bytes) -> Callable[[JukiPdu], bool]:
    """Matches the acknowledgement or error report of message ``mid``."""
    return lambda p: (p.acknowledgement is not None
                      and p.acknowledgement.acknowledged_id == mid) or (
        p.error_report is not None and p.error_report.refers_to == mid)


def gather(read: Reader, wanted: dict[str, Callable[[JukiPdu], bool]],
           timeout: float) -> dict[str, Got]:
    """The first PDU matching each of ``wanted``, in any order, read until all came or
    ``timeout`` seconds passed; what matches nothing is skipped."""
    found: dict[str, Got] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(wanted):
        left = deadline - time.monotonic()
        got = read(left) if left > 0 else None
        if got is None:
            break
        for name, match in wanted.items():
            if name not in found and match(got[1]):
                found[name] = got
                break
    return found


def sent_nothing(node: NodeSut, peer: str, mtype: MessageType) -> str | None:
    """None when the node sends no ``mtype`` to ``peer`` for :data:`QUIET` seconds;
    else what it sent (refused by the runner, so that the flow ends)."""
    got = gather(listening(node, peer), {"x": sealed_of(mtype)}, QUIET).get("x")
    if got is None:
        return None
    node.report_error(got[0], got[1], peer, int(CLOSE_CODE))
    return f"a {mtype.value} was sent to {peer}"


def move_in_fields(node: NodeSut, people: tuple[SyntheticResident, ...],
                    moved: dt.date, filed: dt.date) -> dict[str, Any]:
    """The fields of ``special_move_in`` for ``people`` of the runner's municipality,
    the first holding the card."""
    return {"cardHolder": people[0].resident_code,
            "formerMunicipality": node.peer_municipality,
            "movers": [as_json(p.person_ref()) for p in people],
            "movedDate": moved.isoformat(), "filedDate": filed.isoformat(),
            "newAddress": as_json(address_of(node.code))}


def special_move_in_notice(node: NodeSut, mid: str) -> tuple[Got, SpecialMoveInNotice] | str:
    """The SpecialMoveInNotice ``mid`` the node sent to the runner's municipality."""
    peer = node.peer_municipality
    got = gather(listening(node, peer), {
        "notice": sealed_of(MessageType.SPECIAL_MOVE_IN_NOTICE, bytes.fromhex(mid))},
        node.timeout).get("notice")
    if got is None:
        return f"no SpecialMoveInNotice {mid[:8]}... reached {peer}"
    notice = node.opened(got[1], peer)
    if not isinstance(notice, SpecialMoveInNotice):
        return f"a {type(notice).__name__} under a specialMoveInNotice header"
    return got, notice


def header_problem(node: NodeSut, pdu: JukiPdu, to: str) -> str | None:
    h = pdu.header
    if (h.sender.role.value, h.sender.code, h.recipient.role.value, h.recipient.code) != (
            "municipality", node.code, "municipality", to):
        return (f"the {h.message_type.value} went from {h.sender.role.value}:"
                f"{h.sender.code} to {h.recipient.role.value}:{h.recipient.code}, not "
                f"from municipality:{node.code} to municipality:{to}")
    return None


def is_accepted(pdu: JukiPdu | None) -> bool:
    return pdu is not None and pdu.acknowledgement is not None \
        and pdu.acknowledgement.status is AckStatus.ACCEPTED


def poll_flow(node: NodeSut, op: str, mid: str, outcome: str) -> dict[str, Any]:
    """Read ``op`` of flow ``mid`` until its outcome is ``outcome`` (an answer the
    runner sent is taken in the node's own time) or the timeout passes; the last."""
    deadline = time.monotonic() + node.timeout
    while True:
        result = upper_ok(node, op, messageId=mid)
        if result.get("outcome") == outcome or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def settle_updates(node: NodeSut) -> int:
    """Acknowledge what the node sends its prefecture until nothing is unacknowledged;
    the last update number. Resends of updates acknowledged meanwhile (an earlier case
    left them unanswered past the retry interval) are then read and dropped, so that
    the case after this sees only what it causes."""
    deadline = time.monotonic() + node.timeout
    while True:
        updates = node.status().get("updates")
        if not isinstance(updates, dict):
            raise SutFault("status has no updates object")
        if not updates.get("unacknowledged"):
            node.drain(node.prefecture)
            return int(updates.get("lastSequence", 0))
        got = node.sent_to_peer(0.2, peer=node.prefecture)
        if got is not None and got[1].sealed is not None:
            node.acknowledge(got[0], got[1], node.prefecture)
        if time.monotonic() > deadline:
            raise SutFault(f"{updates.get('unacknowledged')} update(s) stay unacknowledged")


def updates_reported(node: NodeSut, people: tuple[SyntheticResident, ...], first: int,
                     moved: dt.date, *, operation: UpdateOperation, reason: ChangeReason,
                     address: Address | None = None) -> str | None:
    """Read, check and acknowledge the updates ``first``, ``first`` + 1... the node
    sends its prefecture for ``people``: each with ``operation``, ``reason`` and the
    move's date (and ``address``, when given); None if all were right."""
    what = "erasures" if operation is UpdateOperation.ERASE else "records"
    left = {p.resident_code for p in people}
    for seq in range(first, first + len(people)):
        got = gather(listening(node, node.prefecture),
                     {"u": sealed_of(MessageType.IDENTITY_INFO_UPDATE)}, node.timeout)
        if "u" not in got:
            return f"{len(left)} of {len(people)} {what} never reported to {node.prefecture}"
        conn, pdu = got["u"]
        update = node.opened(pdu, node.prefecture)
        node.acknowledge(conn, pdu, node.prefecture)
        if not isinstance(update, IdentityInfoUpdate) or update.update_sequence != seq \
                or update.operation is not operation \
                or update.change_info.change_reason is not reason \
                or update.change_info.change_date != moved \
                or update.identity_info.resident_code not in left \
                or (address is not None and update.identity_info.address != address):
            return (f"update {seq} is not the {operation.value} (reason {reason.value}, "
                    f"the move's date{', the new address' if address else ''}) of a "
                    "resident still to report")
        left.discard(update.identity_info.resident_code)
    return None
