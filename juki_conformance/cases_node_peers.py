"""Node-mode cases on peers the node under test must refuse although they hold
credentials of the network: certificates expired, not yet valid or revoked, presented
at the TLS handshake or signing the envelope, on every role the runner connects to;
and a municipality of another prefecture reporting to this one.

Each role gets the same cases with the message a good peer would have had accepted:
an identity info update from municipality 271004 (a prefecture), a relay from
prefecture 270008 (the national centre), a wide-area request from municipality 272035
(a municipality). The bad certificates belong to that peer (``pki/revoked/``,
``pki/expired/``, ``pki/future/``, spec/conformance.md section 5).

At the handshake a refusal is ``pass`` (R-PDU-10); a completed handshake after which
every PDU is refused with an error report and nothing stored is ``acceptable``. As an
envelope signer the certificate must make the envelope fail (R-PDU-31), answered with
the opaque 2001 (R-PDU-32), nothing stored.
"""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juki_conformance.cases_node import NodeCase, describe
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import (
    birth_update,
    error_text,
    held_state,
    is_error,
    last_sequence,
    node_sut,
)
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive, SutFault
from juki_protocol.errors import ErrorCode
from juki_protocol.fixtures.synth import generate_households
from juki_protocol.messages.identity import IdentityInfoRelay
from juki_protocol.messages.pdu import JukiPdu
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
)

#: What each kind of bad certificate is, for people.
KINDS = {"revoked": "revoked by the CRL the node holds", "expired": "expired",
         "future": "not yet valid"}


def _message(node: NodeSut, peer: str, status: dict[str, Any]) -> object:
    """What ``peer`` would send the node, and a good peer would have accepted."""
    if node.role == "prefecture":
        return birth_update(last_sequence(status, peer) + 1, peer)
    if node.role == "national":
        inner = birth_update(1, "271004")
        return IdentityInfoRelay(prefecture=peer, relay_sequence=last_sequence(status, peer) + 1,
                                 update=inner)
    seed = f"conformance:{secrets.token_hex(8)}"
    answer = node.ok("register_resident", seed=seed)
    codes = answer.get("residentCodes") or []
    members = generate_households(1, seed, municipalities=[node.code])[0].members
    if codes != [m.resident_code for m in members]:
        raise Inconclusive("register_resident did not register the generated household")
    applicant = members[0]          # Art. 12-2(1): a resident asks at another office
    return WideAreaIssuanceRequest(
        issuing_municipality=peer, residence_municipality=node.code,
        requester=Requester(resident_code=applicant.resident_code, name=applicant.name,
                            birth_date=applicant.birth_date, address=applicant.address,
                            identity_check=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN),
        targets=(TargetPerson(name=members[0].name, birth_date=members[0].birth_date),),
        include_relationship=False, include_resident_code=False)


def _files(node: NodeSut, kind: str) -> tuple[Path, Path]:
    peer = node.revoked_peer
    cert, key = node.pki_dir / kind / f"{peer}.pem", node.pki_dir / kind / f"{peer}.key"
    if not cert.exists() or not key.exists():
        raise Inconclusive(f"the PKI directory has no {kind}/{peer}.pem and .key")
    return cert, key


def send_presenting(node: NodeSut, peer: str, pdu: bytes, mid: bytes,
          files: tuple[Path, Path] | None) -> JukiPdu | str | None:
    """The answer to ``pdu`` sent as ``peer`` (with the certificate ``files`` at the
    handshake); None when the handshake was refused; a text when nothing came."""
    try:
        conn = node.connect(peer, cert=files[0], key=files[1]) if files \
            else node.connect(peer)
        try:
            conn.send(pdu)
            return conn.answer_to(mid, 3)
        finally:
            conn.close()
    except SutFault:
        return "the connection stayed open, unanswered"
    except (ssl.SSLError, ConnectionError, OSError):
        return None            # refused during or right after the handshake


def _at_handshake(kind: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        peer = node.revoked_peer
        expected = (f"a client certificate {KINDS[kind]}: the TLS handshake refused "
                    "(pass), or every PDU refused with an error report (acceptable); "
                    "nothing accepted or stored")
        files = _files(node, kind)
        before = node.status()
        mid, pdu = node.sealed(_message(node, peer, before), sender=peer)
        answer = send_presenting(node, peer, pdu, mid, files)
        if isinstance(answer, str):
            return Outcome(Verdict.FAIL, expected, answer)
        if held_state(node.status()) != held_state(before):
            return Outcome(Verdict.FAIL, expected, f"{describe(answer)}, and the status "
                           "changed: the message was stored")
        if answer is None:
            return Outcome(Verdict.PASS, expected, "refused at the handshake")
        if answer.error_report is not None:
            return Outcome(Verdict.ACCEPTABLE, expected, f"the handshake completed; the "
                           f"PDU was refused with {describe(answer)}",
                           "R-PDU-10 asks for the handshake to be aborted")
        return Outcome(Verdict.FAIL, expected, f"the node answered {describe(answer)}")
    return run


def _as_signer(kind: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        peer = node.revoked_peer
        expected = (f"an envelope signed with a certificate {KINDS[kind]}: "
                    f"{error_text(ErrorCode.ENVELOPE_INVALID)} referring to it, nothing stored")
        files = _files(node, kind)
        before = node.status()
        mid, pdu = node.sealed(_message(node, peer, before), sender=peer,
                               signer_files=files)
        answer = send_presenting(node, peer, pdu, mid, None)
        if isinstance(answer, str) or answer is None:
            return Outcome(Verdict.FAIL, expected, answer or "the handshake was refused "
                           "with the peer's valid certificate")
        if held_state(node.status()) != held_state(before):
            return Outcome(Verdict.FAIL, expected, f"{describe(answer)}, and the status "
                           "changed: the message was stored")
        if not is_error(answer, ErrorCode.ENVELOPE_INVALID):
            return Outcome(Verdict.FAIL, expected, describe(answer))
        return Outcome(Verdict.PASS, expected, describe(answer))
    return run


def _other_prefecture(sut: AdapterSut) -> Outcome:
    """R-30-5-0-02: municipality 131016 (Tokyo) reporting to prefecture 270008."""
    node = node_sut(sut)
    peer = "131016"
    expected = f"{error_text(ErrorCode.INVALID_FIELD)} referring to the update, nothing stored"
    before = node.status()
    mid, pdu = node.sealed(birth_update(last_sequence(before, peer) + 1, peer), sender=peer)
    answer = send_presenting(node, peer, pdu, mid, None)
    if isinstance(answer, str) or answer is None:
        return Outcome(Verdict.FAIL, expected, answer or "the handshake was refused")
    if held_state(node.status()) != held_state(before):
        return Outcome(Verdict.FAIL, expected, f"{describe(answer)}, and the update was "
                       "stored")
    if not is_error(answer, ErrorCode.INVALID_FIELD):
        return Outcome(Verdict.FAIL, expected, describe(answer))
    return Outcome(Verdict.PASS, expected, describe(answer))


def peer_cases() -> list[Case]:
    """The cases of this module, for each role the runner connects to."""
    cases: list[Case] = []
    for role in ("prefecture", "national", "municipality"):
        for kind, what in KINDS.items():
            if not (kind == "revoked" and role == "prefecture"):   # cases_node has it
                cases.append(NodeCase(
                    id=f"pdu/node/tls/{kind}-certificate-refused-by-{role}",
                    title=f"a peer's {what} certificate refused at the TLS handshake",
                    clause="pdu", requirements=("R-PDU-10",), level="MUST",
                    remediation="Verify the client certificate at the handshake against "
                    "the network CA, its validity period at the node's time, and the "
                    "CRL; abort the handshake when any check fails.",
                    mode="node", ops=(), run=_at_handshake(kind), role=role))
            cases.append(NodeCase(
                id=f"pdu/node/envelope/{kind}-signer-refused-by-{role}",
                title=f"an envelope signed with a {what} certificate refused",
                clause="pdu", requirements=("R-PDU-31", "R-PDU-32"), level="MUST",
                remediation="Validate the signer's certificate of every envelope (chain, "
                "validity at the node's time, CRL) before acting on it; refuse with the "
                "opaque 2001 and store nothing.",
                mode="node", ops=(), run=_as_signer(kind), role=role))
    cases.append(NodeCase(
        id="30-5/node/update/municipality-of-another-prefecture",
        title="an update from a municipality of another prefecture refused",
        clause="30-5", requirements=("R-30-5-0-02",), level="MUST",
        remediation="Accept identity info updates only from municipalities whose code "
        "begins with the prefecture's number; refuse others with 1024 INVALID_FIELD.",
        mode="node", ops=(), run=_other_prefecture, role="prefecture"))
    return cases


__all__ = ["peer_cases", "send_presenting"]
