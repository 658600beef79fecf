"""Node-mode cases on a node's limits (spec/node.md section 6): a handshake that never
comes, a frame that stalls, a frame in pieces or trickling in, one connection too many
from a peer, PDUs shed for load, a connection that sends only refusals, half-open
connections from one address, new connections from one address beyond its rate.

The limits are the node's own: the ICS declares them in ``limits``
(``handshakeTimeoutSeconds``, ``frameTimeoutSeconds``, ``maxPeerConnections``,
``maxInflight``, ``maxRefusals``, ``maxAddressHandshakes``, ``handshakeRate``), and a
case whose limit is not declared is ``not_applicable``. The reference node the runner
launches is started with :data:`juki_conformance.node_sut.REFERENCE_LIMITS`, small enough
for the cases to take about a second each.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from juki_conformance.cases_node import MUNICIPALITY, NodeCase, describe
from juki_conformance.lower_tester import PeerConnection
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import (
    birth_update,
    error_text,
    exchange,
    expect_ack,
    is_error,
    last_sequence,
    node_sut,
    provision_response,
    record_resident,
)
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.pdu import AckStatus
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRequest,
    RequestingBody,
)

#: Seconds a case allows beyond the declared limit (scheduling on a busy machine).
SLACK = 2.0


def declared_limit(sut: AdapterSut, name: str) -> float:
    """The limit ``name`` the node declares (SutFault when it declares none)."""
    node = node_sut(sut)
    value = node.limits.get(name)
    if not isinstance(value, (int, float)):
        raise SutFault(f"the node declares no limits.{name}")
    return float(value)


def _closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True if the other end closes ``sock`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(4096):
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False


def serves_update(sut: AdapterSut) -> str | None:
    """None if the node acknowledges a valid update on a new connection, else what
    happened instead."""
    node = node_sut(sut)
    mid, pdu = node.sealed(birth_update(last_sequence(node.status()) + 1), sender=MUNICIPALITY)
    return expect_ack(exchange(node, MUNICIPALITY, pdu, mid), AckStatus.ACCEPTED)


def _handshake_timeout(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    limit = declared_limit(sut, "handshakeTimeoutSeconds")
    expected = (f"a TCP connection that starts no TLS handshake closed within the declared "
                f"{limit:g} s, while the node keeps serving")
    with socket.create_connection(node.address, timeout=node.timeout) as idle:
        wrong = serves_update(sut)                   # served while the handshake is pending
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"with a handshake pending, a valid "
                           f"update got {wrong}")
        started = time.monotonic()
        closed = _closed_by_peer(idle, limit + SLACK)
        waited = time.monotonic() - started
    if not closed:
        return Outcome(Verdict.FAIL, expected, f"still open after {limit + SLACK:g} s")
    return Outcome(Verdict.PASS, expected, f"closed after about {waited:.1f} s more")


def _stalled_frame(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    limit = declared_limit(sut, "frameTimeoutSeconds")
    code = ErrorCode.FRAME_TRUNCATED
    expected = (f"{error_text(code)} without refersTo, then the connection closed, within the "
                f"declared {limit:g} s of a frame that stops arriving; the node keeps "
                f"serving")
    conn = node.connect(MUNICIPALITY)
    try:
        # A length prefix of 200 octets, then 10 of them, then nothing.
        conn.send_raw((200).to_bytes(4, "big") + b"\x30" * 10)
        try:
            answer = conn.answer_to(None, timeout=limit + SLACK)
        except SutFault:
            return Outcome(Verdict.FAIL, expected, f"no answer within {limit + SLACK:g} s")
        closed = answer is None or conn.closed_within(SLACK)
    finally:
        conn.close()
    got = describe(answer)
    if not is_error(answer, code):
        return Outcome(Verdict.FAIL, expected, got)
    if not closed:
        return Outcome(Verdict.FAIL, expected, f"{got}, but the connection stayed open")
    wrong = serves_update(sut)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"{got}; then a valid update got {wrong}")
    return Outcome(Verdict.PASS, expected, f"{got}, then closed")


def _frame_in_pieces(sut: AdapterSut) -> Outcome:
    """R-NODE-86 and R-NODE-15 from both sides: a frame whose octets come in pieces with
    pauses, the whole well within the declared frame time, is processed as if it had
    come at once; a frame trickling in one octet at a time, each sooner than the limit,
    is cut at the limit counted from its first octet (a per-read limit never is)."""
    node = node_sut(sut)
    limit = declared_limit(sut, "frameTimeoutSeconds")
    code = ErrorCode.FRAME_TRUNCATED
    pause = limit / 5
    expected = (f"an update in three pieces {pause:g} s apart acknowledged; a frame "
                f"whose octets come one every {pause:g} s answered {error_text(code)} "
                f"and closed within the declared {limit:g} s of its first octet")
    mid, pdu = node.sealed(birth_update(last_sequence(node.status()) + 1),
                           sender=MUNICIPALITY)
    frame = len(pdu).to_bytes(4, "big") + pdu
    third = len(frame) // 3
    conn = node.connect(MUNICIPALITY)
    try:
        for i, piece in enumerate((frame[:third], frame[third:2 * third],
                                   frame[2 * third:])):
            if i:
                time.sleep(pause)
            conn.send_raw(piece)
        wrong = expect_ack(conn.answer_to(mid), AckStatus.ACCEPTED)
    except (SutFault, OSError) as exc:
        wrong = str(exc)
    finally:
        conn.close()
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"the update in pieces got {wrong}")
    conn = node.connect(MUNICIPALITY)
    answer = None
    try:
        conn.send_raw((200).to_bytes(4, "big"))
        started = time.monotonic()
        while time.monotonic() - started < limit + SLACK:
            with contextlib.suppress(OSError):
                conn.send_raw(b"\x30")
            try:
                answer = conn.read(pause)
                break
            except TimeoutError:
                continue
            except SutFault as exc:
                return Outcome(Verdict.FAIL, expected, f"the trickled frame: {exc}")
        waited = time.monotonic() - started
        closed = answer is None or conn.closed_within(SLACK)
    finally:
        conn.close()
    if waited >= limit + SLACK:
        return Outcome(Verdict.FAIL, expected, f"octets still taken {waited:.1f} s after "
                       f"the frame began")
    got = describe(answer)
    if not is_error(answer, code):
        return Outcome(Verdict.FAIL, expected, f"the trickled frame got {got}")
    if not closed:
        return Outcome(Verdict.FAIL, expected, f"{got}, but the connection stayed open")
    return Outcome(Verdict.PASS, expected, f"the pieces acknowledged; the trickle cut "
                   f"after {waited:.1f} s with {got}")


def _peer_connections(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    limit = int(declared_limit(sut, "maxPeerConnections"))
    code = ErrorCode.OVERLOADED
    expected = (f"{limit} connections from one peer served; one more answered "
                f"{error_text(code)} without refersTo and closed; the first still served")
    time.sleep(0.3)                 # let the node see earlier cases' connections close
    held: list[PeerConnection] = []
    try:
        for _ in range(limit):
            held.append(node.connect(MUNICIPALITY))
        extra = node.connect(MUNICIPALITY)
        held.append(extra)
        try:
            answer = extra.answer_to(None, timeout=node.timeout)
        except SutFault:
            return Outcome(Verdict.FAIL, expected, f"connection {limit + 1} got no answer "
                           f"within {node.timeout:g} s")
        got = describe(answer)
        if not is_error(answer, code):
            return Outcome(Verdict.FAIL, expected, f"connection {limit + 1} got {got}")
        if not extra.closed_within(SLACK):
            return Outcome(Verdict.FAIL, expected, f"{got}, but the connection stayed open")
        mid, pdu = node.sealed(birth_update(last_sequence(node.status()) + 1), sender=MUNICIPALITY)
        held[0].send(pdu)
        wrong = expect_ack(held[0].answer_to(mid), AckStatus.ACCEPTED)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"{got}; then the first connection's "
                           f"update got {wrong}")
    finally:
        for conn in held:
            with contextlib.suppress(OSError):
                conn.close()
    return Outcome(Verdict.PASS, expected, f"connection {limit + 1}: {got}, closed")


def _shed(sut: AdapterSut) -> Outcome:
    """R-NODE-13: a burst of provision requests in one write, more than the PDUs the
    node declares it holds in hand; each must be answered, a shed one with 9002
    referring to it, and a shed one resent with the same message id must be processed
    as new (it left no processed id and no disclosure)."""
    node = node_sut(sut)
    limit = int(declared_limit(sut, "maxInflight"))
    count = max(4 * limit, 16)
    expected = (f"{count} requests in one write: each answered, those beyond "
                f"{limit} in hand shed with 9002 referring to them; each shed one, "
                "resent with the same message id, provided as a new request")
    update, problem = record_resident(node)
    if update is None:
        raise Inconclusive(f"no resident to ask for: {problem}")
    head = _audit_head(node)
    request = ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
        legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code="S1-KENCHIKUSHI",
        operator_id=OPERATORS[AGENCY], by_resident_code=(update.identity_info.resident_code,))
    sealed = [node.sealed(request, sender=AGENCY) for _ in range(count)]
    answers: dict[bytes, str] = {}
    conn = node.connect(AGENCY)
    try:
        conn.send_raw(b"".join(len(der).to_bytes(4, "big") + der for _, der in sealed))
        ids = {mid for mid, _ in sealed}
        while len(answers) < count:
            pdu = conn.read(node.timeout)
            if pdu is None:
                break
            if pdu.error_report is not None and pdu.error_report.refers_to in ids:
                answers[pdu.error_report.refers_to] = describe(pdu)
            elif pdu.sealed is not None and pdu.header.correlation_id in ids:
                node.acknowledge(conn, pdu, AGENCY)
                answers[pdu.header.correlation_id] = "provided"
    except TimeoutError:
        pass
    finally:
        conn.close()
    if len(answers) < count:
        return Outcome(Verdict.FAIL, expected, f"{count - len(answers)} of {count} "
                       "requests got no answer")
    wrong = {a for a in answers.values() if a not in ("provided", error_text(ErrorCode.OVERLOADED))}
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"answers {sorted(wrong)}")
    shed = [(mid, der) for mid, der in sealed if answers[mid] != "provided"]
    if not shed:
        raise Inconclusive(f"the node handled all {count} requests: nothing was shed")
    # R-NODE-06: a shed PDU is refused, and every refusal is audited (the first ones of
    # a peer and result in full, the rest possibly counted, R-NODE-27).
    audited = _audited_refusals(node, head, {mid.hex() for mid, _ in shed}, "9002")
    if audited < len(shed):
        return Outcome(Verdict.FAIL, expected, f"{len(shed)} shed with 9002, but the audit "
                       f"log has {audited} refusal entries of them (R-NODE-06)")
    for mid, der in shed[:3]:
        conn = node.connect(AGENCY)
        try:
            conn.send(der)
            again = provision_response(node, conn, mid, AGENCY)
        finally:
            conn.close()
        if isinstance(again, str) or again.provided is None:
            got = again if isinstance(again, str) else f"refusal {again.refusal}"
            return Outcome(Verdict.FAIL, expected, f"a shed request resent: {got}")
    return Outcome(Verdict.PASS, expected, f"{len(shed)} of {count} shed with 9002; "
                   "resent, they were provided")


def _audit_head(node: NodeSut) -> int:
    """The number of the node's last audit entry (0 for none)."""
    head, rows = 0, node.audit_log()
    while rows:
        head = int(rows[-1].get("seq", head))
        rows = node.audit_log(after=head)
    return head


def _audited_refusals(node: NodeSut, head: int, ids: set[str], code: str) -> int:
    """How many refusals with ``code`` of the messages ``ids`` the audit log holds after
    entry ``head``: their entries in full, and, when some are missing and the IXIT
    declares a clock, those counted in a summary entry (R-NODE-27), which the next entry
    after the interval brings (a minute: the clock moves two)."""
    def refused(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if r.get("direction") == "refused"
                and str(r.get("result", "")).startswith(code)]
    full = sum(1 for r in refused(node.audit_log(after=head)) if r.get("messageId") in ids)
    if full >= len(ids) or not node.offers("clock"):
        return full
    node.clock_advance(120)
    record_resident(node)                 # an entry after the interval: the summary
    counted = sum(int(m.group(1)) for r in refused(node.audit_log(after=head))
                  if (m := re.search(r"; (\d+) more refusals", str(r.get("result", "")))))
    return full + counted


def _refusals_close(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    limit = int(declared_limit(sut, "maxRefusals"))
    expected = (f"each of {limit} refused frames in a row answered, then the connection "
                f"closed (the declared maxRefusals); a valid PDU before them resets the "
                f"count; the node keeps serving")
    garbage = (5).to_bytes(4, "big") + b"\x30\x03bad"
    conn = node.connect(MUNICIPALITY)
    try:
        # limit - 1 refusals, a valid update: the connection must stay.
        for i in range(limit - 1):
            conn.send_raw(garbage)
            if conn.answer_to(None) is None:
                return Outcome(Verdict.FAIL, expected, f"closed after {i + 1} refusals, "
                               f"before the declared {limit}")
        mid, pdu = node.sealed(birth_update(last_sequence(node.status()) + 1), sender=MUNICIPALITY)
        conn.send(pdu)
        wrong = expect_ack(conn.answer_to(mid), AckStatus.ACCEPTED)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"after {limit - 1} refusals a valid "
                           f"update got {wrong}")
        for i in range(limit):
            conn.send_raw(garbage)
            if conn.answer_to(None) is None:
                if i + 1 < limit:
                    return Outcome(Verdict.FAIL, expected, f"closed after {i + 1} "
                                   f"refusals following a valid update, not {limit}")
                break
        closed = conn.closed_within(SLACK)
    except (SutFault, OSError) as exc:
        return Outcome(Verdict.FAIL, expected, f"the connection failed early: {exc}")
    finally:
        conn.close()
    if not closed:
        return Outcome(Verdict.FAIL, expected, f"still open after {limit} refusals in a row")
    wrong = serves_update(sut)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"closed; then a valid update got {wrong}")
    return Outcome(Verdict.PASS, expected, f"closed after {limit} refusals in a row")


def _half_open_bounded(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    limit = int(declared_limit(sut, "maxAddressHandshakes"))
    extra = 4
    expected = (f"of {limit + extra} TCP connections from one address the node does not "
                f"know that start no TLS handshake, at most the declared {limit} kept "
                f"pending (the others closed at once, not at the handshake timeout); the "
                f"node keeps serving")
    host = node.address[0]
    if not host.startswith("127."):
        raise Inconclusive("the case needs a source address the node does not know: a "
                           "loopback alias (127.0.0.2) beside a SUT on loopback")
    socks: list[socket.socket] = []
    try:
        for _ in range(limit + extra):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.2", 0))
            s.settimeout(node.timeout)
            s.connect(node.address)
        started = time.monotonic()
        # Well within the handshake time limit, so that a close is the bound's doing.
        window = min(0.5, declared_limit(sut, "handshakeTimeoutSeconds") / 2) \
            if "handshakeTimeoutSeconds" in node.limits else 0.5
        closed = 0
        for s in socks:
            left = max(0.0, window - (time.monotonic() - started))
            closed += _closed_by_peer(s, left) if left > 0 else _closed_by_peer(s, 0.001)
    except OSError as exc:
        raise Inconclusive(f"could not open the connections: {exc}") from exc
    finally:
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()
    if closed < extra:
        return Outcome(Verdict.FAIL, expected, f"{limit + extra - closed} handshakes kept "
                       f"pending, the declared bound is {limit}")
    wrong = serves_update(sut)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"{closed} closed; then a valid update got "
                       f"{wrong}")
    return Outcome(Verdict.PASS, expected, f"{closed} of {limit + extra} closed at once")


def _begins(source: str, address: tuple[str, int], timeout: float) -> bool:
    """Whether a TCP connection from ``source`` may begin its TLS handshake: the node
    answers a ClientHello with octets of its own (False when it closes the connection
    first). The handshake goes no further: the socket is closed at once."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    out = ssl.MemoryBIO()
    tls = ctx.wrap_bio(ssl.MemoryBIO(), out)
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(address)
        try:
            s.sendall(out.read())
            return bool(s.recv(1))
        except TimeoutError:
            return True           # neither answered nor closed: let begin, still pending
        except OSError:
            return False          # reset before any octet of the node's


def _handshake_rate(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    rate = declared_limit(sut, "handshakeRate")
    if "maxAddressHandshakes" not in node.limits:
        return Outcome(Verdict.NOT_APPLICABLE, "", "the ICS declares handshakeRate "
                       "without maxAddressHandshakes, the burst it allows")
    burst = int(declared_limit(sut, "maxAddressHandshakes"))
    tries = burst + int(3 * rate) + 8
    expected = (f"of {tries} connections from one address the node does not know, each "
                f"sending a ClientHello as soon as the last ended, at most {burst} + "
                f"{rate:g} a second began their TLS handshake, the others closed before "
                f"any TLS octet; then another unknown address and a known peer served")
    host = node.address[0]
    if not host.startswith("127."):
        raise Inconclusive("the case needs source addresses the node does not know: "
                           "loopback aliases (127.0.0.3, 127.0.0.4) beside a SUT on "
                           "loopback")
    wait = min(2.0, node.timeout)
    try:
        started = time.monotonic()
        began = sum(_begins("127.0.0.3", node.address, wait) for _ in range(tries))
        elapsed = time.monotonic() - started
        other = _begins("127.0.0.4", node.address, wait)
    except OSError as exc:
        raise Inconclusive(f"could not open the connections: {exc}") from exc
    # Every handshake the node let begin was let begin within the elapsed time: at most
    # the burst and what the rate adds over that time (one more for rounding).
    allowed = burst + rate * elapsed + 1
    if began > allowed:
        return Outcome(Verdict.FAIL, expected, f"{began} of {tries} began their handshake "
                       f"within {elapsed:.2f} s; at most {allowed:.0f} may")
    if not other:
        return Outcome(Verdict.FAIL, expected, "then a connection from another unknown "
                       "address was closed before its handshake")
    wrong = serves_update(sut)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"then a valid update got {wrong}")
    if tries <= allowed:
        raise Inconclusive(f"the {tries} connections took {elapsed:.2f} s: too slow to "
                           f"exceed the rate")
    return Outcome(Verdict.PASS, expected, f"{began} of {tries} began within "
                   f"{elapsed:.2f} s (at most {allowed:.0f})")


def limit_cases() -> list[Case]:
    """The cases of this module (a prefecture SUT)."""
    def case(cid: str, title: str, limit: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause="node", requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="prefecture", needs=f"limits.{limit}")
    return [
        case("node/node/limits/handshake-timeout",
             "a connection that never starts its TLS handshake is closed in time",
             "handshakeTimeoutSeconds", ("R-NODE-14",),
             "Bound the TLS handshake of every accepted connection (e.g. asyncio's "
             "ssl_handshake_timeout) and serve other connections meanwhile.",
             _handshake_timeout),
        case("node/node/limits/stalled-frame",
             "a frame that stops arriving is answered 1002 and its connection closed",
             "frameTimeoutSeconds", ("R-NODE-15", "R-NODE-01"),
             "Bound the time a begun frame may take, however slowly its octets come; "
             "then send 1002 FRAME_TRUNCATED without refersTo and close.",
             _stalled_frame),
        case("node/node/limits/frame-in-pieces",
             "a frame in pieces within the frame time is processed; one trickling in is "
             "cut at the frame time", "frameTimeoutSeconds", ("R-NODE-86", "R-NODE-15"),
             "Time a frame from its first octet, once (not from each read): process a "
             "frame completed within the limit however its octets were split, and answer "
             "1002 FRAME_TRUNCATED and close when the limit passes first.",
             _frame_in_pieces),
        case("node/node/limits/connections-per-peer",
             "one connection more than the per-peer limit is answered 9002 and closed",
             "maxPeerConnections", ("R-NODE-12",),
             "Count the connections per peer node; beyond the limit, complete the "
             "handshake, send one ErrorReport 9002 OVERLOADED without refersTo, close.",
             _peer_connections),
        case("node/node/limits/shed-not-processed",
             "PDUs shed for load are answered 9002, audited as refused and processed "
             "when resent", "maxInflight", ("R-NODE-13", "R-NODE-06"),
             "Answer a sealed PDU beyond the bound on PDUs in hand with 9002 referring to "
             "it before any other check, record the refusal in the audit log, and store "
             "nothing else of it (no processed id), so that its retry with the same "
             "message id is processed as new.",
             _shed),
        case("node/node/limits/refusals-close",
             "a connection that sends only refused frames is closed after the declared "
             "number in a row", "maxRefusals", ("R-NODE-48", "R-NODE-01"),
             "Count the refused PDUs and frames of each connection since its last "
             "accepted PDU (not 9002 or 9003, which are the node's own); at the bound, "
             "close the connection after the last error report.",
             _refusals_close),
        case("node/node/limits/half-open-bounded",
             "TCP connections without a TLS handshake from an unknown address are bounded",
             "maxAddressHandshakes", ("R-NODE-46", "R-NODE-14"),
             "Count the connections whose handshake has not completed, per source "
             "address; beyond the bound drop the oldest of that address at once, so that "
             "half-open sockets cost at most the bound's descriptors.",
             _half_open_bounded),
        case("node/node/limits/handshake-rate",
             "new connections from one unknown address beyond its rate are closed before "
             "their TLS handshake; other addresses are served",
             "handshakeRate", ("R-NODE-93", "R-NODE-46"),
             "Rate-limit new connections per source address not of a known peer (a token "
             "bucket of maxAddressHandshakes refilled at handshakeRate a second); close "
             "one beyond it as it is accepted, before any TLS work, and keep serving "
             "other addresses.",
             _handshake_rate),
    ]


__all__ = ["declared_limit", "limit_cases", "serves_update"]
