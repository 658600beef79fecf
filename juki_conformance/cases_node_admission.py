"""Node-mode cases on the admission of connections whose TLS handshake has not completed
(spec/node.md section 6, R-NODE-46): which pending handshake gives way when one source
address reaches its bound, when the pending handshakes of every address that is not a
known peer's reach theirs in total, and when the known peers' reserve is full; that a
handshake that ended frees its room; and that the node serves a known peer throughout.
Then, once authenticated, the share of the slots (R-NODE-47, R-NODE-12): with every slot
taken, who gives way to a newcomer and who is refused.

The cases open plain TCP connections that send nothing (a pending handshake, for the
node) from loopback addresses other than the runner's (127.0.2.x to 127.0.6.x: addresses
the node does not know) beside a SUT on loopback, and from the runner's own address, which
the node knows as its peers' (spec/conformance.md section 6). The bounds are the node's
own: ``limits.maxAddressHandshakes``, ``limits.maxHandshakes``, ``limits.knownReserve``
(and ``handshakeRate``, ``handshakeTimeoutSeconds`` for the timing), ``maxConnections`` and
``maxPeerConnections``; a case whose bound is not declared is ``not_applicable``.

After opening connections a case lets the runner, from its known address, exchange a
valid update with the node: besides checking that the node keeps serving known peers,
that exchange is accepted after the connections opened before it, so by its answer the
node has admitted (or closed) each of them. A connection the node closed is then seen at
once; one still open within the handshake time limit is one the node keeps pending.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable, Sequence

from juki_conformance.cases_node import MUNICIPALITY, NodeCase, describe
from juki_conformance.cases_node_limits import SLACK, declared_limit, serves_update
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict, strongest_level
from juki_conformance.node_steps import (
    birth_update,
    expect_ack,
    is_error,
    last_sequence,
    node_sut,
)
from juki_conformance.node_sut import AGENCY, UNLISTED_AGENCY, NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.pdu import AckStatus

#: Seconds to wait, after the exchange that follows them, for closes of connections.
SEEN = 0.15


def _loopback(node: NodeSut) -> None:
    if not node.address[0].startswith("127."):
        raise Inconclusive("the case needs source addresses the node does not know: "
                           "loopback addresses beside a SUT on loopback")


def _unknown(block: int, i: int) -> str:
    """The ``i``-th source address of a case's block (127.0.<block>.x, x from 1):
    addresses the node does not know."""
    return f"127.0.{block + i // 250}.{1 + i % 250}"


def _open(node: NodeSut, source: str | None) -> socket.socket:
    """A TCP connection to the node that sends nothing: a pending TLS handshake, from
    ``source`` (None: the runner's own, known address)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if source is not None:
            s.bind((source, 0))
        s.settimeout(node.timeout)
        s.connect(node.address)
    except OSError:
        s.close()
        raise
    return s


def _closed(socks: Sequence[socket.socket], wait: float = SEEN) -> set[int]:
    """The indexes of ``socks`` whose other end has closed them, waiting at most
    ``wait`` seconds for more (the node sends nothing before a ClientHello, so a socket
    becomes readable only when the node closes it)."""
    closed: set[int] = set()
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        watched = [s for i, s in enumerate(socks) if i not in closed]
        if not watched:
            break
        ready, _, _ = select.select(watched, [], [], left)
        if not ready:
            break
        for s in ready:
            i = next(j for j, t in enumerate(socks) if t is s)
            try:
                s.settimeout(0)
                s.recv(1)
            except BlockingIOError:
                continue
            except OSError:
                pass
            closed.add(i)      # an end of stream, a reset, or octets before any hello
    return closed


def _close_all(socks: Sequence[socket.socket]) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.close()


def _names(indexes: set[int], names: Sequence[str]) -> str:
    return ", ".join(names[i] for i in sorted(indexes)) or "none"


def _in_time(sut: AdapterSut, started: float) -> None:
    """Inconclusive when the connections may have reached the node's handshake time
    limit since ``started`` (then a close is not the bound's doing)."""
    node = node_sut(sut)
    limit = float(node.limits.get("handshakeTimeoutSeconds", 10.0))
    if time.monotonic() - started > limit * 0.8:
        raise Inconclusive(f"opening and checking the connections took "
                           f"{time.monotonic() - started:.1f} s, near the node's "
                           f"{limit:g} s handshake time limit")


def _address_oldest(sut: AdapterSut) -> Outcome:
    """R-NODE-46, the bound per source address from both sides: an address just below
    and one just above the address under test (as text and as numbers) hold pending
    handshakes too; at the bound, only the oldest of the address under test gives way,
    never one of the others, nor the newest."""
    node = node_sut(sut)
    bound = int(declared_limit(sut, "maxAddressHandshakes"))
    rate = declared_limit(sut, "handshakeRate") if "handshakeRate" in node.limits else 0.0
    total = int(node.limits.get("maxHandshakes", 3 * bound + 1))
    side = min(bound, (total - bound - 1) // 2)
    if side < 1:
        return Outcome(Verdict.NOT_APPLICABLE, "", "maxHandshakes leaves no room beside "
                       "one address at its bound")
    low, mid, high = "127.0.2.5", "127.0.2.6", "127.0.2.7"
    expected = (f"{side} pending handshakes from {low} and from {high}, {bound} (the "
                f"declared bound) from {mid}, all kept; one more from {mid}: the oldest "
                f"of {mid} closed at once, every other kept; a known peer served "
                "throughout")
    _loopback(node)
    time.sleep(0.3)             # let the node see earlier cases' connections close
    socks: list[socket.socket] = []
    names: list[str] = []
    try:
        started = time.monotonic()
        for source, count in ((low, side), (high, side), (mid, bound)):
            for k in range(count):
                socks.append(_open(node, source))
                names.append(f"{source} #{k + 1}")
        drained = time.monotonic()
        wrong = serves_update(sut)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"with the handshakes pending, a known "
                           f"peer's update got {wrong}")
        early = _closed(socks)
        if early:
            _in_time(sut, started)
            return Outcome(Verdict.FAIL, expected, f"within the bounds the node closed "
                           f"{_names(early, names)}")
        # The address's burst is spent: one new connection is let begin 1/rate s later.
        if rate:
            time.sleep(max(0.0, 1.25 / rate - (time.monotonic() - drained)))
        socks.append(_open(node, mid))
        names.append(f"{mid} #{bound + 1} (the newest)")
        wrong = serves_update(sut)
        closed = _closed(socks)
        _in_time(sut, started)
    except OSError as exc:
        raise Inconclusive(f"could not open the connections: {exc}") from exc
    finally:
        _close_all(socks)
    oldest = 2 * side
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"then a known peer's update got {wrong}")
    if closed != {oldest}:
        return Outcome(Verdict.FAIL, expected, f"at the bound the node closed "
                       f"{_names(closed, names)}, not {names[oldest]} alone")
    return Outcome(Verdict.PASS, expected, f"{names[oldest]} closed, the "
                   f"{len(socks) - 1} others kept")


def _total_bound(sut: AdapterSut) -> Outcome:
    """R-NODE-46, the bound in total: pending handshakes from as many addresses as the
    declared bound, one of them holding two; one more from a new address: the oldest
    of the address holding the most gives way; one more again, every address now
    holding one: exactly one is closed (the bound), an older one, never the newest
    (spec/node.md section 6: the oldest gives way to the newest). Then all end (their
    sockets closed): as many new ones, from new addresses, are all kept."""
    node = node_sut(sut)
    total = int(declared_limit(sut, "maxHandshakes"))
    if int(node.limits.get("maxAddressHandshakes", 2)) < 2:
        return Outcome(Verdict.NOT_APPLICABLE, "", "maxAddressHandshakes is 1: no "
                       "address can hold the most")
    expected = (f"{total} pending handshakes (the declared bound) from {total - 1} "
                "addresses the node does not know, all kept; one more from a new address: "
                "the older one of the address holding two closed at once; one more from "
                "another: exactly one older one closed, not the newest; after they end, "
                "as many new ones kept; a known peer served throughout")
    _loopback(node)
    time.sleep(0.3)
    socks: list[socket.socket] = []
    names: list[str] = []

    def add(source: str) -> None:
        socks.append(_open(node, source))
        names.append(source if source not in names else f"{source} (its second)")

    try:
        started = time.monotonic()
        for i in range(total - 1):
            add(_unknown(3, i))
            if i == 0:
                add(_unknown(3, 0))          # the first address holds two
        wrong = serves_update(sut)
        early = _closed(socks)
        if wrong or early:
            _in_time(sut, started)
            return Outcome(Verdict.FAIL, expected, f"within the bound: a known peer's "
                           f"update got {wrong}" if wrong else f"within the bound the "
                           f"node closed {_names(early, names)}")
        add(_unknown(3, total - 1))
        wrong = serves_update(sut)
        first = _closed(socks)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"with the bound reached, a known "
                           f"peer's update got {wrong}")
        if first != {0}:
            _in_time(sut, started)
            return Outcome(Verdict.FAIL, expected, f"one beyond the bound: the node "
                           f"closed {_names(first, names)}, not the older one of "
                           f"{names[0]} alone")
        add(_unknown(3, total))
        wrong = serves_update(sut)
        second = _closed(socks) - first
        _in_time(sut, started)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"with the bound reached, a known "
                           f"peer's update got {wrong}")
        if len(second) != 1 or len(socks) - 1 in second:
            return Outcome(Verdict.FAIL, expected, f"one beyond the bound again, every "
                           f"address holding one: the node closed "
                           f"{_names(second, names)}, not exactly one older one "
                           "(the newest never gives way)")
        which = _names(second, names)
        _close_all(socks)         # their handshakes end: their room is free again
        time.sleep(0.3)
        socks, names = [], []
        again = time.monotonic()
        for i in range(total):
            add(_unknown(5, i))
        wrong = serves_update(sut)
        late = _closed(socks)
        _in_time(sut, again)
    except OSError as exc:
        raise Inconclusive(f"could not open the connections: {exc}") from exc
    finally:
        _close_all(socks)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"after the handshakes ended, a known "
                       f"peer's update got {wrong}")
    if late:
        return Outcome(Verdict.FAIL, expected, f"after the {total + 1} pending handshakes "
                       f"ended, {total} new ones from new addresses: the node closed "
                       f"{_names(late, names)} (ended handshakes still held room)")
    return Outcome(Verdict.PASS, expected, f"the older of {_unknown(3, 0)} closed; then "
                   f"{which}; after they ended, {total} new ones kept")


def _known_reserve(sut: AdapterSut) -> Outcome:
    """R-NODE-46, the reserve of the known peers from both sides: handshakes from
    unknown addresses beyond their bound never take or close a known one, and a known
    handshake beyond the reserve closes the oldest known one, never an unknown one."""
    node = node_sut(sut)
    reserve = int(declared_limit(sut, "knownReserve"))
    total = int(declared_limit(sut, "maxHandshakes"))
    expected = (f"{reserve - 1} pending handshakes from the runner's (known) address and "
                f"{total + 2} from new unknown addresses: exactly 2 unknown ones closed, "
                f"the known ones kept and a known peer served; one more known pending "
                f"handshake and a known peer's exchange: the oldest known one closed at "
                f"once, every other kept")
    _loopback(node)
    time.sleep(0.3)
    known: list[socket.socket] = []
    unknown: list[socket.socket] = []
    try:
        started = time.monotonic()
        known += [_open(node, None) for _ in range(reserve - 1)]
        unknown += [_open(node, _unknown(6, i)) for i in range(total + 2)]
        wrong = serves_update(sut)
        lost, shed = _closed(known), _closed(unknown)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"with the unknown addresses beyond "
                           f"their bound, a known peer's update got {wrong}")
        if lost:
            _in_time(sut, started)
            return Outcome(Verdict.FAIL, expected, f"handshakes from unknown addresses "
                           f"beyond their bound closed {len(lost)} of the {reserve - 1} "
                           "known pending ones")
        if len(shed) != 2:
            _in_time(sut, started)
            return Outcome(Verdict.FAIL, expected, f"of {total + 2} pending handshakes "
                           f"from unknown addresses the node closed {len(shed)}, not 2 "
                           f"(the declared bound is {total})")
        known.append(_open(node, None))
        # The known pool is full (the reserve): the exchange's own handshake is one more.
        wrong = serves_update(sut)
        lost, more = _closed(known), _closed(unknown) - shed
        _in_time(sut, started)
    except OSError as exc:
        raise Inconclusive(f"could not open the connections: {exc}") from exc
    finally:
        _close_all(known + unknown)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"with the reserve full, a known peer's "
                       f"update got {wrong}")
    if lost != {0}:
        got = ", ".join(f"#{i + 1}" for i in sorted(lost)) or "none"
        return Outcome(Verdict.FAIL, expected, f"beyond the reserve of {reserve} the node "
                       f"closed the known pending handshakes {got}, not #1 (the oldest) "
                       "alone")
    if more:
        return Outcome(Verdict.FAIL, expected, f"a known handshake beyond the reserve "
                       f"closed {len(more)} pending handshakes of unknown addresses")
    return Outcome(Verdict.PASS, expected, "2 unknown closed, the known kept; beyond the "
                   "reserve the oldest known closed")


#: The peers that fill the slots in :func:`_fair_share`, two connections each.
FILLERS = ("272035", "272051", "131016", "130001", "DC01")
GARBAGE = (5).to_bytes(4, "big") + b"\x30\x03bad"


def _evicted(conn: PeerConnection) -> str | None:
    """None if ``conn`` was told 9002 without refersTo and closed, else what it got."""
    try:
        answer = conn.answer_to(None, timeout=SLACK)
    except SutFault as exc:
        return str(exc)
    if not is_error(answer, ErrorCode.OVERLOADED):
        return describe(answer)
    return None if conn.closed_within(SLACK) else f"{describe(answer)}, but not closed"


def _kept(conns: Sequence[tuple[str, PeerConnection]]) -> list[str]:
    """The names of ``conns`` the node closed or sent something unasked."""
    return [name for name, conn in conns if conn.closed_within(0.05)]


def _fair_share(sut: AdapterSut) -> Outcome:
    """R-NODE-47 and R-NODE-12 with every slot taken, from the three sides: a newcomer
    of a node holding fewer than another takes the slot of that other node's connection
    that was useful longest ago; a connection that sent only refusals gives way first,
    whoever holds it; a newcomer of a node holding one fewer than the most, and one of
    the node holding the most, are refused."""
    node = node_sut(sut)
    slots = int(declared_limit(sut, "maxConnections"))
    per_peer = int(declared_limit(sut, "maxPeerConnections"))
    fill = slots - per_peer - 2
    if per_peer < 4 or not 0 <= fill <= 2 * len(FILLERS):
        return Outcome(Verdict.NOT_APPLICABLE, "", f"the case fills {slots} slots with "
                       f"{per_peer} connections of one node, 2 of another and at most "
                       f"{2 * len(FILLERS)} of others: it needs maxPeerConnections >= 4 "
                       f"and maxConnections between {per_peer + 2} and "
                       f"{per_peer + 2 + 2 * len(FILLERS)}")
    expected = (f"{slots} slots taken ({per_peer} by {MUNICIPALITY}, 2 by {AGENCY}, "
                f"{fill} by others): a newcomer of {AGENCY} admitted and {MUNICIPALITY}'s "
                f"connection useful longest ago told 9002 and closed; a newcomer of "
                f"{UNLISTED_AGENCY} admitted and a connection that sent only a refusal "
                f"told 9002 and closed; a newcomer of a node holding one fewer than the "
                f"most, and one of {MUNICIPALITY}, then holding the most, each told 9002 "
                f"and closed; the others kept and served")
    held: list[tuple[str, PeerConnection]] = []

    def hold(code: str, name: str) -> PeerConnection:
        conn = node.connect(code)
        held.append((name, conn))
        return conn

    def acked(conn: PeerConnection) -> str | None:
        mid, pdu = node.sealed(birth_update(last_sequence(node.status()) + 1),
                               sender=MUNICIPALITY)
        conn.send(pdu)
        return expect_ack(conn.answer_to(mid), AckStatus.ACCEPTED)

    time.sleep(0.3)                # let the node see earlier cases' connections close
    try:
        # The agency's connections come first: the least useful of all slots are not
        # those of the node holding the most.
        for i in range(2):
            hold(AGENCY, f"{AGENCY} #{i + 1}")
        m = [hold(MUNICIPALITY, f"{MUNICIPALITY} #{i + 1}") for i in range(per_peer)]
        fillers = [hold(FILLERS[i // 2], f"{FILLERS[i // 2]} #{i % 2 + 1}")
                   for i in range(fill)]
        # The first is useful now: the second is the one useful longest ago.
        wrong = acked(m[0])
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"within the bounds an update got "
                           f"{wrong}")
        closed = _kept(held)
        if closed:
            return Outcome(Verdict.FAIL, expected, f"within the bounds the node closed "
                           f"{', '.join(closed)}")
        hold(AGENCY, f"{AGENCY} #3")
        wrong = _evicted(m[1])
        if wrong:
            closed = _kept([h for h in held if h[1] is not m[1]])
            return Outcome(Verdict.FAIL, expected, f"a newcomer of {AGENCY} (holding 2 "
                           f"to {per_peer}): {MUNICIPALITY} #2 got {wrong}; the node "
                           f"closed {', '.join(closed) or 'none'}")
        held.remove((f"{MUNICIPALITY} #2", m[1]))
        closed = _kept(held)
        if closed:
            return Outcome(Verdict.FAIL, expected, f"a newcomer of {AGENCY} (holding 2 "
                           f"to {per_peer}): the node closed {', '.join(closed)}")
        if not fillers:
            raise Inconclusive("no connection of a third node to refuse")
        fillers[0].send_raw(GARBAGE)
        refusal = fillers[0].answer_to(None)
        if refusal is None or refusal.error_report is None:
            return Outcome(Verdict.FAIL, expected, f"a frame that is not a PDU got "
                           f"{describe(refusal)}")
        hold(UNLISTED_AGENCY, f"{UNLISTED_AGENCY} #1")
        wrong = _evicted(fillers[0])
        if wrong:
            closed = _kept([h for h in held if h[1] is not fillers[0]])
            return Outcome(Verdict.FAIL, expected, f"a newcomer of {UNLISTED_AGENCY}, "
                           f"one connection having sent only a refusal: that connection "
                           f"got {wrong}; the node closed {', '.join(closed) or 'none'}")
        held.remove((f"{FILLERS[0]} #1", fillers[0]))
        closed = _kept(held)
        if closed:
            return Outcome(Verdict.FAIL, expected, f"a newcomer of {UNLISTED_AGENCY}: "
                           f"the node closed {', '.join(closed)}")
        if fill >= 4:
            # One fewer than the most (FILLERS[1] holds 2, AGENCY 3): no exchange.
            wrong = _evicted(node.connect(FILLERS[1]))
            if wrong:
                closed = _kept(held)
                return Outcome(Verdict.FAIL, expected, f"a newcomer of {FILLERS[1]}, "
                               f"holding 2 while {AGENCY} held 3: it got {wrong}; the "
                               f"node closed {', '.join(closed) or 'none'}")
        wrong = _evicted(node.connect(MUNICIPALITY))
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"a newcomer of {MUNICIPALITY}, "
                           f"holding the most ({per_peer - 1}): it got {wrong}")
        closed = _kept(held)
        wrong = acked(m[0]) if not closed else None
    except (SutFault, OSError) as exc:
        return Outcome(Verdict.FAIL, expected, f"a connection failed: {exc}")
    finally:
        for _, conn in held:
            conn.close()
    if closed:
        return Outcome(Verdict.FAIL, expected, f"a newcomer of {MUNICIPALITY} refused: "
                       f"the node closed {', '.join(closed)}")
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"at the end an update got {wrong}")
    return Outcome(Verdict.PASS, expected, f"{MUNICIPALITY} #2 gave way to {AGENCY}, the "
                   f"refusing connection to {UNLISTED_AGENCY}; {MUNICIPALITY} refused")

def admission_cases() -> list[Case]:
    """The cases of this module (a prefecture SUT)."""
    def case(cid: str, title: str, needs: str, rem: str,
             run: Callable[[AdapterSut], Outcome],
             reqs: tuple[str, ...] = ("R-NODE-46",)) -> Case:
        # The level is that of the strongest requirement cited (spec/conformance.md).
        return NodeCase(id=cid, title=title, clause="node", requirements=reqs,
                        level=strongest_level(reqs), remediation=rem, mode="node", ops=(), run=run,
                        role="prefecture", needs=needs)
    return [
        case("node/node/limits/address-handshakes-oldest",
             "at the bound of one source address its oldest pending handshake gives way, "
             "not the newest nor another address's",
             "limits.maxAddressHandshakes",
             "Count pending handshakes per source address (equal addresses only); at the "
             "bound close the oldest of that address, and never one of another address.",
             _address_oldest),
        case("node/node/limits/handshakes-total",
             "pending handshakes from unknown addresses are bounded in total; the address "
             "holding the most gives way; ended handshakes free their room",
             "limits.maxHandshakes",
             "Bound the pending handshakes of addresses that are not known peers' in "
             "total; beyond it close the oldest of the address holding the most (or, all "
             "holding one, one of them), and forget a handshake once it ends.",
             _total_bound),
        case("node/node/limits/fair-share",
             "with every slot taken, a newcomer of a node holding fewer takes the slot "
             "of the node holding the most; a refusing connection goes first",
             "limits.maxConnections limits.maxPeerConnections",
             "When every slot is taken, admit a newcomer of a node holding fewer than "
             "another by closing (9002 without refersTo) that node's connection useful "
             "longest ago, or first a connection that sent only refusals; refuse the "
             "node holding the most.",
             _fair_share, reqs=("R-NODE-47", "R-NODE-12")),
        case("node/node/limits/known-reserve",
             "known peers keep a reserve of pending handshakes that unknown addresses "
             "neither take nor close; beyond it the oldest known one gives way",
             "limits.knownReserve limits.maxHandshakes",
             "Keep the pending handshakes of known peers' addresses in a pool of their own "
             "(the reserve): unknown ones never count in it nor close it; beyond the "
             "reserve close its oldest.",
             _known_reserve),
    ]


__all__ = ["admission_cases"]
