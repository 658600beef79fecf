"""More node-mode cases against a prefecture: the header and envelope checks of
spec/pdu.md section 8 that the first set leaves out, the rules on answers and error
reports, and the provider's answers to queries (Art. 30-7(3)).

Same conventions as :mod:`juki_conformance.cases_node`: each case reads ``status`` first,
numbers its updates from what the node holds, and "nothing stored" means the status
after a refusal equals the status before it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable

from juki_conformance.cases_node import MUNICIPALITY, NodeCase, describe
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import (
    birth_update,
    error_text,
    exchange,
    expect_ack,
    held_state,
    in_p2002,
    is_error,
    last_sequence,
    node_sut,
    provision_response,
    record_resident,
    refusal_case,
)
from juki_conformance.node_sut import AGENCY, OPERATORS, NodeSut, PeerConnection
from juki_conformance.sut import AdapterSut, SutFault
from juki_protocol.codec import codec
from juki_protocol.errors import ErrorCode
from juki_protocol.identifiers import resident_code_check_digit
from juki_protocol.messages.common import Profile
from juki_protocol.messages.identity import IdentityInfoUpdate
from juki_protocol.messages.pdu import Acknowledgement, AckStatus, ErrorReport
from juki_protocol.messages.provision import (
    BodyKind,
    FourItems,
    LegalBasis,
    ProvisionRefusal,
    ProvisionRequest,
    ProvisionResponse,
    RequestingBody,
)

OTHER_MUNICIPALITY, OTHER_PREFECTURE = "272035", "130001"
REM_LOCAL = ("Fit the legal basis to the body and to yourself: prefToOwnMunicipality only "
             "from a municipality of your prefecture, prefToOtherMunicipality only from "
             "one of another prefecture, prefToOtherPrefecture only from another "
             "prefecture (Arts. 30-7(4) to (6)); refuse any other with legalBasisMismatch.")
#: How long a case waits to be sure the node sends nothing (R-PDU-25).
QUIET = 1.0


# Header and envelope (spec/pdu.md section 8) ---------------------------------------------

def _version_2(node: NodeSut, conn: PeerConnection, seq: int) -> tuple[bytes | None, bytes]:
    return node.sealed(birth_update(seq), sender=MUNICIPALITY, header_changes={"version": 2})


def _profile_2002(node: NodeSut, conn: PeerConnection, seq: int
                  ) -> tuple[bytes | None, bytes]:
    # The update carries the individual number (profile current) but the header says
    # p2002, whose messages have none.
    return node.sealed(birth_update(seq), sender=MUNICIPALITY,
                       header_changes={"profile": Profile.P2002})


def _another_network(node: NodeSut, conn: PeerConnection, seq: int
                     ) -> tuple[bytes | None, bytes]:
    # Well formed in p2002 (no individual number), but the node's network is current.
    return in_p2002(node, birth_update(seq), MUNICIPALITY)


def _type_mismatch(node: NodeSut, conn: PeerConnection, seq: int
                   ) -> tuple[bytes | None, bytes]:
    # The header says identityInfoUpdate; the sealed content is a provision request.
    request = ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
        legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code="S1-KENCHIKUSHI",
        operator_id=OPERATORS[AGENCY], by_resident_code=(_fresh_code(),))
    return node.sealed(birth_update(seq), sender=MUNICIPALITY, der=codec.encode(request))


def _requester_not_sender(node: NodeSut, conn: PeerConnection, seq: int
                          ) -> tuple[bytes | None, bytes]:
    # Sent by AG0001 over its own connection, naming AG0002 as the requesting body.
    request = ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code="AG0002"),
        legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code="S1-KENCHIKUSHI",
        operator_id=OPERATORS[AGENCY], by_resident_code=(_fresh_code(),))
    return node.sealed(request, sender=AGENCY)


def _fresh_code() -> str:
    """A valid resident code that no synthetic generator of this suite hands out."""
    first10 = "9" + "".join(secrets.choice("0123456789") for _ in range(9))
    return first10 + str(resident_code_check_digit(first10))


def _opaque_envelope_refusal(sut: AdapterSut) -> Outcome:
    """Sealed by 271004's peer 272035 (a valid network certificate), sent as 271004:
    the envelope fails (signer is not the sender), and the peer may learn only 2001."""
    node = node_sut(sut)
    code = ErrorCode.ENVELOPE_INVALID
    expected = f"{error_text(code)} referring to the message, with no detail; nothing stored"
    before = node.status()
    mid, pdu = node.sealed(birth_update(last_sequence(before) + 1), sender=MUNICIPALITY,
                           signer=OTHER_MUNICIPALITY)
    answer = exchange(node, MUNICIPALITY, pdu, mid)
    got = describe(answer)
    if answer is None or answer.error_report is None or not is_error(answer, code):
        return Outcome(Verdict.FAIL, expected, got,
                       "a precise 2xxx code tells a forger which check caught it")
    if answer.error_report.detail:
        return Outcome(Verdict.FAIL, expected, f"{got} with detail "
                       f"{answer.error_report.detail[:80]!r}")
    if held_state(node.status()) != held_state(before):
        return Outcome(Verdict.FAIL, expected, f"{got}, but the status changed")
    return Outcome(Verdict.PASS, expected, f"{got}, no detail")


# Answers are never answered, ids are fresh, details hold no personal data ----------------

def _answer_pdu(node: NodeSut, answer: Acknowledgement | ErrorReport) -> bytes:
    return node.answer_pdu(answer, MUNICIPALITY)


def _answers_not_answered(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("no PDU in answer to an acknowledgement or an error report that refer "
                "to nothing; then a valid update acknowledged on the same connection")
    conn = node.connect(MUNICIPALITY)
    try:
        conn.send(_answer_pdu(node, Acknowledgement(acknowledged_id=secrets.token_bytes(16),
                                                    status=AckStatus.ACCEPTED)))
        conn.send(_answer_pdu(node, ErrorReport(error_code=int(ErrorCode.OUT_OF_ORDER),
                                                refers_to=secrets.token_bytes(16))))
        try:
            early = conn.read(QUIET)
        except TimeoutError:
            early = None
        else:
            if early is not None:
                return Outcome(Verdict.FAIL, expected,
                               f"the node answered an answer with {describe(early)}")
            return Outcome(Verdict.FAIL, expected,
                           "the node closed the connection after an answer")
        seq = last_sequence(node.status()) + 1
        mid, pdu = node.sealed(birth_update(seq), sender=MUNICIPALITY)
        conn.send(pdu)
        answer = conn.read(node.timeout)
    except TimeoutError:
        return Outcome(Verdict.FAIL, expected, "the valid update got no answer")
    finally:
        conn.close()
    wrong = expect_ack(answer, AckStatus.ACCEPTED)
    if wrong or answer is None or answer.acknowledgement is None \
            or answer.acknowledgement.acknowledged_id != mid:
        return Outcome(Verdict.FAIL, expected, f"the next PDU was {describe(answer)}, not "
                       "the acknowledgement of the update")
    return Outcome(Verdict.PASS, expected, "silence, then the update acknowledged")


def _fresh_ids(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    count = 3
    expected = f"{count} acknowledgements, each with its own new 16-octet message id"
    seq = last_sequence(node.status())
    sent: list[bytes] = []
    answer_ids: list[bytes] = []
    conn = node.connect(MUNICIPALITY)
    try:
        for i in range(count):
            mid, pdu = node.sealed(birth_update(seq + 1 + i), sender=MUNICIPALITY)
            sent.append(mid)
            conn.send(pdu)
            answer = conn.answer_to(mid)
            wrong = expect_ack(answer, AckStatus.ACCEPTED)
            if wrong or answer is None:
                return Outcome(Verdict.FAIL, expected, f"update {i + 1} got {wrong}")
            answer_ids.append(answer.header.message_id)
    finally:
        conn.close()
    if len(set(answer_ids)) != count or set(answer_ids) & set(sent):
        return Outcome(Verdict.FAIL, expected, "message ids repeated: "
                       + ", ".join(x.hex()[:8] for x in answer_ids))
    return Outcome(Verdict.PASS, expected, f"{count} distinct message ids")


def _personal_items(update: IdentityInfoUpdate) -> list[str]:
    info = update.identity_info
    items = [info.resident_code, info.name.kanji, info.birth_date.isoformat(),
             info.birth_date.strftime("%Y%m%d"), info.address.text]
    items += [x for x in (info.name.kana, info.individual_number) if x]
    return items


def _details_without_personal_data(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("error reports for refused updates (sequence gap, profile violation, "
                "replay) whose detail holds no name, address, birth date, resident code "
                "or individual number")
    seq = last_sequence(node.status())
    replay_of = birth_update(seq + 1)               # accepted first
    update = birth_update(seq + 3)                  # then a gap: 4004
    tries = [node.sealed(update, sender=MUNICIPALITY),
             node.sealed(update, sender=MUNICIPALITY,
                         header_changes={"profile": Profile.P2002})]
    conn = node.connect(MUNICIPALITY)
    reports: list[ErrorReport] = []
    try:
        first_mid, first = node.sealed(replay_of, sender=MUNICIPALITY)
        conn.send(first)
        wrong = expect_ack(conn.answer_to(first_mid), AckStatus.ACCEPTED)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"a valid update got {wrong}")
        tries.append(node.sealed(dataclasses.replace(
            update, update_sequence=seq + 1), sender=MUNICIPALITY, message_id=first_mid))
        for mid, pdu in tries:
            conn.send(pdu)
            answer = conn.answer_to(mid)
            if answer is None or answer.error_report is None:
                return Outcome(Verdict.FAIL, expected,
                               f"a refused update got {describe(answer)}")
            reports.append(answer.error_report)
    finally:
        conn.close()
    personal = _personal_items(update) + _personal_items(replay_of)
    for report in reports:
        leaked = [x for x in personal if report.detail and x and x in report.detail]
        if leaked:
            return Outcome(Verdict.FAIL, expected,
                           f"error {report.error_code} detail contains personal data",
                           f"{len(leaked)} item(s) of the refused update")
    codes = ", ".join(str(r.error_code) for r in reports)
    return Outcome(Verdict.PASS, expected, f"errors {codes}, no personal data in details")


# Provision: answers to queries (Art. 30-7(3)) ---------------------------------------------

def _ask(node: NodeSut, request: ProvisionRequest, sender: str = AGENCY
         ) -> ProvisionResponse | str:
    mid, pdu = node.sealed(request, sender=sender)
    conn = node.connect(sender)
    try:
        conn.send(pdu)
        return provision_response(node, conn, mid, sender)
    finally:
        conn.close()


def _request(*, codes: tuple[str, ...] | None = None, four: FourItems | None = None
             ) -> ProvisionRequest:
    return ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code=AGENCY),
        legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code="S1-KENCHIKUSHI",
        operator_id=OPERATORS[AGENCY], by_resident_code=codes, by_four_items=four)


def _four_items(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("the query by the resident's four items provides the resident and only "
                "persons with the same four items; a birth date one day off provides "
                "nobody")
    update, problem = record_resident(node)
    if update is None:
        return Outcome(Verdict.FAIL, expected, problem)
    info = update.identity_info
    four = FourItems(name=info.name, birth_date=info.birth_date, sex=info.sex,
                     address=info.address)
    answer = _ask(node, _request(four=four))
    if isinstance(answer, str) or answer.provided is None:
        why = answer if isinstance(answer, str) else f"refusal {answer.refusal}"
        return Outcome(Verdict.FAIL, expected, why)
    got = [p.identity_info for p in answer.provided]
    if info not in got:
        return Outcome(Verdict.FAIL, expected, f"{len(got)} person(s) provided, not the "
                       "resident recorded")
    others = [g for g in got if (g.name.kanji, g.birth_date, g.sex,
                                 g.address.local_gov_code)
              != (info.name.kanji, info.birth_date, info.sex, info.address.local_gov_code)]
    if others:
        return Outcome(Verdict.FAIL, expected, f"{len(others)} provided person(s) do not "
                       "match the four items")
    off = dataclasses.replace(four, birth_date=info.birth_date + dt.timedelta(days=1))
    answer = _ask(node, _request(four=off))
    if isinstance(answer, str) or answer.provided is None:
        got_off = answer if isinstance(answer, str) else f"refusal {answer.refusal}"
        return Outcome(Verdict.FAIL, expected, f"the query one day off got {got_off}")
    if any(p.identity_info == info for p in answer.provided):
        return Outcome(Verdict.FAIL, expected, "a query with another birth date provided "
                       "the resident")
    return Outcome(Verdict.PASS, expected, f"{len(got)} provided, all matching; the query "
                   f"one day off provided {len(answer.provided)}")


def _unknown_code(sut: AdapterSut) -> Outcome:
    node = node_sut(sut)
    expected = ("a ProvisionResponse with an empty provided list for a resident code the "
                "node never held (no refusal, no error: nothing is revealed)")
    try:
        answer = _ask(node, _request(codes=(_fresh_code(),)))
    except SutFault as exc:
        return Outcome(Verdict.FAIL, expected, str(exc))
    if isinstance(answer, str):
        return Outcome(Verdict.FAIL, expected, answer)
    if answer.provided is None:
        return Outcome(Verdict.FAIL, expected, f"refusal {answer.refusal}")
    if answer.provided:
        return Outcome(Verdict.FAIL, expected, f"{len(answer.provided)} person(s) provided")
    return Outcome(Verdict.PASS, expected, "an empty provided list")


def _local_body(kind: BodyKind, code: str, basis: LegalBasis, *, provided: bool
                ) -> Callable[[AdapterSut], Outcome]:
    """A case: local body ``code`` of ``kind`` asks under ``basis`` for a resident the
    node holds, for the purpose the ICS gives its kind; the node must provide the
    resident (``provided``) or refuse with legalBasisMismatch."""
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        refusal = ProvisionRefusal.LEGAL_BASIS_MISMATCH
        expected = ("a ProvisionResponse providing the resident" if provided else
                    f"a ProvisionResponse refusing with {refusal.value} "
                    f"({error_text(refusal.error_code)})")
        purpose = node.local_purposes.get(kind.value)
        if purpose is None:
            raise SutFault(f"the node declares no local purpose for {kind.value}")
        update, problem = record_resident(node)
        if update is None:
            return Outcome(Verdict.FAIL, expected, problem)
        info = update.identity_info
        answer = _ask(node, ProvisionRequest(
            requester=RequestingBody(kind=kind, code=code), legal_basis=basis,
            purpose_code=purpose, operator_id=OPERATORS[code],
            by_resident_code=(info.resident_code,)), sender=code)
        if isinstance(answer, str):
            return Outcome(Verdict.FAIL, expected, answer)
        if answer.provided is None:
            got = f"refusal {answer.refusal.value if answer.refusal else None}"
            ok = not provided and answer.refusal is refusal
            return Outcome(Verdict.PASS if ok else Verdict.FAIL, expected, got)
        got = f"{len(answer.provided)} person(s) provided"
        if not provided:
            return Outcome(Verdict.FAIL, expected, got)
        if [p.identity_info for p in answer.provided] != [info]:
            return Outcome(Verdict.FAIL, expected, f"{got}, not the one recorded")
        return Outcome(Verdict.PASS, expected, f"{got}: the resident recorded")
    return run


# The cases -------------------------------------------------------------------------------

def pdu_node_cases() -> list[Case]:
    """The cases of this module (a prefecture SUT)."""
    def case(cid: str, title: str, clause: str, reqs: tuple[str, ...], rem: str,
             run: Callable[[AdapterSut], Outcome], kind: str = "") -> Case:
        return NodeCase(id=cid, title=title, clause=clause, requirements=reqs,
                        level="MUST", remediation=rem, mode="node", ops=(), run=run,
                        role="prefecture", needs=f"localPurposes.{kind}" if kind else "")
    return [
        case("pdu/node/header/unsupported-version",
             "a PDU of version 2 is refused with 1016, nothing stored", "pdu",
             ("R-PDU-14",),
             "Check the header version before anything else of the PDU and refuse any "
             "version other than 1 with 1016 UNSUPPORTED_VERSION.",
             refusal_case(_version_2, ErrorCode.UNSUPPORTED_VERSION)),
        case("pdu/node/header/profile-violation",
             "an update with an individual number under a p2002 header is refused with "
             "1025, nothing stored", "pdu", ("R-PDU-01",),
             "Check the opened message against the profile the header names before "
             "acting on it; a p2002 message carries no individual number (1025).",
             refusal_case(_profile_2002, ErrorCode.PROFILE_VIOLATION)),
        case("pdu/node/header/profile-of-another-network",
             "an update well formed in p2002 sent to a node of the current network is "
             "refused with 1025, nothing stored", "pdu", ("R-PDU-50",),
             "A node operates in its network's profile: refuse a sealed PDU whose header "
             "names another one with 1025 before opening it, however well the message "
             "follows the profile it names; storing it would leave the tier without the "
             "individual number it must hold.",
             refusal_case(_another_network, ErrorCode.PROFILE_VIOLATION)),
        case("pdu/node/envelope/content-of-another-type",
             "a sealed provision request under an identityInfoUpdate header is refused "
             "with 1013, nothing stored", "pdu", ("R-PDU-33",),
             "After opening, compare the message's APPLICATION tag with the header's "
             "messageType and refuse a mismatch with 1013 DER_UNEXPECTED_TAG.",
             refusal_case(_type_mismatch, ErrorCode.DER_UNEXPECTED_TAG)),
        case("pdu/node/envelope/failure-is-opaque",
             "an envelope signed by another node than the sender is refused with 2001 "
             "and no detail, nothing stored", "pdu", ("R-PDU-32", "R-PDU-31"),
             "Send the peer only 2001 ENVELOPE_INVALID, without detail, for every "
             "envelope failure (2002-2015); keep the precise cause in the local log.",
             _opaque_envelope_refusal),
        case("pdu/node/answers/never-answered",
             "an acknowledgement and an error report that refer to nothing get no "
             "answer, and the connection keeps serving", "pdu", ("R-PDU-25", "R-NODE-01"),
             "Never answer an acknowledgement or an error report, even one that refers "
             "to nothing: record it and keep the connection.", _answers_not_answered),
        case("pdu/node/answers/fresh-message-ids",
             "each acknowledgement carries a new message id of its own", "pdu",
             ("R-PDU-15",),
             "Give every PDU the node sends, answers included, a new message id of 16 "
             "random octets.", _fresh_ids),
        case("pdu/node/error-report/no-personal-data",
             "the details of error reports for refused updates hold no personal data",
             "pdu", ("R-PDU-27",),
             "Write error report details from the rule and field that failed, never from "
             "the values: no name, address, birth date, resident code or individual "
             "number.", _details_without_personal_data),
        case("30-7/node/provision/requester-not-sender",
             "a provision request naming another body than its sender is refused with "
             "1024, nothing stored", "30-7", ("R-30-7-3-04",),
             "Compare the requesting body's code with the header sender (the TLS peer) "
             "and refuse a request that names another body with 1024 INVALID_FIELD.",
             refusal_case(_requester_not_sender, ErrorCode.INVALID_FIELD, peer=AGENCY)),
        case("30-7/node/provision/four-items-match-only",
             "a query by the four items provides exactly the persons who match them",
             "30-7", ("R-30-7-3-10", "R-30-7-3-05"),
             "Match a four-item query on the recorded name, birth date, sex and the "
             "address's local government, all four; provide nobody else.", _four_items),
        case("30-7/node/provision/own-municipality-provided",
             "a municipality of the prefecture asking under prefToOwnMunicipality is "
             "provided", "30-7", ("R-30-7-4-01", "R-30-7-3-05"), REM_LOCAL,
             _local_body(BodyKind.MUNICIPALITY, MUNICIPALITY,
                         LegalBasis.PREF_TO_OWN_MUNICIPALITY, provided=True),
             kind="municipality"),
        case("30-7/node/provision/own-municipality-as-other-refused",
             "a municipality of the prefecture asking under prefToOtherMunicipality is "
             "refused with legalBasisMismatch (3012)", "30-7", ("R-30-7-4-01",),
             REM_LOCAL, _local_body(BodyKind.MUNICIPALITY, MUNICIPALITY,
                                    LegalBasis.PREF_TO_OTHER_MUNICIPALITY, provided=False),
             kind="municipality"),
        case("30-7/node/provision/other-prefecture-provided",
             "another prefecture asking under prefToOtherPrefecture is provided", "30-7",
             ("R-30-7-5-01", "R-30-7-3-05"), REM_LOCAL,
             _local_body(BodyKind.PREFECTURE, OTHER_PREFECTURE,
                         LegalBasis.PREF_TO_OTHER_PREFECTURE, provided=True),
             kind="prefecture"),
        case("30-7/node/provision/unknown-code-empty",
             "a query for a resident code never held is answered with an empty list",
             "30-7", ("R-30-7-3-11", "R-30-7-3-05"),
             "Answer a query that matches nothing within retention with an empty "
             "provided list, the same whether or not the person ever existed.",
             _unknown_code),
    ]


__all__ = ["pdu_node_cases"]
