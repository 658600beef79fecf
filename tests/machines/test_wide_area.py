"""Wide-area issuance (Art. 12-2): issuing counter and residence responder in memory."""

from __future__ import annotations

import dataclasses
import random

import pytest
from conftest import NOW

from juki_protocol.errors import ErrorCode, JukiError, ProtocolError
from juki_protocol.fixtures.samples import AWAY, HOME
from juki_protocol.fixtures.synth import Household, SyntheticResident
from juki_protocol.machines.card import (
    CardRecord,
    IdentityCheck,
    VirtualCard,
    set_password,
)
from juki_protocol.machines.card_counter import identify_with_card
from juki_protocol.machines.common import Inbound, Send, counter_ids, events, sends
from juki_protocol.machines.stores import Register
from juki_protocol.machines.wide_area import (
    RESPONSE_DEADLINE,
    IssuingCounter,
    IssuingState,
    ResidenceResponder,
    ResidenceState,
)
from juki_protocol.messages.pdu import Acknowledgement, AckStatus
from juki_protocol.messages.wide_area import (
    IdentityCheckMethod,
    Requester,
    TargetPerson,
    WideAreaIssuanceRequest,
    WideAreaIssuanceResponse,
    WideAreaRefusal,
)

MASTER = b"m" * 32
PHOTO = IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT, confirmed=True)


def to(send: Send, sender: str) -> Inbound:
    return Inbound(message=send.message, message_id=send.message_id, sender=sender,
                   correlation_id=send.correlation_id)


def request(applicant: SyntheticResident, targets: list[SyntheticResident], *,
            rel: bool = False, code: bool = False,
            method: IdentityCheckMethod = IdentityCheckMethod.PHOTO_ID_DOCUMENT,
            ) -> WideAreaIssuanceRequest:
    return WideAreaIssuanceRequest(
        issuing_municipality=AWAY, residence_municipality=HOME,
        requester=Requester(name=applicant.name, birth_date=applicant.birth_date,
                            address=applicant.address, identity_check=method),
        targets=tuple(TargetPerson(name=t.name, birth_date=t.birth_date) for t in targets),
        include_relationship=rel, include_resident_code=code)


def run(register: Register, req: WideAreaIssuanceRequest,
        check: IdentityCheck = PHOTO) -> tuple[IssuingCounter, ResidenceResponder]:
    counter = IssuingCounter(AWAY, ids=counter_ids(1))
    responder = ResidenceResponder(register, ids=counter_ids(2))
    counter.identify(check, NOW)
    (sent,) = sends(counter.submit(req, NOW))
    out = sends(responder.receive(to(sent, AWAY), NOW))
    ack, response = out
    assert isinstance(ack.message, Acknowledgement)
    counter.receive(to(ack, HOME), NOW)
    back = sends(counter.receive(to(response, HOME), NOW))
    responder.receive(to(back[0], AWAY), NOW)
    assert responder.state is ResidenceState.CLOSED
    return counter, responder


def test_household_copies_with_optional_items(homes: list[Household],
                                              register: Register) -> None:
    family = list(homes[0].members)
    counter, _ = run(register, request(family[0], family, rel=True, code=True))
    assert counter.state is IssuingState.ISSUED
    copies = counter.outcome
    assert isinstance(copies, tuple) and len(copies) == len(family)
    assert [c.resident_code for c in copies] == [m.resident_code for m in family]
    assert all(c.relationship for c in copies)
    # Art. 12-2(3): the family register is never part of a copy.
    assert not any(hasattr(c, "family_register") for c in copies)


def test_optional_items_only_when_requested(homes: list[Household],
                                            register: Register) -> None:
    head = homes[0].members[0]
    counter, _ = run(register, request(head, [head]))
    (copy,) = counter.outcome  # type: ignore[misc]
    assert copy.relationship is None and copy.resident_code is None


@pytest.mark.parametrize("case, refusal", [
    ("moved_out", WideAreaRefusal.MOVED_OUT),
    ("deceased", WideAreaRefusal.DECEASED),
    ("other_household", WideAreaRefusal.NOT_SAME_HOUSEHOLD),
    ("restricted", WideAreaRefusal.RESTRICTED),
    ("unknown", WideAreaRefusal.NO_SUCH_RECORD),
])
def test_refusals(homes: list[Household], register: Register, case: str,
                  refusal: WideAreaRefusal) -> None:
    head, member = homes[0].members[0], homes[0].members[1]
    target = member
    if case in ("moved_out", "deceased"):
        register.set_status(member.resident_code, case)
    elif case == "other_household":
        target = homes[1].members[0]
    elif case == "restricted":
        register.restricted.add(member.resident_code)
    elif case == "unknown":
        del register.records[member.resident_code]
    counter, _ = run(register, request(head, [head, target]))
    assert counter.state is IssuingState.REFUSED and counter.outcome is refusal


def test_identity_check_failure_sends_nothing(homes: list[Household]) -> None:
    counter = IssuingCounter(AWAY, ids=counter_ids(1))
    bad = IdentityCheck(method=IdentityCheckMethod.PHOTO_ID_DOCUMENT, confirmed=False)
    out = counter.identify(bad, NOW)
    assert [e.code for e in events(out)] == [ErrorCode.IDENTITY_CHECK_FAILED]
    head = homes[0].members[0]
    with pytest.raises(ProtocolError) as exc:
        counter.submit(request(head, [head]), NOW)
    assert exc.value.error_code is ErrorCode.IDENTITY_CHECK_FAILED


def test_card_with_pin_end_to_end(homes: list[Household], register: Register) -> None:
    head = homes[0].members[0]
    rng = random.Random(1)
    card = VirtualCard("SN0001", head.resident_code, MASTER, "12345678", rng=rng)
    record = CardRecord("SN0001", head.resident_code)
    record.register(NOW)
    record.write(NOW)
    record.issue(PHOTO, NOW)
    assert set_password(card, "12345678", "4321", MASTER, NOW, rng=rng)
    record.set_password(NOW)
    check = identify_with_card(card, "4321", MASTER, NOW, rng=rng, record=record)
    assert check.confirmed and check.resident_code == head.resident_code
    req = request(head, [head], method=IdentityCheckMethod.RESIDENT_CARD_WITH_PIN)
    req = dataclasses.replace(req, requester=dataclasses.replace(
        req.requester, resident_code=head.resident_code))
    counter, _ = run(register, req, check)
    assert counter.state is IssuingState.ISSUED


def test_response_breaking_r_12_2_3_04_is_rejected(homes: list[Household],
                                                   register: Register) -> None:
    head = homes[0].members[0]
    counter = IssuingCounter(AWAY, ids=counter_ids(1))
    counter.identify(PHOTO, NOW)
    (sent,) = sends(counter.submit(request(head, [head]), NOW))
    copy = head.record_copy(include_relationship=True)
    bad = WideAreaIssuanceResponse(residence_municipality=HOME, issuing_municipality=AWAY,
                                   copies=(copy,))
    before = counter.snapshot()
    with pytest.raises(JukiError) as exc:
        counter.receive(Inbound(message=bad, message_id=b"r" * 16, sender=HOME,
                                correlation_id=sent.message_id), NOW)
    assert exc.value.error_code is ErrorCode.INVALID_FIELD
    assert counter.snapshot() == before


def test_timeout_and_late_response(homes: list[Household], register: Register) -> None:
    head = homes[0].members[0]
    counter = IssuingCounter(AWAY, ids=counter_ids(1))
    responder = ResidenceResponder(register, ids=counter_ids(2))
    counter.identify(PHOTO, NOW)
    (sent,) = sends(counter.submit(request(head, [head]), NOW))
    with pytest.raises(ProtocolError):
        counter.timeout("deadline", NOW + RESPONSE_DEADLINE / 2)
    out = counter.timeout("deadline", NOW + RESPONSE_DEADLINE)
    assert [e.code for e in events(out)] == [ErrorCode.FLOW_TIMED_OUT]
    response = sends(responder.receive(to(sent, AWAY), NOW))[1]
    with pytest.raises(ProtocolError) as exc:
        counter.receive(to(response, HOME), NOW + RESPONSE_DEADLINE)
    assert exc.value.error_code is ErrorCode.FLOW_TIMED_OUT


def test_replays(homes: list[Household], register: Register) -> None:
    head = homes[0].members[0]
    counter = IssuingCounter(AWAY, ids=counter_ids(1))
    responder = ResidenceResponder(register, ids=counter_ids(2))
    counter.identify(PHOTO, NOW)
    (sent,) = sends(counter.submit(request(head, [head]), NOW))
    ack, response = sends(responder.receive(to(sent, AWAY), NOW))
    before = responder.snapshot()
    again = sends(responder.receive(to(sent, AWAY), NOW))
    assert [s.message.status for s in again] == [AckStatus.DUPLICATE]
    assert responder.snapshot() == before
    counter.receive(to(response, HOME), NOW)
    before = counter.snapshot()
    dup = sends(counter.receive(to(response, HOME), NOW))
    assert [s.message.status for s in dup] == [AckStatus.DUPLICATE]
    assert counter.snapshot() == before
    # An acknowledgement for a message nobody sent is UNKNOWN_CORRELATION.
    with pytest.raises(ProtocolError) as exc:
        counter.receive(Inbound(message=Acknowledgement(acknowledged_id=b"n" * 16,
                                                        status=AckStatus.ACCEPTED),
                                message_id=b"k" * 16, sender=HOME), NOW)
    assert exc.value.error_code is ErrorCode.UNKNOWN_CORRELATION
    assert ack.message.acknowledged_id == sent.message_id


def test_other_content_under_the_request_id_is_replay(homes: list[Household],
                                                      register: Register) -> None:
    """Past the node's duplicate window (R-PDU-24 answers within it) the responder
    still knows its request: other content under the request's id is 2021 REPLAY, not
    a duplicate, and changes nothing; the same request is still a duplicate."""
    head = homes[0].members[0]
    responder = ResidenceResponder(register, ids=counter_ids(2))
    asked = request(head, [head])
    inbound = Inbound(message=asked, message_id=b"q" * 16, sender=AWAY)
    responder.receive(inbound, NOW)
    before = responder.snapshot()
    other = dataclasses.replace(inbound, message=dataclasses.replace(
        asked, include_resident_code=not asked.include_resident_code))
    with pytest.raises(ProtocolError) as exc:
        responder.receive(other, NOW)
    assert exc.value.error_code is ErrorCode.REPLAY
    assert responder.snapshot() == before
    again = sends(responder.receive(inbound, NOW))
    assert [s.message.status for s in again] == [AckStatus.DUPLICATE]


def test_request_for_another_municipality_is_wrong_recipient(homes: list[Household]) -> None:
    head = homes[0].members[0]
    responder = ResidenceResponder(Register("131016", []), ids=counter_ids(2))
    with pytest.raises(ProtocolError) as exc:
        responder.receive(Inbound(message=request(head, [head]), message_id=b"w" * 16,
                                  sender=AWAY), NOW)
    assert exc.value.error_code is ErrorCode.WRONG_RECIPIENT
    assert responder.state is ResidenceState.NEW
