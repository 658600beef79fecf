"""Node-mode test cases: the runner plays a municipality over mutual TLS (the lower
tester) against a prefecture node and reads what it stored through the upper tester.

The steps the node-mode case modules share (reaching the node, exchanging a PDU,
reading its status, a fresh update, a refusal case) are in
:mod:`juki_conformance.node_steps`; :class:`NodeCase` is here.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from juki_conformance.ics import Ics
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import (
    MUNICIPALITY,
    OTHER_MUNICIPALITY,
    OTHER_PREFECTURE,
    birth_update,
    describe,
    error_text,
    exchange,
    expect_ack,
    held_state,
    is_error,
    last_sequence,
    node_sut,
    provision_response,
    record_resident,
    refusal_case,
    stored_one,
    upper_ok,
)
from juki_conformance.node_sut import AGENCY, OPERATORS, UNLISTED_AGENCY, NodeSut, PeerConnection
from juki_conformance.proforma import supported
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec, der
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.samples import example
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import AckStatus, JukiPdu
from juki_protocol.messages.provision import (
    BodyKind,
    LegalBasis,
    ProvisionRefusal,
    ProvisionRequest,
    RequestingBody,
)
from juki_protocol.tools.vectors.vector_cases import replace_at


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeCase(Case):
    """A node-mode case: applicable when the ICS declares node mode and ``role``, and
    everything ``needs`` names (space-separated): a value of the IXIT or ICS
    (``section.key``: ``limits.frameTimeoutSeconds``, ``ixit.restart``, ``ixit.clock``,
    ``ixit.faultInjection``, ``localPurposes.municipality``) or a proforma capability
    (``capability:residentCard``)."""

    role: str = "prefecture"
    needs: str = ""

    def not_applicable_reason(self, ics: Ics) -> str | None:
        reason = Case.not_applicable_reason(self, ics)
        if reason is None and ics.role != self.role:
            reason = f"the case needs a {self.role} node; the ICS declares {ics.role}"
        for need in filter(None, self.needs.split()):
            if reason is not None:
                break
            if need.startswith("capability:"):
                cap = need.split(":", 1)[1]
                if not supported(ics.raw.get("capabilities") or {}, cap, ics.role):
                    reason = f"the ICS does not declare capability {cap}"
            elif ics.declared(need) is None:
                reason = f"the ICS and IXIT declare no {need}"
        return reason


# Acknowledged updates ---------------------------------------------------------------------

def _accepted(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "an acknowledgement (accepted), and the status shows the update stored"
    before = node.status()
    seq = last_sequence(before) + 1
    mid, pdu = node.sealed(birth_update(seq), sender=MUNICIPALITY)
    answer = exchange(node, MUNICIPALITY, pdu, mid)
    wrong = expect_ack(answer, AckStatus.ACCEPTED)
    if wrong:
        return Outcome(Verdict.FAIL, expected, wrong)
    problem = stored_one(before, node.status(), seq)
    if problem:
        return Outcome(Verdict.FAIL, expected, f"acknowledged, but {problem}")
    return Outcome(Verdict.PASS, expected, f"acknowledged; update {seq} stored")


def _duplicate(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "the resent PDU acknowledged with status duplicate, nothing changed"
    seq = last_sequence(node.status()) + 1
    mid, pdu = node.sealed(birth_update(seq), sender=MUNICIPALITY)
    conn = node.connect(MUNICIPALITY)
    try:
        conn.send(pdu)
        first = conn.answer_to(mid)
        wrong = expect_ack(first, AckStatus.ACCEPTED)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"the first sending got {wrong}")
        middle = node.status()
        conn.send(pdu)
        second = conn.answer_to(mid)
    finally:
        conn.close()
    wrong = expect_ack(second, AckStatus.DUPLICATE)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"the second sending got {wrong}")
    after = node.status()
    if held_state(after) != held_state(middle):
        return Outcome(Verdict.FAIL, expected, "acknowledged as duplicate, but the status "
                       "changed", f"before {held_state(middle)}, after {held_state(after)}")
    return Outcome(Verdict.PASS, expected, "duplicate acknowledgement, nothing changed")


def _replay(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = f"{error_text(ErrorCode.REPLAY)} for the second message, nothing stored"
    seq = last_sequence(node.status()) + 1
    mid, pdu = node.sealed(birth_update(seq), sender=MUNICIPALITY)
    conn = node.connect(MUNICIPALITY)
    try:
        conn.send(pdu)
        wrong = expect_ack(conn.answer_to(mid), AckStatus.ACCEPTED)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"the first message got {wrong}")
        middle = node.status()
        # The same message id on other content: the next update, which would be valid.
        _, replay = node.sealed(birth_update(seq + 1), sender=MUNICIPALITY, message_id=mid)
        conn.send(replay)
        answer = conn.answer_to(mid)
    finally:
        conn.close()
    after = node.status()
    got = describe(answer)
    if not is_error(answer, ErrorCode.REPLAY):
        return Outcome(Verdict.FAIL, expected, got)
    if held_state(after) != held_state(middle):
        return Outcome(Verdict.FAIL, expected, f"{got}, but the status changed")
    return Outcome(Verdict.PASS, expected, got)


# Refusals on the header, the routing table and the flow ---------------------------------

def _stale(node: NodeSut, conn: PeerConnection, seq: int) -> tuple[bytes | None, bytes]:
    return node.sealed(birth_update(seq), sender=MUNICIPALITY,
                       time_offset=dt.timedelta(minutes=-10))


def _wrong_recipient(node: NodeSut, conn: PeerConnection, seq: int
                     ) -> tuple[bytes | None, bytes]:
    return node.sealed(birth_update(seq), sender=MUNICIPALITY, recipient=OTHER_PREFECTURE)


def _not_tls_peer(node: NodeSut, conn: PeerConnection, seq: int
                  ) -> tuple[bytes | None, bytes]:
    # Connected as 271004; the header and the signature are those of 272035, so only
    # the comparison with the TLS peer can catch it.
    last = last_sequence(node.status(), OTHER_MUNICIPALITY)
    return node.sealed(birth_update(last + 1, OTHER_MUNICIPALITY), sender=OTHER_MUNICIPALITY)


def _wide_area(node: NodeSut, conn: PeerConnection, seq: int) -> tuple[bytes | None, bytes]:
    return node.sealed(example("WideAreaIssuanceRequest", "conformance", Profile.CURRENT),
                       sender=MUNICIPALITY)


def _special_move_in(node: NodeSut, conn: PeerConnection, seq: int
                     ) -> tuple[bytes | None, bytes]:
    return node.sealed(example("SpecialMoveInNotice", "conformance", Profile.CURRENT),
                       sender=MUNICIPALITY)


def _gap(node: NodeSut, conn: PeerConnection, seq: int) -> tuple[bytes | None, bytes]:
    return node.sealed(birth_update(seq + 1), sender=MUNICIPALITY)


#: An extension addition from a later version of the schema ([29] IMPLICIT UTF8String),
#: as in the codec vectors' UnknownExtension cases.
LATER_FIELD = b"\x9d\x05later"


def with_later_field(tlv_bytes: bytes) -> bytes:
    """A constructed TLV with one more element at its end: :data:`LATER_FIELD`, an
    extension addition a later version of the schema might define, which a prefecture
    or the centre cannot know is not personal data (R-30-5-0-08, R-30-11-0-03)."""
    tlv = der.parse(tlv_bytes)
    content = tlv_bytes[tlv.content_start:tlv.end] + LATER_FIELD
    identifier = tlv_bytes[:tlv.content_start - _length_size(tlv)]
    return identifier + _length(len(content)) + content


def _extended(node: NodeSut, conn: PeerConnection, seq: int) -> tuple[bytes | None, bytes]:
    # A valid update whose identityInfo ([3], the fourth element) carries the later
    # field.
    update = birth_update(seq)
    return node.sealed(update, sender=MUNICIPALITY,
                       der=replace_at(codec.encode(update), [3], with_later_field))


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _length_size(tlv: der.Tlv) -> int:
    return len(_length(tlv.end - tlv.content_start))


# Provision (Art. 30-7(3)) -----------------------------------------------------------------

def _provision(*, body: str = AGENCY, purpose: str = "S1-KENCHIKUSHI",
               basis: LegalBasis = LegalBasis.PREF_TO_AGENCY, operator: str | None = None,
               refusal: ProvisionRefusal | None = None) -> Callable[[AdapterSut], Outcome]:
    """A case: as agency ``body``, ask the node for a resident it holds; it must provide
    that resident's identity info (``refusal`` None) or refuse with ``refusal``
    (R-30-7-3-05: a ProvisionResponse, not an error report)."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        expected = (f"a ProvisionResponse refusing with {refusal.value} "
                    f"({error_text(refusal.error_code)}), nothing provided" if refusal
                    else "a ProvisionResponse providing the resident's identity info")
        update, problem = record_resident(node)
        if update is None:
            return Outcome(Verdict.FAIL, expected, problem)
        info = update.identity_info
        request = ProvisionRequest(
            requester=RequestingBody(kind=BodyKind.AGENCY, code=body), legal_basis=basis,
            purpose_code=purpose, operator_id=operator or OPERATORS[AGENCY],
            by_resident_code=(info.resident_code,))
        mid, pdu = node.sealed(request, sender=body)
        conn = node.connect(body)
        try:
            conn.send(pdu)
            answer = provision_response(node, conn, mid, body)
        finally:
            conn.close()
        if isinstance(answer, str):
            return Outcome(Verdict.FAIL, expected, answer)
        if answer.provided is not None:
            got = f"{len(answer.provided)} person(s) provided"
            if refusal is not None:
                return Outcome(Verdict.FAIL, expected, got)
            if [p.identity_info for p in answer.provided] != [info]:
                return Outcome(Verdict.FAIL, expected, f"{got}, not the one recorded")
            return Outcome(Verdict.PASS, expected, f"{got}: the resident recorded")
        got = f"refusal {answer.refusal.value if answer.refusal else None}"
        if answer.refusal is not refusal:
            return Outcome(Verdict.FAIL, expected, got)
        return Outcome(Verdict.PASS, expected, got)
    return run


# Frames -----------------------------------------------------------------------------------

def _too_large(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = f"{error_text(ErrorCode.FRAME_TOO_LARGE)}, then the connection closed"
    conn = node.connect(MUNICIPALITY)
    try:
        conn.send_raw((0x7FFFFFFF).to_bytes(4, "big") + b"\x7e" * 64)
        try:
            answer = conn.answer_to(None)
        except SutFault:
            return Outcome(Verdict.FAIL, expected, "no answer and the connection stayed "
                           f"open for {node.timeout:g} s")
        closed = answer is None or conn.closed_within(node.timeout)
    finally:
        conn.close()
    got = describe(answer)
    if answer is not None and (answer.error_report is None
                               or answer.error_report.error_code
                               != ErrorCode.FRAME_TOO_LARGE):
        return Outcome(Verdict.FAIL, expected, got)
    if not closed:
        return Outcome(Verdict.FAIL, expected, f"{got}, but the connection stayed open")
    if answer is None:
        return Outcome(Verdict.FAIL, expected, "the connection closed without error 1001")
    return Outcome(Verdict.PASS, expected, f"{got}, then closed")


def _garbage(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "an error report with a 1xxx code and no refersTo; then a valid update " \
               "on the same connection acknowledged"
    conn = node.connect(MUNICIPALITY)
    try:
        conn.send(b"\x30\x05\x01\x02")
        try:
            answer = conn.answer_to(None)
        except SutFault:
            return Outcome(Verdict.FAIL, expected, "no answer to the malformed frame")
        got = describe(answer)
        if answer is None or answer.error_report is None \
                or not 1000 <= answer.error_report.error_code < 2000:
            return Outcome(Verdict.FAIL, expected, got)
        seq = last_sequence(node.status()) + 1
        mid, pdu = node.sealed(birth_update(seq), sender=MUNICIPALITY)
        try:
            conn.send(pdu)
            after = conn.answer_to(mid)
        except (OSError, ssl.SSLError) as exc:
            return Outcome(Verdict.FAIL, expected, f"{got}; then the connection failed: "
                           f"{exc}")
    finally:
        conn.close()
    wrong = expect_ack(after, AckStatus.ACCEPTED)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"{got}; then the valid update got {wrong}")
    return Outcome(Verdict.PASS, expected, f"{got}; then the update was acknowledged")


# TLS and the upper tester -----------------------------------------------------------------

def _foreign_ca(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "the TLS handshake refused (no PDU answered), nothing stored"
    before = node.status()
    _, pdu = node.sealed(birth_update(last_sequence(before) + 1), sender=MUNICIPALITY)
    answer: JukiPdu | None = None
    try:
        conn = node.connect(MUNICIPALITY, cert=node.rogue_dir / f"{MUNICIPALITY}.pem",
                            key=node.rogue_dir / f"{MUNICIPALITY}.key")
        try:
            conn.send(pdu)
            answer = conn.read(3)
        finally:
            conn.close()
    except TimeoutError:       # before OSError, of which it is a subclass
        return Outcome(Verdict.FAIL, expected, "the connection stayed open, unanswered")
    except (ssl.SSLError, ConnectionError, OSError):
        answer = None          # refused during or right after the handshake
    if answer is not None:
        return Outcome(Verdict.FAIL, expected, f"the node answered: {describe(answer)}")
    if held_state(node.status()) != held_state(before):
        return Outcome(Verdict.FAIL, expected, "refused, but the status changed")
    return Outcome(Verdict.PASS, expected, "refused at the handshake")


def _revoked(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    peer = node.revoked_peer
    expected = ("the TLS handshake aborted (pass), or every PDU refused with an error "
                "report (acceptable); nothing stored")
    cert, key = node.pki_dir / "revoked" / f"{peer}.pem", node.pki_dir / "revoked" / f"{peer}.key"
    if not cert.exists() or not key.exists():
        return Outcome(Verdict.NOT_APPLICABLE, expected, "",
                       f"the PKI directory has no revoked/{peer}.pem and .key")
    before = node.status()
    mid, pdu = node.sealed(birth_update(last_sequence(before) + 1, peer), sender=peer)
    answer: JukiPdu | None = None
    try:
        conn = node.connect(peer, cert=cert, key=key)
        try:
            conn.send(pdu)
            answer = conn.answer_to(mid, 3)
        finally:
            conn.close()
    except SutFault:
        return Outcome(Verdict.FAIL, expected, "the connection stayed open, unanswered")
    except (ssl.SSLError, ConnectionError, OSError):
        answer = None          # refused during or right after the handshake
    if held_state(node.status()) != held_state(before):
        return Outcome(Verdict.FAIL, expected, f"{describe(answer)}, and the status "
                       "changed: the update was stored")
    if answer is None:
        return Outcome(Verdict.PASS, expected, "refused at the handshake")
    if answer.error_report is not None:
        return Outcome(Verdict.ACCEPTABLE, expected, f"the handshake completed; the PDU "
                       f"was refused with {describe(answer)}",
                       "R-PDU-10 asks for the handshake to be aborted")
    return Outcome(Verdict.FAIL, expected, f"the node answered {describe(answer)}")


def _upper_tester(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = "hello names the node and lists status; an unknown op gets error 1030 " \
               "and the interface keeps serving"
    hello = node.request("hello")
    if not hello.get("ok") or hello.get("node") != f"prefecture:{node.code}" \
            or "status" not in (hello.get("ops") or []):
        return Outcome(Verdict.FAIL, expected, f"hello answered {str(hello)[:200]}")
    bad = node.request("no-such-op")
    code = (bad.get("error") or {}).get("code") if not bad.get("ok") else None
    if code != ErrorCode.INVALID_JSON:
        return Outcome(Verdict.FAIL, expected, f"the unknown op got {str(bad)[:200]}")
    status = node.request("status")
    if not status.get("ok") or not isinstance(status.get("identityInfo"), dict):
        return Outcome(Verdict.FAIL, expected, f"then status answered {str(status)[:200]}")
    return Outcome(Verdict.PASS, expected, "as expected")


def _clock_moves(sut: AdapterSut) -> Outcome:
    """R-NODE-89: ``clock`` takes an ``advance`` of 0 (the clock not moved) and of a
    fraction of a second, and refuses a negative one (1030) and a ``set`` into the past
    (1024), leaving the clock where it was."""
    node = node_sut(sut)
    expected = ("advance 0 accepted, the clock not moved; advance 0.5 moves it 0.5 s; "
                "advance -1 refused 1030, a set 60 s back refused 1024, the clock not "
                "moved back by either")
    slack = dt.timedelta(seconds=5)          # real time runs on between the requests
    start = node.clock_now()
    times: list[dt.datetime] = []
    for advance in (0, 0.5):
        answer = node.request("clock", advance=advance)
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"advance {advance} answered "
                           f"{answer.get('error')}")
        times.append(dt.datetime.fromisoformat(str(answer.get("now"))))
    if not start <= times[0] < start + slack:
        return Outcome(Verdict.FAIL, expected, f"advance 0 moved the clock from "
                       f"{start.isoformat()} to {times[0].isoformat()}")
    if not times[0] + dt.timedelta(seconds=0.5) <= times[1] < times[0] + slack:
        return Outcome(Verdict.FAIL, expected, f"advance 0.5 moved the clock from "
                       f"{times[0].isoformat()} to {times[1].isoformat()}")
    for field, value, code in (
            ("advance", -1, ErrorCode.INVALID_JSON),
            ("set", (times[1] - dt.timedelta(seconds=60)).isoformat(),
             ErrorCode.INVALID_FIELD)):
        answer = node.request("clock", **{field: value})
        said = (answer.get("error") or {}).get("code") if not answer.get("ok") else "ok"
        now = node.clock_now()
        if said != int(code) or now < times[1]:
            return Outcome(Verdict.FAIL, expected, f"{field} {value} answered {said}, the "
                           f"clock then {now.isoformat()}")
    return Outcome(Verdict.PASS, expected, "as expected")


REM_STORE = ("Store the update, the processed message id and the audit rows in one "
             "transaction, then acknowledge (spec/pdu.md section 5, spec/node.md "
             "section 1); the upper tester's status must show what was committed.")
REM_DUP = ("Keep the sender, message id and digest of every acknowledged message "
           "durably; answer an identical resend with an acknowledgement of status "
           "duplicate and do not apply it again (R-PDU-24, R-30-5-0-06).")
REM_REPLAY = ("Compare the digest of a message whose id you already stored: a different "
              "digest is a replay, refused with 2021 before the message is processed.")
REM_SCHEDULE = ("Check a provision request in the order of spec/provision.md section 2: "
                "the body against spec/tables/schedule_1.json (3010), the purpose among "
                "that body's purposes (3011), the legal basis against the purpose and the "
                "provider (3012), then the operator registered for the body (3020); answer "
                "each refusal with a ProvisionResponse whose outcome is the refusal, and "
                "provide nothing.")
REM_ORDER = "Check PDUs in the order of spec/pdu.md section 8 and report the first failure."


def node_cases() -> list[Case]:
    """Every node-mode case (prefecture role)."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome]) -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="prefecture")
    from juki_conformance.cases_node_limits import limit_cases  # they build on this module
    from juki_conformance.cases_node_pdu import pdu_node_cases
    return [*[
        case("node/node/upper-tester/hello-status-unknown-op",
             "the upper tester answers hello and status, and 1030 to an unknown op",
             "node", ("R-NODE-09", "R-NODE-10"),
             "Serve the upper tester as spec/node.md section 4 says: JSON lines over "
             "mutual TLS, one answer per request with its id, 1030 for an unknown op.",
             _upper_tester),
        NodeCase(id="node/node/upper-tester/clock-advance-and-set",
                 title="the test clock takes an advance of 0 and of 0.5 s, and refuses a "
                 "negative advance (1030) and a set into the past (1024)", clause="node",
                 requirements=("R-NODE-89", "R-NODE-18"), level="MUST",
                 remediation="Accept any advance of 0 seconds or more (0 moves nothing "
                 "and runs what is due); refuse a negative advance with 1030 and a set "
                 "before the clock's time with 1024, leaving the clock as it was.",
                 mode="node", ops=(), run=_clock_moves, role="prefecture",
                 needs="ixit.clock"),
        case("30-5/node/update/accepted-and-stored",
             "a valid identity info update is acknowledged and stored", "30-5",
             ("R-PDU-22", "R-30-5-0-06", "R-NODE-10", "R-PDU-12"), REM_STORE, _accepted),
        case("30-5/node/update/duplicate-acknowledged",
             "the same PDU again gets a duplicate acknowledgement, nothing changes",
             "30-5", ("R-PDU-24", "R-30-5-0-06", "R-NODE-02"), REM_DUP, _duplicate),
        case("pdu/node/replay/same-id-other-content",
             "the same message id with other content is refused with 2021", "pdu",
             ("R-PDU-24",), REM_REPLAY, _replay),
        case("pdu/node/header/stale-time",
             "a header time 10 minutes off is refused with 2020", "pdu",
             ("R-PDU-16", "R-PDU-34"),
             "Compare the header time with your clock; more than 300 s apart is 2020.",
             refusal_case(_stale, ErrorCode.STALE_TIME)),
        case("pdu/node/header/wrong-recipient",
             "a PDU addressed to another node is refused with 3002", "pdu",
             ("R-PDU-17",), "Refuse a PDU whose header recipient is not you with 3002, "
             "before opening it.", refusal_case(_wrong_recipient, ErrorCode.WRONG_RECIPIENT)),
        case("pdu/node/header/sender-not-tls-peer",
             "a header sender other than the TLS peer is refused with 2015", "pdu",
             ("R-PDU-11",), "Compare the header sender with the node named in the TLS "
             "peer certificate of the connection, even when the envelope's signer "
             "matches the header.",
             refusal_case(_not_tls_peer, ErrorCode.CERT_SENDER_MISMATCH)),
        case("pdu/node/routing/wide-area-request-to-prefecture",
             "an Art. 12-2 message sent to a prefecture is refused with 3003, nothing "
             "stored", "pdu", ("R-PDU-20", "R-12-2-2-02"),
             "Check the routing table of spec/pdu.md section 4 on the clear header, "
             "before opening the envelope, and store nothing of a refused PDU.",
             refusal_case(_wide_area, ErrorCode.ROLE_NOT_ALLOWED)),
        case("pdu/node/routing/special-move-in-to-prefecture",
             "an Art. 24-2 notice sent to a prefecture is refused with 3003, nothing "
             "stored", "pdu", ("R-PDU-20", "R-24-2-4-03"),
             "Check the routing table of spec/pdu.md section 4 on the clear header: "
             "municipality-to-municipality messages never go to a prefecture; refuse "
             "them with 3003 before opening the envelope and store nothing.",
             refusal_case(_special_move_in, ErrorCode.ROLE_NOT_ALLOWED)),
        case("30-5/node/update/sequence-gap",
             "an update that skips a sequence number is refused with 4004, nothing "
             "stored", "30-5", ("R-30-5-0-06",),
             "Apply only the update numbered one more than the last applied for the "
             "municipality; refuse any other with 4004 and store nothing.",
             refusal_case(_gap, ErrorCode.OUT_OF_ORDER)),
        case("30-5/node/minimisation/unknown-extension-refused",
             "an update whose identity info carries an unknown extension addition is "
             "refused with 5010, nothing stored", "30-5", ("R-30-5-0-08", "R-NODE-04"),
             "A prefecture must not skip an unknown extension addition in an identity "
             "info update as other receivers do (R-DER-08): it cannot know the element "
             "is not personal data. Refuse the update with 5010 DATA_MINIMISATION and "
             "store nothing of it.", refusal_case(_extended, ErrorCode.DATA_MINIMISATION)),
        case("30-7/node/provision/agency-provided",
             "a schedule 1 agency asking for an allowed purpose with a registered "
             "operator is provided the identity info", "30-7",
             ("R-30-7-3-05", "R-30-7-3-09"),
             "Provide the identity info held within the retention period for every "
             "queried resident code, in a ProvisionResponse correlated with the request.",
             _provision()),
        case("30-7/node/provision/unlisted-body-refused",
             "an agency not in schedule 1 is refused with unknownBody (3010)", "30-7",
             ("R-30-7-3-01", "R-30-7-3-05"), REM_SCHEDULE,
             _provision(body=UNLISTED_AGENCY, operator=OPERATORS[UNLISTED_AGENCY],
                        refusal=ProvisionRefusal.UNKNOWN_BODY)),
        case("30-7/node/provision/purpose-not-allowed",
             "a purpose not in schedule 1 is refused with purposeNotAllowed (3011)",
             "30-7", ("R-30-7-3-02", "R-30-7-3-05"), REM_SCHEDULE,
             _provision(purpose="S1-NOT-LISTED",
                        refusal=ProvisionRefusal.PURPOSE_NOT_ALLOWED)),
        case("30-7/node/provision/purpose-of-another-body",
             "another agency's schedule 1 purpose is refused with purposeNotAllowed "
             "(3011)", "30-7", ("R-30-7-3-02", "R-30-7-3-05"), REM_SCHEDULE,
             _provision(purpose="S1-ONKYU", refusal=ProvisionRefusal.PURPOSE_NOT_ALLOWED)),
        case("30-7/node/provision/legal-basis-mismatch",
             "centerToAgency asked of a prefecture is refused with legalBasisMismatch "
             "(3012)", "30-7", ("R-30-7-3-03", "R-30-7-3-05"), REM_SCHEDULE,
             _provision(basis=LegalBasis.CENTER_TO_AGENCY,
                        refusal=ProvisionRefusal.LEGAL_BASIS_MISMATCH)),
        case("30-7/node/provision/operator-unauthenticated",
             "an operator not registered for the agency is refused with "
             "operatorUnauthenticated (3020)", "30-7", ("R-30-7-3-06", "R-30-7-3-05"),
             REM_SCHEDULE, _provision(operator="op-unregistered",
                                      refusal=ProvisionRefusal.OPERATOR_UNAUTHENTICATED)),
        case("pdu/node/frame/length-over-maximum",
             "a length prefix over the maximum frame size: 1001, connection closed",
             "pdu", ("R-PDU-13", "R-NODE-01"),
             "Compare the length prefix with the maximum frame size before reading the "
             "body; send 1001 and close the connection.", _too_large),
        case("pdu/node/frame/garbage-der-keeps-serving",
             "a frame that is not DER gets a 1xxx error report and the node keeps "
             "serving", "pdu", ("R-NODE-01", "R-PDU-26"),
             "Answer a frame whose body does not decode with an error report (1010-1015, "
             "1031) and keep the connection; only an oversized frame ends it.", _garbage),
        case("pdu/node/tls/foreign-ca-refused",
             "a client certificate from another CA is refused at the handshake", "pdu",
             ("R-PDU-10",),
             "Use the network CA as the only trust anchor and require a client "
             "certificate (TLS 1.3, mutual authentication).", _foreign_ca),
        case("pdu/node/tls/revoked-certificate-refused",
             "a client certificate on the network CA's revocation list is refused", "pdu",
             ("R-PDU-10",),
             "Load the network CA's CRL and check the peer's certificate against it "
             "during the handshake (and again when validating it for the connection); "
             "abort the handshake for a revoked certificate.", _revoked),
    ], *pdu_node_cases(), *limit_cases()]


#: ``describe``, ``node_sut``, ``upper_ok`` and the node codes are re-exported: the case
#: modules import them from here.
__all__ = ["LATER_FIELD", "MUNICIPALITY", "OTHER_MUNICIPALITY", "OTHER_PREFECTURE",
           "NodeCase", "describe", "node_cases", "node_sut", "upper_ok", "with_later_field"]
